// policy_run_test.cpp - PolicyRun driven a step at a time, as `vmmu run` drives it: when an
// interval ends and the policy is asked, what a VMM stop records (the partial interval, the reason,
// no decision) and that nothing runs after it, and what finish() adds.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vmmu/guest/workload.h"
#include "vmmu/policy/experiment.h"
#include "vmmu/policy/policy.h"

namespace vmmu::testing {
namespace {

using guest::GuestKernel;
using vmm::Approach;

// Starts nested, answers every decision with `answer` (nested unless told), and counts them.
class CountingPolicy final : public policy::SwitchPolicy {
public:
  explicit CountingPolicy(Approach answer = Approach::Nested) : answer_(answer) {}
  std::string name() const override { return "counting"; }
  Approach initial() const override { return Approach::Nested; }
  Approach decide(const policy::IntervalCounters &) override {
    ++decisions;
    return answer_;
  }
  int decisions = 0;

private:
  Approach answer_;
};

policy::ExperimentConfig smallRun(uint64_t interval) {
  policy::ExperimentConfig config;
  config.vmm.memory.bytes = 64ull << 20;
  config.interval = interval;
  return config;
}

// First touches of `pages` fresh 4 KiB pages of the process's mapping from `first`: one guest
// page fault each.
uint64_t touchFresh(GuestKernel &kernel, uint64_t base, uint64_t first, uint64_t pages) {
  for (uint64_t page = first; page < first + pages; ++page)
    kernel.touch(base + page * 4096, Access::Write);
  return pages;
}

// A process made to run, and the base of 64 fresh 4 KiB pages it mapped.
uint64_t runningProcessBuffer(GuestKernel &kernel) {
  const guest::Pid pid = kernel.spawn();
  kernel.switchTo(pid);
  return kernel.mmap(pid, 64 * 4096, guest::prot::ReadWrite, false);
}

TEST(PolicyRun, AStopRecordsThePartialIntervalWithoutAskingThePolicy) {
  CountingPolicy policy;
  policy::PolicyRun run(smallRun(4), policy);
  const uint64_t base = runningProcessBuffer(run.kernel());

  run.advance([&](GuestKernel &k) { return touchFresh(k, base, 0, 4); });  // a whole interval
  EXPECT_EQ(run.intervalsRecorded(), 1u);
  EXPECT_EQ(policy.decisions, 1);
  EXPECT_EQ(run.untilIntervalEnd(), 4u);
  run.advance([&](GuestKernel &k) { return touchFresh(k, base, 4, 2); });  // half of the next
  EXPECT_EQ(run.intervalsRecorded(), 1u);
  EXPECT_EQ(run.untilIntervalEnd(), 2u);
  EXPECT_FALSE(run.stopped());

  run.advance([&](GuestKernel &k) -> uint64_t {
    touchFresh(k, base, 6, 1);
    throw vmm::GuestStopped("guest stopped: by the test", vmm::ExitReason::Bounds, 0x1000);
  });
  EXPECT_TRUE(run.stopped());
  EXPECT_EQ(run.intervalsRecorded(), 2u) << "the interval the stop cut short is recorded";
  EXPECT_EQ(policy.decisions, 1) << "a stopped guest asks the policy nothing";

  bool ran = false;
  run.advance([&](GuestKernel &) {
    ran = true;
    return uint64_t{1};
  });
  EXPECT_FALSE(ran) << "nothing runs after the stop";

  const policy::RunResult result = run.finish();
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(result.stop_reason, "guest stopped: by the test");
  EXPECT_EQ(result.policy, "counting");
  ASSERT_EQ(result.intervals.size(), 2u) << "finish() adds nothing after a stop";
  EXPECT_EQ(policy.decisions, 1);
  EXPECT_EQ(result.intervals[0].index, 0u);
  EXPECT_EQ(result.intervals[1].index, 1u);
  EXPECT_EQ(result.intervals[0].guest_page_faults, 4u);
  EXPECT_EQ(result.intervals[1].guest_page_faults, 3u) << "two pages, then the one before the stop";
  EXPECT_EQ(result.cost.guest_page_faults, 7u);
  EXPECT_NE(result.notes().find(" [stopped: guest stopped: by the test]"), std::string::npos) << result.notes();
}

TEST(PolicyRun, FinishRecordsAPartialIntervalAndAsksUnlessInterrupted) {
  for (const bool interrupted : {false, true}) {
    CountingPolicy policy;
    policy::PolicyRun run(smallRun(4), policy);
    const uint64_t base = runningProcessBuffer(run.kernel());
    run.advance([&](GuestKernel &k) { return touchFresh(k, base, 0, 4); });
    run.advance([&](GuestKernel &k) { return touchFresh(k, base, 4, 1); });
    const policy::RunResult result = run.finish(interrupted);
    EXPECT_FALSE(result.stopped);
    ASSERT_EQ(result.intervals.size(), 2u);
    EXPECT_EQ(result.intervals[1].guest_page_faults, 1u);
    EXPECT_EQ(policy.decisions, interrupted ? 1 : 2) << (interrupted ? "interrupted" : "to the end");
  }
}

TEST(PolicyRun, FinishAtAnIntervalBoundaryAddsNoEmptyInterval) {
  CountingPolicy policy;
  policy::PolicyRun run(smallRun(4), policy);
  const uint64_t base = runningProcessBuffer(run.kernel());
  run.advance([&](GuestKernel &k) { return touchFresh(k, base, 0, 4); });
  run.advance([&](GuestKernel &k) { return touchFresh(k, base, 4, 4); });
  const policy::RunResult result = run.finish();
  EXPECT_EQ(result.intervals.size(), 2u);
  EXPECT_EQ(policy.decisions, 2);
}

TEST(PolicyRun, ARunWithNothingRecordedStillRecordsOneInterval) {
  CountingPolicy policy;
  policy::PolicyRun run(smallRun(4), policy);
  const policy::RunResult result = run.finish();
  ASSERT_EQ(result.intervals.size(), 1u);
  EXPECT_EQ(result.intervals[0].guest_page_faults, 0u);
  EXPECT_EQ(policy.decisions, 1);
}

// A direct run is held nested only when ExperimentConfig::direct_after asks for it: without it, a
// decision for direct is taken at once, even at the end of a run that made no access at all.
TEST(PolicyRun, ADecisionForDirectIsHeldOnlyForDirectAfter) {
  {
    CountingPolicy policy(Approach::Direct);
    policy::PolicyRun run(smallRun(4), policy);
    const policy::RunResult result = run.finish();
    EXPECT_EQ(policy.decisions, 1);
    ASSERT_EQ(result.intervals.size(), 1u) << "the empty interval is recorded and decided";
    EXPECT_EQ(result.intervals[0].approach, Approach::Nested);
    EXPECT_EQ(result.cost.mode_switches, 1u) << "switched to direct after no access";
  }
  {
    CountingPolicy policy(Approach::Direct);
    policy::PolicyRun run(smallRun(4), policy);
    const uint64_t base = runningProcessBuffer(run.kernel());
    run.advance([&](GuestKernel &k) { return touchFresh(k, base, 0, 4); });
    run.advance([&](GuestKernel &k) { return touchFresh(k, base, 4, 4); });
    const policy::RunResult result = run.finish();
    ASSERT_EQ(result.intervals.size(), 2u);
    EXPECT_EQ(result.intervals[0].approach, Approach::Nested);
    EXPECT_EQ(result.intervals[1].approach, Approach::Direct) << "switched at the first decision";
  }
}

// Records how many user accesses each run() was asked for (and makes none).
class RecordingWorkload final : public guest::Workload {
public:
  explicit RecordingWorkload(std::vector<uint64_t> &asked) : asked_(asked) {}
  void run(GuestKernel &, uint64_t accesses) override { asked_.push_back(accesses); }
  std::string describe() const override { return "recording"; }

private:
  std::vector<uint64_t> &asked_;
};

// runPolicy asks the workload for an interval at a time and for the rest in the last one: exactly
// ExperimentConfig::accesses in all, whether or not they fill the last interval.
TEST(PolicyRun, RunPolicyAsksForExactlyTheRunsAccesses) {
  for (const uint64_t accesses : {uint64_t{10}, uint64_t{12}}) {
    std::vector<uint64_t> asked;
    policy::ExperimentConfig config = smallRun(4);
    config.accesses = accesses;
    config.make_workload = [&asked] { return std::make_unique<RecordingWorkload>(asked); };
    CountingPolicy policy;
    const policy::RunResult result = policy::runPolicy(config, policy);
    const std::vector<uint64_t> expected =
        accesses == 10 ? std::vector<uint64_t>{4, 4, 2} : std::vector<uint64_t>{4, 4, 4};
    EXPECT_EQ(asked, expected) << accesses << " accesses";
    EXPECT_EQ(result.intervals.size(), 3u);
  }
}

}  // namespace
}  // namespace vmmu::testing
