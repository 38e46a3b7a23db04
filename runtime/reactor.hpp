// The reactor (DESIGN decision 7): one epoll instance per runtime that tells parked tasks
// their descriptor (a socket, a pipe) is ready. Made at the first wait on a descriptor.
//
// Each descriptor has at most one reading and one writing waiter (a task and the
// generation of its wait): one task reads a socket while another writes it. Interest is
// one-shot (EPOLLONESHOT) and re-armed at each registration, so a ready descriptor that
// nobody waits on costs nothing. A readiness event claims the waiter's wait and wakes it
// through Scheduler::wake; the task then calls its native again, which retries the
// system call.
//
// No thread of its own (DESIGN 7): the scheduler polls it. The worker about to park with
// nothing to do blocks in wait() instead of on its condition variable, with the timeout
// of the next timer, and dispatches what it gets on its own queues; the eventfd in the
// same epoll set (kick()) wakes it for everything a parked worker is woken for. Busy
// workers poll without blocking now and then (Scheduler::poll_io). The reactor attaches
// to the scheduler when it is made and detaches when it goes (the destructor waits until
// no worker is inside it).
//
// Invariants: a registered waiter holds a reference to its task; it leaves the table
// when its event fires (the reactor drops the reference after the wake), when the task
// resumes otherwise (forget(): cancelled or timed out), or when the descriptor closes
// (close_fd wakes it: its native then finds the handle closed).
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace tsk::rt {

class Runtime;
class Task;

class Reactor {
 public:
  explicit Reactor(Runtime& runtime);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  enum Direction : uint8_t { Read = 0, Write = 1 };
  // Wakes `task` (claiming its wait `gen`) when `fd` is ready for `dir`. Returns false
  // when the descriptor cannot be polled (a regular file: EPERM), with errno set.
  bool add(int fd, Direction dir, Task* task, uint64_t gen);
  // Removes `task`'s registration on `fd`, if it is still there.
  void forget(int fd, Task* task);
  // The descriptor is being closed: wakes its waiters and drops its interest.
  void close_fd(int fd);

  // What one wait returned: readiness events, the kick among them.
  struct Ready {
    static constexpr int kMax = 128;
    epoll_event events[kMax];
    int n = 0;
  };
  // Waits until a descriptor is ready, kick() is called, or `until` (none: for ever;
  // a time past: does not block). Any thread; the scheduler's worker about to park.
  void wait(Ready& out, const std::chrono::steady_clock::time_point* until);
  // Wakes the waiters of the ready descriptors (Scheduler::wake: on the calling worker's
  // own queues). Must not be called under the scheduler's mutex.
  void dispatch(const Ready& ready);
  // Makes a wait() return (the scheduler, under its mutex), and drain() re-arms it.
  void kick();
  void drain();

 private:
  struct Waiter {
    Task* task = nullptr;
    uint64_t gen = 0;
  };
  struct Entry {
    Waiter waiter[2];
    bool added = false;  // known to epoll (EPOLL_CTL_ADD done)
  };
  // Re-arms `fd`'s interest from its waiters (lock_ held).
  bool arm(int fd, Entry& e);
  void wake(Waiter w);

  Runtime& runtime_;
  int epoll_fd_ = -1;
  int event_fd_ = -1;  // kick(): wakes the worker blocked in wait()
  std::mutex lock_;
  std::unordered_map<int, Entry> entries_;
};

}  // namespace tsk::rt
