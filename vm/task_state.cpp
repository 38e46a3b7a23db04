// TaskState bookkeeping outside the interpreter loop: making errors, recording tracebacks,
// collecting the task's heap from its roots. The loop itself is vm/interp.cpp.
#include "vm/task_state.hpp"

#include <new>


namespace tsk::vm {

// 160 bytes is a mimalloc size class: a task that reads other tasks' top-level functions
// pays for one Extras, so what is added to it goes out of line (as `rand` does).
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(TaskState::Extras) <= 160, "TaskState::Extras grew past its mimalloc size class");
#endif

TaskState::TaskState(Host& host_runtime) : runtime(host_runtime) {
  // Nothing up front: a parked task should cost little, so the register stack starts
  // with exactly what the entry frame needs and grows by doubling (interp.cpp).
  if (runtime.task_memory_limit) heap.cap_threshold(runtime.task_memory_limit);
}

TaskState::~TaskState() = default;

Error* TaskState::make_error(std::string_view kind, std::string message) {
  String* k = heap.string(kind);
  String* m = heap.string(message);
  return make_error(k, m);
}

Error* TaskState::make_error(String* kind, String* message) {
  Error* e = heap.error(kind, message);
  e->id = runtime.new_error_id();
  return e;
}

void TaskState::raise(std::string_view kind, std::string message) {
  throw ScriptError{make_error(kind, std::move(message))};
}

void TaskState::raise_limit(std::string message) {
  Error* e = make_error("LimitError", std::move(message));
  e->limit = true;
  throw ScriptError{e};
}

void TaskState::release_memory() {
  stack.release();
  frames.release();
  handlers.release();
  roots.release();
  extras.reset();
  heap.free_all();
}

void TaskState::collect() {
  std::lock_guard gc(gc_mutex);
  try {
    uint32_t top = frames.empty() ? 0 : frames.back().base + frames.back().closure->proto->nregs;
    if (top > stack.size()) top = uint32_t(stack.size());
    for (uint32_t i = 0; i < top; i++) heap.mark(stack[i]);
    // What lies above the top is not marked and may be freed now: nil it, so that a
    // call, which does not nil its callee's registers, never exposes a freed object
    // (vm/interp.cpp's invariants).
    for (size_t i = top; i < stack.size(); i++) stack[i] = Value::nil();
    for (const Frame& f : frames) heap.mark(f.closure);
    for (Value v : roots) heap.mark(v);
    if (extras)
      for (auto& [slot, v] : extras->by_slot) heap.mark(v);
    // Modules live in the immortal area; the globals of those this task owns are its roots.
    // It owns the modules it is loading, each under an import frame, and, if it is the
    // main task, the main scripts (the host's roots). No module table is walked: other
    // tasks change them.
    auto mark_globals = [&](Module* m) {
      if (m->owner.load(std::memory_order_relaxed) == this)
        for (Value v : m->globals) heap.mark(v);
    };
    for (const Frame& f : frames)
      if (f.kind == kFrameImport) mark_globals(f.closure->module);
    runtime.mark_host_roots(*this);
    if (pending_error) heap.mark(pending_error);
    heap.trace();
  } catch (std::bad_alloc&) {
    // The gray stack could not grow: this collection is abandoned before it freed
    // anything (the caller gets MemoryError), and no object may stay marked, or the
    // next one would skip its children.
    heap.unmark_all();
    throw;
  }
  heap.sweep();
  if (runtime.task_memory_limit) heap.cap_threshold(runtime.task_memory_limit);
}

void TaskState::collect_at_safepoint() {
  collect();
  size_t limit = runtime.task_memory_limit;
  if (limit && heap.bytes() > limit)
    raise_limit("this task holds " + std::to_string(heap.bytes()) + " bytes, over its memory limit of " +
                std::to_string(limit));
}

}  // namespace tsk::vm
