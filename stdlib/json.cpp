// The `json` module (SPEC §15): encode(v, indent = nil) writes JSON text, decode(s) reads
// strict RFC 8259 text. Both are instant: they never wait and call no script code.
//
// Decisions where SPEC leaves room (docs/language.md repeats them for users):
//  - decode: a duplicate object key keeps its first place and takes the last value
//    (as Python's dict); a \u escape of a lone surrogate is a ValueError (tsk strings are
//    UTF-8, which cannot hold one); a byte order mark is a ValueError (RFC 8259 §8.1
//    lets a parser ignore it; Python rejects it too); a number too large for a double is
//    inf, too small 0.0 (as Python and JavaScript); columns count bytes, as tsk's own
//    diagnostics do.
//  - encode: a value of a type JSON lacks (fn, chan, task, error, range, module) is a
//    TypeError, as in Python; a non-string key, nan, inf, invalid UTF-8 and a cycle are
//    ValueErrors (SPEC). indent follows JSON.stringify(v, null, indent): an int of
//    spaces (clamped to 10) or a string (its first 10 bytes, cut on a character
//    boundary); 0 or "" write compact text; a negative int is a ValueError.
//
// Both walk nested values with an explicit stack, never C++ recursion: decode stops at
// kMaxDepth (SPEC: 512 levels decode, deeper raises ValueError); encode has no depth
// limit of its own (a 100,000-deep list encodes), only the 2 GiB limit on its result.
//
// Decoding is a hand-written single pass: simdjson (in Debian) was considered, but it
// reports no line and column, and a tsk decode spends most of its time allocating the
// result's objects, not scanning; the scanner here skips plain string bytes 16 at a time
// with SSE2 and shares one String per distinct short key (as Python's decoder memoizes
// keys). Decoding bench/'s 20 MB `json` document takes about a third of the time of
// Python's C decoder (docs/architecture.md, decision 27).
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "stdlib/natives.hpp"
#include "vm/heap.hpp"
#include "vm/ops.hpp"

namespace tsk::stdlib {

namespace {

using vm::Effect;
using vm::List;
using vm::Map;
using vm::NativeEntry;
using vm::Obj;
using vm::String;

// 512: SPEC §15's limit on decoding; deeper input is almost surely an attack or a bug,
// and the limit keeps a ValueError (never a crash) the answer to any input.
constexpr size_t kMaxDepth = 512;
// JSON.stringify's limit on the indent: at most 10 spaces or 10 characters.
constexpr size_t kMaxIndent = 10;

// The offset of the first byte in p[0..16) that is '"', '\\', a control character (below
// 0x20) or not ASCII (0x80 and up), or 16 when there is none. `p` must have 16 readable
// bytes. The bytes it stops at are the only ones either direction has to look at.
inline int plain_prefix16(const unsigned char* p) {
#if defined(__SSE2__)
  __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // A signed compare below 0x20 catches the control characters and, being negative as
  // signed bytes, every byte from 0x80.
  __m128i special = _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
      _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
  int mask = _mm_movemask_epi8(special);
  return mask ? __builtin_ctz(unsigned(mask)) : 16;
#else
  for (int i = 0; i < 16; ++i)
    if (p[i] == '"' || p[i] == '\\' || p[i] < 0x20 || p[i] >= 0x80) return i;
  return 16;
#endif
}

// The length of the well-formed UTF-8 sequence at p (Unicode's table 3-7: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 if it is not one. Reads at most
// up to `end`.
inline int utf8_sequence(const unsigned char* p, const unsigned char* end) {
  unsigned char c = *p;
  if (c < 0x80) return 1;
  auto cont = [&](int i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return p + i < end && p[i] >= lo && p[i] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}


const char kHex[] = "0123456789abcdef";

// {=== decode

class Decoder {
 public:
  // `text` must be followed by a NUL byte (every String's bytes are): the scanner peeks
  // one byte ahead without a bounds check, and NUL is valid nowhere in JSON outside a
  // string, so the end reads as an unexpected byte that is then told apart by position.
  Decoder(TaskState& t, std::string_view text)
      : t_(t),
        begin_(reinterpret_cast<const unsigned char*>(text.data())),
        p_(begin_),
        end_(begin_ + text.size()) {}

  Value run() {
    if (end_ - p_ >= 3 && p_[0] == 0xEF && p_[1] == 0xBB && p_[2] == 0xBF)
      fail(p_, "unexpected byte order mark (U+FEFF); JSON text must not start with one");
    skip_ws();
    Value v;
    for (;;) {
      // A value starts at p_ (whitespace skipped).
      switch (*p_) {
        case '{': {
          open(p_);
          Map* m = t_.heap.map();
          ++p_;
          skip_ws();
          if (*p_ == '}') {
            ++p_;
            v = Value::object(m);
            break;
          }
          stack_.push_back({m, nullptr});
          stack_.back().key = member_key("a string key or '}'");
          continue;
        }
        case '[': {
          open(p_);
          List* l = t_.heap.list();
          ++p_;
          skip_ws();
          if (*p_ == ']') {
            ++p_;
            v = Value::object(l);
            break;
          }
          stack_.push_back({l, nullptr});
          continue;
        }
        case '"': v = string_value(false); break;
        case 't': v = literal("true", Value::boolean(true)); break;
        case 'f': v = literal("false", Value::boolean(false)); break;
        case 'n': v = literal("null", Value::nil()); break;
        case '-': case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9':
          v = number();
          break;
        default: fail(p_, "expected a JSON value, found " + found(p_));
      }
      // `v` is complete: store it in its container, and close every container that ends
      // here, until one continues with another element or the document ends.
      for (;;) {
        skip_ws();
        if (stack_.empty()) {
          if (p_ != end_) fail(p_, "unexpected " + found(p_) + " after the JSON value");
          return v;
        }
        Open& top = stack_.back();
        bool is_map = top.container->tag == Tag::Map;
        if (is_map) vm::map_set(static_cast<Map*>(top.container), Value::object(top.key), v);
        else static_cast<List*>(top.container)->items.push_back(v);
        if (*p_ == ',') {
          ++p_;
          skip_ws();
          if (is_map) top.key = member_key("a string key");
          break;
        }
        char close = is_map ? '}' : ']';
        if (*p_ != close)
          fail(p_, std::string("expected ',' or '") + close + "' after " +
                       (is_map ? "an object member" : "an array element") + ", found " + found(p_));
        ++p_;
        v = Value::object(top.container);
        stack_.pop_back();
      }
    }
  }

 private:
  struct Open {
    Obj* container;  // the List or Map being filled
    String* key;     // a Map's member whose value comes next
  };

  [[noreturn]] void fail(const unsigned char* at, const std::string& what) {
    size_t line = 1;
    const unsigned char* line_start = begin_;
    for (const unsigned char* q = begin_; q < at; ++q)
      if (*q == '\n') {
        ++line;
        line_start = q + 1;
      }
    t_.raise("ValueError", "json.decode(): line " + std::to_string(line) + ", column " +
                               std::to_string(at - line_start + 1) + ": " + what);
  }

  // How an error names the byte at `at`: 'x', end of input, or a code for the rest.
  std::string found(const unsigned char* at) const {
    if (at >= end_) return "end of input";
    unsigned char c = *at;
    if (c > 0x20 && c < 0x7F) return std::string("'") + char(c) + "'";
    char buf[32];
    if (c < 0x80) std::snprintf(buf, sizeof buf, "character U+%04X", c);
    else std::snprintf(buf, sizeof buf, "byte 0x%02X", c);
    return buf;
  }

  void skip_ws() {
    // RFC 8259 §2: space, tab, line feed and carriage return, nothing else.
    while (*p_ <= ' ' && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  void open(const unsigned char* at) {
    if (stack_.size() >= kMaxDepth)
      fail(at, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
  }

  // A member's key and its ':' (whitespace around skipped); `expected` says what the
  // error names when no key is there.
  String* member_key(const char* expected) {
    if (*p_ != '"') fail(p_, std::string("expected ") + expected + ", found " + found(p_));
    String* key = string_value(true).as_string();
    skip_ws();
    if (*p_ != ':') fail(p_, "expected ':' after an object key, found " + found(p_));
    ++p_;
    skip_ws();
    return key;
  }

  Value literal(const char* word, Value v) {
    size_t n = std::strlen(word);
    if (size_t(end_ - p_) < n || std::memcmp(p_, word, n) != 0) {
      // Point at the first byte that differs.
      const unsigned char* q = p_;
      while (q < end_ && size_t(q - p_) < n && *q == static_cast<unsigned char>(word[q - p_])) ++q;
      fail(q, std::string("invalid literal (expected '") + word + "'), found " + found(q));
    }
    p_ += n;
    return v;
  }

  // RFC 8259 §6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. Without fraction and
  // exponent, and within 64 bits, an int; otherwise a float.
  Value number() {
    const unsigned char* start = p_;
    bool negative = *p_ == '-';
    if (negative) ++p_;
    auto digit = [](unsigned char c) { return c >= '0' && c <= '9'; };
    const unsigned char* int_start = p_;
    if (*p_ == '0') {
      ++p_;
      if (digit(*p_)) fail(p_, "a number must not have leading zeros");
    } else if (digit(*p_)) {
      while (digit(*p_)) ++p_;
    } else {
      fail(p_, "expected a digit after '-', found " + found(p_));
    }
    size_t int_digits = size_t(p_ - int_start);
    bool is_float = false;
    if (*p_ == '.') {
      ++p_;
      if (!digit(*p_)) fail(p_, "expected a digit after the decimal point, found " + found(p_));
      while (digit(*p_)) ++p_;
      is_float = true;
    }
    if (*p_ == 'e' || *p_ == 'E') {
      ++p_;
      if (*p_ == '+' || *p_ == '-') ++p_;
      if (!digit(*p_)) fail(p_, "expected a digit in the exponent, found " + found(p_));
      while (digit(*p_)) ++p_;
      is_float = true;
    }
    if (!is_float && int_digits <= 19) {
      uint64_t mag = 0;
      for (const unsigned char* q = int_start; q < p_; ++q) mag = mag * 10 + (*q - '0');
      // 19 digits never overflow 64 bits unsigned; the int range is checked here.
      if (!negative && mag <= uint64_t(INT64_MAX)) return Value::integer(int64_t(mag));
      if (negative && mag <= uint64_t(INT64_MAX) + 1) return Value::integer(int64_t(0 - mag));
    }
    double d = 0;
    auto [end, ec] = std::from_chars(reinterpret_cast<const char*>(start),
                                     reinterpret_cast<const char*>(p_), d);
    if (ec == std::errc::result_out_of_range) d = out_of_range(start, negative);
    return Value::number(d);
  }

  // A number whose magnitude is beyond a double's: inf when it is huge, 0 when tiny.
  // Out of range means a decimal exponent past ±300, so the power of ten of its first
  // non-zero digit (the exponent summed with saturation) tells the two apart.
  static double out_of_range(const unsigned char* p, bool negative) {
    auto digit = [](unsigned char c) { return c >= '0' && c <= '9'; };
    if (negative) ++p;
    int64_t lead = 0;  // the power of ten of the first non-zero digit, without the exponent
    bool found = false;
    size_t int_digits = 0;
    while (digit(p[int_digits])) ++int_digits;
    for (size_t i = 0; i < int_digits && !found; ++i)
      if (p[i] != '0') {
        lead = int64_t(int_digits - 1 - i);
        found = true;
      }
    p += int_digits;
    if (*p == '.') {
      ++p;
      for (int64_t j = 0; digit(*p); ++j, ++p)
        if (!found && *p != '0') {
          lead = -(j + 1);
          found = true;
        }
    }
    int64_t exponent = 0;
    if (*p == 'e' || *p == 'E') {
      ++p;
      bool negative_exponent = *p == '-';
      if (*p == '+' || *p == '-') ++p;
      for (; digit(*p); ++p) exponent = std::min<int64_t>(exponent * 10 + (*p - '0'), 1'000'000'000);
      if (negative_exponent) exponent = -exponent;
    }
    double magnitude = found && lead + exponent > 0 ? HUGE_VAL : 0.0;
    return negative ? -magnitude : magnitude;
  }

  // A string at p_ (its opening quote); a key goes through the key cache.
  Value string_value(bool is_key) {
    const unsigned char* quote = p_;
    const unsigned char* start = ++p_;
    bool escaped = false;
    buf_.clear();
    for (;;) {
      while (end_ - p_ >= 16) {
        int n = plain_prefix16(p_);
        p_ += n;
        if (n < 16) break;
      }
      unsigned char c = *p_;
      if (c == '"') break;
      if (c == '\\') {
        // The plain bytes since the last escape, then the escape's own.
        buf_.append(reinterpret_cast<const char*>(start), size_t(p_ - start));
        escaped = true;
        escape();
        start = p_;
        continue;
      }
      if (c >= 0x80) {
        int n = utf8_sequence(p_, end_);
        if (n == 0) fail(p_, "invalid UTF-8 in a string");
        p_ += n;
        continue;
      }
      if (c < 0x20) {
        if (p_ == end_) fail(quote, "unterminated string (no closing quote before the end of input)");
        char code[8];
        std::snprintf(code, sizeof code, "U+%04X", c);
        fail(p_, std::string("control character ") + code + " in a string (write it as an escape)");
      }
      // Plain ASCII before the last 16 bytes of input: one at a time.
      ++p_;
    }
    std::string_view text;
    if (escaped) {
      buf_.append(reinterpret_cast<const char*>(start), size_t(p_ - start));
      text = buf_;
    } else {
      text = std::string_view(reinterpret_cast<const char*>(start), size_t(p_ - start));
    }
    ++p_;  // the closing quote
    return Value::object(is_key ? key(text) : t_.heap.string(text));
  }

  // One escape at p_ (its backslash), appended to buf_.
  void escape() {
    const unsigned char* at = p_;
    char c = char(p_[1]);
    p_ += 2;
    switch (c) {
      case '"': buf_ += '"'; return;
      case '\\': buf_ += '\\'; return;
      case '/': buf_ += '/'; return;
      case 'b': buf_ += '\b'; return;
      case 'f': buf_ += '\f'; return;
      case 'n': buf_ += '\n'; return;
      case 'r': buf_ += '\r'; return;
      case 't': buf_ += '\t'; return;
      case 'u': break;
      default:
        if (at + 1 >= end_) fail(at, "unterminated string (the input ends in an escape)");
        if (at[1] > 0x20 && at[1] < 0x7F) fail(at, std::string("invalid escape '\\") + char(at[1]) + "'");
        fail(at, "invalid escape: '\\' followed by " + found(at + 1));
    }
    uint32_t cp = hex4();
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      // UTF-16 surrogates: only a high one followed by a low one names a character.
      std::string escape(reinterpret_cast<const char*>(at), 6);
      if (cp >= 0xDC00) fail(at, "lone surrogate " + escape + " (a low surrogate must follow a high one)");
      if (!(p_[0] == '\\' && p_[1] == 'u'))
        fail(at, "lone surrogate " + escape + " (a high surrogate must be followed by a \\u escape of a low one)");
      p_ += 2;
      uint32_t low = hex4();
      if (low < 0xDC00 || low > 0xDFFF)
        fail(at, "lone surrogate " + escape + " (a high surrogate must be followed by a \\u escape of a low one)");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(buf_, cp);
  }

  // The four hex digits of a \u escape at p_; moves past them.
  uint32_t hex4() {
    uint32_t cp = 0;
    for (int i = 0; i < 4; ++i) {
      unsigned char h = *p_;
      uint32_t d;
      if (h >= '0' && h <= '9') d = h - '0';
      else if (h >= 'a' && h <= 'f') d = h - 'a' + 10;
      else if (h >= 'A' && h <= 'F') d = h - 'A' + 10;
      else fail(p_, "expected 4 hex digits after \\u, found " + found(p_));
      cp = cp * 16 + d;
      ++p_;
    }
    return cp;
  }

  // One String per distinct short key in a document: objects of one shape repeat their
  // keys, so most keys cost a hash and a compare instead of an allocation, and map
  // lookups on them compare pointers. Direct-mapped; a collision just allocates.
  String* key(std::string_view text) {
    if (text.size() > kMaxCachedKey) return t_.heap.string(text);
    if (keys_.empty()) keys_.assign(kKeySlots, nullptr);  // at the first key: scalars need none
    uint32_t h = 2166136261u;
    for (unsigned char c : text) h = (h ^ c) * 16777619u;
    String*& slot = keys_[h & (kKeySlots - 1)];
    if (slot && slot->len == text.size() && std::memcmp(slot->data(), text.data(), text.size()) == 0)
      return slot;
    slot = t_.heap.string(text);
    return slot;
  }

  // 64 bytes and 512 slots: field names are short and an object has few of them; 4 KiB
  // of slots stays in L1 while a document is decoded.
  static constexpr size_t kMaxCachedKey = 64;
  static constexpr size_t kKeySlots = 512;

  TaskState& t_;
  const unsigned char* const begin_;
  const unsigned char* p_;
  const unsigned char* const end_;
  std::vector<Open> stack_;
  std::string buf_;  // a string with escapes, decoded
  std::vector<String*> keys_;
};

Value j_decode(TaskState& t, Value* a, int) {
  String* s = arg_string(t, a, 0, "json.decode", "s");
  return Decoder(t, s->view()).run();
}

// }===

// {=== encode

class Encoder {
 public:
  Encoder(TaskState& t, std::string_view gap) : t_(t), gap_(gap) {}

  std::string run(Value root) {
    Value v = root;
    for (;;) {
      // Write `v`; a non-empty container is opened and its first element becomes `v`.
      bool opened = false;
      switch (v.tag) {
        case Tag::Nil: out_ += "null"; break;
        case Tag::Bool: out_ += v.b ? "true" : "false"; break;
        case Tag::Int: {
          char buf[24];
          auto r = std::to_chars(buf, buf + sizeof buf, v.i);
          out_.append(buf, size_t(r.ptr - buf));
          break;
        }
        case Tag::Float:
          if (!std::isfinite(v.f))
            fail("ValueError", std::string(std::isnan(v.f) ? "nan" : v.f > 0 ? "inf" : "-inf") +
                                   " is not valid JSON");
          vm::append_float(out_, v.f);
          break;
        case Tag::String: write_string(v.as_string()->view(), false); break;
        case Tag::List: {
          List* l = v.as_list();
          if (l->items.empty()) {
            out_ += "[]";
            break;
          }
          enter(l);
          out_ += '[';
          newline();
          stack_.back().next = 1;
          v = l->items[0];
          opened = true;
          break;
        }
        case Tag::Map: {
          Map* m = v.as_map();
          if (m->count == 0) {
            out_ += "{}";
            break;
          }
          enter(m);
          out_ += '{';
          newline();
          v = next_member();
          opened = true;
          break;
        }
        default:
          fail("TypeError", std::string("cannot encode a ") + vm::type_name(v) +
                                " (JSON has nil, bool, numbers, strings, lists and maps)");
      }
      if (opened) continue;
      if (out_.size() > kMaxStringBytes) check_string_size(t_, out_.size(), "json.encode");
      // Close every container that has no more elements; the next element becomes `v`.
      for (;;) {
        if (stack_.empty()) return std::move(out_);
        Frame& f = stack_.back();
        if (f.obj->tag == Tag::List) {
          List* l = static_cast<List*>(f.obj);
          if (f.next < l->items.size()) {
            out_ += ',';
            newline();
            v = l->items[f.next++];
            break;
          }
        } else if (has_member(f)) {
          out_ += ',';
          newline();
          v = next_member();
          break;
        }
        char close = f.obj->tag == Tag::List ? ']' : '}';
        leave();
        newline();
        out_ += close;
      }
    }
  }

 private:
  struct Frame {
    Obj* obj;     // the List or Map being written
    size_t next;  // the index of its next item or entry; the current one is next - 1
  };

  // The path from the argument to the value being written, for errors: [2]["name"];
  // without the innermost step when the error is about the innermost map's key.
  std::string path(bool innermost) const {
    std::string p;
    size_t depth = innermost ? stack_.size() : stack_.size() - 1;
    for (size_t i = 0; i < depth; ++i) {
      const Frame& f = stack_[i];
      if (f.obj->tag == Tag::List) {
        p += '[' + std::to_string(f.next - 1) + ']';
      } else {
        p += '[';
        vm::append_str(p, static_cast<Map*>(f.obj)->entries[f.next - 1].key, true);
        p += ']';
      }
    }
    return p;
  }

  [[noreturn]] void fail(std::string_view kind, std::string what, bool innermost = true) {
    std::string where = path(innermost);
    std::string msg = "json.encode(): " + std::move(what);
    if (!where.empty()) msg += " (at " + where + ")";
    t_.raise(kind, std::move(msg));
  }

  // Opens a container, unless it is already open on the path (a cycle).
  void enter(Obj* o) {
    // The path is short in nearly every document: scan it. Deep paths also keep a set,
    // so that a 100,000-deep list is not quadratic.
    size_t scan = std::min(stack_.size(), kScannedPath);
    for (size_t i = 0; i < scan; ++i)
      if (stack_[i].obj == o) cycle(o);
    if (stack_.size() >= kScannedPath && !deep_path_.insert(o).second) cycle(o);
    stack_.push_back({o, 0});
  }

  void leave() {
    if (stack_.size() > kScannedPath) deep_path_.erase(stack_.back().obj);
    stack_.pop_back();
  }

  [[noreturn]] void cycle(Obj* o) {
    fail("ValueError", std::string("the ") + (o->tag == Tag::List ? "list" : "map") +
                           " contains itself (a cycle)");
  }

  // Whether the open map has a live entry at or after f.next (dead ones are skipped).
  bool has_member(Frame& f) {
    const Map* m = static_cast<Map*>(f.obj);
    while (f.next < m->entries.size() && m->entries[f.next].key.is(Tag::Undef)) ++f.next;
    return f.next < m->entries.size();
  }

  // Writes the key of the open map's next live entry and returns its value.
  Value next_member() {
    Frame& f = stack_.back();
    has_member(f);
    const Map::Entry& e = static_cast<Map*>(f.obj)->entries[f.next++];
    if (!e.key.is(Tag::String)) {
      std::string key;
      vm::append_str(key, e.key, true);
      fail("ValueError", "map key " + key + " is " + (e.key.is(Tag::Int) ? "an " : "a ") +
                             vm::type_name(e.key) + "; JSON object keys must be strings", false);
    }
    write_string(e.key.as_string()->view(), true);
    out_ += ':';
    if (!gap_.empty()) out_ += ' ';
    return e.value;
  }

  void newline() {
    if (gap_.empty()) return;
    // Indentation grows with depth squared: check before writing it, not after.
    check_string_size(t_, out_.size() + 1 + stack_.size() * gap_.size(), "json.encode");
    out_ += '\n';
    for (size_t i = 0; i < stack_.size(); ++i) out_ += gap_;
  }

  void write_string(std::string_view s, bool is_key) {
    out_.reserve(out_.size() + s.size() + 2);
    out_ += '"';
    auto p = reinterpret_cast<const unsigned char*>(s.data());
    const unsigned char* end = p + s.size();
    const unsigned char* run = p;  // the start of bytes not yet copied
    while (p < end) {
      if (end - p >= 16) {
        int n = plain_prefix16(p);
        p += n;
        if (n == 16) continue;
      }
      unsigned char c = *p;
      if (c >= 0x80) {
        int n = utf8_sequence(p, end);
        if (n == 0) fail("ValueError", is_key ? "a map key is not valid UTF-8" : "a string is not valid UTF-8", !is_key);
        p += n;
        continue;
      }
      if (c != '"' && c != '\\' && c >= 0x20) {
        ++p;
        continue;
      }
      out_.append(reinterpret_cast<const char*>(run), size_t(p - run));
      out_ += '\\';
      switch (c) {
        case '"': out_ += '"'; break;
        case '\\': out_ += '\\'; break;
        case '\b': out_ += 'b'; break;
        case '\f': out_ += 'f'; break;
        case '\n': out_ += 'n'; break;
        case '\r': out_ += 'r'; break;
        case '\t': out_ += 't'; break;
        default:
          out_ += "u00";
          out_ += kHex[c >> 4];
          out_ += kHex[c & 15];
      }
      run = ++p;
    }
    out_.append(reinterpret_cast<const char*>(run), size_t(end - run));
    out_ += '"';
  }

  // 32: deeper than nearly all real documents, short enough to scan per container.
  static constexpr size_t kScannedPath = 32;

  TaskState& t_;
  std::string gap_;  // the indent of one level; empty: compact text
  std::string out_;
  std::vector<Frame> stack_;
  std::unordered_set<const Obj*> deep_path_;  // open containers at depth kScannedPath and deeper
};

Value j_encode(TaskState& t, Value* a, int nargs) {
  std::string gap;
  if (nargs > 1 && !a[1].is_nil()) {
    if (a[1].is(Tag::Int)) {
      if (a[1].i < 0)
        t.raise("ValueError", "json.encode(): indent must not be negative, got " + std::to_string(a[1].i));
      gap.assign(size_t(std::min<int64_t>(a[1].i, kMaxIndent)), ' ');
    } else if (a[1].is(Tag::String)) {
      // The first 10 bytes, as JSON.stringify takes 10 characters, but never half of one.
      std::string_view s = a[1].as_string()->view();
      size_t cut = std::min(s.size(), kMaxIndent);
      while (cut < s.size() && cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
      gap = s.substr(0, cut);
    } else {
      type_error(t, "json.encode", "indent", "an int, a string or nil", a[1]);
    }
  }
  std::string text = Encoder(t, gap).run(a[0]);
  check_string_size(t, text.size(), "json.encode");
  return string_value(t, text);
}

// }===

constexpr Effect kInstant = Effect::Instant;

const NativeEntry kJson[] = {
    {"json", "encode", "encode(v, indent = nil)", kInstant,
     "JSON text of v (maps with string keys, lists, strings, numbers, bool, nil); indent as JSON.stringify's",
     j_encode, 1, 2},
    {"json", "decode", "decode(s)", kInstant,
     "The value of the JSON text s (strict RFC 8259); ValueError naming line and column if it is not JSON",
     j_decode, 1, 1},
};

}  // namespace

vm::ModuleDef json_module() {
  return {"json", "JSON text: encode values to it, decode it strictly (RFC 8259)", kJson, nullptr};
}

}  // namespace tsk::stdlib
