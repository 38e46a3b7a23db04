// Name resolution: the first pass of the compiler (lang/compiler.cpp). It walks the AST
// once, in source order, with the scope rules of SPEC §4, and decides what every name
// refers to; the code generator then only decides *where* each binding lives.
//
// Invariants of a successful Resolution (no errors):
//  - every Name expression, and every Name target of an assignment, is in `uses`;
//  - every declaration site that binds a name (not `_`) is in `decls`;
//  - a Local binding is `captured` iff some function other than its owner uses it, so
//    the code generator can box it in a Cell (MKCELL) right at its declaration;
//  - assignments only target mutable bindings.
// The resolver reports every compile-time error of the language (undefined names,
// assignment to a let, redeclaration, break/continue/return misplaced, constructs that
// are not supported yet); code generation adds only "function too large".
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

  bool assignable() const {
    return decl == Decl::Var || decl == Decl::Param || decl == Decl::For ||
           decl == Decl::Catch;
  }
};

// A declaration site: the node that declares and which of its names (a Stmt's names[i],
// or a Function's params[i]; index 0 for a FnDecl's own name).
using DeclKey = std::pair<const void*, int>;

struct Resolution {
  std::deque<Binding> bindings;  // a deque: Binding* stay valid as it grows
  std::unordered_map<const Expr*, Binding*> uses;
  std::map<DeclKey, Binding*> decls;
  std::vector<vm::Module::Global> globals;  // prior_globals, then this module's new ones
  std::vector<Diagnostic> errors;           // in source order

  Binding* decl(const void* node, int index) const {
    auto it = decls.find({node, index});
    return it == decls.end() ? nullptr : it->second;
  }
  Binding* use(const Expr& e) const {
    auto it = uses.find(&e);
    return it == uses.end() ? nullptr : it->second;
  }
};

Resolution resolve(const CompileInput& input);

}  // namespace tsk::lang
