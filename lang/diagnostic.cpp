// format_diagnostic: a Diagnostic as the CLI prints it (lang/diagnostic.hpp): the
// "file:line:col: error: message" header, the source line, and a caret under the column.
// Columns count bytes; the caret line reproduces the tabs of the source line and counts
// each UTF-8 character as one cell, so the caret lines up in a terminal.
#include "lang/diagnostic.hpp"

#include <algorithm>

namespace tsk::lang {

namespace {

// The text of line `line` (from 1) without its line ending, or nothing when the source
// has fewer lines.
bool find_line(std::string_view source, uint32_t line, std::string_view& out) {
  size_t start = 0;
  for (uint32_t n = 1; n < line; ++n) {
    size_t newline = source.find('\n', start);
    if (newline == std::string_view::npos) return false;
    start = newline + 1;
  }
  if (start > source.size()) return false;
  size_t end = source.find('\n', start);
  if (end == std::string_view::npos) end = source.size();
  out = source.substr(start, end - start);
  if (!out.empty() && out.back() == '\r') out.remove_suffix(1);
  return true;
}

}  // namespace

std::string format_diagnostic(const Diagnostic& d, std::string_view source) {
  std::string text = d.file;
  if (d.loc.line > 0) {
    text += ':' + std::to_string(d.loc.line);
    if (d.loc.col > 0) text += ':' + std::to_string(d.loc.col);
  }
  text += ": error: " + d.message + "\n";

  std::string_view line;
  if (d.loc.line == 0 || !find_line(source, d.loc.line, line)) return text;
  // A column past the end of the line (an error at the end of the file) points just
  // after its last character.
  size_t col = d.loc.col == 0 ? 1 : d.loc.col;
  if (col > line.size() + 1) col = line.size() + 1;
  // A very long line (generated code, a minified file) is shown as a window around the
  // column, with "..." where it was cut, so one error never prints megabytes.
  constexpr size_t kWindow = 60;
  std::string shown_prefix, shown_suffix;
  if (line.size() > 2 * kWindow) {
    size_t from = col > kWindow ? col - kWindow : 0;
    while (from > 0 && (static_cast<unsigned char>(line[from]) & 0xc0) == 0x80) from--;
    size_t to = std::min(line.size(), col + kWindow);
    while (to < line.size() && (static_cast<unsigned char>(line[to]) & 0xc0) == 0x80) to++;
    if (from > 0) shown_prefix = "...";
    if (to < line.size()) shown_suffix = "...";
    line = line.substr(from, to - from);
    col = col - from + shown_prefix.size();
  }
  std::string caret = "  ";
  std::string full = shown_prefix + std::string(line) + shown_suffix;
  for (size_t i = 0; i + 1 < col && i < full.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(full[i]);
    if (c == '\t') caret += '\t';
    else if ((c & 0xc0) != 0x80) caret += ' ';  // UTF-8 continuation bytes take no cell
  }
  text += "  ";
  text += full;
  text += "\n" + caret + "^\n";
  return text;
}

}  // namespace tsk::lang
