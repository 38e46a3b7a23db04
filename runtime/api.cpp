// The public embedding API (include/tsk/tsk.hpp) over the internal Runtime: turns
// source text into a run and every outcome into an exit status and a report on `err`.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lang/compiler.hpp"
#include "runtime/runtime.hpp"
#include "stdlib/reference.hpp"
#include "tsk/tsk.hpp"

namespace tsk {

const char* version() { return "0.1.0"; }

Runtime::Runtime(Options options) {
  rt::Config config;
  config.threads = options.threads;
  config.args = std::move(options.args);
  config.write_out = std::move(options.out);
  config.write_err = std::move(options.err);
  config.instruction_budget = options.instruction_budget;
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
  rt::Runtime::Compiled c = rt.compile(source, filename);
  if (report_errors(rt, c.errors, source)) return kCompileError;
  vm::Task& task = rt.main_task();
  vm::Module* m = rt.shared.module(rt.shared.string(std::filesystem::path(filename).stem().string()));
  m->path = filename;
  m->owner.store(&task, std::memory_order_relaxed);
  rt.main_modules.push_back(m);
  rt.define_globals(task, m, c.globals);
  vm::Value main = vm::Value::object(task.heap.closure(c.main, m, 0));
  rt.enter_main_script(m, filename);
  int status = rt.run_main(main);
  rt.leave_main_script();
  return status;
}

int Runtime::run_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::error_code ec;
  if (!file || std::filesystem::is_directory(path, ec)) {
    impl_->write_err("tsk: cannot open '" + path + "'\n");
    return kCompileError;
  }
  std::stringstream text;
  text << file.rdbuf();
  return run(text.str(), path);
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
  return vm::render_reference(name, markdown);
}

}  // namespace tsk
