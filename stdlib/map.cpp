// The `map` module (SPEC §11): whole-map views and combinations. Every function is
// instant and returns a new value; none modifies its arguments.
#include "stdlib/natives.hpp"
#include "vm/heap.hpp"

namespace tsk::stdlib {

namespace {

using vm::Effect;
using vm::List;
using vm::Map;
using vm::NativeEntry;

Value m_items(TaskState& t, Value* a, int) {
  Map* m = arg_map(t, a, 0, "map.items", "m");
  List* out = t.heap.list();
  out->items.reserve(m->count);
  for (const Map::Entry& e : m->entries) {
    if (e.key.is(Tag::Undef)) continue;
    List* pair = t.heap.list();
    pair->items = {e.key, e.value};
    out->items.push_back(Value::object(pair));
  }
  return Value::object(out);
}

// Shallow, as Python's {**a, **b}: the values themselves are shared, not copied.
Value m_merge(TaskState& t, Value* a, int) {
  Map* x = arg_map(t, a, 0, "map.merge", "a");
  Map* y = arg_map(t, a, 1, "map.merge", "b");
  Map* out = t.heap.map();
  for (const Map* src : {x, y})
    for (const Map::Entry& e : src->entries)
      if (!e.key.is(Tag::Undef)) vm::map_set(out, e.key, e.value);
  return Value::object(out);
}

Value m_get(TaskState& t, Value* a, int nargs) {
  Map* m = arg_map(t, a, 0, "map.get", "m");
  // As m[k]: nil is never a key, so it reads as missing; an unfrozen list is a TypeError.
  if (a[1].is_nil()) return nargs > 2 ? a[2] : Value::nil();
  check_key(t, a[1]);
  Value v = vm::map_get(m, a[1]);
  if (!v.is(Tag::Undef)) return v;
  return nargs > 2 ? a[2] : Value::nil();
}

constexpr Effect kInstant = Effect::Instant;

const NativeEntry kMap[] = {
    {"map", "items", "items(m)", kInstant, "A new list of [key, value] pairs of m in insertion order", m_items, 1, 1},
    {"map", "merge", "merge(a, b)", kInstant, "A new map with the entries of a, then of b (b wins on equal keys)", m_merge, 2, 2},
    {"map", "get", "get(m, k, default = nil)", kInstant, "m[k] when m has the key k, else default", m_get, 2, 3},
};

}  // namespace

vm::ModuleDef map_module() {
  return {"map", "Functions on whole maps", kMap, nullptr};
}

}  // namespace tsk::stdlib
