// lang::parse: runs the generated parser (grammar/parser.y) over the lexer
// (grammar/lexer.re) and turns its outcome into a ParseResult. This is the only entry to
// the front end; it never throws on bad input (see lang/diagnostic.hpp).
#include <exception>
#include <new>

#include "lang/diagnostic.hpp"
#include "lang/lexer_state.hpp"
#include "lang/parse_tree.hpp"
#include "parser.hpp"

namespace tsk::lang {

ParseResult parse(std::string_view source, const std::string& file) {
  ParseResult result;
  ParseContext ctx;
  ctx.module = std::make_unique<Module>();
  ctx.module->file = file;
  ctx.module->body.loc = Loc{1, 1};
  int status = 1;
  try {
    Lexer lexer(source);
    gen::Parser parser(lexer, ctx);
    status = parser.parse();
  } catch (const std::bad_alloc&) {
    // The parser has already freed what it built; only the report is left to make.
    if (!ctx.error) ctx.error = Diagnostic{file, Loc{}, "out of memory while parsing"};
  }
  if (status != 0 || ctx.error) {
    result.errors.push_back(ctx.error ? std::move(*ctx.error)
                                      : Diagnostic{file, Loc{}, "syntax error"});
    return result;
  }
  result.module = std::move(ctx.module);
  return result;
}

}  // namespace tsk::lang
