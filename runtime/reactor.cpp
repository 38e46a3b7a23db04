// The reactor's epoll loop and waiter table (runtime/reactor.hpp).
#include "runtime/reactor.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "runtime/runtime.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/task.hpp"

namespace tsk::rt {

Reactor::Reactor(Runtime& runtime) : runtime_(runtime) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || event_fd_ < 0)
    throw std::runtime_error(std::string("cannot start the I/O reactor: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = event_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev);
  if (runtime_.scheduler) runtime_.scheduler->attach_reactor(this);
}

Reactor::~Reactor() {
  // No worker is inside wait() or dispatch() once this returns, and none enters again.
  if (runtime_.scheduler) runtime_.scheduler->detach_reactor(this);
  for (auto& [fd, e] : entries_)
    for (Waiter& w : e.waiter)
      if (w.task) w.task->release();
  ::close(epoll_fd_);
  ::close(event_fd_);
}

bool Reactor::arm(int fd, Entry& e) {
  epoll_event ev{};
  ev.data.fd = fd;
  ev.events = EPOLLONESHOT | (e.waiter[Read].task ? EPOLLIN | EPOLLRDHUP : 0u) | (e.waiter[Write].task ? EPOLLOUT : 0u);
  // A descriptor number closed without close_fd and then reused is no longer in the
  // epoll set (the kernel dropped it at the close): add it again.
  if (e.added) {
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0) return true;
    if (errno != ENOENT) return false;
  }
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  e.added = true;
  return true;
}

bool Reactor::add(int fd, Direction dir, Task* task, uint64_t gen) {
  std::lock_guard g(lock_);
  Entry& e = entries_[fd];
  Waiter old = e.waiter[dir];
  e.waiter[dir] = Waiter{task, gen};
  if (!arm(fd, e)) {
    int error = errno;
    e.waiter[dir] = old;
    if (!e.waiter[Read].task && !e.waiter[Write].task && !e.added) entries_.erase(fd);
    errno = error;
    return false;
  }
  task->retain();
  // A waiter left from a wait that ended otherwise (it forgot it): this one replaces it.
  if (old.task) old.task->release();
  return true;
}

void Reactor::forget(int fd, Task* task) {
  Task* dropped = nullptr;
  {
    std::lock_guard g(lock_);
    auto it = entries_.find(fd);
    if (it == entries_.end()) return;
    for (Waiter& w : it->second.waiter)
      if (w.task == task) {
        dropped = w.task;
        w = Waiter{};
      }
    if (dropped && (it->second.waiter[Read].task || it->second.waiter[Write].task)) arm(fd, it->second);
  }
  if (dropped) dropped->release();
}

void Reactor::close_fd(int fd) {
  Waiter woken[2];
  {
    std::lock_guard g(lock_);
    auto it = entries_.find(fd);
    if (it == entries_.end()) return;
    woken[0] = it->second.waiter[0];
    woken[1] = it->second.waiter[1];
    if (it->second.added) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    entries_.erase(it);
  }
  for (Waiter& w : woken)
    if (w.task) wake(w);
}

void Reactor::wake(Waiter w) {
  if (w.task->claim(w.gen)) runtime_.scheduler->wake(w.task);
  w.task->release();
}

void Reactor::kick() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(event_fd_, &one, sizeof one);
}

void Reactor::drain() {
  uint64_t value;
  [[maybe_unused]] ssize_t n = ::read(event_fd_, &value, sizeof value);
}

void Reactor::wait(Ready& out, const std::chrono::steady_clock::time_point* until) {
  out.n = 0;
  timespec ts{};
  const timespec* timeout = nullptr;  // for ever
  if (until) {
    auto left = *until - std::chrono::steady_clock::now();
    if (left.count() > 0) {
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      ts.tv_sec = time_t(ns / 1'000'000'000);
      ts.tv_nsec = long(ns % 1'000'000'000);
    }
    timeout = &ts;
  }
  int n = epoll_pwait2(epoll_fd_, out.events, Ready::kMax, timeout, nullptr);
  if (n < 0 && errno == ENOSYS) {
    // A kernel before 5.11: milliseconds, rounded up so a timer is never early.
    int ms = -1;
    if (timeout) ms = int(std::min<int64_t>(INT32_MAX, (int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec + 999'999) / 1'000'000));
    n = epoll_wait(epoll_fd_, out.events, Ready::kMax, ms);
  }
  out.n = n < 0 ? 0 : n;  // EINTR: the caller looks for work and comes back
}

void Reactor::dispatch(const Ready& ready) {
  for (int i = 0; i < ready.n; i++) {
    int fd = ready.events[i].data.fd;
    if (fd == event_fd_) continue;  // a kick: the scheduler drains it
    uint32_t ev = ready.events[i].events;
    Waiter woken[2];
    {
      std::lock_guard g(lock_);
      auto it = entries_.find(fd);
      if (it == entries_.end()) continue;
      Entry& e = it->second;
      bool failed = ev & (EPOLLERR | EPOLLHUP);
      if ((ev & (EPOLLIN | EPOLLRDHUP)) || failed) woken[Read] = std::exchange(e.waiter[Read], Waiter{});
      if ((ev & EPOLLOUT) || failed) woken[Write] = std::exchange(e.waiter[Write], Waiter{});
      // One-shot: a waiter still there (its direction was not ready) needs re-arming.
      if (e.waiter[Read].task || e.waiter[Write].task) arm(fd, e);
    }
    for (Waiter& w : woken)
      if (w.task) wake(w);
  }
}

}  // namespace tsk::rt
