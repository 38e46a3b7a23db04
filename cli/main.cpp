// The `tsk` command (SPEC §12): runs a script file, `-e` code or a script on stdin;
// `check`, `dis` and `doc` subcommands. Written only against the public API.
//
// Start-up matters here (an empty script is measured in docs/performance.md, "Start-up"):
// the command writes through stdio, not iostreams, whose static initialiser builds the
// C++ locale at every start, and it does not wait for its signal thread at the end.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tsk/tsk.hpp"

namespace {

std::string usage() {
  return "usage: tsk [options] FILE.tsk [args...]   run a script\n"
         "       tsk [options] -e CODE [args...]    run CODE\n"
         "       tsk [options]                      read a script from stdin (the REPL, later, on a terminal)\n"
         "       tsk check FILE...                  parse and compile, print diagnostics\n"
         "       tsk dis FILE                       print the bytecode of FILE\n"
         "       tsk doc [--markdown] [NAME]        print the reference of builtins and modules\n"
         "options:\n"
         "  --threads N    scheduler threads, 1 to " +
         std::to_string(tsk::kMaxThreads) +
         " (default: TSK_THREADS, else the number of CPUs)\n"
         "  --sandbox      no file, process, socket or environment: the modules fs, net and proc\n"
         "                 and os.env are left out (importing one raises ImportError)\n"
         "  --allow LIST   a sandbox that allows some of them back: a comma-separated list of\n"
         "                 fs, net, proc and os.env (--allow net,os.env)\n"
         "  -h, --help     this help\n"
         "  --version      print the version\n"
         "environment:\n"
         "  TSK_THREADS=N  as --threads N\n"
         "  TSK_SEED=N     seed select's random choices and rand's generators (0 to 2^64-1):\n"
         "                 with one thread, a run makes the same choices every time\n"
         "exit status: 0 success, 1 uncaught runtime error, 2 syntax, compile or usage error;\n"
         "  os.exit(n) gives n & 255; SIGINT 130 and SIGTERM 143 (once the main task's finally\n"
         "  blocks have run; a second signal ends at once); a closed stdout 141\n";
}

void put(std::FILE* stream, const std::string& text) { std::fwrite(text.data(), 1, text.size(), stream); }

int usage_error(const std::string& message) {
  put(stderr, "tsk: " + message + "\n" + usage());
  return 2;
}

// Reads --threads' or TSK_THREADS' value (`what` names it) into `out`: "" when it is a
// number of threads from 1 to tsk::kMaxThreads, else the message saying what is wrong.
std::string parse_threads(const std::string& what, const std::string& text, int& out) {
  std::string range = "from 1 to " + std::to_string(tsk::kMaxThreads);
  size_t start = text.size() > 1 && (text[0] == '-' || text[0] == '+') ? 1 : 0;
  bool digits = start < text.size();
  for (size_t i = start; i < text.size(); i++)
    if (text[i] < '0' || text[i] > '9') digits = false;
  if (!digits) return what + " needs a number of threads " + range + ", not '" + text + "'";
  size_t first = text.find_first_not_of('0', start);
  bool zero = first == std::string::npos;
  if (text[0] == '-' && !zero) return what + " needs a positive number of threads (" + range + "), not '" + text + "'";
  if (zero) return what + " needs at least 1 thread (" + range + "), not '" + text + "'";
  if (text.size() - first > 9 || std::stoi(text.substr(first)) > tsk::kMaxThreads)
    return what + " can be at most " + std::to_string(tsk::kMaxThreads) + " threads, not '" + text + "'";
  out = std::stoi(text.substr(first));
  return "";
}

// Whether args[i] is the option `name`, written "--name VALUE" (i then moves past the
// value) or "--name=VALUE"; `value` is what follows, or nullopt when nothing does.
bool option(const std::vector<std::string>& args, size_t& i, const std::string& name,
            std::optional<std::string>& value) {
  const std::string& a = args[i];
  if (a.rfind(name + "=", 0) == 0) {
    value = a.substr(name.size() + 1);
    return true;
  }
  if (a != name) return false;
  if (i + 1 < args.size()) value = args[++i];
  return true;
}

// A decimal number from 0 to 2^64 - 1.
bool parse_seed(const std::string& text, uint64_t& out) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t digit = uint64_t(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

bool read_file(const std::string& path, std::string& out) {
  std::string error;
  if (tsk::read_source_file(path, out, error)) return true;
  put(stderr, "tsk: cannot read '" + path + "': " + error + "\n");
  return false;
}

// The whole of stdin into `out`: false, with a report, when it cannot be read.
bool read_stdin(std::string& out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      put(stderr, std::string("tsk: cannot read stdin: ") + std::strerror(errno) + "\n");
      return false;
    }
    if (n == 0) return true;
    out.append(buf, size_t(n));
  }
}

// Writes `text` to stdout: 0, or 1 with a report when it could not be written (a
// full disk; a closed pipe kills the command with SIGPIPE, as for any tool).
int print_out(const std::string& text) {
  put(stdout, text);
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return 0;
  put(stderr, std::string("tsk: cannot write to stdout: ") + std::strerror(errno) + "\n");
  return 1;
}

// While a script runs, SIGINT and SIGTERM become Runtime::interrupt calls (SPEC §12):
// the first cancels the main task (its finally blocks run), a second ends the run at
// once. The signals are blocked in every thread (the mask is set before the runtime
// starts its workers, which inherit it) and read from a signalfd by a thread of the
// command's own; no signal handler runs and nothing global changes but the mask.
// SIGPIPE is ignored meanwhile, so that a closed stdout reaches the runtime as EPIPE
// and ends the program through it (status 141, its tasks stopped), not by the signal.
//
// The thread is detached, not joined: waking it and waiting for it to end cost the
// command's exit a thread hand-off (on a busy machine, a scheduler time slice). The
// watcher's end only tells it, under its lock, that the runtime is gone; the thread
// then forwards nothing and stays blocked in its read until the process exits. This is
// the command's own process-lifetime thread: `run_script` runs once per process.
class SignalWatcher {
 public:
  explicit SignalWatcher(tsk::Runtime& runtime) : shared_(std::make_shared<Shared>()) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
    if (signal_fd < 0) return;  // the signals keep their default action
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    shared_->runtime = &runtime;
    std::thread([shared = shared_, signal_fd] { watch(*shared, signal_fd); }).detach();
  }
  ~SignalWatcher() {
    std::lock_guard lock(shared_->mutex);
    shared_->runtime = nullptr;
  }
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  struct Shared {
    std::mutex mutex;
    tsk::Runtime* runtime = nullptr;  // null once the run has ended: nothing to interrupt
  };

  static void watch(Shared& shared, int signal_fd) {
    for (;;) {
      signalfd_siginfo info;
      ssize_t n = ::read(signal_fd, &info, sizeof info);
      if (n < 0 && errno == EINTR) continue;
      if (n != ssize_t(sizeof info)) return;
      std::lock_guard lock(shared.mutex);
      if (shared.runtime) shared.runtime->interrupt(128 + int(info.ssi_signo));  // 130 SIGINT, 143 SIGTERM
    }
  }

  std::shared_ptr<Shared> shared_;
};

// Runs a script (`run` calls the runtime) with the signals turned into interrupts.
template <class Run>
int run_script(const tsk::Options& options, Run run) {
  tsk::Runtime runtime(options);
  SignalWatcher signals(runtime);
  return run(runtime);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  tsk::Options options;
  if (const char* env = std::getenv("TSK_THREADS")) {
    std::string problem = parse_threads("TSK_THREADS", env, options.threads);
    if (!problem.empty()) return usage_error(problem);
  }
  if (const char* env = std::getenv("TSK_SEED")) {
    uint64_t seed;
    if (!parse_seed(env, seed)) return usage_error("TSK_SEED must be a number from 0 to 18446744073709551615");
    options.seed = seed;
  }

  size_t i = 0;
  std::string code;
  bool have_code = false;
  for (; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      return print_out(usage());
    } else if (a == "--version") {
      return print_out(std::string("tsk ") + tsk::version() + "\n");
    } else if (std::optional<std::string> value; option(args, i, "--threads", value)) {
      if (!value) return usage_error("--threads needs a number of threads");
      std::string problem = parse_threads("--threads", *value, options.threads);
      if (!problem.empty()) return usage_error(problem);
    } else if (a == "--sandbox") {
      if (!options.modules) options.modules = tsk::sandbox_modules();
    } else if (std::optional<std::string> list; option(args, i, "--allow", list)) {
      if (!list) return usage_error("--allow needs a list such as fs,net,proc,os.env");
      if (!options.modules) options.modules = tsk::sandbox_modules();
      for (size_t at = 0; at <= list->size();) {
        size_t comma = std::min(list->find(',', at), list->size());
        std::string name = list->substr(at, comma - at);
        if (name != "fs" && name != "net" && name != "proc" && name != "os.env")
          return usage_error("--allow takes fs, net, proc and os.env, not '" + name + "'");
        options.modules->push_back(name);
        at = comma + 1;
      }
    } else if (a == "-e") {
      if (i + 1 >= args.size()) return usage_error("-e needs code");
      code = args[++i];
      have_code = true;
      i++;
      break;
    } else if (a == "--") {
      i++;
      break;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error("unknown option '" + a + "'");
    } else {
      break;
    }
  }

  if (!have_code && i < args.size()) {
    const std::string& command = args[i];
    if (command == "check") {
      if (i + 1 >= args.size()) return usage_error("check needs at least one file");
      tsk::Runtime runtime(options);
      int status = 0;
      for (size_t k = i + 1; k < args.size(); k++) {
        std::string source;
        if (!read_file(args[k], source)) {
          status = 2;
          continue;
        }
        if (runtime.check(source, args[k]) != 0) status = 2;
      }
      return status;
    }
    if (command == "dis") {
      if (i + 2 != args.size()) return usage_error("dis needs exactly one file");
      std::string source;
      if (!read_file(args[i + 1], source)) return 2;
      tsk::Runtime runtime(options);
      std::string text = runtime.disassemble(source, args[i + 1]);
      if (text.empty()) return 2;
      return print_out(text);
    }
    if (command == "doc") {
      std::vector<std::string> rest(args.begin() + i + 1, args.end());
      bool markdown = !rest.empty() && rest.front() == "--markdown";
      if (markdown) rest.erase(rest.begin());
      if (rest.size() > 1) return usage_error("doc takes at most one name");
      tsk::Runtime runtime(options);
      std::string name = rest.empty() ? "" : rest.front();
      std::string text = runtime.reference(name, markdown);
      if (text.empty()) {
        put(stderr, "tsk: no builtin or module named '" + name + "'\n");
        return 2;
      }
      return print_out(text);
    }
  }

  if (have_code) {
    options.args.push_back("-e");
    options.args.insert(options.args.end(), args.begin() + i, args.end());
    return run_script(options, [&](tsk::Runtime& runtime) { return runtime.run(code, "<-e>"); });
  }
  if (i < args.size()) {
    options.args.assign(args.begin() + i, args.end());
    return run_script(options, [&](tsk::Runtime& runtime) { return runtime.run_file(args[i]); });
  }
  if (isatty(0)) {
    put(stderr, "tsk: the REPL is not available yet; run a file, -e CODE, or pipe a script\n" + usage());
    return 2;
  }
  std::string source;
  if (!read_stdin(source)) return 2;
  options.args.push_back("<stdin>");
  return run_script(options, [&](tsk::Runtime& runtime) { return runtime.run(source, "<stdin>"); });
}
