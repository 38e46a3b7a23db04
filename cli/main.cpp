// The `tsk` command (SPEC §12): runs a script file, `-e` code or a script on stdin;
// `check`, `dis` and `doc` subcommands. Written only against the public API.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "tsk/tsk.hpp"

namespace {

constexpr const char* kUsage =
    "usage: tsk [options] FILE.tsk [args...]   run a script\n"
    "       tsk [options] -e CODE [args...]    run CODE\n"
    "       tsk [options]                      read a script from stdin (the REPL, later, on a terminal)\n"
    "       tsk check FILE...                  parse and compile, print diagnostics\n"
    "       tsk dis FILE                       print the bytecode of FILE\n"
    "       tsk doc [--markdown] [NAME]        print the reference of builtins and modules\n"
    "options:\n"
    "  --threads N    scheduler threads (default: TSK_THREADS, else the number of CPUs)\n"
    "  -h, --help     this help\n"
    "  --version      print the version\n"
    "environment:\n"
    "  TSK_THREADS=N  as --threads N\n"
    "  TSK_SEED=N     seed select's random choices and rand's generators (0 to 2^64-1):\n"
    "                 with one thread, a run makes the same choices every time\n"
    "exit status: 0 success, 1 uncaught runtime error, 2 syntax, compile or usage error\n";

int usage_error(const std::string& message) {
  std::cerr << "tsk: " << message << "\n" << kUsage;
  return 2;
}

bool parse_threads(const std::string& text, int& out) {
  if (text.empty() || text.size() > 4) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  out = std::stoi(text);
  return out > 0;
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
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  tsk::Options options;
  if (const char* env = std::getenv("TSK_THREADS")) {
    if (!parse_threads(env, options.threads)) return usage_error("TSK_THREADS must be a positive number");
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
      std::cout << kUsage;
      return 0;
    } else if (a == "--version") {
      std::cout << "tsk " << tsk::version() << "\n";
      return 0;
    } else if (a == "--threads" || a.rfind("--threads=", 0) == 0) {
      std::string value;
      if (a == "--threads") {
        if (i + 1 >= args.size()) return usage_error("--threads needs a number");
        value = args[++i];
      } else {
        value = a.substr(10);
      }
      if (!parse_threads(value, options.threads)) return usage_error("--threads needs a positive number, not '" + value + "'");
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
          std::cerr << "tsk: cannot open '" << args[k] << "'\n";
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
      if (!read_file(args[i + 1], source)) {
        std::cerr << "tsk: cannot open '" << args[i + 1] << "'\n";
        return 2;
      }
      tsk::Runtime runtime(options);
      std::string text = runtime.disassemble(source, args[i + 1]);
      if (text.empty()) return 2;
      std::cout << text;
      return 0;
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
        std::cerr << "tsk: no builtin or module named '" << name << "'\n";
        return 2;
      }
      std::cout << text;
      return 0;
    }
  }

  if (have_code) {
    options.args.push_back("-e");
    options.args.insert(options.args.end(), args.begin() + i, args.end());
    tsk::Runtime runtime(options);
    return runtime.run(code, "<-e>");
  }
  if (i < args.size()) {
    options.args.assign(args.begin() + i, args.end());
    tsk::Runtime runtime(options);
    return runtime.run_file(args[i]);
  }
  if (isatty(0)) {
    std::cerr << "tsk: the REPL is not available yet; run a file, -e CODE, or pipe a script\n" << kUsage;
    return 2;
  }
  std::string source((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  options.args.push_back("<stdin>");
  tsk::Runtime runtime(options);
  return runtime.run(source, "<stdin>");
}
