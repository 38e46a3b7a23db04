// Deep copy across heaps (see vm/transfer.hpp). Iterative with an explicit work list, so
// deeply nested data never grows the C++ stack; a memo of copied objects keeps cycles
// and shared substructure intact.
#include "vm/transfer.hpp"

#include <cassert>
#include <unordered_map>
#include <vector>

#include "vm/ops.hpp"
#include "vm/proto.hpp"

namespace tsk::vm {

namespace {

bool needs_copy(Value v) { return v.is_obj() && !(v.o->flags & kShared); }

// Makes every unshared object reachable from `root` a counted shared object: each starts
// with one reference, its heap list's (dropped when its heap next sweeps it off the
// list), plus one per edge from another counted object.
// True when the unshared objects reachable from `root` form a cycle. Only a freeze can
// close a cycle among counted objects (they are immutable, and newer ones can only point
// to older ones), so checking what one publish would claim is enough.
bool has_cycle(Obj* root) {
  enum State : uint8_t { Open, Done };
  std::unordered_map<Obj*, State> state;
  std::vector<std::pair<Obj*, std::vector<Obj*>>> path;  // depth-first, children pending
  auto enter = [&](Obj* o) {
    state[o] = Open;
    std::vector<Obj*> children;
    for_each_child(o, [&](Obj* c) { if (!(c->flags & kShared)) children.push_back(c); });
    path.emplace_back(o, std::move(children));
  };
  enter(root);
  while (!path.empty()) {
    auto& [o, children] = path.back();
    if (children.empty()) {
      state[o] = Done;
      path.pop_back();
      continue;
    }
    Obj* c = children.back();
    children.pop_back();
    auto it = state.find(c);
    if (it == state.end()) enter(c);
    else if (it->second == Open) return true;
  }
  return false;
}

void publish(Obj* root) {
  if (root->flags & kShared) return;
  // Reference counts cannot free a cycle: frozen cyclic data stays in its task's heap,
  // and crosses tasks by copy (with its shape) as mutable data does.
  if (has_cycle(root)) return;
  std::vector<Obj*> todo;
  auto claim = [&todo](Obj* o) {
    assert(o->frozen() && "only frozen objects are shared");
    // A short string's hash is cached now, while it is still this task's alone: once
    // shared, nothing writes it (hash_string in vm/ops.cpp). A long one is hashed at
    // each use as a key, as in the immortal area.
    if (o->tag == Tag::String && static_cast<String*>(o)->len <= 256) hash(Value::object(o));
    o->flags |= kShared | kCounted;
    o->refs = 1;
    todo.push_back(o);
  };
  claim(root);
  while (!todo.empty()) {
    Obj* o = todo.back();
    todo.pop_back();
    for_each_child(o, [&](Obj* child) {
      if (!(child->flags & kShared)) claim(child);
      if (child->counted()) retain_shared(child);
    });
  }
}

class Copier {
 public:
  explicit Copier(Heap& into) : into_(into) {}

  Value copy(Value root) {
    // An object with nothing to copy inside it (a string, a function that captured
    // nothing, a handle: a spawn's callee and most arguments) cannot be reached twice,
    // so it needs no memo and no work list, whose allocations cost more than the copy.
    if (is_leaf(root.o)) return Value::object(make(root));
    Value out = shallow(root);
    while (!todo_.empty()) {
      auto [from, to] = todo_.back();
      todo_.pop_back();
      fill(from, to);
    }
    return out;
  }

 private:
  static bool is_leaf(const Obj* o) {
    switch (o->tag) {
      case Tag::List: case Tag::Map: case Tag::Cell: return false;
      case Tag::Closure: return static_cast<const Closure*>(o)->ncells == 0;
      default: return true;
    }
  }

  // A copy of v's object with its children not yet filled in (queued instead).
  Value shallow(Value v) {
    if (!needs_copy(v)) {
      if (v.is_obj()) into_.hold(v.o);
      return v;
    }
    auto it = memo_.find(v.o);
    if (it != memo_.end()) return Value::object(it->second);
    Obj* copy = make(v);
    if (copy == v.o) return v;  // modules are always shared
    memo_.emplace(v.o, copy);
    if (v.tag == Tag::List || v.tag == Tag::Map || v.tag == Tag::Closure || v.tag == Tag::Cell)
      todo_.emplace_back(v.o, copy);
    return Value::object(copy);
  }

  // A new object in `into_` like v's (an unshared object), its children not filled in.
  Obj* make(Value v) {
    Obj* copy = nullptr;
    switch (v.tag) {
      case Tag::String: copy = into_.string(v.as_string()->view()); break;
      case Tag::List: copy = into_.list(); break;
      case Tag::Map: copy = into_.map(); break;
      case Tag::Range: {
        Range* r = v.as_range();
        copy = into_.range(r->start, r->stop, r->inclusive);
        break;
      }
      case Tag::Closure: {
        Closure* c = v.as_closure();
        copy = into_.closure(c->proto, c->module, c->ncells);
        break;
      }
      case Tag::Native: copy = into_.native(v.as_native()->entry); break;
      case Tag::Cell: copy = into_.cell(Value::nil()); break;
      case Tag::Error: copy = clone_error(into_, v.as_error()); break;
      case Tag::Chan:
      case Tag::IoHandle:
      case Tag::Task: copy = into_.handle(v.tag, v.as_handle()->target); break;
      default: return v.o;  // modules are always shared
    }
    copy->flags |= (v.o->flags & kFrozen);
    return copy;
  }

  void fill(Obj* from, Obj* to) {
    switch (from->tag) {
      case Tag::List: {
        auto& src = static_cast<List*>(from)->items;
        auto& dst = static_cast<List*>(to)->items;
        dst.reserve(src.size());
        for (Value item : src) dst.push_back(shallow(item));
        break;
      }
      case Tag::Map: {
        Map* dst = static_cast<Map*>(to);
        for (auto& e : static_cast<Map*>(from)->entries) {
          if (e.key.tag == Tag::Undef) continue;
          map_set(dst, shallow(e.key), shallow(e.value));
        }
        break;
      }
      case Tag::Closure: {
        auto* src = static_cast<Closure*>(from);
        auto* dst = static_cast<Closure*>(to);
        for (uint32_t i = 0; i < src->ncells; i++)
          dst->cells()[i] = src->cells()[i] ? shallow(Value::object(src->cells()[i])).as_cell() : nullptr;
        break;
      }
      case Tag::Cell:
        static_cast<Cell*>(to)->value = shallow(static_cast<Cell*>(from)->value);
        break;
      default: break;
    }
  }

  Heap& into_;
  std::unordered_map<Obj*, Obj*> memo_;
  std::vector<std::pair<Obj*, Obj*>> todo_;
};

}  // namespace

Value copy_into(Heap& into, Value v) {
  if (!needs_copy(v)) {
    if (v.is_obj()) into.hold(v.o);
    return v;
  }
  return Copier(into).copy(v);
}

Error* clone_error(Heap& into, const Error* e) {
  Error* copy = into.error(into.string(e->kind->view()), into.string(e->message->view()));
  copy->id = e->id;
  copy->trace = e->trace;
  copy->traced = e->traced;
  copy->limit = e->limit;
  copy->skip_innermost = e->skip_innermost;
  return copy;
}

void freeze_deep(Value root) {
  if (!root.is_obj() || (root.o->flags & kShared)) return;
  // Sets kFrozen on what is mutable; an object already frozen was frozen deeply (or is
  // immutable by nature), which also ends cycles. Then everything is published.
  std::vector<Obj*> todo;
  auto visit = [&todo](Obj* o) {
    if (o->frozen() || (o->flags & kShared)) return;
    switch (o->tag) {
      case Tag::List: case Tag::Map: case Tag::Closure: case Tag::Cell:
        o->flags |= kFrozen;
        todo.push_back(o);
        break;
      default: o->flags |= kFrozen; break;  // immutable by nature; never reached unfrozen
    }
  };
  visit(root.o);
  while (!todo.empty()) {
    Obj* o = todo.back();
    todo.pop_back();
    for_each_child(o, visit);
  }
  publish(root.o);
}

void Message::drop_object() {
  if (value.o->counted()) release_shared(value.o);
}

Message pack_object(Value v) {
  Message m;
  if (!needs_copy(v)) {
    if (v.is_obj() && v.o->counted()) retain_shared(v.o);
    m.value = v;
    return m;
  }
  m.heap = std::make_unique<Heap>(false);
  m.value = copy_into(*m.heap, v);
  return m;
}

Message pack_error(const Error* e) {
  Message m;
  m.heap = std::make_unique<Heap>(false);
  m.value = Value::object(clone_error(*m.heap, e));
  return m;
}

Value unpack_object(Heap& into, Message& m) {
  Value v = m.value;
  if (m.heap) {
    into.adopt(*m.heap);
    m.heap.reset();
  } else if (v.is_obj()) {
    into.hold_transferred(v.o);  // the message's reference becomes the heap's
  }
  m.value = Value::nil();
  return v;
}

}  // namespace tsk::vm
