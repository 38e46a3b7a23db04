// A heap: the objects one task owns, or (shared = true) the runtime's shared area of
// immortal immutable objects. Allocation never collects: collection happens only at the
// interpreter's safepoints (Task::collect), so native code may hold heap values in C++
// locals freely — unless it calls back into script (Task::call), across which it must
// keep them in a `Task::Root`.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vm/value.hpp"

namespace tsk::vm {

class Heap {
 public:
  explicit Heap(bool shared) : shared_(shared) {}
  ~Heap();
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  String* string(std::string_view bytes);
  // The one String with these bytes in this heap (for constants in the shared area):
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
  Handle* handle(Tag tag, Shared* target);

  // Moves every object of `other` into this heap (a message arriving from another task).
  void adopt(Heap& other);

  size_t bytes() const { return bytes_; }
  // Frees every object now (a finished task's heap).
  void free_all();
  bool shared() const { return shared_; }

  // Mark-sweep: the caller marks the roots with mark(); sweep() frees the rest and
  // sets the next threshold.
  void mark(Value v) { if (v.is_obj()) mark(v.o); }
  void mark(Obj* o);
  void trace();  // drains the gray stack, marking children
  void sweep();
  // Abandons a collection that ran out of memory while marking: no object stays marked.
  void unmark_all();
  bool should_collect() const { return bytes_ >= threshold_; }

 private:
  template <class T> T* alloc(Tag tag, size_t extra = 0);
  void free_object(Obj* o);

  Obj* objects_ = nullptr;
  size_t bytes_ = 0;
  // 256 KiB: small enough that a short script's heap stays in cache, large enough that
  // a script allocating little never collects. Doubles with the live size (Lua's pause 200%).
  size_t threshold_ = 256 * 1024;
  bool shared_;
  // What only some heaps need, allocated at first use: the collector's gray stack (at
  // the first collection) and the intern table (the shared area). A heap per task
  // makes every byte here count.
  struct Extras {
    std::vector<Obj*> gray;
    std::unordered_map<std::string_view, String*> interned;
  };
  Extras& extras() {
    if (!extras_) extras_ = std::make_unique<Extras>();
    return *extras_;
  }
  std::unique_ptr<Extras> extras_;
};

}  // namespace tsk::vm
