// Allocation and mark-sweep collection of one heap (see vm/heap.hpp). Objects are
// malloc'ed individually and threaded on one list; sweep walks it. A heap never moves
// objects, so a Value stays valid for as long as it is reachable from the roots.
#include "vm/heap.hpp"

#include <cstdlib>
#include <new>

#include "vm/check.hpp"
#include "vm/proto.hpp"

namespace tsk::vm {

namespace {

constexpr size_t kCachedHashMax = 256;

// FNV-1a: simple and good enough for keys of a few to a few hundred bytes.
uint32_t hash_bytes(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

size_t object_size(const Obj* o) {
  switch (o->tag) {
    case Tag::String: return sizeof(String) + static_cast<const String*>(o)->len + 1;
    case Tag::List: return sizeof(List) + static_cast<const List*>(o)->items.capacity() * sizeof(Value);
    case Tag::Map: {
      auto* m = static_cast<const Map*>(o);
      return sizeof(Map) + m->entries.capacity() * sizeof(Map::Entry) + m->slots.capacity() * 4;
    }
    case Tag::Closure: return sizeof(Closure) + static_cast<const Closure*>(o)->ncells * sizeof(Cell*);
    case Tag::Range: return sizeof(Range);
    case Tag::Native: return sizeof(Native);
    case Tag::Cell: return sizeof(Cell);
    case Tag::Error: return sizeof(Error);
    case Tag::Module: return sizeof(Module);
    case Tag::Chan: case Tag::Task: case Tag::IoHandle: return sizeof(Handle);
    default: return sizeof(Obj);
  }
}

void free_object(Obj* o) {
  switch (o->tag) {
    case Tag::Chan:
    case Tag::IoHandle:
    case Tag::Task: static_cast<Handle*>(o)->target->release(); break;
    case Tag::List: static_cast<List*>(o)->~List(); break;
    case Tag::Map: static_cast<Map*>(o)->~Map(); break;
    case Tag::Error: static_cast<Error*>(o)->~Error(); break;
    case Tag::Module: static_cast<Module*>(o)->~Module(); break;
    default: break;  // the others are trivially destructible
  }
  std::free(o);
}

}  // namespace

void release_shared(Obj* o) {
  // Iterative, so a long chain of frozen lists frees without recursion. A counted object
  // whose count reached zero has left its heap's list, so its `next` links the work list.
  Obj* work = nullptr;
  auto drop = [&work](Obj* x) {
    if (!x->counted()) return;
    // The count as it was before this decrement: zero would mean a reference dropped twice.
    uint32_t before = std::atomic_ref<uint32_t>(x->refs).fetch_sub(1, std::memory_order_acq_rel);
    TSK_CHECK(before != 0, "a counted object's reference count never goes below zero");
    if (before == 1) {
      x->next = work;
      work = x;
    }
  };
  drop(o);
  while (Obj* x = work) {
    work = x->next;
    for_each_child(x, drop);
    free_object(x);
  }
}

Heap::~Heap() { free_all(); }

void Heap::free_all() {
  // Held objects first: what they point to may be this heap's (the runtime's immortal area
  // holds frozen module globals whose closures point to its modules).
  if (extras_)
    for (auto& [o, collection] : extras_->held) release_shared(o);
  extras_.reset();
  while (objects_) {
    Obj* next = objects_->next;
    // A published object still on the list: drop the list's reference.
    if (objects_->counted()) release_shared(objects_);
    else free_object(objects_);
    objects_ = next;
  }
  bytes_ = 0;
}

template <class T>
T* Heap::alloc(Tag tag, size_t extra) {
  void* mem = std::malloc(sizeof(T) + extra);
  if (!mem) throw std::bad_alloc();
  T* obj = new (mem) T();
  obj->tag = tag;
  obj->flags = immortal() ? kShared : 0;
  obj->next = objects_;
  objects_ = obj;
  bytes_ += sizeof(T) + extra;
  return obj;
}

String* Heap::string(std::string_view bytes) {
  String* s = alloc<String>(Tag::String, bytes.size() + 1);
  s->len = uint32_t(bytes.size());
  // A task's string is hashed when it is first used as a key (hash_string in
  // vm/ops.cpp treats 0 as "not cached" and caches it then): most strings a program
  // builds (pieces of a concatenation, output lines) never are. The immortal area's
  // strings (constants, shared by every task, never written again) are hashed here when
  // short; a long string is hashed only when used, and never cached there.
  s->hash = immortal() && bytes.size() <= kCachedHashMax ? hash_bytes(bytes) : 0;
  if (!bytes.empty()) std::memcpy(s->data(), bytes.data(), bytes.size());
  s->data()[bytes.size()] = 0;
  s->flags |= kFrozen;
  return s;
}

namespace {

// The 256 one-byte strings of Heap::byte_string. Immutable once made (a function-local
// static, made once, thread-safely); their flags keep every collector and reference
// count away from them.
struct ByteStrings {
  static constexpr size_t kStride = sizeof(String) + 8;  // header, the byte, NUL, padding
  alignas(String) unsigned char storage[256][kStride];
  ByteStrings() {
    for (int b = 0; b < 256; b++) {
      String* s = new (storage[b]) String();
      s->next = nullptr;
      s->tag = Tag::String;
      s->flags = kFrozen | kShared;
      s->refs = 0;
      s->len = 1;
      s->data()[0] = char(b);
      s->data()[1] = 0;
      s->hash = hash_bytes(s->view());
    }
  }
};
static_assert(ByteStrings::kStride % alignof(String) == 0);

}  // namespace

String* Heap::byte_string(unsigned char b) {
  static ByteStrings strings;
  return std::launder(reinterpret_cast<String*>(strings.storage[b]));
}

String* Heap::intern(std::string_view bytes) {
  auto& interned = extras().interned;
  auto it = interned.find(bytes);
  if (it != interned.end()) return it->second;
  String* s = string(bytes);
  interned.emplace(s->view(), s);
  return s;
}

List* Heap::list() { return alloc<List>(Tag::List); }
Map* Heap::map() { return alloc<Map>(Tag::Map); }

Range* Heap::range(int64_t start, int64_t stop, bool inclusive) {
  Range* r = alloc<Range>(Tag::Range);
  r->start = start;
  r->stop = stop;
  r->inclusive = inclusive;
  r->flags |= kFrozen;
  return r;
}

Closure* Heap::closure(Proto* proto, Module* module, uint32_t ncells) {
  Closure* c = alloc<Closure>(Tag::Closure, ncells * sizeof(Cell*));
  c->proto = proto;
  c->module = module;
  c->ncells = ncells;
  for (uint32_t i = 0; i < ncells; i++) c->cells()[i] = nullptr;
  // A function is immutable, but what it captured may not be: only a closure without
  // cells may cross tasks uncopied, so only that one counts as frozen.
  if (ncells == 0) c->flags |= kFrozen;
  return c;
}

Native* Heap::native(const NativeEntry* entry) {
  Native* n = alloc<Native>(Tag::Native);
  n->entry = entry;
  n->flags |= kFrozen;
  return n;
}

Cell* Heap::cell(Value v) {
  Cell* c = alloc<Cell>(Tag::Cell);
  c->value = v;
  return c;
}

Error* Heap::error(String* kind, String* message) {
  Error* e = alloc<Error>(Tag::Error);
  e->kind = kind;
  e->message = message;
  e->flags |= kFrozen;  // immutable to scripts (SPEC §5); only its trace grows, internally
  return e;
}

Module* Heap::module(String* name) {
  Module* m = alloc<Module>(Tag::Module);
  m->name = name;
  m->flags |= kFrozen;  // scripts can never assign through a module value
  return m;
}

Handle* Heap::handle(Tag tag, RefCounted* target) {
  Handle* h = alloc<Handle>(tag);
  target->retain();
  h->target = target;
  h->flags |= kFrozen;  // a channel or task handle is shared, never copied
  return h;
}

void Heap::adopt(Heap& other) {
  if (other.objects_) {
    Obj* last = other.objects_;
    while (last->next) last = last->next;
    last->next = objects_;
    objects_ = other.objects_;
    bytes_ += other.bytes_;
    other.objects_ = nullptr;
    other.bytes_ = 0;
  }
  if (other.extras_) {
    for (auto& [o, collection] : other.extras_->held) hold_transferred(o);
    other.extras_->held.clear();
  }
}

// A new hold is numbered as not reached by the coming collection, which releases it
// unless its marking reaches it.
// A new hold also counts toward the next collection, as an allocation would: a task that
// receives shared data and drops it must collect now and then to release it.
void Heap::hold(Obj* o) {
  if (!o->counted()) return;
  TSK_CHECK(o->frozen(), "only frozen objects are published");
  auto [it, fresh] = extras().held.try_emplace(o, extras_->collection - 1);
  if (fresh) {
    retain_shared(o);
    bytes_ += object_size(o);
  }
}

void Heap::hold_transferred(Obj* o) {
  if (!o->counted()) return;
  TSK_CHECK(o->frozen(), "only frozen objects are published");
  auto [it, fresh] = extras().held.try_emplace(o, extras_->collection - 1);
  if (fresh) bytes_ += object_size(o);
  else release_shared(o);
}

void Heap::reached_shared(Obj* o) {
  Extras& x = extras();
  auto [it, fresh] = x.held.try_emplace(o, x.collection);
  if (fresh) retain_shared(o);
  else it->second = x.collection;
}

void Heap::mark(Obj* o) {
  if (o->flags & (kMarked | kShared)) {
    if (o->counted()) reached_shared(o);
    return;
  }
  o->flags |= kMarked;
  extras().gray.push_back(o);
}

void Heap::trace() {
  if (!extras_) return;
  std::vector<Obj*>& gray = extras_->gray;
  while (!gray.empty()) {
    Obj* o = gray.back();
    gray.pop_back();
    for_each_child(o, [this](Obj* child) { mark(child); });
  }
}

void Heap::unmark_all() {
  for (Obj* o = objects_; o; o = o->next) o->flags &= ~kMarked;
  if (extras_) extras_->gray.clear();
}

void Heap::sweep() {
  Obj** link = &objects_;
  size_t live = 0;
  while (Obj* o = *link) {
    if (o->counted()) {
      // Published since the last sweep: it leaves the list, which drops its reference.
      // If this heap still reaches it, the marking above already holds it.
      TSK_CHECK(o->frozen(), "only frozen objects are published");
      *link = o->next;
      release_shared(o);
    } else if (o->flags & kMarked) {
      o->flags &= ~kMarked;
      live += object_size(o);
      link = &o->next;
    } else {
      TSK_CHECK(!(o->flags & kShared), "a swept object is never shared");
      *link = o->next;
      free_object(o);
    }
  }
  if (extras_) {
    // Release what this collection did not reach; it numbered what it reached.
    auto& held = extras_->held;
    for (auto it = held.begin(); it != held.end();) {
      if (it->second != extras_->collection) {
        release_shared(it->first);
        it = held.erase(it);
      } else {
        ++it;
      }
    }
    extras_->collection++;
  }
  bytes_ = live;
  meter_base_ = storage_meter;
  threshold_ = std::max<size_t>(kFirstThreshold, live * 2);
}

}  // namespace tsk::vm
