// The operators of SPEC §3 on Values: arithmetic, bitwise, comparison, membership,
// indexing, slicing and field access. The interpreter inlines the int/float fast paths
// and calls these for everything else; each raises the error SPEC names (TypeError,
// ZeroDivisionError, OverflowError, IndexError, FrozenError) through the TaskState.
#pragma once

#include "vm/opcodes.hpp"
#include "vm/task_state.hpp"
#include "vm/value.hpp"

namespace tsk::vm {

// `op` is one of ADD SUB MUL DIV IDIV MOD POW BAND BOR BXOR SHL SHR.
Value binary_op(TaskState& t, Op op, Value a, Value b);
Value negate(TaskState& t, Value a);
Value bit_not(TaskState& t, Value a);

// a < b (or a <= b when `or_equal`), for two numbers or two strings; TypeError otherwise.
bool compare_less(TaskState& t, Value a, Value b, bool or_equal);
bool contains(TaskState& t, Value container, Value item);

Value get_index(TaskState& t, Value obj, Value key);
void set_index(TaskState& t, Value obj, Value key, Value v);
Value get_field(TaskState& t, Value obj, String* name);
void set_field(TaskState& t, Value obj, String* name, Value v);
Value slice(TaskState& t, Value obj, Value from, Value to);

// A valid map key (TypeError otherwise): not nil, and a scalar, string or frozen value.
void check_key(TaskState& t, Value key);


}  // namespace tsk::vm
