// A first-in first-out queue on one vector and a head index: no allocation until the
// first push (a channel nobody waits on costs three empty vectors), amortised O(1)
// push and pop, and contiguous iteration. std::deque was rejected: it allocates about
// 600 bytes up front, per queue, and a program may hold a channel per parked task.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace tsk::rt {

template <class T>
class Fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  T& front() { return items_[head_]; }
  void push_back(T&& v) { items_.push_back(std::move(v)); }
  void pop_front() {
    items_[head_] = T();
    if (++head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    } else if (head_ >= 32 && head_ * 2 >= items_.size()) {
      // Half the vector is consumed slots: slide the rest down once.
      items_.erase(items_.begin(), items_.begin() + std::ptrdiff_t(head_));
      head_ = 0;
    }
  }
  auto begin() { return items_.begin() + std::ptrdiff_t(head_); }
  auto end() { return items_.end(); }
  template <class Pred>
  void erase_if(Pred pred) {
    items_.erase(std::remove_if(begin(), end(), pred), items_.end());
    if (empty()) {
      items_.clear();
      head_ = 0;
    }
  }

 private:
  std::vector<T> items_;
  size_t head_ = 0;
};

}  // namespace tsk::rt
