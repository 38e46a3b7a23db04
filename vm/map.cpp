// The insertion-ordered hash map behind every tsk map (vm/value.hpp's Map), in the
// manner of CPython's compact dict: `entries` keeps key/value/hash in insertion order,
// `slots` is an open-addressed index of entry numbers probed linearly.
//
// Invariants:
//  - Small maps (at most kLinearMax entries, dead ones included) have no index at all:
//    `slots` is empty and lookups scan `entries`. Most maps in scripts are small records
//    ({worker: id, square: n}), and scanning 8 entries comparing hashes first beats
//    allocating and probing an index.
//  - Otherwise slots.size() is a power of two and entries.size() <= slots.size() * 2/3,
//    dead entries included, so a probe always reaches an empty slot (-1).
//  - A deleted entry keeps its place with key Undef (so iteration by entry index sees
//    the others in order) and its slot becomes -2 (a tombstone: probing continues past).
//  - `count` is the number of live entries; `changes` counts inserts and deletes (a
//    running `for` over the map compares it, vm/interp.cpp ITERNEXT).
//  - A rebuild compacts `entries` (dropping dead ones) and re-indexes; it happens on an
//    insert that would pass the load limit and on a delete that leaves most entries dead.
//    It moves entries, so code that iterates by entry index across a mutation must not
//    assume indices are stable (they are between mutations).
//
// Keys are compared hash first; strings then by pointer, then length and bytes; ints
// directly; everything else through vm::equal (1 and 1.0 are one key).
#include <cstring>

#include "vm/ops.hpp"

namespace tsk::vm {

namespace {

// 8: a scan of 8 entries (hash compares, one cache line of hashes every few entries) is
// as fast as hashing into an index, and small maps then carry no index allocation.
constexpr size_t kLinearMax = 8;

bool same_key(const Map::Entry& e, uint64_t h, Value key) {
  if (e.hash != h) return false;
  Value k = e.key;
  if (k.tag == key.tag) {
    if (k.is(Tag::String)) {
      if (k.o == key.o) return true;
      const String* a = k.as_string();
      const String* b = key.as_string();
      return a->len == b->len && std::memcmp(a->data(), b->data(), a->len) == 0;
    }
    if (k.is(Tag::Int)) return k.i == key.i;
  }
  return equal(k, key);
}

// Linear probing from the hash's low bits (vm::hash mixes all bits, so this is fine).
size_t first_slot(uint64_t h, size_t mask) { return size_t(h) & mask; }

// The entry index holding `key`, or -1.
int64_t find(const Map* m, Value key, uint64_t h) {
  if (m->slots.empty()) {
    for (size_t i = 0; i < m->entries.size(); ++i)
      if (same_key(m->entries[i], h, key)) return int64_t(i);
    return -1;
  }
  size_t mask = m->slots.size() - 1;
  for (size_t s = first_slot(h, mask);; s = (s + 1) & mask) {
    int32_t idx = m->slots[s];
    if (idx == -1) return -1;
    if (idx >= 0 && same_key(m->entries[size_t(idx)], h, key)) return idx;
  }
}

// Places entry number `idx` (with hash h) into the index at the first free slot.
void index_entry(Map* m, uint64_t h, int32_t idx) {
  size_t mask = m->slots.size() - 1;
  size_t s = first_slot(h, mask);
  while (m->slots[s] >= 0) s = (s + 1) & mask;
  m->slots[s] = idx;
}

// Compacts the entries and rebuilds the index for `need` live entries: none while that
// fits kLinearMax, else a power of two at least 3 * need (a rebuilt index is at most a
// third full, so the next rebuild comes after the map has at least doubled).
void rebuild(Map* m, size_t need) {
  if (m->count != m->entries.size()) {
    size_t out = 0;
    for (size_t i = 0; i < m->entries.size(); ++i)
      if (!m->entries[i].key.is(Tag::Undef)) m->entries[out++] = m->entries[i];
    m->entries.resize(out);
  }
  if (need <= kLinearMax) {
    m->slots.clear();
    m->slots.shrink_to_fit();
    return;
  }
  size_t cap = 16;
  while (cap < need * 3) cap *= 2;
  m->slots.assign(cap, -1);
  for (size_t i = 0; i < m->entries.size(); ++i) index_entry(m, m->entries[i].hash, int32_t(i));
}

}  // namespace

Value map_get(Map* m, Value key) {
  if (m->count == 0) return Value::undef();
  int64_t i = find(m, key, hash(key));
  return i < 0 ? Value::undef() : m->entries[size_t(i)].value;
}

void map_set(Map* m, Value key, Value value) {
  uint64_t h = hash(key);
  int64_t i = find(m, key, h);
  if (i >= 0) {
    m->entries[size_t(i)].value = value;
    return;
  }
  size_t used = m->entries.size() + 1;  // dead entries still occupy their slots
  bool fits = m->slots.empty() ? used <= kLinearMax : used * 3 <= m->slots.size() * 2;
  if (!fits) rebuild(m, size_t(m->count) + 1);
  int32_t idx = int32_t(m->entries.size());
  m->entries.push_back(Map::Entry{key, value, h});
  ++m->count;
  ++m->changes;
  if (!m->slots.empty()) index_entry(m, h, idx);
}

bool map_delete(Map* m, Value key) {
  if (m->count == 0) return false;
  uint64_t h = hash(key);
  int64_t i = find(m, key, h);
  if (i < 0) return false;
  Map::Entry& e = m->entries[size_t(i)];
  e.key = Value::undef();
  e.value = Value::nil();
  --m->count;
  ++m->changes;
  if (!m->slots.empty()) {
    size_t mask = m->slots.size() - 1;
    size_t s = first_slot(h, mask);
    while (m->slots[s] != int32_t(i)) s = (s + 1) & mask;
    m->slots[s] = -2;
  }
  if (m->count == 0) {
    // Nothing live: drop everything at once (an iterator past the end stays past it).
    m->entries.clear();
    if (!m->slots.empty()) m->slots.assign(m->slots.size(), -1);
  } else if (m->entries.size() > 2 * kLinearMax && m->count * 4 < m->entries.size()) {
    // Three quarters dead: compact, so a map used as a queue does not grow forever.
    rebuild(m, m->count);
  }
  return true;
}

}  // namespace tsk::vm
