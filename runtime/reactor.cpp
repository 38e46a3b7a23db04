// The reactor's epoll loop and waiter table (runtime/reactor.hpp).
#include "runtime/reactor.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
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
  thread_ = std::thread([this] { loop(); });
}

Reactor::~Reactor() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(event_fd_, &one, sizeof one);
  thread_.join();
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

void Reactor::loop() {
  epoll_event events[64];
  for (;;) {
    int n = epoll_wait(epoll_fd_, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == event_fd_) return;  // the runtime is going
      uint32_t ev = events[i].events;
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
}

}  // namespace tsk::rt
