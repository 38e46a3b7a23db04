// The slow paths of the operators (see vm/arith.hpp): mixed types, overflow checks,
// strings, lists, maps and every error case. Int arithmetic is checked: a result that
// does not fit 64 bits raises OverflowError, never wraps (SPEC §2).
#include "vm/arith.hpp"

#include <cmath>
#include <cstring>
#include <string>

#include "vm/ops.hpp"

namespace tsk::vm {

namespace {

const char* op_symbol(Op op) {
  switch (op) {
    case Op::ADD: case Op::ADDK: return "+";
    case Op::SUB: case Op::SUBK: return "-";
    case Op::MUL: case Op::MULK: return "*";
    case Op::DIV: case Op::DIVK: return "/";
    case Op::IDIV: case Op::IDIVK: return "//";
    case Op::MOD: case Op::MODK: return "%";
    case Op::POW: return "**";
    case Op::BAND: return "&";
    case Op::BOR: return "|";
    case Op::BXOR: return "^";
    case Op::SHL: return "<<";
    case Op::SHR: return ">>";
    default: return "?";
  }
}

[[noreturn]] void operand_error(TaskState& t, Op op, Value a, Value b) {
  t.raise("TypeError", std::string("unsupported operand types for ") + op_symbol(op) + ": '" +
                           type_name(a) + "' and '" + type_name(b) + "'");
}

[[noreturn]] void overflow(TaskState& t, Op op) {
  t.raise("OverflowError", std::string("integer overflow in ") + op_symbol(op));
}

int64_t floor_div(TaskState& t, int64_t a, int64_t b) {
  if (b == 0) t.raise("ZeroDivisionError", "integer division by zero");
  if (a == INT64_MIN && b == -1) overflow(t, Op::IDIV);
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

int64_t floor_mod(TaskState& t, int64_t a, int64_t b) {
  if (b == 0) t.raise("ZeroDivisionError", "integer modulo by zero");
  if (b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

// Python's float floor division and modulo (floatobject.c's divmod): exact signs, and
// IEEE results (inf, nan) for a zero divisor as SPEC's `/` rule extends to floats.
double float_mod(double a, double b) {
  if (b == 0) return std::nan("");
  double m = std::fmod(a, b);
  if (m != 0) {
    if ((b < 0) != (m < 0)) m += b;
  } else {
    m = std::copysign(0.0, b);
  }
  return m;
}

double float_floor_div(double a, double b) {
  if (b == 0) return std::floor(a / b);
  double m = std::fmod(a, b);
  double div = (a - m) / b;
  if (m != 0 && ((b < 0) != (m < 0))) div -= 1.0;
  if (div != 0) {
    double fl = std::floor(div);
    if (div - fl > 0.5) fl += 1.0;
    return fl;
  }
  return std::copysign(0.0, a / b);
}

int64_t int_pow(TaskState& t, int64_t base, int64_t exp) {
  int64_t result = 1;
  while (exp > 0) {
    if (exp & 1) {
      if (__builtin_mul_overflow(result, base, &result)) overflow(t, Op::POW);
    }
    exp >>= 1;
    if (exp > 0 && __builtin_mul_overflow(base, base, &base)) overflow(t, Op::POW);
  }
  return result;
}

int64_t as_int_or_raise(TaskState& t, Op op, Value a, Value b) {
  if (a.tag != Tag::Int || b.tag != Tag::Int) operand_error(t, op, a, b);
  return 0;
}

// Normalises index `i` into [0, len) (negative counts from the end) or raises.
size_t checked_index(TaskState& t, Value key, size_t len, const char* what) {
  if (key.tag != Tag::Int)
    t.raise("TypeError", std::string(what) + " index must be an int, not " + type_name(key));
  int64_t i = key.i;
  if (i < 0) i += int64_t(len);
  if (i < 0 || i >= int64_t(len))
    t.raise("IndexError", std::string(what) + " index " + std::to_string(key.i) +
                              " out of range for length " + std::to_string(len));
  return size_t(i);
}

// Python's slice bound: nil is the default, negatives count from the end, then clamp.
int64_t slice_bound(TaskState& t, Value v, int64_t len, int64_t dflt) {
  if (v.is_nil()) return dflt;
  if (v.tag != Tag::Int) t.raise("TypeError", std::string("slice bounds must be ints, not ") + type_name(v));
  int64_t i = v.i;
  if (i < 0) i += len;
  if (i < 0) i = 0;
  if (i > len) i = len;
  return i;
}

// Three-way comparison of two numbers, exact across int and float. Returns false
// (unordered) when either is nan.
bool compare_numbers(Value a, Value b, int& cmp) {
  if (a.tag == Tag::Int && b.tag == Tag::Int) {
    cmp = a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
    return true;
  }
  if (a.tag == Tag::Float && b.tag == Tag::Float) {
    if (std::isnan(a.f) || std::isnan(b.f)) return false;
    cmp = a.f < b.f ? -1 : a.f > b.f ? 1 : 0;
    return true;
  }
  // One int, one float: compare without rounding the int.
  bool swapped = a.tag == Tag::Float;
  int64_t i = swapped ? b.i : a.i;
  double f = swapped ? a.f : b.f;
  if (std::isnan(f)) return false;
  int c;
  if (f >= 9223372036854775808.0) c = -1;
  else if (f < -9223372036854775808.0) c = 1;
  else {
    double fl = std::floor(f);
    int64_t fi = int64_t(fl);
    if (i < fi) c = -1;
    else if (i > fi) c = 1;
    else c = (f > fl) ? -1 : 0;
  }
  cmp = swapped ? -c : c;
  return true;
}

}  // namespace

Value binary_op(TaskState& t, Op op, Value a, Value b) {
  switch (op) {
    case Op::ADD: case Op::ADDK:
      if (a.tag == Tag::String && b.tag == Tag::String) {
        std::string s;
        s.reserve(a.as_string()->len + b.as_string()->len);
        s.append(a.as_string()->view());
        s.append(b.as_string()->view());
        return Value::object(t.heap.string(s));
      }
      if (a.tag == Tag::List && b.tag == Tag::List) {
        List* l = t.heap.list();
        l->items.reserve(a.as_list()->items.size() + b.as_list()->items.size());
        l->items = a.as_list()->items;
        l->items.insert(l->items.end(), b.as_list()->items.begin(), b.as_list()->items.end());
        return Value::object(l);
      }
      if (a.tag == Tag::Int && b.tag == Tag::Int) {
        int64_t r;
        if (__builtin_add_overflow(a.i, b.i, &r)) overflow(t, op);
        return Value::integer(r);
      }
      if (a.is_number() && b.is_number()) return Value::number(a.to_double() + b.to_double());
      operand_error(t, op, a, b);
    case Op::SUB: case Op::SUBK:
      if (a.tag == Tag::Int && b.tag == Tag::Int) {
        int64_t r;
        if (__builtin_sub_overflow(a.i, b.i, &r)) overflow(t, op);
        return Value::integer(r);
      }
      if (a.is_number() && b.is_number()) return Value::number(a.to_double() - b.to_double());
      operand_error(t, op, a, b);
    case Op::MUL: case Op::MULK:
      if (a.tag == Tag::Int && b.tag == Tag::Int) {
        int64_t r;
        if (__builtin_mul_overflow(a.i, b.i, &r)) overflow(t, op);
        return Value::integer(r);
      }
      if (a.is_number() && b.is_number()) return Value::number(a.to_double() * b.to_double());
      operand_error(t, op, a, b);
    case Op::DIV:
      if (a.is_number() && b.is_number()) return Value::number(a.to_double() / b.to_double());
      operand_error(t, op, a, b);
    case Op::IDIV:
      if (a.tag == Tag::Int && b.tag == Tag::Int) return Value::integer(floor_div(t, a.i, b.i));
      if (a.is_number() && b.is_number()) return Value::number(float_floor_div(a.to_double(), b.to_double()));
      operand_error(t, op, a, b);
    case Op::MOD: case Op::MODK:
      if (a.tag == Tag::Int && b.tag == Tag::Int) return Value::integer(floor_mod(t, a.i, b.i));
      if (a.is_number() && b.is_number()) return Value::number(float_mod(a.to_double(), b.to_double()));
      operand_error(t, op, a, b);
    case Op::POW:
      if (a.tag == Tag::Int && b.tag == Tag::Int && b.i >= 0) return Value::integer(int_pow(t, a.i, b.i));
      if (a.is_number() && b.is_number()) return Value::number(std::pow(a.to_double(), b.to_double()));
      operand_error(t, op, a, b);
    case Op::BAND: as_int_or_raise(t, op, a, b); return Value::integer(a.i & b.i);
    case Op::BOR: as_int_or_raise(t, op, a, b); return Value::integer(a.i | b.i);
    case Op::BXOR: as_int_or_raise(t, op, a, b); return Value::integer(a.i ^ b.i);
    case Op::SHL: {
      as_int_or_raise(t, op, a, b);
      if (b.i < 0) t.raise("ValueError", "negative shift count");
      if (a.i == 0) return Value::integer(0);
      if (b.i >= 64) overflow(t, op);
      int64_t r = int64_t(uint64_t(a.i) << b.i);
      if ((r >> b.i) != a.i) overflow(t, op);
      return Value::integer(r);
    }
    case Op::SHR:
      as_int_or_raise(t, op, a, b);
      if (b.i < 0) t.raise("ValueError", "negative shift count");
      return Value::integer(b.i >= 64 ? (a.i < 0 ? -1 : 0) : (a.i >> b.i));
    default:
      operand_error(t, op, a, b);
  }
}

Value negate(TaskState& t, Value a) {
  if (a.tag == Tag::Int) {
    if (a.i == INT64_MIN) t.raise("OverflowError", "integer overflow in unary -");
    return Value::integer(-a.i);
  }
  if (a.tag == Tag::Float) return Value::number(-a.f);
  t.raise("TypeError", std::string("bad operand type for unary -: '") + type_name(a) + "'");
}

Value bit_not(TaskState& t, Value a) {
  if (a.tag == Tag::Int) return Value::integer(~a.i);
  t.raise("TypeError", std::string("bad operand type for unary ~: '") + type_name(a) + "'");
}

bool compare_less(TaskState& t, Value a, Value b, bool or_equal) {
  if (a.is_number() && b.is_number()) {
    int cmp;
    if (!compare_numbers(a, b, cmp)) return false;
    return or_equal ? cmp <= 0 : cmp < 0;
  }
  if (a.tag == Tag::String && b.tag == Tag::String) {
    int cmp = a.as_string()->view().compare(b.as_string()->view());
    return or_equal ? cmp <= 0 : cmp < 0;
  }
  t.raise("TypeError", std::string("cannot compare ") + type_name(a) + " and " + type_name(b) +
                           " with " + (or_equal ? "<=" : "<"));
}

bool contains(TaskState& t, Value c, Value item) {
  switch (c.tag) {
    case Tag::List:
      for (Value v : c.as_list()->items)
        if (equal(v, item)) return true;
      return false;
    case Tag::Map:
      if (!hashable(item)) return false;
      return map_get(c.as_map(), item).tag != Tag::Undef;
    case Tag::String:
      if (item.tag != Tag::String)
        t.raise("TypeError", std::string("'in <string>' needs a string on the left, not ") + type_name(item));
      return c.as_string()->view().find(item.as_string()->view()) != std::string_view::npos;
    case Tag::Range: {
      // Membership is by == (SPEC §2): a float equal to an integer member is in the
      // range (2.0 in 0..3), any other float (2.5, nan, inf) is not.
      Range* r = c.as_range();
      int64_t k;
      if (item.tag == Tag::Int) {
        k = item.i;
      } else if (item.tag == Tag::Float) {
        constexpr double kTwo63 = 9223372036854775808.0;  // every int64 is below it
        if (!(item.f >= -kTwo63 && item.f < kTwo63) || std::trunc(item.f) != item.f) return false;
        k = int64_t(item.f);
      } else {
        return false;
      }
      return k >= r->start && (r->inclusive ? k <= r->stop : k < r->stop);
    }
    default:
      t.raise("TypeError", std::string("'in' needs a list, map, string or range on the right, not ") +
                               type_name(c));
  }
}

void check_key(TaskState& t, Value key) {
  if (key.is_nil()) t.raise("TypeError", "a map key cannot be nil");
  if (!hashable(key)) t.raise("TypeError", std::string("unhashable map key: ") + type_name(key) +
                                               " (freeze it to use it as a key)");
}

Value get_index(TaskState& t, Value obj, Value key) {
  switch (obj.tag) {
    case Tag::List: {
      auto& items = obj.as_list()->items;
      return items[checked_index(t, key, items.size(), "list")];
    }
    case Tag::String: {
      String* s = obj.as_string();
      size_t i = checked_index(t, key, s->len, "string");
      return Value::object(Heap::byte_string(static_cast<unsigned char>(s->data()[i])));
    }
    case Tag::Map: {
      if (key.is_nil()) return Value::nil();
      check_key(t, key);
      Value v = map_get(obj.as_map(), key);
      return v.tag == Tag::Undef ? Value::nil() : v;
    }
    case Tag::Range: {
      Range* r = obj.as_range();
      int64_t len = r->stop - r->start + (r->inclusive ? 1 : 0);
      if (len < 0) len = 0;
      return Value::integer(r->start + int64_t(checked_index(t, key, size_t(len), "range")));
    }
    default:
      t.raise("TypeError", std::string("cannot index ") + type_name(obj));
  }
}

void set_index(TaskState& t, Value obj, Value key, Value v) {
  switch (obj.tag) {
    case Tag::List: {
      if (obj.o->frozen()) t.raise("FrozenError", "cannot modify a frozen list");
      auto& items = obj.as_list()->items;
      items[checked_index(t, key, items.size(), "list")] = v;
      return;
    }
    case Tag::Map:
      if (obj.o->frozen()) t.raise("FrozenError", "cannot modify a frozen map");
      check_key(t, key);
      map_set(obj.as_map(), key, v);
      return;
    case Tag::String:
      t.raise("TypeError", "strings are immutable");
    default:
      t.raise("TypeError", std::string("cannot assign to an index of ") + type_name(obj));
  }
}

Value get_field(TaskState& t, Value obj, String* name) {
  switch (obj.tag) {
    case Tag::Map: {
      Value v = map_get(obj.as_map(), Value::object(name));
      return v.tag == Tag::Undef ? Value::nil() : v;
    }
    case Tag::Module: {
      Module* m = obj.as_module();
      Value slot = m->exports ? map_get(m->exports, Value::object(name)) : Value::undef();
      if (slot.tag != Tag::Int)
        t.raise("Error", "module '" + std::string(m->name->view()) + "' has no member '" +
                             std::string(name->view()) + "'");
      Value v = m->globals[size_t(slot.i)];
      if (v.tag == Tag::Undef)
        t.raise("Error", "'" + std::string(name->view()) + "' of module '" +
                             std::string(m->name->view()) + "' used before its declaration");
      return v;
    }
    case Tag::Error: {
      Error* e = obj.as_error();
      std::string_view n = name->view();
      if (n == "message") return Value::object(e->message);
      if (n == "kind") return Value::object(e->kind);
      if (n == "trace") {
        std::string text;
        for (auto& line : e->trace) {
          if (!text.empty()) text += "\n";
          text += TaskState::format_trace_line(line);
        }
        return Value::object(t.heap.string(text));
      }
      t.raise("TypeError", "an error has no field '" + std::string(n) + "' (it has message, kind, trace)");
    }
    default:
      t.raise("TypeError", std::string("cannot read field '") + std::string(name->view()) + "' of " +
                               type_name(obj));
  }
}

void set_field(TaskState& t, Value obj, String* name, Value v) {
  switch (obj.tag) {
    case Tag::Map:
      if (obj.o->frozen()) t.raise("FrozenError", "cannot modify a frozen map");
      map_set(obj.as_map(), Value::object(name), v);
      return;
    case Tag::Module:
      t.raise("FrozenError", "cannot assign to '" + std::string(name->view()) + "': module '" +
                                 std::string(obj.as_module()->name->view()) + "' is read-only");
    default:
      t.raise("TypeError", std::string("cannot set field '") + std::string(name->view()) + "' of " +
                               type_name(obj));
  }
}

Value slice(TaskState& t, Value obj, Value from, Value to) {
  if (obj.tag == Tag::List) {
    auto& items = obj.as_list()->items;
    int64_t len = int64_t(items.size());
    int64_t a = slice_bound(t, from, len, 0), b = slice_bound(t, to, len, len);
    List* l = t.heap.list();
    if (b > a) l->items.assign(items.begin() + a, items.begin() + b);
    return Value::object(l);
  }
  if (obj.tag == Tag::String) {
    String* s = obj.as_string();
    int64_t len = s->len;
    int64_t a = slice_bound(t, from, len, 0), b = slice_bound(t, to, len, len);
    return Value::object(t.heap.string(b > a ? std::string_view(s->data() + a, size_t(b - a)) : ""));
  }
  t.raise("TypeError", std::string("cannot slice ") + type_name(obj));
}

}  // namespace tsk::vm
