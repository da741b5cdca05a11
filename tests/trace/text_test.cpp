// text_test.cpp - the text form: formatting, parsing, and dump | import as an exact inverse.
#include <gtest/gtest.h>

#include <cstdio>

#include "trace_test_support.h"
#include "vmmu/trace/text.h"

namespace vmmu::trace {
namespace {

using testing::scratchPath;

TEST(TraceText, FormatsOneLinePerEvent) {
  EXPECT_EQ(formatEvent(Event::access(1, 42, AccessOp::Write, 0x7ffc1000, 8)),
            "access cpu=1 pid=42 op=W va=0x7ffc1000 size=8");
  EXPECT_EQ(formatEvent(Event::mmap(3, 0x400000, 0x2000, prot::Read | prot::Exec)),
            "mmap pid=3 start=0x400000 length=0x2000 prot=r-x");
  EXPECT_EQ(formatEvent(Event::pageTableWrite(0, 1, 0x3000, 0x40000083, 2)),
            "pte-write cpu=0 pid=1 entry=0x3000 value=0x40000083 level=2");
  EXPECT_EQ(formatEvent(Event::processCreate(2, 1, "cc1 \"x\"")), "process-create pid=2 parent=1 name=\"cc1 \\\"x\\\"\"");
  EXPECT_EQ(formatEvent(Event::marker(0, "a\nb")), "marker cpu=0 text=\"a\\nb\"");
}

TEST(TraceText, EveryKindParsesBack) {
  const std::vector<Event> events = {
      Event::access(0, 1, AccessOp::Fetch, 0xffff'ffff'ffff'ffffull, 15),
      Event::access(2, 3, AccessOp::Read, 0, 1),
      Event::processCreate(5, 0, std::string("odd\0name\x7f\xff \\ \"", 15)),
      Event::processExit(5),
      Event::contextSwitch(1, 9),
      Event::mmap(1, 0x1000, 0x1000, 0),
      Event::munmap(1, 0x1000, 0x1000),
      Event::mprotect(1, 0x1000, 0x1000, prot::All),
      Event::brk(1, 0x555555000000ull),
      Event::pageTableWrite(0, 1, 8, 0x8000000000000001ull, 5),
      Event::invlpg(0, 1, 0x7f0000000000ull),
      Event::marker(0, "tab\there"),
  };
  for (const Event &e : events) {
    const std::string line = formatEvent(e);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(parseEvent(line), e) << line;
  }
}

// The message parseEvent throws for `line`, or "(no error)".
std::string message(std::string_view line) {
  try {
    parseEvent(line);
  } catch (const TextError &e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TraceText, ParseErrorsNameTheProblem) {
  EXPECT_NE(message("acess cpu=0").find("unknown event kind 'acess'"), std::string::npos);
  EXPECT_NE(message("access cpu=0 pid=1 op=R va=0x10").find("expected 5 fields"), std::string::npos);
  EXPECT_NE(message("access cpu=0 pid=1 op=Q va=0x10 size=8").find("op: expected R, W or X"), std::string::npos);
  EXPECT_NE(message("access cpu=0 pid=1 op=R va=16 size=8").find("va: expected a hex"), std::string::npos);
  EXPECT_NE(message("access cpu=0 pid=1 op=R va=0x10 size=0").find("size: must be at least 1"), std::string::npos);
  EXPECT_NE(message("access pid=0 cpu=1 op=R va=0x10 size=8").find("must be 'cpu=...'"), std::string::npos);
  EXPECT_NE(message("switch cpu=0 pid=4294967296").find("pid:"), std::string::npos);
  EXPECT_NE(message("mmap pid=1 start=0x0 length=0x1000 prot=rwz").find("prot:"), std::string::npos);
  EXPECT_NE(message("pte-write cpu=0 pid=1 entry=0x0 value=0x1 level=6").find("level"), std::string::npos);
  EXPECT_NE(message("marker cpu=0 text=\"open").find("unterminated string"), std::string::npos);
  EXPECT_NE(message("marker cpu=0 text=\"bad \\q\"").find("unknown escape"), std::string::npos);
}

// The edges of the text form, one by one: every protection, the largest values, where quoting
// switches to an escape, and each malformed field and string.
TEST(TraceText, EdgesOfEveryFieldAndString) {
  // Every protection both ways.
  const char *const prots[] = {"---", "r--", "-w-", "rw-", "--x", "r-x", "-wx", "rwx"};
  for (uint8_t p = 0; p < 8; ++p) {
    const std::string line = std::string("mprotect pid=1 start=0x1000 length=0x2000 prot=") + prots[p];
    EXPECT_EQ(formatEvent(Event::mprotect(1, 0x1000, 0x2000, p)), line);
    EXPECT_EQ(parseEvent(line), Event::mprotect(1, 0x1000, 0x2000, p)) << line;
  }
  for (const char *bad : {"zw-", "rzx", "rwz", "rw", "rwx-", "xwr"})
    EXPECT_EQ(message(std::string("mmap pid=1 start=0x0 length=0x1000 prot=") + bad),
              "prot: expected three characters like 'rw-', got '" + std::string(bad) + "'")
        << bad;
  // The largest value of each field parses; one more does not.
  EXPECT_EQ(parseEvent("switch cpu=4294967295 pid=4294967295"), Event::contextSwitch(4294967295u, 4294967295u));
  EXPECT_EQ(message("switch cpu=4294967296 pid=1"), "cpu: '4294967296' is not a number up to 4294967295");
  EXPECT_EQ(parseEvent("process-create pid=1 parent=4294967295 name=\"\""), Event::processCreate(1, 4294967295u, ""));
  EXPECT_EQ(message("process-create pid=1 parent=4294967296 name=\"\""),
            "parent: '4294967296' is not a number up to 4294967295");
  EXPECT_EQ(parseEvent("pte-write cpu=0 pid=1 entry=0x8 value=0x0 level=5"), Event::pageTableWrite(0, 1, 8, 0, 5));
  EXPECT_EQ(parseEvent("pte-write cpu=0 pid=1 entry=0x8 value=0x0 level=1"), Event::pageTableWrite(0, 1, 8, 0, 1));
  EXPECT_EQ(message("pte-write cpu=0 pid=1 entry=0x8 value=0x0 level=0"), "level: must be 1 to 5");
  EXPECT_EQ(parseEvent("access cpu=0 pid=1 op=W va=0xA size=4294967295"),
            Event::access(0, 1, AccessOp::Write, 10, 4294967295u));
  EXPECT_EQ(message("access cpu=0 pid=1 op=R va=0x10 size=4294967296"),
            "size: '4294967296' is not a number up to 4294967295");
  EXPECT_EQ(parseEvent("access cpu=0 pid=1 op=R va=0xffffffffffffffff size=1"),
            Event::access(0, 1, AccessOp::Read, UINT64_MAX, 1));
  EXPECT_EQ(message("access cpu=0 pid=1 op=R va=0x10000000000000000 size=1"),
            "va: '0x10000000000000000' is not a number up to 18446744073709551615");
  // Signs, a bare prefix, a missing value, decimal where hex is due and hex where decimal is.
  EXPECT_EQ(message("switch cpu=+1 pid=1"), "cpu: expected a decimal number, got '+1'");
  EXPECT_EQ(message("switch cpu=-1 pid=1"), "cpu: expected a decimal number, got '-1'");
  EXPECT_EQ(message("switch cpu= pid=1"), "cpu: expected a decimal number, got ''");
  EXPECT_EQ(message("switch cpu=0x1 pid=1"), "cpu: expected a decimal number, got '0x1'");
  EXPECT_EQ(message("switch cpu=1x pid=1"), "cpu: '1x' is not a number up to 4294967295");
  EXPECT_EQ(message("brk pid=1 end=0x"), "end: expected a hex (0x...) number, got '0x'");
  EXPECT_EQ(message("brk pid=1 end=0xg"), "end: '0xg' is not a number up to 18446744073709551615");
  EXPECT_EQ(message("brk pid=1 end=0x-1"), "end: '0x-1' is not a number up to 18446744073709551615");
  EXPECT_EQ(message("munmap pid=1 start=0x1000 length=4096"), "length: expected a hex (0x...) number, got '4096'");
  EXPECT_EQ(message("pte-write cpu=0 pid=1 entry=0x8 value=7 level=1"), "value: expected a hex (0x...) number, got '7'");
  // A field's name must be followed by '='.
  EXPECT_EQ(message("switch cpu pid=1"), "switch: field 1 must be 'cpu=...', got 'cpu'");
  EXPECT_EQ(message("switch cpu=0 pidx1"), "switch: field 2 must be 'pid=...', got 'pidx1'");
  EXPECT_EQ(message("switch cpu=0 pi=1"), "switch: field 2 must be 'pid=...', got 'pi=1'");
  EXPECT_EQ(message("process-exit pid=1 pid=1"), "process-exit: expected 1 fields, got 2");
  EXPECT_EQ(message(""), "empty event line");
  EXPECT_EQ(message("   "), "empty event line");
  // Extra spaces separate nothing; a quoted string keeps its spaces and escaped quotes.
  EXPECT_EQ(parseEvent("  switch   cpu=2  pid=3 "), Event::contextSwitch(2, 3));
  EXPECT_EQ(parseEvent("marker cpu=1 text=\"a \\\" b\""), Event::marker(1, "a \" b"));
  EXPECT_EQ(parseEvent("access cpu=0 pid=1 op=X va=0x0 size=2").op, AccessOp::Fetch);

  // Printable ASCII (0x20 to 0x7e) is written as is, the rest escaped.
  EXPECT_EQ(quoteText(std::string(" ~\x1f\x7f\x80\xff\t\n\\\"", 10)), "\" ~\\x1f\\x7f\\x80\\xff\\t\\n\\\\\\\"\"");
  EXPECT_EQ(quoteText(""), "\"\"");
  EXPECT_EQ(unquoteText("\"\""), "");
  EXPECT_EQ(unquoteText("\"\\x41\\x7e\\x00\\\\\\\"\\n\\t\""), std::string("A~\0\\\"\n\t", 7));
  EXPECT_EQ(unquoteText("\"\\xFf\""), "\xff");
  const auto unquoteError = [](std::string_view q) -> std::string {
    try {
      unquoteText(q);
    } catch (const TextError &e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(unquoteError("\""), "expected a quoted string, got '\"'");
  EXPECT_EQ(unquoteError("a\""), "expected a quoted string, got 'a\"'");
  EXPECT_EQ(unquoteError("\"a"), "expected a quoted string, got '\"a'");
  EXPECT_EQ(unquoteError("\"a\"b\""), "unescaped quote inside string");
  EXPECT_EQ(unquoteError("\"\\\""), "string ends with a backslash");
  EXPECT_EQ(unquoteError("\"a\\\""), "string ends with a backslash");
  EXPECT_EQ(unquoteError("\"\\x4\""), "unknown escape '\\x' in string");
  EXPECT_EQ(unquoteError("\"\\xg1\""), "unknown escape '\\x' in string");
  EXPECT_EQ(unquoteError("\"\\x1g\""), "unknown escape '\\x' in string");
}

// dump | import is the identity on the decompressed stream: header and events byte for byte.
TEST(TraceText, DumpThenImportIsByteIdentical) {
  const std::string original = scratchPath("orig.vmt");
  const std::string text = scratchPath("dump.txt");
  const std::string copy = scratchPath("copy.vmt");
  TraceHeader header = makeHeader("test", "dump round trip");
  header.set("note", "with \"quotes\" and\nnewlines");
  {
    TraceWriter writer(original, header);
    writer.write(Event::processCreate(1, 0, "prog"));
    writer.write(Event::contextSwitch(0, 1));
    for (uint64_t i = 0; i < 20000; ++i)
      writer.write(Event::access(0, 1 + i / 10000, static_cast<AccessOp>(i % 3), 0x400000 + i * 4100 % 99991, 1 + i % 9));
    writer.write(Event::pageTableWrite(0, 1, 0x1008, 0x2003, 4));
    writer.write(Event::marker(0, "end"));
    writer.write(Event::processExit(1));
    writer.finish();
  }
  {
    TraceReader reader(original);
    std::FILE *out = std::fopen(text.c_str(), "w");
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(dumpTrace(reader, out), 20005u);
    std::fclose(out);
  }
  {
    std::FILE *in = std::fopen(text.c_str(), "r");
    ASSERT_NE(in, nullptr);
    EXPECT_EQ(importTrace(in, text, copy, TraceHeader{}), 20005u);
    std::fclose(in);
  }
  EXPECT_EQ(decompressTraceFile(copy), decompressTraceFile(original));
  EXPECT_EQ(testing::readFile(copy), testing::readFile(original));  // same writer, same level
}

TEST(TraceText, ImportErrorsCarryTheLineNumber) {
  const std::string text = scratchPath("bad.txt");
  testing::writeFile(text, "# comment\n\nswitch cpu=0 pid=1\naccess cpu=0 pid=1 op=R va=0x10\n");
  std::FILE *in = std::fopen(text.c_str(), "r");
  ASSERT_NE(in, nullptr);
  try {
    importTrace(in, "bad.txt", scratchPath("out.vmt"), TraceHeader{});
    ADD_FAILURE() << "no error";
  } catch (const TextError &e) {
    EXPECT_EQ(std::string(e.what()).rfind("bad.txt:4: access: expected 5 fields", 0), 0u) << e.what();
  }
  std::fclose(in);
}

// What importTrace throws for `text` (named "in.txt"), or "" when it succeeds.
std::string importErrorOf(const std::string &text) {
  const std::string path = scratchPath("hostile.txt");
  testing::writeFile(path, text);
  std::FILE *in = std::fopen(path.c_str(), "r");
  if (in == nullptr)
    return "cannot open " + path;
  std::string error;
  try {
    importTrace(in, "in.txt", scratchPath("hostile.vmt"), TraceHeader{});
  } catch (const std::exception &e) {
    error = e.what();
  }
  std::fclose(in);
  return error;
}

TEST(TraceText, LongLinesAreRefusedNotAccumulated) {
  // The longest line dump can write (a header field at its limits, every byte escaped) is fine...
  const std::string value(kMaxHeaderValueBytes, '\x01');
  std::string escaped;
  for (size_t i = 0; i < value.size(); ++i)
    escaped += "\\x01";
  EXPECT_EQ(importErrorOf("header \"k\" \"" + escaped + "\"\nswitch cpu=0 pid=1\n"), "");
  // ...and one without an end is an error at once, naming the line.
  const std::string error = importErrorOf("switch cpu=0 pid=1\n" + std::string(1 << 20, 'a'));
  EXPECT_EQ(error.rfind("in.txt:2: line longer than ", 0), 0u) << error;
  EXPECT_NE(error.find("not a text trace"), std::string::npos) << error;
}

TEST(TraceText, NulBytesAreRefused) {
  EXPECT_EQ(importErrorOf(std::string("switch cpu=0 pid=1\nswitch cpu=0\0 pid=1\n", 39)),
            "in.txt:2: NUL byte: not a text trace");
}

TEST(TraceText, HeaderErrorsCarryTheLineNumber) {
  EXPECT_EQ(importErrorOf("# c\nheader \"\" \"v\"\n"), "in.txt:2: header key '' is empty or longer than 256 bytes");
  // A key of the limit's length is a key; one byte more is refused.
  const std::string at_limit(kMaxHeaderKeyBytes, 'k');
  EXPECT_EQ(importErrorOf("header \"" + at_limit + "\" \"v\"\nswitch cpu=0 pid=1\n"), "");
  EXPECT_EQ(importErrorOf("header \"" + at_limit + "k\" \"v\"\n"),
            "in.txt:1: header key '" + at_limit + "k' is empty or longer than 256 bytes");
  EXPECT_EQ(importErrorOf("header \"k\" \"" + std::string(kMaxHeaderValueBytes + 1, 'v') + "\"\n"),
            "in.txt:1: header value of 'k' is longer than 65536 bytes");
  std::string many;
  for (size_t i = 0; i <= kMaxHeaderFields; ++i)
    many += "header \"k" + std::to_string(i) + "\" \"v\"\n";
  EXPECT_EQ(importErrorOf(many), "in.txt:257: more than 256 header fields");
}

TEST(TraceText, HeaderLinesMustComeFirst) {
  const std::string text = scratchPath("late-header.txt");
  testing::writeFile(text, "switch cpu=0 pid=1\nheader \"k\" \"v\"\n");
  std::FILE *in = std::fopen(text.c_str(), "r");
  ASSERT_NE(in, nullptr);
  EXPECT_THROW(importTrace(in, "late-header.txt", scratchPath("out.vmt"), TraceHeader{}), TextError);
  std::fclose(in);
}

TEST(TraceText, ImportWithoutHeaderUsesTheFallback) {
  const std::string text = scratchPath("noheader.txt");
  const std::string out = scratchPath("noheader.vmt");
  testing::writeFile(text, "switch cpu=0 pid=1\r\naccess cpu=0 pid=1 op=R va=0x10 size=8\n");
  std::FILE *in = std::fopen(text.c_str(), "r");
  ASSERT_NE(in, nullptr);
  TraceHeader fallback;
  fallback.set("tool", "fallback");
  EXPECT_EQ(importTrace(in, "noheader.txt", out, fallback), 2u);
  std::fclose(in);
  TraceReader reader(out);
  EXPECT_EQ(reader.header(), fallback);
  EXPECT_EQ(testing::readAll(reader).size(), 2u);
}

}  // namespace
}  // namespace vmmu::trace
