// A first-in first-out queue: a ring in one block, reached through one pointer. An empty
// queue that never held anything costs 8 bytes and no allocation, and a program may hold
// a channel (three queues) per parked task. Push and pop are amortised O(1); the ring
// doubles when full and is freed when a large one drains, so a burst does not pin memory.
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

  bool empty() const { return !ring_ || ring_->count == 0; }
  size_t size() const { return ring_ ? ring_->count : 0; }
  T& front() { return at(0); }
  // The i-th item from the front.
  T& at(size_t i) { return ring_->items()[(ring_->head + i) & (ring_->capacity - 1)]; }

  void push_back(T&& v) {
    if (!ring_ || ring_->count == ring_->capacity) grow();
    new (&at(ring_->count)) T(std::move(v));
    ring_->count++;
  }

  void pop_front() {
    front().~T();
    ring_->head = (ring_->head + 1) & (ring_->capacity - 1);
    if (--ring_->count == 0) {
      ring_->head = 0;
      if (ring_->capacity > kKeptWhenEmpty) release();
    }
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
    if (ring_) ring_->count = uint32_t(kept);
    if (kept == 0 && ring_) {
      ring_->head = 0;
      if (ring_->capacity > kKeptWhenEmpty) release();
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
  static constexpr uint32_t kKeptWhenEmpty = 4;  // a drained ring this small stays for reuse
  static constexpr size_t kHeader = 16;            // the Ring, padded so items stay aligned

  struct Ring {
    uint32_t head;
    uint32_t count;
    uint32_t capacity;  // a power of two
    T* items() { return reinterpret_cast<T*>(reinterpret_cast<char*>(this) + kHeader); }
  };

  void grow() {
    uint32_t capacity = ring_ ? ring_->capacity * 2 : 1;
    Ring* bigger = new_ring(capacity);
    if (ring_) {
      for (uint32_t i = 0; i < ring_->count; i++) {
        T& item = at(i);
        new (&bigger->items()[i]) T(std::move(item));
        item.~T();
      }
      bigger->count = ring_->count;
      ::operator delete(ring_);
    }
    ring_ = bigger;
  }

  static Ring* new_ring(uint32_t capacity) {
    static_assert(alignof(T) <= 16);
    void* block = ::operator new(kHeader + sizeof(T) * capacity);
    return new (block) Ring{0, 0, capacity};
  }

  void release() {
    if (!ring_) return;
    for (uint32_t i = 0; i < ring_->count; i++) at(i).~T();
    ::operator delete(ring_);
    ring_ = nullptr;
  }

  Ring* ring_ = nullptr;
};

}  // namespace tsk::rt
