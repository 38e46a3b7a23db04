// What the native functions of stdlib/ share (internal to stdlib/): argument checks that
// raise with uniform messages, size limits, and the table each stdlib file contributes
// to the registry (stdlib/registry.cpp assembles them).
//
// Message convention: "<function>(): <parameter> must be <what>, not <type>", e.g.
// "string.split(): sep must be a string or nil, not int". Every check raises a script
// error (TypeError, ValueError, FrozenError, ...); no native may crash on any input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "stdlib/registry.hpp"
#include "vm/ops.hpp"
#include "vm/task_state.hpp"
#include "vm/value.hpp"

namespace tsk::stdlib {

using vm::Tag;
using vm::TaskState;
using vm::Value;

// Largest string a native builds: String::len is 32 bits; 2 GiB leaves headroom.
inline constexpr size_t kMaxStringBytes = size_t(1) << 31;
// Largest list a native builds: 2^28 values are 4 GiB; past that is a runaway script.
inline constexpr size_t kMaxListItems = size_t(1) << 28;

[[noreturn]] void type_error(TaskState& t, std::string_view fn, std::string_view param,
                             std::string_view expected, Value got);

int64_t arg_int(TaskState& t, const Value* args, int i, std::string_view fn, std::string_view param);
double arg_number(TaskState& t, const Value* args, int i, std::string_view fn, std::string_view param);
vm::String* arg_string(TaskState& t, const Value* args, int i, std::string_view fn,
                       std::string_view param);
vm::List* arg_list(TaskState& t, const Value* args, int i, std::string_view fn, std::string_view param);
vm::Map* arg_map(TaskState& t, const Value* args, int i, std::string_view fn, std::string_view param);
// A script function or a native; TypeError otherwise.
Value arg_callable(TaskState& t, const Value* args, int i, std::string_view fn, std::string_view param);

// FrozenError "push(): cannot modify a frozen list" when `o` is frozen.
void check_mutable(TaskState& t, const vm::Obj* o, std::string_view fn);
// TypeError "unhashable key: list" unless `key` may be a map key.
void check_key(TaskState& t, Value key);
// OverflowError when a result would pass the size limits above.
void check_string_size(TaskState& t, size_t bytes, std::string_view fn);
void check_list_size(TaskState& t, size_t items, std::string_view fn);

inline Value string_value(TaskState& t, std::string_view s) { return Value::object(t.heap.string(s)); }

// The tables of each stdlib file.
std::span<const vm::NativeEntry> builtin_entries();  // builtins.cpp
std::span<const vm::NativeEntry> task_entries();     // tasks.cpp: chan, sleep, ...
int64_t channel_length(Value chan);                  // tasks.cpp: values buffered now
vm::ModuleDef time_module();                         // time.cpp
// The waiting natives the time module shares with the builtins (tasks.cpp).
Value t_sleep(TaskState& t, Value* args, int nargs);
Value t_after(TaskState& t, Value* args, int nargs);
Value t_tick(TaskState& t, Value* args, int nargs);
vm::ModuleDef math_module();                         // math.cpp
vm::ModuleDef string_module();                       // string.cpp
vm::ModuleDef list_module();                         // list.cpp
vm::ModuleDef map_module();                          // map.cpp
vm::ModuleDef os_module();                           // os.cpp
vm::ModuleDef json_module();                         // json.cpp
vm::ModuleDef rand_module();                         // rand.cpp
vm::ModuleDef io_module();                           // io.cpp
vm::ModuleDef net_module();                          // net.cpp
// Writes `text` to standard output through print's buffer; a flush it needs goes to the
// blocking pool while the task parks, and the native is then called again, which must
// return at once when rt::take_resumed finds the flush done (builtins.cpp).
void write_stdout(TaskState& t, std::string_view text);
vm::ModuleDef fs_module();                           // fs.cpp
vm::ModuleDef proc_module();                         // proc.cpp

// string.format's engine (format.cpp): printf-style `fmt` applied to args[0..nargs).
std::string format(TaskState& t, std::string_view fmt, const Value* args, int nargs);

// The qualified name of an entry: "len" or "string.split".
std::string qualified_name(const vm::NativeEntry& e);
// help()'s text for one entry: "signature  [effect]\n  doc\n".
std::string help_text(const vm::NativeEntry& e);

// Appends the UTF-8 encoding of code point `cp` (format's %c, json's \u escapes).
void append_utf8(std::string& out, uint32_t cp);

}  // namespace tsk::stdlib
