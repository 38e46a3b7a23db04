// The blocking pool (DESIGN decision 7, SPEC §10): threads that run the system calls a
// task must not make on its worker — a `blocks` native whole, a regular file's read or
// write, a name lookup — while the task that asked is parked. Tokio's spawn_blocking.
//
// Bounded at kMaxThreads (Tokio's 512: calls that wait on each other, a FIFO's reader
// and writer, must not starve each other), grown on demand (a job that finds no idle
// thread starts one), and shrunk: a thread idle for kIdleExit leaves. Started lazily, so
// a script that never blocks starts no thread. Past the bound, jobs queue.
//
// Rejected: Go's hand-off (the worker makes the call inline and a monitor hands its
// queue to a spare thread when the call lasts): it needs the scheduler's workers to be
// replaceable mid-run, which they are not yet, and its saving (no thread switch for a
// call that turns out fast) does not matter here, because the calls that are usually fast
// (print) do their fast part inline and send only the slow part (docs/architecture.md has
// the measured cost of one hand-off).
//
// Shutdown: the destructor stops idle threads and waits for the jobs that touch a
// runtime's state (`submit(job, true)`), but not for a job stuck in a system call that
// may never return (a read of a terminal): such a thread is detached, and its job must
// not touch anything the runtime owns when it comes back (runtime/outside.hpp's
// Completion checks that the runtime is still alive).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace tsk::rt {

class BlockingPool {
 public:
  static constexpr size_t kMaxThreads = 512;
  static constexpr std::chrono::seconds kIdleExit{10};
  // How long a thread that finished a job looks for the next before it sleeps: longer
  // than a task's turn-around between two calls (a few µs), far shorter than a tick.
  static constexpr std::chrono::microseconds kSpin{50};

  BlockingPool() : shared_(std::make_shared<Shared>()) {}
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Runs `job` on a pool thread. `touches_runtime`: the destructor waits for it.
  void submit(std::function<void()> job, bool touches_runtime = false);

  // This thread is one of a pool's (the checked builds assert a `blocks` native runs
  // on one, never on a worker).
  static bool on_pool_thread();

  size_t threads() const;

 private:
  struct Job {
    std::function<void()> fn;
    bool touches_runtime;
  };
  // Shared with the threads, which may outlive the pool (detached in a system call).
  struct Shared {
    mutable std::mutex lock;
    std::condition_variable work_cv;   // a job was queued, or the pool stops
    std::condition_variable done_cv;   // a runtime-touching job ended, or a thread left
    std::deque<Job> jobs;
    size_t threads = 0;
    size_t idle = 0;
    size_t spinning = 0;               // threads looking for a job before they sleep
    std::atomic<size_t> queued{0};     // jobs.size(), readable without the lock
    size_t runtime_jobs = 0;           // runtime-touching jobs queued or running
    bool stopping = false;
  };
  static void thread_main(std::shared_ptr<Shared> shared);
  std::shared_ptr<Shared> shared_;
};

}  // namespace tsk::rt
