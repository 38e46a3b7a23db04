// Channel operations (see runtime/channel.hpp for the invariants).
#include "runtime/channel.hpp"

#include <algorithm>
#include <random>

#include "runtime/inline_vector.hpp"
#include "runtime/runtime.hpp"
#include "runtime/scheduler.hpp"
#include "vm/check.hpp"

namespace tsk::rt {

namespace {

// A claimed registration: its task, and the select case it stood for (-1: none).
struct Taken {
  Task* task;
  int case_index;
};

// Pops registrations until one whose wait can still be claimed; claims it. A stale one
// (its wait claimed elsewhere) is dropped on the way; its task then finds it gone.
[[gnu::noinline]] bool take_live_slow(WaitQueue& q, Taken& out) {
  while (!q.empty()) {
    Waiter* w = q.pop_front();
    Task* t = w->task;
    if (t->claim_current()) {
      t->registration_taken = true;
      out = Taken{t, t->case_of(w)};
      return true;
    }
  }
  return false;
}
// A buffered channel's queues are nearly always empty: the look at the queue is inline.
inline bool take_live(WaitQueue& q, Taken& out) { return !q.empty() && take_live_slow(q, out); }

// The message a claimed sender offered.
vm::Message take_offered(Taken& r) { return std::move(r.task->offered(r.case_index)); }

// Some registration in `q` can still be claimed.
bool has_live(const WaitQueue& q) {
  for (Waiter* w : q)
    if (w->task->wait_open()) return true;
  return false;
}

// Puts `task`'s node `w` in `q`; the registration holds a reference to `ch`.
void register_wait(Task& task, Channel& ch, WaitQueue& q, Waiter& w) {
  w.task = &task;
  q.push_back(&w);
  ch.retain();
}

}  // namespace

Channel::Channel(Runtime& rt, uint64_t channel_id, uint32_t cap, const vm::Proto* proto, uint32_t pc)
    : runtime(rt), id(channel_id), made_in(proto), capacity(cap), made_pc(pc), closed(0) {
  rt.channels_alive.fetch_add(1, std::memory_order_relaxed);
}

Channel::~Channel() { runtime.channels_alive.fetch_sub(1, std::memory_order_relaxed); }

std::string Channel::describe() const { return "<chan " + std::to_string(id) + ">"; }

Op channel_send_locked(Runtime& rt, Task& task, Channel& ch, vm::Message& m) {
  std::unique_lock g(ch.lock, std::adopt_lock);
  if (ch.closed) {
    g.unlock();
    task.vm.raise("ChannelClosedError", "send on a closed channel");
  }
  Taken r;
  if (take_live(ch.recvq, r)) {
    r.task->wake_value = std::move(m);
    r.task->wake_case = int16_t(r.case_index);
    g.unlock();
    rt.scheduler->wake(r.task);
    return Op::Done;
  }
  if (ch.buffer.size() < ch.capacity) {
    // take_live emptied recvq: a value is buffered only while no receiver waits.
    TSK_CHECK(ch.recvq.empty(), "a buffered channel never has both waiting receivers and buffered values");
    ch.buffer.push_back(std::move(m));
    return Op::Done;
  }
  if (task.vm.call_depth > 0 && !task.vm.in_fiber) {
    g.unlock();
    task.vm.raise("Error", "cannot wait inside a function called by a native (such as sort's less) yet");
  }
  TSK_CHECK(ch.buffer.size() == ch.capacity && ch.recvq.empty(),
            "a sender waits only on a full buffer with no receiver waiting");
  task.begin_wait(WaitInfo::on_channel(WaitInfo::Send, &ch));
  task.wake_value = std::move(m);
  register_wait(task, ch, ch.sendq, task.waiter);
  return Op::Parked;
}

Op channel_recv_locked(Runtime& rt, Task& task, Channel& ch, vm::Message& out, bool& closed) {
  std::unique_lock g(ch.lock, std::adopt_lock);
  closed = false;
  if (!ch.buffer.empty()) {
    out = std::move(ch.buffer.front());
    ch.buffer.pop_front();
    Taken r;
    if (take_live(ch.sendq, r)) {
      ch.buffer.push_back(take_offered(r));
      TSK_CHECK(ch.buffer.size() <= ch.capacity, "a channel buffers at most its capacity");
      r.task->wake_case = int16_t(r.case_index);
      g.unlock();
      rt.scheduler->wake(r.task);
    }
    return Op::Done;
  }
  Taken r;
  if (take_live(ch.sendq, r)) {
    out = take_offered(r);
    r.task->wake_case = int16_t(r.case_index);
    g.unlock();
    rt.scheduler->wake(r.task);
    return Op::Done;
  }
  if (ch.closed) {
    closed = true;
    out = vm::Message();
    return Op::Done;
  }
  if (task.vm.call_depth > 0 && !task.vm.in_fiber) {
    g.unlock();
    task.vm.raise("Error", "cannot wait inside a function called by a native (such as sort's less) yet");
  }
  TSK_CHECK(ch.buffer.empty() && ch.sendq.empty(),
            "a receiver waits only on an empty buffer with no sender waiting");
  task.begin_wait(WaitInfo::on_channel(WaitInfo::Receive, &ch));
  register_wait(task, ch, ch.recvq, task.waiter);
  return Op::Parked;
}

void channel_close(Runtime& rt, Task& task, Channel& ch) {
  std::vector<Task*> woken;
  {
    std::lock_guard g(ch.lock);
    if (ch.closed) {
      // raise after unlocking
    } else {
      ch.closed = true;
      Taken r;
      while (take_live(ch.recvq, r)) {
        r.task->wake_value = vm::Message();
        r.task->wake_closed = true;
        r.task->wake_case = int16_t(r.case_index);
        woken.push_back(r.task);
      }
      while (take_live(ch.sendq, r)) {
        r.task->wake_error = WakeError::ChannelClosed;
        woken.push_back(r.task);
      }
      goto wake;
    }
  }
  task.vm.raise("ChannelClosedError", "close of a closed channel");
wake:
  for (Task* t : woken) rt.scheduler->wake(t);
}

Op channel_select(Runtime& rt, Task& task, SelectCase* cases, size_t ncases, bool has_default, int& chosen,
                  vm::Message& out, bool& closed) {
  // Lock every distinct channel in address order (Go's lock order), so two selects over
  // the same channels can never deadlock each other. A few cases need no allocation.
  InlineVector<Channel*, 8> order;
  order.reserve(ncases);
  for (size_t i = 0; i < ncases; i++)
    if (cases[i].chan) order.push_back(cases[i].chan);
  std::sort(order.begin(), order.end());
  order.truncate(size_t(std::unique(order.begin(), order.end()) - order.begin()));
  for (Channel* ch : order) ch->lock.lock();
  auto unlock_all = [&] {
    for (size_t i = order.size(); i-- > 0;) order[i]->lock.unlock();
  };

  // Ready cases: a receive with a buffered value, a waiting sender or a closed channel;
  // a send with a waiting receiver or buffer room, or a closed channel (which raises).
  InlineVector<int, 8> ready;
  ready.reserve(ncases);
  for (int i = 0; i < int(ncases); i++) {
    Channel* ch = cases[size_t(i)].chan;
    if (!ch) continue;
    bool ok = cases[size_t(i)].is_send
                  ? (ch->closed || ch->buffer.size() < ch->capacity || has_live(ch->recvq))
                  : (!ch->buffer.empty() || ch->closed || has_live(ch->sendq));
    if (ok) ready.push_back(i);
  }
  closed = false;
  // A waiter that looked live may be claimed meanwhile by a cancel (which takes no
  // channel lock): then that case was not ready after all, and another is tried.
  while (!ready.empty()) {
    size_t at = task.random_below(ready.size());
    int pick = ready[at];
    SelectCase& c = cases[size_t(pick)];
    Channel& ch = *c.chan;
    Task* woken = nullptr;
    Taken r;
    if (c.is_send) {
      if (ch.closed) {
        unlock_all();
        task.vm.raise("ChannelClosedError", "send on a closed channel");
      }
      if (take_live(ch.recvq, r)) {
        r.task->wake_value = vm::pack(c.value);
        r.task->wake_case = int16_t(r.case_index);
        woken = r.task;
      } else if (ch.buffer.size() < ch.capacity) {
        TSK_CHECK(ch.recvq.empty(), "a buffered channel never has both waiting receivers and buffered values");
        ch.buffer.push_back(vm::pack(c.value));
      } else {
        ready.erase_at(at);
        continue;
      }
    } else if (!ch.buffer.empty()) {
      out = std::move(ch.buffer.front());
      ch.buffer.pop_front();
      if (take_live(ch.sendq, r)) {
        ch.buffer.push_back(take_offered(r));
        TSK_CHECK(ch.buffer.size() <= ch.capacity, "a channel buffers at most its capacity");
        r.task->wake_case = int16_t(r.case_index);
        woken = r.task;
      }
    } else if (take_live(ch.sendq, r)) {
      out = take_offered(r);
      r.task->wake_case = int16_t(r.case_index);
      woken = r.task;
    } else if (ch.closed) {
      closed = true;
      out = vm::Message();
    } else {
      ready.erase_at(at);
      continue;
    }
    chosen = pick;
    unlock_all();
    if (woken) rt.scheduler->wake(woken);
    return Op::Done;
  }
  if (has_default) {
    unlock_all();
    chosen = -1;
    out = vm::Message();
    return Op::Done;
  }
  if (task.vm.call_depth > 0 && !task.vm.in_fiber) {
    unlock_all();
    task.vm.raise("Error", "cannot wait inside a function called by a native (such as sort's less) yet");
  }
  task.begin_wait(WaitInfo::on(WaitInfo::Select));
  // Every node of the task's previous select has left its queue (channel_forget), so
  // the cases may move.
  if (!task.select) task.select = std::make_unique<SelectWait>();
  SelectWait& wait = *task.select;
  if (wait.cases.size() < ncases) wait.cases.resize(ncases);
  for (int i = 0; i < int(ncases); i++) {
    SelectCase& c = cases[size_t(i)];
    if (!c.chan) continue;
    SelectWait::Case& node = wait.cases[size_t(i)];
    node.chan = c.chan;
    node.is_send = c.is_send;
    if (c.is_send) {
      node.offered = vm::pack(c.value);
      register_wait(task, *c.chan, c.chan->sendq, node);
    } else {
      register_wait(task, *c.chan, c.chan->recvq, node);
    }
  }
  wait.registered = true;
  unlock_all();
  return Op::Parked;
}

void channel_offer(Runtime& rt, Channel& ch, vm::Message m) {
  Task* woken = nullptr;
  {
    std::lock_guard g(ch.lock);
    if (ch.closed) return;
    Taken r;
    if (take_live(ch.recvq, r)) {
      r.task->wake_value = std::move(m);
      r.task->wake_case = int16_t(r.case_index);
      woken = r.task;
    } else if (ch.buffer.size() < ch.capacity) {
      TSK_CHECK(ch.recvq.empty(), "a buffered channel never has both waiting receivers and buffered values");
      ch.buffer.push_back(std::move(m));
    }
  }
  if (woken) rt.scheduler->wake(woken);
}

bool receiver_may_wait(Channel& ch) {
  if (!ch.lock.try_lock()) return true;
  bool waiting = has_live(ch.recvq);
  ch.lock.unlock();
  return waiting;
}

void channel_forget(Task& task) {
  if (task.waiter.task) {
    Channel* ch = task.waiting.chan;
    // The channel that completed a send or receive has already popped the node.
    if (!task.registration_taken) {
      std::lock_guard g(ch->lock);
      WaitQueue& q = task.waiting.kind == WaitInfo::Send ? ch->sendq : ch->recvq;
      if (q.holds(&task.waiter)) q.remove(&task.waiter);
    }
    task.waiter.task = nullptr;
    ch->release();
  }
  if (task.select && task.select->registered) {
    for (SelectWait::Case& c : task.select->cases) {
      if (!c.chan) continue;
      {
        std::lock_guard g(c.chan->lock);
        WaitQueue& q = c.is_send ? c.chan->sendq : c.chan->recvq;
        if (q.holds(&c)) q.remove(&c);
      }
      c.task = nullptr;
      c.offered = vm::Message();  // a case not taken
      std::exchange(c.chan, nullptr)->release();
    }
    task.select->registered = false;
  }
}

}  // namespace tsk::rt
