// The Runtime's own work: output buffering, the builtin table, standard and file
// modules (reading, compiling, running and freezing them; the table of which task loads
// or waits for which module is runtime/modules.cpp), and compiling source with the
// runtime's shared heap and proto store.
#include "runtime/runtime.hpp"
#include "tsk/tsk.hpp"

#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/random.h>
#endif

#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <random>
#include <system_error>
#include <thread>

#include "lang/compiler.hpp"
#include "stdlib/registry.hpp"
#include "vm/arith.hpp"
#include "vm/ops.hpp"
#include "vm/transfer.hpp"
#include "runtime/blocking_pool.hpp"
#include "runtime/channel.hpp"
#include "runtime/host_functions.hpp"
#include "runtime/io_handle.hpp"
#include "runtime/outside.hpp"
#include "runtime/reactor.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/task.hpp"
#include "vm/check.hpp"

namespace tsk::rt {

namespace {

// 64 KiB: large enough that a million small prints cost a few thousand write calls,
// small enough to stay cache-resident.
constexpr size_t kOutFlushAt = 64 * 1024;
// Printers stop to wait for a flush in progress past this much output (four flushes).
constexpr size_t kOutBacklog = 4 * kOutFlushAt;

// Writes all of `s`: 0, or the errno of the write that failed.
int write_fd(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    s.remove_prefix(size_t(n));
  }
  return 0;
}

// The module table's key for a file: its canonical path, so one file imported by two
// relative paths is one module.
std::string module_key(const std::filesystem::path& shown) {
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(shown, ec);
  return ec ? shown.string() : canonical.string();
}

// Reads the file `path` whole into `out`; on failure says why in `why` (a directory in
// words of its own: "Is a directory" reads oddly after "cannot read module").
bool read_source(const std::filesystem::path& path, std::string& out, std::string& why) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    why = "it is a directory";
    return false;
  }
  return tsk::read_source_file(path.string(), out, why);
}

// The SyntaxError of an imported file that does not compile. Its message is
// "file:line:col: message"; the source line and the caret, as format_diagnostic shows
// them, open its trace, and the import sites follow when it is raised.
vm::Error* syntax_error(vm::TaskState& task, const lang::Diagnostic& d, std::string_view source) {
  std::string where = d.file;
  if (d.loc.line > 0) {
    where += ":" + std::to_string(d.loc.line);
    if (d.loc.col > 0) where += ":" + std::to_string(d.loc.col);
  }
  vm::Error* e = task.make_error("SyntaxError", where + ": " + d.message);
  std::string text = lang::format_diagnostic(d, source);
  size_t start = text.find('\n');  // the header line is the message
  while (start != std::string::npos && start + 1 < text.size()) {
    size_t end = text.find('\n', start + 1);
    std::string line = text.substr(start + 1, end == std::string::npos ? std::string::npos : end - start - 1);
    if (line.rfind("  ", 0) == 0) line.erase(0, 2);  // format_error indents trace lines itself
    e->trace.push_back(vm::TraceLine{"", "", {}, line});
    start = end;
  }
  return e;
}

// The report of an uncaught SyntaxError, as for any syntax error (SPEC §5):
// "file:line:col: error: message", the source line and caret, then the import sites.
std::string format_syntax_error(const vm::Error* e) {
  std::string_view message = e->message->view();
  std::string out;
  // The location ends at the first ": " preceded by ":LINE" (and maybe ":COL").
  size_t at = std::string_view::npos;
  for (size_t i = message.find(": "); i != std::string_view::npos; i = message.find(": ", i + 1)) {
    size_t j = i;
    while (j > 0 && std::isdigit(static_cast<unsigned char>(message[j - 1]))) j--;
    if (j < i && j > 0 && message[j - 1] == ':') {
      at = i;
      break;
    }
  }
  if (at == std::string_view::npos) {
    out = "error: SyntaxError: " + std::string(message) + "\n";
  } else {
    out = std::string(message.substr(0, at + 1)) + " error:" + std::string(message.substr(at + 1)) + "\n";
  }
  for (const vm::TraceLine& line : e->trace) out += "  " + vm::TaskState::format_trace_line(line) + "\n";
  return out;
}

}  // namespace

namespace {

// SplitMix64's finaliser: neighbouring inputs (task ids) give unrelated outputs.
uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// From getrandom, a microsecond; std::random_device first probes the CPU with cpuid,
// which a virtual machine traps (20 us at every start of tsk, docs/performance.md).
uint64_t system_seed() {
#if defined(__linux__)
  uint64_t s = 0;
  if (getrandom(&s, sizeof s, GRND_NONBLOCK) == ssize_t(sizeof s)) return s;
#endif
  std::random_device device;  // no getrandom: an old kernel, a sandbox
  return (uint64_t(device()) << 32) ^ device();
}

}  // namespace

Runtime::Runtime(Config cfg) : config(std::move(cfg)), seed(config.seed ? *config.seed : system_seed()) {
  limits.max_stack_slots = config.max_stack_slots;
  limits.max_frames = config.max_frames;
  instruction_budget = config.instruction_budget;
  task_memory_limit = config.task_memory_limit;
  budget_left = int64_t(config.instruction_budget);
  auto standard = vm::builtin_functions();
  builtin_entries.assign(standard.begin(), standard.end());
  for (const vm::NativeEntry& e : builtin_entries)
    builtins.push_back(vm::Value::object(immortal.native(&e)));
  auto modules_std = vm::standard_modules();
  module_defs.assign(modules_std.begin(), modules_std.end());
  liveness = std::make_shared<Liveness>();
  handles = std::make_shared<HandleRegistry>();
  handles->runtime = this;
}

Runtime::~Runtime() {
  flush_out();
  end_outside();
  // Workers first: nothing may run while the tasks and their heaps go (and workers
  // still read `scheduler` while they stop, so it is cleared only afterwards).
  if (scheduler) scheduler->shutdown();
  scheduler.reset();
  modules.clear();
  if (main_) {
    main_->vm.frames.clear();
    main_->release();
  }
}

bool Runtime::append_out(std::string_view s) {
  std::lock_guard g(out_mutex);
  out_buffer.append(s);
  out_pending.store(true, std::memory_order_relaxed);
  size_t n = out_buffer.size();
  // While one flush writes, printers go on appending, up to a backlog past which they
  // wait for it (through the flush they are told to make).
  return write_through.load(std::memory_order_relaxed) || (n >= kOutFlushAt && !out_flushing) ||
         n >= kOutBacklog;
}

void Runtime::write_out(std::string_view s) {
  if (append_out(s)) flush_out();
}

void Runtime::flush_soon() {
  {
    std::lock_guard g(out_mutex);
    out_pending.store(false, std::memory_order_relaxed);
    if (out_buffer.empty()) return;
  }
  {
    // Under the lock that end_outside takes to end the pool: an idle worker may get here
    // while the runtime is being destroyed (its workers stop after the pool).
    std::lock_guard g(outside_start_);
    if (!outside_ended_) {
      if (!blocking_pool_) {
        blocking_pool_ = std::make_unique<BlockingPool>();
        pool_ptr_.store(blocking_pool_.get(), std::memory_order_release);
      }
      blocking_pool_->submit([this] { flush_out(); }, true);
      return;
    }
  }
  flush_out();  // the runtime is ending: no pool any more
}

void Runtime::flush_out() {
  std::unique_lock g(out_mutex);
  out_cv.wait(g, [&] { return !out_flushing; });
  write_taken(g);
}

void Runtime::write_taken(std::unique_lock<std::mutex>& g) {
  out_pending.store(false, std::memory_order_relaxed);
  if (out_buffer.empty()) return;
  // The write happens without out_mutex: a slow reader of stdout stalls only the
  // flusher (on the blocking pool, for print), never the tasks that print meanwhile.
  // One flush at a time (out_flushing) keeps the output in order.
  std::string chunk;
  chunk.swap(out_buffer);
  out_flushing = true;
  bool failed = stdout_failed;
  g.unlock();
  int error = 0;
  if (config.write_out) config.write_out(chunk);
  else if (!failed) error = write_fd(1, chunk);
  g.lock();
  if (error) stdout_failed = true;
  out_flushing = false;
  out_cv.notify_all();
  if (error) {
    g.unlock();
    output_failed(true, error);
    g.lock();
  }
}

void Runtime::write_err(std::string_view s) {
  flush_out();
  put_err(s);
}

void Runtime::put_err(std::string_view s) {
  if (config.write_err) {
    config.write_err(s);
    return;
  }
  if (stderr_failed.load(std::memory_order_relaxed)) return;
  if (int error = write_fd(2, s)) {
    stderr_failed.store(true, std::memory_order_relaxed);
    output_failed(false, error);
  }
}

void Runtime::output_failed(bool is_stdout, int error) {
  if (error == EPIPE) {
    // The reader has gone (`tsk prog.tsk | head -1`): the program ends now, quietly,
    // with the status SIGPIPE would give (SPEC §12). The command ignores SIGPIPE so
    // that this, not the signal, ends it.
    output_status.store(141);
    if (scheduler) scheduler->request_exit(141);
    return;
  }
  int none = 0;
  output_status.compare_exchange_strong(none, 1);
  // A full disk: reported, and the program goes on (its later output is dropped) to
  // end with status 1. Not an error raised in the printing task: print never fails.
  if (is_stdout) put_err("tsk: cannot write to stdout: " + std::generic_category().message(error) + "\n");
}

uint32_t Runtime::task_seed(uint64_t id) const { return uint32_t(mix64(seed ^ mix64(id)) >> 32); }

int Runtime::builtin_index(std::string_view name) const {
  for (size_t i = 0; i < builtin_entries.size(); i++)
    if (name == builtin_entries[i].name) return int(i);
  return -1;
}

vm::TaskState& Runtime::main_task() {
  if (!main_) {
    main_ = new Task(*this, 1, "<main>", nullptr, lang::Loc{});
  }
  return main_->vm;
}

Task* Runtime::new_task(const char* name, const vm::Proto* spawner, lang::Loc spawned_at) {
  Task* t = new Task(*this, next_task_id++, name, spawner, spawned_at);
  t->state = Task::Parked;  // made runnable by the spawner's wake
  return t;
}

vm::Closure* Runtime::shared_closure(vm::Closure* c) {
  if (c->ncells != 0) return nullptr;
  if ((c->flags & vm::kShared) && !c->counted()) return c;  // immortal already
  std::atomic_ref<vm::Closure*> cached(c->proto->shared_closure);
  vm::Closure* shared = cached.load(std::memory_order_acquire);
  if (!shared) {
    std::lock_guard lock(module_mutex);  // the immortal area is shared by every worker
    shared = cached.load(std::memory_order_relaxed);
    if (!shared) {
      shared = immortal.closure(c->proto, c->module, 0);
      cached.store(shared, std::memory_order_release);
    }
  }
  // A function's closures all address its own module; any other is copied as before.
  return shared->module == c->module ? shared : nullptr;
}

void Runtime::prepare_entry(Task& task, vm::Value fn, const vm::Value* args, int nargs) {
  vm::TaskState& t = task.vm;
  vm::Closure* entry;
  uint32_t first_arg;
  if (fn.tag == vm::Tag::Closure && fn.as_closure()->proto->nparams == nargs) {
    entry = fn.as_closure();
    first_arg = 0;
  } else {
    // CALL R[0] with the arguments in R[1..n], then return its result: the call (and
    // any arity or type error) happens inside the task, like every other call.
    std::lock_guard lock(module_mutex);
    if (trampolines.size() <= size_t(nargs)) trampolines.resize(size_t(nargs) + 1, nullptr);
    vm::Proto*& p = trampolines[size_t(nargs)];
    if (!p) {
      auto proto = std::make_unique<vm::Proto>();
      proto->name = "<task>";
      proto->hidden = true;
      proto->nparams = uint16_t(nargs + 1);
      proto->nregs = uint16_t(nargs + 1);
      proto->code = {vm::Instr::abc(vm::Op::CALL, 0, uint16_t(nargs)), vm::Instr::abc(vm::Op::RET, 0)};
      proto->locs = {lang::Loc{}, lang::Loc{}};
      p = proto.get();
      protos.push_back(std::move(proto));
    }
    entry = t.heap.closure(p, nullptr, 0);
    first_arg = 1;
  }
  uint32_t nregs = entry->proto->nregs;
  t.ensure_stack(nregs);
  for (uint32_t i = 0; i < nregs; i++) t.stack[i] = vm::Value::nil();
  if (first_arg) t.stack[0] = fn;
  for (int i = 0; i < nargs; i++) t.stack[first_arg + uint32_t(i)] = args[i];
  t.frames.push_back(vm::Frame{entry, entry->proto->code.data(), 0, 0, vm::kFrameEntry});
}

void Runtime::interrupt(Task* task) {
  // Pairs with the fence in Scheduler::run_task: either this reads the wait the task
  // has just begun, or the task, after parking, sees the cancel stored before this call.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  interrupt(task, task->wait_gen.load(std::memory_order_acquire));
}

void Runtime::interrupt(Task* task, uint64_t gen) {
  // A blocking call is not a cancellation point (SPEC §10): its completion wakes it.
  if (task->vm.uncancellable_wait.load(std::memory_order_acquire)) return;
  if (!task->claim(gen)) return;
  switch (task->waiting.kind) {
    case WaitInfo::Receive: case WaitInfo::Send: case WaitInfo::Select:
    case WaitInfo::Sleep: case WaitInfo::Forever: case WaitInfo::Import: case WaitInfo::Io:
      if (task->should_cancel()) task->wake_error = WakeError::Cancelled;
      break;
    default: break;  // Await, ScopeEnd, TaskEnd run their instruction again
  }
  scheduler->wake(task);
}

void Runtime::cancel_task(Task* task) {
  task->cancel_requested.store(true, std::memory_order_release);
  interrupt(task);
}

void Runtime::task_done(Task& task) {
  Task* awaiters;
  {
    std::lock_guard g(task.lock);
    TSK_CHECK(task.state == Task::Running, "a task becomes Done only from Running, on its worker");
    task.state = Task::Done;
    awaiters = std::exchange(task.awaiters, nullptr);
  }
  while (Task* a = awaiters) {
    awaiters = std::exchange(a->next_awaiter, nullptr);
    interrupt(a);
    a->release();
  }
  scheduler->task_finished(&task);
}

namespace {

// A duration as the deadline's report writes it: "0.25 s".
std::string format_seconds(std::chrono::nanoseconds d) {
  std::string out;
  vm::append_float(out, std::chrono::duration<double>(d).count());
  return out + " s";
}

// Calls `on_time` on a thread of its own once `after` has passed, unless destroyed
// first; with no `after` (zero), it is nothing and starts no thread.
class Watchdog {
 public:
  Watchdog(std::chrono::nanoseconds after, std::function<void()> on_time) {
    if (after.count() <= 0) return;
    thread_ = std::thread([this, until = std::chrono::steady_clock::now() + after, on_time = std::move(on_time)] {
      std::unique_lock g(lock_);
      if (cv_.wait_until(g, until, [this] { return stopped_; })) return;
      g.unlock();
      on_time();
    });
  }
  ~Watchdog() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard g(lock_);
      stopped_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  std::mutex lock_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace

int Runtime::run_main(vm::Value main_closure) {
  if (!scheduler) scheduler = std::make_unique<Scheduler>(*this, config.threads);
  main_task();
  wait_for_main_call();  // the host's run() waited already; other callers may not have
  Task& m = *main_;
  // A fresh outcome for this run (the REPL runs many on the same task), and no wait left
  // from a run that ended while main waited (os.exit from another task).
  channel_forget(m);
  scheduler->cancel_timer(m);
  m.vm.frames.clear();
  m.vm.handlers.clear();
  m.vm.suspended = false;
  m.vm.retry_native = false;
  m.vm.uncancellable_wait = false;
  m.vm.resume = vm::TaskState::Resume::None;
  // An outside wait the last run ended in (os.exit during a flush) is over: its op is
  // not main's to find, and no task of that run still waits on the outside world.
  if (m.vm.extras && m.vm.extras->rare_) m.vm.extras->rare_->pending.reset();
  outside_waits.store(0);
  m.body_finished = false;
  m.outcome = Task::Pending;
  m.ending.reset();
  m.cancel_requested = false;
  while (m.innermost) m.close_scope();
  m.implicit_scope.failures.reset();
  m.implicit_scope.cancelled = false;
  m.implicit_scope.owner_waiting = false;
  m.implicit_scope.cancel_sent = false;
  m.state = Task::Parked;
  {
    std::lock_guard g(out_mutex);
    stdout_failed = false;
  }
  stderr_failed = false;
  output_status = 0;
  budget_left.store(int64_t(config.instruction_budget), std::memory_order_relaxed);  // each run its own
  {
    std::lock_guard g(run_lock);
    if (int status = std::exchange(pending_interrupt, 0)) return status;  // interrupted before it began
    interrupted = 0;
    limit_report.clear();
    run_active = true;
  }
  prepare_entry(m, main_closure, nullptr, 0);
  bool clean;
  {
    Watchdog deadline(config.deadline, [this] {
      limit_run("the run's deadline of " + format_seconds(config.deadline) + " passed");
    });
    clean = scheduler->run_main(&m);
  }
  int interrupt_status;
  std::string limit;
  {
    std::lock_guard g(run_lock);
    run_active = false;
    run_over = true;
    interrupt_status = std::exchange(interrupted, 0);
    limit = std::exchange(limit_report, {});
  }
  write_through = false;
  {
    // Main is parked in a blocking call the ending left running (halted runs only): its
    // heap and frames are the pool thread's until the call returns.
    std::lock_guard g(main_call_lock_);
    main_end_deferred_ = main_in_call_;
  }
  if (!main_end_deferred_) end_main_run();
  flush_out();
  scheduler->drop_stale_timers();
  int exit_code = std::exchange(scheduler->exit_code, -1);
  int status = 0;
  if (!limit.empty()) {
    // Ended at once by limit_run: no task is left to carry the error or its trace.
    write_err("error: LimitError: " + limit + "\n");
    status = 1;
  } else if (exit_code >= 0) {
    status = exit_code;
  } else {
    if (!clean) {
      write_err(scheduler->deadlock_report);
      status = 1;
    } else if (m.outcome == Task::Failed || (m.outcome == Task::Cancelled && !interrupt_status)) {
      const vm::Error* e = m.ending->error;
      if (e->kind->view() == "SyntaxError") {
        write_err(format_syntax_error(e));
        status = 2;  // SPEC §5: a syntax error, also in an imported file, exits with 2
      } else {
        write_err(vm::TaskState::format_error(e));
        status = 1;
      }
    }
    if (interrupt_status) status = interrupt_status;
  }
  // A closed pipe ends the program as SIGPIPE would, unless os.exit ended it first; a
  // failed write makes a run that went well fail.
  int output = output_status.exchange(0);
  if (output == 141 && exit_code < 0) status = 141;
  else if (output == 1 && status == 0) status = 1;
  return status;
}

void Runtime::end_main_run() {
  Task& m = *main_;
  // Main may have stopped anywhere (os.exit, a halt): inside a native's callback, in
  // scopes, in an import.
  if (m.vm.fiber_call) discard_fiber(m.vm);
  // A module whose loading never finished (a halt stopped its importer) is forgotten:
  // importing it again loads it anew.
  abort_imports(m.vm);
  m.vm.frames.clear();
  m.vm.handlers.clear();
  m.vm.pending_error = nullptr;
  m.vm.call_depth = 0;
  while (m.innermost) m.close_scope();
  // Drop what the run left unreachable now (task and channel handles among it), so the
  // tasks and channels it made are freed between runs.
  try {
    m.vm.collect();
  } catch (const std::bad_alloc&) {
    // Nothing is lost: the next collection frees it.
  }
}

void Runtime::run_returned() {
  std::lock_guard g(run_lock);
  run_over = false;
}

void Runtime::wait_for_main_call() {
  {
    std::unique_lock g(main_call_lock_);
    main_call_done_.wait(g, [&] { return !main_in_call_; });
  }
  if (std::exchange(main_end_deferred_, false)) end_main_run();
}

void Runtime::interrupt_run(int status) {
  {
    std::lock_guard g(run_lock);
    if (run_over) return;  // the program has ended: its run is returning
    if (!run_active) {
      pending_interrupt = status;
      return;
    }
    if (interrupted) {
      scheduler->request_exit(status);  // the second: at once
      return;
    }
    interrupted = status;
    write_through = true;
    cancel_task(main_);
  }
  // What was printed before the interrupt shows now, not after the cleanup. If another
  // thread holds the lock it is writing already (or it is this thread, called from an
  // output callback, which must not wait for itself).
  std::unique_lock g(out_mutex, std::try_to_lock);
  if (g.owns_lock() && !out_flushing) write_taken(g);
}

void Runtime::limit_run(std::string message) {
  std::lock_guard g(run_lock);
  if (!run_active || run_over || !limit_report.empty()) return;
  limit_report = std::move(message);
  scheduler->request_exit(1);
}

bool Runtime::allows(std::string_view name) const {
  if (!config.allowed_modules) return true;
  for (const std::string& allowed : *config.allowed_modules)
    if (allowed == name) return true;
  // The host's own modules are its to give (fixed since the first run: no lock).
  for (const auto& m : host_modules)
    if (m->name == name) return true;
  return false;
}

vm::Module* Runtime::standard_module(const std::string& name) {
  std::string key = "std:" + name;
  if (vm::Module* m = modules.loaded(key)) return m;
  for (const vm::ModuleDef& def : module_defs) {
    if (name != def.name) continue;
    std::lock_guard lock(module_mutex);
    if (vm::Module* m = modules.loaded(key)) return m;  // another task made it meanwhile
    vm::Module* m = immortal.module(immortal.string(name));
    m->exports = immortal.map();
    m->exports->flags |= vm::kFrozen;
    auto add = [](void* ctx, const char* member, vm::Value v) {
      auto* self = static_cast<std::pair<Runtime*, vm::Module*>*>(ctx);
      vm::Module* mod = self->second;
      vm::map_set(mod->exports, vm::Value::object(self->first->immortal.intern(member)),
                  vm::Value::integer(int64_t(mod->globals.size())));
      mod->names.push_back({member, true, false});
      mod->globals.push_back(v);
    };
    std::pair<Runtime*, vm::Module*> ctx{this, m};
    for (const vm::NativeEntry& e : def.functions)
      add(&ctx, e.name, vm::Value::object(immortal.native(&e)));
    if (def.add_constants) def.add_constants(immortal, config.args, add, &ctx);
    m->loaded = true;
    return modules.add_loaded(key, m);
  }
  return nullptr;
}

Runtime::Compiled Runtime::compile(std::string_view source, const std::string& file,
                                   std::vector<vm::Module::Global> prior, bool repl) {
  std::lock_guard lock(module_mutex);
  Compiled out;
  lang::ParseResult parsed = lang::parse(source, file);
  if (!parsed.errors.empty()) {
    out.errors = std::move(parsed.errors);
    return out;
  }
  lang::CompileInput in;
  in.module = parsed.module.get();
  in.shared = &immortal;
  in.protos = &protos;
  in.builtin_index = [this](std::string_view name) { return builtin_index(name); };
  in.prior_globals = std::move(prior);
  in.return_last_expression = repl;
  lang::CompileResult c = lang::compile(in);
  out.main = c.main;
  out.globals = std::move(c.globals);
  out.errors = std::move(c.errors);
  return out;
}

void Runtime::define_globals(vm::TaskState& task, vm::Module* m,
                             const std::vector<vm::Module::Global>& globals) {
  std::lock_guard lock(module_mutex);
  if (!m->exports) m->exports = immortal.map();
  for (size_t i = m->names.size(); i < globals.size(); i++) {
    m->names.push_back(globals[i]);
    m->globals.push_back(vm::Value::undef());
    if (globals[i].exported)
      vm::map_set(m->exports, vm::Value::object(immortal.intern(globals[i].name)),
                  vm::Value::integer(int64_t(i)));
  }
  m->exports->flags |= vm::kFrozen;
}

vm::Module* Runtime::import(vm::TaskState& task, vm::Module* importer, std::string_view name,
                            bool is_path, vm::Closure*& body) {
  namespace fs = std::filesystem;
  body = nullptr;
  if (!is_path) {
    vm::Module* m = standard_module(std::string(name));
    if (!m) task.raise("ImportError", "no standard module named '" + std::string(name) + "'");
    if (!allows(name))
      task.raise("ImportError", "module '" + std::string(name) + "' is not allowed in this runtime (a sandbox)");
    return m;
  }
  fs::path dir = importer && !importer->path.empty() ? fs::path(importer->path).parent_path() : fs::path();
  fs::path shown = (dir / fs::path(name)).lexically_normal();
  // A host's loader names modules by their paths alone; files by where they really are.
  std::string key = config.load_module ? "host:" + shown.string() : module_key(shown);

  // Parking needs a task that can return to the scheduler (as rt::await's checks).
  bool can_park = task.host && (task.call_depth == 0 || task.in_fiber);
  ModuleTable::Found found = modules.begin(task, key, nullptr, can_park);
  if (found.kind == ModuleTable::Found::Absent) {
    vm::Module* fresh;
    {
      std::lock_guard lock(module_mutex);
      fresh = immortal.module(immortal.string(shown.stem().string()));
    }
    fresh->path = shown.string();
    fresh->imported = true;
    found = modules.begin(task, key, fresh, can_park);  // may find it taken meanwhile
  }
  switch (found.kind) {
    case ModuleTable::Found::Loaded: return found.module;
    case ModuleTable::Found::Wait: return nullptr;
    case ModuleTable::Found::Refused: task.raise(found.error_kind, found.message);
    default: break;
  }
  // This task is its loader now: whatever fails from here on must end the load.
  vm::Module* m = found.module;
  auto fail = [&](vm::Error* e) {
    abort_import(task, m, e);
    throw vm::ScriptError{e};
  };
  std::string source;
  if (config.load_module) {
    std::optional<std::string> loaded;
    try {
      loaded = config.load_module(shown.string());
    } catch (const tsk::Error& e) {
      fail(task.make_error(e.kind().empty() ? "ImportError" : e.kind(), e.message()));
    } catch (const std::exception& e) {
      fail(task.make_error("ImportError", "cannot load module '" + shown.string() + "': " + e.what()));
    }
    if (!loaded) fail(task.make_error("ImportError", "no module '" + shown.string() + "' (the host's loader has none)"));
    source = std::move(*loaded);
  } else if (std::string why; !read_source(shown, source, why)) {
    fail(task.make_error("ImportError", "cannot read module '" + shown.string() + "': " + why));
  }
  Compiled c = compile(source, shown.string());
  if (!c.errors.empty()) fail(syntax_error(task, c.errors.front(), source));
  define_globals(task, m, c.globals);
  m->owner.store(&task, std::memory_order_release);
  body = task.heap.closure(c.main, m, 0);
  return m;
}

void Runtime::finish_import(vm::TaskState& task, vm::Module* m) {
  {
    std::lock_guard lock(module_mutex);
    // The owner transition (see vm::Module): a task reading an owned global holds
    // owner_lock, so it sees the module owned by `task` or, once this ends, loaded.
    std::lock_guard owned(m->owner_lock);
    m->loaded = true;
    // Modules are shared by every task and read-only once loaded (SPEC §4): every global
    // is frozen and moved into the immortal area, where any task may read it.
    // Freezing writes flags that a task copying one of these globals reads under the
    // owner's collector lock (lock order: module_mutex, owner_lock, gc_mutex).
    std::lock_guard gc(task.gc_mutex);
    for (size_t i = 0; i < m->names.size(); i++) {
      vm::freeze_deep(m->globals[i]);
      m->globals[i] = vm::copy_into(immortal, m->globals[i]);
    }
    m->owner.store(nullptr, std::memory_order_release);
  }
  modules.end(task, m, ModuleTable::Outcome::Loaded);
}

void Runtime::abort_import(vm::TaskState& task, vm::Module* m, vm::Error* error) {
  {
    // Nothing of a failed module stays reachable: its globals (objects of `task`'s heap,
    // which the collector may now free) are dropped before its owner lets go.
    std::lock_guard owned(m->owner_lock);
    for (vm::Value& v : m->globals) v = vm::Value::undef();
    m->owner.store(nullptr, std::memory_order_release);
  }
  modules.end(task, m, error ? ModuleTable::Outcome::Failed : ModuleTable::Outcome::Abandoned, error);
}

void Runtime::enter_main_script(vm::Module* m, const std::string& file) {
  modules.enter_main(main_task(), module_key(std::filesystem::path(file).lexically_normal()), m);
}

void Runtime::leave_main_script() { modules.leave_main(main_task()); }

void Runtime::abort_imports(vm::TaskState& task) {
  // A task stopped inside imports (os.exit, a halt) left their frames: those modules
  // never loaded.
  for (size_t i = task.frames.size(); i-- > 0;)
    if (task.frames[i].kind == vm::kFrameImport) abort_import(task, task.frames[i].closure->module, nullptr);
}

}  // namespace tsk::rt
