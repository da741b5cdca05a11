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

}  // namespace
}  // namespace vmmu::trace
