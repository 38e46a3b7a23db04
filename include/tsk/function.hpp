// Host functions (SPEC §16, DESIGN decisions 8 and 10): a C++ callable that a host adds
// to a runtime with Runtime::define, under a module name, with a signature, a one-line
// doc and an effect. Scripts import the module and call it like a standard one, and it
// appears in effect(), help() and the reference.
//
// The callable's parameters and result are converted as tsk::Value's are (value.hpp):
// a parameter of type std::optional<T> at the end may be left out by the caller, and an
// argument of the wrong type raises TypeError in the script, naming the function and
// the parameter. A C++ exception thrown by the callable becomes a script error: a
// tsk::Error keeps its kind and message; any other std::exception is an `Error` with
// its what(). By effect:
//   * instant: runs on the task's worker thread and must not wait;
//   * blocks:  runs on the blocking pool, so it may wait (a file, a lock, a socket)
//              without holding up other tasks;
//   * yields:  takes a tsk::Completion as its first parameter and returns void; the
//              task waits until the completion is completed, from any thread, at any
//              time after (or during) the call. A completion dropped without completing
//              fails the call instead of leaving the task waiting for ever, and a
//              cancelled task stops waiting at once (its completion then does nothing).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tsk/value.hpp"

namespace tsk {

enum class Effect { instant, yields, blocks };

namespace detail {
struct CompletionState;  // runtime/host_functions.cpp
}  // namespace detail

// The right to finish one call of a `yields` host function: from any thread, once.
// Move-only; the call fails when the last one is destroyed without completing.
class Completion {
 public:
  Completion() = default;
  explicit Completion(std::shared_ptr<detail::CompletionState> state) : state_(std::move(state)) {}
  Completion(Completion&&) noexcept = default;
  Completion& operator=(Completion&&) noexcept = default;
  Completion(const Completion&) = delete;
  Completion& operator=(const Completion&) = delete;
  ~Completion() = default;
  // The call returns `result` in its task, which runs again. A second completion of the
  // same call, or one of a moved-from Completion, throws std::logic_error.
  void complete(Value result = {});
  // The call raises `kind`: `message` in its task (a kind that is not a name is Error).
  void fail(std::string kind, std::string message);
  // Whether it can still complete its call (not completed, not moved from).
  explicit operator bool() const;

 private:
  std::shared_ptr<detail::CompletionState> state_;
};

namespace detail {

// The parameter and result types of a callable.
template <class F> struct Signature : Signature<decltype(&F::operator())> {};
template <class R, class... A> struct Signature<R(A...)> {
  using result = R;
  using params = std::tuple<std::remove_cvref_t<A>...>;
};
template <class R, class... A> struct Signature<R (*)(A...)> : Signature<R(A...)> {};
template <class R, class... A> struct Signature<R (*)(A...) noexcept> : Signature<R(A...)> {};
template <class C, class R, class... A> struct Signature<R (C::*)(A...)> : Signature<R(A...)> {};
template <class C, class R, class... A> struct Signature<R (C::*)(A...) const> : Signature<R(A...)> {};
template <class C, class R, class... A> struct Signature<R (C::*)(A...) noexcept> : Signature<R(A...)> {};
template <class C, class R, class... A> struct Signature<R (C::*)(A...) const noexcept> : Signature<R(A...)> {};

template <class T> inline constexpr bool kIsOptional = false;
template <class T> inline constexpr bool kIsOptional<std::optional<T>> = true;

// Where a call's arguments are named in its errors: "geo.area()" and the signature's
// parameter names.
struct CallSite {
  std::string_view function;
  const std::vector<std::string>& params;
};

// A host's callable with its parameter counts, as the runtime keeps it.
struct HostFunction {
  int min_args = 0;  // the parameters before the trailing std::optional ones
  int max_args = 0;
  bool takes_completion = false;  // a yields function: a tsk::Completion comes first
  // Converts the arguments, calls, converts the result (nil for a yields function).
  std::function<Value(const Value* args, int nargs, const CallSite& site, Completion* done)> call;
};

template <class Params, size_t... I>
Params convert_args(const Value* args, int nargs, const CallSite& site, std::index_sequence<I...>) {
  (void)args, (void)nargs, (void)site;  // a function of no parameters reads none
  // Braced: the arguments are converted left to right, so the first bad one is named.
  return Params{[&]() -> std::tuple_element_t<I, Params> {
    using T = std::tuple_element_t<I, Params>;
    if (int(I) >= nargs) return T{};  // an optional parameter left out
    return Convert<T>::from(args[I], Where(site.params[I], site.function));
  }()...};
}

// Whether a callable's parameters begin with a tsk::Completion, and the rest.
template <class Params> struct AfterCompletion {
  static constexpr bool kTakes = false;
  using rest = Params;
};
template <class... Rest> struct AfterCompletion<std::tuple<Completion, Rest...>> {
  static constexpr bool kTakes = true;
  using rest = std::tuple<Rest...>;
};

template <class Params> constexpr int required_count() {
  int required = 0;
  [&]<size_t... I>(std::index_sequence<I...>) {
    ((required = kIsOptional<std::tuple_element_t<I, Params>> ? required : int(I) + 1), ...);
  }(std::make_index_sequence<std::tuple_size_v<Params>>());
  return required;
}

template <class F> HostFunction make_host_function(F&& fn) {
  using Fn = std::decay_t<F>;  // a function itself is kept as its pointer
  using Sig = Signature<Fn>;
  using All = typename Sig::params;
  using R = typename Sig::result;
  static constexpr bool kYields = AfterCompletion<All>::kTakes;
  using Params = typename AfterCompletion<All>::rest;
  static_assert(!kYields || std::is_void_v<R>, "a yields host function returns void: it completes its Completion");
  HostFunction out;
  out.takes_completion = kYields;
  out.max_args = int(std::tuple_size_v<Params>);
  out.min_args = required_count<Params>();
  auto held = std::make_shared<Fn>(std::forward<F>(fn));
  out.call = [held](const Value* args, int nargs, const CallSite& site, Completion* done) -> Value {
    Params converted = convert_args<Params>(args, nargs, site, std::make_index_sequence<std::tuple_size_v<Params>>());
    if constexpr (kYields) {
      std::apply([&](auto&&... a) { (*held)(std::move(*done), std::move(a)...); }, std::move(converted));
      return Value();
    } else if constexpr (std::is_void_v<R>) {
      std::apply([&](auto&&... a) { (*held)(std::move(a)...); }, std::move(converted));
      return Value();
    } else {
      return Value(std::apply([&](auto&&... a) -> R { return (*held)(std::move(a)...); }, std::move(converted)));
    }
  };
  return out;
}

}  // namespace detail
}  // namespace tsk
