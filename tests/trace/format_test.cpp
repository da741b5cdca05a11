// format_test.cpp - binary round trips: every event kind, header fields, extreme values, long
// traces that cross the reader's buffers, writer validation.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <unordered_set>

#include "trace_test_support.h"
#include "vmmu/trace/format.h"
#include "vmmu/trace/reader.h"
#include "vmmu/trace/writer.h"

namespace vmmu::trace {
namespace {

using testing::readAll;
using testing::scratchPath;
using testing::writeTrace;

// One event of every kind, with values that need multi-byte varints.
std::vector<Event> everyKind() {
  return {
      Event::processCreate(7, 1, "gzip"),
      Event::contextSwitch(3, 7),
      Event::mmap(7, 0x7f00'0000'0000ull, 0x20'0000, prot::Read | prot::Write),
      Event::access(3, 7, AccessOp::Fetch, 0x5555'5555'1000ull, 4),
      Event::access(3, 7, AccessOp::Read, 0x7f00'0000'0010ull, 8),
      Event::access(3, 7, AccessOp::Write, 0x7f00'0000'0008ull, 3),
      Event::mprotect(7, 0x7f00'0000'0000ull, 0x1000, prot::Read),
      Event::brk(7, 0x5555'6000'0000ull),
      Event::munmap(7, 0x7f00'0000'0000ull, 0x20'0000),
      Event::pageTableWrite(3, 7, 0x1234'5000ull, 0x8000'0000'4000'0083ull, 2),
      Event::invlpg(3, 7, 0x7f00'0000'0000ull),
      Event::marker(3, "phase \"two\"\n"),
      Event::processExit(7),
  };
}

TEST(TraceFormat, EveryEventKindRoundTrips) {
  const std::string path = scratchPath("kinds.vmt");
  const auto events = everyKind();
  // Check the list really covers every kind, so that adding a kind without a test fails here.
  std::vector<bool> seen(kNumEventKinds + 1, false);
  for (const Event &e : events)
    seen[static_cast<size_t>(e.kind)] = true;
  for (int k = 1; k <= kNumEventKinds; ++k)
    EXPECT_TRUE(seen[k]) << "no event of kind " << toString(static_cast<EventKind>(k));
  writeTrace(path, events);
  EXPECT_EQ(readAll(path), events);
}

TEST(TraceFormat, HeaderAndVersionRoundTrip) {
  const std::string path = scratchPath("header.vmt");
  TraceHeader header;
  header.set("command", "sort -n in.txt");
  header.set("tool", "test");
  header.set("binary", std::string("\0\xff\n", 3));
  writeTrace(path, {Event::marker(0, "x")}, header);
  TraceReader reader(path);
  EXPECT_EQ(reader.header(), header);
  EXPECT_EQ(reader.versionMajor(), kVersionMajor);
  EXPECT_EQ(reader.versionMinor(), kVersionMinor);
  EXPECT_EQ(readAll(reader).size(), 1u);
  EXPECT_EQ(reader.eventsRead(), 1u);
}

TEST(TraceFormat, MakeHeaderRecordsWhereTheTraceCameFrom) {
  const TraceHeader header = makeHeader("vmmu test", "cmd arg");
  EXPECT_EQ(header.get("tool"), "vmmu test");
  EXPECT_EQ(header.get("command"), "cmd arg");
  ASSERT_TRUE(header.get("date"));
  EXPECT_EQ(header.get("date")->size(), 20u);  // 2026-01-02T03:04:05Z
  ASSERT_TRUE(header.get("machine"));
  EXPECT_FALSE(header.get("machine")->empty());
}

TEST(TraceFormat, ExtremeValuesRoundTrip) {
  const std::string path = scratchPath("extreme.vmt");
  const std::vector<Event> events = {
      Event::access(0, 0, AccessOp::Read, 0, 1),
      Event::access(UINT32_MAX, UINT32_MAX, AccessOp::Read, UINT64_MAX, UINT32_MAX),  // delta -1 wraps
      Event::access(UINT32_MAX, UINT32_MAX, AccessOp::Write, 0, 64),                  // delta +1 wraps
      Event::access(1, 2, AccessOp::Fetch, 0x8000'0000'0000'0000ull, 16),
      Event::access(1, 2, AccessOp::Fetch, 0x7fff'ffff'ffff'ffffull, 1000),
      Event::mmap(UINT32_MAX, UINT64_MAX, UINT64_MAX, prot::All),
      Event::pageTableWrite(UINT32_MAX, UINT32_MAX, UINT64_MAX, UINT64_MAX, 5),
      Event::processCreate(0, UINT32_MAX, std::string(kMaxTextBytes, 'n')),
      Event::marker(0, ""),
  };
  writeTrace(path, events);
  EXPECT_EQ(readAll(path), events);
}

// Sizes 1, 2, 4, ..., 64 ride in the access tag; any other size is written out as a varint after
// it (128: two bytes, 3: one), which only the decompressed length shows.
TEST(TraceFormat, PowerOfTwoSizesUpTo64AreInTheTag) {
  const auto streamBytes = [&](uint32_t size) {
    const std::string path = scratchPath("size" + std::to_string(size) + ".vmt");
    writeTrace(path, {Event::access(0, 1, AccessOp::Read, 0x1000, size)});
    EXPECT_EQ(readAll(path), std::vector<Event>{Event::access(0, 1, AccessOp::Read, 0x1000, size)}) << size;
    return decompressTraceFile(path).size();
  };
  const size_t in_tag = streamBytes(1);
  for (const uint32_t size : {2u, 4u, 8u, 16u, 32u, 64u})
    EXPECT_EQ(streamBytes(size), in_tag) << size;
  EXPECT_EQ(streamBytes(3), in_tag + 1);
  EXPECT_EQ(streamBytes(127), in_tag + 1);
  EXPECT_EQ(streamBytes(128), in_tag + 2);
  EXPECT_EQ(streamBytes(256), in_tag + 2);
}

// A header field of the largest size (2 + 256 + 3 + 65536 = 65797 bytes) that starts 65795 bytes
// before the end of the reader's first 256 KiB window: the reader refills before a field unless
// a whole one is there, so it reads it whole. The preamble takes 13 bytes, and the three fields
// before it 65797 + 65797 + 64742 (key "c", a value of 64737 bytes).
TEST(TraceFormat, HeaderFieldAcrossTheWindowEndIsReadWhole) {
  TraceHeader header;
  header.set(std::string(kMaxHeaderKeyBytes, 'a'), std::string(kMaxHeaderValueBytes, '1'));
  header.set(std::string(kMaxHeaderKeyBytes, 'b'), std::string(kMaxHeaderValueBytes, '2'));
  header.set("c", std::string(64737, '3'));
  header.set(std::string(kMaxHeaderKeyBytes, 'd'), std::string(kMaxHeaderValueBytes, '4'));
  ASSERT_EQ(13 + 65797 + 65797 + 64742 + 65795, 256 * 1024);
  const std::string path = scratchPath("wide-header.vmt");
  writeTrace(path, {Event::processExit(1)}, header);
  TraceReader reader(path);
  EXPECT_EQ(reader.header(), header);
  EXPECT_EQ(reader.next(), Event::processExit(1));
  EXPECT_FALSE(reader.next());
}

// Enough events, with long markers among them, that records straddle the reader's window and
// the compressed input buffer many times.
TEST(TraceFormat, LongTraceCrossesBuffersInOrder) {
  const std::string path = scratchPath("long.vmt");
  const uint64_t count = testing::longRun() ? 5'000'000 : 300'000;
  std::mt19937_64 rng(42);
  std::vector<Event> sample;  // every 997th event, to compare without holding the whole trace
  {
    TraceWriter writer(path, TraceHeader{});
    for (uint64_t i = 0; i < count; ++i) {
      Event e;
      if (i % 5000 == 17)
        e = Event::marker(0, std::string(kMaxTextBytes - (i % 100), static_cast<char>('a' + i % 26)));
      else
        e = Event::access(static_cast<uint32_t>(i / 50000), static_cast<uint32_t>(i % 3),
                          static_cast<AccessOp>(rng() % 3), rng(), static_cast<uint32_t>(1 + rng() % 100));
      if (i % 997 == 0)
        sample.push_back(e);
      writer.write(e);
    }
    writer.finish();
    EXPECT_EQ(writer.eventsWritten(), count);
  }
  TraceReader reader(path);
  uint64_t i = 0;
  size_t next_sample = 0;
  while (auto e = reader.next()) {
    if (i % 997 == 0) {
      ASSERT_EQ(*e, sample[next_sample++]) << "event " << i;
    }
    ++i;
  }
  EXPECT_EQ(i, count);
  EXPECT_EQ(next_sample, sample.size());
}

// The access encoding is what keeps recorded traces small: an access near the previous one of its
// stream costs a tag byte and a one-byte delta before compression, and zstd shrinks the regular
// result by more than ten times.
TEST(TraceFormat, SequentialAccessesEncodeCompactly) {
  const std::string path = scratchPath("compact.vmt");
  const uint64_t count = 100'000;
  {
    TraceWriter writer(path, TraceHeader{});
    for (uint64_t i = 0; i < count; ++i) {
      writer.write(Event::access(0, 1, AccessOp::Fetch, 0x401000 + 4 * i, 4));
      writer.write(Event::access(0, 1, AccessOp::Read, 0x7ffc'0000'0000ull + 8 * (i % 64), 8));
    }
    writer.finish();
  }
  const std::string raw = decompressTraceFile(path);
  const uint64_t accesses = 2 * count;
  EXPECT_LT(raw.size(), accesses * 2 + accesses / 50);  // the wrap-around delta takes 2 bytes
  EXPECT_LT(testing::readFile(path).size(), raw.size() / 10);
}

TEST(TraceFormat, WriterRejectsEventsTheFormatCannotHold) {
  const std::string path = scratchPath("invalid.vmt");
  TraceWriter writer(path, TraceHeader{});
  EXPECT_THROW(writer.write(Event::access(0, 0, AccessOp::Read, 0, 0)), TraceError);
  EXPECT_THROW(writer.write(Event::mmap(0, 0, 4096, 8)), TraceError);
  EXPECT_THROW(writer.write(Event::pageTableWrite(0, 0, 0, 0, 0)), TraceError);
  EXPECT_THROW(writer.write(Event::pageTableWrite(0, 0, 0, 0, 6)), TraceError);
  EXPECT_THROW(writer.write(Event::marker(0, std::string(kMaxTextBytes + 1, 'x'))), TraceError);
  writer.write(Event::marker(0, "still fine"));
  writer.finish();
  EXPECT_THROW(writer.write(Event::marker(0, "late")), TraceError);
  const auto events = readAll(path);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].text, "still fine");
}

TEST(TraceFormat, WriterRejectsBadHeaderAndUnwritablePath) {
  TraceHeader empty_key;
  empty_key.set("", "v");
  EXPECT_THROW(TraceWriter(scratchPath("h.vmt"), empty_key), TraceError);
  TraceHeader long_value;
  long_value.set("k", std::string(kMaxHeaderValueBytes + 1, 'v'));
  EXPECT_THROW(TraceWriter(scratchPath("h.vmt"), long_value), TraceError);
  EXPECT_THROW(TraceWriter("/nonexistent-dir/x.vmt", TraceHeader{}), TraceError);
}

TEST(TraceFormat, UnfinishedWriterLeavesATruncatedTrace) {
  const std::string path = scratchPath("unfinished.vmt");
  {
    TraceWriter writer(path, TraceHeader{});
    for (int i = 0; i < 10; ++i)
      writer.write(Event::access(0, 1, AccessOp::Read, 4096 * i, 8));
  }
  EXPECT_THROW(readAll(path), TraceError);
}

TEST(TraceFormat, ReaderWorksFromMemory) {
  const std::string path = scratchPath("mem.vmt");
  writeTrace(path, everyKind());
  const std::string bytes = testing::readFile(path);
  TraceReader reader = TraceReader::fromBytes(bytes, "in-memory");
  EXPECT_EQ(readAll(reader), everyKind());
  EXPECT_EQ(reader.compressedOffset(), bytes.size());
  EXPECT_EQ(reader.decompressedOffset(), decompressTraceFile(path).size());
}

#ifdef VMMU_TRACES_DIR
// The recorded traces in traces/ are complete and say where they came from (traces/README.md).
TEST(TraceFormat, CheckedInTracesAreComplete) {
  for (const char *name : {"gzip", "xz", "sort", "cc1", "sqlite"}) {
    SCOPED_TRACE(name);
    TraceReader reader(std::string(VMMU_TRACES_DIR) + "/" + name + ".vmt");
    ASSERT_TRUE(reader.header().get("command"));
    EXPECT_NE(reader.header().get("tool")->find("valgrind"), std::string_view::npos);
    uint64_t accesses = 0, maps = 0;
    while (auto e = reader.next()) {
      accesses += e->kind == EventKind::Access;
      maps += e->kind == EventKind::Mmap;
    }
    EXPECT_EQ(accesses, 2'000'000u);
    EXPECT_GT(maps, 0u);
  }
}

// The large traces (traces/README.md, "Large traces") are windows of a program's steady phase:
// each skipped a start-up (whose resident pages come first, then the start-up marker) and the
// window touches at least 64 MiB of distinct 4 KiB pages. All the bundled
// traces together stay under 40 MB, so that the repository stays small to clone.
TEST(TraceFormat, LargeTracesAreSteadyWindowsOf64MiB) {
  for (const char *name : {"gups", "vpr", "sort-big", "tpch", "cc1-big"}) {
    SCOPED_TRACE(name);
    TraceReader reader(std::string(VMMU_TRACES_DIR) + "/" + name + ".vmt");
    const std::optional<std::string_view> skip = reader.header().get("skip");
    ASSERT_TRUE(skip);
    EXPECT_NE(*skip, "0");
    // The window proper follows the start-up's resident pages and their marker (§7).
    std::unordered_set<uint64_t> pages;
    bool window = false;
    while (auto e = reader.next()) {
      if (e->kind == EventKind::Marker && e->text.rfind(kStartUpMarker, 0) == 0)
        window = true;
      else if (window && e->kind == EventKind::Access)
        pages.insert(e->address >> 12);
    }
    EXPECT_TRUE(window) << "no start-up marker";
    EXPECT_GE(pages.size(), (64u << 20) / 4096);
  }
  uint64_t bytes = 0;
  for (const auto &entry : std::filesystem::directory_iterator(VMMU_TRACES_DIR))
    if (entry.path().extension() == ".vmt")
      bytes += entry.file_size();
  EXPECT_LT(bytes, 40'000'000u);
}
#endif

// event.h's promise: the fields a kind does not use are zero (or empty), so that two events
// compare equal exactly when they encode alike. Every constructor leaves them so.
TEST(TraceFormat, UnusedEventFieldsAreZero) {
  const Event blank;
  EXPECT_EQ(blank.kind, EventKind::Marker);
  EXPECT_EQ(blank.cpu, 0u);
  EXPECT_EQ(blank.pid, 0u);
  EXPECT_EQ(blank.parent, 0u);
  EXPECT_EQ(blank.op, AccessOp::Read);
  EXPECT_EQ(blank.prot, 0u);
  EXPECT_EQ(blank.level, 0u);
  EXPECT_EQ(blank.size, 0u);
  EXPECT_EQ(blank.address, 0u);
  EXPECT_EQ(blank.length, 0u);
  EXPECT_EQ(blank.value, 0u);
  EXPECT_EQ(blank.text, "");
  Event exit;
  exit.kind = EventKind::ProcessExit;
  exit.pid = 7;
  EXPECT_EQ(Event::processExit(7), exit);
  Event brk;
  brk.kind = EventKind::Brk;
  brk.pid = 7;
  brk.address = 0x5000;
  EXPECT_EQ(Event::brk(7, 0x5000), brk);
  Event munmap;
  munmap.kind = EventKind::Munmap;
  munmap.pid = 7;
  munmap.address = 0x5000;
  munmap.length = 0x1000;
  EXPECT_EQ(Event::munmap(7, 0x5000, 0x1000), munmap);
  Event marker;
  marker.cpu = 2;
  marker.text = "m";
  EXPECT_EQ(Event::marker(2, "m"), marker);
}

}  // namespace
}  // namespace vmmu::trace
