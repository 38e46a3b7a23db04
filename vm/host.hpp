// The seam between the interpreter and what runs it. Nothing in vm/ knows about threads,
// the scheduler, channels or the module table (DESIGN's layering): the interpreter
// reaches spawn, await, scopes, channels, select, imports, other tasks' top-level
// bindings, cancellation, preemption and the collector's lock only through `Host`, which
// runtime/ implements (rt::Runtime). A task's runtime side is opaque here (`HostTask`).
//
// Every operation that may wait follows one protocol: it completes at once (returns true
// with its result) or parks the task — registers the wait, sets TaskState::suspended and
// returns false — and the interpreter saves its place and returns to its caller; when the
// task runs again, `finish_wait` applies what the waker delivered (or raises its error)
// and `take_delivery` hands over the value.
//
// Rejected: calling runtime/ functions from the loop directly (what the code did: vm/
// could not be built or tested without the scheduler, and a host could not stand in);
// returning a suspension request object from each instruction (one more branch and a
// copy on every channel operation, for the same result).
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

#include "lang/ast.hpp"
#include "vm/value.hpp"

namespace tsk::vm {

class TaskState;
struct Instr;

// The runtime's side of a task (rt::Task derives from it); the VM only passes it on.
struct HostTask {};

// Limits the interpreter enforces (rt::Config says where each number comes from).
struct Limits {
  uint32_t max_stack_slots = 1'000'000;
  uint32_t max_frames = 200'000;
};

class Host {
 public:
  virtual ~Host() = default;

  // --- what the loop reads directly ---
  Limits limits;
  std::vector<Value> builtins;              // BUILTIN Bx -> Native
  uint64_t instruction_budget = 0;          // 0: none
  // What is left of it, shared by every task: a program cannot escape the budget by
  // spreading its work over many tasks.
  std::atomic<int64_t> budget_left{0};
  // The bytes a task's heap may hold after a collection; 0: none (a LimitError past it).
  size_t task_memory_limit = 0;

  // --- tasks and scopes (SPEC §6-§7) ---
  // `unused`: nobody reads the result (a spawn statement): no handle is made, nil returned.
  virtual Value spawn(TaskState& t, Value* callee_and_args, int nargs, lang::Loc at, bool unused) = 0;
  virtual bool await(TaskState& t, Value handle, Value& out) = 0;
  virtual void scope_begin(TaskState& t) = 0;
  virtual bool scope_end(TaskState& t, Value block_error) = 0;

  // --- channels and select (SPEC §8-§9) ---
  virtual bool send(TaskState& t, Value chan, Value v) = 0;
  virtual bool recv(TaskState& t, Value chan, Value& out, bool& closed) = 0;
  // Over `n` cases at regs[2i] (channel), regs[2i+1] (value); the EXTRAARG words at
  // send_mask mark the sends. Sets chosen (-1: default) and, for a receive, out.
  virtual bool select(TaskState& t, Value* regs, int n, const Instr* send_mask, bool has_default,
                      int& chosen, Value& out) = 0;

  // --- resuming a parked task ---
  // Applies the outcome of the wait it was parked in; raises its error (Cancelled, ...).
  virtual void finish_wait(TaskState& t) = 0;
  // The value the waker delivered (unpacked into t's heap), whether the channel was
  // closed, and the chosen select case.
  virtual Value take_delivery(TaskState& t, bool& closed, int& chosen_case) = 0;

  // --- preemption and cancellation (at calls and loop back-edges) ---
  virtual void check_cancel(TaskState& t) = 0;
  virtual bool should_yield(TaskState& t) = 0;
  virtual void yield_now(TaskState& t) = 0;

  // --- natives whose effect is `blocks` (SPEC §10) ---
  // Calls `native` where its blocking system call cannot stall other tasks: parks the
  // task (sets TaskState::suspended and retry_native) and runs it on another thread;
  // when the task is called again with the same arguments it returns the result (or
  // raises the error). Where the task cannot park, it runs inline.
  virtual Value call_blocking(TaskState& t, Native* native, Value* args, int nargs) = 0;

  // --- natives that call back into script, on fibers ---
  virtual bool call_on_fiber(TaskState& t, Native* native, Value* args, int nargs, Value& out) = 0;
  virtual bool resume_fiber(TaskState& t, Value& out) = 0;
  virtual void park_fiber(TaskState& t) = 0;
  virtual bool stack_nearly_full(TaskState& t) = 0;

  // --- top-level bindings owned by another task (SPEC §6) ---
  virtual Value read_foreign_global(TaskState& t, Module* m, uint32_t index) = 0;
  [[noreturn]] virtual void write_foreign_global(TaskState& t, Module* m, uint32_t index) = 0;

  // --- modules (SPEC §4) ---
  // Finds module `name`; when its body still has to run, sets `body`, which the
  // interpreter runs in an import frame and then reports with finish_import (or
  // abort_import when an error, or none, unwinds it).
  virtual Module* import(TaskState& t, Module* importer, std::string_view name, bool is_path,
                         Closure*& body) = 0;
  virtual void finish_import(TaskState& t, Module* m) = 0;
  virtual void abort_import(TaskState& t, Module* m, Error* error) = 0;

  // --- the collector ---
  // Marks (t.heap.mark) the roots the host keeps for `t`: the main scripts' globals,
  // for the main task. Called by TaskState::collect, under t's collector lock.
  virtual void mark_host_roots(TaskState& t) = 0;
  // A new error identity (Error::id), unique in the host.
  virtual uint64_t new_error_id() = 0;
};

}  // namespace tsk::vm
