// Handles: their descriptors' lifetime and the runtime's registry (runtime/io_handle.hpp).
#include "runtime/io_handle.hpp"

#include <unistd.h>

#include <cstring>

#include "runtime/blocking_pool.hpp"
#include "runtime/channel.hpp"
#include "runtime/task.hpp"
#include "runtime/outside.hpp"
#include "runtime/reactor.hpp"
#include "runtime/runtime.hpp"
#include "vm/ops.hpp"

namespace tsk::rt {

IoHandle::IoHandle(std::shared_ptr<HandleRegistry> registry, Kind k, int fd, std::string n, bool poll)
    : kind(k), name(std::move(n)), pollable(poll), registry_(std::move(registry)), fd_(fd) {
  std::lock_guard g(registry_->lock);
  registry_->open.insert(this);
}

IoHandle::~IoHandle() { close(); }

std::string IoHandle::describe() const {
  const char* what = "file";
  switch (kind) {
    case File: what = "file"; break;
    case Stdin: case Stdout: case Stderr: return "<" + name + ">";
    case Tcp: what = "tcp"; break;
    case Listener: what = "listener"; break;
    case Pipe: what = "pipe"; break;
    case Process: what = "process"; break;
  }
  return std::string("<") + what + " " + name + ">";
}

bool IoHandle::closed() {
  std::lock_guard g(lock);
  return closed_;
}

void IoHandle::add_feeder(Task* feeder) {
  feeder->retain();
  std::lock_guard g(lock);
  feeders_.push_back(feeder);
}

void IoHandle::close() {
  std::vector<Task*> feeders;
  Channel* lines = nullptr;
  {
    std::lock_guard g(lock);
    if (closed_) return;
    closed_ = true;
    feeders.swap(feeders_);
    lines = std::exchange(lines_chan, nullptr);
  }
  {
    std::lock_guard g(registry_->lock);
    registry_->open.erase(this);
    // io.lines's feeders stop now, wherever they wait.
    for (Task* f : feeders) {
      if (registry_->runtime) registry_->runtime->cancel_task(f);
      f->release();
    }
    if (lines) lines->release();
  }
  std::lock_guard g(lock);
  if (users_ == 0) close_fd_now();
}

void IoHandle::close_fd_now() {
  if (fd_closed_) return;
  fd_closed_ = true;
  // Tasks waiting on it wake (and find it closed when they try again), and the number
  // leaves the epoll set before another open can reuse it. Here, once no operation
  // holds it: a task registers its wait while it still holds the descriptor.
  if (pollable || extra_fd >= 0) {
    std::lock_guard g(registry_->lock);
    if (registry_->runtime)
      if (Reactor* r = registry_->runtime->reactor_if_started()) {
        if (pollable && fd_ >= 0) r->close_fd(fd_);
        if (extra_fd >= 0) r->close_fd(extra_fd);  // a process's pidfd, waited on in the reactor
      }
  }
  // The standard streams stay open for the process (and for the runtime's own output).
  if (kind != Stdin && kind != Stdout && kind != Stderr && fd_ >= 0) ::close(fd_);
  if (extra_fd >= 0) ::close(extra_fd);
}

IoHandle::Use::Use(vm::TaskState& t, IoHandle& h, const std::string& what) : h_(h) {
  {
    std::lock_guard g(h.lock);
    if (!h.closed_) {
      h.users_++;
      fd_ = h.fd_;
      return;
    }
  }
  t.raise("IOError", what + ": the handle is closed");
}

IoHandle::Use::~Use() {
  std::lock_guard g(h_.lock);
  if (--h_.users_ == 0 && h_.closed_) h_.close_fd_now();
}

vm::Value new_handle(vm::TaskState& t, IoHandle::Kind kind, int fd, std::string name, bool pollable) {
  auto* h = new IoHandle(runtime_of(t).handles, kind, fd, std::move(name), pollable);
  vm::Value v = vm::Value::object(t.heap.handle(vm::Tag::IoHandle, h));
  h->release();  // the heap's handle holds it now
  return v;
}

IoHandle* handle_arg(vm::TaskState& t, const vm::Value* args, int i, const char* fn) {
  if (args[i].tag != vm::Tag::IoHandle)
    t.raise("TypeError", std::string(fn) + "() expects a handle, got " + vm::type_name(args[i]));
  return static_cast<IoHandle*>(args[i].as_handle()->target);
}

void raise_io(vm::TaskState& t, const std::string& what, int error) {
  t.raise("IOError", what + ": " + std::strerror(error));
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// {=== the runtime's outside world: lazily started, ended first

BlockingPool& Runtime::blocking_pool() {
  // Only tasks (and flush_soon, which locks) ask: none runs once end_outside has begun.
  if (BlockingPool* p = pool_ptr_.load(std::memory_order_acquire)) return *p;
  std::lock_guard g(outside_start_);
  if (!blocking_pool_) {
    blocking_pool_ = std::make_unique<BlockingPool>();
    pool_ptr_.store(blocking_pool_.get(), std::memory_order_release);
  }
  return *blocking_pool_;
}

Reactor& Runtime::reactor() {
  if (Reactor* r = reactor_.load(std::memory_order_acquire)) return *r;
  std::lock_guard g(outside_start_);
  if (!reactor_owner_) {
    reactor_owner_ = std::make_unique<Reactor>(*this);
    reactor_.store(reactor_owner_.get(), std::memory_order_release);
  }
  return *reactor_owner_;
}

void Runtime::end_outside() {
  // Handles left open are closed (SPEC §15); a handle that outlives this (held by a
  // completion still running) no longer reaches the runtime.
  std::vector<IoHandle*> open;
  {
    std::lock_guard g(handles->lock);
    for (IoHandle* h : handles->open) {
      h->retain();
      open.push_back(h);
    }
  }
  for (IoHandle* h : open) {
    h->close();
    h->release();
  }
  {
    std::lock_guard g(handles->lock);
    handles->runtime = nullptr;
  }
  // Runtime-touching pool jobs end first (the pool's destructor waits for them), then
  // completions arriving later find the runtime gone. The pointer goes first: nobody may
  // find the pool while it is being destroyed.
  std::unique_ptr<BlockingPool> pool;
  {
    std::lock_guard g(outside_start_);
    outside_ended_ = true;
    pool_ptr_.store(nullptr);
    pool = std::move(blocking_pool_);
  }
  pool.reset();
  {
    std::lock_guard g(liveness->lock);
    liveness->alive = false;
  }
  reactor_.store(nullptr);
  reactor_owner_.reset();
}

// }===

}  // namespace tsk::rt
