// The builtins that need no import (SPEC §11), except the task and channel ones, which
// the runtime adds: printing and conversion, errors, freezing and copying, the list and
// map primitives, sorting, min/max/abs, and the effect()/help() introspection.
//
// Natives that call back into script (sort with `less`) keep every heap value they still
// need in a TaskState::Root, and copy their arguments into locals first: `args` points into
// the caller's registers, which may move when the callee grows the task's stack.
// Deep operations (freeze, copy) use explicit work lists, never C++ recursion, so any
// nesting depth and any cycle is safe.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/outside.hpp"
#include "runtime/runtime.hpp"
#include "stdlib/natives.hpp"
#include "vm/heap.hpp"
#include "vm/transfer.hpp"

namespace tsk::stdlib {

namespace {

using vm::Effect;
using vm::List;
using vm::Map;
using vm::NativeEntry;
using vm::Obj;

// {=== helpers

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim_space(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

int64_t range_length(const vm::Range* r) {
  __int128 n = __int128(r->stop) - __int128(r->start) + (r->inclusive ? 1 : 0);
  if (n < 0) return 0;
  if (n > INT64_MAX) return INT64_MAX;
  return int64_t(n);
}

std::string quoted(Value v) {
  std::string s;
  vm::append_str(s, v, true);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

// Normalises a possibly negative index against `len`; false when outside [0, limit).
bool normalize_index(int64_t& i, size_t len, size_t limit) {
  if (i < 0) i += int64_t(len);
  return i >= 0 && uint64_t(i) < limit;
}

[[noreturn]] void index_error(TaskState& t, std::string_view fn, int64_t i, size_t len) {
  t.raise("IndexError", std::string(fn) + "(): index " + std::to_string(i) +
                            " out of range for a list of length " + std::to_string(len));
}

// }===

// {=== number parsing (int() and float())

enum class Parse { Ok, Invalid, Overflow };

// Decimal integer with optional surrounding whitespace, a sign, and `_` between digits
// (Python's rule: "1_000" yes, "_1", "1__0" and "1_" no).
Parse parse_int(std::string_view s, int64_t& out) {
  s = trim_space(s);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return Parse::Invalid;
  const uint64_t limit = negative ? uint64_t(1) << 63 : (uint64_t(1) << 63) - 1;
  uint64_t mag = 0;
  bool overflow = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      uint64_t d = uint64_t(c - '0');
      if (mag > (limit - d) / 10) overflow = true;
      else mag = mag * 10 + d;
    } else if (c == '_' && i > 0 && i + 1 < s.size() && s[i - 1] >= '0' && s[i - 1] <= '9' &&
               s[i + 1] >= '0' && s[i + 1] <= '9') {
      continue;
    } else {
      return Parse::Invalid;
    }
  }
  if (overflow) return Parse::Overflow;
  out = negative ? int64_t(0 - mag) : int64_t(mag);
  return Parse::Ok;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

// Python's float() syntax: whitespace, sign, then inf/infinity/nan (any case) or
// digits[.digits][e[sign]digits] (at least one mantissa digit; `_` between digits).
// Hex floats and C's "nan(...)" are rejected, and parsing ignores the C locale.
Parse parse_float(std::string_view s, double& out) {
  s = trim_space(s);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (iequals(s, "inf") || iequals(s, "infinity")) {
    out = negative ? -HUGE_VAL : HUGE_VAL;
    return Parse::Ok;
  }
  if (iequals(s, "nan")) {
    out = negative ? -NAN : NAN;
    return Parse::Ok;
  }
  std::string clean;
  size_t i = 0;
  int int_digits = 0, leading_frac_zeros = 0, mantissa_digits = 0;
  bool seen_nonzero = false;
  // Digits with `_` only between two digits; returns how many digits it read.
  auto digits = [&](bool fraction) {
    int n = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c >= '0' && c <= '9') {
        clean += c;
        if (c != '0') seen_nonzero = true;
        if (!fraction && seen_nonzero) ++int_digits;
        if (fraction && !seen_nonzero) ++leading_frac_zeros;
        ++n;
        ++i;
      } else if (c == '_' && n > 0 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '9') {
        ++i;
      } else {
        break;
      }
    }
    return n;
  };
  mantissa_digits += digits(false);
  if (i < s.size() && s[i] == '.') {
    clean += '.';
    ++i;
    mantissa_digits += digits(true);
  }
  if (mantissa_digits == 0) return Parse::Invalid;
  int64_t exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    clean += 'e';
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) clean += s[i++];
    size_t exp_start = clean.size();
    bool exp_negative = clean.back() == '-';
    if (digits(false) == 0) return Parse::Invalid;
    for (size_t k = exp_start; k < clean.size(); ++k)
      exponent = std::min<int64_t>(exponent * 10 + (clean[k] - '0'), 1'000'000'000);
    if (exp_negative) exponent = -exponent;
  }
  if (i != s.size()) return Parse::Invalid;
  double value = 0;
  auto r = std::from_chars(clean.data(), clean.data() + clean.size(), value);
  if (r.ec == std::errc::result_out_of_range) {
    // Too big or too small for a double: the decimal exponent of the first significant
    // digit says which (Python gives inf and 0.0).
    int64_t magnitude = (int_digits > 0 ? int_digits - 1 : -(leading_frac_zeros + 1)) + exponent;
    value = magnitude > 0 ? HUGE_VAL : 0.0;
  } else if (r.ec != std::errc() || r.ptr != clean.data() + clean.size()) {
    return Parse::Invalid;
  }
  out = negative ? -value : value;
  return Parse::Ok;
}

// }===

// {=== printing and conversion

// Writes `text` to standard output through the runtime's buffer, and sends the flush
// the buffer asks for (when it is full) to the blocking pool: the task parks meanwhile
// and print is called again, which finds the flush done (rt::take_resumed).
}  // namespace

void write_stdout(TaskState& t, std::string_view text) {
  rt::Runtime& runtime = rt::runtime_of(t);
  if (!runtime.append_out(text)) return;
  if (!rt::can_park(t)) {
    runtime.flush_out();
    return;
  }
  rt::run_on_pool(t, std::make_shared<rt::OutsideOp>(), [&runtime] { runtime.flush_out(); }, false, true);
}

namespace {

Value b_print(TaskState& t, Value* args, int nargs) {
  if (rt::take_resumed(t)) return Value::nil();  // called again: its flush is done
  std::string line;
  for (int i = 0; i < nargs; ++i) {
    if (i) line += ' ';
    vm::append_str(line, args[i]);
  }
  line += '\n';
  write_stdout(t, line);
  return Value::nil();
}

Value b_len(TaskState& t, Value* args, int) {
  Value v = args[0];
  switch (v.tag) {
    case Tag::String: return Value::integer(v.as_string()->len);
    case Tag::List: return Value::integer(int64_t(v.as_list()->items.size()));
    case Tag::Map: return Value::integer(v.as_map()->count);
    case Tag::Range: return Value::integer(range_length(v.as_range()));
    case Tag::Chan: return Value::integer(channel_length(v));
    default:
      t.raise("TypeError", std::string("len() takes a string, list, map, range or channel, not ") +
                               vm::type_name(v));
  }
}

Value b_str(TaskState& t, Value* args, int) {
  if (args[0].is(Tag::String)) return args[0];
  return string_value(t, vm::to_str(args[0]));
}

Value b_int(TaskState& t, Value* args, int) {
  Value v = args[0];
  switch (v.tag) {
    case Tag::Int: return v;
    case Tag::Bool: return Value::integer(v.b ? 1 : 0);
    case Tag::Float: {
      if (std::isnan(v.f)) t.raise("ValueError", "int(): cannot convert nan to int");
      double tr = std::trunc(v.f);
      if (!(tr >= -9223372036854775808.0 && tr < 9223372036854775808.0)) {
        std::string msg = "int(): ";
        vm::append_float(msg, v.f);
        t.raise("OverflowError", msg + " is out of the int range");
      }
      return Value::integer(int64_t(tr));
    }
    case Tag::String: {
      int64_t out = 0;
      switch (parse_int(v.as_string()->view(), out)) {
        case Parse::Ok: return Value::integer(out);
        case Parse::Overflow:
          t.raise("OverflowError", "int(): " + quoted(v) + " is out of the int range");
        case Parse::Invalid: t.raise("ValueError", "invalid literal for int(): " + quoted(v));
      }
      break;
    }
    default: break;
  }
  type_error(t, "int", "x", "a number, bool or string", v);
}

Value b_float(TaskState& t, Value* args, int) {
  Value v = args[0];
  switch (v.tag) {
    case Tag::Float: return v;
    case Tag::Int: return Value::number(double(v.i));
    case Tag::Bool: return Value::number(v.b ? 1.0 : 0.0);
    case Tag::String: {
      double out = 0;
      if (parse_float(v.as_string()->view(), out) != Parse::Ok)
        t.raise("ValueError", "invalid literal for float(): " + quoted(v));
      return Value::number(out);
    }
    default: type_error(t, "float", "x", "a number, bool or string", v);
  }
}

Value b_type(TaskState& t, Value* args, int) { return string_value(t, vm::type_name(args[0])); }

// }===

// {=== errors

Value b_error(TaskState& t, Value* args, int nargs) {
  vm::String* message = args[0].is(Tag::String) ? args[0].as_string()
                                                 : t.heap.string(vm::to_str(args[0]));
  vm::String* kind = nargs > 1 ? arg_string(t, args, 1, "error", "kind") : t.heap.string("Error");
  if (kind->len == 0) t.raise("ValueError", "error(): kind must not be empty");
  return Value::object(t.make_error(kind, message));
}

Value b_assert(TaskState& t, Value* args, int nargs) {
  if (args[0].truthy()) return Value::nil();
  if (nargs < 2) t.raise("AssertionError", "assertion failed");
  t.raise("AssertionError", vm::to_str(args[1]));
}

// }===

// {=== freeze, copy

// vm::freeze_deep: deep through lists, maps, closures and their captured variables, and
// the result crosses tasks without copying. It writes the flags of this task's objects,
// which another task copying one of its top-level values reads under the same lock.
Value b_freeze(TaskState& t, Value* args, int) {
  std::lock_guard gc(t.gc_mutex);
  vm::freeze_deep(args[0]);
  return args[0];
}

Value b_is_frozen(TaskState&, Value* args, int) {
  Value v = args[0];
  switch (v.tag) {
    case Tag::List:
    case Tag::Map:
    case Tag::Closure:  // a function is immutable once what it captured is
    case Tag::Chan:
    case Tag::Task:
    case Tag::IoHandle: return Value::boolean(v.o->frozen());
    default: return Value::boolean(true);  // scalars, strings, natives, ranges, errors
  }
}

// A deep, unfrozen copy of the lists and maps reachable from `v`, sharing everything
// immutable. Map keys are shared too: they are immutable (scalars or frozen values), and
// copying them would make them unhashable. `copies` keeps the shape: a structure that
// reaches one list twice, or itself, is copied into one that does the same.
Value deep_copy(TaskState& t, Value v) {
  if (!v.is(Tag::List) && !v.is(Tag::Map)) return v;
  std::unordered_map<const Obj*, Obj*> copies;
  std::vector<std::pair<const Obj*, Obj*>> work;
  auto copy_of = [&](Value x) -> Value {
    if (!x.is(Tag::List) && !x.is(Tag::Map)) return x;
    auto [it, fresh] = copies.try_emplace(x.o, nullptr);
    if (fresh) {
      it->second = x.is(Tag::List) ? static_cast<Obj*>(t.heap.list()) : static_cast<Obj*>(t.heap.map());
      work.emplace_back(x.o, it->second);
    }
    return Value::object(it->second);
  };
  Value root = copy_of(v);
  while (!work.empty()) {
    auto [src, dst] = work.back();
    work.pop_back();
    if (src->tag == Tag::List) {
      const auto& items = static_cast<const List*>(src)->items;
      auto& out = static_cast<List*>(dst)->items;
      out.reserve(items.size());
      for (const Value& item : items) out.push_back(copy_of(item));
    } else {
      Map* out = static_cast<Map*>(dst);
      for (const Map::Entry& e : static_cast<const Map*>(src)->entries)
        if (!e.key.is(Tag::Undef)) vm::map_set(out, e.key, copy_of(e.value));
    }
  }
  return root;
}

Value b_copy(TaskState& t, Value* args, int) { return deep_copy(t, args[0]); }

// }===

// {=== lists

Value b_push(TaskState& t, Value* args, int) {
  List* xs = arg_list(t, args, 0, "push", "xs");
  check_mutable(t, xs, "push");
  check_list_size(t, xs->items.size() + 1, "push");
  xs->items.push_back(args[1]);
  return Value::nil();
}

Value b_pop(TaskState& t, Value* args, int) {
  List* xs = arg_list(t, args, 0, "pop", "xs");
  check_mutable(t, xs, "pop");
  if (xs->items.empty()) t.raise("IndexError", "pop(): the list is empty");
  Value last = xs->items.back();
  xs->items.pop_back();
  return last;
}

Value b_insert(TaskState& t, Value* args, int) {
  List* xs = arg_list(t, args, 0, "insert", "xs");
  int64_t i = arg_int(t, args, 1, "insert", "i");
  check_mutable(t, xs, "insert");
  // As Python's list.insert (SPEC is silent): a negative i counts from the end, and an
  // index past either end clamps to it, so insert(xs, 100, v) appends and
  // insert(xs, -100, v) prepends.
  int64_t len = int64_t(xs->items.size());
  int64_t at = i < 0 ? std::max<int64_t>(0, i + len) : std::min(i, len);
  check_list_size(t, xs->items.size() + 1, "insert");
  xs->items.insert(xs->items.begin() + at, args[2]);
  return Value::nil();
}

Value b_remove(TaskState& t, Value* args, int) {
  List* xs = arg_list(t, args, 0, "remove", "xs");
  int64_t i = arg_int(t, args, 1, "remove", "i");
  check_mutable(t, xs, "remove");
  int64_t at = i;
  if (!normalize_index(at, xs->items.size(), xs->items.size())) index_error(t, "remove", i, xs->items.size());
  Value removed = xs->items[size_t(at)];
  xs->items.erase(xs->items.begin() + at);
  return removed;
}

// Stable merge sort that stays memory-safe whatever `before` answers: std::sort and
// std::stable_sort assume a strict weak order and may run off the array when a script
// comparator is inconsistent. `a` holds the items; `b` is scratch of the same size; both
// are rooted heap lists, so the collector sees every item during callbacks. Returns the
// list that ends up holding the sorted items.
template <class Before>
List* merge_sort(List* a, List* b, Before before) {
  vm::ValueVector& first = a->items;
  size_t n = first.size();
  // Insertion-sort runs of 16 (the usual cut-off where insertion beats merging).
  constexpr size_t kRun = 16;
  for (size_t lo = 0; lo < n; lo += kRun) {
    size_t hi = std::min(n, lo + kRun);
    for (size_t i = lo + 1; i < hi; ++i) {
      Value x = first[i];
      size_t j = i;
      while (j > lo && before(x, first[j - 1])) {
        first[j] = first[j - 1];
        --j;
      }
      first[j] = x;
    }
  }
  List* src = a;
  List* dst = b;
  for (size_t width = kRun; width < n; width *= 2) {
    vm::ValueVector& in = src->items;
    vm::ValueVector& out = dst->items;
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = std::min(n, lo + width), hi = std::min(n, lo + 2 * width);
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) out[k++] = before(in[j], in[i]) ? in[j++] : in[i++];
      while (i < mid) out[k++] = in[i++];
      while (j < hi) out[k++] = in[j++];
    }
    std::swap(src, dst);
  }
  return src;
}

Value b_sort(TaskState& t, Value* args, int nargs) {
  List* xs = arg_list(t, args, 0, "sort", "xs");
  Value less = nargs > 1 ? args[1] : Value::nil();
  if (!less.is_nil()) arg_callable(t, args, 1, "sort", "less");
  List* items = t.heap.list();
  items->items = xs->items;
  List* scratch = t.heap.list();
  scratch->items.resize(items->items.size());
  vm::TaskState::Root keep_items(t, Value::object(items));
  vm::TaskState::Root keep_scratch(t, Value::object(scratch));
  vm::TaskState::Root keep_less(t, less);
  List* sorted;
  if (less.is_nil()) {
    sorted = merge_sort(items, scratch, [&](Value x, Value y) { return vm::less(t, x, y); });
  } else {
    sorted = merge_sort(items, scratch, [&](Value x, Value y) {
      Value pair[2] = {x, y};
      return t.call(less, pair, 2).truthy();
    });
  }
  if (sorted != items) items->items.swap(sorted->items);
  return Value::object(items);
}

// }===

// {=== maps

Value b_keys(TaskState& t, Value* args, int) {
  Map* m = arg_map(t, args, 0, "keys", "m");
  List* out = t.heap.list();
  out->items.reserve(m->count);
  for (const Map::Entry& e : m->entries)
    if (!e.key.is(Tag::Undef)) out->items.push_back(e.key);
  return Value::object(out);
}

Value b_values(TaskState& t, Value* args, int) {
  Map* m = arg_map(t, args, 0, "values", "m");
  List* out = t.heap.list();
  out->items.reserve(m->count);
  for (const Map::Entry& e : m->entries)
    if (!e.key.is(Tag::Undef)) out->items.push_back(e.value);
  return Value::object(out);
}

// nil is never a key, so has(m, nil) is false and delete(m, nil) does nothing, as
// `nil in m` and m[nil] (SPEC §2: reading a missing key gives nil); any other value that
// cannot be a key (an unfrozen list) is a TypeError, as in Python.
Value b_has(TaskState& t, Value* args, int) {
  Map* m = arg_map(t, args, 0, "has", "m");
  if (args[1].is_nil()) return Value::boolean(false);
  check_key(t, args[1]);
  return Value::boolean(!vm::map_get(m, args[1]).is(Tag::Undef));
}

Value b_delete(TaskState& t, Value* args, int) {
  Map* m = arg_map(t, args, 0, "delete", "m");
  check_mutable(t, m, "delete");
  if (args[1].is_nil()) return Value::nil();
  check_key(t, args[1]);
  vm::map_delete(m, args[1]);
  return Value::nil();
}

// }===

// {=== min, max, abs

Value extreme(TaskState& t, Value* args, int nargs, const char* fn, bool want_max) {
  const Value* items = args;
  size_t n = size_t(nargs);
  if (nargs == 1) {
    Value only = args[0];
    if (only.is(Tag::Range)) {
      const vm::Range* r = only.as_range();
      if (range_length(r) == 0) t.raise("ValueError", std::string(fn) + "(): the range is empty");
      return Value::integer(want_max ? (r->inclusive ? r->stop : r->stop - 1) : r->start);
    }
    if (!only.is(Tag::List)) type_error(t, fn, "the only argument", "a list or range (or give several values)", only);
    items = only.as_list()->items.data();
    n = only.as_list()->items.size();
    if (n == 0) t.raise("ValueError", std::string(fn) + "(): the list is empty");
  }
  // First of equal extremes wins, as in Python.
  Value best = items[0];
  for (size_t i = 1; i < n; ++i) {
    bool better = want_max ? vm::less(t, best, items[i]) : vm::less(t, items[i], best);
    if (better) best = items[i];
  }
  return best;
}

Value b_min(TaskState& t, Value* args, int nargs) { return extreme(t, args, nargs, "min", false); }
Value b_max(TaskState& t, Value* args, int nargs) { return extreme(t, args, nargs, "max", true); }

Value b_abs(TaskState& t, Value* args, int) {
  Value v = args[0];
  if (v.is(Tag::Int)) {
    if (v.i == INT64_MIN) t.raise("OverflowError", "abs(): integer overflow");
    return Value::integer(v.i < 0 ? -v.i : v.i);
  }
  if (v.is(Tag::Float)) return Value::number(std::fabs(v.f));
  type_error(t, "abs", "x", "a number", v);
}

// }===

// {=== effect, help

Value b_effect(TaskState& t, Value* args, int) {
  if (!args[0].is(Tag::Native)) {
    std::string msg = "effect() takes a native function, not ";
    msg += args[0].is(Tag::Closure) ? "a script function (only natives declare effects)"
                                    : vm::type_name(args[0]);
    t.raise("TypeError", std::move(msg));
  }
  return string_value(t, vm::effect_name(args[0].as_native()->entry->effect));
}

std::string module_help(TaskState& t, const vm::Module* m) {
  std::string name(m->name ? m->name->view() : std::string_view());
  for (const vm::ModuleDef& def : rt::runtime_of(t).module_defs) {
    if (name != def.name) continue;
    std::string text = "module " + name + ": " + def.doc + "\n";
    std::string constants;
    for (size_t i = 0; i < m->names.size() && i < m->globals.size(); ++i)
      if (!m->globals[i].is(Tag::Native)) constants += " " + m->names[i].name;
    if (!constants.empty()) text += "  constants:" + constants + "\n";
    for (const NativeEntry& e : def.functions) text += help_text(e);
    return text;
  }
  std::string text = "module " + name;
  if (!m->path.empty()) text += " (" + m->path + ")";
  text += "\n  exports:";
  for (const auto& g : m->names)
    if (g.exported) text += " " + g.name;
  text += "\n";
  return text;
}

Value b_help(TaskState& t, Value* args, int nargs) {
  if (rt::take_resumed(t)) return Value::nil();  // called again: its flush is done
  std::string text;
  if (nargs == 0) {
    text = "builtins:\n";
    for (const NativeEntry& e : rt::runtime_of(t).builtin_entries) text += help_text(e);
    text += "modules (import NAME; help(NAME) lists the functions):";
    for (const vm::ModuleDef& def : rt::runtime_of(t).module_defs) text += std::string(" ") + def.name;
    text += "\n";
  } else {
    Value v = args[0];
    switch (v.tag) {
      case Tag::Native: text = help_text(*v.as_native()->entry); break;
      case Tag::Module: text = module_help(t, v.as_module()); break;
      case Tag::Closure:
        text = vm::to_str(v) + "  [script function]\n  no documentation: only natives carry docs\n";
        break;
      default:
        t.raise("TypeError", std::string("help() takes a function or a module, not ") +
                                 vm::type_name(v));
    }
  }
  write_stdout(t, text);
  return Value::nil();
}

// }===

constexpr Effect kInstant = Effect::Instant;

// The order is the BUILTIN opcode's numbering: append only.
const NativeEntry kBuiltins[] = {
    {"", "print", "print(values...)", Effect::Blocks,
     "Writes str() of each value, separated by spaces, and a newline to standard output",
     b_print, 0, -1, false, true},
    {"", "len", "len(x)", kInstant,
     "The length of a string (in bytes), list, map or range", b_len, 1, 1},
    {"", "str", "str(v)", kInstant,
     "The text of a value: strings as is, floats as Python's repr, containers with quoted strings",
     b_str, 1, 1},
    {"", "int", "int(x)", kInstant,
     "An int from an int, bool, float (truncated toward zero) or decimal string", b_int, 1, 1},
    {"", "float", "float(x)", kInstant,
     "A float from a number, bool or string (\"2.5\", \"1e5\", \"inf\", \"nan\")", b_float, 1, 1},
    {"", "type", "type(v)", kInstant,
     "The name of v's type: nil bool int float string list map range fn chan task handle error module",
     b_type, 1, 1},
    {"", "error", "error(message, kind = \"Error\")", kInstant,
     "A new error value with .message and .kind, for throw", b_error, 1, 2},
    {"", "assert", "assert(cond, message = \"assertion failed\")", kInstant,
     "Raises AssertionError with message when cond is falsy", b_assert, 1, 2},
    {"", "freeze", "freeze(v)", kInstant,
     "Makes v and everything reachable from it (lists, maps, captured variables) immutable, in place; returns v",
     b_freeze, 1, 1},
    {"", "is_frozen", "is_frozen(v)", kInstant,
     "True when v is immutable: scalars, strings, natives, functions capturing nothing, frozen values",
     b_is_frozen, 1, 1},
    {"", "copy", "copy(v)", kInstant,
     "A deep, unfrozen copy of v's lists and maps (immutable values are shared)", b_copy, 1, 1},
    {"", "push", "push(xs, v)", kInstant, "Appends v to the list xs", b_push, 2, 2},
    {"", "pop", "pop(xs)", kInstant,
     "Removes and returns the last element of xs (IndexError when empty)", b_pop, 1, 1},
    {"", "insert", "insert(xs, i, v)", kInstant,
     "Inserts v before index i of xs (negative i counts from the end; past either end clamps, as Python)",
     b_insert, 3, 3},
    {"", "remove", "remove(xs, i)", kInstant, "Removes and returns xs[i]", b_remove, 2, 2},
    {"", "keys", "keys(m)", kInstant, "A new list of m's keys in insertion order", b_keys, 1, 1},
    {"", "values", "values(m)", kInstant, "A new list of m's values in insertion order",
     b_values, 1, 1},
    {"", "has", "has(m, k)", kInstant, "True when the map m has the key k", b_has, 2, 2},
    {"", "delete", "delete(m, k)", kInstant, "Removes the key k from m if present", b_delete, 2, 2},
    {"", "sort", "sort(xs, less = nil)", kInstant,
     "A new stably sorted list; less(a, b) returns true when a goes first (default: <)",
     b_sort, 1, 2, true},
    {"", "min", "min(a, b, ...) or min(xs)", kInstant,
     "The smallest of the arguments, or of the list or range xs (ValueError when empty)",
     b_min, 1, -1},
    {"", "max", "max(a, b, ...) or max(xs)", kInstant,
     "The largest of the arguments, or of the list or range xs (ValueError when empty)",
     b_max, 1, -1},
    {"", "abs", "abs(x)", kInstant, "The absolute value of an int or float", b_abs, 1, 1},
    {"", "effect", "effect(f)", kInstant,
     "The effect of a native function: \"instant\", \"yields\" or \"blocks\"", b_effect, 1, 1},
    // blocks, not instant: help writes to standard output exactly as print does.
    {"", "help", "help(f)", Effect::Blocks,
     "Prints the signature, effect and description of a native function or of every function in a module",
     b_help, 0, 1, false, true},
};

}  // namespace

std::span<const NativeEntry> builtin_entries() { return kBuiltins; }

}  // namespace tsk::stdlib
