// Waits on the outside world (SPEC §10, §15, §16; DESIGN decision 7): how a task parks
// on an operation that another thread completes — a blocking call on the blocking pool,
// a descriptor's readiness from the reactor, later a host's `yields` function — and how
// that thread completes it. THIS IS THE API the I/O natives (io, net, fs, proc) build on.
//
// The protocol. A native that must wait parks its task with one of the park_* functions
// below and returns nil at once; the interpreter suspends the task with Resume::Retry
// (TaskState::retry_native). When the wait is completed the task runs again and the
// interpreter calls the same native again with the same arguments; the native then finds
// the record of what happened with `resumed<Op>(t)` and finishes (or waits again). So a
// native's code reads top to bottom, with no callback:
//
//     Value my_read(TaskState& t, Value* args, int nargs) {
//       if (auto op = rt::resumed<MyOp>(t)) return finish(t, *op);  // called again
//       auto op = std::make_shared<MyOp>(...);                      // first call
//       rt::run_on_pool(t, op, [op] { op->n = ::pread(...); });     // parks
//       return Value::nil();
//     }
//
// The kinds of wait:
//   * `blocks` natives need nothing: the interpreter sends them whole to the pool
//     (Host::call_blocking, here), unless their entry says `offloads_itself`.
//   * run_on_pool: a raw system call on the pool (it must not touch the task's heap or
//     any runtime state: it fills the op), for a `yields` native on a regular file.
//   * FdWait: a non-blocking descriptor that said EAGAIN; the reactor wakes the task
//     when it is ready, its timer (`timeout`) when the time is up (TimeoutError), a
//     cancel at once (Cancelled) — the handle stays usable.
//   * park_outside + Completion: the general seam: any thread completes the wait with
//     a value-less success or an error; a Completion dropped without completing fails
//     the task (it never hangs).
//
// Invariants. A task in an outside wait counts in Runtime::outside_waits from the moment
// it parks until it runs again (finish_wait), so the deadlock detector never reports it
// (SPEC §13): the count drops only after the task is runnable. A blocking call is not a
// cancellation point: cancel does not end its wait (Runtime::interrupt skips it); the
// task sees the cancel at its next wait. A Completion holds a reference to its task, so
// an ending at once (os.exit) never frees a task whose call is still running; it checks
// the runtime is still alive before it wakes anything.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/reactor.hpp"
#include "runtime/task.hpp"
#include "vm/task_state.hpp"

namespace tsk::rt {

class Runtime;
using Clock = std::chrono::steady_clock;

// What an outside operation leaves for its native, filled by the completer before it
// completes. Derive to add results.
struct OutsideOp : vm::PendingOp {
  // An error the native raises when it is called again (empty kind: none).
  std::string error_kind;
  std::string error_message;
  bool timed_out = false;      // (FdWait) the deadline passed
  bool completed = false;      // the completer finished (false: dropped)
  // (FdWait) kept across the native's calls while it waits
  bool has_deadline = false;
  Clock::time_point deadline;
  int fd = -1;
  size_t progress = 0;         // what a native has done so far (bytes written)
  // Raises the recorded error in `t`, if any.
  void raise_if_failed(vm::TaskState& t) const;
  // The task was woken from its wait by a cancel (or the deadlock report): its native
  // is not called again. Runs on the task's thread as it resumes; an op whose work must
  // not outlive its task (proc.run's command) stops it here.
  virtual void abandoned() {}
};

// Whether the runtime is still alive: shared by the completions of outside operations,
// which may come back after it has gone (a read of a terminal at os.exit).
struct Liveness {
  std::mutex lock;
  bool alive = true;
};

// The right to complete one parked wait, from any thread. Move-only.
class Completion {
 public:
  Completion() = default;
  Completion(std::shared_ptr<Liveness> live, Runtime* rt, Task* task, uint64_t gen, std::shared_ptr<OutsideOp> op);
  Completion(Completion&& o) noexcept { *this = std::move(o); }
  Completion& operator=(Completion&& o) noexcept;
  ~Completion();
  // Wakes the task; its native, called again, reads `op`.
  void complete();
  // Wakes the task, whose native then raises `kind`: `message`.
  void fail(std::string kind, std::string message);
  OutsideOp* op() const { return op_.get(); }

 private:
  std::shared_ptr<Liveness> live_;
  Runtime* rt_ = nullptr;
  Task* task_ = nullptr;
  uint64_t gen_ = 0;
  std::shared_ptr<OutsideOp> op_;
};

// True when `t` may park here (not inside a native's callback off a fiber).
bool can_park(vm::TaskState& t);

// Parks the running task in an outside wait on `op` (kind Blocking: not cancellable;
// Io: cancel wakes it) and returns the Completion for whoever completes it.
Completion park_outside(vm::TaskState& t, std::shared_ptr<OutsideOp> op, WaitInfo::Kind kind);

// The op the task comes back from, when its native is called again after an outside
// wait (taken: a second call returns null); null on a first call.
std::shared_ptr<OutsideOp> take_resumed(vm::TaskState& t);
template <class Op>
std::shared_ptr<Op> resumed(vm::TaskState& t) {
  return std::static_pointer_cast<Op>(take_resumed(t));
}

// Parks the task and runs `work` on the blocking pool; the native is called again when
// it returns. `work` fills `op` and touches nothing else of the runtime's, unless
// `touches_runtime` (then the runtime waits for it before it ends). `cancellable`: a
// cancel wakes the task at once with Cancelled (a `yields` native's file read; `work`
// still runs to its end, into `op`); otherwise the task waits for `work` (a `blocks`
// native's part). Where the task cannot park, `work` runs here and the native finds
// `op` resumed at once.
void run_on_pool(vm::TaskState& t, std::shared_ptr<OutsideOp> op, std::function<void()> work,
                 bool cancellable = true, bool touches_runtime = false);

// A wait on a non-blocking descriptor, for `yields` natives:
//
//     rt::FdWait w(t, timeout_arg, "net.accept(<listener ...>)");  // first, always
//     for (;;) { int c = accept4(fd, ...); if (c >= 0) return ...;
//                if (errno == EAGAIN) { w.park(fd, Reactor::Read); return Value::nil(); }
//                raise IOError }
//
// The constructor picks up the wait the native comes back from (its deadline, its
// progress) or starts the clock for `timeout` (a number of seconds, or nil: none);
// park() raises TimeoutError when the deadline has passed, else parks until the
// descriptor is ready, the deadline passes, or the task is cancelled.
class FdWait {
 public:
  FdWait(vm::TaskState& t, vm::Value timeout, std::string what);
  // As above, for a native that took the resumed op itself (`resumed`, maybe null; an op
  // of another kind counts as none); `fresh`: the op to start with (a derived one).
  FdWait(vm::TaskState& t, std::shared_ptr<OutsideOp> resumed, vm::Value timeout, std::string what,
         std::shared_ptr<OutsideOp> fresh = nullptr);
  const std::shared_ptr<OutsideOp>& op() const { return op_; }
  // Bytes (or anything) done by earlier calls, kept across parks.
  size_t& progress() { return op_->progress; }
  void park(int fd, Reactor::Direction dir);

 private:
  vm::TaskState& t_;
  std::string what_;
  std::shared_ptr<OutsideOp> op_;
};

// Called by finish_wait when a task resumes from an outside wait (Blocking or Io).
void outside_wait_ended(vm::TaskState& t, WaitInfo::Kind kind);

// Seconds from now as a deadline (clamped: nobody waits 30 years).
Clock::time_point deadline_after(double seconds);

}  // namespace tsk::rt
