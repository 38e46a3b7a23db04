// Unit tests of the VM and the public API: whole programs through tsk::Runtime with the
// output captured, the collector keeping memory flat, deep recursion, independence of
// runtimes, and the instruction budget.
#include <doctest/doctest.h>

#include <string>

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
  CHECK(o.err.find("instruction budget exhausted") != std::string::npos);
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
