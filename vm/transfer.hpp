// Moving values between tasks (SPEC §6, DESIGN decision 4): tasks share nothing mutable,
// so a value crossing from one task to another (spawn arguments, captures, channel
// messages, task results) is copied into the receiver's heap — unless it is shared.
//
// Shared values cross in O(1): immortal objects (constants, natives, loaded modules),
// handles' targets, and frozen data. `freeze` publishes what it froze: every object it
// reaches becomes a counted shared object (vm/value.hpp), which any task may read and
// whose lifetime reference counts keep (a heap holds one reference per object it reaches
// directly; see vm/heap.hpp). Freezing is deep and exact: it goes through lists, maps,
// closures and the variables (cells) they captured, so nothing shared can change.
// Everything else is deep-copied, with cycles and repeated references preserved.
//
// A Message is a value in transit: scalars travel as themselves, a shared object with a
// reference of its own; anything else is copied into a private heap, which the receiver
// adopts whole (Heap::adopt) — so neither heap is ever touched by two threads, and the
// receiver pays no copy.
//
// Rejected: copying frozen data at every crossing (a frozen 10,000-entry table read from
// another task cost a deep copy per read); immortal frozen data (a loop freezing a value
// per iteration would grow without bound); a reference count on every heap object (the
// cost would fall on all the mutable data that never crosses).
#pragma once

#include <memory>

#include "vm/heap.hpp"
#include "vm/value.hpp"

namespace tsk::vm {

struct Message {
  Value value;
  // Owns value's objects; null when none needed copying — then a counted `value` is one
  // reference the message owns.
  std::unique_ptr<Heap> heap;

  Message() = default;
  explicit Message(Value scalar) : value(scalar) {}  // a value that is not an object
  Message(Message&& o) noexcept : value(o.value), heap(std::move(o.heap)) { o.value = Value::nil(); }
  Message& operator=(Message&& o) noexcept {
    if (this != &o) {
      drop();
      value = o.value;
      heap = std::move(o.heap);
      o.value = Value::nil();
    }
    return *this;
  }
  ~Message() { drop(); }

 private:
  // Inline: most messages are numbers, whose drop is a store (channel hot path).
  void drop() {
    if (!heap && value.is_obj()) drop_object();
    value = Value::nil();
  }
  void drop_object();  // releases a counted object the message owns
};

// Deep copy of `v` into `into` (shared objects are held, not copied).
Value copy_into(Heap& into, Value v);
// A private copy of an error in `into`, with the same identity (Error::id): the copy a
// task raises or extends with the lines of a crossing, never a shared one.
Error* clone_error(Heap& into, const Error* e);

// freeze(v) (SPEC §2): makes `v` and everything reachable from it immutable, in place —
// lists, maps, closures and their captured variables — and publishes it, so it crosses
// tasks without copying. Every object it reaches must belong to the calling task's heap
// or be shared already.
void freeze_deep(Value v);
// Packs `v` for another task. A value that is no object (a number, a bool) is the
// message itself, with no call (channel hot path).
Message pack_object(Value v);
inline Message pack(Value v) { return v.is_obj() ? pack_object(v) : Message(v); }
// Packs a private copy of `e` (see clone_error), which the receiver may extend.
Message pack_error(const Error* e);
// The message's value, its objects now owned by `into`; `m` is left empty.
Value unpack_object(Heap& into, Message& m);
inline Value unpack(Heap& into, Message& m) {
  if (m.heap || m.value.is_obj()) return unpack_object(into, m);
  Value v = m.value;
  m.value = Value::nil();
  return v;
}

}  // namespace tsk::vm
