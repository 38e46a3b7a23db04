// Values and heap objects: the representation every part of the VM shares.
//
// A Value is 16 bytes: a tag and a payload (as Lua's TValue). The tag names the value's
// type directly, heap types included, so a type check is one compare (`v.is(Tag::List)`)
// and never a pointer chase. NaN-boxing was rejected: ints are full 64-bit (SPEC §2), so
// they would not fit in a NaN payload without a second representation.
//
// Heap objects start with `Obj`. Each lives in exactly one of three places:
//  - a task's `Heap` (vm/heap.hpp), traced and swept by that task alone;
//  - the runtime's immortal area (flag kShared): immutable objects that every
//    task may read (constant strings, natives, loaded modules' globals);
//  - a counted shared object (flags kShared | kCounted): data that `freeze` published
//    (vm/transfer.hpp). Immutable, read by any task, freed when its reference count —
//    edges from other counted objects plus one per heap that holds it — drops to zero.
// A task's collector never marks through or frees a shared object.
// Invariants: a shared object never points to a task-owned object; nothing sets a flag
// of a shared object (its flags word is read by every thread); only kFrozen objects are
// ever shared.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lang/ast.hpp"
#include "vm/sync.hpp"

namespace tsk::vm {

struct Proto;
struct NativeEntry;

// Order matters: every tag from String on is a heap object.
enum class Tag : uint8_t {
  Undef,  // internal only: a module global not yet declared; never visible to scripts
  Nil, Bool, Int, Float,
  String, List, Map, Range, Closure, Native, Cell, Error, Module, Chan, Task,
  IoHandle,  // an open file, socket, listener or process (SPEC §15; runtime/io_handle.hpp)
};
inline constexpr int kTagCount = int(Tag::IoHandle) + 1;

enum ObjFlags : uint8_t {
  kMarked = 1,   // reached in the current collection
  kFrozen = 2,   // immutable: freeze() was applied (strings, natives, modules always are)
  kShared = 4,   // not owned by a task heap: immortal, or counted (kCounted)
  kCounted = 8,  // a published frozen object, freed by reference counting
};

struct Obj {
  Obj* next;     // the owning heap's list of all its objects (unused once unlinked)
  Tag tag;
  uint8_t flags;
  // References to a kCounted object (std::atomic_ref: the header stays trivially
  // copyable and packs into the padding beside tag and flags, so it costs no space).
  uint32_t refs;
  bool frozen() const { return flags & kFrozen; }
  bool counted() const { return flags & kCounted; }
};

// Bytes of list and map storage allocated minus freed on this thread: the collector's
// pacing signal for memory that grows inside objects (a list's items) rather than as new
// objects. A heap reads the difference over the time its task runs (Heap::should_collect).
// Per thread, never per runtime: it counts, it owns nothing, and a task reads it only
// between two points of one run on one worker.
inline thread_local int64_t storage_meter = 0;

// The allocator of list and map storage: std::allocator, metered.
template <class T>
struct MeteredAllocator {
  using value_type = T;
  MeteredAllocator() = default;
  template <class U> MeteredAllocator(const MeteredAllocator<U>&) {}
  T* allocate(size_t n) {
    T* p = std::allocator<T>().allocate(n);
    storage_meter += int64_t(n * sizeof(T));
    return p;
  }
  void deallocate(T* p, size_t n) {
    storage_meter -= int64_t(n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <class U> bool operator==(const MeteredAllocator<U>&) const { return true; }
};

struct String;
struct List;
struct Map;
struct Range;
struct Closure;
struct Native;
struct Cell;
struct Error;
struct Module;
struct Handle;
class TaskState;

// A runtime object that several tasks hold at once (a channel, a task): reference
// counted, destroyed when the last handle to it is released. Task heaps refer to one
// through a `Handle` object each, so every heap still owns only its own objects.
struct RefCounted {
  std::atomic<int32_t> refs{1};  // 4 bytes: a derived class packs its first field beside it
  virtual ~RefCounted() = default;
  // str() of a handle to it: "<chan 3>", "<task 4 worker at calc.tsk:15>".
  virtual std::string describe() const = 0;
  void retain() { refs.fetch_add(1, std::memory_order_relaxed); }
  void release() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

struct Value {
  // The tag shares its 8 bytes with `tag_word_` so that every constructor writes the
  // whole first word at once: a 1-byte tag store followed by a 16-byte copy of the Value
  // would defeat store-to-load forwarding and stall the interpreter on every operation.
  union {
    Tag tag;
    uint64_t tag_word_;
  };
  union {
    bool b;
    int64_t i;
    double f;
    Obj* o;
  };

  Value() : tag_word_(uint64_t(Tag::Nil)), i(0) {}
  // Copies move two 8-byte words, never one 16-byte vector: the interpreter writes tag
  // and payload separately, and a 16-byte load of two 8-byte stores (or the reverse)
  // cannot be store-forwarded, which stalls every global or register round trip.
  Value(const Value& o) : tag_word_(o.tag_word_), i(o.i) {}
  Value& operator=(const Value& o) {
    tag_word_ = o.tag_word_;
    i = o.i;
    return *this;
  }
  Value(Tag t, int64_t payload) : tag_word_(uint64_t(t)), i(payload) {}
  static Value nil() { return Value(); }
  static Value undef() { return Value(Tag::Undef, 0); }
  static Value boolean(bool x) { return Value(Tag::Bool, x ? 1 : 0); }
  static Value integer(int64_t x) { return Value(Tag::Int, x); }
  static Value number(double x) { Value v(Tag::Float, 0); v.f = x; return v; }
  static Value object(Obj* obj) { Value v(obj->tag, 0); v.o = obj; return v; }

  bool is(Tag t) const { return tag == t; }
  bool is_nil() const { return tag == Tag::Nil; }
  bool is_obj() const { return tag >= Tag::String; }
  bool is_number() const { return tag == Tag::Int || tag == Tag::Float; }
  bool truthy() const { return !(tag == Tag::Nil || (tag == Tag::Bool && !b)); }
  // Immutable values cross tasks without copying (SPEC §6).
  bool immutable() const { return !is_obj() || o->frozen(); }

  String* as_string() const { return reinterpret_cast<String*>(o); }
  List* as_list() const { return reinterpret_cast<List*>(o); }
  Map* as_map() const { return reinterpret_cast<Map*>(o); }
  Range* as_range() const { return reinterpret_cast<Range*>(o); }
  Closure* as_closure() const { return reinterpret_cast<Closure*>(o); }
  Native* as_native() const { return reinterpret_cast<Native*>(o); }
  Cell* as_cell() const { return reinterpret_cast<Cell*>(o); }
  Error* as_error() const { return reinterpret_cast<Error*>(o); }
  Module* as_module() const { return reinterpret_cast<Module*>(o); }
  Handle* as_handle() const { return reinterpret_cast<Handle*>(o); }
  double to_double() const { return tag == Tag::Int ? double(i) : f; }
};

// Immutable bytes (not necessarily valid UTF-8) with a cached hash; the bytes follow the
// header in the same allocation and are NUL-terminated for convenience.
struct String : Obj {
  uint32_t len;
  uint32_t hash;
  char* data() { return reinterpret_cast<char*>(this + 1); }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view view() const { return {data(), len}; }
};

using ValueVector = std::vector<Value, MeteredAllocator<Value>>;

struct List : Obj {
  ValueVector items;
};

// An insertion-ordered hash map (as CPython's compact dict): `entries` in insertion
// order, `slots` an open-addressed index into it. A deleted entry keeps its place with
// key Undef until the next rebuild. Keys compare with `==` (1 and 1.0 are one key).
struct Map : Obj {
  struct Entry {
    Value key;
    Value value;
    uint64_t hash;
  };
  std::vector<Entry, MeteredAllocator<Entry>> entries;
  std::vector<int32_t, MeteredAllocator<int32_t>> slots;  // -1 empty, -2 deleted, else an index into entries
  uint32_t count = 0;          // live entries
  // Bumped when a key is added or deleted (not when a value is set): a `for` over the
  // map keeps the value it started with beside its cursor and raises ValueError at its
  // next step when it changed (SPEC §4). Fits in the padding after `count`.
  uint32_t changes = 0;
};

struct Range : Obj {
  int64_t start, stop;
  bool inclusive;
};

// A script function: its code and the cells it captured (one per Proto::captures entry).
struct Closure : Obj {
  Proto* proto;
  Module* module;  // whose globals GETG/SETG address
  uint32_t ncells;
  Cell** cells() { return reinterpret_cast<Cell**>(this + 1); }
};

struct Native : Obj {
  const NativeEntry* entry;
};

// A heap's reference to a RefCounted runtime object (tags Chan, Task and IoHandle). Two handles are
// the same value when they refer to the same target. The handle holds one reference.
struct Handle : Obj {
  RefCounted* target;
};

// A boxed variable shared by a frame and the closures that captured it.
struct Cell : Obj {
  Value value;
};

// One line of a traceback.
struct TraceLine {
  std::string function;  // "<main>", a function name, or "<fn>"; empty for a note line
  std::string file;
  lang::Loc loc;
  std::string note;      // when non-empty the whole line, e.g. "in task 4 spawned at f.tsk:15:5"
};

// Errors are immutable to scripts (SPEC §5) and born frozen. Crossing a task boundary
// copies one (its trace grows by the crossing's lines), so identity is `id`, kept by
// every copy: `==`, hashing and map keys use it.
struct Error : Obj {
  uint64_t id = 0;
  String* kind;
  String* message;
  std::vector<TraceLine> trace;
  bool traced = false;  // set when the trace was recorded; a rethrow keeps it
  // A LimitError (SPEC §5, §16): a limit of the run ran out. No catch and no finally
  // stops it (a finally could loop), so it ends the run; a scope's end still waits for
  // the scope's tasks on its way. Copies keep it.
  bool limit = false;
  // An error arriving from another task already ends with "at f (spawn site)": when the
  // receiving task's innermost frame is that same function f, recording leaves it out.
  const Proto* skip_innermost = nullptr;
};

// A loaded module: a file module's globals (slots addressed by GETG/SETG, named by
// `names`) or a standard module's members. Exports are the names with `exported` set.
struct Module : Obj {
  String* name;
  std::string path;            // the file for a file module, "" for a standard one
  struct Global {
    std::string name;
    bool exported;             // top-level let and fn
    bool mutable_;             // var
  };
  std::vector<Global> names;
  std::vector<Value> globals;  // parallel to names; Undef until the declaration runs
  Map* exports = nullptr;      // exported name -> int slot index, for `module.name`
  bool loaded = false;         // its top-level code has finished
  bool imported = false;       // loaded by IMPORT (its owner gives it up), not a main script
  // Modules live in the runtime's immortal area. Their globals live in the heap of the
  // task that owns them: the main script's belong to the main task, a loading module's
  // to the task importing it. Once an imported module has loaded, its globals are moved
  // into the immortal area, frozen, and `owner` becomes null: then every task may read them.
  // A module that failed to load gives up its globals too: they become Undef, its owner
  // null, and `loaded` stays false.
  //
  // The owner changes once, only on an imported module, only by the owner itself and
  // only while it holds `owner_lock`; it stores null last (release). A task reading an
  // imported module's global while it is owned holds `owner_lock` for the whole read, so
  // it sees either the owned state (and the owner, kept from collecting by its
  // gc_mutex, cannot give the module up meanwhile) or, after an acquire load of null,
  // the final globals. A main script's owner never changes.
  std::atomic<TaskState*> owner{nullptr};
  vm::Mutex owner_lock;
  // Bumped around every write of a global by the owner (odd while writing), so another
  // task can read a 16-byte slot without tearing (a sequence lock).
  std::atomic<uint32_t> seq{0};
};

}  // namespace tsk::vm
