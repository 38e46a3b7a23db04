// Spawn, await, cancel, scopes, channel operations from script code, and the end of a
// task (see runtime/concurrency.hpp and the state rules in runtime/task.hpp).
#include "runtime/concurrency.hpp"
#include "runtime/outside.hpp"

#include "runtime/channel.hpp"
#include "runtime/inline_vector.hpp"
#include "runtime/runtime.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/task.hpp"
#include "stdlib/registry.hpp"
#include "vm/ops.hpp"
#include "vm/transfer.hpp"

namespace tsk::rt {

namespace {

Task& host(vm::TaskState& t) { return host_of(t); }

// A wait inside a native's callback (sort's `less` receiving from a channel) would need
// the native's C++ frames to be suspended too: that needs a fiber, which comes later.
void require_parkable(vm::TaskState& t) {
  if (t.call_depth > 0 && !t.in_fiber)
    t.raise("Error", "cannot wait inside a function called by a native (such as sort's less) yet");
  if (!t.host) t.raise("Error", "cannot wait outside a task");
}

Task* task_of(vm::TaskState& t, vm::Value handle, const char* what) {
  if (handle.tag != vm::Tag::Task)
    t.raise("TypeError", std::string(what) + " needs a task, not " + vm::type_name(handle));
  return static_cast<Task*>(handle.as_handle()->target);
}

[[noreturn, gnu::noinline, gnu::cold]] void raise_not_channel(vm::TaskState& t, vm::Value v, const char* what) {
  t.raise("TypeError", std::string(what) + " needs a channel, not " + vm::type_name(v));
}

// Small enough to inline into every channel operation; the error is out of line.
Channel* chan_of(vm::TaskState& t, vm::Value v, const char* what) {
  if (v.tag != vm::Tag::Chan) raise_not_channel(t, v, what);
  return static_cast<Channel*>(v.as_handle()->target);
}

Scope& innermost_scope(Task& task) {
  return task.innermost ? *task.innermost : task.implicit_scope;
}

// Extends the trace of an error leaving `task` (SPEC §5): "in task 4 spawned at
// calc.tsk:15:5", then the spawning function at the spawn site. The receiving task's own
// frames follow when it records the trace (its innermost frame left out when it is that
// same function, so the spawn site is not listed twice).
void note_crossing(vm::Error* e, const Task& task) {
  std::string at = std::string(task.file()) + ":" + std::to_string(task.spawned_at.line) + ":" + std::to_string(task.spawned_at.col);
  e->trace.push_back(vm::TraceLine{"", "", {}, "in task " + std::to_string(task.id) + " spawned at " + at});
  if (task.spawner) e->trace.push_back(vm::TraceLine{task.spawner->name, task.spawner->file, task.spawned_at, ""});
  e->skip_innermost = task.spawner;
}

// Raises, in `t`, a copy of an error that came from task `through`.
[[noreturn]] void raise_from(vm::TaskState& t, vm::Error* error, const Task* through) {
  vm::Error* e = vm::clone_error(t.heap, error);
  if (through) note_crossing(e, *through);
  e->traced = false;
  throw vm::ScriptError{e};
}

bool is_cancelled_error(const vm::Error* e) { return e->kind->view() == "Cancelled"; }

// Cancels every task of `scope` except `except`.
void cancel_scope_tasks(Runtime& rt, Scope& scope, Task* except) {
  std::vector<Task*> tasks;
  {
    std::lock_guard g(scope.lock);
    for (Task* x = scope.members; x; x = x->member_next) {
      x->retain();
      tasks.push_back(x);
    }
  }
  for (Task* x : tasks) {
    if (x != except && x->outcome.load() == Task::Pending) rt.cancel_task(x);
    x->release();
  }
}

// Records that a task of `scope` failed (or the scope's block did) and cancels the rest.
void scope_failed(Runtime& rt, Scope& scope, vm::Error* error, Task* from) {
  bool first;
  {
    std::lock_guard g(scope.lock);
    first = !scope.failed();
    if (!scope.failures) scope.failures = std::make_unique<std::vector<Failure>>();
    Failure f;
    f.error = vm::pack_error(error);
    f.task_id = from ? from->id : 0;
    if (from) note_crossing(f.error.value.as_error(), *from);
    scope.failures->push_back(std::move(f));
    if (first) scope.cancelled = true;
  }
  if (first) {
    cancel_scope_tasks(rt, scope, from);
    // The scope's own code is cancelled too: wake its owner if it is parked in a wait.
    if (scope.owner) rt.interrupt(scope.owner);
  }
}

// `task` of `scope` has ended: unlink it, and wake the owner when it was the last.
// The owner and the generation of its wait at the closing brace are read under the lock:
// once `live` is 0 the owner may close (and free) the scope at any moment — it may be
// running already, woken by a failure's cancel — and then this wake must neither touch
// the scope nor complete a later wait of the owner.
void scope_task_ended(Runtime& rt, Scope& scope, Task& task) {
  Task* owner = nullptr;
  uint64_t owner_wait = 0;
  {
    std::lock_guard g(scope.lock);
    if (task.member_prev) task.member_prev->member_next = task.member_next;
    else scope.members = task.member_next;
    if (task.member_next) task.member_next->member_prev = task.member_prev;
    task.member_prev = task.member_next = nullptr;
    scope.live--;
    if (scope.live == 0 && scope.owner_waiting) {
      owner = scope.owner;
      owner->retain();
      owner_wait = owner->wait_gen.load(std::memory_order_acquire);
    }
  }
  if (owner) {
    rt.interrupt(owner, owner_wait);
    owner->release();
  }
  task.release();  // the scope's reference
}

// A copy in `heap` of a failed scope's first failure, with the others listed.
vm::Error* scope_error(vm::Heap& heap, Scope& scope) {
  std::vector<Failure>& failures = *scope.failures;
  vm::Error* e = vm::clone_error(heap, failures.front().error.value.as_error());
  for (size_t i = 1; i < failures.size(); i++) {
    vm::Error* other = failures[i].error.value.as_error();
    e->trace.push_back(vm::TraceLine{"", "", {}, "also failed: " + std::string(other->kind->view()) + ": " +
                                                     std::string(other->message->view())});
  }
  return e;
}

// The error to raise at a scope's end.
[[noreturn]] void raise_scope_failure(vm::TaskState& t, Scope& scope) {
  vm::Error* e = scope_error(t.heap, scope);
  e->traced = false;
  throw vm::ScriptError{e};
}

}  // namespace

namespace {

// Whose binding `m`'s globals are, for error messages: `owner` is the main task or the
// task loading `m`.
std::string owner_text(vm::TaskState& t, vm::Module* m, vm::TaskState* owner) {
  if (runtime_of(t).main_ && owner == &runtime_of(t).main_->vm && !m->imported) return "the main task";
  return "the task loading module '" + m->path + "'";
}

// Keeps `v`, this task's copy of the `let`/`fn` binding `index` of `m`, which never
// changes once set: GETG finds it again in `recent` without leaving the loop.
vm::Value remember_fixed(vm::TaskState& t, vm::Module* m, uint32_t index, vm::Value v) {
  vm::TaskState::Extras& extras = t.extra();
  vm::Value& slot = m->globals[index];
  vm::Value kept = extras.by_slot.emplace(&slot, v).first->second;
  extras.recent[index % vm::TaskState::Extras::kRecent] = {&slot, kept};
  return kept;
}

// A copy in `t`'s heap of global `index` of `m`, owned by `owner` (not `t`). The caller
// holds what keeps `owner` owning `m` (a main script's owner never changes; an imported
// module's cannot while its owner_lock is held).
vm::Value copy_owned_global(vm::TaskState& t, vm::Module* m, vm::TaskState* owner, uint32_t index) {
  std::lock_guard gc(owner->gc_mutex);  // the owner cannot collect what is being copied
  vm::Value v;
  for (;;) {
    uint32_t before = m->seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    vm::Value& slot = m->globals[index];
    v.tag_word_ = std::atomic_ref<uint64_t>(slot.tag_word_).load(std::memory_order_relaxed);
    v.i = std::atomic_ref<int64_t>(slot.i).load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (m->seq.load(std::memory_order_relaxed) == before) break;
  }
  if (v.tag == vm::Tag::Undef) return v;
  if (!m->names[index].mutable_ && v.tag == vm::Tag::Closure && v.as_closure()->ncells == 0) {
    // A top-level fn: re-made once in this task's heap and found again in its cache.
    vm::Closure* c = v.as_closure();
    return remember_fixed(t, m, index, vm::Value::object(t.heap.closure(c->proto, c->module, 0)));
  }
  if (!v.immutable())
    t.raise("OwnershipError", "'" + m->names[index].name + "' belongs to " + owner_text(t, m, owner) +
                                  " and holds a mutable " + vm::type_name(v) + "; task " + std::to_string(host(t).id) +
                                  " may read it only while it is immutable (freeze it, or pass it to the task)");
  vm::Value copy = vm::copy_into(t.heap, v);
  // A `let` never changes: its value (shared frozen data, held once) is read once per task.
  return !m->names[index].mutable_ && copy.is_obj() ? remember_fixed(t, m, index, copy) : copy;
}

}  // namespace

vm::Value read_foreign_global(vm::TaskState& t, vm::Module* m, uint32_t index) {
  if (m->imported) {
    // A module still loading in another task (a task its body spawned calls its
    // functions). Its owner gives it up under owner_lock when it ends loading, so
    // holding that lock for the whole read sees it either owned or loaded, never half.
    if (!m->names[index].mutable_ && t.extras) {
      auto& by_slot = t.extras->by_slot;
      auto cached = by_slot.find(&m->globals[index]);
      if (cached != by_slot.end()) return cached->second;  // a top-level fn copied before
    }
    std::lock_guard hold(m->owner_lock);
    vm::TaskState* owner = m->owner.load(std::memory_order_acquire);
    if (!owner) return m->globals[index];  // loaded (frozen, shared) or failed (Undef)
    return copy_owned_global(t, m, owner, index);
  }
  // A main script's top-level binding: its owner, the main task, never changes.
  vm::TaskState* owner = m->owner.load(std::memory_order_relaxed);
  if (!m->names[index].mutable_) {
    // A `let` or `fn` binding never changes once set, and what it holds stays reachable
    // from the module, so the owner cannot free it: a function (the common case, a task
    // calling a top-level fn) is re-made in this task's heap without any lock. It reads
    // no object's flags (the owner's collector writes them); anything else is read once,
    // under the owner's lock, and then found here.
    vm::Value& slot = m->globals[index];
    if (t.extras) {
      auto cached = t.extras->by_slot.find(&slot);
      if (cached != t.extras->by_slot.end()) return remember_fixed(t, m, index, cached->second);
    }
    vm::Value v;
    v.tag_word_ = std::atomic_ref<uint64_t>(slot.tag_word_).load(std::memory_order_acquire);
    v.i = std::atomic_ref<int64_t>(slot.i).load(std::memory_order_relaxed);
    if (!v.is_obj()) return v;
    if (v.tag == vm::Tag::Closure && v.as_closure()->ncells == 0) {
      vm::Closure* c = v.as_closure();
      return remember_fixed(t, m, index, vm::Value::object(t.heap.closure(c->proto, c->module, 0)));
    }
  }
  return copy_owned_global(t, m, owner, index);
}

void write_foreign_global(vm::TaskState& t, vm::Module* m, uint32_t index) {
  vm::TaskState* owner = m->owner.load(std::memory_order_acquire);
  if (!owner && m->imported && !m->loaded)
    t.raise("ImportError", "cannot assign to '" + m->names[index].name + "': module '" + m->path +
                               "' failed to load");
  if (!owner)
    t.raise("FrozenError", "cannot assign to '" + m->names[index].name + "': module '" +
                               std::string(m->name->view()) + "' is read-only");
  t.raise("OwnershipError", "cannot assign to '" + m->names[index].name + "' from task " + std::to_string(host(t).id) +
                                ": top-level bindings belong to " + owner_text(t, m, owner) +
                                "; send the value on a channel");
}

namespace {
[[noreturn, gnu::noinline, gnu::cold]] void raise_cancelled(vm::TaskState& t) {
  // Once the program has ended, a cancelled task stops for good: raising Cancelled
  // again would let one that catches it in a loop run on forever.
  if (runtime_of(t).scheduler && runtime_of(t).scheduler->halting()) throw vm::ExitRequest{-1};
  t.raise("Cancelled", "the task was cancelled");
}
}  // namespace

void check_cancel(vm::TaskState& t) {
  if (t.host && host(t).should_cancel()) raise_cancelled(t);
}

bool should_yield(vm::TaskState& t) {
  if (!t.host || !runtime_of(t).scheduler || !runtime_of(t).scheduler->others_waiting()) return false;
  // The program has ended (os.exit in another task, a closed stdout, ...): this task
  // stops here, unwinding every frame as os.exit does, nested callbacks included.
  if (runtime_of(t).scheduler->halting()) throw vm::ExitRequest{-1};
  return t.call_depth == 0;
}

vm::Value spawn(vm::TaskState& t, vm::Value* callee_and_args, int nargs, lang::Loc at, bool unused) {
  Runtime& rt = runtime_of(t);
  // A spawn does the work of many instructions (a task, its heap, copies of its
  // arguments): it pays for them, or a loop of spawns would outrun any budget.
  constexpr int64_t kSpawnCost = 1000;
  if (rt.config.instruction_budget && rt.budget_left.fetch_sub(kSpawnCost, std::memory_order_relaxed) <= kSpawnCost)
    t.raise_limit("the run's instruction budget is spent");
  Task& parent = host(t);
  vm::Value callee = callee_and_args[0];
  const char* name;
  if (callee.tag == vm::Tag::Closure) name = callee.as_closure()->proto->name.c_str();
  else if (callee.tag == vm::Tag::Native) name = callee.as_native()->entry->name;
  else t.raise("TypeError", std::string("cannot spawn a call of ") + vm::type_name(callee));
  const vm::Frame& f = t.frames.back();
  Task* child = rt.new_task(name, f.closure->proto, at);
  rt.scheduler->reuse_stacks(child->vm);  // a register stack and frames a task left here
  // Arguments and captured values cross into the new task's heap as copies (SPEC §6).
  InlineVector<vm::Value, 8> copied;
  copied.reserve(size_t(nargs) + 1);
  vm::Closure* shared = callee.tag == vm::Tag::Closure ? rt.shared_closure(callee.as_closure()) : nullptr;
  copied.push_back(shared ? vm::Value::object(shared) : vm::copy_into(child->vm.heap, callee));
  for (int i = 1; i <= nargs; i++) copied.push_back(vm::copy_into(child->vm.heap, callee_and_args[i]));
  rt.prepare_entry(*child, copied[0], copied.data() + 1, nargs);
  Scope& scope = innermost_scope(parent);
  child->member_of = &scope;
  {
    std::lock_guard g(scope.lock);
    scope.live++;
    child->retain();
    child->member_next = scope.members;
    if (scope.members) scope.members->member_prev = child;
    scope.members = child;
    if (scope.cancelled) child->cancel_requested = true;
  }
  // Without a handle the task is freed as soon as it ends, not when its spawner's heap
  // lets go of the handle: its memory is reused by the next spawns while still in cache.
  vm::Value handle = unused ? vm::Value::nil() : vm::Value::object(t.heap.handle(vm::Tag::Task, child));
  rt.scheduler->add_live(child);
  rt.scheduler->wake(child);
  child->release();  // the scope and the live set hold it now
  return handle;
}

bool await(vm::TaskState& t, vm::Value handle, vm::Value& out) {
  Task* target = task_of(t, handle, "await");
  Task& self = host(t);
  if (target == &self) t.raise("Error", "a task cannot await itself");
  {
    std::lock_guard g(target->lock);
    if (target->state != Task::Done) {
      // Cancellation is checked only where the await would wait: a finished task's
      // failure is raised even when it is what cancelled this task's scope (SPEC §6).
      check_cancel(t);
      require_parkable(t);
      self.begin_wait(WaitInfo::on_task(target->id));
      self.next_awaiter = target->awaiters;
      target->awaiters = &self;
      self.retain();
      t.suspended = true;
      return false;
    }
  }
  switch (target->outcome.load()) {
    case Task::Returned: out = target->ending ? vm::copy_into(t.heap, target->ending->result) : vm::Value::nil(); return true;
    case Task::Cancelled: t.raise("Cancelled", "the awaited task was cancelled");
    default: raise_from(t, target->ending->error, target);
  }
}

void cancel(vm::TaskState& t, vm::Value handle) {
  Task* target = task_of(t, handle, "cancel");
  runtime_of(t).cancel_task(target);
}

void scope_begin(vm::TaskState& t) {
  host(t).open_scope();
}

bool scope_end(vm::TaskState& t, vm::Value block_error) {
  Task& self = host(t);
  Scope& scope = *self.innermost;
  Runtime& rt = runtime_of(t);
  if (block_error.tag == vm::Tag::Error) {
    vm::Error* e = block_error.as_error();
    // The block's own failure (not the cancellation a child's failure caused) fails the
    // scope: its tasks are cancelled. A Cancelled from outside cancels them too.
    bool record;
    {
      std::lock_guard g(scope.lock);
      record = !scope.failed() && !(is_cancelled_error(e) && scope.cancelled);
    }
    if (record && !is_cancelled_error(e)) scope_failed(rt, scope, e, nullptr);
    else if (is_cancelled_error(e)) cancel_scope_tasks(rt, scope, nullptr);
  }
  // A cancelled owner still waits for the scope's tasks, having cancelled them first.
  if (self.should_cancel() && !scope.cancel_sent) {
    scope.cancel_sent = true;
    cancel_scope_tasks(rt, scope, nullptr);
  }
  {
    std::lock_guard g(scope.lock);
    if (scope.live > 0) {
      require_parkable(t);
      self.begin_wait(WaitInfo::on(WaitInfo::ScopeEnd));
      scope.owner_waiting = true;
      t.suspended = true;
      return false;
    }
    scope.owner_waiting = false;
  }
  // Every task of the scope has ended: close it and raise what must be raised.
  std::unique_ptr<Scope> closed = self.close_scope();
  if (closed->failed()) raise_scope_failure(t, *closed);
  if (block_error.tag == vm::Tag::Error) throw vm::ScriptError{block_error.as_error()};
  // The end of a scope is a wait: a task cancelled while it waited here stops now.
  check_cancel(t);
  return true;
}

namespace {
// The SEND and RECV of the interpreter come here through Runtime::send/recv, one call
// in all (the cancellation check inlined; its raise out of line): at one worker the
// calls around a channel operation were ~15% of a channel-bound program's profile.
[[gnu::always_inline]] inline bool send_op(vm::TaskState& t, vm::Value chan, vm::Value v) {
  Channel* ch = chan_of(t, chan, "send");
  if (v.is_nil()) t.raise("TypeError", "cannot send nil on a channel (nil means closed)");
  check_cancel(t);
  vm::Message m = vm::pack(v);
  if (channel_send(runtime_of(t), host(t), *ch, m) == Op::Done) return true;
  t.suspended = true;
  return false;
}

[[gnu::always_inline]] inline bool recv_op(vm::TaskState& t, vm::Value chan, vm::Value& out, bool& closed) {
  Channel* ch = chan_of(t, chan, "receive");
  check_cancel(t);
  vm::Message m;
  if (channel_recv(runtime_of(t), host(t), *ch, m, closed) == Op::Parked) {
    t.suspended = true;
    return false;
  }
  out = vm::unpack(t.heap, m);
  return true;
}
}  // namespace

bool send(vm::TaskState& t, vm::Value chan, vm::Value v) { return send_op(t, chan, v); }
bool recv(vm::TaskState& t, vm::Value chan, vm::Value& out, bool& closed) { return recv_op(t, chan, out, closed); }
bool Runtime::send(vm::TaskState& t, vm::Value chan, vm::Value v) { return send_op(t, chan, v); }
bool Runtime::recv(vm::TaskState& t, vm::Value chan, vm::Value& out, bool& closed) {
  return recv_op(t, chan, out, closed);
}

bool select(vm::TaskState& t, vm::Value* regs, int n, const vm::Instr* send_mask, bool has_default,
            int& chosen, vm::Value& out) {
  check_cancel(t);
  InlineVector<SelectCase, 8> cases;  // a select over a few cases allocates nothing here
  cases.reserve(size_t(n));
  for (int i = 0; i < n; i++) {
    vm::Value c = regs[2 * i];
    bool is_send = vm::select_case_sends(send_mask, size_t(i));
    Channel* ch = nullptr;
    if (!c.is_nil()) ch = chan_of(t, c, "select");
    if (is_send && regs[2 * i + 1].is_nil())
      t.raise("TypeError", "cannot send nil on a channel (nil means closed)");
    cases.push_back(SelectCase{ch, is_send, regs[2 * i + 1]});
  }
  vm::Message m;
  bool closed = false;
  if (channel_select(runtime_of(t), host(t), cases.data(), cases.size(), has_default, chosen, m, closed) ==
      Op::Parked) {
    t.suspended = true;
    return false;
  }
  out = vm::unpack(t.heap, m);
  return true;
}

void finish_wait(vm::TaskState& t) {
  Task& self = host(t);
  Runtime& rt = runtime_of(t);
  if (self.waiting.kind == WaitInfo::Import) runtime_of(t).modules.forget_wait(t);
  channel_forget(self);
  WaitInfo::Kind kind = self.waiting.kind;
  // A sleep ended otherwise (cancelled) takes its timer out of the heap.
  if (kind == WaitInfo::Sleep && !self.registration_taken) rt.scheduler->cancel_timer(self);
  if (kind == WaitInfo::Blocking || kind == WaitInfo::Io) outside_wait_ended(t, kind);  // runtime/outside.hpp
  self.waiting = WaitInfo{};
  WakeError error = std::exchange(self.wake_error, WakeError::None);
  if (error == WakeError::None) return;
  self.wake_value = vm::Message();  // a sender's message nobody took
  switch (error) {
    case WakeError::Cancelled: t.raise("Cancelled", "the task was cancelled");
    case WakeError::ChannelClosed: t.raise("ChannelClosedError", "the channel was closed while sending");
    default: break;
  }
  std::string message = rt.scheduler->deadlock_message;
  if (kind == WaitInfo::ScopeEnd) {
    // Main deadlocked at a `scope { }` block's closing brace (SPEC §13): the scope fails
    // with Deadlock, which cancels its tasks, and its end, run again, raises Deadlock once
    // they have ended, where main may catch it. No task outlives its scope.
    scope_failed(rt, *self.innermost, t.make_error("Deadlock", std::move(message)), nullptr);
    return;
  }
  t.raise("Deadlock", std::move(message));
}

bool body_ended(Task& task, vm::Value value, vm::Error* error) {
  Runtime& rt = task.runtime();
  vm::TaskState& t = task.vm;
  if (!task.body_finished) {
    task.body_finished = true;
    // A task that returns nil needs no Ending (most spawned tasks: they send their
    // results); one that fails or is cancelled always gets one (below).
    if (error || !value.is_nil()) task.ending = std::make_unique<Ending>();
    if (error) {
      task.ending->error = vm::clone_error(task.ending->heap, error);
      if (!is_cancelled_error(error)) {
        bool record;
        {
          std::lock_guard g(task.implicit_scope.lock);
          record = !task.implicit_scope.failed();
        }
        if (record) scope_failed(rt, task.implicit_scope, error, nullptr);
      } else {
        cancel_scope_tasks(rt, task.implicit_scope, nullptr);
      }
    } else if (task.ending) {
      task.ending->result = vm::copy_into(task.ending->heap, value);
    }
  }
  bool children_left;
  {
    std::lock_guard g(task.implicit_scope.lock);
    children_left = task.implicit_scope.live > 0;
  }
  // Cancelled while it waits for its tasks: cancel them, and end as Cancelled.
  if (children_left && task.should_cancel() && !task.implicit_scope.cancel_sent) {
    task.implicit_scope.cancel_sent = true;
    cancel_scope_tasks(rt, task.implicit_scope, nullptr);
  }
  {
    std::lock_guard g(task.implicit_scope.lock);
    if (task.implicit_scope.live > 0) {
      task.begin_wait(WaitInfo::on(WaitInfo::TaskEnd));
      task.implicit_scope.owner_waiting = true;
      t.suspended = true;
      return false;
    }
  }
  // The outcome: a failure of the implicit scope (the first, possibly this task's own)
  // wins over a return; a Cancelled body with no failure is Cancelled.
  Scope& scope = task.implicit_scope;
  uint8_t outcome;
  if (scope.failed()) {
    if (!task.ending) task.ending = std::make_unique<Ending>();
    task.ending->error = scope_error(task.ending->heap, scope);
    outcome = Task::Failed;
  } else if (task.ending && task.ending->error) {
    outcome = is_cancelled_error(task.ending->error) ? Task::Cancelled : Task::Failed;
  } else if (scope.cancel_sent) {
    outcome = Task::Cancelled;  // cancelled while it waited for its tasks
  } else {
    outcome = Task::Returned;  // `ending` holds a result other than nil
  }
  if (!task.ending && outcome != Task::Returned) task.ending = std::make_unique<Ending>();
  Ending* ending = task.ending.get();
  // A finished task's memory is freed at once (SPEC §6); what its awaiters read is in
  // `ending`. The main task (in no scope) keeps its heap: its globals outlive a run.
  if (task.member_of) {
    rt.scheduler->keep_stacks(t);  // the next spawn on this worker reuses them
    t.release_memory();
  }
  task.outcome.store(outcome);
  rt.task_done(task);
  // Tell the scope this task belongs to.
  if (task.member_of) {
    if (outcome == Task::Failed) scope_failed(rt, *task.member_of, ending->error, &task);
    scope_task_ended(rt, *task.member_of, task);
  }
  return true;
}

}  // namespace tsk::rt
