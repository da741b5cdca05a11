// report_figures_test.cpp - the derived figures of a `vmmu run` report recomputed from its own raw
// counts: each run's slowdown (its cycles over native's), misses per 1,000 accesses, references
// per walk, and the adaptive policy's distance from each oracle, in the JSON and in the table.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "run_test_support.h"
#include "vmmu/run/json_reader.h"

namespace vmmu::run {
namespace {

TEST(ReportFigures, DerivedFiguresFollowFromTheRawCounts) {
  const testing::TempDir dir("report_figures");
  const std::string json_path = dir / "gzip.json";
  const testing::Outcome o = testing::runProgram(
      VMMU_BINARY, {"run", std::string(VMMU_TRACES_DIR) + "/gzip.vmt", "--max-events", "20000", "--json", json_path});
  ASSERT_EQ(o.status, 0) << o.err;
  const nlohmann::json report = parseReport(testing::readFile(json_path));
  const auto &runs = report.at("runs");
  double native = 0;
  for (const auto &run : runs)
    if (run.at("approach") == "native")
      native = run.at("cycles").get<double>();
  ASSERT_GT(native, 0.0);
  double adaptive = 0;
  for (const auto &run : runs) {
    const std::string name = run.at("approach");
    const double cycles = run.at("cycles").get<double>();
    EXPECT_NEAR(run.at("slowdown").get<double>(), cycles / native, 1e-5 * cycles / native) << name;
    const double accesses = run.at("accesses").get<double>();
    ASSERT_GT(accesses, 0.0) << name;
    EXPECT_NEAR(run.at("misses_per_1k").get<double>(), 1000.0 * run.at("tlb_misses").get<double>() / accesses, 1e-3)
        << name;
    if (name == "adaptive")
      adaptive = cycles;
    // The table shows the slowdown with three decimals.
    char cell[64];
    std::snprintf(cell, sizeof cell, "%.3f", cycles / native);
    EXPECT_NE(o.out.find(cell), std::string::npos) << name << " " << cell << "\n" << o.out;
  }
  ASSERT_GT(adaptive, 0.0);
  for (const char *oracle : {"oracle", "oracle_all"}) {
    const double cycles = report.at(oracle).at("cycles").get<double>();
    ASSERT_GT(cycles, 0.0) << oracle;
    const double expected = 100.0 * (adaptive / cycles - 1.0);
    EXPECT_NEAR(report.at(oracle).at("adaptive_distance_percent").get<double>(), expected, 1e-6) << oracle;
    char text[64];
    std::snprintf(text, sizeof text, "adaptive is %+.2f%% from it", expected);
    EXPECT_NE(o.out.find(text), std::string::npos) << text << "\n" << o.out;
  }
}

}  // namespace
}  // namespace vmmu::run
