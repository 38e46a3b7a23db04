// A first-in first-out queue in 16 bytes: a ring of items in one block, with the ring's
// head, length and size (as a power of two) packed beside the pointer. A program may
// hold a channel (three queues) per parked task, so an unused queue costs no allocation.
// Everything a channel checks on each operation ("is a receiver waiting?", "is the buffer
// full?") is in the queue itself, on the channel's own cache line: under contention,
// reading a header kept in the ring's block moved another line between cores.
// Push and pop are amortised O(1); the ring doubles when full, and a drained ring larger
// than kKeptWhenEmpty is freed, so a burst does not pin memory. std::deque was rejected
// (about 600 bytes up front per queue), and so was a vector with a head index (32 bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

namespace tsk::rt {

template <class T>
class Fifo {
 public:
  // The most items a queue holds (the ring's head needs kHeadBits).
  static constexpr size_t kMaxItems = size_t(1) << 29;

  Fifo() = default;
  Fifo(const Fifo&) = delete;
  Fifo& operator=(const Fifo&) = delete;
  ~Fifo() { release(); }

  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  T& front() { return at(0); }
  // The i-th item from the front.
  T& at(size_t i) { return items_[(head_ + i) & mask()]; }

  void push_back(T&& v) {
    if (count_ == capacity()) grow();
    new (&at(count_)) T(std::move(v));
    count_++;
  }

  void pop_front() {
    front().~T();
    head_ = (head_ + 1) & mask();
    if (--count_ == 0) drained();
  }

  // Removes, in order, every item for which pred(item) is true.
  template <class Pred>
  void erase_if(Pred pred) {
    size_t n = count_, kept = 0;
    for (size_t i = 0; i < n; i++) {
      T& item = at(i);
      if (pred(item)) continue;
      if (kept != i) at(kept) = std::move(item);
      kept++;
    }
    for (size_t i = kept; i < n; i++) at(i).~T();
    count_ = uint64_t(kept);
    if (n > 0 && kept == 0) drained();
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

  size_t capacity() const { return items_ ? size_t(1) << log2_capacity_ : 0; }
  size_t mask() const { return capacity() - 1; }

  void drained() {
    head_ = 0;
    if (capacity() > kKeptWhenEmpty) release();
  }

  void grow() {
    size_t capacity = items_ ? this->capacity() * 2 : 1;
    if (capacity > kMaxItems) {
      // Unreachable from script code: chan() caps capacities, and that many waiting
      // tasks would not fit in memory.
      std::abort();
    }
    T* bigger = static_cast<T*>(::operator new(sizeof(T) * capacity));
    for (size_t i = 0; i < count_; i++) {
      T& item = at(i);
      new (&bigger[i]) T(std::move(item));
      item.~T();
    }
    ::operator delete(items_);
    items_ = bigger;
    head_ = 0;
    uint64_t lg = 0;
    while ((size_t(1) << lg) < capacity) lg++;
    log2_capacity_ = lg;
  }

  void release() {
    for (size_t i = 0; i < count_; i++) at(i).~T();
    ::operator delete(items_);
    items_ = nullptr;
    head_ = count_ = log2_capacity_ = 0;
  }

  T* items_ = nullptr;
  uint64_t head_ : 29 = 0;
  uint64_t count_ : 30 = 0;
  uint64_t log2_capacity_ : 5 = 0;
};

}  // namespace tsk::rt
