// Renders the registry (stdlib/registry.hpp) as reference text: plain for the terminal,
// markdown for docs/stdlib.md. Everything shown comes from the NativeEntry tables and
// ModuleDefs; nothing here is written by hand per function.
#include "stdlib/reference.hpp"

#include <vector>

#include "stdlib/natives.hpp"
#include "vm/heap.hpp"

namespace tsk::vm {

namespace {

using stdlib::help_text;
using stdlib::qualified_name;

// The names of a module's constants, found by running its add_constants against a
// scratch shared heap (freed on return).
std::vector<std::string> constant_names(const ModuleDef& def) {
  std::vector<std::string> names;
  if (!def.add_constants) return names;
  vm::Heap scratch(true);
  def.add_constants(scratch, {}, [](void* ctx, const char* name, Value) {
    static_cast<std::vector<std::string>*>(ctx)->push_back(name);
  }, &names);
  return names;
}

std::string cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

void table_header(std::string& out) {
  out += "| name | signature | effect | description |\n";
  out += "|---|---|---|---|\n";
}

void table_row(std::string& out, const NativeEntry& e) {
  out += "| `" + cell(qualified_name(e)) + "` | `" + cell(e.signature) + "` | " +
         vm::effect_name(e.effect) + " | " + cell(e.doc) + " |\n";
}

void plain_entry(std::string& out, const NativeEntry& e) {
  out += "  ";
  std::string text = help_text(e);  // "sig  [effect]\n  doc\n"
  for (size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '\n' && i + 1 < text.size()) out += "  ";
  }
}

void render_builtins(std::string& out, bool markdown, std::span<const NativeEntry> builtins) {
  if (markdown) {
    out += "## Builtins\n\nAvailable everywhere without an import.\n\n";
    table_header(out);
    for (const NativeEntry& e : builtins) table_row(out, e);
    out += "\n";
  } else {
    out += "builtins (no import needed)\n";
    for (const NativeEntry& e : builtins) plain_entry(out, e);
  }
}

void render_module(std::string& out, const ModuleDef& def, bool markdown) {
  std::vector<std::string> constants = constant_names(def);
  if (markdown) {
    out += std::string("## ") + def.name + "\n\n" + def.doc + ". `import " + def.name + "`.\n\n";
    if (!constants.empty()) {
      out += "Constants:";
      for (size_t i = 0; i < constants.size(); ++i)
        out += std::string(i ? ", `" : " `") + def.name + "." + constants[i] + "`";
      out += ".\n\n";
    }
    table_header(out);
    for (const NativeEntry& e : def.functions) table_row(out, e);
    out += "\n";
  } else {
    out += std::string("module ") + def.name + ": " + def.doc + "\n";
    if (!constants.empty()) {
      out += "  constants:";
      for (const std::string& c : constants) out += " " + c;
      out += "\n";
    }
    for (const NativeEntry& e : def.functions) plain_entry(out, e);
  }
}

void render_one(std::string& out, const NativeEntry& e, bool markdown) {
  if (markdown) {
    table_header(out);
    table_row(out, e);
  } else {
    out += help_text(e);
  }
}

}  // namespace

std::string render_reference(std::string_view name, bool markdown, std::span<const NativeEntry> builtins,
                             std::span<const ModuleDef> modules) {
  std::string out;
  if (name.empty()) {
    if (markdown) {
      out += "# tsk standard library reference\n\n"
             "Generated from the effect registry (`tsk doc`), so it always matches what runs. "
             "Every native declares one effect: **instant** (returns without suspending), "
             "**yields** (may suspend the calling task; other tasks run meanwhile) or "
             "**blocks** (makes a blocking OS call; other tasks keep running, but it is not a "
             "cancellation point). `effect(f)` and `help(f)` read the same table.\n\n";
    }
    render_builtins(out, markdown, builtins);
    for (const ModuleDef& def : modules) {
      out += "\n";
      render_module(out, def, markdown);
    }
    return out;
  }
  for (const ModuleDef& def : modules) {
    if (name == def.name) {
      render_module(out, def, markdown);
      return out;
    }
  }
  size_t dot = name.find('.');
  if (dot == std::string_view::npos) {
    for (const NativeEntry& e : builtins)
      if (name == e.name) {
        render_one(out, e, markdown);
        return out;
      }
    return out;
  }
  std::string_view module = name.substr(0, dot), fn = name.substr(dot + 1);
  for (const ModuleDef& def : modules) {
    if (module != def.name) continue;
    for (const NativeEntry& e : def.functions)
      if (fn == e.name) {
        render_one(out, e, markdown);
        return out;
      }
  }
  return out;
}

}  // namespace tsk::vm
