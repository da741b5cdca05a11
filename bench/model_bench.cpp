// model_bench.cpp - how fast the golden model translates.
//
//   TlbHit            a working set that fits the 4K TLB array: every translation is a hit
//   ColdNestedWalk    INV_ALL before each translation: a full 24-reference NESTED walk
//   ColdNativeWalk    the same in NATIVE mode (4 references), for scale
// Run: build/bench/model_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include "model_fixture.h"

namespace {

using vmmu::Mode;
using vmmu::bench::Fixture;
using vmmu::bench::kPages;

void TlbHit(benchmark::State &state) {
  Fixture f(Mode::Nested);
  vmmu::TranslateResult result;
  for (const auto &r : f.requests)
    f.mmu.translate(r, result);  // warm
  size_t i = 0;
  for (auto _ : state) {
    f.mmu.translate(f.requests[i], result);
    benchmark::DoNotOptimize(result.resp.hpa);
    i = (i + 1) % kPages;
  }
  if (f.mmu.counter(vmmu::Counter::TlbMisses) != kPages)
    state.SkipWithError("the working set did not stay in the TLB");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(TlbHit);

void ColdWalk(benchmark::State &state, Mode mode, uint64_t refs_expected) {
  Fixture f(mode);
  vmmu::TranslateResult result;
  size_t i = 0;
  for (auto _ : state) {
    f.mmu.invAll();
    f.mmu.translate(f.requests[i], result);
    if (result.ops.size() != refs_expected) {
      state.SkipWithError("walk did not make the expected number of references");
      break;
    }
    benchmark::DoNotOptimize(result.resp.hpa);
    i = (i + 1) % kPages;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(ColdWalk, ColdNestedWalk, Mode::Nested, 24);
BENCHMARK_CAPTURE(ColdWalk, ColdNativeWalk, Mode::Native, 4);

}  // namespace
