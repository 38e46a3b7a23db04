// Task bookkeeping outside the interpreter loop: making errors, recording tracebacks,
// collecting the task's heap from its roots. The loop itself is vm/interp.cpp.
#include "vm/task.hpp"

#include "runtime/runtime.hpp"

namespace tsk::vm {

// 160 bytes is a mimalloc size class: a task that reads other tasks' top-level functions
// pays for one Extras, so what is added to it goes out of line (as `rand` does).
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(Task::Extras) <= 160, "Task::Extras grew past its mimalloc size class");
#endif

Task::Task(rt::Runtime& rt) : runtime(rt) {
  // Nothing up front: a parked task should cost little, so the register stack starts
  // with exactly what the entry frame needs and grows by doubling (interp.cpp).
}

Task::~Task() = default;

Error* Task::make_error(std::string_view kind, std::string message) {
  String* k = heap.string(kind);
  String* m = heap.string(message);
  return make_error(k, m);
}

Error* Task::make_error(String* kind, String* message) {
  Error* e = heap.error(kind, message);
  e->id = runtime.next_error_id.fetch_add(1, std::memory_order_relaxed);
  return e;
}

void Task::raise(std::string_view kind, std::string message) {
  throw ScriptError{make_error(kind, std::move(message))};
}

void Task::release_memory() {
  stack.release();
  frames.release();
  handlers.release();
  roots.release();
  extras.reset();
  heap.free_all();
}

void Task::collect() {
  std::lock_guard gc(gc_mutex);
  uint32_t top = frames.empty() ? 0 : frames.back().base + frames.back().closure->proto->nregs;
  if (top > stack.size()) top = uint32_t(stack.size());
  for (uint32_t i = 0; i < top; i++) heap.mark(stack[i]);
  for (const Frame& f : frames) heap.mark(f.closure);
  for (Value v : roots) heap.mark(v);
  if (extras)
    for (auto& [slot, v] : extras->by_slot) heap.mark(v);
  // Modules live in the shared area; the globals of those this task owns are its roots.
  // It owns the modules it is loading, each under an import frame, and, if it is the
  // main task, the main scripts. No module table is walked: other tasks change them.
  auto mark_globals = [&](Module* m) {
    if (m->owner.load(std::memory_order_relaxed) == this)
      for (Value v : m->globals) heap.mark(v);
  };
  for (const Frame& f : frames)
    if (f.kind == kFrameImport) mark_globals(f.closure->module);
  if (runtime.main_ && host == runtime.main_)
    for (Module* m : runtime.main_modules) mark_globals(m);
  if (pending_error) heap.mark(pending_error);
  heap.trace();
  heap.sweep();
}

}  // namespace tsk::vm
