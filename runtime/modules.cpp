// The module table (see runtime/modules.hpp): loading, waiting and cycle detection.
#include "runtime/modules.hpp"

#include <algorithm>

#include "runtime/runtime.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/task.hpp"
#include "vm/transfer.hpp"

namespace tsk::rt {

vm::Module* ModuleTable::loaded(const std::string& key) {
  std::lock_guard g(lock_);
  auto it = entries_.find(key);
  return it != entries_.end() && it->second->state == Entry::Loaded ? it->second->module : nullptr;
}

vm::Module* ModuleTable::add_loaded(const std::string& key, vm::Module* m) {
  std::lock_guard g(lock_);
  std::unique_ptr<Entry>& e = entries_[key];
  if (!e) {
    e = std::make_unique<Entry>();
    e->key = key;
    e->module = m;
    e->state = Entry::Loaded;
  }
  return e->module;
}

void ModuleTable::append_segment(std::vector<std::string>& out, Entry* top, Entry* from) {
  std::vector<std::string> down;
  for (Entry* e = top; e; e = e->importer) {
    down.push_back(e->module->path);
    if (e == from) break;
  }
  out.insert(out.end(), down.rbegin(), down.rend());
}

std::string ModuleTable::find_cycle(vm::TaskState& task, Entry* target) {
  std::vector<std::string> path;
  Entry* closing = target;  // the module the cycle reaches again
  if (target->loader == &task) {
    // Reached again along the task's own chain.
    auto it = tasks_.find(&task);
    append_segment(path, it != tasks_.end() ? it->second.top : nullptr, nullptr);
  } else {
    // Follow the loaders' waits: target's loader waits for hops[0], whose loader waits
    // for hops[1], ...; a cycle when one of those is loaded by `task`. The waits form
    // chains without cycles (each wait was checked when it began), so this ends.
    std::vector<Entry*> hops;
    for (vm::TaskState* loader = target->loader;;) {
      auto it = tasks_.find(loader);
      if (it == tasks_.end() || !it->second.waits_for) return "";
      Entry* next = it->second.waits_for;
      hops.push_back(next);
      if (next->loader == &task) break;
      loader = next->loader;
    }
    // The cycle: this task's chain from the module that the last loader waits for, the
    // target, then each loader's chain from the module waited for to its innermost.
    append_segment(path, tasks_[&task].top, hops.back());
    Entry* from = target;
    for (Entry* hop : hops) {
      append_segment(path, tasks_[from->loader].top, from);
      from = hop;
    }
    closing = hops.back();
  }
  path.push_back(closing->module->path);
  std::string text;
  for (const std::string& p : path) text += (text.empty() ? "" : " -> ") + p;
  return text;
}

ModuleTable::Found ModuleTable::begin(vm::TaskState& task, const std::string& key, vm::Module* fresh,
                                      bool can_park) {
  Found found;
  std::lock_guard g(lock_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (!fresh) return found;  // Absent
    auto e = std::make_unique<Entry>();
    e->key = key;
    e->module = fresh;
    e->loader = &task;
    TaskImports& mine = tasks_[&task];
    e->importer = mine.top;
    mine.top = e.get();
    entries_.emplace(key, std::move(e));
    found.kind = Found::Load;
    found.module = fresh;
    return found;
  }
  Entry* e = it->second.get();
  found.module = e->module;
  if (e->state == Entry::Loaded) {
    found.kind = Found::Loaded;
    return found;
  }
  found.kind = Found::Refused;
  if (e->main_script && e->loader != &task) {
    found.message = "cannot import '" + e->module->path + "': it is the main script of the program";
    return found;
  }
  std::string cycle = find_cycle(task, e);
  if (!cycle.empty()) {
    found.message = "import cycle: " + cycle;
    return found;
  }
  if (!can_park) {
    found.error_kind = "Error";
    found.message = "cannot wait for module '" + e->module->path +
                    "' to load inside a function called by a native (such as sort's less) yet";
    return found;
  }
  // Another task is loading it: park until it ends (a wait like any other, so cancel and
  // deadlock detection see it).
  Task& host = host_of(task);
  TaskImports& mine = tasks_[&task];
  mine.waits_for = e;
  mine.gen = host.begin_wait(WaitInfo::on_module(e->module));
  host.retain();
  e->waiters.push_back(&task);
  task.suspended = true;
  found.kind = Found::Wait;
  return found;
}

void ModuleTable::forget_task_if_idle(vm::TaskState* task) {
  auto it = tasks_.find(task);
  if (it != tasks_.end() && !it->second.top && !it->second.waits_for) tasks_.erase(it);
}

void ModuleTable::end(vm::TaskState& task, vm::Module* m, Outcome outcome, vm::Error* error) {
  struct Woken {
    Task* task;
    uint64_t gen;
  };
  std::vector<Woken> woken;
  std::string path;
  {
    std::lock_guard g(lock_);
    auto mine = tasks_.find(&task);
    if (mine == tasks_.end() || !mine->second.top || mine->second.top->module != m) return;
    Entry* e = mine->second.top;
    mine->second.top = e->importer;
    forget_task_if_idle(&task);
    for (vm::TaskState* w : e->waiters) {
      TaskImports& theirs = tasks_[w];
      woken.push_back({&host_of(*w), theirs.gen});
      theirs.waits_for = nullptr;
      forget_task_if_idle(w);
    }
    path = e->module->path;
    if (outcome != Outcome::Loaded) {
      entries_.erase(e->key);  // a failed module leaves nothing behind
    } else {
      e->state = Entry::Loaded;
      e->loader = nullptr;
      e->importer = nullptr;
      e->waiters.clear();
    }
  }
  // A module that failed fails its waiters' imports the same way; one whose loader was
  // cancelled is imported again by them.
  bool retry = outcome == Outcome::Failed && (!error || error->kind->view() == "Cancelled");
  for (Woken& w : woken) {
    if (outcome != Outcome::Abandoned && w.task->claim(w.gen)) {
      if (outcome == Outcome::Failed && !retry) {
        w.task->wake_value = vm::pack(vm::Value::object(error));
        w.task->wake_value.value.as_error()->trace.push_back(vm::TraceLine{
            "", "", {}, "in task " + std::to_string(task.host ? host_of(task).id : 0) + ", which was loading " + path});
      }
      runtime_.scheduler->wake(w.task);
    }
    w.task->release();
  }
}

void ModuleTable::forget_wait(vm::TaskState& task) {
  bool release = false;
  {
    std::lock_guard g(lock_);
    auto mine = tasks_.find(&task);
    if (mine == tasks_.end() || !mine->second.waits_for) return;
    std::vector<vm::TaskState*>& waiters = mine->second.waits_for->waiters;
    auto at = std::find(waiters.begin(), waiters.end(), &task);
    if (at != waiters.end()) {
      waiters.erase(at);
      release = true;
    }
    mine->second.waits_for = nullptr;
    forget_task_if_idle(&task);
  }
  if (release) host_of(task).release();
}

void ModuleTable::enter_main(vm::TaskState& main, const std::string& key, vm::Module* m) {
  std::lock_guard g(lock_);
  std::unique_ptr<Entry>& e = entries_[key];
  // A module of that path another task is still loading (left behind by os.exit) keeps
  // its entry; the script then only misses the check that it does not import itself.
  if (e && e->state == Entry::Loading) return;
  e = std::make_unique<Entry>();
  e->key = key;
  e->module = m;
  e->main_script = true;
  e->loader = &main;
  TaskImports& mine = tasks_[&main];
  e->importer = mine.top;
  mine.top = e.get();
}

void ModuleTable::leave_main(vm::TaskState& main) {
  forget_wait(main);  // a run that ended while main waited for a module (os.exit elsewhere)
  std::lock_guard g(lock_);
  auto mine = tasks_.find(&main);
  if (mine == tasks_.end()) return;
  Entry* e = mine->second.top;
  if (e && e->main_script) {
    mine->second.top = e->importer;
    entries_.erase(e->key);
  }
  forget_task_if_idle(&main);
}

void ModuleTable::clear() {
  std::vector<vm::TaskState*> waiters;
  {
    std::lock_guard g(lock_);
    for (auto& [key, e] : entries_) waiters.insert(waiters.end(), e->waiters.begin(), e->waiters.end());
    entries_.clear();
    tasks_.clear();
  }
  for (vm::TaskState* w : waiters) host_of(*w).release();  // tasks parked for good on a module
}

}  // namespace tsk::rt
