// The disassembler: a Proto and its nested protos as deterministic text, for `tsk dis`
// and the compiler's golden tests. Every opcode's operands are printed from the format
// column of the X-macro table (vm/opcodes.hpp), so a new opcode needs no change here
// unless its operands deserve a comment (a constant's value, a jump's target).
//
// Layout:
//   <name> (file:line:col) params=N regs=N
//     captures: 0=R3 'x' 1=U0 'y'          (when there are any)
//     constants: 0=3.5 1="hi"              (when there are any)
//     0001  [line:col]  OP  operands  ; comment
// Instructions count from 1; jump comments name the target's number.
#include <charconv>
#include <cstdio>
#include <string>

#include "lang/compiler.hpp"

namespace tsk::lang {
namespace {

using vm::Instr;
using vm::Op;
using vm::OpFormat;

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02X", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}

std::string show_value(const vm::Value& v) {
  switch (v.tag) {
    case vm::Tag::Nil: return "nil";
    case vm::Tag::Bool: return v.b ? "true" : "false";
    case vm::Tag::Int: return std::to_string(v.i);
    case vm::Tag::Float: {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, v.f);  // shortest round-trip
      std::string s(buf, r.ptr);
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // 1 -> 1.0; not inf/nan
      return s;
    }
    case vm::Tag::String: return quote(v.as_string()->view());
    default: return "<object>";
  }
}

std::string pc_label(long pc) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%04ld", pc + 1);
  return buf;
}

std::string konst(const vm::Proto& p, uint32_t index) {
  if (index >= p.consts.size()) return "K? (out of range)";
  return show_value(p.consts[index]);
}

// A word of SELECT's send mask as the list of sending case indices: "sends 0 2" or "no
// sends" (word w covers cases 32w to 32w + 31). The word is the one at [pc]; an EXTRAARG
// that follows no SELECT (through its other words) is not a mask and gets no comment.
std::string send_cases(const vm::Proto& p, long pc) {
  long at = pc - 1;
  while (at >= 0 && p.code[size_t(at)].op == Op::EXTRAARG) --at;
  if (at < 0 || p.code[size_t(at)].op != Op::SELECT) return "";
  const long word = pc - at - 1;
  const uint32_t mask = p.code[size_t(pc)].bx();
  if (mask == 0) return "no sends";
  std::string s = "sends";
  for (int i = 0; i < 32; ++i)
    if (mask & (uint32_t(1) << i)) s += " " + std::to_string(32 * word + i);
  return s;
}

std::string comment(const vm::Proto& p, const Instr& in, long pc) {
  switch (in.op) {
    case Op::LOADK:
    case Op::IMPORT: return konst(p, in.bx());
    case Op::ADDK:
    case Op::SUBK:
    case Op::MULK:
    case Op::MODK:
    case Op::IDIVK:
    case Op::DIVK:
    case Op::GETFIELD: return konst(p, in.c);
    case Op::SETFIELD: return konst(p, in.b);
    case Op::GETUP:
    case Op::SETUP:
      return in.b < p.captures.size() ? "'" + p.captures[in.b].name + "'" : "";
    case Op::CLOSURE:
      return in.bx() < p.protos.size() ? p.protos[in.bx()]->name : "?";
    case Op::JEQK:
    case Op::JNEK:
    case Op::JLTK:
    case Op::JLEK:
    case Op::JGTK:
    case Op::JGEK: return konst(p, in.b) + ", to " + pc_label(pc + 1 + in.sc());
    case Op::JLT:
    case Op::JLE:
    case Op::JEQ:
    case Op::JNE: return "to " + pc_label(pc + 1 + in.sc());
    case Op::JMP:
    case Op::JMPIF:
    case Op::JMPIFNOT:
    case Op::FORPREP:
    case Op::FORLOOP:
    case Op::TRY: return "to " + pc_label(pc + 1 + in.sbx());
    case Op::EXTRAARG: return send_cases(p, pc);
    default: return "";
  }
}

std::string operands(const Instr& in) {
  const auto& info = vm::kOpInfo[int(in.op)];
  std::string s;
  auto add = [&](const char* name, long v) {
    if (!s.empty()) s += ' ';
    s += name;
    s += '=';
    s += std::to_string(v);
  };
  switch (info.format) {
    case OpFormat::ABC:
      add("A", in.a);
      add("B", in.b);
      if (vm::is_fused_jump(in.op))
        add("sC", in.sc());
      else
        add("C", in.c);
      break;
    case OpFormat::ABx: add("A", in.a); add("Bx", in.bx()); break;
    case OpFormat::AsBx: add("A", in.a); add("sBx", in.sbx()); break;
    case OpFormat::sBx: add("sBx", in.sbx()); break;
    case OpFormat::A: add("A", in.a); break;
    case OpFormat::none: break;
  }
  if (in.x) add("x", in.x);
  return s;
}

void disassemble_into(const vm::Proto& p, std::string& out) {
  out += p.name + " (" + p.file + ":" + std::to_string(p.loc.line) + ":" +
         std::to_string(p.loc.col) + ") params=" + std::to_string(p.nparams) +
         " regs=" + std::to_string(p.nregs) + "\n";
  if (!p.captures.empty()) {
    out += "  captures:";
    for (size_t i = 0; i < p.captures.size(); ++i) {
      const auto& c = p.captures[i];
      out += " " + std::to_string(i) + "=" + (c.from_local ? "R" : "U") +
             std::to_string(c.index) + " '" + c.name + "'";
    }
    out += "\n";
  }
  if (!p.consts.empty()) {
    out += "  constants:";
    for (size_t i = 0; i < p.consts.size(); ++i)
      out += " " + std::to_string(i) + "=" + show_value(p.consts[i]);
    out += "\n";
  }
  for (size_t pc = 0; pc < p.code.size(); ++pc) {
    const Instr& in = p.code[pc];
    Loc loc = pc < p.locs.size() ? p.locs[pc] : Loc{};
    std::string line = "  " + pc_label(long(pc)) + "  [" + std::to_string(loc.line) + ":" +
                       std::to_string(loc.col) + "]  " + vm::kOpInfo[int(in.op)].name;
    std::string ops = operands(in);
    if (!ops.empty()) line += "  " + ops;
    std::string note = comment(p, in, long(pc));
    if (!note.empty()) line += "  ; " + note;
    out += line + "\n";
  }
  for (const vm::Proto* child : p.protos) {
    out += "\n";
    disassemble_into(*child, out);
  }
}

}  // namespace

std::string disassemble(const vm::Proto& proto) {
  std::string out;
  disassemble_into(proto, out);
  return out;
}

}  // namespace tsk::lang
