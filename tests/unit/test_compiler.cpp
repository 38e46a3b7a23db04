// Unit tests of the compiler: golden disassembly of small programs (tests/unit/golden/,
// one `<name>.tsk` source and its `<name>.dis` expectation each) and every compile-time
// error with its line:col.
//
// To accept a deliberate change of the generated code, run tsk_unit with
// TSK_UPDATE_GOLDEN=1 and review the diff of tests/unit/golden/ like any code change.
#include <doctest/doctest.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "lang/compiler.hpp"
#include "lang/diagnostic.hpp"
#include "vm/heap.hpp"

namespace {

using namespace tsk;

// A fixed builtin table, so the goldens do not move when the registry grows.
int test_builtin(std::string_view name) {
  static const char* const kNames[] = {"print", "len", "str", "push", "error", "keys"};
  for (int i = 0; i < int(std::size(kNames)); ++i)
    if (name == kNames[i]) return i;
  return -1;
}

struct Compiled {
  std::string dis;                  // disassembly, empty on error
  std::vector<std::string> errors;  // "line:col: message"
  std::vector<vm::Module::Global> globals;
};

Compiled compile_source(const std::string& source, bool repl = false,
                        std::vector<vm::Module::Global> prior = {}) {
  Compiled out;
  lang::ParseResult parsed = lang::parse(source, "t.tsk");
  for (const auto& e : parsed.errors)
    out.errors.push_back("syntax " + std::to_string(e.loc.line) + ":" +
                         std::to_string(e.loc.col) + ": " + e.message);
  if (!parsed.module) return out;
  vm::Heap shared(true);
  std::vector<std::unique_ptr<vm::Proto>> protos;
  lang::CompileInput in{parsed.module.get(), &shared, &protos, test_builtin, std::move(prior),
                        repl};
  lang::CompileResult r = lang::compile(in);
  for (const auto& e : r.errors)
    out.errors.push_back(std::to_string(e.loc.line) + ":" + std::to_string(e.loc.col) +
                         ": " + e.message);
  CHECK((r.main == nullptr) == !r.errors.empty());
  if (r.main) out.dis = lang::disassemble(*r.main);
  out.globals = r.globals;
  return out;
}

std::string first_error(const std::string& source) {
  Compiled c = compile_source(source);
  return c.errors.empty() ? std::string("(no error)") : c.errors[0];
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void check_golden(const std::string& name) {
  const std::string dir = std::string(TSK_SOURCE_DIR) + "/tests/unit/golden/";
  const std::string source = read_file(dir + name + ".tsk");
  REQUIRE_MESSAGE(!source.empty(), "missing golden source " << name << ".tsk");
  Compiled c = compile_source(source);
  INFO("errors: " << (c.errors.empty() ? "" : c.errors[0]));
  REQUIRE(c.errors.empty());
  if (std::getenv("TSK_UPDATE_GOLDEN")) {
    std::ofstream(dir + name + ".dis", std::ios::binary) << c.dis;
    return;
  }
  const std::string expected = read_file(dir + name + ".dis");
  CHECK_MESSAGE(c.dis == expected, "disassembly of " << name << ".tsk changed:\n" << c.dis);
}

bool has_op(const std::string& dis, const std::string& op) {
  return dis.find("  " + op + "  ") != std::string::npos ||
         dis.find("  " + op + "\n") != std::string::npos;
}

}  // namespace

TEST_SUITE("compiler") {

TEST_CASE("golden disassembly") {
  SUBCASE("arithmetic") { check_golden("arithmetic"); }
  SUBCASE("loops") { check_golden("loops"); }
  SUBCASE("closures") { check_golden("closures"); }
  SUBCASE("try/finally") { check_golden("try_finally"); }
  SUBCASE("globals and hoisting") { check_golden("globals"); }
  SUBCASE("expressions") { check_golden("expressions"); }
  SUBCASE("jumps out of nested finally") { check_golden("finally_jumps"); }
  SUBCASE("spawn, spawn blocks and await") { check_golden("spawn"); }
  SUBCASE("send and receive") { check_golden("channels"); }
  SUBCASE("scope, and jumps out of it") { check_golden("scope"); }
  SUBCASE("select") { check_golden("select"); }
  SUBCASE("globals a loop holds in registers") { check_golden("loop_globals"); }
}

TEST_CASE("undefined names") {
  CHECK(first_error("print(x)\n") == "1:7: undefined name 'x'");
  CHECK(first_error("fn f() {\n  return y + 1\n}\n") == "2:10: undefined name 'y'");
  CHECK(first_error("let _ = 1\nprint(_)\n") == "2:7: undefined name '_'");
  // A local is visible only after its declaration, and only in its block.
  CHECK(first_error("fn f() {\n  print(z)\n  let z = 1\n}\n") == "2:9: undefined name 'z'");
  CHECK(first_error("if true { let w = 1 }\nprint(w)\n") == "2:7: undefined name 'w'");
  // A top-level binding is visible everywhere in the module, even before it.
  CHECK(first_error("fn f() { return later }\nlet later = 1\n") == "(no error)");
  CHECK(first_error("print(later)\nlet later = 1\n") == "(no error)");
}

TEST_CASE("a local bound to a fn literal is visible inside it") {
  // So the literal can recurse, as a local `fn` can; other initializers cannot see it.
  Compiled c = compile_source("fn f() {\n  let g = fn(n) => n == 0 or g(n - 1)\n  return g\n}\n");
  REQUIRE(c.errors.empty());
  CHECK(has_op(c.dis, "MKCELL"));
  CHECK(first_error("fn f() {\n  var h = fn() { h = nil }\n}\n") == "(no error)");
  CHECK(first_error("fn f() {\n  let v = [v]\n}\n") == "2:12: undefined name 'v'");
  CHECK(first_error("fn f() {\n  let a = fn() => b\n  let b = 1\n}\n") ==
        "2:19: undefined name 'b'");
}

TEST_CASE("adjacent local fns see each other") {
  CHECK(first_error("fn f() {\n  fn a() => b()\n  fn b() => a()\n}\n") == "(no error)");
  CHECK(first_error("if true {\n  fn a() => b()\n  fn b() => 1\n}\n") == "(no error)");
  // Only a run of fn declarations forms a group: a statement between them ends it.
  CHECK(first_error("fn f() {\n  fn a() => b()\n  let x = 1\n  fn b() => 1\n}\n") ==
        "2:13: undefined name 'b'");
  CHECK(first_error("fn f() {\n  fn a() {}\n  fn a() {}\n}\n") ==
        "3:3: 'a' is already declared in this block");
}

TEST_CASE("assignment to immutable bindings") {
  CHECK(first_error("let x = 1\nx = 2\n") == "2:1: cannot assign to 'x': it is declared with let");
  CHECK(first_error("fn f() {\n  let y = 1\n  y += 1\n}\n") ==
        "3:3: cannot assign to 'y': it is declared with let");
  CHECK(first_error("fn f() {}\nf = 1\n") ==
        "2:1: cannot assign to 'f': it is a function declared with fn");
  CHECK(first_error("import math\nmath = 1\n") ==
        "2:1: cannot assign to 'math': it is an imported module");
  CHECK(first_error("print = 1\n") == "1:1: cannot assign to 'print': it is a builtin");
  // Captured, assigned from an inner function.
  CHECK(first_error("fn f() {\n  let c = 0\n  return fn() { c = 1 }\n}\n") ==
        "3:17: cannot assign to 'c': it is declared with let");
  CHECK(first_error("var v = 1\nv = 2\nfn g(p) { p = 3 }\n") == "(no error)");
}

TEST_CASE("redeclaration in one block") {
  CHECK(first_error("let a = 1\nvar a = 2\n") == "2:5: 'a' is already declared in this block");
  CHECK(first_error("fn f() {}\nfn f() {}\n") == "2:1: 'f' is already declared in this block");
  CHECK(first_error("fn f() {\n  var b = 1\n  let b = 2\n}\n") ==
        "3:7: 'b' is already declared in this block");
  CHECK(first_error("fn f(p, p) {}\n") == "1:9: 'p' is already declared in this block");
  // Shadowing in an inner block, and `_` repeated, are fine.
  CHECK(first_error("let a = 1\nif true { let a = 2 }\nlet _ = 1\nlet _ = 2\n") == "(no error)");
}

TEST_CASE("break, continue and return out of place") {
  CHECK(first_error("break\n") == "1:1: 'break' outside a loop");
  CHECK(first_error("if true {\n  continue\n}\n") == "2:3: 'continue' outside a loop");
  CHECK(first_error("while true {\n  let f = fn() { break }\n}\n") ==
        "2:18: 'break' outside a loop");
  CHECK(first_error("return 1\n") == "1:1: return outside a function");
  CHECK(first_error("if true { return }\n") == "1:11: return outside a function");
}

TEST_CASE("spawn blocks copy variables and may not assign them") {
  const std::string no_share = "tasks do not share variables; send the value on a channel";
  CHECK(first_error("fn f() {\n  var x = 0\n  spawn { x = 1 }\n}\n") ==
        "3:11: cannot assign to 'x': " + no_share);
  CHECK(first_error("var g = 0\nlet t = spawn { g += 1 }\n") ==
        "2:17: cannot assign to 'g': " + no_share);
  // From a closure nested in the block, and from a nested spawn block.
  CHECK(first_error("var g = 0\nspawn {\n  let h = fn() { g = 2 }\n}\n") ==
        "3:18: cannot assign to 'g': " + no_share);
  CHECK(first_error("spawn {\n  var n = 0\n  spawn { n = 1 }\n  n = 2\n}\n") ==
        "3:11: cannot assign to 'n': " + no_share);
  // The block's own variables, and shadowing copies, are ordinary locals.
  CHECK(first_error("var g = 0\nspawn {\n  var n = g\n  n += 1\n  var g = 1\n  g = 2\n}\n") ==
        "(no error)");
  // return is allowed in a block even at top level; break/continue cannot leave it.
  CHECK(first_error("let t = spawn { return 1 }\n") == "(no error)");
  CHECK(first_error("while true {\n  spawn { break }\n}\n") == "2:11: 'break' outside a loop");
}

TEST_CASE("spawn blocks copy locals and top-level let/var, not fns, imports or builtins") {
  Compiled c = compile_source(
      "import math\nfn w() {}\nlet k = 1\nfn f(p) {\n  let t = spawn { w(); print(math.pi, k, p, k) }\n}\n");
  REQUIRE(c.errors.empty());
  CHECK(c.dis.find("<spawn> (t.tsk:5:11) params=2") != std::string::npos);
  CHECK(c.dis.find("GETG  A=2 Bx=2") != std::string::npos);  // k, then p
  CHECK(c.dis.find("MOVE  A=3 B=0") != std::string::npos);
  CHECK(c.dis.find("SPAWN  A=1 B=2") != std::string::npos);
}

TEST_CASE("spawn takes a call or a block") {
  // The parser rejects `spawn 42` first; the compiler checks the AST it is given too.
  CHECK(first_error("spawn 42\n").rfind("syntax 1:7:", 0) == 0);
  lang::Module m;
  m.file = "t.tsk";
  auto spawn = std::make_unique<lang::Expr>(lang::ExprKind::Spawn, lang::Loc{1, 1});
  spawn->a = std::make_unique<lang::Expr>(lang::ExprKind::Int, lang::Loc{1, 7});
  auto stmt = std::make_unique<lang::Stmt>(lang::StmtKind::Expr, lang::Loc{1, 1});
  stmt->expr = std::move(spawn);
  m.body.stmts.push_back(std::move(stmt));
  vm::Heap shared(true);
  std::vector<std::unique_ptr<vm::Proto>> protos;
  lang::CompileInput in{&m, &shared, &protos, test_builtin, {}, false};
  lang::CompileResult r = lang::compile(in);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message == "spawn takes a call or a block");
  CHECK(r.errors[0].loc.line == 1);
  CHECK(r.errors[0].loc.col == 1);
  CHECK(r.main == nullptr);
}

TEST_CASE("select: case count, bindings, breaks") {
  auto cases = [](int n) {
    std::string src = "fn f(c) {\n  select {\n";
    for (int i = 0; i < n; ++i) src += "  case <-c { }\n";
    src += "  default { }\n  }\n}\n";
    return src;
  };
  // Any number of cases: the send mask takes one EXTRAARG per 32 cases.
  for (int n : {1, 32, 33, 100}) {
    Compiled c = compile_source(cases(n));
    REQUIRE(c.errors.empty());
    size_t words = 0;
    for (size_t at = c.dis.find("EXTRAARG"); at != std::string::npos;
         at = c.dis.find("EXTRAARG", at + 1))
      ++words;
    CHECK(words == size_t((n + 31) / 32));
  }
  auto sends = [](int n) {
    std::string src = "fn f(c) {\n  select {\n";
    for (int i = 0; i < n; ++i) src += "  case c <- 1 { }\n";
    src += "  }\n}\n";
    return src;
  };
  Compiled many = compile_source(sends(70));
  REQUIRE(many.errors.empty());
  CHECK(many.dis.find("SELECT  A=141 B=1 C=70\n") != std::string::npos);
  CHECK(many.dis.find("; sends 32 33 34") != std::string::npos);  // the second word
  CHECK(many.dis.find("; sends 64 65 66 67 68 69\n") != std::string::npos);
  // `case v = <-c` binds v in that case's block only.
  CHECK(first_error("fn f(c) {\n  select {\n  case v = <-c { print(v) }\n  }\n  print(v)\n}\n") ==
        "5:9: undefined name 'v'");
  CHECK(first_error("fn f(c) {\n  select {\n  case v = <-c { v = 1 }\n  case <-c { print(v) }\n  }\n}\n") ==
        "4:20: undefined name 'v'");
  // select is not a loop.
  CHECK(first_error("fn f(c) {\n  select {\n  case <-c { break }\n  }\n}\n") ==
        "3:14: 'break' outside a loop");
  Compiled empty = compile_source("select {}\n");
  REQUIRE(empty.errors.empty());
  CHECK(empty.dis.find("SELECT  A=0 B=0 C=0\n") != std::string::npos);
}

TEST_CASE("the concurrency builtins are ordinary builtins") {
  // Resolved through builtin_index like any other name: this test table lacks them.
  CHECK(first_error("let c = chan(1)\n") == "1:9: undefined name 'chan'");
  CHECK(first_error("fn f(c, t) {\n  c <- 1\n  return [<-c, await t]\n}\nscope {\n}\n") ==
        "(no error)");
}

TEST_CASE("errors come in source order") {
  Compiled c = compile_source("print(a)\nlet x = 1\nx = 2\nprint(b)\n");
  REQUIRE(c.errors.size() == 3);
  CHECK(c.errors[0] == "1:7: undefined name 'a'");
  CHECK(c.errors[1] == "3:1: cannot assign to 'x': it is declared with let");
  CHECK(c.errors[2] == "4:7: undefined name 'b'");
}

TEST_CASE("module globals") {
  Compiled c = compile_source("let a = 1\nvar b = 2\nfn f() {}\nimport math\nif true { let local = 3 }\n");
  REQUIRE(c.errors.empty());
  REQUIRE(c.globals.size() == 4);
  CHECK(c.globals[0].name == "a");
  CHECK(c.globals[0].exported);
  CHECK(!c.globals[0].mutable_);
  CHECK(c.globals[1].name == "b");
  CHECK(!c.globals[1].exported);
  CHECK(c.globals[1].mutable_);
  CHECK(c.globals[2].name == "f");
  CHECK(c.globals[2].exported);
  CHECK(c.globals[3].name == "math");
  CHECK(!c.globals[3].exported);
}

TEST_CASE("REPL: prior globals keep their slots; the last expression is returned") {
  std::vector<vm::Module::Global> prior = {{"x", true, false}, {"y", false, true}};
  Compiled c = compile_source("y = x + 1\nvar x = 5\nlet z = 2\nx * z\n", true, prior);
  REQUIRE(c.errors.empty());
  REQUIRE(c.globals.size() == 3);
  CHECK(c.globals[0].name == "x");
  CHECK(c.globals[0].mutable_);  // redeclared with var
  CHECK(c.globals[2].name == "z");
  CHECK(c.dis.find("SETG  A=0 Bx=1") != std::string::npos);  // y is slot 1
  CHECK(c.dis.find("SETG  A=0 Bx=2") != std::string::npos);  // z is new: slot 2
  CHECK(c.dis.find("RET  A=") != std::string::npos);
  // Assigning a prior `let` is still an error.
  Compiled bad = compile_source("x = 1\n", true, {{"x", true, false}});
  REQUIRE(bad.errors.size() == 1);
  CHECK(bad.errors[0] == "1:1: cannot assign to 'x': it is declared with let");
}

TEST_CASE("function too large: reported at the function, or at the top-level statement") {
  std::string zeros;
  for (int i = 0; i < 66000; ++i) zeros += "0, ";
  std::string big_ints;  // 65,001 distinct constants in a few registers
  for (int i = 0; i < 65001; ++i) big_ints += "x = " + std::to_string(100000 + i) + "\n";
  CHECK(first_error("print(1)\nif true {\n  let xs = [" + zeros + "]\n}\n") ==
        "2:1: top-level code too large: more than 65000 registers");
  CHECK(first_error("print(1)\n\nfn big() {\n  return [" + zeros + "]\n}\n") ==
        "3:1: function 'big' too large: more than 65000 registers");
  CHECK(first_error("fn outer() {\n  let f = fn() {\n    var x = 0\n" + big_ints + "  }\n}\n") ==
        "2:11: function too large: more than 65000 constants");
  CHECK(first_error("let t = 1\nlet u = spawn { var x = 0\n" + big_ints + "}\n") ==
        "2:9: spawn block too large: more than 65000 constants");
  CHECK(first_error("var x = 0\n" + big_ints) ==
        "65002:1: top-level code too large: more than 65000 constants");
}

// The number of instructions in a disassembly (every proto).
size_t instruction_count(const std::string& dis) {
  size_t n = 0;
  std::istringstream lines(dis);
  for (std::string line; std::getline(lines, line);)
    if (line.size() > 8 && line.compare(0, 2, "  ") == 0 && std::isdigit(uint8_t(line[2]))) ++n;
  return n;
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_CASE("finally code is compiled once: code size is linear in try/finally nesting") {
  // try { } finally { try { } finally { ... } }: a finally nested in a finally, n deep.
  auto in_finally = [](int n) {
    std::string src = "fn f(g) {\n";
    for (int i = 0; i < n; ++i) src += "try { g(" + std::to_string(i) + ") } finally {\n";
    src += "return g(-1)\n";
    for (int i = 0; i < n; ++i) src += "}\n";
    return src + "}\n";
  };
  // n nested bodies in a loop, the innermost breaking, continuing, returning and
  // throwing through all of them; each level's finally and catch do work too.
  auto in_body = [](int n) {
    std::string src = "fn f(g) {\nwhile g(0) {\n";
    for (int i = 0; i < n; ++i) src += "try {\n";
    src += "if g(1) { break }\nif g(2) { continue }\nif g(3) { return g(4) }\nthrow \"x\"\n";
    for (int i = 0; i < n; ++i)
      src += "} catch e { g(e) } finally { g(" + std::to_string(i) + ") }\n";
    return src + "}\n}\n";
  };
  for (auto make : {+in_finally, +in_body}) {
    // Depths 3, 6, 9, 12: small enough that code doubling per level would still
    // compile quickly (and fail here) rather than exhaust memory.
    size_t sizes[4];
    for (int k = 0; k < 4; ++k) {
      Compiled c = compile_source(make(3 * (k + 1)));
      REQUIRE(c.errors.empty());
      sizes[k] = instruction_count(c.dis);
    }
    // Every level adds the same code: the size is exactly linear in the depth...
    REQUIRE(sizes[1] - sizes[0] == sizes[2] - sizes[1]);
    REQUIRE(sizes[2] - sizes[1] == sizes[3] - sizes[2]);
    // ...and little per level (a dozen instructions of its own, a few per jump-out).
    CHECK((sizes[1] - sizes[0]) / 3 < 40);
    // 100 levels: a few thousand instructions.
    Compiled deep = compile_source(make(100));
    REQUIRE(deep.errors.empty());
    CHECK(instruction_count(deep.dis) < 100 * 40);
  }
  // One copy of the finally code, however many ways lead into it.
  Compiled once = compile_source(
      "fn f(g) {\n  for x in g {\n    try {\n      if x == 1 { break }\n"
      "      if x == 2 { continue }\n      if x == 3 { return x }\n      throw \"e\"\n"
      "    } catch e {\n      return e\n    } finally {\n      print(\"the finally\")\n    }\n  }\n}\n");
  REQUIRE(once.errors.empty());
  CHECK(occurrences(once.dis, "; \"the finally\"") == 1);
  CHECK(occurrences(once.dis, "ENDFINALLY") == 1);
}

TEST_CASE("a flat chain of binary operators of any length compiles, in a few registers") {
  // 100,000 operators: the parser, resolver, compiler and the tree's destructor all walk
  // the chain in a loop (lang/parse_tree.hpp), so none nears the C++ stack limit.
  for (std::string op : {"+", "-", "*", "//", "and", "or", "|", "<<", ".."}) {
    std::string src = "fn f(a, b) {\n  return a";
    for (int i = 0; i < 100000; ++i) src += " " + op + (i % 2 ? " a" : " b");
    src += "\n}\n";
    Compiled c = compile_source(src);
    INFO(op << ": " << (c.errors.empty() ? "" : c.errors[0]));
    REQUIRE(c.errors.empty());
    const size_t f = c.dis.find("\nf (t.tsk:1:1) params=2 regs=");
    REQUIRE(f != std::string::npos);
    CHECK(std::stoi(c.dis.substr(f + 30)) <= 4);  // the operands, the value so far
    CHECK(instruction_count(c.dis) < 100000 * 4);
  }
  // A chain in a condition, with `and` compiled to jumps.
  std::string cond = "fn f(a) {\n  if a";
  for (int i = 0; i < 100000; ++i) cond += " and a";
  Compiled c = compile_source(cond + " { return 1 }\n}\n");
  REQUIRE(c.errors.empty());
  CHECK(occurrences(c.dis, "JMPIFNOT") == 100001);
}

TEST_CASE("a condition whose jump does not fit falls back to LT + JMPIFNOT") {
  auto program = [](int statements) {
    std::string src = "fn f(a, b) {\n  var x = 0\n  while a < b {\n";
    for (int i = 0; i < statements; ++i) src += "    x = 1\n";
    src += "  }\n}\n";
    return src;
  };
  Compiled small = compile_source(program(10));
  REQUIRE(small.errors.empty());
  CHECK(has_op(small.dis, "JLT"));
  Compiled big = compile_source(program(40000));
  REQUIRE(big.errors.empty());
  CHECK(!has_op(big.dis, "JLT"));
  CHECK(has_op(big.dis, "LT"));
  CHECK(has_op(big.dis, "JMPIFNOT"));
}

TEST_CASE("conditions comparing with a literal compile to compare-with-constant jumps") {
  Compiled c = compile_source(
      "fn f(x, y) {\n"
      "  if x < 2 { return 1 }\n"
      "  if 0 < x { return 2 }\n"
      "  if x == \"a\" { return 3 }\n"
      "  if x != nil { return 4 }\n"
      "  while x >= 1.5 { x -= 1 }\n"
      "  if x <= y { return 5 }\n"
      "  if x == y { return 6 }\n"
      "  if x > 7 { return 7 }\n"
      "}\n");
  REQUIRE(c.errors.empty());
  for (const char* op : {"JLTK", "JGTK", "JEQK", "JNEK", "JGEK", "JLE", "JEQ"}) {
    INFO(op);
    CHECK(has_op(c.dis, op));
  }
  CHECK(!has_op(c.dis, "LT"));
  CHECK(!has_op(c.dis, "EQ"));
  CHECK(!has_op(c.dis, "JMPIFNOT"));
  // Too far to jump in 16 bits: the plain comparison and JMPIFNOT, as for JLT.
  std::string big = "fn f(a) {\n  var x = 0\n  while a != 3 {\n";
  for (int i = 0; i < 40000; ++i) big += "    x = 1\n";
  big += "  }\n}\n";
  Compiled far = compile_source(big);
  REQUIRE(far.errors.empty());
  CHECK(!has_op(far.dis, "JNEK"));
  CHECK(has_op(far.dis, "NE"));
  CHECK(has_op(far.dis, "JMPIFNOT"));
}

TEST_CASE("an operator chain accumulates in a register of its own, never in place at its end") {
  Compiled c = compile_source("var s = 0\nfn f(i) { s = (s + i * i) % 1000003 // 3 }\n");
  REQUIRE(c.errors.empty());
  // MODK and IDIVK read the accumulator and write another register.
  std::istringstream lines(c.dis);
  std::string line;
  int checked = 0;
  while (std::getline(lines, line)) {
    for (const char* op : {"  MODK  ", "  IDIVK  "}) {
      if (line.find(op) == std::string::npos) continue;
      auto field = [&](const char* name) {
        size_t at = line.find(std::string(" ") + name + "=");
        return at == std::string::npos ? -1 : std::stoi(line.substr(at + 3));
      };
      if (std::string(op) == "  IDIVK  ") CHECK(field("A") != field("B"));
      checked++;
    }
  }
  CHECK(checked == 2);
}

TEST_CASE("every proto ends in RET or RETNIL and has a loc per instruction") {
  Compiled c = compile_source("fn f(n) { if n > 0 { return n } }\nlet g = fn(x) => x\n");
  REQUIRE(c.errors.empty());
  std::istringstream lines(c.dis);
  std::string line, last;
  int protos = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != ' ') {
      if (!last.empty()) CHECK((last.find("RET") != std::string::npos));
      if (!line.empty()) ++protos;
      last.clear();
    } else if (line.find("  [") != std::string::npos) {
      last = line;
    }
  }
  CHECK(last.find("RET") != std::string::npos);
  CHECK(protos == 3);
}

}  // TEST_SUITE
