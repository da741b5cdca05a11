// GUEST_DIRECT and DUAL_DIRECT (§18): the guest segment's walk (exact reference lists and counts,
// cold and warm), its faults, both escape filters, the invalidations that cover the segment and a
// context switch that saves and restores it. Every expected value is worked out by hand in the
// comments from the tables each test builds.
#include <gtest/gtest.h>

#include "model_test_util.h"

namespace vmmu::test {
namespace {

// The guest segment of these tests: gVA [1 GiB, 1 GiB + 4 MiB) -> gPA [2 MiB, 6 MiB). OFFSET is
// 2 MiB - 1 GiB modulo 2^64, a multiple of 2 MiB, and the segment holds whole 2 MiB VA pages but
// no 1 GiB one: a segment translation's gsize is 2M (§18.1).
constexpr uint64_t kSegBase = 0x4000'0000, kSegLimit = 0x4040'0000;
constexpr uint64_t kSegGpa = 0x20'0000;
constexpr uint64_t kSegOffset = kSegGpa - kSegBase;  // wraps: gPA = va + OFFSET (mod 2^P)
constexpr uint64_t kSegVa = kSegBase + 0x123;          // gPA 0x200123
constexpr uint64_t kAllGrants = gseg::RW | gseg::US | gseg::X;

void writeSegment(Mmu &mmu, uint64_t attributes = kAllGrants, uint64_t offset = kSegOffset) {
  mmu.writeReg(0, CtxReg::GsegBase, kSegBase | attributes);
  mmu.writeReg(0, CtxReg::GsegLimit, kSegLimit);
  mmu.writeReg(0, CtxReg::GsegOffset, offset);
}

// NestedVm (model_test_util.h) switched to GUEST_DIRECT: its EPT maps gPA [2M, 2M + 16K) to
// hPA + 0x400'0000 in 4K pages, with its L1 table at 0x1004000.
struct GuestDirectVm : NestedVm {
  explicit GuestDirectVm(const MmuConfig &config = withoutEptPsc()) : NestedVm(false, false, config) {
    mmu.writeReg(0, CtxReg::Mode, static_cast<uint64_t>(Mode::GuestDirect));
    writeSegment(mmu);
  }
};

TEST(GuestDirect, ColdSegmentWalkIsTheNestedRowOfTheGpaOnly) {
  GuestDirectVm vm;
  const TranslateResult r = vm.mmu.translate(request(kSegVa, Access::Write, true));
  EXPECT_EQ(r.resp.fault, Fault::None);
  EXPECT_EQ(r.resp.hpa, 0x400'0000u + 0x20'0123u);
  EXPECT_EQ(r.resp.size, PageSize::Size4K);  // min(gsize 2M, EPT leaf 4K)
  // No guest read: the four EPT reads of gPA 0x200123 (L4 0, L3 0, L2 1, L1 0).
  EXPECT_EQ(r.ops, dataRow(0x20'0000));
  EXPECT_TRUE(r.trace.guest_segment);
  // START, XLATE, ANSWER (§12, presenting the first EPT read), DONE, 4 reads.
  EXPECT_EQ(r.trace.walk_cycles, 4u + 4 * kDefaultMemOpCycles - 1);
  EXPECT_EQ(ctr(vm.mmu, Counter::GuestReads), 0u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NestedReads), 4u);
  EXPECT_EQ(ctr(vm.mmu, Counter::Walks), 1u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NtlbMisses), 1u);
  EXPECT_EQ(ctr(vm.mmu, Counter::StlbMisses4K), 1u);
  EXPECT_EQ(vm.mmu.pscValidEntries(2), 0u);  // no guest table was located
  EXPECT_EQ(vm.mmu.peek(request(kSegVa, Access::Write, true)).hpa, r.resp.hpa);

  // Warm: the same page hits the TLB; after INV_VPID (TLB and guest PSCs gone, the nested TLB
  // kept, §11) it walks again and the nested TLB answers: no reference at all.
  EXPECT_TRUE(vm.mmu.translate(request(kSegVa + 8)).resp.tlb_hit);
  vm.mmu.invVpid(kVpid);
  const TranslateResult again = vm.mmu.translate(request(kSegVa));
  EXPECT_TRUE(again.ops.empty());
  EXPECT_EQ(again.resp.hpa, 0x400'0000u + 0x20'0123u);
  EXPECT_EQ(again.trace.walk_cycles, 4u);  // the nested TLB answers: START, XLATE, ANSWER, DONE
  EXPECT_EQ(ctr(vm.mmu, Counter::NtlbHits), 1u);
}

TEST(GuestDirect, WarmSegmentWalkStartsFromTheEptPdeCache) {
  GuestDirectVm vm(MmuConfig{});  // §1's EPT PSCs
  EXPECT_EQ(vm.mmu.translate(request(kSegVa)).ops.size(), 4u);
  // The next 4K page of the segment: gPA 0x201000, a nested-TLB miss whose EPT PDE (gPA 2M..4M)
  // is cached: the L1 read only.
  const TranslateResult r = vm.mmu.translate(request(kSegBase + 0x1000));
  EXPECT_EQ(r.ops, std::vector<MemOp>{nestedRead(0x100'4000 + 8, 1)});
  EXPECT_EQ(r.resp.hpa, 0x400'0000u + 0x20'1000u);
  EXPECT_EQ(ctr(vm.mmu, Counter::EptPscHitsL2), 1u);
}

TEST(GuestDirect, OutsideTheSegmentTheWalkIsNested) {
  GuestDirectVm vm;
  vm.guest->map(kVaPage, 0x20'2000, PageSize::Size4K);
  const TranslateResult r = vm.mmu.translate(request(kVa));
  EXPECT_EQ(r.resp.hpa, 0x400'0000u + 0x20'2123u);
  EXPECT_FALSE(r.trace.guest_segment);
  EXPECT_EQ(r.ops.size(), 24u);  // §5: 4·4 + 4 + 4 without EPT PSCs
  EXPECT_EQ(ctr(vm.mmu, Counter::GuestReads), 4u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NestedReads), 20u);
  // LIMIT itself is outside: kSegLimit has no guest mapping, so a not-present guest fault.
  EXPECT_EQ(vm.mmu.translate(request(kSegLimit)).resp.fault, Fault::GuestPageFault);
}

TEST(GuestDirect, SegmentGrantsOnlyWhatItsAttributesSay) {
  GuestDirectVm vm;
  writeSegment(vm.mmu, 0);  // reads by the kernel only
  EXPECT_EQ(vm.mmu.translate(request(kSegVa)).resp.fault, Fault::None);
  const auto expectDenied = [&](Access access, bool user, uint32_t code) {
    const TranslateResult r = vm.mmu.translate(request(kSegBase + 0x3000, access, user));
    EXPECT_EQ(r.resp.fault, Fault::GuestPageFault);
    EXPECT_EQ(r.resp.fault_info, code);
    EXPECT_EQ(r.resp.fault_addr, kSegBase + 0x3000);
    EXPECT_EQ(r.resp.fault_level, 0u);  // no guest level was read
    EXPECT_FALSE(r.resp.vm_exit);       // delivered to the guest
    EXPECT_TRUE(r.ops.empty());
    EXPECT_EQ(vm.mmu.peek(request(kSegBase + 0x3000, access, user)), r.resp);
  };
  expectDenied(Access::Write, false, pf::P | pf::W);
  expectDenied(Access::Read, true, pf::P | pf::U);
  expectDenied(Access::Exec, false, pf::P | pf::ID);
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 1u);  // only the granted read filled
  EXPECT_EQ(ctr(vm.mmu, Counter::FaultGuestPf), 3u);
}

TEST(GuestDirect, TheEptStillChecksTheSegmentsGpa) {
  GuestDirectVm vm;
  // gPA 0x203000 is mapped read-only: a write is an EPT violation on the final gPA.
  vm.ept.map(0x20'3000, 0x400'0000 + 0x20'3000, PageSize::Size4K, ept::R);
  const TranslateResult w = vm.mmu.translate(request(kSegBase + 0x3008, Access::Write, true));
  EXPECT_EQ(w.resp.fault, Fault::EptViolation);
  EXPECT_EQ(w.resp.fault_addr, 0x20'3008u);
  EXPECT_EQ(w.resp.fault_level, 1u);
  EXPECT_EQ(w.resp.fault_guest_level, 0u);
  // Write, readable (R over the four levels), linear address valid, final.
  EXPECT_EQ(w.resp.fault_info, eptq::Write | eptq::Readable | eptq::LinearValid | eptq::Final);
  EXPECT_TRUE(w.resp.vm_exit);
  EXPECT_EQ(w.ops, dataRow(0x20'3000));
  // gPA 0x205000 is not mapped at all: its L1 entry (index 5) is empty.
  const TranslateResult r = vm.mmu.translate(request(kSegBase + 0x5000));
  EXPECT_EQ(r.resp.fault, Fault::EptViolation);
  EXPECT_EQ(r.resp.fault_info, eptq::Read | eptq::LinearValid | eptq::Final);
  EXPECT_EQ(r.resp.fault_addr, 0x20'5000u);
  EXPECT_EQ(vm.mmu.peek(request(kSegBase + 0x5000)), r.resp);
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 0u);
}

TEST(GuestDirect, GuestEscapedPageTakesTheNestedWalkAndSplintersItsNeighbours) {
  GuestDirectVm vm;
  vm.mmu.writeReg(0, guestEscapeReg(0), kSegBase | 1);
  vm.guest->map(kSegBase, 0x20'2000, PageSize::Size4K);  // the guest's own PTE for the page
  const TranslateResult escaped = vm.mmu.translate(request(kSegVa));
  EXPECT_FALSE(escaped.trace.guest_segment);
  EXPECT_TRUE(escaped.trace.escaped);
  EXPECT_EQ(escaped.resp.hpa, 0x400'0000u + 0x20'2123u);
  EXPECT_EQ(escaped.ops.size(), 24u);
  EXPECT_EQ(ctr(vm.mmu, Counter::Escapes), 1u);
  // ESCAPE_k (gPA pages) mean nothing without a VMM segment: gPA 0x201000 is not escaped.
  vm.mmu.writeReg(0, escapeReg(0), 0x20'1000 | 1);
  const TranslateResult next = vm.mmu.translate(request(kSegBase + 0x1000));
  EXPECT_TRUE(next.trace.guest_segment);
  EXPECT_EQ(next.ops.size(), 4u);
  EXPECT_EQ(ctr(vm.mmu, Counter::Escapes), 1u);
}

// A DUAL_DIRECT VM: the VM's region is host [2 GiB, 2 GiB + 8 MiB) (GBASE 1 GiB aligned); guest
// tables at gPA 0x10000.. written at gPA + GBASE; an EPT for escaped gPAs (host frames from
// 0x100'0000, outside the region as the VMM's tables are).
struct DualDirectVm {
  static constexpr uint64_t kGBase = 0x8000'0000, kGSize = 0x80'0000;
  SparseMemory mem;
  FrameAllocator guest_frames{0x1'0000, 0x2'0000};
  FrameAllocator host_frames{0x100'0000, 0x200'0000};
  GuestPageTables guest{mem, guest_frames, 4, 46, [](uint64_t gpa) { return gpa + kGBase; }};
  EptTables ept{mem, host_frames};
  Mmu mmu{MmuConfig{}, mem};

  DualDirectVm() {
    setupContext(mmu, 0, {.mode = Mode::DualDirect, .cr3 = guest.root(), .eptp = ept.eptp(), .gbase = kGBase,
                          .gsize = kGSize});
    writeSegment(mmu);
  }
};

TEST(DualDirect, InsideBothSegmentsAMissReadsNothing) {
  DualDirectVm vm;
  const TranslateResult r = vm.mmu.translate(request(kSegVa, Access::Write, true));
  EXPECT_EQ(r.resp.fault, Fault::None);
  EXPECT_EQ(r.resp.hpa, DualDirectVm::kGBase + 0x20'0123u);
  EXPECT_EQ(r.resp.size, PageSize::Size2M);  // min(gsize 2M, GBASE's alignment 1G)
  EXPECT_TRUE(r.ops.empty());
  EXPECT_EQ(r.trace.walk_cycles, 3u);
  EXPECT_EQ(ctr(vm.mmu, Counter::Walks), 1u);
  EXPECT_EQ(ctr(vm.mmu, Counter::GuestReads) + ctr(vm.mmu, Counter::NestedReads), 0u);
  EXPECT_EQ(ctr(vm.mmu, Counter::StlbMisses2M), 1u);
  EXPECT_EQ(vm.mmu.peek(request(kSegVa, Access::Write, true)), r.resp);
  // Warm: the whole 2 MiB page hits.
  EXPECT_TRUE(vm.mmu.translate(request(kSegBase + 0x1f'f000)).resp.tlb_hit);
}

TEST(DualDirect, OutsideTheGuestSegmentTheWalkIsDirect) {
  DualDirectVm vm;
  vm.guest.map(kVaPage, 0x30'0000, PageSize::Size4K);
  const TranslateResult r = vm.mmu.translate(request(kVa));
  EXPECT_EQ(r.resp.hpa, DualDirectVm::kGBase + 0x30'0123u);
  EXPECT_EQ(r.ops.size(), 4u);  // the four guest reads, at gPA + GBASE
  EXPECT_EQ(r.ops.front(), guestRead(DualDirectVm::kGBase + 0x1'0000 + 8 * 2, 4));
  EXPECT_EQ(ctr(vm.mmu, Counter::NestedReads), 0u);
}

TEST(DualDirect, TheBoundsCheckerGuardsWhateverOffsetTheGuestWrites) {
  DualDirectVm vm;
  // gPA = va + OFFSET = GSIZE + 0x123: the first byte past the region.
  writeSegment(vm.mmu, kAllGrants, DualDirectVm::kGSize - kSegBase);
  const TranslateResult r = vm.mmu.translate(request(kSegVa));
  EXPECT_EQ(r.resp.fault, Fault::Bounds);
  EXPECT_EQ(r.resp.fault_info, eptq::Final);
  EXPECT_EQ(r.resp.fault_addr, DualDirectVm::kGSize + 0x123);
  EXPECT_EQ(r.resp.fault_guest_level, 0u);
  EXPECT_TRUE(r.resp.vm_exit);
  EXPECT_TRUE(r.ops.empty());
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 0u);
  EXPECT_EQ(vm.mmu.peek(request(kSegVa)), r.resp);
  // One 2 MiB page below the end: gPA [6M, 8M) is the region's last 2 MiB and passes.
  writeSegment(vm.mmu, kAllGrants, DualDirectVm::kGSize - 0x20'0000 - kSegBase);
  EXPECT_EQ(vm.mmu.translate(request(kSegVa)).resp.hpa, DualDirectVm::kGBase + DualDirectVm::kGSize - 0x20'0000 + 0x123);
}

TEST(DualDirect, EachEscapeFilterIsKeyedOnItsOwnAddress) {
  DualDirectVm vm;
  // ESCAPE_0: gPA page 0x201000 (the VMM moved it): the segment's gPA takes the EPT (4 reads),
  // and its host page must still lie in the region.
  const uint64_t moved = DualDirectVm::kGBase + 0x70'0000;
  vm.ept.map(0x20'1000, moved, PageSize::Size4K);
  vm.mmu.writeReg(0, escapeReg(0), 0x20'1000 | 1);
  const TranslateResult gpa_escaped = vm.mmu.translate(request(kSegBase + 0x1010));
  EXPECT_TRUE(gpa_escaped.trace.guest_segment);
  EXPECT_TRUE(gpa_escaped.trace.escaped);
  EXPECT_EQ(gpa_escaped.resp.hpa, moved + 0x10);
  EXPECT_EQ(gpa_escaped.resp.size, PageSize::Size4K);
  EXPECT_EQ(gpa_escaped.ops.size(), 4u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NestedReads), 4u);
  // Its neighbour in the same 2 MiB gPA page is base-offset but splintered to 4K (§18.2 via §5).
  const TranslateResult neighbour = vm.mmu.translate(request(kSegVa));
  EXPECT_TRUE(neighbour.ops.empty());
  EXPECT_EQ(neighbour.resp.size, PageSize::Size4K);
  // GESCAPE_0: gVA page kSegBase + 0x2000: the DIRECT walk through the guest's PTE.
  vm.guest.map(kSegBase + 0x2000, 0x30'0000, PageSize::Size4K);
  vm.mmu.writeReg(0, guestEscapeReg(0), (kSegBase + 0x2000) | 1);
  const TranslateResult va_escaped = vm.mmu.translate(request(kSegBase + 0x2008));
  EXPECT_FALSE(va_escaped.trace.guest_segment);
  EXPECT_EQ(va_escaped.resp.hpa, DualDirectVm::kGBase + 0x30'0008u);
  EXPECT_EQ(va_escaped.ops.size(), 4u);
  EXPECT_EQ(ctr(vm.mmu, Counter::GuestReads), 4u);
  EXPECT_EQ(ctr(vm.mmu, Counter::Escapes), 2u);  // one escaped gPA, one escaped VA
  EXPECT_EQ(vm.mmu.peek(request(kSegBase + 0x2008)), va_escaped.resp);
  // A guest escape in a 2 MiB VA page makes that page's segment translations 4K.
  EXPECT_EQ(vm.mmu.translate(request(kSegBase + 0x3000)).resp.size, PageSize::Size4K);
  EXPECT_EQ(vm.mmu.translate(request(kSegBase + 0x20'0000)).resp.size, PageSize::Size2M);
}

TEST(GuestSegment, WhichWritesAndInvalidationsRemoveItsTranslations) {
  DualDirectVm vm;
  const auto fill = [&] {
    EXPECT_FALSE(vm.mmu.translate(request(kSegVa)).resp.tlb_hit);
    EXPECT_EQ(vm.mmu.tlbValidEntries(), 1u);
  };
  fill();
  writeSegment(vm.mmu);  // GSEG_* writes do not flush (§3, §18.5)
  vm.mmu.writeReg(0, CtxReg::Mode, 7);  // a reserved MODE code is ignored: no store, no flush
  EXPECT_EQ(vm.mmu.readReg(0, CtxReg::Mode), static_cast<uint64_t>(Mode::DualDirect));
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 1u);
  vm.mmu.writeReg(0, guestEscapeReg(1), 0);  // GESCAPE writes flush the VPID
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 0u);
  fill();
  vm.mmu.invAddr(kVpid, kSegBase + 0x1f'f000);  // anywhere in the entry's gsize (2M) page
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 0u);
  EXPECT_EQ(vm.mmu.stlbValidEntries(), 0u);
  fill();
  vm.mmu.invPcid(kVpid, 0);
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 0u);
  fill();
  vm.mmu.invEptp(vm.ept.eptp());  // a DUAL_DIRECT slot has an EPTP
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 0u);
  // The registers read back as §3 keeps them: BASE with its attribute bits, no bits 11:4.
  vm.mmu.writeReg(0, CtxReg::GsegBase, kSegBase | 0xfff);
  EXPECT_EQ(vm.mmu.readReg(0, CtxReg::GsegBase), kSegBase | kAllGrants);
  vm.mmu.writeReg(0, CtxReg::GsegOffset, 0x1fff);
  EXPECT_EQ(vm.mmu.readReg(0, CtxReg::GsegOffset), 0x1000u);
}

TEST(GuestSegment, ContextSwitchSavesAndRestoresEachAddressSpacesSegment) {
  DualDirectVm vm;
  constexpr uint16_t kA = 1, kB = 2;
  constexpr uint64_t kOffsetB = 0x40'0000 - kSegBase;  // B's segment starts at gPA 4M
  writeSegment(vm.mmu, kAllGrants, kSegOffset);
  EXPECT_EQ(vm.mmu.translate(request(kSegVa, Access::Read, true, kVpid, kA)).resp.hpa,
            DualDirectVm::kGBase + 0x20'0123u);
  // Switch to B: CR3 and the segment are written, nothing is flushed.
  writeSegment(vm.mmu, kAllGrants, kOffsetB);
  const TranslateResult b = vm.mmu.translate(request(kSegVa, Access::Read, true, kVpid, kB));
  EXPECT_FALSE(b.resp.tlb_hit);
  EXPECT_EQ(b.resp.hpa, DualDirectVm::kGBase + 0x40'0123u);
  // Back to A: A's translation is still cached under its PCID and still right.
  writeSegment(vm.mmu, kAllGrants, kSegOffset);
  const TranslateResult a = vm.mmu.translate(request(kSegVa, Access::Read, true, kVpid, kA));
  EXPECT_TRUE(a.resp.tlb_hit);
  EXPECT_EQ(a.resp.hpa, DualDirectVm::kGBase + 0x20'0123u);
  // An address space without a segment (BASE = LIMIT = 0) walks its tables.
  vm.mmu.writeReg(0, CtxReg::GsegBase, 0);
  vm.mmu.writeReg(0, CtxReg::GsegLimit, 0);
  EXPECT_EQ(vm.mmu.translate(request(kSegBase + 0x10'0000, Access::Read, true, kVpid, 3)).resp.fault,
            Fault::GuestPageFault);
}

}  // namespace
}  // namespace vmmu::test
