// An embedding host (SPEC §16, docs/embedding.md): a C++ program that gives its script a
// `shop` module of three host functions, one of each effect, and runs the script.
//   * shop.items() and shop.price(item) are `instant`: a look into the host's table.
//   * shop.restock(item, count) is `blocks`: it takes the host's own lock and may wait
//     for it, so it runs on tsk's blocking pool, never on a worker.
//   * shop.quote(items) is `yields`: the host's pricing thread completes it later, and
//     the task waits without holding a worker; tasks ask for quotes in parallel.
#include <tsk/tsk.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

// A thread of the host's own that runs jobs in order: its event loop, an RPC client.
class PricingThread {
 public:
  PricingThread() : thread_([this] { loop(); }) {}
  ~PricingThread() {
    post(nullptr);
    thread_.join();
  }
  void post(std::function<void()> job) {
    std::lock_guard g(lock_);
    jobs_.push_back(std::move(job));
    ready_.notify_one();
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock g(lock_);
        ready_.wait(g, [this] { return !jobs_.empty(); });
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      if (!job) return;
      job();
    }
  }
  std::mutex lock_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::thread thread_;
};

const char* const kScript = R"(import shop

print("for sale:", shop.items(), "- a pear costs", shop.price("pear"))
print("kiwi:", shop.price("kiwi"))
print("pears in stock:", shop.restock("pear", 5))

# Three quotes at once: each task waits for the host's pricing thread.
let orders = [["apple", "pear"], ["plum", "plum", "apple"], ["kiwi"]]
var quotes = []
for order in orders {
    push(quotes, spawn {
        try { return shop.quote(order) } catch e { return e.kind + ": " + e.message }
    })
}
for i in 0..len(orders) {
    print(orders[i], "->", await quotes[i])
}
try { shop.price(42) } catch e { print(e.kind + ":", e.message) }
)";

}  // namespace

int main() {
  std::mutex stock_lock;
  std::map<std::string, double> prices{{"apple", 0.5}, {"pear", 0.75}, {"plum", 0.25}};
  std::map<std::string, int> stock{{"apple", 10}, {"pear", 3}, {"plum", 0}};
  PricingThread pricing;

  tsk::Runtime runtime;
  runtime.define("shop", "items()", tsk::Effect::instant, "The names of the items for sale", [&] {
    std::vector<std::string> names;
    for (const auto& [name, price] : prices) names.push_back(name);
    return names;
  });
  runtime.define("shop", "price(item)", tsk::Effect::instant, "The price of an item, or nil",
                 [&](std::string item) -> std::optional<double> {
                   auto it = prices.find(item);
                   if (it == prices.end()) return std::nullopt;
                   return it->second;
                 });
  runtime.define("shop", "restock(item, count)", tsk::Effect::blocks, "Adds to an item's stock; returns the new stock",
                 [&](std::string item, int count) {
                   std::lock_guard g(stock_lock);  // shared with the host's other threads
                   return stock[item] += count;
                 });
  runtime.define("shop", "quote(items)", tsk::Effect::yields, "The total price of a list of items",
                 [&](tsk::Completion done, std::vector<std::string> items) {
                   pricing.post([&prices, done = std::make_shared<tsk::Completion>(std::move(done)), items] {
                     double total = 0;
                     for (const std::string& item : items) {
                       auto it = prices.find(item);
                       if (it == prices.end()) return done->fail("ValueError", "no price for " + item);
                       total += it->second;
                     }
                     done->complete(total);
                   });
                 });
  return runtime.run(kScript, "shop.tsk");
}
