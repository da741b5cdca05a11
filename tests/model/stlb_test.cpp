// The second-level TLB of §9.2, computed by hand: which request it serves, what it fills into the
// first level, which way a walk's fill replaces (§9.1 PLRU in a 2-way set), that 1G pages stay
// out of it, what every §11 invalidation removes, and the §14 counters of each case.
//
// The fixture shrinks the first level to one entry per page size, so that a second page of the
// same size evicts the first from it and the next request for the first page reaches the STLB.
#include <gtest/gtest.h>

#include "model_test_util.h"
#include "vmmu/dut_check.h"

namespace vmmu::test {
namespace {

MmuConfig smallConfig(unsigned stlb_sets) {
  MmuConfig config;
  config.tlb = {{{1, 1}, {1, 1}, {1, 1}}};
  config.stlb = {stlb_sets, 2};
  return config;
}

// kVaPage >> 12 is odd: with 2 STLB sets, kVaPage and every page an even number of pages away
// index set 1. 2M pages at k2m (set 0) and k2m + 2M (set 1); 1G pages at 1 GiB and 2 GiB.
constexpr uint64_t kPageA = kVaPage, kPageB = kVaPage + 0x2000, kPageC = kVaPage + 0x4000;
constexpr uint64_t kGlobalPage = kVaPage + 0x6000;
constexpr uint64_t kReadOnlyPage = kVaPage + 0x8000;
constexpr uint64_t k2m = 0x4000'0000'0000;  // VA >> 21 even: set 0
constexpr uint64_t kTwoMiB = uint64_t{1} << 21, kOneGiB = uint64_t{1} << 30;

struct StlbVm {
  SparseMemory mem;
  FrameAllocator frames{0x10'0000, 0x20'0000};
  GuestPageTables tables{mem, frames};
  Mmu mmu;

  explicit StlbVm(unsigned stlb_sets = 2) : mmu(smallConfig(stlb_sets), mem) {
    tables.map(kPageA, 0xa000, PageSize::Size4K);
    tables.map(kPageB, 0xb000, PageSize::Size4K);
    tables.map(kPageC, 0xc000, PageSize::Size4K);
    tables.map(kGlobalPage, 0xd000, PageSize::Size4K, pte::RW | pte::G);
    tables.map(kReadOnlyPage, 0xe000, PageSize::Size4K, 0);
    tables.map(k2m, 0x4000'0000, PageSize::Size2M);
    tables.map(k2m + kTwoMiB, 0x4020'0000, PageSize::Size2M);
    tables.map(kOneGiB, 0x8000'0000, PageSize::Size1G);
    tables.map(2 * kOneGiB, 0xc000'0000, PageSize::Size1G);
    setupContext(mmu, 0, {.cr3 = tables.root()});
  }
  TranslateResult run(uint64_t va, Access access = Access::Read, uint16_t pcid = 0) {
    return mmu.translate(request(va, access, false, kVpid, pcid));
  }
  // Where the request was served: 'L' first level, 'S' STLB, 'W' walk.
  char source(uint64_t va, Access access = Access::Read, uint16_t pcid = 0) {
    const TranslateResult r = run(va, access, pcid);
    return r.trace.stlb_hit ? 'S' : r.trace.walked ? 'W' : 'L';
  }
  uint64_t ctr(Counter c) const { return mmu.counter(c); }
};

TEST(Stlb, AHitServesTheRequestAndRefillsTheFirstLevel) {
  StlbVm vm;
  EXPECT_EQ(vm.source(kPageA), 'W');  // fills the first level and the STLB
  EXPECT_EQ(vm.source(kPageB), 'W');  // evicts A from the one-entry first level
  const TranslateResult r = vm.run(kPageA + 0x123);
  EXPECT_TRUE(r.trace.stlb_hit);
  EXPECT_FALSE(r.trace.walked);
  EXPECT_TRUE(r.ops.empty());
  EXPECT_TRUE(r.resp.tlb_hit);
  EXPECT_EQ(r.resp.hpa, 0xa123u);
  EXPECT_EQ(r.resp.size, PageSize::Size4K);
  EXPECT_EQ(vm.source(kPageA), 'L');  // the STLB hit refilled the first level
  EXPECT_EQ(vm.ctr(Counter::Lookups), 4u);
  EXPECT_EQ(vm.ctr(Counter::TlbHits), 1u);
  EXPECT_EQ(vm.ctr(Counter::TlbMisses), 3u);
  EXPECT_EQ(vm.ctr(Counter::StlbHits4K), 1u);
  EXPECT_EQ(vm.ctr(Counter::StlbHits2M), 0u);
  EXPECT_EQ(vm.ctr(Counter::Walks), 2u);
  EXPECT_EQ(vm.ctr(Counter::StlbMisses4K), 2u);
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 2u);
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 1u);
}

TEST(Stlb, TreePlruReplacementInATwoWaySet) {
  StlbVm vm;
  // One set (1), two ways; b0 = the way the next victim is (§9.1: touch(w) sets b0 = !w).
  EXPECT_EQ(vm.source(kPageA), 'W');  // way 0, b0 = 1
  EXPECT_EQ(vm.source(kPageB), 'W');  // way 1, b0 = 0
  EXPECT_EQ(vm.source(kPageA), 'S');  // hit way 0: b0 = 1
  EXPECT_EQ(vm.source(kPageC), 'W');  // victim way 1 (B); b0 = 0
  EXPECT_EQ(vm.source(kPageB), 'W');  // B was evicted; victim way 0 (A); b0 = 1
  EXPECT_EQ(vm.source(kPageA), 'W');  // A was evicted; victim way 1 (C); b0 = 0
  EXPECT_EQ(vm.source(kPageB), 'S');  // B survived in way 0
  EXPECT_EQ(vm.ctr(Counter::StlbHits4K), 2u);
  EXPECT_EQ(vm.ctr(Counter::StlbMisses4K), 5u);
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 2u);
}

TEST(Stlb, TwoMiBEntriesShareTheArrayAndAreFoundByTheTwoMiBSet) {
  StlbVm vm;
  EXPECT_EQ(vm.source(k2m), 'W');            // 2M entry in set 0
  EXPECT_EQ(vm.source(k2m + kTwoMiB), 'W');  // set 1; evicts k2m from the first-level 2M array
  const TranslateResult r = vm.run(k2m + 0x1'2345);
  EXPECT_TRUE(r.trace.stlb_hit);
  EXPECT_EQ(r.resp.hpa, 0x4001'2345u);
  EXPECT_EQ(r.resp.size, PageSize::Size2M);
  // 4K entries in set 1 do not evict the 2M entry of set 0.
  EXPECT_EQ(vm.source(kPageA), 'W');
  EXPECT_EQ(vm.source(kPageB), 'W');
  EXPECT_EQ(vm.source(kPageC), 'W');
  EXPECT_EQ(vm.source(k2m + kTwoMiB), 'W');  // set 1 held A/B/C since: 2M evicted there
  EXPECT_EQ(vm.source(k2m + kTwoMiB - 1), 'S');  // still set 0
  EXPECT_EQ(vm.ctr(Counter::StlbHits2M), 2u);
  EXPECT_EQ(vm.ctr(Counter::StlbMisses2M), 3u);
  EXPECT_EQ(vm.ctr(Counter::StlbMisses4K), 3u);
}

TEST(Stlb, OneGiBTranslationsAreNotHeld) {
  StlbVm vm;
  EXPECT_EQ(vm.source(kOneGiB), 'W');
  EXPECT_EQ(vm.source(2 * kOneGiB), 'W');  // evicts the first from the first-level 1G array
  EXPECT_EQ(vm.source(kOneGiB), 'W');
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 0u);
  EXPECT_EQ(vm.ctr(Counter::StlbMisses1G), 3u);
  EXPECT_EQ(vm.ctr(Counter::StlbHits4K) + vm.ctr(Counter::StlbHits2M), 0u);
}

TEST(Stlb, AGlobalEntryServesAnyPcidAndIsCopiedAsGlobal) {
  StlbVm vm;
  EXPECT_EQ(vm.source(kGlobalPage, Access::Read, 1), 'W');
  EXPECT_EQ(vm.source(kPageA, Access::Read, 1), 'W');
  EXPECT_EQ(vm.source(kGlobalPage, Access::Read, 2), 'S');
  EXPECT_EQ(vm.source(kGlobalPage, Access::Read, 3), 'L');  // the copy kept G
  EXPECT_EQ(vm.source(kPageA, Access::Read, 2), 'W');       // not global: per PCID
}

TEST(Stlb, AMatchThatDoesNotGrantIsDroppedAndTheRequestWalks) {
  StlbVm vm;
  EXPECT_EQ(vm.source(kReadOnlyPage), 'W');
  EXPECT_EQ(vm.source(kPageA), 'W');  // read-only page now only in the STLB
  const TranslateResult r = vm.run(kReadOnlyPage, Access::Write);
  EXPECT_TRUE(r.trace.walked);
  EXPECT_EQ(r.resp.fault, Fault::GuestPageFault);
  EXPECT_EQ(vm.ctr(Counter::PermRefills), 1u);
  EXPECT_EQ(vm.ctr(Counter::StlbHits4K), 0u);
  EXPECT_EQ(vm.ctr(Counter::StlbMisses4K), 2u);  // the faulting walk completed nothing
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 1u);      // A only
  EXPECT_EQ(vm.source(kReadOnlyPage), 'W');      // dropped: a read walks again
}

TEST(Stlb, APermissionRefillOfBothLevelsCountsOnce) {
  StlbVm vm;
  EXPECT_EQ(vm.source(kReadOnlyPage), 'W');  // in both levels
  EXPECT_EQ(vm.source(kReadOnlyPage, Access::Write), 'W');
  EXPECT_EQ(vm.ctr(Counter::PermRefills), 1u);
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 0u);
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 0u);
}

// §12: the probe reads the 4K set, then the 2M set unless the 4K set matched or the 2M set holds
// no valid 2M entry (§9.2: its 2M bits); a request's STLB cycles are the sets it compared, and
// the latency the harnesses expect adds them.
TEST(Stlb, ProbeCyclesAreOneForAFourKiBMatchOrNoTwoMiBEntryAndTwoOtherwise) {
  StlbVm vm;
  TranslateResult r = vm.run(kPageA);  // an empty STLB: no 2M set to compare, walks after one
  EXPECT_TRUE(r.trace.walked);
  EXPECT_EQ(r.trace.stlb_cycles, 1u);
  EXPECT_EQ(expectedLatency(r), r.trace.walk_cycles + 1);
  vm.run(kPageB);
  r = vm.run(kPageA);  // 4K set matches: decided in its first cycle
  EXPECT_TRUE(r.trace.stlb_hit);
  EXPECT_EQ(r.trace.stlb_cycles, 1u);
  EXPECT_EQ(expectedLatency(r), 2u);
  r = vm.run(kPageA);  // first level: no probe
  EXPECT_EQ(r.trace.stlb_cycles, 0u);
  EXPECT_EQ(expectedLatency(r), 1u);
  vm.run(k2m);
  vm.run(k2m + kTwoMiB);
  r = vm.run(k2m + 0x42);  // no 4K entry in its 4K set (k2m >> 12 is even: set 0): the 2M set
  EXPECT_TRUE(r.trace.stlb_hit);
  EXPECT_EQ(r.resp.size, PageSize::Size2M);
  EXPECT_EQ(r.trace.stlb_cycles, 2u);
  EXPECT_EQ(expectedLatency(r), 3u);
  // Both 2M sets now hold a 2M entry: a 4K miss compares its 2M set too (set 1 holds A and B).
  r = vm.run(kPageC);
  EXPECT_TRUE(r.trace.walked);
  EXPECT_EQ(r.trace.stlb_cycles, 2u);
  EXPECT_EQ(expectedLatency(r), r.trace.walk_cycles + 2);
}

// §9.2: a match that does not grant drops the matches of the set it was found in. A 4K entry and
// a 2M entry that both match one request need two page tables: under CR3 = two_m the page at k2m
// is a 2M read-only page (PCID 1), under CR3 = four_k a global 4K read-only page (PCID 2 misses
// the 2M entry, so it walks and fills the 4K one).
TEST(Stlb, ANonGrantingFourKiBMatchKeepsTheTwoMiBMatchItsProbeDidNotRead) {
  SparseMemory mem;
  FrameAllocator frames{0x10'0000, 0x20'0000};
  GuestPageTables two_m{mem, frames}, four_k{mem, frames};
  two_m.map(k2m, 0x4000'0000, PageSize::Size2M, 0);
  four_k.map(k2m, 0x5000, PageSize::Size4K, pte::G);
  Mmu mmu(smallConfig(2), mem);
  setupContext(mmu, 0, {.cr3 = two_m.root()});
  const auto run = [&](Access access, uint16_t pcid) {
    return mmu.translate(request(k2m + 0x123, access, false, kVpid, pcid));
  };
  EXPECT_TRUE(run(Access::Read, 1).trace.walked);  // 2M entry, PCID 1
  mmu.writeReg(0, CtxReg::Cr3, four_k.root());      // CR3: no flush (§3)
  EXPECT_TRUE(run(Access::Read, 2).trace.walked);  // global 4K entry
  EXPECT_EQ(mmu.stlbValidEntries(), 2u);
  // PCID 1 matches both; the 4K one is found first and does not grant a write: dropped (both
  // first-level entries too), the walk faults (read-only) and fills nothing.
  TranslateResult r = run(Access::Write, 1);
  EXPECT_TRUE(r.trace.walked);
  EXPECT_TRUE(r.trace.stlb_read);
  EXPECT_EQ(r.trace.stlb_cycles, 1u);
  EXPECT_EQ(r.resp.fault, Fault::GuestPageFault);
  EXPECT_EQ(mmu.counter(Counter::PermRefills), 1u);
  EXPECT_EQ(mmu.stlbValidEntries(), 1u);  // the 2M entry
  EXPECT_EQ(mmu.tlbValidEntries(), 0u);
  // A read with PCID 1 now finds only the 2M entry, in the 2M set: served by the STLB.
  r = run(Access::Read, 1);
  EXPECT_TRUE(r.trace.stlb_hit);
  EXPECT_EQ(r.trace.stlb_cycles, 2u);
  EXPECT_EQ(r.resp.size, PageSize::Size2M);
  EXPECT_EQ(r.resp.hpa, 0x4000'0123u);
  EXPECT_EQ(mmu.counter(Counter::StlbHits2M), 1u);
}

// Fills A and B (set 1) and the 2M page k2m (set 0); the first level holds B and k2m.
StlbVm &filled(StlbVm &vm) {
  vm.run(kPageA);
  vm.run(kPageB);
  vm.run(k2m);
  return vm;
}

TEST(StlbInvalidation, InvAddrRemovesTheGuestPageFromBothLevels) {
  StlbVm vm;
  filled(vm).mmu.invAddr(kVpid, kPageA + 0x10);
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 2u);
  EXPECT_EQ(vm.source(kPageA), 'W');
  vm.mmu.invAddr(kVpid, k2m + 0x1f'f000);  // inside the 2M page
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 2u);  // A back, k2m gone
  EXPECT_EQ(vm.source(k2m), 'W');
}

TEST(StlbInvalidation, InvPcidKeepsGlobalEntries) {
  StlbVm vm;
  vm.run(kGlobalPage);
  vm.run(kPageA);
  vm.run(k2m);
  vm.mmu.invPcid(kVpid, 0);
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 1u);
  vm.run(kPageB);  // evicts the global page from the first level
  EXPECT_EQ(vm.source(kGlobalPage), 'S');
}

TEST(StlbInvalidation, InvVpidInvEptpInvAllAndImplicitFlushesEmptyIt) {
  StlbVm vm;
  filled(vm).mmu.invVpid(kVpid + 1);  // another VM: nothing
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 3u);
  vm.mmu.invVpid(kVpid);
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 0u);
  filled(vm).mmu.invEptp(0);  // NATIVE slots are not selected by INV_EPTP
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 3u);
  vm.mmu.invAll();
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 0u);
  filled(vm).mmu.writeReg(0, CtxReg::Cr3, vm.tables.root());  // CR3: no flush (§3)
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 3u);
  vm.mmu.writeReg(0, CtxReg::Mode, static_cast<uint64_t>(Mode::Native));  // implicit INV_VPID
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 0u);
  EXPECT_EQ(vm.ctr(Counter::InvVpid), 2u);  // the implicit flush is not counted
}

TEST(StlbInvalidation, InvEptpRemovesTheEntriesOfANestedVm) {
  NestedVm vm;
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  vm.mmu.translate(request(kVa));
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 1u);
  vm.mmu.invEptp(vm.ept.eptp(false));
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 0u);
}

TEST(Stlb, SetsZeroRemovesIt) {
  StlbVm vm(0);
  EXPECT_EQ(vm.source(kPageA), 'W');
  EXPECT_EQ(vm.source(kPageB), 'W');
  EXPECT_EQ(vm.source(kPageA), 'W');
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 0u);
  EXPECT_EQ(vm.ctr(Counter::StlbMisses4K), 3u);  // completed walks still count
  EXPECT_EQ(vm.ctr(Counter::Walks), vm.ctr(Counter::TlbMisses));
}

TEST(Stlb, DefaultShapeIsOneThousandTwentyFourEntriesEightWay) {
  const MmuConfig config;
  EXPECT_EQ(config.stlb.sets, 128u);
  EXPECT_EQ(config.stlb.ways, 8u);
  MmuConfig bad;
  bad.stlb = {128, 12};
  EXPECT_NE(bad.validate().find("stlb.ways"), std::string::npos);
  bad.stlb = {0, 12};  // no STLB: its ways are not looked at
  EXPECT_EQ(bad.validate(), "");
}

}  // namespace
}  // namespace vmmu::test
