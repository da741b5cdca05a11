// hit_path_bench.cpp - the golden model's TLB-hit path beside the least a hit can cost.
//
//   BM_ModelTlbHit      Mmu::translate() on a NESTED context whose 32-page working set sits in
//                       the default 16-set x 4-way 4K TLB array (model_fixture.h): every
//                       translation is a hit
//   BM_MinimalTlbLoop   the same 32 lookups, in the same order, on a plain 16 x 4 array: a tag
//                       compare per way and a tree-PLRU update, geometry known at compile time
//
// Both count one item per lookup, so items/s compare directly (issue 12's target: the model at
// least half the minimal loop). Run: build/bench/vmmu_bench --benchmark_filter=TlbLoop\|TlbHit
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <vector>

#include "model_fixture.h"

namespace {

using vmmu::bench::Fixture;
using vmmu::bench::kPages;

void BM_ModelTlbHit(benchmark::State &state) {
  Fixture vm(vmmu::Mode::Nested);  // kPages pages, 2 per set of the default 16 x 4 4K array
  vmmu::TranslateResult result;
  for (const vmmu::Request &r : vm.requests)
    vm.mmu.translate(r, result);  // the misses that fill the TLB
  uint64_t sum = 0;
  for (auto _ : state) {
    for (const vmmu::Request &r : vm.requests) {
      vm.mmu.translate(r, result);
      sum += result.resp.hpa;
    }
    benchmark::DoNotOptimize(sum);
  }
  if (vm.mmu.counter(vmmu::Counter::TlbMisses) != kPages)
    state.SkipWithError("the working set did not stay in the TLB");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kPages);
}
BENCHMARK(BM_ModelTlbHit);

// The yardstick: 16 sets x 4 ways, tags compared way by way, the 3-bit tree-PLRU of each set
// updated on a hit (§9.1's Touch, unrolled: node 0 chooses the half, node 1 + half the way in it).
class MinimalTlb {
public:
  static constexpr unsigned kSets = 16, kWays = 4;

  void fill(uint64_t vpn, uint64_t frame) {
    Set &set = sets_[vpn % kSets];
    for (unsigned way = 0; way < kWays; ++way) {
      if (!set.valid[way]) {
        set.valid[way] = true;
        set.vpn[way] = vpn;
        set.frame[way] = frame;
        return;
      }
    }
  }

  // The frame of `vpn`, or ~0 on a miss.
  uint64_t lookup(uint64_t vpn) {
    Set &set = sets_[vpn % kSets];
    for (unsigned way = 0; way < kWays; ++way) {
      if (set.valid[way] && set.vpn[way] == vpn) {
        const unsigned half = way >> 1;
        const unsigned leaf_node = 1 + half;
        uint8_t bits = set.plru;
        bits = half ? (bits & ~1u) : (bits | 1u);
        bits = (way & 1) ? (bits & ~(1u << leaf_node)) : (bits | (1u << leaf_node));
        set.plru = bits;
        return set.frame[way];
      }
    }
    return ~uint64_t{0};
  }

private:
  struct Set {
    std::array<bool, kWays> valid{};
    std::array<uint64_t, kWays> vpn{};
    std::array<uint64_t, kWays> frame{};
    uint8_t plru = 0;
  };
  std::array<Set, kSets> sets_{};
};

void BM_MinimalTlbLoop(benchmark::State &state) {
  MinimalTlb tlb;
  std::vector<uint64_t> vas;
  for (unsigned i = 0; i < kPages; ++i) {  // the model's requests, in the same order
    vas.push_back(vmmu::bench::kVaBase + i * 0x1000ull + 8 * i);
    tlb.fill(vas.back() >> 12, 0x4000'0000 + i * 0x1000ull);
  }
  uint64_t sum = 0;
  for (auto _ : state) {
    for (const uint64_t va : vas)
      sum += tlb.lookup(va >> 12) | (va & 0xfff);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kPages);
}
BENCHMARK(BM_MinimalTlbLoop);

}  // namespace
