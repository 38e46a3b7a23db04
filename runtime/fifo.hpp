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

  bool empty() const { return count() == 0; }
  size_t size() const { return count(); }
  T& front() { return at(0); }
  // The i-th item from the front.
  T& at(size_t i) { return items_[(head() + i) & mask()]; }

  void push_back(T&& v) {
    if (count() == capacity()) grow();
    new (&at(count())) T(std::move(v));
    bits_ += kOneItem;
  }

  void pop_front() {
    front().~T();
    // One read and one write of the packed word: head + 1 (wrapping), count - 1.
    uint64_t b = bits_;
    uint64_t head = ((b & kHeadMask) + 1) & mask();
    b = ((b & ~kHeadMask) | head) - kOneItem;
    bits_ = b;
    if (((b >> kHeadBits) & kCountMask) == 0) drained();
  }

  // Removes, in order, every item for which pred(item) is true.
  template <class Pred>
  void erase_if(Pred pred) {
    size_t n = count(), kept = 0;
    for (size_t i = 0; i < n; i++) {
      T& item = at(i);
      if (pred(item)) continue;
      if (kept != i) at(kept) = std::move(item);
      kept++;
    }
    for (size_t i = kept; i < n; i++) at(i).~T();
    set_count(kept);
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

  // head (kHeadBits), count (kCountBits) and log2 of the capacity (5 bits), packed in
  // one word read and written whole: as bit-fields, a pop stored the head's half of the
  // word and at once loaded the whole word back for the count, a store-to-load
  // forwarding stall (12% of fanout's time at one worker).
  static constexpr unsigned kHeadBits = 29, kCountBits = 30, kLog2Shift = kHeadBits + kCountBits;
  static constexpr uint64_t kHeadMask = (uint64_t(1) << kHeadBits) - 1;
  static constexpr uint64_t kCountMask = (uint64_t(1) << kCountBits) - 1;
  static constexpr uint64_t kOneItem = uint64_t(1) << kHeadBits;
  size_t head() const { return size_t(bits_ & kHeadMask); }
  size_t count() const { return size_t((bits_ >> kHeadBits) & kCountMask); }
  size_t log2_capacity() const { return size_t(bits_ >> kLog2Shift); }
  void set_head(size_t h) { bits_ = (bits_ & ~kHeadMask) | uint64_t(h); }
  void set_count(size_t n) { bits_ = (bits_ & ~(kCountMask << kHeadBits)) | (uint64_t(n) << kHeadBits); }

  size_t capacity() const { return items_ ? size_t(1) << log2_capacity() : 0; }
  size_t mask() const { return capacity() - 1; }

  void drained() {
    set_head(0);
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
    for (size_t i = 0; i < count(); i++) {
      T& item = at(i);
      new (&bigger[i]) T(std::move(item));
      item.~T();
    }
    ::operator delete(items_);
    items_ = bigger;
    uint64_t lg = 0;
    while ((size_t(1) << lg) < capacity) lg++;
    bits_ = (lg << kLog2Shift) | (uint64_t(count()) << kHeadBits);  // head 0
  }

  void release() {
    for (size_t i = 0; i < count(); i++) at(i).~T();
    ::operator delete(items_);
    items_ = nullptr;
    bits_ = 0;
  }

  T* items_ = nullptr;
  uint64_t bits_ = 0;
};

}  // namespace tsk::rt
