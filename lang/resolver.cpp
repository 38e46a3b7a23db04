// Name resolution (see lang/resolver.hpp for the contract): one walk over the AST in
// source order with a stack of block scopes.
//
// Lookup order for a name: the locals of the enclosing blocks, innermost first, across
// function boundaries (declared textually before the use); then the module's top-level
// bindings (wherever in the file they are declared: GETG checks at run time that the
// declaration has run); then the builtins. Top-level bindings are never captured: every
// function reaches them through G slots, so they need no cells.
//
// Parameters and `for`/`catch` variables live in a scope of their own around the body
// block, so a body may shadow them (`fn f(x) { let x = x + 1 }`): rejecting that would
// refuse programs the spec does not forbid.
//
// A `spawn { }` block is resolved as a function whose parameters are made on demand: the
// first time the block (or a closure inside it) names a variable of enclosing code -- a
// local outside the block or a top-level let/var -- lookup adds a parameter to the
// block's parameter scope, records the pair in `spawn_captures`, and answers with the
// parameter. Nested spawn blocks chain the copies outermost first, so each block copies
// from the one around it. Top-level fns, imports and builtins are read as usual: they are
// immutable, so copying them would change nothing.
#include "lang/resolver.hpp"

#include <algorithm>
#include <string_view>

namespace tsk::lang {
namespace {

Loc name_loc(const Stmt& s, size_t i) {
  return i < s.name_locs.size() ? s.name_locs[i] : s.loc;
}

class Resolver {
 public:
  Resolver(const CompileInput& input, Resolution& out) : in_(input), out_(out) {}

  void run() {
    declare_globals();
    for (const auto& s : in_.module->body.stmts) stmt(*s);
    std::stable_sort(out_.errors.begin(), out_.errors.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                       return a.loc.line != b.loc.line ? a.loc.line < b.loc.line
                                                       : a.loc.col < b.loc.col;
                     });
  }

 private:
  struct Scope {
    std::vector<Binding*> names;
  };

  void error(Loc loc, std::string message) {
    out_.errors.push_back({in_.module->file, loc, std::move(message)});
  }

  Binding* make(Binding::Kind kind, Binding::Decl decl, const std::string& name) {
    Binding& b = out_.bindings.emplace_back();
    b.kind = kind;
    b.decl = decl;
    b.name = name;
    b.owner = fn_;
    return &b;
  }

  // ---- top-level bindings ------------------------------------------------------------

  // Top-level let/var/fn/import become globals before the walk, so that functions can
  // use bindings declared later in the file. The REPL's prior globals keep their slots.
  void declare_globals() {
    out_.globals = in_.prior_globals;
    // By name, so a module with many top-level bindings resolves in linear time.
    std::unordered_map<std::string_view, uint32_t> prior_slot;
    for (size_t i = 0; i < in_.prior_globals.size(); ++i)
      prior_slot.emplace(in_.prior_globals[i].name, uint32_t(i));
    for (const auto& sp : in_.module->body.stmts) {
      const Stmt& s = *sp;
      std::string name;
      Binding::Decl decl;
      switch (s.kind) {
        case StmtKind::Let: decl = Binding::Decl::Let; break;
        case StmtKind::Var: decl = Binding::Decl::Var; break;
        case StmtKind::Import: decl = Binding::Decl::Import; break;
        case StmtKind::FnDecl: decl = Binding::Decl::Fn; break;
        default: continue;
      }
      if (s.kind == StmtKind::FnDecl) {
        if (!s.fn) continue;
        name = s.fn->name;
      } else {
        if (s.names.empty()) continue;
        name = s.names[0];
      }
      if (name.empty() || name == "_") continue;
      if (globals_.count(name)) {
        duplicate_globals_.push_back(&s);  // reported when the walk reaches it
        continue;
      }
      vm::Module::Global g{name, decl == Binding::Decl::Let || decl == Binding::Decl::Fn,
                           decl == Binding::Decl::Var};
      uint32_t slot = 0;
      if (auto prior = prior_slot.find(name); prior != prior_slot.end()) {
        slot = prior->second;
        out_.globals[slot] = g;  // the REPL redeclares: the new declaration decides the flags
      } else {
        slot = uint32_t(out_.globals.size());
        out_.globals.push_back(g);
      }
      Binding* b = make(Binding::Kind::Global, decl, name);
      b->slot = slot;
      globals_[name] = b;
      out_.decls[{&s, 0}] = b;
    }
    for (size_t i = 0; i < in_.prior_globals.size(); ++i) {
      const auto& p = in_.prior_globals[i];
      if (globals_.count(p.name)) continue;
      Binding* b = make(Binding::Kind::Global,
                        p.mutable_ ? Binding::Decl::Var : Binding::Decl::Let, p.name);
      b->slot = uint32_t(i);
      globals_[p.name] = b;
    }
  }

  bool at_top_level() const { return fn_ == nullptr && scopes_.empty(); }

  // A top-level declaration statement: its binding exists already; only a second
  // declaration of the same name is an error.
  void declare_top(const Stmt& s, const std::string& name, Loc loc) {
    if (name.empty() || name == "_") return;
    if (std::find(duplicate_globals_.begin(), duplicate_globals_.end(), &s) !=
        duplicate_globals_.end())
      error(loc, "'" + name + "' is already declared in this block");
  }

  // ---- local scopes --------------------------------------------------------------------

  Binding* declare_local(const std::string& name, Loc loc, Binding::Decl decl,
                         DeclKey key) {
    if (name.empty() || name == "_") return nullptr;
    Scope& scope = scopes_.back();
    for (Binding* b : scope.names) {
      if (b->name == name) {
        error(loc, "'" + name + "' is already declared in this block");
        return nullptr;
      }
    }
    Binding* b = make(Binding::Kind::Local, decl, name);
    scope.names.push_back(b);
    out_.decls[key] = b;
    return b;
  }

  Binding* lookup(const std::string& name) {
    for (size_t depth = scopes_.size(); depth-- > 0;) {
      const auto& names = scopes_[depth].names;
      for (auto it = names.rbegin(); it != names.rend(); ++it) {
        Binding* b = *it;
        if (b->name != name) continue;
        b = through_spawn_blocks(b, int(depth));
        if (b->owner != fn_) b->captured = true;
        return b;
      }
    }
    if (auto g = globals_.find(name); g != globals_.end()) {
      Binding* b = through_spawn_blocks(g->second, -1);
      if (b->kind == Binding::Kind::Local && b->owner != fn_) b->captured = true;
      return b;
    }
    if (auto bi = builtins_.find(name); bi != builtins_.end()) return bi->second;
    int index = in_.builtin_index ? in_.builtin_index(name) : -1;
    if (index < 0) return nullptr;
    Binding* b = make(Binding::Kind::Builtin, Binding::Decl::Builtin, name);
    b->owner = nullptr;
    b->slot = uint32_t(index);
    builtins_[name] = b;
    return b;
  }

  void undefined(const std::string& name, Loc loc) {
    error(loc, "undefined name '" + name + "'");
  }

  struct ScopeGuard {
    Resolver& r;
    explicit ScopeGuard(Resolver& r) : r(r) { r.scopes_.emplace_back(); }
    ~ScopeGuard() { r.scopes_.pop_back(); }
  };

  // (A block is never the top level, whose fns are all globals declared in advance.)
  void block(const Block& b) {
    ScopeGuard scope(*this);
    for (size_t i = 0; i < b.stmts.size();) {
      const size_t end = fn_group_end(b, i);
      if (end - i < 2) {
        stmt(*b.stmts[i++]);
        continue;
      }
      // A group of adjacent local fns: all names first, so each body sees all of them.
      for (size_t j = i; j < end; ++j)
        declare_local(b.stmts[j]->fn->name, b.stmts[j]->fn->loc, Binding::Decl::Fn,
                      {b.stmts[j].get(), 0});
      for (; i < end; ++i) function(*b.stmts[i]->fn);
    }
  }

  // ---- functions -------------------------------------------------------------------------

  void function(const Function& f) {
    const Function* saved_fn = fn_;
    int saved_loops = loop_depth_;
    fn_ = &f;
    loop_depth_ = 0;
    {
      ScopeGuard params(*this);
      for (size_t i = 0; i < f.params.size(); ++i) {
        Loc loc = i < f.param_locs.size() ? f.param_locs[i] : f.loc;
        declare_local(f.params[i], loc, Binding::Decl::Param, {&f, int(i)});
      }
      block(f.body);
    }
    fn_ = saved_fn;
    loop_depth_ = saved_loops;
  }

  // ---- spawn blocks ----------------------------------------------------------------------

  // A spawn block being resolved: [param_depth] is the index in scopes_ of its parameter
  // scope, so a binding found in a shallower scope belongs to enclosing code.
  struct SpawnFrame {
    const Function* fn;
    const Function* spawner;  // the function whose code runs the spawn (nullptr: <main>)
    size_t param_depth;
    std::vector<SpawnCapture>* copies;
  };

  void spawn_block(const Function& f) {
    const Function* saved_fn = fn_;
    int saved_loops = loop_depth_;
    spawns_.push_back({&f, fn_, scopes_.size(), &out_.spawn_captures[&f]});
    fn_ = &f;
    loop_depth_ = 0;  // break/continue cannot leave the task; return sets its result
    {
      ScopeGuard params(*this);  // filled by lookup as the block names enclosing variables
      block(f.body);
    }
    spawns_.pop_back();
    fn_ = saved_fn;
    loop_depth_ = saved_loops;
  }

  static bool copied_into_tasks(const Binding* b) {
    if (b->kind == Binding::Kind::Local) return true;
    return b->kind == Binding::Kind::Global &&
           (b->decl == Binding::Decl::Let || b->decl == Binding::Decl::Var);
  }

  // [b], found at scope index [depth] (-1: a top-level binding), as seen from the
  // innermost open spawn block: replaced by a block parameter for every spawn block
  // opened inside its scope, outermost first.
  Binding* through_spawn_blocks(Binding* b, int depth) {
    if (!copied_into_tasks(b)) return b;
    for (SpawnFrame& frame : spawns_) {
      if (int(frame.param_depth) <= depth) continue;  // declared inside this block
      b = spawn_param(frame, b);
      depth = int(frame.param_depth);
    }
    return b;
  }

  Binding* spawn_param(SpawnFrame& frame, Binding* outer) {
    for (const SpawnCapture& c : *frame.copies)
      if (c.outer == outer) return c.inner;
    // The spawn site reads [outer]; from inside a closure that needs a cell.
    if (outer->kind == Binding::Kind::Local && outer->owner != frame.spawner)
      outer->captured = true;
    Binding* inner = make(Binding::Kind::Local, outer->decl, outer->name);
    inner->owner = frame.fn;
    inner->spawn_copy = true;
    scopes_[frame.param_depth].names.push_back(inner);
    frame.copies->push_back({outer, inner});
    return inner;
  }

  // ---- statements ------------------------------------------------------------------------

  void stmt(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::Expr:
        if (s.expr) expr(*s.expr);
        break;
      case StmtKind::Let:
      case StmtKind::Var: {
        const auto decl = s.kind == StmtKind::Let ? Binding::Decl::Let : Binding::Decl::Var;
        // A local bound to a fn literal is in scope inside it, so that the function can
        // call itself (`let fact = fn(n) { ... fact(n - 1) }`), as at top level, as a
        // local `fn fact` can, and as Python users expect. The literal only makes a
        // closure, so nothing can read the binding before it is set.
        if (!at_top_level() && !s.names.empty() && s.expr && s.expr->kind == ExprKind::Fn) {
          declare_local(s.names[0], name_loc(s, 0), decl, {&s, 0});
          expr(*s.expr);
          break;
        }
        if (s.expr) expr(*s.expr);
        if (s.names.empty()) break;
        if (at_top_level())
          declare_top(s, s.names[0], name_loc(s, 0));
        else
          declare_local(s.names[0], name_loc(s, 0), decl, {&s, 0});
        break;
      }
      case StmtKind::Import:
        if (s.names.empty()) break;
        if (at_top_level())
          declare_top(s, s.names[0], name_loc(s, 0));
        else
          declare_local(s.names[0], name_loc(s, 0), Binding::Decl::Import, {&s, 0});
        break;
      case StmtKind::FnDecl:
        if (!s.fn) break;
        if (at_top_level()) {
          declare_top(s, s.fn->name, s.fn->loc);
        } else {
          // Declared before its body so that it can call itself.
          declare_local(s.fn->name, s.fn->loc, Binding::Decl::Fn, {&s, 0});
        }
        function(*s.fn);
        break;
      case StmtKind::Assign:
        if (s.target) assign_target(*s.target);
        if (s.expr) expr(*s.expr);
        break;
      case StmtKind::If:
        if (s.expr) expr(*s.expr);
        block(s.body);
        if (s.else_stmt) stmt(*s.else_stmt);
        break;
      case StmtKind::While:
        if (s.expr) expr(*s.expr);
        ++loop_depth_;
        block(s.body);
        --loop_depth_;
        break;
      case StmtKind::For: {
        if (s.expr) expr(*s.expr);
        ScopeGuard vars(*this);
        for (size_t i = 0; i < s.names.size(); ++i)
          declare_local(s.names[i], name_loc(s, i), Binding::Decl::For, {&s, int(i)});
        ++loop_depth_;
        block(s.body);
        --loop_depth_;
        break;
      }
      case StmtKind::Break:
      case StmtKind::Continue:
        if (loop_depth_ == 0)
          error(s.loc, std::string(s.kind == StmtKind::Break ? "'break'" : "'continue'") +
                           " outside a loop");
        break;
      case StmtKind::Return:
        if (fn_ == nullptr) error(s.loc, "return outside a function");
        if (s.expr) expr(*s.expr);
        break;
      case StmtKind::Block:
        block(s.body);
        break;
      case StmtKind::Throw:
        if (s.expr) expr(*s.expr);
        break;
      case StmtKind::Try:
        block(s.body);
        if (s.has_catch) {
          ScopeGuard var(*this);
          if (!s.names.empty())
            declare_local(s.names[0], name_loc(s, 0), Binding::Decl::Catch, {&s, 0});
          block(s.catch_body);
        }
        if (s.has_finally) block(s.finally_body);
        break;
      case StmtKind::Send:
        if (s.target) expr(*s.target);
        if (s.expr) expr(*s.expr);
        break;
      case StmtKind::Scope:
        block(s.body);
        break;
      case StmtKind::Select:
        select_stmt(s);
        break;
    }
  }

  // Every case's channel and value expressions are evaluated on entry, in order, before
  // any body; `case v = <-ch` declares v in a scope around that case's block only.
  void select_stmt(const Stmt& s) {
    for (const SelectCase& c : s.cases) {
      if (c.kind == SelectCase::Default) continue;
      if (c.chan) expr(*c.chan);
      if (c.value) expr(*c.value);
    }
    for (const SelectCase& c : s.cases) {
      ScopeGuard bound(*this);
      if (c.kind == SelectCase::Recv && !c.bind.empty())
        declare_local(c.bind, c.bind_loc, Binding::Decl::Var, {&c, 0});
      block(c.body);
    }
  }

  void assign_target(const Expr& t) {
    if (t.kind != ExprKind::Name) {
      expr(t);  // Index / Field: object and index are ordinary reads
      return;
    }
    Binding* b = lookup(t.str);
    if (!b) {
      undefined(t.str, t.loc);
      return;
    }
    out_.uses[&t] = b;
    if (b->spawn_copy) {
      error(t.loc, "cannot assign to '" + t.str +
                       "': tasks do not share variables; send the value on a channel");
      return;
    }
    if (b->assignable()) return;
    const std::string q = "cannot assign to '" + t.str + "': ";
    switch (b->decl) {
      case Binding::Decl::Fn: error(t.loc, q + "it is a function declared with fn"); break;
      case Binding::Decl::Import: error(t.loc, q + "it is an imported module"); break;
      case Binding::Decl::Builtin: error(t.loc, q + "it is a builtin"); break;
      default: error(t.loc, q + "it is declared with let"); break;
    }
  }

  // ---- expressions -----------------------------------------------------------------------

  void expr(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Nil:
      case ExprKind::True:
      case ExprKind::False:
      case ExprKind::Int:
      case ExprKind::Float:
      case ExprKind::String:
        break;
      case ExprKind::Name: {
        Binding* b = lookup(e.str);
        if (b)
          out_.uses[&e] = b;
        else
          undefined(e.str, e.loc);
        break;
      }
      case ExprKind::Interp:
      case ExprKind::List:
      case ExprKind::Map:
        for (const auto& item : e.items)
          if (item) expr(*item);
        break;
      case ExprKind::Unary:
        if (e.a) expr(*e.a);
        break;
      case ExprKind::Call:
        if (e.a) expr(*e.a);
        for (const auto& item : e.items)
          if (item) expr(*item);
        break;
      case ExprKind::Binary: {
        // The left spine of a chain (a + b + c ...) in a loop, never by recursion
        // (lang/parse_tree.hpp): the leftmost operand, then the right ones bottom-up, in
        // evaluation order.
        if (!e.a || e.a->kind != ExprKind::Binary) {
          if (e.a) expr(*e.a);
          if (e.b) expr(*e.b);
          break;
        }
        std::vector<const Expr*> spine;
        const Expr* x = &e;
        for (; x->kind == ExprKind::Binary && x->a; x = x->a.get()) spine.push_back(x);
        expr(*x);
        for (auto it = spine.rbegin(); it != spine.rend(); ++it)
          if ((*it)->b) expr(*(*it)->b);
        break;
      }
      case ExprKind::Index:
      case ExprKind::Slice:
      case ExprKind::Field:
        if (e.a) expr(*e.a);
        if (e.b) expr(*e.b);
        if (e.c) expr(*e.c);
        break;
      case ExprKind::Fn:
        if (e.fn) function(*e.fn);
        break;
      case ExprKind::Spawn:
        if (e.fn)
          spawn_block(*e.fn);
        else if (e.a && e.a->kind == ExprKind::Call)
          expr(*e.a);
        else
          error(e.loc, "spawn takes a call or a block");
        break;
      case ExprKind::Await:
        if (e.a) expr(*e.a);
        break;
    }
  }

  const CompileInput& in_;
  Resolution& out_;
  std::vector<Scope> scopes_;
  const Function* fn_ = nullptr;  // the function being resolved; nullptr for <main>
  int loop_depth_ = 0;            // loops enclosing this point within fn_
  std::unordered_map<std::string, Binding*> globals_;
  std::unordered_map<std::string, Binding*> builtins_;
  std::vector<const Stmt*> duplicate_globals_;
  std::vector<SpawnFrame> spawns_;  // the spawn blocks enclosing this point, outermost first
};

}  // namespace

Resolution resolve(const CompileInput& input) {
  Resolution out;
  Resolver(input, out).run();
  return out;
}

}  // namespace tsk::lang
