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
  for (const vm::NativeEntry& e : vm::builtin_functions())
    builtins.push_back(vm::Value::object(shared.native(&e)));
}

Runtime::~Runtime() {
  flush_out();
  // Modules in the main task's heap die with it; forget them first.
  modules.clear();
  main_task_.reset();
}

void Runtime::write_out(std::string_view s) {
  out_buffer.append(s);
  if (out_buffer.size() >= kOutFlushAt) flush_out();
}

void Runtime::flush_out() {
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
  if (!main_task_) {
    main_task_ = std::make_unique<vm::Task>(*this, 1);
    main_task_->budget_left = config.instruction_budget;
  }
  return *main_task_;
}

vm::Module* Runtime::standard_module(const std::string& name) {
  std::string key = "std:" + name;
  auto it = modules.find(key);
  if (it != modules.end()) return it->second;
  for (const vm::ModuleDef& def : vm::standard_modules()) {
    if (name != def.name) continue;
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
  if (!m->exports) m->exports = task.heap.map();
  for (size_t i = m->names.size(); i < globals.size(); i++) {
    m->names.push_back(globals[i]);
    m->globals.push_back(vm::Value::undef());
    if (globals[i].exported)
      vm::map_set(m->exports, vm::Value::object(task.heap.string(globals[i].name)),
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
  vm::Module* m = task.heap.module(task.heap.string(shown.stem().string()));
  m->path = shown.string();
  define_globals(task, m, c.globals);
  modules[key] = m;
  loading.push_back(m);
  body = task.heap.closure(c.main, m, 0);
  return m;
}

void Runtime::finish_import(vm::Module* m) {
  m->loaded = true;
  // Modules are shared by every task and read-only once loaded (SPEC §4).
  for (size_t i = 0; i < m->names.size(); i++)
    if (m->names[i].exported) vm::freeze_deep(m->globals[i]);
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
