// Values crossing between a host and its scripts (SPEC §16, DESIGN decision 10). A
// tsk::Value is the host's own copy of a script value: nil, bool, int, float, string,
// list or map, or — for anything else (a function, a channel, an error) — an opaque
// value the host can hand back to a script but not look into. A host never holds a
// pointer into a task's heap, so nothing it keeps can dangle or needs rooting, and a
// Value may be used from any thread. A Value is immutable: copies share its strings,
// lists and maps.
//
// Typed conversions go both ways: a Value is made from bool, any integer type, double,
// std::string, std::vector, std::map or std::unordered_map with string keys and
// std::optional (nullopt is nil), and `as<T>()` turns it back into any of them, raising
// tsk::Error (TypeError, or OverflowError for an int that does not fit T) otherwise.
#pragma once

#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tsk {

// A script error seen by the host, or raised by the host into a script: its kind
// ("TypeError", "IOError", ...; SPEC §5), message and, when it comes from a script, the
// traceback as `tsk` prints it. what() is "Kind: message".
class Error : public std::runtime_error {
 public:
  Error(std::string kind, std::string message, std::string traceback = {});
  const std::string& kind() const { return kind_; }
  const std::string& message() const { return message_; }
  const std::string& traceback() const { return traceback_; }

 private:
  std::string kind_, message_, traceback_;
};

namespace detail {
struct Opaque;  // a value of another type, held in transit form (runtime/host_values.cpp)
struct Where;   // what a failed conversion names: "geo.area(): sides[2]"
template <class T> struct Convert;
}  // namespace detail

class Value {
 public:
  enum class Kind : uint8_t { Nil, Bool, Int, Float, String, List, Map, Other };
  using List = std::vector<Value>;
  using Map = std::vector<std::pair<Value, Value>>;  // in insertion order

  Value() = default;
  Value(std::nullptr_t) {}
  Value(std::nullopt_t) {}
  Value(bool b) : kind_(Kind::Bool), b_(b) {}
  template <std::integral I>
    requires(!std::same_as<I, bool> && !std::same_as<I, char>)
  Value(I i) : kind_(Kind::Int), i_(checked_int(i)) {}
  Value(double f) : kind_(Kind::Float), f_(f) {}
  Value(const char* s) : Value(s ? Value(std::string(s)) : Value()) {}  // null: nil
  Value(std::string_view s) : Value(std::string(s)) {}
  Value(std::string s);
  Value(List items);
  template <class T>
  Value(const std::vector<T>& items) : Value(List(items.begin(), items.end())) {}
  template <class T>
  Value(const std::optional<T>& v) : Value(v ? Value(*v) : Value()) {}
  template <class T>
  Value(const std::map<std::string, T>& m) : Value(map_of(m)) {}
  template <class T>
  Value(const std::unordered_map<std::string, T>& m) : Value(map_of(m)) {}
  // A map with these entries, in this order. Keys are bool, int, float or string (else
  // it throws tsk::Error, TypeError); a repeated key keeps its first place and its last
  // value, and 1 and 1.0 are one key, as in scripts.
  static Value map(Map entries);

  Kind kind() const { return kind_; }
  bool is_nil() const { return kind_ == Kind::Nil; }
  // The name scripts' type() gives: "nil", "bool", "int", "float", "string", "list",
  // "map", or for another value its own ("fn", "chan", "error", ...).
  std::string type_name() const;
  // As the REPL shows it: strings quoted, lists and maps with their items.
  std::string repr() const;

  // The contents, for the kind they belong to (TypeError otherwise).
  bool as_bool() const;
  int64_t as_int() const;
  double as_float() const;  // an int too
  const std::string& as_string() const;
  const List& items() const;
  const Map& entries() const;
  // The value of `key` in a map, or null when it has none.
  const Value* find(const Value& key) const;

  template <class T> T as() const;

  // Same kind and contents (1 and 1.0 are equal, as in scripts; an opaque value equals
  // only its copies).
  friend bool operator==(const Value& a, const Value& b);

 private:
  friend struct HostValues;  // runtime/host_values.cpp
  Value(Kind kind, std::shared_ptr<const void> box) : kind_(kind), box_(std::move(box)) {}
  template <std::integral I>
  static int64_t checked_int(I i) {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(int64_t)) {
      if (i > uint64_t(std::numeric_limits<int64_t>::max()))
        throw Error("OverflowError", std::to_string(i) + " does not fit in a tsk int (64-bit signed)");
    }
    return int64_t(i);
  }
  template <class M>
  static Value map_of(const M& m) {
    Map entries;
    entries.reserve(m.size());
    for (const auto& [k, v] : m) entries.emplace_back(Value(k), Value(v));
    return map(std::move(entries));
  }
  [[noreturn]] void wrong_kind(const char* wanted) const;

  Kind kind_ = Kind::Nil;
  union {
    bool b_;
    int64_t i_ = 0;
    double f_;
  };
  // String: std::string; List: List; Map: Map; Other: detail::Opaque.
  std::shared_ptr<const void> box_;
};

namespace detail {

// The place a conversion failed, rendered only then: a root ("value", or a parameter
// of a host function with the function as its context: "geo.area(): sides") and the
// list indexes or map keys below it ("sides[2]").
struct Where {
  explicit Where(std::string_view root_name, std::string_view function = {}) : root(root_name), context(function) {}
  Where(const Where& in, int64_t item) : parent(&in), index(item) {}
  Where(const Where& in, const std::string& map_key) : parent(&in), key(&map_key) {}
  const Where* parent = nullptr;
  std::string_view root;
  int64_t index = -1;
  const std::string* key = nullptr;
  std::string_view context;
  std::string render() const;
};
[[noreturn]] void conversion_error(const Where& where, const char* wanted, const Value& got);
[[noreturn]] void overflow_error(const Where& where, int64_t got, const char* type);

template <class T> inline constexpr bool kUnsupported = false;
template <class T> struct Convert {
  static_assert(kUnsupported<T>,
                "tsk::Value converts to bool, integer types, float and double, std::string, std::vector, "
                "std::map and std::unordered_map with std::string keys, std::optional and tsk::Value");
};

template <> struct Convert<Value> {
  static Value from(const Value& v, const Where&) { return v; }
};
template <> struct Convert<bool> {
  static bool from(const Value& v, const Where& w) {
    if (v.kind() != Value::Kind::Bool) conversion_error(w, "a bool", v);
    return v.as_bool();
  }
};
template <std::integral I>
  requires(!std::same_as<I, bool>)
struct Convert<I> {
  static I from(const Value& v, const Where& w) {
    if (v.kind() != Value::Kind::Int) conversion_error(w, "an int", v);
    int64_t i = v.as_int();
    if (!std::in_range<I>(i)) overflow_error(w, i, sizeof(I) == 8 ? "a 64-bit unsigned int" : "a smaller int");
    return I(i);
  }
};
template <std::floating_point F> struct Convert<F> {
  static F from(const Value& v, const Where& w) {
    if (v.kind() != Value::Kind::Float && v.kind() != Value::Kind::Int) conversion_error(w, "a number", v);
    return F(v.as_float());
  }
};
template <> struct Convert<std::string> {
  static std::string from(const Value& v, const Where& w) {
    if (v.kind() != Value::Kind::String) conversion_error(w, "a string", v);
    return v.as_string();
  }
};
template <class T> struct Convert<std::optional<T>> {
  static std::optional<T> from(const Value& v, const Where& w) {
    if (v.is_nil()) return std::nullopt;
    return Convert<T>::from(v, w);
  }
};
template <class T> struct Convert<std::vector<T>> {
  static std::vector<T> from(const Value& v, const Where& w) {
    if (v.kind() != Value::Kind::List) conversion_error(w, "a list", v);
    std::vector<T> out;
    out.reserve(v.items().size());
    for (size_t i = 0; i < v.items().size(); i++)
      out.push_back(Convert<T>::from(v.items()[i], Where(w, int64_t(i))));
    return out;
  }
};
template <class M> struct ConvertStringMap {
  static M from(const Value& v, const Where& w) {
    if (v.kind() != Value::Kind::Map) conversion_error(w, "a map", v);
    M out;
    for (const auto& [key, value] : v.entries()) {
      if (key.kind() != Value::Kind::String) conversion_error(w, "a map with string keys", v);
      out.insert_or_assign(key.as_string(),
                           Convert<typename M::mapped_type>::from(value, Where(w, key.as_string())));
    }
    return out;
  }
};
template <class T> struct Convert<std::map<std::string, T>> : ConvertStringMap<std::map<std::string, T>> {};
template <class T>
struct Convert<std::unordered_map<std::string, T>> : ConvertStringMap<std::unordered_map<std::string, T>> {};

}  // namespace detail

template <class T> T Value::as() const { return detail::Convert<T>::from(*this, detail::Where("value")); }

}  // namespace tsk
