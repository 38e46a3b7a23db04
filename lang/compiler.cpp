// Code generation: a resolved AST (lang/resolver.hpp) to register bytecode
// (vm/opcodes.hpp), one Proto per function.
//
// Register discipline (per function): R[0..nparams) are the parameters; every local gets
// the next free register when its declaration runs and keeps it until its block ends;
// temporaries live above the locals and are released when the expression that needed
// them is done. So at the start of every statement `free_reg` equals the number of live
// locals' registers, and any register below it that holds a local is never used as a
// scratch destination.
//
// A captured local holds a Cell from its declaration on (MKCELL), so loop variables and
// loop-body locals are fresh cells on every iteration and closures made in different
// iterations see different variables.
//
// try/finally: each `finally` body is compiled once, so code size stays linear in the
// nesting depth (inlining it on every way out doubled the code per level of a finally
// nested in a finally). Every way into it first sets the try's `code` register: int 0
// on the normal end, the error itself when the handler catches one (TRY writes it there),
// or int k for the k-th distinct jump-out (break, continue or return, with a return's
// value parked in the try's `value` register) that crosses the try. The finally ends in
// ENDFINALLY, which goes on for 0, re-raises an error, and runs entry k of the table of
// one-instruction entries after it for a jump-out: a jump to a stub that carries the
// jump-out on through the next enclosing try (or arrives: the loop's jump, or RET). So a
// jump-out costs one stub per try it crosses, shared by every jump-out to the same place,
// and a finally that itself returns or breaks simply drops what was pending.
//
// scope { }: compiled as a try whose handler is the scope's end, SCOPEEND, which waits for
// the scope's tasks and raises the first error (a task's, or the body's own, caught in
// the handler register). A break/continue/return leaving the body runs the scope's end
// (one SCOPEEND) on its way out.
//
// spawn { }: the block is a function whose parameters are the variables it copies from
// enclosing code (the resolver lists them); the spawn site makes the closure, loads the
// copies' current values after it and spawns it like a call, so the VM has one SPAWN.
//
// Fused compare-and-jump (JLT/JLE) has a 16-bit offset. When one does not fit, the whole
// function is compiled again without fused jumps (rare: a loop or branch body of more than
// 32K instructions), which keeps the common path a single pass.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "lang/compiler.hpp"
#include "lang/resolver.hpp"
#include "vm/check.hpp"

namespace tsk::lang {
namespace {

using vm::Instr;
using vm::Op;
using vm::Value;

// 65,000: registers and constant indices are 16-bit operands; the margin below 65,535
// leaves room for the few registers an instruction sequence reserves past the check.
constexpr uint32_t kMaxRegisters = 65000;
constexpr uint32_t kMaxConstants = 65000;

struct TooLarge {};          // unwinds the whole compilation
struct NeedUnfusedJumps {};  // unwinds one function, which is compiled again

struct Loop {
  std::vector<int> breaks;     // JMPs to patch to the loop's exit
  std::vector<int> continues;  // JMPs to patch to the loop's continue point
  size_t try_depth;            // try contexts open when the loop began
};

// Where a break, continue or return goes: a loop's exit or continue point, or out of
// the function (the value, if any, travels beside it).
struct JumpOut {
  enum Kind : uint8_t { Break, Continue, Return } kind;
  Loop* loop = nullptr;  // Break and Continue
  bool operator==(const JumpOut&) const = default;
};

// A protected region that a break/continue/return may leave.
struct TryContext {
  bool handler_active = true;   // a TRY handler of this statement is on the stack
  const Block* finally_body = nullptr;  // run on the way out, or null
  size_t loop_depth = 0;        // loops open when the try began
  bool is_scope = false;        // a scope { } body: leaving it runs SCOPEEND
  // With a finally body (see the file comment):
  uint16_t code = 0;            // register: 0, an error, or k for pending[k - 1]
  uint16_t value = 0;           // register: a pending return's value
  std::vector<int> to_finally;  // jumps to patch to the start of the finally code
  std::vector<JumpOut> pending; // the distinct jump-outs that cross this try
  std::vector<Loc> pending_locs;  // where each was first met: its entry's and stub's
};

struct FuncState {
  FuncState* parent = nullptr;
  const Function* fn = nullptr;  // nullptr for <main>
  vm::Proto* proto = nullptr;
  uint32_t free_reg = 0;
  uint32_t max_reg = 0;
  bool fuse_jumps = true;
  std::unordered_map<const Binding*, uint16_t> capture_index;
  std::unordered_map<std::string, uint32_t> const_index;  // key: tag byte + payload
  std::vector<Loop*> loops;
  std::vector<TryContext*> trys;
  // Globals a loop of this function holds in a register (see promote_globals).
  std::unordered_map<const Binding*, uint16_t> promoted;
};

class Codegen {
 public:
  Codegen(const CompileInput& in, Resolution& res) : in_(in), res_(res) {}

  vm::Proto* compile_main() {
    const Module& m = *in_.module;
    return compile_function(nullptr, nullptr, "<main>", Loc{1, 1}, [&] {
      // Hoisting: every top-level fn exists before any other top-level code runs.
      for (const auto& s : m.body.stmts) {
        if (s->kind != StmtKind::FnDecl || !s->fn) continue;
        Binding* b = res_.decl(s.get(), 0);
        if (!b) continue;
        top_stmt_loc_ = s->loc;
        uint16_t r = alloc();
        emit_closure(*s->fn, s->fn->name, r, s->loc);
        emit(Instr::abx(Op::SETG, r, b->slot), s->loc);
        fs_->free_reg = r;
      }
      const auto& stmts = m.body.stmts;
      for (size_t i = 0; i < stmts.size(); ++i) {
        const Stmt& s = *stmts[i];
        top_stmt_loc_ = s.loc;
        if (in_.return_last_expression && i + 1 == stmts.size() &&
            s.kind == StmtKind::Expr && s.expr) {
          uint16_t r = expr_reg(*s.expr);
          emit(Instr::abc(Op::RET, r), s.loc);
          return;
        }
        stmt(s);
      }
      // The module has no closing brace: its end is its last statement.
      Loc end = end_loc(m.body);
      if (end.line == 0) end = stmts.empty() ? Loc{1, 1} : stmts.back()->loc;
      emit(Instr::abc(Op::RETNIL, 0), end);
    });
  }

 private:
  // ---- functions ---------------------------------------------------------------------

  template <class Body>
  vm::Proto* compile_function(FuncState* parent, const Function* fn, const std::string& name,
                              Loc loc, Body&& body) {
    const size_t protos_mark = in_.protos->size();
    auto proto = std::make_unique<vm::Proto>();
    bool fuse = true;
    for (;;) {
      *proto = vm::Proto{};
      proto->name = name;
      proto->file = in_.module->file;
      proto->loc = loc;
      FuncState fs;
      fs.parent = parent;
      fs.fn = fn;
      fs.proto = proto.get();
      fs.fuse_jumps = fuse;
      FuncState* saved = fs_;
      const uint32_t saved_base = stmt_base_;
      fs_ = &fs;
      stmt_base_ = 0;
      try {
        if (fn) {
          proto->nparams = uint16_t(fn->params.size());
          fs.free_reg = fs.max_reg = uint32_t(fn->params.size());
          if (fs.free_reg > kMaxRegisters) too_large("more than 65000 registers");
          for (size_t i = 0; i < fn->params.size(); ++i) {
            if (Binding* b = res_.decl(fn, int(i))) {
              b->reg = uint16_t(i);
              if (b->captured) emit(Instr::abc(Op::MKCELL, b->reg), param_loc(*fn, i));
            }
          }
        }
        body();
        proto->nregs = uint16_t(fs.max_reg);
        fs_ = saved;
        stmt_base_ = saved_base;
        break;
      } catch (const NeedUnfusedJumps&) {
        fs_ = saved;
        stmt_base_ = saved_base;
        in_.protos->resize(protos_mark);
        fuse = false;
      } catch (...) {
        fs_ = saved;
        stmt_base_ = saved_base;
        throw;
      }
    }
    vm::Proto* p = proto.get();
    in_.protos->push_back(std::move(proto));
    return p;
  }

  void emit_closure(const Function& f, const std::string& name, uint16_t dst, Loc loc) {
    FuncState* outer = fs_;
    vm::Proto* p = compile_function(outer, &f, name, f.loc, [&] {
      block_body(f.body);
      emit(Instr::abc(Op::RETNIL, 0), end_loc(f.body));
    });
    uint32_t index = uint32_t(outer->proto->protos.size());
    outer->proto->protos.push_back(p);
    emit(Instr::abx(Op::CLOSURE, dst, index), loc);
  }

  // The index of captured binding [b] among the running function's upvalues, adding it
  // (and the chain through every intermediate function) on first use.
  uint16_t capture(FuncState& fs, const Binding* b) {
    if (auto it = fs.capture_index.find(b); it != fs.capture_index.end()) return it->second;
    vm::Capture c;
    c.name = b->name;
    if (fs.parent->fn == b->owner) {
      c.from_local = true;
      c.index = b->reg;
    } else {
      c.from_local = false;
      c.index = capture(*fs.parent, b);
    }
    uint16_t index = uint16_t(fs.proto->captures.size());
    fs.proto->captures.push_back(std::move(c));
    fs.capture_index[b] = index;
    return index;
  }

  // ---- emission ------------------------------------------------------------------------

  int emit(Instr i, Loc loc) {
    fs_->proto->code.push_back(i);
    fs_->proto->locs.push_back(loc);
    return int(fs_->proto->code.size()) - 1;
  }
  int here() const { return int(fs_->proto->code.size()); }

  // A function past a limit of the instruction format is reported at the function (its
  // `fn` or `spawn`); the module's top-level code, at the top-level statement being
  // compiled.
  [[noreturn]] void too_large(const char* what) {
    Loc loc = top_stmt_loc_;
    std::string who = "top-level code";
    if (const Function* fn = fs_->fn) {
      loc = fn->loc;
      who = fn->name == "<spawn>" ? "spawn block"
            : fn->name.empty()    ? "function"
                                  : "function '" + fn->name + "'";
    }
    res_.errors.push_back({in_.module->file, loc, who + " too large: " + what});
    throw TooLarge{};
  }

  uint16_t alloc(uint32_t n = 1) {
    uint32_t r = fs_->free_reg;
    fs_->free_reg += n;
    if (fs_->free_reg > kMaxRegisters)
      too_large("more than 65000 registers");
    if (fs_->free_reg > fs_->max_reg) fs_->max_reg = fs_->free_reg;
    return uint16_t(r);
  }

  uint32_t add_const(Value v, std::string_view str = {}) {
    std::string key(1, char(v.tag));
    if (v.is(vm::Tag::String))
      key.append(str);
    else
      key.append(reinterpret_cast<const char*>(&v.i), sizeof v.i);
    if (auto it = fs_->const_index.find(key); it != fs_->const_index.end()) return it->second;
    if (v.is(vm::Tag::String)) v = Value::object(in_.shared->intern(str));
    uint32_t index = uint32_t(fs_->proto->consts.size());
    if (index >= kMaxConstants) too_large("more than 65000 constants");
    fs_->proto->consts.push_back(v);
    fs_->const_index.emplace(std::move(key), index);
    return index;
  }
  uint32_t string_const(std::string_view s) {
    Value v;
    v.tag = vm::Tag::String;
    return add_const(v, s);
  }

  // Jumps: sBx (or sC for JLT/JLE) is relative to the next instruction.
  int emit_jump(Op op, uint16_t a, Loc loc) { return emit(Instr::asbx(op, a, 0), loc); }
  void patch(int at, int target) {
    Instr& i = fs_->proto->code[size_t(at)];
    int32_t offset = target - (at + 1);
    if (vm::is_fused_jump(i.op)) {
      if (offset < INT16_MIN || offset > INT16_MAX) throw NeedUnfusedJumps{};
      i.c = uint16_t(int16_t(offset));
    } else {
      i = Instr::asbx(i.op, i.a, offset, i.x);
    }
  }
  void patch_all(const std::vector<int>& jumps, int target) {
    for (int j : jumps) patch(j, target);
  }

  static Loc end_loc(const Block& b) { return b.end.line ? b.end : b.loc; }
  static Loc param_loc(const Function& f, size_t i) {
    return i < f.param_locs.size() ? f.param_locs[i] : f.loc;
  }

  // ---- names ---------------------------------------------------------------------------

  bool owned(const Binding* b) const { return b->owner == fs_->fn; }

  // A register already holding [b]'s value, if it is a plain local of this function.
  std::optional<uint16_t> plain_local(const Expr& e) const {
    if (e.kind != ExprKind::Name) return std::nullopt;
    const Binding* b = res_.use(e);
    if (b && b->kind == Binding::Kind::Global) return promoted(b);
    if (b && b->kind == Binding::Kind::Local && owned(b) && !b->captured) return b->reg;
    return std::nullopt;
  }

  // The register a loop holds global [b] in, if one does (see promote_globals).
  std::optional<uint16_t> promoted(const Binding* b) const {
    auto it = fs_->promoted.find(b);
    if (it == fs_->promoted.end()) return std::nullopt;
    return it->second;
  }

  void read(const Binding* b, uint16_t dst, Loc loc) {
    switch (b->kind) {
      case Binding::Kind::Global:
        if (auto r = promoted(b)) {
          if (*r != dst) emit(Instr::abc(Op::MOVE, dst, *r), loc);
          return;
        }
        emit(Instr::abx(Op::GETG, dst, b->slot), loc);
        return;
      case Binding::Kind::Builtin: emit(Instr::abx(Op::BUILTIN, dst, b->slot), loc); return;
      case Binding::Kind::Local: break;
    }
    if (!owned(b)) {
      emit(Instr::abc(Op::GETUP, dst, capture(*fs_, b)), loc);
    } else if (b->captured) {
      emit(Instr::abc(Op::GETCELL, dst, b->reg), loc);
    } else if (b->reg != dst) {
      emit(Instr::abc(Op::MOVE, dst, b->reg), loc);
    }
  }

  void write(const Binding* b, uint16_t src, Loc loc) {
    if (b->kind == Binding::Kind::Global) {
      if (auto r = promoted(b); r && *r != src) emit(Instr::abc(Op::MOVE, *r, src), loc);
      emit(Instr::abx(Op::SETG, src, b->slot), loc);
    } else if (!owned(b)) {
      emit(Instr::abc(Op::SETUP, src, capture(*fs_, b)), loc);
    } else if (b->captured) {
      emit(Instr::abc(Op::SETCELL, b->reg, src), loc);
    } else if (b->reg != src) {
      emit(Instr::abc(Op::MOVE, b->reg, src), loc);
    }
  }

  // Binds a new local [b] to register [r], which already holds its initial value.
  void bind_local(Binding* b, uint16_t r, Loc loc) {
    if (!b) return;
    b->reg = r;
    if (b->captured) emit(Instr::abc(Op::MKCELL, r), loc);
  }

  // ---- expressions ---------------------------------------------------------------------

  static std::optional<Value> numeric_literal(const Expr& e) {
    if (e.kind == ExprKind::Int) return Value::integer(e.int_value);
    if (e.kind == ExprKind::Float) return Value::number(e.float_value);
    if (e.kind == ExprKind::Unary && e.unary_op == UnaryOp::Neg && e.a) {
      if (e.a->kind == ExprKind::Int)  // wraps for -(-2^63): the lexer's business
        return Value::integer(int64_t(0 - uint64_t(e.a->int_value)));
      if (e.a->kind == ExprKind::Float) return Value::number(-e.a->float_value);
    }
    return std::nullopt;
  }

  // The constant index of a literal operand of a comparison (a number, a string
  // without interpolation, nil, true or false), or nothing for any other expression.
  std::optional<uint32_t> literal_operand(const Expr& e) {
    if (auto k = numeric_literal(e)) return add_const(*k);
    switch (e.kind) {
      case ExprKind::String: return string_const(e.str);
      case ExprKind::Nil: return add_const(Value::nil());
      case ExprKind::True: return add_const(Value::boolean(true));
      case ExprKind::False: return add_const(Value::boolean(false));
      default: return std::nullopt;
    }
  }

  void load_number(Value v, uint16_t dst, Loc loc) {
    if (v.is(vm::Tag::Int) && v.i >= INT16_MIN && v.i <= INT16_MAX)
      emit(Instr::asbx(Op::LOADI, dst, int32_t(v.i)), loc);
    else
      emit(Instr::abx(Op::LOADK, dst, add_const(v)), loc);
  }

  // A register holding [e]'s value: a plain local's own register, or a new temporary.
  uint16_t expr_reg(const Expr& e) {
    if (auto r = plain_local(e)) return *r;
    uint16_t r = alloc();
    expr_into(e, r);
    return r;
  }

  // Evaluates [e] into register [dst] (already reserved). Temporaries are released.
  void expr_into(const Expr& e, uint16_t dst) {
    const uint32_t saved = fs_->free_reg;
    expr_into_inner(e, dst);
    fs_->free_reg = saved;
  }

  // Evaluates [e] into [count] consecutive new registers; returns the first.
  uint16_t exprs_consecutive(const std::vector<ExprPtr>& items) {
    uint16_t base = uint16_t(fs_->free_reg);
    for (const auto& item : items) {
      uint16_t r = alloc();
      if (item)
        expr_into(*item, r);
      else
        emit(Instr::abc(Op::LOADNIL, r), Loc{});
    }
    return base;
  }

  void expr_into_inner(const Expr& e, uint16_t dst) {
    switch (e.kind) {
      case ExprKind::Nil: emit(Instr::abc(Op::LOADNIL, dst), e.loc); return;
      case ExprKind::True: emit(Instr::abc(Op::LOADTRUE, dst), e.loc); return;
      case ExprKind::False: emit(Instr::abc(Op::LOADFALSE, dst), e.loc); return;
      case ExprKind::Int: load_number(Value::integer(e.int_value), dst, e.loc); return;
      case ExprKind::Float: load_number(Value::number(e.float_value), dst, e.loc); return;
      case ExprKind::String:
        emit(Instr::abx(Op::LOADK, dst, string_const(e.str)), e.loc);
        return;
      case ExprKind::Interp: {
        if (e.items.empty()) {
          emit(Instr::abx(Op::LOADK, dst, string_const("")), e.loc);
          return;
        }
        uint16_t base = exprs_consecutive(e.items);
        emit(Instr::abc(Op::CONCAT, dst, base, uint16_t(e.items.size())), e.loc);
        return;
      }
      case ExprKind::Name:
        if (const Binding* b = res_.use(e)) read(b, dst, e.loc);
        return;
      case ExprKind::List: {
        uint16_t base = exprs_consecutive(e.items);
        emit(Instr::abc(Op::NEWLIST, dst, base, uint16_t(e.items.size())), e.loc);
        return;
      }
      case ExprKind::Map: {
        uint16_t base = exprs_consecutive(e.items);
        emit(Instr::abc(Op::NEWMAP, dst, base, uint16_t(e.items.size() / 2)), e.loc);
        return;
      }
      case ExprKind::Unary: unary(e, dst); return;
      case ExprKind::Binary: binary(e, dst); return;
      case ExprKind::Call: call(e, dst); return;
      case ExprKind::Index: {
        uint16_t obj = expr_reg(*e.a);
        uint16_t index = expr_reg(*e.b);
        emit(Instr::abc(Op::GETINDEX, dst, obj, index), e.loc);
        return;
      }
      case ExprKind::Slice: {
        uint16_t obj = expr_reg(*e.a);
        uint16_t lo = alloc(), hi = alloc();
        if (e.b) expr_into(*e.b, lo); else emit(Instr::abc(Op::LOADNIL, lo), e.loc);
        if (e.c) expr_into(*e.c, hi); else emit(Instr::abc(Op::LOADNIL, hi), e.loc);
        emit(Instr::abc(Op::SLICE, dst, obj, lo), e.loc);
        return;
      }
      case ExprKind::Field: {
        uint16_t obj = expr_reg(*e.a);
        emit(Instr::abc(Op::GETFIELD, dst, obj, uint16_t(string_const(e.str))), e.loc);
        return;
      }
      case ExprKind::Fn:
        emit_closure(*e.fn, "<fn>", dst, e.loc);
        return;
      case ExprKind::Spawn:
        if (e.fn)
          spawn_block(e, dst);
        else if (e.a && e.a->kind == ExprKind::Call)
          spawn_call(e, dst);
        return;
      case ExprKind::Await:
        if (e.a) emit(Instr::abc(Op::AWAIT, dst, expr_reg(*e.a)), e.loc);
        return;
    }
  }

  void unary(const Expr& e, uint16_t dst) {
    if (auto k = numeric_literal(e)) {
      load_number(*k, dst, e.loc);
      return;
    }
    uint16_t r = expr_reg(*e.a);
    Op op = e.unary_op == UnaryOp::Neg      ? Op::NEG
            : e.unary_op == UnaryOp::BitNot ? Op::BNOT
            : e.unary_op == UnaryOp::Recv   ? Op::RECV
                                            : Op::NOT;
    emit(Instr::abc(op, dst, r), e.loc);
  }

  static std::optional<Op> arith_op(BinaryOp op) {
    switch (op) {
      case BinaryOp::Add: return Op::ADD;
      case BinaryOp::Sub: return Op::SUB;
      case BinaryOp::Mul: return Op::MUL;
      case BinaryOp::Div: return Op::DIV;
      case BinaryOp::IDiv: return Op::IDIV;
      case BinaryOp::Mod: return Op::MOD;
      case BinaryOp::Pow: return Op::POW;
      case BinaryOp::BitAnd: return Op::BAND;
      case BinaryOp::BitOr: return Op::BOR;
      case BinaryOp::BitXor: return Op::BXOR;
      case BinaryOp::Shl: return Op::SHL;
      case BinaryOp::Shr: return Op::SHR;
      case BinaryOp::Eq: return Op::EQ;
      case BinaryOp::Ne: return Op::NE;
      case BinaryOp::In: return Op::IN;
      case BinaryOp::NotIn: return Op::NOTIN;
      default: return std::nullopt;
    }
  }
  static std::optional<Op> constant_form(Op op) {
    switch (op) {
      case Op::ADD: return Op::ADDK;
      case Op::SUB: return Op::SUBK;
      case Op::MUL: return Op::MULK;
      case Op::MOD: return Op::MODK;
      case Op::IDIV: return Op::IDIVK;
      case Op::DIV: return Op::DIVK;
      default: return std::nullopt;
    }
  }

  // R[dst] = R[lhs] op rhs, with the K form when rhs is a numeric literal.
  void arith(Op op, uint16_t dst, uint16_t lhs, const Expr& rhs, Loc loc) {
    if (auto kop = constant_form(op)) {
      if (auto k = numeric_literal(rhs)) {
        emit(Instr::abc(*kop, dst, lhs, uint16_t(add_const(*k))), loc);
        return;
      }
    }
    uint16_t r = expr_reg(rhs);
    emit(Instr::abc(op, dst, lhs, r), loc);
  }

  // A binary expression. A chain (`a + b + c ...`, a left-deep tree as long as the chain,
  // any mix of operators) is compiled in a loop down its left spine, never by recursion
  // (lang/parse_tree.hpp): the leftmost operand, then each operator bottom-up on the
  // value so far, kept in [acc], a new register: writing a live local [dst] before the
  // later operands are read would change them (`x = 1 + x + x`), and even a temporary
  // [dst] is not reused, so the last operator never works in place (`R3 = R3 % K`):
  // an instruction whose result register is its operand register costs this loop ~8%
  // on the bench machine's CPU (docs/performance.md, "The interpreter").
  void binary(const Expr& e, uint16_t dst) {
    if (!e.a || e.a->kind != ExprKind::Binary) {
      binary_node(e, dst, std::nullopt);
      return;
    }
    std::vector<const Expr*> spine;
    for (const Expr* x = &e; x->kind == ExprKind::Binary && x->a; x = x->a.get())
      spine.push_back(x);
    const uint16_t acc = alloc();
    const uint32_t mark = fs_->free_reg;
    binary_node(*spine.back(), acc, std::nullopt);
    for (size_t i = spine.size() - 1; i-- > 0;) {
      fs_->free_reg = mark;
      binary_node(*spine[i], i == 0 ? dst : acc, acc);
    }
  }

  // One binary operator into [dst]. Its left operand is evaluated here, or, given
  // [lhs], is already in that register (a temporary the operator may overwrite).
  void binary_node(const Expr& e, uint16_t dst, std::optional<uint16_t> lhs) {
    auto left = [&] { return lhs ? *lhs : expr_reg(*e.a); };
    switch (e.binary_op) {
      case BinaryOp::And:
      case BinaryOp::Or: {
        // The result register is written before the right operand is read: never let it
        // be a live local (`x = y or x`).
        const bool is_local = dst < stmt_base_;
        uint16_t r = !is_local ? dst : lhs ? *lhs : alloc();
        if (!lhs)
          expr_into(*e.a, r);
        else if (*lhs != r)
          emit(Instr::abc(Op::MOVE, r, *lhs), e.loc);
        int skip = emit_jump(e.binary_op == BinaryOp::And ? Op::JMPIFNOT : Op::JMPIF, r, e.loc);
        expr_into(*e.b, r);
        patch(skip, here());
        if (r != dst) emit(Instr::abc(Op::MOVE, dst, r), e.loc);
        return;
      }
      case BinaryOp::Lt:
      case BinaryOp::Le:
      case BinaryOp::Gt:
      case BinaryOp::Ge: {
        uint16_t a = left();
        uint16_t b = expr_reg(*e.b);
        bool swap = e.binary_op == BinaryOp::Gt || e.binary_op == BinaryOp::Ge;
        Op op = (e.binary_op == BinaryOp::Lt || e.binary_op == BinaryOp::Gt) ? Op::LT : Op::LE;
        emit(Instr::abc(op, dst, swap ? b : a, swap ? a : b), e.loc);
        return;
      }
      case BinaryOp::Range:
      case BinaryOp::RangeIncl: {
        uint16_t a = left();
        uint16_t b = expr_reg(*e.b);
        emit(Instr::abc(Op::RANGE, dst, a, b, e.binary_op == BinaryOp::RangeIncl), e.loc);
        return;
      }
      default: {
        Op op = *arith_op(e.binary_op);
        uint16_t a = left();
        arith(op, dst, a, *e.b, e.loc);
        return;
      }
    }
  }

  void call(const Expr& e, uint16_t dst) {
    // The callee goes in [dst] itself when [dst] is the topmost register.
    // [dst] must not be a live local: the arguments may still read it.
    const bool reuse = uint32_t(dst) + 1 == fs_->free_reg && dst >= stmt_base_;
    uint16_t base = reuse ? dst : alloc();
    expr_into(*e.a, base);
    for (const auto& arg : e.items) {
      uint16_t r = alloc();
      expr_into(*arg, r);
    }
    // The callee's frame begins at the first argument (vm/interp.cpp, CALL): nothing
    // live may lie above the arguments.
    TSK_CHECK(fs_->free_reg == uint32_t(base) + 1 + e.items.size(), "a call's registers are the topmost");
    emit(Instr::abc(Op::CALL, base, uint16_t(e.items.size())), e.loc);
    if (base != dst) emit(Instr::abc(Op::MOVE, dst, base), e.loc);
  }

  // Emits the jumps taken when [cond] is falsy; returns them for patching.
  std::vector<int> false_jumps(const Expr* cond_ptr) {
    const uint32_t saved = fs_->free_reg;
    std::vector<int> jumps;
    if (!cond_ptr) return jumps;
    const Expr& cond = *cond_ptr;
    if (cond.kind == ExprKind::True) {
      // `while true`: no test at all.
    } else if (cond.kind == ExprKind::Binary && cond.binary_op == BinaryOp::And) {
      // `a and b and c ...`: the left spine in a loop (see binary), operands in order.
      std::vector<const Expr*> spine;
      const Expr* x = &cond;
      for (; x->kind == ExprKind::Binary && x->binary_op == BinaryOp::And && x->a;
           x = x->a.get())
        spine.push_back(x);
      jumps = false_jumps(x);
      for (auto it = spine.rbegin(); it != spine.rend(); ++it) {
        auto more = false_jumps((*it)->b.get());
        jumps.insert(jumps.end(), more.begin(), more.end());
      }
    } else if (fs_->fuse_jumps && cond.kind == ExprKind::Binary && cond.a && cond.b &&
               (cond.binary_op == BinaryOp::Eq || cond.binary_op == BinaryOp::Ne ||
                cond.binary_op == BinaryOp::Lt || cond.binary_op == BinaryOp::Le ||
                cond.binary_op == BinaryOp::Gt || cond.binary_op == BinaryOp::Ge) &&
               (literal_operand(*cond.b) || literal_operand(*cond.a))) {
      // A comparison with a literal: the literal stays a constant (JxxK). A literal on
      // the left is mirrored (`0 < x` is `x > 0`): a literal has no side effects, so the
      // order of evaluation does not show.
      const bool mirrored = !literal_operand(*cond.b);
      const Expr& var = mirrored ? *cond.b : *cond.a;
      const Expr& lit = mirrored ? *cond.a : *cond.b;
      BinaryOp bop = cond.binary_op;
      if (mirrored) {
        bop = bop == BinaryOp::Lt ? BinaryOp::Gt : bop == BinaryOp::Gt ? BinaryOp::Lt
            : bop == BinaryOp::Le ? BinaryOp::Ge : bop == BinaryOp::Ge ? BinaryOp::Le : bop;
      }
      Op op = bop == BinaryOp::Eq ? Op::JEQK : bop == BinaryOp::Ne ? Op::JNEK
            : bop == BinaryOp::Lt ? Op::JLTK : bop == BinaryOp::Le ? Op::JLEK
            : bop == BinaryOp::Gt ? Op::JGTK : Op::JGEK;
      uint16_t a = expr_reg(var);
      uint16_t k = uint16_t(*literal_operand(lit));
      jumps.push_back(emit(Instr::abc(op, a, k, 0), cond.loc));
    } else if (fs_->fuse_jumps && cond.kind == ExprKind::Binary &&
               (cond.binary_op == BinaryOp::Eq || cond.binary_op == BinaryOp::Ne)) {
      uint16_t a = expr_reg(*cond.a);
      uint16_t b = expr_reg(*cond.b);
      Op op = cond.binary_op == BinaryOp::Eq ? Op::JEQ : Op::JNE;
      jumps.push_back(emit(Instr::abc(op, a, b, 0), cond.loc));
    } else if (fs_->fuse_jumps && cond.kind == ExprKind::Binary &&
               (cond.binary_op == BinaryOp::Lt || cond.binary_op == BinaryOp::Le ||
                cond.binary_op == BinaryOp::Gt || cond.binary_op == BinaryOp::Ge)) {
      uint16_t a = expr_reg(*cond.a);
      uint16_t b = expr_reg(*cond.b);
      bool swap = cond.binary_op == BinaryOp::Gt || cond.binary_op == BinaryOp::Ge;
      Op op = (cond.binary_op == BinaryOp::Lt || cond.binary_op == BinaryOp::Gt) ? Op::JLT
                                                                                   : Op::JLE;
      jumps.push_back(emit(Instr::abc(op, swap ? b : a, swap ? a : b, 0), cond.loc));
    } else {
      uint16_t r = expr_reg(cond);
      jumps.push_back(emit_jump(Op::JMPIFNOT, r, cond.loc));
    }
    fs_->free_reg = saved;
    return jumps;
  }

  // ---- statements ----------------------------------------------------------------------

  // A block with its own scope: its locals' registers are free again after it.
  void block_body(const Block& b) {
    const uint32_t saved = fs_->free_reg;
    for (size_t i = 0; i < b.stmts.size();) {
      const size_t end = fn_group_end(b, i);
      if (end - i >= 2) {
        fn_group(b, i, end);
        i = end;
      } else {
        stmt(*b.stmts[i++]);
      }
    }
    fs_->free_reg = saved;
  }

  // Adjacent local fn declarations (see fn_group_end): every register, and every cell
  // a sibling may capture, exists before the first CLOSURE, so the group can recurse
  // mutually.
  void fn_group(const Block& b, size_t begin, size_t end) {
    const uint32_t saved_base = stmt_base_;
    for (size_t i = begin; i < end; ++i) {
      const Stmt& s = *b.stmts[i];
      Binding* binding = res_.decl(&s, 0);
      uint16_t r = alloc();
      if (!binding) continue;  // a redeclaration, already reported
      binding->reg = r;
      if (!binding->captured) continue;
      emit(Instr::abc(Op::LOADNIL, r), s.loc);
      emit(Instr::abc(Op::MKCELL, r), s.loc);
    }
    for (size_t i = begin; i < end; ++i) {
      const Stmt& s = *b.stmts[i];
      Binding* binding = res_.decl(&s, 0);
      if (!binding) continue;
      stmt_base_ = fs_->free_reg;
      if (!binding->captured) {
        emit_closure(*s.fn, s.fn->name, binding->reg, s.loc);
        continue;
      }
      uint16_t t = alloc();
      emit_closure(*s.fn, s.fn->name, t, s.loc);
      emit(Instr::abc(Op::SETCELL, binding->reg, t), s.loc);
      fs_->free_reg = t;
    }
    stmt_base_ = saved_base;
  }

  void stmt(const Stmt& s) {
    const uint32_t saved_base = stmt_base_;
    stmt_base_ = fs_->free_reg;
    stmt_inner(s);
    stmt_base_ = saved_base;
  }

  // Declares `names[0] = expr` (let, var, import): a global's SETG at top level, a new
  // local register elsewhere.
  void declaration(const Stmt& s, const std::function<void(uint16_t)>& init) {
    Binding* b = res_.decl(&s, 0);
    if (b && b->kind == Binding::Kind::Global) {
      uint16_t r = alloc();
      init(r);
      emit(Instr::abx(Op::SETG, r, b->slot), s.loc);
      fs_->free_reg = r;
      if (b->decl == Binding::Decl::Var) set_globals_.insert(b);
      return;
    }
    uint16_t r = alloc();
    init(r);
    if (b) {
      bind_local(b, r, s.loc);
    } else {
      fs_->free_reg = r;  // `_`: evaluated for its effects only
    }
  }

  void stmt_inner(const Stmt& s) {
    const uint32_t saved = fs_->free_reg;
    switch (s.kind) {
      case StmtKind::Expr:
        if (s.expr) {
          // A spawn statement: nobody reads its handle, so the task gets none (SPAWN C=1).
          spawn_unused_ = s.expr->kind == ExprKind::Spawn;
          expr_reg(*s.expr);
          spawn_unused_ = false;
        }
        fs_->free_reg = saved;
        return;
      case StmtKind::Let:
      case StmtKind::Var:
        if (fn_literal_in_cell(s)) return;
        declaration(s, [&](uint16_t r) {
          if (s.expr)
            expr_into(*s.expr, r);
          else
            emit(Instr::abc(Op::LOADNIL, r), s.loc);
        });
        return;
      case StmtKind::Import:
        declaration(s, [&](uint16_t r) {
          emit(Instr::abx(Op::IMPORT, r, string_const(s.str), s.is_path ? 1 : 0), s.loc);
        });
        return;
      case StmtKind::FnDecl: fn_decl(s); return;
      case StmtKind::Assign: assign(s); fs_->free_reg = saved; return;
      case StmtKind::If: if_stmt(s); return;
      case StmtKind::While: while_stmt(s); return;
      case StmtKind::For: for_stmt(s); fs_->free_reg = saved; return;
      case StmtKind::Break:
      case StmtKind::Continue: {
        if (fs_->loops.empty()) return;  // rejected by the resolver
        Loop* loop = fs_->loops.back();
        jump_out({s.kind == StmtKind::Break ? JumpOut::Break : JumpOut::Continue, loop},
                 nullptr, s.loc);
        return;
      }
      case StmtKind::Return: return_stmt(s); fs_->free_reg = saved; return;
      case StmtKind::Block: block_body(s.body); return;
      case StmtKind::Throw: {
        uint16_t r = s.expr ? expr_reg(*s.expr) : alloc();
        if (!s.expr) emit(Instr::abc(Op::LOADNIL, r), s.loc);
        emit(Instr::abc(Op::THROW, r), s.loc);
        fs_->free_reg = saved;
        return;
      }
      case StmtKind::Try: try_stmt(s); fs_->free_reg = saved; return;
      case StmtKind::Send: send_stmt(s); fs_->free_reg = saved; return;
      case StmtKind::Scope: scope_stmt(s); fs_->free_reg = saved; return;
      case StmtKind::Select: select_stmt(s); fs_->free_reg = saved; return;
    }
  }

  // `let f = fn(...) { ... }` binding a captured local: the literal may capture its own
  // binding (the resolver declares it first), so the cell must exist before CLOSURE runs,
  // as for a local `fn f`. Returns false, emitting nothing, for every other declaration.
  bool fn_literal_in_cell(const Stmt& s) {
    Binding* b = res_.decl(&s, 0);
    if (!b || b->kind != Binding::Kind::Local || !b->captured || !s.expr ||
        s.expr->kind != ExprKind::Fn)
      return false;
    uint16_t r = alloc();
    b->reg = r;
    emit(Instr::abc(Op::LOADNIL, r), s.loc);
    emit(Instr::abc(Op::MKCELL, r), s.loc);
    uint16_t t = alloc();
    expr_into(*s.expr, t);
    emit(Instr::abc(Op::SETCELL, r, t), s.loc);
    fs_->free_reg = uint32_t(r) + 1;
    return true;
  }

  void fn_decl(const Stmt& s) {
    Binding* b = res_.decl(&s, 0);
    if (!s.fn || !b || b->kind == Binding::Kind::Global) return;  // top level: hoisted
    uint16_t r = alloc();
    b->reg = r;
    if (!b->captured) {
      emit_closure(*s.fn, s.fn->name, r, s.loc);
      return;
    }
    // The closure may capture itself: its cell must exist before CLOSURE runs.
    emit(Instr::abc(Op::LOADNIL, r), s.loc);
    emit(Instr::abc(Op::MKCELL, r), s.loc);
    uint16_t t = alloc();
    emit_closure(*s.fn, s.fn->name, t, s.loc);
    emit(Instr::abc(Op::SETCELL, r, t), s.loc);
    fs_->free_reg = uint32_t(r) + 1;
  }

  static Op compound_op(AssignOp op) {
    switch (op) {
      case AssignOp::Add: return Op::ADD;
      case AssignOp::Sub: return Op::SUB;
      case AssignOp::Mul: return Op::MUL;
      case AssignOp::Div: return Op::DIV;
      case AssignOp::IDiv: return Op::IDIV;
      case AssignOp::Mod: return Op::MOD;
      case AssignOp::None: break;
    }
    return Op::MOVE;
  }

  void assign(const Stmt& s) {
    if (!s.target || !s.expr) return;
    const Expr& target = *s.target;
    const Expr& value = *s.expr;
    const bool compound = s.assign_op != AssignOp::None;
    if (target.kind == ExprKind::Name) {
      const Binding* b = res_.use(target);
      if (!b) return;
      if (auto local = plain_local(target)) {
        if (compound)
          arith(compound_op(s.assign_op), *local, *local, value, s.loc);
        else
          expr_into(value, *local);
        // A global a loop holds in a register is stored at every assignment.
        if (b->kind == Binding::Kind::Global) emit(Instr::abx(Op::SETG, *local, b->slot), s.loc);
        return;
      }
      uint16_t r = alloc();
      if (compound) {
        read(b, r, target.loc);
        arith(compound_op(s.assign_op), r, r, value, s.loc);
      } else {
        expr_into(value, r);
      }
      write(b, r, s.loc);
      return;
    }
    if (target.kind == ExprKind::Index) {
      uint16_t obj = expr_reg(*target.a);
      uint16_t index = expr_reg(*target.b);
      uint16_t v;
      if (compound) {
        v = alloc();
        emit(Instr::abc(Op::GETINDEX, v, obj, index), target.loc);
        arith(compound_op(s.assign_op), v, v, value, s.loc);
      } else {
        v = expr_reg(value);
      }
      emit(Instr::abc(Op::SETINDEX, obj, index, v), s.loc);
      return;
    }
    if (target.kind == ExprKind::Field) {
      uint16_t obj = expr_reg(*target.a);
      uint16_t key = uint16_t(string_const(target.str));
      uint16_t v;
      if (compound) {
        v = alloc();
        emit(Instr::abc(Op::GETFIELD, v, obj, key), target.loc);
        arith(compound_op(s.assign_op), v, v, value, s.loc);
      } else {
        v = expr_reg(value);
      }
      emit(Instr::abc(Op::SETFIELD, obj, key, v), s.loc);
    }
  }

  void if_stmt(const Stmt& s) {
    std::vector<int> to_else = false_jumps(s.expr.get());
    block_body(s.body);
    if (!s.else_stmt) {
      patch_all(to_else, here());
      return;
    }
    int to_end = emit_jump(Op::JMP, 0, s.else_stmt->loc);
    patch_all(to_else, here());
    stmt(*s.else_stmt);
    patch(to_end, here());
  }

  // Runs [body] as a loop body with [loop] open for break/continue.
  template <class Body>
  void in_loop(Loop& loop, Body&& body) {
    loop.try_depth = fs_->trys.size();
    fs_->loops.push_back(&loop);
    body();
    fs_->loops.pop_back();
  }

  void while_stmt(const Stmt& s) {
    Loop loop;
    const uint32_t saved = fs_->free_reg;
    std::vector<const Binding*> promotion = promote_globals(s.body, s.expr.get());
    int top = here();
    std::vector<int> exits = false_jumps(s.expr.get());
    in_loop(loop, [&] { block_body(s.body); });
    patch(emit_jump(Op::JMP, 0, s.loc), top);
    patch_all(exits, here());
    patch_all(loop.breaks, here());
    patch_all(loop.continues, top);
    end_promotion(promotion);
    fs_->free_reg = saved;
  }

  // ---- globals held in registers by a loop ----------------------------------------------
  //
  // A loop of top-level code that assigns a `var` of its module keeps it in a register:
  // loaded once before the loop, read from the register, and still stored (SETG) at every
  // assignment, so the binding every other function and task reads stays live (SPEC §6).
  // Only the owner of a module writes its globals, and only script code run by the loop
  // could write one behind the register's back: so the loop may make no call (a native
  // may call back into script) or import, spawn nothing and hold no try or scope (a caught
  // error must find the register and the binding alike; a failed assignment leaves the
  // loop for good). The variable must have been declared by an earlier statement, so the
  // early load never meets it undeclared. A counted loop over a global total costs Lua a
  // register; it cost tsk a store and a load on the loop's one dependency chain.

  static constexpr size_t kMaxPromoted = 8;

  // Whether running [e] can run script code of this task or leave the loop by an error
  // that the loop's own code may catch (see above). Function literals are not run here.
  bool may_run_code(const Expr* e) const {
    if (!e) return false;
    switch (e->kind) {
      case ExprKind::Call:
      case ExprKind::Spawn: return true;
      case ExprKind::Fn: return false;
      default: break;
    }
    if (may_run_code(e->a.get()) || may_run_code(e->b.get()) || may_run_code(e->c.get())) return true;
    for (const auto& item : e->items)
      if (may_run_code(item.get())) return true;
    return false;
  }

  // The same for a statement; collects the globals it assigns into [assigned].
  bool may_run_code(const Stmt& s, std::vector<const Binding*>& assigned) const {
    switch (s.kind) {
      case StmtKind::Try:
      case StmtKind::Scope:
      case StmtKind::Import: return true;
      case StmtKind::Assign:
        if (s.target && s.target->kind == ExprKind::Name)
          if (const Binding* b = res_.use(*s.target); b && b->kind == Binding::Kind::Global)
            assigned.push_back(b);
        break;
      default: break;
    }
    if (may_run_code(s.expr.get()) || may_run_code(s.target.get()) || may_run_code(s.body, assigned))
      return true;
    if (s.else_stmt && may_run_code(*s.else_stmt, assigned)) return true;
    for (const SelectCase& c : s.cases)
      if (may_run_code(c.chan.get()) || may_run_code(c.value.get()) || may_run_code(c.body, assigned))
        return true;
    return false;
  }

  bool may_run_code(const Block& b, std::vector<const Binding*>& assigned) const {
    for (const auto& st : b.stmts)
      if (may_run_code(*st, assigned)) return true;
    return false;
  }

  // Loads into registers the globals that the loop of [body] (and [cond], run on every
  // turn) assigns, when it may hold them there (see above); returns them, for
  // end_promotion once the loop is compiled.
  std::vector<const Binding*> promote_globals(const Block& body, const Expr* cond) {
    std::vector<const Binding*> added;
    if (fs_->fn != nullptr) return added;  // top-level code only: its task owns the module
    std::vector<const Binding*> assigned;
    if (may_run_code(cond) || may_run_code(body, assigned)) return added;
    for (const Binding* b : assigned) {
      // promoted(b): an enclosing loop holds it already, or it is assigned twice here.
      if (promoted(b) || !set_globals_.count(b) || added.size() == kMaxPromoted) continue;
      uint16_t r = alloc();
      emit(Instr::abx(Op::GETG, r, b->slot), top_stmt_loc_);
      fs_->promoted.emplace(b, r);
      added.push_back(b);
    }
    return added;
  }

  void end_promotion(const std::vector<const Binding*>& added) {
    for (const Binding* b : added) fs_->promoted.erase(b);
  }

  void for_stmt(const Stmt& s) {
    if (!s.expr) return;
    const Expr& it = *s.expr;
    Loop loop;
    if (s.names.size() == 1 && it.kind == ExprKind::Binary &&
        (it.binary_op == BinaryOp::Range || it.binary_op == BinaryOp::RangeIncl)) {
      // Integer loop: R[base] counter, R[base+1] stop, R[base+2] the variable.
      uint8_t inclusive = it.binary_op == BinaryOp::RangeIncl;
      uint16_t base = alloc(3);
      expr_into(*it.a, base);
      expr_into(*it.b, uint16_t(base + 1));
      std::vector<const Binding*> promotion = promote_globals(s.body, nullptr);
      int prep = emit(Instr::asbx(Op::FORPREP, base, 0, inclusive), s.loc);
      int body = here();
      in_loop(loop, [&] {
        bind_local(res_.decl(&s, 0), uint16_t(base + 2), s.loc);
        block_body(s.body);
      });
      int next = emit(Instr::asbx(Op::FORLOOP, base, 0, inclusive), s.loc);
      patch(next, body);
      patch(prep, here());
      patch_all(loop.breaks, here());
      patch_all(loop.continues, next);
      end_promotion(promotion);
      return;
    }
    // Generic loop: R[base] the iterable, R[base+1] the cursor, then the variables.
    uint8_t nvars = s.names.size() >= 2 ? 2 : 1;
    uint16_t base = alloc(2);
    expr_into(it, base);
    emit(Instr::abc(Op::ITERPREP, base, 0, 0, nvars == 2 ? 2 : 0), s.loc);
    uint16_t vars = alloc(nvars);
    std::vector<const Binding*> promotion = promote_globals(s.body, nullptr);
    int top = emit(Instr::abc(Op::ITERNEXT, base, vars, 0, nvars), s.loc);
    int exit = emit_jump(Op::JMP, 0, s.loc);
    in_loop(loop, [&] {
      for (uint8_t i = 0; i < nvars && i < s.names.size(); ++i)
        bind_local(res_.decl(&s, i), uint16_t(vars + i), s.loc);
      block_body(s.body);
    });
    patch(emit_jump(Op::JMP, 0, s.loc), top);
    patch(exit, here());
    patch_all(loop.breaks, here());
    patch_all(loop.continues, top);
    end_promotion(promotion);
  }

  // Emits a jump out of the try contexts that [to] crosses, from the innermost out: pops
  // their handlers and ends their scopes, up to the first try with a finally, which takes
  // the jump over (its code register gets the jump's number, a return's value goes into
  // its value register) and carries it on when its finally ends (finish_finally). With
  // no finally in the way, the jump arrives now. [value] holds a return's value (null:
  // nil, or not a return).
  void jump_out(JumpOut to, const uint16_t* value, Loc loc) {
    const size_t depth = to.kind == JumpOut::Return ? 0 : to.loop->try_depth;
    for (size_t i = fs_->trys.size(); i-- > depth;) {
      TryContext* t = fs_->trys[i];
      if (t->handler_active) emit(Instr::abc(Op::ENDTRY, 0), loc);
      if (t->is_scope) {
        end_scope_early(loc);
        continue;
      }
      if (!t->finally_body) continue;
      if (to.kind == JumpOut::Return) {
        if (value)
          emit(Instr::abc(Op::MOVE, t->value, *value), loc);
        else
          emit(Instr::abc(Op::LOADNIL, t->value), loc);
      }
      emit(Instr::asbx(Op::LOADI, t->code, pending_code(*t, to, loc)), loc);
      t->to_finally.push_back(emit_jump(Op::JMP, 0, loc));
      return;
    }
    arrive(to, value, loc);
  }

  // The jump itself, once no try context is left in the way.
  void arrive(JumpOut to, const uint16_t* value, Loc loc) {
    switch (to.kind) {
      case JumpOut::Break: to.loop->breaks.push_back(emit_jump(Op::JMP, 0, loc)); return;
      case JumpOut::Continue: to.loop->continues.push_back(emit_jump(Op::JMP, 0, loc)); return;
      case JumpOut::Return:
        if (value)
          emit(Instr::abc(Op::RET, *value), loc);
        else
          emit(Instr::abc(Op::RETNIL, 0), loc);
        return;
    }
  }

  // The number (1, 2, ...) of [to] among the jump-outs pending at [t]'s finally.
  static int32_t pending_code(TryContext& t, JumpOut to, Loc loc) {
    for (size_t k = 0; k < t.pending.size(); ++k)
      if (t.pending[k] == to) return int32_t(k + 1);
    t.pending.push_back(to);
    t.pending_locs.push_back(loc);
    return int32_t(t.pending.size());
  }

  void return_stmt(const Stmt& s) {
    if (!s.expr) {
      jump_out({JumpOut::Return}, nullptr, s.loc);
      return;
    }
    // A local's own register will do: the first finally on the way copies the value
    // into its `value` register before it runs, so a finally assigning it changes nothing.
    uint16_t r = expr_reg(*s.expr);
    jump_out({JumpOut::Return}, &r, s.loc);
  }

  // try { } catch e { } finally { }, any two of the three:
  //     TRY err -> catch        (TRY code -> finally, without a catch)
  //     body; ENDTRY
  //     [JMP normal]
  //   catch: TRY code -> finally; (e = err) catch body; ENDTRY
  //   normal: LOADI code 0
  //   finally: finally body; ENDFINALLY code n; n entries; [JMP end]; stubs
  void try_stmt(const Stmt& s) {
    if (!s.has_catch && !s.has_finally) {
      block_body(s.body);
      return;
    }
    const Block* finally_body = s.has_finally ? &s.finally_body : nullptr;
    TryContext ctx;
    ctx.finally_body = finally_body;
    ctx.loop_depth = fs_->loops.size();
    uint16_t err = 0;
    if (s.has_catch) err = alloc();
    if (finally_body) {
      ctx.code = alloc();
      ctx.value = alloc();
    }
    int handler = emit_jump(Op::TRY, s.has_catch ? err : ctx.code, s.loc);
    fs_->trys.push_back(&ctx);
    block_body(s.body);
    fs_->trys.pop_back();
    emit(Instr::abc(Op::ENDTRY, 0), end_loc(s.body));

    if (!s.has_catch) {
      emit(Instr::asbx(Op::LOADI, ctx.code, 0), end_loc(s.body));
      ctx.to_finally.push_back(handler);
      finish_finally(s, ctx);
      return;
    }

    int skip_catch = emit_jump(Op::JMP, 0, end_loc(s.body));
    patch(handler, here());
    if (finally_body) {
      // An error inside the catch still runs finally, then propagates.
      ctx.to_finally.push_back(emit_jump(Op::TRY, ctx.code, s.catch_body.loc));
      fs_->trys.push_back(&ctx);
    }
    const uint32_t before_catch = fs_->free_reg;
    if (!s.names.empty()) bind_local(res_.decl(&s, 0), err, s.catch_body.loc);
    block_body(s.catch_body);
    fs_->free_reg = before_catch;
    if (!finally_body) {
      patch(skip_catch, here());
      return;
    }
    fs_->trys.pop_back();
    emit(Instr::abc(Op::ENDTRY, 0), end_loc(s.catch_body));
    patch(skip_catch, here());
    emit(Instr::asbx(Op::LOADI, ctx.code, 0), end_loc(s.catch_body));
    finish_finally(s, ctx);
  }

  // The finally code of [ctx], compiled once where every way into it meets (see the file
  // comment), then its dispatch on the code register and a stub per pending jump-out.
  // Only the trys and loops around the try statement are visible here.
  void finish_finally(const Stmt& s, TryContext& ctx) {
    patch_all(ctx.to_finally, here());
    block_body(s.finally_body);
    const Loc end = end_loc(s.finally_body);
    const size_t n = ctx.pending.size();
    if (n > UINT16_MAX) too_large("more than 65535 ways out of one finally");
    emit(Instr::abc(Op::ENDFINALLY, ctx.code, uint16_t(n)), end);
    if (n == 0) return;
    // An entry is the jump itself when it leaves no further try, else a JMP to its stub.
    auto arrives_here = [&](const JumpOut& to) {
      const size_t depth = to.kind == JumpOut::Return ? 0 : to.loop->try_depth;
      return fs_->trys.size() <= depth;
    };
    std::vector<int> to_stub(n, -1);
    for (size_t k = 0; k < n; ++k) {
      const JumpOut& to = ctx.pending[k];
      if (arrives_here(to))
        arrive(to, to.kind == JumpOut::Return ? &ctx.value : nullptr, ctx.pending_locs[k]);
      else
        to_stub[k] = emit_jump(Op::JMP, 0, ctx.pending_locs[k]);
    }
    if (std::all_of(to_stub.begin(), to_stub.end(), [](int j) { return j < 0; })) return;
    int to_end = emit_jump(Op::JMP, 0, end);
    for (size_t k = 0; k < n; ++k) {
      if (to_stub[k] < 0) continue;
      patch(to_stub[k], here());
      const JumpOut& to = ctx.pending[k];
      jump_out(to, to.kind == JumpOut::Return ? &ctx.value : nullptr, ctx.pending_locs[k]);
    }
    patch(to_end, here());
  }

  // ---- tasks, channels, scopes and select -------------------------------------------------

  // `spawn f(a, b)`: callee and arguments laid out exactly as for CALL.
  void spawn_call(const Expr& e, uint16_t dst) {
    const bool unused = std::exchange(spawn_unused_, false);
    const Expr& c = *e.a;
    const bool reuse = uint32_t(dst) + 1 == fs_->free_reg && dst >= stmt_base_;
    uint16_t base = reuse ? dst : alloc();
    expr_into(*c.a, base);
    for (const auto& arg : c.items) expr_into(*arg, alloc());
    emit(Instr::abc(Op::SPAWN, base, uint16_t(c.items.size()), unused), e.loc);
    if (base != dst) emit(Instr::abc(Op::MOVE, dst, base), e.loc);
  }

  // `spawn { }`: CLOSURE of the block, then the copied variables' current values as its
  // arguments. The block's proto captures nothing: every variable of enclosing code it
  // uses arrives as a parameter.
  void spawn_block(const Expr& e, uint16_t dst) {
    const bool unused = std::exchange(spawn_unused_, false);
    const Function& f = *e.fn;
    const std::vector<SpawnCapture>& copies = res_.spawn_copies(f);
    const bool reuse = uint32_t(dst) + 1 == fs_->free_reg && dst >= stmt_base_;
    uint16_t base = reuse ? dst : alloc();
    FuncState* outer = fs_;
    vm::Proto* p = compile_function(outer, &f, "<spawn>", f.loc, [&] {
      const uint32_t nparams = uint32_t(copies.size());
      if (nparams > kMaxRegisters) too_large("more than 65000 registers");
      fs_->proto->nparams = uint16_t(nparams);
      fs_->free_reg = fs_->max_reg = nparams;
      for (uint32_t i = 0; i < nparams; ++i) {
        Binding* param = copies[i].inner;
        param->reg = uint16_t(i);
        if (param->captured) emit(Instr::abc(Op::MKCELL, param->reg), f.loc);
      }
      block_body(f.body);
      emit(Instr::abc(Op::RETNIL, 0), end_loc(f.body));
    });
    uint32_t index = uint32_t(outer->proto->protos.size());
    outer->proto->protos.push_back(p);
    emit(Instr::abx(Op::CLOSURE, base, index), e.loc);
    for (const SpawnCapture& c : copies) read(c.outer, alloc(), e.loc);
    emit(Instr::abc(Op::SPAWN, base, uint16_t(copies.size()), unused), e.loc);
    if (base != dst) emit(Instr::abc(Op::MOVE, dst, base), e.loc);
  }

  // `ch <- v`
  void send_stmt(const Stmt& s) {
    if (!s.target || !s.expr) return;
    uint16_t ch = expr_reg(*s.target);
    uint16_t v = expr_reg(*s.expr);
    emit(Instr::abc(Op::SEND, ch, v), s.loc);
  }

  // SCOPEBEGIN; TRY -> end; body; ENDTRY; LOADNIL err; end: SCOPEEND err.
  void scope_stmt(const Stmt& s) {
    emit(Instr::abc(Op::SCOPEBEGIN, 0), s.loc);
    uint16_t err = alloc();
    int handler = emit_jump(Op::TRY, err, s.loc);
    TryContext ctx;
    ctx.loop_depth = fs_->loops.size();
    ctx.is_scope = true;
    fs_->trys.push_back(&ctx);
    block_body(s.body);
    fs_->trys.pop_back();
    const Loc end = end_loc(s.body);
    emit(Instr::abc(Op::ENDTRY, 0), end);
    emit(Instr::abc(Op::LOADNIL, err), end);
    patch(handler, here());
    emit(Instr::abc(Op::SCOPEEND, err), end);
  }

  // A jump out of a scope body, after its handler is popped: end the scope on the way.
  void end_scope_early(Loc loc) {
    const uint32_t saved = fs_->free_reg;
    uint16_t none = alloc();
    emit(Instr::abc(Op::LOADNIL, none), loc);
    emit(Instr::abc(Op::SCOPEEND, none), loc);
    fs_->free_reg = saved;
  }

  // Channel/value pairs in R[pairs + 2i], R[pairs + 2i + 1] for the non-default cases in
  // source order; SELECT and its send mask, 32 cases to an EXTRAARG (at least one, so any
  // number of cases fits); then a chain of tests on the chosen index. The last body needs
  // no test: the default when there is one (index -1), else the last case.
  void select_stmt(const Stmt& s) {
    std::vector<const SelectCase*> cases;
    const SelectCase* fallback = nullptr;
    for (const SelectCase& c : s.cases) {
      if (c.kind == SelectCase::Default)
        fallback = &c;
      else
        cases.push_back(&c);
    }
    std::vector<uint32_t> send_mask(vm::select_mask_words(cases.size()), 0);
    uint16_t pairs = uint16_t(fs_->free_reg);
    for (size_t i = 0; i < cases.size(); ++i) {
      const SelectCase& c = *cases[i];
      uint16_t ch = alloc(), value = alloc();
      if (c.chan) expr_into(*c.chan, ch);
      if (c.kind == SelectCase::Send && c.value) {
        send_mask[i / 32] |= uint32_t(1) << (i % 32);
        expr_into(*c.value, value);
      } else {
        emit(Instr::abc(Op::LOADNIL, value), c.loc);
      }
    }
    const bool has_default = fallback != nullptr;
    uint16_t chosen = alloc(2);
    emit(Instr::abc(Op::SELECT, chosen, pairs, uint16_t(cases.size()), has_default), s.loc);
    for (uint32_t word : send_mask) emit(Instr::abx(Op::EXTRAARG, 0, word), s.loc);
    if (!has_default && !cases.empty()) {
      fallback = cases.back();
      cases.pop_back();
    }
    std::vector<int> to_end;
    for (size_t i = 0; i < cases.size(); ++i) {
      const SelectCase& c = *cases[i];
      uint16_t test = alloc();
      emit(Instr::asbx(Op::LOADI, test, int32_t(i)), c.loc);
      emit(Instr::abc(Op::EQ, test, chosen, test), c.loc);
      int next = emit_jump(Op::JMPIFNOT, test, c.loc);
      fs_->free_reg = test;
      select_body(c, chosen);
      to_end.push_back(emit_jump(Op::JMP, 0, end_loc(c.body)));
      patch(next, here());
    }
    if (fallback) select_body(*fallback, chosen);
    patch_all(to_end, here());
  }

  void select_body(const SelectCase& c, uint16_t chosen) {
    const uint32_t saved = fs_->free_reg;
    if (c.kind == SelectCase::Recv && !c.bind.empty())
      bind_local(res_.decl(&c, 0), uint16_t(chosen + 1), c.bind_loc);
    block_body(c.body);
    fs_->free_reg = saved;
  }

  const CompileInput& in_;
  Resolution& res_;
  FuncState* fs_ = nullptr;
  // free_reg at the start of the current statement: registers below it hold locals.
  uint32_t stmt_base_ = 0;
  // The module's `var`s declared by a top-level statement compiled so far.
  std::unordered_set<const Binding*> set_globals_;
  // The expression being compiled is a statement's spawn, whose handle nobody reads.
  bool spawn_unused_ = false;
  // The top-level statement being compiled, where "top-level code too large" points.
  Loc top_stmt_loc_{1, 1};
};

}  // namespace

CompileResult compile(const CompileInput& input) {
  CompileResult result;
  Resolution res = resolve(input);
  result.globals = res.globals;
  if (!res.errors.empty()) {
    result.errors = std::move(res.errors);
    return result;
  }
  const size_t protos_mark = input.protos->size();
  try {
    result.main = Codegen(input, res).compile_main();
  } catch (const TooLarge&) {
    input.protos->resize(protos_mark);
    result.main = nullptr;
  }
  result.errors = std::move(res.errors);
  return result;
}

}  // namespace tsk::lang
