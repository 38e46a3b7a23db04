// Host functions (SPEC §16, include/tsk/function.hpp): how a host's C++ callables join a
// runtime's native table (DESIGN decision 8) as the functions of host modules, and the
// one native wrapper that calls them, converting arguments and results at the host
// boundary (runtime/host_values.hpp) and routing by effect: inline (instant), on the
// blocking pool (blocks, as any `blocks` native), or parked until a tsk::Completion is
// completed from any thread (yields; the outside-wait seam of runtime/outside.hpp).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tsk/function.hpp"
#include "vm/native.hpp"

namespace tsk::rt {

class Runtime;

// One host function: the strings its NativeEntry points at, and the callable.
struct HostFunctionRecord {
  std::string name, signature, doc;
  std::string call_name;            // "geo.area()", for messages
  std::vector<std::string> params;  // the signature's parameter names
  tsk::Effect effect;
  tsk::detail::HostFunction fn;
};

// A module of host functions. `entries` is what the runtime's ModuleDef spans; it stops
// moving once the host functions are sealed (the first run), when natives begin to point
// into it.
struct HostModule {
  std::string name;
  std::vector<std::unique_ptr<HostFunctionRecord>> functions;
  std::vector<vm::NativeEntry> entries;
};

// Runtime::define's work (include/tsk/tsk.hpp says what it checks and throws).
void define_host_function(Runtime& rt, std::string_view module, std::string_view signature, tsk::Effect effect,
                          std::string_view doc, tsk::detail::HostFunction fn);
// No host function can be defined from now on (a run begins).
void seal_host_functions(Runtime& rt);

}  // namespace tsk::rt
