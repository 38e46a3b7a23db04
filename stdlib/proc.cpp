// The `proc` module (SPEC §15): running commands. run() runs one to its end and returns
// {status, stdout, stderr}; start() starts one and returns its pipes as handles for `io`
// and its process handle for wait() and kill().
//
// Starting. posix_spawn (a vfork and exec in glibc, safe in a process full of threads:
// the child touches nothing of the parent's state before exec), with the child's signal
// mask emptied and every signal's disposition reset to the default: the tsk command
// blocks SIGINT/SIGTERM in its threads and ignores SIGPIPE, which a command must not
// inherit. Every descriptor of the runtime is O_CLOEXEC, and any the process inherited
// without it is closed in the child, so the child gets its three streams and nothing else. A list is run as it is (its program looked up in PATH), a
// string by /bin/sh -c.
//
// run (`yields`). The command is started, fed its stdin, read on both output pipes and
// reaped on a blocking-pool thread that polls the pipes, the process's pidfd and an
// eventfd, while the task is parked in a cancellable wait. Its command runs in a process
// group of its own, so that a timeout or a cancel kills the whole of it (`sh -c "a | b"`
// and what it started) with SIGKILL. A cancel kills and reaps it at once, on the task's
// own thread as it leaves the wait (OutsideOp::abandoned), so no zombie is left behind.
//
// wait (`yields`) parks on a pidfd of the process through the reactor (one for each
// waiting task: several may wait at once); the status is kept in the process handle, so
// waiting again returns it again. A status is the exit code, or 128 +
// the signal's number for a command a signal ended (as a shell reports it: SIGKILL is
// 137). kill (`instant`) signals through the pidfd, so a reused process id is never hit.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "runtime/io_handle.hpp"
#include "runtime/outside.hpp"
#include "runtime/runtime.hpp"
#include "stdlib/natives.hpp"
#include "vm/heap.hpp"

extern char** environ;

namespace {
// By system call: glibc 2.36's <sys/pidfd.h> lacks C linkage for C++, and older ones lack it.
int open_pidfd(pid_t pid) { return int(::syscall(SYS_pidfd_open, pid, 0)); }
int signal_pidfd(int pidfd, int sig) { return int(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0)); }
}  // namespace

namespace tsk::stdlib {

namespace {

using rt::Clock;
using vm::Effect;
using vm::NativeEntry;

// {=== commands

// What a command needs to start, taken from the script's values on the task's thread.
struct Command {
  std::vector<std::string> argv;
  std::string call;            // `proc.run("ls")`: the start of its error messages
  bool has_cwd = false;
  std::string cwd;
  bool has_env = false;
  std::vector<std::string> env;  // the whole environment, "NAME=value"
  bool has_stdin = false;
  std::string stdin_data;
  bool has_deadline = false;
  Clock::time_point deadline;
};

std::string text_arg(TaskState& t, Value v, const char* fn, const std::string& what) {
  if (!v.is(Tag::String)) type_error(t, fn, what, "a string", v);
  std::string_view s = v.as_string()->view();
  if (s.find('\0') != std::string_view::npos)
    t.raise("ValueError", std::string(fn) + "(): " + what + " must not contain a NUL byte");
  return std::string(s);
}

// The environment with `added`'s names set (a nil value removes the name).
std::vector<std::string> environment_with(TaskState& t, vm::Map* added, const char* fn) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  for (const auto& entry : added->entries) {
    if (entry.key.is(Tag::Undef)) continue;
    std::string name = text_arg(t, entry.key, fn, "an env name");
    if (name.empty() || name.find('=') != std::string::npos)
      t.raise("ValueError", std::string(fn) + "(): env name " + rt::quoted(name) + " is not a variable's name");
    std::string prefix = name + "=";
    std::erase_if(env, [&](const std::string& s) { return s.compare(0, prefix.size(), prefix) == 0; });
    if (entry.value.is(Tag::Nil)) continue;
    env.push_back(prefix + text_arg(t, entry.value, fn, "env value of " + name));
  }
  return env;
}

// cmd and opts of run or start (`for_run`: opts may hold stdin and timeout too).
Command parse_command(TaskState& t, Value* a, int nargs, const char* fn, bool for_run) {
  Command c;
  if (a[0].is(Tag::String)) {
    std::string line = text_arg(t, a[0], fn, "cmd");
    c.argv = {"/bin/sh", "-c", line};
    c.call = std::string(fn) + "(" + rt::quoted(line) + ")";
  } else if (a[0].is(Tag::List)) {
    const vm::List* l = a[0].as_list();
    if (l->items.empty()) t.raise("ValueError", std::string(fn) + "(): cmd must not be an empty list");
    for (size_t i = 0; i < l->items.size(); ++i)
      c.argv.push_back(text_arg(t, l->items[i], fn, "cmd[" + std::to_string(i) + "]"));
    c.call = std::string(fn) + "(" + rt::quoted(c.argv[0]) + ")";
  } else {
    type_error(t, fn, "cmd", "a list of strings or a string", a[0]);
  }
  if (nargs < 2 || a[1].is(Tag::Nil)) return c;
  if (!a[1].is(Tag::Map)) type_error(t, fn, "opts", "a map or nil", a[1]);
  for (const auto& entry : a[1].as_map()->entries) {
    if (entry.key.is(Tag::Undef)) continue;
    std::string_view key = entry.key.is(Tag::String) ? entry.key.as_string()->view() : std::string_view();
    Value v = entry.value;
    if (v.is(Tag::Nil)) continue;  // an option given as nil is the default
    if (key == "cwd") {
      c.has_cwd = true;
      c.cwd = text_arg(t, v, fn, "opts.cwd");
    } else if (key == "env") {
      if (!v.is(Tag::Map)) type_error(t, fn, "opts.env", "a map", v);
      c.has_env = true;
      c.env = environment_with(t, v.as_map(), fn);
    } else if (key == "stdin" && for_run) {
      if (!v.is(Tag::String)) type_error(t, fn, "opts.stdin", "a string", v);
      c.has_stdin = true;
      c.stdin_data = std::string(v.as_string()->view());
    } else if (key == "timeout" && for_run) {
      if (!v.is_number()) type_error(t, fn, "opts.timeout", "a number of seconds or nil", v);
      double s = v.to_double();
      if (!(s >= 0)) t.raise("ValueError", std::string(fn) + "(): opts.timeout must not be negative");
      c.has_deadline = true;
      c.deadline = rt::deadline_after(s);
    } else {
      std::string name = entry.key.is(Tag::String) ? rt::quoted(key) : std::string(vm::type_name(entry.key));
      t.raise("ValueError", std::string(fn) + "(): unknown option " + name +
                                (for_run ? " (options: stdin, cwd, env, timeout)" : " (options: cwd, env)"));
    }
  }
  return c;
}

// Starts `c` with the given descriptors as its stdin, stdout and stderr (its own process
// group when `own_group`). 0, or the errno of why it could not start.
int spawn(const Command& c, int in, int out, int err, bool own_group, pid_t& pid) {
  std::vector<char*> argv;
  for (const std::string& s : c.argv) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (c.has_env) {
    for (const std::string& s : c.env) envp.push_back(const_cast<char*>(s.c_str()));
    envp.push_back(nullptr);
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, in, 0);
  posix_spawn_file_actions_adddup2(&actions, out, 1);
  posix_spawn_file_actions_adddup2(&actions, err, 2);
  // Not only the runtime's descriptors (all O_CLOEXEC) but any the process inherited
  // without it stay out of the child, as Python's close_fds.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  if (c.has_cwd) posix_spawn_file_actions_addchdir_np(&actions, c.cwd.c_str());
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (own_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  int r = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), c.has_env ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return r;
}

// The error message of a command that could not start: a missing cwd is named, since
// the system's reason alone ("No such file or directory") would point at the program.
std::string start_error(const Command& c, int err) {
  if (c.has_cwd && ::access(c.cwd.c_str(), X_OK) != 0)
    return c.call + ": cwd " + rt::quoted(c.cwd) + ": " + std::strerror(errno);
  return c.call + ": " + std::strerror(err);
}

// A status as a shell reports it: the exit code, or 128 + the signal that ended it.
int64_t decode_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// `fd` moved to 3 or above (O_CLOEXEC): a child's end must not be one of 0, 1, 2 (free
// when the host runs with a standard stream closed), or the dup2s that set up the child's
// streams would overwrite one another.
int above_std(int fd) {
  if (fd < 0 || fd > 2) return fd;
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  ::close(fd);
  return moved;
}

// Three pipes for a child (either end O_CLOEXEC); `in_from_null`: stdin is /dev/null.
struct Pipes {
  int child[3] = {-1, -1, -1};
  int parent[3] = {-1, -1, -1};  // stdin's write end, stdout's and stderr's read ends
  ~Pipes() {
    for (int i = 0; i < 3; ++i) {
      close_fd(child[i]);
      close_fd(parent[i]);
    }
  }
  // 0, or the errno of the failure.
  int make(bool in_from_null) {
    int p[2];
    if (in_from_null) {
      child[0] = above_std(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (child[0] < 0) return errno;
    } else {
      if (::pipe2(p, O_CLOEXEC) != 0) return errno;
      parent[0] = p[1];
      child[0] = above_std(p[0]);
      if (child[0] < 0) return errno;
    }
    for (int i = 1; i < 3; ++i) {
      if (::pipe2(p, O_CLOEXEC) != 0) return errno;
      parent[i] = p[0];
      child[i] = above_std(p[1]);
      if (child[i] < 0) return errno;
    }
    return 0;
  }
};

// }===

// {=== run

// A run in flight: filled by its pool thread; `lock` guards what the task's thread
// touches too when it is cancelled (the child's id, whether it was reaped, whether the
// pool thread is still at work).
struct RunOp : rt::OutsideOp {
  Command cmd;
  std::mutex lock;
  std::condition_variable pump_ended;
  bool cancelled = false;
  bool pumping = false;  // the pool thread holds descriptors of this run
  bool reaped = false;
  pid_t pid = -1;
  int pidfd = -1;
  int cancel_fd = -1;  // an eventfd: the task was cancelled, stop pumping
  int64_t status = 0;
  std::string out, err;

  ~RunOp() override {
    close_fd(pidfd);
    close_fd(cancel_fd);
  }

  // Kills the command's process group and reaps it (lock held). SIGKILL cannot be
  // caught, so the wait is short. The group is killed even when its first process has
  // been reaped: what it started may still hold the pipes open (`sh -c "cmd &"`); its
  // id stays the group's while the group has a member, and is not handed out again in
  // the moment before the run ends.
  void kill_and_reap() {
    if (pid <= 0) return;
    ::kill(-pid, SIGKILL);
    if (reaped) return;
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    reaped = true;
    status = decode_status(st);
  }

  // The task was cancelled: the command is killed and reaped, and the pool thread,
  // woken, has let go of every descriptor of the run before the task goes on (its poll
  // wakes at once), so a cancelled run leaves nothing behind.
  void abandoned() override {
    std::unique_lock g(lock);
    cancelled = true;
    kill_and_reap();
    uint64_t one = 1;
    if (pumping && ::write(cancel_fd, &one, sizeof one) < 0) {
      // An eventfd's counter cannot overflow from one write: nothing to do.
    }
    pump_ended.wait(g, [this] { return !pumping; });
    close_fd(cancel_fd);  // the pool thread no longer polls it (or never will)
  }
};

// Reads what `fd` has now into `into`; closes it at its end (or error).
void drain(int& fd, std::string& into) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      into.append(buf, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    close_fd(fd);
    return;
  }
}

// Milliseconds until `deadline`, rounded up (poll's timeout), 0 when it has passed.
int millis_until(Clock::time_point deadline) {
  auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > 1000000 ? 1000000 : int(ms);
}

// Starts the command, feeds its stdin, reads its output and reaps it (a pool thread).
void pump_io(RunOp& op, Pipes& pipes) {
  const Command& c = op.cmd;
  {
    std::lock_guard g(op.lock);
    if (op.cancelled) return;  // before it started
    int e = spawn(c, pipes.child[0], pipes.child[1], pipes.child[2], true, op.pid);
    if (e != 0) {
      op.pid = -1;
      op.error_kind = "IOError";
      op.error_message = start_error(c, e);
      return;
    }
    op.pidfd = open_pidfd(op.pid);
    if (op.pidfd < 0) {
      int e2 = errno;
      op.kill_and_reap();
      op.error_kind = "IOError";
      op.error_message = c.call + ": pidfd_open: " + std::strerror(e2);
      return;
    }
  }
  for (int& fd : pipes.child) close_fd(fd);  // the child's ends: EOF comes when it ends
  int& in = pipes.parent[0];
  int& out = pipes.parent[1];
  int& err = pipes.parent[2];
  for (int fd : pipes.parent)
    if (fd >= 0) set_nonblocking(fd);
  size_t written = 0;
  if (in >= 0 && c.stdin_data.empty()) close_fd(in);
  bool exited = false;
  while (out >= 0 || err >= 0 || !exited) {
    pollfd p[5];
    int n = 0;
    auto add = [&](int fd, short events) {
      p[n] = pollfd{fd, events, 0};
      return n++;
    };
    int i_cancel = add(op.cancel_fd, POLLIN);
    int i_in = in >= 0 ? add(in, POLLOUT) : -1;
    int i_out = out >= 0 ? add(out, POLLIN) : -1;
    int i_err = err >= 0 ? add(err, POLLIN) : -1;
    int i_exit = !exited ? add(op.pidfd, POLLIN) : -1;
    int timeout = c.has_deadline ? millis_until(c.deadline) : -1;
    int r = ::poll(p, nfds_t(n), timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      op.error_kind = "IOError";
      op.error_message = c.call + ": poll: " + std::strerror(errno);
      std::lock_guard g(op.lock);
      op.kill_and_reap();
      return;
    }
    if (r == 0 && c.has_deadline && Clock::now() >= c.deadline) {
      std::lock_guard g(op.lock);
      op.kill_and_reap();
      op.error_kind = "TimeoutError";
      op.error_message = c.call + ": timed out";
      return;
    }
    if (p[i_cancel].revents) return;  // abandoned() killed and reaped it
    if (i_in >= 0 && p[i_in].revents) {
      ssize_t w = ::write(in, c.stdin_data.data() + written, c.stdin_data.size() - written);
      if (w > 0) written += size_t(w);
      // Done, or the command closed its stdin (EPIPE): what it did not read is dropped.
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == c.stdin_data.size()) close_fd(in);
    }
    if (i_out >= 0 && p[i_out].revents) drain(out, op.out);
    if (i_err >= 0 && p[i_err].revents) drain(err, op.err);
    if (i_exit >= 0 && p[i_exit].revents) {
      std::lock_guard g(op.lock);
      int st = 0;
      if (!op.reaped && ::waitpid(op.pid, &st, WNOHANG) == op.pid) {
        op.reaped = true;
        op.status = decode_status(st);
      }
      exited = op.reaped;
    }
    // Its output is all read once the command has ended and nothing else holds the pipes.
  }
}

// The pool thread's whole job: SIGPIPE (a command that closes its stdin early) is
// blocked here and any one raised is taken back, so a host that does not ignore SIGPIPE
// is not ended by it.
void run_command(RunOp& op) {
  {
    std::lock_guard g(op.lock);
    if (op.cancelled) return;
    op.pumping = true;
  }
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  {
    Pipes pipes;
    if (int e = pipes.make(!op.cmd.has_stdin)) {
      op.error_kind = "IOError";
      op.error_message = op.cmd.call + ": " + std::strerror(e);
    } else {
      pump_io(op, pipes);
    }
  }
  sigset_t pending;
  if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) && !sigismember(&old, SIGPIPE)) {
    timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  // Every descriptor of the run is closed before its task hears of the end.
  std::lock_guard g(op.lock);
  close_fd(op.pidfd);
  close_fd(op.cancel_fd);
  op.pumping = false;
  op.pump_ended.notify_all();
}

Value finish_run(TaskState& t, RunOp& op) {
  op.raise_if_failed(t);
  check_string_size(t, op.out.size(), "proc.run");
  check_string_size(t, op.err.size(), "proc.run");
  vm::Map* m = t.heap.map();
  vm::map_set(m, string_value(t, "status"), Value::integer(op.status));
  vm::map_set(m, string_value(t, "stdout"), string_value(t, op.out));
  vm::map_set(m, string_value(t, "stderr"), string_value(t, op.err));
  return Value::object(m);
}

Value p_run(TaskState& t, Value* a, int nargs) {
  if (auto op = rt::resumed<RunOp>(t)) return finish_run(t, *op);
  auto op = std::make_shared<RunOp>();
  op->cmd = parse_command(t, a, nargs, "proc.run", true);
  op->cancel_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (op->cancel_fd < 0) rt::raise_io(t, op->cmd.call, errno);
  bool here = !rt::can_park(t);  // inside a native's callback: it runs on this thread
  rt::run_on_pool(t, op, [op] { run_command(*op); }, true);
  if (here) return finish_run(t, *rt::resumed<RunOp>(t));
  return Value::nil();
}

// }===

// {=== start, wait, kill

// The process of p: the map proc.start returned, or its process handle.
rt::IoHandle* process_arg(TaskState& t, Value* a, const char* fn) {
  Value v = a[0];
  if (v.is(Tag::Map)) v = vm::map_get(v.as_map(), string_value(t, "process"));
  if (v.is(Tag::IoHandle)) {
    auto* h = static_cast<rt::IoHandle*>(v.as_handle()->target);
    if (h->kind == rt::IoHandle::Process) return h;
  }
  type_error(t, fn, "p", "a process (proc.start's map or its process handle)", a[0]);
}

Value p_start(TaskState& t, Value* a, int nargs) {
  Command c = parse_command(t, a, nargs, "proc.start", false);
  Pipes pipes;
  if (int e = pipes.make(false)) rt::raise_io(t, c.call, e);
  pid_t pid = -1;
  if (int e = spawn(c, pipes.child[0], pipes.child[1], pipes.child[2], false, pid))
    t.raise("IOError", start_error(c, e));
  int pidfd = open_pidfd(pid);
  if (pidfd < 0) {
    int e = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    rt::raise_io(t, c.call + ": pidfd_open", e);
  }
  for (int& fd : pipes.child) close_fd(fd);
  std::string id = std::to_string(pid);
  auto stream = [&](int i, const char* name) {
    int fd = std::exchange(pipes.parent[i], -1);
    set_nonblocking(fd);
    return rt::new_handle(t, rt::IoHandle::Pipe, fd, id + " " + name, true);
  };
  vm::Map* m = t.heap.map();
  vm::map_set(m, string_value(t, "pid"), Value::integer(pid));
  vm::map_set(m, string_value(t, "stdin"), stream(0, "stdin"));
  vm::map_set(m, string_value(t, "stdout"), stream(1, "stdout"));
  vm::map_set(m, string_value(t, "stderr"), stream(2, "stderr"));
  Value process = rt::new_handle(t, rt::IoHandle::Process, pidfd, id, true);
  static_cast<rt::IoHandle*>(process.as_handle()->target)->pid = pid;
  vm::map_set(m, string_value(t, "process"), process);
  m->flags |= vm::kFrozen;
  return Value::object(m);
}

// A wait for a process's end: its own pidfd, so that any number of tasks may wait for
// one process at once (the reactor has one reader per descriptor), held in a handle of
// the runtime's (closed with the reactor told, and at the runtime's end), and let go of
// when the wait ends in any way — the status came, a timeout, a cancel.
struct ExitWait : rt::OutsideOp {
  rt::IoHandle* pidfd = nullptr;
  int fd = -1;
  ~ExitWait() override {
    if (!pidfd) return;
    pidfd->close();
    pidfd->release();
  }
};

Value p_wait(TaskState& t, Value* a, int nargs) {
  rt::IoHandle* h = process_arg(t, a, "proc.wait");
  std::string what = "proc.wait(" + h->describe() + ")";
  // First: it takes up the wait the native comes back from.
  rt::FdWait wait(t, rt::take_resumed(t), nargs > 1 ? a[1] : Value::nil(), what, std::make_shared<ExitWait>());
  auto& op = static_cast<ExitWait&>(*wait.op());
  rt::IoHandle::Use use(t, *h, what);
  int error = 0;
  {
    std::lock_guard g(h->lock);  // one reaper, however many tasks wait
    if (h->exit_status < 0) {
      int st = 0;
      pid_t r = ::waitpid(h->pid, &st, WNOHANG);
      if (r == h->pid) h->exit_status = int(decode_status(st));
      else if (r < 0) error = errno;
    }
    if (h->exit_status >= 0) return Value::integer(h->exit_status);
    // Not reaped (the lock is held), so the id is still this process's.
    if (!error && !op.pidfd) {
      op.fd = open_pidfd(h->pid);
      if (op.fd < 0) error = errno;
      else op.pidfd = new rt::IoHandle(rt::runtime_of(t).handles, rt::IoHandle::Process, op.fd, h->name, true);
    }
  }
  if (error) rt::raise_io(t, what, error);
  wait.park(op.fd, rt::Reactor::Read);
  return Value::nil();
}

int signal_arg(TaskState& t, Value* a, int nargs) {
  if (nargs < 2) return SIGTERM;
  if (a[1].is(Tag::Int)) {
    if (a[1].i < 1 || a[1].i > SIGRTMAX)
      t.raise("ValueError", "proc.kill(): signal " + std::to_string(a[1].i) + " is not a signal's number");
    return int(a[1].i);
  }
  if (!a[1].is(Tag::String)) type_error(t, "proc.kill", "signal", "a signal's name or number", a[1]);
  std::string_view name = a[1].as_string()->view();
  std::string_view bare = name.substr(0, 3) == "SIG" ? name.substr(3) : name;
  static constexpr struct {
    const char* name;
    int sig;
  } kSignals[] = {{"TERM", SIGTERM}, {"KILL", SIGKILL}, {"INT", SIGINT},   {"HUP", SIGHUP},
                  {"QUIT", SIGQUIT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"STOP", SIGSTOP},
                  {"CONT", SIGCONT}, {"ALRM", SIGALRM}, {"PIPE", SIGPIPE}, {"WINCH", SIGWINCH}};
  for (const auto& s : kSignals)
    if (bare == s.name) return s.sig;
  t.raise("ValueError", "proc.kill(): unknown signal " + rt::quoted(name) +
                            " (TERM KILL INT HUP QUIT USR1 USR2 STOP CONT ALRM PIPE WINCH, or a number)");
}

Value p_kill(TaskState& t, Value* a, int nargs) {
  rt::IoHandle* h = process_arg(t, a, "proc.kill");
  int sig = signal_arg(t, a, nargs);
  std::string what = "proc.kill(" + h->describe() + ")";
  rt::IoHandle::Use use(t, *h, what);
  int e = 0;
  {
    std::lock_guard g(h->lock);
    if (h->exit_status >= 0) return Value::boolean(false);  // reaped: nothing to signal
    if (signal_pidfd(use.fd(), sig) == 0) return Value::boolean(true);
    e = errno;
  }
  if (e == ESRCH) return Value::boolean(false);
  rt::raise_io(t, what, e);
}

// }===

const NativeEntry kProc[] = {
    {"proc", "run", "run(cmd, opts = nil)", Effect::Yields,
     "Runs cmd (a list: no shell; a string: /bin/sh -c) to its end and returns {status, stdout, stderr}; "
     "opts: stdin, cwd, env, timeout; a cancel kills it",
     p_run, 1, 2},
    {"proc", "start", "start(cmd, opts = nil)", Effect::Blocks,
     "Starts cmd and returns the frozen map {pid, stdin, stdout, stderr, process}: its pipes as handles; opts: cwd, env",
     p_start, 1, 2},
    {"proc", "wait", "wait(p, timeout = nil)", Effect::Yields,
     "Waits for the process p to end and returns its status: the exit code, or 128 + the signal that ended it",
     p_wait, 1, 2},
    {"proc", "kill", "kill(p, signal = \"TERM\")", Effect::Instant,
     "Sends a signal (\"TERM\", \"KILL\", \"INT\", ... or a number) to the process p; false if it had been waited for",
     p_kill, 1, 2},
};

}  // namespace

vm::ModuleDef proc_module() {
  return {"proc", "Running commands: run one to its end, or start one and talk to it through its pipes", kProc,
          nullptr};
}

}  // namespace tsk::stdlib
