// The effect registry (DESIGN decision 8): every native function of tsk, builtin or in a
// standard module, is one `NativeEntry` (vm/native.hpp) saying its name, signature, effect, one-line doc
// and code. effect(), help(), `tsk doc` and docs/stdlib.md all read these tables, so the
// reference cannot drift from what runs; tests/unit checks every entry is complete.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vm/native.hpp"
#include "vm/value.hpp"

namespace tsk::vm { class TaskState; class Heap; }

namespace tsk::vm {

// All builtins (no import needed), in the order BUILTIN's Bx indexes them.
std::span<const NativeEntry> builtin_functions();
// All standard modules that exist now.
std::span<const ModuleDef> standard_modules();

}  // namespace tsk::vm
