// The parser's working types: what each grammar symbol of grammar/parser.y carries while
// the tree is being built, and the per-parse context the grammar actions write into.
//
// Invariant: every node wrapper records `depth`, the height of the subtree it holds,
// counting Expr and Stmt nodes (a Block adds nothing of its own), except that the left
// operand of a binary operator does not count: a binary node's depth is
// max(depth(left), depth(right) + 1). The actions refuse to build a node whose depth
// would pass kMaxNesting. Every pass over the tree (the resolver, the compiler, ~Expr)
// walks the left spine of binary nodes in a loop and recurses only into the rest, so
// the finished tree can be walked and freed without nearing the C++ stack limit however
// the source is shaped, and a flat chain `1+1+1+...` of any length compiles (SPEC §5).
//
// Rejected: counting only brackets. An `else if` chain nests the tree without a single
// bracket. Rejected: an n-ary chain node: every pass would need a second form of binary
// expression, where a loop over the left spine changes nothing else.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lang/ast.hpp"
#include "lang/diagnostic.hpp"

namespace tsk::lang {

struct ExprNode {
  ExprPtr node;
  int depth = 0;
};

struct ExprListNode {
  std::vector<ExprPtr> items;
  int depth = 0;  // the deepest item
};

struct StmtNode {
  StmtPtr node;
  int depth = 0;
};

struct BlockNode {
  Block block;
  int depth = 0;  // the deepest statement; 0 for an empty block
};

struct ParamsNode {
  std::vector<std::string> names;
  std::vector<Loc> locs;
};

// `catch [name] { }` before it is folded into its Try statement.
struct CatchNode {
  std::string name;  // "" for `catch { }`
  Loc name_loc;
  BlockNode body;
};

struct CasesNode {
  std::vector<SelectCase> cases;
  int depth = 0;
};

struct CaseNode {
  SelectCase arm;
  int depth = 0;
};

// State one parse owns besides the lexer. Everything the actions need to remember
// between reductions lives here, never in statics.
struct ParseContext {
  std::unique_ptr<Module> module;
  std::optional<Diagnostic> error;  // the first (and only) error reported

  // `9223372036854775808` is out of range unless a unary minus applies to it directly
  // (`-9223372036854775808` is INT64_MIN). The literal is parsed before we know, so it
  // waits here until the minus folds it; anything else that finishes first (another
  // such literal, the end of the statement) reports it as out of range.
  const Expr* pending_min_int = nullptr;
  Loc pending_min_int_loc;
};

}  // namespace tsk::lang
