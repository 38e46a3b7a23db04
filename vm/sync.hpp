// The one seam through which tsk takes its locks (STYLE: Tokio's loom seam): a 4-byte
// mutex on a futex. Tasks, scopes and channels each carry one, so a parked task must not
// pay std::mutex's 40 bytes several times. A test build can swap this header. It lives in
// vm/ because two locks belong to the VM's own objects — a task's collector lock (its
// heap) and a loading module's owner lock (its globals) — and vm/ includes nothing of
// runtime/; the scheduler and channels take theirs from here too.
//
// States: 0 unlocked, 1 locked, 2 locked with waiters (Drepper, "Futexes Are Tricky").
#pragma once

#include <atomic>
#include <cstdint>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace tsk::vm {

class Mutex {
 public:
  void lock() {
    uint32_t c = 0;
    if (state_.compare_exchange_strong(c, 1, std::memory_order_acquire)) return;
    // Spin briefly: critical sections here are a few dozen instructions.
    for (int i = 0; i < 64; i++) {
      c = 0;
      if (state_.load(std::memory_order_relaxed) == 0 &&
          state_.compare_exchange_weak(c, 1, std::memory_order_acquire))
        return;
      __builtin_ia32_pause();
    }
    if (c != 2) c = state_.exchange(2, std::memory_order_acquire);
    while (c != 0) {
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&state_), FUTEX_WAIT_PRIVATE, 2, nullptr, nullptr, 0);
      c = state_.exchange(2, std::memory_order_acquire);
    }
  }
  // Takes the lock only if it is free now; never waits.
  bool try_lock() {
    uint32_t c = 0;
    return state_.compare_exchange_strong(c, 1, std::memory_order_acquire);
  }
  void unlock() {
    if (state_.exchange(0, std::memory_order_release) == 2)
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&state_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }

 private:
  std::atomic<uint32_t> state_{0};
};
static_assert(sizeof(Mutex) == 4);

}  // namespace tsk::vm
