// Name resolution: the first pass of the compiler (lang/compiler.cpp). It walks the AST
// once, in source order, with the scope rules of SPEC §4, and decides what every name
// refers to; the code generator then only decides *where* each binding lives.
//
// Invariants of a successful Resolution (no errors):
//  - every Name expression, and every Name target of an assignment, is in `uses`;
//  - every declaration site that binds a name (not `_`) is in `decls`;
//  - a Local binding is `captured` iff some function other than its owner uses it, so
//    the code generator can box it in a Cell (MKCELL) right at its declaration;
//  - assignments only target mutable bindings, and never a spawn block's copy of a
//    variable of enclosing code;
//  - a `spawn { }` block's Function has an entry in `spawn_captures` listing, in order of
//    first use, every variable of enclosing code it reads: the block is compiled as a
//    function taking those copies as its parameters (SPEC §6: tasks share no variables).
// The resolver reports every compile-time error of the language (undefined names,
// assignment to a let or to a spawn block's copy, redeclaration, break/continue/return
// misplaced, spawn of a non-call, select with too many cases); code generation adds only
// "function too large".
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lang/compiler.hpp"

namespace tsk::lang {

struct Binding {
  enum class Kind : uint8_t { Local, Global, Builtin };
  // How the name was declared; decides whether it may be assigned.
  enum class Decl : uint8_t { Let, Var, Fn, Import, Param, For, Catch, Builtin };

  Kind kind;
  Decl decl;
  std::string name;
  // Local: the function whose frame holds it (nullptr for <main>).
  const Function* owner = nullptr;
  // Local: used by a function other than its owner, so it lives in a Cell.
  bool captured = false;
  // Global: the G slot; Builtin: the builtin number.
  uint32_t slot = 0;
  // Local: its register, set by the code generator when it compiles the declaration.
  uint16_t reg = 0;
  // Local: a parameter of a `spawn { }` block holding the copy of a variable of enclosing
  // code made at the spawn; assigning it is an error (the task could never publish it).
  bool spawn_copy = false;

  bool assignable() const {
    return decl == Decl::Var || decl == Decl::Param || decl == Decl::For ||
           decl == Decl::Catch;
  }
};

// A declaration site: the node that declares and which of its names (a Stmt's names[i],
// or a Function's params[i]; index 0 for a FnDecl's own name).
using DeclKey = std::pair<const void*, int>;

// One variable a spawn block copies: [outer] is the binding as the spawning code sees it
// (read at the spawn site), [inner] the block's parameter that receives the copy.
struct SpawnCapture {
  Binding* outer;
  Binding* inner;
};

struct Resolution {
  std::deque<Binding> bindings;  // a deque: Binding* stay valid as it grows
  std::unordered_map<const Expr*, Binding*> uses;
  std::map<DeclKey, Binding*> decls;
  std::vector<vm::Module::Global> globals;  // prior_globals, then this module's new ones
  std::vector<Diagnostic> errors;           // in source order
  // Every spawn block's copied variables, in parameter order (absent: it copies none).
  std::unordered_map<const Function*, std::vector<SpawnCapture>> spawn_captures;

  Binding* decl(const void* node, int index) const {
    auto it = decls.find({node, index});
    return it == decls.end() ? nullptr : it->second;
  }
  const std::vector<SpawnCapture>& spawn_copies(const Function& f) const {
    static const std::vector<SpawnCapture> kNone;
    auto it = spawn_captures.find(&f);
    return it == spawn_captures.end() ? kNone : it->second;
  }
  Binding* use(const Expr& e) const {
    auto it = uses.find(&e);
    return it == uses.end() ? nullptr : it->second;
  }
};

Resolution resolve(const CompileInput& input);

// Local fn declarations that follow each other in a block form a group whose functions
// see each other (mutual recursion, as top-level fns have). Returns the end of the group
// that starts at stmts[i]: i itself when stmts[i] is not a fn declaration.
inline size_t fn_group_end(const Block& b, size_t i) {
  while (i < b.stmts.size() && b.stmts[i]->kind == StmtKind::FnDecl && b.stmts[i]->fn) ++i;
  return i;
}

}  // namespace tsk::lang
