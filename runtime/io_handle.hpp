// The `handle` type (SPEC §15): an open file, socket, listener, pipe or process, shared
// by reference between tasks like a channel (a heap holds it through a vm::Handle of tag
// IoHandle). THIS IS THE API the io, net, fs and proc modules build on:
//
//   Value h = rt::new_handle(t, IoHandle::File, fd, "data.csv");   // "<file data.csv>"
//   IoHandle* h = rt::handle_arg(t, args, 0, "io.read");         // TypeError otherwise
//   IoHandle::Use use(t, *h, "io.read");   // IOError if closed; the fd stays open while `use` lives
//   ... ::read(use.fd(), ...) ...
//   h->close();                            // idempotent
//
// Descriptor lifetime: the fd is closed by the last of close() and the operations in
// flight (`Use`), so a task's read never lands on a descriptor number another open has
// reused. A pollable handle (socket, pipe) waits through the reactor: its maker sets
// O_NONBLOCK (and O_CLOEXEC) before new_handle; a regular file (pollable = false) is
// read and written on the blocking pool. A `yields` native registers its FdWait while
// its `Use` still holds the descriptor (so a close meanwhile wakes it). Every handle is in its
// runtime's registry until closed, and the runtime closes those left when it ends.
//
// Concurrency: `lock` guards the read buffer (bytes read past a line) and the closed
// state; it is held only around a non-blocking system call or a buffer's update, never
// across a wait, so one task may read while another writes.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "vm/task_state.hpp"
#include "vm/value.hpp"

namespace tsk::rt {

class Runtime;
class IoHandle;
class Channel;
class Task;

// The open handles of a runtime (shared with the handles, which may outlive it).
struct HandleRegistry {
  std::mutex lock;
  std::set<IoHandle*> open;
  Runtime* runtime = nullptr;  // null once the runtime has ended
  // io.stdin, io.stdout, io.stderr of the runtime, once looked up (the io module's
  // shared heap holds them).
  IoHandle* standard[3] = {nullptr, nullptr, nullptr};
};

class IoHandle final : public vm::RefCounted {
 public:
  enum Kind : uint8_t { File, Stdin, Stdout, Stderr, Tcp, Listener, Pipe, Process };
  IoHandle(std::shared_ptr<HandleRegistry> registry, Kind kind, int fd, std::string name, bool pollable);
  ~IoHandle() override;
  // "<file data.csv>", "<tcp 127.0.0.1:40312>", "<listener [::1]:8080>", "<process 1234>".
  std::string describe() const override;

  const Kind kind;
  const std::string name;
  const bool pollable;       // non-blocking, waited on through the reactor
  pid_t pid = -1;            // Process: its id (proc sets it)
  int exit_status = -1;      // Process: its status once reaped (proc; guarded by lock)
  // A pidfd or other extra descriptor a module keeps with the handle (closed with it,
  // and forgotten by the reactor then, so it may be waited on with FdWait).
  int extra_fd = -1;

  std::mutex lock;
  std::string rbuf;          // read but not yet returned (guarded by lock)
  size_t rpos = 0;           // where rbuf's unread part starts
  bool eof = false;          // the end of input was read (guarded by lock)
  // io.lines's channel (a reference), closed by io.close (guarded by lock).
  Channel* lines_chan = nullptr;
  // io.lines's feeder tasks: cancelled when the handle closes (references).
  void add_feeder(Task* feeder);

  // Closes it (idempotent): waiters on it wake and find it closed.
  void close();
  bool closed();

  // An operation in flight: holds the descriptor open. Raises IOError "<what>: the
  // handle is closed" when it is.
  class Use {
   public:
    Use(vm::TaskState& t, IoHandle& h, const std::string& what);
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;
    int fd() const { return fd_; }

   private:
    IoHandle& h_;
    int fd_;
  };

 private:
  void close_fd_now();
  std::shared_ptr<HandleRegistry> registry_;
  std::vector<Task*> feeders_;  // guarded by lock
  int fd_;
  int users_ = 0;            // Uses in flight (guarded by lock)
  bool closed_ = false;      // guarded by lock
  bool fd_closed_ = false;   // guarded by lock
};

// A new handle value in `t`'s heap for `fd` (taken over: the handle closes it).
vm::Value new_handle(vm::TaskState& t, IoHandle::Kind kind, int fd, std::string name, bool pollable);
// args[i] as a handle, or TypeError naming `fn`.
IoHandle* handle_arg(vm::TaskState& t, const vm::Value* args, int i, const char* fn);
// Raises IOError "<what>: <strerror(error)>" (SPEC §15's form: `fs.read("nope.txt"): No
// such file or directory`).
[[noreturn]] void raise_io(vm::TaskState& t, const std::string& what, int error);
// `"text"` quoted as SPEC §15's messages quote paths and addresses.
std::string quoted(std::string_view s);

}  // namespace tsk::rt
