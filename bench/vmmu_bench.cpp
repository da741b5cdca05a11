// vmmu_bench.cpp - the main of vmmu_bench: runs the benchmarks linked in, then prints the
// ratios of ratios.h from the times just measured, so that the figures compared come from one
// run on one machine state.
//
//   build/bench/vmmu_bench                          every benchmark, then the ratios
//   build/bench/vmmu_bench --benchmark_repetitions=5  the ratios of the medians
//   build/bench/vmmu_bench --benchmark_filter=Replay
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ratios.h"

namespace {

// The console output as usual, remembering each benchmark's CPU seconds per iteration: the
// median of the repetitions with --benchmark_repetitions=N, else the one run's.
class RatioReporter final : public benchmark::ConsoleReporter {
public:
  // Colours on a terminal only, as the library's own console output does by default.
  RatioReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular) {}

  void ReportRuns(const std::vector<Run> &runs) override {
    for (const Run &run : runs) {
      if (run.error_occurred)
        continue;
      // A benchmark that times itself (UseManualTime, e.g. BM_Footprint subtracting its warm-up)
      // reports that time as real time; every other one is compared by CPU time.
      const bool manual = run.run_name.time_type == "manual_time";
      const double seconds = (manual ? run.GetAdjustedRealTime() : run.GetAdjustedCPUTime()) /
                             benchmark::GetTimeUnitMultiplier(run.time_unit);
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "median")
        medians_.insert(run.run_name.str());
      if (run.run_type == Run::RT_Aggregate ? run.aggregate_name == "median" : medians_.count(run.run_name.str()) == 0)
        seconds_[run.run_name.str()] = seconds;
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // The time of the benchmark `name`: its exact name, or the one name that extends it with
  // "/..." (e.g. BM_ReplayOne/iterations:3); null when it did not run.
  const double *find(std::string_view name) const {
    if (const auto it = seconds_.find(std::string(name)); it != seconds_.end())
      return &it->second;
    for (const auto &[full, seconds] : seconds_)
      if (full.size() > name.size() && full.compare(0, name.size(), name) == 0 && full[name.size()] == '/')
        return &seconds;
    return nullptr;
  }

private:
  std::map<std::string, double> seconds_;
  std::set<std::string> medians_;  // benchmarks whose time is their repetitions' median
};

}  // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::printf("\nratios (CPU time per iteration, or the time a benchmark measures itself, this run; medians with --benchmark_repetitions):\n");
  int missed = 0;
  for (const vmmu::bench::Ratio &ratio : vmmu::bench::kRatios) {
    const double *numerator = reporter.find(ratio.numerator);
    const double *denominator = reporter.find(ratio.denominator);
    if (numerator == nullptr || denominator == nullptr || *denominator <= 0.0)
      continue;
    const double value = *numerator / *denominator;
    const bool met = value <= ratio.at_most;
    missed += met ? 0 : 1;
    std::printf("  T(%.*s) / T(%.*s) = %.2f  (target <= %.2f: %s)  %.*s\n", static_cast<int>(ratio.numerator.size()),
                ratio.numerator.data(), static_cast<int>(ratio.denominator.size()), ratio.denominator.data(), value,
                ratio.at_most, met ? "met" : "MISSED", static_cast<int>(ratio.meaning.size()), ratio.meaning.data());
  }
  // Missing a target is a finding, not a failure of the program: the exit status stays 0.
  if (missed != 0)
    std::printf("  %d target(s) missed\n", missed);
  return 0;
}
