// Host functions and host values (SPEC §16; include/tsk/function.hpp and value.hpp):
// what a host defines is what a script calls, by effect, with its errors both ways.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tsk/tsk.hpp"

namespace {

// A runtime whose output and errors are captured.
struct Host {
  std::string out, err;
  tsk::Runtime runtime;
  explicit Host(int threads = 1) : runtime(options(threads)) {}
  tsk::Options options(int threads) {
    tsk::Options o;
    o.threads = threads;
    o.out = [this](std::string_view s) { out += s; };
    o.err = [this](std::string_view s) { err += s; };
    return o;
  }
  int run(const std::string& source) { return runtime.run(source, "host_test.tsk"); }
};

int64_t twice(int64_t n) { return 2 * n; }

}  // namespace

// "runtime": the ThreadSanitizer stage runs these too (scripts/test).
TEST_SUITE("runtime host functions") {

TEST_CASE("host values: typed conversions both ways") {
  tsk::Value list = std::vector<int>{1, 2, 3};
  CHECK(list.kind() == tsk::Value::Kind::List);
  CHECK(list.as<std::vector<int64_t>>() == std::vector<int64_t>{1, 2, 3});
  CHECK(list.repr() == "[1, 2, 3]");

  std::map<std::string, std::optional<double>> m{{"a", 1.5}, {"b", std::nullopt}};
  tsk::Value mv = m;
  CHECK(mv.repr() == "{\"a\": 1.5, \"b\": nil}");
  CHECK(mv.as<std::unordered_map<std::string, std::optional<double>>>().at("a") == 1.5);
  CHECK(*mv.find("a") == tsk::Value(1.5));
  CHECK(mv.find("c") == nullptr);

  CHECK(tsk::Value(1) == tsk::Value(1.0));  // as in scripts
  CHECK(tsk::Value("x\n").repr() == "\"x\\n\"");
  CHECK(tsk::Value().is_nil());
  CHECK(tsk::Value(static_cast<const char*>(nullptr)).is_nil());
  CHECK(tsk::Value(std::optional<int>()).is_nil());
  CHECK(tsk::Value(true).as<bool>());
  CHECK(tsk::Value(7).as<double>() == 7.0);

  // A repeated key keeps its first place and its last value; 1 and 1.0 are one key.
  tsk::Value dup = tsk::Value::map({{1, "a"}, {"k", 2}, {1.0, "b"}});
  CHECK(dup.repr() == "{1: \"b\", \"k\": 2}");
  CHECK_THROWS_AS(tsk::Value::map({{tsk::Value(), 1}}), tsk::Error);
  CHECK(tsk::Value::map({{std::nan(""), 1}, {1e300, 2}}).entries().size() == 2);
  CHECK_THROWS_AS(tsk::Value::map({{std::vector<int>{1}, 1}}), tsk::Error);
}

TEST_CASE("host values: a conversion that cannot be made says what and where") {
  tsk::Value v = std::vector<tsk::Value>{1, "two"};
  try {
    (void)v.as<std::vector<int>>();
    FAIL("converted a string to an int");
  } catch (const tsk::Error& e) {
    CHECK(e.kind() == "TypeError");
    CHECK(e.message() == "value[1] must be an int, not string");
  }
  try {
    (void)tsk::Value(300).as<uint8_t>();
    FAIL("300 fit in a uint8_t");
  } catch (const tsk::Error& e) {
    CHECK(e.kind() == "OverflowError");
  }
  CHECK_THROWS_AS(tsk::Value(uint64_t(1) << 63), tsk::Error);
  CHECK_THROWS_AS((void)tsk::Value("x").as_int(), tsk::Error);
  CHECK_THROWS_AS((void)tsk::Value(1).items(), tsk::Error);
}

TEST_CASE("host functions: instant ones are called with typed arguments and results") {
  Host h;
  h.runtime.define("geo", "area(width, height)", tsk::Effect::instant, "The area of a rectangle",
                   [](double w, double h) { return w * h; });
  h.runtime.define("geo", "greet(name, greeting = nil)", tsk::Effect::instant, "A greeting",
                   [](std::string name, std::optional<std::string> greeting) {
                     return greeting.value_or("hello") + ", " + name;
                   });
  h.runtime.define("geo", "stats(xs)", tsk::Effect::instant, "Sum and count of a list of ints",
                   [](std::vector<int64_t> xs) {
                     int64_t sum = 0;
                     for (int64_t x : xs) sum += x;
                     return std::map<std::string, int64_t>{{"count", int64_t(xs.size())}, {"sum", sum}};
                   });
  h.runtime.define("geo", "keep(v)", tsk::Effect::instant, "Returns its argument",
                   [](tsk::Value v) { return v; });
  h.runtime.define("geo", "nothing()", tsk::Effect::instant, "Returns nil", [] {});
  h.runtime.define("geo", "twice(n)", tsk::Effect::instant, "2n (a plain function)", twice);
  h.runtime.define("geo", "thrice(n)", tsk::Effect::instant, "3n (a mutable callable)",
                   [calls = 0](int64_t n) mutable { return calls++ >= 0 ? 3 * n : 0; });
  CHECK(h.run("import geo\n"
              "print(geo.area(3, 4.5), effect(geo.area))\n"
              "print(geo.greet(\"ada\"), geo.greet(\"bob\", \"hi\"))\n"
              "print(geo.stats([1, 2, 3]))\n"
              "print(geo.keep([1, \"a\", {\"k\": [true, nil]}]))\n"
              "let f = geo.keep(fn(x) { return x * 2 })\n"
              "print(f(21), geo.keep(f)(1), geo.nothing(), geo.twice(4), geo.thrice(4))\n") == 0);
  CHECK(h.err == "");
  CHECK(h.out ==
        "13.5 instant\n"
        "hello, ada hi, bob\n"
        "{\"count\": 3, \"sum\": 6}\n"
        "[1, \"a\", {\"k\": [true, nil]}]\n"
        "42 2 nil 8 12\n");
  CHECK(h.runtime.reference("geo.area") == "geo.area(width, height)  [instant]\n  The area of a rectangle\n");
}

TEST_CASE("host functions: docs/embedding.md's first example prints what it says") {
  Host h;
  h.runtime.define("geo", "area(width, height = nil)", tsk::Effect::instant,
                   "The area of a rectangle (a square without height)",
                   [](double width, std::optional<double> height) { return width * height.value_or(width); });
  CHECK(h.run("import geo\nprint(geo.area(3, 4.5), geo.area(2), effect(geo.area))\n") == 0);
  CHECK(h.out == "13.5 4.0 instant\n");
}

TEST_CASE("host functions: bad arguments and the host's exceptions are script errors") {
  Host h;
  h.runtime.define("geo", "area(width, height)", tsk::Effect::instant, "The area",
                   [](double w, double h) { return w * h; });
  h.runtime.define("geo", "check(n)", tsk::Effect::instant, "Raises for a negative n", [](int n) {
    if (n < 0) throw tsk::Error("ValueError", "n must not be negative");
    if (n == 0) throw std::runtime_error("zero");
    return n;
  });
  h.runtime.define("geo", "names(xs)", tsk::Effect::instant, "Strings only", [](std::vector<std::string> xs) {
    return xs.size();
  });
  CHECK(h.run("import geo\n"
              "for call in [fn() { return geo.area(1, \"2\") }, fn() { return geo.area(1) },\n"
              "             fn() { return geo.check(-1) }, fn() { return geo.check(0) },\n"
              "             fn() { return geo.names([\"a\", 2]) }] {\n"
              "    try { call() } catch e { print(e.kind, e.message) }\n"
              "}\n"
              "print(geo.check(5))\n") == 0);
  CHECK(h.out ==
        "TypeError geo.area(): height must be a number, not string\n"
        "ArityError geo.area() takes 2 arguments (1 given)\n"
        "ValueError n must not be negative\n"
        "Error geo.check(): zero\n"
        "TypeError geo.names(): xs[1] must be a string, not int\n"
        "5\n");

  // Uncaught, it ends the run with its traceback.
  CHECK(h.run("import geo\ngeo.check(-2)\n") == tsk::kRuntimeError);
  CHECK(h.err.find("error: ValueError: n must not be negative\n  at <main> (host_test.tsk:2:") != std::string::npos);
}

TEST_CASE("host functions: a value that cannot cross is an error in the script") {
  Host h;
  h.runtime.define("geo", "keep(v)", tsk::Effect::instant, "Returns its argument", [](tsk::Value v) { return v; });
  CHECK(h.run("import geo\n"
              "var xs = [1]\n"
              "push(xs, xs)\n"
              "try { geo.keep(xs) } catch e { print(e.kind, e.message) }\n") == 0);
  CHECK(h.out == "ValueError geo.keep(): v contains itself, so it cannot be passed to the host\n");

  // An opaque value belongs to its runtime. (Declared after the runtimes, it goes
  // before them: one kept past its runtime leaves the runtime's objects unfreed.)
  Host a, b;
  tsk::Value kept;
  a.runtime.define("h", "give(v)", tsk::Effect::instant, "Keeps v", [&kept](tsk::Value v) { kept = v; });
  b.runtime.define("h", "take()", tsk::Effect::instant, "Returns what was kept", [&kept] { return kept; });
  CHECK(a.run("import h\nh.give(chan(1))\n") == 0);
  CHECK(kept.type_name() == "chan");
  CHECK(b.run("import h\ntry { h.take() } catch e { print(e.kind, e.message) }\n") == 0);
  CHECK(b.out == "TypeError a chan of another runtime cannot be passed to this one\n");
}

TEST_CASE("host functions: a blocks one waits on the pool, not on a worker") {
  // One worker: if wait_for_release held it, the task that releases could never run.
  Host h(1);
  std::mutex lock;
  std::condition_variable cv;
  bool released = false;
  h.runtime.define("gate", "wait_for_release()", tsk::Effect::blocks, "Waits until release() is called", [&] {
    std::unique_lock g(lock);
    return cv.wait_for(g, std::chrono::seconds(20), [&] { return released; });
  });
  h.runtime.define("gate", "release()", tsk::Effect::instant, "Lets wait_for_release return", [&] {
    std::lock_guard g(lock);
    released = true;
    cv.notify_all();
  });
  CHECK(h.run("import gate\n"
              "spawn { sleep(10ms); gate.release() }\n"
              "print(gate.wait_for_release(), effect(gate.wait_for_release))\n") == 0);
  CHECK(h.out == "true blocks\n");
}

TEST_CASE("host functions: a yields one completes from any thread, once") {
  Host h(2);
  std::vector<std::thread> threads;
  std::mutex lock;
  std::vector<tsk::Completion> kept;
  std::atomic<int> second_completion_threw{0};
  h.runtime.define("later", "double(n)", tsk::Effect::yields, "2n, from another thread",
                   [&](tsk::Completion done, int64_t n) {
                     std::lock_guard g(lock);  // called on both workers at once
                     threads.emplace_back([&, done = std::move(done), n]() mutable {
                       std::this_thread::sleep_for(std::chrono::milliseconds(2));
                       done.complete(n * 2);
                       try {
                         done.complete(0);
                       } catch (const std::logic_error&) {
                         second_completion_threw++;
                       }
                     });
                   });
  h.runtime.define("later", "now(s)", tsk::Effect::yields, "s, completed during the call",
                   [](tsk::Completion done, std::string s) { done.complete(s); });
  h.runtime.define("later", "refuse()", tsk::Effect::yields, "Fails", [](tsk::Completion done) {
    done.fail("IOError", "the device is gone");
  });
  h.runtime.define("later", "drop()", tsk::Effect::yields, "Never completes", [](tsk::Completion) {});
  h.runtime.define("later", "throws()", tsk::Effect::yields, "Throws", [](tsk::Completion) {
    throw tsk::Error("ValueError", "refused at once");
  });
  h.runtime.define("later", "forever()", tsk::Effect::yields, "Completes only when the host says",
                   [&](tsk::Completion done) {
                     std::lock_guard g(lock);
                     kept.push_back(std::move(done));
                   });
  CHECK(h.run("import later\n"
              "print(later.double(21), later.now(\"x\"), effect(later.double))\n"
              "let results = chan(10)\n"
              "scope { for i in 0..10 { spawn { results <- later.double(i) } } }\n"
              "var total = 0\n"
              "for _ in 0..10 { total += <-results }\n"
              "print(total)\n"
              "for call in [later.refuse, later.drop, later.throws] {\n"
              "    try { call() } catch e { print(e.kind, e.message) }\n"
              "}\n"
              "import list\n"
              "try { list.map([\"a\"], later.now) } catch e { print(e.kind, e.message) }\n"
              "let t = spawn { later.forever() }\n"
              "sleep(10ms)\n"
              "cancel(t)\n"
              "try { await t } catch e { print(e.kind) }\n") == 0);
  for (std::thread& t : threads) t.join();
  CHECK(h.err == "");
  CHECK(h.out ==
        "42 x yields\n"
        "90\n"
        "IOError the device is gone\n"
        "Error later.drop() ended without completing: the host dropped its tsk::Completion\n"
        "ValueError refused at once\n"
        "Error later.now() cannot wait here: it was called by a native function (such as sort's less)\n"
        "Cancelled\n");
  CHECK(second_completion_threw == 11);
  // The cancelled call's completion does nothing now; it still reports it was not used.
  REQUIRE(kept.size() == 1);
  CHECK(bool(kept[0]));
  kept[0].complete(1);
  CHECK(!kept[0]);
}

TEST_CASE("host functions: a definition that cannot work is refused, saying why") {
  tsk::Runtime runtime;
  auto refused = [&](auto define) -> std::string {
    try {
      define();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "accepted";
  };
  auto two = [](int a, int b) { return a + b; };
  CHECK(refused([&] { runtime.define("math", "add(a, b)", tsk::Effect::instant, "x", two); }) ==
        "tsk: define(\"math\", \"add(a, b)\"): 'math' is a standard module");
  CHECK(refused([&] { runtime.define("my-mod", "add(a, b)", tsk::Effect::instant, "x", two); }) ==
        "tsk: define(\"my-mod\", \"add(a, b)\"): 'my-mod' is not a name for a module");
  CHECK(refused([&] { runtime.define("m", "add(a)", tsk::Effect::instant, "x", two); }) ==
        "tsk: define(\"m\", \"add(a)\"): the signature has 1 parameter, 1 of them required, and the function 2 "
        "parameters, 2 of them required (a std::optional one at the end may be left out)");
  CHECK(refused([&] { runtime.define("m", "add(a, b = 1)", tsk::Effect::instant, "x", two); }) ==
        "tsk: define(\"m\", \"add(a, b = 1)\"): a parameter that may be left out is written `b = nil`");
  CHECK(refused([&] { runtime.define("m", "add a, b", tsk::Effect::instant, "x", two); }) ==
        "tsk: define(\"m\", \"add a, b\"): a signature is written as a call: name(a, b = nil)");
  CHECK(refused([&] { runtime.define("m", "add(a, b)", tsk::Effect::yields, "x", two); }) ==
        "tsk: define(\"m\", \"add(a, b)\"): a yields function takes a tsk::Completion as its first parameter");
  CHECK(refused([&] {
          runtime.define("m", "f()", tsk::Effect::instant, "x", [](tsk::Completion) {});
        }) == "tsk: define(\"m\", \"f()\"): only a yields function takes a tsk::Completion");
  CHECK(refused([&] { runtime.define("m", "add(a, b)", tsk::Effect::instant, "x", two); }) == "accepted");
  CHECK(refused([&] { runtime.define("m", "add(x, y)", tsk::Effect::instant, "x", two); }) ==
        "tsk: define(\"m\", \"add(x, y)\"): 'm.add' is defined already");
  CHECK(runtime.run("", "empty.tsk") == 0);
  CHECK(refused([&] { runtime.define("m", "sub(a, b)", tsk::Effect::instant, "x", two); }) ==
        "tsk: define(\"m\", \"sub(a, b)\") after the runtime's first run: host functions are defined before it");
}

}  // TEST_SUITE("runtime host functions")
