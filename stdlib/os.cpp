// The `os` module (SPEC §11): the script's arguments, environment variables, exiting
// with a status, and the platform name. Every function is instant.
//
// os.args is made once per runtime by add_constants in the shared heap and frozen:
// modules are read-only and shared by every task.
#include <cstdlib>

#include "runtime/runtime.hpp"
#include "stdlib/natives.hpp"
#include "vm/heap.hpp"

namespace tsk::stdlib {

namespace {

using vm::Effect;
using vm::NativeEntry;

Value o_env(TaskState& t, Value* a, int) {
  std::string_view name = arg_string(t, a, 0, "os.env", "name")->view();
  // The environment is a capability a sandbox leaves out (SPEC §16).
  if (!rt::runtime_of(t).allows("os.env"))
    t.raise("Error", "os.env() is not allowed in this runtime (a sandbox)");
  // getenv takes a C string: a name with NUL or '=' cannot name a variable.
  if (name.empty() || name.find('\0') != std::string_view::npos || name.find('=') != std::string_view::npos)
    return Value::nil();
  const char* value = std::getenv(std::string(name).c_str());
  return value ? string_value(t, value) : Value::nil();
}

Value o_exit(TaskState& t, Value* a, int nargs) {
  int64_t code = nargs > 0 ? arg_int(t, a, 0, "os.exit", "code") : 0;
  rt::runtime_of(t).flush_out();
  // The status as POSIX keeps it, its low 8 bits (SPEC §12): -1 gives 255, 256 gives 0.
  throw vm::ExitRequest{int(code & 255)};
}

Value o_platform(TaskState& t, Value*, int) {
#if defined(__linux__)
  return string_value(t, "linux");
#elif defined(__APPLE__)
  return string_value(t, "macos");
#elif defined(_WIN32)
  return string_value(t, "windows");
#else
  return string_value(t, "unknown");
#endif
}

void add_constants(vm::Heap& immortal, const std::vector<std::string>& args,
                   void (*add)(void* ctx, const char* name, Value v), void* ctx) {
  vm::List* list = immortal.list();
  list->items.reserve(args.size());
  for (const std::string& arg : args) list->items.push_back(Value::object(immortal.string(arg)));
  list->flags |= vm::kFrozen;
  add(ctx, "args", Value::object(list));
}

constexpr Effect kInstant = Effect::Instant;

const NativeEntry kOs[] = {
    {"os", "env", "env(name)", kInstant, "The value of the environment variable name, or nil", o_env, 1, 1},
    {"os", "exit", "exit(code = 0)", kInstant, "Flushes output and ends the program with the exit status code & 255", o_exit, 0, 1},
    {"os", "platform", "platform()", kInstant, "The operating system's name: \"linux\", \"macos\" or \"windows\"", o_platform, 0, 0},
};

}  // namespace

vm::ModuleDef os_module() {
  return {"os", "The process: arguments (os.args), environment, exit status, platform", kOs,
          add_constants};
}

}  // namespace tsk::stdlib
