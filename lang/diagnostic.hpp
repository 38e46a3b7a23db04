// Compile-time diagnostics: what went wrong in a source file and where. Every front-end
// stage (lexer, parser, resolver, compiler) reports through `Diagnostic`, and the CLI
// prints them with `format_diagnostic` as `file:line:col: message`, the source line and
// a caret under the column.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lang/ast.hpp"

namespace tsk::lang {

struct Diagnostic {
  std::string file;
  Loc loc;
  std::string message;  // one line, no trailing period: "undefined name 'x'"
};

// "file:line:col: error: message\n  <source line>\n  <spaces>^\n".
// Tabs in the source line are kept so the caret lines up in a terminal.
std::string format_diagnostic(const Diagnostic& d, std::string_view source);

// Parses one source file. On success `module` is set and `errors` is empty; otherwise
// `errors` holds at least one diagnostic (the parser stops at the first syntax error).
// Never throws on bad input and never overflows the C++ stack: nesting deeper than
// `kMaxNesting` is reported as a diagnostic.
struct ParseResult {
  std::unique_ptr<Module> module;
  std::vector<Diagnostic> errors;
};
ParseResult parse(std::string_view source, const std::string& file);

// 1000: deep enough for long generated expressions (a 1000-term sum is a tree 1000 deep), shallow enough that the recursive
// compiler passes over the tree stay far from the C++ stack limit (8 MB main thread,
// and the smaller stacks of worker threads and fibers later).
inline constexpr int kMaxNesting = 1000;

}  // namespace tsk::lang
