// The `list` module (SPEC §11): new-list transformations and folds over lists.
// Every function returns a new list (the argument is never modified) and is instant,
// except that map/filter/reduce/any/all run the script callback given to them.
//
// Callbacks: each native copies its arguments into locals first (`args` points into the
// caller's registers, which may move while the callback runs), roots the input list, the
// callback and the output, and re-reads the input's length on every step, so a callback
// that grows or shrinks the list cannot make it read out of bounds.
#include "stdlib/natives.hpp"
#include "vm/heap.hpp"

namespace tsk::stdlib {

namespace {

using vm::Effect;
using vm::List;
using vm::NativeEntry;

List* list_arg(TaskState& t, Value* a, int i, const char* fn, const char* param) {
  if (!a[i].is(Tag::List)) type_error(t, std::string("list.") + fn, param, "a list", a[i]);
  return a[i].as_list();
}

Value optional_callable(TaskState& t, Value* a, int nargs, int i, const char* fn) {
  if (nargs <= i || a[i].is_nil()) return Value::nil();
  return arg_callable(t, a, i, std::string("list.") + fn, "f");
}

Value l_reverse(TaskState& t, Value* a, int) {
  List* xs = list_arg(t, a, 0, "reverse", "xs");
  List* out = t.heap.list();
  out->items.assign(xs->items.rbegin(), xs->items.rend());
  return Value::object(out);
}

Value l_index(TaskState& t, Value* a, int) {
  List* xs = list_arg(t, a, 0, "index", "xs");
  for (size_t i = 0; i < xs->items.size(); ++i)
    if (vm::equal(xs->items[i], a[1])) return Value::integer(int64_t(i));
  return Value::nil();
}

Value l_map(TaskState& t, Value* a, int) {
  List* xs = list_arg(t, a, 0, "map", "xs");
  Value f = arg_callable(t, a, 1, "list.map", "f");
  List* out = t.heap.list();
  TaskState::Root keep_xs(t, Value::object(xs)), keep_f(t, f), keep_out(t, Value::object(out));
  for (size_t i = 0; i < xs->items.size(); ++i) {
    Value x = xs->items[i];
    out->items.push_back(t.call(f, &x, 1));
  }
  return Value::object(out);
}

Value l_filter(TaskState& t, Value* a, int) {
  List* xs = list_arg(t, a, 0, "filter", "xs");
  Value f = arg_callable(t, a, 1, "list.filter", "f");
  List* out = t.heap.list();
  TaskState::Root keep_xs(t, Value::object(xs)), keep_f(t, f), keep_out(t, Value::object(out));
  for (size_t i = 0; i < xs->items.size(); ++i) {
    Value x = xs->items[i];
    if (t.call(f, &x, 1).truthy()) out->items.push_back(x);
  }
  return Value::object(out);
}

Value l_reduce(TaskState& t, Value* a, int) {
  List* xs = list_arg(t, a, 0, "reduce", "xs");
  Value f = arg_callable(t, a, 1, "list.reduce", "f");
  Value acc = a[2];
  TaskState::Root keep_xs(t, Value::object(xs)), keep_f(t, f);
  // The accumulator changes on every step: its root slot is rewritten in place.
  size_t acc_slot = t.roots.size();
  TaskState::Root keep_acc(t, acc);
  for (size_t i = 0; i < xs->items.size(); ++i) {
    Value pair[2] = {acc, xs->items[i]};
    acc = t.call(f, pair, 2);
    t.roots[acc_slot] = acc;
  }
  return acc;
}

Value quantified(TaskState& t, Value* a, int nargs, const char* fn, bool want_all) {
  List* xs = list_arg(t, a, 0, fn, "xs");
  Value f = optional_callable(t, a, nargs, 1, fn);
  TaskState::Root keep_xs(t, Value::object(xs)), keep_f(t, f);
  for (size_t i = 0; i < xs->items.size(); ++i) {
    Value x = xs->items[i];
    bool yes = f.is_nil() ? x.truthy() : t.call(f, &x, 1).truthy();
    if (yes != want_all) return Value::boolean(!want_all);
  }
  return Value::boolean(want_all);
}

Value l_any(TaskState& t, Value* a, int n) { return quantified(t, a, n, "any", false); }
Value l_all(TaskState& t, Value* a, int n) { return quantified(t, a, n, "all", true); }

Value l_sum(TaskState& t, Value* a, int) {
  List* xs = list_arg(t, a, 0, "sum", "xs");
  int64_t isum = 0;
  double fsum = 0;
  bool is_float = false;
  for (size_t i = 0; i < xs->items.size(); ++i) {
    Value x = xs->items[i];
    if (x.is(Tag::Int) && !is_float) {
      if (__builtin_add_overflow(isum, x.i, &isum))
        t.raise("OverflowError", "list.sum(): integer overflow");
    } else if (x.is_number()) {
      if (!is_float) {
        fsum = double(isum);
        is_float = true;
      }
      fsum += x.to_double();
    } else {
      t.raise("TypeError", "list.sum(): item " + std::to_string(i) + " is " +
                               vm::type_name(x) + ", not a number");
    }
  }
  return is_float ? Value::number(fsum) : Value::integer(isum);
}

Value l_range(TaskState& t, Value* a, int nargs) {
  int64_t start = arg_int(t, a, 0, "list.range", "a");
  int64_t stop = arg_int(t, a, 1, "list.range", "b");
  int64_t step = nargs > 2 ? arg_int(t, a, 2, "list.range", "step") : 1;
  if (step == 0) t.raise("ValueError", "list.range(): step must not be zero");
  __int128 span = step > 0 ? __int128(stop) - start : __int128(start) - stop;
  __int128 mag = step > 0 ? __int128(step) : -__int128(step);
  __int128 count = span <= 0 ? 0 : (span + mag - 1) / mag;
  check_list_size(t, size_t(std::min<__int128>(count, __int128(kMaxListItems) + 1)), "list.range");
  List* out = t.heap.list();
  out->items.reserve(size_t(count));
  __int128 x = start;
  for (__int128 k = 0; k < count; ++k, x += step) out->items.push_back(Value::integer(int64_t(x)));
  return Value::object(out);
}

Value l_concat(TaskState& t, Value* a, int) {
  List* lists = list_arg(t, a, 0, "concat", "lists");
  size_t total = 0;
  for (size_t i = 0; i < lists->items.size(); ++i) {
    Value l = lists->items[i];
    if (!l.is(Tag::List))
      t.raise("TypeError", "list.concat(): item " + std::to_string(i) + " is " +
                               vm::type_name(l) + ", not list");
    total += l.as_list()->items.size();
  }
  check_list_size(t, total, "list.concat");
  List* out = t.heap.list();
  out->items.reserve(total);
  for (const Value& l : lists->items)
    out->items.insert(out->items.end(), l.as_list()->items.begin(), l.as_list()->items.end());
  return Value::object(out);
}

Value l_zip(TaskState& t, Value* a, int) {
  List* xs = list_arg(t, a, 0, "zip", "a");
  List* ys = list_arg(t, a, 1, "zip", "b");
  size_t n = std::min(xs->items.size(), ys->items.size());
  List* out = t.heap.list();
  out->items.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    List* pair = t.heap.list();
    pair->items = {xs->items[i], ys->items[i]};
    out->items.push_back(Value::object(pair));
  }
  return Value::object(out);
}

constexpr Effect kInstant = Effect::Instant;

const NativeEntry kList[] = {
    {"list", "reverse", "reverse(xs)", kInstant, "A new list with the items of xs in reverse order", l_reverse, 1, 1},
    {"list", "index", "index(xs, v)", kInstant, "The index of the first item of xs equal to v, or nil", l_index, 2, 2},
    {"list", "map", "map(xs, f)", kInstant, "A new list of f(x) for each item x of xs", l_map, 2, 2, true},
    {"list", "filter", "filter(xs, f)", kInstant, "A new list of the items x of xs for which f(x) is truthy", l_filter, 2, 2, true},
    {"list", "reduce", "reduce(xs, f, init)", kInstant, "Folds xs from the left: f(...f(f(init, x0), x1)..., xn)", l_reduce, 3, 3, true},
    {"list", "sum", "sum(xs)", kInstant, "The sum of the numbers in xs (0 for an empty list)", l_sum, 1, 1},
    {"list", "any", "any(xs, f = nil)", kInstant, "True when f(x) (or x itself, without f) is truthy for some item", l_any, 1, 2, true},
    {"list", "all", "all(xs, f = nil)", kInstant, "True when f(x) (or x itself, without f) is truthy for every item", l_all, 1, 2, true},
    {"list", "range", "range(a, b, step = 1)", kInstant, "A list of the ints from a up to (not including) b by step", l_range, 2, 3},
    {"list", "concat", "concat(lists)", kInstant, "A new list of the items of each list in lists, in order", l_concat, 1, 1},
    {"list", "zip", "zip(a, b)", kInstant, "A list of [a[i], b[i]] pairs, as long as the shorter list", l_zip, 2, 2},
};

}  // namespace

vm::ModuleDef list_module() {
  return {"list", "Functions that make new lists from lists", kList, nullptr};
}

}  // namespace tsk::stdlib
