// The lexer: source bytes to the tokens of grammar/parser.y. Its scanners are generated
// by re2c from grammar/lexer.re; this header is the state they share.
//
// What the lexer decides, so the grammar does not have to:
//  - Go's newline rule (SPEC §1): a newline becomes a NEWLINE token only when the token
//    before it can end a statement (an identifier, a literal, break/continue/return/nil/
//    true/false, or one of `) ] }`); every other newline is whitespace.
//  - Interpolated strings: `"a${x}b${y}c"` arrives as STR_HEAD("a") x STR_MID("b") y
//    STR_TAIL("c"). `interps_` holds one entry per open `${`, counting the `{` opened
//    inside it, so the `}` that closes the interpolation is told apart from one that
//    closes a map literal or a block inside it.
//  - `{` right after `spawn` is SPAWN_LBRACE, so `spawn { block }` and `spawn {map}...`
//    never compete in the grammar.
//  - Every lexical error (bad character, invalid UTF-8, NUL byte, bad escape, number out
//    of range, unterminated string, nesting deeper than kMaxNesting brackets) is thrown
//    as gen::Parser::syntax_error, which the parser reports as its one diagnostic.
//
// Invariant: `cursor_` never passes `limit_`; the text is a copy of the source ending in
// a NUL sentinel, and re2c's bounds check tells that sentinel from a NUL in the source.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lang/ast.hpp"
#include "parser.hpp"  // generated from grammar/parser.y

namespace tsk::lang {

class Lexer {
 public:
  using Token = gen::Parser::symbol_type;
  using TokenKind = gen::Parser::symbol_kind_type;

  explicit Lexer(std::string_view source);

  // The next token; END (kind S_YYEOF) at the end of the source, again and again.
  // Throws gen::Parser::syntax_error on a lexical error.
  Token next();

 private:
  // One open `${ ... }` inside a string.
  struct Interpolation {
    Loc string_start;  // the opening quote of the string it belongs to
    int open_braces;   // `{` opened inside the interpolation and not yet closed
  };

  Token scan();
  // Scans string text from `cursor_` up to the closing quote or the next `${`. `first`:
  // the opening quote was just read (the token is STRING or STR_HEAD); otherwise a `}`
  // closing an interpolation was (STR_MID or STR_TAIL).
  Token scan_string_part(Loc token_loc, Loc string_start, bool first);
  // Before the first part of a string that is not inside another one: walks to its end,
  // through nested interpolations, and throws "unterminated ..." at the start of the
  // innermost construct left open. So an unterminated string is reported where it
  // starts, not at some later token that happens to be a syntax error.
  void check_string_terminated(const unsigned char* quote) const;

  Token make_number(const unsigned char* start, const unsigned char* end, Loc loc,
                    double duration_unit) const;
  void open_bracket(Loc loc);
  void close_bracket();
  void newline_at(const unsigned char* after_newline);
  Loc loc_of(const unsigned char* p) const;
  [[noreturn]] void fail(Loc loc, std::string message) const;
  [[noreturn]] void fail_bad_char(const unsigned char* p) const;
  static bool ends_statement(TokenKind kind);

  std::string text_;  // the source, plus the NUL sentinel std::string keeps after it
  const unsigned char* cursor_;
  const unsigned char* limit_;       // the sentinel
  const unsigned char* line_start_;  // first byte of the current line
  uint32_t line_ = 1;
  TokenKind last_;                   // the previous token's kind (newline rule, spawn `{`)
  int bracket_depth_ = 0;            // open ( [ { and ${
  std::vector<Interpolation> interps_;
};

}  // namespace tsk::lang
