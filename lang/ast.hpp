// The abstract syntax tree: what the parser (grammar/parser.y) builds and the compiler
// (lang/compiler.cpp) reads. It is plain data owned by a `Module`; nodes hold their
// children by unique_ptr, so a parsed module is freed as one tree.
//
// Expr and Stmt are "fat" nodes (one struct per family, a kind tag and the fields each
// kind uses, as Lua's expdesc does): the parser needs one semantic type per family and
// the compiler switches on `kind`. The comment on each kind names the fields it uses;
// fields a kind does not name are left empty.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tsk::lang {

// A position in a source file; both count from 1. A default Loc (0:0) means "unknown".
struct Loc {
  uint32_t line = 0;
  uint32_t col = 0;
};

enum class UnaryOp : uint8_t { Neg, BitNot, Not, Recv /* <-e */ };

enum class BinaryOp : uint8_t {
  Add, Sub, Mul, Div, IDiv, Mod, Pow,
  BitAnd, BitOr, BitXor, Shl, Shr,
  Eq, Ne, Lt, Le, Gt, Ge, In, NotIn,
  And, Or,                  // short-circuit; return an operand
  Range, RangeIncl,         // a..b, a..=b
};

// Compound assignment operators; `None` is plain `=`.
enum class AssignOp : uint8_t { None, Add, Sub, Mul, Div, IDiv, Mod };

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;

struct Block {
  std::vector<StmtPtr> stmts;
  Loc loc;  // the opening brace
  Loc end;  // the closing brace
};

// A function: a `fn name(...) { }` declaration, an `fn(...) { }` / `fn(...) => e`
// literal, or the body of a `spawn { }` block (no params, name "<spawn>").
struct Function {
  std::string name;                 // "" for anonymous literals
  std::vector<std::string> params;  // "_" discards an argument
  std::vector<Loc> param_locs;
  Block body;                       // an arrow fn's body is one `return e` statement
  Loc loc;                          // the `fn` keyword (or `spawn`)
};

enum class ExprKind : uint8_t {
  Nil, True, False,
  Int,        // int_value
  Float,      // float_value (durations are already converted to seconds)
  String,     // str (escapes already decoded; may hold any bytes)
  Interp,     // items: the parts in order; literal parts are String exprs
  Name,       // str: the identifier
  List,       // items
  Map,        // items: key0, value0, key1, value1, ... (a bare `name:` key is a String expr)
  Unary,      // unary_op, a
  Binary,     // binary_op, a, b
  Call,       // a: the callee, items: the arguments
  Index,      // a[b]
  Slice,      // a[b:c]; b and/or c may be null when omitted
  Field,      // a.str
  Fn,         // fn: the function literal
  Spawn,      // spawn a  (a is a Call expr) or spawn { } (fn holds the block as a Function)
  Await,      // await a
};

struct Expr {
  ExprKind kind;
  // The first token of the expression, except for Binary, where it is the operator token
  // (so `a // b` failing points at `//`). Runtime errors and tracebacks report it.
  Loc loc;
  int64_t int_value = 0;
  double float_value = 0;
  std::string str;
  UnaryOp unary_op = UnaryOp::Neg;
  BinaryOp binary_op = BinaryOp::Add;
  ExprPtr a, b, c;
  std::vector<ExprPtr> items;
  std::unique_ptr<Function> fn;

  Expr(ExprKind k, Loc l) : kind(k), loc(l) {}
  ~Expr();
};

// A chain of binary operators (`1 + 1 + ... + 1`) is a left-deep tree as tall as the
// chain is long, and a chain may have any length (SPEC §5). So the left operands of
// binary nodes are freed in a loop, never by recursion; everything else recurses only
// as deep as the parser allows (lang/parse_tree.hpp).
inline Expr::~Expr() {
  ExprPtr next = std::move(a);
  while (next && next->kind == ExprKind::Binary && next->a) {
    ExprPtr rest = std::move(next->a);
    next = std::move(rest);  // frees the node just left, whose `a` is now empty
  }
}

// One arm of a select statement.
struct SelectCase {
  enum Kind : uint8_t { Recv, Send, Default } kind = Recv;
  std::string bind;   // Recv: `case v = <-ch` binds "v"; empty for `case <-ch`
  Loc bind_loc;
  ExprPtr chan;       // Recv and Send: the channel expression
  ExprPtr value;      // Send: the value expression
  Block body;
  Loc loc;            // the `case` / `default` keyword
};

enum class StmtKind : uint8_t {
  Expr,       // expr
  Let,        // names[0] = expr   (immutable binding)
  Var,        // names[0] = expr   (mutable binding; expr may be null: `var x` starts as nil)
  Assign,     // target (Name, Index or Field expr) assign_op= expr
  Send,       // target <- expr  (target: the channel expression)
  If,         // expr, body, and else_stmt: null, an If stmt (else if), or a Block stmt (else)
  While,      // expr, body
  For,        // names (1 or 2 loop variables), expr (the iterable), body
  Break, Continue,
  Return,     // expr may be null
  FnDecl,     // fn (named)
  Block,      // body: a plain block, only used as the `else` branch of an If
  Throw,      // expr
  Try,        // body; names[0] is the catch variable ("" if no catch clause),
              // catch_body (when a catch clause exists), finally_body (when present)
  Import,     // names[0] = the binding (module name or `as` alias); str: the module name for
              // `import time`, or the file path for `import "p.tsk" as x`; is_path tells which
  Scope,      // body
  Select,     // cases
};

struct Stmt {
  StmtKind kind;
  Loc loc;  // the first token of the statement
  std::vector<std::string> names;
  std::vector<Loc> name_locs;
  ExprPtr expr;
  ExprPtr target;
  AssignOp assign_op = AssignOp::None;
  Block body;
  StmtPtr else_stmt;
  bool has_catch = false;
  Block catch_body;
  bool has_finally = false;
  Block finally_body;
  std::unique_ptr<Function> fn;
  std::string str;
  bool is_path = false;
  std::vector<SelectCase> cases;

  Stmt(StmtKind k, Loc l) : kind(k), loc(l) {}
};

// A parsed source file.
struct Module {
  std::string file;   // as given to the parser; used in diagnostics and tracebacks
  Block body;
};

}  // namespace tsk::lang
