// A growable array of plain items in 16 bytes (pointer, 32-bit size and
// capacity) instead of std::vector's 24: a task holds four of these (registers, frames,
// handlers, roots), and a parked task's size is part of what tsk promises. It supports
// what vm::TaskState uses of std::vector and nothing more. Items must need no destructor.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <utility>

namespace tsk::vm {

template <class T>
class SmallVector {
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  SmallVector() = default;
  SmallVector(const SmallVector&) = delete;
  SmallVector& operator=(const SmallVector&) = delete;
  ~SmallVector() { std::free(items_); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* data() { return items_; }
  T& operator[](size_t i) { return items_[i]; }
  const T& operator[](size_t i) const { return items_[i]; }
  T& back() { return items_[size_ - 1]; }
  const T& back() const { return items_[size_ - 1]; }
  T* begin() { return items_; }
  T* end() { return items_ + size_; }
  const T* begin() const { return items_; }
  const T* end() const { return items_ + size_; }

  void push_back(const T& v) {
    if (size_ == capacity_) reserve(capacity_ ? size_t(capacity_) * 2 : 1);
    items_[size_++] = v;
  }
  void pop_back() { size_--; }
  void clear() { size_ = 0; }
  size_t capacity() const { return capacity_; }
  // Trades contents and memory with `other` (a pool of task stacks keeps them).
  void swap(SmallVector& other) noexcept {
    std::swap(items_, other.items_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }
  // Empties it and gives its memory back.
  void release() {
    std::free(items_);
    items_ = nullptr;
    size_ = capacity_ = 0;
  }
  // Grows or shrinks to n items; new ones are T().
  void resize(size_t n) {
    if (n > capacity_) reserve(n);
    for (size_t i = size_; i < n; i++) new (&items_[i]) T();
    size_ = uint32_t(n);
  }

 private:
  void reserve(size_t n) {
    T* grown = static_cast<T*>(std::malloc(n * sizeof(T)));
    if (!grown) throw std::bad_alloc();
    for (size_t i = 0; i < size_; i++) new (&grown[i]) T(items_[i]);
    std::free(items_);
    items_ = grown;
    capacity_ = uint32_t(n);
  }

  T* items_ = nullptr;
  uint32_t size_ = 0;
  uint32_t capacity_ = 0;
};

}  // namespace tsk::vm
