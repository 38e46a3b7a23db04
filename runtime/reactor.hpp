// The reactor (DESIGN decision 7): one epoll instance per runtime that tells parked tasks
// their descriptor (a socket, a pipe) is ready. Made at the first wait on a descriptor.
//
// Each descriptor has at most one reading and one writing waiter (a task and the
// generation of its wait): one task reads a socket while another writes it. Interest is
// one-shot (EPOLLONESHOT) and re-armed at each registration, so a ready descriptor that
// nobody waits on costs nothing. A readiness event claims the waiter's wait and wakes it
// through Scheduler::wake, the path for wakes from outside the workers; the task then
// calls its native again, which retries the system call.
//
// It runs on a thread of its own, started with the reactor. DESIGN 7 has an idle worker
// poll it; that needs the worker's parking to wait on the epoll descriptor too (the
// scheduler is being reworked as this is written), so it is the next step
// (docs/architecture.md has the measured latency of the extra thread's wake).
//
// Invariants: a registered waiter holds a reference to its task; it leaves the table
// when its event fires (the reactor drops the reference after the wake), when the task
// resumes otherwise (forget(): cancelled or timed out), or when the descriptor closes
// (close_fd wakes it: its native then finds the handle closed).
#pragma once

#include <cstdint>
#include <mutex>
#include <thread>
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

 private:
  struct Waiter {
    Task* task = nullptr;
    uint64_t gen = 0;
  };
  struct Entry {
    Waiter waiter[2];
    bool added = false;  // known to epoll (EPOLL_CTL_ADD done)
  };
  void loop();
  // Re-arms `fd`'s interest from its waiters (lock_ held).
  bool arm(int fd, Entry& e);
  void wake(Waiter w);

  Runtime& runtime_;
  int epoll_fd_ = -1;
  int event_fd_ = -1;  // written by the destructor to stop the loop
  std::mutex lock_;
  std::unordered_map<int, Entry> entries_;
  std::thread thread_;
};

}  // namespace tsk::rt
