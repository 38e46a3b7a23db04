// The public embedding API (include/tsk/tsk.hpp) over the internal Runtime: turns
// source text into a run and every outcome into an exit status and a report on `err`.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "lang/compiler.hpp"
#include "runtime/host_functions.hpp"
#include "runtime/runtime.hpp"
#include "stdlib/reference.hpp"
#include "stdlib/registry.hpp"
#include "tsk/tsk.hpp"

namespace tsk {

const char* version() { return "0.1.0"; }

std::vector<std::string> standard_modules() {
  std::vector<std::string> names;
  for (const vm::ModuleDef& def : vm::standard_modules()) names.push_back(def.name);
  names.push_back("os.env");
  return names;
}

std::vector<std::string> sandbox_modules() {
  std::vector<std::string> names;
  for (const std::string& name : standard_modules())
    if (name != "fs" && name != "net" && name != "proc" && name != "os.env") names.push_back(name);
  return names;
}

Runtime::Runtime(Options options) {
  rt::Config config;
  config.threads = std::min(options.threads, kMaxThreads);
  config.args = std::move(options.args);
  config.write_out = std::move(options.out);
  config.write_err = std::move(options.err);
  config.instruction_budget = options.instruction_budget;
  config.deadline = options.deadline;
  config.task_memory_limit = options.task_memory_limit;
  config.load_module = std::move(options.load_module);
  if (options.modules) {
    std::vector<std::string> known = standard_modules();
    for (const std::string& name : *options.modules)
      if (std::find(known.begin(), known.end(), name) == known.end())
        throw std::invalid_argument("tsk: Options::modules: '" + name + "' is not a standard module (nor os.env)");
    config.allowed_modules = std::move(options.modules);
  }
  config.seed = options.seed;
  impl_ = std::make_unique<rt::Runtime>(std::move(config));
}

Runtime::~Runtime() = default;

namespace {

bool report_errors(rt::Runtime& rt, const std::vector<lang::Diagnostic>& errors, std::string_view source) {
  for (const lang::Diagnostic& d : errors) rt.write_err(lang::format_diagnostic(d, source));
  return !errors.empty();
}

}  // namespace

int Runtime::run(std::string_view source, const std::string& filename) {
  rt::Runtime& rt = *impl_;
  rt::seal_host_functions(rt);
  rt::Runtime::Compiled c = rt.compile(source, filename);
  if (report_errors(rt, c.errors, source)) return kCompileError;
  // Main's heap is touched from here on: a blocking call the last run's ending left
  // running in it must have returned.
  rt.wait_for_main_call();
  vm::TaskState& task = rt.main_task();
  vm::Module* m = rt.immortal.module(rt.immortal.string(std::filesystem::path(filename).stem().string()));
  m->path = filename;
  m->owner.store(&task, std::memory_order_relaxed);
  rt.main_modules.push_back(m);
  rt.define_globals(task, m, c.globals);
  vm::Value main = vm::Value::object(task.heap.closure(c.main, m, 0));
  rt.enter_main_script(m, filename);
  int status = rt.run_main(main);
  rt.leave_main_script();
  rt.run_returned();
  return status;
}

int Runtime::run_file(const std::string& path) {
  std::string source, error;
  if (!read_source_file(path, source, error)) {
    impl_->write_err("tsk: cannot read '" + path + "': " + error + "\n");
    return kCompileError;
  }
  return run(source, path);
}

void Runtime::interrupt(int status) { impl_->interrupt_run(status); }

bool read_source_file(const std::string& path, std::string& out, std::string& error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = std::generic_category().message(errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    error = std::generic_category().message(EISDIR);
    return false;
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = std::generic_category().message(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buf, size_t(n));
  }
  ::close(fd);
  return true;
}

int Runtime::check(std::string_view source, const std::string& filename) {
  rt::Runtime::Compiled c = impl_->compile(source, filename);
  return report_errors(*impl_, c.errors, source) ? kCompileError : kOk;
}

std::string Runtime::disassemble(std::string_view source, const std::string& filename) {
  rt::Runtime::Compiled c = impl_->compile(source, filename);
  if (report_errors(*impl_, c.errors, source)) return "";
  return lang::disassemble(*c.main);
}

std::string Runtime::reference(std::string_view name, bool markdown) {
  return vm::render_reference(name, markdown, impl_->builtin_entries, impl_->module_defs);
}

}  // namespace tsk
