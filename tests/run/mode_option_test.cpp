// mode_option_test.cpp - `vmmu run --mode` and `--policy` as a user gives them: the runs each
// asks for (the default, all, runs every approach and the adaptive policy; --policy none leaves
// the policy out), and the shadow variant each policy name gives the adaptive policy (the oracle
// it is compared with names it).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "run_test_support.h"
#include "vmmu/run/json_reader.h"

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
}

}  // namespace
}  // namespace vmmu::run
