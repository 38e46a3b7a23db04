// Unit and stress tests of rt::RunQueue (runtime/run_queue.hpp), a worker's lock-free
// ring: order, the full ring's overflow, stealing half; and, from several threads at
// once, that owners pushing and popping while thieves steal lose and duplicate nothing.
// The stress case scales with TSK_STRESS_SCALE like the runtime's (the TSan stage runs
// the "runtime*" suites with 0.1).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "runtime/run_queue.hpp"

using tsk::rt::RunQueue;

namespace {

struct Item {
  int id = 0;
};
using Queue = RunQueue<Item>;
constexpr uint32_t kSlots = Queue::kSlots;

double scale() {
  const char* s = std::getenv("TSK_STRESS_SCALE");
  double v = s ? std::atof(s) : 1.0;
  return v > 0 ? v : 1.0;
}

}  // namespace

TEST_SUITE("runtime run queue") {

TEST_CASE("run queue: the owner pops in order, and a full ring refuses a push") {
  std::vector<Item> items(kSlots + 1);
  for (size_t i = 0; i < items.size(); i++) items[i].id = int(i);
  Queue q;
  CHECK(q.empty());
  CHECK(q.pop() == nullptr);
  // Across wrap-around: push 3 and pop 2 many times over.
  int in = 0, out = 0;
  for (int round = 0; round < 250; round++) {  // grows to 250 items, wrapping round
    for (int k = 0; k < 3; k++) REQUIRE(q.push(&items[size_t(in++) % items.size()]));
    for (int k = 0; k < 2; k++) {
      Item* got = q.pop();
      REQUIRE(got != nullptr);
      CHECK(got->id == out++ % int(items.size()));
    }
  }
  while (Item* got = q.pop()) CHECK(got->id == out++ % int(items.size()));
  CHECK(out == in);
  CHECK(q.empty());
  for (uint32_t i = 0; i < kSlots; i++) REQUIRE(q.push(&items[i]));
  CHECK(q.size() == kSlots);
  CHECK_FALSE(q.push(&items[kSlots]));
  // The overflow takes the older half.
  Item* half[kSlots / 2];
  REQUIRE(q.take_half_for_overflow(half) == kSlots / 2);
  for (uint32_t i = 0; i < kSlots / 2; i++) CHECK(half[i]->id == int(i));
  CHECK(q.size() == kSlots / 2);
  CHECK(q.push(&items[kSlots]));
  CHECK(q.pop()->id == int(kSlots / 2));
}

TEST_CASE("run queue: a thief takes half, rounded up, oldest first") {
  std::vector<Item> items(7);
  for (size_t i = 0; i < items.size(); i++) items[i].id = int(i);
  Queue victim, thief;
  CHECK(victim.steal_into(thief) == nullptr);
  for (Item& it : items) REQUIRE(victim.push(&it));
  Item* first = victim.steal_into(thief);
  // 4 of 7 move: 0, 1, 2 into the thief's ring and 3 returned.
  REQUIRE(first != nullptr);
  CHECK(first->id == 3);
  CHECK(thief.size() == 3);
  CHECK(victim.size() == 3);
  for (int want : {0, 1, 2}) CHECK(thief.pop()->id == want);
  for (int want : {4, 5, 6}) CHECK(victim.pop()->id == want);
  // One item: the thief returns it and its ring stays empty.
  REQUIRE(victim.push(&items[0]));
  CHECK(victim.steal_into(thief) == &items[0]);
  CHECK(thief.empty());
  CHECK(victim.empty());
}

TEST_CASE("run queue stress: owners and thieves lose and duplicate nothing") {
  // Four threads each own a ring. Thread 0 produces every item: it pushes (moving half of
  // a full ring to an overflow list, as the scheduler moves it to the global queue),
  // pops some back itself and re-pushes some of those (a yield). Every thread steals from
  // random others when its ring is empty and "runs" what it takes: counts it once. A
  // taken item is pushed back once in a while, so items also travel between thieves.
  const int total = std::max(20000, int(400000 * scale()));
  constexpr int kThreads = 4;
  std::vector<Item> items(size_t(total), Item{});
  for (int i = 0; i < total; i++) items[size_t(i)].id = i;
  std::unique_ptr<std::atomic<int>[]> runs(new std::atomic<int>[size_t(total)]);
  for (int i = 0; i < total; i++) runs[size_t(i)].store(0);
  std::vector<std::unique_ptr<Queue>> rings;
  for (int i = 0; i < kThreads; i++) rings.push_back(std::make_unique<Queue>());
  std::atomic<int> done{0};
  std::atomic<bool> produced{false};
  std::vector<Item*> overflow;  // thread 0's only, drained by thread 0

  auto run_item = [&](Item* it, Queue& own, uint32_t& rng) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    // One in eight goes back on the ring once (a yield); the others finish. The mark
    // "requeued" goes on before the push: once pushed, a thief may run it at once.
    int unmarked = 0;
    if (rng % 8 == 0 && runs[size_t(it->id)].compare_exchange_strong(unmarked, 100, std::memory_order_relaxed)) {
      if (own.push(it)) return;
      runs[size_t(it->id)].store(0, std::memory_order_relaxed);  // the ring was full: it finishes now
    }
    runs[size_t(it->id)].fetch_add(1, std::memory_order_relaxed);
    done.fetch_add(1, std::memory_order_relaxed);
  };
  auto steal_some = [&](int self, uint32_t& rng) -> Item* {
    int first = int(rng % kThreads);
    for (int k = 0; k < kThreads; k++) {
      int v = (first + k) % kThreads;
      if (v == self) continue;
      if (Item* it = rings[size_t(v)]->steal_into(*rings[size_t(self)])) return it;
    }
    return nullptr;
  };
  auto worker = [&](int self) {
    Queue& own = *rings[size_t(self)];
    uint32_t rng = 0x9E3779B9u * uint32_t(self + 1);
    int next = 0;
    while (done.load(std::memory_order_relaxed) < total) {
      if (self == 0 && next < total) {
        // Produce a burst, then run a few.
        for (int k = 0; k < 37 && next < total; k++) {
          Item* it = &items[size_t(next++)];
          while (!own.push(it)) {
            Item* half[kSlots / 2];
            uint32_t n = own.take_half_for_overflow(half);
            overflow.insert(overflow.end(), half, half + n);
          }
        }
        if (next == total) produced.store(true);
        for (int k = 0; k < 5; k++)
          if (Item* it = own.pop()) run_item(it, own, rng);
        continue;
      }
      if (self == 0 && !overflow.empty()) {
        Item* it = overflow.back();
        overflow.pop_back();
        run_item(it, own, rng);
        continue;
      }
      Item* it = own.pop();
      if (!it) it = steal_some(self, rng);
      if (it) run_item(it, own, rng);
      else std::this_thread::yield();
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++) threads.emplace_back(worker, i);
  for (auto& t : threads) t.join();
  CHECK(produced.load());
  CHECK(done.load() == total);
  int wrong = 0;
  for (int i = 0; i < total; i++) {
    int r = runs[size_t(i)].load();
    if (r != 1 && r != 101) wrong++;
  }
  CHECK(wrong == 0);
  for (auto& q : rings) CHECK(q->empty());
}

}  // TEST_SUITE("runtime run queue")
