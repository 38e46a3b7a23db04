// rt::Task basics: construction, waits and claims, cancellation state, str(). Spawning,
// awaiting, scopes and task ends are in runtime/concurrency.cpp.
#include "runtime/task.hpp"

#include "runtime/fiber.hpp"
#include "runtime/runtime.hpp"

namespace tsk::rt {

Runtime& Task::runtime() const { return static_cast<Runtime&>(vm.runtime); }

// A parked task must stay under 1 KB (docs/architecture.md decision 21): what only some
// tasks need goes into vm::TaskState::Extras, allocated at first use, never onto the task.
// rt::Task is 448 bytes, a mimalloc size class: a field added costs 64 bytes per task.
// (Checked on the platform these figures were measured on, x86-64 with libstdc++, in
// the builds that ship: the checked builds add a debug field to each wait node.)
#if defined(NDEBUG) && defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(Task) <= 448, "rt::Task grew: move the new field into vm::TaskState::Extras");
#endif

Task::Task(Runtime& rt, uint64_t task_id, const char* fn_name, const vm::Proto* spawned_by, lang::Loc at)
    : vm(rt), id(task_id), name(fn_name), spawned_at(at), spawner(spawned_by) {
  vm.host = this;
  rt.tasks_alive.fetch_add(1, std::memory_order_relaxed);
  rng = rt.task_seed(task_id);
}

Task::~Task() {
  if (vm.fiber_call) discard_fiber(vm);
  while (innermost) close_scope();
  runtime().tasks_alive.fetch_sub(1, std::memory_order_relaxed);
}

void Task::open_scope() { innermost = new Scope(this, innermost); }

std::unique_ptr<Scope> Task::close_scope() {
  std::unique_ptr<Scope> closed(innermost);
  innermost = closed->outer;
  return closed;
}

std::string Task::describe() const {
  return "<task " + std::to_string(id) + " " + std::string(name) + " at " + file() + ":" +
         std::to_string(spawned_at.line) + ">";
}

uint64_t Task::begin_wait(WaitInfo what) {
  // Every field first, the generations last: a waker that claims this wait (an
  // acquire CAS on claimed_gen after reading wait_gen) then sees them all written.
  waiting = what;
  wake_value = vm::Message();
  wake_case = -1;
  wake_closed = false;
  wake_error = WakeError::None;
  registration_taken = false;
  uint64_t gen = wait_gen.load(std::memory_order_relaxed) + 1;
  // claimed_gen trails wait_gen by one while the wait is open; a claim moves it up.
  claimed_gen.store(gen - 1, std::memory_order_release);
  wait_gen.store(gen, std::memory_order_release);
  return gen;
}

bool Task::claim(uint64_t gen) {
  uint64_t expected = gen - 1;
  return claimed_gen.compare_exchange_strong(expected, gen, std::memory_order_acq_rel);
}

}  // namespace tsk::rt
