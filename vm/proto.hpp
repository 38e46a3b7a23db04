// Function prototypes: the compiled, immutable form of a function body. Protos are
// made by the compiler, owned by the Runtime (never by a task heap) and shared by every
// task that runs them; a Closure pairs one with its captured cells.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lang/ast.hpp"
#include "vm/opcodes.hpp"
#include "vm/value.hpp"

namespace tsk::vm {

// Where a closure finds a captured variable when it is made (CLOSURE): in the enclosing
// frame's register `index` (which holds a Cell since MKCELL ran there), or in the
// enclosing closure's own cell `index`.
struct Capture {
  bool from_local;
  uint16_t index;
  std::string name;  // for the disassembler and debugging
};

struct Proto {
  std::string name;          // "<main>" for a module body, the fn name, or "<fn>"
  std::string file;
  lang::Loc loc;             // where the function starts
  uint16_t nparams = 0;
  uint16_t nregs = 0;        // registers a frame needs, parameters included
  std::vector<Instr> code;   // always ends in RET or RETNIL
  std::vector<lang::Loc> locs;  // parallel to code: the source position of each instruction
  std::vector<Value> consts;    // nil, bool, int, float, or shared strings only
  std::vector<Proto*> protos;   // nested functions, indexed by CLOSURE's Bx
  std::vector<Capture> captures;
  bool hidden = false;       // a runtime trampoline: left out of tracebacks
  // A closure of this function without captures, in the runtime's immortal area: what a
  // spawn of such a function runs, instead of a copy in the new task's heap. Made at the
  // first such spawn (rt::Runtime::shared_closure); read and set with std::atomic_ref.
  Closure* shared_closure = nullptr;
};

}  // namespace tsk::vm
