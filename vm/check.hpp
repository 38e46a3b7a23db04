// Engine invariants: TSK_CHECK(cond, "message") states something the engine itself
// guarantees (a frame lies within its task's stack, a reference count stays positive,
// a task moves only between the states rt::Task documents). It is not for validating
// what a script or a host passes in: bad input gets an error, never a check.
//
// Checks are compiled in wherever assert() is (no NDEBUG): the torture, sanitizer and
// coverage builds. A failing check prints its message, file and line to stderr and
// aborts, so the sanitizers, the fuzzer and the test drivers all see a crash at the
// place the invariant broke rather than some corruption later. A release build compiles
// each check to nothing (the condition is not evaluated), so they cost the hot paths of
// the interpreter, the channels and the scheduler nothing there.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace tsk {

[[noreturn, gnu::cold, gnu::noinline]] inline void check_failed(const char* message, const char* file,
                                                               int line) {
  std::fprintf(stderr, "tsk: internal check failed: %s (%s:%d)\n", message, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace tsk

#ifdef NDEBUG
// sizeof keeps the condition's names "used" without evaluating it.
#define TSK_CHECK(cond, message) ((void)sizeof(!(cond)))
#else
#define TSK_CHECK(cond, message) ((cond) ? (void)0 : ::tsk::check_failed((message), __FILE__, __LINE__))
#endif
