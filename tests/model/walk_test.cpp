// Walks computed by hand (§5): the full ordered list of memory operations, the result and the
// counters, for every mode and page-size combination the spec names, and each cache-hit path.
//
// Layouts are fixed so every address below can be checked on paper:
//   VA 0x0000'0100'C080'5123 has indices L4=2, L3=3, L2=4, L1=5 and offset 0x123.
//   Host tables (native, EPT) come from frames 0x100'0000 up (or 0x10'0000 for native).
//   Guest tables come from gPA frames 0x1'0000 up: root 0x10000, then 0x11000, 0x12000, ...
#include <gtest/gtest.h>

#include "model_test_util.h"
#include "vmmu/page_tables.h"

namespace vmmu::test {
namespace {


// A MemoryTiming that charges reads and FETCH_ORs differently, to check WALK_CYCLES (§12).
class SplitLatency final : public MemoryTiming {
public:
  uint64_t cycles(const MemOp &op) override { return op.kind == MemOpKind::Read ? 3 : 5; }
};

// --- NATIVE -------------------------------------------------------------------------------

TEST(NativeWalk, Cold4KReadsFourEntriesInOrder) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables tables(mem, frames);  // root 0x100000; L3 0x101000, L2 0x102000, L1 0x103000
  tables.map(kVaPage, 0xabc000, PageSize::Size4K, pte::RW | pte::US);
  Mmu mmu(MmuConfig{}, mem);
  setupContext(mmu, 0, {.mode = Mode::Native, .cr3 = tables.root()});

  const TranslateResult r = mmu.translate(request(kVa));
  const std::vector<MemOp> expected = {guestRead(0x100010, 4), guestRead(0x101018, 3),
                                       guestRead(0x102020, 2), guestRead(0x103028, 1)};
  EXPECT_EQ(r.ops, expected);
  EXPECT_EQ(r.resp.fault, Fault::None);
  EXPECT_EQ(r.resp.hpa, 0xabc123u);
  EXPECT_EQ(r.resp.size, PageSize::Size4K);
  EXPECT_FALSE(r.resp.tlb_hit);
  EXPECT_TRUE(r.trace.walked);
  // START presenting the root read (§12: early; CR3 is a host address), 4 reads, DONE: in
  // NATIVE no address is translated, so there is no XLATE cycle.
  EXPECT_EQ(r.trace.walk_cycles, 2 + 4 * kDefaultMemOpCycles - 1);

  EXPECT_EQ(ctr(mmu, Counter::Lookups), 1u);
  EXPECT_EQ(ctr(mmu, Counter::TlbMisses), 1u);
  EXPECT_EQ(ctr(mmu, Counter::Walks), 1u);
  EXPECT_EQ(ctr(mmu, Counter::GuestReads), 4u);
  EXPECT_EQ(ctr(mmu, Counter::NestedReads), 0u);
  EXPECT_EQ(ctr(mmu, Counter::WalkCycles), 2 + 4 * kDefaultMemOpCycles - 1);
  EXPECT_EQ(mmu.tlbValidEntries(), 1u);
  EXPECT_EQ(mmu.pscValidEntries(2), 1u);
  EXPECT_EQ(mmu.pscValidEntries(3), 1u);
  EXPECT_EQ(mmu.pscValidEntries(4), 1u);

  // The same page again: a TLB hit with no memory operation.
  const TranslateResult hit = mmu.translate(request(kVaPage | 0xff8, Access::Write));
  EXPECT_TRUE(hit.ops.empty());
  EXPECT_TRUE(hit.resp.tlb_hit);
  EXPECT_FALSE(hit.trace.walked);
  EXPECT_EQ(hit.resp.hpa, 0xabcff8u);
  EXPECT_EQ(ctr(mmu, Counter::Lookups), 2u);
  EXPECT_EQ(ctr(mmu, Counter::TlbHits), 1u);
  EXPECT_EQ(ctr(mmu, Counter::TlbMisses), 1u);
  EXPECT_EQ(ctr(mmu, Counter::WalkCycles), 2 + 4 * kDefaultMemOpCycles - 1);
}

TEST(NativeWalk, WalkCyclesComeFromTheMemoryTiming) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables tables(mem, frames);
  tables.map(kVaPage, 0xabc000, PageSize::Size4K);
  SplitLatency timing;
  Mmu mmu(MmuConfig{}, mem, &timing);
  setupContext(mmu, 0, {.mode = Mode::Native, .cr3 = tables.root(), .guest_ad = true});
  // 4 reads (3 cycles) and 4 A updates (5 cycles), plus START (presenting the root read, §12:
  // early) and DONE.
  const TranslateResult r = mmu.translate(request(kVa));
  EXPECT_EQ(r.ops.size(), 8u);
  EXPECT_EQ(r.trace.walk_cycles, 2u + 4 * 3 + 4 * 5 - 1);
  EXPECT_EQ(ctr(mmu, Counter::WalkCycles), 2u + 4 * 3 + 4 * 5 - 1);
}

// §12 XLATE: one cycle for every address a SHADOW walk takes (CR3 after a PSC miss, each table
// pointer, the final address), none for one the walk never reaches. Reads cost 3 cycles
// (SplitLatency).
TEST(ShadowWalk, OneTranslationCycleForEveryAddressTheWalkTakes) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables tables(mem, frames);  // root 0x100000; L3 0x101000, L2 0x102000, L1 0x103000
  tables.map(kVaPage, 0xabc000, PageSize::Size4K);
  tables.map(kVaPage + 0x1000, 0xabd000, PageSize::Size4K);  // same L1 table
  SplitLatency timing;
  Mmu mmu(MmuConfig{}, mem, &timing);
  setupContext(mmu, 0, {.mode = Mode::Shadow, .cr3 = tables.root()});

  // Cold: CR3, the L3, L2 and L1 tables' pointers and the final gPA: 5 XLATE cycles.
  EXPECT_EQ(mmu.translate(request(kVa)).trace.walk_cycles, 2u + 5 + 4 * 3);
  // The PDE cache gives the L1 table's host address: only the final gPA is translated.
  const TranslateResult warm = mmu.translate(request(kVa + 0x1000));
  EXPECT_EQ(warm.trace.psc_level, 2u);
  EXPECT_EQ(warm.trace.walk_cycles, 2u + 1 + 3 - 1) << "its read presented in START (§12: early)";
  // A root entry not present: CR3 is translated, then the first read faults; nothing else.
  const uint64_t unmapped = kVa + (uint64_t{1} << 39);  // another L4 index, not present
  const TranslateResult fault = mmu.translate(request(unmapped));
  EXPECT_EQ(fault.resp.fault, Fault::GuestPageFault);
  EXPECT_EQ(fault.ops.size(), 1u);
  EXPECT_EQ(fault.trace.walk_cycles, 2u + 1 + 3);
  EXPECT_EQ(ctr(mmu, Counter::WalkCycles), (2u + 5 + 12) + (2u + 1 + 3 - 1) + (2u + 1 + 3));
}

// §12: the same walks in NATIVE take no XLATE cycle (every address is a host address, taken in
// the cycle of the read that yields it), and START presents the root read at CR3 as it presents
// the read below a PSC hit (early).
TEST(NativeWalk, NoTranslationCycleAndTheRootReadPresentedInStart) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables tables(mem, frames);
  tables.map(kVaPage, 0xabc000, PageSize::Size4K);
  tables.map(kVaPage + 0x1000, 0xabd000, PageSize::Size4K);
  SplitLatency timing;
  Mmu mmu(MmuConfig{}, mem, &timing);
  setupContext(mmu, 0, {.mode = Mode::Native, .cr3 = tables.root()});

  EXPECT_EQ(mmu.translate(request(kVa)).trace.walk_cycles, 2u + 4 * 3 - 1);  // 13
  const TranslateResult warm = mmu.translate(request(kVa + 0x1000));
  EXPECT_EQ(warm.trace.psc_level, 2u);
  EXPECT_EQ(warm.trace.walk_cycles, 2u + 3 - 1);  // START with the read, its 3 cycles, DONE
  const TranslateResult fault = mmu.translate(request(kVa + (uint64_t{1} << 39)));
  EXPECT_EQ(fault.resp.fault, Fault::GuestPageFault);
  EXPECT_EQ(fault.ops.size(), 1u);
  EXPECT_EQ(fault.trace.walk_cycles, 2u + 3 - 1);
  EXPECT_EQ(ctr(mmu, Counter::WalkCycles), 13u + 4 + 4);
}

TEST(NativeWalk, GuestAccessedAndDirtyUpdatesInSpecOrder) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables tables(mem, frames);
  tables.map(kVaPage, 0xabc000, PageSize::Size4K, pte::RW);
  Mmu mmu(MmuConfig{}, mem);
  setupContext(mmu, 0, {.mode = Mode::Native, .cr3 = tables.root(), .guest_ad = true});

  // Read: each non-leaf A right after its read; the leaf's A last, without D.
  const TranslateResult read = mmu.translate(request(kVa));
  const std::vector<MemOp> expected_read = {
      guestRead(0x100010, 4), guestOr(0x100010, pte::A, 4), guestRead(0x101018, 3),
      guestOr(0x101018, pte::A, 3),  guestRead(0x102020, 2), guestOr(0x102020, pte::A, 2),
      guestRead(0x103028, 1), guestOr(0x103028, pte::A, 1)};
  EXPECT_EQ(read.ops, expected_read);
  EXPECT_EQ(mem.peek64(0x103028), 0xabc000u | pte::P | pte::RW | pte::A);
  EXPECT_EQ(mem.peek64(0x100010) & pte::A, pte::A);
  EXPECT_EQ(ctr(mmu, Counter::GuestAdUpdates), 4u);

  // A write after the read: the entry is not dirty, so it is dropped and the walk sets A|D on
  // the leaf only (the upper A bits are already set).
  // The PDE cache entry filled by the read starts the walk at level 1.
  const TranslateResult write = mmu.translate(request(kVa, Access::Write));
  const std::vector<MemOp> expected_write = {guestRead(0x103028, 1),
                                             guestOr(0x103028, pte::A | pte::D, 1)};
  EXPECT_EQ(write.ops, expected_write);
  EXPECT_EQ(write.resp.hpa, 0xabc123u);
  EXPECT_EQ(ctr(mmu, Counter::PermRefills), 1u);
  EXPECT_EQ(ctr(mmu, Counter::TlbMisses), 2u);
  EXPECT_EQ(ctr(mmu, Counter::GuestAdUpdates), 5u);
  EXPECT_EQ(mem.peek64(0x103028) & (pte::A | pte::D), pte::A | pte::D);

  // Now dirty: a second write hits.
  const TranslateResult again = mmu.translate(request(kVa, Access::Write));
  EXPECT_TRUE(again.resp.tlb_hit);
  EXPECT_TRUE(again.ops.empty());
}

TEST(NativeWalk, NoAdUpdatesWhenGuestAdIsOff) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables tables(mem, frames);
  tables.map(kVaPage, 0xabc000, PageSize::Size4K, pte::RW);
  Mmu mmu(MmuConfig{}, mem);
  setupContext(mmu, 0, {.mode = Mode::Native, .cr3 = tables.root(), .guest_ad = false});
  const TranslateResult r = mmu.translate(request(kVa, Access::Write));
  EXPECT_EQ(r.ops.size(), 4u);
  EXPECT_EQ(mem.peek64(0x103028), 0xabc000u | pte::P | pte::RW);
  EXPECT_EQ(ctr(mmu, Counter::GuestAdUpdates), 0u);
  // With A/D off every entry is filled dirty: a write after a read hits.
  EXPECT_TRUE(mmu.translate(request(kVa, Access::Write)).resp.tlb_hit);
}

TEST(NativeWalk, FiveLevelWalkAndPml5eCacheHit) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables tables(mem, frames, 5);  // L5 0x100000, L4 0x101000, L3 0x102000, ...
  // VA indices: L5=1, L4=2, L3=3, L2=4, L1=5; the second page differs only in its L4 index.
  const uint64_t va = (1ull << 48) | kVaPage;
  const uint64_t other = va + (1ull << 39);
  tables.map(va, 0xa000, PageSize::Size4K);
  tables.map(other, 0xb000, PageSize::Size4K);  // new L3 0x105000, L2 0x106000, L1 0x107000
  MmuConfig config;
  config.guest_levels = 5;
  Mmu mmu(config, mem);
  setupContext(mmu, 0, {.cr3 = tables.root()});
  const TranslateResult first = mmu.translate(request(va | 0x10));
  EXPECT_EQ(first.ops, (std::vector<MemOp>{guestRead(0x100008, 5), guestRead(0x101010, 4),
                                           guestRead(0x102018, 3), guestRead(0x103020, 2),
                                           guestRead(0x104028, 1)}));
  EXPECT_EQ(first.resp.hpa, 0xa010u);
  const TranslateResult second = mmu.translate(request(other | 0x10));
  EXPECT_EQ(second.ops, (std::vector<MemOp>{guestRead(0x101018, 4), guestRead(0x105018, 3),
                                            guestRead(0x106020, 2), guestRead(0x107028, 1)}));
  EXPECT_EQ(second.resp.hpa, 0xb010u);
  EXPECT_EQ(second.trace.psc_level, 5u);
  EXPECT_EQ(ctr(mmu, Counter::PscHitsL5), 1u);
  EXPECT_EQ(ctr(mmu, Counter::GuestReads), 9u);
}

// --- NESTED -------------------------------------------------------------------------------

TEST(NestedWalk, Cold4KOn4KReads24EntriesInOrder) {
  NestedVm vm;
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K, pte::RW | pte::US);
  const TranslateResult r = vm.mmu.translate(request(kVa));
  const std::vector<MemOp> expected = concat({
      lowRow(0x10000), {guestRead(0x401'0010, 4)},
      lowRow(0x11000), {guestRead(0x401'1018, 3)},
      lowRow(0x12000), {guestRead(0x401'2020, 2)},
      lowRow(0x13000), {guestRead(0x401'3028, 1)},
      dataRow(0x20'0000),
  });
  ASSERT_EQ(expected.size(), 24u);
  EXPECT_EQ(r.ops, expected);
  EXPECT_EQ(r.resp.fault, Fault::None);
  EXPECT_EQ(r.resp.hpa, 0x420'0123u);
  EXPECT_EQ(r.resp.size, PageSize::Size4K);
  EXPECT_EQ(r.trace.ntlb_misses, 5u);
  EXPECT_EQ(r.trace.ntlb_hits, 0u);
  EXPECT_EQ(ctr(vm.mmu, Counter::GuestReads), 4u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NestedReads), 20u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NtlbMisses), 5u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NtlbHits), 0u);
  // START and DONE, an XLATE and an ANSWER cycle for each of the 5 gPAs (§12), 24 operations.
  // Five EPT walks, each first read presented in its ANSWER cycle (§12: early).
  EXPECT_EQ(ctr(vm.mmu, Counter::WalkCycles), 2 + 5 + 5 + 24 * kDefaultMemOpCycles - 5);
  EXPECT_EQ(vm.mmu.ntlbValidEntries(), 5u);
}

TEST(NestedWalk, Guest2MOnHost4KReads19AndSplintersTo4K) {
  NestedVm vm;
  const uint64_t va_2m = kVaPage & ~uint64_t{0x1f'ffff};
  vm.guest->map(va_2m, 0x20'0000, PageSize::Size2M, pte::RW);  // guest 2M at gPA 0x200000
  const TranslateResult r = vm.mmu.translate(request(va_2m | 0x3123));  // gPA 0x203123
  const std::vector<MemOp> expected = concat({
      lowRow(0x10000), {guestRead(0x401'0010, 4)},
      lowRow(0x11000), {guestRead(0x401'1018, 3)},
      lowRow(0x12000), {guestRead(0x401'2020, 2)},
      dataRow(0x20'3000),
  });
  ASSERT_EQ(expected.size(), 19u);
  EXPECT_EQ(r.ops, expected);
  EXPECT_EQ(r.resp.fault, Fault::None);
  EXPECT_EQ(r.resp.hpa, 0x420'3123u);
  EXPECT_EQ(r.resp.size, PageSize::Size4K);  // min(guest 2M, host 4K)
  EXPECT_EQ(vm.mmu.pscValidEntries(2), 0u);  // the PDE maps a page: not cached
  EXPECT_EQ(vm.mmu.pscValidEntries(3), 1u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NestedReads), 16u);
  EXPECT_EQ(ctr(vm.mmu, Counter::GuestReads), 3u);
}

TEST(NestedWalk, NestedAndGuestAccessedDirtyUpdatesInSpecOrder) {
  NestedVm vm(/*ept_ad=*/true, /*guest_ad=*/true);
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K, pte::RW);
  const TranslateResult r = vm.mmu.translate(request(kVa, Access::Write));
  constexpr uint64_t kA = ept::A;
  const std::vector<MemOp> expected = {
      // CR3 (gPA 0x10000): every EPT entry is fresh, so each read is followed by its A update;
      // a table pointer is not final, so its leaf gets A only.
      nestedRead(0x100'0000, 4), nestedOr(0x100'0000, kA, 4),
      nestedRead(0x100'1000, 3), nestedOr(0x100'1000, kA, 3),
      nestedRead(0x100'2000, 2), nestedOr(0x100'2000, kA, 2),
      nestedRead(0x100'3080, 1), nestedOr(0x100'3080, kA, 1),
      guestRead(0x401'0010, 4), guestOr(0x401'0010, pte::A, 4),
      // L3 pointer gPA 0x11000: upper EPT entries already accessed.
      nestedRead(0x100'0000, 4), nestedRead(0x100'1000, 3), nestedRead(0x100'2000, 2),
      nestedRead(0x100'3088, 1), nestedOr(0x100'3088, kA, 1),
      guestRead(0x401'1018, 3), guestOr(0x401'1018, pte::A, 3),
      nestedRead(0x100'0000, 4), nestedRead(0x100'1000, 3), nestedRead(0x100'2000, 2),
      nestedRead(0x100'3090, 1), nestedOr(0x100'3090, kA, 1),
      guestRead(0x401'2020, 2), guestOr(0x401'2020, pte::A, 2),
      nestedRead(0x100'0000, 4), nestedRead(0x100'1000, 3), nestedRead(0x100'2000, 2),
      nestedRead(0x100'3098, 1), nestedOr(0x100'3098, kA, 1),
      guestRead(0x401'3028, 1),  // the guest leaf's A/D waits for the final translation
      // Final gPA 0x200123, a write: the EPT leaf gets A|D.
      nestedRead(0x100'0000, 4), nestedRead(0x100'1000, 3),
      nestedRead(0x100'2008, 2), nestedOr(0x100'2008, kA, 2),
      nestedRead(0x100'4000, 1), nestedOr(0x100'4000, ept::A | ept::D, 1),
      guestOr(0x401'3028, pte::A | pte::D, 1),
  };
  EXPECT_EQ(r.ops, expected);
  EXPECT_EQ(r.resp.hpa, 0x420'0123u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NestedAdUpdates), 9u);
  EXPECT_EQ(ctr(vm.mmu, Counter::GuestAdUpdates), 4u);
  EXPECT_EQ(vm.mem.peek64(0x100'4000) & (ept::A | ept::D), ept::A | ept::D);
}

TEST(NestedWalk, EptDirtyNotSetByReadsAndWriteAfterReadRefills) {
  NestedVm vm(/*ept_ad=*/true, /*guest_ad=*/false);
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K, pte::RW);
  vm.mmu.translate(request(kVa));
  EXPECT_EQ(vm.mem.peek64(0x100'4000) & (ept::A | ept::D), ept::A);
  // The TLB entry is not dirty (EPT D clear): a write drops it and walks. The PDE cache starts
  // the walk at L1; the final nested-TLB entry is not dirty either, so it is dropped and the EPT
  // walk sets D on its leaf.
  const TranslateResult w = vm.mmu.translate(request(kVa, Access::Write));
  const std::vector<MemOp> expected = concat(
      {{guestRead(0x401'3028, 1)}, dataRow(0x20'0000), {nestedOr(0x100'4000, ept::A | ept::D, 1)}});
  EXPECT_EQ(w.ops, expected);
  EXPECT_EQ(ctr(vm.mmu, Counter::PermRefills), 1u);
  EXPECT_EQ(ctr(vm.mmu, Counter::PscHitsL2), 1u);
  EXPECT_EQ(w.trace.psc_level, 2u);
  EXPECT_EQ(vm.mem.peek64(0x100'4000) & ept::D, ept::D);
}

// Each cache-hit path and what it removes, on one NESTED VM with four pages:
//   kVa          -> gPA 0x200000 (L1 table gPA 0x13000)
//   kVa + 4K     -> gPA 0x201000 (same PDE: PSC L2 hit)
//   kVa + 2M     -> gPA 0x202000 (same PDPTE: PSC L3 hit; new L1 table gPA 0x14000)
//   kVa + 1G     -> gPA 0x203000 (same PML4E: PSC L4 hit; new L2 0x15000, L1 0x16000)
class NestedCacheHits : public ::testing::Test {
protected:
  void SetUp() override {
    vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K, pte::RW);
    vm.guest->map(kVaPage + 0x1000, 0x20'1000, PageSize::Size4K, pte::RW);
    vm.guest->map(kVaPage + 0x20'0000, 0x20'2000, PageSize::Size4K, pte::RW);
    vm.guest->map(kVaPage + 0x4000'0000, 0x20'3000, PageSize::Size4K, pte::RW);
    const TranslateResult first = vm.mmu.translate(request(kVa));
    ASSERT_EQ(first.ops.size(), 24u);
  }
  NestedVm vm;
};

TEST_F(NestedCacheHits, PdeCacheHitLeavesOneGuestReadAndTheFinalRow) {
  const TranslateResult r = vm.mmu.translate(request(kVa + 0x1000));
  EXPECT_EQ(r.ops, concat({{guestRead(0x401'3030, 1)}, dataRow(0x20'1000)}));
  EXPECT_EQ(r.resp.hpa, 0x420'1123u);
  EXPECT_EQ(r.trace.psc_level, 2u);
  EXPECT_EQ(ctr(vm.mmu, Counter::PscHitsL2), 1u);
  EXPECT_EQ(ctr(vm.mmu, Counter::PscHitsL3), 0u);
}

TEST_F(NestedCacheHits, PdpteCacheHitSkipsLevelsFourAndThree) {
  const TranslateResult r = vm.mmu.translate(request(kVa + 0x20'0000));
  EXPECT_EQ(r.ops, concat({{guestRead(0x401'2028, 2)}, lowRow(0x14000),
                           {guestRead(0x401'4028, 1)}, dataRow(0x20'2000)}));
  EXPECT_EQ(r.resp.hpa, 0x420'2123u);
  EXPECT_EQ(r.trace.psc_level, 3u);
  EXPECT_EQ(ctr(vm.mmu, Counter::PscHitsL3), 1u);
}

TEST_F(NestedCacheHits, Pml4eCacheHitSkipsLevelFour) {
  const TranslateResult r = vm.mmu.translate(request(kVa + 0x4000'0000));
  EXPECT_EQ(r.ops, concat({{guestRead(0x401'1020, 3)}, lowRow(0x15000),
                           {guestRead(0x401'5020, 2)}, lowRow(0x16000),
                           {guestRead(0x401'6028, 1)}, dataRow(0x20'3000)}));
  EXPECT_EQ(r.resp.hpa, 0x420'3123u);
  EXPECT_EQ(r.trace.psc_level, 4u);
  EXPECT_EQ(ctr(vm.mmu, Counter::PscHitsL4), 1u);
}

TEST_F(NestedCacheHits, NestedTlbHitsRemoveEveryEptRow) {
  // INV_ADDR drops the TLB and PSC entries of kVa but not the nested TLB (§11): the walk again
  // reads the four guest entries, and every gPA it translates hits the nested TLB.
  vm.mmu.invAddr(kVpid, kVa);
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 0u);
  const TranslateResult r = vm.mmu.translate(request(kVa));
  EXPECT_EQ(r.ops, (std::vector<MemOp>{guestRead(0x401'0010, 4), guestRead(0x401'1018, 3),
                                       guestRead(0x401'2020, 2), guestRead(0x401'3028, 1)}));
  EXPECT_EQ(r.resp.hpa, 0x420'0123u);
  EXPECT_EQ(r.trace.ntlb_hits, 5u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NtlbHits), 5u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NtlbMisses), 5u);
}

// Guest 4K pages on host 2M and 1G pages: after the first nested walk, every gPA in the same
// EPT page hits the nested TLB.
struct LargeEptVm {
  SparseMemory mem;
  FrameAllocator host_frames{0x100'0000, 0x200'0000};
  FrameAllocator guest_frames{0x1'0000, 0x2'0000};
  EptTables ept{mem, host_frames};  // root 0x1000000, L3 0x1001000, L2 0x1002000
  std::optional<GuestPageTables> guest;
  Mmu mmu{MmuConfig{}, mem};

  explicit LargeEptVm(PageSize host_size) {
    if (host_size == PageSize::Size2M) {
      ept.map(0, 0x4000'0000, PageSize::Size2M);
      ept.map(0x20'0000, 0x4020'0000, PageSize::Size2M);
    } else {
      ept.map(0, 0x4000'0000, PageSize::Size1G);
    }
    guest.emplace(mem, guest_frames, 4, 46, ept.hostMap());
    guest->map(kVaPage, 0x20'0000, PageSize::Size4K, pte::RW);
    setupContext(mmu, 0, {.mode = Mode::Nested, .cr3 = guest->root(), .eptp = ept.eptp()});
  }
};

TEST(NestedWalk, Guest4KOnHost2M) {
  LargeEptVm vm(PageSize::Size2M);
  const TranslateResult r = vm.mmu.translate(request(kVa));
  const std::vector<MemOp> expected = {
      nestedRead(0x100'0000, 4), nestedRead(0x100'1000, 3), nestedRead(0x100'2000, 2),
      guestRead(0x4001'0010, 4), guestRead(0x4001'1018, 3), guestRead(0x4001'2020, 2),
      guestRead(0x4001'3028, 1),
      // The final gPA's 2M page misses the nested TLB; the EPT PDPTE cache (§10.3), filled by
      // the CR3 row, skips EPT levels 4 and 3. (The 2M EPT leaf itself is never cached there.)
      nestedRead(0x100'2008, 2)};
  EXPECT_EQ(r.ops, expected);
  EXPECT_EQ(r.resp.hpa, 0x4020'0123u);
  EXPECT_EQ(r.resp.size, PageSize::Size4K);
  EXPECT_EQ(ctr(vm.mmu, Counter::NtlbHits), 3u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NtlbMisses), 2u);
  EXPECT_EQ(ctr(vm.mmu, Counter::EptPscHitsL3), 1u);
}

TEST(NestedWalk, Guest4KOnHost1G) {
  LargeEptVm vm(PageSize::Size1G);
  const TranslateResult r = vm.mmu.translate(request(kVa));
  const std::vector<MemOp> expected = {
      nestedRead(0x100'0000, 4), nestedRead(0x100'1000, 3),
      guestRead(0x4001'0010, 4), guestRead(0x4001'1018, 3), guestRead(0x4001'2020, 2),
      guestRead(0x4001'3028, 1)};
  EXPECT_EQ(r.ops, expected);
  EXPECT_EQ(r.resp.hpa, 0x4020'0123u);
  EXPECT_EQ(r.resp.size, PageSize::Size4K);
  EXPECT_EQ(ctr(vm.mmu, Counter::NtlbHits), 4u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NtlbMisses), 1u);
}

// --- SHADOW and DIRECT --------------------------------------------------------------------

TEST(ShadowWalk, SameFourReadsAsNative) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables shadow(mem, frames);
  shadow.map(kVaPage, 0xabc000, PageSize::Size4K);
  Mmu mmu(MmuConfig{}, mem);
  setupContext(mmu, 0, {.mode = Mode::Shadow, .cr3 = shadow.root()});
  const TranslateResult r = mmu.translate(request(kVa));
  EXPECT_EQ(r.ops, (std::vector<MemOp>{guestRead(0x100010, 4), guestRead(0x101018, 3),
                                       guestRead(0x102020, 2), guestRead(0x103028, 1)}));
  EXPECT_EQ(r.resp.hpa, 0xabc123u);
}

TEST(DirectWalk, FourReadsAtGuestPhysicalPlusBase) {
  SparseMemory mem;
  constexpr uint64_t kGBase = 0x8000'0000;  // 1G aligned
  FrameAllocator guest_frames(0x1'0000, 0x2'0000);
  GuestPageTables guest(mem, guest_frames, 4, 46, [](uint64_t gpa) { return gpa + kGBase; });
  guest.map(kVaPage, 0x20'0000, PageSize::Size4K);
  Mmu mmu(MmuConfig{}, mem);
  setupContext(mmu, 0, {.mode = Mode::Direct, .cr3 = guest.root(), .gbase = kGBase,
                        .gsize = 0x4000'0000});
  const TranslateResult r = mmu.translate(request(kVa));
  EXPECT_EQ(r.ops, (std::vector<MemOp>{guestRead(0x8001'0010, 4), guestRead(0x8001'1018, 3),
                                       guestRead(0x8001'2020, 2), guestRead(0x8001'3028, 1)}));
  EXPECT_EQ(r.resp.fault, Fault::None);
  EXPECT_EQ(r.resp.hpa, 0x8020'0123u);
  EXPECT_EQ(r.resp.size, PageSize::Size4K);
  EXPECT_EQ(ctr(mmu, Counter::NestedReads), 0u);
  EXPECT_EQ(ctr(mmu, Counter::Escapes), 0u);
}

TEST(DirectWalk, Guest2MPageKeeps2MWhenBaseIs2MAligned) {
  SparseMemory mem;
  constexpr uint64_t kGBase = 0x8020'0000;  // 2M but not 1G aligned
  FrameAllocator guest_frames(0x1'0000, 0x2'0000);
  GuestPageTables guest(mem, guest_frames, 4, 46, [](uint64_t gpa) { return gpa + kGBase; });
  const uint64_t va_2m = kVaPage & ~uint64_t{0x1f'ffff};
  guest.map(va_2m, 0x20'0000, PageSize::Size2M);
  Mmu mmu(MmuConfig{}, mem);
  setupContext(mmu, 0, {.mode = Mode::Direct, .cr3 = guest.root(), .gbase = kGBase,
                        .gsize = 0x4000'0000});
  const TranslateResult r = mmu.translate(request(va_2m | 0x1'2345));
  EXPECT_EQ(r.ops.size(), 3u);
  EXPECT_EQ(r.resp.hpa, 0x8040'0000u + 0x1'2345);
  EXPECT_EQ(r.resp.size, PageSize::Size2M);

  // With a base aligned only to 4K the same page is splintered into 4K entries.
  Mmu mmu4k(MmuConfig{}, mem);
  FrameAllocator frames2(0x2'0000, 0x3'0000);
  GuestPageTables guest2(mem, frames2, 4, 46, [](uint64_t gpa) { return gpa + 0x8020'1000; });
  guest2.map(va_2m, 0x20'0000, PageSize::Size2M);
  setupContext(mmu4k, 0, {.mode = Mode::Direct, .cr3 = guest2.root(), .gbase = 0x8020'1000,
                          .gsize = 0x4000'0000});
  const TranslateResult r4k = mmu4k.translate(request(va_2m | 0x1'2345));
  EXPECT_EQ(r4k.resp.hpa, 0x8040'1000u + 0x1'2345);
  EXPECT_EQ(r4k.resp.size, PageSize::Size4K);
}

}  // namespace
}  // namespace vmmu::test
