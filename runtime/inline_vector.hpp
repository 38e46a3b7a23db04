// A growable array of plain items (no destructor) that keeps its first N in place (on the
// stack of the function using it) and goes to the heap only beyond them: a select over
// a few cases, or a spawn with a few arguments, allocates nothing.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>

namespace tsk::rt {

template <class T, size_t N>
class InlineVector {
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  InlineVector() = default;
  InlineVector(const InlineVector&) = delete;
  InlineVector& operator=(const InlineVector&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* data() { return items_; }
  T* begin() { return items_; }
  T* end() { return items_ + size_; }
  T& operator[](size_t i) { return items_[i]; }
  T& back() { return items_[size_ - 1]; }

  void reserve(size_t n) {
    if (n <= capacity_) return;
    std::unique_ptr<unsigned char[]> grown(new unsigned char[n * sizeof(T)]);
    T* to = reinterpret_cast<T*>(grown.get());
    for (size_t i = 0; i < size_; i++) new (&to[i]) T(items_[i]);
    heap_ = std::move(grown);
    items_ = to;
    capacity_ = n;
  }
  void push_back(const T& v) {
    if (size_ == capacity_) reserve(capacity_ * 2);
    new (&items_[size_++]) T(v);
  }
  // Removes the item at `i`, keeping the order of the others.
  void erase_at(size_t i) {
    for (size_t k = i + 1; k < size_; k++) items_[k - 1] = items_[k];
    size_--;
  }
  // Keeps the first n items.
  void truncate(size_t n) { size_ = n; }

 private:
  alignas(T) unsigned char inline_[N * sizeof(T)];
  std::unique_ptr<unsigned char[]> heap_;
  T* items_ = reinterpret_cast<T*>(inline_);
  size_t size_ = 0;
  size_t capacity_ = N;
};

}  // namespace tsk::rt
