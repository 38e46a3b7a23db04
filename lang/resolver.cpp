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
#include "lang/resolver.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace tsk::lang {
namespace {

// Builtins of SPEC §11 that only exist once the concurrency runtime does.
constexpr std::array<std::string_view, 7> kConcurrencyBuiltins = {
    "chan", "close", "cancel", "sleep", "after", "yield", "task_id"};

std::string not_supported(std::string_view what) {
  return "'" + std::string(what) +
         "' is not supported yet: tasks and channels come with the concurrency runtime";
}

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
      auto prior = std::find_if(out_.globals.begin(), out_.globals.end(),
                                [&](const vm::Module::Global& p) { return p.name == name; });
      if (prior != out_.globals.end()) {
        slot = uint32_t(prior - out_.globals.begin());
        *prior = g;  // the REPL redeclares: the new declaration decides the flags
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
    for (auto scope = scopes_.rbegin(); scope != scopes_.rend(); ++scope) {
      for (auto it = scope->names.rbegin(); it != scope->names.rend(); ++it) {
        Binding* b = *it;
        if (b->name != name) continue;
        if (b->owner != fn_) b->captured = true;
        return b;
      }
    }
    if (auto g = globals_.find(name); g != globals_.end()) return g->second;
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
    if (std::find(kConcurrencyBuiltins.begin(), kConcurrencyBuiltins.end(), name) !=
        kConcurrencyBuiltins.end())
      error(loc, not_supported(name));
    else
      error(loc, "undefined name '" + name + "'");
  }

  struct ScopeGuard {
    Resolver& r;
    explicit ScopeGuard(Resolver& r) : r(r) { r.scopes_.emplace_back(); }
    ~ScopeGuard() { r.scopes_.pop_back(); }
  };

  void block(const Block& b) {
    ScopeGuard scope(*this);
    for (const auto& s : b.stmts) stmt(*s);
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

  // ---- statements ------------------------------------------------------------------------

  void stmt(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::Expr:
        if (s.expr) expr(*s.expr);
        break;
      case StmtKind::Let:
      case StmtKind::Var: {
        if (s.expr) expr(*s.expr);
        if (s.names.empty()) break;
        if (at_top_level()) {
          declare_top(s, s.names[0], name_loc(s, 0));
        } else {
          declare_local(s.names[0], name_loc(s, 0),
                        s.kind == StmtKind::Let ? Binding::Decl::Let : Binding::Decl::Var,
                        {&s, 0});
        }
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
        error(s.loc, not_supported("<-"));
        break;
      case StmtKind::Scope:
        error(s.loc, not_supported("scope"));
        break;
      case StmtKind::Select:
        error(s.loc, not_supported("select"));
        break;
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
        if (e.unary_op == UnaryOp::Recv) {
          error(e.loc, not_supported("<-"));
          break;
        }
        if (e.a) expr(*e.a);
        break;
      case ExprKind::Call:
        if (e.a) expr(*e.a);
        for (const auto& item : e.items)
          if (item) expr(*item);
        break;
      case ExprKind::Binary:
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
        error(e.loc, not_supported("spawn"));
        break;
      case ExprKind::Await:
        error(e.loc, not_supported("await"));
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
};

}  // namespace

Resolution resolve(const CompileInput& input) {
  Resolution out;
  Resolver(input, out).run();
  return out;
}

}  // namespace tsk::lang
