// A heap: the objects one task owns, or (immortal = true) the runtime's immortal area of
// immortal immutable objects. Allocation never collects: collection happens only at the
// interpreter's safepoints (TaskState::collect), so native code may hold heap values in C++
// locals freely — unless it calls back into script (TaskState::call), across which it must
// keep them in a `TaskState::Root`.
//
// Counted shared objects (vm/value.hpp) are held, not owned: a heap takes one reference
// on each such object its values reach directly (`held`), whatever the number of paths.
// A value arriving from elsewhere is held at once (hold); one reached by reading inside
// a held object (an element of a shared list) is held at the next collection, while the
// object it was read from is still held — so a reachable counted object always has a
// holder. A collection releases what it no longer reaches.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vm/check.hpp"
#include "vm/value.hpp"

namespace tsk::vm {

class Heap {
 public:
  explicit Heap(bool immortal) : threshold_(immortal ? kNever : kFirstThreshold) {}
  ~Heap();
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  String* string(std::string_view bytes);
  // The one-byte string of byte [b]: one of 256 immutable strings made once per process
  // and shared by every runtime and task (flags kFrozen | kShared, in no heap), so
  // `for c in s` and `s[i]` allocate nothing.
  static String* byte_string(unsigned char b);
  // The one String with these bytes in this heap (for constants in the immortal area):
  // equal constants of different functions become one object, so map lookups with
  // constant keys (`b.x`, `{x: 1}`) usually match by pointer.
  String* intern(std::string_view bytes);
  List* list();
  Map* map();
  Range* range(int64_t start, int64_t stop, bool inclusive);
  Closure* closure(Proto* proto, Module* module, uint32_t ncells);
  Native* native(const NativeEntry* entry);
  Cell* cell(Value v);
  Error* error(String* kind, String* message);
  Module* module(String* name);
  // A new handle (tag Chan or Task) to `target`; takes a reference of its own.
  Handle* handle(Tag tag, RefCounted* target);

  // Moves every object of `other` into this heap (a message arriving from another task),
  // and the references it held.
  void adopt(Heap& other);

  // Holds the counted object `o` (no-op for any other object): it stays alive at least
  // until a collection of this heap no longer reaches it.
  void hold(Obj* o);
  // As hold, with a reference the caller already took and hands over.
  void hold_transferred(Obj* o);

  // Collector pacing: the heap also counts what list and map storage grew by while its
  // task ran, measured on the worker's storage_meter between begin_run and end_run.
  void begin_run() { meter_base_ = storage_meter; }
  void end_run() {
    int64_t grown = storage_meter - meter_base_;
    if (grown > 0) bytes_ += size_t(grown);
    meter_base_ = storage_meter;
  }

  size_t bytes() const { return bytes_; }
  // Frees every object now (a finished task's heap).
  void free_all();
  bool immortal() const { return threshold_ == kNever; }
  // The next collection comes by `most` bytes at the latest (a task's memory limit).
  void cap_threshold(size_t most) { threshold_ = std::min(threshold_, most); }

  // Mark-sweep: the caller marks the roots with mark(); sweep() frees the rest and
  // sets the next threshold.
  void mark(Value v) { if (v.is_obj()) mark(v.o); }
  void mark(Obj* o);
  void trace();  // drains the gray stack, marking children
  void sweep();
  // Abandons a collection that ran out of memory while marking: no object stays marked.
  void unmark_all();
  bool should_collect() const {
    return bytes_ + size_t(std::max<int64_t>(0, storage_meter - meter_base_)) >= threshold_;
  }

 private:
  template <class T> T* alloc(Tag tag, size_t extra = 0);
  void reached_shared(Obj* o);

  Obj* objects_ = nullptr;
  size_t bytes_ = 0;
  // 256 KiB: small enough that a short script's heap stays in cache, large enough that
  // a script allocating little never collects. Doubles with the live size (Lua's pause
  // 200%). The immortal area never collects: its threshold is kNever, which is also how
  // it is told apart (a flag of its own would cost every task 8 bytes).
  static constexpr size_t kFirstThreshold = 256 * 1024;
  static constexpr size_t kNever = SIZE_MAX;
  size_t threshold_;
  int64_t meter_base_ = storage_meter;
  // What only some heaps need, allocated at first use: the collector's gray stack (at
  // the first collection) and the intern table (the immortal area). A heap per task
  // makes every byte here count.
  struct Extras {
    std::vector<Obj*> gray;
    std::unordered_map<std::string_view, String*> interned;
    // Counted objects this heap holds a reference on, each with the number of the last
    // collection that reached it.
    std::unordered_map<Obj*, uint32_t> held;
    uint32_t collection = 0;
  };
  Extras& extras() {
    if (!extras_) extras_ = std::make_unique<Extras>();
    return *extras_;
  }
  std::unique_ptr<Extras> extras_;
};

// Calls `f(child)` for every object `o` points to (the edges the collector follows).
template <class F>
void for_each_child(Obj* o, F&& f) {
  auto value = [&](Value v) { if (v.is_obj()) f(v.o); };
  switch (o->tag) {
    case Tag::List:
      for (Value v : static_cast<List*>(o)->items) value(v);
      break;
    case Tag::Map:
      for (auto& e : static_cast<Map*>(o)->entries) {
        value(e.key);
        value(e.value);
      }
      break;
    case Tag::Closure: {
      auto* c = static_cast<Closure*>(o);
      for (uint32_t i = 0; i < c->ncells; i++)
        if (c->cells()[i]) f(c->cells()[i]);
      if (c->module) f(c->module);
      break;
    }
    case Tag::Cell: value(static_cast<Cell*>(o)->value); break;
    case Tag::Error: {
      auto* e = static_cast<Error*>(o);
      if (e->kind) f(e->kind);
      if (e->message) f(e->message);
      break;
    }
    case Tag::Module: {
      auto* m = static_cast<Module*>(o);
      if (m->name) f(m->name);
      for (Value v : m->globals) value(v);
      if (m->exports) f(m->exports);
      break;
    }
    default: break;
  }
}

// Takes one more reference on the counted object `o`.
inline void retain_shared(Obj* o) {
  uint32_t before = std::atomic_ref<uint32_t>(o->refs).fetch_add(1, std::memory_order_relaxed);
  TSK_CHECK(before != 0, "a counted object is retained only while a reference keeps it alive");
}
// Drops one reference on the counted object `o`; the last one frees it, and releases
// what it points to in turn.
void release_shared(Obj* o);

}  // namespace tsk::vm
