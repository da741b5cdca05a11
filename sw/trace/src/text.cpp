// text.cpp - formatting and parsing of the text form of traces.
#include "vmmu/trace/text.h"

#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "vmmu/trace/writer.h"

namespace vmmu::trace {

namespace {

// Each event member has one textual type; a kind lists its members in their fixed order.
enum class FieldType { Cpu, Pid, Parent, Op, Address, Size, Length, Value, Prot, Level, Text };
struct Field {
  std::string_view name;
  FieldType type;
};

std::vector<Field> fieldsOf(EventKind kind) {
  using T = FieldType;
  switch (kind) {
  case EventKind::Access:
    return {{"cpu", T::Cpu}, {"pid", T::Pid}, {"op", T::Op}, {"va", T::Address}, {"size", T::Size}};
  case EventKind::ProcessCreate:
    return {{"pid", T::Pid}, {"parent", T::Parent}, {"name", T::Text}};
  case EventKind::ProcessExit:
    return {{"pid", T::Pid}};
  case EventKind::ContextSwitch:
    return {{"cpu", T::Cpu}, {"pid", T::Pid}};
  case EventKind::Mmap:
  case EventKind::Mprotect:
    return {{"pid", T::Pid}, {"start", T::Address}, {"length", T::Length}, {"prot", T::Prot}};
  case EventKind::Munmap:
    return {{"pid", T::Pid}, {"start", T::Address}, {"length", T::Length}};
  case EventKind::Brk:
    return {{"pid", T::Pid}, {"end", T::Address}};
  case EventKind::PageTableWrite:
    return {{"cpu", T::Cpu}, {"pid", T::Pid}, {"entry", T::Address}, {"value", T::Value}, {"level", T::Level}};
  case EventKind::Invlpg:
    return {{"cpu", T::Cpu}, {"pid", T::Pid}, {"va", T::Address}};
  case EventKind::Marker:
    return {{"cpu", T::Cpu}, {"text", T::Text}};
  }
  return {};
}

// The text form's own: how it writes an address is part of a file format (docs/trace-format.md),
// which `vmmu trace import` parses back, not a message's choice, so it does not follow
// vmmu/paging.h's hex() (and vmmu_trace does not depend on the model that holds it).
std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

std::string protString(uint8_t p) {
  std::string s = "---";
  if (p & prot::Read)
    s[0] = 'r';
  if (p & prot::Write)
    s[1] = 'w';
  if (p & prot::Exec)
    s[2] = 'x';
  return s;
}

uint64_t parseNumber(std::string_view field, std::string_view text, bool want_hex, uint64_t max) {
  const std::string s(text);
  const bool is_hex = s.size() > 2 && s[0] == '0' && s[1] == 'x';
  if (want_hex != is_hex || s.empty() || s[0] == '-' || s[0] == '+' || s.find(' ') != std::string::npos)
    throw TextError(std::string(field) + ": expected a " + (want_hex ? "hex (0x...)" : "decimal") +
                    " number, got '" + s + "'");
  char *end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, want_hex ? 16 : 10);
  if (errno != 0 || *end != '\0' || end == s.c_str() + (is_hex ? 2 : 0) || v > max)
    throw TextError(std::string(field) + ": '" + s + "' is not a number up to " + std::to_string(max));
  return v;
}

// Splits a line into tokens separated by spaces; a quoted string (with escapes) is one token.
std::vector<std::string_view> tokenize(std::string_view line) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ') {
      ++i;
      continue;
    }
    const size_t start = i;
    bool quoted = false;
    for (; i < line.size(); ++i) {
      if (quoted && line[i] == '\\') {
        ++i;
        continue;
      }
      if (line[i] == '"')
        quoted = !quoted;
      else if (line[i] == ' ' && !quoted)
        break;
    }
    if (quoted)
      throw TextError("unterminated string");
    tokens.push_back(line.substr(start, i - start));
  }
  return tokens;
}

}  // namespace

std::string quoteText(std::string_view text) {
  std::string out = "\"";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
  return out;
}

std::string unquoteText(std::string_view q) {
  if (q.size() < 2 || q.front() != '"' || q.back() != '"')
    throw TextError("expected a quoted string, got '" + std::string(q) + "'");
  std::string out;
  for (size_t i = 1; i + 1 < q.size(); ++i) {
    const char c = q[i];
    if (c == '"')
      throw TextError("unescaped quote inside string");
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (i + 2 >= q.size())
      throw TextError("string ends with a backslash");
    const char e = q[++i];
    if (e == '"' || e == '\\')
      out.push_back(e);
    else if (e == 'n')
      out.push_back('\n');
    else if (e == 't')
      out.push_back('\t');
    else if (e == 'x' && i + 3 < q.size() && std::isxdigit(static_cast<unsigned char>(q[i + 1])) &&
             std::isxdigit(static_cast<unsigned char>(q[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(q.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else
      throw TextError(std::string("unknown escape '\\") + e + "' in string");
  }
  return out;
}

std::string formatEvent(const Event &e) {
  std::string line(toString(e.kind));
  for (const Field &f : fieldsOf(e.kind)) {
    line += ' ';
    line += f.name;
    line += '=';
    switch (f.type) {
    case FieldType::Cpu:
      line += std::to_string(e.cpu);
      break;
    case FieldType::Pid:
      line += std::to_string(e.pid);
      break;
    case FieldType::Parent:
      line += std::to_string(e.parent);
      break;
    case FieldType::Op:
      line += toString(e.op);
      break;
    case FieldType::Address:
      line += hex(e.address);
      break;
    case FieldType::Size:
      line += std::to_string(e.size);
      break;
    case FieldType::Length:
      line += hex(e.length);
      break;
    case FieldType::Value:
      line += hex(e.value);
      break;
    case FieldType::Prot:
      line += protString(e.prot);
      break;
    case FieldType::Level:
      line += std::to_string(e.level);
      break;
    case FieldType::Text:
      line += quoteText(e.text);
      break;
    }
  }
  return line;
}

Event parseEvent(std::string_view line) {
  const std::vector<std::string_view> tokens = tokenize(line);
  if (tokens.empty())
    throw TextError("empty event line");
  const std::optional<EventKind> kind = eventKindFromString(tokens[0]);
  if (!kind)
    throw TextError("unknown event kind '" + std::string(tokens[0]) + "'");
  const std::vector<Field> fields = fieldsOf(*kind);
  if (tokens.size() != fields.size() + 1)
    throw TextError(std::string(tokens[0]) + ": expected " + std::to_string(fields.size()) + " fields, got " +
                    std::to_string(tokens.size() - 1));
  Event e;
  e.kind = *kind;
  for (size_t i = 0; i < fields.size(); ++i) {
    const Field &f = fields[i];
    const std::string_view token = tokens[i + 1];
    if (token.size() <= f.name.size() || token.substr(0, f.name.size()) != f.name || token[f.name.size()] != '=')
      throw TextError(std::string(tokens[0]) + ": field " + std::to_string(i + 1) + " must be '" +
                      std::string(f.name) + "=...', got '" + std::string(token) + "'");
    const std::string_view v = token.substr(f.name.size() + 1);
    switch (f.type) {
    case FieldType::Cpu:
      e.cpu = static_cast<uint32_t>(parseNumber(f.name, v, false, UINT32_MAX));
      break;
    case FieldType::Pid:
      e.pid = static_cast<uint32_t>(parseNumber(f.name, v, false, UINT32_MAX));
      break;
    case FieldType::Parent:
      e.parent = static_cast<uint32_t>(parseNumber(f.name, v, false, UINT32_MAX));
      break;
    case FieldType::Op:
      if (v == "R")
        e.op = AccessOp::Read;
      else if (v == "W")
        e.op = AccessOp::Write;
      else if (v == "X")
        e.op = AccessOp::Fetch;
      else
        throw TextError("op: expected R, W or X, got '" + std::string(v) + "'");
      break;
    case FieldType::Address:
      e.address = parseNumber(f.name, v, true, UINT64_MAX);
      break;
    case FieldType::Size:
      e.size = static_cast<uint32_t>(parseNumber(f.name, v, false, UINT32_MAX));
      if (e.size == 0)
        throw TextError("size: must be at least 1");
      break;
    case FieldType::Length:
      e.length = parseNumber(f.name, v, true, UINT64_MAX);
      break;
    case FieldType::Value:
      e.value = parseNumber(f.name, v, true, UINT64_MAX);
      break;
    case FieldType::Prot: {
      if (v.size() != 3 || (v[0] != 'r' && v[0] != '-') || (v[1] != 'w' && v[1] != '-') ||
          (v[2] != 'x' && v[2] != '-'))
        throw TextError("prot: expected three characters like 'rw-', got '" + std::string(v) + "'");
      e.prot = static_cast<uint8_t>((v[0] == 'r' ? prot::Read : 0) | (v[1] == 'w' ? prot::Write : 0) |
                                    (v[2] == 'x' ? prot::Exec : 0));
      break;
    }
    case FieldType::Level:
      e.level = static_cast<uint8_t>(parseNumber(f.name, v, false, 5));
      if (e.level == 0)
        throw TextError("level: must be 1 to 5");
      break;
    case FieldType::Text:
      e.text = unquoteText(v);
      if (e.text.size() > kMaxTextBytes)
        throw TextError(std::string(f.name) + ": longer than " + std::to_string(kMaxTextBytes) + " bytes");
      break;
    }
  }
  return e;
}

uint64_t dumpTrace(TraceReader &reader, std::FILE *out) {
  std::fprintf(out, "# vmmu trace, format %u.%u\n", reader.versionMajor(), reader.versionMinor());
  for (const auto &[key, value] : reader.header().fields())
    std::fprintf(out, "header %s %s\n", quoteText(key).c_str(), quoteText(value).c_str());
  uint64_t count = 0;
  while (const auto event = reader.next()) {
    const std::string line = formatEvent(*event);
    std::fwrite(line.data(), 1, line.size(), out);
    std::fputc('\n', out);
    ++count;
  }
  return count;
}

namespace {
// The longest line dump can write: a header line whose key and value are at their limits with
// every byte escaped as \xHH. Import refuses longer lines, so an input without newlines (or
// /dev/zero) cannot grow memory without bound.
constexpr size_t kMaxLineBytes = 16 + 4 * (kMaxHeaderKeyBytes + kMaxHeaderValueBytes);

enum class LineStatus { Line, End, TooLong, Nul };
// Reads one line (without its newline); stops at the first NUL byte or once the line exceeds
// kMaxLineBytes (a text trace holds neither).
LineStatus readLine(std::FILE *in, std::string &line) {
  line.clear();
  for (int c; (c = getc_unlocked(in)) != EOF;) {
    if (c == '\n')
      return LineStatus::Line;
    if (c == '\0')
      return LineStatus::Nul;
    if (line.size() == kMaxLineBytes)
      return LineStatus::TooLong;
    line.push_back(static_cast<char>(c));
  }
  return line.empty() ? LineStatus::End : LineStatus::Line;
}
}  // namespace

uint64_t importTrace(std::FILE *in, const std::string &input_name, const std::string &output,
                     const TraceHeader &fallback, int compression_level) {
  std::string line;
  uint64_t line_number = 0;
  const auto fail = [&](const std::string &what) -> void {
    throw TextError(input_name + ":" + std::to_string(line_number) + ": " + what);
  };
  TraceHeader header;
  bool saw_header = false;
  std::unique_ptr<TraceWriter> writer;
  // The writer checks the header's limits when it is created (at the first event, or at the end):
  // its complaint names that input line.
  const auto open_writer = [&]() {
    try {
      writer = std::make_unique<TraceWriter>(output, saw_header ? header : fallback, compression_level);
    } catch (const TraceError &e) {
      fail(e.what());
    }
  };
  for (LineStatus status; (status = readLine(in, line)) != LineStatus::End;) {
    ++line_number;
    if (status == LineStatus::Nul)
      fail("NUL byte: not a text trace");
    if (status == LineStatus::TooLong)
      fail("line longer than " + std::to_string(kMaxLineBytes) + " bytes: not a text trace");
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty() || line[0] == '#')
      continue;
    try {
      if (line.rfind("header ", 0) == 0) {
        if (writer)
          fail("header line after the first event");
        const std::vector<std::string_view> tokens = tokenize(line);
        if (tokens.size() != 3)
          fail("expected: header \"KEY\" \"VALUE\"");
        std::string key = unquoteText(tokens[1]);
        std::string value = unquoteText(tokens[2]);
        if (header.get(key))
          fail("duplicate header key '" + key + "'");
        if (header.fields().size() == kMaxHeaderFields)
          fail("more than " + std::to_string(kMaxHeaderFields) + " header fields");
        if (key.empty() || key.size() > kMaxHeaderKeyBytes)
          fail("header key '" + key + "' is empty or longer than " + std::to_string(kMaxHeaderKeyBytes) + " bytes");
        if (value.size() > kMaxHeaderValueBytes)
          fail("header value of '" + key + "' is longer than " + std::to_string(kMaxHeaderValueBytes) + " bytes");
        header.set(std::move(key), std::move(value));
        saw_header = true;
        continue;
      }
      const Event event = parseEvent(line);
      if (!writer)
        open_writer();
      writer->write(event);
    } catch (const TextError &e) {
      if (std::string_view(e.what()).rfind(input_name + ":", 0) == 0)
        throw;
      fail(e.what());
    }
  }
  if (std::ferror(in))
    throw TextError(input_name + ": read error");
  if (!writer)
    open_writer();
  writer->finish();
  return writer->eventsWritten();
}

}  // namespace vmmu::trace
