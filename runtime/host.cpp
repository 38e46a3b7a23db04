// rt::Runtime as the interpreter's vm::Host (vm/host.hpp): each override hands the
// loop's request to the runtime piece that does the work — concurrency.cpp (tasks,
// scopes, channels, select, other tasks' bindings), fiber.cpp (natives that call back),
// the scheduler (preemption), modules (runtime.cpp) — so vm/ never includes runtime/.
#include "runtime/concurrency.hpp"
#include "runtime/fiber.hpp"
#include "runtime/runtime.hpp"
#include "runtime/task.hpp"
#include "vm/transfer.hpp"

namespace tsk::rt {

vm::Value Runtime::spawn(vm::TaskState& t, vm::Value* callee_and_args, int nargs, lang::Loc at, bool unused) {
  return rt::spawn(t, callee_and_args, nargs, at, unused);
}
bool Runtime::await(vm::TaskState& t, vm::Value handle, vm::Value& out) { return rt::await(t, handle, out); }
void Runtime::scope_begin(vm::TaskState& t) { rt::scope_begin(t); }
bool Runtime::scope_end(vm::TaskState& t, vm::Value block_error) { return rt::scope_end(t, block_error); }
// send and recv are defined in concurrency.cpp, beside rt::send and rt::recv.
bool Runtime::select(vm::TaskState& t, vm::Value* regs, int n, const vm::Instr* send_mask, bool has_default,
                     int& chosen, vm::Value& out) {
  return rt::select(t, regs, n, send_mask, has_default, chosen, out);
}

void Runtime::finish_wait(vm::TaskState& t) { rt::finish_wait(t); }

vm::Value Runtime::take_delivery(vm::TaskState& t, bool& closed, int& chosen_case) {
  Task& self = host_of(t);
  closed = self.wake_closed;
  chosen_case = self.wake_case;
  return vm::unpack(t.heap, self.wake_value);
}

void Runtime::check_cancel(vm::TaskState& t) { rt::check_cancel(t); }
bool Runtime::should_yield(vm::TaskState& t) { return rt::should_yield(t); }
void Runtime::yield_now(vm::TaskState& t) { host_of(t).yield_now = true; }

bool Runtime::call_on_fiber(vm::TaskState& t, vm::Native* native, vm::Value* args, int nargs, vm::Value& out) {
  return rt::call_on_fiber(t, native, args, nargs, out);
}
bool Runtime::resume_fiber(vm::TaskState& t, vm::Value& out) { return rt::resume_fiber(t, out); }
void Runtime::park_fiber(vm::TaskState& t) { rt::park_fiber(t); }
bool Runtime::stack_nearly_full(vm::TaskState& t) { return rt::stack_nearly_full(t); }

vm::Value Runtime::read_foreign_global(vm::TaskState& t, vm::Module* m, uint32_t index) {
  return rt::read_foreign_global(t, m, index);
}
void Runtime::write_foreign_global(vm::TaskState& t, vm::Module* m, uint32_t index) {
  rt::write_foreign_global(t, m, index);
}

void Runtime::mark_host_roots(vm::TaskState& t) {
  // The main scripts' globals live in the main task's heap (Module::owner).
  if (!main_ || &t != &main_->vm) return;
  for (vm::Module* m : main_modules)
    if (m->owner.load(std::memory_order_relaxed) == &t)
      for (vm::Value v : m->globals) t.heap.mark(v);
}

}  // namespace tsk::rt
