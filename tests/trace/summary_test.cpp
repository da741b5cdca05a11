// summary_test.cpp - `vmmu trace info`'s summary of a hand-made trace, every count worked out by
// hand: events by kind, accesses by operation, processes and cpus seen, the footprint (pages per
// process, an access across a page boundary touching both, the last byte saturating at the top
// of the address space), the start-up prefix, and the printed lines.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "trace_test_support.h"
#include "vmmu/trace/format.h"
#include "vmmu/trace/summary.h"

namespace vmmu::trace {
namespace {

using testing::scratchPath;
using testing::writeTrace;

TEST(TraceSummary, EveryCountByHand) {
  const std::string path = scratchPath("summary.vmt");
  const std::string start_up = std::string(kStartUpMarker) + "3";
  writeTrace(path, {
                       Event::processCreate(1, 0, "a"),
                       Event::contextSwitch(0, 1),
                       Event::access(0, 1, AccessOp::Read, 0x1ff8, 8),      // page 1: its last 8 bytes
                       Event::access(0, 1, AccessOp::Write, 0x3ffa, 8),     // pages 3 and 4
                       Event::access(1, 1, AccessOp::Fetch, 0x5000, 1),     // page 5, cpu 1
                       Event::marker(0, start_up),                          // after 3 accesses
                       Event::access(0, 2, AccessOp::Read, 0x1000, 4),      // pid 2's page 1
                       Event::access(0, 1, AccessOp::Read, UINT64_MAX - 3, 4),  // the top page
                       Event::access(0, 1, AccessOp::Read, UINT64_MAX - 1, 8),  // past the top: saturates
                       Event::processExit(1),
                       Event::marker(0, start_up),  // only the first counts
                       Event::contextSwitch(2, 2),  // cpu 2
                   });
  TraceReader reader(path);
  const TraceSummary s = summarize(reader);
  EXPECT_EQ(s.events, 12u);
  EXPECT_EQ(s.count(EventKind::ProcessCreate), 1u);
  EXPECT_EQ(s.count(EventKind::ContextSwitch), 2u);
  EXPECT_EQ(s.count(EventKind::Access), 6u);
  EXPECT_EQ(s.count(EventKind::Marker), 2u);
  EXPECT_EQ(s.count(EventKind::ProcessExit), 1u);
  EXPECT_EQ(s.count(EventKind::Mmap), 0u);
  EXPECT_EQ(s.accesses_by_op[static_cast<size_t>(AccessOp::Read)], 4u);
  EXPECT_EQ(s.accesses_by_op[static_cast<size_t>(AccessOp::Write)], 1u);
  EXPECT_EQ(s.accesses_by_op[static_cast<size_t>(AccessOp::Fetch)], 1u);
  EXPECT_EQ(s.processes_seen, 2u);
  EXPECT_EQ(s.processes_created, 1u);
  EXPECT_EQ(s.processes_exited, 1u);
  EXPECT_EQ(s.cpus_seen, 3u);
  EXPECT_EQ(s.footprint_pages, 5u + 1) << "pid 1: pages 1, 3, 4, 5 and the top one; pid 2: page 1";
  ASSERT_TRUE(s.start_up_accesses.has_value());
  EXPECT_EQ(*s.start_up_accesses, 3u);

  const std::string out = scratchPath("summary.txt");
  std::FILE *f = std::fopen(out.c_str(), "w");
  ASSERT_NE(f, nullptr);
  printSummary(reader, s, f);
  std::fclose(f);
  const std::string text = testing::readFile(out);
  for (const char *line : {"\nevents      12\n", "\n  access         6\n", "\naccesses    read 4, write 1, fetch 1\n",
                           "\nprocesses   2 seen, 1 created, 1 exited\n", "\ncpus        3\n",
                           "\nswitching   one context switch per 3.0 accesses\n",
                           "\nfootprint   6 pages of 4 KiB (0.0 MiB)\n", "\nstart-up    3 accesses first,"})
    EXPECT_NE(text.find(line), std::string::npos) << line << " in\n" << text;
}

}  // namespace
}  // namespace vmmu::trace
