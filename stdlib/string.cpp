// The `string` module (SPEC §11). Strings are immutable bytes: every function works on
// bytes and indexes by byte, like len() and s[i]; only chars() decodes UTF-8 (an invalid
// byte becomes a one-byte string of its own). upper/lower change ASCII letters only.
// format() lives in stdlib/format.cpp. Every function is instant.
#include <string_view>

#include "stdlib/natives.hpp"
#include "vm/heap.hpp"

namespace tsk::stdlib {

namespace {

using vm::Effect;
using vm::List;
using vm::NativeEntry;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view str_arg(TaskState& t, Value* a, int i, const char* fn, const char* param) {
  // The qualified name is only built on the error path: these checks run on every call.
  if (!a[i].is(Tag::String)) type_error(t, std::string("string.") + fn, param, "a string", a[i]);
  return a[i].as_string()->view();
}

Value make_list(TaskState& t, vm::ValueVector&& items) {
  List* l = t.heap.list();
  l->items = std::move(items);
  return Value::object(l);
}

Value s_split(TaskState& t, Value* a, int nargs) {
  std::string_view s = str_arg(t, a, 0, "split", "s");
  vm::ValueVector parts;
  if (nargs < 2 || a[1].is_nil()) {
    // Runs of whitespace separate; leading and trailing whitespace give no empty parts.
    size_t i = 0;
    while (true) {
      while (i < s.size() && is_space(s[i])) ++i;
      if (i == s.size()) break;
      size_t start = i;
      while (i < s.size() && !is_space(s[i])) ++i;
      parts.push_back(string_value(t, s.substr(start, i - start)));
    }
    return make_list(t, std::move(parts));
  }
  if (!a[1].is(Tag::String)) type_error(t, "string.split", "sep", "a string or nil", a[1]);
  std::string_view sep = a[1].as_string()->view();
  if (sep.empty()) t.raise("ValueError", "string.split(): empty separator");
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    if (at == std::string_view::npos) break;
    parts.push_back(string_value(t, s.substr(start, at - start)));
    start = at + sep.size();
  }
  parts.push_back(string_value(t, s.substr(start)));
  return make_list(t, std::move(parts));
}

Value s_join(TaskState& t, Value* a, int) {
  List* xs = arg_list(t, a, 0, "string.join", "list");
  std::string_view sep = str_arg(t, a, 1, "join", "sep");
  std::string out;
  for (size_t i = 0; i < xs->items.size(); ++i) {
    Value item = xs->items[i];
    if (!item.is(Tag::String))
      t.raise("TypeError", "string.join(): item " + std::to_string(i) + " is " +
                               vm::type_name(item) + ", not string (convert it with str())");
    if (i) out += sep;
    out += item.as_string()->view();
    check_string_size(t, out.size(), "string.join");
  }
  return string_value(t, out);
}

Value trimmed(TaskState& t, Value* a, const char* fn, bool start, bool end) {
  std::string_view s = str_arg(t, a, 0, fn, "s");
  std::string_view r = s;
  if (start) while (!r.empty() && is_space(r.front())) r.remove_prefix(1);
  if (end) while (!r.empty() && is_space(r.back())) r.remove_suffix(1);
  if (r.size() == s.size()) return a[0];
  return string_value(t, r);
}

Value s_trim(TaskState& t, Value* a, int) { return trimmed(t, a, "trim", true, true); }
Value s_trim_start(TaskState& t, Value* a, int) { return trimmed(t, a, "trim_start", true, false); }
Value s_trim_end(TaskState& t, Value* a, int) { return trimmed(t, a, "trim_end", false, true); }

Value s_upper(TaskState& t, Value* a, int) {
  std::string s(str_arg(t, a, 0, "upper", "s"));
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
  return string_value(t, s);
}

Value s_lower(TaskState& t, Value* a, int) {
  std::string s(str_arg(t, a, 0, "lower", "s"));
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return string_value(t, s);
}

Value s_find(TaskState& t, Value* a, int) {
  std::string_view s = str_arg(t, a, 0, "find", "s");
  std::string_view sub = str_arg(t, a, 1, "find", "sub");
  size_t at = s.find(sub);
  return at == std::string_view::npos ? Value::nil() : Value::integer(int64_t(at));
}

Value s_count(TaskState& t, Value* a, int) {
  std::string_view s = str_arg(t, a, 0, "count", "s");
  std::string_view sub = str_arg(t, a, 1, "count", "sub");
  // Non-overlapping, as Python; the empty string occurs between every two bytes and at both ends.
  if (sub.empty()) return Value::integer(int64_t(s.size()) + 1);
  int64_t n = 0;
  for (size_t at = s.find(sub); at != std::string_view::npos; at = s.find(sub, at + sub.size())) ++n;
  return Value::integer(n);
}

Value s_replace(TaskState& t, Value* a, int) {
  std::string_view s = str_arg(t, a, 0, "replace", "s");
  std::string_view old = str_arg(t, a, 1, "replace", "old");
  std::string_view rep = str_arg(t, a, 2, "replace", "new");
  std::string out;
  if (old.empty()) {
    // As Python: `new` goes before every byte and at the end.
    check_string_size(t, s.size() + (s.size() + 1) * rep.size(), "string.replace");
    for (char c : s) {
      out += rep;
      out += c;
    }
    out += rep;
    return string_value(t, out);
  }
  size_t start = 0;
  for (size_t at = s.find(old); at != std::string_view::npos; at = s.find(old, start)) {
    out.append(s, start, at - start);
    out += rep;
    start = at + old.size();
    check_string_size(t, out.size(), "string.replace");
  }
  if (start == 0) return a[0];
  out.append(s, start);
  check_string_size(t, out.size(), "string.replace");
  return string_value(t, out);
}

Value s_starts_with(TaskState& t, Value* a, int) {
  std::string_view s = str_arg(t, a, 0, "starts_with", "s");
  return Value::boolean(s.starts_with(str_arg(t, a, 1, "starts_with", "prefix")));
}

Value s_ends_with(TaskState& t, Value* a, int) {
  std::string_view s = str_arg(t, a, 0, "ends_with", "s");
  return Value::boolean(s.ends_with(str_arg(t, a, 1, "ends_with", "suffix")));
}

Value s_repeat(TaskState& t, Value* a, int) {
  std::string_view s = str_arg(t, a, 0, "repeat", "s");
  int64_t n = arg_int(t, a, 1, "string.repeat", "n");
  if (n <= 0 || s.empty()) return string_value(t, "");
  if (uint64_t(n) > kMaxStringBytes / s.size()) check_string_size(t, kMaxStringBytes + 1, "string.repeat");
  std::string out;
  out.reserve(s.size() * size_t(n));
  for (int64_t i = 0; i < n; ++i) out += s;
  return string_value(t, out);
}

// Length of the valid UTF-8 sequence starting at s[i], or 1 for an invalid byte.
// Overlong forms, surrogates and code points past U+10FFFF are invalid (RFC 3629).
size_t utf8_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return k < s.size() ? (unsigned char)s[k] : 0u; };
  auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    unsigned c = byte(k);
    return k < s.size() && c >= lo && c <= hi;
  };
  unsigned c = byte(i);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 1;
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 1;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 1;
  }
  return 1;
}

Value s_chars(TaskState& t, Value* a, int) {
  std::string_view s = str_arg(t, a, 0, "chars", "s");
  vm::ValueVector out;
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_length(s, i);
    out.push_back(string_value(t, s.substr(i, n)));
    i += n;
  }
  return make_list(t, std::move(out));
}

Value s_bytes(TaskState& t, Value* a, int) {
  std::string_view s = str_arg(t, a, 0, "bytes", "s");
  vm::ValueVector out;
  out.reserve(s.size());
  for (unsigned char c : s) out.push_back(Value::integer(c));
  return make_list(t, std::move(out));
}

Value s_from_bytes(TaskState& t, Value* a, int) {
  List* xs = arg_list(t, a, 0, "string.from_bytes", "list");
  std::string out;
  out.reserve(xs->items.size());
  for (size_t i = 0; i < xs->items.size(); ++i) {
    Value b = xs->items[i];
    if (!b.is(Tag::Int))
      t.raise("TypeError", "string.from_bytes(): item " + std::to_string(i) + " is " +
                               vm::type_name(b) + ", not int");
    if (b.i < 0 || b.i > 255)
      t.raise("ValueError", "string.from_bytes(): item " + std::to_string(i) + " is " +
                                std::to_string(b.i) + ", not a byte (0..255)");
    out += char(b.i);
  }
  check_string_size(t, out.size(), "string.from_bytes");
  return string_value(t, out);
}

// Width counts bytes, as len() does; the fill is one byte so the result is exactly
// `width` bytes long (a multi-byte fill could not always fit exactly).
Value padded(TaskState& t, Value* a, int nargs, const char* fn, bool left) {
  std::string_view s = str_arg(t, a, 0, fn, "s");
  int64_t width = arg_int(t, a, 1, std::string("string.") + fn, "width");
  char fill = ' ';
  if (nargs > 2) {
    std::string_view f = str_arg(t, a, 2, fn, "fill");
    if (f.size() != 1)
      t.raise("ValueError", std::string("string.") + fn + "(): fill must be one byte, not " +
                                std::to_string(f.size()) + " bytes");
    fill = f[0];
  }
  if (width <= int64_t(s.size())) return a[0];
  check_string_size(t, size_t(width), std::string("string.") + fn);
  std::string out;
  out.reserve(size_t(width));
  if (!left) out += s;
  out.append(size_t(width) - s.size(), fill);
  if (left) out += s;
  return string_value(t, out);
}

Value s_pad_left(TaskState& t, Value* a, int n) { return padded(t, a, n, "pad_left", true); }
Value s_pad_right(TaskState& t, Value* a, int n) { return padded(t, a, n, "pad_right", false); }

Value s_format(TaskState& t, Value* a, int nargs) {
  std::string_view fmt = str_arg(t, a, 0, "format", "fmt");
  return string_value(t, format(t, fmt, a + 1, nargs - 1));
}

constexpr Effect kInstant = Effect::Instant;

const NativeEntry kString[] = {
    {"string", "split", "split(s, sep = nil)", kInstant, "The parts of s between occurrences of sep; with no sep, the words between runs of whitespace", s_split, 1, 2},
    {"string", "join", "join(list, sep)", kInstant, "The strings of list joined with sep between them", s_join, 2, 2},
    {"string", "trim", "trim(s)", kInstant, "s without leading and trailing ASCII whitespace", s_trim, 1, 1},
    {"string", "trim_start", "trim_start(s)", kInstant, "s without leading ASCII whitespace", s_trim_start, 1, 1},
    {"string", "trim_end", "trim_end(s)", kInstant, "s without trailing ASCII whitespace", s_trim_end, 1, 1},
    {"string", "upper", "upper(s)", kInstant, "s with ASCII letters in upper case", s_upper, 1, 1},
    {"string", "lower", "lower(s)", kInstant, "s with ASCII letters in lower case", s_lower, 1, 1},
    {"string", "find", "find(s, sub)", kInstant, "The byte index of the first occurrence of sub in s, or nil", s_find, 2, 2},
    {"string", "count", "count(s, sub)", kInstant, "The number of non-overlapping occurrences of sub in s", s_count, 2, 2},
    {"string", "replace", "replace(s, old, new)", kInstant, "s with every occurrence of old replaced by new", s_replace, 3, 3},
    {"string", "starts_with", "starts_with(s, prefix)", kInstant, "True when s begins with prefix", s_starts_with, 2, 2},
    {"string", "ends_with", "ends_with(s, suffix)", kInstant, "True when s ends with suffix", s_ends_with, 2, 2},
    {"string", "repeat", "repeat(s, n)", kInstant, "s repeated n times (\"\" when n <= 0)", s_repeat, 2, 2},
    {"string", "chars", "chars(s)", kInstant, "The UTF-8 characters of s as a list of strings (an invalid byte stands alone)", s_chars, 1, 1},
    {"string", "bytes", "bytes(s)", kInstant, "The bytes of s as a list of ints 0..255", s_bytes, 1, 1},
    {"string", "from_bytes", "from_bytes(list)", kInstant, "The string made of a list of ints 0..255", s_from_bytes, 1, 1},
    {"string", "pad_left", "pad_left(s, width, fill = \" \")", kInstant, "s preceded by copies of the one-byte fill up to width bytes", s_pad_left, 2, 3},
    {"string", "pad_right", "pad_right(s, width, fill = \" \")", kInstant, "s followed by copies of the one-byte fill up to width bytes", s_pad_right, 2, 3},
    {"string", "format", "format(fmt, args...)", kInstant, "printf-style formatting, as Python's %: %d %i %s %f %e %g %x %X %o %c %v %% with flags - + 0 space #, width and precision (* takes them from the arguments)", s_format, 1, -1},
};

}  // namespace

vm::ModuleDef string_module() {
  return {"string", "Functions on strings (immutable bytes, usually UTF-8)", kString, nullptr};
}

}  // namespace tsk::stdlib
