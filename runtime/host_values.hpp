// Values across the host boundary (SPEC §16, DESIGN decision 10): a task's value copied
// out into a tsk::Value (include/tsk/value.hpp), and a tsk::Value built into a task's
// heap. The only code that turns one into the other.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "tsk/value.hpp"
#include "vm/task_state.hpp"
#include "vm/transfer.hpp"

namespace tsk::rt {
class Runtime;
struct Liveness;
}  // namespace tsk::rt

namespace tsk {

namespace detail {
// A value the host holds but cannot look into (a function, a channel, an error...),
// packed as for another task. It belongs to the runtime it came from: when that runtime
// has gone, dropping it frees nothing of the runtime's (its objects are left).
struct Opaque {
  vm::Message message;
  const rt::Runtime* runtime;
  std::shared_ptr<rt::Liveness> live;
  std::string type;  // type() in scripts
  std::string text;  // str() in scripts, when it was copied out
  ~Opaque();
};
}  // namespace detail

struct HostValues {
  // Nesting deeper than this does not cross (ValueError): the conversion recurses.
  static constexpr int kMaxDepth = 10'000;
  // A copy of `v` for the host; `function` and `param` name it in errors ("geo.area():
  // sides"). Raises ValueError in `t` for a list or map that contains itself or nests
  // too deep.
  static Value to_host(vm::TaskState& t, vm::Value v, std::string_view function, std::string_view param);
  // `v` built in `t`'s heap. Raises TypeError for an opaque value of another runtime,
  // ValueError past kMaxDepth, OverflowError for a string past the size limit.
  static vm::Value to_script(vm::TaskState& t, const Value& v);
  // Value's private side, for the two above.
  static Value make_opaque(std::shared_ptr<const detail::Opaque> o);
  static const detail::Opaque& opaque_of(const Value& v);
};

}  // namespace tsk
