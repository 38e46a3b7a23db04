// The value semantics every layer shares: equality, hashing, ordering, truthiness and
// the str() text of values. Arithmetic lives in the interpreter (vm/interp.cpp) where it
// is hot; these are the operations natives need too.
#pragma once

#include <cstdint>
#include <string>

#include "vm/value.hpp"

namespace tsk::vm {

class TaskState;

// SPEC §2: scalars by value (1 == 1.0), lists and maps structurally, others by identity.
bool equal(Value a, Value b);
// Consistent with equal() for keys: 1 and 1.0 hash alike; frozen lists/maps by content.
uint64_t hash(Value v);
// True when `v` may be a map key: a non-nil scalar, a string, or a frozen value.
bool hashable(Value v);
// a < b for two numbers or two strings (bytewise); TypeError otherwise.
bool less(TaskState& t, Value a, Value b);

// The name type() returns: "nil", "bool", "int", "float", "string", "list", "map",
// "range", "fn", "chan", "task", "error", "module".
const char* type_name(Value v);

// Appends str(v) to out. Top-level strings are written as is unless `quoted`; inside
// lists and maps strings are always quoted (SPEC §11). Floats as Python's repr.
void append_str(std::string& out, Value v, bool quoted = false);
std::string to_str(Value v);
// `s` as a script shows a string in a list or the REPL: quoted, with escapes for
// control bytes and invalid UTF-8.
void append_quoted(std::string& out, std::string_view s);
// Python's repr(float): shortest round-trip digits, "1.0", "1e+16", "1e-05", "inf", "nan".
void append_float(std::string& out, double d);

// Map operations (vm/map.cpp). get returns Undef when absent.
Value map_get(Map* m, Value key);
void map_set(Map* m, Value key, Value value);
bool map_delete(Map* m, Value key);

}  // namespace tsk::vm
