// The worker threads, run queues, timers and deadlock detection (see scheduler.hpp).
#include "runtime/scheduler.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <system_error>

#include "runtime/channel.hpp"
#include "runtime/concurrency.hpp"
#include "runtime/fiber.hpp"
#include "runtime/runtime.hpp"
#include "vm/check.hpp"

namespace tsk::rt {

namespace {

// The worker a thread is, and the task it runs; a thread serves one scheduler at most.
thread_local Scheduler* tl_scheduler = nullptr;
thread_local void* tl_worker = nullptr;
thread_local Task* tl_task = nullptr;

const char* wait_text(const WaitInfo& w) {
  switch (w.kind) {
    case WaitInfo::Receive: return "receiving on ";
    case WaitInfo::Send: return "sending on ";
    case WaitInfo::Select: return "in select";
    case WaitInfo::Await: return "awaiting task ";
    case WaitInfo::ScopeEnd: return "waiting for the tasks of its scope";
    case WaitInfo::TaskEnd: return "waiting for the tasks it spawned";
    case WaitInfo::Sleep: return "sleeping";
    case WaitInfo::Forever: return "in an empty select";
    case WaitInfo::Import: return "waiting for module ";
    case WaitInfo::Blocking: return "in a blocking call";
    case WaitInfo::Io: return "waiting on I/O";
    default: return "waiting";
  }
}

// "task 3 stage at pipe.tsk:6:13 — sending on chan 3 (made at pipe.tsk:4:10)". The place
// is the innermost frame with a source location: a hidden one (the trampoline a task
// made by a native starts in, as io.lines's feeder) has none. A task with no such frame
// is named by where it was spawned.
std::string describe_wait(Task* t) {
  std::string line = "task " + std::to_string(t->id) + " " + std::string(t->name);
  auto place = [](const std::string& file, lang::Loc loc) {
    return file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
  };
  bool placed = false;
  for (size_t i = t->vm.frames.size(); i-- > 0 && !placed;) {
    const vm::Frame& f = t->vm.frames[i];
    const vm::Proto* p = f.closure->proto;
    if (p->hidden) continue;
    size_t at = size_t(f.pc - p->code.data());
    lang::Loc loc = at > 0 && at <= p->locs.size() ? p->locs[at - 1] : p->loc;
    if (loc.line == 0) continue;
    line += " at " + place(p->file, loc);
    placed = true;
  }
  if (!placed && t->spawner && t->spawned_at.line > 0) line += " spawned at " + place(t->spawner->file, t->spawned_at);
  line += " — ";
  line += wait_text(t->waiting);
  if (t->waiting.kind == WaitInfo::Receive || t->waiting.kind == WaitInfo::Send) {
    Channel* c = t->waiting.chan;
    lang::Loc at = c->made_at();
    line += "chan " + std::to_string(c->id) + " (made at " + c->file() + ":" + std::to_string(at.line) + ":" +
            std::to_string(at.col) + ")";
  }
  if (t->waiting.kind == WaitInfo::Await) line += std::to_string(t->waiting.task_id);
  if (t->waiting.kind == WaitInfo::Import) line += t->waiting.module->path + " to load (another task is loading it)";
  return line;
}

// Main may catch Deadlock in any wait but the end of its own body (its implicit scope):
// at a `scope { }` block's closing brace the scope fails with it (finish_wait).
bool catchable_wait(const WaitInfo& w) { return w.kind != WaitInfo::TaskEnd && w.kind != WaitInfo::None; }

}  // namespace

Scheduler::Scheduler(Runtime& runtime, int threads) : runtime_(runtime) {
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; i++) {
    auto w = std::make_unique<Worker>();
    w->index = i;
    w->rng = 0x9E3779B9u * uint32_t(i + 1);  // xorshift32 needs a non-zero state
    workers_.push_back(std::move(w));
  }
  // The threads start lazily (wake_idle_worker): an empty script starts one.
}

bool Scheduler::start_worker(Worker* w) {
  // The caller counted it in spinning_: a new worker begins by looking for work.
  w->spinning = true;
  started_.fetch_add(1, std::memory_order_seq_cst);
  try {
    w->thread = std::thread([this, w] { worker_loop(w); });
  } catch (std::system_error&) {
    // No thread to be had (a process limit): the workers already running carry on.
    w->spinning = false;
    started_.fetch_sub(1, std::memory_order_seq_cst);
    return false;
  }
  return true;
}

void Scheduler::shutdown() {
  {
    std::lock_guard g(mutex_);
    stopping_ = true;
    stopping_flag_.store(true, std::memory_order_relaxed);
    kick_poller();
  }
  idle_cv_.notify_all();
  // A task still running (os.exit left it busy) yields at its next preemption point.
  // No thread starts once stopping_ is set, so the ones to join are all here.
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
}

Scheduler::~Scheduler() {
  shutdown();
  // Every run tears down what it leaves (run_main), so this finds nothing unless a
  // run never ended; then it frees what is there all the same.
  end_all_tasks(nullptr);
}

void Scheduler::end_all_tasks(Task* main) {
  std::vector<Timer> timers;
  {
    std::lock_guard g(mutex_);
    timers = take_timers();
  }
  release_timers(timers);
  std::vector<Task*> left = live_tasks();
  for (auto& w : workers_) {
    std::lock_guard g(w->live_lock);
    w->live = nullptr;
  }
  // The tasks left hold one another through scopes, awaits and channel registrations:
  // break those links first.
  for (Task* t : left) {
    t->live_prev = t->live_next = nullptr;
    channel_forget(*t);
    // Its wait can never complete now: close it, so nothing left over claims it.
    t->claimed_gen.store(t->wait_gen.load());
    while (Task* a = t->awaiters) {
      t->awaiters = a->next_awaiter;
      a->next_awaiter = nullptr;
      a->release();
    }
    auto drop_members = [](Scope& s) {
      while (Task* m = s.members) {
        s.members = m->member_next;
        m->member_prev = m->member_next = nullptr;
        m->release();
      }
      s.live = 0;
    };
    drop_members(t->implicit_scope);
    for (Scope* s = t->innermost; s; s = s->outer) drop_members(*s);
  }
  // Their heaps, and the messages they offered, may hold handles to one another (a
  // cycle of references): free them before the last references go. Main keeps its heap:
  // its globals outlive the run.
  for (Task* t : left) {
    if (t == main) continue;
    // Its blocking call still runs on the pool, in its heap: the call's reference keeps
    // the task, and its heap goes with it.
    if (t->waiting.kind == WaitInfo::Blocking) continue;
    if (t->vm.fiber_call) discard_fiber(t->vm);
    runtime_.abort_imports(t->vm);
    t->wake_value = vm::Message();
    t->vm.release_memory();
  }
  for (Task* t : left) t->release();  // the live list's references
}

std::vector<Scheduler::Timer> Scheduler::take_timers() {
  std::vector<Timer> taken;
  taken.swap(timers_);
  note_next_deadline();
  return taken;
}

void Scheduler::release_timers(std::vector<Timer>& timers) {
  for (Timer& t : timers) {
    if (t.task) {
      t.task->timer_slot = Task::kNoTimer;
      t.task->release();
    }
    if (t.chan) t.chan->release();
  }
  timers.clear();
}

Task* Scheduler::current() { return tl_task; }

void Scheduler::note_next_deadline() {
  next_deadline_.store(timers_.empty() ? INT64_MAX : timers_.front().when.time_since_epoch().count(),
                       std::memory_order_relaxed);
}

void Scheduler::place_timer(size_t slot, const Timer& t) {
  timers_[slot] = t;
  if (t.task) t.task->timer_slot = uint32_t(slot);
}

void Scheduler::sift_up(size_t slot) {
  Timer t = timers_[slot];
  while (slot > 0) {
    size_t parent = (slot - 1) / 2;
    if (!(t.when < timers_[parent].when)) break;
    place_timer(slot, timers_[parent]);
    slot = parent;
  }
  place_timer(slot, t);
}

void Scheduler::sift_down(size_t slot) {
  Timer t = timers_[slot];
  size_t n = timers_.size();
  for (;;) {
    size_t child = 2 * slot + 1;
    if (child >= n) break;
    if (child + 1 < n && timers_[child + 1].when < timers_[child].when) child++;
    if (!(timers_[child].when < t.when)) break;
    place_timer(slot, timers_[child]);
    slot = child;
  }
  place_timer(slot, t);
}

void Scheduler::push_timer(const Timer& t) {
  timers_.push_back(t);
  if (t.task) sleepers_++;
  sift_up(timers_.size() - 1);
}

Scheduler::Timer Scheduler::remove_timer(size_t slot) {
  Timer out = timers_[slot];
  if (out.task) {
    out.task->timer_slot = Task::kNoTimer;
    sleepers_--;
  }
  Timer last = timers_.back();
  timers_.pop_back();
  if (slot < timers_.size()) {
    place_timer(slot, last);
    if (slot > 0 && last.when < timers_[(slot - 1) / 2].when) sift_up(slot);
    else sift_down(slot);
  }
  return out;
}

void Scheduler::remove_timers_if(bool (*stale)(const Timer&), std::vector<Timer>& out) {
  size_t kept = 0;
  for (size_t i = 0; i < timers_.size(); i++) {
    Timer t = timers_[i];
    if (!stale(t)) {
      timers_[kept++] = t;
      continue;
    }
    if (t.task) {
      t.task->timer_slot = Task::kNoTimer;
      sleepers_--;
    }
    out.push_back(t);
  }
  timers_.resize(kept);
  for (size_t i = kept / 2; i-- > 0;) sift_down(i);
  for (size_t i = 0; i < kept; i++)
    if (timers_[i].task) timers_[i].task->timer_slot = uint32_t(i);
  note_next_deadline();
}

bool Scheduler::timer_can_wake() {
  // A sleep's timer always may: a sleep ended otherwise has taken its timer out.
  if (sleepers_ > 0) return true;
  // An after()/tick() channel's timer only while a task is parked receiving from it
  // (SPEC §13). A scan, but only when every worker is idle with nothing to run.
  for (const Timer& t : timers_)
    if (t.chan && receiver_may_wait(*t.chan)) return true;
  return false;
}

bool Scheduler::timer_due() const {
  int64_t next = next_deadline_.load(std::memory_order_relaxed);
  return next != INT64_MAX && Clock::now().time_since_epoch().count() >= next;
}

// A task's live list is the one of the worker that spawned it (of worker 0 off the
// workers); a task index fits a byte, so beyond 256 workers lists are shared.
void Scheduler::add_live(Task* task) {
  task->retain();
  size_t shard = 0;
  if (tl_scheduler == this && tl_worker) shard = size_t(static_cast<Worker*>(tl_worker)->index) % 256;
  Worker& list = *workers_[shard];
  std::lock_guard g(list.live_lock);
  task->live_shard = uint8_t(shard);
  task->live_prev = nullptr;
  task->live_next = list.live;
  if (list.live) list.live->live_prev = task;
  list.live = task;
}

void Scheduler::remove_live(Task* task) {
  {
    Worker& list = *workers_[task->live_shard];
    std::lock_guard g(list.live_lock);
    if (task->live_prev) task->live_prev->live_next = task->live_next;
    else if (list.live == task) list.live = task->live_next;
    else return;  // not in the list
    if (task->live_next) task->live_next->live_prev = task->live_prev;
    task->live_prev = task->live_next = nullptr;
  }
  task->release();
}

bool Scheduler::has_live() {
  for (auto& w : workers_) {
    std::lock_guard g(w->live_lock);
    if (w->live) return true;
  }
  return false;
}

std::vector<Task*> Scheduler::live_tasks() {
  std::vector<Task*> tasks;
  for (auto& w : workers_) {
    std::lock_guard g(w->live_lock);
    for (Task* t = w->live; t; t = t->live_next) tasks.push_back(t);
  }
  return tasks;
}

void Scheduler::keep_stacks(vm::TaskState& ended) {
  if (tl_scheduler != this || !tl_worker) return;
  Worker* w = static_cast<Worker*>(tl_worker);
  // Only small ones: a deep recursion's stack goes back to the allocator.
  constexpr size_t kMaxSlots = 256, kMaxFrames = 64;
  if (w->kept == Worker::kKeptStacks || ended.stack.capacity() == 0 || ended.stack.capacity() > kMaxSlots ||
      ended.frames.capacity() > kMaxFrames)
    return;
  // The registers hold values of the heap about to be freed: emptied, so that the task
  // that takes this stack sees only the nils its growth writes (a call does not nil its
  // callee's registers; vm/interp.cpp).
  ended.stack.clear();
  ended.frames.clear();
  w->kept_stacks[w->kept].swap(ended.stack);
  w->kept_frames[w->kept].swap(ended.frames);
  w->kept++;
}

void Scheduler::reuse_stacks(vm::TaskState& fresh) {
  if (tl_scheduler != this || !tl_worker) return;
  Worker* w = static_cast<Worker*>(tl_worker);
  if (w->kept == 0 || !fresh.stack.empty() || !fresh.frames.empty()) return;
  w->kept--;
  fresh.stack.swap(w->kept_stacks[w->kept]);
  fresh.frames.swap(w->kept_frames[w->kept]);
}

bool Scheduler::others_waiting() const {
  if (tl_scheduler == this && tl_worker) {
    const Worker* w = static_cast<const Worker*>(tl_worker);
    if (w->next || !w->ring.empty()) return true;
  }
  return global_count_.load(std::memory_order_relaxed) > 0 || timer_due() || poll_due() ||
         stopping_flag_.load(std::memory_order_relaxed) || halting_.load(std::memory_order_relaxed);
}

void Scheduler::wake(Task* task) {
  // One compare-and-swap on the state, no lock (task.hpp): Parked -> Runnable queues it
  // here; Running -> Woken leaves it to its worker, which requeues it when it leaves.
  // Release: the wake_* fields the claimer filled reach whoever runs the task next.
  Task::State s = task->state.load(std::memory_order_relaxed);
  for (;;) {
    if (s == Task::Parked) {
      if (task->state.compare_exchange_weak(s, Task::Runnable, std::memory_order_acq_rel,
                                            std::memory_order_relaxed))
        break;
    } else if (s == Task::Running) {
      if (task->state.compare_exchange_weak(s, Task::Woken, std::memory_order_acq_rel, std::memory_order_relaxed))
        return;
    } else {
      // Every wake follows a claim of the task's open wait (or a spawn), so the task has
      // not been queued or ended since it began that wait.
      TSK_CHECK(s == Task::Woken, "only a parked (or still running) task is woken");
      return;
    }
  }
  enqueue(task, true);
}

void Scheduler::requeue(Task* task) { enqueue(task, false); }

void Scheduler::enqueue(Task* task, bool next_slot) {
  if (tl_scheduler == this && tl_worker) {
    Worker* w = static_cast<Worker*>(tl_worker);
    if (next_slot) {
      // This worker runs it next: nobody else needs waking.
      Task* displaced = w->next;
      w->next = task;
      if (!displaced) return;
      task = displaced;
    }
    push_local(w, task);
  } else {
    push_global(&task, 1);
  }
}

void Scheduler::push_local(Worker* w, Task* task) {
  while (!w->ring.push(task)) {
    // Full: half of the ring and the task go to the global queue.
    Task* batch[RunQueue<Task>::kSlots / 2 + 1];
    uint32_t n = w->ring.take_half_for_overflow(batch);
    if (n == 0) continue;  // thieves made room
    batch[n++] = task;
    push_global(batch, n);
    return;
  }
  // One worker: no other to wake, and no fence needed.
  if (workers_.size() == 1) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);  // the pusher's fence (scheduler.hpp)
  wake_idle_worker();
}

void Scheduler::push_global(Task* const* tasks, size_t n) {
  {
    std::lock_guard g(global_lock_);
    for (size_t i = 0; i < n; i++) global_.push_back(tasks[i]);
    global_count_.store(global_.size(), std::memory_order_relaxed);
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);  // the pusher's fence (scheduler.hpp)
  wake_idle_worker();
}

Task* Scheduler::take_global(Worker* w, size_t batch) {
  if (global_count_.load(std::memory_order_relaxed) == 0) return nullptr;
  std::lock_guard g(global_lock_);
  if (global_.empty()) return nullptr;
  Task* t = global_.front();
  global_.pop_front();
  // A fair share for this worker, and room left in its (empty) ring.
  size_t n = std::min({batch, global_.size() / workers_.size() + 1, size_t(RunQueue<Task>::kSlots / 2)});
  n = std::min(n, global_.size());
  for (size_t i = 0; i < n; i++) {
    if (!w->ring.push(global_.front())) break;
    global_.pop_front();
  }
  global_count_.store(global_.size(), std::memory_order_relaxed);
  return t;
}

Task* Scheduler::take_local(Worker* w) {
  if (Task* t = w->next) {
    w->next = nullptr;
    // A pair of tasks handing a value back and forth would keep the next slot busy
    // forever: after a run of 32 next-slot tasks, the next one queues behind the tasks
    // waiting in the ring. With none there it runs on: queued alone, it only woke the
    // idle worker, which stole it and split the pair across the cores (pingpong at 2
    // workers: 61,000 such pushes and ~10,000 context switches a run).
    if (++w->next_streak <= 32 || w->ring.empty()) return t;
    w->next_streak = 0;
    push_local(w, t);
  } else {
    w->next_streak = 0;
  }
  return w->ring.pop();
}

Task* Scheduler::steal(Worker* w) {
  size_t n = workers_.size();
  if (n < 2) return nullptr;
  uint32_t x = w->rng;  // xorshift32
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  w->rng = x;
  size_t first = x % n;
  for (size_t k = 0; k < n; k++) {
    Worker* victim = workers_[(first + k) % n].get();
    if (victim == w || victim->ring.empty() || serving_own_ring(victim)) continue;
    if (Task* t = victim->ring.steal_into(w->ring)) return t;
  }
  return nullptr;
}

// Tasks that feed each other through channels wake one another into the same worker's
// next slot and ring. Stolen from a short ring that its owner would reach in a few
// microseconds, they end up on two cores, and then every channel operation moves the
// channel's cache lines between them: fanout at 2 workers, whose six tasks made ~12,000
// steals a run, took 182 ms against 70 ms when a thief first waits to see whether the
// owner takes the ring's next task itself (~100 steals). A long ring, or one that stands
// still for the patience (a task that runs long holds its worker), is a backlog and is
// shared at once. Go waits the same way before it steals a P's runnext (3 µs).
bool Scheduler::serving_own_ring(const Worker* victim) {
  constexpr uint32_t kShortRing = 8;
  constexpr auto kStealPatience = std::chrono::microseconds(10);
  if (victim->ring.size() > kShortRing) return false;
  uint32_t taken = victim->ring.taken();
  Clock::time_point until = Clock::now() + kStealPatience;
  do {
    __builtin_ia32_pause();
    if (victim->ring.taken() != taken) return true;
  } while (Clock::now() < until);
  return false;
}

bool Scheduler::work_visible() const {
  if (global_count_.load(std::memory_order_relaxed) > 0) return true;
  for (auto& w : workers_)
    if (!w->ring.empty()) return true;
  return false;
}

void Scheduler::wake_idle_worker() {
  int n = int(workers_.size());
  for (;;) {
    if (spinning_.load(std::memory_order_relaxed) != 0) return;  // it will find the task
    if (parked_.load(std::memory_order_relaxed) == 0 && started_.load(std::memory_order_relaxed) == n) return;
    // Become the spinner on behalf of the worker woken: later pushes need wake nobody.
    int zero = 0;
    if (!spinning_.compare_exchange_strong(zero, 1, std::memory_order_seq_cst)) return;
    {
      std::unique_lock g(mutex_);
      if (parked_.load(std::memory_order_relaxed) > wakeups_) {
        wakeups_++;
        // Workers on idle_cv_ first; the poller when there are more wake-ups to send
        // than workers parked there (a notify to a worker already notified is lost,
        // and then every one of them is waking: they take the wake-ups).
        int on_cv = parked_.load(std::memory_order_relaxed) - (poller_parked_ ? 1 : 0);
        if (poller_parked_ && wakeups_ > on_cv) kick_poller();
        if (on_cv > 0) {
          // After the unlock: notified under mutex_, the worker woke only to block on
          // it at once (two more switches per wake-up). The notify cannot be lost: the
          // wake-up is counted in wakeups_ under mutex_, and each worker counted in
          // parked_ is inside its wait (it holds mutex_ from counting itself until it
          // waits) or woke on its own and takes the wake-up when it next holds mutex_.
          g.unlock();
          idle_cv_.notify_one();
        }
        return;
      }
      if (!stopping_ && started_.load(std::memory_order_relaxed) < n &&
          start_worker(workers_[size_t(started_.load(std::memory_order_relaxed))].get()))
        return;
    }
    // Nobody to wake. Pushes that saw this count skipped their wake-up: if one of them
    // left a task that a worker parked since could miss, go round again.
    spinning_.fetch_sub(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (parked_.load(std::memory_order_relaxed) == 0 || !work_visible()) return;
  }
}

void Scheduler::stop_spinning(Worker* w) {
  if (!w->spinning) return;
  w->spinning = false;
  // The last spinner found work: pushes may have skipped their wake-ups while it spun,
  // so another worker takes over the looking.
  if (spinning_.fetch_sub(1, std::memory_order_seq_cst) == 1) wake_idle_worker();
}

void Scheduler::add_timer(Clock::time_point when, Task* task, uint64_t gen) {
  task->retain();
  Task* replaced = nullptr;
  {
    std::lock_guard g(mutex_);
    // A timer left by a sleep the task never came back from (os.exit, then another run
    // of the same main task) is replaced: a task has one slot.
    if (task->timer_slot != Task::kNoTimer) replaced = remove_timer(task->timer_slot).task;
    push_timer(Timer{when, task, gen, nullptr, {}});
    note_next_deadline();
    if (when < poller_until_) kick_poller();
    idle_cv_.notify_one();
  }
  if (replaced) replaced->release();
}

void Scheduler::cancel_timer(Task& task) {
  {
    std::lock_guard g(mutex_);
    if (task.timer_slot == Task::kNoTimer) return;  // fired meanwhile
    remove_timer(task.timer_slot);
    note_next_deadline();
  }
  task.release();  // the timer's reference (the running task holds others)
}

void Scheduler::add_channel_timer(Clock::time_point when, Channel* chan, Clock::duration period) {
  chan->retain();
  std::vector<Timer> dropped;
  {
    std::lock_guard g(mutex_);
    if (timers_.size() >= sweep_at_) {
      remove_timers_if([](const Timer& t) { return t.chan && t.chan->refs.load() == 1; }, dropped);
      sweep_at_ = std::max(kFirstSweep, 2 * timers_.size());
    }
    push_timer(Timer{when, nullptr, 0, chan, period});
    note_next_deadline();
    if (when < poller_until_) kick_poller();
    idle_cv_.notify_one();
  }
  for (Timer& t : dropped) t.chan->release();
}

void Scheduler::request_exit(int code) {
  std::lock_guard g(mutex_);
  if (!running_) return;
  if (code >= 0 && exit_code < 0) exit_code = code;
  finished_ = true;
  halting_.store(true, std::memory_order_relaxed);
  done_cv_.notify_all();
}

void Scheduler::drop_stale_timers() {
  std::vector<Timer> drop;
  {
    std::lock_guard g(mutex_);
    // A sleep whose wait ended otherwise (the task has not come back to take its timer
    // out), or a channel only the timer holds.
    remove_timers_if(
        [](const Timer& t) { return t.task ? t.task->claimed_gen.load() >= t.gen : t.chan->refs.load() == 1; },
        drop);
  }
  for (Timer& t : drop) {
    if (t.task) t.task->release();
    if (t.chan) t.chan->release();
  }
}

bool Scheduler::run_main(Task* main) {
  main->retain();  // the live list's reference
  {
    // One step under the scheduler mutex, which the deadlock check holds: main must
    // never be seen alive but not yet queued, or idle workers would call it a deadlock.
    std::lock_guard g(mutex_);
    main_ = main;
    finished_ = false;
    running_ = true;
    deadlock_report.clear();
    {
      Worker& list = *workers_[0];
      std::lock_guard lg(list.live_lock);
      main->live_shard = 0;
      main->live_prev = nullptr;
      main->live_next = list.live;
      if (list.live) list.live->live_prev = main;
      list.live = main;
    }
    {
      std::lock_guard tg(main->lock);
      TSK_CHECK(main->state == Task::Parked, "main starts a run parked");
      main->state.store(Task::Runnable, std::memory_order_relaxed);
    }
    std::lock_guard qg(global_lock_);
    global_.push_back(main);
    global_count_.store(global_.size(), std::memory_order_relaxed);
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);  // the pusher's fence (scheduler.hpp)
  wake_idle_worker();  // the first run starts the first worker here
  std::unique_lock g(mutex_);
  done_cv_.wait(g, [&] { return finished_; });
  main_ = nullptr;
  if (halting_.load(std::memory_order_relaxed)) {
    // Every worker parked with nothing queued (a parked worker's ring is empty): no task
    // can run again (a worker leaves any task it is handed parked), so this thread may
    // take them all apart.
    done_cv_.wait(g, [&] {
      return parked_.load() == started_.load() && global_count_.load() == 0;
    });
    // Its timers go in the same step: one firing now would wake a task while it is
    // being freed (a queue holds no reference).
    std::vector<Timer> timers = take_timers();
    g.unlock();
    release_timers(timers);
    end_all_tasks(main);
    g.lock();
    halting_.store(false, std::memory_order_relaxed);
  }
  running_ = false;
  return deadlock_report.empty();
}

void Scheduler::fire_timers(std::unique_lock<std::mutex>& held) {
  auto now = Clock::now();
  std::vector<Timer> due;
  while (!timers_.empty() && timers_.front().when <= now) due.push_back(remove_timer(0));
  note_next_deadline();
  if (due.empty()) return;
  held.unlock();
  for (Timer& t : due) {
    if (t.task) {
      if (t.task->claim(t.gen)) {
        t.task->registration_taken = true;  // its timer is out of the heap
        wake(t.task);
      }
      t.task->release();
    } else {
      double seconds = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
      channel_offer(runtime_, *t.chan, vm::Message(vm::Value::number(seconds)));
      // A ticker stops once the timer holds the last reference to its channel.
      if (t.period.count() > 0 && t.chan->refs.load() > 1) {
        std::lock_guard g(mutex_);
        push_timer(Timer{t.when + t.period, nullptr, 0, t.chan, t.period});
        note_next_deadline();
      } else {
        t.chan->release();
      }
    }
  }
  held.lock();
}

Task* Scheduler::find_work(Worker* w) {
  // Every 61st look (Go's number) a busy worker serves the global queue first, so it
  // does not starve behind a worker's own queue.
  if (++w->ticks % 61 == 0)
    if (Task* t = take_global(w, 0)) return t;
  if (poll_due()) poll_io(w);  // no worker is parked in the reactor: see to the I/O now
  if (timer_due()) {
    std::unique_lock g(mutex_);
    fire_timers(g);  // a task woken here goes to this worker's next slot
  }
  // Four rounds, as Go's stealTries. Longer spins (16 to 64 rounds with pauses) cut the
  // parks of fanout at 2 workers from ~30,000 to ~150 but cost as much CPU as they
  // saved, with no gain in wall time on this machine.
  constexpr int kStealRounds = 4;
  for (;;) {
    if (Task* t = take_local(w)) {
      stop_spinning(w);
      return t;
    }
    if (Task* t = take_global(w, RunQueue<Task>::kSlots / 2)) {
      stop_spinning(w);
      return t;
    }
    if (!w->spinning) {
      w->spinning = true;
      spinning_.fetch_add(1, std::memory_order_seq_cst);
    }
    for (int round = 0; round < kStealRounds; round++) {
      Task* t = steal(w);
      if (!t) t = take_global(w, RunQueue<Task>::kSlots / 2);
      if (t) {
        stop_spinning(w);
        return t;
      }
    }
    // Stop spinning, then look again: a push that saw this worker spinning woke nobody.
    w->spinning = false;
    spinning_.fetch_sub(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // the spinner's fence
    if (work_visible()) continue;
    std::unique_lock g(mutex_);
    if (!timers_.empty() && timers_.front().when <= Clock::now()) {
      fire_timers(g);
      continue;
    }
    if (stopping_) return nullptr;
    parked_.fetch_add(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // the parker's fence
    if (work_visible()) {
      parked_.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    // Every started worker parked, none holding a task (a worker parks with its next
    // slot and ring empty, and only it fills them), and the global queue empty.
    bool all_parked = parked_.load(std::memory_order_relaxed) == started_.load(std::memory_order_relaxed);
    // The whole program waits (a sleep, a channel, input): what it printed so far is
    // written now, not at the next 64 KiB, so a prompt or a progress line shows when
    // it is printed. Only the last worker to go idle writes: a busy program keeps its
    // output buffered.
    if (all_parked && runtime_.output_pending()) {
      parked_.fetch_sub(1, std::memory_order_relaxed);
      g.unlock();
      runtime_.flush_soon();  // on the blocking pool: a slow stdout must not hold a worker
      continue;
    }
    // A task parked on the outside world (I/O, a blocking call) is not deadlocked: its
    // count drops only once it is runnable again (runtime/outside.hpp).
    if (all_parked && !finished_ && main_.load(std::memory_order_relaxed) && has_live() && !timer_can_wake() &&
        runtime_.outside_waits.load() == 0) {
      parked_.fetch_sub(1, std::memory_order_relaxed);
      on_deadlock(g);
      continue;  // main may have been woken into this worker's next slot
    }
    if (halting_.load(std::memory_order_relaxed)) done_cv_.notify_all();  // run_main waits for all parked
    Reactor* polled = nullptr;
    if (reactor_ && !poller_parked_) {
      // This worker parks in the reactor (the top of this file): the descriptors that
      // become ready are its work; kick_poller() wakes it as a notify would.
      polled = reactor_;
      poller_parked_ = true;
      poller_kicked_ = false;
      poller_until_ = timers_.empty() ? Clock::time_point::max() : timers_.front().when;
      note_poller();
      in_reactor_.fetch_add(1, std::memory_order_relaxed);
      Clock::time_point until = poller_until_;
      g.unlock();
      if (!w->ready) w->ready = std::make_unique<Reactor::Ready>();
      polled->wait(*w->ready, until == Clock::time_point::max() ? nullptr : &until);
      g.lock();
      poller_parked_ = false;
      poller_until_ = Clock::time_point::max();
      if (poller_kicked_) {
        polled->drain();
        poller_kicked_ = false;
      }
      note_poller();
    } else if (timers_.empty()) {
      idle_cv_.wait(g);
    } else {
      // A copy: the heap may change while this worker sleeps without the lock.
      Clock::time_point until = timers_.front().when;
      idle_cv_.wait_until(g, until);
    }
    parked_.fetch_sub(1, std::memory_order_relaxed);
    if (wakeups_ > 0) {
      // Woken to look for work: wake_idle_worker counted this worker as spinning.
      wakeups_--;
      w->spinning = true;
    }
    if (stopping_) {
      if (w->spinning) spinning_.fetch_sub(1, std::memory_order_relaxed);
      w->spinning = false;
      if (polled) in_reactor_.fetch_sub(1, std::memory_order_release);
      return nullptr;
    }
    if (polled) {
      // No longer parked: what the poll found goes on this worker's queues.
      g.unlock();
      next_poll_.store((Clock::now() + kPollEvery).time_since_epoch().count(), std::memory_order_relaxed);
      polled->dispatch(*w->ready);
      in_reactor_.fetch_sub(1, std::memory_order_release);
    }
  }
}

void Scheduler::attach_reactor(Reactor* reactor) {
  std::lock_guard g(mutex_);
  reactor_ = reactor;
  next_poll_.store((Clock::now() + kPollEvery).time_since_epoch().count(), std::memory_order_relaxed);
  note_poller();
}

void Scheduler::detach_reactor(Reactor* reactor) {
  {
    std::lock_guard g(mutex_);
    if (reactor_ != reactor) return;
    kick_poller();
    reactor_ = nullptr;
    note_poller();
  }
  while (in_reactor_.load(std::memory_order_acquire) > 0) std::this_thread::yield();
}

void Scheduler::kick_poller() {
  if (!poller_parked_ || poller_kicked_) return;
  poller_kicked_ = true;
  reactor_->kick();
}

void Scheduler::note_poller() { busy_poll_.store(reactor_ && !poller_parked_, std::memory_order_relaxed); }

bool Scheduler::poll_due() const {
  return busy_poll_.load(std::memory_order_relaxed) &&
         Clock::now().time_since_epoch().count() >= next_poll_.load(std::memory_order_relaxed);
}

void Scheduler::poll_io(Worker* w) {
  Reactor* reactor;
  {
    std::lock_guard g(mutex_);
    next_poll_.store((Clock::now() + kPollEvery).time_since_epoch().count(), std::memory_order_relaxed);
    if (!reactor_ || poller_parked_) return;
    reactor = reactor_;
    in_reactor_.fetch_add(1, std::memory_order_relaxed);
  }
  if (!w->ready) w->ready = std::make_unique<Reactor::Ready>();
  Clock::time_point past{};  // the wait does not block
  reactor->wait(*w->ready, &past);
  reactor->dispatch(*w->ready);
  in_reactor_.fetch_sub(1, std::memory_order_release);
}

void Scheduler::on_deadlock(std::unique_lock<std::mutex>& held) {
  std::string lines;
  std::vector<Task*> tasks = live_tasks();
  std::sort(tasks.begin(), tasks.end(), [](Task* a, Task* b) { return a->id < b->id; });
  for (Task* t : tasks) {
    std::lock_guard tg(t->lock);  // every task is parked; the lock orders our reads after its park
    lines += "  " + describe_wait(t) + "\n";
  }
  Task* main = main_.load(std::memory_order_relaxed);
  bool main_catchable = false;
  if (main) {
    std::lock_guard tg(main->lock);
    main_catchable = main->state == Task::Parked && catchable_wait(main->waiting);
  }
  // Main may catch Deadlock where it waits on something a task could have completed.
  if (main_catchable && main->claim(main->wait_gen)) {
    deadlock_message = "all tasks are waiting\n" + lines.substr(0, lines.empty() ? 0 : lines.size() - 1);
    main->wake_error = WakeError::Deadlock;
    held.unlock();
    wake(main);
    held.lock();
    return;
  }
  deadlock_report = "error: Deadlock: all tasks are waiting\n" + lines;
  finished_ = true;
  halting_.store(true, std::memory_order_relaxed);  // the tasks left are ended by run_main
  done_cv_.notify_all();
}

void Scheduler::worker_loop(Worker* w) {
  tl_scheduler = this;
  tl_worker = w;
  for (;;) {
    Task* t = find_work(w);
    if (!t) break;
    run_task(w, t);
  }
  tl_worker = nullptr;
  tl_scheduler = nullptr;
}

void Scheduler::run_task(Worker* w, Task* t) {
  {
    // No lock: nobody else changes a Runnable task (a wake needs it Parked or Running,
    // and a waker of the wait this run begins is ordered after this store by the wait's
    // generation); readers under the lock (await) see Runnable or Running alike, not Done.
    // Taking the task from its queue ordered this thread after whoever queued it.
    Task::State state = t->state.load(std::memory_order_relaxed);
    // Invariant: only a Runnable task is in a queue, and it is in exactly one.
    if (state != Task::Runnable) {
      std::fprintf(stderr, "tsk: internal error: task %llu taken from a run queue in state %d\n",
                   static_cast<unsigned long long>(t->id), int(state));
      std::abort();
    }
    if (halting_.load(std::memory_order_relaxed)) {
      t->state.store(Task::Parked, std::memory_order_relaxed);  // the program has ended: it never runs again
      return;
    }
    t->state.store(Task::Running, std::memory_order_relaxed);
  }
  tl_task = t;
  vm::TaskState& vm = t->vm;
  vm.suspended = false;
  t->yield_now = false;
  // The task stops here for good and the program ends with `code` (os.exit), or with
  // the code already chosen (code < 0: the program has ended).
  auto stop_program = [&](int code) {
    tl_task = nullptr;
    {
      std::lock_guard g(t->lock);
      if (t->state != Task::Done) t->state = Task::Parked;  // never runs again; run_main frees it
    }
    request_exit(code);
  };
  bool ended = false;
  vm::Value result;
  vm::Error* error = nullptr;
  vm.heap.begin_run();  // collector pacing counts the storage this run grows (vm/heap.hpp)
  try {
    if (!t->body_finished) {
      result = vm.execute(0);
      ended = !vm.suspended;
    } else {
      ended = true;
    }
  } catch (vm::ScriptError& e) {
    error = e.error;
    ended = true;
  } catch (vm::ExitRequest& x) {
    stop_program(x.code);
    return;
  } catch (std::bad_alloc&) {
    // Out of memory where no MemoryError could be made for the script (the
    // interpreter turns the other allocation failures into one): the program cannot
    // go on, but it ends as any other ending does, its output written.
    runtime_.write_err("error: MemoryError: out of memory\n");
    stop_program(1);
    return;
  }
  vm.heap.end_run();
  if (ended) {
    vm.suspended = false;
    vm.handlers.clear();
    bool done;
    try {
      done = body_ended(*t, result, error);
    } catch (std::bad_alloc&) {
      runtime_.write_err("error: MemoryError: out of memory\n");
      stop_program(1);
      return;
    }
    if (done) {
      tl_task = nullptr;
      left_task(t);  // Done: task_done has released it from the live set
      return;
    }
  }
  tl_task = nullptr;
  // A cancel that arrived between the task's last check and its registering the wait
  // found no wait to complete: complete it now (interrupt sees the task still Running
  // and marks the wake pending). The fence pairs with the one in Runtime::interrupt: the
  // canceller stores its flag then reads wait_gen, this task stored wait_gen and now
  // reads the flag, and without both fences each could miss the other's store.
  if (!t->yield_now) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (t->should_cancel()) {
      switch (t->waiting.kind) {
        case WaitInfo::Receive: case WaitInfo::Send: case WaitInfo::Select:
        case WaitInfo::Sleep: case WaitInfo::Forever: case WaitInfo::Await: case WaitInfo::Import:
        case WaitInfo::Io:
          runtime_.interrupt(t);
          break;
        default: break;
      }
    }
  }
  // It parked (or yields): requeue it now if a wake came in meanwhile (Woken). No lock:
  // one compare-and-swap against wake's (task.hpp); release, so a waker that sees Parked
  // sees everything the task did before.
  bool requeue_now = false;
  bool stopped = stopping_flag_.load(std::memory_order_relaxed) || halting_.load(std::memory_order_relaxed);
  TSK_CHECK(t->state == Task::Running || t->state == Task::Woken, "a task leaves its worker from Running");
  if (stopped) {
    t->state.store(Task::Parked, std::memory_order_release);
  } else if (t->yield_now) {
    // No wait is open, so no wake can come now; one already come (Woken) is this requeue.
    t->state.store(Task::Runnable, std::memory_order_relaxed);
    requeue_now = true;
  } else {
    Task::State s = Task::Running;
    if (!t->state.compare_exchange_strong(s, Task::Parked, std::memory_order_acq_rel, std::memory_order_acquire)) {
      TSK_CHECK(s == Task::Woken, "only a wake changes a running task's state");
      t->state.store(Task::Runnable, std::memory_order_relaxed);
      requeue_now = true;
    }
  }
  if (requeue_now) requeue(t);
}

void Scheduler::task_finished(Task* task) { remove_live(task); }

void Scheduler::left_task(Task* task) {
  // Only once the worker is done with the task may the host reuse it (the REPL's and
  // the embedder's next run starts the same main task again).
  if (task != main_.load(std::memory_order_acquire)) return;  // no lock for the others
  std::lock_guard g(mutex_);
  if (task == main_.load(std::memory_order_relaxed)) {
    finished_ = true;
    done_cv_.notify_all();
  }
}

}  // namespace tsk::rt
