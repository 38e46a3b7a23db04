// Host functions: defining them, calling them, completing a `yields` one
// (runtime/host_functions.hpp).
#include "runtime/host_functions.hpp"

#include <cctype>
#include <mutex>
#include <new>
#include <stdexcept>

#include "runtime/host_values.hpp"
#include "runtime/outside.hpp"
#include "runtime/runtime.hpp"
#include "tsk/tsk.hpp"

namespace tsk {

namespace detail {

// What a yields call's Completion completes: the internal completion of the task's
// outside wait, and the op the native reads when the task runs again.
struct HostCall : rt::OutsideOp {
  Value result;
};

struct CompletionState {
  std::mutex lock;
  rt::Completion wait;
  std::shared_ptr<HostCall> op;
  std::string function;  // "geo.fetch()", for messages
  bool done = false;

  // The last Completion went without completing: the call fails (SPEC §16).
  ~CompletionState() {
    if (!done) wait.fail("Error", function + " ended without completing: the host dropped its tsk::Completion");
  }
  void finish(Value result, std::string kind, std::string message) {
    std::lock_guard g(lock);
    if (done) throw std::logic_error("tsk::Completion: the call of " + function + " was completed already");
    done = true;
    if (!kind.empty()) {
      wait.fail(std::move(kind), std::move(message));
      return;
    }
    op->result = std::move(result);
    wait.complete();
  }
};

}  // namespace detail

void Completion::complete(Value result) {
  if (!state_) throw std::logic_error("tsk::Completion: complete() on an empty (moved-from) completion");
  state_->finish(std::move(result), {}, {});
}

namespace {

bool is_name(std::string_view s) {
  static const char* const kKeywords[] = {"let",   "var",    "fn",    "return", "if",    "else",    "while",
                                          "for",   "in",     "break", "continue", "nil", "true",    "false",
                                          "and",   "or",     "not",   "spawn",  "await", "scope",   "select",
                                          "case",  "default", "try",  "catch",  "finally", "throw", "import",
                                          "as"};
  if (s.empty() || !(std::isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum((unsigned char)c) || c == '_')) return false;
  for (const char* k : kKeywords)
    if (s == k) return false;
  return true;
}

}  // namespace

void Completion::fail(std::string kind, std::string message) {
  if (!state_) throw std::logic_error("tsk::Completion: fail() on an empty (moved-from) completion");
  if (!is_name(kind)) kind = "Error";
  state_->finish(Value(), std::move(kind), std::move(message));
}

Completion::operator bool() const {
  if (!state_) return false;
  std::lock_guard g(state_->lock);
  return !state_->done;
}

}  // namespace tsk

namespace tsk::rt {

namespace {

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string_view::npos ? std::string() : std::string(s.substr(b, e - b + 1));
}

[[noreturn]] void bad_definition(std::string_view module, std::string_view signature, const std::string& why) {
  throw std::invalid_argument("tsk: define(\"" + std::string(module) + "\", \"" + std::string(signature) +
                              "\"): " + why);
}

// "area(width, height = nil)" -> name "area", params {width, height}, 1 required.
struct ParsedSignature {
  std::string name;
  std::vector<std::string> params;
  int required = 0;
};

ParsedSignature parse_signature(std::string_view module, std::string_view signature) {
  ParsedSignature out;
  size_t open = signature.find('('), close = signature.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open ||
      !trim(signature.substr(close + 1)).empty())
    bad_definition(module, signature, "a signature is written as a call: name(a, b = nil)");
  out.name = trim(signature.substr(0, open));
  if (!is_name(out.name)) bad_definition(module, signature, "'" + out.name + "' is not a name for a function");
  std::string_view inside = signature.substr(open + 1, close - open - 1);
  if (trim(inside).empty()) return out;
  bool optional_seen = false;
  for (size_t at = 0;;) {
    size_t comma = inside.find(',', at);
    std::string param = trim(inside.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at));
    bool optional = false;
    if (size_t eq = param.find('='); eq != std::string::npos) {
      if (trim(std::string_view(param).substr(eq + 1)) != "nil")
        bad_definition(module, signature, "a parameter that may be left out is written `" +
                                              trim(std::string_view(param).substr(0, eq)) + " = nil`");
      param = trim(std::string_view(param).substr(0, eq));
      optional = true;
    }
    if (!is_name(param)) bad_definition(module, signature, "'" + param + "' is not a name for a parameter");
    if (optional) optional_seen = true;
    else if (optional_seen) bad_definition(module, signature, "a parameter written `= nil` is followed by one that is not");
    else out.required++;
    out.params.push_back(param);
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  return out;
}

std::string plural(int n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }

// The native code of every host function: `self.host` is its HostFunctionRecord.
vm::Value call_host(vm::TaskState& t, const vm::NativeEntry& self, vm::Value* args, int nargs) {
  const auto& fn = *static_cast<const HostFunctionRecord*>(self.host);
  if (fn.fn.takes_completion) {
    // Called again once its Completion completed: the result, or the error.
    if (auto op = resumed<tsk::detail::HostCall>(t)) {
      op->raise_if_failed(t);
      return HostValues::to_script(t, op->result);
    }
    if (!can_park(t))
      t.raise("Error", fn.call_name + " cannot wait here: it was called by a native function (such as sort's less)");
  }
  std::vector<tsk::Value> host_args;
  host_args.reserve(size_t(nargs));
  for (int i = 0; i < nargs; i++)
    host_args.push_back(HostValues::to_host(t, args[i], fn.call_name, fn.params[size_t(i)]));
  tsk::detail::CallSite site{fn.call_name, fn.params};

  // The host's exception, as a script error's kind and message.
  std::string kind, message;
  tsk::Value result;
  std::shared_ptr<tsk::detail::CompletionState> state;
  try {
    if (fn.fn.takes_completion) {
      state = std::make_shared<tsk::detail::CompletionState>();
      state->op = std::make_shared<tsk::detail::HostCall>();
      state->function = fn.call_name;
      // A bad argument (converted in `call`) fails the wait, and the task raises its
      // TypeError when it runs this native again, as if at once.
      state->wait = park_outside(t, state->op, WaitInfo::Io);
      tsk::Completion done(state);
      fn.fn.call(host_args.data(), nargs, site, &done);
      return vm::Value::nil();  // the task waits; this native runs again when it resumes
    }
    result = fn.fn.call(host_args.data(), nargs, site, nullptr);
  } catch (const tsk::Error& e) {
    kind = is_name(e.kind()) ? e.kind() : "Error";
    message = e.message();
  } catch (const std::bad_alloc&) {
    kind = "MemoryError";
    message = "out of memory";
  } catch (const std::exception& e) {
    kind = "Error";
    message = fn.call_name + ": " + e.what();
  } catch (...) {
    kind = "Error";
    message = fn.call_name + ": the host function threw something that is not a std::exception";
  }
  if (state) {
    // It threw while its task waited: the call fails with that error, unless its
    // Completion was completed before the throw.
    if (!kind.empty()) {
      std::lock_guard g(state->lock);
      if (!state->done) {
        state->done = true;
        state->wait.fail(std::move(kind), std::move(message));
      }
    }
    return vm::Value::nil();
  }
  if (!kind.empty()) t.raise(kind, message);
  return HostValues::to_script(t, result);
}

}  // namespace

void define_host_function(Runtime& rt, std::string_view module, std::string_view signature, tsk::Effect effect,
                          std::string_view doc, tsk::detail::HostFunction fn) {
  if (!is_name(module)) bad_definition(module, signature, "'" + std::string(module) + "' is not a name for a module");
  ParsedSignature sig = parse_signature(module, signature);
  if (effect == tsk::Effect::yields && !fn.takes_completion)
    bad_definition(module, signature, "a yields function takes a tsk::Completion as its first parameter");
  if (effect != tsk::Effect::yields && fn.takes_completion)
    bad_definition(module, signature, "only a yields function takes a tsk::Completion");
  if (int(sig.params.size()) != fn.max_args || sig.required != fn.min_args)
    bad_definition(module, signature,
                   "the signature has " + plural(int(sig.params.size()), "parameter") + ", " +
                       std::to_string(sig.required) + " of them required, and the function " +
                       plural(fn.max_args, "parameter") + ", " + std::to_string(fn.min_args) +
                       " of them required (a std::optional one at the end may be left out)");
  if (fn.max_args > 127) bad_definition(module, signature, "a host function takes at most 127 parameters");

  std::lock_guard g(rt.module_mutex);
  if (rt.host_functions_sealed)
    throw std::logic_error("tsk: define(\"" + std::string(module) + "\", \"" + std::string(signature) +
                           "\") after the runtime's first run: host functions are defined before it");
  HostModule* home = nullptr;
  for (auto& m : rt.host_modules)
    if (m->name == module) home = m.get();
  if (!home) {
    for (const vm::ModuleDef& def : rt.module_defs)
      if (module == def.name) bad_definition(module, signature, "'" + std::string(module) + "' is a standard module");
    rt.host_modules.push_back(std::make_unique<HostModule>());
    home = rt.host_modules.back().get();
    home->name = module;
  }
  for (auto& f : home->functions)
    if (f->name == sig.name) bad_definition(module, signature, "'" + home->name + "." + sig.name + "' is defined already");

  auto record = std::make_unique<HostFunctionRecord>();
  record->name = sig.name;
  record->signature = trim(signature);
  record->doc = doc;
  record->call_name = home->name + "." + sig.name + "()";
  record->effect = effect;
  record->params = std::move(sig.params);
  record->fn = std::move(fn);
  home->functions.push_back(std::move(record));

  // The entries again (a vector that grew moved them), and the module's definition.
  home->entries.clear();
  for (auto& f : home->functions) {
    vm::NativeEntry e{};
    e.module = home->name.c_str();
    e.name = f->name.c_str();
    e.signature = f->signature.c_str();
    e.effect = f->effect == tsk::Effect::instant ? vm::Effect::Instant
               : f->effect == tsk::Effect::yields ? vm::Effect::Yields
                                                  : vm::Effect::Blocks;
    e.doc = f->doc.c_str();
    e.min_args = int8_t(f->fn.min_args);
    e.max_args = int8_t(f->fn.max_args);
    e.host_fn = call_host;
    e.host = f.get();
    home->entries.push_back(e);
  }
  vm::ModuleDef def{home->name.c_str(), "Functions of the host program", home->entries, nullptr};
  for (vm::ModuleDef& d : rt.module_defs)
    if (std::string_view(d.name) == home->name) {
      d = def;
      return;
    }
  rt.module_defs.push_back(def);
}

void seal_host_functions(Runtime& rt) {
  std::lock_guard g(rt.module_mutex);
  rt.host_functions_sealed = true;
}

}  // namespace tsk::rt

namespace tsk {

void Runtime::define_function(std::string_view module, std::string_view signature, Effect effect,
                              std::string_view doc, detail::HostFunction fn) {
  rt::define_host_function(*impl_, module, signature, effect, doc, std::move(fn));
}

}  // namespace tsk
