// The worker threads, run queues, timers and deadlock detection (see scheduler.hpp).
#include "runtime/scheduler.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

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

// "task 3 stage at pipe.tsk:6:13 — sending on chan 3 (made at pipe.tsk:4:10)"
std::string describe_wait(Task* t) {
  std::string line = "task " + std::to_string(t->id) + " " + std::string(t->name);
  if (!t->vm.frames.empty()) {
    const vm::Frame& f = t->vm.frames.back();
    const vm::Proto* p = f.closure->proto;
    size_t at = size_t(f.pc - p->code.data());
    lang::Loc loc = at > 0 && at <= p->locs.size() ? p->locs[at - 1] : p->loc;
    line += " at " + p->file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
  }
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
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_) {
    Worker* raw = w.get();
    raw->thread = std::thread([this, raw] { worker_loop(raw); });
  }
}

void Scheduler::shutdown() {
  if (workers_.empty() || !workers_.front()->thread.joinable()) return;
  {
    std::lock_guard g(mutex_);
    stopping_ = true;
    stopping_flag_.store(true, std::memory_order_relaxed);
  }
  idle_cv_.notify_all();
  // A task still running (os.exit left it busy) yields at its next preemption point.
  for (auto& w : workers_) w->thread.join();
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
  std::vector<Task*> left;
  {
    std::lock_guard g(live_lock_);
    for (Task* t = live_; t; t = t->live_next) left.push_back(t);
    live_ = nullptr;
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

void Scheduler::add_live(Task* task) {
  task->retain();
  std::lock_guard g(live_lock_);
  task->live_next = live_;
  if (live_) live_->live_prev = task;
  live_ = task;
}

void Scheduler::remove_live(Task* task) {
  {
    std::lock_guard g(live_lock_);
    if (task->live_prev) task->live_prev->live_next = task->live_next;
    else if (live_ == task) live_ = task->live_next;
    else return;  // not in the list
    if (task->live_next) task->live_next->live_prev = task->live_prev;
    task->live_prev = task->live_next = nullptr;
  }
  task->release();
}

void Scheduler::wake(Task* task) {
  {
    std::lock_guard g(task->lock);
    if (task->state == Task::Running) {
      task->wake_pending = true;
      return;
    }
    // Every wake follows a claim of the task's open wait (or a spawn), so the task has
    // not been queued or ended since it began that wait.
    TSK_CHECK(task->state == Task::Parked, "only a parked (or still running) task is woken");
    if (task->state != Task::Parked) return;
    task->state = Task::Runnable;
  }
  enqueue(task, true);
}

void Scheduler::requeue(Task* task) { enqueue(task, false); }

void Scheduler::enqueue(Task* task, bool next_slot) {
  queued_.fetch_add(1, std::memory_order_relaxed);
  if (tl_scheduler == this && tl_worker) {
    Worker* w = static_cast<Worker*>(tl_worker);
    std::lock_guard g(w->lock);
    if (!next_slot) {
      w->queue.push_back(task);
    } else {
      if (w->next) w->queue.push_back(w->next);
      w->next = task;
    }
  } else {
    std::lock_guard g(mutex_);
    global_.push_back(task);
  }
  // Another worker may be asleep while this one is busy: let it steal.
  if (idle_ > 0) {
    std::lock_guard g(mutex_);
    idle_cv_.notify_one();
  }
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
      std::lock_guard lg(live_lock_);
      main->live_next = live_;
      if (live_) live_->live_prev = main;
      live_ = main;
    }
    {
      std::lock_guard tg(main->lock);
      TSK_CHECK(main->state == Task::Parked, "main starts a run parked");
      main->state = Task::Runnable;
    }
    queued_.fetch_add(1, std::memory_order_relaxed);
    global_.push_back(main);
    idle_cv_.notify_one();
  }
  std::unique_lock g(mutex_);
  done_cv_.wait(g, [&] { return finished_; });
  main_ = nullptr;
  if (halting_.load(std::memory_order_relaxed)) {
    // Every worker idle with nothing queued: no task can run again (a worker leaves any
    // task it is handed parked), so this thread may take them all apart.
    done_cv_.wait(g, [&] { return idle_ == int(workers_.size()) && queued_.load() == 0; });
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
  // Every 61st look (Go's number) a busy worker also serves the global queue and due
  // timers, so neither starves behind a worker's own queue.
  if (++w->ticks % 61 == 0 || timer_due()) {
    std::unique_lock g(mutex_);
    if (!timers_.empty() && timers_.front().when <= Clock::now()) fire_timers(g);
    if (!global_.empty()) {
      Task* t = global_.front();
      global_.pop_front();
      return t;
    }
  }
  {
    std::lock_guard g(w->lock);
    // A pair of tasks handing a value back and forth would keep the next slot busy
    // forever: after a run of 32 next-slot tasks, the next one queues like any other.
    if (w->next && ++w->next_streak > 32) {
      w->queue.push_back(w->next);
      w->next = nullptr;
      w->next_streak = 0;
    }
    if (w->next) {
      Task* t = w->next;
      w->next = nullptr;
      return t;
    }
    w->next_streak = 0;
    if (!w->queue.empty()) {
      Task* t = w->queue.front();
      w->queue.pop_front();
      return t;
    }
  }
  std::unique_lock g(mutex_);
  for (;;) {
    if (!timers_.empty() && timers_.front().when <= Clock::now()) fire_timers(g);
    if (!global_.empty()) {
      Task* t = global_.front();
      global_.pop_front();
      return t;
    }
    // Steal half of the busiest-looking other queue.
    g.unlock();
    for (size_t k = 1; k < workers_.size(); k++) {
      Worker* victim = workers_[(size_t(w->index) + k) % workers_.size()].get();
      // Take half into a local list, then let go of the victim before touching our own
      // queue: holding two workers' locks at once could deadlock two thieves.
      std::vector<Task*> stolen;
      {
        std::lock_guard vg(victim->lock);
        size_t n = (victim->queue.size() + 1) / 2;
        for (size_t i = 0; i < n; i++) {
          stolen.push_back(victim->queue.front());
          victim->queue.pop_front();
        }
      }
      if (stolen.empty()) continue;
      if (stolen.size() > 1) {
        std::lock_guard mg(w->lock);
        for (size_t i = 1; i < stolen.size(); i++) w->queue.push_back(stolen[i]);
      }
      return stolen.front();
    }
    {
      std::lock_guard og(w->lock);
      if (w->next || !w->queue.empty()) {
        Task* t = w->next ? w->next : w->queue.front();
        if (w->next) w->next = nullptr;
        else w->queue.pop_front();
        return t;
      }
    }
    g.lock();
    if (stopping_) return nullptr;
    if (!global_.empty()) continue;
    // The whole program waits (a sleep, a channel, input): what it printed so far is
    // written now, not at the next 64 KiB, so a prompt or a progress line shows when
    // it is printed. Only the last worker to go idle writes: a busy program keeps its
    // output buffered.
    if (idle_ + 1 == int(workers_.size()) && queued_.load() == 0 && runtime_.output_pending()) {
      g.unlock();
      runtime_.flush_soon();  // on the blocking pool: a slow stdout must not hold a worker
      g.lock();
      continue;
    }
    // A task parked on the outside world (I/O, a blocking call) is not deadlocked: its
    // count drops only once it is runnable again (runtime/outside.hpp).
    if (idle_ + 1 == int(workers_.size()) && queued_.load() == 0 && has_live() && !finished_ && main_ &&
        !timer_can_wake() && runtime_.outside_waits.load() == 0) {
      on_deadlock(g);
      continue;  // main may have been woken into this worker's next slot
    }
    idle_++;
    if (halting_.load(std::memory_order_relaxed)) done_cv_.notify_all();  // run_main waits for all idle
    if (timers_.empty()) idle_cv_.wait(g);
    else {
      // A copy: the queue may reallocate while this worker sleeps without the lock.
      Clock::time_point until = timers_.front().when;
      idle_cv_.wait_until(g, until);
    }
    idle_--;
    if (stopping_) return nullptr;
  }
}

void Scheduler::on_deadlock(std::unique_lock<std::mutex>& held) {
  std::string lines;
  std::vector<Task*> tasks;
  {
    std::lock_guard g(live_lock_);
    for (Task* t = live_; t; t = t->live_next) tasks.push_back(t);
  }
  std::sort(tasks.begin(), tasks.end(), [](Task* a, Task* b) { return a->id < b->id; });
  for (Task* t : tasks) {
    std::lock_guard tg(t->lock);  // every task is parked; the lock orders our reads after its park
    lines += "  " + describe_wait(t) + "\n";
  }
  Task* main = main_;
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
    queued_.fetch_sub(1, std::memory_order_relaxed);
    run_task(w, t);
  }
  tl_worker = nullptr;
  tl_scheduler = nullptr;
}

void Scheduler::run_task(Worker* w, Task* t) {
  {
    std::lock_guard g(t->lock);
    // Invariant: only a Runnable task is in a queue, and it is in exactly one.
    if (t->state != Task::Runnable) {
      std::fprintf(stderr, "tsk: internal error: task %llu taken from a run queue in state %d\n",
                   static_cast<unsigned long long>(t->id), int(t->state));
      std::abort();
    }
    if (halting_.load(std::memory_order_relaxed)) {
      t->state = Task::Parked;  // the program has ended: it never runs again
      return;
    }
    t->state = Task::Running;
    t->wake_pending = false;
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
  // It parked (or yields): requeue it now if a wake came in meanwhile.
  bool requeue_now = false;
  bool stopped = stopping_flag_.load(std::memory_order_relaxed) || halting_.load(std::memory_order_relaxed);
  {
    std::lock_guard g(t->lock);
    TSK_CHECK(t->state == Task::Running, "a task leaves its worker from Running");
    if ((t->yield_now || t->wake_pending) && !stopped) {
      t->wake_pending = false;
      t->state = Task::Runnable;
      requeue_now = true;
    } else {
      t->state = Task::Parked;
    }
  }
  if (requeue_now) requeue(t);
}

void Scheduler::task_finished(Task* task) { remove_live(task); }

void Scheduler::left_task(Task* task) {
  // Only once the worker is done with the task may the host reuse it (the REPL's and
  // the embedder's next run starts the same main task again).
  std::lock_guard g(mutex_);
  if (task == main_) {
    finished_ = true;
    done_cv_.notify_all();
  }
}

}  // namespace tsk::rt
