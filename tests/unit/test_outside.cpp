// Unit tests of the waits on the outside world (runtime/outside.hpp): a `blocks` native
// runs on the blocking pool while its task is parked and other tasks go on, with one
// worker too; it is not a cancellation point; a task in one is not deadlocked; a
// Completion completes a wait from another thread, and a dropped one fails the task.
// Host modules stand in for the natives, so each test controls when a call returns:
// synchronised on pipes and on the script's own channels, never on sleeps.
#include <doctest/doctest.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <thread>

#include "runtime/blocking_pool.hpp"
#include "runtime/io_handle.hpp"
#include "runtime/outside.hpp"
#include "runtime/runtime.hpp"
#include "runtime/scheduler.hpp"
#include "tsk/tsk.hpp"

namespace {

using tsk::vm::TaskState;
using tsk::vm::Value;

// A pipe the test owns: wait_byte() blocks on its read end until release() writes.
int g_pipe[2] = {-1, -1};

// blocks: reads one byte of the pipe (a system call that waits for the other task).
Value host_wait_byte(TaskState&, Value*, int) {
  char c = 0;
  CHECK(tsk::rt::BlockingPool::on_pool_thread());
  CHECK(tsk::rt::Scheduler::current() == nullptr);
  ssize_t n = ::read(g_pipe[0], &c, 1);
  return Value::integer(n == 1 ? c : -1);
}

// instant: writes one byte into the pipe.
Value host_release(TaskState&, Value* args, int) {
  char c = char(args[0].i);
  CHECK(::write(g_pipe[1], &c, 1) == 1);
  return Value::nil();
}

// blocks: raises an error from the pool thread.
Value host_fail(TaskState& t, Value*, int) { t.raise("IOError", "host.fail(): it failed on purpose"); }

// yields: parks and drops its completion unused.
Value host_drop(TaskState& t, Value*, int) {
  if (auto op = tsk::rt::take_resumed(t)) {
    op->raise_if_failed(t);
    return Value::integer(1);
  }
  tsk::rt::park_outside(t, std::make_shared<tsk::rt::OutsideOp>(), tsk::rt::WaitInfo::Io);  // dropped here
  return Value::nil();
}

// yields: parks; another thread completes it.
Value host_later(TaskState& t, Value*, int) {
  if (auto op = tsk::rt::take_resumed(t)) {
    op->raise_if_failed(t);
    return Value::integer(op->completed ? 7 : 0);
  }
  auto done = std::make_shared<tsk::rt::Completion>(
      tsk::rt::park_outside(t, std::make_shared<tsk::rt::OutsideOp>(), tsk::rt::WaitInfo::Io));
  std::thread([done] { done->complete(); }).detach();
  return Value::nil();
}

const tsk::vm::NativeEntry kEntries[] = {
    {"host", "wait_byte", "wait_byte()", tsk::vm::Effect::Blocks, "Reads a byte of the test's pipe", host_wait_byte, 0, 0},
    {"host", "release", "release(b)", tsk::vm::Effect::Instant, "Writes a byte into the test's pipe", host_release, 1, 1},
    {"host", "fail", "fail()", tsk::vm::Effect::Blocks, "Raises IOError on the pool", host_fail, 0, 0},
    {"host", "drop", "drop()", tsk::vm::Effect::Yields, "Parks and drops its completion", host_drop, 0, 0},
    {"host", "later", "later()", tsk::vm::Effect::Yields, "Completed by another thread", host_later, 0, 0},
};

struct Run {
  int status;
  std::string out, err;
};

Run run(const std::string& source, int threads) {
  tsk::Options options;
  options.threads = threads;
  Run r{};
  std::mutex lock;
  options.out = [&](std::string_view s) { std::lock_guard g(lock); r.out += s; };
  options.err = [&](std::string_view s) { std::lock_guard g(lock); r.err += s; };
  tsk::Runtime runtime(options);
  runtime.internal().add_module({"host", "Test functions", kEntries, nullptr});
  r.status = runtime.run(source, "outside.tsk");
  return r;
}

struct Pipe {
  Pipe() { REQUIRE(::pipe(g_pipe) == 0); }
  ~Pipe() {
    ::close(g_pipe[0]);
    ::close(g_pipe[1]);
  }
};

}  // namespace

// "runtime" in the name: the TSan stage runs the suites matching *runtime*.
TEST_SUITE("runtime outside") {

TEST_CASE("a blocks native runs on the pool: other tasks run meanwhile, on one worker too") {
  for (int threads : {1, 2, 4}) {
    CAPTURE(threads);
    Pipe pipe;
    // The reader blocks in read(2) until the ticker, which must keep running, writes.
    Run r = run(R"(
import host
let got = chan(1)
spawn { got <- host.wait_byte() }
var ticks = 0
for i in 0..50 { sleep(0.0001); ticks += 1 }
host.release(65)
print(ticks, <-got)
)", threads);
    CHECK(r.status == 0);
    CHECK(r.err == "");
    CHECK(r.out == "50 65\n");
  }
}

TEST_CASE("blocks calls outnumbering the workers all run, and the ticker keeps going") {
  Pipe pipe;
  Run r = run(R"(
import host
let got = chan()
for i in 0..20 { spawn { got <- host.wait_byte() } }
var ticks = 0
for i in 0..20 { yield(); ticks += 1; host.release(i) }
var sum = 0
for i in 0..20 { sum += <-got }
print(ticks, sum)
)", 1);
  CHECK(r.status == 0);
  CHECK(r.out == "20 190\n");
}

TEST_CASE("an error raised on the pool reaches the caller, catchable") {
  Run r = run(R"(
import host
try { host.fail() } catch e { print(e.kind, e.message) }
)", 1);
  CHECK(r.out == "IOError host.fail(): it failed on purpose\n");
}

TEST_CASE("a blocks call is not a cancellation point; the task is cancelled at its next wait") {
  Pipe pipe;
  Run r = run(R"(
import host
let started = chan(1)
let t = spawn {
    started <- true
    let b = host.wait_byte()
    print("got", b)  # not a cancellation point either
    sleep(10)        # raises Cancelled
    print("not reached")
}
<-started
sleep(0.001)
cancel(t)
host.release(9)
try { await t } catch e { print(e.kind) }
)", 2);
  CHECK(r.status == 0);
  CHECK(r.out == "got 9\nCancelled\n");
}

TEST_CASE("a task in a blocking call is not deadlocked") {
  Pipe pipe;
  // Main waits on a channel that only the blocked task will fill, and no timer runs: the
  // byte comes from a host thread, later. Counting that as a deadlock would fail main.
  std::thread writer([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    char c = 3;
    CHECK(::write(g_pipe[1], &c, 1) == 1);
  });
  Run r = run(R"(
import host
let ch = chan()
spawn { ch <- host.wait_byte() }
print(<-ch)
)", 1);
  writer.join();
  CHECK(r.status == 0);
  CHECK(r.out == "3\n");
}

TEST_CASE("a completion from another thread wakes the task; a dropped one fails it") {
  Run r = run(R"(
import host
print(host.later())
try { host.drop() } catch e { print(e.kind, e.message) }
)", 1);
  CHECK(r.status == 0);
  CHECK(r.out == "7\nError an operation outside the interpreter ended without completing its wait\n");
}

TEST_CASE("print's flush goes to the pool; output keeps its order") {
  Run r = run(R"(
let done = chan()
for k in 0..4 {
    spawn { for i in 0..3000 { print(k, i, "................................................") } ; done <- true }
}
for k in 0..4 { <-done }
print("end")
)", 1);
  CHECK(r.status == 0);
  // Each task's lines in order, every line whole.
  int next[4] = {0, 0, 0, 0};
  size_t pos = 0, lines = 0;
  bool ordered = true;
  while (pos < r.out.size()) {
    size_t nl = r.out.find('\n', pos);
    std::string line = r.out.substr(pos, nl - pos);
    pos = nl + 1;
    if (line == "end") break;
    int k = line[0] - '0';
    int i = std::stoi(line.substr(2));
    if (k < 0 || k > 3 || i != next[k]) ordered = false;
    else next[k]++;
    lines++;
  }
  CHECK(ordered);
  CHECK(lines == 12000);
}

namespace {

// The process's open descriptors now (entries of /proc/self/fd, less the directory's own).
int open_descriptors() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') n++;
    closedir(d);
    n--;  // the directory stream itself
  }
  return n;
}

}  // namespace

TEST_CASE("io and net leak no descriptor: closed, timed out, cancelled, failed, or left open at the end") {
  const char* program = R"(
import io
import net
let l = net.listen("127.0.0.1", 0)
let port = int(net.addr(l)[len("127.0.0.1:"):])
let l6 = net.listen("::1", 0)
try { net.accept(l, 0.01) } catch e { }
let w = spawn { net.accept(l) }
sleep(0.001)
cancel(w)
try { await w } catch e { }
try { net.connect("127.0.0.1", 1) } catch e { }
try { net.listen("127.0.0.1", port) } catch e { }
for i in 0..20 {
    let a = spawn { return net.accept(l) }
    let c = net.connect("127.0.0.1", port)
    let s = await a
    io.write(c, "line " + str(i) + "\nmore\n")
    io.close(c)
    var n = 0
    for line in io.lines(s) { n += 1 }
    if i % 2 == 0 { io.close(s) }   # the odd ones are left to the runtime's end
}
let a = spawn { return net.accept(l) }
let c = net.connect("127.0.0.1", port)
let s = await a
let ch = io.lines(s)
io.close(s)
print(<-ch, "done")
)";
  for (int threads : {1, 4}) {
    CAPTURE(threads);
    int before = open_descriptors();
    {
      Run r = run(program, threads);
      CHECK(r.err == "");
      CHECK(r.out == "nil done\n");
    }
    CHECK(open_descriptors() == before);
  }
}

TEST_CASE("busy workers still see I/O readiness: no worker parks, yet a reader parked on a socket wakes") {
  // Idle workers poll the reactor while parked; here none ever parks: main and one
  // spinner per worker never wait, so only a busy worker's own poll wakes the reader.
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    Run r = run(R"(
import io
import net
let l = net.listen("127.0.0.1", 0)
let port = int(net.addr(l)[len("127.0.0.1:"):])
let a = spawn { return net.accept(l) }
let c = net.connect("127.0.0.1", port)
let s = await a
let got = chan(1)
let started = chan(1)
spawn { started <- true; got <- io.read(s, 5) }
<-started   # the reader runs on until it parks in the reactor, then main resumes
fn spin(done) {
    var spinning = true
    while spinning {
        select {
        case v = <-done { spinning = false }
        default { }
        }
    }
}
let done = chan()
for i in 0..)" + std::to_string(threads) + R"( { spawn spin(done) }
io.write(c, "hello")
var data = nil
while data == nil {
    select {
    case v = <-got { data = v }
    default { }
    }
}
close(done)
print(data)
)", threads);
    CHECK(r.err == "");
    CHECK(r.out == "hello\n");
  }
}

namespace {

Value host_noop(TaskState&, Value*, int) { return Value::nil(); }

const tsk::vm::NativeEntry kNoops[] = {
    {"noop", "pool", "pool()", tsk::vm::Effect::Blocks, "Nothing, on the blocking pool", host_noop, 0, 0},
    {"noop", "inline", "inline()", tsk::vm::Effect::Instant, "Nothing, inline", host_noop, 0, 0},
};

}  // namespace

// Measures the cost of one hand-off to the blocking pool and back (docs/architecture.md
// quotes it). Skipped by default: run with -tc='*hand-off*' --no-skip.
TEST_CASE("the blocking pool's hand-off cost per call (measurement)" * doctest::skip()) {
  for (int threads : {1, 2}) {
    tsk::Options options;
    options.threads = threads;
    std::string out;
    options.out = [&](std::string_view s) { out += s; };
    tsk::Runtime runtime(options);
    runtime.internal().add_module({"noop", "Measurement", kNoops, nullptr});
    runtime.run(R"(
import noop
import time
let n = 200000
var t0 = time.now()
for i in 0..n { noop.inline() }
let inline_ns = (time.now() - t0) * 1e9 / n
t0 = time.now()
for i in 0..n { noop.pool() }
let pool_ns = (time.now() - t0) * 1e9 / n
print(int(inline_ns), int(pool_ns))
)", "measure.tsk");
    MESSAGE("threads ", threads, ": inline ns/call, pool ns/call = ", out);
  }
}

TEST_CASE("a stalled stdout stalls only the printing task: a ticker keeps going on one worker") {
  Pipe pipe;
  tsk::Options options;
  options.threads = 1;
  std::mutex lock;
  std::string out;
  bool first = true;
  // The first flush blocks until the ticker, which must keep running meanwhile, says it
  // has ticked ten times: a reader of stdout that has stopped reading.
  options.out = [&](std::string_view s) {
    bool wait;
    {
      std::lock_guard g(lock);
      wait = std::exchange(first, false);
    }
    if (wait) {
      char c;
      CHECK(::read(g_pipe[0], &c, 1) == 1);
    }
    std::lock_guard g(lock);
    out += s;
  };
  tsk::Runtime runtime(options);
  runtime.internal().add_module({"host", "Test functions", kEntries, nullptr});
  int status = runtime.run(R"(
import host
let ticker = spawn {
    for i in 0..10 { sleep(0.001) }
    host.release(1)
    return "ticked"
}
let printer = spawn {
    let line = "................................................................................................."
    for i in 0..1000 { print(line) }
    return "printed"
}
let t = await ticker
let p = await printer
print(t, p)
)", "stall.tsk");
  CHECK(status == 0);
  CHECK(out.size() == 1000 * 98 + std::string("ticked printed\n").size());
  CHECK(out.substr(out.size() - 15) == "ticked printed\n");
}

namespace {

// instant (for the test): opens a file and returns a handle of kind File, as fs.open will.
Value host_open(TaskState& t, Value* args, int) {
  std::string path(args[0].as_string()->view());
  int flags = args[1].i == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC;
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) tsk::rt::raise_io(t, "host.open(" + tsk::rt::quoted(path) + ")", errno);
  return tsk::rt::new_handle(t, tsk::rt::IoHandle::File, fd, path, false);
}

const tsk::vm::NativeEntry kFileEntries[] = {
    {"files", "open", "open(path, write)", tsk::vm::Effect::Instant, "Opens a file (0: read, 1: write)", host_open, 2, 2},
};

}  // namespace

TEST_CASE("file handles are read and written on the blocking pool; errors name the file") {
  char dir[] = "/tmp/tsk_outside_XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  std::string path = std::string(dir) + "/data.txt";
  int before = open_descriptors();
  {
    tsk::Options options;
    options.threads = 1;
    std::string out, err;
    options.out = [&](std::string_view s) { out += s; };
    options.err = [&](std::string_view s) { err += s; };
    tsk::Runtime runtime(options);
    runtime.internal().add_module({"files", "Test files", kFileEntries, nullptr});
    int status = runtime.run(R"(
import io
import files
let path = ")" + path + R"("
let w = files.open(path, 1)
print(str(w) == "<file " + path + ">", type(w))
var big = ""
for i in 0..5000 { big += "line " + str(i) + "\n" }
io.write(w, big)
io.write(w, "last line without newline")
io.close(w)
let r = files.open(path, 0)
print(io.read_line(r), io.read_line(r))
print(io.read(r, 5))
let rest = io.read_all(r)
print(len(rest), io.read_line(r), io.read_all(r) == "")
var n = 0
let r2 = files.open(path, 0)
for line in io.lines(r2) { n += 1 }
print(n)
try { io.write(r, "x") } catch e { print(e.kind) }
io.close(r)
try { io.read_line(r) } catch e { print(e.message == "io.read_line(<file " + path + ">): the handle is closed") }
try { files.open(path + ".nope", 0) } catch e { print(e.kind, e.message == "host.open(\"" + path + ".nope\"): No such file or directory") }
let left_open = files.open(path, 0)
)", "files.tsk");
    CHECK(status == 0);
    CHECK(err == "");
    CHECK(out ==
          "true handle\n"
          "line 0 line 1\n"
          "line \n"
          "48896 nil true\n"
          "5001\n"
          "IOError\n"
          "true\n"
          "IOError true\n");
  }
  CHECK(open_descriptors() == before);
  std::remove(path.c_str());
  rmdir(dir);
}

}  // TEST_SUITE("runtime outside")
