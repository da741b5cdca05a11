// coarsen_test.cpp - a run longer than kMaxIntervals intervals: the records merge pairwise, the
// interval doubles, the report gives both intervals and the progress callback says so once.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "run_test_support.h"
#include "vmmu/run/trace_run.h"

namespace vmmu::run {
namespace {

TEST(RunTrace, MoreIntervalsThanKeptCoarsenTheRecordsAndSaySo) {
  // 150,000 writes to one page at one access per interval: at the 100,000th interval the records
  // merge into 50,000 of 2 accesses; the 50,000 accesses left make 25,000 more.
  static_assert(kMaxIntervals == 100'000);
  const testing::TempFile file("coarsen.vmt");
  std::vector<trace::Event> events(150'000, trace::Event::access(0, 1, trace::AccessOp::Write, 0x4000'0000, 8));
  testing::writeTrace(file.path(), events);
  RunRequest request;
  request.trace = file.path();
  request.approaches = {vmm::Approach::Nested};
  request.baseline = false;
  request.adaptive = false;
  request.settings.interval = 1;
  std::vector<std::string> lines;
  request.progress = [&](const std::string &line) { lines.push_back(line); };
  const RunReport report = runTrace(request);

  EXPECT_EQ(report.requested_interval, 1u);
  EXPECT_EQ(report.interval, 2u);
  EXPECT_EQ(report.accesses, 150'000u);
  ASSERT_EQ(report.runs.size(), 1u);
  const policy::RunResult &run = report.runs[0].result;
  ASSERT_EQ(run.intervals.size(), 75'000u);
  EXPECT_EQ(run.intervals[49'999].index, 49'999u);
  EXPECT_EQ(run.intervals[50'000].index, 50'000u);
  uint64_t faults = 0;
  for (const policy::IntervalCounters &interval : run.intervals)
    faults += interval.guest_page_faults;
  EXPECT_EQ(faults, 1u) << "the merged records keep the one fault";
  const std::string said = "vmmu run: interval coarsened from 1 to 2 accesses (at most 100000 intervals are recorded)";
  size_t times = 0;
  for (const std::string &line : lines)
    times += line == said ? 1 : 0;
  EXPECT_EQ(times, 1u) << "said once, when it happened";
}

}  // namespace
}  // namespace vmmu::run
