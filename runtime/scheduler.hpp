// The M:N scheduler (DESIGN decision 5): N worker threads run tasks from run queues.
//
// Queues. Each worker owns a bounded lock-free ring (runtime/run_queue.hpp, 1024 slots)
// and a one-task `next` slot that only it touches. A task woken by the task running on a
// worker goes into that worker's `next` slot, so a receiver runs right after its sender
// (ping-pong stays on one core, hot in cache); the task it displaces goes to the ring.
// Yields and preemptions go to the ring. A full ring moves its older half to the global
// queue (a deque under its own lock, with an atomic count for lock-free looks), which
// also takes every task made runnable off the workers (pool threads, run_main). A worker
// looks in its next slot, its ring, the global queue (first every 61st task, so it does
// not starve), then steals half of the ring of other workers, starting at a random one
// (a per-worker xorshift); a short ring only once its owner has not taken from it for a
// while (serving_own_ring). No queue operation takes a lock or touches a counter shared
// by all workers; a worker knows others wait (preemption) from its own queue, the global
// queue's count and the timers.
//
// Parking (the lost wake-up is the danger here). An idle worker counts itself in
// `spinning_` while it looks for work (a bounded number of steal rounds), then parks on
// `idle_cv_`, counted in `parked_` (changed under `mutex_`). A task pushed where another
// worker could take it (a ring or the global queue; never the next slot, which only its
// worker runs, and it is running) wakes a parked worker only when no worker spins and a
// parked one has not been sent a wake-up yet (wake_idle_worker: it moves spinning_ from 0
// to 1 for the worker it wakes, so a burst of pushes wakes one worker, not all).
// Two Dekker pairs make this safe, each a store, a seq_cst fence, and a load:
//   pusher:  store the task (ring tail / global count); fence; load spinning_, parked_
//   spinner: spinning_ -= 1; fence; look at every ring and the global queue again
//   parker:  parked_ += 1 (under mutex_); fence; look at every ring and the global queue
// Whatever the interleaving, either the pusher sees the spinner (which then sees the
// task) or the parker (and counts a wake-up for it under mutex_, which the parker holds
// until it waits, so the pusher sees it only once it waits: the notify, sent after the
// pusher lets go of mutex_ so the woken worker does not block on it, cannot fall
// between its look and its wait), or they see the task.
// A pusher that took spinning_ from 0 to 1 but then finds no parked worker without a
// wake-up (and no thread left to start) gives the count back and, after a fence, looks
// once more: if a task is visible and a worker parked meanwhile, it goes round again
// (other pushes skipped their wake-up while it held the count; the worker that parked
// may have looked before they stored their task). A spinner that finds work stops
// spinning and, if it was the last spinner, wakes another parked worker: pushes it made
// others skip may still wait. A worker woken by a notify takes one of `wakeups_` (under
// mutex_) and so knows it was counted as spinning; one woken by its timer's timeout or
// spuriously counts itself. The deadlock check and the endings count a worker as idle
// only when parked: a parked worker's next slot and ring are empty, since only it fills
// them. Worker threads start lazily: the first at run_main, the others when a push
// would wake a parked worker and none is parked (so an empty script starts one thread).
//
// The reactor (DESIGN decision 7, Go's netpoll). Once a runtime has a reactor, the
// worker about to park with nothing to do, if no other worker is parked there, parks in
// the reactor's epoll wait instead of on idle_cv_ (`poller_parked_`), with the timeout of
// the earliest timer, and counts in parked_ like any parked worker: the parking protocol
// above, the deadlock check and the endings see no difference. It is woken by the
// reactor's eventfd (kick_poller, under mutex_, at most once per park) for everything a
// worker on idle_cv_ is woken for: a wake-up for work (wake_idle_worker notifies
// idle_cv_ while it has workers not yet sent a wake-up, and kicks the poller once the
// wake-ups outnumber them), a timer earlier than its timeout, shutdown, the reactor
// going. When it wakes it first leaves parked_ (under mutex_: it holds no task while it
// counts as parked), then makes the tasks whose descriptors are ready runnable on its own
// queues (next slot and ring), so a task woken by I/O runs on the thread that saw the
// readiness, and the usual push wakes another worker if there is more work. While no
// worker is parked in the reactor, a busy worker polls it without blocking when it looks
// for work, at most every kPollEvery (others_waiting says so, so a task that never
// yields still lets I/O in). Only one worker blocks in the reactor; a non-blocking poll
// may run beside it (epoll hands each one-shot event to one of them).
//
// Timers live in one binary heap behind the scheduler mutex; a worker fires the due ones
// when it looks for work. A sleeping task knows its timer's slot in the heap, so a sleep
// ended otherwise (cancelled) takes its timer out at once, in O(log n). Deadlock: when
// the last worker parks with no runnable task, no timer a waiting task waits on (a
// sleep's, or an after()/tick() channel's that a task is parked receiving from) and live
// tasks remaining, every live task is waiting on something only another task could
// complete (SPEC §13); the scheduler raises Deadlock in the main task or, if main cannot
// take it, ends the program with the report.
//
// Endings. A program normally ends when main is Done, and by then every task has ended
// (a task is not Done before the tasks of its scopes). It can also end at once, with
// tasks still alive: os.exit, a closed stdout, a second interrupt, or a deadlock main
// cannot catch. Then the scheduler *halts*: from that moment no task starts running
// again (a worker that takes one from a queue leaves it parked), a running task stops
// at its next preemption point by unwinding (vm::ExitRequest, which no script code
// catches), and run_main waits until every worker is idle with nothing queued. From
// then on no worker touches a task, so the thread of run_main takes every task left
// out of channels, scopes, awaiter lists and timers and frees it; the scheduler is then
// ready for another run or for destruction. Rejected: cancelling the tasks left (the
// ending would run their `finally` blocks and could wait on anything, so it would not be
// an ending at once) and leaving them parked until the runtime dies (a second run would
// see them as live tasks, in its deadlock checks and reports, and they leak).
//
// Live tasks are kept in per-worker lists (the spawning worker's, each under its own
// lock), so a spawn and a task's end touch no lock shared by all workers; only the
// deadlock check and the endings walk them all.
//
// Lock order: scheduler `mutex_` before the global queue's lock and a live list's lock;
// never a channel's lock while holding any of them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <mutex>
#include <thread>
#include <vector>

#include "vm/sync.hpp"
#include "runtime/reactor.hpp"
#include "runtime/run_queue.hpp"
#include "runtime/task.hpp"

namespace tsk::rt {

class Runtime;

using Clock = std::chrono::steady_clock;

class Scheduler {
 public:
  Scheduler(Runtime& runtime, int threads);
  ~Scheduler();

  // Makes a Parked (or newly made) task runnable. From a worker it goes to that
  // worker's next slot; from elsewhere to the global queue.
  void wake(Task* task);
  // Requeues the running task at the back (yield, preemption).
  void requeue(Task* task);

  // Registers a task that exists (for deadlock detection and shutdown).
  void add_live(Task* task);
  void remove_live(Task* task);
  // `task` is Done: leaves the live set; the program ends when it is the main task.
  void task_finished(Task* task);
  // A task's body has ended on the calling worker: its register stack and frame array
  // stay with the worker (a few, small ones) for the next spawn, whose reuse_stacks
  // takes them; a spawn then allocates neither. Nothing happens off the workers.
  void keep_stacks(vm::TaskState& ended);
  void reuse_stacks(vm::TaskState& fresh);

  // Wakes `task` at `when` unless its wait `gen` was completed before.
  void add_timer(Clock::time_point when, Task* task, uint64_t gen);
  // Takes `task`'s sleep timer out of the heap, if it is still there (its sleep ended
  // otherwise: the timer no longer keeps the program from a deadlock, nor the task alive).
  void cancel_timer(Task& task);
  // Sends the current monotonic time on `chan` at `when` (after()), and then every
  // `period` while anyone but the timer still holds the channel (time.tick()).
  void add_channel_timer(Clock::time_point when, Channel* chan, Clock::duration period = {});

  // Runs `main` (already prepared) until it is Done and no task is left; the calling
  // thread blocks meanwhile. Returns false when the program ended in an unrecoverable
  // deadlock, with its report in `deadlock_report`.
  bool run_main(Task* main);
  std::string deadlock_report;
  // The message of the Deadlock error raised in main when it can catch it (main reads it
  // when it resumes, before any later deadlock can be detected).
  std::string deadlock_message;
  int exit_code = -1;           // the status given by os.exit (or another ending at once)
  // Ends the program now with `code` (os.exit, a closed stdout, a second interrupt):
  // the scheduler halts (see the top of this file); the first code given wins. A
  // negative code halts without choosing one (a task unwinding because the program has
  // already ended). Does nothing when no program is running. Any thread.
  void request_exit(int code);
  // The program has ended while tasks were alive: none may run any more.
  bool halting() const { return halting_.load(std::memory_order_relaxed); }
  // Releases timers nobody can observe any more (a cancelled sleep, an unread channel).
  void drop_stale_timers();

  // The task running on the calling worker, or null off the workers.
  static Task* current();
  // Other tasks are waiting for a worker: the running task should yield at its next
  // preemption point.
  bool others_waiting() const;
  // Stops the workers: running tasks stop at their next preemption point, parked and
  // queued ones stay as they are (the destructor frees them). Idempotent.
  void shutdown();
  // The earliest timer is due (a relaxed look; the worker that fires it locks).
  bool timer_due() const;

  int threads() const { return int(workers_.size()); }
  // Worker threads started so far (they start lazily).
  int started_threads() const { return started_.load(std::memory_order_relaxed); }

  // The reactor is polled by the workers from its making (attach) until it goes
  // (detach: returns once no worker is inside it; none enters afterwards).
  void attach_reactor(Reactor* reactor);
  void detach_reactor(Reactor* reactor);

 private:
  struct Worker {
    RunQueue<Task> ring;       // pushed by this worker only, stolen from by the others
    Task* next = nullptr;      // this worker's only
    std::thread thread;
    int index = 0;
    bool spinning = false;     // counted in spinning_
    uint32_t ticks = 0;        // tasks taken; paces the fairness checks in find_work
    uint32_t next_streak = 0;  // tasks taken from `next` in a row
    uint32_t rng = 0;          // xorshift32: the first victim of a steal round
    // Register stacks and frame arrays of tasks that ended here (keep_stacks).
    static constexpr uint32_t kKeptStacks = 16;
    vm::SmallVector<vm::Value> kept_stacks[kKeptStacks];
    vm::SmallVector<vm::Frame> kept_frames[kKeptStacks];
    uint32_t kept = 0;
    vm::Mutex live_lock;       // guards `live` and the live_* fields of its tasks
    Task* live = nullptr;      // the tasks spawned here that are not Done
    std::unique_ptr<Reactor::Ready> ready;  // what this worker's last poll returned
  };
  struct Timer {
    Clock::time_point when;
    Task* task;           // wakes the task (whose timer_slot is its index in timers_), or
    uint64_t gen;
    Channel* chan;        // sends the time on the channel
    Clock::duration period;  // repeats when non-zero
  };
  // The timer heap (under mutex_): a binary min-heap on `when` in timers_.
  void push_timer(const Timer& t);
  Timer remove_timer(size_t slot);
  // Removes every timer `stale` picks, appending it to `out`; O(n).
  void remove_timers_if(bool (*stale)(const Timer&), std::vector<Timer>& out);
  void sift_up(size_t slot);
  void sift_down(size_t slot);
  void place_timer(size_t slot, const Timer& t);
  // Some pending timer may still wake a waiting task (the deadlock check; all idle).
  bool timer_can_wake();

  void worker_loop(Worker* w);
  // Puts a runnable task in this worker's next slot (or ring), or the global queue from
  // outside the workers.
  void enqueue(Task* task, bool next_slot);
  // Pushes `task` on the ring of `w` (the calling worker), half of a full ring moving to
  // the global queue; then wakes a parked worker if none spins.
  void push_local(Worker* w, Task* task);
  void push_global(Task* const* tasks, size_t n);
  // Takes from the global queue: one task, and up to `batch` more into w's ring.
  Task* take_global(Worker* w, size_t batch);
  Task* take_local(Worker* w);
  Task* steal(Worker* w);
  // Whether `victim` is working through a short ring itself: its ring moves within
  // kStealPatience (the thief waits that long to see).
  static bool serving_own_ring(const Worker* victim);
  // Some ring or the global queue holds a task (a look, for the parking protocol).
  bool work_visible() const;
  // After a push another worker could take: wakes (or starts) a worker if none spins.
  void wake_idle_worker();
  void stop_spinning(Worker* w);
  bool start_worker(Worker* w);  // under mutex_; false when no thread could start
  // The worker has finished running `task` for good; ends run_main when it is main.
  void left_task(Task* task);
  Task* find_work(Worker* w);
  void run_task(Worker* w, Task* t);
  void fire_timers(std::unique_lock<std::mutex>& held);

  void on_deadlock(std::unique_lock<std::mutex>& held);
  // After a halt, once no worker runs a task: unlinks every task left (`main` too) from
  // channels, scopes and awaiters, frees all but main, and drops every timer.
  void end_all_tasks(Task* main);

  Runtime& runtime_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::mutex mutex_;                      // timers, parking, starting workers, run state
  std::condition_variable idle_cv_;
  std::condition_variable done_cv_;
  vm::Mutex global_lock_;                 // guards global_
  std::deque<Task*> global_;
  std::atomic<size_t> global_count_{0};   // global_.size(), for looks without the lock
  std::vector<Timer> timers_;
  size_t sleepers_ = 0;                   // timers of sleeping tasks in timers_
  // At this many timers, add_channel_timer drops those whose channel only the timer
  // still holds (nobody can receive the time any more): the heap stays within twice
  // what is reachable, however many after() channels a loop drops unread.
  static constexpr size_t kFirstSweep = 64;
  size_t sweep_at_ = kFirstSweep;
  bool has_live();                        // takes every live list's lock
  std::vector<Task*> live_tasks();        // a copy of every live list
  std::atomic<int> spinning_{0};          // workers looking for work (see the top)
  std::atomic<int> parked_{0};            // workers parked on idle_cv_ (changed under mutex_)
  int wakeups_ = 0;                       // notifies sent to parked workers not yet up (mutex_)
  std::atomic<int> started_{0};           // worker threads started (changed under mutex_)
  bool stopping_ = false;
  bool finished_ = false;
  bool running_ = false;                  // run_main is between its start and its return
  std::atomic<Task*> main_{nullptr};      // written under mutex_
  std::atomic<bool> stopping_flag_{false};  // stopping_, readable without the mutex
  std::atomic<bool> halting_{false};        // written under mutex_; see request_exit
  std::atomic<int64_t> next_deadline_{INT64_MAX};  // the earliest timer (Clock ticks)
  // Takes every timer out of the heap (mutex_ held); release_timers then drops what they
  // held (no lock needed).
  std::vector<Timer> take_timers();
  static void release_timers(std::vector<Timer>& timers);
  void note_next_deadline();              // under mutex_, after the timers changed

  // Polling the reactor (see the top of this file). At most one worker parks in the
  // reactor's wait; a busy worker polls without blocking every kPollEvery when none does.
  static constexpr Clock::duration kPollEvery = std::chrono::milliseconds(1);
  Reactor* reactor_ = nullptr;            // under mutex_
  bool poller_parked_ = false;            // a worker is parked in reactor_->wait() (mutex_)
  bool poller_kicked_ = false;            // ... and was kicked since it went in (mutex_)
  Clock::time_point poller_until_ = Clock::time_point::max();  // its timeout (mutex_)
  std::atomic<bool> busy_poll_{false};    // reactor_ && !poller_parked_ (written under mutex_)
  std::atomic<int64_t> next_poll_{0};     // when a busy worker polls next (Clock ticks)
  std::atomic<int> in_reactor_{0};        // workers inside reactor_'s wait or dispatch
  void kick_poller();                     // under mutex_: the parked poller looks again
  void note_poller();                     // under mutex_, after reactor_/poller_parked_ changed
  bool poll_due() const;
  void poll_io(Worker* w);                // a poll that does not block
};

}  // namespace tsk::rt
