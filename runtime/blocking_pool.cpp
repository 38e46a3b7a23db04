// The blocking pool's threads (runtime/blocking_pool.hpp says why it exists and how it
// ends).
#include "runtime/blocking_pool.hpp"

#include <thread>

namespace tsk::rt {

namespace {
thread_local bool tl_pool_thread = false;
}

bool BlockingPool::on_pool_thread() { return tl_pool_thread; }

void BlockingPool::submit(std::function<void()> job, bool touches_runtime) {
  bool start = false;
  {
    std::lock_guard g(shared_->lock);
    shared_->jobs.push_back(Job{std::move(job), touches_runtime});
    shared_->queued.fetch_add(1, std::memory_order_relaxed);
    if (touches_runtime) shared_->runtime_jobs++;
    // Every queued job needs an idle thread of its own, or a new one.
    if (shared_->idle + shared_->spinning < shared_->jobs.size() && shared_->threads < kMaxThreads) {
      shared_->threads++;
      start = true;
    }
  }
  if (start) std::thread(thread_main, shared_).detach();
  else shared_->work_cv.notify_one();
}

size_t BlockingPool::threads() const {
  std::lock_guard g(shared_->lock);
  return shared_->threads;
}

void BlockingPool::thread_main(std::shared_ptr<Shared> s) {
  tl_pool_thread = true;
  std::unique_lock g(s->lock);
  for (;;) {
    if (s->jobs.empty()) {
      if (s->stopping) break;
      // Spin a little before sleeping: a task that makes blocking calls in a loop hands
      // the next one over within microseconds, and a futex wake-up costs more than that.
      s->spinning++;
      g.unlock();
      auto until = std::chrono::steady_clock::now() + kSpin;
      while (s->queued.load(std::memory_order_relaxed) == 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::yield();
      g.lock();
      s->spinning--;
      if (!s->jobs.empty()) continue;
      if (s->stopping) break;
      s->idle++;
      bool woken = s->work_cv.wait_for(g, kIdleExit, [&] { return !s->jobs.empty() || s->stopping; });
      s->idle--;
      if (!woken) break;  // idle too long: leave
      continue;
    }
    Job job = std::move(s->jobs.front());
    s->jobs.pop_front();
    s->queued.fetch_sub(1, std::memory_order_relaxed);
    g.unlock();
    job.fn();
    job.fn = nullptr;  // what it captured goes before the pool hears it ended
    g.lock();
    if (job.touches_runtime && --s->runtime_jobs == 0) s->done_cv.notify_all();
  }
  s->threads--;
  s->done_cv.notify_all();
}

BlockingPool::~BlockingPool() {
  std::unique_lock g(shared_->lock);
  shared_->stopping = true;
  shared_->work_cv.notify_all();
  // The jobs that touch the runtime's state end before it goes; the others (a system
  // call that may never return) are left to their detached threads.
  shared_->done_cv.wait(g, [&] { return shared_->runtime_jobs == 0; });
}

}  // namespace tsk::rt
