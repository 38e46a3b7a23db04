// The effect registry (DESIGN decision 8): assembles the builtin table and the standard
// modules from the stdlib files, and holds the argument checks every native shares.
//
// Invariants: every entry has a signature, an effect other than Missing and a one-line
// doc (tests/unit/test_stdlib.cpp fails otherwise); the builtin order is the BUILTIN
// opcode's numbering, so entries are only ever appended, never reordered, within a run.
// The tables are immutable after their first use (function-local statics), so runtimes
// and threads share them freely.
#include <vector>

#include "stdlib/natives.hpp"

namespace tsk::vm {

std::span<const NativeEntry> builtin_functions() {
  // One contiguous table: builtins.cpp's, followed by the task and channel builtins.
  static const std::vector<NativeEntry> table = [] {
    std::vector<NativeEntry> all;
    for (const NativeEntry& e : stdlib::builtin_entries()) all.push_back(e);
    for (const NativeEntry& e : stdlib::task_entries()) all.push_back(e);
    return all;
  }();
  return table;
}

std::span<const ModuleDef> standard_modules() {
  static const ModuleDef modules[] = {
      stdlib::math_module(), stdlib::string_module(), stdlib::list_module(),
      stdlib::map_module(),  stdlib::os_module(),     stdlib::time_module(),
      stdlib::json_module(), stdlib::rand_module(),
      stdlib::io_module(),
      stdlib::net_module(),
      stdlib::fs_module(),
      stdlib::proc_module(),
  };
  return modules;
}

}  // namespace tsk::vm

namespace tsk::stdlib {

// {=== argument checks

void type_error(TaskState& t, std::string_view fn, std::string_view param, std::string_view expected,
                Value got) {
  std::string msg(fn);
  msg += "(): ";
  msg += param;
  msg += " must be ";
  msg += expected;
  msg += ", not ";
  msg += vm::type_name(got);
  t.raise("TypeError", std::move(msg));
}

int64_t arg_int(TaskState& t, const Value* args, int i, std::string_view fn, std::string_view param) {
  if (!args[i].is(Tag::Int)) type_error(t, fn, param, "an int", args[i]);
  return args[i].i;
}

double arg_number(TaskState& t, const Value* args, int i, std::string_view fn, std::string_view param) {
  if (!args[i].is_number()) type_error(t, fn, param, "a number", args[i]);
  return args[i].to_double();
}

vm::String* arg_string(TaskState& t, const Value* args, int i, std::string_view fn,
                       std::string_view param) {
  if (!args[i].is(Tag::String)) type_error(t, fn, param, "a string", args[i]);
  return args[i].as_string();
}

vm::List* arg_list(TaskState& t, const Value* args, int i, std::string_view fn, std::string_view param) {
  if (!args[i].is(Tag::List)) type_error(t, fn, param, "a list", args[i]);
  return args[i].as_list();
}

vm::Map* arg_map(TaskState& t, const Value* args, int i, std::string_view fn, std::string_view param) {
  if (!args[i].is(Tag::Map)) type_error(t, fn, param, "a map", args[i]);
  return args[i].as_map();
}

Value arg_callable(TaskState& t, const Value* args, int i, std::string_view fn,
                   std::string_view param) {
  if (!args[i].is(Tag::Closure) && !args[i].is(Tag::Native))
    type_error(t, fn, param, "a function", args[i]);
  return args[i];
}

void check_mutable(TaskState& t, const vm::Obj* o, std::string_view fn) {
  if (!o->frozen()) return;
  std::string msg(fn);
  msg += "(): cannot modify a frozen ";
  msg += o->tag == Tag::Map ? "map" : "list";
  t.raise("FrozenError", std::move(msg));
}

void check_key(TaskState& t, Value key) {
  if (vm::hashable(key)) return;
  std::string msg = "unhashable key: ";
  msg += vm::type_name(key);
  if (key.is(Tag::List) || key.is(Tag::Map)) msg += " (freeze it to use it as a key)";
  t.raise("TypeError", std::move(msg));
}

void check_string_size(TaskState& t, size_t bytes, std::string_view fn) {
  if (bytes <= kMaxStringBytes) return;
  t.raise("OverflowError", std::string(fn) + "(): result too large (over 2 GiB)");
}

void check_list_size(TaskState& t, size_t items, std::string_view fn) {
  if (items <= kMaxListItems) return;
  t.raise("OverflowError", std::string(fn) + "(): result too large (over 2^28 items)");
}

// }===

std::string qualified_name(const vm::NativeEntry& e) {
  std::string name;
  if (e.module && *e.module) {
    name = e.module;
    name += '.';
  }
  name += e.name;
  return name;
}

std::string help_text(const vm::NativeEntry& e) {
  std::string text;
  if (e.module && *e.module) {
    text += e.module;
    text += '.';
  }
  text += e.signature;
  text += "  [";
  text += vm::effect_name(e.effect);
  text += "]\n  ";
  text += e.doc;
  text += '\n';
  return text;
}

}  // namespace tsk::stdlib
