// policy_report_test.cpp - policy::formatReport (the comparison of runPolicy runs) line by line on
// a hand-made report: each run's cycles, slowdown against native, exits, misses per 1,000
// accesses, references per walk and exits by reason, and the adaptive run's distance from each
// oracle.
#include <gtest/gtest.h>

#include <string>

#include "vmmu/policy/experiment.h"

namespace vmmu::policy {
namespace {

using vmm::ExitReason;

RunResult runOf(const std::string &name, uint64_t translation, uint64_t exit, uint64_t shim) {
  RunResult run;
  run.policy = name;
  run.cost.translation_cycles = translation;
  run.cost.exit_cycles = exit;
  run.cost.shim_cycles = shim;
  return run;
}

void setCounter(RunResult &run, Counter c, uint64_t value) { run.counters[static_cast<unsigned>(c)] = value; }

Report handMadeReport() {
  Report report;
  report.workload = "hand-made";
  report.accesses = 1000;
  report.interval = 500;
  // native: 1,000 cycles; 2 misses and 2 walks of 4 references each in 1,000 accesses.
  RunResult native = runOf("native", 1000, 0, 0);
  native.cost.accesses = 1000;
  setCounter(native, Counter::TlbMisses, 2);
  setCounter(native, Counter::Walks, 2);
  setCounter(native, Counter::GuestReads, 8);
  // nested: 2,500 cycles (2.5x); 5 misses, 4 walks of 10 guest and 8 nested references (4.5 each).
  RunResult nested = runOf("nested", 2000, 500, 0);
  nested.cost.accesses = 1000;
  nested.cost.exits[static_cast<unsigned>(ExitReason::EptViolation)] = 3;
  setCounter(nested, Counter::TlbMisses, 5);
  setCounter(nested, Counter::Walks, 4);
  setCounter(nested, Counter::GuestReads, 10);
  setCounter(nested, Counter::NestedReads, 8);
  // adaptive: 3,000 cycles, no access or walk counted (both figures 0), two exit reasons.
  RunResult adaptive = runOf("adaptive", 1500, 1000, 500);
  adaptive.cost.exits[static_cast<unsigned>(ExitReason::ShadowFault)] = 2;
  adaptive.cost.exits[static_cast<unsigned>(ExitReason::Cr3Write)] = 1;
  for (const Approach a : {Approach::Nested, Approach::ShadowCaching}) {
    IntervalCounters in;
    in.approach = a;
    adaptive.intervals.push_back(in);
  }
  report.runs = {native, nested, adaptive};
  return report;
}

TEST(PolicyReport, EveryFigureOfTheTableByHand) {
  Report report = handMadeReport();
  EXPECT_EQ(formatReport(report),
            "workload hand-made: 1000 user accesses, policy interval 500\n"
            "approach                 cycles  slowdown     exits   misses/1k  refs/walk  exits by reason\n"
            "native                     1000    1.000x         0        2.00       4.00  \n"
            "nested                     2500    2.500x         3        5.00       4.50  ept-violation=3\n"
            "adaptive                   3000    3.000x         3        0.00       0.00  shadow-fault=2 cr3-write=1\n"
            "adaptive modes per interval (n nested, s shadow, c shadow-cache, p shadow-prefetch, d direct): nc\n");

  // The oracles: adaptive's 3,000 cycles are 25% above 2,400 and 50% above 2,000.
  report.oracle.cycles = 2400;
  report.oracle.schedule = {Approach::Nested, Approach::ShadowCaching};
  report.oracle_shadow = "shadow-cache";
  report.oracle_all.cycles = 2000;
  report.oracle_all.schedule = {Approach::Nested, Approach::Direct};
  const std::string text = formatReport(report);
  EXPECT_NE(text.find("\noracle (nested/shadow-cache): 2400 cycles, schedule nc; adaptive is +25.00% from it\n"
                      "oracle over every approach: 2000 cycles, schedule nd; adaptive is +50.00% from it\n"),
            std::string::npos)
      << text;
}

TEST(PolicyReport, NoNativeBaselineNoSlowdown) {
  Report report = handMadeReport();
  report.runs.erase(report.runs.begin());  // no native run
  EXPECT_NE(formatReport(report).find(
                "nested                     2500    0.000x         3        5.00       4.50  ept-violation=3\n"),
            std::string::npos);
  report = handMadeReport();
  report.runs[0].cost = vmm::RunCost{};  // a native run of no cycles
  EXPECT_NE(formatReport(report).find(
                "nested                     2500    0.000x         3        5.00       4.50  ept-violation=3\n"),
            std::string::npos);
  // A native run of one cycle is still a baseline: each slowdown is then the run's own cycles.
  report = handMadeReport();
  report.runs[0].cost = vmm::RunCost{};
  report.runs[0].cost.translation_cycles = 1;
  EXPECT_NE(formatReport(report).find(
                "nested                     2500 2500.000x         3        5.00       4.50  ept-violation=3\n"),
            std::string::npos)
      << formatReport(report);
  // Without an adaptive run there is no timeline line.
  report.runs.pop_back();
  EXPECT_EQ(formatReport(report).find("adaptive modes"), std::string::npos);
}

TEST(PolicyReport, RunFiguresByHand) {
  const Report report = handMadeReport();
  const RunResult &nested = report.runs[1];
  EXPECT_DOUBLE_EQ(nested.tlbMissesPerKiloAccess(), 5.0);
  EXPECT_DOUBLE_EQ(nested.referencesPerWalk(), 4.5);
  EXPECT_EQ(nested.exitsByReason(), "ept-violation=3");
  EXPECT_EQ(report.runs[2].exitsByReason(), "shadow-fault=2 cr3-write=1");
  EXPECT_EQ(report.runs[0].exitsByReason(), "");
  EXPECT_EQ(report.runs[2].modeTimeline(), "nc");
  EXPECT_EQ(report.find("nested"), &report.runs[1]);
  EXPECT_EQ(report.find("direct"), nullptr);
  EXPECT_EQ(modeLetters({Approach::Native, Approach::Nested, Approach::ShadowPlain, Approach::ShadowCaching,
                         Approach::ShadowPrefetch, Approach::Direct}),
            "xnscpd");
}

}  // namespace
}  // namespace vmmu::policy
