// The time module: clocks (now, mono) and the waiting functions (sleep, after, tick),
// whose effects say which suspend the calling task.
#include <chrono>

#include "stdlib/natives.hpp"

namespace tsk::stdlib {

namespace {

Value time_now(TaskState&, Value*, int) {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return Value::number(std::chrono::duration<double>(since_epoch).count());
}

Value time_mono(TaskState&, Value*, int) {
  auto since_start = std::chrono::steady_clock::now().time_since_epoch();
  return Value::number(std::chrono::duration<double>(since_start).count());
}

const vm::NativeEntry kTimeEntries[] = {
    {"time", "now", "now()", vm::Effect::Instant, "Wall-clock time: seconds since 1970-01-01 UTC, as a float",
     time_now, 0, 0},
    {"time", "mono", "mono()", vm::Effect::Instant,
     "Monotonic time in seconds (for measuring intervals; the origin is unspecified)", time_mono, 0, 0},
    {"time", "sleep", "sleep(seconds)", vm::Effect::Yields, "Suspends the calling task for the given seconds",
     t_sleep, 1, 1},
    {"time", "after", "after(seconds)", vm::Effect::Instant,
     "A channel that receives the monotonic time once, after the given seconds", t_after, 1, 1},
    {"time", "tick", "tick(seconds)", vm::Effect::Instant,
     "A channel that receives the monotonic time every period (a slow receiver misses ticks)", t_tick, 1, 1},
};

}  // namespace

vm::ModuleDef time_module() {
  return vm::ModuleDef{"time", "Clocks and timed waits", kTimeEntries, nullptr};
}

}  // namespace tsk::stdlib
