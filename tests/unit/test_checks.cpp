// Tests of the engine's invariant checks (vm/check.hpp): in a checked build (no NDEBUG:
// the torture, sanitizer and coverage builds) a broken invariant aborts with its message,
// file and line; in a release build a check compiles to nothing and its condition is not
// even evaluated. Each failure is provoked in a forked child process, whose stderr and
// exit signal the parent reads: the check ends the process, so it cannot run in ours.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

#include "runtime/runtime.hpp"
#include "runtime/wait_queue.hpp"
#include "stdlib/registry.hpp"
#include "tsk/tsk.hpp"
#include "vm/check.hpp"
#include "vm/heap.hpp"
#include "vm/proto.hpp"
#include "vm/task_state.hpp"

namespace {

#ifndef NDEBUG

struct ChildOutcome {
  bool aborted = false;  // ended by SIGABRT
  std::string err;       // what it wrote to stderr
};

// Runs `body` in a forked child with its stderr captured. The child exits 0 if `body`
// returns, so a check that does not fire shows as a child that was not aborted.
ChildOutcome run_in_child(const std::function<void()>& body) {
  ChildOutcome o;
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::fflush(nullptr);  // nothing buffered is written twice
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    body();
    _exit(0);
  }
  close(fds[1]);
  char buf[4096];
  ssize_t got;
  while ((got = read(fds[0], buf, sizeof buf)) > 0) o.err.append(buf, size_t(got));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  o.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  return o;
}

// A native that claims to be instant but suspends its task, as a yields native does.
tsk::vm::Value suspends(tsk::vm::TaskState& t, tsk::vm::Value*, int) {
  t.suspended = true;
  return tsk::vm::Value::nil();
}

const tsk::vm::NativeEntry kLyingNative = {
    "", "lying", "lying()", tsk::vm::Effect::Instant, "Says instant, but suspends", suspends, 0, 0};

#endif

}  // namespace

TEST_SUITE("checks") {

#ifndef NDEBUG

TEST_CASE("a failing check prints its message, file and line, and aborts") {
  ChildOutcome o = run_in_child([] { TSK_CHECK(1 + 1 == 3, "arithmetic holds"); });
  CHECK(o.aborted);
  CHECK(o.err.find("tsk: internal check failed: arithmetic holds (") != std::string::npos);
  CHECK(o.err.find("test_checks.cpp:") != std::string::npos);
}

TEST_CASE("a holding check lets the program go on") {
  ChildOutcome o = run_in_child([] { TSK_CHECK(1 + 1 == 2, "arithmetic holds"); });
  CHECK_FALSE(o.aborted);
  CHECK(o.err == "");
}

TEST_CASE("a wait queue node pushed into a second queue fails its check") {
  ChildOutcome o = run_in_child([] {
    tsk::rt::WaitQueue first, second;
    tsk::rt::Waiter node;
    first.push_back(&node);
    second.push_back(&node);  // still in `first`: its links would now be shared by two lists
  });
  CHECK(o.aborted);
  CHECK(o.err.find("a wait queue node is in at most one queue") != std::string::npos);
}

TEST_CASE("a counted object released once too often fails its check") {
  ChildOutcome o = run_in_child([] {
    tsk::vm::Heap heap(false);
    tsk::vm::String* s = heap.string("published");
    // As freeze would publish it, but with its one reference already dropped.
    s->flags |= tsk::vm::kShared | tsk::vm::kCounted;
    s->refs = 0;
    tsk::vm::release_shared(s);
  });
  CHECK(o.aborted);
  CHECK(o.err.find("reference count never goes below zero") != std::string::npos);
}

TEST_CASE("an instant native that suspends its task fails its check") {
  ChildOutcome o = run_in_child([] {
    tsk::Runtime runtime;
    tsk::vm::TaskState& task = runtime.internal().main_task();
    // fn(f) { return f() } by hand: CALL R0 with no arguments, RET R0.
    tsk::vm::Proto proto;
    proto.name = "apply";
    proto.nparams = 1;
    proto.nregs = 1;
    proto.code = {tsk::vm::Instr::abc(tsk::vm::Op::CALL, 0, 0), tsk::vm::Instr::abc(tsk::vm::Op::RET, 0)};
    proto.locs = {tsk::lang::Loc{}, tsk::lang::Loc{}};
    tsk::vm::Value apply = tsk::vm::Value::object(task.heap.closure(&proto, nullptr, 0));
    tsk::vm::Value lying = tsk::vm::Value::object(task.heap.native(&kLyingNative));
    task.call(apply, &lying, 1);
  });
  CHECK(o.aborted);
  CHECK(o.err.find("an instant native suspended its task") != std::string::npos);
}

#else

TEST_CASE("a release build does not evaluate a check's condition") {
  int evaluated = 0;
  TSK_CHECK((++evaluated, false), "never evaluated");
  CHECK(evaluated == 0);
}

#endif

}  // TEST_SUITE("checks")
