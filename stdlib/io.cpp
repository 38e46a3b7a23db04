// The `io` module (SPEC §15): reading and writing handles — the standard streams, files
// (from fs.open), sockets (from net), pipes (from proc). Every function but close and
// lines `yields`: a pipe or socket is non-blocking and waits through the reactor; a
// regular file, and stdin (a terminal, or a descriptor shared with the shell, which must
// not be made non-blocking), are read and written on the blocking pool while the task
// is parked. Writes to io.stdout go through the same buffer as print, so their order
// holds. io.lines is a channel fed by a task of the caller's scope: it reads the next
// line only when the last one was received, and closing the handle ends it.
//
// Every reading function shares one engine: the handle's read buffer (IoHandle::rbuf),
// filled one read(2) at a time (fill()); the natives take from it what they return.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "runtime/channel.hpp"
#include "runtime/concurrency.hpp"
#include "runtime/io_handle.hpp"
#include "runtime/outside.hpp"
#include "runtime/runtime.hpp"
#include "stdlib/natives.hpp"

namespace tsk::stdlib {

using rt::IoHandle;
using vm::Effect;
using vm::NativeEntry;

namespace {

constexpr size_t kReadChunk = 64 * 1024;

// A read of a non-pollable descriptor on the pool: what it got.
struct ReadOp : rt::OutsideOp {
  std::string data;
  int error = 0;
  bool eof = false;
};

// A write of a non-pollable descriptor on the pool.
struct WriteOp : rt::OutsideOp {
  int error = 0;
};

IoHandle& stdin_handle(TaskState& t);

// Closes io.lines's channel unless someone did already.
void end_lines(TaskState& t, rt::Channel& ch) {
  try {
    rt::channel_close(rt::runtime_of(t), rt::host_of(t), ch);
  } catch (vm::ScriptError&) {
    // closed already (the feeder at the end of input, or io.close)
  }
}

std::string what_of(const char* fn, IoHandle& h) { return std::string(fn) + "(" + h.describe() + ")"; }

void check_readable(TaskState& t, IoHandle& h, const std::string& what) {
  if (h.kind == IoHandle::Stdout || h.kind == IoHandle::Stderr || h.kind == IoHandle::Listener)
    t.raise("IOError", what + ": the handle is not readable");
  // Closed: even what was read ahead into its buffer is gone.
  if (h.closed()) t.raise("IOError", what + ": the handle is closed");
}

// {=== the read engine

// Makes more input available in `h`'s buffer: true when it did (or reached the end of
// input), false when the task parked (the native returns, and is called again).
bool fill(TaskState& t, IoHandle& h, const std::string& what, std::shared_ptr<rt::OutsideOp>& resumed) {
  std::shared_ptr<rt::OutsideOp> op = std::move(resumed);
  if (auto r = std::dynamic_pointer_cast<ReadOp>(op)) {  // a pool read came back
    if (r->error) rt::raise_io(t, what, r->error);
    std::lock_guard g(h.lock);
    if (r->eof) h.eof = true;
    else h.rbuf.append(r->data);
    return true;
  }
  if (h.pollable) {
    rt::FdWait w(t, op, Value::nil(), what);
    int fd;
    {
      IoHandle::Use use(t, h, what);
      fd = use.fd();
      char buf[kReadChunk];
      for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
          std::lock_guard g(h.lock);
          h.rbuf.append(buf, size_t(n));
          return true;
        }
        if (n == 0) {
          std::lock_guard g(h.lock);
          h.eof = true;
          return true;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        rt::raise_io(t, what, errno);
      }
      // Registered while `use` holds the descriptor open: a close meanwhile wakes us.
      w.park(fd, rt::Reactor::Read);
    }
    return false;
  }
  // A file or stdin: one read(2) on the pool. The job keeps the handle and its
  // descriptor open until it ends.
  auto r = std::make_shared<ReadOp>();
  IoHandle::Use* use = new IoHandle::Use(t, h, what);
  h.retain();
  int fd = use->fd();
  IoHandle* hp = &h;
  rt::run_on_pool(t, r, [r, use, hp, fd] {
    std::string buf(kReadChunk, '\0');
    ssize_t n;
    do n = ::read(fd, buf.data(), buf.size());
    while (n < 0 && errno == EINTR);
    if (n < 0) r->error = errno;
    else if (n == 0) r->eof = true;
    else r->data.assign(buf.data(), size_t(n));
    delete use;
    hp->release();
  });
  if (t.suspended) return false;
  std::shared_ptr<rt::OutsideOp> done = rt::take_resumed(t);  // it ran here (no way to park)
  return fill(t, h, what, done);
}

// Takes a line (without its "\n" or "\r\n") from the buffer: true with `line` set, or
// nullopt at the end of input; false when the task parked.
bool next_line(TaskState& t, IoHandle& h, const std::string& what, std::shared_ptr<rt::OutsideOp>& resumed,
               std::optional<std::string>& line) {
  size_t searched = 0;
  for (;;) {
    {
      std::lock_guard g(h.lock);
      size_t nl = h.rbuf.find('\n', h.rpos + searched);
      if (nl != std::string::npos || h.eof) {
        if (nl == std::string::npos && h.rpos == h.rbuf.size()) {
          line.reset();
          return true;
        }
        size_t end = nl == std::string::npos ? h.rbuf.size() : nl;
        size_t cut = end;
        if (nl != std::string::npos && cut > h.rpos && h.rbuf[cut - 1] == '\r') cut--;
        line.emplace(h.rbuf, h.rpos, cut - h.rpos);
        h.rpos = nl == std::string::npos ? end : nl + 1;
        if (h.rpos == h.rbuf.size()) {
          h.rbuf.clear();
          h.rpos = 0;
        } else if (h.rpos > kReadChunk && h.rpos * 2 > h.rbuf.size()) {
          h.rbuf.erase(0, h.rpos);
          h.rpos = 0;
        }
        return true;
      }
      searched = h.rbuf.size() - h.rpos;
    }
    if (!fill(t, h, what, resumed)) return false;
  }
}

IoHandle& handle_or_stdin(TaskState& t, Value* args, int nargs, const char* fn) {
  if (nargs == 0 || args[0].is_nil()) return stdin_handle(t);
  return *rt::handle_arg(t, args, 0, fn);
}

// }===

Value io_read_line(TaskState& t, Value* args, int nargs) {
  auto resumed = rt::take_resumed(t);
  rt::check_cancel(t);  // a yields function is a cancellation point, data ready or not
  IoHandle& h = handle_or_stdin(t, args, nargs, "io.read_line");
  std::string what = what_of("io.read_line", h);
  check_readable(t, h, what);
  std::optional<std::string> line;
  if (!next_line(t, h, what, resumed, line)) return Value::nil();
  if (!line) return Value::nil();
  return string_value(t, *line);
}

Value io_read(TaskState& t, Value* args, int) {
  auto resumed = rt::take_resumed(t);
  rt::check_cancel(t);  // a yields function is a cancellation point, data ready or not
  IoHandle& h = *rt::handle_arg(t, args, 0, "io.read");
  int64_t n = arg_int(t, args, 1, "io.read", "n");
  if (n < 0) t.raise("ValueError", "io.read(): n must not be negative, got " + std::to_string(n));
  std::string what = what_of("io.read", h);
  check_readable(t, h, what);
  for (;;) {
    {
      std::lock_guard g(h.lock);
      size_t avail = h.rbuf.size() - h.rpos;
      if (avail > 0 || n == 0) {
        size_t take = std::min<size_t>(avail, size_t(n));
        Value v = string_value(t, std::string_view(h.rbuf).substr(h.rpos, take));
        h.rpos += take;
        if (h.rpos == h.rbuf.size()) {
          h.rbuf.clear();
          h.rpos = 0;
        }
        return v;
      }
      if (h.eof) return Value::nil();
    }
    if (!fill(t, h, what, resumed)) return Value::nil();
  }
}

Value io_read_all(TaskState& t, Value* args, int) {
  auto resumed = rt::take_resumed(t);
  rt::check_cancel(t);  // a yields function is a cancellation point, data ready or not
  IoHandle& h = *rt::handle_arg(t, args, 0, "io.read_all");
  std::string what = what_of("io.read_all", h);
  check_readable(t, h, what);
  for (;;) {
    {
      std::lock_guard g(h.lock);
      if (h.eof) {
        check_string_size(t, h.rbuf.size() - h.rpos, "io.read_all");
        Value v = string_value(t, std::string_view(h.rbuf).substr(h.rpos));
        h.rbuf.clear();
        h.rpos = 0;
        return v;
      }
      check_string_size(t, h.rbuf.size() - h.rpos, "io.read_all");
    }
    if (!fill(t, h, what, resumed)) return Value::nil();
  }
}

Value io_write(TaskState& t, Value* args, int) {
  auto resumed = rt::take_resumed(t);
  rt::check_cancel(t);  // a yields function is a cancellation point, data ready or not
  IoHandle& h = *rt::handle_arg(t, args, 0, "io.write");
  vm::String* s = arg_string(t, args, 1, "io.write", "s");
  std::string what = what_of("io.write", h);
  std::string_view text = s->view();
  switch (h.kind) {
    case IoHandle::Stdout: {
      if (resumed) return Value::nil();  // called again: its flush is done
      IoHandle::Use use(t, h, what);  // a closed io.stdout raises
      write_stdout(t, text);
      return Value::nil();
    }
    case IoHandle::Stderr: {
      if (resumed) return Value::nil();  // called again: written
      IoHandle::Use use(t, h, what);
      // Stdout's buffer goes first (the order on a terminal), and its reader may be slow:
      // on the pool, as print's flush.
      rt::Runtime& runtime = rt::runtime_of(t);
      rt::run_on_pool(t, std::make_shared<rt::OutsideOp>(),
                      [&runtime, copy = std::string(text)] { runtime.write_err(copy); }, false, true);
      if (!t.suspended) rt::take_resumed(t);
      return Value::nil();
    }
    case IoHandle::Stdin:
    case IoHandle::Listener: t.raise("IOError", what + ": the handle is not writable");
    default: break;
  }
  if (h.pollable) {
    rt::FdWait w(t, resumed, Value::nil(), what);
    size_t& done = w.progress();
    int fd;
    {
      IoHandle::Use use(t, h, what);
      fd = use.fd();
      while (done < text.size()) {
        ssize_t n = h.kind == IoHandle::Tcp ? ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL)
                                            : ::write(fd, text.data() + done, text.size() - done);
        if (n >= 0) {
          done += size_t(n);
          continue;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        rt::raise_io(t, what, errno);
      }
      if (done == text.size()) return Value::nil();
      w.park(fd, rt::Reactor::Write);  // under `use`, as fill's
    }
    return Value::nil();
  }
  if (auto op = std::dynamic_pointer_cast<WriteOp>(resumed)) {
    if (op->error) rt::raise_io(t, what, op->error);
    return Value::nil();
  }
  auto op = std::make_shared<WriteOp>();
  IoHandle::Use* use = new IoHandle::Use(t, h, what);
  h.retain();
  int fd = use->fd();
  IoHandle* hp = &h;
  rt::run_on_pool(t, op, [op, use, hp, fd, data = std::string(text)] {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        op->error = errno;
        break;
      }
      done += size_t(n);
    }
    delete use;
    hp->release();
  });
  if (!t.suspended) {
    rt::take_resumed(t);
    if (op->error) rt::raise_io(t, what, op->error);
  }
  return Value::nil();
}

Value io_close(TaskState& t, Value* args, int) {
  IoHandle& h = *rt::handle_arg(t, args, 0, "io.close");
  rt::Channel* lines = nullptr;
  {
    std::lock_guard g(h.lock);
    if (h.lines_chan) {
      lines = h.lines_chan;
      lines->retain();
    }
  }
  h.close();  // cancels io.lines's feeders
  if (lines) {
    // Whoever still receives from io.lines's channel gets its end.
    end_lines(t, *lines);
    lines->release();
  }
  return Value::nil();
}

// The body of an io.lines feeder task: io._feed(h, ch) sends each line on ch, and
// closes ch at the end of input or when reading fails (the handle was closed). Called
// again after each wait (a read, or a send nobody has received yet).
Value io_feed(TaskState& t, Value* args, int) {
  auto resumed = rt::take_resumed(t);
  IoHandle& h = *rt::handle_arg(t, args, 0, "io.lines");
  rt::Channel* ch = static_cast<rt::Channel*>(args[1].as_handle()->target);
  std::string what = what_of("io.lines", h);
  for (;;) {
    std::optional<std::string> line;
    try {
      if (!next_line(t, h, what, resumed, line)) return Value::nil();
    } catch (vm::ScriptError&) {
      line.reset();  // closed or failed: the channel ends
    }
    if (!line) {
      end_lines(t, *ch);
      return Value::nil();
    }
    if (!rt::send(t, args[1], string_value(t, *line))) {
      t.retry_native = true;  // parked until a receiver takes it: then read the next
      return Value::nil();
    }
  }
}

// Its name is what a deadlock report shows for the feeder task ("task 3 io.lines ...").
const vm::NativeEntry kFeed = {"io", "io.lines", "_feed(h, ch)", Effect::Yields,
                               "Feeds the lines of h into ch (the task behind io.lines)", io_feed, 2, 2};

Value io_lines(TaskState& t, Value* args, int nargs) {
  IoHandle& h = handle_or_stdin(t, args, nargs, "io.lines");
  std::string what = what_of("io.lines", h);
  check_readable(t, h, what);
  rt::Runtime& runtime = rt::runtime_of(t);
  const vm::Frame& f = t.frames.back();
  const vm::Proto* p = f.closure->proto;
  auto* ch = new rt::Channel(runtime, runtime.next_chan_id++, 0, p, uint32_t(f.pc - p->code.data()));
  Value chv = Value::object(t.heap.handle(Tag::Chan, ch));
  ch->release();
  vm::TaskState::Root keep(t, chv);
  Value feeder;
  {
    std::lock_guard g(runtime.module_mutex);
    feeder = Value::object(runtime.immortal.native(&kFeed));
  }
  Value hv = nargs > 0 && !args[0].is_nil() ? args[0] : Value::nil();
  if (hv.is_nil()) hv = Value::object(t.heap.handle(Tag::IoHandle, &h));  // (takes its own reference)
  Value call[3] = {feeder, hv, chv};
  lang::Loc at = p->locs.empty() ? lang::Loc{} : p->locs[size_t(f.pc - p->code.data()) - 1];
  Value task = rt::spawn(t, call, 2, at);
  {
    std::lock_guard g(h.lock);
    ch->retain();
    if (h.lines_chan) h.lines_chan->release();
    h.lines_chan = ch;
  }
  h.add_feeder(static_cast<rt::Task*>(task.as_handle()->target));
  return chv;
}

// {=== the module

// io.stdin of the calling task's runtime (the default of read_line and lines): the io
// module's constant, found once and kept in the runtime's handle registry.
IoHandle& stdin_handle(TaskState& t) {
  rt::Runtime& runtime = rt::runtime_of(t);
  {
    std::lock_guard g(runtime.handles->lock);
    if (IoHandle* h = runtime.handles->standard[0]) return *h;
  }
  vm::Module* m = runtime.standard_module("io");
  IoHandle* found = nullptr;
  for (size_t i = 0; m && i < m->names.size(); i++)
    if (m->names[i].name == "stdin") found = static_cast<IoHandle*>(m->globals[i].as_handle()->target);
  if (!found) t.raise("IOError", "io: the standard streams are not open");
  std::lock_guard g(runtime.handles->lock);
  runtime.handles->standard[0] = found;
  return *found;
}

const NativeEntry kIo[] = {
    {"io", "read_line", "read_line(h = stdin)", Effect::Yields,
     "The next line of h without its \"\\n\" or \"\\r\\n\", or nil at the end of input", io_read_line, 0, 1},
    {"io", "read", "read(h, n)", Effect::Yields, "Up to n bytes of h (what is there, once some is), or nil at the end",
     io_read, 2, 2},
    {"io", "read_all", "read_all(h)", Effect::Yields, "The rest of h, to the end of input", io_read_all, 1, 1},
    {"io", "write", "write(h, s)", Effect::Yields,
     "Writes all of the string s to h (io.stdout shares print's buffer, so their order holds)", io_write, 2, 2},
    {"io", "lines", "lines(h = stdin)", Effect::Instant,
     "A channel receiving each line of h, read only as fast as received; closed at the end or when h is closed",
     io_lines, 0, 1},
    {"io", "close", "close(h)", Effect::Instant,
     "Closes the handle h (again: nothing); its waiting readers and writers raise IOError", io_close, 1, 1},
};

// The three streams live in the shared heap of the runtime that loads io (one set per
// runtime); they are never in its registry of open handles, since their descriptors stay
// open for the process.
void add_constants(vm::Heap& immortal, const std::vector<std::string>&, void (*add)(void*, const char*, Value),
                   void* ctx) {
  static const char* const kNames[] = {"stdin", "stdout", "stderr"};
  static const IoHandle::Kind kKinds[] = {IoHandle::Stdin, IoHandle::Stdout, IoHandle::Stderr};
  auto registry = std::make_shared<rt::HandleRegistry>();
  for (int i = 0; i < 3; i++) {
    auto* h = new IoHandle(registry, kKinds[i], i, kNames[i], false);
    add(ctx, kNames[i], Value::object(immortal.handle(Tag::IoHandle, h)));
    h->release();  // the shared heap's handle holds it
  }
}

}  // namespace

vm::ModuleDef io_module() {
  return {"io", "Reading and writing handles: the standard streams, files, sockets and pipes", kIo, add_constants};
}

// }===

}  // namespace tsk::stdlib
