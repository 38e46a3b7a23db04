// Allocation and mark-sweep collection of one heap (see vm/heap.hpp). Objects are
// malloc'ed individually and threaded on one list; sweep walks it. A heap never moves
// objects, so a Value stays valid for as long as it is reachable from the roots.
#include "vm/heap.hpp"

#include <cstdlib>
#include <new>

#include "vm/proto.hpp"

namespace tsk::vm {

namespace {

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
    case Tag::Chan: case Tag::Task: return sizeof(Handle);
    default: return sizeof(Obj);
  }
}

}  // namespace

Heap::~Heap() { free_all(); }

void Heap::free_all() {
  while (objects_) {
    Obj* next = objects_->next;
    free_object(objects_);
    objects_ = next;
  }
  bytes_ = 0;
  extras_.reset();
}

template <class T>
T* Heap::alloc(Tag tag, size_t extra) {
  void* mem = std::malloc(sizeof(T) + extra);
  if (!mem) throw std::bad_alloc();
  T* obj = new (mem) T();
  obj->tag = tag;
  obj->flags = shared_ ? kShared : 0;
  obj->next = objects_;
  objects_ = obj;
  bytes_ += sizeof(T) + extra;
  return obj;
}

String* Heap::string(std::string_view bytes) {
  String* s = alloc<String>(Tag::String, bytes.size() + 1);
  s->len = uint32_t(bytes.size());
  s->hash = hash_bytes(bytes);
  if (!bytes.empty()) std::memcpy(s->data(), bytes.data(), bytes.size());
  s->data()[bytes.size()] = 0;
  s->flags |= kFrozen;
  return s;
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
  return e;
}

Module* Heap::module(String* name) {
  Module* m = alloc<Module>(Tag::Module);
  m->name = name;
  m->flags |= kFrozen;  // scripts can never assign through a module value
  return m;
}

Handle* Heap::handle(Tag tag, Shared* target) {
  Handle* h = alloc<Handle>(tag);
  target->retain();
  h->target = target;
  h->flags |= kFrozen;  // a channel or task handle is shared, never copied
  return h;
}

void Heap::adopt(Heap& other) {
  if (!other.objects_) return;
  Obj* last = other.objects_;
  while (last->next) last = last->next;
  last->next = objects_;
  objects_ = other.objects_;
  bytes_ += other.bytes_;
  other.objects_ = nullptr;
  other.bytes_ = 0;
}

void Heap::free_object(Obj* o) {
  switch (o->tag) {
    case Tag::Chan:
    case Tag::Task: static_cast<Handle*>(o)->target->release(); break;
    case Tag::List: static_cast<List*>(o)->~List(); break;
    case Tag::Map: static_cast<Map*>(o)->~Map(); break;
    case Tag::Error: static_cast<Error*>(o)->~Error(); break;
    case Tag::Module: static_cast<Module*>(o)->~Module(); break;
    default: break;  // the others are trivially destructible
  }
  std::free(o);
}

void Heap::mark(Obj* o) {
  if (o->flags & (kMarked | kShared)) return;
  o->flags |= kMarked;
  extras().gray.push_back(o);
}

void Heap::trace() {
  if (!extras_) return;
  std::vector<Obj*>& gray = extras_->gray;
  while (!gray.empty()) {
    Obj* o = gray.back();
    gray.pop_back();
    switch (o->tag) {
      case Tag::List:
        for (Value v : static_cast<List*>(o)->items) mark(v);
        break;
      case Tag::Map:
        for (auto& e : static_cast<Map*>(o)->entries) {
          mark(e.key);
          mark(e.value);
        }
        break;
      case Tag::Closure: {
        auto* c = static_cast<Closure*>(o);
        for (uint32_t i = 0; i < c->ncells; i++)
          if (c->cells()[i]) mark(c->cells()[i]);
        if (c->module) mark(c->module);
        break;
      }
      case Tag::Cell: mark(static_cast<Cell*>(o)->value); break;
      case Tag::Error: {
        auto* e = static_cast<Error*>(o);
        if (e->kind) mark(e->kind);
        if (e->message) mark(e->message);
        break;
      }
      case Tag::Module: {
        auto* m = static_cast<Module*>(o);
        if (m->name) mark(m->name);
        for (Value v : m->globals) mark(v);
        if (m->exports) mark(m->exports);
        break;
      }
      default: break;
    }
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
    if (o->flags & kMarked) {
      o->flags &= ~kMarked;
      live += object_size(o);
      link = &o->next;
    } else {
      *link = o->next;
      free_object(o);
    }
  }
  bytes_ = live;
  threshold_ = std::max<size_t>(256 * 1024, live * 2);
}

}  // namespace tsk::vm
