// The module table: which modules are loaded, which are loading and by which task, who
// waits for them, and the import chains along which cycles are found (SPEC §4).
//
// Model. A file module's entry is Loading, then Loaded; or, when its body fails, it is
// removed, so nothing of the module stays reachable and a later import runs it afresh.
// The first task to import a module is its loader: it runs the body in an import frame
// (Runtime::import, then finish_import or abort_import). Another task importing it
// meanwhile parks on the entry (WaitInfo::Import) and is woken when the loader ends: it
// runs its IMPORT again and finds the module loaded, or it raises the loader's error. A
// loader that was cancelled did not fail the module: its waiters import again, and the
// first of them to run becomes the loader.
//
// Chains. The entries a task is loading form a stack, its import chain, linked from the
// innermost through Entry::importer. A module reached again along one chain is a cycle.
// Chains of different tasks meet only where a task waits: a task about to wait for a
// module whose loader waits (directly, or through the loaders of the modules it waits
// for) for a module this task is loading would never be woken, so that is a cycle too,
// reported to the task that closes it. Cycles are ImportErrors raised before any body
// runs a second time.
//
// The main script is the root of the main task's chain for the length of a run, so a
// script importing itself, directly or through other modules, is a cycle. Another task
// importing the main script gets an ImportError: it would wait for the whole program.
//
// Locking: `lock_` guards everything below it. Lock order: Runtime::module_mutex (the
// shared heap), then `lock_`. Nothing is woken while `lock_` is held.
// Rejected: one runtime-wide "loading" list (what tsk had first): four tasks importing
// one module saw each other's load as a cycle.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "vm/value.hpp"

namespace tsk::vm { class Task; }

namespace tsk::rt {

class Runtime;

class ModuleTable {
 public:
  explicit ModuleTable(Runtime& runtime) : runtime_(runtime) {}

  // What an import of a key finds.
  struct Found {
    enum Kind {
      Loaded,   // `module` is ready
      Absent,   // nobody has it: call begin again with a fresh module to load it
      Load,     // the task is now its loader: run `module`'s body, then call end
      Wait,     // the task is parked until the loader ends (vm::TaskState::suspended is set)
      Refused,  // raise `error_kind`: `message` (a cycle, the main script, no way to park)
    } kind = Absent;
    vm::Module* module = nullptr;
    const char* error_kind = "ImportError";
    std::string message;
  };

  // The module loaded under `key`, or null.
  vm::Module* loaded(const std::string& key);
  // Records a module that needs no loading (a standard module), unless one is there.
  // Returns the module under `key` afterwards.
  vm::Module* add_loaded(const std::string& key, vm::Module* m);

  // An import of `key` by `task`. With `fresh` (a new module, path set), an absent key
  // is registered as loading by `task` on top of its chain. `can_park`: the task may
  // park here (it runs as a task, not inside a native's callback).
  Found begin(vm::TaskState& task, const std::string& key, vm::Module* fresh, bool can_park);
  // How a load ended.
  enum class Outcome : uint8_t {
    Loaded,     // its waiters find it loaded
    Failed,     // its waiters raise a copy of the error (retry when it is Cancelled)
    Abandoned,  // the run ended inside it (os.exit): its waiters stay parked for good
  };
  // The innermost module `m` of `task`'s chain has ended its load. Pops it off the
  // chain; unless it loaded, it leaves the table. Wakes its waiters.
  void end(vm::TaskState& task, vm::Module* m, Outcome outcome, vm::Error* error = nullptr);
  // A task parked on an import runs again (woken, cancelled, or told of a deadlock):
  // forgets its wait if the loader has not already.
  void forget_wait(vm::TaskState& task);

  // The main script `m` under `key` is the root of the main task's chain while it runs.
  void enter_main(vm::TaskState& main, const std::string& key, vm::Module* m);
  void leave_main(vm::TaskState& main);

  void clear();

 private:
  struct Entry {
    enum State : uint8_t { Loading, Loaded } state = Loading;
    bool main_script = false;
    std::string key;
    vm::Module* module = nullptr;
    vm::TaskState* loader = nullptr;        // while Loading
    Entry* importer = nullptr;         // the next entry down its loader's chain
    std::vector<vm::TaskState*> waiters;    // parked on it; each holds a reference to its host
  };
  // A task's part in imports; present only while it loads or waits for something.
  struct TaskImports {
    Entry* top = nullptr;              // the innermost entry of its chain
    Entry* waits_for = nullptr;        // the entry it is parked on
    uint64_t gen = 0;                  // the generation of that wait
  };

  // "a.tsk -> b.tsk -> a.tsk": the cycle that `task`, waiting for (or loading) `target`,
  // would close. Empty if there is none.
  std::string find_cycle(vm::TaskState& task, Entry* target);
  // The paths of the entries of a chain from `from` up to `top` (both included).
  static void append_segment(std::vector<std::string>& out, Entry* top, Entry* from);
  void forget_task_if_idle(vm::TaskState* task);

  Runtime& runtime_;
  std::mutex lock_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;   // by canonical path or "std:NAME"
  std::unordered_map<vm::TaskState*, TaskImports> tasks_;
};

}  // namespace tsk::rt
