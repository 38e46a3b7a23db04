// string.format: printf-style formatting (SPEC §11), matching Python's `%` operator. A
// directive is
//   % [flags - + 0 space #] [width or *] [.precision or .*] conversion
// with conversions d i (int), x X o (int in hex/octal), f F e E g G (number), s and v
// (str() of any value), c (a code point or a one-character string) and %% (a literal %).
//
// Decisions: ints print through our own digit loop (a negative %x is "-ff", as Python,
// not C's two's complement; `#` adds Python's 0x / 0X / 0o prefix; the 0 flag pads to the
// width even with a precision, as Python does). Floats go through snprintf without the
// width, which is exact and C-locale independent for these conversions as long as nobody
// changes LC_NUMERIC (tsk never does), and are padded here, so inf and nan zero-pad as in
// Python. Widths and precisions of %s, %v and %c count UTF-8 characters, as Python counts
// code points, so a precision never cuts a character in half. `*` takes the width or
// precision from the next argument (a negative width left-justifies).
// An int conversion of a float with an exact int value (3.0) prints the int, as Lua and
// Python do; any other float is an error naming the fix, since silently truncating
// (Python's way) would hide bugs. Every mismatch between the format and the arguments is
// a ValueError, as SPEC §11 says (Python would raise TypeError for a wrong type): too few
// or too many arguments, a value of the wrong type for its directive, an unknown
// conversion or a truncated directive.
#include <cmath>
#include <cstdio>
#include <string>

#include "stdlib/natives.hpp"

namespace tsk::stdlib {

namespace {

// 100,000: far beyond any real table layout, small enough that a typo cannot exhaust memory.
constexpr int kMaxWidth = 100000;

struct Directive {
  bool left = false, plus = false, space = false, zero = false, alt = false;
  int width = -1;
  int precision = -1;
  char conv = 0;
};

[[noreturn]] void format_error(TaskState& t, std::string msg) {
  t.raise("ValueError", "string.format(): " + std::move(msg));
}

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The number of UTF-8 characters in s (each invalid byte counts as one).
size_t char_count(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += is_continuation(c) ? 0 : 1;
  return n;
}

// Pads `body` (`length` columns: bytes for numbers, characters for text) to the
// directive's width. With the 0 flag, numbers get zeros after their sign and their
// 0x / 0X / 0o prefix (and never when left-justified).
void append_padded(std::string& out, std::string_view body, const Directive& d, bool numeric,
                   size_t length) {
  size_t width = d.width > 0 ? size_t(d.width) : 0;
  if (length >= width) {
    out += body;
    return;
  }
  size_t pad = width - length;
  if (d.left) {
    out += body;
    out.append(pad, ' ');
  } else if (d.zero && numeric) {
    size_t sign = !body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ') ? 1 : 0;
    if (body.size() >= sign + 2 && body[sign] == '0' &&
        (body[sign + 1] == 'x' || body[sign + 1] == 'X' || body[sign + 1] == 'o'))
      sign += 2;
    out += body.substr(0, sign);
    out.append(pad, '0');
    out += body.substr(sign);
  } else {
    out.append(pad, ' ');
    out += body;
  }
}

// A float with an exact int value (3.0) is accepted, as both Lua and Python do.
void append_integer(TaskState& t, std::string& out, Value v, const Directive& d) {
  if (v.is(Tag::Float) && std::trunc(v.f) == v.f && v.f >= -9223372036854775808.0 &&
      v.f < 9223372036854775808.0)
    v = Value::integer(int64_t(v.f));
  if (!v.is(Tag::Int)) {
    std::string msg = std::string("string.format(): %") + d.conv + " needs an int, not " +
                      vm::type_name(v);
    if (v.is(Tag::Float)) msg += " without an exact int value (convert with int() or use %f)";
    t.raise("ValueError", std::move(msg));
  }
  bool negative = v.i < 0;
  uint64_t mag = negative ? uint64_t(0) - uint64_t(v.i) : uint64_t(v.i);
  unsigned base = (d.conv == 'x' || d.conv == 'X') ? 16 : d.conv == 'o' ? 8 : 10;
  const char* digit_chars = d.conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  char buf[64];
  int n = 0;
  do {
    buf[n++] = digit_chars[mag % base];
    mag /= base;
  } while (mag);
  std::string body;
  if (negative) body += '-';
  else if (d.plus) body += '+';
  else if (d.space) body += ' ';
  if (d.alt && base != 10) body += base == 8 ? "0o" : d.conv == 'X' ? "0X" : "0x";
  if (d.precision > n) body.append(size_t(d.precision - n), '0');
  while (n) body += buf[--n];
  append_padded(out, body, d, true, body.size());
}

void append_floating(TaskState& t, std::string& out, Value v, const Directive& d) {
  if (!v.is_number())
    t.raise("ValueError", std::string("string.format(): %") + d.conv + " needs a number, not " +
                             vm::type_name(v));
  std::string spec = "%";
  if (d.left) spec += '-';
  if (d.plus) spec += '+';
  if (d.space) spec += ' ';
  if (d.alt) spec += '#';
  if (d.precision >= 0) {
    spec += '.';
    spec += std::to_string(d.precision);
  }
  spec += d.conv;
  double x = v.to_double();
  if (std::isnan(x)) x = std::fabs(x);  // C prints a negative nan as "-nan"; tsk says "nan"
  int len = std::snprintf(nullptr, 0, spec.c_str(), x);
  if (len <= 0) format_error(t, "cannot format the number");
  std::string body(size_t(len) + 1, '\0');
  std::snprintf(body.data(), body.size(), spec.c_str(), x);
  body.resize(size_t(len));
  append_padded(out, body, d, true, body.size());
}


// The byte length of the first UTF-8 character of s judged by its lead byte alone
// (enough to tell "one character" from "several" for %c).
size_t lead_length(std::string_view s) {
  unsigned char c = (unsigned char)s[0];
  size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  return n <= s.size() ? n : 1;
}

void append_char(TaskState& t, std::string& out, Value v, const Directive& d) {
  std::string body;
  if (v.is(Tag::Int)) {
    if (v.i < 0 || v.i > 0x10FFFF || (v.i >= 0xD800 && v.i <= 0xDFFF))
      format_error(t, "%c needs a Unicode code point (0..0x10FFFF, not a surrogate), not " +
                          std::to_string(v.i));
    append_utf8(body, uint32_t(v.i));
  } else if (v.is(Tag::String)) {
    std::string_view s = v.as_string()->view();
    if (s.empty() || lead_length(s) != s.size())
      format_error(t, "%c needs a single character, not a string of " + std::to_string(s.size()) +
                          " bytes");
    body = s;
  } else {
    t.raise("ValueError", std::string("string.format(): %c needs an int or a one-character string, not ") +
                             vm::type_name(v));
  }
  append_padded(out, body, d, false, 1);
}

int parse_number(std::string_view fmt, size_t& i) {
  int n = 0;
  while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') {
    n = n * 10 + (fmt[i] - '0');
    if (n > kMaxWidth) n = kMaxWidth + 1;
    ++i;
  }
  return n;
}

}  // namespace

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

std::string format(TaskState& t, std::string_view fmt, const Value* args, int nargs) {
  std::string out;
  int next = 0;
  for (size_t i = 0; i < fmt.size();) {
    size_t pct = fmt.find('%', i);
    if (pct == std::string_view::npos) {
      out.append(fmt, i);
      break;
    }
    out.append(fmt, i, pct - i);
    size_t start = pct;
    i = pct + 1;
    Directive d;
    for (; i < fmt.size(); ++i) {
      char c = fmt[i];
      if (c == '-') d.left = true;
      else if (c == '+') d.plus = true;
      else if (c == ' ') d.space = true;
      else if (c == '0') d.zero = true;
      else if (c == '#') d.alt = true;
      else break;
    }
    // `*`: the width or precision is the next argument, an int.
    auto star = [&](const char* what) {
      ++i;
      if (next >= nargs)
        format_error(t, std::string("not enough arguments: * needs the ") + what + " as an argument");
      Value n = args[next++];
      if (!n.is(Tag::Int))
        format_error(t, std::string("* needs an int ") + what + ", not " + vm::type_name(n));
      return n.i;
    };
    if (i < fmt.size() && fmt[i] == '*') {
      int64_t w = star("width");
      if (w < 0) d.left = true;
      uint64_t mag = w < 0 ? uint64_t(0) - uint64_t(w) : uint64_t(w);
      d.width = mag > uint64_t(kMaxWidth) ? kMaxWidth + 1 : int(mag);
    } else if (i < fmt.size() && fmt[i] >= '1' && fmt[i] <= '9') {
      d.width = parse_number(fmt, i);
    }
    if (i < fmt.size() && fmt[i] == '.') {
      ++i;
      if (i < fmt.size() && fmt[i] == '*') {
        int64_t p = star("precision");
        d.precision = p < 0 ? 0 : p > kMaxWidth ? kMaxWidth + 1 : int(p);  // negative: 0, as Python
      } else {
        d.precision = parse_number(fmt, i);
      }
    }
    if (d.width > kMaxWidth || d.precision > kMaxWidth)
      format_error(t, "width or precision over " + std::to_string(kMaxWidth));
    if (i >= fmt.size())
      format_error(t, "incomplete directive \"" + std::string(fmt.substr(start)) + "\" at the end");
    d.conv = fmt[i++];
    if (d.conv == '%') {
      out += '%';
      continue;
    }
    if (std::string_view("dixXofFeEgGsvc").find(d.conv) == std::string_view::npos) {
      format_error(t, "unknown conversion \"%" + std::string(1, d.conv) + "\" at byte " +
                          std::to_string(start));
    }
    if (next >= nargs)
      format_error(t, "not enough arguments: the format needs more than " + std::to_string(nargs));
    Value v = args[next++];
    switch (d.conv) {
      case 'd': case 'i': case 'x': case 'X': case 'o': append_integer(t, out, v, d); break;
      case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': append_floating(t, out, v, d); break;
      case 'c': append_char(t, out, v, d); break;
      default: {  // s, v
        std::string body = vm::to_str(v);
        if (d.precision >= 0 && size_t(d.precision) < body.size()) {
          // Keep `precision` characters: cut before the next character's lead byte.
          size_t kept = 0, at = 0;
          for (; at < body.size(); ++at) {
            if (is_continuation(body[at])) continue;
            if (kept == size_t(d.precision)) break;
            ++kept;
          }
          body.resize(at);
        }
        append_padded(out, body, d, false, char_count(body));
      }
    }
    check_string_size(t, out.size(), "string.format");
  }
  if (next < nargs)
    format_error(t, "too many arguments: " + std::to_string(nargs) + " given, the format uses " +
                        std::to_string(next));
  return out;
}

}  // namespace tsk::stdlib
