// Unit tests of the value semantics (vm/ops.cpp) and the map (vm/map.cpp): str() of
// floats exactly as Python's repr, quoting and cycles in str(), equality and hashing
// rules (1 == 1.0, exact int/float comparison, nan, structural and cyclic containers),
// ordering, and the insertion-ordered map through growth, deletion and reinsertion.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "runtime/runtime.hpp"
#include "vm/heap.hpp"
#include "vm/ops.hpp"
#include "vm/task_state.hpp"
#include "vm/transfer.hpp"

namespace {

using tsk::vm::Tag;
using tsk::vm::Value;

std::string fstr(double d) {
  std::string s;
  tsk::vm::append_float(s, d);
  return s;
}

// A runtime and a task whose heap the tests allocate in.
struct Fixture {
  tsk::rt::Runtime runtime{tsk::rt::Config{}};
  tsk::vm::TaskState task{runtime};
  Value str(std::string_view s) { return Value::object(task.heap.string(s)); }
  Value list(std::initializer_list<Value> items) {
    tsk::vm::List* l = task.heap.list();
    l->items = items;
    return Value::object(l);
  }
  Value map() { return Value::object(task.heap.map()); }
};

Value I(int64_t i) { return Value::integer(i); }
Value F(double d) { return Value::number(d); }

}  // namespace

TEST_CASE("str of floats is Python's repr") {
  CHECK(fstr(0.1) == "0.1");
  CHECK(fstr(1.0) == "1.0");
  CHECK(fstr(1e16) == "1e+16");
  CHECK(fstr(1e15) == "1000000000000000.0");
  CHECK(fstr(9999999999999998.0) == "9999999999999998.0");
  CHECK(fstr(1e-5) == "1e-05");
  CHECK(fstr(0.0001) == "0.0001");
  CHECK(fstr(123456789012345680.0) == "1.2345678901234568e+17");
  CHECK(fstr(-0.0) == "-0.0");
  CHECK(fstr(0.0) == "0.0");
  CHECK(fstr(5e-324) == "5e-324");
  CHECK(fstr(1.5e300) == "1.5e+300");
  CHECK(fstr(-2.5) == "-2.5");
  CHECK(fstr(123.456) == "123.456");
  CHECK(fstr(1.0 / 3) == "0.3333333333333333");
  CHECK(fstr(2.0 / 3e20) == "6.6666666666666666e-21");  // as Python: 16 digits do not round-trip
  CHECK(fstr(1e22) == "1e+22");
  CHECK(fstr(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(fstr(std::nan("")) == "nan");
  CHECK(fstr(HUGE_VAL) == "inf");
  CHECK(fstr(-HUGE_VAL) == "-inf");
}

TEST_CASE("str of scalars, strings and containers") {
  Fixture f;
  using tsk::vm::to_str;
  CHECK(to_str(Value::nil()) == "nil");
  CHECK(to_str(Value::boolean(true)) == "true");
  CHECK(to_str(I(-42)) == "-42");
  CHECK(to_str(I(INT64_MIN)) == "-9223372036854775808");
  CHECK(to_str(f.str("a\"b")) == "a\"b");
  CHECK(to_str(f.list({})) == "[]");
  CHECK(to_str(f.map()) == "{}");
  CHECK(to_str(f.list({I(1), f.str("a"), F(2.5)})) == "[1, \"a\", 2.5]");
  CHECK(to_str(f.list({f.str("q\"\\\n\t\r\x01\x7f")})) == "[\"q\\\"\\\\\\n\\t\\r\\x01\\x7f\"]");
  CHECK(to_str(f.list({f.str("h\xc3\xa9")})) == "[\"h\xc3\xa9\"]");  // UTF-8 stays as is
  CHECK(to_str(f.list({f.str("\xff\xc3")})) == "[\"\\xff\\xc3\"]");  // invalid bytes are escaped
  Value m = f.map();
  tsk::vm::map_set(m.as_map(), f.str("k"), F(2.5));
  tsk::vm::map_set(m.as_map(), I(1), Value::nil());
  CHECK(to_str(m) == "{\"k\": 2.5, 1: nil}");
  CHECK(to_str(Value::object(f.task.heap.range(0, 3, false))) == "0..3");
  CHECK(to_str(Value::object(f.task.heap.range(0, 3, true))) == "0..=3");
  auto* e = f.task.heap.error(f.task.heap.string("ValueError"), f.task.heap.string("bad"));
  CHECK(to_str(Value::object(e)) == "ValueError: bad");
}

TEST_CASE("str survives cycles and deep nesting") {
  Fixture f;
  Value a = f.list({I(1)});
  a.as_list()->items.push_back(a);
  CHECK(tsk::vm::to_str(a) == "[1, [...]]");
  Value m = f.map();
  tsk::vm::map_set(m.as_map(), f.str("self"), m);
  CHECK(tsk::vm::to_str(m) == "{\"self\": {...}}");
  Value deep = f.list({});
  for (int i = 0; i < 100000; ++i) deep = f.list({deep});
  std::string s = tsk::vm::to_str(deep);
  CHECK(s.find("...") != std::string::npos);
}

TEST_CASE("equality: numbers") {
  using tsk::vm::equal;
  CHECK(equal(I(1), F(1.0)));
  CHECK(equal(F(1.0), I(1)));
  CHECK(!equal(I(1), F(1.5)));
  CHECK(!equal(I((int64_t(1) << 53) + 1), F(9007199254740992.0)));
  CHECK(equal(I(int64_t(1) << 53), F(9007199254740992.0)));
  CHECK(!equal(I(INT64_MAX), F(9223372036854775808.0)));
  CHECK(equal(I(INT64_MIN), F(-9223372036854775808.0)));
  CHECK(!equal(F(std::nan("")), F(std::nan(""))));
  CHECK(equal(F(0.0), F(-0.0)));
  CHECK(equal(I(0), F(-0.0)));
  CHECK(!equal(Value::boolean(true), I(1)));
  CHECK(!equal(Value::nil(), Value::boolean(false)));
}

TEST_CASE("equality: containers are structural, maps ignore order, cycles terminate") {
  Fixture f;
  using tsk::vm::equal;
  CHECK(equal(f.str("abc"), f.str("abc")));
  CHECK(!equal(f.str("abc"), f.str("abd")));
  CHECK(equal(f.list({I(1), f.list({f.str("x")})}), f.list({F(1.0), f.list({f.str("x")})})));
  CHECK(!equal(f.list({I(1)}), f.list({I(1), I(2)})));
  Value a = f.map(), b = f.map();
  tsk::vm::map_set(a.as_map(), f.str("x"), I(1));
  tsk::vm::map_set(a.as_map(), f.str("y"), I(2));
  tsk::vm::map_set(b.as_map(), f.str("y"), F(2.0));
  tsk::vm::map_set(b.as_map(), f.str("x"), I(1));
  CHECK(equal(a, b));
  tsk::vm::map_set(b.as_map(), f.str("x"), I(3));
  CHECK(!equal(a, b));
  // Two lists that each contain only themselves.
  Value c1 = f.list({}), c2 = f.list({});
  c1.as_list()->items.push_back(c1);
  c2.as_list()->items.push_back(c2);
  CHECK(equal(c1, c2));
  Value d1 = f.list({I(1)}), d2 = f.list({I(2)});
  d1.as_list()->items.push_back(d1);
  d2.as_list()->items.push_back(d2);
  CHECK(!equal(d1, d2));
  // Deep nesting does not recurse on the C++ stack.
  Value x = f.list({}), y = f.list({});
  for (int i = 0; i < 200000; ++i) {
    x = f.list({x});
    y = f.list({y});
  }
  CHECK(equal(x, y));
  // Ranges compare as sequences.
  CHECK(equal(Value::object(f.task.heap.range(0, 3, false)), Value::object(f.task.heap.range(0, 2, true))));
  CHECK(equal(Value::object(f.task.heap.range(5, 5, false)), Value::object(f.task.heap.range(1, 0, false))));
  CHECK(!equal(Value::object(f.task.heap.range(0, 3, false)), Value::object(f.task.heap.range(1, 4, false))));
}

TEST_CASE("hash agrees with equality; hashable is the map-key rule") {
  Fixture f;
  using tsk::vm::hash;
  using tsk::vm::hashable;
  CHECK(hash(I(1)) == hash(F(1.0)));
  CHECK(hash(I(-7)) == hash(F(-7.0)));
  CHECK(hash(I(0)) == hash(F(-0.0)));
  CHECK(hash(f.str("key")) == hash(f.str("key")));
  Value l1 = f.list({I(1), f.str("a")}), l2 = f.list({F(1.0), f.str("a")});
  l1.o->flags |= tsk::vm::kFrozen;
  l2.o->flags |= tsk::vm::kFrozen;
  CHECK(hash(l1) == hash(l2));
  Value a = f.map(), b = f.map();
  tsk::vm::map_set(a.as_map(), I(1), f.str("one"));
  tsk::vm::map_set(a.as_map(), I(2), f.str("two"));
  tsk::vm::map_set(b.as_map(), I(2), f.str("two"));
  tsk::vm::map_set(b.as_map(), I(1), f.str("one"));
  CHECK(hash(a) == hash(b));
  CHECK(hashable(I(1)));
  CHECK(hashable(f.str("s")));
  CHECK(hashable(F(2.5)));
  CHECK(!hashable(Value::nil()));
  CHECK(!hashable(f.list({})));
  CHECK(hashable(l1));
  CHECK(!hashable(f.map()));
  // A frozen cycle still hashes (depth-limited).
  Value cyc = f.list({});
  cyc.as_list()->items.push_back(cyc);
  cyc.o->flags |= tsk::vm::kFrozen;
  CHECK(hash(cyc) == hash(cyc));
}

TEST_CASE("less: exact mixed numbers, bytewise strings, TypeError otherwise") {
  Fixture f;
  auto lt = [&](Value a, Value b) { return tsk::vm::less(f.task, a, b); };
  CHECK(lt(I(1), F(1.5)));
  CHECK(!lt(F(1.5), I(1)));
  CHECK(lt(F(9007199254740992.0), I((int64_t(1) << 53) + 1)));
  CHECK(!lt(I((int64_t(1) << 53) + 1), F(9007199254740992.0)));
  CHECK(lt(I(INT64_MAX), F(9223372036854775808.0)));
  CHECK(!lt(I(1), F(std::nan(""))));
  CHECK(!lt(F(std::nan("")), I(1)));
  CHECK(lt(f.str("abc"), f.str("abd")));
  CHECK(lt(f.str("ab"), f.str("abc")));
  CHECK(lt(f.str("z"), f.str("\xc3\xa9")));  // bytes compare unsigned
  bool raised = false;
  try {
    lt(I(1), f.str("1"));
  } catch (const tsk::vm::ScriptError& e) {
    raised = e.error->kind->view() == "TypeError";
  }
  CHECK(raised);
}

TEST_CASE("type names") {
  Fixture f;
  CHECK(std::string(tsk::vm::type_name(Value::nil())) == "nil");
  CHECK(std::string(tsk::vm::type_name(F(1))) == "float");
  CHECK(std::string(tsk::vm::type_name(f.list({}))) == "list");
  CHECK(std::string(tsk::vm::type_name(Value::object(f.task.heap.range(0, 1, false)))) == "range");
}

TEST_CASE("map: insertion order through delete and reinsert") {
  Fixture f;
  tsk::vm::Map* m = f.task.heap.map();
  auto keys = [&] {
    std::string s;
    for (const auto& e : m->entries)
      if (!e.key.is(Tag::Undef)) s += tsk::vm::to_str(e.key) + ",";
    return s;
  };
  tsk::vm::map_set(m, f.str("a"), I(1));
  tsk::vm::map_set(m, f.str("b"), I(2));
  tsk::vm::map_set(m, f.str("c"), I(3));
  CHECK(keys() == "a,b,c,");
  tsk::vm::map_set(m, f.str("a"), I(10));  // replacing keeps the place
  CHECK(keys() == "a,b,c,");
  CHECK(tsk::vm::map_delete(m, f.str("a")));
  CHECK(!tsk::vm::map_delete(m, f.str("a")));
  CHECK(m->count == 2);
  tsk::vm::map_set(m, f.str("a"), I(11));  // reinserting goes to the end
  CHECK(keys() == "b,c,a,");
  CHECK(tsk::vm::map_get(m, f.str("a")).i == 11);
  CHECK(tsk::vm::map_get(m, f.str("zz")).is(Tag::Undef));
}

TEST_CASE("map: 1 and 1.0 are one key") {
  Fixture f;
  tsk::vm::Map* m = f.task.heap.map();
  tsk::vm::map_set(m, I(1), f.str("int"));
  tsk::vm::map_set(m, F(1.0), f.str("float"));
  CHECK(m->count == 1);
  CHECK(tsk::vm::map_get(m, I(1)).as_string()->view() == "float");
  CHECK(tsk::vm::map_get(m, F(1.0)).as_string()->view() == "float");
  CHECK(tsk::vm::map_get(m, F(1.5)).is(Tag::Undef));
  // nan is a key that is never found again (nan != nan), as in Python.
  tsk::vm::map_set(m, F(std::nan("")), I(0));
  CHECK(tsk::vm::map_get(m, F(std::nan(""))).is(Tag::Undef));
}

TEST_CASE("map: growth to 100k keys, deletion of most, compaction keeps order") {
  Fixture f;
  tsk::vm::Map* m = f.task.heap.map();
  const int n = 100000;
  for (int i = 0; i < n; ++i) tsk::vm::map_set(m, f.str("k" + std::to_string(i)), I(i));
  for (int i = 0; i < n; ++i) tsk::vm::map_set(m, I(i), I(-i));
  CHECK(m->count == 2 * n);
  bool all_found = true;
  for (int i = 0; i < n; ++i) {
    Value v = tsk::vm::map_get(m, f.str("k" + std::to_string(i)));
    if (!v.is(Tag::Int) || v.i != i) all_found = false;
    Value w = tsk::vm::map_get(m, F(double(i)));
    if (!w.is(Tag::Int) || w.i != -i) all_found = false;
  }
  CHECK(all_found);
  // Delete everything but every 100th string key; the survivors keep their order.
  for (int i = 0; i < n; ++i) tsk::vm::map_delete(m, I(i));
  for (int i = 0; i < n; ++i)
    if (i % 100) tsk::vm::map_delete(m, f.str("k" + std::to_string(i)));
  CHECK(m->count == n / 100);
  CHECK(m->entries.size() < size_t(n));  // tombstones were compacted away
  int64_t prev = -1;
  bool ordered = true;
  for (const auto& e : m->entries) {
    if (e.key.is(Tag::Undef)) continue;
    int64_t v = tsk::vm::map_get(m, e.key).i;
    if (v <= prev || v % 100) ordered = false;
    prev = v;
  }
  CHECK(ordered);
  // Deleting the rest empties the map completely.
  for (int i = 0; i < n; i += 100) tsk::vm::map_delete(m, f.str("k" + std::to_string(i)));
  CHECK(m->count == 0);
  CHECK(m->entries.empty());
  tsk::vm::map_set(m, f.str("again"), I(1));
  CHECK(tsk::vm::map_get(m, f.str("again")).i == 1);
}

TEST_CASE("map: a queue of inserts and deletes stays small") {
  Fixture f;
  tsk::vm::Map* m = f.task.heap.map();
  for (int i = 0; i < 100000; ++i) {
    tsk::vm::map_set(m, I(i), I(i));
    if (i >= 10) tsk::vm::map_delete(m, I(i - 10));
  }
  CHECK(m->count == 10);
  CHECK(m->entries.size() <= 64);
  for (int i = 99990; i < 100000; ++i) CHECK(tsk::vm::map_get(m, I(i)).i == i);
}

TEST_CASE("frozen values are published: shared across heaps by reference, freed by the last holder") {
  using namespace tsk::vm;
  Fixture f;
  Value inner = f.list({I(2), f.str("deep")});
  Value frozen = f.list({I(1), f.str("s"), inner});
  freeze_deep(frozen);
  // freeze marks everything it reached as shared and counted, in place.
  CHECK((frozen.o->flags & (kFrozen | kShared | kCounted)) == (kFrozen | kShared | kCounted));
  CHECK(inner.o->counted());
  CHECK(frozen.as_list()->items[1].o->counted());

  // A frozen value travels as itself: no copy, no private heap.
  Message m = pack(frozen);
  CHECK(m.value.o == frozen.o);
  CHECK(!m.heap);
  Heap receiver(false);
  Value got = unpack(receiver, m);
  CHECK(got.o == frozen.o);

  // Inside a mutable value, the frozen part is shared and the rest copied.
  Value outer = f.list({frozen, I(3)});
  Message mixed = pack(outer);
  REQUIRE(mixed.heap);
  CHECK(mixed.value.o != outer.o);
  CHECK(mixed.value.as_list()->items[0].o == frozen.o);
  Value copied = unpack(receiver, mixed);
  CHECK(copied.as_list()->items[0].o == frozen.o);

  // The sender drops everything (a collection with no roots); the receiver still reads
  // the shared list (ASan reports a use after free if the count was wrong).
  f.task.collect();
  CHECK(got.as_list()->items[2].as_list()->items[1].as_string()->view() == "deep");
  receiver.free_all();  // the last holder: everything is freed (ASan's leak check)
}

TEST_CASE("errors keep their identity across copies and may be map keys") {
  using namespace tsk::vm;
  Fixture f;
  Error* a = f.task.make_error("ValueError", "bad");
  Error* b = f.task.make_error("ValueError", "bad");
  Heap other(false);
  Error* copy = clone_error(other, a);
  CHECK(equal(Value::object(a), Value::object(copy)));
  CHECK(!equal(Value::object(a), Value::object(b)));
  CHECK(hash(Value::object(a)) == hash(Value::object(copy)));
  CHECK(hashable(Value::object(a)));
}
