// Value semantics shared by every layer (SPEC §2, §11): equality, hashing, the map-key
// rule, ordering, type names and the str() text of values.
//
// Invariants:
//  - equal(a, b) implies hash(a) == hash(b) for every hashable a and b, because map keys
//    rely on it: an int and an integral float in int64 range hash alike (1 and 1.0 are
//    one key), frozen lists and maps hash by content, maps independently of order.
//  - Nothing here recurses without bound on the C++ stack, whatever the script built:
//    equality walks containers with an explicit work list (cycle-safe, see
//    equal_containers); hash and str() stop at fixed nesting depths.
//  - Values never compare by address except identity types (fn, chan, task, error,
//    module), so results do not depend on where the heap put things.
#include "vm/ops.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_set>
#include <utility>
#include <vector>

#include "vm/native.hpp"
#include "vm/proto.hpp"
#include "vm/task_state.hpp"

namespace tsk::vm {

namespace {

// {=== numbers

// 2^63 as a double: every double in [-2^63, 2^63) converts to int64 exactly when integral.
constexpr double kTwo63 = 9223372036854775808.0;

// The int64 a float equals, if any: integral and in range (nan and inf are neither).
bool float_as_int(double f, int64_t& out) {
  if (!(f >= -kTwo63 && f < kTwo63)) return false;
  if (std::trunc(f) != f) return false;
  out = int64_t(f);
  return true;
}

bool int_equals_float(int64_t i, double f) {
  int64_t as_int;
  return float_as_int(f, as_int) && as_int == i;
}

// Exact i < f and f < i: converting i to double would round (2^53 + 1 -> 2^53).
bool int_less_float(int64_t i, double f) {
  if (std::isnan(f)) return false;
  if (f >= kTwo63) return true;
  if (f < -kTwo63) return false;
  double fl = std::floor(f);
  int64_t fi = int64_t(fl);
  if (i != fi) return i < fi;
  return f > fl;
}

bool float_less_int(double f, int64_t i) {
  if (std::isnan(f)) return false;
  if (f >= kTwo63) return false;
  if (f < -kTwo63) return true;
  double cl = std::ceil(f);
  // cl <= 2^63 - 1024 here, since no double lies strictly between that and 2^63.
  int64_t ci = int64_t(cl);
  if (ci != i) return ci < i;
  return f < cl;
}

// }===

// {=== hashing

// splitmix64's finalizer: cheap, and every input bit affects every output bit, which the
// map's linear probing (vm/map.cpp) needs since it masks off the low bits.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Distinct salts so that, say, true and 1 or "" and 0 do not collide systematically.
constexpr uint64_t kSaltBool = 0x9e3779b97f4a7c15ULL;
constexpr uint64_t kSaltFloat = 0x632be59bd9b4e019ULL;
constexpr uint64_t kSaltString = 0x85ebca6b27d4eb4fULL;
constexpr uint64_t kSaltList = 0xc2b2ae3d27d4eb4fULL;
constexpr uint64_t kSaltMap = 0x165667b19e3779f9ULL;
constexpr uint64_t kSaltRange = 0x27d4eb2f165667c5ULL;
constexpr uint64_t kSaltIdentity = 0xd6e8feb86659fd93ULL;

// FNV-1a over the bytes; mixed afterwards, so its weak high bits do not matter.
uint32_t string_bytes_hash(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

uint64_t hash_int(int64_t i) { return mix(uint64_t(i)); }

uint64_t hash_string(const String* s) {
  // The header caches the bytes' hash once computed (0: not yet; vm/heap.cpp). A nonzero
  // cached value is always string_bytes_hash of the bytes, so equal strings hash alike
  // whether or not theirs is cached. Only the owning task's strings are written: a
  // shared string (read by other threads) is never, and a long shared one is hashed
  // again at each use.
  uint32_t h = s->hash;
  if (h == 0) {
    h = string_bytes_hash(s->view());
    if (!(s->flags & kShared)) const_cast<String*>(s)->hash = h;
  }
  return mix(h ^ kSaltString);
}

int64_t range_length(const Range* r) {
  // Computed in 128 bits: stop - start overflows int64 for extreme bounds.
  __int128 n = __int128(r->stop) - __int128(r->start) + (r->inclusive ? 1 : 0);
  if (n < 0) return 0;
  if (n > INT64_MAX) return INT64_MAX;
  return int64_t(n);
}

// 12 levels: deep enough to tell real keys apart; a frozen cycle (x = [x]) stops here.
constexpr int kHashDepth = 12;

uint64_t hash_at(Value v, int depth) {
  switch (v.tag) {
    case Tag::Undef:
    case Tag::Nil: return mix(uint64_t(v.tag));
    case Tag::Bool: return mix(kSaltBool + v.b);
    case Tag::Int: return hash_int(v.i);
    case Tag::Float: {
      int64_t as_int;
      if (float_as_int(v.f, as_int)) return hash_int(as_int);
      if (std::isnan(v.f)) return mix(kSaltFloat);
      uint64_t bits;
      std::memcpy(&bits, &v.f, sizeof bits);
      return mix(bits ^ kSaltFloat);
    }
    case Tag::String: return hash_string(v.as_string());
    case Tag::Range: {
      // Ranges are equal as sequences: same length and, when non-empty, same start.
      const Range* r = v.as_range();
      int64_t n = range_length(r);
      return mix(mix(uint64_t(n) ^ kSaltRange) + (n ? uint64_t(r->start) : 0));
    }
    case Tag::List: {
      const List* l = v.as_list();
      uint64_t h = mix(l->items.size() ^ kSaltList);
      if (depth >= kHashDepth) return h;
      for (const Value& item : l->items) h = mix(h + hash_at(item, depth + 1));
      return h;
    }
    case Tag::Map: {
      // A sum of per-entry hashes: equal maps in another insertion order hash alike.
      const Map* m = v.as_map();
      uint64_t h = mix(uint64_t(m->count) ^ kSaltMap);
      if (depth >= kHashDepth) return h;
      uint64_t sum = 0;
      for (const Map::Entry& e : m->entries) {
        if (e.key.is(Tag::Undef)) continue;
        sum += mix(e.hash + 31 * hash_at(e.value, depth + 1));
      }
      return mix(h + sum);
    }
    case Tag::Chan:
    case Tag::IoHandle:
    case Tag::Task: return mix(reinterpret_cast<uintptr_t>(v.as_handle()->target) ^ kSaltIdentity);
    case Tag::Error: return mix(v.as_error()->id ^ kSaltIdentity);
    default: return mix(reinterpret_cast<uintptr_t>(v.o) ^ kSaltIdentity);
  }
}

// }===

// {=== equality

enum class Shallow { Equal, Differ, Descend };

bool strings_equal(const String* a, const String* b) {
  if (a == b) return true;
  if (a->len != b->len) return false;
  if (a->hash != 0 && b->hash != 0 && a->hash != b->hash) return false;
  return std::memcmp(a->data(), b->data(), a->len) == 0;
}

// Compares a and b as far as possible without looking inside containers; two distinct
// lists of equal length (or maps of equal count) are Descend: their children decide.
Shallow compare_shallow(Value a, Value b) {
  auto verdict = [](bool same) { return same ? Shallow::Equal : Shallow::Differ; };
  if (a.tag != b.tag) {
    if (a.is(Tag::Int) && b.is(Tag::Float)) return verdict(int_equals_float(a.i, b.f));
    if (a.is(Tag::Float) && b.is(Tag::Int)) return verdict(int_equals_float(b.i, a.f));
    return Shallow::Differ;
  }
  switch (a.tag) {
    case Tag::Undef:
    case Tag::Nil: return Shallow::Equal;
    case Tag::Bool: return verdict(a.b == b.b);
    case Tag::Int: return verdict(a.i == b.i);
    case Tag::Float: return verdict(a.f == b.f);  // nan != nan, -0.0 == 0.0 (IEEE)
    case Tag::String: return verdict(strings_equal(a.as_string(), b.as_string()));
    case Tag::Range: {
      const Range* x = a.as_range();
      const Range* y = b.as_range();
      int64_t n = range_length(x);
      return verdict(n == range_length(y) && (n == 0 || x->start == y->start));
    }
    case Tag::List:
      if (a.o == b.o) return Shallow::Equal;
      if (a.as_list()->items.size() != b.as_list()->items.size()) return Shallow::Differ;
      return Shallow::Descend;
    case Tag::Map:
      if (a.o == b.o) return Shallow::Equal;
      if (a.as_map()->count != b.as_map()->count) return Shallow::Differ;
      return Shallow::Descend;
    case Tag::Chan:
    case Tag::IoHandle:
    case Tag::Task: return verdict(a.as_handle()->target == b.as_handle()->target);
    case Tag::Error: return verdict(a.as_error()->id == b.as_error()->id);  // copies keep it
    default: return verdict(a.o == b.o);
  }
}

struct ObjPairHash {
  size_t operator()(const std::pair<const Obj*, const Obj*>& p) const {
    return mix(reinterpret_cast<uintptr_t>(p.first) * 31 + reinterpret_cast<uintptr_t>(p.second));
  }
};

// Structural equality of two containers with an explicit work list, so neither deep
// nesting nor cycles touch the C++ stack. Cycles: a pair met again while it is already
// being compared is assumed equal (the greatest fixed point, i.e. bisimilarity): two
// lists that each contain only themselves are equal, as their infinite unfoldings are.
// The set of seen pairs is only kept once a comparison gets long, so comparing small
// containers allocates nothing but the work list.
bool equal_containers(Value a, Value b) {
  // 256 pairs: past this a comparison is big enough that a hash set is cheap beside it;
  // a cycle just repeats pairs until then, which is harmless.
  constexpr size_t kTrackAfter = 256;
  std::vector<std::pair<Value, Value>> work;
  work.emplace_back(a, b);
  std::unordered_set<std::pair<const Obj*, const Obj*>, ObjPairHash> seen;
  size_t steps = 0;
  auto push_child = [&](Value x, Value y) {
    Shallow s = compare_shallow(x, y);
    if (s == Shallow::Differ) return false;
    if (s == Shallow::Descend) work.emplace_back(x, y);
    return true;
  };
  while (!work.empty()) {
    auto [x, y] = work.back();
    work.pop_back();
    if (++steps > kTrackAfter && !seen.emplace(x.o, y.o).second) continue;
    if (x.is(Tag::List)) {
      const auto& xs = x.as_list()->items;
      const auto& ys = y.as_list()->items;
      if (xs.size() != ys.size()) return false;
      for (size_t i = 0; i < xs.size(); ++i)
        if (!push_child(xs[i], ys[i])) return false;
    } else {
      Map* mx = x.as_map();
      Map* my = y.as_map();
      if (mx->count != my->count) return false;
      for (const Map::Entry& e : mx->entries) {
        if (e.key.is(Tag::Undef)) continue;
        Value other = map_get(my, e.key);
        if (other.is(Tag::Undef)) return false;
        if (!push_child(e.value, other)) return false;
      }
    }
  }
  return true;
}

// }===

// {=== str()

// 200 levels: deeper nesting prints "..."; keeps str() of a pathological structure
// within a few tens of KB of C++ stack, which even a fiber stack has.
constexpr int kStrDepth = 200;

// Length of the valid UTF-8 sequence at s[i] (RFC 3629: no overlongs, surrogates or
// code points past U+10FFFF), or 0 for a byte that starts none. string.chars() applies
// the same rule (stdlib/string.cpp).
size_t utf8_sequence(std::string_view s, size_t i) {
  auto cont = [&](size_t k, unsigned lo, unsigned hi) {
    return k < s.size() && (unsigned char)s[k] >= lo && (unsigned char)s[k] <= hi;
  };
  unsigned c = (unsigned char)s[i];
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1, 0x80, 0xBF) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xBF) && cont(i + 3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

}  // namespace

// A quoted string: valid UTF-8 as is, control bytes and invalid bytes as \xHH, so the
// text is printable and shows exactly which bytes the string holds.
void append_quoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x80) {
      size_t n = utf8_sequence(s, i);
      if (n) {
        out.append(s, i, n);
        i += n - 1;
      } else {
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
}

namespace {

void append_int(std::string& out, int64_t i) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, i);
  out.append(buf, r.ptr);
}

// Writes str() with the containers currently being written on `path`, so a container
// that contains itself prints as [...] or {...} instead of looping.
struct StrWriter {
  std::string& out;
  std::vector<const Obj*> path;

  bool on_path(const Obj* o) const {
    for (const Obj* p : path)
      if (p == o) return true;
    return false;
  }

  void write(Value v, bool quoted) {
    switch (v.tag) {
      case Tag::Undef: out += "<undefined>"; return;
      case Tag::Nil: out += "nil"; return;
      case Tag::Bool: out += v.b ? "true" : "false"; return;
      case Tag::Int: append_int(out, v.i); return;
      case Tag::Float: append_float(out, v.f); return;
      case Tag::String:
        if (quoted) append_quoted(out, v.as_string()->view());
        else out += v.as_string()->view();
        return;
      case Tag::List: {
        if (on_path(v.o)) { out += "[...]"; return; }
        if (int(path.size()) >= kStrDepth) { out += "..."; return; }
        path.push_back(v.o);
        out += '[';
        const auto& items = v.as_list()->items;
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += ", ";
          write(items[i], true);
        }
        out += ']';
        path.pop_back();
        return;
      }
      case Tag::Map: {
        if (on_path(v.o)) { out += "{...}"; return; }
        if (int(path.size()) >= kStrDepth) { out += "..."; return; }
        path.push_back(v.o);
        out += '{';
        bool first = true;
        for (const Map::Entry& e : v.as_map()->entries) {
          if (e.key.is(Tag::Undef)) continue;
          if (!first) out += ", ";
          first = false;
          write(e.key, true);
          out += ": ";
          write(e.value, true);
        }
        out += '}';
        path.pop_back();
        return;
      }
      case Tag::Range: {
        const Range* r = v.as_range();
        append_int(out, r->start);
        out += r->inclusive ? "..=" : "..";
        append_int(out, r->stop);
        return;
      }
      case Tag::Closure: {
        const std::string& name = v.as_closure()->proto->name;
        if (name.empty() || name == "<fn>") {
          out += "<fn>";
        } else {
          out += "<fn ";
          out += name;
          out += '>';
        }
        return;
      }
      case Tag::Native: {
        const NativeEntry* e = v.as_native()->entry;
        out += "<native fn ";
        if (e->module && *e->module) {
          out += e->module;
          out += '.';
        }
        out += e->name;
        out += '>';
        return;
      }
      case Tag::Error: {
        // Always "Kind: message", as Python prints an exception, even for plain "Error":
        // one rule is easier to read and to parse than two.
        const Error* e = v.as_error();
        out += e->kind ? e->kind->view() : std::string_view("Error");
        out += ": ";
        if (e->message) out += e->message->view();
        return;
      }
      case Tag::Module:
        out += "<module ";
        if (v.as_module()->name) out += v.as_module()->name->view();
        out += '>';
        return;
      // Channels and tasks are runtime/ objects whose layout vm/ does not know; the
      // runtime prints their detailed form (SPEC §6: `<task 4 worker at calc.tsk:15>`).
      case Tag::Chan:
      case Tag::IoHandle:
      case Tag::Task: out += v.as_handle()->target->describe(); return;
      case Tag::Cell: out += "<cell>"; return;
    }
    out += "<?>";
  }
};

// }===

}  // namespace

bool equal(Value a, Value b) {
  Shallow s = compare_shallow(a, b);
  if (s != Shallow::Descend) return s == Shallow::Equal;
  return equal_containers(a, b);
}

uint64_t hash(Value v) { return hash_at(v, 0); }

bool hashable(Value v) {
  switch (v.tag) {
    case Tag::Bool:
    case Tag::Int:
    case Tag::Float:
    case Tag::String:
    case Tag::Range:    // immutable, hashed by content
    case Tag::Native:   // immortal and shared
    case Tag::Module:
    case Tag::Chan:     // shared by reference between tasks, compared by identity (as Go)
    case Tag::Task:
    case Tag::IoHandle:
      return true;
    case Tag::List:
    case Tag::Map:
    case Tag::Closure:
    case Tag::Error:
      return v.o->frozen();
    default:            // nil, undef, cells
      return false;
  }
}

bool less(TaskState& t, Value a, Value b) {
  if (a.is(Tag::Int)) {
    if (b.is(Tag::Int)) return a.i < b.i;
    if (b.is(Tag::Float)) return int_less_float(a.i, b.f);
  } else if (a.is(Tag::Float)) {
    if (b.is(Tag::Float)) return a.f < b.f;
    if (b.is(Tag::Int)) return float_less_int(a.f, b.i);
  } else if (a.is(Tag::String) && b.is(Tag::String)) {
    // char_traits<char> compares as unsigned char: bytewise, as SPEC §2 asks.
    return a.as_string()->view() < b.as_string()->view();
  }
  t.raise("TypeError", std::string("cannot order ") + type_name(a) + " and " + type_name(b) +
                           " (< works on two numbers or two strings)");
}

const char* type_name(Value v) {
  switch (v.tag) {
    case Tag::Undef: return "undefined";
    case Tag::Nil: return "nil";
    case Tag::Bool: return "bool";
    case Tag::Int: return "int";
    case Tag::Float: return "float";
    case Tag::String: return "string";
    case Tag::List: return "list";
    case Tag::Map: return "map";
    case Tag::Range: return "range";
    case Tag::Closure:
    case Tag::Native: return "fn";
    case Tag::Cell: return "cell";
    case Tag::Error: return "error";
    case Tag::Module: return "module";
    case Tag::Chan: return "chan";
    case Tag::Task: return "task";
    case Tag::IoHandle: return "handle";
  }
  return "unknown";
}

void append_str(std::string& out, Value v, bool quoted) {
  StrWriter w{out, {}};
  w.write(v, quoted);
}

std::string to_str(Value v) {
  std::string out;
  append_str(out, v, false);
  return out;
}

void append_float(std::string& out, double d) {
  if (std::isnan(d)) { out += "nan"; return; }
  if (std::isinf(d)) { out += d < 0 ? "-inf" : "inf"; return; }
  // Shortest round-trip digits in scientific form ("-1.2345e+02"), then laid out as
  // Python's repr: positional when -4 <= exponent < 16, else d.ddde+XX.
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, size_t(r.ptr - buf));
  bool negative = sci[0] == '-';
  if (negative) sci.remove_prefix(1);
  size_t e_pos = sci.find('e');
  std::string_view mantissa = sci.substr(0, e_pos);
  int exponent = 0;
  std::from_chars(sci.data() + e_pos + 1 + (sci[e_pos + 1] == '+'), sci.data() + sci.size(),
                  exponent);
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  if (negative) out += '-';
  if (exponent < -4 || exponent >= 16) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += 'e';
    out += exponent < 0 ? '-' : '+';
    int mag = exponent < 0 ? -exponent : exponent;
    if (mag < 10) out += '0';
    append_int(out, mag);
    return;
  }
  int point = exponent + 1;  // digits before the decimal point
  if (point <= 0) {
    out += "0.";
    out.append(size_t(-point), '0');
    out += digits;
  } else if (size_t(point) >= digits.size()) {
    out += digits;
    out.append(size_t(point) - digits.size(), '0');
    out += ".0";
  } else {
    out.append(digits, 0, size_t(point));
    out += '.';
    out.append(digits, size_t(point));
  }
}

}  // namespace tsk::vm
