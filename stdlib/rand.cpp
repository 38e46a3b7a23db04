// The `rand` module (SPEC §15): pseudo-random numbers, one generator per task, and
// secure random bytes. Every function is instant.
//
// The generator is xoshiro256** (Blackman and Vigna, 2018): 256 bits of state, period
// 2^256 - 1, a few cycles per number, no known statistical flaw at any scale a script
// reaches. Its state lives in the task's vm::TaskState::Extras, allocated at the first use of
// rand in the task: a task that never draws pays nothing (a field on the task would cost
// every task a mimalloc size class), and no two tasks ever touch one state, so there is
// no lock and a task's sequence does not depend on what other tasks draw.
//
// Seeding, at a task's first draw: 32 bytes from the system (getrandom), unless the
// runtime has a seed (TSK_SEED, tsk::Options::seed), in which case from that seed and the
// task's id, so that a seeded run on one thread replays rand as it replays select.
// seed(n) sets the state from n with splitmix64, as the generator's authors recommend:
// the same n gives the same sequence in every run, on every platform and thread count.
//
// bytes(n) never uses the generator: it reads the system's secure source directly (a
// seeded generator must not leak into key material), and returns a string of n bytes,
// tsk's type for bytes.
//
// Rejected: a generator per runtime behind a lock (contended by every task drawing,
// and seed() in one task would disturb the others); std::mt19937_64 (2.5 KB of state
// per task, slower, and its distributions differ between standard libraries, so seeded
// sequences would too).
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#if defined(__linux__)
#include <sys/random.h>
#else
#include <unistd.h>  // getentropy
#endif

#include "runtime/runtime.hpp"
#include "runtime/task.hpp"
#include "stdlib/natives.hpp"
#include "vm/heap.hpp"

namespace tsk::stdlib {

namespace {

using vm::Effect;
using vm::List;
using vm::NativeEntry;

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void seed_state(uint64_t state[4], uint64_t n) {
  // Four successive splitmix64 outputs are never all zero (it is a bijection of a counter).
  for (int i = 0; i < 4; ++i) state[i] = splitmix64(n);
}

// Fills buf with n bytes from the system's secure source; false (errno set) if it fails.
bool system_random(void* buf, size_t n) {
  auto* p = static_cast<unsigned char*>(buf);
  while (n > 0) {
#if defined(__linux__)
    ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
#else
    size_t got = n < 256 ? n : 256;  // getentropy's limit per call
    if (getentropy(p, got) != 0) return false;
#endif
    p += got;
    n -= size_t(got);
  }
  return true;
}

// The calling task's generator state, made at its first use. `seeded` false: seed it
// from the system (or the runtime's seed); true: the caller sets it.
uint64_t* state_of(TaskState& t, bool seeded = false) {
  auto& state = t.extra().rare().rand;
  if (state) return state->data();
  state = std::make_unique<std::array<uint64_t, 4>>();
  uint64_t* s = state->data();
  if (seeded) return s;
  uint64_t id = t.host ? rt::host_of(t).id : 0;
  rt::Runtime& runtime = rt::runtime_of(t);
  if (runtime.config.seed) {
    seed_state(s, runtime.seed ^ splitmix64(id));
  } else if (!system_random(s, 4 * sizeof(uint64_t)) || (s[0] | s[1] | s[2] | s[3]) == 0) {
    // No system source (a sandbox without getrandom): the runtime's seed, the task and
    // the clock still give every task a sequence of its own. (All zero is the one state
    // xoshiro cannot leave.)
    seed_state(s, runtime.seed ^ splitmix64(id) ^
                      uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()));
  }
  return s;
}

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// xoshiro256**: the next 64 random bits.
uint64_t next(uint64_t* s) {
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t shifted = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= shifted;
  s[3] = rotl(s[3], 45);
  return result;
}

// A uniform integer in [0, span], without bias: Lemire's multiply-and-reject ("Fast
// random integer generation in an interval", 2019).
uint64_t below_or_at(uint64_t* s, uint64_t span) {
  if (span == UINT64_MAX) return next(s);
  uint64_t n = span + 1;
  unsigned __int128 m = (unsigned __int128)next(s) * n;
  uint64_t low = uint64_t(m);
  if (low < n) {
    uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = (unsigned __int128)next(s) * n;
      low = uint64_t(m);
    }
  }
  return uint64_t(m >> 64);
}

// A uniform int in [lo, hi] (lo <= hi); the span is computed in unsigned arithmetic, so
// the whole int range works.
int64_t between(uint64_t* s, int64_t lo, int64_t hi) {
  return int64_t(uint64_t(lo) + below_or_at(s, uint64_t(hi) - uint64_t(lo)));
}

Value r_seed(TaskState& t, Value* a, int) {
  int64_t n = arg_int(t, a, 0, "rand.seed", "n");
  seed_state(state_of(t, true), uint64_t(n));
  return Value::nil();
}

Value r_int(TaskState& t, Value* a, int) {
  int64_t lo = arg_int(t, a, 0, "rand.int", "lo");
  int64_t hi = arg_int(t, a, 1, "rand.int", "hi");
  if (lo > hi)
    t.raise("ValueError", "rand.int(): lo (" + std::to_string(lo) + ") is greater than hi (" +
                              std::to_string(hi) + ")");
  return Value::integer(between(state_of(t), lo, hi));
}

Value r_float(TaskState& t, Value*, int) {
  // The top 53 bits: every double in [0, 1) that is a multiple of 2^-53, equally likely.
  return Value::number(double(next(state_of(t)) >> 11) * 0x1.0p-53);
}

// The items of a list, or the ints of a range, that choice and shuffle draw from.
struct Source {
  const List* list = nullptr;
  int64_t first = 0;  // a range's first int
  uint64_t size = 0;
};

Source source(TaskState& t, Value* a, const char* fn) {
  Source src;
  if (a[0].is(Tag::List)) {
    src.list = a[0].as_list();
    src.size = src.list->items.size();
  } else if (a[0].is(Tag::Range)) {
    const vm::Range* r = a[0].as_range();
    __int128 n = __int128(r->stop) - __int128(r->start) + (r->inclusive ? 1 : 0);
    src.first = r->start;
    src.size = n > 0 ? uint64_t(std::min<__int128>(n, __int128(UINT64_MAX))) : 0;
  } else {
    type_error(t, std::string("rand.") + fn, "xs", "a list or a range", a[0]);
  }
  return src;
}

Value r_choice(TaskState& t, Value* a, int) {
  Source src = source(t, a, "choice");
  if (src.size == 0) t.raise("ValueError", "rand.choice(): xs is empty");
  uint64_t i = below_or_at(state_of(t), src.size - 1);
  if (src.list) return src.list->items[i];
  return Value::integer(int64_t(uint64_t(src.first) + i));
}

Value r_shuffle(TaskState& t, Value* a, int) {
  Source src = source(t, a, "shuffle");
  check_list_size(t, src.size, "rand.shuffle");
  List* out = t.heap.list();
  if (src.list) {
    out->items = src.list->items;
  } else {
    out->items.reserve(src.size);
    for (uint64_t i = 0; i < src.size; ++i) out->items.push_back(Value::integer(int64_t(uint64_t(src.first) + i)));
  }
  // Fisher-Yates, from the back: each of the n! orders is equally likely.
  uint64_t* s = state_of(t);
  for (size_t i = out->items.size(); i > 1; --i) std::swap(out->items[i - 1], out->items[below_or_at(s, i - 1)]);
  return Value::object(out);
}

Value r_bytes(TaskState& t, Value* a, int) {
  int64_t n = arg_int(t, a, 0, "rand.bytes", "n");
  if (n < 0) t.raise("ValueError", "rand.bytes(): n must not be negative, got " + std::to_string(n));
  check_string_size(t, size_t(n), "rand.bytes");
  std::string bytes(size_t(n), '\0');
  if (!system_random(bytes.data(), bytes.size()))
    t.raise("IOError", std::string("rand.bytes(): getrandom: ") + std::strerror(errno));
  return string_value(t, bytes);
}

constexpr Effect kInstant = Effect::Instant;

const NativeEntry kRand[] = {
    {"rand", "seed", "seed(n)", kInstant, "Restarts this task's generator from the int n: the same n, the same sequence", r_seed, 1, 1},
    {"rand", "int", "int(lo, hi)", kInstant, "A random int from lo to hi, both included (ValueError if lo > hi)", r_int, 2, 2},
    {"rand", "float", "float()", kInstant, "A random float in [0, 1)", r_float, 0, 0},
    {"rand", "choice", "choice(xs)", kInstant, "A random element of the list or range xs (ValueError if it is empty)", r_choice, 1, 1},
    {"rand", "shuffle", "shuffle(xs)", kInstant, "A new list of the elements of the list or range xs in random order", r_shuffle, 1, 1},
    {"rand", "bytes", "bytes(n)", kInstant, "A string of n bytes from the system's secure source (not from the generator)", r_bytes, 1, 1},
};

}  // namespace

vm::ModuleDef rand_module() {
  return {"rand", "Random numbers: a seedable generator per task, and secure bytes from the system", kRand, nullptr};
}

}  // namespace tsk::stdlib
