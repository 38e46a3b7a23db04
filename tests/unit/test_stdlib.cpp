// Unit tests of the standard library: the registry is complete (every entry has an
// effect, a doc and a signature), the builtins and modules behave as SPEC §11 says
// (run as small scripts through tsk::Runtime with the output captured), errors have the
// right kinds, and the reference renders from the registry.
#include <doctest/doctest.h>

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "runtime/runtime.hpp"
#include "stdlib/reference.hpp"
#include "stdlib/registry.hpp"
#include "tsk/tsk.hpp"

namespace {

struct Outcome {
  int status = -1;
  std::string out, err;
};

Outcome run(std::string_view source, std::vector<std::string> args = {}) {
  Outcome o;
  tsk::Options options;
  options.out = [&](std::string_view s) { o.out += s; };
  options.err = [&](std::string_view s) { o.err += s; };
  options.args = std::move(args);
  tsk::Runtime runtime(options);
  o.status = runtime.run(source, "t.tsk");
  return o;
}

// The printed output of a script that must succeed.
std::string out(std::string_view source) {
  Outcome o = run(source);
  CHECK_MESSAGE(o.status == 0, o.err);
  return o.out;
}

// "Kind: message" of the error `expr` raises, caught in script.
std::string raised(const std::string& expr, const std::string& imports = "") {
  std::string r = out(imports + "try { " + expr + "\nprint(\"no error\") } catch e { print(e.kind + \": \" + e.message) }\n");
  if (!r.empty() && r.back() == '\n') r.pop_back();
  return r;
}

std::string kind_of(const std::string& expr, const std::string& imports = "") {
  std::string r = raised(expr, imports);
  return r.substr(0, r.find(':'));
}


}  // namespace

TEST_CASE("registry: every builtin and module function is complete") {
  std::set<std::string> names;
  auto check_entry = [&](const tsk::vm::NativeEntry& e, const std::string& module) {
    std::string name = module.empty() ? e.name : module + "." + e.name;
    CHECK_MESSAGE(e.effect != tsk::vm::Effect::Missing, name);
    CHECK_MESSAGE(e.doc != nullptr, name);
    CHECK_MESSAGE(e.doc[0] != '\0', name);
    CHECK_MESSAGE(e.signature != nullptr, name);
    CHECK_MESSAGE(e.signature[0] != '\0', name);
    CHECK_MESSAGE(bool(e.fn), name);
    CHECK_MESSAGE((e.max_args < 0 || e.max_args >= e.min_args), name);
    CHECK_MESSAGE(std::string(e.module) == module, name);
    CHECK_MESSAGE(names.insert(name).second, "duplicate " << name);
    CHECK_MESSAGE(std::string(tsk::vm::effect_name(e.effect)) != "missing", name);
  };
  for (const auto& e : tsk::vm::builtin_functions()) check_entry(e, "");
  for (const auto& def : tsk::vm::standard_modules()) {
    CHECK(def.doc[0] != '\0');
    for (const auto& e : def.functions) check_entry(e, def.name);
  }
  for (const char* b : {"print", "len", "str", "int", "float", "type", "error", "assert", "freeze",
                        "is_frozen", "copy", "push", "pop", "insert", "remove", "keys", "values",
                        "has", "delete", "sort", "min", "max", "abs", "effect", "help"})
    CHECK_MESSAGE(names.count(b) == 1, b);
  for (const char* m : {"math.floor", "string.format", "list.zip", "map.merge", "os.exit"})
    CHECK_MESSAGE(names.count(m) == 1, m);
}

// A checked build asserts each native's effect while it runs (a blocks native on a worker
// thread, an instant one that suspends); that check is only as good as the calls made, so
// every entry must be called by the script test written for it.
TEST_CASE("registry: every entry is called by tests/scripts/stdlib/every_entry.tsk") {
  std::ifstream file(std::string(TSK_SOURCE_DIR) + "/tests/scripts/stdlib/every_entry.tsk");
  REQUIRE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  const std::string script = text.str();
  auto called = [&](const std::string& name) {
    // `name(` not preceded by a letter, digit, '_' or '.' (so `len(` is not found in `xlen(`).
    for (size_t at = script.find(name + "("); at != std::string::npos; at = script.find(name + "(", at + 1)) {
      char before = at == 0 ? ' ' : script[at - 1];
      if (!std::isalnum(static_cast<unsigned char>(before)) && before != '_' && before != '.') return true;
    }
    return false;
  };
  for (const auto& e : tsk::vm::builtin_functions()) CHECK_MESSAGE(called(e.name), e.name);
  for (const auto& def : tsk::vm::standard_modules())
    for (const auto& e : def.functions) {
      std::string name = std::string(def.name) + "." + e.name;
      CHECK_MESSAGE(called(name), name);
    }
}

TEST_CASE("effects of builtins") {
  CHECK(out("print(effect(print), effect(len), effect(sort))\n") == "blocks instant instant\n");
  CHECK(out("import string\nprint(effect(string.split))\n") == "instant\n");
  CHECK(kind_of("effect(fn() => 1)") == "TypeError");
  CHECK(kind_of("effect(1)") == "TypeError");
}

TEST_CASE("print, str, type, len") {
  CHECK(out("print()\nprint(1, \"a\", nil, true, 2.5)\n") == "\n1 a nil true 2.5\n");
  CHECK(out("print(str(0.1), str([\"a\", 1]), str({\"k\": 2.5}), str(1e16))\n") ==
        "0.1 [\"a\", 1] {\"k\": 2.5} 1e+16\n");
  CHECK(out("print(type(1), type(1.0), type(\"\"), type([]), type({}), type(nil), type(print), type(fn() => 1), type(0..2))\n") ==
        "int float string list map nil fn fn range\n");
  CHECK(out("print(len(\"h\\xc3\\xa9\"), len([1, 2]), len({a: 1}), len(0..3), len(0..=3), len(3..0))\n") ==
        "3 2 1 3 4 0\n");
  CHECK(kind_of("len(1)") == "TypeError");
}

TEST_CASE("int() and float() conversions") {
  CHECK(out("print(int(2.9), int(-2.9), int(true), int(\" -1_000 \"), int(\"+7\"))\n") == "2 -2 1 -1000 7\n");
  CHECK(raised("int(\"x\")") == "ValueError: invalid literal for int(): \"x\"");
  CHECK(kind_of("int(\"1__0\")") == "ValueError");
  CHECK(kind_of("int(\"_1\")") == "ValueError");
  CHECK(kind_of("int(\"1.5\")") == "ValueError");
  CHECK(kind_of("int(\"\")") == "ValueError");
  CHECK(kind_of("int(\"99999999999999999999\")") == "OverflowError");
  CHECK(out("print(int(\"-9223372036854775808\"))\n") == "-9223372036854775808\n");
  CHECK(kind_of("int(0.0 / 0.0)") == "ValueError");
  CHECK(kind_of("int(1.0 / 0.0)") == "OverflowError");
  CHECK(kind_of("int(1e19)") == "OverflowError");
  CHECK(kind_of("int(nil)") == "TypeError");
  CHECK(out("print(float(1), float(\" 2.5 \"), float(\"1e5\"), float(\"inf\"), float(\"-inf\"), float(\"nan\"), float(\"1_0.5\"), float(\".5\"), float(\"1e400\"), float(\"1e-400\"))\n") ==
        "1.0 2.5 100000.0 inf -inf nan 10.5 0.5 inf 0.0\n");
  CHECK(kind_of("float(\"0x10\")") == "ValueError");
  CHECK(kind_of("float(\"1e\")") == "ValueError");
  CHECK(kind_of("float(\"abc\")") == "ValueError");
  CHECK(kind_of("float([])") == "TypeError");
}

TEST_CASE("error, assert") {
  CHECK(out("let e = error(\"boom\", \"ValueError\")\nprint(e.kind, e.message, e)\n") ==
        "ValueError boom ValueError: boom\n");
  CHECK(out("print(error(\"x\"))\n") == "Error: x\n");
  CHECK(raised("assert(1 == 2)") == "AssertionError: assertion failed");
  CHECK(raised("assert(false, \"custom\")") == "AssertionError: custom");
  CHECK(out("assert(true)\nprint(\"ok\")\n") == "ok\n");
}

TEST_CASE("freeze, is_frozen, copy") {
  CHECK(out("let a = freeze([1, [2], {k: [3]}])\nprint(is_frozen(a), is_frozen(a[1]), is_frozen(a[2].k), is_frozen([]), is_frozen(1), is_frozen(\"s\"))\n") ==
        "true true true false true true\n");
  CHECK(kind_of("push(freeze([]), 1)") == "FrozenError");
  CHECK(kind_of("delete(freeze({a: 1}), \"a\")") == "FrozenError");
  CHECK(out("let a = [1]\npush(a, a)\nfreeze(a)\nprint(is_frozen(a), a)\n") == "true [1, [...]]\n");
  CHECK(out("let a = freeze([1, [2]])\nlet b = copy(a)\npush(b[1], 3)\nprint(a, b, is_frozen(b))\n") ==
        "[1, [2]] [1, [2, 3]] false\n");
  CHECK(out("let a = [1]\npush(a, a)\nlet b = copy(a)\nprint(b, b[1] == b)\n") == "[1, [...]] true\n");
}

TEST_CASE("list primitives") {
  CHECK(out("var xs = [1, 2]\npush(xs, 3)\nprint(pop(xs), xs)\ninsert(xs, 0, 0)\ninsert(xs, 3, 9)\ninsert(xs, -1, 8)\nprint(str(xs), remove(xs, -1), xs)\n") ==
        "3 [1, 2]\n[0, 1, 2, 8, 9] 9 [0, 1, 2, 8]\n");
  CHECK(kind_of("pop([])") == "IndexError");
  CHECK(kind_of("remove([1], 1)") == "IndexError");
  // insert clamps an index past either end, as Python's list.insert.
  CHECK(out("var xs = [1]\ninsert(xs, 3, 2)\ninsert(xs, -9, 0)\nprint(xs)\n") == "[0, 1, 2]\n");
  CHECK(kind_of("push(1, 2)") == "TypeError");
}

TEST_CASE("map primitives") {
  CHECK(out("let m = {a: 1, b: 2}\nprint(keys(m), values(m), has(m, \"a\"), has(m, \"z\"))\ndelete(m, \"a\")\ndelete(m, \"zz\")\nprint(m)\n") ==
        "[\"a\", \"b\"] [1, 2] true false\n{\"b\": 2}\n");
  CHECK(raised("has({}, [1])") == "TypeError: unhashable key: list (freeze it to use it as a key)");
  CHECK(out("let m = {}\nm[1] = \"int\"\nm[1.0] = \"float\"\nprint(m, has(m, 1.0))\n") == "{1: \"float\"} true\n");
}

TEST_CASE("sort, min, max, abs") {
  CHECK(out("print(sort([3, 1, 2]), sort([\"b\", \"a\"]), sort([2.5, 1, 3]))\n") ==
        "[1, 2, 3] [\"a\", \"b\"] [1, 2.5, 3]\n");
  // Stable with a comparator; the input is unchanged.
  CHECK(out("let xs = [[1, \"a\"], [0, \"b\"], [1, \"c\"], [0, \"d\"]]\nprint(sort(xs, fn(a, b) => a[0] < b[0]), xs[0])\n") ==
        "[[0, \"b\"], [0, \"d\"], [1, \"a\"], [1, \"c\"]] [1, \"a\"]\n");
  CHECK(out("var xs = []\nfor i in 0..200 { push(xs, (i * 7919) % 211) }\nlet s = sort(xs, fn(a, b) => a > b)\nvar ok = true\nfor i in 1..200 { if s[i - 1] < s[i] { ok = false } }\nprint(ok, len(s))\n") ==
        "true 200\n");
  // An inconsistent comparator cannot crash the sort.
  CHECK(out("var n = 0\nlet s = sort(list_of(), fn(a, b) { n += 1\n return n % 3 == 0 })\nfn list_of() { var xs = []\n for i in 0..100 { push(xs, i) }\n return xs }\nprint(len(s))\n") ==
        "100\n");
  CHECK(kind_of("sort([1, \"a\"])") == "TypeError");
  CHECK(raised("sort([2, 1], fn(a, b) { throw \"cmp\" })") == "Error: cmp");
  CHECK(out("print(min(3, 1, 2), max(3, 1, 2), min([4, 5]), max([4, 5]), min(0..3), max(0..3), max(0..=3), abs(-3), abs(-2.5))\n") ==
        "1 3 4 5 0 2 3 3 2.5\n");
  CHECK(kind_of("min([])") == "ValueError");
  CHECK(kind_of("max(1, \"a\")") == "TypeError");
  CHECK(kind_of("abs(-9223372036854775807 - 1)") == "OverflowError");
}

TEST_CASE("math") {
  CHECK(out("import math\nprint(math.round(0.5), math.round(1.5), math.round(2.5), math.round(-0.5), math.round(-1.5), math.round(2.6), math.round(7))\n") ==
        "0 2 2 0 -2 3 7\n");
  CHECK(out("import math\nprint(math.floor(-1.5), math.ceil(-1.5), math.trunc(-1.5), math.floor(3))\n") == "-2 -1 -1 3\n");
  CHECK(out("import math\nprint(math.round(2.675, 2), math.round(1234, -2), math.round(1250, -2))\n") == "2.67 1200 1200\n");
  CHECK(out("import math\nprint(math.sqrt(16), math.log(8, 2), math.log(1), math.log10(1000), math.log2(8), math.hypot(3, 4))\n") ==
        "4.0 3.0 0.0 3.0 3.0 5.0\n");
  CHECK(out("import math\nprint(math.pi, math.e, math.inf, math.nan, math.is_nan(math.nan), math.is_inf(-math.inf), math.is_nan(1))\n") ==
        "3.141592653589793 2.718281828459045 inf nan true true false\n");
  CHECK(raised("math.sqrt(-1)", "import math\n") == "ValueError: math.sqrt(): math domain error");
  CHECK(kind_of("math.log(0)", "import math\n") == "ValueError");
  CHECK(kind_of("math.log(-1)", "import math\n") == "ValueError");
  CHECK(kind_of("math.asin(2)", "import math\n") == "ValueError");
  CHECK(kind_of("math.exp(1000)", "import math\n") == "OverflowError");
  CHECK(kind_of("math.floor(math.nan)", "import math\n") == "ValueError");
  CHECK(kind_of("math.round(math.inf)", "import math\n") == "OverflowError");
  CHECK(kind_of("math.ceil(1e300)", "import math\n") == "OverflowError");
  CHECK(kind_of("math.sqrt(\"4\")", "import math\n") == "TypeError");
}

TEST_CASE("string functions") {
  std::string p = "import string\n";
  CHECK(out(p + "print(string.split(\" a  b\\tc \"), string.split(\"a,,b\", \",\"), string.split(\"\", \",\"), string.split(\"  \"))\n") ==
        "[\"a\", \"b\", \"c\"] [\"a\", \"\", \"b\"] [\"\"] []\n");
  CHECK(kind_of("string.split(\"a\", \"\")", p) == "ValueError");
  CHECK(out(p + "print(string.join([\"a\", \"b\", \"c\"], \", \"), string.join([], \"-\"))\n") == "a, b, c \n");
  CHECK(kind_of("string.join([1], \",\")", p) == "TypeError");
  CHECK(out(p + "print(\"[\" + string.trim(\" x \") + \"]\", \"[\" + string.trim_start(\" x \") + \"]\", \"[\" + string.trim_end(\" x \") + \"]\")\n") ==
        "[x] [x ] [ x]\n");
  CHECK(out(p + "print(string.upper(\"abc\\xc3\\xa9\"), string.lower(\"ABC\"))\n") == "ABC\xc3\xa9 abc\n");
  CHECK(out(p + "print(string.find(\"hello\", \"ll\"), string.find(\"hello\", \"z\"), string.count(\"aaaa\", \"aa\"), string.count(\"ab\", \"\"))\n") ==
        "2 nil 2 3\n");
  CHECK(out(p + "print(string.replace(\"a.b.c\", \".\", \"::\"), string.replace(\"ab\", \"\", \"-\"))\n") == "a::b::c -a-b-\n");
  CHECK(out(p + "print(string.starts_with(\"hello\", \"he\"), string.ends_with(\"hello\", \"lo\"), string.starts_with(\"h\", \"he\"))\n") ==
        "true true false\n");
  CHECK(out(p + "print(string.repeat(\"ab\", 3), \"[\" + string.repeat(\"x\", -1) + \"]\")\n") == "ababab []\n");
  CHECK(kind_of("string.repeat(\"ab\", 9223372036854775807)", p) == "OverflowError");
  CHECK(out(p + "print(string.chars(\"h\\xc3\\xa9\\xffz\"), string.bytes(\"AB\"), string.from_bytes([104, 105]))\n") ==
        "[\"h\", \"\xc3\xa9\", \"\\xff\", \"z\"] [65, 66] hi\n");
  CHECK(kind_of("string.from_bytes([256])", p) == "ValueError");
  CHECK(out(p + "print(string.pad_left(\"7\", 3, \"0\"), string.pad_right(\"ab\", 4) + \"|\", string.pad_left(\"long\", 2))\n") ==
        "007 ab  | long\n");
}

TEST_CASE("string.format") {
  auto fmt = [](const std::string& args) { return out("import string\nprint(string.format(" + args + "))\n"); };
  CHECK(fmt("\"%d|%i|%5d|%-5d|%05d|%+d|% d\", 42, 7, 42, 42, -42, 5, 5") == "42|7|   42|42   |-0042|+5| 5\n");
  CHECK(fmt("\"%x %X %o %x\", 255, 255, 8, -255") == "ff FF 10 -ff\n");
  CHECK(fmt("\"%.3d\", 5") == "005\n");
  CHECK(fmt("\"%f|%.2f|%8.3f|%-8.1f|%e|%g|%g\", 1.5, 3.14159, 2.5, 2.5, 12345.678, 0.0001, 1e20") ==
        "1.500000|3.14|   2.500|2.5     |1.234568e+04|0.0001|1e+20\n");
  CHECK(fmt("\"%.9f\", 1") == "1.000000000\n");
  CHECK(fmt("\"%s|%5s|%-5s|%.2s\", \"abc\", \"ab\", \"ab\", \"abc\"") == "abc|   ab|ab   |ab\n");
  CHECK(fmt("\"%s %v %v\", [1, \"a\"], {k: 2.5}, nil") == "[1, \"a\"] {\"k\": 2.5} nil\n");
  CHECK(fmt("\"%c%c%c\", 104, \"i\", 233") == "hi\xc3\xa9\n");
  CHECK(fmt("\"100%%\"") == "100%\n");
  CHECK(fmt("\"%f %f\", 1.0 / 0.0, 0.0 / 0.0") == "inf nan\n");
  // As Python's %: the # flag, * widths, zero padding with a precision and of inf,
  // widths and precisions of text in characters, ints from integral floats.
  CHECK(fmt("\"%#x|%#o|%#08x|%#.0f\", 255, 8, -255, 3.0") == "0xff|0o10|-0x000ff|3.\n");
  CHECK(fmt("\"%*d|%-*d|%.*f\", 4, 1, 3, 2, 1, 2.25") == "   1|2  |2.2\n");
  CHECK(fmt("\"%05.3d|%06.1f\", -7, 1.0 / 0.0") == "-0007|000inf\n");
  CHECK(fmt("\"%4s|%.1s|%3c\", \"\xc3\xa9\", \"\xc3\xa9" "a\", 233") ==
        "   \xc3\xa9|\xc3\xa9|  \xc3\xa9\n");
  CHECK(fmt("\"%d %x\", 3.0, -16.0") == "3 -10\n");
  std::string p = "import string\n";
  CHECK(kind_of("string.format(\"%d %d\", 1)", p) == "ValueError");
  CHECK(kind_of("string.format(\"%d\", 1, 2)", p) == "ValueError");
  CHECK(kind_of("string.format(\"%q\", 1)", p) == "ValueError");
  CHECK(kind_of("string.format(\"%5\", 1)", p) == "ValueError");
  // A value of the wrong type is a mismatch too: ValueError (SPEC §11).
  CHECK(kind_of("string.format(\"%d\", 2.5)", p) == "ValueError");
  CHECK(kind_of("string.format(\"%f\", \"x\")", p) == "ValueError");
  CHECK(kind_of("string.format(\"%c\", [1])", p) == "ValueError");
}

TEST_CASE("list module") {
  std::string p = "import list\n";
  CHECK(out(p + "print(list.reverse([1, 2, 3]), list.index([1, 2, 3], 2.0), list.index([1], 5))\n") == "[3, 2, 1] 1 nil\n");
  CHECK(out(p + "print(list.map([1, 2], fn(x) => x * 10), list.filter([1, 2, 3, 4], fn(x) => x % 2 == 0))\n") ==
        "[10, 20] [2, 4]\n");
  CHECK(out(p + "print(list.reduce([1, 2, 3], fn(a, x) => a + x, 10), list.sum([1, 2, 3]), list.sum([1, 2.5]), list.sum([]))\n") ==
        "16 6 3.5 0\n");
  CHECK(out(p + "print(list.any([1, 2], fn(x) => x > 1), list.all([1, 2], fn(x) => x > 1), list.any([]), list.all([]), list.any([nil, 0]))\n") ==
        "true false false true true\n");
  CHECK(out(p + "print(list.range(0, 5), list.range(5, 0, -2), list.range(0, 0), list.concat([[1], [], [2, 3]]), list.zip([1, 2, 3], [\"a\", \"b\"]))\n") ==
        "[0, 1, 2, 3, 4] [5, 3, 1] [] [1, 2, 3] [[1, \"a\"], [2, \"b\"]]\n");
  CHECK(kind_of("list.range(0, 5, 0)", p) == "ValueError");
  CHECK(kind_of("list.range(0, 9223372036854775807)", p) == "OverflowError");
  CHECK(kind_of("list.sum([1, \"a\"])", p) == "TypeError");
  CHECK(kind_of("list.sum([9223372036854775807, 1])", p) == "OverflowError");
  // A callback that empties the list it is mapping cannot make the native read past the end.
  CHECK(out(p + "var xs = [1, 2, 3]\nprint(list.map(xs, fn(x) { pop(xs)\n return x }))\n") == "[1, 2]\n");
}

TEST_CASE("map module") {
  std::string p = "import map\n";
  CHECK(out(p + "print(map.items({a: 1, b: 2}), map.merge({a: 1, b: 2}, {b: 3, c: 4}), map.get({a: 1}, \"a\"), map.get({}, \"a\"), map.get({}, \"a\", 0))\n") ==
        "[[\"a\", 1], [\"b\", 2]] {\"a\": 1, \"b\": 3, \"c\": 4} 1 nil 0\n");
}

TEST_CASE("os module") {
  Outcome o = run("import os\nprint(os.args, is_frozen(os.args), os.platform(), os.env(\"TSK_SURELY_UNSET_VAR\"))\n",
                  {"t.tsk", "x"});
  CHECK(o.out == "[\"t.tsk\", \"x\"] true linux nil\n");
  o = run("import os\nprint(\"before\")\nos.exit(3)\nprint(\"after\")\n");
  CHECK(o.status == 3);
  CHECK(o.out == "before\n");
  CHECK(run("import os\nos.exit()\n").status == 0);
}

TEST_CASE("help prints signature, effect and doc") {
  CHECK(out("help(len)\n") == "len(x)  [instant]\n  The length of a string (in bytes), list, map or range\n");
  std::string m = out("import string\nhelp(string)\n");
  CHECK(m.find("module string: ") == 0);
  CHECK(m.find("string.split(s, sep = nil)  [instant]\n") != std::string::npos);
  CHECK(kind_of("help(1)") == "TypeError");
}

TEST_CASE("reference renders from the registry") {
  tsk::Runtime runtime;
  auto ref = [&](std::string_view name, bool markdown) { return runtime.reference(name, markdown); };
  std::string all = ref("", false);
  CHECK(all.find("print(values...)  [blocks]") != std::string::npos);
  CHECK(all.find("module math:") != std::string::npos);
  CHECK(all.find("constants: pi e inf nan") != std::string::npos);
  CHECK(ref("len", false) == "len(x)  [instant]\n  The length of a string (in bytes), list, map or range\n");
  CHECK(ref("string.split", false).find("string.split(s, sep = nil)  [instant]") == 0);
  CHECK(ref("string", false).find("module string:") == 0);
  CHECK(ref("nosuch", false).empty());
  CHECK(ref("string.nosuch", false).empty());
  CHECK(ref("nosuch.split", false).empty());
  std::string md = ref("", true);
  CHECK(md.find("# tsk standard library reference") == 0);
  CHECK(md.find("## math") != std::string::npos);
  CHECK(md.find("| name | signature | effect | description |") != std::string::npos);
  CHECK(md.find("| `string.split` | `split(s, sep = nil)` | instant |") != std::string::npos);
}

namespace {

tsk::vm::Value host_twice(tsk::vm::TaskState&, tsk::vm::Value* args, int) {
  return tsk::vm::Value::integer(args[0].i * 2);
}

const tsk::vm::NativeEntry kHostEntries[] = {
    {"host", "twice", "twice(n)", tsk::vm::Effect::Instant, "Twice n", host_twice, 1, 1},
};

}  // namespace

TEST_CASE("the native table is per runtime: a host adds a module, and it is documented") {
  tsk::Options options;
  std::string out;
  options.out = [&](std::string_view s) { out += s; };
  tsk::Runtime with(options);
  with.internal().add_module({"host", "Functions of the host", kHostEntries, nullptr});
  CHECK(with.run("import host\nprint(host.twice(21), effect(host.twice))\n", "h.tsk") == 0);
  CHECK(out == "42 instant\n");
  CHECK(with.reference("host.twice", false) == "host.twice(n)  [instant]\n  Twice n\n");
  // Another runtime in the same process does not have it.
  tsk::Runtime without;
  CHECK(without.reference("host", false).empty());
}
