// hit_path_bench.cpp - the golden model's TLB-hit path beside the least a hit can cost.
//
//   BM_ModelTlbHit      Mmu::translate() on a NESTED context whose 32-page working set sits in
//                       the default 16-set x 4-way 4K TLB array: every translation is a hit
//   BM_MinimalTlbLoop   the same 32 lookups, in the same order, on a plain 16 x 4 array: a tag
//                       compare per way and a tree-PLRU update, geometry known at compile time
//
// Both count one item per lookup, so items/s compare directly (issue 12's target: the model at
// least half the minimal loop). Run: build/bench/speed_bench --benchmark_filter=TlbLoop\|TlbHit
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <vector>

#include "vmmu/mmu.h"
#include "vmmu/page_tables.h"

namespace {

using vmmu::Access;
using vmmu::CtxReg;
using vmmu::Mode;
using vmmu::PageSize;

constexpr uint64_t kVaBase = 0x0000'7f00'0000'0000ull;
constexpr unsigned kPages = 32;  // 2 per set of the default 16x4 4K array: all fit
constexpr uint16_t kVpid = 7;

// The address of the i-th lookup: one per page, at a different offset each, so the result
// depends on the whole request.
uint64_t lookupVa(unsigned i) { return kVaBase + i * 0x1000ull + 8 * i; }

// One NESTED VM with kPages 4K pages at kVaBase, its guest tables behind a 4K EPT.
struct NestedVm {
  vmmu::SparseMemory memory;
  vmmu::FrameAllocator host_frames{0x1000'0000, 0x2000'0000};
  vmmu::FrameAllocator guest_frames{0x10'0000, 0x100'0000};
  vmmu::Mmu mmu{vmmu::MmuConfig{}, memory};
  std::vector<vmmu::Request> requests;

  NestedVm() {
    mmu.writeReg(0, CtxReg::Vpid, (1u << 16) | kVpid);
    mmu.writeReg(0, CtxReg::Mode, static_cast<uint64_t>(Mode::Nested));
    vmmu::EptTables ept(memory, host_frames);
    for (uint64_t gpa = 0; gpa < 0x100'0000; gpa += 0x1000)
      ept.map(gpa, 0x4000'0000 + gpa, PageSize::Size4K);
    vmmu::GuestPageTables guest(memory, guest_frames, 4, 46, ept.hostMap());
    for (unsigned i = 0; i < kPages; ++i)
      guest.map(kVaBase + i * 0x1000ull, guest_frames.allocate(), PageSize::Size4K, vmmu::pte::RW);
    mmu.writeReg(0, CtxReg::Eptp, ept.eptp());
    mmu.writeReg(0, CtxReg::Cr3, guest.root());
    for (unsigned i = 0; i < kPages; ++i)
      requests.push_back(vmmu::Request{kVpid, 0, lookupVa(i), Access::Read, false});
  }
};

void BM_ModelTlbHit(benchmark::State &state) {
  NestedVm vm;
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
  for (unsigned i = 0; i < kPages; ++i) {
    vas.push_back(lookupVa(i));
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
