// mode_option_test.cpp - `vmmu run --mode` and `--policy` as a user gives them: the runs each
// asks for (the default, all, runs every approach and the adaptive policy; --policy none leaves
// the policy out), and the shadow variant each policy name gives the adaptive policy (the oracle
// it is compared with names it).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "run_test_support.h"
#include "vmmu/run/json_reader.h"
#include "vmmu/trace/generate.h"

namespace vmmu::run {
namespace {

const std::string kGzip = std::string(VMMU_TRACES_DIR) + "/gzip.vmt";

// The approaches of the runs `vmmu run` reports with `options`, in order, and its oracle_shadow.
std::pair<std::vector<std::string>, std::string> runsOf(const std::vector<std::string> &options) {
  std::vector<std::string> args = {"run", kGzip, "--max-events", "3000", "--json", "-"};
  args.insert(args.end(), options.begin(), options.end());
  const testing::Outcome o = testing::runProgram(VMMU_BINARY, args);
  EXPECT_EQ(o.status, 0) << o.err;
  if (o.status != 0)
    return {};
  const nlohmann::json report = parseReport(o.out);
  std::vector<std::string> runs;
  for (const nlohmann::json &run : report.at("runs"))
    runs.push_back(run.at("approach").get<std::string>());
  return {runs, report.at("oracle_shadow").get<std::string>()};
}

TEST(RunModes, EachModeAndPolicyRunsWhatItNames) {
  using Runs = std::vector<std::string>;
  const Runs every = {"native", "nested", "shadow", "shadow-cache", "shadow-prefetch", "direct"};
  Runs every_and_adaptive = every;
  every_and_adaptive.push_back("adaptive");
  EXPECT_EQ(runsOf({}), std::make_pair(every_and_adaptive, std::string("shadow-cache"))) << "the default: all";
  EXPECT_EQ(runsOf({"--mode", "all"}).first, every_and_adaptive);
  EXPECT_EQ(runsOf({"--policy", "none"}).first, every);
  EXPECT_EQ(runsOf({"--mode", "adaptive"}).first, (Runs{"native", "adaptive"}));
  EXPECT_EQ(runsOf({"--mode", "shadow-prefetch"}).first, (Runs{"native", "shadow-prefetch"}));
  EXPECT_EQ(runsOf({"--mode", "native"}).first, (Runs{"native"}));
  EXPECT_EQ(runsOf({"--mode", "adaptive", "--policy", "adaptive-shadow"}).second, "shadow");
  EXPECT_EQ(runsOf({"--mode", "adaptive", "--policy", "adaptive-shadow-prefetch"}).second, "shadow-prefetch");
  EXPECT_EQ(runsOf({"--mode", "adaptive", "--policy", "adaptive"}).second, "shadow-cache");
  // The guest-segment modes (§18) run by name only, not in all.
  EXPECT_EQ(runsOf({"--mode", "guest-direct"}).first, (Runs{"native", "guest-direct"}));
  EXPECT_EQ(runsOf({"--mode", "dual-direct", "--policy", "none"}).first, (Runs{"native", "dual-direct"}));
  // Agile paging (§20) runs by name; `all` (above) does not run it, so its tables stay.
  EXPECT_EQ(runsOf({"--mode", "agile"}).first, (Runs{"native", "agile"}));
}

// A generated `random` trace maps its 32 MiB of data with one mmap: under guest-direct and
// dual-direct the guest gives it the segment (§18.9), so the data is never demand-paged and its
// TLB misses read no guest entry; nested and direct demand-page every 4 KiB page of it.
TEST(RunModes, GuestSegmentModesGiveTheTracesPrimaryRegionTheSegment) {
  const testing::TempFile file("segment.vmt");
  trace::GenOptions gen;
  gen.kind = trace::GenKind::Random;
  gen.footprint_mib = 32;
  gen.accesses = 100'000;
  trace::generateTrace(gen, file.path(), trace::TraceHeader{});
  RunRequest request;
  request.trace = file.path();
  request.approaches = {vmm::Approach::Nested, vmm::Approach::Direct, vmm::Approach::GuestDirect,
                        vmm::Approach::DualDirect};
  request.adaptive = false;
  const RunReport report = runTrace(request);
  ASSERT_EQ(report.runs.size(), 5u);  // native first
  for (const ModeRun &run : report.runs)
    ASSERT_FALSE(run.result.stopped) << run.result.policy << run.result.stop_reason;
  const auto &nested = report.runs[1].result, &direct = report.runs[2].result;
  const auto &guest_direct = report.runs[3].result, &dual_direct = report.runs[4].result;
  EXPECT_EQ(guest_direct.policy, "guest-direct");
  // 100,000 random accesses over 8,192 pages touch nearly all of them: a fault each, outside.
  EXPECT_GT(nested.cost.guest_page_faults, 7'000u);
  EXPECT_EQ(direct.cost.guest_page_faults, nested.cost.guest_page_faults);
  EXPECT_LT(guest_direct.cost.guest_page_faults, 100u);
  EXPECT_EQ(dual_direct.cost.guest_page_faults, guest_direct.cost.guest_page_faults);
  // Dual direct: the data's walks read nothing (only the few walks outside the segment read the
  // guest's tables), so reads per walk fall far below direct's.
  EXPECT_GT(direct.referencesPerWalk(), 1.0);
  EXPECT_LT(dual_direct.referencesPerWalk(), direct.referencesPerWalk() / 4);
  EXPECT_LT(dual_direct.cycles(), direct.cycles());
  EXPECT_LT(guest_direct.cycles(), nested.cycles());
}

// Agile paging (§20) on a generated random trace, 32 MiB demand-paged by 4 KiB pages: the same
// guest activity as nested and shadow-cache (the same guest page faults), but once a leaf table
// has taken 4 trapped PTE stores it is walked nested and its further stores and page faults cause
// no exit: of shadow-cache's two exits per page (a shadow fault and a trapped store) agile keeps
// a few per table (8,192 pages in 16 leaf tables).
TEST(RunModes, AgileKeepsShadowsExitsOffTheOftenWrittenTables) {
  const testing::TempFile file("agile.vmt");
  trace::GenOptions gen;
  gen.kind = trace::GenKind::Random;
  gen.footprint_mib = 32;
  gen.accesses = 100'000;
  trace::generateTrace(gen, file.path(), trace::TraceHeader{});
  RunRequest request;
  request.trace = file.path();
  request.approaches = {vmm::Approach::Nested, vmm::Approach::ShadowCaching, vmm::Approach::Agile};
  request.adaptive = false;
  const RunReport report = runTrace(request);
  ASSERT_EQ(report.runs.size(), 4u);  // native first
  for (const ModeRun &run : report.runs)
    ASSERT_FALSE(run.result.stopped) << run.result.policy << run.result.stop_reason;
  const auto &nested = report.runs[1].result, &caching = report.runs[2].result, &agile = report.runs[3].result;
  EXPECT_EQ(agile.policy, "agile");
  EXPECT_GT(nested.cost.guest_page_faults, 7'000u);
  EXPECT_EQ(agile.cost.guest_page_faults, nested.cost.guest_page_faults);
  EXPECT_EQ(caching.cost.guest_page_faults, nested.cost.guest_page_faults);
  EXPECT_GT(caching.cost.totalExits(), 2 * nested.cost.guest_page_faults);
  EXPECT_LT(agile.cost.totalExits(), caching.cost.totalExits() / 20);
  EXPECT_LT(agile.cycles(), caching.cycles());
}

}  // namespace
}  // namespace vmmu::run
