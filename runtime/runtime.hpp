// The Runtime: everything one instance of tsk owns (DESIGN decision 1). No global mutable
// state exists anywhere else, so several runtimes can live in one process and be
// destroyed independently. The public API (include/tsk/tsk.hpp) wraps one of these.
#pragma once

#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lang/diagnostic.hpp"
#include "runtime/fiber.hpp"
#include "runtime/modules.hpp"
#include "vm/heap.hpp"
#include "vm/proto.hpp"
#include "vm/task.hpp"

namespace tsk::rt {

class Scheduler;
class Task;

// Every runtime knob with its default and why.
struct Config {
  // 1,000,000 registers (16 MB): Lua's LUAI_MAXSTACK. Deep enough for any reasonable
  // recursion; past it a script gets StackOverflowError, never a crash.
  uint32_t max_stack_slots = 1'000'000;
  // 200,000 frames: about 10 MB of frames, well inside the register limit for small functions.
  uint32_t max_frames = 200'000;
  int threads = 0;  // 0: the number of CPUs
  // Raise an Error after this many instructions; 0 = no limit (the fuzzer sets one).
  uint64_t instruction_budget = 0;
  // Seeds select's random choices (every task's generator derives from it and the task's
  // id): with a seed and one thread a program makes the same choices every run, so a
  // failing order can be replayed. Unset: a seed from the system (std::random_device).
  // When set, it also seeds each task's `rand` generator (with the task's id), which is
  // otherwise seeded from getrandom (stdlib/rand.cpp).
  // The library never reads the environment for it; the `tsk` command reads TSK_SEED.
  std::optional<uint64_t> seed;
  std::vector<std::string> args;  // os.args
  // Where print() and the error report go; the defaults are stdout and stderr.
  std::function<void(std::string_view)> write_out;
  std::function<void(std::string_view)> write_err;
};

class Runtime {
 public:
  explicit Runtime(Config config);
  ~Runtime();

  Config config;
  const uint64_t seed;  // config.seed, or one drawn from the system
  // The first state of task `id`'s select generator (rt::Task::rng).
  uint32_t task_seed(uint64_t id) const;
  vm::Heap shared{true};  // immortal immutable objects: constants, natives, module names
  std::vector<std::unique_ptr<vm::Proto>> protos;
  std::vector<vm::Value> builtins;                  // BUILTIN Bx -> Native
  ModuleTable modules{*this};                        // loaded and loading modules, and their waiters
  // Scripts run by run() (the REPL runs many); only the main task (their owner) reads
  // this during a run, and only a host between runs writes it.
  std::vector<vm::Module*> main_modules;
  // Serialises compiling and the shared heap, which is not thread-safe. Taken before
  // the module table's lock.
  std::recursive_mutex module_mutex;

  // Buffered stdout: print appends here; flushed when it grows, at exit and os.exit.
  std::string out_buffer;
  void write_out(std::string_view s);
  void flush_out();
  std::mutex out_mutex;  // tasks on every worker print
  void flush_locked();
  void write_err(std::string_view s);

  // IMPORT: finds the module `name` (a standard module, or with `is_path` a file relative
  // to `importer`'s file). Returns it; when its top-level code still has to run, sets
  // `body` to the closure of that code, which the interpreter runs in an import frame and
  // then reports with finish_import (or abort_import when an error unwinds it). When
  // another task is loading it, parks `task` (sets task.suspended) and returns null: the
  // interpreter runs the IMPORT again when the task is woken.
  vm::Module* import(vm::Task& task, vm::Module* importer, std::string_view name, bool is_path,
                     vm::Closure*& body);
  // The body of `m`, the innermost module `task` is loading, has returned: its globals
  // are frozen and shared, its owner becomes null, and its waiters are woken.
  void finish_import(vm::Task& task, vm::Module* m);
  // `error` unwound the body of `m` (null: abandoned after os.exit): its globals are
  // dropped, it leaves the module table, and its waiters raise `error` (or retry).
  void abort_import(vm::Task& task, vm::Module* m, vm::Error* error);
  // The main script `m` of a run() is registered as loading by the main task while the
  // run lasts, so importing it is a cycle.
  void enter_main_script(vm::Module* m, const std::string& file);
  void leave_main_script();

  // Parses and compiles `source`; on errors `main` is null and `errors` says why.
  struct Compiled {
    vm::Proto* main = nullptr;
    std::vector<vm::Module::Global> globals;
    std::vector<lang::Diagnostic> errors;
  };
  Compiled compile(std::string_view source, const std::string& file,
                   std::vector<vm::Module::Global> prior = {}, bool repl = false);
  // Gives `m` the global slots of `globals` (new ones Undef) and its exports index.
  void define_globals(vm::Task& task, vm::Module* m, const std::vector<vm::Module::Global>& globals);

  // The task that runs the main script (task 1), the REPL's lines and the module bodies
  // they import. It lives as long as the runtime, so the main script's globals (in its
  // heap) stay valid between runs.
  vm::Task& main_task();
  Task* main_ = nullptr;

  // --- concurrency ---
  std::unique_ptr<Scheduler> scheduler;            // started by the first run
  std::atomic<uint64_t> next_task_id{2};
  std::atomic<uint64_t> next_chan_id{1};
  std::atomic<uint64_t> next_error_id{1};           // Error::id: an error's identity
  // Objects alive now: tests check both return to zero (main aside) after a run.
  std::atomic<int64_t> tasks_alive{0};
  // Config::instruction_budget left, shared by every task of the runtime: a program
  // cannot escape the budget by spreading its work over many tasks.
  std::atomic<int64_t> budget_left{0};
  std::atomic<int64_t> channels_alive{0};
  // A new task (one reference, the caller's), not yet runnable.
  Task* new_task(const char* name, const vm::Proto* spawner, lang::Loc spawned_at);
  // Pushes the entry frame of `task` for fn(args...) (any callable: natives and arity
  // errors are handled by a hidden trampoline frame, so the call fails inside the task).
  void prepare_entry(Task& task, vm::Value fn, const vm::Value* args, int nargs);
  // Asks `task` to stop (SPEC §6 cancel).
  void cancel_task(Task* task);
  // Completes `task`'s current wait, if any, so it runs again: a cancellable wait then
  // raises Cancelled when the task should be cancelled; a retrying wait re-checks.
  void interrupt(Task* task);
  // `task` is Done: wakes its awaiters and tells the scheduler.
  void task_done(Task& task);
  // Runs `main_closure` as task 1 on the scheduler until every task has ended.
  // Returns the exit status and writes any uncaught error or deadlock report.
  int run_main(vm::Value main_closure);
  std::vector<vm::Proto*> trampolines;              // by arity
  StackPool fiber_stacks;                           // for natives that call back

  // Loads a standard module by name (nullptr if there is none).
  vm::Module* standard_module(const std::string& name);
  // Index of a builtin by name, or -1. The compiler resolves free names with it.
  int builtin_index(std::string_view name) const;
};

}  // namespace tsk::rt
