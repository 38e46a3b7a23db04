// The concurrency operations the interpreter and the task natives call (SPEC §6–§9):
// spawn, await, cancel, scopes, channel send/receive/select, and what happens when a
// task's body ends. Each runs on the worker of the task that calls it.
//
// A wait either completes at once (the function returns true, with its result) or parks
// the task: the function registers the wait, sets vm::TaskState::suspended, and returns
// false; the interpreter saves its place and returns to the scheduler. When the task
// runs again, finish_wait() applies what the waker delivered (or raises its error).
#pragma once

#include "lang/ast.hpp"
#include "vm/task_state.hpp"
#include "vm/value.hpp"

namespace tsk::rt {

class Task;

// SPAWN: a new task running callee(args...), copied into its heap; returns its handle
// (nil when `unused`: a spawn statement, whose handle nobody could read).
vm::Value spawn(vm::TaskState& t, vm::Value* callee_and_args, int nargs, lang::Loc at, bool unused = false);
// AWAIT: the task's result (or raises its error / Cancelled), or parks (retry).
bool await(vm::TaskState& t, vm::Value handle, vm::Value& out);
void cancel(vm::TaskState& t, vm::Value handle);

void scope_begin(vm::TaskState& t);
// SCOPEEND: waits for the innermost scope's tasks; raises its first error.
bool scope_end(vm::TaskState& t, vm::Value block_error);

bool send(vm::TaskState& t, vm::Value chan, vm::Value v);
bool recv(vm::TaskState& t, vm::Value chan, vm::Value& out, bool& closed);
// SELECT over `n` cases at regs[2i] (channel), regs[2i+1] (value); the EXTRAARG words at
// send_mask mark the sends (vm::select_case_sends). Sets chosen (-1: default) and, for a
// receive, out.
bool select(vm::TaskState& t, vm::Value* regs, int n, const vm::Instr* send_mask, bool has_default,
            int& chosen, vm::Value& out);

// GETG of a module global owned by another task: a copy of its value when it is
// immutable, else OwnershipError (SPEC §6).
vm::Value read_foreign_global(vm::TaskState& t, vm::Module* m, uint32_t index);
// SETG by a task that does not own the module: always an error (OwnershipError for the
// main script's bindings, FrozenError for a loaded module).
[[noreturn]] void write_foreign_global(vm::TaskState& t, vm::Module* m, uint32_t index);

// Preemption point: true when the task should yield its worker now. Throws
// vm::ExitRequest when the program has ended and the task must stop (scheduler.hpp).
bool should_yield(vm::TaskState& t);
// Raises Cancelled when the task has been cancelled (at waits and preemption points).
void check_cancel(vm::TaskState& t);

// Applies the outcome of the wait the task was parked in, on resume.
void finish_wait(vm::TaskState& t);

// The body of `task` returned `value` or failed with `error`: waits for its implicit
// scope, then finishes the task. Returns false when the task parked to wait.
bool body_ended(Task& task, vm::Value value, vm::Error* error);

}  // namespace tsk::rt
