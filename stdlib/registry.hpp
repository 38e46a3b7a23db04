// The effect registry (DESIGN decision 8): every native function of tsk, builtin or in a
// standard module, is one `NativeEntry` saying its name, signature, effect, one-line doc
// and code. effect(), help(), `tsk doc` and docs/stdlib.md all read these tables, so the
// reference cannot drift from what runs; tests/unit checks every entry is complete.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "vm/value.hpp"

namespace tsk::vm { class Task; class Heap; }

namespace tsk::vm {

// 0 is deliberately no effect, so an entry that forgot to say one is caught by the test.
enum class Effect : uint8_t { Missing = 0, Instant = 1, Yields = 2, Blocks = 3 };
const char* effect_name(Effect e);

// args point into the caller's registers (kept alive by the interpreter); nargs is
// already checked against min_args/max_args (ArityError) before the call.
using NativeFn = Value (*)(Task& task, Value* args, int nargs);

struct NativeEntry {
  const char* module;     // "" for a builtin
  const char* name;
  const char* signature;  // as a user writes the call: "split(s, sep = nil)"
  Effect effect;
  const char* doc;        // one line, no trailing period
  NativeFn fn;
  int8_t min_args;
  int8_t max_args;        // -1: variadic
  // Calls script functions it was given (sort's less, list.map's f): a task runs it on a
  // fiber, so a callback may wait (runtime/fiber.hpp).
  bool calls_back = false;
};

// A standard module: its functions and the constants it adds (math.pi, os.args, ...).
struct ModuleDef {
  const char* name;
  const char* doc;
  std::span<const NativeEntry> functions;
  // Adds the module's non-function members; may be null. `add(name, value)` stores one.
  void (*add_constants)(Heap& shared, const std::vector<std::string>& args,
                        void (*add)(void* ctx, const char* name, Value v), void* ctx);
};

// All builtins (no import needed), in the order BUILTIN's Bx indexes them.
std::span<const NativeEntry> builtin_functions();
// All standard modules that exist now.
std::span<const ModuleDef> standard_modules();

}  // namespace tsk::vm
