// Unit tests of the VM and the public API: whole programs through tsk::Runtime with the
// output captured, the collector keeping memory flat, deep recursion, independence of
// runtimes, and the limits, sandbox and module loader of SPEC §16.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/runtime.hpp"
#include "tsk/tsk.hpp"

namespace {

struct Outcome {
  int status = -1;
  std::string out, err;
};

Outcome run(std::string_view source, uint64_t budget = 0) {
  Outcome o;
  tsk::Options options;
  options.out = [&](std::string_view s) { o.out += s; };
  options.err = [&](std::string_view s) { o.err += s; };
  options.instruction_budget = budget;
  tsk::Runtime runtime(options);
  o.status = runtime.run(source, "t.tsk");
  return o;
}

// Runs `source` with `budget` and checks that the budget, not the program, ended it.
void check_stopped_by_budget(std::string_view source, uint64_t budget) {
  Outcome o = run(source, budget);
  CHECK(o.status == 1);
  CHECK(o.out == "");
  CHECK(o.err.find("error: LimitError: the run's instruction budget is spent") != std::string::npos);
}

}  // namespace

TEST_CASE("a program prints and exits 0") {
  Outcome o = run("let x = 6 * 7\nprint(\"x =\", x)\n");
  CHECK(o.status == 0);
  CHECK(o.out == "x = 42\n");
  CHECK(o.err == "");
}

TEST_CASE("script recursion is stackless: a million frames end in StackOverflowError") {
  Outcome o = run(
      "fn down(n) { return down(n + 1) }\n"
      "try { down(0) } catch e { print(e.kind) }\n");
  CHECK(o.status == 0);
  CHECK(o.out == "StackOverflowError\n");
}

TEST_CASE("deep recursion within the limit succeeds") {
  Outcome o = run("fn depth(n) { if n == 0 { return 0 }\n return 1 + depth(n - 1) }\nprint(depth(100000))\n");
  CHECK(o.status == 0);
  CHECK(o.out == "100000\n");
}

TEST_CASE("an uncaught error prints a traceback and gives status 1") {
  Outcome o = run("fn divide(a, b) {\n  return a // b\n}\nprint(divide(1, 0))\n");
  CHECK(o.status == 1);
  CHECK(o.err.find("error: ZeroDivisionError: integer division by zero\n") == 0);
  CHECK(o.err.find("  at divide (t.tsk:2:12)\n") != std::string::npos);
  CHECK(o.err.find("  at <main> (t.tsk:4:7)\n") != std::string::npos);
}

TEST_CASE("the collector keeps an allocation-heavy loop's heap flat") {
  tsk::Options options;
  options.out = [](std::string_view) {};
  tsk::Runtime runtime(options);
  int status = runtime.run(
      "var i = 0\n"
      "while i < 300000 {\n"
      "  let x = [i, [i, i], {a: i, b: \"s${i}\"}]\n"
      "  i += 1\n"
      "}\n", "flat.tsk");
  CHECK(status == 0);
  // 300,000 iterations allocate well over 100 MB in all; live data is a few objects.
  CHECK(runtime.internal().main_task().heap.bytes() < 8 * 1024 * 1024);
}

TEST_CASE("two runtimes in one process are independent") {
  std::string out1, out2;
  tsk::Options o1, o2;
  o1.out = [&](std::string_view s) { out1 += s; };
  o2.out = [&](std::string_view s) { out2 += s; };
  tsk::Runtime a(o1), b(o2);
  CHECK(a.run("let x = 1\nprint(x)\n", "a.tsk") == 0);
  CHECK(b.run("let x = 2\nprint(x)\n", "b.tsk") == 0);
  CHECK(a.run("print(\"again\")\n", "a2.tsk") == 0);
  CHECK(out1 == "1\nagain\n");
  CHECK(out2 == "2\n");
}

TEST_CASE("the instruction budget stops an endless loop") {
  check_stopped_by_budget("while true { }\n", 100000);
}

// Regression, fixed: every task that parked within 1024 back-edges started its count
// afresh on resume, so a chain of tasks passing values never paid the budget (a fuzzed
// prime sieve ran unbounded).
TEST_CASE("the instruction budget stops tasks that park every few instructions") {
  check_stopped_by_budget(
      "fn generate(ch) { var i = 2\n while true { ch <- i\n i += 1 } }\n"
      "fn filter(src, dst, p) { for i in src { if i % p != 0 { dst <- i } } }\n"
      "var ch = chan()\n"
      "spawn generate(ch)\n"
      "while true { let p = <-ch\n let next = chan()\n spawn filter(ch, next, p)\n ch = next }\n",
      200000);
}

TEST_CASE("the instruction budget counts spawns") {
  // 100,000 iterations fit a budget of 200,000; 100,000 spawns of parked tasks do not.
  check_stopped_by_budget(
      "var hs = []\n"
      "for i in 0..100000 { push(hs, spawn { let c = chan()\n <-c }) }\n"
      "print(\"all spawned\")\n",
      200000);
}

TEST_CASE("a LimitError is caught by no catch, runs no finally, and no await stops it") {
  // A script that catches everything would otherwise outlive any budget.
  check_stopped_by_budget(
      "while true { try { while true { } } catch e { print(\"caught\", e.kind) } finally { print(\"finally\") } }\n",
      100000);
  check_stopped_by_budget(
      "let t = spawn { while true { } }\n"
      "while true { try { await t } catch e { print(\"caught\", e.kind) } }\n",
      100000);
}

// Regression (the fuzzer, on a seed script): a LimitError passed the handler of a
// `scope { }` too, so the scope's block ended without waiting for its tasks, and main's
// run ended while they still ran in a scope it had freed. It stops at SCOPEEND, which
// waits for them (cancelled), then goes on.
TEST_CASE("a LimitError still waits at the end of a scope for the scope's tasks") {
  check_stopped_by_budget(
      "scope {\n"
      "    for i in 0..50 { spawn { var n = 0\n while true { n += 1 } } }\n"
      "    var m = 0\n"
      "    while true { m += 1 }\n"
      "}\n"
      "print(\"after the scope\")\n",
      200000);
  check_stopped_by_budget(
      "fn churn(n) { var keep = nil\n for i in 0..n { keep = [i, [i, i], {k: i}] }\n return keep }\n"
      "scope { for i in 0..200 { spawn { churn(1000) }\n churn(200) } }\n"
      "print(\"after the scope\")\n",
      200000);
}

TEST_CASE("each run has its own instruction budget") {
  std::string out, err;
  tsk::Options options;
  options.out = [&](std::string_view s) { out += s; };
  options.err = [&](std::string_view s) { err += s; };
  options.instruction_budget = 100000;
  tsk::Runtime runtime(options);
  CHECK(runtime.run("while true { }\n", "a.tsk") == 1);
  CHECK(runtime.run("var n = 0\nfor i in 0..1000 { n += i }\nprint(n)\n", "b.tsk") == 0);
  CHECK(out == "499500\n");
}

// "runtime": the ThreadSanitizer stage runs it too (the watchdog is a thread of its own).
TEST_SUITE("runtime limits") {
TEST_CASE("a deadline ends a run at once, waiting or busy, with a LimitError") {
  std::string out, err;
  tsk::Options options;
  options.out = [&](std::string_view s) { out += s; };
  options.err = [&](std::string_view s) { err += s; };
  options.deadline = std::chrono::milliseconds(50);
  tsk::Runtime runtime(options);
  // A task that never ends, one that never waits, and main asleep for 100 s.
  CHECK(runtime.run("spawn { while true { } }\nspawn { let c = chan()\n <-c }\n"
                    "try { sleep(100) } finally { print(\"finally\") }\n",
                    "d.tsk") == 1);
  CHECK(out == "");
  CHECK(err == "error: LimitError: the run's deadline of 0.05 s passed\n");
  // The next run has its own deadline, and one that ends in time is not touched.
  CHECK(runtime.run("print(\"in time\")\n", "e.tsk") == 0);
  CHECK(out == "in time\n");
}
}  // TEST_SUITE("runtime limits")

TEST_CASE("a task that holds more than its memory limit gets a LimitError; its garbage does not count") {
  auto run_limited = [](std::string_view source, std::string& out, std::string& err) {
    tsk::Options options;
    options.out = [&](std::string_view s) { out += s; };
    options.err = [&](std::string_view s) { err += s; };
    options.task_memory_limit = 8 << 20;
    tsk::Runtime runtime(options);
    return runtime.run(source, "m.tsk");
  };
  std::string out, err;
  // 2 million short lists of garbage, then a list that keeps them all.
  CHECK(run_limited("var n = 0\nfor i in 0..2000000 { let pair = [i, i]\n n += len(pair) }\nprint(n)\n", out, err) == 0);
  CHECK(out == "4000000\n");
  out.clear();
  CHECK(run_limited("let t = spawn { var xs = []\n while true { push(xs, [1, 2, 3]) } }\n"
                    "try { await t } catch e { print(\"caught\") }\n",
                    out, err) == 1);
  CHECK(out == "");
  CHECK(err.find("error: LimitError: this task holds ") == 0);
  CHECK(err.find(" bytes, over its memory limit of 8388608\n") != std::string::npos);
}

// "runtime": the ThreadSanitizer stage runs it too (two tasks import at once).
TEST_SUITE("runtime module loader") {
TEST_CASE("a host's module loader gives the source of file modules") {
  std::string out, err;
  std::vector<std::string> asked;
  std::mutex asked_lock;
  tsk::Options options;
  options.out = [&](std::string_view s) { out += s; };
  options.err = [&](std::string_view s) { err += s; };
  options.load_module = [&](const std::string& path) -> std::optional<std::string> {
    {
      std::lock_guard g(asked_lock);
      asked.push_back(path);
    }
    if (path == "lib/util.tsk") return "import \"helper.tsk\" as h\nlet x = 40 + h.two\nfn twice(n) { return 2 * n }\n";
    if (path == "lib/helper.tsk") return "let two = 2\n";
    if (path == "lib/broken.tsk") throw tsk::Error("IOError", "the store is down");
    if (path == "lib/bad.tsk") throw std::runtime_error("no access");
    return std::nullopt;
  };
  tsk::Runtime runtime(options);
  CHECK(runtime.run("import \"lib/util.tsk\" as u\n"
                    "let again = spawn { import \"lib/util.tsk\" as u2\n return u2.x }\n"
                    "print(u.x, u.twice(4), await again)\n"
                    "try { import \"lib/missing.tsk\" as m } catch e { print(e.kind, e.message) }\n"
                    "try { import \"lib/broken.tsk\" as b } catch e { print(e.kind, e.message) }\n"
                    "try { import \"lib/bad.tsk\" as b } catch e { print(e.kind, e.message) }\n",
                    "main.tsk") == 0);
  CHECK(err == "");
  CHECK(out ==
        "42 8 42\n"
        "ImportError no module 'lib/missing.tsk' (the host's loader has none)\n"
        "IOError the store is down\n"
        "ImportError cannot load module 'lib/bad.tsk': no access\n");
  // Each module is loaded once, whichever task imports it.
  CHECK(std::count(asked.begin(), asked.end(), "lib/util.tsk") == 1);
  CHECK(std::count(asked.begin(), asked.end(), "lib/helper.tsk") == 1);
}
}  // TEST_SUITE("runtime module loader")

TEST_CASE("a sandbox leaves out the modules it does not list, and os.env") {
  std::string out, err;
  tsk::Options options;
  options.out = [&](std::string_view s) { out += s; };
  options.err = [&](std::string_view s) { err += s; };
  options.modules = tsk::sandbox_modules();
  tsk::Runtime runtime(options);
  runtime.define("host", "answer()", tsk::Effect::instant, "42", [] { return 42; });
  CHECK(runtime.run("import math\nimport host\nprint(math.floor(2.5), host.answer())\n"
                    "try { import fs } catch e { print(e.kind, e.message) }\n"
                    "try { import proc } catch e { print(e.kind, e.message) }\n"
                    "import os\n"
                    "try { os.env(\"HOME\") } catch e { print(e.kind, e.message) }\n",
                    "s.tsk") == 0);
  CHECK(err == "");
  CHECK(out ==
        "2 42\n"
        "ImportError module 'fs' is not allowed in this runtime (a sandbox)\n"
        "ImportError module 'proc' is not allowed in this runtime (a sandbox)\n"
        "Error os.env() is not allowed in this runtime (a sandbox)\n");
  std::vector<std::string> all = tsk::standard_modules(), sandbox = tsk::sandbox_modules();
  CHECK(std::find(all.begin(), all.end(), "os.env") != all.end());
  CHECK(std::find(all.begin(), all.end(), "net") != all.end());
  CHECK(sandbox.size() == all.size() - 4);

  tsk::Options bad;
  bad.modules = std::vector<std::string>{"math", "sockets"};
  CHECK_THROWS_WITH_AS(tsk::Runtime{bad}, "tsk: Options::modules: 'sockets' is not a standard module (nor os.env)",
                       std::invalid_argument);
}

TEST_CASE("syntax errors give status 2 and file:line:col") {
  Outcome o = run("let x = (1 +\n");
  CHECK(o.status == 2);
  CHECK(o.err.find("t.tsk:") == 0);
}

TEST_CASE("os.exit flushes output and returns its code") {
  Outcome o = run("import os\nprint(\"before\")\nos.exit(3)\nprint(\"after\")\n");
  CHECK(o.status == 3);
  CHECK(o.out == "before\n");
}
