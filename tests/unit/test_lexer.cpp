// Lexer tests (grammar/lexer.re): the newline rule, literals, escapes, interpolation
// tokens, durations, and lexical errors with their line:col. Tokens are printed as a
// compact line: identifiers `id:x`, integers `int:5`, floats `float:0.25`, strings
// `str:"..."` (interpolation parts head:/mid:/tail:), NEWLINE `NL`, anything else by its
// spelling.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "lang/lexer_state.hpp"

namespace {

using tsk::lang::Lexer;
using Parser = tsk::lang::gen::Parser;
using Kind = Parser::symbol_kind;

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else out += static_cast<char>(c);
  }
  return out + "\"";
}

std::string describe(const Lexer::Token& t) {
  switch (t.kind()) {
    case Kind::S_IDENT: return "id:" + t.value.as<std::string>();
    case Kind::S_INT: return "int:" + std::to_string(t.value.as<uint64_t>());
    case Kind::S_FLOAT: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "float:%g", t.value.as<double>());
      return buf;
    }
    case Kind::S_STRING: return "str:" + quoted(t.value.as<std::string>());
    case Kind::S_STR_HEAD: return "head:" + quoted(t.value.as<std::string>());
    case Kind::S_STR_MID: return "mid:" + quoted(t.value.as<std::string>());
    case Kind::S_STR_TAIL: return "tail:" + quoted(t.value.as<std::string>());
    case Kind::S_NEWLINE: return "NL";
    case Kind::S_SPAWN_LBRACE: return "spawn{";
    default: {
      std::string name = Parser::symbol_name(t.kind());
      if (name.size() > 2 && name.front() == '\'') name = name.substr(1, name.size() - 2);
      return name;
    }
  }
}

// All tokens of `source`, space-separated, or "error L:C: message".
std::string lex(std::string_view source) {
  std::string out;
  try {
    Lexer lexer(source);
    for (;;) {
      Lexer::Token t = lexer.next();
      if (t.kind() == Kind::S_YYEOF) break;
      if (!out.empty()) out += ' ';
      out += describe(t);
    }
  } catch (const Parser::syntax_error& e) {
    return "error " + std::to_string(e.location.line) + ":" +
           std::to_string(e.location.col) + ": " + e.what();
  }
  return out;
}

// "L:C" of every token.
std::string locs(std::string_view source) {
  std::string out;
  Lexer lexer(source);
  for (;;) {
    Lexer::Token t = lexer.next();
    if (t.kind() == Kind::S_YYEOF) break;
    if (!out.empty()) out += ' ';
    out += std::to_string(t.location.line) + ":" + std::to_string(t.location.col);
  }
  return out;
}

}  // namespace

TEST_SUITE("lexer") {

TEST_CASE("newline ends a statement only after an operand-like token") {
  CHECK(lex("x\ny") == "id:x NL id:y");
  CHECK(lex("x +\ny") == "id:x + id:y");
  CHECK(lex("f(\na,\nb,\n)") == "id:f ( id:a , id:b , )");
  CHECK(lex("f(a\n)") == "id:f ( id:a NL )");
  CHECK(lex("let\nx") == "let id:x");
  CHECK(lex("1\n2.5\n\"s\"\nnil\ntrue\nfalse\n") ==
        "int:1 NL float:2.5 NL str:\"s\" NL nil NL true NL false NL");
  CHECK(lex("break\ncontinue\nreturn\n") == "break NL continue NL return NL");
  CHECK(lex(")\n]\n}\n") == ") NL ] NL } NL");
  CHECK(lex("{\n[\n(\n") == "{ [ (");
  CHECK(lex("a =\n  1") == "id:a = int:1");
  CHECK(lex("x\n\n\ny") == "id:x NL id:y");
  CHECK(lex("a; b") == "id:a ; id:b");
  CHECK(lex("\"a${x}\"\ny") == "head:\"a\" id:x tail:\"\" NL id:y");
}

TEST_CASE("comments and whitespace") {
  CHECK(lex("x # comment\ny") == "id:x NL id:y");
  CHECK(lex("#!/usr/bin/env tsk\nx") == "id:x");
  CHECK(lex("# only a comment") == "");
  CHECK(lex("a\r\nb\t c") == "id:a NL id:b id:c");
  CHECK(lex("x # é ünïcode ok\n") == "id:x NL");
}

TEST_CASE("a byte order mark is skipped only at the start of the file") {
  CHECK(lex("\xEF\xBB\xBFx") == "id:x");
  CHECK(lex("\xEF\xBB\xBF#!/usr/bin/env tsk\nx") == "id:x");
  CHECK(lex("\xEF\xBB\xBF  @") == "error 1:3: unexpected character '@'");  // columns after it
  CHECK(lex("x\n\xEF\xBB\xBFy").rfind("error 2:1:", 0) == 0);
}

TEST_CASE("keywords, identifiers and operators") {
  CHECK(lex("let var fn return if else while for in break continue") ==
        "let var fn return if else while for in break continue");
  CHECK(lex("nil true false and or not spawn await scope select case default") ==
        "nil true false and or not spawn await scope select case default");
  CHECK(lex("try catch finally throw import as") == "try catch finally throw import as");
  CHECK(lex("letter _ _x x1 Fn") == "id:letter id:_ id:_x id:x1 id:Fn");
  CHECK(lex("+ - * / // % ** == != < <= > >= = += -= *= /= //= %=") ==
        "+ - * / // % ** == != < <= > >= = += -= *= /= //= %=");
  CHECK(lex("& | ^ ~ << >> <- .. ..= => ( ) [ ] { } , . : ;") ==
        "& | ^ ~ << >> <- .. ..= => ( ) [ ] { } , . : ;");
  CHECK(lex("a<-b") == "id:a <- id:b");
  CHECK(lex("a < -b") == "id:a < - id:b");
  CHECK(lex("spawn { x }") == "spawn spawn{ id:x }");
  CHECK(lex("spawn f({})") == "spawn id:f ( { } )");
}

TEST_CASE("integer and float literals") {
  CHECK(lex("42 0x2A 0b1010 1_000_000 0XfF") == "int:42 int:42 int:10 int:1000000 int:255");
  CHECK(lex("3.14 1e-9 2.5E3 1e3") == "float:3.14 float:1e-09 float:2500 float:1000");
  CHECK(lex("1..5") == "int:1 .. int:5");
  CHECK(lex("1..=5") == "int:1 ..= int:5");
  CHECK(lex("x.0") == "id:x . int:0");
  CHECK(lex("9223372036854775807") == "int:9223372036854775807");
  CHECK(lex("9223372036854775808") == "int:9223372036854775808");  // only valid negated
  CHECK(lex("0x7fff_ffff_ffff_ffff") == "int:9223372036854775807");
  CHECK(lex("1e-400") == "float:0");
  // Too large for a double: inf, as in Python and Lua (and as float("1e400") here).
  CHECK(lex("1e999") == "float:inf");
  CHECK(lex("1e99999999999999999999") == "float:inf");
  CHECK(lex("1" + std::string(400, '0') + ".5e-10") == "float:inf");
  CHECK(lex("0." + std::string(400, '0') + "1e-300") == "float:0");
  CHECK(lex("2e400ms") == "float:inf");
}

TEST_CASE("durations are float seconds") {
  CHECK(lex("250ms") == "float:0.25");
  CHECK(lex("2s") == "float:2");
  CHECK(lex("1.5s") == "float:1.5");
  CHECK(lex("10us") == "float:1e-05");
  CHECK(lex("100ns") == "float:1e-07");
  CHECK(lex("1_000ms") == "float:1");
}

TEST_CASE("number errors") {
  CHECK(lex("x = 12abc") == "error 1:5: invalid number literal");
  CHECK(lex("0x1g") == "error 1:1: invalid number literal");
  CHECK(lex("1_") == "error 1:1: invalid number literal");
  CHECK(lex("1e") == "error 1:1: invalid number literal");
  CHECK(lex("5sec") == "error 1:1: invalid number literal");
  CHECK(lex("0b12") == "error 1:1: invalid number literal");
  CHECK(lex("\n  9223372036854775809") == "error 2:3: integer literal out of range");
  CHECK(lex("18446744073709551616") == "error 1:1: integer literal out of range");
  CHECK(lex("0x8000000000000001") == "error 1:1: integer literal out of range");
}

TEST_CASE("strings and escapes") {
  CHECK(lex("\"hi\"") == "str:\"hi\"");
  CHECK(lex("\"\"") == "str:\"\"");
  CHECK(lex(R"("\n\t\r\\\"\$")") == R"(str:"\n\t\x0d\\\"$")");
  CHECK(lex(R"("a\0b")") == R"(str:"a\x00b")");
  CHECK(lex(R"("\x41\xff")") == R"(str:"A\xff")");
  CHECK(lex(R"("\u{e9}\u{41}\u{1F600}")") == R"(str:"\xc3\xa9A\xf0\x9f\x98\x80")");
  CHECK(lex("\"cost $5 $\"") == "str:\"cost $5 $\"");
  CHECK(lex("\"caf\xc3\xa9\"") == "str:\"caf\\xc3\\xa9\"");
  CHECK(lex("\"two\nlines\" x") == "str:\"two\\nlines\" id:x");
  CHECK(locs("\"two\nlines\" x") == "1:1 2:8");
  CHECK(locs("\"\xc3\xa9\" x") == "1:1 1:6");  // columns count bytes
}

TEST_CASE("escape errors") {
  CHECK(lex(R"(x = "ab\q")") == R"(error 1:8: invalid escape sequence '\q')");
  CHECK(lex(R"("\x4")") == R"(error 1:2: invalid escape: \x needs two hex digits)");
  CHECK(lex(R"("\u{}")") == R"(error 1:2: invalid escape: write \u{H..} with 1 to 6 hex digits)");
  CHECK(lex(R"("\u{1234567}")") ==
        R"(error 1:2: invalid escape: write \u{H..} with 1 to 6 hex digits)");
  CHECK(lex(R"("\u{110000}")") == R"(error 1:2: invalid code point in \u{...} escape)");
  CHECK(lex(R"("\u{d800}")") == R"(error 1:2: invalid code point in \u{...} escape)");
}

TEST_CASE("interpolation") {
  CHECK(lex("\"sum=${a + b}\"") == "head:\"sum=\" id:a + id:b tail:\"\"");
  CHECK(lex("\"a${x}b${y}c\"") == "head:\"a\" id:x mid:\"b\" id:y tail:\"c\"");
  CHECK(lex("\"${ {a: 1}[\"a\"] }\"") ==
        "head:\"\" { id:a : int:1 } [ str:\"a\" ] tail:\"\"");
  CHECK(lex("\"${f(\"x\")}\"") == "head:\"\" id:f ( str:\"x\" ) tail:\"\"");
  CHECK(lex("\"${\"in${1}ner\"}\"") ==
        "head:\"\" head:\"in\" int:1 tail:\"ner\" tail:\"\"");
  CHECK(lex("\"\\${x}\"") == "str:\"${x}\"");
  CHECK(lex("\"${x}\" }") == "head:\"\" id:x tail:\"\" }");
  CHECK(lex("\"${ {a: \"${x}\"}[\"a\"] }\"") ==
        "head:\"\" { id:a : head:\"\" id:x tail:\"\" } [ str:\"a\" ] tail:\"\"");
  CHECK(lex("\"${ f(x)[0] }${ (y) }\"") ==
        "head:\"\" id:f ( id:x ) [ int:0 ] mid:\"\" ( id:y ) tail:\"\"");
}

TEST_CASE("lexical errors point at their line:col") {
  CHECK(lex("x = 1\nlet s = \"abc\n\nfoo") == "error 2:9: unterminated string");
  CHECK(lex("let s = \"a${b\nc") == "error 1:11: unterminated interpolation '${'");
  CHECK(lex("\"a${ \"b } \"") == "error 1:3: unterminated interpolation '${'");
  CHECK(lex("\"a${b}") == "error 1:1: unterminated string");
  CHECK(lex("\"${ \"x") == "error 1:5: unterminated string");
  CHECK(lex("x = 1\ny @ 2") == "error 2:3: unexpected character '@'");
  CHECK(lex("a ! b") == "error 1:3: unexpected character '!'");
  CHECK(lex("x = caf\xc3\xa9") == "error 1:8: unexpected character '\xc3\xa9'");
  CHECK(lex("x\ny = \xff") == "error 2:5: invalid UTF-8 in source");
  CHECK(lex("\"ok\xc3\x28\"") == "error 1:4: invalid UTF-8 in source");
  CHECK(lex("# bad \xc0\xaf comment") == "error 1:7: invalid UTF-8 in source");
  CHECK(lex("\"\xed\xa0\x80\"") == "error 1:2: invalid UTF-8 in source");  // a surrogate
  CHECK(lex("\"\xf4\x90\x80\x80\"") == "error 1:2: invalid UTF-8 in source");
  CHECK(lex(std::string_view("x = 1\0", 6)) == "error 1:6: NUL byte in source");
  CHECK(lex(std::string_view("\"a\0\"", 4)) == "error 1:3: NUL byte in source");
  CHECK(lex(std::string_view("# c\0", 4)) == "error 1:4: NUL byte in source");
  CHECK(lex("x\x01") == "error 1:2: unexpected control character");
}

TEST_CASE("bracket nesting is bounded") {
  std::string ok(tsk::lang::kMaxNesting, '(');
  CHECK(lex(ok).rfind("(", 0) == 0);
  std::string deep(tsk::lang::kMaxNesting + 1, '[');
  CHECK(lex(deep) == "error 1:" + std::to_string(tsk::lang::kMaxNesting + 1) +
                         ": too deeply nested");
}

}  // TEST_SUITE
