// A first-in first-out queue: a ring in one block, reached through one pointer. An empty
// queue that never held anything costs 8 bytes and no allocation, and a program may hold
// a channel (three queues) per parked task. Push and pop are amortised O(1); the ring
// doubles when full and is freed when a large one drains, so a burst does not pin memory.
// The pointer's low bit says whether the queue holds anything, so the checks a channel
// makes on every operation ("is a receiver waiting?") read no memory but the channel's:
// under contention, reading the ring's header moved another cache line between cores.
// std::deque was rejected (about 600 bytes up front per queue), and so was a vector with
// a head index (32 bytes per queue even when empty).
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

namespace tsk::rt {

template <class T>
class Fifo {
 public:
  Fifo() = default;
  Fifo(const Fifo&) = delete;
  Fifo& operator=(const Fifo&) = delete;
  ~Fifo() { release(); }

  bool empty() const { return !(bits_ & kNonEmpty); }
  size_t size() const { return empty() ? 0 : ring()->count; }
  T& front() { return at(0); }
  // The i-th item from the front.
  T& at(size_t i) {
    Ring* r = ring();
    return r->items()[(r->head + i) & (r->capacity - 1)];
  }

  void push_back(T&& v) {
    if (!ring() || ring()->count == ring()->capacity) grow();
    new (&at(ring()->count)) T(std::move(v));
    ring()->count++;
    bits_ |= kNonEmpty;
  }

  void pop_front() {
    front().~T();
    Ring* r = ring();
    r->head = (r->head + 1) & (r->capacity - 1);
    if (--r->count == 0) drained();
  }

  // Removes, in order, every item for which pred(item) is true.
  template <class Pred>
  void erase_if(Pred pred) {
    size_t n = size(), kept = 0;
    for (size_t i = 0; i < n; i++) {
      T& item = at(i);
      if (pred(item)) continue;
      if (kept != i) at(kept) = std::move(item);
      kept++;
    }
    for (size_t i = kept; i < n; i++) at(i).~T();
    if (n > 0) {
      ring()->count = uint32_t(kept);
      if (kept == 0) drained();
    }
  }

  // Iteration from the front, for scans that do not remove.
  class iterator {
   public:
    iterator(Fifo* q, size_t i) : q_(q), i_(i) {}
    T& operator*() const { return q_->at(i_); }
    iterator& operator++() {
      i_++;
      return *this;
    }
    bool operator!=(const iterator& o) const { return i_ != o.i_; }

   private:
    Fifo* q_;
    size_t i_;
  };
  iterator begin() { return iterator(this, 0); }
  iterator end() { return iterator(this, size()); }

 private:
  static constexpr uint32_t kKeptWhenEmpty = 256;  // a drained ring this small stays for reuse
  static constexpr size_t kHeader = 16;            // the Ring, padded so items stay aligned

  struct Ring {
    uint32_t head;
    uint32_t count;
    uint32_t capacity;  // a power of two
    T* items() { return reinterpret_cast<T*>(reinterpret_cast<char*>(this) + kHeader); }
  };

  static constexpr uintptr_t kNonEmpty = 1;  // rings are 16-byte aligned: the bit is free
  Ring* ring() const { return reinterpret_cast<Ring*>(bits_ & ~kNonEmpty); }

  void drained() {
    ring()->head = 0;
    bits_ &= ~kNonEmpty;
    if (ring()->capacity > kKeptWhenEmpty) release();
  }

  void grow() {
    Ring* old = ring();
    uint32_t capacity = old ? old->capacity * 2 : 1;
    Ring* bigger = new_ring(capacity);
    if (old) {
      for (uint32_t i = 0; i < old->count; i++) {
        T& item = at(i);
        new (&bigger->items()[i]) T(std::move(item));
        item.~T();
      }
      bigger->count = old->count;
      ::operator delete(old);
    }
    bits_ = reinterpret_cast<uintptr_t>(bigger) | (bits_ & kNonEmpty);
  }

  static Ring* new_ring(uint32_t capacity) {
    static_assert(alignof(T) <= 16);
    void* block = ::operator new(kHeader + sizeof(T) * capacity);
    return new (block) Ring{0, 0, capacity};
  }

  void release() {
    Ring* r = ring();
    if (!r) return;
    for (uint32_t i = 0; i < r->count; i++) at(i).~T();
    ::operator delete(r);
    bits_ = 0;
  }

  uintptr_t bits_ = 0;  // the Ring's address | kNonEmpty
};

}  // namespace tsk::rt
