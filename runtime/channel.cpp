// Channel operations (see runtime/channel.hpp for the invariants).
#include "runtime/channel.hpp"

#include <algorithm>
#include <random>

#include "runtime/runtime.hpp"
#include "runtime/scheduler.hpp"

namespace tsk::rt {

namespace {

// Pops registrations until one whose wait can still be claimed; claims it.
bool take_live(Fifo<Registration>& q, Registration& out) {
  while (!q.empty()) {
    Registration r = q.front();
    q.pop_front();
    if (r.task->claim(r.gen)) {
      r.task->woken_by_channel = true;
      out = r;
      return true;
    }
  }
  return false;
}

// The message a claimed sender offered.
vm::Message take_offered(Registration& r) { return std::move(r.task->offered(r.case_index)); }

void register_wait(Task& task, Channel& ch, Fifo<Registration>& q, uint64_t gen, int case_index) {
  q.push_back(Registration{&task, gen, case_index});
  if (!task.wait_channels.contains(&ch)) {
    ch.retain();
    task.wait_channels.add(&ch);
  }
}

}  // namespace

Channel::Channel(Runtime& rt, uint64_t channel_id, uint32_t cap, const vm::Proto* proto, uint32_t pc)
    : runtime(rt), id(channel_id), made_in(proto), capacity(cap), made_pc(pc), closed(0) {
  rt.channels_alive.fetch_add(1, std::memory_order_relaxed);
}

Channel::~Channel() { runtime.channels_alive.fetch_sub(1, std::memory_order_relaxed); }

std::string Channel::describe() const { return "<chan " + std::to_string(id) + ">"; }

Op channel_send(Runtime& rt, Task& task, Channel& ch, vm::Message& m) {
  std::unique_lock g(ch.lock);
  if (ch.closed) {
    g.unlock();
    task.vm.raise("ChannelClosedError", "send on a closed channel");
  }
  Registration r;
  if (take_live(ch.recvq, r)) {
    r.task->wake_value = std::move(m);
    r.task->wake_case = r.case_index;
    g.unlock();
    rt.scheduler->wake(r.task);
    return Op::Done;
  }
  if (ch.buffer.size() < ch.capacity) {
    ch.buffer.push_back(std::move(m));
    return Op::Done;
  }
  if (task.vm.call_depth > 0 && !task.vm.in_fiber) {
    g.unlock();
    task.vm.raise("Error", "cannot wait inside a function called by a native (such as sort's less) yet");
  }
  uint64_t gen = task.begin_wait(WaitInfo::on_channel(WaitInfo::Send, &ch));
  task.wake_value = std::move(m);
  register_wait(task, ch, ch.sendq, gen, -1);
  return Op::Parked;
}

Op channel_recv(Runtime& rt, Task& task, Channel& ch, vm::Message& out, bool& closed) {
  std::unique_lock g(ch.lock);
  closed = false;
  if (!ch.buffer.empty()) {
    out = std::move(ch.buffer.front());
    ch.buffer.pop_front();
    Registration r;
    if (take_live(ch.sendq, r)) {
      ch.buffer.push_back(take_offered(r));
      r.task->wake_case = r.case_index;
      g.unlock();
      rt.scheduler->wake(r.task);
    }
    return Op::Done;
  }
  Registration r;
  if (take_live(ch.sendq, r)) {
    out = take_offered(r);
    r.task->wake_case = r.case_index;
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
  uint64_t gen = task.begin_wait(WaitInfo::on_channel(WaitInfo::Receive, &ch));
  register_wait(task, ch, ch.recvq, gen, -1);
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
      Registration r;
      while (take_live(ch.recvq, r)) {
        r.task->wake_value = vm::Message();
        r.task->wake_closed = true;
        r.task->wake_case = r.case_index;
        woken.push_back(r.task);
      }
      while (take_live(ch.sendq, r)) {
        static constexpr WakeError kClosed{"ChannelClosedError", "the channel was closed while sending"};
        r.task->wake_error = &kClosed;
        woken.push_back(r.task);
      }
      goto wake;
    }
  }
  task.vm.raise("ChannelClosedError", "close of a closed channel");
wake:
  for (Task* t : woken) rt.scheduler->wake(t);
}

Op channel_select(Runtime& rt, Task& task, std::vector<SelectCase>& cases, bool has_default, int& chosen,
                  vm::Message& out, bool& closed) {
  // Lock every distinct channel in address order (Go's lock order), so two selects over
  // the same channels can never deadlock each other.
  std::vector<Channel*> order;
  for (auto& c : cases)
    if (c.chan) order.push_back(c.chan);
  std::sort(order.begin(), order.end());
  order.erase(std::unique(order.begin(), order.end()), order.end());
  for (Channel* ch : order) ch->lock.lock();
  auto unlock_all = [&] {
    for (auto it = order.rbegin(); it != order.rend(); ++it) (*it)->lock.unlock();
  };

  // Ready cases: a receive with a buffered value, a waiting sender or a closed channel;
  // a send with a waiting receiver or buffer room, or a closed channel (which raises).
  std::vector<int> ready;
  for (int i = 0; i < int(cases.size()); i++) {
    Channel* ch = cases[size_t(i)].chan;
    if (!ch) continue;
    auto has_live = [](Fifo<Registration>& q) {
      for (auto& r : q)
        if (r.task->claimed_gen.load(std::memory_order_acquire) + 1 == r.gen) return true;
      return false;
    };
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
    Registration r;
    if (c.is_send) {
      if (ch.closed) {
        unlock_all();
        task.vm.raise("ChannelClosedError", "send on a closed channel");
      }
      if (take_live(ch.recvq, r)) {
        r.task->wake_value = vm::pack(c.value);
        r.task->wake_case = r.case_index;
        woken = r.task;
      } else if (ch.buffer.size() < ch.capacity) {
        ch.buffer.push_back(vm::pack(c.value));
      } else {
        ready.erase(ready.begin() + std::ptrdiff_t(at));
        continue;
      }
    } else if (!ch.buffer.empty()) {
      out = std::move(ch.buffer.front());
      ch.buffer.pop_front();
      if (take_live(ch.sendq, r)) {
        ch.buffer.push_back(take_offered(r));
        r.task->wake_case = r.case_index;
        woken = r.task;
      }
    } else if (take_live(ch.sendq, r)) {
      out = take_offered(r);
      r.task->wake_case = r.case_index;
      woken = r.task;
    } else if (ch.closed) {
      closed = true;
      out = vm::Message();
    } else {
      ready.erase(ready.begin() + std::ptrdiff_t(at));
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
  uint64_t gen = task.begin_wait(WaitInfo::on(WaitInfo::Select));
  for (int i = 0; i < int(cases.size()); i++) {
    SelectCase& c = cases[size_t(i)];
    if (!c.chan) continue;
    if (c.is_send) {
      if (!task.select_sends) task.select_sends = std::make_unique<std::vector<vm::Message>>();
      if (task.select_sends->size() < cases.size()) task.select_sends->resize(cases.size());
      (*task.select_sends)[size_t(i)] = vm::pack(c.value);
      register_wait(task, *c.chan, c.chan->sendq, gen, i);
    } else {
      register_wait(task, *c.chan, c.chan->recvq, gen, i);
    }
  }
  unlock_all();
  return Op::Parked;
}

void channel_offer(Runtime& rt, Channel& ch, vm::Message m) {
  Task* woken = nullptr;
  {
    std::lock_guard g(ch.lock);
    if (ch.closed) return;
    Registration r;
    if (take_live(ch.recvq, r)) {
      r.task->wake_value = std::move(m);
      r.task->wake_case = r.case_index;
      woken = r.task;
    } else if (ch.buffer.size() < ch.capacity) {
      ch.buffer.push_back(std::move(m));
    }
  }
  if (woken) rt.scheduler->wake(woken);
}

void channel_forget(Task& task) {
  for (Channel* ch : task.wait_channels) {
    // The channel that completed a single-channel wait already took the registration.
    if (!task.woken_by_channel || task.wait_channels.size() > 1) {
      std::lock_guard g(ch->lock);
      auto drop = [&](Fifo<Registration>& q) {
        q.erase_if([&](const Registration& r) { return r.task == &task; });
      };
      drop(ch->sendq);
      drop(ch->recvq);
    }
    ch->release();
  }
  task.wait_channels.clear();
  if (task.select_sends) task.select_sends->clear();  // the cases not taken
}

}  // namespace tsk::rt
