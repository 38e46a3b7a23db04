// The Runtime: everything one instance of tsk owns (DESIGN decision 1). No global mutable
// state exists anywhere else, so several runtimes can live in one process and be
// destroyed independently. The public API (include/tsk/tsk.hpp) wraps one of these.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
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
#include "vm/host.hpp"
#include "vm/native.hpp"
#include "vm/proto.hpp"
#include "vm/task_state.hpp"

namespace tsk::rt {

class Scheduler;
class Task;
class BlockingPool;
class Reactor;
struct Liveness;
struct HandleRegistry;
struct HostModule;

// Every runtime knob with its default and why.
struct Config {
  // 1,000,000 registers (16 MB): Lua's LUAI_MAXSTACK. Deep enough for any reasonable
  // recursion; past it a script gets StackOverflowError, never a crash.
  uint32_t max_stack_slots = 1'000'000;
  // 200,000 frames: about 10 MB of frames, well inside the register limit for small functions.
  uint32_t max_frames = 200'000;
  int threads = 0;  // 0: the number of CPUs
  // A run (each run) raises LimitError after this many instructions; 0 = no limit (the
  // fuzzer sets one). Counted at calls and loop back-edges; a spawn counts 1000.
  uint64_t instruction_budget = 0;
  // A run (each run) ends with LimitError this long after it begins; 0 = no limit.
  std::chrono::nanoseconds deadline{0};
  // The bytes a task may hold (what lives after a collection); 0 = no limit.
  size_t task_memory_limit = 0;
  // The host's loader of file modules (include/tsk/tsk.hpp, Options::load_module);
  // unset: the file system.
  std::function<std::optional<std::string>(const std::string& path)> load_module;
  // The standard modules scripts may import, and "os.env" for os.env(); unset: all
  // (include/tsk/tsk.hpp, Options::modules).
  std::optional<std::vector<std::string>> allowed_modules;
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

// The Runtime is the interpreter's Host (vm/host.hpp): the overrides below connect the
// loop to the scheduler, channels, scopes, fibers and the module table.
class Runtime final : public vm::Host {
 public:
  explicit Runtime(Config config);
  ~Runtime() override;

  Config config;
  const uint64_t seed;  // config.seed, or one drawn from the system
  // The first state of task `id`'s select generator (rt::Task::rng).
  uint32_t task_seed(uint64_t id) const;
  vm::Heap immortal{true};  // immortal immutable objects: constants, natives, module names
  std::vector<std::unique_ptr<vm::Proto>> protos;
  ModuleTable modules{*this};                        // loaded and loading modules, and their waiters
  // Scripts run by run() (the REPL runs many); only the main task (their owner) reads
  // this during a run, and only a host between runs writes it.
  std::vector<vm::Module*> main_modules;
  // Serialises compiling and the shared heap, which is not thread-safe. Taken before
  // the module table's lock.
  std::recursive_mutex module_mutex;

  // Buffered stdout: print appends here; flushed when it grows, when the whole program
  // waits (the last worker going idle), before anything goes to stderr, at the end of
  // a run and at os.exit.
  std::string out_buffer;
  // Appends `s`; true when the caller must then flush_out (print does that on the
  // blocking pool: only the flush may block).
  bool append_out(std::string_view s);
  void write_out(std::string_view s);  // append_out, and the flush it asks for, here
  // Writes what is buffered, after any flush in progress (which it waits for).
  void flush_out();
  // Has the blocking pool write what is buffered (the idle workers' flush).
  void flush_soon();
  std::mutex out_mutex;  // tasks on every worker print
  std::condition_variable out_cv;  // a flush ended
  bool out_flushing = false;       // a flush is writing, without out_mutex (guarded by it)
  // Takes the buffer and writes it with `g` (on out_mutex) released; no flush in progress.
  void write_taken(std::unique_lock<std::mutex>& g);
  void write_err(std::string_view s);
  // Output is buffered (a relaxed look, without the lock: an idle worker then flushes).
  bool output_pending() const { return out_pending.load(std::memory_order_relaxed); }
  std::atomic<bool> out_pending{false};
  // Set by an interrupt until the run ends: print writes at once, so what the cleanup
  // prints reaches the terminal or log even if the process is then killed outright (a
  // supervisor's SIGKILL, as `docker stop` sends 10 s after SIGTERM).
  std::atomic<bool> write_through{false};
  // How writing to the process's stdout and stderr went in this run (SPEC §12): 0 well;
  // 1 a write failed (reported on stderr, if stderr still works); 141 a pipe was
  // closed, which ends the program at once and quietly, as SIGPIPE would. After a
  // failure, what is written to that stream is dropped. Hosts that set their own
  // Config::write_out/write_err handle their failures themselves.
  std::atomic<int> output_status{0};
  bool stdout_failed = false;              // guarded by out_mutex
  std::atomic<bool> stderr_failed{false};
  void output_failed(bool is_stdout, int error);
  void put_err(std::string_view s);        // write_err without the flush of stdout

  // --- interrupting a run (tsk::Runtime::interrupt, SIGINT/SIGTERM in the command) ---
  // The first call cancels the main task (its finally blocks run, every task is
  // cancelled) and the run returns `status`; a second one ends the run at once. With no
  // run in progress, the next run returns `status` without running (as Python's
  // PyErr_SetInterrupt waits for the interpreter), so a signal that arrives while the
  // host is still reading or compiling the script is not lost. One that arrives after
  // the program has ended but before `run` returns was meant for that run, which is
  // over: it is dropped, not kept for the next run. Any thread.
  void interrupt_run(int status);
  // `run` is returning: an interrupt from now on is kept for the next run.
  void run_returned();
  // Ends the run in progress at once with `message` as a LimitError (the deadline's
  // watchdog); nothing when no run is in progress. Any thread.
  void limit_run(std::string message);
  // Whether scripts may use the standard module (or "os.env") `name`.
  bool allows(std::string_view name) const;
  std::mutex run_lock;                     // guards the fields below
  std::string limit_report;                // why a limit ended this run (limit_run)
  bool run_active = false;                 // between run_main's start and the run's end
  bool run_over = false;                   // from the run's end until `run` returns
  int interrupted = 0;                     // the status of the first interrupt of this run
  int pending_interrupt = 0;               // an interrupt that came between runs

  // --- main's blocking call across an ending (docs/architecture.md, decision 28) ---
  // A run that ends at once (os.exit, a second interrupt) while main is in a `blocks`
  // native leaves the call running on the pool, in main's heap and with main's frames.
  // The end of the run then leaves main as it is; the next run (wait_for_main_call, at
  // its start) waits for the call to return and only then tidies main (end_main_run).
  // The runtime's destruction waits for it as for every pool job that touches the
  // runtime (BlockingPool's destructor).
  void wait_for_main_call();
  std::mutex main_call_lock_;
  std::condition_variable main_call_done_;
  bool main_in_call_ = false;              // main's `blocks` native runs on the pool
  bool main_end_deferred_ = false;         // end_main_run waits for the next run (host thread)

  // IMPORT: finds the module `name` (a standard module, or with `is_path` a file relative
  // to `importer`'s file). Returns it; when its top-level code still has to run, sets
  // `body` to the closure of that code, which the interpreter runs in an import frame and
  // then reports with finish_import (or abort_import when an error unwinds it). When
  // another task is loading it, parks `task` (sets task.suspended) and returns null: the
  // interpreter runs the IMPORT again when the task is woken.
  vm::Module* import(vm::TaskState& task, vm::Module* importer, std::string_view name, bool is_path,
                     vm::Closure*& body) override;
  // The body of `m`, the innermost module `task` is loading, has returned: its globals
  // are frozen and shared, its owner becomes null, and its waiters are woken.
  void finish_import(vm::TaskState& task, vm::Module* m) override;
  // `error` unwound the body of `m` (null: abandoned after os.exit): its globals are
  // dropped, it leaves the module table, and its waiters raise `error` (or retry).
  void abort_import(vm::TaskState& task, vm::Module* m, vm::Error* error) override;
  // The main script `m` of a run() is registered as loading by the main task while the
  // run lasts, so importing it is a cycle.
  void enter_main_script(vm::Module* m, const std::string& file);
  void leave_main_script();
  // Forgets the modules `task` was loading when it stopped for good (its import frames).
  void abort_imports(vm::TaskState& task);

  // Parses and compiles `source`; on errors `main` is null and `errors` says why.
  struct Compiled {
    vm::Proto* main = nullptr;
    std::vector<vm::Module::Global> globals;
    std::vector<lang::Diagnostic> errors;
  };
  Compiled compile(std::string_view source, const std::string& file,
                   std::vector<vm::Module::Global> prior = {}, bool repl = false);
  // Gives `m` the global slots of `globals` (new ones Undef) and its exports index.
  void define_globals(vm::TaskState& task, vm::Module* m, const std::vector<vm::Module::Global>& globals);

  // The task that runs the main script (task 1), the REPL's lines and the module bodies
  // they import. It lives as long as the runtime, so the main script's globals (in its
  // heap) stay valid between runs.
  vm::TaskState& main_task();
  Task* main_ = nullptr;

  // --- concurrency ---
  std::unique_ptr<Scheduler> scheduler;            // started by the first run
  std::atomic<uint64_t> next_task_id{2};
  std::atomic<uint64_t> next_chan_id{1};
  std::atomic<uint64_t> next_error_id{1};           // Error::id: an error's identity
  // Objects alive now: tests check both return to zero (main aside) after a run.
  std::atomic<int64_t> tasks_alive{0};
  std::atomic<int64_t> channels_alive{0};
  // A new task (one reference, the caller's), not yet runnable.
  Task* new_task(const char* name, const vm::Proto* spawner, lang::Loc spawned_at);
  // The immortal closure of `c`'s function, which captured nothing: one object for every
  // spawn of it, so a spawn copies no callee (a closure is immutable without captures, and
  // a task's entry closure is visible to no script code). Null if `c` is not plain.
  vm::Closure* shared_closure(vm::Closure* c);
  // Pushes the entry frame of `task` for fn(args...) (any callable: natives and arity
  // errors are handled by a hidden trampoline frame, so the call fails inside the task).
  void prepare_entry(Task& task, vm::Value fn, const vm::Value* args, int nargs);
  // Asks `task` to stop (SPEC §6 cancel).
  void cancel_task(Task* task);
  // Completes `task`'s current wait, if any, so it runs again: a cancellable wait then
  // raises Cancelled when the task should be cancelled; a retrying wait re-checks.
  void interrupt(Task* task);
  // As interrupt, only if `task` is still in its wait `gen` (read under a lock that the
  // task's wait was begun under): a later wait of the task is left alone.
  void interrupt(Task* task, uint64_t gen);
  // `task` is Done: wakes its awaiters and tells the scheduler.
  void task_done(Task& task);
  // Runs `main_closure` as task 1 on the scheduler until every task has ended, or
  // until the program ends at once (os.exit, a closed stdout, a second interrupt, a
  // deadlock main cannot catch), in which case every task left is stopped and freed.
  // Returns the exit status and writes any uncaught error or deadlock report. The
  // runtime can run again afterwards.
  int run_main(vm::Value main_closure);
  // After a run: clears what the main task was doing and collects its heap.
  void end_main_run();
  std::vector<vm::Proto*> trampolines;              // by arity
  StackPool fiber_stacks;                           // for natives that call back

  // Loads a standard module by name (nullptr if there is none).
  vm::Module* standard_module(const std::string& name);
  // The natives this runtime offers (DESIGN decision 8: effects are data): the builtins
  // (in BUILTIN's order) and the modules, the standard ones and any a host adds with
  // add_module before its first run. effect(), help() and `tsk doc` read these.
  std::vector<vm::NativeEntry> builtin_entries;
  std::vector<vm::ModuleDef> module_defs;
  void add_module(const vm::ModuleDef& def) { module_defs.push_back(def); }
  // The host's modules of functions (runtime/host_functions.hpp), defined before the
  // first run (host_functions_sealed from then on); under module_mutex.
  std::vector<std::unique_ptr<HostModule>> host_modules;
  bool host_functions_sealed = false;
  // Index of a builtin by name, or -1. The compiler resolves free names with it.
  int builtin_index(std::string_view name) const;

  // --- the outside world (runtime/outside.hpp, blocking_pool.hpp, reactor.hpp) ---
  // Tasks parked on an outside operation (a blocking call, an I/O wait): while any is,
  // the program is not deadlocked (SPEC §13).
  std::atomic<int64_t> outside_waits{0};
  std::shared_ptr<Liveness> liveness;
  // Made at their first use, so a script that does no I/O starts no thread.
  BlockingPool& blocking_pool();
  Reactor& reactor();
  Reactor* reactor_if_started() { return reactor_.load(std::memory_order_acquire); }
  // Every open io handle, closed when the runtime ends (SPEC §15).
  std::shared_ptr<HandleRegistry> handles;
  vm::Value call_blocking(vm::TaskState& t, vm::Native* native, vm::Value* args, int nargs) override;

  // --- vm::Host (the loop's way into the runtime; runtime/concurrency.hpp, fiber.hpp) ---
  vm::Value spawn(vm::TaskState& t, vm::Value* callee_and_args, int nargs, lang::Loc at, bool unused) override;
  bool await(vm::TaskState& t, vm::Value handle, vm::Value& out) override;
  void scope_begin(vm::TaskState& t) override;
  bool scope_end(vm::TaskState& t, vm::Value block_error) override;
  bool send(vm::TaskState& t, vm::Value chan, vm::Value v) override;
  bool recv(vm::TaskState& t, vm::Value chan, vm::Value& out, bool& closed) override;
  bool select(vm::TaskState& t, vm::Value* regs, int n, const vm::Instr* send_mask, bool has_default,
              int& chosen, vm::Value& out) override;
  void finish_wait(vm::TaskState& t) override;
  vm::Value take_delivery(vm::TaskState& t, bool& closed, int& chosen_case) override;
  void check_cancel(vm::TaskState& t) override;
  bool should_yield(vm::TaskState& t) override;
  void yield_now(vm::TaskState& t) override;
  bool call_on_fiber(vm::TaskState& t, vm::Native* native, vm::Value* args, int nargs, vm::Value& out) override;
  bool resume_fiber(vm::TaskState& t, vm::Value& out) override;
  void park_fiber(vm::TaskState& t) override;
  bool stack_nearly_full(vm::TaskState& t) override;
  vm::Value read_foreign_global(vm::TaskState& t, vm::Module* m, uint32_t index) override;
  [[noreturn]] void write_foreign_global(vm::TaskState& t, vm::Module* m, uint32_t index) override;
  void mark_host_roots(vm::TaskState& t) override;
  uint64_t new_error_id() override { return next_error_id.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::mutex outside_start_;
  bool outside_ended_ = false;  // end_outside has run (guarded by outside_start_)
  std::unique_ptr<BlockingPool> blocking_pool_;
  std::atomic<BlockingPool*> pool_ptr_{nullptr};
  std::unique_ptr<Reactor> reactor_owner_;
  std::atomic<Reactor*> reactor_{nullptr};
  // Ends the outside world first in the destructor: handles closed, completions that
  // come back later find the runtime gone.
  void end_outside();
};

// The Runtime running `t` (every vm::TaskState's host is one).
inline Runtime& runtime_of(vm::TaskState& t) { return static_cast<Runtime&>(t.runtime); }

}  // namespace tsk::rt
