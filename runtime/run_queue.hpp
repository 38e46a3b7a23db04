// A worker's local run queue (DESIGN decision 5): a bounded lock-free ring of kSlots
// items after Go's runq and Tokio's local queue. One thread owns it and is the only one
// to push; the owner pops from the head and other threads steal half of it from the head,
// both by a compare-and-swap on `head_`. A full ring hands half of its items (and the new
// one) back to the caller, who moves them to the global queue.
//
// Why it is sound: the owner writes slot `tail % kSlots` only while `tail - head < kSlots`
// for a head it loaded with acquire, so the slot is free of every reader that has
// published its CAS; a stealer copies its slots *before* its CAS, and a copy that raced
// the owner's reuse of a slot fails that CAS (head moved on) and is thrown away. The
// slots are atomics (relaxed) so such a discarded read is no data race either. The tail's
// release store publishes a slot to stealers; the head's acq_rel CAS orders a thief's
// copy before the owner's next write into the slots it freed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tsk::rt {

template <class T>
class RunQueue {
 public:
  // A task runs 1024 ticks between preemption checks (vm::TaskState::kTickQuantum) and
  // may wake a task at each: the ring holds such a burst. With Go's 256 slots the burst
  // overflowed to the global queue and each task ran long after its wake, out of the
  // cache (bench select_fanin: 35% more CPU time than with 1024 slots).
    static constexpr uint32_t kSlots = 1024;

  RunQueue() {
    for (auto& s : slots_) s.store(nullptr, std::memory_order_relaxed);
  }
  RunQueue(const RunQueue&) = delete;
  RunQueue& operator=(const RunQueue&) = delete;

  // Owner only. Appends `item`; on a full ring returns false, leaving the ring as it was
  // (the caller then calls take_half_for_overflow).
  bool push(T* item) {
    uint32_t h = head_.load(std::memory_order_acquire);
    uint32_t t = tail_.load(std::memory_order_relaxed);
    if (t - h >= kSlots) return false;
    slots_[t % kSlots].store(item, std::memory_order_relaxed);
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  // Owner only, on a full ring: takes the older half of its items into `out` (room for
  // kSlots / 2), returning how many; 0 when thieves emptied it meanwhile (push again).
  uint32_t take_half_for_overflow(T** out) {
    for (;;) {
      uint32_t h = head_.load(std::memory_order_acquire);
      uint32_t t = tail_.load(std::memory_order_relaxed);
      uint32_t n = (t - h) / 2;
      if (n < kSlots / 2) return 0;  // no longer full: thieves took some
      n = kSlots / 2;
      for (uint32_t i = 0; i < n; i++) out[i] = slots_[(h + i) % kSlots].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + n, std::memory_order_acq_rel, std::memory_order_relaxed)) return n;
    }
  }

  // Owner only: the oldest item, or null.
  T* pop() {
    uint32_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      uint32_t t = tail_.load(std::memory_order_relaxed);
      if (t == h) return nullptr;
      T* item = slots_[h % kSlots].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return item;
    }
  }

  // Called by the owner of `dst` (an empty ring): moves half of this ring's items (rounded
  // up) into `dst` and returns one of them, or null when there was nothing to take.
  T* steal_into(RunQueue& dst) {
    uint32_t dt = dst.tail_.load(std::memory_order_relaxed);
    uint32_t n;
    for (;;) {
      uint32_t h = head_.load(std::memory_order_acquire);
      uint32_t t = tail_.load(std::memory_order_acquire);
      n = t - h;
      n -= n / 2;
      if (n == 0) return nullptr;
      if (n > kSlots / 2) continue;  // read head and tail at different moments: again
      for (uint32_t i = 0; i < n; i++)
        dst.slots_[(dt + i) % kSlots].store(slots_[(h + i) % kSlots].load(std::memory_order_relaxed),
                                            std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + n, std::memory_order_acq_rel, std::memory_order_relaxed)) break;
    }
    n--;
    T* item = dst.slots_[(dt + n) % kSlots].load(std::memory_order_relaxed);
    if (n > 0) dst.tail_.store(dt + n, std::memory_order_release);
    return item;
  }

  // A look from any thread: the ring held something at some moment of the call.
  bool empty() const {
    uint32_t h = head_.load(std::memory_order_acquire);
    return tail_.load(std::memory_order_acquire) == h;
  }
  // A look from any thread: how many items have left the ring so far (taken by its
  // owner or by thieves). It moves while the owner works through the ring.
  uint32_t taken() const { return head_.load(std::memory_order_acquire); }
  uint32_t size() const {
    uint32_t h = head_.load(std::memory_order_acquire);
    uint32_t t = tail_.load(std::memory_order_acquire);
    return t - h;
  }

 private:
  alignas(64) std::atomic<uint32_t> head_{0};  // written by the owner and by thieves
  alignas(64) std::atomic<uint32_t> tail_{0};  // written by the owner only
  std::atomic<T*> slots_[kSlots];
};

}  // namespace tsk::rt
