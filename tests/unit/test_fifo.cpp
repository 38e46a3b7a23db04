// Unit tests of rt::Fifo (runtime/fifo.hpp), the ring behind every channel's buffer and
// wait queues: order across wrap-around and growth, removal in place, and that drained
// rings free what they held.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "runtime/fifo.hpp"

using tsk::rt::Fifo;

namespace {

std::vector<int> drain(Fifo<std::unique_ptr<int>>& q) {
  std::vector<int> out;
  while (!q.empty()) {
    out.push_back(*q.front());
    q.pop_front();
  }
  return out;
}

}  // namespace

TEST_CASE("fifo: items come out in order across wrap-around and growth") {
  Fifo<std::unique_ptr<int>> q;
  CHECK(q.empty());
  CHECK(q.size() == 0);
  int next_in = 0, next_out = 0;
  // Interleave pushes and pops so the head wraps before each growth.
  for (int round = 0; round < 200; round++) {
    for (int k = 0; k < 3; k++) q.push_back(std::make_unique<int>(next_in++));
    CHECK(*q.front() == next_out);
    q.pop_front();
    next_out++;
    CHECK(q.size() == size_t(next_in - next_out));
  }
  for (int v : drain(q)) CHECK(v == next_out++);
  CHECK(next_out == next_in);
  CHECK(q.empty());
  // Usable again after draining (a large ring was freed on the way).
  q.push_back(std::make_unique<int>(7));
  CHECK(q.size() == 1);
  CHECK(*q.front() == 7);
}

TEST_CASE("fifo: erase_if keeps the order of the rest and iteration sees every item") {
  Fifo<std::unique_ptr<int>> q;
  for (int i = 0; i < 5; i++) q.push_back(std::make_unique<int>(i));
  q.pop_front();
  q.pop_front();
  for (int i = 5; i < 12; i++) q.push_back(std::make_unique<int>(i));  // wraps, then grows
  q.erase_if([](const std::unique_ptr<int>& p) { return *p % 3 == 0; });
  std::vector<int> seen;
  for (auto& p : q) seen.push_back(*p);
  CHECK(seen == std::vector<int>{2, 4, 5, 7, 8, 10, 11});
  q.erase_if([](const std::unique_ptr<int>&) { return true; });
  CHECK(q.empty());
  CHECK(q.size() == 0);
  q.push_back(std::make_unique<int>(1));
  CHECK(drain(q) == std::vector<int>{1});
}
