// errors_test.cpp - corrupt and truncated traces give one TraceError with the documented byte
// offset (docs/trace-format.md, "Errors"), never a crash.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>
#include <random>

#include "trace_test_support.h"
#include "vmmu/trace/reader.h"

namespace vmmu::trace {
namespace {

using testing::appendVarint;
using testing::compress;
using testing::endRecord;
using testing::preamble;
using testing::scratchPath;

using Space = TraceError::Space;

// Reads every event of `bytes` (a whole compressed file) and returns the error it raises.
std::optional<TraceError> errorOf(const std::string &bytes) {
  try {
    TraceReader reader = TraceReader::fromBytes(bytes, "t.vmt");
    while (reader.next()) {
    }
  } catch (const TraceError &e) {
    return e;
  }
  return std::nullopt;
}

void expectError(const std::string &bytes, Space space, uint64_t offset, const std::string &words) {
  const auto error = errorOf(bytes);
  ASSERT_TRUE(error) << "no error for a stream expected to fail with '" << words << "'";
  EXPECT_EQ(error->space(), space) << error->what();
  EXPECT_EQ(error->offset(), offset) << error->what();
  const std::string message = error->what();
  EXPECT_NE(message.find(words), std::string::npos) << message;
  EXPECT_NE(message.find("t.vmt"), std::string::npos) << message;
  EXPECT_NE(message.find(std::to_string(offset)), std::string::npos) << message;
  const char *space_word = space == Space::Compressed ? "compressed" : "decompressed";
  EXPECT_NE(message.find(space_word), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
}

// An access record: read of 8 bytes, same thread, address delta zigzag(d).
std::string accessRecord(uint64_t zigzag_delta) {
  std::string s(1, static_cast<char>(0x80 | (4 << 3)));
  appendVarint(s, zigzag_delta);
  return s;
}

TEST(TraceErrors, HandMadeStreamIsValid) {
  // The builders below are right: a stream made with them reads back.
  const std::string raw = preamble() + accessRecord(2 * 4096) + endRecord(1);
  TraceReader reader = TraceReader::fromBytes(compress(raw));
  const auto e = reader.next();
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, Event::access(0, 0, AccessOp::Read, 4096, 8));
  EXPECT_FALSE(reader.next());
}

TEST(TraceErrors, EmptyAndNonZstdFiles) {
  expectError("", Space::Compressed, 0, "empty");
  expectError("hello, this is text\n", Space::Compressed, 0, "not a vmmu trace");
}

TEST(TraceErrors, MissingFile) {
  EXPECT_THROW(TraceReader(scratchPath("does-not-exist.vmt")), TraceError);
}

TEST(TraceErrors, BadMagicAndVersion) {
  std::string raw = preamble();
  raw[3] = 'X';
  expectError(compress(raw + endRecord(0)), Space::Decompressed, 0, "bad magic");
  expectError(compress(preamble(2, 0) + endRecord(0)), Space::Decompressed, 8, "version 2.0");
}

TEST(TraceErrors, CorruptRecordsReportTheirOffset) {
  const std::string head = preamble() + accessRecord(2);
  const uint64_t at = head.size();  // offset of the bad record
  expectError(compress(head + std::string(1, '\x7f') + '\0' + endRecord(2)), Space::Decompressed, at,
              "unknown record kind 127");
  expectError(compress(head + std::string(1, '\x01') + '\0' + endRecord(2)), Space::Decompressed, at,
              "unknown record kind 1");
  expectError(compress(head + std::string(1, '\x83') + '\0' + endRecord(2)), Space::Decompressed, at,
              "invalid access operation");
  expectError(compress(head + std::string(1, '\xc0') + '\0' + endRecord(2)), Space::Decompressed, at,
              "reserved bit");
  // Payload length over the limit.
  std::string big(1, '\x0b');
  appendVarint(big, kMaxPayloadBytes + 1);
  expectError(compress(head + big + endRecord(2)), Space::Decompressed, at, "payload length");
  // An mmap whose payload holds only the pid.
  expectError(compress(head + std::string("\x05\x01\x07", 3) + endRecord(2)), Space::Decompressed, at,
              "payload ends inside start");
  // A process-exit with one byte too many.
  expectError(compress(head + std::string("\x03\x02\x07\x00", 4) + endRecord(2)), Space::Decompressed, at,
              "unexpected bytes");
  // An mmap with prot 9.
  expectError(compress(head + std::string("\x05\x04\x07\x00\x01\x09", 6) + endRecord(2)), Space::Decompressed,
              at + 5, "protection 9");
  // A varint of 11 bytes.
  expectError(compress(head + std::string(1, '\x80' | (4 << 3)) + std::string(10, '\xff') + '\x01' + endRecord(2)),
              Space::Decompressed, at + 1, "malformed varint");
}

// The checks of the field decoders and of the header, each with its offset worked out by hand:
// the preamble is 13 bytes (magic 8, version 4, field count 1) and the first record at 15.
TEST(TraceErrors, FieldAndHeaderLimitsReportTheirOffset) {
  const std::string head = preamble() + accessRecord(2);
  const uint64_t at = head.size();
  ASSERT_EQ(at, 15u);
  // A thread change (tag bit 2) whose cpu, then pid, needs 33 bits.
  std::string wide_cpu(1, static_cast<char>(0x80 | (4 << 3) | 4));
  appendVarint(wide_cpu, uint64_t{1} << 32);
  wide_cpu += std::string("\x00\x00", 2);
  expectError(compress(head + wide_cpu + endRecord(2)), Space::Decompressed, at + 1,
              "cpu of access record does not fit 32 bits");
  std::string wide_pid(1, static_cast<char>(0x80 | (4 << 3) | 4));
  wide_pid += '\0';
  appendVarint(wide_pid, uint64_t{1} << 32);
  wide_pid += '\0';
  expectError(compress(head + wide_pid + endRecord(2)), Space::Decompressed, at + 2,
              "pid of access record does not fit 32 bits");
  // A ten-byte address delta whose last byte holds more than bit 63 (UINT64_MAX ends in 0x01).
  expectError(compress(head + std::string(1, '\x80' | (4 << 3)) + std::string(9, '\xff') + '\x02' + endRecord(2)),
              Space::Decompressed, at + 1, "malformed varint");
  // An explicit size (size code 0) of 0.
  expectError(compress(head + std::string("\x80\x00\x00", 3) + endRecord(2)), Space::Decompressed, at + 1,
              "access size 0");
  // A process name one byte over the limit: tag, payload length (2 bytes), pid, parent, then the
  // text's length at at + 5.
  std::string long_name(1, '\x02');
  appendVarint(long_name, 4 + kMaxTextBytes + 1);
  long_name += std::string("\x01\x00", 2);
  appendVarint(long_name, kMaxTextBytes + 1);
  long_name += std::string(kMaxTextBytes + 1, 'n');
  expectError(compress(head + long_name + endRecord(2)), Space::Decompressed, at + 5,
              "text of process-create record is 4097 bytes (limit 4096)");
  // A name longer than the payload that declares it.
  expectError(compress(head + std::string("\x02\x05\x01\x00\x05" "ab", 7) + endRecord(2)), Space::Decompressed, at,
              "process-create record payload ends inside text");
  // Page-table levels 0 and 6 (the level is the payload's fifth varint, at at + 6); 1 and 5 read.
  for (const char level : {'\x00', '\x06'})
    expectError(compress(head + std::string("\x09\x05\x00\x01\x00\x00", 6) + level + endRecord(2)),
                Space::Decompressed, at + 6, "page-table level " + std::to_string(level) + " is not 1 to 5");
  for (const char level : {'\x01', '\x05'}) {
    const std::string bytes = compress(head + std::string("\x09\x05\x00\x01\x00\x00", 6) + level + endRecord(2));
    TraceReader reader = TraceReader::fromBytes(bytes, "t.vmt");
    reader.next();
    EXPECT_EQ(reader.next(), Event::pageTableWrite(0, 1, 0, 0, static_cast<uint8_t>(level)));
  }
  // A record whose payload the stream does not hold.
  const std::string cut = head + std::string("\x05\x0a\x01\x02", 4);
  expectError(compress(cut), Space::Decompressed, cut.size(), "inside the payload of the record starting at byte 15");

  // The header: 257 fields are too many (the count is at 12); an empty key (the field at 13); a
  // key given twice (the second field at 17).
  std::string many = preamble().substr(0, 12);
  appendVarint(many, kMaxHeaderFields + 1);
  expectError(compress(many + endRecord(0)), Space::Decompressed, 12, "header has 257 fields (limit 256)");
  const std::string magic_and_version = preamble().substr(0, 12);
  expectError(compress(magic_and_version + std::string("\x01\x00\x00", 3) + endRecord(0)), Space::Decompressed, 13,
              "empty header key");
  expectError(compress(magic_and_version + std::string("\x02\x01" "a" "\x01" "1" "\x01" "a" "\x01" "2", 9) +
                       endRecord(0)),
              Space::Decompressed, 17, "duplicate header key 'a'");
  // 256 fields are fine.
  std::string full = magic_and_version;
  appendVarint(full, kMaxHeaderFields);
  for (size_t i = 0; i < kMaxHeaderFields; ++i) {
    const std::string key = std::to_string(i);
    appendVarint(full, key.size());
    full += key;
    appendVarint(full, 0);
  }
  const std::string bytes = compress(full + endRecord(0));
  TraceReader reader = TraceReader::fromBytes(bytes, "t.vmt");
  EXPECT_EQ(reader.header().fields().size(), kMaxHeaderFields);
  EXPECT_FALSE(reader.next());
}

// A record of the largest size (tag, 3-byte length, 65536 bytes of payload: 65540), of a kind a
// later minor version added, starting 65530 bytes before the end of the reader's first 256 KiB
// window: the reader refills before a record unless a whole one is there, so it skips it whole.
// Before it: the 13-byte preamble and 48 markers, 47 of 4102 bytes (text 4096: tag, 2-byte
// length, cpu, 2-byte text length) and one of 3807 (text 3801).
TEST(TraceErrors, LargestRecordAcrossTheWindowEndIsReadWhole) {
  std::string raw = preamble(1, 1);
  const auto marker = [&](size_t text) {
    std::string payload(1, '\0');
    appendVarint(payload, text);
    payload += std::string(text, 'm');
    raw += '\x0b';
    appendVarint(raw, payload.size());
    raw += payload;
  };
  for (int i = 0; i < 47; ++i)
    marker(4096);
  marker(3801);
  ASSERT_EQ(raw.size() + 65530, 256u * 1024);
  raw += '\x0c';  // kind 12: not in version 1.0
  appendVarint(raw, kMaxPayloadBytes);
  raw += std::string(kMaxPayloadBytes, 'x');
  raw += endRecord(49);
  const std::string bytes = compress(raw);  // fromBytes reads it in place: it must outlive the reader
  TraceReader reader = TraceReader::fromBytes(bytes, "t.vmt");
  uint64_t markers = 0;
  while (const auto e = reader.next()) {
    EXPECT_EQ(e->kind, EventKind::Marker);
    ++markers;
  }
  EXPECT_EQ(markers, 48u);
}

// decompressTraceFile (what tests and `trace dump | import` compare) says where a file is cut
// and what zstd found wrong.
TEST(TraceErrors, DecompressingACutOrCorruptFile) {
  const std::string good = compress(preamble() + accessRecord(2) + endRecord(1));
  const std::string cut_path = scratchPath("cut.vmt"), flipped_path = scratchPath("flipped.vmt");
  testing::writeFile(cut_path, good.substr(0, good.size() - 3));
  try {
    decompressTraceFile(cut_path);
    ADD_FAILURE() << "no error for a cut file";
  } catch (const TraceError &e) {
    EXPECT_EQ(std::string(e.what()), cut_path + ": truncated trace: compressed file ends at byte " +
                                         std::to_string(good.size() - 3) + " inside a zstd frame");
    EXPECT_EQ(e.space(), Space::Compressed);
    EXPECT_EQ(e.offset(), good.size() - 3);
  }
  std::string flipped = good;
  flipped[flipped.size() - 1] ^= 0x55;  // the frame's checksum
  testing::writeFile(flipped_path, flipped);
  try {
    decompressTraceFile(flipped_path);
    ADD_FAILURE() << "no error for a corrupt file";
  } catch (const TraceError &e) {
    EXPECT_EQ(std::string(e.what()).rfind(flipped_path + ": corrupt compressed data at compressed byte offset ", 0), 0u)
        << e.what();
    EXPECT_EQ(e.space(), Space::Compressed);
  }
  testing::writeFile(cut_path, good);
  EXPECT_EQ(decompressTraceFile(cut_path), preamble() + accessRecord(2) + endRecord(1));
}

// Both version numbers are 16 bits, low byte first: a minor version of 256 (bytes 0, 1) is a later
// minor version the reader reads and reports, a major version of 256 one it refuses, naming it.
TEST(TraceErrors, VersionsAreSixteenBitsLowByteFirst) {
  const std::string later = compress(preamble(1, 256) + endRecord(0));
  TraceReader reader = TraceReader::fromBytes(later, "t.vmt");
  EXPECT_EQ(reader.versionMajor(), 1u);
  EXPECT_EQ(reader.versionMinor(), 256u);
  EXPECT_FALSE(reader.next());
  expectError(compress(preamble(256, 3) + endRecord(0)), Space::Decompressed, 8, "version 256.3");
}

// A file that cannot be read (the kernel answers EIO for /proc/self/mem at offset 0) is a read
// error at compressed byte 0, not an empty file.
TEST(TraceErrors, UnreadableFileIsAReadError) {
  try {
    TraceReader reader("/proc/self/mem");
    ADD_FAILURE() << "no error";
  } catch (const TraceError &e) {
    EXPECT_EQ(std::string(e.what()), "/proc/self/mem: read error: Input/output error");
    EXPECT_EQ(e.space(), Space::Compressed);
    EXPECT_EQ(e.offset(), 0u);
  }
}

TEST(TraceErrors, EndRecordIsChecked) {
  const std::string body = preamble() + accessRecord(2) + accessRecord(2);
  expectError(compress(body + endRecord(3)), Space::Decompressed, body.size(), "counts 3 events");
  expectError(compress(body + endRecord(2) + "x"), Space::Decompressed, body.size() + 2, "after the end record");
}

TEST(TraceErrors, TruncatedDecompressedStream) {
  const std::string body = preamble() + accessRecord(2);
  // No end record at all.
  expectError(compress(body), Space::Decompressed, body.size(), "before the end record");
  // Cut inside a record's varint.
  const std::string cut = body + std::string(1, '\x80' | (4 << 3)) + '\x80';
  expectError(compress(cut), Space::Decompressed, cut.size(), "ends at byte");
  // Cut inside the header.
  const std::string header_cut = preamble().substr(0, 10);
  expectError(compress(header_cut), Space::Decompressed, header_cut.size(), "truncated");
}

TEST(TraceErrors, TruncatedCompressedFileAtEveryOffset) {
  const std::string path = scratchPath("full.vmt");
  std::mt19937_64 rng(7);
  {
    TraceWriter writer(path, makeHeader("test", "truncation"));
    for (int i = 0; i < 20000; ++i)
      writer.write(Event::access(0, 1, AccessOp::Read, rng() & 0xffff'ffff'f000ull, 8));
    writer.finish();
  }
  const std::string full = testing::readFile(path);
  ASSERT_FALSE(errorOf(full));
  // About 200 cut points by default (each read is linear in the cut, so all of them is quadratic).
  const size_t step = testing::longRun() ? 1 : full.size() / 200 + 1;
  for (size_t n = 4; n < full.size(); n += step) {
    SCOPED_TRACE("cut at " + std::to_string(n));
    expectError(full.substr(0, n), Space::Compressed, n, "compressed file ends at byte");
  }
  expectError(full.substr(0, 3), Space::Compressed, 0, "not a vmmu trace");
}

TEST(TraceErrors, TrailingGarbageAfterTheLastFrame) {
  const std::string good = compress(preamble() + endRecord(0));
  const auto error = errorOf(good + "garbage!");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->space(), Space::Compressed) << error->what();
  EXPECT_GE(error->offset(), good.size()) << error->what();
}

// The reader refills its 256 KiB window before a record only when fewer bytes than the longest
// record (1 + 10 + 65536 = 65547) remain in it. Here the first zstd frame decompresses to exactly
// the window (the 13-byte preamble, 131064 2-byte access records, one 3-byte access record), and
// bytes that are no zstd frame follow it, so the refill that reads on meets them. The record at
// 262144 - 65547 = 196597 (number 98292, from 0: 13 + 2 * 98292) has exactly 65547 bytes left
// and is read without a refill; the refill before the next one, at 196599, raises the error after
// 98293 events.
TEST(TraceErrors, WindowIsRefilledOnlyWhenLessThanARecordRemains) {
  std::string raw = preamble();
  for (int i = 0; i < 131064; ++i)
    raw += accessRecord(0);
  raw += accessRecord(128);  // zigzag 128 is two varint bytes
  ASSERT_EQ(raw.size(), 256u * 1024);
  const std::string bytes = compress(raw) + "garbage!";  // must outlive the reader
  TraceReader reader = TraceReader::fromBytes(bytes, "t.vmt");
  uint64_t events = 0;
  try {
    while (reader.next())
      ++events;
    ADD_FAILURE() << "no error for the bytes after the frame";
  } catch (const TraceError &e) {
    EXPECT_EQ(e.space(), Space::Compressed) << e.what();
  }
  EXPECT_EQ(events, 98293u);
  EXPECT_EQ(reader.decompressedOffset(), 196599u);
}

// Flipping any byte of a real trace either leaves it readable with the same events (a byte zstd
// does not depend on) or raises a TraceError; it never crashes or returns different events
// silently (the zstd checksum guards the content).
TEST(TraceErrors, FlippedBytesAreDetected) {
  const std::string path = scratchPath("flip.vmt");
  std::vector<Event> events;
  for (int i = 0; i < 3000; ++i)
    events.push_back(Event::access(0, 1 + i % 3, static_cast<AccessOp>(i % 3), 0x400000 + 64 * i, 8));
  testing::writeTrace(path, events);
  const std::string full = testing::readFile(path);
  for (size_t at = 0; at < full.size(); at += (testing::longRun() ? 1 : 7)) {
    std::string bytes = full;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x5a);
    std::vector<Event> got;
    try {
      TraceReader reader = TraceReader::fromBytes(bytes);
      while (auto e = reader.next())
        got.push_back(*e);
    } catch (const TraceError &) {
      continue;
    }
    EXPECT_EQ(got, events) << "byte " << at << " flipped and the trace read differently without error";
  }
}

TEST(TraceErrors, LaterMinorVersionExtensionsAreSkipped) {
  // Minor 1 may add record kinds and payload fields: a 1.0 reader skips them.
  std::string raw = preamble(1, 1);
  raw += std::string("\x2a\x03xyz", 5);            // unknown kind 42 with a 3-byte payload
  raw += std::string("\x03\x02\x07\x63", 4);       // process-exit pid 7 plus one extension byte
  raw += endRecord(2);                             // the count includes the skipped record
  TraceReader reader = TraceReader::fromBytes(compress(raw));
  EXPECT_EQ(reader.versionMinor(), 1);
  const auto e = reader.next();
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, Event::processExit(7));
  EXPECT_FALSE(reader.next());
}

// What opening `path` as a trace throws ("" when it opens).
std::string openErrorOf(const std::string &path) {
  try {
    TraceReader reader(path);
  } catch (const TraceError &e) {
    return e.what();
  }
  return "";
}

// Only regular files are traces: /dev/zero never ends, a FIFO with no writer would block open(2)
// forever, a directory cannot be read. Each is one line naming the path, at once.
TEST(TraceErrors, NonRegularFilesAreRefusedAtOnce) {
  EXPECT_EQ(openErrorOf("/dev/zero"), "/dev/zero: is not a regular file (a FIFO, socket or device)");
  EXPECT_EQ(openErrorOf("/"), "/: is a directory");
  EXPECT_EQ(openErrorOf("/nonexistent/t.vmt"), "/nonexistent/t.vmt: cannot open: No such file or directory");
  const std::string fifo = scratchPath("fifo.vmt");
  std::remove(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(openErrorOf(fifo), fifo + ": is not a regular file (a FIFO, socket or device)");
  std::remove(fifo.c_str());
}

}  // namespace
}  // namespace vmmu::trace
