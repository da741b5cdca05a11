// model_bench.cpp - how fast the golden model translates.
//
//   TlbHit            a working set that fits the 4K TLB array: every translation is a hit
//   ColdNestedWalk    INV_ALL before each translation: a full 24-reference NESTED walk
//   ColdNativeWalk    the same in NATIVE mode (4 references), for scale
// Run: build/bench/model_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

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

// One VM in `mode` with kPages 4K pages at kVaBase, guest tables behind a 4K EPT for NESTED.
struct Fixture {
  vmmu::SparseMemory memory;
  vmmu::FrameAllocator host_frames{0x1000'0000, 0x2000'0000};
  vmmu::FrameAllocator guest_frames{0x10'0000, 0x100'0000};
  vmmu::Mmu mmu;
  std::vector<vmmu::Request> requests;

  explicit Fixture(Mode mode) : mmu(vmmu::MmuConfig{}, memory) {
    mmu.writeReg(0, CtxReg::Vpid, (1u << 16) | 7);
    mmu.writeReg(0, CtxReg::Mode, static_cast<uint64_t>(mode));
    if (mode == Mode::Nested) {
      vmmu::EptTables ept(memory, host_frames);
      // Identity-plus-offset EPT over the guest's first 16 MiB, in 4K pages.
      for (uint64_t gpa = 0; gpa < 0x100'0000; gpa += 0x1000)
        ept.map(gpa, 0x4000'0000 + gpa, PageSize::Size4K);
      vmmu::GuestPageTables guest(memory, guest_frames, 4, 46, ept.hostMap());
      for (unsigned i = 0; i < kPages; ++i)
        guest.map(kVaBase + i * 0x1000ull, guest_frames.allocate(), PageSize::Size4K, vmmu::pte::RW);
      mmu.writeReg(0, CtxReg::Eptp, ept.eptp());
      mmu.writeReg(0, CtxReg::Cr3, guest.root());
    } else {
      vmmu::GuestPageTables tables(memory, host_frames);
      for (unsigned i = 0; i < kPages; ++i)
        tables.map(kVaBase + i * 0x1000ull, host_frames.allocate(), PageSize::Size4K, vmmu::pte::RW);
      mmu.writeReg(0, CtxReg::Cr3, tables.root());
    }
    for (unsigned i = 0; i < kPages; ++i)
      requests.push_back(vmmu::Request{7, 0, kVaBase + i * 0x1000ull + 8 * i, Access::Read, false});
  }
};

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
