// A task's execution state for the interpreter (vm::TaskState): its register stack,
// call frames, error handlers and heap. The scheduler's task (rt::Task) owns one; the
// interpreter sees only this, and reaches the rest through vm::Host (vm/host.hpp). The interpreter (vm/interp.cpp) is stackless: a script call pushes
// a Frame here and never recurses on the C++ stack, so a task can later be parked by
// saving its frames and returning to the scheduler.
//
// Natives receive the TaskState that called them: they allocate in `heap`, raise errors
// with `raise`, and call back into script with `call`.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <string>
#include <string_view>
#include <vector>

#include "vm/sync.hpp"
#include "vm/heap.hpp"
#include "vm/host.hpp"
#include "vm/opcodes.hpp"
#include "vm/proto.hpp"
#include "vm/small_vector.hpp"
#include "vm/value.hpp"


namespace tsk::vm {

// A script error travelling up the C++ stack from a native or an instruction to the
// interpreter loop, which turns it into a script-level raise. `error` is rooted by the
// TaskState while it travels (TaskState::pending_error).
struct ScriptError {
  Error* error;
};

// os.exit(code): unwinds everything, uncatchable by script code (no catch, no finally).
// code < 0: the program has already ended (rt::Scheduler halts it) and this task stops.
struct ExitRequest {
  int code;
};

struct Frame {
  Closure* closure;
  const Instr* pc;     // the next instruction to run
  uint32_t base;       // R[0] is stack[base]
  uint16_t result;     // caller's register (relative to the caller's base) that receives the return value
  uint8_t kind;        // FrameKind
};

enum FrameKind : uint8_t {
  kFrameScript = 0,    // an ordinary call from script code
  kFrameEntry = 1,     // the bottom frame of a run(): returning from it ends run()
  kFrameImport = 2,    // a module body: on return, the module is marked loaded and frozen
};

struct Handler {
  uint32_t frame;      // index into frames of the frame that owns the handler
  const Instr* target; // where the catch code starts
  uint16_t reg;        // register receiving the error
};

// What a runtime records about a task's operation outside the interpreter (Extras::pending).
struct PendingOp {
  virtual ~PendingOp() = default;
};

class TaskState {
 public:
  explicit TaskState(Host& runtime);
  ~TaskState();

  Host& runtime;  // what runs it (vm/host.hpp): rt::Runtime
  Heap heap{false};

  SmallVector<Value> stack;
  SmallVector<Frame> frames;
  SmallVector<Handler> handlers;
  SmallVector<Value> roots;  // values natives keep alive across TaskState::call
  Error* pending_error = nullptr;  // an error being unwound, kept alive meanwhile
  uint32_t call_depth = 0;         // nesting of TaskState::call (natives calling back into script)
  // Back-edges and calls between budget, cancel and preemption checks. It lives on the
  // task, not in one execute() call, so a task that parks every few instructions (a
  // filter in a chain of channels) is charged for its work like any other.
  static constexpr int32_t kTickQuantum = 1024;
  int32_t ticks = kTickQuantum;
  HostTask* host = nullptr;        // the runtime's side of this task; null when none schedules it
  // What only some tasks need, allocated at the first use of any part: every field on
  // the task itself costs each parked task (rt::Task is sized to a mimalloc class).
  struct Extras {
    // Copies of another task's `let`/`fn` top-level values, by slot: such a binding never
    // changes once set, so a task calling a top-level fn re-makes it once, not per call.
    // `recent` holds a few of them by slot index, which GETG looks at before leaving the
    // loop: a spawned task recursing through a top-level fn reads it on every call, and
    // the map lookup alone cost a spawned fib(32) a quarter of its time. Every entry of
    // `recent` is also in `by_slot`, which keeps it alive.
    struct Hit {
      const Value* slot = nullptr;
      Value value;
    };
    static constexpr uint32_t kRecent = 4;
    Hit recent[kRecent];
    std::unordered_map<const Value*, Value> by_slot;
    // Out of line, so Extras stays in its 160-byte size class.
    struct Rare {
      // The task's own `rand` generator (stdlib/rand.cpp): xoshiro256** state, made and
      // seeded at its first use.
      std::unique_ptr<std::array<uint64_t, 4>> rand;
      // The operation outside the interpreter that the task is parked on or has just
      // come back from (a blocking call on the pool, a wait on a descriptor): the
      // runtime's record of it (runtime/outside.hpp), read when the native is called again.
      std::shared_ptr<PendingOp> pending;
    };
    std::unique_ptr<Rare> rare_;
    Rare& rare() {
      if (!rare_) rare_ = std::make_unique<Rare>();
      return *rare_;
    }
    std::shared_ptr<PendingOp>& pending() { return rare().pending; }
  };
  Extras& extra() {
    if (!extras) extras = std::make_unique<Extras>();
    return *extras;
  }
  // Allocated at the first use: most tasks make none.
  std::unique_ptr<Extras> extras;
  // Held while this task collects, and by another task copying one of this task's
  // top-level values (Module::owner): the copy never sees an object being freed.
  vm::Mutex gc_mutex;

  // Suspension (the concurrency runtime): an instruction that must wait saves its pc,
  // records how to finish on resume, and makes execute() return with `suspended` set.
  enum class Resume : uint8_t {
    None,
    Retry,     // run the same instruction again (AWAIT, SCOPEEND: they re-check)
    Value,     // R[a] = the delivered value (RECV, a yields native's result)
    IterNext,  // R[b] = the delivered value and skip the exit jump, or exit when closed
    Select,    // R[a] = the chosen case, R[a+1] = the received value
    Nothing,   // SEND: nothing to store
    Import,    // IMPORT: raise the delivered error (the module failed), else run it again
  };
  // (The small fields are grouped so the task packs tightly.)
  bool suspended = false;
  // Set by a native that parked the task to be called again, with the same arguments,
  // when it runs again (a `blocks` call on the pool, an I/O wait): Resume::Retry.
  bool retry_native = false;
  // The task's current wait must not be ended by a cancel (a blocking call on the pool,
  // SPEC §10): set before that wait begins and cleared when the task runs again; read
  // by the runtime's interrupt from other threads, hence atomic.
  std::atomic<bool> uncancellable_wait{false};
  Resume resume = Resume::None;
  // A native with `calls_back` running on a fiber (runtime/fiber.hpp): in_fiber while
  // its code runs; fiber_pending while the task is parked inside it, whose result then
  // goes to register fiber_reg of the calling frame.
  bool in_fiber = false;
  bool fiber_pending = false;
  uint16_t fiber_reg = 0;
  uint16_t resume_a = 0, resume_b = 0;
  void* fiber_call = nullptr;
  // On resume: completes the parked instruction (interp.cpp).
  void complete_wait();
  void host_yield();

  // Records the traceback of `e` from the current frames (innermost first), unless it
  // already has one. The interpreter calls it where an error is raised.
  void record_trace(Error* e);
  // The text of an uncaught error: "error: Kind: message" and the trace lines.
  static std::string format_error(const Error* e);
  // One trace line without indentation: "at fn (file:line:col)" or the note.
  static std::string format_trace_line(const TraceLine& line);

  // Runs `fn` with `args` to completion and returns its result; a script error that is
  // not caught inside escapes as ScriptError. Re-entrant: natives use it to call back.
  Value call(Value fn, const Value* args, int nargs);

  // Throws ScriptError with a new error of `kind` ("TypeError", ...) and `message`.
  [[noreturn]] void raise(std::string_view kind, std::string message);
  // Raises a LimitError, which no handler stops (vm::Error::limit).
  [[noreturn]] void raise_limit(std::string message);
  // The loop's collection: collect(), then a LimitError if what lives is over the
  // task's memory limit (Host::task_memory_limit).
  void collect_at_safepoint();
  Error* make_error(std::string_view kind, std::string message);
  // A new error with an identity of its own (Error::id, unique in the runtime).
  Error* make_error(String* kind, String* message);

  // Collects this task's heap now (the interpreter calls it at safepoints).
  void collect();
  // Frees the heap, registers and frames of a task whose body has ended.
  void release_memory();

  // Runs frames from frames[entry] (a kFrameEntry frame already pushed) until that
  // frame returns; the interpreter loop (vm/interp.cpp).
  Value execute(size_t entry);
  // Pops the innermost handler and the frames above its own, and resumes there with `e`
  // in the handler's register.
  void unwind_to_handler(Error* e);
  // The interpreter loop that started at frames[entry] meets error `e`: records its
  // trace and unwinds to a handler of that loop, or pops the loop's frames and throws
  // ScriptError{e} to the native below.
  void raise_here(Error* e, size_t entry);
  // A LimitError passes every catch and finally but not a scope's end, SCOPEEND, which
  // still waits for the scope's tasks (so none outlives its scope): drops the handlers
  // of this run of the loop (frames from `entry` up) down to the innermost scope's.
  void pass_handlers_for_limit(size_t entry);
  // Pops the frames (and their handlers) of the interpreter loop that started at
  // frames[entry], which an exception (`e`, or none when memory ran out) is leaving.
  void leave_loop(size_t entry, Error* e);
  // Makes room for registers up to `needed` (StackOverflowError past the limit).
  void ensure_stack(size_t needed);

  // Keeps `v` alive (and reachable) until the Root is destroyed.
  struct Root {
    Root(TaskState& t, Value v) : task(t) { t.roots.push_back(v); }
    ~Root() { task.roots.pop_back(); }
    TaskState& task;
  };
};

}  // namespace tsk::vm
