// report_figures_test.cpp - the derived figures of a `vmmu run` report recomputed from its own raw
// counts: each run's slowdown (its cycles over native's), misses per 1,000 accesses, references
// per walk, and the adaptive policy's distance from each oracle, in the JSON and in the table.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "run_test_support.h"
#include "vmmu/run/json_reader.h"
#include "vmmu/run/report.h"

namespace vmmu::run {
namespace {

// A run of `policy` whose cycles are its walk, exit and VMM-work cycles.
ModeRun runOf(const std::string &policy, uint64_t walk, uint64_t exits = 0, uint64_t work = 0) {
  ModeRun run;
  run.result.policy = policy;
  run.result.cost.translation_cycles = walk;
  run.result.cost.exit_cycles = exits;
  run.result.cost.shim_cycles = work;
  return run;
}

// The verdict line on hand-made reports: which runs it compares, how ties fall (the first of equal
// runs wins each place), and which part of the extra cost it names.
TEST(ReportFigures, VerdictByHand) {
  RunReport report;
  EXPECT_EQ(verdict(report), "best approach: none compared (no virtualized approach ran to the end)");
  report.runs = {runOf("native", 50), runOf("adaptive", 10), runOf("nested", 100), runOf("shadow", 90)};
  report.runs[2].result.stopped = true;  // stopped by the VMM, and
  report.runs[3].interrupted = true;     // stopped by Ctrl-C: neither is compared
  EXPECT_EQ(verdict(report), "best approach: none compared (no virtualized approach ran to the end)");

  report.runs = {runOf("native", 50), runOf("nested", 100)};
  EXPECT_EQ(verdict(report), "best approach: nested at 2.000x native (the only approach run)");
  report.runs = {runOf("native", 0), runOf("nested", 100)};
  EXPECT_EQ(verdict(report), "best approach: nested (no native baseline run) (the only approach run)");
  report.runs = {runOf("direct", 100)};
  EXPECT_EQ(verdict(report), "best approach: direct (no native baseline run) (the only approach run)");

  // nested and direct tie for the best (nested, the first, wins); shadow and shadow-cache tie for
  // the worst (shadow); direct is the runner-up at no extra cost.
  report.runs = {runOf("native", 50),        runOf("nested", 100),   runOf("shadow", 40, 60, 20),
                 runOf("shadow-cache", 40, 20, 60), runOf("direct", 100), runOf("adaptive", 10)};
  EXPECT_EQ(verdict(report),
            "best approach: nested at 2.000x native; runner-up direct costs +0.00% (translation +0 cycles, VM exits "
            "+0, VMM work +0: walk cycles dominate); worst shadow costs +20.00% (translation -60 cycles, VM exits "
            "+60, VMM work +20: VM exits dominate)");
  // Two runs: the runner-up is the worst, named once. Walk and exits tie: walk is named.
  report.runs = {runOf("nested", 100), runOf("shadow", 110, 10)};
  EXPECT_EQ(verdict(report), "best approach: nested (no native baseline run); runner-up shadow costs +20.00% "
                             "(translation +10 cycles, VM exits +10, VMM work +0: walk cycles dominate)");
  // Exits and work tie: exits are named; work alone above both.
  report.runs = {runOf("nested", 100), runOf("shadow", 50, 25, 25), runOf("direct", 10, 10, 90)};
  EXPECT_EQ(verdict(report), "best approach: nested (no native baseline run); runner-up shadow costs +0.00% "
                             "(translation -50 cycles, VM exits +25, VMM work +25: VM exits dominate); worst direct "
                             "costs +10.00% (translation -90 cycles, VM exits +10, VMM work +90: VMM work dominates)");
}

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
    // The JSON has 6 significant digits.
    EXPECT_NEAR(report.at(oracle).at("adaptive_distance_percent").get<double>(), expected,
                std::max(1e-6, 1e-5 * std::abs(expected)))
        << oracle;
    char text[64];
    std::snprintf(text, sizeof text, "adaptive is %+.2f%% from it", expected);
    EXPECT_NE(o.out.find(text), std::string::npos) << text << "\n" << o.out;
  }
}

}  // namespace
}  // namespace vmmu::run
