// limits_test.cpp - the trace format's varints byte by byte (LEB128 and zigzag, truncated and
// overlong input), and the writer's header limits at their exact bounds.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../sw/trace/src/varint.h"
#include "trace_test_support.h"
#include "vmmu/trace/lackey.h"
#include "vmmu/trace/reader.h"
#include "vmmu/trace/text.h"
#include "vmmu/trace/writer.h"

namespace vmmu::trace {
namespace {

using detail::getVarint;
using detail::putVarint;

int decode(const std::vector<unsigned char> &bytes, uint64_t &value) {
  return getVarint(bytes.data(), bytes.data() + bytes.size(), value);
}

TEST(Varint, EncodesSevenBitsPerByteLowFirst) {
  const std::vector<std::pair<uint64_t, std::string>> cases = {
      {0, std::string(1, '\0')}, {1, "\x01"}, {127, "\x7f"}, {128, "\x80\x01"}, {300, "\xac\x02"},
      {16'384, "\x80\x80\x01"}};
  for (const auto &[value, bytes] : cases) {
    std::string out;
    putVarint(out, value);
    EXPECT_EQ(out, bytes) << value;
    uint64_t back = 0;
    EXPECT_EQ(decode(std::vector<unsigned char>(bytes.begin(), bytes.end()), back), static_cast<int>(bytes.size()))
        << value;
    EXPECT_EQ(back, value);
  }
  std::string max;
  putVarint(max, UINT64_MAX);
  EXPECT_EQ(max, std::string(9, '\xff') + "\x01");
}

TEST(Varint, TruncatedOverlongAndOverflowingInput) {
  uint64_t value = 7;
  EXPECT_EQ(decode({}, value), 0) << "nothing to read";
  EXPECT_EQ(decode({0xac}, value), 0) << "ends inside the varint";
  EXPECT_EQ(decode({0x80, 0x80}, value), 0);
  EXPECT_EQ(value, 7u) << "untouched unless decoded";
  // Trailing bytes are not read: one byte used of three.
  EXPECT_EQ(decode({0x05, 0xff, 0xff}, value), 1);
  EXPECT_EQ(value, 5u);
  std::vector<unsigned char> ten(9, 0xff);
  ten.push_back(0x01);
  EXPECT_EQ(decode(ten, value), 10);
  EXPECT_EQ(value, UINT64_MAX);
  ten.back() = 0x02;  // bit 64
  EXPECT_EQ(decode(ten, value), -1);
  std::vector<unsigned char> eleven(10, 0x80);
  eleven.push_back(0x00);
  EXPECT_EQ(decode(eleven, value), -1) << "longer than 10 bytes";
}

TEST(Varint, ZigzagKeepsSmallStepsSmall) {
  EXPECT_EQ(detail::zigzag(0), 0u);
  EXPECT_EQ(detail::zigzag(-1), 1u);
  EXPECT_EQ(detail::zigzag(1), 2u);
  EXPECT_EQ(detail::zigzag(-2), 3u);
  EXPECT_EQ(detail::zigzag(INT64_MAX), UINT64_MAX - 1);
  EXPECT_EQ(detail::zigzag(INT64_MIN), UINT64_MAX);
  for (const int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{-4096}, INT64_MAX, INT64_MIN})
    EXPECT_EQ(detail::unzigzag(detail::zigzag(v)), v);
}

std::string writerErrorOf(const TraceHeader &header) {
  const std::string path = testing::scratchPath("limits.vmt");
  try {
    TraceWriter writer(path, header);
    writer.finish();
  } catch (const TraceError &e) {
    return std::string(e.what()).substr(path.size());
  }
  return "";
}

TEST(TraceWriterLimits, HeaderKeysValuesAndFieldsAtTheirBounds) {
  TraceHeader at_limit;
  at_limit.set(std::string(kMaxHeaderKeyBytes, 'k'), std::string(kMaxHeaderValueBytes, 'v'));
  EXPECT_EQ(writerErrorOf(at_limit), "");
  TraceHeader long_key;
  long_key.set(std::string(kMaxHeaderKeyBytes + 1, 'k'), "v");
  EXPECT_EQ(writerErrorOf(long_key), ": header key '" + std::string(kMaxHeaderKeyBytes + 1, 'k') +
                                         "' is empty or longer than 256 bytes");
  TraceHeader long_value;
  long_value.set("k", std::string(kMaxHeaderValueBytes + 1, 'v'));
  EXPECT_EQ(writerErrorOf(long_value), ": header value of 'k' is longer than 65536 bytes");
  TraceHeader full;
  for (size_t i = 0; i < kMaxHeaderFields; ++i)
    full.set("key" + std::to_string(i), "v");
  EXPECT_EQ(writerErrorOf(full), "");
  full.set("one more", "v");
  EXPECT_EQ(writerErrorOf(full), ": too many header fields (limit 256)");
}

// The message of the error reading `raw` (decompressed bytes) raises, or "" when it reads.
std::string readErrorOf(const std::string &raw) {
  try {
    TraceReader reader = TraceReader::fromBytes(testing::compress(raw), "t.vmt");
    while (reader.next()) {
    }
  } catch (const TraceError &e) {
    return e.what();
  }
  return "";
}

TEST(TraceReaderLimits, ACutPreambleNamesTheFieldItEndsIn) {
  const std::string whole = testing::preamble() + testing::endRecord(0);
  ASSERT_EQ(readErrorOf(whole), "");
  // Magic (8 bytes), version (4), the header's field count (1).
  for (size_t cut = 1; cut < 8; ++cut)
    EXPECT_NE(readErrorOf(whole.substr(0, cut)).find("inside the magic"), std::string::npos) << cut;
  for (size_t cut = 8; cut < 12; ++cut)
    EXPECT_NE(readErrorOf(whole.substr(0, cut)).find("inside the version"), std::string::npos) << cut;
  const std::string after_version = readErrorOf(whole.substr(0, 12));
  EXPECT_NE(after_version, "");
  EXPECT_EQ(after_version.find("version"), std::string::npos) << after_version;
}

// The longest line `trace import` reads is a header line with its key and value at their limits
// and every byte escaped: 16 + 4 x (256 + 65,536) = 263,184 bytes.
TEST(TraceImportLimits, LinesUpTo263184BytesAreRead) {
  const auto importError = [](const std::string &text) {
    const std::string path = testing::scratchPath("long_line.txt");
    testing::writeFile(path, text);
    std::FILE *in = std::fopen(path.c_str(), "r");
    EXPECT_NE(in, nullptr);
    std::string error;
    try {
      importTrace(in, "in.txt", testing::scratchPath("long_line.vmt"), TraceHeader{});
    } catch (const std::exception &e) {
      error = e.what();
    }
    std::fclose(in);
    return error;
  };
  const std::string comment_at_limit = "#" + std::string(263'183, 'x') + "\n";
  EXPECT_EQ(importError(comment_at_limit.substr(0, 263'184) + "\nswitch cpu=0 pid=1\n"), "");
  const std::string over = importError("#" + std::string(263'184, 'x') + "\n");
  EXPECT_NE(over.find("line longer than 263184 bytes: not a text trace"), std::string::npos) << over;
}

// A lackey syscall line without its argument list's opening or closing is ignored (counted),
// and maps nothing.
TEST(LackeyLimits, SyscallLinesMissingEitherParenthesisAreIgnored) {
  for (const std::string &line : {std::string("SYSCALL[1,1](9) sys_mmap 0x0, 8192, 3, 34, 4294967295, 0 ) --> "
                                             "[pre-success] Success(0x4835000) "),
                                 std::string("SYSCALL[1,1](9) sys_mmap ( 0x0, 8192, 3, 34, 4294967295, 0 --> "
                                             "[pre-success] Success(0x4835000) "),
                                 std::string("SYSCALL[1,1](9) sys_mmap ) 0x0, 8192 ( --> Success(0x4835000) ")}) {
    const std::string path = testing::scratchPath("lackey_limits.vmt");
    uint64_t ignored = 0;
    {
      TraceWriter writer(path, TraceHeader{});
      LackeyImporter importer(writer, 1, "prog", 0);
      importer.consume("I  0401ab70,3");
      importer.consume(line);
      importer.finish();
      ignored = importer.ignoredLines();
      writer.finish();
    }
    EXPECT_EQ(ignored, 1u) << line;
    const std::vector<Event> events = testing::readAll(path);
    for (const Event &e : events)
      EXPECT_NE(e.kind, EventKind::Mmap) << line;
  }
}

}  // namespace
}  // namespace vmmu::trace
