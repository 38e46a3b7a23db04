// Channels (SPEC §8, DESIGN decision 6): a ring of buffered messages and two FIFO
// queues of waiting tasks (intrusive lists of the tasks' own nodes, runtime/
// wait_queue.hpp), all behind one mutex.
//
// Invariants (under `lock`):
//  - At least one of sendq and recvq holds no live registration: a sender never waits
//    while a receiver waits, because the second to arrive completes the first.
//  - buffer.size() <= capacity; a sender waits only when the buffer is full, a receiver
//    only when it is empty and the channel is open.
//  - A registration belongs to its task's current wait. One whose wait has been claimed
//    elsewhere (by another channel of a select, or by cancel) is stale until its task
//    removes it (channel_forget, O(1) per registration); a waker meeting it first drops it.
//  - A sender waiting on a full buffer keeps its message (Task::offered); a
//    receiver taking from the buffer moves the first waiting sender's message in, so
//    values stay FIFO and waiters are served first come, first served.
// A direct hand-off (a sender meeting a waiting receiver) skips the buffer.
// Lock order: channels in address order (select), then a task's `lock`.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include "lang/ast.hpp"
#include "runtime/fifo.hpp"
#include "vm/sync.hpp"
#include "runtime/task.hpp"
#include "runtime/wait_queue.hpp"
#include "vm/transfer.hpp"

namespace tsk::rt {

class Channel final : public vm::RefCounted {
 public:
  // Made by the instruction at `made_pc` of `made_in` (which outlives the channel: the
  // runtime keeps every proto). `capacity` <= Fifo's kMaxItems.
  Channel(Runtime& runtime, uint64_t id, uint32_t capacity, const vm::Proto* made_in, uint32_t made_pc);
  ~Channel() override;
  std::string describe() const override;
  const char* file() const { return made_in->file.c_str(); }
  lang::Loc made_at() const {
    return made_pc > 0 && made_pc <= made_in->locs.size() ? made_in->locs[made_pc - 1] : made_in->loc;
  }

  // The fields are ordered to pack into 96 bytes, one mimalloc size class: `lock` fills
  // the padding after Shared's 4-byte count, `closed` shares a word with `made_pc`.
  vm::Mutex lock;
  Runtime& runtime;
  const uint64_t id;
  const vm::Proto* const made_in;
  const uint32_t capacity;
  const uint32_t made_pc : 31;
  uint32_t closed : 1;  // guarded by `lock`
  Fifo<vm::Message> buffer;
  // Waiting tasks; a sender's message stays with its task (Task::offered).
  WaitQueue sendq, recvq;
  size_t count() {
    std::lock_guard g(lock);
    return buffer.size();
  }
  // The registrations in both queues now (a walk: for tests).
  size_t waiters() {
    std::lock_guard g(lock);
    return sendq.size() + recvq.size();
  }
};

// The outcome of a channel operation attempted by a running task.
enum class Op { Done, Parked };

// The rest of channel_send and channel_recv, entered with `ch.lock` held (released
// before they return or throw): everything but the common buffered case.
Op channel_send_locked(Runtime& rt, Task& task, Channel& ch, vm::Message& m);
Op channel_recv_locked(Runtime& rt, Task& task, Channel& ch, vm::Message& out, bool& closed);

// Sends `m`: Done when it was taken or buffered, Parked when the task now waits.
// Throws (via the task) ChannelClosedError on a closed channel. Inline for the common
// case, an open buffered channel with room and no receiver waiting: at one worker the
// call, its frame and a second look at the queues were a tenth of an operation.
inline Op channel_send(Runtime& rt, Task& task, Channel& ch, vm::Message& m) {
  if (ch.capacity == 0) {  // unbuffered: nothing to do inline
    ch.lock.lock();
    return channel_send_locked(rt, task, ch, m);
  }
  std::unique_lock g(ch.lock);
  if (!ch.closed && ch.recvq.empty() && ch.buffer.size() < ch.capacity) {
    ch.buffer.push_back(std::move(m));
    return Op::Done;
  }
  g.release();
  return channel_send_locked(rt, task, ch, m);
}
// Receives into `out` (nil and *closed = true once closed and drained), or Parked.
// Inline for the common case: a buffered value and no sender waiting to refill.
inline Op channel_recv(Runtime& rt, Task& task, Channel& ch, vm::Message& out, bool& closed) {
  if (ch.capacity == 0) {
    ch.lock.lock();
    return channel_recv_locked(rt, task, ch, out, closed);
  }
  std::unique_lock g(ch.lock);
  if (!ch.buffer.empty() && ch.sendq.empty()) {
    closed = false;
    out = std::move(ch.buffer.front());
    ch.buffer.pop_front();
    return Op::Done;
  }
  g.release();
  return channel_recv_locked(rt, task, ch, out, closed);
}
// Closes: every waiting receiver gets nil, every waiting sender ChannelClosedError.
void channel_close(Runtime& rt, Task& task, Channel& ch);

struct SelectCase {
  Channel* chan;           // null: never ready
  bool is_send;
  vm::Value value;         // a send case's value (packed only when it is used)
};
// Chooses a ready case uniformly at random (Done: *chosen set, a receive's value in
// `out`), or -1 with `has_default`, or registers on every channel and parks.
Op channel_select(Runtime& rt, Task& task, SelectCase* cases, size_t ncases, bool has_default,
                  int& chosen, vm::Message& out, bool& closed);

// Delivers `m` from outside any task (a timer): to a waiting receiver, else into the
// buffer if there is room, else it is dropped.
void channel_offer(Runtime& rt, Channel& ch, vm::Message m);

// Whether a task may be parked receiving on `ch` (a select case included), asked
// without waiting for its lock: true also when the lock is busy. For the deadlock check,
// which runs under the scheduler's mutex, where waiting for a channel's lock could
// deadlock (lock order).
bool receiver_may_wait(Channel& ch);

// Removes `task`'s registrations of its last wait from the channels it waited on: one
// lock and an O(1) unlink per registration, whatever the length of the queues.
void channel_forget(Task& task);

}  // namespace tsk::rt
