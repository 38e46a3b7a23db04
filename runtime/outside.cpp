// Outside waits: parking, completing, the blocking call path and descriptor waits
// (runtime/outside.hpp has the protocol and its invariants).
#include "runtime/outside.hpp"

#include <thread>

#include "runtime/blocking_pool.hpp"
#include "runtime/concurrency.hpp"
#include "runtime/runtime.hpp"
#include "runtime/scheduler.hpp"
#include "vm/check.hpp"
#include "vm/native.hpp"

namespace tsk::rt {

void OutsideOp::raise_if_failed(vm::TaskState& t) const {
  if (!error_kind.empty()) t.raise(error_kind, error_message);
}

Completion::Completion(std::shared_ptr<Liveness> live, Runtime* rt, Task* task, uint64_t gen,
                       std::shared_ptr<OutsideOp> op)
    : live_(std::move(live)), rt_(rt), task_(task), gen_(gen), op_(std::move(op)) {
  task_->retain();
}

Completion& Completion::operator=(Completion&& o) noexcept {
  live_ = std::move(o.live_);
  rt_ = o.rt_;
  task_ = std::exchange(o.task_, nullptr);
  gen_ = o.gen_;
  op_ = std::move(o.op_);
  return *this;
}

Completion::~Completion() {
  // Dropped unused: the task fails rather than waiting for ever (SPEC §16).
  if (task_) fail("Error", "an operation outside the interpreter ended without completing its wait");
}

void Completion::complete() {
  if (!task_) return;
  Task* task = std::exchange(task_, nullptr);
  std::lock_guard g(live_->lock);
  // The runtime has gone: its task is gone with it (leaked, since releasing it would
  // touch the runtime); nothing is woken.
  if (!live_->alive) return;
  op_->completed = true;  // published by the claim (acq_rel) to the task that resumes
  if (task->claim(gen_)) rt_->scheduler->wake(task);
  task->release();
}

void Completion::fail(std::string kind, std::string message) {
  if (!task_) return;
  op_->error_kind = std::move(kind);
  op_->error_message = std::move(message);
  complete();
}

bool can_park(vm::TaskState& t) { return t.host && (t.call_depth == 0 || t.in_fiber); }

namespace {

// Begins the outside wait: the task counts as waiting on the outside world until it
// runs again.
uint64_t begin_outside_wait(vm::TaskState& t, std::shared_ptr<OutsideOp> op, WaitInfo::Kind kind) {
  Task& self = host_of(t);
  Runtime& rt = runtime_of(t);
  t.extra().pending() = std::move(op);
  rt.outside_waits.fetch_add(1, std::memory_order_relaxed);
  if (kind == WaitInfo::Blocking) t.uncancellable_wait.store(true, std::memory_order_release);
  uint64_t gen = self.begin_wait(WaitInfo::on(kind));
  t.suspended = true;
  t.retry_native = true;
  return gen;
}

// Undoes begin_outside_wait before the task parked (the wait could not be registered).
void abandon_outside_wait(vm::TaskState& t, uint64_t gen) {
  Task& self = host_of(t);
  self.claim(gen);
  self.waiting = WaitInfo{};
  runtime_of(t).outside_waits.fetch_sub(1, std::memory_order_relaxed);
  t.extras->pending().reset();
  t.suspended = false;
  t.retry_native = false;
}

// The result of a `blocks` native run on the pool.
struct BlockingCall : OutsideOp {
  std::vector<vm::Value> args;
  vm::Value result;
  vm::Error* error = nullptr;
};

}  // namespace

Completion park_outside(vm::TaskState& t, std::shared_ptr<OutsideOp> op, WaitInfo::Kind kind) {
  Runtime& rt = runtime_of(t);
  uint64_t gen = begin_outside_wait(t, op, kind);
  return Completion(rt.liveness, &rt, &host_of(t), gen, std::move(op));
}

std::shared_ptr<OutsideOp> take_resumed(vm::TaskState& t) {
  if (!t.extras || !t.extras->rare_ || !t.extras->rare_->pending) return nullptr;
  return std::static_pointer_cast<OutsideOp>(std::exchange(t.extras->rare_->pending, nullptr));
}

void run_on_pool(vm::TaskState& t, std::shared_ptr<OutsideOp> op, std::function<void()> work, bool cancellable,
                 bool touches_runtime) {
  Runtime& rt = runtime_of(t);
  if (!can_park(t)) {  // inside a native's callback off a fiber: no way to park
    work();
    t.extra().pending() = std::move(op);
    return;
  }
  auto done = std::make_shared<Completion>(park_outside(t, op, cancellable ? WaitInfo::Io : WaitInfo::Blocking));
  rt.blocking_pool().submit(
      [work = std::move(work), done] {
        work();
        done->complete();
      },
      touches_runtime);
}

void outside_wait_ended(vm::TaskState& t, WaitInfo::Kind kind) {
  Task& self = host_of(t);
  Runtime& rt = runtime_of(t);
  rt.outside_waits.fetch_sub(1, std::memory_order_relaxed);
  t.uncancellable_wait.store(false, std::memory_order_release);
  auto* op = t.extras ? static_cast<OutsideOp*>(t.extras->pending().get()) : nullptr;
  if (kind == WaitInfo::Io && op) {
    if (op->fd >= 0) rt.reactor().forget(op->fd, &self);
    if (op->has_deadline) {
      if (self.registration_taken) op->timed_out = true;  // its timer woke it
      else rt.scheduler->cancel_timer(self);
    }
  }
  // Cancelled: the native is not called again, so nobody reads the op.
  if (self.wake_error != WakeError::None && t.extras) {
    if (op) op->abandoned();
    t.extras->pending().reset();
  }
}

Clock::time_point deadline_after(double seconds) {
  if (seconds > 1e9) seconds = 1e9;
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// {=== descriptor waits

FdWait::FdWait(vm::TaskState& t, vm::Value timeout, std::string what)
    : FdWait(t, take_resumed(t), timeout, std::move(what)) {}

FdWait::FdWait(vm::TaskState& t, std::shared_ptr<OutsideOp> resumed, vm::Value timeout, std::string what,
               std::shared_ptr<OutsideOp> fresh)
    : t_(t), what_(std::move(what)), op_(std::move(resumed)) {
  if (op_) return;  // called again: the same deadline and progress
  op_ = fresh ? std::move(fresh) : std::make_shared<OutsideOp>();
  if (timeout.tag == vm::Tag::Nil) return;
  if (timeout.tag != vm::Tag::Int && timeout.tag != vm::Tag::Float)
    t.raise("TypeError", what_ + ": timeout must be a number of seconds or nil");
  double s = timeout.tag == vm::Tag::Int ? double(timeout.i) : timeout.f;
  if (!(s >= 0)) t.raise("ValueError", what_ + ": timeout must not be negative");
  op_->has_deadline = true;
  op_->deadline = deadline_after(s);
}

void FdWait::park(int fd, Reactor::Direction dir) {
  if (op_->timed_out || (op_->has_deadline && Clock::now() >= op_->deadline))
    t_.raise("TimeoutError", what_ + ": timed out");
  check_cancel(t_);
  if (!can_park(t_)) t_.raise("Error", what_ + ": cannot wait inside a function called by a native (such as sort's less)");
  Runtime& rt = runtime_of(t_);
  Task& self = host_of(t_);
  op_->fd = fd;
  op_->timed_out = false;
  uint64_t gen = begin_outside_wait(t_, op_, WaitInfo::Io);
  if (!rt.reactor().add(fd, dir, &self, gen)) {
    int error = errno;
    op_->fd = -1;
    abandon_outside_wait(t_, gen);
    t_.raise("IOError", what_ + ": " + std::strerror(error));
  }
  if (op_->has_deadline) rt.scheduler->add_timer(op_->deadline, &self, gen);
}

// }===

// {=== blocks natives

vm::Value Runtime::call_blocking(vm::TaskState& t, vm::Native* native, vm::Value* args, int nargs) {
  const vm::NativeEntry* e = native->entry;
  if (auto op = resumed<BlockingCall>(t)) {  // called again: the pool has run it
    op->raise_if_failed(t);
    if (op->error) throw vm::ScriptError{op->error};
    return op->result;
  }
  if (!can_park(t)) {
    // Called by another native (list.map(xs, net.resolve)), or inside a callback off a
    // fiber: no instruction to resume after a wait, so it runs here. The only `blocks`
    // calls allowed on a worker thread.
    TSK_CHECK(!Scheduler::current() || BlockingPool::on_pool_thread() || t.call_depth > 0,
              "a blocks native ran on a worker thread");
    return vm::invoke_native(t, *e, args, nargs);
  }
  auto op = std::make_shared<BlockingCall>();
  op->args.assign(args, args + nargs);
  auto done = std::make_shared<Completion>(park_outside(t, op, WaitInfo::Blocking));
  Task* task = &host_of(t);
  // Main's call may outlive a run that ends at once: the next run waits for it
  // (wait_for_main_call). Other tasks' heaps go with their last reference.
  bool is_main = task == main_;
  if (is_main) {
    std::lock_guard g(main_call_lock_);
    main_in_call_ = true;
  }
  blocking_pool().submit(
      [this, &t, task, e, op, done, is_main] {
        // The task is still leaving its worker (it parks after this was queued): its
        // heap is the worker's until then. The window is a few instructions long.
        for (;;) {
          {
            std::lock_guard g(task->lock);
            if (task->state != Task::Running) break;
          }
          std::this_thread::yield();
        }
        // The collector's pacing counts this thread's storage growth for the task.
        t.heap.begin_run();
        try {
          TSK_CHECK(BlockingPool::on_pool_thread(), "a blocks native runs on the blocking pool");
          op->result = vm::invoke_native(t, *e, op->args.data(), int(op->args.size()));
        } catch (vm::ScriptError& err) {
          op->error = err.error;
        } catch (std::bad_alloc&) {
          op->error_kind = "MemoryError";
          op->error_message = "out of memory";
        } catch (...) {
          op->error_kind = "Error";
          op->error_message = std::string(e->name) + "() stopped: the program is ending";
        }
        t.heap.end_run();
        // Before the wake: once woken, main may begin its next blocking call. After an
        // ending the wake finds the wait closed (end_all_tasks), whatever run is on.
        if (is_main) {
          std::lock_guard g(main_call_lock_);
          main_in_call_ = false;
          main_call_done_.notify_all();
        }
        done->complete();
      },
      true);
  return vm::Value::nil();
}

// }===

}  // namespace tsk::rt
