// string.format: printf-style formatting (SPEC §11). A directive is
//   % [flags - + 0 space] [width] [.precision] conversion
// with conversions d i (int), x X o (int in hex/octal), f F e E g G (number), s and v
// (str() of any value; precision cuts bytes), c (a code point or a one-character
// string) and %% (a literal %).
//
// Decisions: ints print through our own digit loop (a negative %x is "-ff", as Python,
// not C's two's complement); floats go through snprintf with the same directive, which
// is exact and C-locale independent for these conversions as long as nobody changes
// LC_NUMERIC (tsk never does). %d of a float is an error naming the fix, since silently
// truncating would hide bugs. Every mismatch between the format and the arguments is a
// ValueError, as SPEC §11 says (Python would raise TypeError for a wrong type): too few
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
  bool left = false, plus = false, space = false, zero = false;
  int width = -1;
  int precision = -1;
  char conv = 0;
};

[[noreturn]] void format_error(Task& t, std::string msg) {
  t.raise("ValueError", "string.format(): " + std::move(msg));
}

// Pads `body` to the directive's width. With the 0 flag, numbers get zeros after their
// sign (and never when left-justified).
void append_padded(std::string& out, std::string_view body, const Directive& d, bool numeric) {
  size_t width = d.width > 0 ? size_t(d.width) : 0;
  if (body.size() >= width) {
    out += body;
    return;
  }
  size_t pad = width - body.size();
  if (d.left) {
    out += body;
    out.append(pad, ' ');
  } else if (d.zero && numeric) {
    size_t sign = !body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ') ? 1 : 0;
    out += body.substr(0, sign);
    out.append(pad, '0');
    out += body.substr(sign);
  } else {
    out.append(pad, ' ');
    out += body;
  }
}

void append_integer(Task& t, std::string& out, Value v, const Directive& d) {
  if (!v.is(Tag::Int)) {
    std::string msg = std::string("string.format(): %") + d.conv + " needs an int, not " +
                      vm::type_name(v);
    if (v.is(Tag::Float)) msg += " (convert with int() or use %f)";
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
  if (d.precision > n) body.append(size_t(d.precision - n), '0');
  while (n) body += buf[--n];
  Directive pad = d;
  if (d.precision >= 0) pad.zero = false;  // as C: a precision overrides the 0 flag
  append_padded(out, body, pad, true);
}

void append_floating(Task& t, std::string& out, Value v, const Directive& d) {
  if (!v.is_number())
    t.raise("ValueError", std::string("string.format(): %") + d.conv + " needs a number, not " +
                             vm::type_name(v));
  std::string spec = "%";
  if (d.left) spec += '-';
  if (d.plus) spec += '+';
  if (d.space) spec += ' ';
  if (d.zero) spec += '0';
  if (d.width >= 0) spec += std::to_string(d.width);
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
  out += body;
}

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

// The byte length of the first UTF-8 character of s judged by its lead byte alone
// (enough to tell "one character" from "several" for %c).
size_t lead_length(std::string_view s) {
  unsigned char c = (unsigned char)s[0];
  size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  return n <= s.size() ? n : 1;
}

void append_char(Task& t, std::string& out, Value v, const Directive& d) {
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
  append_padded(out, body, d, false);
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

std::string format(Task& t, std::string_view fmt, const Value* args, int nargs) {
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
      else break;
    }
    if (i < fmt.size() && fmt[i] >= '1' && fmt[i] <= '9') d.width = parse_number(fmt, i);
    if (i < fmt.size() && fmt[i] == '.') {
      ++i;
      d.precision = parse_number(fmt, i);
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
        if (d.precision >= 0 && size_t(d.precision) < body.size()) body.resize(size_t(d.precision));
        append_padded(out, body, d, false);
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
