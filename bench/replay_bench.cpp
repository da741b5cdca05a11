// replay_bench.cpp - decoding a trace, and replaying it on the model backend under one approach
// and under all seven, over the same trace (so their times compare directly; ratios.h).
//
//   BM_Decode      the trace read with TraceReader alone: what a replay cannot go below
//   BM_ReplayOne   `vmmu run TRACE --mode nested --policy none` without the native baseline: one
//                  approach, decoding included
//   BM_ReplayAll   `vmmu run TRACE`: native, nested, the three shadow variants, direct, adaptive
//
// Each runs with the flat memory model (/0: fixed cycles per walk reference, nothing cached) and
// with the cache model (/1: L1D, L2, LLC and DRAM for walk references and every data access, the
// default since the run-time model), so one run of the benchmark shows what the caches cost;
// issue 14 asks at least 5M accesses/s with the cache model on.
//
// The trace is traces/gzip.vmt (2M recorded accesses), or $VMMU_BENCH_TRACE.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "vmmu/run/trace_run.h"
#include "vmmu/trace/reader.h"

namespace {

std::string benchTrace() {
  if (const char *path = std::getenv("VMMU_BENCH_TRACE"); path != nullptr && *path != '\0')
    return path;
  return std::string(VMMU_TRACES_DIR) + "/gzip.vmt";
}

void BM_Decode(benchmark::State &state) {
  const std::string path = benchTrace();
  uint64_t events = 0;
  for (auto _ : state) {
    vmmu::trace::TraceReader reader(path);
    uint64_t accesses = 0;
    while (const auto event = reader.next())
      accesses += event->kind == vmmu::trace::EventKind::Access ? 1 : 0;
    benchmark::DoNotOptimize(accesses);
    events += reader.eventsRead();
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}

vmmu::run::RunRequest request(bool all, bool cache_model) {
  vmmu::run::RunRequest request;
  request.trace = benchTrace();
  request.settings.memory.kind =
      cache_model ? vmmu::vmm::MemoryModelConfig::Kind::Cache : vmmu::vmm::MemoryModelConfig::Kind::Flat;
  if (all) {
    for (unsigned a = 0; a < vmmu::vmm::kNumApproaches; ++a)
      request.approaches.push_back(static_cast<vmmu::vmm::Approach>(a));
  } else {
    request.approaches = {vmmu::vmm::Approach::Nested};
    request.baseline = false;
    request.adaptive = false;
  }
  return request;
}

void replay(benchmark::State &state, bool all) {
  const vmmu::run::RunRequest asked = request(all, state.range(0) != 0);
  uint64_t accesses = 0;
  for (auto _ : state) {
    const vmmu::run::RunReport report = vmmu::run::runTrace(asked);
    accesses += report.accesses;
  }
  state.counters["accesses/s"] = benchmark::Counter(static_cast<double>(accesses), benchmark::Counter::kIsRate);
}

void BM_ReplayOne(benchmark::State &state) { replay(state, false); }
void BM_ReplayAll(benchmark::State &state) { replay(state, true); }

BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReplayOne)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReplayAll)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
