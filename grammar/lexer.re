// The lexer's scanners (re2c, UTF-8 mode): the token scanner and the string-body
// scanner. The state they share and the rules they follow are described in
// lang/lexer_state.hpp.
//
// re2c builds the DFAs in UTF-8 mode, so a character class such as [^"\\] matches only
// well-formed UTF-8 sequences (shortest form, no surrogates); a byte that starts no such
// sequence falls through to the default rule `*`, which reports invalid UTF-8 at its
// line:col. Columns count bytes.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <string_view>

#include "lang/diagnostic.hpp"
#include "lang/lexer_state.hpp"

namespace tsk::lang {

using Parser = gen::Parser;
using Kind = Parser::symbol_kind;

/*!re2c
  re2c:define:YYCTYPE = "unsigned char";
  re2c:define:YYCURSOR = cursor_;
  re2c:define:YYLIMIT = limit_;
  re2c:define:YYMARKER = marker;
  re2c:yyfill:enable = 0;
  re2c:eof = 0;

  dec    = [0-9] ("_"? [0-9])*;
  hex    = "0" [xX] [0-9a-fA-F] ("_"? [0-9a-fA-F])*;
  bin    = "0" [bB] [01] ("_"? [01])*;
  exp    = [eE] [+-]? dec;
  float  = dec "." dec exp? | dec exp;
  ident  = [A-Za-z_] [A-Za-z0-9_]*;
  hexd   = [0-9a-fA-F];
  // Any well-formed UTF-8 character except NUL, newline and surrogates.
  text   = [^\x00\n\uD800-\uDFFF];
*/

Lexer::Lexer(std::string_view source) : text_(source) {
  cursor_ = reinterpret_cast<const unsigned char*>(text_.c_str());
  limit_ = cursor_ + text_.size();
  // A UTF-8 byte order mark opening the file is skipped, as Python and Lua do; columns
  // on line 1 count from after it, as editors show them.
  if (text_.size() >= 3 && std::memcmp(cursor_, "\xEF\xBB\xBF", 3) == 0) cursor_ += 3;
  line_start_ = cursor_;
  last_ = Kind::S_NEWLINE;  // the start of the file is the start of a statement
}

Loc Lexer::loc_of(const unsigned char* p) const {
  return Loc{line_, static_cast<uint32_t>(p - line_start_ + 1)};
}

void Lexer::newline_at(const unsigned char* after_newline) {
  ++line_;
  line_start_ = after_newline;
}

void Lexer::fail(Loc loc, std::string message) const {
  throw Parser::syntax_error(loc, std::move(message));
}

// `p` starts something no rule accepts: say whether it is a character that is merely
// out of place, or bytes that are not UTF-8 at all.
void Lexer::fail_bad_char(const unsigned char* p) const {
  Loc loc = loc_of(p);
  if (*p == 0) fail(loc, "NUL byte in source");
  if (*p < 0x80) {
    if (*p >= 0x20 && *p < 0x7f) fail(loc, std::string("unexpected character '") +
                                                static_cast<char>(*p) + "'");
    fail(loc, "unexpected control character");
  }
  // Is it one well-formed (non-surrogate, shortest-form) UTF-8 sequence?
  int len = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc2 ? 2 : 0;
  bool ok = len > 0 && *p <= 0xf4 && limit_ - p >= len;
  for (int i = 1; ok && i < len; ++i) ok = (p[i] & 0xc0) == 0x80;
  if (ok && len == 3) ok = !(p[0] == 0xe0 && p[1] < 0xa0) && !(p[0] == 0xed && p[1] >= 0xa0);
  if (ok && len == 4) ok = !(p[0] == 0xf0 && p[1] < 0x90) && !(p[0] == 0xf4 && p[1] >= 0x90);
  if (!ok) fail(loc, "invalid UTF-8 in source");
  fail(loc, "unexpected character '" + std::string(p, p + len) + "'");
}

void Lexer::open_bracket(Loc loc) {
  if (++bracket_depth_ > kMaxNesting) fail(loc, "too deeply nested");
}

void Lexer::close_bracket() {
  if (bracket_depth_ > 0) --bracket_depth_;
}

bool Lexer::ends_statement(TokenKind kind) {
  switch (kind) {
    case Kind::S_IDENT: case Kind::S_INT: case Kind::S_FLOAT: case Kind::S_STRING:
    case Kind::S_STR_TAIL: case Kind::S_BREAK: case Kind::S_CONTINUE: case Kind::S_RETURN:
    case Kind::S_NIL: case Kind::S_TRUE: case Kind::S_FALSE: case Kind::S_RPAREN:
    case Kind::S_RBRACKET: case Kind::S_RBRACE:
      return true;
    default:
      return false;
  }
}

Lexer::Token Lexer::next() {
  Token token = scan();
  last_ = token.kind();
  return token;
}

namespace {

// Roughly log10 of a decimal float literal's value (digits only, `_` removed, no sign):
// positive for values >= 1, zero or negative for smaller ones. Enough to tell an
// overflowing literal from an underflowing one; saturates instead of overflowing itself.
long decimal_magnitude(const std::string& digits) {
  size_t e = digits.find_first_of("eE");
  std::string_view mantissa(digits.data(), e == std::string::npos ? digits.size() : e);
  long exponent = 0;
  if (e != std::string::npos) {
    size_t i = e + 1;
    bool negative = i < digits.size() && digits[i] == '-';
    if (i < digits.size() && (digits[i] == '-' || digits[i] == '+')) ++i;
    for (; i < digits.size(); ++i)
      exponent = std::min(exponent * 10 + (digits[i] - '0'), 100000L);
    if (negative) exponent = -exponent;
  }
  size_t dot = mantissa.find('.');
  std::string_view whole = mantissa.substr(0, dot);
  size_t first = whole.find_first_not_of('0');
  if (first != std::string_view::npos)
    return exponent + long(std::min<size_t>(whole.size() - first, 100000));
  std::string_view fraction =
      dot == std::string_view::npos ? std::string_view{} : mantissa.substr(dot + 1);
  size_t nonzero = fraction.find_first_not_of('0');
  if (nonzero == std::string_view::npos) return 0;  // zero: never too large
  return exponent - long(std::min<size_t>(nonzero, 100000));
}

}  // namespace

// Integers: decimal, hex or binary, `_` between digits. Values up to 2^63 pass (the
// parser accepts 2^63 only under a unary minus); anything larger is out of range.
// Floats and durations: decimal, converted with from_chars (locale-independent).
Lexer::Token Lexer::make_number(const unsigned char* start, const unsigned char* end,
                                Loc loc, double duration_unit) const {
  std::string digits;
  for (const unsigned char* p = start; p < end; ++p)
    if (*p != '_') digits += static_cast<char>(*p);
  bool prefixed = digits.size() > 2 && digits[0] == '0' &&
                  (digits[1] == 'x' || digits[1] == 'X' || digits[1] == 'b' || digits[1] == 'B');
  bool is_float = duration_unit != 0 ||
                  (!prefixed && digits.find_first_of(".eE") != std::string::npos);
  if (is_float) {
    double value = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec == std::errc::result_out_of_range) {
      // As in Python and Lua, a literal too large for a double is inf (`1e400`, like
      // float("1e400")) and one too small is 0. from_chars reports both as out of range.
      value = decimal_magnitude(digits) > 0 ? std::numeric_limits<double>::infinity() : 0.0;
    } else if (ec != std::errc() || ptr != digits.data() + digits.size()) {
      fail(loc, "invalid number literal");
    }
    if (duration_unit != 0) value /= duration_unit;
    return Parser::make_FLOAT(value, loc);
  }
  int base = 10;
  size_t i = 0;
  if (prefixed) {
    base = (digits[1] | 0x20) == 'x' ? 16 : 2;
    i = 2;
  }
  constexpr uint64_t kMax = uint64_t{1} << 63;
  uint64_t value = 0;
  for (; i < digits.size(); ++i) {
    char c = digits[i];
    unsigned d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    if (value > (kMax - d) / base) fail(loc, "integer literal out of range");
    value = value * base + d;
  }
  return Parser::make_INT(value, loc);
}

Lexer::Token Lexer::scan() {
  for (;;) {
    const unsigned char* start = cursor_;
    const unsigned char* marker = cursor_;
    Loc loc = loc_of(start);
    /*!re2c
      [ \t\r\f\v]+       { continue; }
      "#" text*          { continue; }
      "\n" {
        newline_at(cursor_);
        if (ends_statement(last_)) return Parser::make_NEWLINE(loc);
        continue;
      }
      $ {
        if (!interps_.empty()) fail(interps_.back().string_start, "unterminated string");
        return Parser::make_END(loc);
      }

      "let"      { return Parser::make_LET(loc); }
      "var"      { return Parser::make_VAR(loc); }
      "fn"       { return Parser::make_FN(loc); }
      "return"   { return Parser::make_RETURN(loc); }
      "if"       { return Parser::make_IF(loc); }
      "else"     { return Parser::make_ELSE(loc); }
      "while"    { return Parser::make_WHILE(loc); }
      "for"      { return Parser::make_FOR(loc); }
      "in"       { return Parser::make_IN(loc); }
      "break"    { return Parser::make_BREAK(loc); }
      "continue" { return Parser::make_CONTINUE(loc); }
      "nil"      { return Parser::make_NIL(loc); }
      "true"     { return Parser::make_TRUE(loc); }
      "false"    { return Parser::make_FALSE(loc); }
      "and"      { return Parser::make_AND(loc); }
      "or"       { return Parser::make_OR(loc); }
      "not"      { return Parser::make_NOT(loc); }
      "spawn"    { return Parser::make_SPAWN(loc); }
      "await"    { return Parser::make_AWAIT(loc); }
      "scope"    { return Parser::make_SCOPE(loc); }
      "select"   { return Parser::make_SELECT(loc); }
      "case"     { return Parser::make_CASE(loc); }
      "default"  { return Parser::make_DEFAULT(loc); }
      "try"      { return Parser::make_TRY(loc); }
      "catch"    { return Parser::make_CATCH(loc); }
      "finally"  { return Parser::make_FINALLY(loc); }
      "throw"    { return Parser::make_THROW(loc); }
      "import"   { return Parser::make_IMPORT(loc); }
      "as"       { return Parser::make_AS(loc); }
      ident      { return Parser::make_IDENT(std::string(start, cursor_), loc); }

      dec | hex | bin | float { return make_number(start, cursor_, loc, 0); }
      (dec | float) "ns" { return make_number(start, cursor_ - 2, loc, 1e9); }
      (dec | float) "us" { return make_number(start, cursor_ - 2, loc, 1e6); }
      (dec | float) "ms" { return make_number(start, cursor_ - 2, loc, 1e3); }
      (dec | float) "s"  { return make_number(start, cursor_ - 1, loc, 1); }
      // A number run into letters, digits or `_`: `12abc`, `0x1g`, `1e`, `1_`, `5sec`.
      (dec | hex | bin | float) [A-Za-z0-9_]+ { fail(loc, "invalid number literal"); }

      "\"" {
        if (interps_.empty()) check_string_terminated(start);
        return scan_string_part(loc, loc, true);
      }

      "+"   { return Parser::make_PLUS(loc); }
      "-"   { return Parser::make_MINUS(loc); }
      "*"   { return Parser::make_STAR(loc); }
      "/"   { return Parser::make_SLASH(loc); }
      "//"  { return Parser::make_IDIV(loc); }
      "%"   { return Parser::make_PERCENT(loc); }
      "**"  { return Parser::make_POW(loc); }
      "=="  { return Parser::make_EQ(loc); }
      "!="  { return Parser::make_NE(loc); }
      "<"   { return Parser::make_LT(loc); }
      "<="  { return Parser::make_LE(loc); }
      ">"   { return Parser::make_GT(loc); }
      ">="  { return Parser::make_GE(loc); }
      "="   { return Parser::make_ASSIGN(loc); }
      "+="  { return Parser::make_ADD_ASSIGN(loc); }
      "-="  { return Parser::make_SUB_ASSIGN(loc); }
      "*="  { return Parser::make_MUL_ASSIGN(loc); }
      "/="  { return Parser::make_DIV_ASSIGN(loc); }
      "//=" { return Parser::make_IDIV_ASSIGN(loc); }
      "%="  { return Parser::make_MOD_ASSIGN(loc); }
      "&"   { return Parser::make_AMP(loc); }
      "|"   { return Parser::make_PIPE(loc); }
      "^"   { return Parser::make_CARET(loc); }
      "~"   { return Parser::make_TILDE(loc); }
      "<<"  { return Parser::make_SHL(loc); }
      ">>"  { return Parser::make_SHR(loc); }
      "<-"  { return Parser::make_ARROW(loc); }
      ".."  { return Parser::make_DOTDOT(loc); }
      "..=" { return Parser::make_DOTDOTEQ(loc); }
      "=>"  { return Parser::make_FATARROW(loc); }
      ","   { return Parser::make_COMMA(loc); }
      "."   { return Parser::make_DOT(loc); }
      ":"   { return Parser::make_COLON(loc); }
      ";"   { return Parser::make_SEMI(loc); }
      "("   { open_bracket(loc); return Parser::make_LPAREN(loc); }
      ")"   { close_bracket(); return Parser::make_RPAREN(loc); }
      "["   { open_bracket(loc); return Parser::make_LBRACKET(loc); }
      "]"   { close_bracket(); return Parser::make_RBRACKET(loc); }
      "{" {
        open_bracket(loc);
        if (!interps_.empty()) ++interps_.back().open_braces;
        if (last_ == Kind::S_SPAWN) return Parser::make_SPAWN_LBRACE(loc);
        return Parser::make_LBRACE(loc);
      }
      "}" {
        close_bracket();
        if (!interps_.empty()) {
          if (interps_.back().open_braces == 0) {  // the end of the `${ }`
            Loc string_start = interps_.back().string_start;
            interps_.pop_back();
            return scan_string_part(loc, string_start, false);
          }
          --interps_.back().open_braces;
        }
        return Parser::make_RBRACE(loc);
      }

      * { fail_bad_char(start); }
    */
  }
}

namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

uint32_t hex_value(const unsigned char* p, const unsigned char* end) {
  uint32_t v = 0;
  for (; p < end; ++p) v = v * 16 + (*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
  return v;
}

}  // namespace

Lexer::Token Lexer::scan_string_part(Loc token_loc, Loc string_start, bool first) {
  std::string out;
  for (;;) {
    const unsigned char* start = cursor_;
    const unsigned char* marker = cursor_;
    /*!re2c
      "\"" {
        return first ? Parser::make_STRING(std::move(out), token_loc)
                     : Parser::make_STR_TAIL(std::move(out), token_loc);
      }
      "${" {
        open_bracket(loc_of(start));
        interps_.push_back(Interpolation{string_start, 0});
        return first ? Parser::make_STR_HEAD(std::move(out), token_loc)
                     : Parser::make_STR_MID(std::move(out), token_loc);
      }
      "\\n"  { out += '\n'; continue; }
      "\\t"  { out += '\t'; continue; }
      "\\r"  { out += '\r'; continue; }
      "\\0"  { out += '\0'; continue; }
      "\\\\" { out += '\\'; continue; }
      "\\\"" { out += '"'; continue; }
      "\\$"  { out += '$'; continue; }
      "\\x" hexd hexd {
        out += static_cast<char>(hex_value(start + 2, cursor_));
        continue;
      }
      "\\u{" hexd{1,6} "}" {
        uint32_t cp = hex_value(start + 3, cursor_ - 1);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
          fail(loc_of(start), "invalid code point in \\u{...} escape");
        append_utf8(out, cp);
        continue;
      }
      "\\" {
        if (*cursor_ == 'x') fail(loc_of(start), "invalid escape: \\x needs two hex digits");
        if (*cursor_ == 'u') fail(loc_of(start), "invalid escape: write \\u{H..} with 1 to 6 hex digits");
        if (*cursor_ > 0x20 && *cursor_ < 0x7f)
          fail(loc_of(start), std::string("invalid escape sequence '\\") +
                                  static_cast<char>(*cursor_) + "'");
        fail(loc_of(start), "invalid escape sequence");
      }
      "\n" | "\r\n" {
        out += '\n';  // a CRLF line end reads as LF inside strings too (SPEC §1)
        newline_at(cursor_);
        continue;
      }
      "$" { out += '$'; continue; }
      "\r" { out += '\r'; continue; }  // a lone CR is kept
      [^\x00\r\n"\\$\uD800-\uDFFF]+ {
        out.append(reinterpret_cast<const char*>(start), cursor_ - start);
        continue;
      }
      $ { fail(string_start, "unterminated string"); }
      * { fail_bad_char(start); }
    */
  }
}

void Lexer::check_string_terminated(const unsigned char* quote) const {
  struct Open {
    bool in_string;  // else inside `${ }`
    Loc start;
    int braces;
  };
  uint32_t line = line_;
  const unsigned char* line_start = line_start_;
  auto loc = [&](const unsigned char* p) {
    return Loc{line, static_cast<uint32_t>(p - line_start + 1)};
  };
  std::vector<Open> open{{true, loc(quote), 0}};
  const unsigned char* p = quote + 1;
  while (!open.empty()) {
    if (p >= limit_) {
      const Open& innermost = open.back();
      fail(innermost.start,
           innermost.in_string ? "unterminated string" : "unterminated interpolation '${'");
    }
    unsigned char c = *p;
    if (c == '\n') {
      ++line;
      line_start = p + 1;
      ++p;
      continue;
    }
    Open& top = open.back();
    if (top.in_string) {
      if (c == '\\' && p + 1 < limit_ && p[1] != '\n') {
        p += 2;
      } else if (c == '"') {
        open.pop_back();
        ++p;
      } else if (c == '$' && p + 1 < limit_ && p[1] == '{') {
        open.push_back({false, loc(p), 0});
        p += 2;
      } else {
        ++p;
      }
    } else if (c == '"') {
      open.push_back({true, loc(p), 0});
      ++p;
    } else if (c == '#') {
      while (p < limit_ && *p != '\n') ++p;
    } else if (c == '{') {
      ++top.braces;
      ++p;
    } else if (c == '}') {
      if (top.braces == 0) open.pop_back(); else --top.braces;
      ++p;
    } else {
      ++p;
    }
  }
}

}  // namespace tsk::lang
