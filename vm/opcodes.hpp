// The instruction set: one X-macro table expanded into the opcode enum, the names, the
// interpreter's dispatch table and the disassembler, so nothing can drift apart.
//
// The machine is register-based (as Lua 5.4): each call frame owns `Proto::nregs`
// registers R[0..nregs); parameters arrive in R[0..nparams). Locals live in fixed
// registers, temporaries above them. Constants K[i] are the Proto's `consts`; G[i] are
// the current module's global slots; U[i] are the cells the running closure captured.
//
// An instruction is 8 bytes: op, x (a small flag/count), A, B, C (16 bits each). Jumps use
// sBx = int32 formed from B (low half) and C (high half), relative to the *next*
// instruction: `pc = pc + 1 + sBx`. Bx is the same 32 bits unsigned. 16-bit registers
// leave room for big functions; the compiler reports "function too large" past 65,000.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tsk::vm {

// TSK_OP(name, format, "semantics")
//   formats: ABC (registers/indices), ABx (A and a 32-bit unsigned), AsBx (A and a
//   signed jump), sBx (jump only), A (one register), none
#define TSK_OPCODES(TSK_OP)                                                              \
  TSK_OP(MOVE,      ABC,  "R[A] = R[B]")                                                 \
  TSK_OP(LOADK,     ABx,  "R[A] = K[Bx]")                                                \
  TSK_OP(LOADI,     AsBx, "R[A] = int sBx")                                              \
  TSK_OP(LOADNIL,   A,    "R[A] = nil")                                                  \
  TSK_OP(LOADTRUE,  A,    "R[A] = true")                                                 \
  TSK_OP(LOADFALSE, A,    "R[A] = false")                                                \
  TSK_OP(GETG,      ABx,  "R[A] = G[Bx]; Error 'used before its declaration' if unset")  \
  TSK_OP(SETG,      ABx,  "G[Bx] = R[A] (also the declaration that sets it first)")      \
  TSK_OP(BUILTIN,   ABx,  "R[A] = the builtin native number Bx (Runtime::builtins)")     \
  TSK_OP(MKCELL,    A,    "R[A] = new cell holding R[A] (a captured local is declared)") \
  TSK_OP(GETCELL,   ABC,  "R[A] = cell R[B].value")                                      \
  TSK_OP(SETCELL,   ABC,  "cell R[A].value = R[B]")                                      \
  TSK_OP(GETUP,     ABC,  "R[A] = U[B].value")                                           \
  TSK_OP(SETUP,     ABC,  "U[B].value = R[A]")                                           \
  TSK_OP(CLOSURE,   ABx,  "R[A] = new closure of protos[Bx], capturing per its captures")\
  TSK_OP(ADD,       ABC,  "R[A] = R[B] + R[C]")                                          \
  TSK_OP(SUB,       ABC,  "R[A] = R[B] - R[C]")                                          \
  TSK_OP(MUL,       ABC,  "R[A] = R[B] * R[C]")                                          \
  TSK_OP(DIV,       ABC,  "R[A] = R[B] / R[C]")                                          \
  TSK_OP(IDIV,      ABC,  "R[A] = R[B] // R[C]")                                         \
  TSK_OP(MOD,       ABC,  "R[A] = R[B] % R[C]")                                          \
  TSK_OP(POW,       ABC,  "R[A] = R[B] ** R[C]")                                         \
  TSK_OP(ADDK,      ABC,  "R[A] = R[B] + K[C] (K[C] a number)")                          \
  TSK_OP(SUBK,      ABC,  "R[A] = R[B] - K[C] (K[C] a number)")                          \
  TSK_OP(MULK,      ABC,  "R[A] = R[B] * K[C] (K[C] a number)")                          \
  TSK_OP(MODK,      ABC,  "R[A] = R[B] % K[C] (K[C] a number)")                          \
  TSK_OP(IDIVK,     ABC,  "R[A] = R[B] // K[C] (K[C] a number)")                         \
  TSK_OP(DIVK,      ABC,  "R[A] = R[B] / K[C] (K[C] a number)")                          \
  TSK_OP(BAND,      ABC,  "R[A] = R[B] & R[C]")                                          \
  TSK_OP(BOR,       ABC,  "R[A] = R[B] | R[C]")                                          \
  TSK_OP(BXOR,      ABC,  "R[A] = R[B] ^ R[C]")                                          \
  TSK_OP(SHL,       ABC,  "R[A] = R[B] << R[C]")                                         \
  TSK_OP(SHR,       ABC,  "R[A] = R[B] >> R[C]")                                         \
  TSK_OP(NEG,       ABC,  "R[A] = -R[B]")                                                \
  TSK_OP(BNOT,      ABC,  "R[A] = ~R[B]")                                                \
  TSK_OP(NOT,       ABC,  "R[A] = not R[B] (a bool)")                                    \
  TSK_OP(EQ,        ABC,  "R[A] = R[B] == R[C]")                                         \
  TSK_OP(NE,        ABC,  "R[A] = R[B] != R[C]")                                         \
  TSK_OP(LT,        ABC,  "R[A] = R[B] < R[C]  (a > b compiles as LT with B, C swapped)") \
  TSK_OP(LE,        ABC,  "R[A] = R[B] <= R[C] (a >= b compiles as LE swapped)")         \
  TSK_OP(IN,        ABC,  "R[A] = R[B] in R[C]")                                         \
  TSK_OP(NOTIN,     ABC,  "R[A] = R[B] not in R[C]")                                     \
  TSK_OP(JLT,       ABC,  "if not (R[A] < R[B]) then pc += sC (C as int16)")             \
  TSK_OP(JLE,       ABC,  "if not (R[A] <= R[B]) then pc += sC (C as int16)")            \
  TSK_OP(JEQ,       ABC,  "if not (R[A] == R[B]) then pc += sC (C as int16)")            \
  TSK_OP(JNE,       ABC,  "if not (R[A] != R[B]) then pc += sC (C as int16)")            \
  TSK_OP(JEQK,      ABC,  "if not (R[A] == K[B]) then pc += sC (C as int16)")            \
  TSK_OP(JNEK,      ABC,  "if not (R[A] != K[B]) then pc += sC (C as int16)")            \
  TSK_OP(JLTK,      ABC,  "if not (R[A] < K[B]) then pc += sC (C as int16)")             \
  TSK_OP(JLEK,      ABC,  "if not (R[A] <= K[B]) then pc += sC (C as int16)")            \
  TSK_OP(JGTK,      ABC,  "if not (R[A] > K[B]) then pc += sC (C as int16; compared as K[B] < R[A])") \
  TSK_OP(JGEK,      ABC,  "if not (R[A] >= K[B]) then pc += sC (C as int16; compared as K[B] <= R[A])") \
  TSK_OP(RANGE,     ABC,  "R[A] = R[B]..R[C], or R[B]..=R[C] when x = 1 (ints only)")    \
  TSK_OP(JMP,       sBx,  "pc += sBx")                                                   \
  TSK_OP(JMPIF,     AsBx, "if R[A] is truthy then pc += sBx")                            \
  TSK_OP(JMPIFNOT,  AsBx, "if R[A] is falsy then pc += sBx")                             \
  TSK_OP(NEWLIST,   ABC,  "R[A] = [R[B], ..., R[B+C-1]]")                                \
  TSK_OP(NEWMAP,    ABC,  "R[A] = {R[B]: R[B+1], ...} with C key/value pairs")           \
  TSK_OP(GETINDEX,  ABC,  "R[A] = R[B][R[C]]")                                           \
  TSK_OP(SETINDEX,  ABC,  "R[A][R[B]] = R[C]")                                           \
  TSK_OP(GETFIELD,  ABC,  "R[A] = R[B].K[C] (K[C] a string: map key or module export)")  \
  TSK_OP(SETFIELD,  ABC,  "R[A].K[B] = R[C]")                                            \
  TSK_OP(SLICE,     ABC,  "R[A] = R[B][R[C] : R[C+1]] (nil bounds are omitted bounds)")  \
  TSK_OP(CONCAT,    ABC,  "R[A] = str(R[B]) + ... + str(R[B+C-1]) (interpolation)")      \
  TSK_OP(CALL,      ABC,  "R[A] = R[A](R[A+1], ..., R[A+B])")                            \
  TSK_OP(RET,       A,    "return R[A]")                                                 \
  TSK_OP(RETNIL,    none, "return nil")                                                  \
  TSK_OP(FORPREP,   AsBx, "int loop over R[A]..R[A+1] (..= when x = 1): if empty pc += sBx, else R[A+2] = R[A]") \
  TSK_OP(FORLOOP,   AsBx, "R[A] += 1; if still in range: R[A+2] = R[A]; pc += sBx")      \
  TSK_OP(ITERPREP,  A,    "check R[A] is iterable (TypeError if not; x = 2: two loop variables, TypeError over a channel); R[A+1] = int 0, or over a map the map's change count << 32") \
  TSK_OP(ITERNEXT,  ABC,  "next item of R[A] at cursor R[A+1] into R[B] (x = 2: R[B], R[B+1]); if there is one, pc += 1 (skips the JMP that follows, which exits the loop); over a map, ValueError if keys were added or deleted since ITERPREP") \
  TSK_OP(THROW,     A,    "raise R[A] (an error, or a string made into error(R[A]))")    \
  TSK_OP(TRY,       AsBx, "push a handler: on an error, R[A] = the error, pc = here + 1 + sBx") \
  TSK_OP(ENDTRY,    none, "pop the innermost handler of this frame")                     \
  TSK_OP(ENDFINALLY, ABC, "end of a finally body: R[A] = int 0 goes on after the B entries that follow; int k in 1..B runs entry k (a one-instruction jump-out the finally interrupted); an error is raised again") \
  TSK_OP(IMPORT,    ABx,  "R[A] = module K[Bx]: x = 0 a standard module name, x = 1 a file path relative to this module's file") \
  TSK_OP(SPAWN,     ABC,  "R[A] = handle of a new task running R[A](R[A+1], ..., R[A+B]) (nil and no handle made if C=1: a spawn statement); callee and arguments are copied into it") \
  TSK_OP(AWAIT,     ABC,  "R[A] = await task R[B] (may suspend; raises the task's error)") \
  TSK_OP(SEND,      ABC,  "send R[B] on channel R[A] (may suspend)")                    \
  TSK_OP(RECV,      ABC,  "R[A] = receive from channel R[B] (may suspend; nil once closed and drained)") \
  TSK_OP(SCOPEBEGIN, none, "open a scope: tasks spawned from now on belong to it")      \
  TSK_OP(SCOPEEND,  A,    "wait for every task of the innermost scope (may suspend), close it, then raise its first error: a failed task's, or R[A] when R[A] is an error; R[A] is nil on the normal path") \
  TSK_OP(SELECT,    ABC,  "select over C cases whose channel/value pairs are R[B+2i], R[B+2i+1]; the next select_mask_words(C) instructions are EXTRAARGs with the send mask, 32 cases each; x = 1: there is a default. Sets R[A] = chosen case index (-1: default), R[A+1] = the received value (may suspend)") \
  TSK_OP(EXTRAARG,  ABx,  "data for the previous instruction (never executed): a word of SELECT's mask, bit i of word w set when case 32w + i sends")

enum class Op : uint8_t {
#define TSK_OP_ENUM(name, format, doc) name,
  TSK_OPCODES(TSK_OP_ENUM)
#undef TSK_OP_ENUM
};

enum class OpFormat : uint8_t { ABC, ABx, AsBx, sBx, A, none };

struct OpInfo {
  const char* name;
  OpFormat format;
  const char* doc;
};

inline constexpr OpInfo kOpInfo[] = {
#define TSK_OP_INFO(name, format, doc) {#name, OpFormat::format, doc},
  TSK_OPCODES(TSK_OP_INFO)
#undef TSK_OP_INFO
};
inline constexpr int kOpCount = sizeof(kOpInfo) / sizeof(kOpInfo[0]);

struct Instr {
  Op op;
  uint8_t x;
  uint16_t a;
  uint16_t b;
  uint16_t c;

  int32_t sbx() const { return int32_t(uint32_t(b) | (uint32_t(c) << 16)); }
  uint32_t bx() const { return uint32_t(b) | (uint32_t(c) << 16); }
  int16_t sc() const { return int16_t(c); }

  static Instr abc(Op op, uint16_t a, uint16_t b = 0, uint16_t c = 0, uint8_t x = 0) {
    return Instr{op, x, a, b, c};
  }
  static Instr abx(Op op, uint16_t a, uint32_t bx, uint8_t x = 0) {
    return Instr{op, x, a, uint16_t(bx & 0xffff), uint16_t(bx >> 16)};
  }
  static Instr asbx(Op op, uint16_t a, int32_t sbx, uint8_t x = 0) {
    return abx(op, a, uint32_t(sbx), x);
  }
};
static_assert(sizeof(Instr) == 8);

// The fused compare-and-jump instructions: their jump offset is sC (16 bits), so a
// function whose jumps do not fit is compiled again without them.
constexpr bool is_fused_jump(Op op) {
  switch (op) {
    case Op::JLT: case Op::JLE: case Op::JEQ: case Op::JNE: case Op::JEQK: case Op::JNEK:
    case Op::JLTK: case Op::JLEK: case Op::JGTK: case Op::JGEK:
      return true;
    default:
      return false;
  }
}

// The EXTRAARG words after a SELECT over [cases] non-default cases: one per 32 cases, and
// one for none (`select {}`), so a SELECT's length is known from its C alone.
constexpr size_t select_mask_words(size_t cases) { return cases == 0 ? 1 : (cases + 31) / 32; }

// Whether case [i] of a SELECT sends, from the EXTRAARG words at [mask].
inline bool select_case_sends(const Instr* mask, size_t i) {
  return (mask[i / 32].bx() >> (i % 32)) & 1;
}

}  // namespace tsk::vm
