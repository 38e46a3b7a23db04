// The public embedding API of tsk: the only header a host program includes. A
// tsk::Runtime is one independent instance of the language (its own modules, heap and,
// later, scheduler); any number may coexist in one process. The `tsk` command is an
// ordinary host written against this header alone.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tsk/function.hpp"
#include "tsk/value.hpp"

namespace tsk {

namespace rt { class Runtime; }

const char* version();

// Reads the script file at `path` whole into `out`. False, with the system's reason in
// `error` ("No such file or directory", "Is a directory"), when it cannot be read.
// [any thread; blocks on the file system; throws only std::bad_alloc]
bool read_source_file(const std::string& path, std::string& out, std::string& error);

// The most scheduler threads a runtime starts (Options::threads is clamped to it): twice
// the hardware threads of today's largest two-socket servers (2 x 256). Workers beyond
// the cores only add stealing, stacks and idle wake-ups.
constexpr int kMaxThreads = 1024;

// Every standard module but fs, net and proc; os.env left out too (Options::modules).
std::vector<std::string> sandbox_modules();
// Every name Options::modules accepts: the standard modules and "os.env".
std::vector<std::string> standard_modules();

struct Options {
  int threads = 0;                 // scheduler threads; 0 = the number of CPUs (at most kMaxThreads)
  std::vector<std::string> args;   // os.args: the script path and its arguments
  // Where print() and error reports go; unset = the process's stdout and stderr.
  std::function<void(std::string_view)> out;
  std::function<void(std::string_view)> err;
  // Stops a run after this many instructions with an Error (0 = no limit). Counted at
  // calls and loop back-edges, across every task of the run; a spawn counts 1000. For
  // fuzzing and for hosts that run untrusted code.
  uint64_t instruction_budget = 0;
  // Ends each run this long after it begins, at once, with a LimitError (status
  // kRuntimeError); 0 = no limit. A LimitError, from the budget too, is one no script
  // can catch, and no `finally` runs on its way out.
  std::chrono::nanoseconds deadline{0};
  // The bytes one task may hold, 0 = no limit: when what lives in a task's heap after a
  // collection is more, the task gets a LimitError. The limit makes the collector run
  // by then at the latest; it runs between instructions, so one native call (a string
  // built whole) may pass the limit before the check. Each task's heap counts alone.
  size_t task_memory_limit = 0;
  // Gives the source of a file module (`import "lib/x.tsk" as x`) instead of the file
  // system: called with the path as the import resolves it (relative to the importing
  // script's name, normalised: "lib/x.tsk"), it returns the source, or nullopt when
  // there is no such module (the script gets ImportError). A tsk::Error it throws
  // reaches the script with its kind and message; another exception is an ImportError
  // with its what(). Called on a worker thread, several at once, while the importing
  // task waits: it should answer from memory or quickly. Unset: the file system.
  std::function<std::optional<std::string>(const std::string& path)> load_module;
  // The standard modules scripts may import, with "os.env" for os.env(); unset: all of
  // them. Importing another raises ImportError, and os.env() without "os.env" raises an
  // Error. The host's own modules are always there. sandbox_modules() is every standard
  // module but fs, net and proc, without os.env: a sandbox that reaches no file,
  // process, socket or environment variable. The constructor throws
  // std::invalid_argument for a name that is no standard module.
  std::optional<std::vector<std::string>> modules;
  // Seeds the random choices of select and the `rand` module's generators: with a seed
  // and threads = 1, a program makes the same choices and draws every run (to replay a
  // failing order). Unset: seeded from the system.
  // The `tsk` command sets it from the TSK_SEED environment variable.
  std::optional<uint64_t> seed;
};

// Exit statuses, as the `tsk` command returns them (SPEC §12). A run interrupted by
// Runtime::interrupt returns the status it was given: the command gives 128 + the
// signal's number, as a shell reports a process a signal ended (kInterrupted for
// SIGINT, kTerminated for SIGTERM). A run whose stdout pipe was closed returns
// kBrokenPipe (128 + SIGPIPE).
enum Status : int {
  kOk = 0,
  kRuntimeError = 1,
  kCompileError = 2,
  kInterrupted = 130,
  kBrokenPipe = 141,
  kTerminated = 143,
};

class Runtime {
 public:
  explicit Runtime(Options options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Compiles and runs `source` as the main script named `filename` (used in messages and
  // to resolve relative imports). Diagnostics and uncaught errors go to `err`. Returns
  // the exit status: kOk, kRuntimeError, kCompileError, or the code given to os.exit.
  int run(std::string_view source, const std::string& filename);
  // Reads and runs a file; a file that cannot be read (missing, a directory, no
  // permission) is reported, naming the path and the reason, and gives kCompileError.
  int run_file(const std::string& path);
  // Parses and compiles without running; reports diagnostics to `err`. kOk or kCompileError.
  int check(std::string_view source, const std::string& filename);
  // The disassembly of the compiled script, or "" with diagnostics reported on error.
  std::string disassemble(std::string_view source, const std::string& filename);
  // The reference of every builtin and module (name empty), or of one module or
  // builtin; "" if there is no such name. `markdown` renders docs/stdlib.md's form.
  std::string reference(std::string_view name = {}, bool markdown = false);

  // Stops the run in progress as SIGINT does for the `tsk` command (SPEC §12). The
  // first call cancels the main task: its `finally` blocks run, every task is
  // cancelled, and `run` returns `status` once they have ended (an os.exit during that
  // cleanup still wins). A second call ends the run at once: no more code runs (a task
  // stops at its next call or loop back-edge), buffered output is written, and `run`
  // returns `status`. With no run in progress, the next `run` returns `status` at
  // once without running (a signal that arrives while the host reads or compiles the
  // script is not lost; Python's PyErr_SetInterrupt behaves alike). One that comes once
  // the program has ended, while `run` is returning, is dropped. An ending at once may
  // leave main inside a `blocks` call: the next `run` waits for it to return first.
  // [any thread, a signal-handling thread included (not a signal handler itself);
  //  does not block on the run; throws nothing]
  void interrupt(int status = kInterrupted);

  // Adds the host function `fn` (function.hpp) to this runtime as `module.name`, where
  // `signature` is the call as a script writes it ("area(width, height = nil)", the
  // parameters left out of a call written with `= nil`) and `doc` one line for help()
  // and the reference. Scripts reach it with `import module`. Throws
  // std::invalid_argument, saying why, for a module or function name that is not a
  // name or is taken (a standard module's, a function defined before), or a signature
  // whose parameters do not match the callable's (a std::optional parameter is one
  // written `= nil`), or an effect that does not match (a yields function takes a
  // tsk::Completion first, and no other does); std::logic_error once the runtime has
  // begun its first run: host functions are all defined before it.
  // [any thread; throws as above and std::bad_alloc]
  template <class F>
  void define(std::string_view module, std::string_view signature, Effect effect, std::string_view doc, F&& fn) {
    define_function(module, signature, effect, doc, detail::make_host_function(std::forward<F>(fn)));
  }
  void define_function(std::string_view module, std::string_view signature, Effect effect, std::string_view doc,
                       detail::HostFunction fn);

  rt::Runtime& internal() { return *impl_; }

 private:
  std::unique_ptr<rt::Runtime> impl_;
};

}  // namespace tsk
