// The libFuzzer entry point: runs each input as a tsk script in a fresh tsk::Runtime.
// Invariants: every input gets its own Runtime, destroyed before the next one, so
// nothing (modules, heap, interned strings) carries over between inputs and the leak
// checker sees each run whole; output is discarded; an instruction budget bounds every
// run, so only a crash, a sanitizer report, a leak or a hang in native code counts as a
// finding. A script error (syntax, compile or runtime) is an ordinary outcome.
#include <tsk/tsk.hpp>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace {

// 200000 instructions: enough for the seed scripts' loops to do real work, small enough
// that a run of the budget takes milliseconds even under ASan, far inside -timeout=10.
constexpr uint64_t kInstructionBudget = 200000;

// Names of the features a fuzzer must not reach: waiting on the clock (a long sleep is a
// false hang the instruction budget cannot stop). An input that mentions one as a word is
// skipped whole; the time functions are tested by their own script tests instead. The
// machine (files, processes, sockets, the environment) is out of reach by the sandbox
// (Options::modules), so inputs that import fs, net or proc run and fail to import.
// The budget is one for the whole runtime, counted by every task across its parks, so
// tasks and channels are fuzzed like the rest.
constexpr std::string_view kUnsafeWords[] = {"sleep", "after", "tick"};

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// True when `word` occurs in `source` as a whole identifier (not inside a longer one).
bool mentions_word(std::string_view source, std::string_view word) {
  for (size_t at = source.find(word); at != std::string_view::npos;
       at = source.find(word, at + 1)) {
    const bool starts = at == 0 || !is_word_char(source[at - 1]);
    const size_t end = at + word.size();
    const bool ends = end == source.size() || !is_word_char(source[end]);
    if (starts && ends) return true;
  }
  return false;
}

bool is_safe_to_run(std::string_view source) {
  for (std::string_view word : kUnsafeWords) {
    if (mentions_word(source, word)) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  if (!is_safe_to_run(source)) return -1;  // -1: libFuzzer keeps it out of the corpus

  tsk::Options options;
  options.threads = 1;  // one worker: reproducible, and the fuzzer owns one core
  options.args = {"fuzz.tsk"};
  options.out = [](std::string_view) {};
  options.err = [](std::string_view) {};
  options.instruction_budget = kInstructionBudget;
  options.modules = tsk::sandbox_modules();

  tsk::Runtime runtime(std::move(options));
  runtime.run(source, "fuzz.tsk");
  return 0;
}
