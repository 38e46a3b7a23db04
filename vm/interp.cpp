// The interpreter loop: runs a task's frames over the register bytecode of
// vm/opcodes.hpp. It is stackless (DESIGN decision 2): a script call pushes a Frame on the
// task and continues in the same loop, so script recursion never grows the C++ stack;
// only natives that call back into script (TaskState::call) nest a loop.
//
// Invariants:
//  - R points at stack[frames.back().base]; it is reloaded after anything that may grow
//    the stack (calls, imports, natives), since growth moves the stack.
//  - Every slot of the stack holds nil or a value whose object has not been freed, so the
//    collector may scan stack[0, top of the last frame) without seeing garbage, although
//    a script call sets only its arguments and leaves the callee's other registers as the
//    last frame there left them (the compiler writes every register before reading it).
//    Objects are freed only by a collection, and each collection first nils the slots
//    above the top, which it does not mark (TaskState::collect; Lua does the same).
//  - The collector runs only at safepoints: after an instruction that allocated, with the
//    result already stored in a register.
//  - An instruction that may raise stores its pc in the frame first (SAVE_PC).
//  - Script errors are C++ exceptions (ScriptError) thrown where they arise and caught in
//    this loop, which unwinds to the innermost handler inside this loop's frames or
//    rethrows to the native below (one way to unwind; no longjmp).
#include <cmath>
#include <new>
#include <string>

#include "vm/arith.hpp"
#include "vm/check.hpp"
#include "vm/host.hpp"
#include "vm/native.hpp"
#include "vm/ops.hpp"
#include "vm/task_state.hpp"
#include "vm/transfer.hpp"

namespace tsk::vm {

namespace {

uint32_t frame_top(const Frame& f) { return f.base + f.closure->proto->nregs; }

// Floor division and modulo of ints for the fast paths: b is neither 0 nor -1 (the
// callers check), so neither traps; the sign rule is SPEC §3's (the result of % has the
// divisor's sign), as vm/arith.cpp's floor_div and floor_mod.
inline int64_t floor_div_int(int64_t a, int64_t b) {
  int64_t q = a / b, r = a % b;
  return (r != 0 && (r ^ b) < 0) ? q - 1 : q;
}
inline int64_t floor_mod_int(int64_t a, int64_t b) {
  int64_t r = a % b;
  return (r != 0 && (r ^ b) < 0) ? r + b : r;
}

const char* arity_plural(int n) { return n == 1 ? "" : "s"; }

[[noreturn]] void arity_error(TaskState& t, const std::string& name, int expected_min, int expected_max,
                              int given) {
  std::string want;
  if (expected_min == expected_max) want = std::to_string(expected_min);
  else if (expected_max < 0) want = "at least " + std::to_string(expected_min);
  else want = std::to_string(expected_min) + " to " + std::to_string(expected_max);
  t.raise("ArityError", name + "() takes " + want + " argument" +
                            arity_plural(expected_max < 0 ? expected_min : expected_max) + " (" +
                            std::to_string(given) + " given)");
}

void check_arity(TaskState& t, Native* n, int nargs) {
  const NativeEntry* e = n->entry;
  if (nargs < e->min_args || (e->max_args >= 0 && nargs > e->max_args)) {
    std::string name = e->module[0] ? std::string(e->module) + "." + e->name : e->name;
    arity_error(t, name, e->min_args, e->max_args, nargs);
  }
}

Value call_native(TaskState& t, Native* n, Value* args, int nargs) {
  const NativeEntry* e = n->entry;
  check_arity(t, n, nargs);
  if (e->effect == Effect::Blocks && !e->offloads_itself) return t.runtime.call_blocking(t, n, args, nargs);
  // Copy the arguments: a native that calls back into script may grow (move) the stack.
  Value buf[8];
  if (nargs <= 8) {
    for (int i = 0; i < nargs; i++) buf[i] = args[i];
    return invoke_native(t, *e, buf, nargs);
  }
  std::vector<Value> big(args, args + nargs);
  return invoke_native(t, *e, big.data(), nargs);
}

// GETG's slow path: another task's module, or a global not declared yet (raises).
[[gnu::noinline]] Value read_global_slow(TaskState& t, Module* m, uint32_t index) {
  Value v;
  TaskState* owner = m->owner.load(std::memory_order_acquire);
  if (owner == &t || !owner) {
    v = m->globals[index];
  } else if (t.extras && t.extras->recent[index % TaskState::Extras::kRecent].slot == &m->globals[index]) {
    v = t.extras->recent[index % TaskState::Extras::kRecent].value;  // a top-level fn read before
  } else {
    // Another task's top-level binding (SPEC §6): readable only while immutable.
    v = t.runtime.read_foreign_global(t, m, index);
  }
  if (v.tag == Tag::Undef) {
    if (m->imported && !m->owner.load(std::memory_order_acquire) && !m->loaded)
      t.raise("ImportError", "module '" + m->path + "' failed to load: '" + m->names[index].name +
                                 "' does not exist");
    t.raise("Error", "'" + m->names[index].name + "' used before its declaration");
  }
  return v;
}

}  // namespace

void TaskState::ensure_stack(size_t needed) {
  if (needed <= stack.size()) return;
  if (needed > runtime.limits.max_stack_slots)
    raise("StackOverflowError", "stack overflow (recursion too deep)");
  size_t size = std::max(needed, std::min<size_t>(stack.size() * 2, runtime.limits.max_stack_slots));
  stack.resize(size);
}

Value TaskState::call(Value fn, const Value* args, int nargs) {
  if (fn.tag == Tag::Native) {
    // A native called by a native (list.map(xs, net.resolve)) has no instruction to
    // resume after a wait: it must not park (in_fiber off makes it run inline, or raise).
    struct NoPark {
      TaskState& t;
      bool in_fiber;
      ~NoPark() {
        t.in_fiber = in_fiber;
        t.call_depth--;
      }
    } no_park{*this, in_fiber};
    call_depth++;
    in_fiber = false;
    return call_native(*this, fn.as_native(), const_cast<Value*>(args), nargs);
  }
  if (fn.tag != Tag::Closure) raise("TypeError", std::string("cannot call ") + type_name(fn));
  Closure* c = fn.as_closure();
  Proto* p = c->proto;
  if (nargs != p->nparams) arity_error(*this, p->name, p->nparams, p->nparams, nargs);
  if (frames.size() >= runtime.limits.max_frames)
    raise("StackOverflowError", "stack overflow (recursion too deep)");
  uint32_t base = frames.empty() ? 0 : frame_top(frames.back());
  // `args` may point into the stack; copy them out before the stack can move.
  std::vector<Value> copied(args, args + nargs);
  ensure_stack(size_t(base) + p->nregs);
  for (int i = 0; i < nargs; i++) stack[base + i] = copied[i];
  for (uint32_t i = nargs; i < p->nregs; i++) stack[base + i] = Value::nil();
  // Each nested call costs C++ stack (a native and a loop): how deep they may go
  // depends on the frames' sizes (a sanitizer build's are ten times larger) and on the
  // stack the task runs on, so the limit is the stack actually left, not a count.
  if (runtime.stack_nearly_full(*this)) raise("StackOverflowError", "stack overflow (callbacks nested too deeply)");
  frames.push_back(Frame{c, p->code.data(), base, 0, kFrameEntry});
  TSK_CHECK(frame_top(frames.back()) <= stack.size(), "a pushed frame's registers lie within the stack");
  struct DepthGuard {
    uint32_t& depth;
    ~DepthGuard() { depth--; }
  } guard{++call_depth};
  return execute(frames.size() - 1);
}

Value TaskState::execute(size_t entry) {

#define LOAD_FRAME()                       \
  do {                                     \
    f = &frames.back();                    \
    ip = f->pc - 1;                        \
    cl = f->closure;                       \
    R = stack.data() + f->base;            \
    K = cl->proto->consts.data();          \
  } while (0)
#define SAVE_PC() (f->pc = ip + 1)
#define RELOAD_R() (R = stack.data() + f->base)

#ifdef TSK_TORTURE
#define SAFEPOINT() do { SAVE_PC(); collect_at_safepoint(); } while (0)
#else
#define SAFEPOINT() do { if (heap.should_collect()) { SAVE_PC(); collect_at_safepoint(); } } while (0)
#endif

  // Budget checks happen at calls and backward jumps, so every loop and every
  // recursion passes one within kTickQuantum iterations. They are also the preemption
  // and cancellation points; every TICK comes before its instruction's side effects,
  // so a preempted instruction simply runs again.
#define TICK()                                                          \
  do {                                                                  \
    if (--ticks <= 0) {                                                 \
      ticks = kTickQuantum;                                             \
      SAVE_PC();                                                        \
      if (runtime.instruction_budget &&                          \
          runtime.budget_left.fetch_sub(kTickQuantum,                   \
                                        std::memory_order_relaxed) <=   \
              kTickQuantum)                                             \
        raise_limit("the run's instruction budget is spent");           \
      if (host) {                                                       \
        runtime.check_cancel(*this);                                        \
        if (runtime.should_yield(*this)) {                                  \
          host_yield();                                                 \
          f->pc = ip; /* resume by running this instruction again */    \
          SUSPEND(Resume::None, 0, 0);                                  \
        }                                                               \
      }                                                                 \
    }                                                                   \
  } while (0)

  // Parks the task: the frame's pc was saved; finish_wait and the Resume kind say how
  // to complete the instruction when the task runs again.
  // Inside a native's callback on a fiber, parking switches back to the worker; when
  // the task runs again the fiber resumes here and the loop completes the wait.
#define SUSPEND(kind, a_reg, b_reg)   \
  do {                                \
    resume = kind;                    \
    resume_a = uint16_t(a_reg);       \
    resume_b = uint16_t(b_reg);       \
    suspended = true;                 \
    if (in_fiber && call_depth > 0) { \
      runtime.park_fiber(*this);          \
      goto resumed_in_fiber;          \
    }                                 \
    return Value::undef();            \
  } while (0)

#ifdef TSK_SWITCH_DISPATCH
#define CASE(name) case Op::name:
#define DISPATCH() goto next_instruction
#else
  static const void* const kLabels[] = {
#define TSK_OP_LABEL(name, format, doc) &&op_##name,
      TSK_OPCODES(TSK_OP_LABEL)
#undef TSK_OP_LABEL
  };
#define CASE(name) op_##name:
#define DISPATCH()                    \
  do {                                \
    ++ip;                             \
    goto *kLabels[int(ip->op)];       \
  } while (0)
#endif

  for (;;) {
    try {
      // Declared inside the try block: nothing the handler needs, so they stay in registers.
      Frame* f;
      Value* R;
      const Value* K;
      Closure* cl;
      const Instr* ip;  // the instruction running now; the frame's pc is ip + 1
      Value retval;
    resumed_in_fiber:
      if (fiber_pending && !in_fiber) {
        // The task parked inside a native running on a fiber: go on there.
        Value r;
        if (!runtime.resume_fiber(*this, r)) {
          suspended = true;
          return Value::undef();
        }
        stack[frames.back().base + fiber_reg] = r;
      }
      if (resume != Resume::None) complete_wait();
      LOAD_FRAME();
#ifdef TSK_SWITCH_DISPATCH
    next_instruction:
      ++ip;
      switch (ip->op) {
#else
      DISPATCH();
#endif

      CASE(MOVE) { R[ip->a] = R[ip->b]; DISPATCH(); }
      CASE(LOADK) { R[ip->a] = K[ip->bx()]; DISPATCH(); }
      CASE(LOADI) { R[ip->a] = Value::integer(ip->sbx()); DISPATCH(); }
      CASE(LOADNIL) { R[ip->a] = Value::nil(); DISPATCH(); }
      CASE(LOADTRUE) { R[ip->a] = Value::boolean(true); DISPATCH(); }
      CASE(LOADFALSE) { R[ip->a] = Value::boolean(false); DISPATCH(); }
      CASE(GETG) {
        // Fast path: this task's own module (or a loaded, immutable one) and a declared
        // global. Everything else is out of line, so that this path keeps the loop's
        // state in registers.
        Module* m = cl->module;
        // Acquire: a module whose owner is null has its final globals (see Module).
        TaskState* owner = m->owner.load(std::memory_order_acquire);
        if (owner == this || !owner) [[likely]] {
          const Value v = m->globals[ip->bx()];
          if (v.tag != Tag::Undef) [[likely]] {
            R[ip->a] = v;
            DISPATCH();
          }
        } else if (extras) {
          // Another task's top-level fn, copied here before: a spawned task recursing
          // through it reads it on every call, and the call out of line cost a spawned
          // fib(32) an eighth of its time.
          const Extras::Hit& hit = extras->recent[ip->bx() % Extras::kRecent];
          if (hit.slot == &m->globals[ip->bx()]) [[likely]] {
            R[ip->a] = hit.value;
            DISPATCH();
          }
        }
        SAVE_PC();
        R[ip->a] = read_global_slow(*this, m, ip->bx());
        DISPATCH();
      }
      CASE(SETG) {
        Module* m = cl->module;
        if (m->owner.load(std::memory_order_relaxed) != this) {
          SAVE_PC();
          runtime.write_foreign_global(*this, m, ip->bx());
        }
        // A sequence lock around the write, so other tasks read whole values (see Module).
        uint32_t seq = m->seq.load(std::memory_order_relaxed);
        m->seq.store(seq + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
        Value& slot = m->globals[ip->bx()];
        // Payload first, tag last (release): a reader that sees the tag sees its payload.
        std::atomic_ref<int64_t>(slot.i).store(R[ip->a].i, std::memory_order_relaxed);
        std::atomic_ref<uint64_t>(slot.tag_word_).store(R[ip->a].tag_word_, std::memory_order_release);
        m->seq.store(seq + 2, std::memory_order_release);
        DISPATCH();
      }
      CASE(BUILTIN) { R[ip->a] = runtime.builtins[ip->bx()]; DISPATCH(); }
      CASE(MKCELL) {
        R[ip->a] = Value::object(heap.cell(R[ip->a]));
        SAFEPOINT();
        DISPATCH();
      }
      CASE(GETCELL) { R[ip->a] = R[ip->b].as_cell()->value; DISPATCH(); }
      CASE(SETCELL) {
        Cell* c = R[ip->a].as_cell();
        if (c->frozen()) [[unlikely]] {
          SAVE_PC();
          raise("FrozenError", "cannot assign to a variable captured by a frozen function");
        }
        c->value = R[ip->b];
        DISPATCH();
      }
      CASE(GETUP) { R[ip->a] = cl->cells()[ip->b]->value; DISPATCH(); }
      CASE(SETUP) {
        Cell* c = cl->cells()[ip->b];
        if (c->frozen()) [[unlikely]] {
          SAVE_PC();
          raise("FrozenError", "cannot assign to a variable captured by a frozen function");
        }
        c->value = R[ip->a];
        DISPATCH();
      }
      CASE(CLOSURE) {
        Proto* p = cl->proto->protos[ip->bx()];
        Closure* c = heap.closure(p, cl->module, uint32_t(p->captures.size()));
        for (size_t i = 0; i < p->captures.size(); i++) {
          const Capture& cap = p->captures[i];
          c->cells()[i] = cap.from_local ? R[cap.index].as_cell() : cl->cells()[cap.index];
        }
        R[ip->a] = Value::object(c);
        SAFEPOINT();
        DISPATCH();
      }

#define ARITH_INT_FAST(name, expr_int, expr_float, rhs)                         \
  CASE(name) {                                                                  \
    Value a = R[ip->b], b = rhs;                                                \
    if (a.tag == Tag::Int && b.tag == Tag::Int) {                               \
      int64_t r;                                                                \
      if (!expr_int) { R[ip->a] = Value::integer(r); DISPATCH(); }              \
    } else if (a.tag == Tag::Float && b.tag == Tag::Float) {                    \
      R[ip->a] = Value::number(expr_float);                                     \
      DISPATCH();                                                               \
    }                                                                           \
    SAVE_PC();                                                                  \
    R[ip->a] = binary_op(*this, Op::name, a, b);                                \
    SAFEPOINT();                                                                \
    DISPATCH();                                                                 \
  }
      ARITH_INT_FAST(ADD, __builtin_add_overflow(a.i, b.i, &r), a.f + b.f, R[ip->c])
      ARITH_INT_FAST(SUB, __builtin_sub_overflow(a.i, b.i, &r), a.f - b.f, R[ip->c])
      ARITH_INT_FAST(MUL, __builtin_mul_overflow(a.i, b.i, &r), a.f * b.f, R[ip->c])
      ARITH_INT_FAST(ADDK, __builtin_add_overflow(a.i, b.i, &r), a.f + b.f, K[ip->c])
      ARITH_INT_FAST(SUBK, __builtin_sub_overflow(a.i, b.i, &r), a.f - b.f, K[ip->c])
      ARITH_INT_FAST(MULK, __builtin_mul_overflow(a.i, b.i, &r), a.f * b.f, K[ip->c])
#undef ARITH_INT_FAST

      CASE(MODK) {
        Value a = R[ip->b], b = K[ip->c];
        if (a.tag == Tag::Int && b.tag == Tag::Int && b.i > 0) {
          int64_t r = a.i % b.i;
          R[ip->a] = Value::integer(r < 0 ? r + b.i : r);
          DISPATCH();
        }
        SAVE_PC();
        R[ip->a] = binary_op(*this, Op::MOD, a, b);
        DISPATCH();
      }
      CASE(IDIVK) {
        Value a = R[ip->b], b = K[ip->c];
        if (a.tag == Tag::Int && b.tag == Tag::Int && b.i > 0) {
          R[ip->a] = Value::integer(floor_div_int(a.i, b.i));
          DISPATCH();
        }
        SAVE_PC();
        R[ip->a] = binary_op(*this, Op::IDIV, a, b);
        DISPATCH();
      }
      CASE(DIVK) {
        Value a = R[ip->b], b = K[ip->c];
        if (a.is_number() && b.is_number()) {
          R[ip->a] = Value::number(a.to_double() / b.to_double());
          DISPATCH();
        }
        SAVE_PC();
        R[ip->a] = binary_op(*this, Op::DIV, a, b);
        DISPATCH();
      }
      CASE(DIV) {
        Value a = R[ip->b], b = R[ip->c];
        if (a.is_number() && b.is_number()) {
          R[ip->a] = Value::number(a.to_double() / b.to_double());
          DISPATCH();
        }
        SAVE_PC();
        R[ip->a] = binary_op(*this, Op::DIV, a, b);
        DISPATCH();
      }
      // Integer `//`, `%` and the bit operators inline (SPEC §3's semantics, as
      // vm/arith.cpp's slow paths): a zero divisor, INT64_MIN // -1, x % -1 (which traps
      // in the CPU's idiv for INT64_MIN), a shift count outside 0..63, an overflowing
      // shift and every non-int operand go to binary_op, which raises or handles them.
#define INT_FAST(name, cond, expr)                                \
  CASE(name) {                                                    \
    Value a = R[ip->b], b = R[ip->c];                             \
    if (a.tag == Tag::Int && b.tag == Tag::Int && (cond)) {       \
      R[ip->a] = Value::integer(expr);                            \
      DISPATCH();                                                 \
    }                                                             \
    SAVE_PC();                                                    \
    R[ip->a] = binary_op(*this, Op::name, a, b);                  \
    DISPATCH();                                                   \
  }
      INT_FAST(IDIV, b.i != 0 && b.i != -1, floor_div_int(a.i, b.i))
      INT_FAST(MOD, b.i != 0 && b.i != -1, floor_mod_int(a.i, b.i))
      INT_FAST(BAND, true, a.i & b.i)
      INT_FAST(BOR, true, a.i | b.i)
      INT_FAST(BXOR, true, a.i ^ b.i)
      INT_FAST(SHL, uint64_t(b.i) < 64 && (int64_t(uint64_t(a.i) << b.i) >> b.i) == a.i,
               int64_t(uint64_t(a.i) << b.i))
      INT_FAST(SHR, uint64_t(b.i) < 64, a.i >> b.i)
#undef INT_FAST
      CASE(POW) {
        SAVE_PC();
        R[ip->a] = binary_op(*this, Op::POW, R[ip->b], R[ip->c]);
        DISPATCH();
      }
      CASE(NEG) {
        Value a = R[ip->b];
        if (a.tag == Tag::Float) { R[ip->a] = Value::number(-a.f); DISPATCH(); }
        if (a.tag == Tag::Int && a.i != INT64_MIN) { R[ip->a] = Value::integer(-a.i); DISPATCH(); }
        SAVE_PC();
        R[ip->a] = negate(*this, a);
        DISPATCH();
      }
      CASE(BNOT) {
        Value a = R[ip->b];
        if (a.tag == Tag::Int) { R[ip->a] = Value::integer(~a.i); DISPATCH(); }
        SAVE_PC();
        R[ip->a] = bit_not(*this, a);
        DISPATCH();
      }
      CASE(NOT) { R[ip->a] = Value::boolean(!R[ip->b].truthy()); DISPATCH(); }
      CASE(EQ) {
        Value a = R[ip->b], b = R[ip->c];
        R[ip->a] = Value::boolean(a.tag == Tag::Int && b.tag == Tag::Int ? a.i == b.i : equal(a, b));
        DISPATCH();
      }
      CASE(NE) {
        Value a = R[ip->b], b = R[ip->c];
        R[ip->a] = Value::boolean(a.tag == Tag::Int && b.tag == Tag::Int ? a.i != b.i : !equal(a, b));
        DISPATCH();
      }
      CASE(LT) {
        Value a = R[ip->b], b = R[ip->c];
        if (a.tag == Tag::Int && b.tag == Tag::Int) { R[ip->a] = Value::boolean(a.i < b.i); DISPATCH(); }
        SAVE_PC();
        R[ip->a] = Value::boolean(compare_less(*this, a, b, false));
        DISPATCH();
      }
      CASE(LE) {
        Value a = R[ip->b], b = R[ip->c];
        if (a.tag == Tag::Int && b.tag == Tag::Int) { R[ip->a] = Value::boolean(a.i <= b.i); DISPATCH(); }
        SAVE_PC();
        R[ip->a] = Value::boolean(compare_less(*this, a, b, true));
        DISPATCH();
      }
      CASE(IN) { SAVE_PC(); R[ip->a] = Value::boolean(contains(*this, R[ip->c], R[ip->b])); DISPATCH(); }
      CASE(NOTIN) { SAVE_PC(); R[ip->a] = Value::boolean(!contains(*this, R[ip->c], R[ip->b])); DISPATCH(); }
      CASE(JLT) {
        Value a = R[ip->a], b = R[ip->b];
        bool lt;
        if (a.tag == Tag::Int && b.tag == Tag::Int) lt = a.i < b.i;
        else { SAVE_PC(); lt = compare_less(*this, a, b, false); }
        if (!lt) {
          if (ip->sc() < 0) TICK();
          ip += ip->sc();
        }
        DISPATCH();
      }
      CASE(JLE) {
        Value a = R[ip->a], b = R[ip->b];
        bool le;
        if (a.tag == Tag::Int && b.tag == Tag::Int) le = a.i <= b.i;
        else { SAVE_PC(); le = compare_less(*this, a, b, true); }
        if (!le) {
          if (ip->sc() < 0) TICK();
          ip += ip->sc();
        }
        DISPATCH();
      }
      // Fused compare-and-jump: jump by sC when the comparison is false. Two ints (and,
      // for the orderings, two floats: nan compares false either way) are compared
      // inline; the rest as LT/LE/EQ/NE would, with the same errors.
#define JUMP_UNLESS(cond)       \
  do {                          \
    if (!(cond)) {              \
      if (ip->sc() < 0) TICK(); \
      ip += ip->sc();           \
    }                           \
    DISPATCH();                 \
  } while (0)
#define JUMP_EQ(name, rhs, negate)                                             \
  CASE(name) {                                                                 \
    Value a = R[ip->a], b = rhs;                                               \
    bool eq = a.tag == Tag::Int && b.tag == Tag::Int ? a.i == b.i : equal(a, b); \
    JUMP_UNLESS(eq != negate);                                                 \
  }
      JUMP_EQ(JEQ, R[ip->b], false)
      JUMP_EQ(JNE, R[ip->b], true)
      JUMP_EQ(JEQK, K[ip->b], false)
      JUMP_EQ(JNEK, K[ip->b], true)
#undef JUMP_EQ
      // x < k, x <= k, x > k (as k < x), x >= k (as k <= x).
#define JUMP_ORDER(name, lhs, rhs, int_op, or_equal)                           \
  CASE(name) {                                                                 \
    Value a = lhs, b = rhs;                                                    \
    bool yes;                                                                  \
    if (a.tag == Tag::Int && b.tag == Tag::Int) yes = a.i int_op b.i;          \
    else if (a.tag == Tag::Float && b.tag == Tag::Float) yes = a.f int_op b.f; \
    else { SAVE_PC(); yes = compare_less(*this, a, b, or_equal); }             \
    JUMP_UNLESS(yes);                                                          \
  }
      JUMP_ORDER(JLTK, R[ip->a], K[ip->b], <, false)
      JUMP_ORDER(JLEK, R[ip->a], K[ip->b], <=, true)
      JUMP_ORDER(JGTK, K[ip->b], R[ip->a], <, false)
      JUMP_ORDER(JGEK, K[ip->b], R[ip->a], <=, true)
#undef JUMP_ORDER
#undef JUMP_UNLESS
      CASE(RANGE) {
        Value a = R[ip->b], b = R[ip->c];
        if (a.tag != Tag::Int || b.tag != Tag::Int) {
          SAVE_PC();
          raise("TypeError", std::string("range bounds must be ints, not ") + type_name(a) + " and " +
                                 type_name(b));
        }
        R[ip->a] = Value::object(heap.range(a.i, b.i, ip->x == 1));
        SAFEPOINT();
        DISPATCH();
      }
      CASE(JMP) {
        if (ip->sbx() < 0) TICK();
        ip += ip->sbx();
        DISPATCH();
      }
      CASE(JMPIF) {
        if (R[ip->a].truthy()) {
          if (ip->sbx() < 0) TICK();
          ip += ip->sbx();
        }
        DISPATCH();
      }
      CASE(JMPIFNOT) {
        if (!R[ip->a].truthy()) {
          if (ip->sbx() < 0) TICK();
          ip += ip->sbx();
        }
        DISPATCH();
      }
      CASE(NEWLIST) {
        List* l = heap.list();
        l->items.assign(R + ip->b, R + ip->b + ip->c);
        R[ip->a] = Value::object(l);
        SAFEPOINT();
        DISPATCH();
      }
      CASE(NEWMAP) {
        SAVE_PC();
        Map* m = heap.map();
        Value mv = Value::object(m);
        for (int i = 0; i < ip->c; i++) {
          Value k = R[ip->b + 2 * i];
          check_key(*this, k);
          map_set(m, k, R[ip->b + 2 * i + 1]);
        }
        R[ip->a] = mv;
        SAFEPOINT();
        DISPATCH();
      }
      CASE(GETINDEX) {
        Value obj = R[ip->b], key = R[ip->c];
        if (obj.tag == Tag::List && key.tag == Tag::Int) {
          auto& items = obj.as_list()->items;
          uint64_t i = uint64_t(key.i < 0 ? key.i + int64_t(items.size()) : key.i);
          if (i < items.size()) { R[ip->a] = items[i]; DISPATCH(); }
        }
        SAVE_PC();
        R[ip->a] = get_index(*this, obj, key);
        SAFEPOINT();
        DISPATCH();
      }
      CASE(SETINDEX) {
        Value obj = R[ip->a], key = R[ip->b];
        if (obj.tag == Tag::List && key.tag == Tag::Int && !obj.o->frozen()) {
          auto& items = obj.as_list()->items;
          uint64_t i = uint64_t(key.i < 0 ? key.i + int64_t(items.size()) : key.i);
          if (i < items.size()) { items[i] = R[ip->c]; DISPATCH(); }
        }
        SAVE_PC();
        set_index(*this, obj, key, R[ip->c]);
        DISPATCH();
      }
      CASE(GETFIELD) {
        // Fast path: a small map (no index) holding the interned constant key itself.
        if (R[ip->b].tag == Tag::Map) {
          Map* m = R[ip->b].as_map();
          if (m->slots.empty()) {
            Obj* key = K[ip->c].o;
            for (const Map::Entry& e : m->entries) {
              if (e.key.o == key) {
                R[ip->a] = e.value;
                DISPATCH();
              }
            }
          }
        }
        SAVE_PC();
        R[ip->a] = get_field(*this, R[ip->b], K[ip->c].as_string());
        SAFEPOINT();
        DISPATCH();
      }
      CASE(SETFIELD) {
        if (R[ip->a].tag == Tag::Map && !R[ip->a].o->frozen()) {
          Map* m = R[ip->a].as_map();
          if (m->slots.empty()) {
            Obj* key = K[ip->b].o;
            for (Map::Entry& e : m->entries) {
              if (e.key.o == key) {
                e.value = R[ip->c];
                DISPATCH();
              }
            }
          }
        }
        SAVE_PC();
        set_field(*this, R[ip->a], K[ip->b].as_string(), R[ip->c]);
        DISPATCH();
      }
      CASE(SLICE) {
        SAVE_PC();
        R[ip->a] = slice(*this, R[ip->b], R[ip->c], R[ip->c + 1]);
        SAFEPOINT();
        DISPATCH();
      }
      CASE(CONCAT) {
        {
          // Scoped: a computed goto out of a block does not run destructors.
          std::string s;
          for (int i = 0; i < ip->c; i++) append_str(s, R[ip->b + i]);
          R[ip->a] = Value::object(heap.string(s));
        }
        SAFEPOINT();
        DISPATCH();
      }
      CASE(CALL) {
        Value callee = R[ip->a];
        int nargs = ip->b;
        TICK();
        SAVE_PC();
        if (callee.tag == Tag::Closure) {
          Closure* c = callee.as_closure();
          Proto* p = c->proto;
          if (nargs != p->nparams) [[unlikely]] arity_error(*this, p->name, p->nparams, p->nparams, nargs);
          if (frames.size() >= runtime.limits.max_frames) [[unlikely]]
            raise("StackOverflowError", "stack overflow (recursion too deep)");
          // The callee's registers begin at its arguments, which are then already in
          // place (as in Lua): nothing of the caller above them is live (the compiler
          // puts a call's callee and arguments in its topmost registers).
          const uint32_t base = f->base + ip->a + 1;
          const uint32_t nregs = p->nregs;
          if (size_t(base) + nregs > stack.size()) [[unlikely]] {
            ensure_stack(size_t(base) + nregs);  // moves the stack
            RELOAD_R();
          }
          Value* nr = R + ip->a + 1;
          // No nil fill of the rest: see the invariant at the top of the file.
          frames.push_back(Frame{c, p->code.data(), base, ip->a, kFrameScript});
          TSK_CHECK(frame_top(frames.back()) <= stack.size(), "a pushed frame's registers lie within the stack");
          // The new frame's state is known here: no reload through frames.back().
          f = &frames.back();
          cl = c;
          R = nr;
          K = p->consts.data();
          ip = p->code.data() - 1;
          DISPATCH();
        }
        if (callee.tag == Tag::Native) {
          Native* n = callee.as_native();
          if (n->entry->calls_back && host && call_depth == 0) {
            check_arity(*this, n, nargs);
            Value r;
            if (!runtime.call_on_fiber(*this, n, R + ip->a + 1, nargs, r)) {
              fiber_reg = ip->a;
              suspended = true;
              return Value::undef();
            }
            f = &frames.back();
            RELOAD_R();
            R[ip->a] = r;
            SAFEPOINT();
            DISPATCH();
          }
          Value r = call_native(*this, n, R + ip->a + 1, nargs);
          // The effect registry promises an instant native never suspends its task.
          TSK_CHECK(!suspended || n->entry->effect != Effect::Instant, "an instant native suspended its task");
          if (suspended) {  // a yields native parked the task
            if (retry_native) {  // to be called again (a blocks call, an I/O wait)
              retry_native = false;
              SUSPEND(Resume::Retry, 0, 0);
            }
            SUSPEND(Resume::Value, ip->a, 0);
          }
          f = &frames.back();
          RELOAD_R();
          R[ip->a] = r;
          SAFEPOINT();
          DISPATCH();
        }
        raise("TypeError", std::string("cannot call ") + type_name(callee));
      }
      CASE(RET) {
        retval = R[ip->a];
        goto do_return;
      }
      CASE(RETNIL) {
        retval = Value::nil();
        goto do_return;
      }
    do_return: {
        size_t index = frames.size() - 1;
        while (!handlers.empty() && handlers.back().frame >= index) [[unlikely]] handlers.pop_back();
        // The fields one by one, not a copy of the Frame: a 16-byte load of fields that
        // were stored 8 bytes at a time (SAVE_PC) cannot be store-forwarded and stalls
        // every return.
        const uint8_t kind = f->kind;
        const uint16_t result = f->result;
        if (kind != kFrameScript) [[unlikely]] {
          Closure* done = f->closure;
          frames.pop_back();
          if (kind == kFrameEntry) return retval;
          Module* m = done->module;
          runtime.finish_import(*this, m);
          retval = Value::object(m);
        } else {
          frames.pop_back();
        }
        LOAD_FRAME();
        TSK_CHECK(frames.end()->base == (kind == kFrameScript ? f->base + result + 1 : frame_top(*f)) &&
                      frame_top(*f) <= stack.size(),
                  "a returning frame sat right above its caller's call (or frame), within the stack");
        TSK_CHECK(handlers.empty() || handlers.back().frame < frames.size(),
                  "every handler belongs to a frame below the top");
        R[result] = retval;
        DISPATCH();
      }
      CASE(FORPREP) {
        Value a = R[ip->a], b = R[ip->a + 1];
        if (a.tag != Tag::Int || b.tag != Tag::Int) {
          SAVE_PC();
          raise("TypeError", std::string("range bounds must be ints, not ") + type_name(a) + " and " +
                                 type_name(b));
        }
        bool empty = ip->x == 1 ? a.i > b.i : a.i >= b.i;
        if (empty) ip += ip->sbx();
        else R[ip->a + 2] = a;
        DISPATCH();
      }
      CASE(FORLOOP) {
        int64_t i = R[ip->a].i, stop = R[ip->a + 1].i;
        bool more = ip->x == 1 ? i < stop : i + 1 < stop;  // inclusive: i < stop avoids overflow at INT64_MAX
        if (more) {
          TICK();  // first: a preempted FORLOOP runs again from the start
          R[ip->a].i = i + 1;
          R[ip->a + 2] = Value::integer(i + 1);
          ip += ip->sbx();
        }
        DISPATCH();
      }
      CASE(ITERPREP) {
        Value it = R[ip->a];
        switch (it.tag) {
          case Tag::List: case Tag::String: case Tag::Range: case Tag::Map: break;
          case Tag::Chan:
            if (ip->x == 2) {  // a channel has no index to pair with its values (SPEC §4)
              SAVE_PC();
              raise("TypeError", "cannot iterate over a channel with two variables");
            }
            break;
          default:
            SAVE_PC();
            raise("TypeError", std::string("cannot iterate over ") + type_name(it));
        }
        // Over a map the cursor's high 32 bits hold the map's `changes` at the start.
        R[ip->a + 1] = Value::integer(
            it.tag == Tag::Map ? int64_t(uint64_t(it.as_map()->changes) << 32) : 0);
        DISPATCH();
      }
      CASE(ITERNEXT) {
        Value it = R[ip->a];
        int64_t cursor = R[ip->a + 1].i;
        bool two = ip->x == 2;
        switch (it.tag) {
          case Tag::List: {
            auto& items = it.as_list()->items;
            if (size_t(cursor) >= items.size()) DISPATCH();
            if (two) { R[ip->b] = Value::integer(cursor); R[ip->b + 1] = items[cursor]; }
            else R[ip->b] = items[cursor];
            R[ip->a + 1].i = cursor + 1;
            break;
          }
          case Tag::Range: {
            Range* r = it.as_range();
            // cursor counts steps from start; compare in unsigned space to avoid overflow.
            uint64_t span = uint64_t(r->stop) - uint64_t(r->start);
            bool more = r->inclusive ? (r->stop >= r->start && uint64_t(cursor) <= span)
                                     : (r->stop > r->start && uint64_t(cursor) < span);
            if (!more) DISPATCH();
            Value v = Value::integer(int64_t(uint64_t(r->start) + uint64_t(cursor)));
            if (two) { R[ip->b] = Value::integer(cursor); R[ip->b + 1] = v; }
            else R[ip->b] = v;
            R[ip->a + 1].i = cursor + 1;
            break;
          }
          case Tag::String: {
            String* s = it.as_string();
            if (size_t(cursor) >= s->len) DISPATCH();
            Value ch = Value::object(Heap::byte_string(static_cast<unsigned char>(s->data()[cursor])));
            if (two) { R[ip->b] = Value::integer(cursor); R[ip->b + 1] = ch; }
            else R[ip->b] = ch;
            R[ip->a + 1].i = cursor + 1;
            break;
          }
          case Tag::Map: {
            // Cursor: the map's `changes` when the loop began (high half), the entry index
            // (low half). A key added or deleted since then ends the loop (SPEC §4).
            Map* m = it.as_map();
            const uint64_t started = uint64_t(cursor) & ~uint64_t(0xffffffff);
            if (uint32_t(started >> 32) != m->changes) {
              SAVE_PC();
              raise("ValueError", "map changed during iteration");
            }
            auto& entries = m->entries;
            size_t i = uint32_t(cursor);
            while (i < entries.size() && entries[i].key.tag == Tag::Undef) i++;
            if (i >= entries.size()) { R[ip->a + 1].i = int64_t(started | i); DISPATCH(); }
            R[ip->b] = entries[i].key;
            if (two) R[ip->b + 1] = entries[i].value;
            R[ip->a + 1].i = int64_t(started | (i + 1));
            break;
          }
          case Tag::Chan: {
            SAVE_PC();
            Value v;
            bool closed;
            if (!runtime.recv(*this, it, v, closed)) SUSPEND(Resume::IterNext, ip->a, ip->b);
            if (closed) DISPATCH();
            R[ip->b] = v;
            break;
          }
          default: break;
        }
        ip++;  // skip the exit jump
        SAFEPOINT();
        DISPATCH();
      }
      CASE(THROW) {
      do_throw:
        Value v = R[ip->a];
        SAVE_PC();
        Error* e;
        if (v.tag == Tag::Error) e = v.as_error();
        else if (v.tag == Tag::String) e = make_error(heap.string("Error"), v.as_string());
        else raise("TypeError", std::string("can only throw an error or a string, not ") + type_name(v));
        // A shared error (read out of frozen data) is never written: the trace goes on a
        // private copy with the same identity.
        if (e->flags & kShared) e = clone_error(heap, e);
        // A handler in this run of the loop is reached without a C++ throw, which costs
        // microseconds: an error unwinding through a `finally` at every level of a deep
        // recursion is thrown again once per level.
        if (e->limit) pass_handlers_for_limit(entry);
        if (!handlers.empty() && handlers.back().frame >= entry) {
          record_trace(e);
          unwind_to_handler(e);
          LOAD_FRAME();
          DISPATCH();
        }
        throw ScriptError{e};
      }
      CASE(TRY) {
        handlers.push_back(Handler{uint32_t(frames.size() - 1), ip + 1 + ip->sbx(), ip->a});
        DISPATCH();
      }
      CASE(ENDTRY) {
        if (!handlers.empty() && handlers.back().frame == frames.size() - 1) handlers.pop_back();
        DISPATCH();
      }
      CASE(ENDFINALLY) {
        Value pending = R[ip->a];
        if (pending.tag == Tag::Int) {
          ip += pending.i == 0 ? ip->b : pending.i - 1;  // past the entries, or onto entry k
          DISPATCH();
        }
        goto do_throw;  // the error the handler stored: raise it again, as THROW would
      }
      CASE(IMPORT) {
        SAVE_PC();
        Closure* body = nullptr;
        Module* m = runtime.import(*this, cl->module, K[ip->bx()].as_string()->view(), ip->x == 1, body);
        if (!m) SUSPEND(Resume::Import, 0, 0);  // parked: another task is loading it
        if (!body) {
          R[ip->a] = Value::object(m);
          DISPATCH();
        }
        uint32_t base = frame_top(*f);
        Proto* p = body->proto;
        // The module is registered as loading by this task: a failure before its frame
        // exists must end the load too.
        if (frames.size() >= runtime.limits.max_frames || size_t(base) + p->nregs > runtime.limits.max_stack_slots) {
          Error* e = make_error("StackOverflowError", "stack overflow (imports nested too deeply)");
          runtime.abort_import(*this, m, e);
          throw ScriptError{e};
        }
        ensure_stack(size_t(base) + p->nregs);
        for (uint32_t i = 0; i < p->nregs; i++) stack[base + i] = Value::nil();
        frames.push_back(Frame{body, p->code.data(), base, ip->a, kFrameImport});
        TSK_CHECK(frame_top(frames.back()) <= stack.size(), "a pushed frame's registers lie within the stack");
        LOAD_FRAME();
        DISPATCH();
      }
      CASE(SPAWN) {
        SAVE_PC();
        R[ip->a] = runtime.spawn(*this, R + ip->a, ip->b, cl->proto->locs[size_t(ip - cl->proto->code.data())], ip->c);
        SAFEPOINT();
        DISPATCH();
      }
      CASE(AWAIT) {
        SAVE_PC();
        Value v;
        if (!runtime.await(*this, R[ip->b], v)) SUSPEND(Resume::Retry, 0, 0);
        R[ip->a] = v;
        SAFEPOINT();
        DISPATCH();
      }
      CASE(SEND) {
        SAVE_PC();
        if (!runtime.send(*this, R[ip->a], R[ip->b])) SUSPEND(Resume::Nothing, 0, 0);
        DISPATCH();
      }
      CASE(RECV) {
        SAVE_PC();
        Value v;
        bool closed;
        if (!runtime.recv(*this, R[ip->b], v, closed)) SUSPEND(Resume::Value, ip->a, 0);
        R[ip->a] = v;
        SAFEPOINT();
        DISPATCH();
      }
      CASE(SCOPEBEGIN) {
        runtime.scope_begin(*this);
        DISPATCH();
      }
      CASE(SCOPEEND) {
        SAVE_PC();
        if (!runtime.scope_end(*this, R[ip->a])) SUSPEND(Resume::Retry, 0, 0);
        DISPATCH();
      }
      CASE(SELECT) {
        const Instr* select = ip;
        ip += select_mask_words(select->c);  // onto the last EXTRAARG of the send mask
        SAVE_PC();
        int chosen;
        Value v;
        if (!runtime.select(*this, R + select->b, select->c, select + 1, select->x == 1, chosen, v))
          SUSPEND(Resume::Select, select->a, 0);
        R[select->a] = Value::integer(chosen);
        R[select->a + 1] = v;
        SAFEPOINT();
        DISPATCH();
      }
      CASE(EXTRAARG) { DISPATCH(); }  // never reached: SELECT steps over it
#ifdef TSK_SWITCH_DISPATCH
      }
#endif
    } catch (ScriptError& err) {
      raise_here(err.error, entry);
    } catch (std::bad_alloc&) {
      // Out of memory in an instruction or a native (a heap object, a list or string
      // growing): a MemoryError in this task (SPEC §5), never an abort. Making the error
      // needs a few small allocations; the one that failed was most often large. If
      // even those fail, the bad_alloc goes on up to the scheduler, which ends the
      // program cleanly.
      Error* e;
      try {
        e = make_error("MemoryError", "out of memory");
      } catch (std::bad_alloc&) {
        leave_loop(entry, nullptr);
        throw;
      }
      raise_here(e, entry);
    }
  }
#undef CASE
#undef DISPATCH
}

void TaskState::raise_here(Error* e, size_t entry) {
  // Every instruction that can raise saved its pc first (SAVE_PC), so the frames
  // already say where the error arose; not reading the loop's `ip` here lets the
  // compiler keep it in a register for the whole loop.
  pending_error = e;
  try {
    record_trace(e);
  } catch (std::bad_alloc&) {
    // Out of memory while recording the trace: the error goes on with what it has.
  }
  // Unwind to the innermost handler whose frame belongs to this run of the loop.
  if (e->limit) pass_handlers_for_limit(entry);
  if (handlers.empty() || handlers.back().frame < entry) {
    leave_loop(entry, e);
    pending_error = nullptr;
    throw ScriptError{e};
  }
  unwind_to_handler(e);
  pending_error = nullptr;
}

void TaskState::leave_loop(size_t entry, Error* e) {
  while (!handlers.empty() && handlers.back().frame >= entry) handlers.pop_back();
  while (frames.size() > entry) {
    if (frames.back().kind == kFrameImport) runtime.abort_import(*this, frames.back().closure->module, e);
    frames.pop_back();
  }
}

void TaskState::pass_handlers_for_limit(size_t entry) {
  while (!handlers.empty() && handlers.back().frame >= entry && handlers.back().target->op != Op::SCOPEEND)
    handlers.pop_back();
}

void TaskState::unwind_to_handler(Error* e) {
  Handler h = handlers.back();
  handlers.pop_back();
  TSK_CHECK(h.frame < frames.size(), "every handler belongs to a frame below the top");
  while (frames.size() > h.frame + 1) {
    if (frames.back().kind == kFrameImport) runtime.abort_import(*this, frames.back().closure->module, e);
    frames.pop_back();
  }
  frames.back().pc = h.target;
  stack[frames.back().base + h.reg] = Value::object(e);
}

void TaskState::complete_wait() {
  Resume kind = resume;
  resume = Resume::None;
  Frame& f = frames.back();
  if (kind == Resume::None) return;  // a preempted task just goes on
  runtime.finish_wait(*this);  // raises here when the wait ended in an error (Cancelled, Deadlock)
  if (kind == Resume::Retry) {
    f.pc -= 1;  // run AWAIT / SCOPEEND again: they re-check their condition
    return;
  }
  bool closed = false;
  int chosen_case = -1;
  Value v = runtime.take_delivery(*this, closed, chosen_case);
  if (kind == Resume::Import) {
    // The module another task was loading failed: raise its error here too. Otherwise
    // run IMPORT again, which finds it loaded (or loads it, if its loader was cancelled).
    Value failed = v;
    if (failed.tag == Tag::Error) {
      failed.as_error()->traced = false;  // add this task's frames below the note
      failed.as_error()->skip_innermost = nullptr;
      throw ScriptError{failed.as_error()};
    }
    f.pc -= 1;
    return;
  }
  Value* R = stack.data() + f.base;
  switch (kind) {
    case Resume::Value: R[resume_a] = v; break;
    case Resume::IterNext:
      if (!closed) {
        R[resume_b] = v;
        f.pc += 1;  // skip the loop's exit jump
      }
      break;
    case Resume::Select:
      R[resume_a] = Value::integer(chosen_case);
      R[resume_a + 1] = v;
      break;
    default: break;
  }
}

void TaskState::host_yield() { runtime.yield_now(*this); }

void TaskState::record_trace(Error* e) {
  if (e->traced) return;
  e->traced = true;
  // Keep tracebacks readable and cheap after a deep recursion: the innermost 40 frames,
  // a count of the rest, the outermost 10.
  constexpr size_t kHead = 40, kTail = 10;
  size_t n = frames.size();
  auto line_of = [&](const Frame& fr) {
    const Proto* p = fr.closure->proto;
    size_t at = size_t(fr.pc - p->code.data());
    lang::Loc loc = at > 0 && at <= p->locs.size() ? p->locs[at - 1] : p->loc;
    return TraceLine{p->name, p->file, loc, ""};
  };
  const Proto* skip = e->skip_innermost;
  e->skip_innermost = nullptr;
  if (skip && n > 0 && frames[n - 1].closure->proto == skip) n--;
  for (size_t k = 0; k < n; k++) {
    if (frames[n - 1 - k].closure->proto->hidden) continue;
    if (n > kHead + kTail && k == kHead) {
      e->trace.push_back(TraceLine{"", "", {}, "... " + std::to_string(n - kHead - kTail) + " more frames"});
      k = n - kTail;
    }
    e->trace.push_back(line_of(frames[n - 1 - k]));
  }
}

std::string TaskState::format_trace_line(const TraceLine& line) {
  if (!line.note.empty() || line.function.empty()) return line.note;  // a note may be empty (a blank source line)
  return "at " + line.function + " (" + line.file + ":" + std::to_string(line.loc.line) + ":" +
         std::to_string(line.loc.col) + ")";
}

std::string TaskState::format_error(const Error* e) {
  std::string out = "error: ";
  out += e->kind->view();
  out += ": ";
  out += e->message->view();
  out += "\n";
  for (auto& line : e->trace) {
    out += "  ";
    out += format_trace_line(line);
    out += "\n";
  }
  return out;
}

}  // namespace tsk::vm
