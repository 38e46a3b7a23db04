// Tasks and scopes (SPEC §6–§7): a task is a vm::TaskState (frames, registers, heap) plus
// what the scheduler and structured concurrency need — its place in a scope, its wait
// state, its outcome, and the tasks awaiting it.
//
// Ownership and states (Task::state, an atomic word. Parking and waking change it by one
// compare-and-swap each, without Task::lock (Scheduler::wake and the end of
// Scheduler::run_task); a worker taking a Runnable task from a queue stores Running
// (nobody else may change a Runnable task); the move to Done is made under the lock,
// which await reads it under):
//   Runnable — in exactly one run queue; no thread touches its vm state.
//   Running  — one worker runs it; only that worker touches its vm state and heap.
//   Parked   — registered with what it waits for (a channel queue, an awaited task, a
//              scope, a timer); whoever completes the wait claims it (Task::claim) and
//              makes it Runnable. Nothing touches its heap while it is parked: values
//              reach it as vm::Messages that it unpacks itself when it runs again.
//   Done     — its body and its implicit scope have ended; `result` or `error` is final.
//   Woken    — Running, and a wake arrived before it finished suspending (it registered
//              its wait but is still leaving its worker): the worker requeues it at once.
// So the transitions are Parked -> Runnable (wake), Runnable -> Running (a worker takes
// it), Running -> Woken (wake), Running | Woken -> Parked | Runnable (it waits or
// yields; a Woken task does not park), Running -> Done (it ends); the checked
// builds verify each where it happens (TSK_CHECK, vm/check.hpp).
//
// Every wait has a generation number (`wait_gen`), and only the first to claim it
// (compare-and-swap on `claimed_gen`) completes the wait: a select woken by two channels
// at once, or a cancel racing a send, wakes once. A registration in a channel queue is a
// Waiter node the task owns (runtime/wait_queue.hpp); the task removes every node of a
// wait before it begins the next one, so a node found in a queue always belongs to the
// task's current wait and needs no generation of its own.
//
// Scopes: every task belongs to the innermost scope open in the task that spawned it
// (a `scope { }` block, or that task's implicit scope). A scope counts its live tasks;
// the first failure cancels the others and the scope's own code, and is raised at the
// scope's end in its owner, with the other failures listed as "also failed".
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lang/ast.hpp"
#include "vm/sync.hpp"
#include "runtime/wait_queue.hpp"
#include "vm/task_state.hpp"
#include "vm/transfer.hpp"

namespace tsk::rt {

class Runtime;
class Channel;
class Task;

// What a parked task waits for; the deadlock report prints it.
struct WaitInfo {
  enum Kind : uint8_t { None, Receive, Send, Select, Await, ScopeEnd, TaskEnd, Sleep, Forever, Import,
    Blocking,  // a blocks call on the blocking pool: not a cancellation point
    Io         // an I/O wait (reactor, timer, or a file's call on the pool): cancel ends it
  } kind = None;
  union {
    Channel* chan = nullptr;  // Receive, Send
    uint64_t task_id;         // Await
    vm::Module* module;       // Import: another task is loading it (runtime/modules.hpp)
  };
  static WaitInfo on_channel(Kind kind, Channel* chan) {
    WaitInfo w;
    w.kind = kind;
    w.chan = chan;
    return w;
  }
  static WaitInfo on_task(uint64_t id) {
    WaitInfo w;
    w.kind = Await;
    w.task_id = id;
    return w;
  }
  static WaitInfo on_module(vm::Module* m) {
    WaitInfo w;
    w.kind = Import;
    w.module = m;
    return w;
  }
  static WaitInfo on(Kind kind) {
    WaitInfo w;
    w.kind = kind;
    return w;
  }
};

// An error a waker makes a parked task raise when it resumes (one byte on the task:
// finish_wait turns it into the error; Deadlock's message is the scheduler's report).
enum class WakeError : uint8_t { None, Cancelled, ChannelClosed, Deadlock };

// A failure recorded by a scope: the error in transit form and where it came from.
struct Failure {
  vm::Message error;        // an Error value
  uint64_t task_id = 0;     // 0: the scope's own block
};

class Scope {
 public:
  Scope(Task* owner, Scope* outer) : owner(owner), outer(outer) {}
  Task* owner;
  Scope* outer;                          // the enclosing `scope { }` of the same task, if any
  vm::Mutex lock;
  int live = 0;                          // tasks of this scope that have not ended
  Task* members = nullptr;               // those tasks, linked through Task::member_prev/next;
                                         // the list holds a reference to each
  // The first one is raised at the scope's end. Allocated at the first failure: most
  // scopes never see one, and every task carries its implicit scope.
  std::unique_ptr<std::vector<Failure>> failures;
  std::atomic<bool> cancelled{false};    // a failure cancelled the scope's own code
  bool cancel_sent = false;              // its owner, cancelled, has cancelled its tasks
  bool owner_waiting = false;            // the owner is parked at the scope's end
  bool failed() const { return failures && !failures->empty(); }
};

// The registrations of a select, one per case by case index (a case with a nil channel
// has none). Made by a task's first select that waits, and kept: a task that selects
// once selects again. `cases` is resized only while no node is in a queue.
struct SelectWait {
  struct Case : Waiter {
    Channel* chan = nullptr;  // the channel it is registered on (holding a reference), or null
    bool is_send = false;
    vm::Message offered;      // a send case's message, until a receiver takes it
  };
  std::vector<Case> cases;
  bool registered = false;    // some case is registered (channel_forget has not run yet)
};

// What a finished task leaves for its awaiters: its result or error, in a heap of its own
// (the task's heap is freed when its body ends).
struct Ending {
  vm::Heap heap{false};
  vm::Value result;
  vm::Error* error = nullptr;
};

class Task final : public vm::RefCounted, public vm::HostTask {
 public:
  // `name` must outlive the task: a proto's or a native entry's string. `spawner` is the
  // function that ran the spawn (null for the main task).
  Task(Runtime& runtime, uint64_t id, const char* name, const vm::Proto* spawner, lang::Loc spawned_at);
  ~Task() override;
  std::string describe() const override;
  Runtime& runtime() const;

  // Kept small on purpose: a parked task is this object, its registers and frames, its
  // heap's objects, and its channel registrations; the goal is well under 1 KB in all.
  vm::TaskState vm;
  const uint64_t id;
  const char* const name;  // the function it runs ("<spawn>" for a block)
  const lang::Loc spawned_at;
  const vm::Proto* const spawner;  // the function that ran the spawn (for tracebacks)
  const char* file() const { return spawner ? spawner->file.c_str() : ""; }

  Scope* member_of = nullptr;    // the scope it belongs to (null for the main task)
  Task* member_prev = nullptr;   // its neighbours in member_of's list while it runs
  Task* member_next = nullptr;
  Task* live_prev = nullptr;     // its neighbours in a live list of the scheduler
  Task* live_next = nullptr;
  Scope implicit_scope{this, nullptr};
  Scope* innermost = nullptr;    // the innermost open `scope { }` block (owned; linked by outer)

  // --- scheduling (guarded by `lock`) ---
  enum State : uint8_t { Runnable, Running, Parked, Done, Woken };
  vm::Mutex lock;
  std::atomic<State> state{Runnable};     // parked and woken by compare-and-swap (above)
  bool yield_now = false;                 // yield() or preemption: requeue, do not park
  uint8_t live_shard = 0;                 // the scheduler's live list it is in (its lock
                                          // guards live_prev/next and this)

  // --- the current wait ---
  std::atomic<uint64_t> wait_gen{0};      // bumped by each new wait (read by wakers)
  std::atomic<uint64_t> claimed_gen{0};   // == wait_gen once someone completed this wait
  WaitInfo waiting;
  // Its registration while it sends or receives on waiting.chan (`task` set from the
  // registration until channel_forget); a select registers the nodes of `select`.
  Waiter waiter;
  // Set by whoever claimed the wait, read by the task when it runs again.
  vm::Message wake_value;
  int16_t wake_case = -1;
  bool wake_closed = false;
  bool registration_taken = false;        // the claimer removed the registration it
                                          // completed (a channel popped the node, the
                                          // sleep's timer left the heap)
  WakeError wake_error = WakeError::None; // raise this on resume
  std::atomic<bool> cancel_requested{false};
  bool body_finished = false;             // its function returned or failed
  // --- outcome (final once state == Done) ---
  enum Outcome : uint8_t { Pending, Returned, Failed, Cancelled };
  std::atomic<uint8_t> outcome{Pending};
  std::unique_ptr<SelectWait> select;     // the registrations of its selects
  // What a parked sender offers: a plain send's message is in wake_value (a sender gets
  // nothing back), a select's send case's message is on its case (emptied by
  // channel_forget when the wait ends).
  vm::Message& offered(int case_index) { return case_index < 0 ? wake_value : select->cases[size_t(case_index)].offered; }
  // The select case a registration of this task stands for (-1: a plain send or receive).
  int case_of(const Waiter* w) const {
    return w == &waiter ? -1 : int(static_cast<const SelectWait::Case*>(w) - select->cases.data());
  }

  // select's random choice: a Weyl sequence through a 32-bit mixer, started from the
  // runtime's seed and the task's id (Runtime::seed), so a seeded run on one worker
  // repeats its choices. 32 bits: the task shares the word with timer_slot.
  uint32_t rng;
  // Its sleep's place in the scheduler's timer heap, or kNoTimer (guarded by the
  // scheduler's mutex): a sleep ended otherwise leaves the heap at once.
  static constexpr uint32_t kNoTimer = UINT32_MAX;
  uint32_t timer_slot = kNoTimer;

  size_t random_below(size_t n) {
    rng += 0x9E3779B9u;
    uint32_t x = rng;  // lowbias32 (C. Wellons)
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return size_t((uint64_t(x) * n) >> 32);
  }

  std::unique_ptr<Ending> ending;           // set when its body ends (null: it returned nil)
  // Tasks parked in await on it, linked through next_awaiter (guarded by `lock`); the
  // list holds a reference to each.
  Task* awaiters = nullptr;
  Task* next_awaiter = nullptr;             // its neighbour in the list of the task it awaits

  // Starts a new wait: returns its generation. The task must still be Running.
  uint64_t begin_wait(WaitInfo what);
  // Completes the wait `gen` if nobody has: the caller then fills wake_* and wakes it.
  bool claim(uint64_t gen);
  // Claims the current wait, if it is still open (a waker that found the task's node in
  // a queue: the node belongs to the current wait).
  bool claim_current() { return claim(wait_gen.load(std::memory_order_acquire)); }
  // The current wait is still open: nobody has claimed it.
  bool wait_open() const {
    return claimed_gen.load(std::memory_order_acquire) + 1 == wait_gen.load(std::memory_order_acquire);
  }

  // True when a wait point must raise Cancelled: cancel() was called, or a failure
  // cancelled one of the scopes whose code is running. Inline: every channel operation
  // asks, and the answer is nearly always no.
  bool should_cancel() {
    if (cancel_requested.load(std::memory_order_acquire)) return true;
    if (implicit_scope.cancelled.load(std::memory_order_acquire)) return true;
    for (Scope* s = innermost; s; s = s->outer)
      if (s->cancelled.load(std::memory_order_acquire)) return true;
    return false;
  }

  // `scope { }` blocks: opens one; closes the innermost, handing it to the caller.
  void open_scope();
  std::unique_ptr<Scope> close_scope();
};

// The scheduler's task whose VM state `t` is (t must be one).
inline Task& host_of(vm::TaskState& t) { return *static_cast<Task*>(t.host); }

}  // namespace tsk::rt
