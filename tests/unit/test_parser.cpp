// Parser tests (grammar/parser.y through lang::parse): precedence, every statement and
// expression form, select, locations, errors with their line:col, nesting limits, and
// format_diagnostic. Trees are compared as S-expressions printed by `sx` below:
// names bare, strings quoted, `(op a b)` for operators, `{s1 s2}` for blocks.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "lang/ast.hpp"
#include "lang/diagnostic.hpp"

namespace {

using namespace tsk::lang;

std::string sx(const Expr* e);
std::string sx(const Stmt* s);

std::string sx(const Block& b) {
  std::string out = "{";
  for (size_t i = 0; i < b.stmts.size(); ++i) {
    if (i) out += ' ';
    out += sx(b.stmts[i].get());
  }
  return out + "}";
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '"') out += "\\\"";
    else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else out += static_cast<char>(c);
  }
  return out + "\"";
}

std::string join(const std::vector<std::string>& names) {
  std::string out = "(";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? " " : "") + names[i];
  return out + ")";
}

std::string sx_fn(const Function& f) {
  std::string out = "(fn ";
  if (!f.name.empty()) out += f.name + " ";
  return out + join(f.params) + " " + sx(f.body) + ")";
}

const char* binary_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "+";       case BinaryOp::Sub: return "-";
    case BinaryOp::Mul: return "*";       case BinaryOp::Div: return "/";
    case BinaryOp::IDiv: return "//";     case BinaryOp::Mod: return "%";
    case BinaryOp::Pow: return "**";      case BinaryOp::BitAnd: return "&";
    case BinaryOp::BitOr: return "|";     case BinaryOp::BitXor: return "^";
    case BinaryOp::Shl: return "<<";      case BinaryOp::Shr: return ">>";
    case BinaryOp::Eq: return "==";       case BinaryOp::Ne: return "!=";
    case BinaryOp::Lt: return "<";        case BinaryOp::Le: return "<=";
    case BinaryOp::Gt: return ">";        case BinaryOp::Ge: return ">=";
    case BinaryOp::In: return "in";       case BinaryOp::NotIn: return "not-in";
    case BinaryOp::And: return "and";     case BinaryOp::Or: return "or";
    case BinaryOp::Range: return "..";    case BinaryOp::RangeIncl: return "..=";
  }
  return "?";
}

std::string items(const std::vector<ExprPtr>& xs) {
  std::string out;
  for (const ExprPtr& x : xs) {
    out += ' ';
    out += sx(x.get());
  }
  return out;
}

std::string sx(const Expr* e) {
  if (!e) return "_";
  switch (e->kind) {
    case ExprKind::Nil: return "nil";
    case ExprKind::True: return "true";
    case ExprKind::False: return "false";
    case ExprKind::Int: return std::to_string(e->int_value);
    case ExprKind::Float: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%gf", e->float_value);
      return buf;
    }
    case ExprKind::String: return quoted(e->str);
    case ExprKind::Interp: return "(interp" + items(e->items) + ")";
    case ExprKind::Name: return e->str;
    case ExprKind::List: return "(list" + items(e->items) + ")";
    case ExprKind::Map: return "(map" + items(e->items) + ")";
    case ExprKind::Unary: {
      const char* op = e->unary_op == UnaryOp::Neg ? "neg"
                       : e->unary_op == UnaryOp::BitNot ? "~"
                       : e->unary_op == UnaryOp::Not ? "not" : "<-";
      return std::string("(") + op + " " + sx(e->a.get()) + ")";
    }
    case ExprKind::Binary:
      return std::string("(") + binary_name(e->binary_op) + " " + sx(e->a.get()) + " " +
             sx(e->b.get()) + ")";
    case ExprKind::Call: return "(call " + sx(e->a.get()) + items(e->items) + ")";
    case ExprKind::Index: return "(index " + sx(e->a.get()) + " " + sx(e->b.get()) + ")";
    case ExprKind::Slice:
      return "(slice " + sx(e->a.get()) + " " + sx(e->b.get()) + " " + sx(e->c.get()) + ")";
    case ExprKind::Field: return "(. " + sx(e->a.get()) + " " + e->str + ")";
    case ExprKind::Fn: return sx_fn(*e->fn);
    case ExprKind::Spawn:
      return e->fn ? "(spawn " + sx_fn(*e->fn) + ")" : "(spawn " + sx(e->a.get()) + ")";
    case ExprKind::Await: return "(await " + sx(e->a.get()) + ")";
  }
  return "?";
}

const char* assign_name(AssignOp op) {
  switch (op) {
    case AssignOp::None: return "=";   case AssignOp::Add: return "+=";
    case AssignOp::Sub: return "-=";   case AssignOp::Mul: return "*=";
    case AssignOp::Div: return "/=";   case AssignOp::IDiv: return "//=";
    case AssignOp::Mod: return "%=";
  }
  return "?";
}

std::string sx(const Stmt* s) {
  switch (s->kind) {
    case StmtKind::Expr: return sx(s->expr.get());
    case StmtKind::Let: return "(let " + s->names[0] + " " + sx(s->expr.get()) + ")";
    case StmtKind::Var: return "(var " + s->names[0] + " " + sx(s->expr.get()) + ")";
    case StmtKind::Assign:
      return std::string("(") + assign_name(s->assign_op) + " " + sx(s->target.get()) + " " +
             sx(s->expr.get()) + ")";
    case StmtKind::Send: return "(send " + sx(s->target.get()) + " " + sx(s->expr.get()) + ")";
    case StmtKind::If: {
      std::string out = "(if " + sx(s->expr.get()) + " " + sx(s->body);
      if (s->else_stmt) out += " else " + sx(s->else_stmt.get());
      return out + ")";
    }
    case StmtKind::While: return "(while " + sx(s->expr.get()) + " " + sx(s->body) + ")";
    case StmtKind::For:
      return "(for " + join(s->names) + " " + sx(s->expr.get()) + " " + sx(s->body) + ")";
    case StmtKind::Break: return "(break)";
    case StmtKind::Continue: return "(continue)";
    case StmtKind::Return: return s->expr ? "(return " + sx(s->expr.get()) + ")" : "(return)";
    case StmtKind::FnDecl: return "(def " + sx_fn(*s->fn) + ")";
    case StmtKind::Block: return sx(s->body);
    case StmtKind::Throw: return "(throw " + sx(s->expr.get()) + ")";
    case StmtKind::Try: {
      std::string out = "(try " + sx(s->body);
      if (s->has_catch) out += " catch " + (s->names[0].empty() ? "-" : s->names[0]) + " " +
                               sx(s->catch_body);
      if (s->has_finally) out += " finally " + sx(s->finally_body);
      return out + ")";
    }
    case StmtKind::Import:
      return "(import " + s->names[0] + " " + (s->is_path ? quoted(s->str) : s->str) + ")";
    case StmtKind::Scope: return "(scope " + sx(s->body) + ")";
    case StmtKind::Select: {
      std::string out = "(select";
      for (const SelectCase& c : s->cases) {
        switch (c.kind) {
          case SelectCase::Recv:
            out += " (recv " + (c.bind.empty() ? "-" : c.bind) + " " + sx(c.chan.get()) +
                   " " + sx(c.body) + ")";
            break;
          case SelectCase::Send:
            out += " (send " + sx(c.chan.get()) + " " + sx(c.value.get()) + " " +
                   sx(c.body) + ")";
            break;
          case SelectCase::Default: out += " (default " + sx(c.body) + ")"; break;
        }
      }
      return out + ")";
    }
  }
  return "?";
}

// The module as S-expressions, one statement per space; or "error L:C: message".
std::string parse_sx(std::string_view source) {
  ParseResult r = parse(source, "t.tsk");
  if (!r.errors.empty()) {
    const Diagnostic& d = r.errors[0];
    return "error " + std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) + ": " +
           d.message;
  }
  REQUIRE(r.module);
  std::string out = sx(r.module->body);
  return out.substr(1, out.size() - 2);  // without the module's own braces
}

std::string loc(Loc l) { return std::to_string(l.line) + ":" + std::to_string(l.col); }

}  // namespace

TEST_SUITE("parser") {

TEST_CASE("precedence follows SPEC §3") {
  CHECK(parse_sx("a or b and not c == d") == "(or a (and b (not (== c d))))");
  CHECK(parse_sx("a or b or c") == "(or (or a b) c)");
  CHECK(parse_sx("a == b | c ^ d & e << f .. g + h * i") ==
        "(== a (| b (^ c (& d (<< e (.. f (+ g (* h i))))))))");
  CHECK(parse_sx("a - b - c") == "(- (- a b) c)");
  CHECK(parse_sx("a / b // c % d * e") == "(* (% (// (/ a b) c) d) e)");
  CHECK(parse_sx("-2 ** 2") == "(neg (** 2 2))");
  CHECK(parse_sx("2 ** -1") == "(** 2 (neg 1))");
  CHECK(parse_sx("2 ** 3 ** 2") == "(** 2 (** 3 2))");
  CHECK(parse_sx("-a * b") == "(* (neg a) b)");
  CHECK(parse_sx("~a ** b") == "(~ (** a b))");
  CHECK(parse_sx("a.b ** c[0]") == "(** (. a b) (index c 0))");
  CHECK(parse_sx("<-ch.x") == "(<- (. ch x))");
  CHECK(parse_sx("(<-ch).x") == "(. (<- ch) x)");
  CHECK(parse_sx("<-ch + 1") == "(+ (<- ch) 1)");
  CHECK(parse_sx("await t + 1") == "(+ (await t) 1)");
  CHECK(parse_sx("await spawn f()") == "(await (spawn (call f)))");
  CHECK(parse_sx("not a in b") == "(not (in a b))");
  CHECK(parse_sx("a not in b") == "(not-in a b)");
  CHECK(parse_sx("not not a") == "(not (not a))");
  CHECK(parse_sx("a < b == c") == "error 1:7: comparisons do not chain: write 'a < b and b < c'");
  CHECK(parse_sx("x = a < b < c") == "error 1:11: comparisons do not chain: write 'a < b and b < c'");
  CHECK(parse_sx("a < b and b < c") == "(and (< a b) (< b c))");
  CHECK(parse_sx("1..n+1") == "(.. 1 (+ n 1))");
  CHECK(parse_sx("0..=9") == "(..= 0 9)");
  CHECK(parse_sx("a << 1 >> 2") == "(>> (<< a 1) 2)");
  CHECK(parse_sx("(a + b) * c") == "(* (+ a b) c)");
  CHECK(parse_sx("a <= b != (c >= d)") ==
        "error 1:8: comparisons do not chain: write 'a < b and b < c'");
  CHECK(parse_sx("(a <= b) != (c >= d)") == "(!= (<= a b) (>= c d))");
}

TEST_CASE("postfix forms") {
  CHECK(parse_sx("f(x)(y)") == "(call (call f x) y)");
  CHECK(parse_sx("f()") == "(call f)");
  CHECK(parse_sx("f(a, b,)") == "(call f a b)");
  CHECK(parse_sx("f(\n  a,\n  b,\n)") == "(call f a b)");
  CHECK(parse_sx("a.b.c") == "(. (. a b) c)");
  CHECK(parse_sx("a[i][j]") == "(index (index a i) j)");
  CHECK(parse_sx("a[i:j]") == "(slice a i j)");
  CHECK(parse_sx("a[1:]") == "(slice a 1 _)");
  CHECK(parse_sx("a[:2]") == "(slice a _ 2)");
  CHECK(parse_sx("a[:]") == "(slice a _ _)");
  CHECK(parse_sx("m.f(x)[0].y") == "(. (index (call (. m f) x) 0) y)");
}

TEST_CASE("literals") {
  CHECK(parse_sx("nil; true; false") == "nil true false");
  CHECK(parse_sx("42; 0x2A; 0b1010; 1_000_000") == "42 42 10 1000000");
  CHECK(parse_sx("3.14; 1e-9; 250ms; 2s") == "3.14f 1e-09f 0.25f 2f");
  CHECK(parse_sx("-9223372036854775808") == "-9223372036854775808");
  CHECK(parse_sx("x = -(9223372036854775808)") == "(= x -9223372036854775808)");
  CHECK(parse_sx("9223372036854775807") == "9223372036854775807");
  CHECK(parse_sx("x = 9223372036854775808") == "error 1:5: integer literal out of range");
  CHECK(parse_sx("f(9223372036854775808)") == "error 1:3: integer literal out of range");
  CHECK(parse_sx("-9223372036854775808 ** 2") == "error 1:2: integer literal out of range");
  CHECK(parse_sx("[9223372036854775808, -9223372036854775808]") ==
        "error 1:2: integer literal out of range");
  CHECK(parse_sx("x = 99999999999999999999") == "error 1:5: integer literal out of range");
  CHECK(parse_sx("\"plain\"") == "\"plain\"");
  CHECK(parse_sx("\"a\nb\"") == "\"a\\nb\"");
}

TEST_CASE("interpolation") {
  CHECK(parse_sx("\"sum=${a + b}\"") == "(interp \"sum=\" (+ a b))");
  CHECK(parse_sx("\"a${x}b${y}c\"") == "(interp \"a\" x \"b\" y \"c\")");
  CHECK(parse_sx("\"${x}\"") == "(interp x)");
  CHECK(parse_sx("\"${ {a: 1}[\"a\"] }\"") == "(interp (index (map \"a\" 1) \"a\"))");
  CHECK(parse_sx("\"${f(\"x\")}!\"") == "(interp (call f \"x\") \"!\")");
  CHECK(parse_sx("\"<${\"[${n}]\"}>\"") == "(interp \"<\" (interp \"[\" n \"]\") \">\")");
  CHECK(parse_sx("\"${}\"").rfind("error 1:4: syntax error", 0) == 0);
  CHECK(parse_sx("\"${ {k: \"${x}!\"}.k }\"") == "(interp (. (map \"k\" (interp x \"!\")) k))");
  CHECK(parse_sx("\"${ spawn { f() } }\"") == "(interp (spawn (fn <spawn> () {(call f)})))");
}

TEST_CASE("lists and maps") {
  CHECK(parse_sx("[]") == "(list)");
  CHECK(parse_sx("[1, 2, 3,]") == "(list 1 2 3)");
  CHECK(parse_sx("[\n  1,\n  2,\n]") == "(list 1 2)");
  CHECK(parse_sx("x = {}") == "(= x (map))");
  CHECK(parse_sx("{\"a\": 1, b: 2, (k): 3, -1: 4, 2.5: 5, true: 6, nil: 7,}") ==
        "(map \"a\" 1 \"b\" 2 k 3 -1 4 2.5f 5 true 6 nil 7)");
  CHECK(parse_sx("{-9223372036854775808: 1}") == "(map -9223372036854775808 1)");
  CHECK(parse_sx("{9223372036854775808: 1}") == "error 1:2: integer literal out of range");
  CHECK(parse_sx("{\"k${i}\": i}") == "(map (interp \"k\" i) i)");
  CHECK(parse_sx("{a + b: 1}").rfind("error 1:4: syntax error, unexpected '+'", 0) == 0);
}

TEST_CASE("functions") {
  CHECK(parse_sx("let f = fn(x) => x * 2") == "(let f (fn (x) {(return (* x 2))}))");
  CHECK(parse_sx("g(fn(a, b,) { return a }, 1)") ==
        "(call g (fn (a b) {(return a)}) 1)");
  CHECK(parse_sx("fn() {}()") == "(call (fn () {}))");
  CHECK(parse_sx("(fn(x) => x)(3)") == "(call (fn (x) {(return x)}) 3)");
  CHECK(parse_sx("fn add(a, b) { return a + b }") == "(def (fn add (a b) {(return (+ a b))}))");
  CHECK(parse_sx("fn twice(x) => x * 2") == "(def (fn twice (x) {(return (* x 2))}))");
  CHECK(parse_sx("fn f(_) {\n  return\n}") == "(def (fn f (_) {(return)}))");
  CHECK(parse_sx("map(xs, fn(x) => x + 1)") == "(call map xs (fn (x) {(return (+ x 1))}))");
}

TEST_CASE("simple statements") {
  CHECK(parse_sx("let x = 1\nvar y = 2\nvar z") == "(let x 1) (var y 2) (var z _)");
  CHECK(parse_sx("x = 1; a[i] = 2; m.k = 3") == "(= x 1) (= (index a i) 2) (= (. m k) 3)");
  CHECK(parse_sx("a += 1; a -= 1; a *= 2; a /= 2; a //= 2; a %= 2") ==
        "(+= a 1) (-= a 1) (*= a 2) (/= a 2) (//= a 2) (%= a 2)");
  CHECK(parse_sx("ch <- v + 1") == "(send ch (+ v 1))");
  CHECK(parse_sx("results <- {worker: id}") == "(send results (map \"worker\" id))");
  CHECK(parse_sx("throw \"boom\"") == "(throw \"boom\")");
  CHECK(parse_sx("return\nreturn 1") == "(return) (return 1)");
  CHECK(parse_sx("while true { break; continue }") == "(while true {(break) (continue)})");
  CHECK(parse_sx("f(x)") == "(call f x)");
  CHECK(parse_sx("\n\n;;x;;\n\n") == "x");
  CHECK(parse_sx("") == "");
}

TEST_CASE("assignment targets") {
  CHECK(parse_sx("f() = 1") == "error 1:1: cannot assign to this expression");
  CHECK(parse_sx("\n  a[1:2] = 1") == "error 2:3: cannot assign to this expression");
  CHECK(parse_sx("a + b += 1") == "error 1:1: cannot assign to this expression");
  CHECK(parse_sx("1 = x") == "error 1:1: cannot assign to this expression");
  CHECK(parse_sx("x = y = 1").rfind("error 1:7: syntax error, unexpected '='", 0) == 0);
}

TEST_CASE("if, else if, else") {
  CHECK(parse_sx("if a { x } else if b { y } else { z }") ==
        "(if a {x} else (if b {y} else {z}))");
  CHECK(parse_sx("if a {\n  x\n}\ny") == "(if a {x}) y");
  CHECK(parse_sx("if a {\n} else {\n}") == "(if a {} else {})");
  CHECK(parse_sx("if a {\n}\nelse {\n}").rfind("error 3:1: syntax error, unexpected 'else'", 0) ==
        0);
}

TEST_CASE("for loops") {
  CHECK(parse_sx("for x in xs { print(x) }") == "(for (x) xs {(call print x)})");
  CHECK(parse_sx("for k, v in m { }") == "(for (k v) m {})");
  CHECK(parse_sx("for _ in 1..=100 { total += 1 }") == "(for (_) (..= 1 100) {(+= total 1)})");
}

TEST_CASE("try, catch, finally") {
  CHECK(parse_sx("try { f() } catch e { g(e) }") == "(try {(call f)} catch e {(call g e)})");
  CHECK(parse_sx("try { f() } catch { }") == "(try {(call f)} catch - {})");
  CHECK(parse_sx("try { f() } finally { h() }") == "(try {(call f)} finally {(call h)})");
  CHECK(parse_sx("try { f() } catch e { } finally { h() }") ==
        "(try {(call f)} catch e {} finally {(call h)})");
  CHECK(parse_sx("try {\n  f()\n} catch e {\n}") == "(try {(call f)} catch e {})");
  CHECK(parse_sx("try { f() }\nx") ==
        "error 1:1: 'try' needs a 'catch' or a 'finally' clause (on the line of its '}')");
}

TEST_CASE("imports") {
  CHECK(parse_sx("import time") == "(import time time)");
  CHECK(parse_sx("import time as t") == "(import t time)");
  CHECK(parse_sx("import \"lib/util.tsk\" as util") == "(import util \"lib/util.tsk\")");
  CHECK(parse_sx("import \"lib/util.tsk\"") ==
        "error 1:8: importing a file needs a name: import \"path\" as name");
  CHECK(parse_sx("import \"a${b}\" as x").rfind("error 1:8: syntax error", 0) == 0);
}

TEST_CASE("tasks: spawn, await, scope") {
  CHECK(parse_sx("spawn worker(id, jobs)") == "(spawn (call worker id jobs))");
  CHECK(parse_sx("let t = spawn f(1)\nawait t") == "(let t (spawn (call f 1))) (await t)");
  CHECK(parse_sx("spawn {\n  for n in xs { jobs <- n }\n  close(jobs)\n}") ==
        "(spawn (fn <spawn> () {(for (n) xs {(send jobs n)}) (call close jobs)}))");
  CHECK(parse_sx("spawn {}") == "(spawn (fn <spawn> () {}))");
  CHECK(parse_sx("scope { spawn f() }") == "(scope {(spawn (call f))})");
  CHECK(parse_sx("spawn f") ==
        "error 1:7: 'spawn' needs a function call or a block: spawn f(x) or spawn { ... }");
  CHECK(parse_sx("spawn f().x").rfind("error 1:7: 'spawn' needs", 0) == 0);
}

TEST_CASE("select") {
  const char* src =
      "select {\n"
      "case v = <-inbox   { handle(v) }        # v is nil if inbox is closed\n"
      "case <-quit        { return }\n"
      "case out <- item   { sent += 1 }\n"
      "case <-after(1s)   { print(\"timeout\") }\n"
      "default            { idle() }\n"
      "}";
  CHECK(parse_sx(src) ==
        "(select (recv v inbox {(call handle v)}) (recv - quit {(return)}) "
        "(send out item {(+= sent 1)}) (recv - (call after 1f) {(call print \"timeout\")}) "
        "(default {(call idle)}))");
  CHECK(parse_sx("select {}") == "(select)");
  CHECK(parse_sx("select {\n}") == "(select)");
  CHECK(parse_sx("select { case <-a {}; case <-b {} }") ==
        "(select (recv - a {}) (recv - b {}))");
  CHECK(parse_sx("select { case <-a { } default { } }") ==
        "(select (recv - a {}) (default {}))");
  CHECK(parse_sx("select { default {}\n default {} }") ==
        "error 2:2: select has more than one 'default'");
  CHECK(parse_sx("select { case x {} }").rfind("error 1:17: syntax error", 0) == 0);
  CHECK(parse_sx("select { case v = x {} }").rfind("error 1:19: syntax error", 0) == 0);
}

TEST_CASE("the SPEC's opening example parses") {
  const char* src = R"(import time

fn worker(id, jobs, results) {
    for n in jobs {                      # ends when `jobs` is closed and drained
        results <- {worker: id, square: n * n}
    }
}

let jobs = chan(16)
let results = chan(16)
scope {
    for id in 0..4 { spawn worker(id, jobs, results) }
    spawn {
        for n in 1..=100 { jobs <- n }
        close(jobs)
    }
    var total = 0
    for _ in 1..=100 { total += (<-results).square }
    print("total", total)                # total 338350
}
)";
  ParseResult r = parse(src, "ex.tsk");
  REQUIRE(r.errors.empty());
  REQUIRE(r.module->body.stmts.size() == 5);
  CHECK(r.module->file == "ex.tsk");
}

TEST_CASE("locations") {
  ParseResult r = parse("let x = a +\n  b * c\nfn f(p, q) {\n  return p\n}\n", "t.tsk");
  REQUIRE(r.errors.empty());
  const Stmt& let = *r.module->body.stmts[0];
  CHECK(loc(let.loc) == "1:1");
  CHECK(loc(let.name_locs[0]) == "1:5");
  CHECK(loc(let.expr->loc) == "1:11");           // a Binary points at its operator
  CHECK(loc(let.expr->a->loc) == "1:9");
  CHECK(loc(let.expr->b->loc) == "2:5");
  CHECK(loc(let.expr->b->a->loc) == "2:3");
  const Stmt& def = *r.module->body.stmts[1];
  CHECK(loc(def.loc) == "3:1");
  CHECK(loc(def.fn->loc) == "3:1");
  CHECK(loc(def.fn->param_locs[1]) == "3:9");
  CHECK(loc(def.fn->body.loc) == "3:12");
  CHECK(loc(def.fn->body.end) == "5:1");
  CHECK(loc(def.fn->body.stmts[0]->loc) == "4:3");

  ParseResult c = parse("  m.f(x)[0]\nspawn {\n}\n-x", "t.tsk");
  REQUIRE(c.errors.empty());
  CHECK(loc(c.module->body.stmts[0]->loc) == "1:3");
  CHECK(loc(c.module->body.stmts[0]->expr->loc) == "1:3");      // Index: its first token
  CHECK(loc(c.module->body.stmts[0]->expr->a->loc) == "1:3");   // Call
  const Expr& spawn = *c.module->body.stmts[1]->expr;
  CHECK(loc(spawn.loc) == "2:1");
  CHECK(spawn.fn->name == "<spawn>");
  CHECK(loc(spawn.fn->loc) == "2:1");
  CHECK(loc(spawn.fn->body.loc) == "2:7");
  CHECK(loc(c.module->body.stmts[2]->expr->loc) == "4:1");

  ParseResult s = parse("select {\n  case v = <-ch { }\n}", "t.tsk");
  REQUIRE(s.errors.empty());
  const SelectCase& arm = s.module->body.stmts[0]->cases[0];
  CHECK(loc(arm.loc) == "2:3");
  CHECK(loc(arm.bind_loc) == "2:8");
  CHECK(loc(arm.chan->loc) == "2:14");
}

TEST_CASE("syntax errors name the token and its place") {
  CHECK(parse_sx("let = 3") == "error 1:5: syntax error, unexpected '=', expecting identifier");
  CHECK(parse_sx("f(1,\n  2\n)") == "error 2:4: syntax error, unexpected newline");
  CHECK(parse_sx("f(1 2)") == "error 1:5: syntax error, unexpected integer");
  CHECK(parse_sx("x = (1 + 2").rfind("error 1:11: syntax error, unexpected end of file", 0) == 0);
  CHECK(parse_sx("if x { y").rfind("error 1:9: syntax error, unexpected end of file", 0) == 0);
  CHECK(parse_sx("a b") == "error 1:3: syntax error, unexpected identifier");
  CHECK(parse_sx("x = 1 +") .rfind("error 1:8: syntax error, unexpected end of file", 0) == 0);
  CHECK(parse_sx("x = \"abc") == "error 1:5: unterminated string");
  CHECK(parse_sx("x = 1\ny = $") == "error 2:5: unexpected character '$'");
  CHECK(parse_sx("x = \"ok\"\ny = \"\xff\"") == "error 2:6: invalid UTF-8 in source");
  CHECK(parse_sx("fn(x) => x + 1 = 3") == "error 1:1: cannot assign to this expression");
}

TEST_CASE("nesting is bounded, never a stack overflow") {
  auto repeat = [](const std::string& s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
  };
  const int deep = kMaxNesting + 1;
  const int fine = kMaxNesting * 3 / 4;
  CHECK(parse_sx("x = " + repeat("(", fine) + "1" + repeat(")", fine)) == "(= x 1)");
  CHECK(parse_sx("x = " + repeat("[", deep) + repeat("]", deep)) ==
        "error 1:" + std::to_string(4 + deep) + ": too deeply nested");
  CHECK(parse_sx("x = " + repeat("-", deep + 100) + "1").find("too deeply nested") !=
        std::string::npos);
  // A flat chain of binary operators is not nesting (SPEC §5); its right operands are.
  CHECK(parse_sx("x = " + repeat("1 + ", fine) + "1").find("too deeply nested") ==
        std::string::npos);
  CHECK(parse_sx("x = " + repeat("1 + (", deep) + "1" + repeat(")", deep))
            .find("too deeply nested") != std::string::npos);
  CHECK(parse_sx("if a {}" + repeat(" else if a {}", deep + 100)).find("too deeply nested") !=
        std::string::npos);
  CHECK(parse_sx("x = " + repeat("2 ** ", deep + 100) + "1").find("too deeply nested") !=
        std::string::npos);
  CHECK(parse_sx("x = " + repeat("f(", fine / 2) + repeat(")", fine / 2)).find("too deeply nested") ==
        std::string::npos);
  CHECK(parse_sx(repeat("fn() {", fine / 2)).find("too deeply nested") == std::string::npos);
  CHECK(parse_sx(repeat("fn f() {\n", deep) + repeat("}\n", deep)).find("too deeply nested") !=
        std::string::npos);

  // A megabyte of `1+1+1...` (and of other chains) on one line parses; a megabyte of
  // unary minus is too deep.
  for (const char* op : {"+", "*", "-", "and", "or", "&", "|", "^", "<<", ".."}) {
    std::string chain = "x = 1" + repeat(std::string(" ") + op + " 1", 1000000 / (strlen(op) + 3));
    ParseResult r = parse(chain, "chain.tsk");
    CHECK_MESSAGE(r.errors.empty(), op << ": " << (r.errors.empty() ? "" : r.errors[0].message));
  }
  // Parenthesised on the left, a chain is as flat (the brackets themselves are bounded).
  CHECK(parse_sx("x = " + repeat("(", fine) + "1" + repeat(" + 1)", fine)).find("too deeply") ==
        std::string::npos);
  std::string minus = "x = " + repeat("-", 1 << 20) + "1";
  CHECK(parse_sx(minus).find("too deeply nested") != std::string::npos);
  // Many statements are flat, not deep.
  std::string many = repeat("x = x + 1\n", 100000);
  ParseResult r = parse(many, "many.tsk");
  CHECK(r.errors.empty());
  CHECK(r.module->body.stmts.size() == 100000);
}

TEST_CASE("format_diagnostic") {
  Diagnostic d{"calc.tsk", Loc{2, 5}, "unexpected character '$'"};
  CHECK(format_diagnostic(d, "x = 1\ny = $ + 1\n") ==
        "calc.tsk:2:5: error: unexpected character '$'\n  y = $ + 1\n      ^\n");
  // Tabs are kept so the caret lines up; a UTF-8 character takes one cell.
  Diagnostic t{"t.tsk", Loc{1, 8}, "m"};
  CHECK(format_diagnostic(t, "\tx = \xc3\xa9!") == "t.tsk:1:8: error: m\n  \tx = \xc3\xa9!\n  \t     ^\n");
  Diagnostic crlf{"t.tsk", Loc{1, 3}, "m"};
  CHECK(format_diagnostic(crlf, "ab\r\ncd") == "t.tsk:1:3: error: m\n  ab\n    ^\n");
  Diagnostic unknown{"t.tsk", Loc{}, "no place"};
  CHECK(format_diagnostic(unknown, "x") == "t.tsk: error: no place\n");
  Diagnostic past_end{"t.tsk", Loc{9, 1}, "late"};
  CHECK(format_diagnostic(past_end, "x\n") == "t.tsk:9:1: error: late\n");
  Diagnostic long_col{"t.tsk", Loc{1, 40}, "eol"};
  CHECK(format_diagnostic(long_col, "ab") == "t.tsk:1:40: error: eol\n  ab\n    ^\n");
  Diagnostic last_line{"t.tsk", Loc{2, 1}, "eof"};
  CHECK(format_diagnostic(last_line, "x\n") == "t.tsk:2:1: error: eof\n  \n  ^\n");
  // The parser's own diagnostics carry the file name.
  ParseResult r = parse("let = 1", "p.tsk");
  REQUIRE(r.errors.size() == 1);
  CHECK(format_diagnostic(r.errors[0], "let = 1") ==
        "p.tsk:1:5: error: syntax error, unexpected '=', expecting identifier\n"
        "  let = 1\n      ^\n");
}

}  // TEST_SUITE
