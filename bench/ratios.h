// ratios.h - the ratios vmmu_bench prints after its benchmarks, from the times of the same run.
//
// Each entry compares two benchmarks by CPU time per iteration: T(numerator) / T(denominator),
// with the target it must not exceed (docs: README, "Speed"). A benchmark added to vmmu_bench
// joins a ratio by being named here; entries whose benchmarks did not run (a --benchmark_filter,
// a benchmark not built) are skipped.
#pragma once

#include <string_view>

namespace vmmu::bench {

struct Ratio {
  std::string_view numerator;
  std::string_view denominator;
  double at_most;
  std::string_view meaning;
};

inline constexpr Ratio kRatios[] = {
    {"BM_ReplayAll/0", "BM_ReplayOne/0", 3.0, "all seven approaches vs one (decoding included; flat memory)"},
    {"BM_ReplayOne/0", "BM_Decode", 1.8, "one approach's replay vs decoding alone (flat memory)"},
    {"BM_ReplayOne/1", "BM_ReplayOne/0", 1.6, "one approach's replay with the cache model vs flat memory"},
    {"BM_ModelTlbHit", "BM_MinimalTlbLoop", 2.0, "model TLB hit vs a minimal 16x4 loop (at least 0.5 of its speed)"},
    {"BM_Footprint/1024", "BM_Footprint/16", 1.5, "per access, 1 GiB random footprint vs 16 MiB"},
};

}  // namespace vmmu::bench
