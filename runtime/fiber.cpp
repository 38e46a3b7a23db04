// Fiber calls (see runtime/fiber.hpp). A FiberCall owns the fiber and carries the result,
// or the exception, across the switch: exceptions must not leave a fiber's function.
#include "runtime/fiber.hpp"

#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>
#include <exception>

#include "runtime/runtime.hpp"
#include "stdlib/registry.hpp"

namespace tsk::rt {

namespace ctx = boost::context;

namespace {

// 1 MiB of address space a fiber, committed only as touched, with a guard page: nested
// interpreter loops inside a callback need real C++ stack (Task::call bounds them at 200).
constexpr size_t kFiberStack = 1 << 20;

struct PooledStack {
  StackPool* pool;
  ctx::stack_context allocate() { return pool->take(); }
  void deallocate(ctx::stack_context& sc) { pool->give(sc); }
};

}  // namespace

struct FiberCall {
  ctx::fiber fiber;        // the fiber, while it is parked
  ctx::fiber worker;       // inside the fiber: the worker context to switch back to
  vm::Value result;
  std::exception_ptr failure;
  bool finished = false;
};

StackPool::~StackPool() {
  ctx::protected_fixedsize_stack alloc(kFiberStack);
  for (auto& sc : free_) alloc.deallocate(sc);
}

ctx::stack_context StackPool::take() {
  {
    std::lock_guard g(lock_);
    if (!free_.empty()) {
      ctx::stack_context sc = free_.back();
      free_.pop_back();
      return sc;
    }
  }
  return ctx::protected_fixedsize_stack(kFiberStack).allocate();
}

void StackPool::give(ctx::stack_context sc) {
  std::lock_guard g(lock_);
  free_.push_back(sc);
}

namespace {

// Switches into the fiber of `call` and back; true when the native has finished.
bool run(vm::Task& t, FiberCall* call, vm::Value& out) {
  t.in_fiber = true;
  call->fiber = std::move(call->fiber).resume();
  t.in_fiber = false;
  if (!call->finished) {
    t.fiber_pending = true;
    return false;
  }
  t.fiber_call = nullptr;
  t.fiber_pending = false;
  std::exception_ptr failure = call->failure;
  out = call->result;
  delete call;
  if (failure) std::rethrow_exception(failure);
  return true;
}

}  // namespace

bool call_on_fiber(vm::Task& t, vm::Native* native, vm::Value* args, int nargs, vm::Value& out) {
  auto* call = new FiberCall();
  std::vector<vm::Value> copied(args, args + nargs);
  call->fiber = ctx::fiber(std::allocator_arg, PooledStack{&t.runtime.fiber_stacks},
                           [&t, call, native, copied](ctx::fiber&& worker) mutable {
                             call->worker = std::move(worker);
                             try {
                               call->result = native->entry->fn(t, copied.data(), int(copied.size()));
                             } catch (const ctx::detail::forced_unwind&) {
                               throw;  // the fiber is being destroyed: let Boost unwind it
                             } catch (...) {
                               call->failure = std::current_exception();
                             }
                             call->finished = true;
                             return std::move(call->worker);
                           });
  t.fiber_call = call;
  return run(t, call, out);
}

bool resume_fiber(vm::Task& t, vm::Value& out) { return run(t, static_cast<FiberCall*>(t.fiber_call), out); }

void discard_fiber(vm::Task& t) {
  delete static_cast<FiberCall*>(t.fiber_call);  // unwinds the parked fiber's stack
  t.fiber_call = nullptr;
  t.fiber_pending = false;
}

void park_fiber(vm::Task& t) {
  auto* call = static_cast<FiberCall*>(t.fiber_call);
  call->worker = std::move(call->worker).resume();
}

}  // namespace tsk::rt
