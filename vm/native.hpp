// A native function as the interpreter sees it (DESIGN decision 8): its name, signature,
// effect, one-line doc and code in one entry. The interpreter decides how to call a
// native from its effect; stdlib/ fills the tables of standard entries, and a host may
// add its own.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vm/value.hpp"

namespace tsk::vm {

class TaskState;
class Heap;

// 0 is deliberately no effect, so an entry that forgot to say one is caught by the test.
enum class Effect : uint8_t { Missing = 0, Instant = 1, Yields = 2, Blocks = 3 };
inline const char* effect_name(Effect e) {
  switch (e) {
    case Effect::Instant: return "instant";
    case Effect::Yields: return "yields";
    case Effect::Blocks: return "blocks";
    case Effect::Missing: break;
  }
  return "missing";
}

// args point into the caller's registers (kept alive by the interpreter); nargs is
// already checked against min_args/max_args (ArityError) before the call.
using NativeFn = Value (*)(TaskState& task, Value* args, int nargs);
struct NativeEntry;
// A host's function (SPEC §16): one wrapper serves them all, and finds the C++
// callable of the entry called (NativeEntry::host) in `self`.
using HostFn = Value (*)(TaskState& task, const NativeEntry& self, Value* args, int nargs);

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
  // A `blocks` native that does its cheap part inline and sends only what may block to
  // the blocking pool itself (print: a buffered write; only a flush may block). Other
  // `blocks` natives are run on the pool whole (Host::call_blocking).
  bool offloads_itself = false;
  // A host function (runtime/host_functions.cpp): `fn` is null, `host_fn` runs it, and
  // `host` is the host's callable, which the runtime owns.
  HostFn host_fn = nullptr;
  const void* host = nullptr;
};

// Runs the code of the native `e`, whichever kind it is.
inline Value invoke_native(TaskState& t, const NativeEntry& e, Value* args, int nargs) {
  return e.host_fn ? e.host_fn(t, e, args, nargs) : e.fn(t, args, nargs);
}

// A module of natives (a standard one, or one a host adds): its functions and the constants it adds (math.pi, os.args, ...).
struct ModuleDef {
  const char* name;
  const char* doc;
  std::span<const NativeEntry> functions;
  // Adds the module's non-function members; may be null. `add(name, value)` stores one.
  void (*add_constants)(Heap& immortal, const std::vector<std::string>& args,
                        void (*add)(void* ctx, const char* name, Value v), void* ctx);
};

}  // namespace tsk::vm
