// Flattened nested tables (§21), by hand-computed cases: the reference lists and counts of cold
// and warm walks in the 2level and 1level formats beside the 4level radix walk of the same guest,
// replicated 2M and level-2 1G leaves, faults (not present, misconfigured, beyond the reach),
// INV_EPTP, the reserved FMT code and the walk cycles of §21.6.
//
// FlatVm is NestedVm's guest (model_test_util.h: guest tables at gPA 0x10000..0x13000, data from
// gPA 0x200000, every gPA page at hPA gPA + 0x4000000) behind a flattened EPT whose 2 MiB tables
// come from host frames 0x1000000 up: the root at 0x1000000 and, for 2level, the level-1 table of
// gPA [0, 1G) at 0x1200000. Entry of gPA g: 2level level 2 at 0x1000000 + 8 (g >> 30), level 1
// at 0x1200000 + 8 ((g >> 12) & 0x3ffff); 1level at 0x1000000 + 8 (g >> 12).
#include <gtest/gtest.h>

#include "model_test_util.h"

namespace vmmu::test {
namespace {

constexpr uint64_t kRoot = 0x100'0000, kLevel1 = 0x120'0000;
// Guest entries of kVa (indices 2, 3, 4, 5) at their host addresses (gPA + 0x4000000).
constexpr uint64_t kGuestL4 = 0x401'0010, kGuestL3 = 0x401'1018, kGuestL2 = 0x401'2020, kGuestL1 = 0x401'3028;

struct FlatVm {
  SparseMemory mem;
  FrameAllocator host_frames{0x100'0000, 0x200'0000};
  FrameAllocator guest_frames{0x1'0000, 0x2'0000};
  EptTables ept;
  std::optional<GuestPageTables> guest;
  Mmu mmu;

  FlatVm(EptFormat format, const MmuConfig &config) : ept(mem, host_frames, 4, 46, format), mmu(config, mem) {
    for (uint64_t gpa = 0x1'0000; gpa < 0x2'0000; gpa += 0x1000)  // guest table frames
      ept.map(gpa, 0x400'0000 + gpa, PageSize::Size4K);
    for (uint64_t gpa = 0x20'0000; gpa < 0x20'4000; gpa += 0x1000)  // data pages
      ept.map(gpa, 0x400'0000 + gpa, PageSize::Size4K);
    guest.emplace(mem, guest_frames, 4, 46, ept.hostMap());
    guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
    guest->map(kVaPage + 0x1000, 0x20'1000, PageSize::Size4K);
    setupContext(mmu, 0, {.mode = Mode::Nested, .cr3 = guest->root(), .eptp = ept.eptp()});
  }
};

// The EPT reads of one row (one gPA) in each flattened format.
std::vector<MemOp> flat2Row(uint64_t gpa) {
  return {nestedRead(kRoot + 8 * (gpa >> 30), 2), nestedRead(kLevel1 + 8 * ((gpa >> 12) & 0x3ffff), 1)};
}
std::vector<MemOp> flat1Row(uint64_t gpa) { return {nestedRead(kRoot + 8 * (gpa >> 12), 1)}; }

// A cold walk of kVa without EPT PSC: each guest table's row, its guest read, the final gPA's row.
std::vector<MemOp> coldWalk(std::vector<MemOp> (*row)(uint64_t)) {
  return concat({row(0x1'0000), {guestRead(kGuestL4, 4)}, row(0x1'1000), {guestRead(kGuestL3, 3)}, row(0x1'2000),
                 {guestRead(kGuestL2, 2)}, row(0x1'3000), {guestRead(kGuestL1, 1)}, row(0x20'0123)});
}

TEST(FlatEpt, EptpCarriesTheFormatInBits9To8) {
  SparseMemory mem;
  FrameAllocator frames(0x100'0000, 0x200'0000);
  const EptTables flat2(mem, frames, 4, 46, EptFormat::Flat2);
  EXPECT_EQ(flat2.root(), 0x100'0000u);
  // WB (6), walk length 2 - 1 in bits 5:3, FMT 1 in bits 9:8.
  EXPECT_EQ(flat2.eptp(), 0x100'0000u | 6 | (1 << 3) | (1 << 8));
  EXPECT_EQ(eptFormatOf(flat2.eptp()), EptFormat::Flat2);
  const EptTables flat1(mem, frames, 4, 46, EptFormat::Flat1);
  EXPECT_EQ(flat1.root(), 0x120'0000u);  // the next 2 MiB-aligned 2 MiB
  EXPECT_EQ(flat1.eptp(), 0x120'0000u | 6 | (2 << 8));
  EXPECT_EQ(eptFormatOf(uint64_t{3} << 8), EptFormat::Radix);  // the reserved code
  EXPECT_EQ(flat1.tableBytes(), 2u << 20);
}

TEST(FlatEpt, ColdWalkWithoutEptPscReadsNmPlusNPlusM) {
  // 4level: 16 + 4 + 4 = 24 (walk_test); 2level: 4 x 2 + 4 + 2 = 14; 1level: 4 + 4 + 1 = 9.
  FlatVm flat2(EptFormat::Flat2, withoutEptPsc());
  const TranslateResult r2 = flat2.mmu.translate(request(kVa));
  EXPECT_EQ(r2.ops, coldWalk(flat2Row));
  EXPECT_EQ(r2.ops.size(), 14u);
  EXPECT_EQ(r2.resp.hpa, 0x420'0123u);
  EXPECT_EQ(r2.resp.size, PageSize::Size4K);
  EXPECT_EQ(r2.trace.walk_cycles, 2u + 5 + 5 + 2 * 14 - 5);  // §21.6: 35

  FlatVm flat1(EptFormat::Flat1, withoutEptPsc());
  const TranslateResult r1 = flat1.mmu.translate(request(kVa));
  EXPECT_EQ(r1.ops, coldWalk(flat1Row));
  EXPECT_EQ(r1.ops.size(), 9u);
  EXPECT_EQ(r1.resp.hpa, 0x420'0123u);
  EXPECT_EQ(r1.trace.walk_cycles, 2u + 5 + 5 + 2 * 9 - 5);  // 25
  EXPECT_EQ(ctr(flat1.mmu, Counter::NestedReads), 5u);
  EXPECT_EQ(ctr(flat1.mmu, Counter::NtlbMisses), 5u);
}

TEST(FlatEpt, ColdWalkWithEptPscHitsTheLevel2CacheFromTheSecondRow) {
  // §21.3's "PSC'd" row: 2level 4 + 2 + 3 x 1 + 1 = 10 (4level: 13, ept_psc_test); 1level has no
  // EPT PSC and reads 9.
  FlatVm flat2(EptFormat::Flat2, MmuConfig{});
  const TranslateResult r2 = flat2.mmu.translate(request(kVa));
  const uint64_t l1 = kLevel1;
  EXPECT_EQ(r2.ops, concat({flat2Row(0x1'0000), {guestRead(kGuestL4, 4)},
                            {nestedRead(l1 + 8 * 0x11, 1), guestRead(kGuestL3, 3)},
                            {nestedRead(l1 + 8 * 0x12, 1), guestRead(kGuestL2, 2)},
                            {nestedRead(l1 + 8 * 0x13, 1), guestRead(kGuestL1, 1)},
                            {nestedRead(l1 + 8 * 0x200, 1)}}));
  EXPECT_EQ(r2.ops.size(), 10u);
  EXPECT_EQ(ctr(flat2.mmu, Counter::EptPscHitsL2), 4u);
  EXPECT_EQ(ctr(flat2.mmu, Counter::EptPscHitsL3), 0u);
  EXPECT_EQ(r2.trace.ept_psc_levels, 1u << 2);
  EXPECT_EQ(flat2.mmu.eptPscValidEntries(2), 1u);  // prefix gpa >> 30 = 0
  EXPECT_EQ(flat2.mmu.eptPscValidEntries(3), 0u);
  EXPECT_EQ(flat2.mmu.eptPscValidEntries(4), 0u);

  FlatVm flat1(EptFormat::Flat1, MmuConfig{});
  EXPECT_EQ(flat1.mmu.translate(request(kVa)).ops.size(), 9u);
  EXPECT_EQ(ctr(flat1.mmu, Counter::EptPscHitsL2), 0u);
  EXPECT_EQ(flat1.mmu.eptPscValidEntries(2), 0u);
}

TEST(FlatEpt, WarmWalksReadTheGuestPteAndTheFormatsRemainder) {
  // Guest PDE-cache hit; the final gPA 0x201000 misses the nested TLB (another 4K page).
  // Without EPT PSC: 4level 1 + 4 = 5 (below), 2level 1 + 2 = 3, 1level 1 + 1 = 2.
  FlatVm flat2(EptFormat::Flat2, withoutEptPsc());
  flat2.mmu.translate(request(kVa));
  EXPECT_EQ(flat2.mmu.translate(request(kVa + 0x1000)).ops,
            concat({{guestRead(0x401'3030, 1)}, flat2Row(0x20'1000)}));
  FlatVm flat1(EptFormat::Flat1, withoutEptPsc());
  flat1.mmu.translate(request(kVa));
  EXPECT_EQ(flat1.mmu.translate(request(kVa + 0x1000)).ops,
            concat({{guestRead(0x401'3030, 1)}, flat1Row(0x20'1000)}));
  NestedVm radix;
  radix.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  radix.guest->map(kVaPage + 0x1000, 0x20'1000, PageSize::Size4K);
  radix.mmu.translate(request(kVa));
  EXPECT_EQ(radix.mmu.translate(request(kVa + 0x1000)).ops,
            concat({{guestRead(0x401'3030, 1)}, dataRow(0x20'1000)}));
  // With the EPT PSC, 2level's level-2 hit leaves one EPT read, as 4level's PDE hit does: 2.
  FlatVm cached(EptFormat::Flat2, MmuConfig{});
  cached.mmu.translate(request(kVa));
  EXPECT_EQ(cached.mmu.translate(request(kVa + 0x1000)).ops,
            (std::vector<MemOp>{guestRead(0x401'3030, 1), nestedRead(kLevel1 + 8 * 0x201, 1)}));
  // Every row a nested-TLB hit: after INV_ADDR (which removes the TLB entry and the guest PSC
  // entries of the VA, §11) only the four guest reads remain, in every format.
  cached.mmu.invAddr(kVpid, kVa);
  EXPECT_EQ(cached.mmu.translate(request(kVa)).ops,
            (std::vector<MemOp>{guestRead(kGuestL4, 4), guestRead(kGuestL3, 3), guestRead(kGuestL2, 2),
                                guestRead(kGuestL1, 1)}));
}

TEST(FlatEpt, Replicated2MLeafFillsA2MNestedTlbEntry) {
  for (const EptFormat format : {EptFormat::Flat2, EptFormat::Flat1}) {
    SCOPED_TRACE(toString(format));
    FlatVm vm(format, withoutEptPsc());
    vm.ept.map(0x40'0000, 0x440'0000, PageSize::Size2M);
    // The 512 replicas of gPA [4M, 6M) all hold the 2M leaf.
    const uint64_t leaf = vm.ept.readEntry(0x40'0000, 1);
    EXPECT_EQ(leaf, 0x440'0000u | 7 | ept::kMemTypeWB | ept::LP);
    EXPECT_EQ(vm.ept.readEntry(0x5f'f000, 1), leaf);
    EXPECT_EQ(vm.ept.translate(0x5f'f123), 0x45f'f123u);
    vm.guest->map(0x7000'0000'0000, 0x40'0000, PageSize::Size4K);
    vm.guest->map(0x7000'0000'1000, 0x5f'f000, PageSize::Size4K);
    const TranslateResult first = vm.mmu.translate(request(0x7000'0000'0008));
    EXPECT_EQ(first.resp.hpa, 0x440'0008u);
    EXPECT_EQ(first.resp.size, PageSize::Size4K);  // splintered to the guest's 4K
    EXPECT_EQ(first.ops.back(), format == EptFormat::Flat2 ? nestedRead(kLevel1 + 8 * 0x400, 1)
                                                           : nestedRead(kRoot + 8 * 0x400, 1));
    // Another 4K page of the same 2M: the guest PDE-cache hit leaves the guest PTE, and the final
    // gPA hits the 2M nested-TLB entry: one reference, no nested-TLB miss.
    const uint64_t misses = ctr(vm.mmu, Counter::NtlbMisses);
    const TranslateResult second = vm.mmu.translate(request(0x7000'0000'1010));
    EXPECT_EQ(second.resp.hpa, 0x45f'f010u);
    EXPECT_EQ(second.ops,
              (std::vector<MemOp>{guestRead(vm.guest->hostEntryAddress(0x7000'0000'1000, 1).value(), 1)}));
    EXPECT_EQ(ctr(vm.mmu, Counter::NtlbMisses), misses);
    EXPECT_TRUE(vm.ept.unmap(0x5f'f000));  // removes all 512 replicas
    EXPECT_EQ(vm.ept.readEntry(0x40'0000, 1), 0u);
  }
}

TEST(FlatEpt, Level2LeafMaps1G) {
  FlatVm vm(EptFormat::Flat2, withoutEptPsc());
  vm.ept.map(0x4000'0000, 0x8000'0000, PageSize::Size1G);
  vm.guest->map(0x7000'0000'0000, 0x4012'3000, PageSize::Size4K);
  const TranslateResult r = vm.mmu.translate(request(0x7000'0000'0456));
  EXPECT_EQ(r.resp.hpa, 0x8012'3456u);
  EXPECT_EQ(r.ops.back(), nestedRead(kRoot + 8, 2));  // one EPT read for the final gPA
  EXPECT_EQ(vm.mmu.ntlbValidEntries(), 5u);         // four 4K table pages and the 1G page
  // 1level has no 1G leaf: the builder refuses it.
  FlatVm flat1(EptFormat::Flat1, withoutEptPsc());
  EXPECT_THROW(flat1.ept.map(0, 0x8000'0000, PageSize::Size1G), std::invalid_argument);
}

TEST(FlatEpt, NotPresentEntriesAreEptViolationsAtTheirLevel) {
  FlatVm vm(EptFormat::Flat2, withoutEptPsc());
  vm.guest->map(0x7000'0000'0000, 0x30'0000, PageSize::Size4K);    // level-1 entry absent
  vm.guest->map(0x7000'0000'1000, 0x4000'0000, PageSize::Size4K);  // level-2 entry absent
  const Response level1 = vm.mmu.translate(request(0x7000'0000'0010, Access::Write)).resp;
  EXPECT_EQ(level1.fault, Fault::EptViolation);
  EXPECT_EQ(level1.fault_level, 1u);
  EXPECT_EQ(level1.fault_addr, 0x30'0010u);
  EXPECT_EQ(level1.fault_guest_level, 0u);
  // Write, R/W/X over the entries read = 0 (the faulting one is 0), linear valid, final.
  EXPECT_EQ(level1.fault_info, eptq::Write | eptq::LinearValid | eptq::Final);
  EXPECT_TRUE(level1.vm_exit);
  const TranslateResult level2 = vm.mmu.translate(request(0x7000'0000'1010));
  EXPECT_EQ(level2.resp.fault, Fault::EptViolation);
  EXPECT_EQ(level2.resp.fault_level, 2u);
  EXPECT_EQ(level2.resp.fault_info, eptq::Read | eptq::LinearValid | eptq::Final);
  EXPECT_EQ(level2.ops.back(), nestedRead(kRoot + 8, 2));
  // A leaf that denies the access: bits 5:3 are the AND over both entries (R only).
  vm.ept.map(0x20'2000, 0x420'2000, PageSize::Size4K, ept::R);
  vm.guest->map(0x7000'0000'2000, 0x20'2000, PageSize::Size4K);
  const Response denied = vm.mmu.translate(request(0x7000'0000'2000, Access::Write)).resp;
  EXPECT_EQ(denied.fault, Fault::EptViolation);
  EXPECT_EQ(denied.fault_level, 1u);
  EXPECT_EQ(denied.fault_info, eptq::Write | eptq::Readable | eptq::LinearValid | eptq::Final);
}

TEST(FlatEpt, GpaBeyondTheReachFaultsWithoutAnEptRead) {
  // 1level reaches gPA < 1 GiB (§21.1): the final gPA 0x40000123 is an EPT violation at level 1
  // with no R/W/X to report, and no EPT entry is read for it.
  FlatVm vm(EptFormat::Flat1, withoutEptPsc());
  vm.guest->map(0x7000'0000'0000, 0x4000'0000, PageSize::Size4K);
  const TranslateResult r = vm.mmu.translate(request(0x7000'0000'0123, Access::Exec));
  EXPECT_EQ(r.resp.fault, Fault::EptViolation);
  EXPECT_EQ(r.resp.fault_level, 1u);
  EXPECT_EQ(r.resp.fault_addr, 0x4000'0123u);
  EXPECT_EQ(r.resp.fault_info, eptq::Fetch | eptq::LinearValid | eptq::Final);
  EXPECT_EQ(r.ops.back(), guestRead(vm.guest->hostEntryAddress(0x7000'0000'0000, 1).value(), 1));
  EXPECT_EQ(r.resp, vm.mmu.peek(request(0x7000'0000'0123, Access::Exec)));  // the reference walk agrees
  EXPECT_THROW(vm.ept.map(0x4000'0000, 0x8000'0000, PageSize::Size4K), std::invalid_argument);
}

TEST(FlatEpt, MisconfiguredEntries) {
  // A level-2 non-leaf entry whose level-1 table is not 2 MiB aligned (bit 12 set), met on the
  // CR3 row: EPT_MISCONFIG at level 2 for the guest root's entry, qualification 0.
  FlatVm vm(EptFormat::Flat2, withoutEptPsc());
  vm.mem.write64(kRoot, (kLevel1 + 0x1000) | 7);
  const TranslateResult r = vm.mmu.translate(request(kVa));
  EXPECT_EQ(r.resp.fault, Fault::EptMisconfig);
  EXPECT_EQ(r.resp.fault_level, 2u);
  EXPECT_EQ(r.resp.fault_info, 0u);
  EXPECT_EQ(r.resp.fault_addr, 0x1'0010u);  // CR3 + 8 x 2
  EXPECT_EQ(r.resp.fault_guest_level, 4u);
  EXPECT_EQ(r.ops, (std::vector<MemOp>{nestedRead(kRoot, 2)}));
  EXPECT_EQ(r.resp, vm.mmu.peek(request(kVa)));

  // A 2M leaf (LP at level 1) with bit 12 set is misconfigured; without LP the same bits are a
  // 4K frame.
  FlatVm flat1(EptFormat::Flat1, withoutEptPsc());
  flat1.ept.writeEntry(0x20'0000, 1, 0x420'1000 | 7 | ept::kMemTypeWB | ept::LP);
  const Response bad = flat1.mmu.translate(request(kVa)).resp;
  EXPECT_EQ(bad.fault, Fault::EptMisconfig);
  EXPECT_EQ(bad.fault_level, 1u);
  EXPECT_EQ(bad.fault_guest_level, 0u);
  EXPECT_EQ(bad, flat1.mmu.peek(request(kVa)));
  flat1.ept.writeEntry(0x20'0000, 1, 0x420'1000 | 7 | ept::kMemTypeWB);
  flat1.mmu.invAll();
  EXPECT_EQ(flat1.mmu.translate(request(kVa)).resp.hpa, 0x420'1123u);
}

TEST(FlatEpt, InvEptpRemovesTheFlattenedTablesCachedEntries) {
  FlatVm vm(EptFormat::Flat2, MmuConfig{});
  vm.mmu.translate(request(kVa));
  EXPECT_EQ(vm.mmu.eptPscValidEntries(2), 1u);
  EXPECT_GT(vm.mmu.ntlbValidEntries(), 0u);
  vm.mmu.invEptp(vm.ept.eptp());
  EXPECT_EQ(vm.mmu.eptPscValidEntries(2), 0u);
  EXPECT_EQ(vm.mmu.ntlbValidEntries(), 0u);
  EXPECT_EQ(vm.mmu.translate(request(kVa)).ops.size(), 10u);  // cold again
  // INV_VPID (and an EPTP rewrite's implicit flush) leaves the guest-physical mappings (§21.6).
  vm.mmu.invVpid(kVpid);
  EXPECT_EQ(vm.mmu.eptPscValidEntries(2), 1u);
  EXPECT_EQ(vm.mmu.translate(request(kVa)).ops.size(), 4u);  // guest reads, every row a nested-TLB hit
}

TEST(FlatEpt, RootTableIgnoresEptpBits20To12) {
  // §21.1: the root of a flattened table is at EPTP[P-1:21]; an EPTP with bits 20:12 set reads the
  // same entries (kRoot + 8 x index, not kRoot + 0x5000 + 8 x index), and the reference walk agrees.
  for (const EptFormat format : {EptFormat::Flat2, EptFormat::Flat1}) {
    SCOPED_TRACE(toString(format));
    FlatVm vm(format, withoutEptPsc());
    vm.mmu.writeReg(0, CtxReg::Eptp, vm.ept.eptp() | 0x5000);
    const TranslateResult r = vm.mmu.translate(request(kVa));
    EXPECT_EQ(r.ops, coldWalk(format == EptFormat::Flat2 ? flat2Row : flat1Row));
    EXPECT_EQ(r.resp.hpa, 0x420'0123u);
    EXPECT_EQ(r.resp, vm.mmu.peek(request(kVa)));
  }
}

TEST(FlatEpt, ReservedFormatCodeWalksAsRadix) {
  NestedVm radix;
  radix.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  radix.mmu.writeReg(0, CtxReg::Eptp, radix.ept.eptp() | (uint64_t{3} << 8));
  const TranslateResult r = radix.mmu.translate(request(kVa));
  EXPECT_EQ(r.ops.size(), 24u);
  EXPECT_EQ(r.resp.hpa, 0x420'0123u);
}

}  // namespace
}  // namespace vmmu::test
