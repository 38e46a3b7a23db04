// Fibers for natives that call back into script (DESIGN decision 3). A native such as
// sort(xs, less) runs its callback in a nested interpreter loop on the C++ stack; if the
// callback waits (receives from a channel), that C++ stack must survive while the task
// is parked. So a task calls such a native on a pooled Boost.Context fiber: a wait deep
// inside parks the fiber and returns to the worker, and the next run of the task resumes
// the fiber where it stopped. Plain tasks never pay for a fiber: only the natives
// registered with `calls_back` run on one, and only while they run.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include <boost/context/stack_context.hpp>

#include "vm/task_state.hpp"
#include "vm/value.hpp"

namespace tsk::rt {

// Stacks kept for reuse, shared by the workers of one runtime.
class StackPool {
 public:
  ~StackPool();
  boost::context::stack_context take();
  void give(boost::context::stack_context sc);

 private:
  std::mutex lock_;
  std::vector<boost::context::stack_context> free_;
};

// Calls the native on a fiber. Returns true with its result in `out` when it finished,
// false when the task parked inside it (vm::TaskState::fiber_pending is then set).
bool call_on_fiber(vm::TaskState& t, vm::Native* native, vm::Value* args, int nargs, vm::Value& out);
// Resumes a parked fiber call: true with the native's result when it finished.
bool resume_fiber(vm::TaskState& t, vm::Value& out);
// Destroys a fiber call that will never finish (its task is being destroyed).
void discard_fiber(vm::TaskState& t);
// From inside a fiber: parks it (back to the worker) until the task runs again.
void park_fiber(vm::TaskState& t);
// True when the C++ stack the task runs on (its fiber's, or else its thread's) has less
// than a safety margin left: a native calling back into script must not nest deeper.
bool stack_nearly_full(vm::TaskState& t);

}  // namespace tsk::rt
