// tsk::Value's members and its conversion to and from a task's values
// (runtime/host_values.hpp; include/tsk/value.hpp says what crosses and how).
#include "runtime/host_values.hpp"

#include <algorithm>
#include <unordered_map>

#include "runtime/outside.hpp"
#include "runtime/runtime.hpp"
#include "stdlib/natives.hpp"
#include "vm/ops.hpp"

namespace tsk {

// --- tsk::Error ----------------------------------------------------------------------

Error::Error(std::string kind, std::string message, std::string traceback)
    : std::runtime_error(kind + ": " + message),
      kind_(std::move(kind)),
      message_(std::move(message)),
      traceback_(std::move(traceback)) {}

// --- tsk::Value ----------------------------------------------------------------------

namespace {

const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::Nil: return "nil";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::Float: return "float";
    case Value::Kind::String: return "string";
    case Value::Kind::List: return "list";
    case Value::Kind::Map: return "map";
    case Value::Kind::Other: break;
  }
  return "other";
}

// A map key as one string, equal for keys scripts consider equal (1 and 1.0).
std::string key_identity(const Value& k) {
  std::string id;
  switch (k.kind()) {
    case Value::Kind::Bool: return k.as_bool() ? "b1" : "b0";
    case Value::Kind::Int: return "i" + std::to_string(k.as_int());
    case Value::Kind::Float: {
      double f = k.as_float();
      // In range first: converting nan or a huge float to int64_t is undefined.
      if (f >= -9.2e18 && f <= 9.2e18 && f == double(int64_t(f))) return "i" + std::to_string(int64_t(f));
      id = "f";
      id.append(reinterpret_cast<const char*>(&f), sizeof f);
      return id;
    }
    case Value::Kind::String: return "s" + k.as_string();
    default: {  // an opaque key: itself
      const void* box = &HostValues::opaque_of(k);
      id = "o";
      id.append(reinterpret_cast<const char*>(&box), sizeof box);
      return id;
    }
  }
}

}  // namespace

Value::Value(std::string s) : kind_(Kind::String), box_(std::make_shared<const std::string>(std::move(s))) {}

Value::Value(List items) : kind_(Kind::List), box_(std::make_shared<const List>(std::move(items))) {}

Value Value::map(Map entries) {
  // Keys as scripts allow them (SPEC §2: nil-free scalars; frozen values do not cross
  // as such); a repeated key keeps its first place and its last value.
  Map unique;
  unique.reserve(entries.size());
  std::unordered_map<std::string, size_t> seen;
  for (auto& [key, value] : entries) {
    if (key.kind() == Kind::Nil) throw Error("TypeError", "a map key cannot be nil");
    // (An opaque key is a script's frozen value, copied out with its map.)
    if (key.kind() == Kind::List || key.kind() == Kind::Map)
      throw Error("TypeError", "a map key from the host must be a bool, int, float or string, not " +
                                   key.type_name());
    auto [at, added] = seen.emplace(key_identity(key), unique.size());
    if (added) unique.emplace_back(std::move(key), std::move(value));
    else unique[at->second].second = std::move(value);
  }
  return Value(Kind::Map, std::make_shared<const Map>(std::move(unique)));
}

std::string Value::type_name() const {
  if (kind_ == Kind::Other) return static_cast<const detail::Opaque*>(box_.get())->type;
  return kind_name(kind_);
}

void Value::wrong_kind(const char* wanted) const {
  throw Error("TypeError", std::string("value must be ") + wanted + ", not " + type_name());
}

bool Value::as_bool() const {
  if (kind_ != Kind::Bool) wrong_kind("a bool");
  return b_;
}
int64_t Value::as_int() const {
  if (kind_ != Kind::Int) wrong_kind("an int");
  return i_;
}
double Value::as_float() const {
  if (kind_ == Kind::Int) return double(i_);
  if (kind_ != Kind::Float) wrong_kind("a number");
  return f_;
}
const std::string& Value::as_string() const {
  if (kind_ != Kind::String) wrong_kind("a string");
  return *static_cast<const std::string*>(box_.get());
}
const Value::List& Value::items() const {
  if (kind_ != Kind::List) wrong_kind("a list");
  return *static_cast<const List*>(box_.get());
}
const Value::Map& Value::entries() const {
  if (kind_ != Kind::Map) wrong_kind("a map");
  return *static_cast<const Map*>(box_.get());
}

const Value* Value::find(const Value& key) const {
  for (const auto& [k, v] : entries())
    if (k == key) return &v;
  return nullptr;
}

bool operator==(const Value& a, const Value& b) {
  using K = Value::Kind;
  bool a_number = a.kind_ == K::Int || a.kind_ == K::Float;
  bool b_number = b.kind_ == K::Int || b.kind_ == K::Float;
  if (a_number && b_number) {
    if (a.kind_ == K::Int && b.kind_ == K::Int) return a.i_ == b.i_;
    return a.as_float() == b.as_float();
  }
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case K::Nil: return true;
    case K::Bool: return a.b_ == b.b_;
    case K::String: return a.as_string() == b.as_string();
    case K::List: return a.items() == b.items();
    case K::Map: {
      // As in scripts, insertion order does not matter.
      if (a.entries().size() != b.entries().size()) return false;
      for (const auto& [k, v] : a.entries()) {
        const Value* other = b.find(k);
        if (!other || !(*other == v)) return false;
      }
      return true;
    }
    default: return a.box_ == b.box_;
  }
}

namespace {

void append_repr(std::string& out, const Value& v, int depth) {
  using K = Value::Kind;
  switch (v.kind()) {
    case K::Nil: out += "nil"; return;
    case K::Bool: out += v.as_bool() ? "true" : "false"; return;
    case K::Int: out += std::to_string(v.as_int()); return;
    case K::Float: vm::append_float(out, v.as_float()); return;
    case K::String: vm::append_quoted(out, v.as_string()); return;
    case K::List: {
      if (depth >= 200) { out += "..."; return; }  // as str() in scripts
      out += '[';
      bool first = true;
      for (const Value& item : v.items()) {
        if (!first) out += ", ";
        first = false;
        append_repr(out, item, depth + 1);
      }
      out += ']';
      return;
    }
    case K::Map: {
      if (depth >= 200) { out += "..."; return; }
      out += '{';
      bool first = true;
      for (const auto& [key, value] : v.entries()) {
        if (!first) out += ", ";
        first = false;
        append_repr(out, key, depth + 1);
        out += ": ";
        append_repr(out, value, depth + 1);
      }
      out += '}';
      return;
    }
    case K::Other: out += v.repr(); return;
  }
}

}  // namespace

std::string Value::repr() const {
  if (kind_ == Kind::Other) return static_cast<const detail::Opaque*>(box_.get())->text;
  std::string out;
  append_repr(out, *this, 0);
  return out;
}

namespace detail {

std::string Where::render() const {
  if (!parent) return context.empty() ? std::string(root) : std::string(context) + ": " + std::string(root);
  std::string out = parent->render();
  if (key) {
    out += '[';
    vm::append_quoted(out, *key);
    out += ']';
  } else {
    out += '[' + std::to_string(index) + ']';
  }
  return out;
}

void conversion_error(const Where& where, const char* wanted, const Value& got) {
  throw Error("TypeError", where.render() + " must be " + wanted + ", not " + got.type_name());
}

void overflow_error(const Where& where, int64_t got, const char* type) {
  throw Error("OverflowError", where.render() + " is " + std::to_string(got) + ", which does not fit in " + type);
}

Opaque::~Opaque() {
  // Under the lock, so the runtime cannot go while the message is freed.
  std::lock_guard g(live->lock);
  if (live->alive) {
    message = vm::Message();
    return;
  }
  // Its runtime has gone: freeing a handle would touch it. Leave the objects.
  (void)message.heap.release();
  message.value = vm::Value::nil();
}

}  // namespace detail

// --- crossing --------------------------------------------------------------------------

namespace {

struct ToHost {
  vm::TaskState& t;
  std::string_view function, param;  // what the value is, for an error: "geo.area(): sides"
  std::string what() const { return std::string(function) + ": " + std::string(param); }
  std::vector<const vm::Obj*> path;  // the containers being copied, to find a cycle

  Value copy(vm::Value v) {
    switch (v.tag) {
      case vm::Tag::Nil: return Value();
      case vm::Tag::Bool: return Value(v.b);
      case vm::Tag::Int: return Value(v.i);
      case vm::Tag::Float: return Value(v.f);
      case vm::Tag::String: return Value(std::string(v.as_string()->view()));
      case vm::Tag::List: {
        enter(v.o);
        Value::List items;
        items.reserve(v.as_list()->items.size());
        for (vm::Value item : v.as_list()->items) items.push_back(copy(item));
        path.pop_back();
        return Value(std::move(items));
      }
      case vm::Tag::Map: {
        enter(v.o);
        Value::Map entries;
        entries.reserve(v.as_map()->count);
        for (const vm::Map::Entry& e : v.as_map()->entries) {
          if (e.key.is(vm::Tag::Undef)) continue;
          // A frozen list or map key stays one value, as it is in the script.
          Value key = e.key.is_obj() && !e.key.is(vm::Tag::String) ? opaque(e.key) : copy(e.key);
          entries.emplace_back(std::move(key), copy(e.value));
        }
        path.pop_back();
        return Value::map(std::move(entries));
      }
      default: return opaque(v);
    }
  }

  void enter(const vm::Obj* o) {
    if (std::find(path.begin(), path.end(), o) != path.end())
      t.raise("ValueError", what() + " contains itself, so it cannot be passed to the host");
    if (path.size() >= size_t(HostValues::kMaxDepth))
      t.raise("ValueError", what() + " nests more than " + std::to_string(HostValues::kMaxDepth) +
                                " lists and maps deep, too deep to pass to the host");
    path.push_back(o);
  }

  Value opaque(vm::Value v) {
    rt::Runtime& rt = rt::runtime_of(t);
    auto o = std::make_shared<detail::Opaque>();
    o->type = vm::type_name(v);
    o->text = vm::to_str(v);
    o->runtime = &rt;
    o->live = rt.liveness;
    o->message = vm::pack(v);
    return HostValues::make_opaque(std::move(o));
  }
};

struct ToScript {
  vm::TaskState& t;
  int depth = 0;

  vm::Value build(const Value& v) {
    using K = Value::Kind;
    switch (v.kind()) {
      case K::Nil: return vm::Value::nil();
      case K::Bool: return vm::Value::boolean(v.as_bool());
      case K::Int: return vm::Value::integer(v.as_int());
      case K::Float: return vm::Value::number(v.as_float());
      case K::String:
        if (v.as_string().size() >= stdlib::kMaxStringBytes)
          t.raise("OverflowError", "a string from the host is longer than a string can be (2 GiB)");
        return vm::Value::object(t.heap.string(v.as_string()));
      case K::List: {
        Guard g(*this);
        vm::List* list = t.heap.list();
        vm::Value out = vm::Value::object(list);
        list->items.reserve(v.items().size());
        for (const Value& item : v.items()) list->items.push_back(build(item));
        return out;
      }
      case K::Map: {
        Guard g(*this);
        vm::Map* map = t.heap.map();
        vm::Value out = vm::Value::object(map);
        for (const auto& [key, value] : v.entries()) vm::map_set(map, build(key), build(value));
        return out;
      }
      case K::Other: {
        const detail::Opaque& o = HostValues::opaque_of(v);
        if (o.runtime != &rt::runtime_of(t))
          t.raise("TypeError", "a " + o.type + " of another runtime cannot be passed to this one");
        return vm::copy_into(t.heap, o.message.value);
      }
    }
    return vm::Value::nil();
  }

  struct Guard {
    ToScript& s;
    explicit Guard(ToScript& self) : s(self) {
      if (++s.depth > HostValues::kMaxDepth)
        s.t.raise("ValueError", "a value from the host nests more than " + std::to_string(HostValues::kMaxDepth) +
                                    " lists and maps deep");
    }
    ~Guard() { s.depth--; }
  };
};

}  // namespace

Value HostValues::make_opaque(std::shared_ptr<const detail::Opaque> o) {
  return Value(Value::Kind::Other, std::move(o));
}

const detail::Opaque& HostValues::opaque_of(const Value& v) {
  return *static_cast<const detail::Opaque*>(v.box_.get());
}

Value HostValues::to_host(vm::TaskState& t, vm::Value v, std::string_view function, std::string_view param) {
  return ToHost{t, function, param, {}}.copy(v);
}

vm::Value HostValues::to_script(vm::TaskState& t, const Value& v) { return ToScript{t}.build(v); }

}  // namespace tsk
