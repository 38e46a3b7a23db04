// The Runtime's own work: output buffering, the builtin table, standard and file
// modules (loading, caching, cycle detection, freezing exports), and compiling source
// with the runtime's shared heap and proto store.
#include "runtime/runtime.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "lang/compiler.hpp"
#include "stdlib/registry.hpp"
#include "vm/arith.hpp"
#include "vm/ops.hpp"
#include "vm/transfer.hpp"
#include "runtime/channel.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/task.hpp"

namespace tsk::rt {

namespace {

// 64 KiB: large enough that a million small prints cost a few thousand write calls,
// small enough to stay cache-resident.
constexpr size_t kOutFlushAt = 64 * 1024;

void write_fd(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;  // a closed pipe: output is lost, but the program's status still counts
    }
    s.remove_prefix(size_t(n));
  }
}

}  // namespace

Runtime::Runtime(Config cfg) : config(std::move(cfg)) {
  budget_left = int64_t(config.instruction_budget);
  for (const vm::NativeEntry& e : vm::builtin_functions())
    builtins.push_back(vm::Value::object(shared.native(&e)));
}

Runtime::~Runtime() {
  flush_out();
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

void Runtime::write_out(std::string_view s) {
  std::lock_guard g(out_mutex);
  out_buffer.append(s);
  if (out_buffer.size() >= kOutFlushAt) flush_locked();
}

void Runtime::flush_out() {
  std::lock_guard g(out_mutex);
  flush_locked();
}

void Runtime::flush_locked() {
  if (out_buffer.empty()) return;
  if (config.write_out) config.write_out(out_buffer);
  else write_fd(1, out_buffer);
  out_buffer.clear();
}

void Runtime::write_err(std::string_view s) {
  flush_out();
  if (config.write_err) config.write_err(s);
  else write_fd(2, s);
}

int Runtime::builtin_index(std::string_view name) const {
  auto fns = vm::builtin_functions();
  for (size_t i = 0; i < fns.size(); i++)
    if (name == fns[i].name) return int(i);
  return -1;
}

vm::Task& Runtime::main_task() {
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

void Runtime::prepare_entry(Task& task, vm::Value fn, const vm::Value* args, int nargs) {
  vm::Task& t = task.vm;
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
  if (!task->claim(gen)) return;
  switch (task->waiting.kind) {
    case WaitInfo::Receive: case WaitInfo::Send: case WaitInfo::Select:
    case WaitInfo::Sleep: case WaitInfo::Forever:
      if (task->should_cancel()) {
        static constexpr WakeError kCancelled{"Cancelled", "the task was cancelled"};
        task->wake_error = &kCancelled;
      }
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

int Runtime::run_main(vm::Value main_closure) {
  if (!scheduler) scheduler = std::make_unique<Scheduler>(*this, config.threads);
  main_task();
  Task& m = *main_;
  // A fresh outcome for this run (the REPL runs many on the same task).
  channel_forget(m);
  m.vm.frames.clear();
  m.vm.handlers.clear();
  m.vm.suspended = false;
  m.vm.resume = vm::Task::Resume::None;
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
  prepare_entry(m, main_closure, nullptr, 0);
  bool clean = scheduler->run_main(&m);
  flush_out();
  // Drop what the run left unreachable now (task and channel handles among it), so the
  // tasks and channels it made are freed between runs.
  if (clean && scheduler->exit_code < 0) m.vm.collect();
  scheduler->drop_stale_timers();
  if (scheduler->exit_code >= 0) {
    int code = scheduler->exit_code;
    scheduler->exit_code = -1;
    return code;
  }
  if (!clean) {
    write_err(scheduler->deadlock_report);
    return 1;
  }
  if (m.outcome == Task::Failed || m.outcome == Task::Cancelled) {
    write_err(vm::Task::format_error(m.ending->error));
    return 1;
  }
  return 0;
}

vm::Module* Runtime::standard_module(const std::string& name) {
  std::string key = "std:" + name;
  auto it = modules.find(key);
  if (it != modules.end()) return it->second;
  for (const vm::ModuleDef& def : vm::standard_modules()) {
    if (name != def.name) continue;
    std::lock_guard lock(module_mutex);
    vm::Module* m = shared.module(shared.string(name));
    m->exports = shared.map();
    m->exports->flags |= vm::kFrozen;
    auto add = [](void* ctx, const char* member, vm::Value v) {
      auto* self = static_cast<std::pair<Runtime*, vm::Module*>*>(ctx);
      vm::Module* mod = self->second;
      vm::map_set(mod->exports, vm::Value::object(self->first->shared.intern(member)),
                  vm::Value::integer(int64_t(mod->globals.size())));
      mod->names.push_back({member, true, false});
      mod->globals.push_back(v);
    };
    std::pair<Runtime*, vm::Module*> ctx{this, m};
    for (const vm::NativeEntry& e : def.functions)
      add(&ctx, e.name, vm::Value::object(shared.native(&e)));
    if (def.add_constants) def.add_constants(shared, config.args, add, &ctx);
    m->loaded = true;
    modules[key] = m;
    return m;
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
  in.shared = &shared;
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

void Runtime::define_globals(vm::Task& task, vm::Module* m,
                             const std::vector<vm::Module::Global>& globals) {
  std::lock_guard lock(module_mutex);
  if (!m->exports) m->exports = shared.map();
  for (size_t i = m->names.size(); i < globals.size(); i++) {
    m->names.push_back(globals[i]);
    m->globals.push_back(vm::Value::undef());
    if (globals[i].exported)
      vm::map_set(m->exports, vm::Value::object(shared.intern(globals[i].name)),
                  vm::Value::integer(int64_t(i)));
  }
  m->exports->flags |= vm::kFrozen;
}

vm::Module* Runtime::import(vm::Task& task, vm::Module* importer, std::string_view name,
                            bool is_path, vm::Closure*& body) {
  namespace fs = std::filesystem;
  body = nullptr;
  if (!is_path) {
    vm::Module* m = standard_module(std::string(name));
    if (!m) task.raise("ImportError", "no standard module named '" + std::string(name) + "'");
    return m;
  }
  fs::path dir = importer && !importer->path.empty() ? fs::path(importer->path).parent_path() : fs::path();
  fs::path shown = (dir / fs::path(name)).lexically_normal();
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(shown, ec);
  std::string key = ec ? shown.string() : canonical.string();

  auto it = modules.find(key);
  if (it != modules.end()) {
    if (it->second->loaded) return it->second;
    std::string chain;
    for (vm::Module* m : loading) chain += m->path + " -> ";
    task.raise("ImportError", "import cycle: " + chain + shown.string());
  }
  std::ifstream file(shown, std::ios::binary);
  if (!file || fs::is_directory(shown, ec))
    task.raise("ImportError", "cannot read module '" + shown.string() + "': " +
                                  (errno ? std::strerror(errno) : "not a file"));
  std::stringstream text;
  text << file.rdbuf();
  std::string source = text.str();
  Compiled c = compile(source, shown.string());
  if (!c.errors.empty()) {
    const lang::Diagnostic& d = c.errors.front();
    task.raise("SyntaxError", d.file + ":" + std::to_string(d.loc.line) + ":" +
                                  std::to_string(d.loc.col) + ": " + d.message);
  }
  std::lock_guard lock(module_mutex);
  vm::Module* m = shared.module(shared.string(shown.stem().string()));
  m->path = shown.string();
  m->owner = &task;
  define_globals(task, m, c.globals);
  modules[key] = m;
  loading.push_back(m);
  body = task.heap.closure(c.main, m, 0);
  return m;
}

void Runtime::finish_import(vm::Module* m) {
  std::lock_guard lock(module_mutex);
  m->loaded = true;
  // Modules are shared by every task and read-only once loaded (SPEC §4): every global
  // is frozen and moved into the shared area, where any task may read it.
  for (size_t i = 0; i < m->names.size(); i++) {
    vm::freeze_deep(m->globals[i]);
    m->globals[i] = vm::copy_into(shared, m->globals[i]);
  }
  m->owner = nullptr;
  if (!loading.empty() && loading.back() == m) loading.pop_back();
}

void Runtime::abort_import(vm::Module* m) {
  if (!loading.empty() && loading.back() == m) loading.pop_back();
  for (auto it = modules.begin(); it != modules.end(); ++it) {
    if (it->second == m) {
      modules.erase(it);
      break;
    }
  }
}

}  // namespace tsk::rt
