// The `math` module (SPEC §11): constants, the C math functions with Python's error
// rules, and the float-to-int roundings. Every function is instant.
//
// Error rules (as Python's math module): a nan result from a non-nan argument is a
// ValueError ("math domain error"); an infinite result from finite arguments is an
// OverflowError ("math range error"); log of zero or a negative number is a ValueError.
// floor/ceil/round/trunc return ints: ValueError on nan, OverflowError on inf or a value
// outside int64. ints pass through them unchanged.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <numbers>

#include "stdlib/natives.hpp"

namespace tsk::stdlib {

namespace {

using vm::Effect;
using vm::NativeEntry;

[[noreturn]] void domain_error(TaskState& t, const char* fn) {
  t.raise("ValueError", std::string("math.") + fn + "(): math domain error");
}

double checked(TaskState& t, const char* fn, double result, bool finite_args, bool nan_args) {
  if (std::isnan(result) && !nan_args) domain_error(t, fn);
  if (std::isinf(result) && finite_args)
    t.raise("OverflowError", std::string("math.") + fn + "(): math range error");
  return result;
}

double number(TaskState& t, Value* args, int i, const char* fn, const char* param) {
  // The qualified name is only built on the error path: these checks run on every call.
  if (!args[i].is_number()) type_error(t, std::string("math.") + fn, param, "a number", args[i]);
  return args[i].to_double();
}

template <double (*F)(double)>
Value unary(TaskState& t, Value* args, const char* fn) {
  double x = number(t, args, 0, fn, "x");
  return Value::number(checked(t, fn, F(x), std::isfinite(x), std::isnan(x)));
}

double c_sqrt(double x) { return std::sqrt(x); }
double c_sin(double x) { return std::sin(x); }
double c_cos(double x) { return std::cos(x); }
double c_tan(double x) { return std::tan(x); }
double c_asin(double x) { return std::asin(x); }
double c_acos(double x) { return std::acos(x); }
double c_atan(double x) { return std::atan(x); }
double c_exp(double x) { return std::exp(x); }

Value m_sqrt(TaskState& t, Value* a, int) { return unary<c_sqrt>(t, a, "sqrt"); }
Value m_sin(TaskState& t, Value* a, int) { return unary<c_sin>(t, a, "sin"); }
Value m_cos(TaskState& t, Value* a, int) { return unary<c_cos>(t, a, "cos"); }
Value m_tan(TaskState& t, Value* a, int) { return unary<c_tan>(t, a, "tan"); }
Value m_asin(TaskState& t, Value* a, int) { return unary<c_asin>(t, a, "asin"); }
Value m_acos(TaskState& t, Value* a, int) { return unary<c_acos>(t, a, "acos"); }
Value m_atan(TaskState& t, Value* a, int) { return unary<c_atan>(t, a, "atan"); }
Value m_exp(TaskState& t, Value* a, int) { return unary<c_exp>(t, a, "exp"); }

Value m_atan2(TaskState& t, Value* a, int) {
  double y = number(t, a, 0, "atan2", "y"), x = number(t, a, 1, "atan2", "x");
  return Value::number(std::atan2(y, x));
}

Value m_hypot(TaskState& t, Value* a, int) {
  double x = number(t, a, 0, "hypot", "x"), y = number(t, a, 1, "hypot", "y");
  double r = std::hypot(x, y);
  return Value::number(checked(t, "hypot", r, std::isfinite(x) && std::isfinite(y), true));
}

// Natural log of a positive argument; zero and negatives are outside the domain.
double positive_log(TaskState& t, double x, const char* fn) {
  if (std::isnan(x)) return x;
  if (x <= 0) domain_error(t, fn);
  return std::log(x);
}

Value m_log(TaskState& t, Value* a, int nargs) {
  double x = number(t, a, 0, "log", "x");
  double lx = positive_log(t, x, "log");
  if (nargs < 2) return Value::number(lx);
  double base = number(t, a, 1, "log", "base");
  // log(base) is 0 here: Python's log(x, 1) divides by it and raises ZeroDivisionError.
  if (base == 1.0) t.raise("ZeroDivisionError", "math.log(): base 1 has a zero logarithm");
  return Value::number(lx / positive_log(t, base, "log"));
}

Value m_log2(TaskState& t, Value* a, int) {
  double x = number(t, a, 0, "log2", "x");
  positive_log(t, x, "log2");
  return Value::number(std::log2(x));
}

Value m_log10(TaskState& t, Value* a, int) {
  double x = number(t, a, 0, "log10", "x");
  positive_log(t, x, "log10");
  return Value::number(std::log10(x));
}

// {=== float -> int

Value to_int(TaskState& t, const char* fn, double r) {
  if (std::isnan(r)) t.raise("ValueError", std::string("math.") + fn + "(): cannot convert nan to int");
  if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0))
    t.raise("OverflowError", std::string("math.") + fn + "(): " +
                                 (std::isinf(r) ? std::string("cannot convert inf to int")
                                                : std::string("result out of the int range")));
  return Value::integer(int64_t(r));
}

double round_half_even(double x) {
  double r = std::round(x);  // halves away from zero
  if (std::fabs(x - std::trunc(x)) == 0.5) r = 2.0 * std::round(x / 2.0);
  return r;
}

template <double (*F)(double)>
Value rounding(TaskState& t, Value* a, const char* fn) {
  if (a[0].is(Tag::Int)) return a[0];
  return to_int(t, fn, F(number(t, a, 0, fn, "x")));
}

double c_floor(double x) { return std::floor(x); }
double c_ceil(double x) { return std::ceil(x); }
double c_trunc(double x) { return std::trunc(x); }

Value m_floor(TaskState& t, Value* a, int) { return rounding<c_floor>(t, a, "floor"); }
Value m_ceil(TaskState& t, Value* a, int) { return rounding<c_ceil>(t, a, "ceil"); }
Value m_trunc(TaskState& t, Value* a, int) { return rounding<c_trunc>(t, a, "trunc"); }

// round(x) -> int, halves to even. round(x, ndigits) -> a number rounded to ndigits
// decimals (a float for a float x, as Python). For ndigits >= 0 the decimal rounding is
// printf's, which rounds the exact binary value (round(2.675, 2) == 2.67, as Python).
Value m_round(TaskState& t, Value* a, int nargs) {
  if (nargs < 2 || a[1].is_nil()) return rounding<round_half_even>(t, a, "round");
  int64_t nd = arg_int(t, a, 1, "math.round", "ndigits");
  if (a[0].is(Tag::Int)) {
    if (nd >= 0) return a[0];
    if (nd < -18) return Value::integer(0);
    int64_t unit = 1;
    for (int64_t k = 0; k < -nd; ++k) unit *= 10;
    __int128 x = a[0].i, q = x / unit, rem = x % unit;
    if (rem < 0) { rem += unit; q -= 1; }  // floor division
    if (2 * rem > unit || (2 * rem == unit && (q & 1))) q += 1;
    __int128 r = q * unit;
    if (r > INT64_MAX || r < INT64_MIN) t.raise("OverflowError", "math.round(): integer overflow");
    return Value::integer(int64_t(r));
  }
  double x = number(t, a, 0, "round", "x");
  if (!std::isfinite(x)) return Value::number(x);
  if (nd > 330) return Value::number(x);  // beyond the last digit a double has
  if (nd < 0) {
    if (nd < -330) return Value::number(0.0 * x);
    double unit = std::pow(10.0, double(-nd));
    return Value::number(round_half_even(x / unit) * unit);
  }
  char buf[512];
  int len = std::snprintf(buf, sizeof buf, "%.*f", int(nd), x);
  double r = x;
  if (len > 0 && size_t(len) < sizeof buf) std::from_chars(buf, buf + len, r);
  return Value::number(r);
}

// }===

Value m_is_nan(TaskState& t, Value* a, int) {
  return Value::boolean(std::isnan(number(t, a, 0, "is_nan", "x")));
}

Value m_is_inf(TaskState& t, Value* a, int) {
  return Value::boolean(std::isinf(number(t, a, 0, "is_inf", "x")));
}

void add_constants(vm::Heap&, const std::vector<std::string>&,
                   void (*add)(void* ctx, const char* name, Value v), void* ctx) {
  add(ctx, "pi", Value::number(std::numbers::pi));
  add(ctx, "e", Value::number(std::numbers::e));
  add(ctx, "inf", Value::number(HUGE_VAL));
  add(ctx, "nan", Value::number(std::nan("")));
}

constexpr Effect kInstant = Effect::Instant;

const NativeEntry kMath[] = {
    {"math", "sqrt", "sqrt(x)", kInstant, "The square root of x (ValueError when x < 0)", m_sqrt, 1, 1},
    {"math", "sin", "sin(x)", kInstant, "The sine of x radians", m_sin, 1, 1},
    {"math", "cos", "cos(x)", kInstant, "The cosine of x radians", m_cos, 1, 1},
    {"math", "tan", "tan(x)", kInstant, "The tangent of x radians", m_tan, 1, 1},
    {"math", "asin", "asin(x)", kInstant, "The arc sine of x, in radians (ValueError outside [-1, 1])", m_asin, 1, 1},
    {"math", "acos", "acos(x)", kInstant, "The arc cosine of x, in radians (ValueError outside [-1, 1])", m_acos, 1, 1},
    {"math", "atan", "atan(x)", kInstant, "The arc tangent of x, in radians", m_atan, 1, 1},
    {"math", "atan2", "atan2(y, x)", kInstant, "The angle of the point (x, y) from the x axis, in radians", m_atan2, 2, 2},
    {"math", "exp", "exp(x)", kInstant, "e raised to the power x (OverflowError when too large)", m_exp, 1, 1},
    {"math", "log", "log(x, base = e)", kInstant, "The logarithm of x, natural or to the given base (ValueError when x <= 0)", m_log, 1, 2},
    {"math", "log2", "log2(x)", kInstant, "The base-2 logarithm of x", m_log2, 1, 1},
    {"math", "log10", "log10(x)", kInstant, "The base-10 logarithm of x", m_log10, 1, 1},
    {"math", "hypot", "hypot(x, y)", kInstant, "The length of the vector (x, y): sqrt(x*x + y*y) without overflow", m_hypot, 2, 2},
    {"math", "floor", "floor(x)", kInstant, "The largest int <= x", m_floor, 1, 1},
    {"math", "ceil", "ceil(x)", kInstant, "The smallest int >= x", m_ceil, 1, 1},
    {"math", "round", "round(x, ndigits = nil)", kInstant, "x rounded to the nearest int, halves to even; with ndigits, to that many decimals", m_round, 1, 2},
    {"math", "trunc", "trunc(x)", kInstant, "x rounded toward zero, as an int", m_trunc, 1, 1},
    {"math", "is_nan", "is_nan(x)", kInstant, "True when x is a float nan", m_is_nan, 1, 1},
    {"math", "is_inf", "is_inf(x)", kInstant, "True when x is a float infinity (either sign)", m_is_inf, 1, 1},
};

}  // namespace

vm::ModuleDef math_module() {
  return {"math", "Mathematical constants (pi e inf nan) and functions on numbers", kMath,
          add_constants};
}

}  // namespace tsk::stdlib
