// The queues of tasks waiting on a channel (its senders, its receivers): intrusive
// doubly-linked lists of Waiter nodes that the waiting tasks own (Go's sudog). A task
// waiting on one channel uses the node inside its rt::Task; a select uses one node per
// case, kept in the task's SelectWait. So joining a queue allocates nothing, and leaving
// one — a select completed by one channel leaves all the others — is O(1), whatever the
// length of the queue: no scan of the other waiters.
//
// Invariants (under the owning channel's lock):
//  - A node is in at most one queue; its `prev` is null exactly when it is the head or
//    in no queue, so `holds` needs only the queue it was pushed to.
//  - Nodes leave in FIFO order through pop_front, or from anywhere through remove.
// The checked builds (vm/check.hpp) verify the first one on every push and removal.
// The queue is 16 bytes (head and tail), like the ring it replaced, so a Channel still
// fits its 96-byte size class.
#pragma once

#include <cstddef>

#include "vm/check.hpp"

namespace tsk::rt {

class Task;
class WaitQueue;

// A task's place in a wait queue.
struct Waiter {
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  Task* task = nullptr;  // set while the node is registered (pushed and not yet forgotten)
#ifndef NDEBUG
  // The queue holding the node, for the checks only (vm/check.hpp): a node that is the
  // only one of its queue has no links to tell where it is.
  const WaitQueue* queue = nullptr;
#endif
};

class WaitQueue {
 public:
  bool empty() const { return head_ == nullptr; }
  Waiter* front() const { return head_; }

  void push_back(Waiter* w) {
#ifndef NDEBUG
    TSK_CHECK(w->queue == nullptr, "a wait queue node is in at most one queue");
    w->queue = this;
#endif
    w->prev = tail_;
    w->next = nullptr;
    if (tail_) tail_->next = w;
    else head_ = w;
    tail_ = w;
  }

  // Removes and returns the first node (the queue must not be empty).
  Waiter* pop_front() {
    Waiter* w = head_;
    remove(w);
    return w;
  }

  // Removes `w`, which this queue holds.
  void remove(Waiter* w) {
#ifndef NDEBUG
    TSK_CHECK(w->queue == this, "a node leaves only the wait queue that holds it");
    w->queue = nullptr;
#endif
    if (w->prev) w->prev->next = w->next;
    else head_ = w->next;
    if (w->next) w->next->prev = w->prev;
    else tail_ = w->prev;
    w->prev = w->next = nullptr;
  }

  // Whether `w`, once pushed here, is still here (it may have been popped since).
  bool holds(const Waiter* w) const {
    bool here = w->prev != nullptr || head_ == w;
#ifndef NDEBUG
    TSK_CHECK(here == (w->queue == this), "a node asked about is in this queue or in none");
#endif
    return here;
  }

  // The number of nodes: a walk, for tests and reports only.
  size_t size() const {
    size_t n = 0;
    for (Waiter* w = head_; w; w = w->next) n++;
    return n;
  }

  // Iteration from the front, for scans that do not remove.
  class iterator {
   public:
    explicit iterator(Waiter* w) : w_(w) {}
    Waiter* operator*() const { return w_; }
    iterator& operator++() {
      w_ = w_->next;
      return *this;
    }
    bool operator!=(const iterator& o) const { return w_ != o.w_; }

   private:
    Waiter* w_;
  };
  iterator begin() const { return iterator(head_); }
  iterator end() const { return iterator(nullptr); }

 private:
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
};

}  // namespace tsk::rt
