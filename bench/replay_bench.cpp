// replay_bench.cpp - decoding a trace, and replaying it on the model backend under one approach
// and under all seven, over the same trace (so their times compare directly; ratios.h).
//
//   BM_Decode      the trace read with TraceReader alone: what a replay cannot go below
//   BM_ReplayOne   `vmmu run TRACE --mode nested --policy none` without the native baseline: one
//                  approach, decoding included
//   BM_ReplayAll   `vmmu run TRACE`: native, nested, the three shadow variants, direct, adaptive
//
// The trace is traces/gzip.vmt (2M recorded accesses), or $VMMU_BENCH_TRACE. The MMU model uses
// the flat memory model (fixed cycles per walk reference), the default.
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

vmmu::run::RunRequest request(bool all) {
  vmmu::run::RunRequest request;
  request.trace = benchTrace();
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
  const vmmu::run::RunRequest asked = request(all);
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
BENCHMARK(BM_ReplayOne)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReplayAll)->Unit(benchmark::kMillisecond);

}  // namespace
