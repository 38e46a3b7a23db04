// The grammar of tsk (SPEC §1-§9) and the actions that build lang/ast.hpp from it.
// Bison LALR(1), C++ skeleton, LAC; the parser stops at the first error.
//
// Invariants:
//  - The grammar has no conflicts. Precedence is spelled out as one nonterminal per
//    level of SPEC §3 (loosest first), not with %left/%prec, so every level's
//    associativity is visible in its rule: comparisons are non-associative (a third
//    operand is a dedicated error), `**` is right-associative and its right operand is
//    a unary expression (`2 ** -1`), and unary minus applies to a whole power
//    (`-2 ** 2 == -4`).
//  - Every action that builds a node passes its depth through `deeper`, which rejects
//    trees taller than kMaxNesting (see lang/parse_tree.hpp); the left operand of a
//    binary operator is not counted, so a flat chain `a + b + c + ...` has any length.
//  - Newlines are already filtered by the lexer (Go's rule): NEWLINE here always ends a
//    statement, exactly like `;`.
//  - An arrow function `fn(x) => e` sits at the loosest level (as Python's lambda), so
//    its body extends as far as possible and it needs parentheses to be called at once.
//  - Errors, lexical or syntactic, arrive as syntax_error exceptions (from the lexer and
//    from actions) or through Bison's own report; the first one is kept in ctx.error.
%require "3.8"
%language "c++"
%skeleton "lalr1.cc"
%define api.namespace {tsk::lang::gen}
%define api.parser.class {Parser}
%define api.value.type variant
%define api.token.constructor
%define api.token.prefix {TOK_}
%define api.location.type {tsk::lang::Loc}
%define parse.error detailed
%define parse.lac full
%locations
%parse-param {tsk::lang::Lexer& lexer} {tsk::lang::ParseContext& ctx}
%lex-param {tsk::lang::Lexer& lexer}

%code requires {
// Bison's C++ skeleton includes <iostream> for its debug traces alone (off here: YYDEBUG
// is 0), and every file that includes <iostream> runs the standard streams' static
// initialiser, which builds the C++ locale at each start of tsk (0.1 ms of an empty
// script; docs/performance.md, "Start-up"). With libstdc++ the header is skipped:
// <ostream> declares what the parser uses, and its one mention of std::cerr, in dead
// code, is declared as <iostream> declares it.
#include <ostream>
#if defined(__GLIBCXX__) && !defined(_GLIBCXX_IOSTREAM)
#define _GLIBCXX_IOSTREAM 1
namespace std { extern ostream cerr; }
#endif
#include <cstdint>
#include <string>
#include "lang/ast.hpp"
#include "lang/parse_tree.hpp"
namespace tsk::lang { class Lexer; }

// A symbol's location is the location of its first token (an empty rule takes the
// location of the symbol before it).
#define YYLLOC_DEFAULT(Current, Rhs, N) \
  do { (Current) = (N) ? YYRHSLOC(Rhs, 1) : YYRHSLOC(Rhs, 0); } while (0)
}

%code {
#include <algorithm>
#include <limits>
#include "lang/lexer_state.hpp"

namespace tsk::lang::gen {

Parser::symbol_type yylex(Lexer& lexer) { return lexer.next(); }

namespace {

[[noreturn]] void fail(Loc loc, const std::string& message) {
  throw Parser::syntax_error(loc, message);
}

// The depth of a node whose deepest child has depth `child`.
int deeper(int child, Loc loc) {
  if (child + 1 > kMaxNesting) fail(loc, "too deeply nested");
  return child + 1;
}

ExprNode leaf(ExprKind kind, Loc loc) { return {std::make_unique<Expr>(kind, loc), 1}; }

ExprNode string_expr(std::string text, Loc loc) {
  ExprNode e = leaf(ExprKind::String, loc);
  e.node->str = std::move(text);
  return e;
}

ExprNode unary(UnaryOp op, Loc loc, ExprNode a) {
  ExprNode e{std::make_unique<Expr>(ExprKind::Unary, loc), deeper(a.depth, loc)};
  e.node->unary_op = op;
  e.node->a = std::move(a.node);
  return e;
}

// The left operand adds no depth: passes over the tree loop down the left spine of binary
// nodes (lang/parse_tree.hpp), so `a + b + c + ...` is as shallow as its operands.
ExprNode binary(BinaryOp op, Loc loc, ExprNode a, ExprNode b) {
  ExprNode e{std::make_unique<Expr>(ExprKind::Binary, loc),
             std::max(a.depth, deeper(b.depth, loc))};
  e.node->binary_op = op;
  e.node->a = std::move(a.node);
  e.node->b = std::move(b.node);
  return e;
}

// A node of `kind` over `a` (and optionally `b`, `c`).
ExprNode with_children(ExprKind kind, Loc loc, ExprNode a, ExprNode b = {}, ExprNode c = {}) {
  ExprNode e{std::make_unique<Expr>(kind, loc),
             deeper(std::max({a.depth, b.depth, c.depth}), loc)};
  e.node->a = std::move(a.node);
  e.node->b = std::move(b.node);
  e.node->c = std::move(c.node);
  return e;
}

ExprNode with_items(ExprKind kind, Loc loc, ExprListNode items) {
  ExprNode e{std::make_unique<Expr>(kind, loc), deeper(items.depth, loc)};
  e.node->items = std::move(items.items);
  return e;
}

void append(ExprListNode& list, ExprNode item) {
  list.depth = std::max(list.depth, item.depth);
  list.items.push_back(std::move(item.node));
}

std::unique_ptr<Function> make_function(std::string name, ParamsNode params, Block body,
                                        Loc loc) {
  auto fn = std::make_unique<Function>();
  fn->name = std::move(name);
  fn->params = std::move(params.names);
  fn->param_locs = std::move(params.locs);
  fn->body = std::move(body);
  fn->loc = loc;
  return fn;
}

// The body of `fn(...) => e`: one `return e`. Its depth is the Return statement's.
BlockNode arrow_body(ExprNode value, Loc value_loc, Loc arrow_loc) {
  BlockNode b;
  b.block.loc = arrow_loc;
  b.block.end = arrow_loc;
  auto ret = std::make_unique<Stmt>(StmtKind::Return, value_loc);
  b.depth = deeper(value.depth, value_loc);
  ret->expr = std::move(value.node);
  b.block.stmts.push_back(std::move(ret));
  return b;
}

ExprNode fn_literal(ParamsNode params, BlockNode body, Loc loc) {
  ExprNode e{std::make_unique<Expr>(ExprKind::Fn, loc), deeper(body.depth, loc)};
  e.node->fn = make_function("", std::move(params), std::move(body.block), loc);
  return e;
}

StmtNode statement(StmtKind kind, Loc loc, int child_depth) {
  return {std::make_unique<Stmt>(kind, loc), deeper(child_depth, loc)};
}

StmtNode assignment(AssignOp op, Loc loc, ExprNode target, ExprNode value) {
  ExprKind k = target.node->kind;
  if (k != ExprKind::Name && k != ExprKind::Index && k != ExprKind::Field)
    fail(loc, "cannot assign to this expression");
  StmtNode s = statement(StmtKind::Assign, loc, std::max(target.depth, value.depth));
  s.node->assign_op = op;
  s.node->target = std::move(target.node);
  s.node->expr = std::move(value.node);
  return s;
}

// A `9223372036854775808` literal that no unary minus took is out of range.
void settle_pending_min_int(ParseContext& ctx) {
  if (ctx.pending_min_int) fail(ctx.pending_min_int_loc, "integer literal out of range");
}

ExprNode int_literal(uint64_t value, Loc loc, ParseContext& ctx) {
  ExprNode e = leaf(ExprKind::Int, loc);
  if (value > uint64_t{std::numeric_limits<int64_t>::max()}) {  // 2^63: the lexer's limit
    settle_pending_min_int(ctx);
    ctx.pending_min_int = e.node.get();
    ctx.pending_min_int_loc = loc;
    e.node->int_value = std::numeric_limits<int64_t>::min();
  } else {
    e.node->int_value = static_cast<int64_t>(value);
  }
  return e;
}

}  // namespace

void Parser::error(const location_type& loc, const std::string& message) {
  if (!ctx.error) ctx.error = Diagnostic{ctx.module ? ctx.module->file : "", loc, message};
}

}  // namespace tsk::lang::gen

using namespace tsk::lang;
}

%token END 0 "end of file"
%token NEWLINE "newline"
%token <std::string> IDENT "identifier"
%token <uint64_t> INT "integer"
%token <double> FLOAT "number"
%token <std::string> STRING "string"
%token <std::string> STR_HEAD "string with '${'"
%token <std::string> STR_MID "'}' of an interpolation"
%token <std::string> STR_TAIL "'}' of the last interpolation"

%token LET "'let'" VAR "'var'" FN "'fn'" RETURN "'return'" IF "'if'" ELSE "'else'"
       WHILE "'while'" FOR "'for'" IN "'in'" BREAK "'break'" CONTINUE "'continue'"
       NIL "'nil'" TRUE "'true'" FALSE "'false'" AND "'and'" OR "'or'" NOT "'not'"
       SPAWN "'spawn'" AWAIT "'await'" SCOPE "'scope'" SELECT "'select'" CASE "'case'"
       DEFAULT "'default'" TRY "'try'" CATCH "'catch'" FINALLY "'finally'"
       THROW "'throw'" IMPORT "'import'" AS "'as'"

%token PLUS "'+'" MINUS "'-'" STAR "'*'" SLASH "'/'" IDIV "'//'" PERCENT "'%'"
       POW "'**'" EQ "'=='" NE "'!='" LT "'<'" LE "'<='" GT "'>'" GE "'>='"
       ASSIGN "'='" ADD_ASSIGN "'+='" SUB_ASSIGN "'-='" MUL_ASSIGN "'*='"
       DIV_ASSIGN "'/='" IDIV_ASSIGN "'//='" MOD_ASSIGN "'%='"
       AMP "'&'" PIPE "'|'" CARET "'^'" TILDE "'~'" SHL "'<<'" SHR "'>>'"
       ARROW "'<-'" DOTDOT "'..'" DOTDOTEQ "'..='" FATARROW "'=>'"
       LPAREN "'('" RPAREN "')'" LBRACKET "'['" RBRACKET "']'"
       LBRACE "'{'" RBRACE "'}'" SPAWN_LBRACE "'{' of a spawn block"
       COMMA "','" DOT "'.'" COLON "':'" SEMI "';'"

%type <BlockNode> body open_list closed_list block
%type <StmtNode> stmt if_stmt try_stmt select_stmt
%type <CatchNode> catch_clause
%type <CasesNode> case_body case_open case_closed
%type <CaseNode> case_clause
%type <AssignOp> assign_op
%type <BinaryOp> cmp_op
%type <ParamsNode> params param_list
%type <ExprListNode> expr_list map_items interp_parts
%type <ExprNode> expr arrow_fn or_expr and_expr not_expr cmp_expr bor_expr bxor_expr
                 band_expr shift_expr range_expr add_expr mul_expr unary_expr power_expr
                 postfix_expr primary map_key interp

%start program

%%

program:
  body  { settle_pending_min_int(ctx); ctx.module->body = std::move($1.block); }
;

/* Statements, separated by newlines or `;` (any number, also before the first and after
   the last). An open_list may take a statement next; a closed_list just took one. */
body: open_list { $$ = std::move($1); } | closed_list { $$ = std::move($1); } ;
open_list:
  %empty              {}
| open_list sep       { $$ = std::move($1); }
| closed_list sep     { $$ = std::move($1); }
;
closed_list:
  open_list stmt {
    settle_pending_min_int(ctx);
    $$ = std::move($1);
    $$.depth = std::max($$.depth, $2.depth);
    $$.block.stmts.push_back(std::move($2.node));
  }
;
sep: NEWLINE | SEMI ;

block:
  LBRACE body RBRACE {
    $$ = std::move($2);
    $$.block.loc = @1;
    $$.block.end = @3;
  }
;

stmt:
  expr {
    $$ = statement(StmtKind::Expr, @1, $1.depth);
    $$.node->expr = std::move($1.node);
  }
| expr ASSIGN expr        { $$ = assignment(AssignOp::None, @1, std::move($1), std::move($3)); }
| expr assign_op expr     { $$ = assignment($2, @1, std::move($1), std::move($3)); }
| expr ARROW expr {
    $$ = statement(StmtKind::Send, @1, std::max($1.depth, $3.depth));
    $$.node->target = std::move($1.node);
    $$.node->expr = std::move($3.node);
  }
| LET IDENT ASSIGN expr {
    $$ = statement(StmtKind::Let, @1, $4.depth);
    $$.node->names.push_back(std::move($2));
    $$.node->name_locs.push_back(@2);
    $$.node->expr = std::move($4.node);
  }
| VAR IDENT ASSIGN expr {
    $$ = statement(StmtKind::Var, @1, $4.depth);
    $$.node->names.push_back(std::move($2));
    $$.node->name_locs.push_back(@2);
    $$.node->expr = std::move($4.node);
  }
| VAR IDENT {
    $$ = statement(StmtKind::Var, @1, 0);
    $$.node->names.push_back(std::move($2));
    $$.node->name_locs.push_back(@2);
  }
| if_stmt { $$ = std::move($1); }
| WHILE expr block {
    $$ = statement(StmtKind::While, @1, std::max($2.depth, $3.depth));
    $$.node->expr = std::move($2.node);
    $$.node->body = std::move($3.block);
  }
| FOR IDENT IN expr block {
    $$ = statement(StmtKind::For, @1, std::max($4.depth, $5.depth));
    $$.node->names = {std::move($2)};
    $$.node->name_locs = {@2};
    $$.node->expr = std::move($4.node);
    $$.node->body = std::move($5.block);
  }
| FOR IDENT COMMA IDENT IN expr block {
    $$ = statement(StmtKind::For, @1, std::max($6.depth, $7.depth));
    $$.node->names = {std::move($2), std::move($4)};
    $$.node->name_locs = {@2, @4};
    $$.node->expr = std::move($6.node);
    $$.node->body = std::move($7.block);
  }
| BREAK     { $$ = statement(StmtKind::Break, @1, 0); }
| CONTINUE  { $$ = statement(StmtKind::Continue, @1, 0); }
| RETURN    { $$ = statement(StmtKind::Return, @1, 0); }
| RETURN expr {
    $$ = statement(StmtKind::Return, @1, $2.depth);
    $$.node->expr = std::move($2.node);
  }
| FN IDENT LPAREN params RPAREN block {
    $$ = statement(StmtKind::FnDecl, @1, $6.depth);
    $$.node->fn = make_function(std::move($2), std::move($4), std::move($6.block), @1);
  }
| FN IDENT LPAREN params RPAREN FATARROW expr {
    BlockNode body = arrow_body(std::move($7), @7, @6);
    $$ = statement(StmtKind::FnDecl, @1, body.depth);
    $$.node->fn = make_function(std::move($2), std::move($4), std::move(body.block), @1);
  }
| THROW expr {
    $$ = statement(StmtKind::Throw, @1, $2.depth);
    $$.node->expr = std::move($2.node);
  }
| try_stmt { $$ = std::move($1); }
| IMPORT IDENT {
    $$ = statement(StmtKind::Import, @1, 0);
    $$.node->str = $2;
    $$.node->names.push_back(std::move($2));
    $$.node->name_locs.push_back(@2);
  }
| IMPORT IDENT AS IDENT {
    $$ = statement(StmtKind::Import, @1, 0);
    $$.node->str = std::move($2);
    $$.node->names.push_back(std::move($4));
    $$.node->name_locs.push_back(@4);
  }
| IMPORT STRING AS IDENT {
    $$ = statement(StmtKind::Import, @1, 0);
    $$.node->str = std::move($2);
    $$.node->is_path = true;
    $$.node->names.push_back(std::move($4));
    $$.node->name_locs.push_back(@4);
  }
| IMPORT STRING {
    fail(@2, "importing a file needs a name: import \"path\" as name");
  }
| SCOPE block {
    $$ = statement(StmtKind::Scope, @1, $2.depth);
    $$.node->body = std::move($2.block);
  }
| select_stmt { $$ = std::move($1); }
;

assign_op:
  ADD_ASSIGN    { $$ = AssignOp::Add; }
| SUB_ASSIGN    { $$ = AssignOp::Sub; }
| MUL_ASSIGN    { $$ = AssignOp::Mul; }
| DIV_ASSIGN    { $$ = AssignOp::Div; }
| IDIV_ASSIGN   { $$ = AssignOp::IDiv; }
| MOD_ASSIGN    { $$ = AssignOp::Mod; }
;

if_stmt:
  IF expr block {
    $$ = statement(StmtKind::If, @1, std::max($2.depth, $3.depth));
    $$.node->expr = std::move($2.node);
    $$.node->body = std::move($3.block);
  }
| IF expr block ELSE block {
    StmtNode otherwise = statement(StmtKind::Block, @5, $5.depth);
    otherwise.node->body = std::move($5.block);
    $$ = statement(StmtKind::If, @1, std::max({$2.depth, $3.depth, otherwise.depth}));
    $$.node->expr = std::move($2.node);
    $$.node->body = std::move($3.block);
    $$.node->else_stmt = std::move(otherwise.node);
  }
| IF expr block ELSE if_stmt {
    $$ = statement(StmtKind::If, @1, std::max({$2.depth, $3.depth, $5.depth}));
    $$.node->expr = std::move($2.node);
    $$.node->body = std::move($3.block);
    $$.node->else_stmt = std::move($5.node);
  }
;

try_stmt:
  TRY block catch_clause {
    $$ = statement(StmtKind::Try, @1, std::max($2.depth, $3.body.depth));
    $$.node->body = std::move($2.block);
    $$.node->names = {std::move($3.name)};
    $$.node->name_locs = {$3.name_loc};
    $$.node->has_catch = true;
    $$.node->catch_body = std::move($3.body.block);
  }
| TRY block catch_clause FINALLY block {
    $$ = statement(StmtKind::Try, @1, std::max({$2.depth, $3.body.depth, $5.depth}));
    $$.node->body = std::move($2.block);
    $$.node->names = {std::move($3.name)};
    $$.node->name_locs = {$3.name_loc};
    $$.node->has_catch = true;
    $$.node->catch_body = std::move($3.body.block);
    $$.node->has_finally = true;
    $$.node->finally_body = std::move($5.block);
  }
| TRY block FINALLY block {
    $$ = statement(StmtKind::Try, @1, std::max($2.depth, $4.depth));
    $$.node->body = std::move($2.block);
    $$.node->names = {""};
    $$.node->name_locs = {Loc{}};
    $$.node->has_finally = true;
    $$.node->finally_body = std::move($4.block);
  }
| TRY block {
    fail(@1, "'try' needs a 'catch' or a 'finally' clause (on the line of its '}')");
  }
;

catch_clause:
  CATCH block        { $$.body = std::move($2); $$.name_loc = @1; }
| CATCH IDENT block  { $$.name = std::move($2); $$.name_loc = @2; $$.body = std::move($3); }
;

select_stmt:
  SELECT LBRACE case_body RBRACE {
    int defaults = 0;
    for (const SelectCase& c : $3.cases) {
      if (c.kind == SelectCase::Default && ++defaults > 1)
        fail(c.loc, "select has more than one 'default'");
    }
    $$ = statement(StmtKind::Select, @1, $3.depth);
    $$.node->cases = std::move($3.cases);
  }
;

/* Cases separated like statements (see body); since each case starts with a keyword,
   they may also follow each other on one line: `case <-a { } default { }`. */
case_body: case_open { $$ = std::move($1); } | case_closed { $$ = std::move($1); } ;
case_open:
  %empty              {}
| case_open sep       { $$ = std::move($1); }
| case_closed sep     { $$ = std::move($1); }
;
case_closed:
  case_open case_clause {
    $$ = std::move($1);
    $$.depth = std::max($$.depth, $2.depth);
    $$.cases.push_back(std::move($2.arm));
  }
| case_closed case_clause {
    $$ = std::move($1);
    $$.depth = std::max($$.depth, $2.depth);
    $$.cases.push_back(std::move($2.arm));
  }
;

case_clause:
  CASE IDENT ASSIGN ARROW unary_expr block {
    $$.arm.kind = SelectCase::Recv;
    $$.arm.loc = @1;
    $$.arm.bind = std::move($2);
    $$.arm.bind_loc = @2;
    $$.depth = deeper(std::max($5.depth, $6.depth), @1);
    $$.arm.chan = std::move($5.node);
    $$.arm.body = std::move($6.block);
  }
| CASE ARROW unary_expr block {
    $$.arm.kind = SelectCase::Recv;
    $$.arm.loc = @1;
    $$.depth = deeper(std::max($3.depth, $4.depth), @1);
    $$.arm.chan = std::move($3.node);
    $$.arm.body = std::move($4.block);
  }
| CASE expr ARROW expr block {
    $$.arm.kind = SelectCase::Send;
    $$.arm.loc = @1;
    $$.depth = deeper(std::max({$2.depth, $4.depth, $5.depth}), @1);
    $$.arm.chan = std::move($2.node);
    $$.arm.value = std::move($4.node);
    $$.arm.body = std::move($5.block);
  }
| DEFAULT block {
    $$.arm.kind = SelectCase::Default;
    $$.arm.loc = @1;
    $$.depth = deeper($2.depth, @1);
    $$.arm.body = std::move($2.block);
  }
;

/* ---- expressions, loosest first (SPEC §3) ---- */

expr: or_expr { $$ = std::move($1); } | arrow_fn { $$ = std::move($1); } ;

arrow_fn:
  FN LPAREN params RPAREN FATARROW expr {
    $$ = fn_literal(std::move($3), arrow_body(std::move($6), @6, @5), @1);
  }
;

or_expr:
  or_expr OR and_expr  { $$ = binary(BinaryOp::Or, @2, std::move($1), std::move($3)); }
| and_expr             { $$ = std::move($1); }
;

and_expr:
  and_expr AND not_expr  { $$ = binary(BinaryOp::And, @2, std::move($1), std::move($3)); }
| not_expr               { $$ = std::move($1); }
;

not_expr:
  NOT not_expr  { $$ = unary(UnaryOp::Not, @1, std::move($2)); }
| cmp_expr      { $$ = std::move($1); }
;

cmp_expr:
  bor_expr                  { $$ = std::move($1); }
| bor_expr cmp_op bor_expr  { $$ = binary($2, @2, std::move($1), std::move($3)); }
| bor_expr cmp_op bor_expr cmp_op bor_expr {
    fail(@4, "comparisons do not chain: write 'a < b and b < c'");
  }
;

cmp_op:
  EQ      { $$ = BinaryOp::Eq; }
| NE      { $$ = BinaryOp::Ne; }
| LT      { $$ = BinaryOp::Lt; }
| LE      { $$ = BinaryOp::Le; }
| GT      { $$ = BinaryOp::Gt; }
| GE      { $$ = BinaryOp::Ge; }
| IN      { $$ = BinaryOp::In; }
| NOT IN  { $$ = BinaryOp::NotIn; }
;

bor_expr:
  bor_expr PIPE bxor_expr  { $$ = binary(BinaryOp::BitOr, @2, std::move($1), std::move($3)); }
| bxor_expr                { $$ = std::move($1); }
;

bxor_expr:
  bxor_expr CARET band_expr  { $$ = binary(BinaryOp::BitXor, @2, std::move($1), std::move($3)); }
| band_expr                  { $$ = std::move($1); }
;

band_expr:
  band_expr AMP shift_expr  { $$ = binary(BinaryOp::BitAnd, @2, std::move($1), std::move($3)); }
| shift_expr                { $$ = std::move($1); }
;

shift_expr:
  shift_expr SHL range_expr  { $$ = binary(BinaryOp::Shl, @2, std::move($1), std::move($3)); }
| shift_expr SHR range_expr  { $$ = binary(BinaryOp::Shr, @2, std::move($1), std::move($3)); }
| range_expr                 { $$ = std::move($1); }
;

range_expr:
  range_expr DOTDOT add_expr    { $$ = binary(BinaryOp::Range, @2, std::move($1), std::move($3)); }
| range_expr DOTDOTEQ add_expr  { $$ = binary(BinaryOp::RangeIncl, @2, std::move($1), std::move($3)); }
| add_expr                      { $$ = std::move($1); }
;

add_expr:
  add_expr PLUS mul_expr   { $$ = binary(BinaryOp::Add, @2, std::move($1), std::move($3)); }
| add_expr MINUS mul_expr  { $$ = binary(BinaryOp::Sub, @2, std::move($1), std::move($3)); }
| mul_expr                 { $$ = std::move($1); }
;

mul_expr:
  mul_expr STAR unary_expr     { $$ = binary(BinaryOp::Mul, @2, std::move($1), std::move($3)); }
| mul_expr SLASH unary_expr    { $$ = binary(BinaryOp::Div, @2, std::move($1), std::move($3)); }
| mul_expr IDIV unary_expr     { $$ = binary(BinaryOp::IDiv, @2, std::move($1), std::move($3)); }
| mul_expr PERCENT unary_expr  { $$ = binary(BinaryOp::Mod, @2, std::move($1), std::move($3)); }
| unary_expr                   { $$ = std::move($1); }
;

unary_expr:
  MINUS unary_expr {
    if ($2.node.get() == ctx.pending_min_int) {  // -9223372036854775808
      ctx.pending_min_int = nullptr;
      $$ = leaf(ExprKind::Int, @1);
      $$.node->int_value = std::numeric_limits<int64_t>::min();
    } else {
      $$ = unary(UnaryOp::Neg, @1, std::move($2));
    }
  }
| TILDE unary_expr  { $$ = unary(UnaryOp::BitNot, @1, std::move($2)); }
| ARROW unary_expr  { $$ = unary(UnaryOp::Recv, @1, std::move($2)); }
| AWAIT unary_expr  { $$ = with_children(ExprKind::Await, @1, std::move($2)); }
| SPAWN unary_expr {
    if ($2.node->kind != ExprKind::Call)
      fail(@2, "'spawn' needs a function call or a block: spawn f(x) or spawn { ... }");
    $$ = with_children(ExprKind::Spawn, @1, std::move($2));
  }
| SPAWN SPAWN_LBRACE body RBRACE {
    $3.block.loc = @2;
    $3.block.end = @4;
    $$ = ExprNode{std::make_unique<Expr>(ExprKind::Spawn, @1), deeper($3.depth, @1)};
    $$.node->fn = make_function("<spawn>", ParamsNode{}, std::move($3.block), @1);
  }
| power_expr  { $$ = std::move($1); }
;

power_expr:
  postfix_expr POW unary_expr  { $$ = binary(BinaryOp::Pow, @2, std::move($1), std::move($3)); }
| postfix_expr                 { $$ = std::move($1); }
;

postfix_expr:
  primary  { $$ = std::move($1); }
| postfix_expr LPAREN RPAREN {
    $$ = with_children(ExprKind::Call, @1, std::move($1));
  }
| postfix_expr LPAREN expr_list opt_comma RPAREN {
    $$ = with_children(ExprKind::Call, @1, std::move($1));
    $$.depth = std::max($$.depth, deeper($3.depth, @1));
    $$.node->items = std::move($3.items);
  }
| postfix_expr LBRACKET expr RBRACKET {
    $$ = with_children(ExprKind::Index, @1, std::move($1), std::move($3));
  }
| postfix_expr LBRACKET expr COLON expr RBRACKET {
    $$ = with_children(ExprKind::Slice, @1, std::move($1), std::move($3), std::move($5));
  }
| postfix_expr LBRACKET expr COLON RBRACKET {
    $$ = with_children(ExprKind::Slice, @1, std::move($1), std::move($3));
  }
| postfix_expr LBRACKET COLON expr RBRACKET {
    $$ = with_children(ExprKind::Slice, @1, std::move($1), ExprNode{}, std::move($4));
  }
| postfix_expr LBRACKET COLON RBRACKET {
    $$ = with_children(ExprKind::Slice, @1, std::move($1));
  }
| postfix_expr DOT IDENT {
    $$ = with_children(ExprKind::Field, @1, std::move($1));
    $$.node->str = std::move($3);
  }
;

primary:
  NIL     { $$ = leaf(ExprKind::Nil, @1); }
| TRUE    { $$ = leaf(ExprKind::True, @1); }
| FALSE   { $$ = leaf(ExprKind::False, @1); }
| INT     { $$ = int_literal($1, @1, ctx); }
| FLOAT   { $$ = leaf(ExprKind::Float, @1); $$.node->float_value = $1; }
| STRING  { $$ = string_expr(std::move($1), @1); }
| interp  { $$ = std::move($1); }
| IDENT   { $$ = leaf(ExprKind::Name, @1); $$.node->str = std::move($1); }
| LPAREN expr RPAREN  { $$ = std::move($2); }
| LBRACKET RBRACKET   { $$ = leaf(ExprKind::List, @1); }
| LBRACKET expr_list opt_comma RBRACKET  { $$ = with_items(ExprKind::List, @1, std::move($2)); }
| LBRACE RBRACE       { $$ = leaf(ExprKind::Map, @1); }
| LBRACE map_items opt_comma RBRACE  { $$ = with_items(ExprKind::Map, @1, std::move($2)); }
| FN LPAREN params RPAREN block  { $$ = fn_literal(std::move($3), std::move($5), @1); }
;

interp:
  interp_parts STR_TAIL {
    if (!$2.empty()) append($1, string_expr(std::move($2), @2));
    $$ = with_items(ExprKind::Interp, @1, std::move($1));
  }
;

interp_parts:
  STR_HEAD expr {
    if (!$1.empty()) append($$, string_expr(std::move($1), @1));
    append($$, std::move($2));
  }
| interp_parts STR_MID expr {
    $$ = std::move($1);
    if (!$2.empty()) append($$, string_expr(std::move($2), @2));
    append($$, std::move($3));
  }
;

expr_list:
  expr                  { append($$, std::move($1)); }
| expr_list COMMA expr  { $$ = std::move($1); append($$, std::move($3)); }
;

opt_comma: %empty | COMMA ;

map_items:
  map_key COLON expr {
    append($$, std::move($1));
    append($$, std::move($3));
  }
| map_items COMMA map_key COLON expr {
    $$ = std::move($1);
    append($$, std::move($3));
    append($$, std::move($5));
  }
;

/* A bare name is a string key; otherwise a literal or a parenthesised expression. */
map_key:
  IDENT   { $$ = string_expr(std::move($1), @1); }
| STRING  { $$ = string_expr(std::move($1), @1); }
| interp  { $$ = std::move($1); }
| INT     { $$ = int_literal($1, @1, ctx); settle_pending_min_int(ctx); }
| MINUS INT {
    $$ = leaf(ExprKind::Int, @1);
    $$.node->int_value = static_cast<int64_t>(0 - $2);  // 2^63 wraps to INT64_MIN
  }
| FLOAT        { $$ = leaf(ExprKind::Float, @1); $$.node->float_value = $1; }
| MINUS FLOAT  { $$ = leaf(ExprKind::Float, @1); $$.node->float_value = -$2; }
| TRUE    { $$ = leaf(ExprKind::True, @1); }
| FALSE   { $$ = leaf(ExprKind::False, @1); }
| NIL     { $$ = leaf(ExprKind::Nil, @1); }
| LPAREN expr RPAREN  { $$ = std::move($2); }
;

params:
  %empty                  {}
| param_list opt_comma    { $$ = std::move($1); }
;

param_list:
  IDENT                   { $$.names.push_back(std::move($1)); $$.locs.push_back(@1); }
| param_list COMMA IDENT  {
    $$ = std::move($1);
    $$.names.push_back(std::move($3));
    $$.locs.push_back(@3);
  }
;

%%
