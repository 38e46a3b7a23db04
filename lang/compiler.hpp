// The compiler: a resolved AST to register bytecode (vm/opcodes.hpp). It also does name
// resolution and reports the compile-time errors of SPEC §4 and §6: undefined names,
// assignment to a `let`, redeclaration in one block, assignment inside `spawn` to a
// variable of enclosing code, `break`/`continue` outside a loop, `return` at top level.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lang/ast.hpp"
#include "lang/diagnostic.hpp"
#include "vm/heap.hpp"
#include "vm/proto.hpp"
#include "vm/value.hpp"

namespace tsk::lang {

struct CompileInput {
  const Module* module;
  // Allocates string constants (kShared objects that live as long as the runtime).
  vm::Heap* shared;
  // Receives every Proto made; the runtime keeps them alive.
  std::vector<std::unique_ptr<vm::Proto>>* protos;
  // Resolves a free name to a builtin number (for BUILTIN), or -1 if there is none.
  std::function<int(std::string_view)> builtin_index;
  // Globals that already exist in the module being extended (the REPL compiles each
  // line into the same module). New top-level bindings are appended after them.
  std::vector<vm::Module::Global> prior_globals;
  // REPL: an expression statement at top level returns its value (when it is the last
  // statement) instead of discarding it.
  bool return_last_expression = false;
};

struct CompileResult {
  vm::Proto* main = nullptr;                 // the module body, named "<main>"; null on error
  std::vector<vm::Module::Global> globals;   // prior_globals followed by the new ones
  std::vector<Diagnostic> errors;
};

CompileResult compile(const CompileInput& input);

// The disassembly of a proto and its nested protos, one instruction a line:
//   "<main> (file.tsk:1:1) params=0 regs=3\n  0001  [1:1]  LOADI  A=0 sBx=5\n ...".
// The golden disassembly tests compare this text.
std::string disassemble(const vm::Proto& proto);

}  // namespace tsk::lang
