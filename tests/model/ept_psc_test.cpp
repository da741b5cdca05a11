// The EPT paging-structure caches of §10.3, by hand-computed cases on NestedVm (model_test_util.h)
// with §1's default geometry: which EPT reads each hit skips, which entries a walk fills, the
// counters per level, the PLRU touch of a used hit only, what every invalidation removes or
// keeps, faults, and `Ways = 0` removing a level.
//
// NestedVm's EPT: root 0x1000000, L3 0x1001000, L2 0x1002000; L1 0x1003000 for gPA [0, 2M)
// (the guest tables, gPA 0x10000..0x13000) and 0x1004000 for [2M, 4M) (data). Each EPT level l
// entry of gPA g lies at table + 8 x ((g >> (12 + 9 (l - 1))) & 511).
#include <gtest/gtest.h>

#include <iterator>

#include "model_test_util.h"

namespace vmmu::test {
namespace {

// EPT PTE address of a gPA below 2M (L1 table 0x1003000) and in [2M, 4M) (0x1004000).
constexpr uint64_t lowPte(uint64_t gpa) { return 0x100'3000 + 8 * ((gpa >> 12) & 511); }
constexpr uint64_t dataPte(uint64_t gpa) { return 0x100'4000 + 8 * ((gpa >> 12) & 511); }
// Guest entries of kVa (indices 2, 3, 4, 5) in the guest tables at gPA 0x10000..0x13000, which
// the EPT maps at + 0x4000000.
constexpr uint64_t kGuestL4 = 0x401'0010, kGuestL3 = 0x401'1018, kGuestL2 = 0x401'2020, kGuestL1 = 0x401'3028;

uint64_t eptPscHits(const Mmu &mmu, unsigned level) {
  return mmu.counter(static_cast<Counter>(static_cast<unsigned>(Counter::EptPscHitsL2) + level - 2));
}

TEST(EptPsc, ColdWalkReadsTheUpperEptLevelsOnceAndLaterRowsHitThePdeCache) {
  NestedVm vm(false, false, MmuConfig{});
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  const TranslateResult r = vm.mmu.translate(request(kVa));
  // Row CR3 (gPA 0x10000) walks the EPT from its root and fills the PML4E, PDPTE and PDE caches
  // (prefix 0); the rows of 0x11000, 0x12000 and 0x13000 hit the PDE cache and read the EPT PTE
  // only; the final gPA 0x200123 misses the PDE cache (prefix 1) and hits the PDPTE cache
  // (prefix 0): EPT PDE and PTE, and the PDE of prefix 1 is filled.
  const std::vector<MemOp> expected = concat({
      lowRow(0x1'0000), {guestRead(kGuestL4, 4)},
      {nestedRead(lowPte(0x1'1000), 1), guestRead(kGuestL3, 3)},
      {nestedRead(lowPte(0x1'2000), 1), guestRead(kGuestL2, 2)},
      {nestedRead(lowPte(0x1'3000), 1), guestRead(kGuestL1, 1)},
      {nestedRead(0x100'2008, 2), nestedRead(dataPte(0x20'0000), 1)},
  });
  EXPECT_EQ(r.ops, expected);
  EXPECT_EQ(r.ops.size(), 13u);  // 24 without EPT PSCs
  EXPECT_EQ(r.resp.hpa, 0x420'0123u);
  EXPECT_EQ(r.resp.fault, Fault::None);
  EXPECT_EQ(r.trace.ept_psc_levels, (1u << 2) | (1u << 3));
  EXPECT_EQ(eptPscHits(vm.mmu, 2), 3u);
  EXPECT_EQ(eptPscHits(vm.mmu, 3), 1u);
  EXPECT_EQ(eptPscHits(vm.mmu, 4), 0u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NestedReads), 9u);
  EXPECT_EQ(ctr(vm.mmu, Counter::GuestReads), 4u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NtlbMisses), 5u);  // an EPT PSC hit still walks the EPT
  EXPECT_EQ(vm.mmu.eptPscValidEntries(2), 2u);  // prefixes 0 and 1
  EXPECT_EQ(vm.mmu.eptPscValidEntries(3), 1u);
  EXPECT_EQ(vm.mmu.eptPscValidEntries(4), 1u);
  EXPECT_EQ(vm.mmu.eptPscValidEntries(5), 0u);  // no such EPT level with NestedLevels = 4
  // The same walk cycles formula (§12): 2, an XLATE and an ANSWER cycle for each of the 5 gPAs
  // translated, 2 per operation at the default latency, less the 5 EPT walks' first reads,
  // presented in their ANSWER cycles (early).
  EXPECT_EQ(r.trace.walk_cycles, 2u + 5 + 5 + 2 * 13 - 5);
}

TEST(EptPsc, WarmWalkReadsTheGuestPteAndTheFinalEptPte) {
  NestedVm vm(false, false, MmuConfig{});
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  vm.guest->map(kVaPage + 0x1000, 0x20'1000, PageSize::Size4K);
  vm.mmu.translate(request(kVa));
  // Guest PDE-cache hit (next table 0x4013000), guest PTE index 6; the final gPA 0x201000
  // misses the nested TLB (another 4K page) and hits the EPT PDE cache (prefix 1).
  const TranslateResult r = vm.mmu.translate(request(kVa + 0x1000));
  EXPECT_EQ(r.ops, (std::vector<MemOp>{guestRead(0x401'3030, 1), nestedRead(dataPte(0x20'1000), 1)}));
  EXPECT_EQ(r.resp.hpa, 0x420'1123u);
  EXPECT_EQ(r.trace.psc_level, 2u);
  EXPECT_EQ(r.trace.ept_psc_levels, 1u << 2);
  EXPECT_EQ(eptPscHits(vm.mmu, 2), 4u);
}

TEST(EptPsc, NestedTlbHitComesFirstAndLeavesTheEptPscUnused) {
  NestedVm vm(false, false, MmuConfig{});
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  vm.guest->map(kVaPage + 0x1000, 0x20'0000, PageSize::Size4K);  // the same gPA page
  vm.mmu.translate(request(kVa));
  const TranslateResult r = vm.mmu.translate(request(kVa + 0x1000));
  EXPECT_EQ(r.ops, (std::vector<MemOp>{guestRead(0x401'3030, 1)}));
  EXPECT_EQ(r.trace.ntlb_hits, 1u);
  EXPECT_EQ(r.trace.ept_psc_levels, 0u);
  EXPECT_EQ(eptPscHits(vm.mmu, 2), 3u);  // the cold walk's three, no more
  EXPECT_EQ(eptPscHits(vm.mmu, 3), 1u);
}

TEST(EptPsc, Pml4eHitReadsTheThreeLowerEptLevels) {
  NestedVm vm(false, false, MmuConfig{});
  // gPA 1G: EPT PML4E index 0 (cached by the cold rows), PDPTE index 1, whose PDE and PTE
  // tables are the next host frames, 0x1005000 and 0x1006000.
  vm.ept.map(0x4000'0000, 0x800'0000, PageSize::Size4K);
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  vm.guest->map(kVaPage + 0x1000, 0x4000'0000, PageSize::Size4K);
  vm.mmu.translate(request(kVa));
  const TranslateResult r = vm.mmu.translate(request(kVa + 0x1000));
  EXPECT_EQ(r.ops, (std::vector<MemOp>{guestRead(0x401'3030, 1), nestedRead(0x100'1008, 3),
                                       nestedRead(0x100'5000, 2), nestedRead(0x100'6000, 1)}));
  EXPECT_EQ(r.resp.hpa, 0x800'0123u);
  EXPECT_EQ(r.trace.ept_psc_levels, 1u << 4);
  EXPECT_EQ(eptPscHits(vm.mmu, 4), 1u);
  // The walk below the hit filled the PDPTE and PDE caches for gPA 1G.
  EXPECT_EQ(vm.mmu.eptPscValidEntries(3), 2u);
  EXPECT_EQ(vm.mmu.eptPscValidEntries(2), 3u);
}

TEST(EptPsc, AbsentLevelsAreSkipped) {
  // No EPT PDE cache (Ways = 0): the rows after the first hit the PDPTE cache and read the EPT
  // PDE and PTE: 4 + 1 + 3 x (2 + 1) + 2 = 16 references.
  MmuConfig config;
  config.ept_psc[0].ways = 0;
  NestedVm vm(false, false, config);
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  const TranslateResult r = vm.mmu.translate(request(kVa));
  const std::vector<MemOp> expected = concat({
      lowRow(0x1'0000), {guestRead(kGuestL4, 4)},
      {nestedRead(0x100'2000, 2), nestedRead(lowPte(0x1'1000), 1), guestRead(kGuestL3, 3)},
      {nestedRead(0x100'2000, 2), nestedRead(lowPte(0x1'2000), 1), guestRead(kGuestL2, 2)},
      {nestedRead(0x100'2000, 2), nestedRead(lowPte(0x1'3000), 1), guestRead(kGuestL1, 1)},
      {nestedRead(0x100'2008, 2), nestedRead(dataPte(0x20'0000), 1)},
  });
  EXPECT_EQ(r.ops, expected);
  EXPECT_EQ(eptPscHits(vm.mmu, 2), 0u);
  EXPECT_EQ(eptPscHits(vm.mmu, 3), 4u);
  EXPECT_EQ(vm.mmu.eptPscValidEntries(2), 0u);
  // Every level absent: the §5 walk without EPT PSCs, 24 references.
  NestedVm none(false, false, withoutEptPsc());
  none.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  EXPECT_EQ(none.mmu.translate(request(kVa)).ops.size(), 24u);
  for (unsigned level = 2; level <= 4; ++level)
    EXPECT_EQ(eptPscHits(none.mmu, level), 0u);
}

TEST(EptPsc, ZeroWaysIsAValidGeometryAndOtherZerosAreNot) {
  MmuConfig config;
  config.ept_psc[1].ways = 0;
  config.ept_psc[1].sets = 3;  // ignored: the level has no cache
  EXPECT_EQ(config.validate(), "");
  config.ept_psc[0].ways = 3;
  EXPECT_NE(config.validate().find("ept_psc.l2.ways"), std::string::npos);
  config.ept_psc[0] = {0, 4};
  EXPECT_NE(config.validate().find("ept_psc.l2.sets"), std::string::npos);
}

TEST(EptPsc, NonLeafEntriesAreFilledAfterTheirAccessedUpdate) {
  // EPT A/D on: every EPT entry starts with A clear. The CR3 row sets A in each entry it reads
  // (the PTE's update comes after the leaf is validated); the next row hits the PDE cache and
  // sets A only in the PTE it reads.
  NestedVm vm(true, false, MmuConfig{});
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  const TranslateResult r = vm.mmu.translate(request(kVa));
  const std::vector<MemOp> head(r.ops.begin(), r.ops.begin() + 12);
  EXPECT_EQ(head, (std::vector<MemOp>{
                      nestedRead(0x100'0000, 4), nestedOr(0x100'0000, ept::A, 4),
                      nestedRead(0x100'1000, 3), nestedOr(0x100'1000, ept::A, 3),
                      nestedRead(0x100'2000, 2), nestedOr(0x100'2000, ept::A, 2),
                      nestedRead(lowPte(0x1'0000), 1), nestedOr(lowPte(0x1'0000), ept::A, 1),
                      guestRead(kGuestL4, 4),
                      nestedRead(lowPte(0x1'1000), 1), nestedOr(lowPte(0x1'1000), ept::A, 1),
                      guestRead(kGuestL3, 3)}));
  EXPECT_EQ(eptPscHits(vm.mmu, 2), 3u);
}

TEST(EptPsc, FaultingEntriesAreNotCachedAndFaultsKeepTheirLevel) {
  NestedVm vm(false, false, MmuConfig{});
  vm.guest->map(kVaPage, 0x60'0000, PageSize::Size4K);  // EPT PDE index 3: not present
  const TranslateResult r = vm.mmu.translate(request(kVa));
  EXPECT_EQ(r.resp.fault, Fault::EptViolation);
  EXPECT_EQ(r.resp.fault_level, 2u);
  EXPECT_EQ(r.resp.fault_addr, 0x60'0123u);
  EXPECT_EQ(r.ops.back(), nestedRead(0x100'2018, 2));  // after the PDPTE-cache hit
  EXPECT_EQ(r.ops.size(), 4u + 1 + 3 * 2 + 1);
  EXPECT_EQ(vm.mmu.eptPscValidEntries(2), 1u);  // prefix 0 only: the faulting PDE was not cached
  // A not-present EPT PTE behind a PDE-cache hit faults at level 1.
  NestedVm pte(false, false, MmuConfig{});
  pte.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  pte.mmu.translate(request(kVa));
  pte.guest->map(kVaPage + 0x1000, 0x20'5000, PageSize::Size4K);  // no EPT PTE for 0x205000
  const TranslateResult f = pte.mmu.translate(request(kVa + 0x1000, Access::Write));
  EXPECT_EQ(f.resp.fault, Fault::EptViolation);
  EXPECT_EQ(f.resp.fault_level, 1u);
  EXPECT_EQ(f.resp.fault_info, eptq::Write | eptq::LinearValid | eptq::Final);
  EXPECT_EQ(f.ops, (std::vector<MemOp>{guestRead(0x401'3030, 1), nestedRead(dataPte(0x20'5000), 1)}));
}

// The cold walk fills EPT PSC entries for prefix 0 (PDE 1, PDPTE 1, PML4E 1) and prefix 1 (PDE).
TEST(EptPsc, OnlyInvEptpOfItsRootAndInvAllRemoveEntries) {
  NestedVm vm(false, false, MmuConfig{});
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  const auto filled = [&]() {
    return vm.mmu.eptPscValidEntries(2) + vm.mmu.eptPscValidEntries(3) + vm.mmu.eptPscValidEntries(4);
  };
  vm.mmu.translate(request(kVa));
  ASSERT_EQ(filled(), 4u);
  vm.mmu.invAddr(kVpid, kVa);
  vm.mmu.invPcid(kVpid, 0);
  vm.mmu.invVpid(kVpid);
  vm.mmu.writeReg(0, CtxReg::Eptp, vm.ept.eptp());  // implicit INV_VPID
  vm.mmu.writeReg(0, CtxReg::Mode, static_cast<uint64_t>(Mode::Nested));
  vm.mmu.invEptp(0x7000'0000);  // another root
  EXPECT_EQ(filled(), 4u);
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 0u);
  // The TLB and guest PSC are empty, the nested TLB (kept, as the EPT PSC) answers every row.
  EXPECT_EQ(vm.mmu.translate(request(kVa)).ops.size(), 4u);
  vm.mmu.invEptp(vm.ept.eptp());
  EXPECT_EQ(filled(), 0u);
  EXPECT_EQ(ctr(vm.mmu, Counter::InvEptp), 2u);
  vm.mmu.translate(request(kVa));
  EXPECT_EQ(filled(), 4u);
  vm.mmu.invAll();
  EXPECT_EQ(filled(), 0u);
}

// §9.1 through the EPT PDE cache's set 1 (8 sets x 4 ways: prefixes 1, 9, 17, 25, 33 share it).
// Four fills take ways 0..3 and leave the PLRU pointing at way 0; a used hit on prefix 1 (way 0)
// turns it to way 2, so prefix 33 evicts prefix 17 and prefix 1 stays.
TEST(EptPsc, AUsedHitIsTouchedAndDecidesTheVictim) {
  NestedVm vm(false, false, MmuConfig{});
  const uint64_t k2M = 0x20'0000;
  const uint64_t gpas[] = {1 * k2M, 9 * k2M, 17 * k2M, 25 * k2M, 1 * k2M + 0x1000, 33 * k2M,
                           17 * k2M + 0x1000, 1 * k2M + 0x2000};
  for (unsigned i = 0; i < std::size(gpas); ++i) {
    if (gpas[i] >= 4 * k2M)  // [2M, 4M) is mapped already
      vm.ept.map(gpas[i], 0x400'0000 + gpas[i], PageSize::Size4K);
    vm.guest->map(kVaPage + 0x1000 * i, gpas[i], PageSize::Size4K);
  }
  for (unsigned i = 0; i < 4; ++i)
    vm.mmu.translate(request(kVaPage + 0x1000 * i));
  EXPECT_EQ(vm.mmu.eptPscValidEntries(2), 5u);  // prefix 0 (set 0) and four in set 1
  EXPECT_EQ(vm.mmu.translate(request(kVaPage + 0x1000 * 4)).ops.size(), 2u);  // PDE-cache hit
  EXPECT_EQ(vm.mmu.translate(request(kVaPage + 0x1000 * 5)).ops.size(), 3u);  // fill: evicts 17
  EXPECT_EQ(vm.mmu.eptPscValidEntries(2), 5u);
  const TranslateResult evicted = vm.mmu.translate(request(kVaPage + 0x1000 * 6));
  EXPECT_EQ(evicted.ops.size(), 3u);  // prefix 17: PDPTE-cache hit, EPT PDE and PTE
  EXPECT_EQ(evicted.trace.ept_psc_levels, 1u << 3);
  const TranslateResult kept = vm.mmu.translate(request(kVaPage + 0x1000 * 7));
  EXPECT_EQ(kept.ops.size(), 2u);  // prefix 1 still cached
  EXPECT_EQ(kept.trace.ept_psc_levels, 1u << 2);
}

TEST(EptPsc, ResetClearsTheCachesAndTheCounters) {
  NestedVm vm(false, false, MmuConfig{});
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  vm.mmu.translate(request(kVa));
  vm.mmu.reset();
  EXPECT_EQ(vm.mmu.eptPscValidEntries(2), 0u);
  EXPECT_EQ(eptPscHits(vm.mmu, 2), 0u);
  EXPECT_EQ(toString(Counter::EptPscHitsL2), "EPT_PSC_HITS_L2");
  EXPECT_EQ(static_cast<unsigned>(Counter::EptPscHitsL5), 37u) << "after the STLB's 29-33 (§14)";
  EXPECT_EQ(vm.mmu.counter(static_cast<Counter>(38)), 0u);
}

}  // namespace
}  // namespace vmmu::test
