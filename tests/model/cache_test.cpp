// TLB, PSC and nested-TLB behaviour: tagging (VPID, PCID, global, EPTP root), splintering,
// every §11 invalidation (what it removes and what it keeps), the §3 implicit flushes, and the
// §9.1 replacement order observed through the TLB.
#include <gtest/gtest.h>

#include "model_test_util.h"

namespace vmmu::test {
namespace {

// Two NATIVE address spaces (VPID 7 and VPID 8) over the same tables, with kVaPage and the next
// page mapped; page 1 is global.
struct TwoVms {
  SparseMemory mem;
  FrameAllocator frames{0x10'0000, 0x20'0000};
  GuestPageTables tables{mem, frames};
  Mmu mmu{MmuConfig{}, mem};
  static constexpr uint64_t kPage0 = kVaPage, kPage1 = kVaPage + 0x1000;

  TwoVms() {
    tables.map(kPage0, 0xa000, PageSize::Size4K);
    tables.map(kPage1, 0xb000, PageSize::Size4K, pte::RW | pte::G);
    setupContext(mmu, 0, {.vpid = 7, .cr3 = tables.root()});
    setupContext(mmu, 1, {.vpid = 8, .cr3 = tables.root()});
  }
  bool hits(uint64_t va, uint16_t vpid, uint16_t pcid = 0) {
    return mmu.translate(request(va, Access::Read, false, vpid, pcid)).resp.tlb_hit;
  }
  void fillAll() {
    for (uint16_t vpid : {7, 8})
      for (uint16_t pcid : {0, 1})
        for (uint64_t va : {kPage0, kPage1})
          mmu.translate(request(va, Access::Read, false, vpid, pcid));
  }
};

TEST(TlbTags, NonGlobalEntriesArePerPcidAndGlobalOnesAreShared) {
  TwoVms t;
  t.mmu.translate(request(TwoVms::kPage0, Access::Read, false, 7, 0));
  t.mmu.translate(request(TwoVms::kPage1, Access::Read, false, 7, 0));
  EXPECT_TRUE(t.hits(TwoVms::kPage0, 7, 0));
  EXPECT_FALSE(t.hits(TwoVms::kPage0, 7, 1));  // other PCID: walks
  EXPECT_TRUE(t.hits(TwoVms::kPage1, 7, 1));   // global: any PCID of the VPID
  EXPECT_FALSE(t.hits(TwoVms::kPage1, 8, 0));  // never another VPID
}

TEST(TlbTags, PscEntriesArePerPcid) {
  TwoVms t;
  t.mmu.translate(request(TwoVms::kPage0, Access::Read, false, 7, 0));
  const TranslateResult r = t.mmu.translate(request(TwoVms::kPage1, Access::Read, false, 7, 3));
  EXPECT_EQ(r.trace.psc_level, 0u);
  EXPECT_EQ(r.ops.size(), 4u);
  EXPECT_EQ(t.mmu.translate(request(TwoVms::kPage1 + 0x1000, Access::Read, false, 7, 3))
                .trace.psc_level,
            2u);
}

TEST(Invalidation, InvAddrRemovesThePageForAllPcidsOfOneVpid) {
  TwoVms t;
  t.fillAll();
  // Per VPID: page 0 for PCID 0 and 1, page 1 once (global, filled by PCID 0).
  EXPECT_EQ(t.mmu.tlbValidEntries(), 6u);
  t.mmu.invAddr(7, TwoVms::kPage0 + 0x777);
  EXPECT_EQ(t.mmu.tlbValidEntries(), 4u);
  EXPECT_FALSE(t.hits(TwoVms::kPage0, 7, 1));
  EXPECT_TRUE(t.hits(TwoVms::kPage1, 7, 0));
  EXPECT_TRUE(t.hits(TwoVms::kPage0, 8, 0));
  t.mmu.invAddr(7, TwoVms::kPage1);
  EXPECT_FALSE(t.hits(TwoVms::kPage1, 7, 0));  // global entries too
  EXPECT_EQ(ctr(t.mmu, Counter::InvAddr), 2u);
}

TEST(Invalidation, InvAddrRemovesPscEntriesWhosePrefixMatches) {
  TwoVms t;
  t.mmu.translate(request(TwoVms::kPage0, Access::Read, false, 7, 0));
  t.mmu.translate(request(TwoVms::kPage0, Access::Read, false, 7, 1));
  t.mmu.translate(request(TwoVms::kPage0, Access::Read, false, 8, 0));
  EXPECT_EQ(t.mmu.pscValidEntries(2), 3u);
  t.mmu.invAddr(7, TwoVms::kPage0);
  EXPECT_EQ(t.mmu.pscValidEntries(2), 1u);
  EXPECT_EQ(t.mmu.pscValidEntries(3), 1u);
  EXPECT_EQ(t.mmu.pscValidEntries(4), 1u);
  // An address in another 1G region shares only the PML4E prefix.
  t.mmu.invAddr(8, TwoVms::kPage0 + 0x4000'0000);
  EXPECT_EQ(t.mmu.pscValidEntries(2), 1u);
  EXPECT_EQ(t.mmu.pscValidEntries(3), 1u);
  EXPECT_EQ(t.mmu.pscValidEntries(4), 0u);
}

TEST(Invalidation, InvPcidKeepsGlobalEntriesAndOtherPcids) {
  TwoVms t;
  t.fillAll();
  t.mmu.invPcid(7, 0);
  EXPECT_EQ(t.mmu.tlbValidEntries(), 5u);  // only VPID 7 / PCID 0 / page 0 goes
  EXPECT_TRUE(t.hits(TwoVms::kPage1, 7, 0));
  EXPECT_TRUE(t.hits(TwoVms::kPage0, 7, 1));
  EXPECT_FALSE(t.hits(TwoVms::kPage0, 7, 0));
  EXPECT_EQ(ctr(t.mmu, Counter::InvPcid), 1u);
}

TEST(Invalidation, InvPcidRemovesThatPcidsPscEntries) {
  TwoVms t;
  t.mmu.translate(request(TwoVms::kPage0, Access::Read, false, 7, 0));
  t.mmu.translate(request(TwoVms::kPage0, Access::Read, false, 7, 1));
  t.mmu.invPcid(7, 1);
  EXPECT_EQ(t.mmu.pscValidEntries(2), 1u);
}

TEST(Invalidation, InvVpidRemovesEverythingOfOneVpidOnly) {
  TwoVms t;
  t.fillAll();
  t.mmu.invVpid(7);
  EXPECT_EQ(t.mmu.tlbValidEntries(), 3u);
  EXPECT_EQ(t.mmu.pscValidEntries(2), 2u);  // VPID 8, PCIDs 0 and 1
  EXPECT_TRUE(t.hits(TwoVms::kPage0, 8, 1));
  EXPECT_EQ(ctr(t.mmu, Counter::InvVpid), 1u);
}

TEST(Invalidation, InvAllEmptiesEveryStructure) {
  NestedVm vm;
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  vm.mmu.translate(request(kVa));
  vm.mmu.invAll();
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 0u);
  EXPECT_EQ(vm.mmu.pscValidEntries(2), 0u);
  EXPECT_EQ(vm.mmu.ntlbValidEntries(), 0u);
  EXPECT_EQ(vm.mmu.translate(request(kVa)).ops.size(), 24u);
  EXPECT_EQ(ctr(vm.mmu, Counter::InvAll), 1u);
}

TEST(Invalidation, InvEptpRemovesTheVmsUsingThatRootAndItsNestedEntries) {
  NestedVm vm;
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  // A second NESTED VM with its own EPT, and a NATIVE VPID 9 over the guest's tables in host
  // memory (any tables do: it only has to fill something).
  FrameAllocator other_host(0x300'0000, 0x310'0000);
  EptTables other_ept(vm.mem, other_host);
  for (uint64_t gpa = 0x1'0000; gpa < 0x2'0000; gpa += 0x1000)
    other_ept.map(gpa, 0x400'0000 + gpa, PageSize::Size4K);
  other_ept.map(0x20'0000, 0x420'0000, PageSize::Size4K);
  setupContext(vm.mmu, 1, {.vpid = 8, .mode = Mode::Nested, .cr3 = vm.guest->root(),
                           .eptp = other_ept.eptp()});
  FrameAllocator native_frames(0x320'0000, 0x330'0000);
  GuestPageTables native(vm.mem, native_frames);
  native.map(kVaPage, 0xa000, PageSize::Size4K);
  setupContext(vm.mmu, 2, {.vpid = 9, .mode = Mode::Native, .cr3 = native.root()});

  vm.mmu.translate(request(kVa, Access::Read, false, 7));
  vm.mmu.translate(request(kVa, Access::Read, false, 8));
  vm.mmu.translate(request(kVa, Access::Read, false, 9));
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 3u);
  EXPECT_EQ(vm.mmu.ntlbValidEntries(), 10u);
  vm.mmu.invEptp(vm.ept.eptp(/*ad_enable=*/true));  // flag bits do not matter, only the root
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 2u);
  EXPECT_EQ(vm.mmu.ntlbValidEntries(), 5u);
  EXPECT_EQ(vm.mmu.pscValidEntries(2), 2u);
  EXPECT_FALSE(vm.mmu.translate(request(kVa, Access::Read, false, 7)).resp.tlb_hit);
  EXPECT_TRUE(vm.mmu.translate(request(kVa, Access::Read, false, 8)).resp.tlb_hit);
  EXPECT_TRUE(vm.mmu.translate(request(kVa, Access::Read, false, 9)).resp.tlb_hit);
  EXPECT_EQ(ctr(vm.mmu, Counter::InvEptp), 1u);
}

TEST(NestedTlb, VmsSharingEptTablesShareEntries) {
  NestedVm vm;
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  setupContext(vm.mmu, 1, {.vpid = 8, .mode = Mode::Nested, .cr3 = vm.guest->root(),
                           .eptp = vm.ept.eptp()});
  vm.mmu.translate(request(kVa, Access::Read, false, 7));
  const TranslateResult r = vm.mmu.translate(request(kVa, Access::Read, false, 8));
  EXPECT_EQ(r.ops.size(), 4u);  // guest reads only: every gPA hits the shared nested TLB
  EXPECT_EQ(r.trace.ntlb_hits, 5u);
}

// --- implicit flushes (§3) ----------------------------------------------------------------

TEST(ImplicitFlush, RegisterWritesThatChangeTranslationFlushTheVpid) {
  const CtxReg flushing[] = {CtxReg::Mode, CtxReg::Eptp, CtxReg::GBase, CtxReg::GSize,
                             CtxReg::EscapeBase, static_cast<CtxReg>(11)};
  for (CtxReg reg : flushing) {
    TwoVms t;
    t.fillAll();
    // Same value as before for MODE: the write itself flushes.
    t.mmu.writeReg(0, reg, t.mmu.readReg(0, reg));
    SCOPED_TRACE(static_cast<unsigned>(reg));
    EXPECT_EQ(t.mmu.tlbValidEntries(), 3u);  // VPID 7's three entries went
    EXPECT_EQ(t.mmu.pscValidEntries(2), 2u);
    EXPECT_TRUE(t.hits(TwoVms::kPage0, 8));
    EXPECT_EQ(ctr(t.mmu, Counter::InvVpid), 0u);  // implicit flushes are not counted
  }
}

TEST(ImplicitFlush, Cr3AndFlagsWritesDoNotFlush) {
  for (CtxReg reg : {CtxReg::Cr3, CtxReg::Flags}) {
    TwoVms t;
    t.fillAll();
    t.mmu.writeReg(0, reg, t.mmu.readReg(0, reg));
    EXPECT_EQ(t.mmu.tlbValidEntries(), 6u);
  }
}

TEST(ImplicitFlush, VpidWriteFlushesTheOldAndTheNewVpid) {
  TwoVms t;
  t.fillAll();
  t.mmu.writeReg(0, CtxReg::Vpid, (1u << 16) | 9);  // 7 -> 9: VPID 7's entries go
  EXPECT_EQ(t.mmu.tlbValidEntries(), 3u);
  EXPECT_TRUE(t.hits(TwoVms::kPage0, 8));
  t.mmu.writeReg(0, CtxReg::Vpid, (1u << 16) | 7);  // back to 7 (flushes 9 and 7)
  t.fillAll();
  EXPECT_EQ(t.mmu.tlbValidEntries(), 6u);
  // Whatever the valid bits: slot 3 (not valid, VPID 0) written with VPID 8 and still not
  // valid flushes VPID 8, though slot 1 stays in force for it.
  t.mmu.writeReg(3, CtxReg::Vpid, 8);
  EXPECT_EQ(t.mmu.tlbValidEntries(), 3u);
  EXPECT_TRUE(t.hits(TwoVms::kPage0, 7));
  EXPECT_FALSE(t.hits(TwoVms::kPage0, 8));
  // A write that leaves the VPID and the valid bit as they were still flushes the VPID.
  t.fillAll();
  t.mmu.writeReg(1, CtxReg::Vpid, t.mmu.readReg(1, CtxReg::Vpid));
  EXPECT_EQ(t.mmu.tlbValidEntries(), 3u);
  EXPECT_TRUE(t.hits(TwoVms::kPage0, 7));
  EXPECT_FALSE(t.hits(TwoVms::kPage0, 8));
  EXPECT_EQ(ctr(t.mmu, Counter::InvVpid), 0u);  // implicit flushes are not counted
}

TEST(ImplicitFlush, NestedTlbIsNotFlushedByRegisterWrites) {
  NestedVm vm;
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  vm.mmu.translate(request(kVa));
  vm.mmu.writeReg(0, CtxReg::Mode, static_cast<uint64_t>(Mode::Nested));
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 0u);
  EXPECT_EQ(vm.mmu.ntlbValidEntries(), 5u);
}

// --- splintering --------------------------------------------------------------------------

TEST(Splintering, OneInvAddrRemovesEverySplinterOfAGuestLargePage) {
  NestedVm vm;  // EPT maps gPA 0x200000-0x203fff in 4K pages
  const uint64_t va_2m = kVaPage & ~uint64_t{0x1f'ffff};
  vm.guest->map(va_2m, 0x20'0000, PageSize::Size2M);
  for (uint64_t offset : {0x0000, 0x1000, 0x2000, 0x3000}) {
    const Response r = vm.mmu.translate(request(va_2m + offset + 0x10)).resp;
    EXPECT_EQ(r.size, PageSize::Size4K);
    EXPECT_EQ(r.hpa, 0x420'0010u + offset);
  }
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 4u);
  vm.mmu.invAddr(kVpid, va_2m - 0x1000);  // the page before: nothing of ours
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 4u);
  vm.mmu.invAddr(kVpid, va_2m + 0x1f'f000);  // any address in the guest 2M page
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 0u);
}

// --- §9.1 replacement seen through a one-set 4-way TLB ------------------------------------

TEST(TlbReplacement, TreePlruVictimOrderInAFourWaySet) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables tables(mem, frames);
  for (uint64_t i = 0; i < 5; ++i)
    tables.map(kVaPage + i * 0x1000, 0xa000 + i * 0x1000, PageSize::Size4K);
  MmuConfig config;
  config.tlb[0] = {1, 4};
  config.stlb.sets = 0;  // the first level alone: an eviction from it walks again
  Mmu mmu(config, mem);
  setupContext(mmu, 0, {.cr3 = tables.root()});
  const auto hit = [&](unsigned page) {
    return mmu.translate(request(kVaPage + page * 0x1000)).resp.tlb_hit;
  };
  // Bits b0 b1 b2 (§9.1) after each step, computed by hand:
  for (unsigned p = 0; p < 4; ++p)
    EXPECT_FALSE(hit(p));  // fills ways 0..3 in order; bits end 0 0 0
  EXPECT_TRUE(hit(0));     // touch way 0: b0=1 b1=1 -> victim way 2
  EXPECT_FALSE(hit(4));    // evicts page 2 (way 2); touch 2: b0=0 b2=1 -> victim way 1
  EXPECT_TRUE(hit(3));     // touch 3: b0=0 b2=0 -> victim still way 1
  EXPECT_FALSE(hit(2));    // evicts page 1 (way 1); touch 1: b0=1 b1=0 -> victim way 2
  EXPECT_TRUE(hit(0));     // touch 0: b0=1 b1=1 -> victim way 2
  EXPECT_FALSE(hit(1));    // evicts page 4 (way 2)
  EXPECT_TRUE(hit(3));
  EXPECT_TRUE(hit(2));
  EXPECT_TRUE(hit(0));
  EXPECT_EQ(mmu.tlbValidEntries(), 4u);
}

TEST(TlbReplacement, InvalidWaysAreFilledBeforeAnyVictim) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables tables(mem, frames);
  for (uint64_t i = 0; i < 5; ++i)
    tables.map(kVaPage + i * 0x1000, 0xa000 + i * 0x1000, PageSize::Size4K);
  MmuConfig config;
  config.tlb[0] = {1, 4};
  config.stlb.sets = 0;  // the first level alone: an eviction from it walks again
  Mmu mmu(config, mem);
  setupContext(mmu, 0, {.cr3 = tables.root()});
  for (unsigned p = 0; p < 4; ++p)
    mmu.translate(request(kVaPage + p * 0x1000));
  mmu.invAddr(kVpid, kVaPage + 0x3000);  // frees way 3; PLRU bits unchanged (victim way 0)
  mmu.translate(request(kVaPage + 0x4000));  // goes to way 3, not to the PLRU victim
  for (unsigned p : {0u, 1u, 2u, 4u})
    EXPECT_TRUE(mmu.translate(request(kVaPage + p * 0x1000)).resp.tlb_hit) << p;
}

}  // namespace
}  // namespace vmmu::test
