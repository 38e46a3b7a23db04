// Fiber calls (see runtime/fiber.hpp). A FiberCall owns the fiber and carries the result,
// or the exception, across the switch: exceptions must not leave a fiber's function.
#include "runtime/fiber.hpp"

#include <pthread.h>

#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>
#include <exception>

#include "runtime/runtime.hpp"
#include "stdlib/registry.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define TSK_ASAN_FIBERS 1
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define TSK_TSAN_FIBERS 1
#endif

namespace tsk::rt {

namespace ctx = boost::context;

namespace {

// AddressSanitizer must be told when the stack changes under it, or an exception thrown
// on a fiber looks like a use of a dead stack frame. Each switch is announced before
// (start) and confirmed after (finish); these compile to nothing without ASan.
struct AsanSwitch {
#ifdef TSK_ASAN_FIBERS
  void* fake = nullptr;
  const void* bottom = nullptr;
  size_t size = 0;
#endif
  void start(const void* to_bottom, size_t to_size, bool leaving_for_good = false) {
#ifdef TSK_ASAN_FIBERS
    __sanitizer_start_switch_fiber(leaving_for_good ? nullptr : &fake, to_bottom, to_size);
#endif
  }
  // Confirms the switch and learns the stack that was left (to switch back to it).
  void finish(const void** from_bottom = nullptr, size_t* from_size = nullptr) {
#ifdef TSK_ASAN_FIBERS
    __sanitizer_finish_switch_fiber(fake, from_bottom, from_size);
#endif
  }
};

// 1 MiB of address space a fiber, committed only as touched, with a guard page: nested
// interpreter loops inside a callback need real C++ stack (Task::call stops them at
// kStackMargin from the end, see stack_nearly_full). Not more: every fiber is two
// mappings, and a parked task inside a callback keeps its fiber.
constexpr size_t kFiberStack = 1 << 20;

// What a nested call must leave free below it: the deepest stretch of C++ stack between
// two checks (a native, its callback's interpreter loop, the next Task::call) plus
// throwing the StackOverflowError itself (the unwinder's own frames). Measured with
// tests/scripts/errors/callback_nesting_overflow.tsk: a level of list.map costs about
// 1.7 KiB in a Release build (529 levels fit in a fiber) and 12 KiB with
// AddressSanitizer at -O1 (75 levels); 128 KiB is ten ASan levels' worth, for natives
// with larger frames than list.map's.
constexpr size_t kStackMargin = 128 * 1024;

// The lowest address this thread's code may reach before a nested call is refused
// (cached per thread: a thread's stack never moves). A task's own thread stack is
// used only when it runs a callback without a fiber (a task of no scheduler).
thread_local const char* tl_thread_floor = nullptr;

const char* thread_floor() {
  if (!tl_thread_floor) {
    pthread_attr_t attr;
    void* low = nullptr;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      pthread_attr_getstack(&attr, &low, &size);
      pthread_attr_destroy(&attr);
    }
    const char* here = static_cast<const char*>(__builtin_frame_address(0));
    // Without an answer, assume the smallest common thread stack (512 KiB, macOS's
    // secondary threads) below this frame.
    tl_thread_floor = low ? static_cast<const char*>(low) + kStackMargin : here - 512 * 1024 + kStackMargin;
  }
  return tl_thread_floor;
}

}  // namespace

// ThreadSanitizer keeps a shadow stack per thread: a switch of stacks it is not told of
// corrupts it (a crash inside its stack depot, first seen when a host thread unwound a
// discarded fiber). Each fiber gets a TSan fiber of its own; each switch names the one
// it goes to. These compile to nothing without TSan.
struct TsanFiber {
#ifdef TSK_TSAN_FIBERS
  void* fiber = __tsan_create_fiber(0);
  void* caller = nullptr;  // the thread (or fiber) that switched in last
  ~TsanFiber() { __tsan_destroy_fiber(fiber); }
#endif
  void enter() {
#ifdef TSK_TSAN_FIBERS
    caller = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(fiber, 0);
#endif
  }
  void leave() {
#ifdef TSK_TSAN_FIBERS
    __tsan_switch_to_fiber(caller, 0);
#endif
  }
};

struct FiberCall {
  ctx::fiber fiber;        // the fiber, while it is parked
  ctx::fiber worker;       // inside the fiber: the worker context to switch back to
  vm::Value result;
  std::exception_ptr failure;
  bool finished = false;
  ctx::stack_context stack;  // the fiber's stack (for AddressSanitizer)
  AsanSwitch on_worker;      // switches made from the worker's stack
  AsanSwitch on_fiber;       // switches made from the fiber's stack
  const void* worker_bottom = nullptr;
  size_t worker_size = 0;
  bool discarding = false;   // resumed only to unwind (discard_fiber)
  TsanFiber tsan;
};

namespace {

// Thrown inside a parked fiber that is being discarded, to unwind the native's frames.
struct FiberDiscarded {};

}  // namespace

namespace {

struct PooledStack {
  StackPool* pool;
  FiberCall* call;
  ctx::stack_context allocate() {
    call->stack = pool->take();
    return call->stack;
  }
  void deallocate(ctx::stack_context& sc) { pool->give(sc); }
};

}  // namespace

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
bool run(vm::TaskState& t, FiberCall* call, vm::Value& out) {
  t.in_fiber = true;
  const char* top = static_cast<const char*>(call->stack.sp);
  call->on_worker.start(top - call->stack.size, call->stack.size);
  call->tsan.enter();
  call->fiber = std::move(call->fiber).resume();
  call->on_worker.finish();
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

bool call_on_fiber(vm::TaskState& t, vm::Native* native, vm::Value* args, int nargs, vm::Value& out) {
  auto* call = new FiberCall();
  std::vector<vm::Value> copied(args, args + nargs);
  call->fiber = ctx::fiber(std::allocator_arg, PooledStack{&runtime_of(t).fiber_stacks, call},
                           [&t, call, native, copied](ctx::fiber&& worker) mutable {
                             call->on_fiber.finish(&call->worker_bottom, &call->worker_size);
                             call->worker = std::move(worker);
                             try {
                               call->result = vm::invoke_native(t, *native->entry, copied.data(), int(copied.size()));
                             } catch (const ctx::detail::forced_unwind&) {
                               throw;  // the fiber is being destroyed: let Boost unwind it
                             } catch (...) {
                               call->failure = std::current_exception();
                             }
                             call->finished = true;
                             call->on_fiber.start(call->worker_bottom, call->worker_size, true);
                             call->tsan.leave();
                             return std::move(call->worker);
                           });
  t.fiber_call = call;
  return run(t, call, out);
}

bool resume_fiber(vm::TaskState& t, vm::Value& out) { return run(t, static_cast<FiberCall*>(t.fiber_call), out); }

void discard_fiber(vm::TaskState& t) {
  // Resumed the ordinary way, the fiber unwinds from park_fiber and finishes, so every
  // switch is one AddressSanitizer is told about. (Destroying it parked would unwind it
  // through Boost's forced_unwind, a switch ASan never hears of: it then mistakes the
  // fiber's stack for the thread's and reports false overflows.)
  auto* call = static_cast<FiberCall*>(t.fiber_call);
  call->discarding = true;
  vm::Value ignored;
  try {
    run(t, call, ignored);  // deletes the call once the fiber has finished
  } catch (const FiberDiscarded&) {
  }
  t.fiber_call = nullptr;
  t.fiber_pending = false;
}

bool stack_nearly_full(vm::TaskState& t) {
  const char* here = static_cast<const char*>(__builtin_frame_address(0));
  if (t.in_fiber && t.fiber_call) {
    const ctx::stack_context& sc = static_cast<FiberCall*>(t.fiber_call)->stack;
    return here < static_cast<const char*>(sc.sp) - sc.size + kStackMargin;
  }
  return here < thread_floor();
}

void park_fiber(vm::TaskState& t) {
  auto* call = static_cast<FiberCall*>(t.fiber_call);
  call->on_fiber.start(call->worker_bottom, call->worker_size);
  call->tsan.leave();
  call->worker = std::move(call->worker).resume();
  // Resumed, perhaps by another worker thread: learn its stack anew.
  call->on_fiber.finish(&call->worker_bottom, &call->worker_size);
  if (call->discarding) throw FiberDiscarded{};
}

}  // namespace tsk::rt
