// Moving values between tasks (SPEC §6, DESIGN decision 4): tasks share nothing mutable,
// so a value crossing from one task to another (spawn arguments, captures, channel
// messages, task results) is copied into the receiver's heap. Shared objects (constants,
// natives, modules) and handles' targets are shared, never copied; everything else is
// deep-copied with cycles and repeated references preserved, frozen flags kept.
//
// A Message is a value in transit: scalars travel as themselves; anything else is
// copied into a private heap of its own, which the receiver adopts whole (Heap::adopt)
// — so neither heap is ever touched by two threads, and the receiver pays no copy.
#pragma once

#include <memory>

#include "vm/heap.hpp"
#include "vm/value.hpp"

namespace tsk::vm {

struct Message {
  Value value;
  std::unique_ptr<Heap> heap;  // owns value's objects; null when none needed copying

  Message() = default;
  explicit Message(Value v) : value(v) {}
  Message(Message&&) = default;
  Message& operator=(Message&&) = default;
};

// Deep copy of `v` into `into` (shared objects are referenced, not copied).
Value copy_into(Heap& into, Value v);
// Packs `v` for another task.
Message pack(Value v);
// The message's value, its objects now owned by `into`; `m` is left empty.
Value unpack(Heap& into, Message& m);

}  // namespace tsk::vm
