// lackey_test.cpp - parsing of valgrind lackey logs (the lines `vmmu record` consumes).
#include <gtest/gtest.h>

#include "trace_test_support.h"
#include "vmmu/trace/lackey.h"

namespace vmmu::trace {
namespace {

using testing::readAll;
using testing::scratchPath;

std::vector<Event> importLines(const std::vector<std::string> &lines, uint64_t max_accesses = 0,
                               uint64_t *ignored = nullptr) {
  const std::string path = scratchPath("lackey.vmt");
  {
    TraceWriter writer(path, TraceHeader{});
    LackeyImporter importer(writer, 1, "prog", max_accesses);
    for (const std::string &line : lines)
      if (!importer.consume(line))
        break;
    importer.finish();
    if (ignored)
      *ignored = importer.ignoredLines();
    writer.finish();
  }
  return readAll(path);
}

TEST(TraceLackey, AccessLines) {
  uint64_t ignored = 0;
  const auto events = importLines(
      {
          "==123== Lackey, an example Valgrind tool",
          "I  0401ab70,3",
          " S 1fff0006f8,8",
          " L 0403a4c8,4",
          " M 1fff000700,16",
          "I  zzzz,3",  // malformed: ignored
      },
      0, &ignored);
  const std::vector<Event> expected = {
      Event::processCreate(1, 0, "prog"),
      Event::contextSwitch(0, 1),
      Event::access(0, 1, AccessOp::Fetch, 0x0401ab70, 3),
      Event::access(0, 1, AccessOp::Write, 0x1fff0006f8, 8),
      Event::access(0, 1, AccessOp::Read, 0x0403a4c8, 4),
      Event::access(0, 1, AccessOp::Read, 0x1fff000700, 16),  // modify = load ...
      Event::access(0, 1, AccessOp::Write, 0x1fff000700, 16), // ... then store
      Event::processExit(1),
  };
  EXPECT_EQ(events, expected);
  EXPECT_EQ(ignored, 2u);
}

TEST(TraceLackey, MemorySyscalls) {
  const auto events = importLines({
      "SYSCALL[11821,1](12) sys_brk ( 0x0 ) --> [pre-success] Success(0x4035000) ",
      "SYSCALL[11821,1](9) sys_mmap ( 0x0, 8192, 3, 34, 4294967295, 0 ) --> [pre-success] Success(0x4835000) ",
      "SYSCALL[11821,1](9) sys_mmap ( 0x0, 100, 5, 34, 4294967295, 0 ) --> [async] ... ",
      "SYSCALL[11821,1](9) ... [async] --> Success(0x4900000) ",
      "SYSCALL[11821,1](10) sys_mprotect ( 0x4835000, 4096, 1 )[sync] --> Success(0x0) ",
      "SYSCALL[11821,1](11) sys_munmap ( 0x4835000, 8192 )[sync] --> Success(0x0) ",
      "SYSCALL[11821,1](25) sys_mremap ( 0x4900000, 4096, 12288, 1, 0x0 ) --> [pre-success] Success(0x5000000) ",
      "SYSCALL[11821,1](9) sys_mmap ( 0x0, 8192, 3, 34, 4294967295, 0 ) --> [pre-fail] Failure(0xc) ",
      "SYSCALL[11821,1](257) sys_openat ( 4294967196, 0x4034bb0(/usr/lib/x.so), 524288 ) --> [async] ... ",
      "SYSCALL[11821,1](257) ... [async] --> Success(0x4) ",
  });
  const std::vector<Event> expected = {
      Event::processCreate(1, 0, "prog"),
      Event::contextSwitch(0, 1),
      Event::brk(1, 0x4035000),
      Event::mmap(1, 0x4835000, 8192, prot::Read | prot::Write),
      Event::mmap(1, 0x4900000, 4096, prot::Read | prot::Exec),  // length rounded up to pages
      Event::mprotect(1, 0x4835000, 4096, prot::Read),
      Event::munmap(1, 0x4835000, 8192),
      Event::munmap(1, 0x4900000, 4096),
      Event::mmap(1, 0x5000000, 12288, prot::Read | prot::Write),
      Event::processExit(1),
  };
  EXPECT_EQ(events, expected);
}

TEST(TraceLackey, StopsAtTheAccessLimit) {
  std::vector<std::string> lines;
  for (int i = 0; i < 100; ++i)
    lines.push_back(" M 1000,8");
  const auto events = importLines(lines, 7);
  uint64_t accesses = 0;
  for (const Event &e : events)
    accesses += e.kind == EventKind::Access;
  EXPECT_EQ(accesses, 7u);  // the 4th modify contributes its load only
  EXPECT_EQ(events.back(), Event::processExit(1));
}

// Which access lines count: the three-character prefix, a hex address with or without 0x, a size
// from 1 to 2^32 - 1 in decimal or hex with spaces around it; anything else is ignored.
TEST(TraceLackey, AccessLineEdges) {
  const std::string path = scratchPath("edges.vmt");
  TraceWriter writer(path, TraceHeader{});
  LackeyImporter importer(writer, 9, "edges", 0);
  const std::vector<std::pair<std::string, bool>> lines = {
      {"I  ", false},                    // nothing after the prefix
      {"I  1000", false},                // no size
      {"I  1000,0", false},              // size 0
      {"I  1000,4294967296", false},     // size beyond 32 bits
      {"I  1000,4294967295", true},      // the largest size
      {" X 1000,8", false},              // no such operation
      {"IX 1000,8", false},              // the prefix is "I" and two spaces
      {" L_1000,8", false},              // ... or a space, L/S/M and a space
      {"L  1000,8", false},
      {" L 0x2000,8", true},             // an address may have 0x
      {" L 0x,8", false},                // ... but not only that
      {" L ,8", false},                  // no address
      {" L 10g0,8", false},              // not hex
      {" S 3000, 8 ", true},             // spaces around the size
      {" S 3000,0x10", true},            // a hex size
      {" S 3000,8x", false},             // not a number
      {" M 4000,2", true},
  };
  for (const auto &[line, kept] : lines) {
    const uint64_t before = importer.accesses();
    EXPECT_TRUE(importer.consume(line)) << line;  // no limit: always more wanted
    EXPECT_EQ(importer.accesses() > before, kept) << line;
  }
  importer.finish();
  writer.finish();
  EXPECT_EQ(importer.accesses(), 6u);
  EXPECT_EQ(importer.ignoredLines(), 12u);
  EXPECT_EQ(importer.regionChanges(), 0u);
  const std::vector<Event> expected = {
      Event::processCreate(9, 0, "edges"),
      Event::contextSwitch(0, 9),
      Event::access(0, 9, AccessOp::Fetch, 0x1000, 4294967295u),
      Event::access(0, 9, AccessOp::Read, 0x2000, 8),
      Event::access(0, 9, AccessOp::Write, 0x3000, 8),
      Event::access(0, 9, AccessOp::Write, 0x3000, 16),
      Event::access(0, 9, AccessOp::Read, 0x4000, 2),
      Event::access(0, 9, AccessOp::Write, 0x4000, 2),
      Event::processExit(9),
  };
  EXPECT_EQ(readAll(path), expected);
}

// consume() says false from the access that reaches the limit on, and a line after that is
// neither kept nor counted as ignored.
TEST(TraceLackey, LimitIsReportedAtTheAccessThatReachesIt) {
  const std::string path = scratchPath("limit.vmt");
  TraceWriter writer(path, TraceHeader{});
  LackeyImporter importer(writer, 1, "p", 3);
  EXPECT_TRUE(importer.consume("I  100,4"));
  EXPECT_TRUE(importer.consume("==1== valgrind says"));
  EXPECT_TRUE(importer.consume(" L 200,8"));
  EXPECT_FALSE(importer.consume(" M 300,8"));  // its load is the third access, its store is dropped
  EXPECT_FALSE(importer.consume(" L 400,8"));
  EXPECT_FALSE(importer.consume("garbage"));
  EXPECT_EQ(importer.accesses(), 3u);
  EXPECT_EQ(importer.ignoredLines(), 1u);
  importer.finish();
  writer.finish();
  EXPECT_EQ(readAll(path).size(), 2u + 3 + 1);
  // A limit of 1 on a modify keeps the load alone.
  EXPECT_EQ(importLines({" M 300,8", " L 400,8"}, 1),
            (std::vector<Event>{Event::processCreate(1, 0, "prog"), Event::contextSwitch(0, 1),
                                Event::access(0, 1, AccessOp::Read, 0x300, 8), Event::processExit(1)}));
}

// Syscall lines: malformed ones are ignored, region lengths round up to whole pages, protections
// keep their read/write/exec bits, a pending call is per thread and ends with the thread's next
// call, and a call that failed or lacks an argument changes nothing.
TEST(TraceLackey, SyscallEdges) {
  const std::string path = scratchPath("syscalls.vmt");
  TraceWriter writer(path, TraceHeader{});
  LackeyImporter importer(writer, 1, "p", 0);
  const std::vector<std::string> ignored_lines = {
      "SYSCALL[5](12) sys_brk ( 0x0 ) --> [pre-success] Success(0x1000) ",           // no thread id
      "SYSCALL]5,1[(12) sys_brk ( 0x0 ) --> [pre-success] Success(0x1000) ",           // ']' before ','
      "SYSCALL[5,1](12)sys_brk ( 0x0 ) --> [pre-success] Success(0x1000) ",            // no ") "
      "SYSCALL[5,1](12) sys_brk --> [pre-success] Success(0x1000) ",                   // no arguments
      "SYSCALL[5,1](12) sys_brk ( 0x0 --> [pre-success] Success(0x1000) ",             // no " )"
      "SYSCALL[5,1](9) ... [async] --> Success(0x4900000) ",                           // nothing pending
      "SYSCALL[5,1](11) sys_munmap ( 0x5000 )[sync] --> Success(0x0) ",                // one argument
      "SYSCALL[5,1](11) sys_munmap ( x, 4096 )[sync] --> Success(0x0) ",              // address not a number
      "SYSCALL[5,1](10) sys_mprotect ( 0x5000, 4096 )[sync] --> Success(0x0) ",        // two
      "SYSCALL[5,1](9) sys_mmap ( 0x0, 4096 ) --> [pre-success] Success(0x4835000) ",  // two
      "SYSCALL[5,1](25) sys_mremap ( 0x4900000, 4096 ) --> [pre-success] Success(0x5000000) ",
      "SYSCALL[5,1](9) sys_mmap ( 0x0, x, 3 ) --> [pre-success] Success(0x4835000) ",  // not a number
  };
  for (const std::string &line : ignored_lines)
    EXPECT_TRUE(importer.consume(line)) << line;
  EXPECT_EQ(importer.ignoredLines(), ignored_lines.size());
  const std::vector<std::string> lines = {
      // Lengths 1 and 4097 round up to one and two pages, 0 stays 0; prot 0xf keeps rwx.
      "SYSCALL[5,1](9) sys_mmap ( 0x0, 1, 15, 34, 4294967295, 0 ) --> [pre-success] Success(0x10000) ",
      "SYSCALL[5,1](11) sys_munmap ( 0x10000, 4097 )[sync] --> Success(0x0) ",
      "SYSCALL[5,1](10) sys_mprotect ( 0x20000, 0, 0x2 )[sync] --> Success(0x0) ",
      // An mmap needs only its length and protection, the second and third arguments.
      "SYSCALL[5,1](9) sys_mmap ( 0x0, 4096, 3 ) --> [pre-success] Success(0x30000) ",
      // Thread 2 starts an mmap, thread 3 too; thread 3 then makes another call (its mmap is over)
      // and thread 2's completes.
      "SYSCALL[5,2](9) sys_mmap ( 0x0, 4096, 3, 34, 4294967295, 0 ) --> [async] ... ",
      "SYSCALL[5,3](9) sys_mmap ( 0x0, 8192, 1, 34, 4294967295, 0 ) --> [async] ... ",
      "SYSCALL[5,3](0) sys_read ( 3, 0x4034bb0, 832 ) --> [pre-success] Success(0x340) ",
      "SYSCALL[5,3](9) ... [async] --> Success(0x50000) ",
      "SYSCALL[5,2](9) ... [async] --> Success(0x40000) ",
      // A failed call, a completion that failed, a success without its closing parenthesis.
      "SYSCALL[5,1](12) sys_brk ( 0x0 ) --> [pre-fail] Failure(0xc) ",
      "SYSCALL[5,4](12) sys_brk ( 0x0 ) --> [async] ... ",
      "SYSCALL[5,4](12) ... [async] --> Failure(0xc) ",
      "SYSCALL[5,1](12) sys_brk ( 0x0 ) --> [pre-success] Success(0x60000 ",
      // brk needs no argument; its result is the new end.
      "SYSCALL[5,1](12) sys_brk ( 0x0(ignored) ) --> [pre-success] Success(0x70000) ",
  };
  for (const std::string &line : lines)
    EXPECT_TRUE(importer.consume(line)) << line;
  importer.finish();
  writer.finish();
  EXPECT_EQ(importer.ignoredLines(), ignored_lines.size() + 1);  // thread 3's orphan completion
  EXPECT_EQ(importer.regionChanges(), 6u);
  EXPECT_EQ(importer.accesses(), 0u);
  const std::vector<Event> expected = {
      Event::processCreate(1, 0, "p"),
      Event::contextSwitch(0, 1),
      Event::mmap(1, 0x10000, 4096, prot::All),
      Event::munmap(1, 0x10000, 8192),
      Event::mprotect(1, 0x20000, 0, prot::Write),
      Event::mmap(1, 0x30000, 4096, prot::Read | prot::Write),
      Event::mmap(1, 0x40000, 4096, prot::Read | prot::Write),
      Event::brk(1, 0x70000),
      Event::processExit(1),
  };
  EXPECT_EQ(readAll(path), expected);
}

}  // namespace
}  // namespace vmmu::trace

namespace vmmu::trace {
namespace {

std::vector<Event> importWith(const std::vector<std::string> &lines, const LackeyImporter::Options &options,
                              uint64_t *skipped = nullptr, uint64_t *folded = nullptr) {
  const std::string path = testing::scratchPath("lackey-options.vmt");
  {
    TraceWriter writer(path, TraceHeader{});
    LackeyImporter importer(writer, 1, "prog", options);
    for (const std::string &line : lines)
      if (!importer.consume(line))
        break;
    importer.finish();
    if (skipped)
      *skipped = importer.skipped();
    if (folded)
      *folded = importer.folded();
    writer.finish();
  }
  return testing::readAll(path);
}

// A `rep movsb` of `bytes` bytes from `src` to `dst` as lackey logs it: per byte, the same I line,
// a 1-byte load and a 1-byte store.
std::vector<std::string> repMovsb(uint64_t src, uint64_t dst, uint64_t bytes) {
  std::vector<std::string> lines;
  char line[64];
  for (uint64_t i = 0; i < bytes; ++i) {
    lines.push_back("I  0401b000,2");
    std::snprintf(line, sizeof line, " L %llx,1", static_cast<unsigned long long>(src + i));
    lines.push_back(line);
    std::snprintf(line, sizeof line, " S %llx,1", static_cast<unsigned long long>(dst + i));
    lines.push_back(line);
  }
  return lines;
}

TEST(TraceLackey, RepStringBytesFoldToOneAccessPerCacheLine) {
  // 200 bytes from 0x5000030 (48 bytes into a line: lines 0x5000000, 0x5000040, 0x5000080,
  // 0x50000c0 hold them: 4) to 0x6000000 (lines 0x6000000 .. 0x60000c0: 4).
  std::vector<std::string> lines = repMovsb(0x5000030, 0x6000000, 200);
  lines.push_back("I  0401b002,3");  // the next instruction
  uint64_t folded = 0;
  const auto events = importWith(lines, {}, nullptr, &folded);
  const std::vector<Event> expected = {
      Event::processCreate(1, 0, "prog"),
      Event::contextSwitch(0, 1),
      Event::access(0, 1, AccessOp::Fetch, 0x0401b000, 2),  // fetched once
      Event::access(0, 1, AccessOp::Read, 0x5000030, 1),
      Event::access(0, 1, AccessOp::Write, 0x6000000, 1),
      Event::access(0, 1, AccessOp::Read, 0x5000040, 1),
      Event::access(0, 1, AccessOp::Write, 0x6000040, 1),
      Event::access(0, 1, AccessOp::Read, 0x5000080, 1),
      Event::access(0, 1, AccessOp::Write, 0x6000080, 1),
      Event::access(0, 1, AccessOp::Read, 0x50000c0, 1),
      Event::access(0, 1, AccessOp::Write, 0x60000c0, 1),
      Event::access(0, 1, AccessOp::Fetch, 0x0401b002, 3),
      Event::processExit(1),
  };
  EXPECT_EQ(events, expected);
  // 600 lines of accesses became 10: 199 fetches and 391 data accesses folded.
  EXPECT_EQ(folded, 199u + (400u - 8u));
}

// The constructor that takes only an access limit folds as the default Options do: a 64-byte
// rep movsb within one line each way is one fetch, one load and one store.
TEST(TraceLackey, TheLimitOnlyConstructorFoldsRepStrings) {
  const std::string path = testing::scratchPath("lackey-limit-only.vmt");
  {
    TraceWriter writer(path, TraceHeader{});
    LackeyImporter importer(writer, 1, "prog", 0);
    for (const std::string &line : repMovsb(0x5000000, 0x6000000, 64))
      importer.consume(line);
    EXPECT_EQ(importer.accesses(), 3u);
    EXPECT_EQ(importer.folded(), 63u + 2 * 63u);
    importer.finish();
    writer.finish();
  }
  EXPECT_EQ(testing::readAll(path).size(), 2u + 3u + 1u) << "create, switch, 3 accesses, exit";
}

TEST(TraceLackey, FoldingNeedsTheSameInstructionAndTheNextElement) {
  const std::vector<std::string> lines = {
      "I  0401b000,2", " L 5000000,8",
      "I  0401b000,2", " L 5000008,8",  // next element, same line: folded
      "I  0401b000,2", " L 5000020,8",  // not the next element (a stride): kept
      "I  0401b000,2", " S 5000028,8",  // another kind at position 0: kept
      "I  0401b003,2", " L 5000030,8",  // another instruction: kept
      "I  0401b000,2", " L 5000038,8",  // a new instruction run, not a repeat of the last: kept
  };
  const auto events = importWith(lines, {});
  std::vector<Event> data;
  for (const Event &e : events)
    if (e.kind == EventKind::Access && e.op != AccessOp::Fetch)
      data.push_back(e);
  const std::vector<Event> expected = {
      Event::access(0, 1, AccessOp::Read, 0x5000000, 8),  Event::access(0, 1, AccessOp::Read, 0x5000020, 8),
      Event::access(0, 1, AccessOp::Write, 0x5000028, 8), Event::access(0, 1, AccessOp::Read, 0x5000030, 8),
      Event::access(0, 1, AccessOp::Read, 0x5000038, 8),
  };
  EXPECT_EQ(data, expected);
  // --no-fold keeps all 12 accesses.
  LackeyImporter::Options no_fold;
  no_fold.fold_rep_strings = false;
  EXPECT_EQ(importWith(lines, no_fold).size(), 2u + 12u + 1u);
}

TEST(TraceLackey, SkipDropsTheFirstAccessesButKeepsRegionChanges) {
  const std::vector<std::string> lines = {
      "I  0401ab70,3",
      "SYSCALL[1,1](9) sys_mmap ( 0x0, 8192, 3, 34, 4294967295, 0 ) --> [pre-success] Success(0x4835000) ",
      " S 4835000,8",
      "I  0401ab73,3",  // the third access: the first kept
      " L 4835008,8",
      " L 4835010,8",
  };
  LackeyImporter::Options options;
  options.skip = 2;
  options.max_accesses = 2;
  uint64_t skipped = 0;
  const auto events = importWith(lines, options, &skipped);
  const std::vector<Event> expected = {
      Event::processCreate(1, 0, "prog"),
      Event::contextSwitch(0, 1),
      Event::mmap(1, 0x4835000, 0x2000, prot::Read | prot::Write),
      // the start-up's resident pages, in first-touch order: the code page fetched, the heap
      // page stored to
      Event::access(0, 1, AccessOp::Fetch, 0x0401a000, 1),
      Event::access(0, 1, AccessOp::Write, 0x4835000, 1),
      Event::marker(0, "start-up resident pages: 2"),
      Event::access(0, 1, AccessOp::Fetch, 0x0401ab73, 3),
      Event::access(0, 1, AccessOp::Read, 0x4835008, 8),  // --max-accesses 2 counts after the skip
      Event::processExit(1),
  };
  EXPECT_EQ(events, expected);
  EXPECT_EQ(skipped, 2u);
}

// The pages the skipped start-up touched are written once each when the skip ends, as what they
// are then: munmap and a shrinking brk remove pages, mprotect to read-only turns a store into a
// load and PROT_NONE removes the page, mremap moves pages with their offset, an access across a
// page boundary touches both pages, and a page touched again after it was unmapped is listed once.
TEST(TraceLackey, SkipWritesTheStartUpsResidentPagesAsTheyAreWhenItEnds) {
  const std::vector<std::string> lines = {
      "SYSCALL[1,1](12) sys_brk ( 0x0 ) --> [pre-success] Success(0x600000) ",
      "SYSCALL[1,1](12) sys_brk ( 0x603000 ) --> [pre-success] Success(0x603000) ",
      " S 600000,8",   // 1: heap page 0x600 stored
      " S 602000,4",   // 2: heap page 0x602, gone with the brk shrink
      "SYSCALL[1,1](12) sys_brk ( 0x601000 ) --> [pre-success] Success(0x601000) ",
      " L 7000ffc,8",  // 3: pages 0x7000 and 0x7001 (across the boundary)
      " S 7001000,8",  // 4: page 0x7001 stored, then made read-only: a load
      "SYSCALL[1,1](10) sys_mprotect ( 0x7000000, 8192, 1 ) --> [pre-success] Success(0x0) ",
      " S 8000000,8",  // 5: page 0x8000, then PROT_NONE: gone
      "SYSCALL[1,1](10) sys_mprotect ( 0x8000000, 4096, 0 ) --> [pre-success] Success(0x0) ",
      " S 9000000,8",  // 6: page 0x9000, moved to page 0xa000
      "SYSCALL[1,1](25) sys_mremap ( 0x9000000, 4096, 8192, 1 ) --> [pre-success] Success(0xa000000) ",
      "I  0401ab70,3",  // 7: a code page, only fetched
      " L b000000,8",  // 8: page 0xb000, unmapped, then stored to again
      " L d000000,8",  // 9: page 0xd000, above the unmapped page and kept
      "SYSCALL[1,1](11) sys_munmap ( 0xb000000, 4096 ) --> [pre-success] Success(0x0) ",
      " S b000010,8",  // 10: the last access skipped
      " L c000000,8",  // the first kept
  };
  LackeyImporter::Options options;
  options.skip = 10;
  uint64_t skipped = 0;
  const auto events = importWith(lines, options, &skipped);
  const std::vector<Event> expected = {
      Event::processCreate(1, 0, "prog"),
      Event::contextSwitch(0, 1),
      Event::brk(1, 0x600000),
      Event::brk(1, 0x603000),
      Event::brk(1, 0x601000),
      Event::mprotect(1, 0x7000000, 0x2000, prot::Read),
      Event::mprotect(1, 0x8000000, 0x1000, 0),
      Event::munmap(1, 0x9000000, 0x1000),
      Event::mmap(1, 0xa000000, 0x2000, prot::Read | prot::Write),
      Event::munmap(1, 0xb000000, 0x1000),
      Event::access(0, 1, AccessOp::Write, 0x600000, 1),
      Event::access(0, 1, AccessOp::Read, 0x7000000, 1),
      Event::access(0, 1, AccessOp::Read, 0x7001000, 1),
      Event::access(0, 1, AccessOp::Write, 0xa000000, 1),
      Event::access(0, 1, AccessOp::Fetch, 0x401a000, 1),
      Event::access(0, 1, AccessOp::Write, 0xb000000, 1),
      Event::access(0, 1, AccessOp::Read, 0xd000000, 1),
      Event::marker(0, "start-up resident pages: 7"),
      Event::access(0, 1, AccessOp::Read, 0xc000000, 8),
      Event::processExit(1),
  };
  EXPECT_EQ(events, expected);
  EXPECT_EQ(skipped, 10u);
}

}  // namespace
}  // namespace vmmu::trace
