// The reference of every native, rendered from the effect registry for `tsk doc [NAME]`,
// the REPL's :doc and docs/stdlib.md, so the documentation cannot drift from the code.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "vm/native.hpp"

// In tsk::vm beside the registry it renders (as registry.hpp), where runtime/api.cpp
// calls it.
namespace tsk::vm {

// The reference of `name`: "" for everything, a module ("string"), a builtin ("len") or a
// module function ("string.split"). Plain text for a terminal, or (markdown = true) a
// document with a title, one section per module and a table per section
// (name | signature | effect | description). Returns "" for an unknown name.
// `builtins` and `modules` are a runtime's tables (rt::Runtime::natives).
std::string render_reference(std::string_view name, bool markdown, std::span<const NativeEntry> builtins,
                             std::span<const ModuleDef> modules);

}  // namespace tsk::vm
