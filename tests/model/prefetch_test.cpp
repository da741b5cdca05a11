// Mmu::prefetch(): which host line the hint asks for, found from the paging-structure caches,
// the nested TLB as they are and the EPT, and that it changes nothing the model or the memory shows; and
// SparseMemory's two hints, which allocate nothing.
#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <vector>

#include "model_test_util.h"

namespace vmmu::test {
namespace {

// SparseMemory seen through a log of the hints the model gives it and a count of its accesses.
class HintLog final : public PhysicalMemory {
public:
  explicit HintLog(SparseMemory &memory) : memory_(memory) {}
  uint64_t read64(uint64_t addr) override {
    ++accesses;
    return memory_.read64(addr);
  }
  void write64(uint64_t addr, uint64_t value) override {
    ++accesses;
    memory_.write64(addr, value);
  }
  uint64_t fetchOr64(uint64_t addr, uint64_t mask) override {
    ++accesses;
    return memory_.fetchOr64(addr, mask);
  }
  bool peekHint(uint64_t addr, uint64_t &value) const override {
    peeked.push_back(addr);
    return memory_.peekHint(addr, value);
  }
  void prefetchHint(uint64_t addr) const override { prefetched.push_back(addr); }

  uint64_t accesses = 0;
  mutable std::vector<uint64_t> peeked;
  mutable std::vector<uint64_t> prefetched;

private:
  SparseMemory &memory_;
};

// A NESTED VM whose EPT maps gPA [0, 4M) to hPA gPA + 0x400'0000 in two 2M pages, so that one
// nested TLB entry covers every guest table. Guest tables: root gPA 0x10000, L3 0x11000, L2
// 0x12000; kVa's L1 table 0x13000 (L2 index 4), and kVa + 2M's 0x14000 (L2 index 5). kVa and
// kVa + 0x1000 map data pages in the same L1 table (indices 5 and 6), kVa + 2M one in 0x14000.
struct HintedVm {
  static constexpr uint64_t k2M = 0x20'0000;
  SparseMemory mem;
  HintLog log{mem};
  FrameAllocator host_frames{0x100'0000, 0x200'0000};
  FrameAllocator guest_frames{0x1'0000, 0x2'0000};
  EptTables ept{mem, host_frames};
  std::optional<GuestPageTables> guest;
  Mmu mmu{MmuConfig{}, log};

  explicit HintedVm(Mode mode = Mode::Nested) {
    ept.map(0, 0x400'0000, PageSize::Size2M);
    ept.map(k2M, 0x420'0000, PageSize::Size2M);
    guest.emplace(mem, guest_frames, 4, 46, ept.hostMap());
    guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
    guest->map(kVaPage + 0x1000, 0x20'1000, PageSize::Size4K);
    guest->map(kVaPage + k2M, 0x20'2000, PageSize::Size4K);
    setupContext(mmu, 0, {.mode = mode, .cr3 = guest->root(), .eptp = ept.eptp()});
  }
};

TEST(Prefetch, APageStructureCacheHitAtLevel2GivesTheLevel1TableDirectly) {
  HintedVm vm;
  vm.mmu.translate(request(kVa));  // fills the PSCs: L2 entry -> host 0x4013000
  vm.mmu.prefetch(request(kVa + 0x1000));
  EXPECT_TRUE(vm.log.peeked.empty());
  EXPECT_EQ(vm.log.prefetched, std::vector<uint64_t>{0x401'3000 + 8 * 6});
}

TEST(Prefetch, ARegionWalkedBeforeIsHintedFromWhereItsWalkFoundTheLevel1Table) {
  // INV_VPID empties the TLBs and PSCs, so nothing locates kVa's level-1 table any more: the hint
  // comes from the table the walk of kVa read (host 0x4013000), with no entry read, and only for
  // that region, VPID and PCID.
  HintedVm vm;
  vm.mmu.translate(request(kVa));
  vm.mmu.invVpid(kVpid);
  ASSERT_EQ(vm.mmu.pscValidEntries(2), 0u);
  vm.mmu.prefetch(request(kVa + 0x1000));
  vm.mmu.prefetch(request(kVa + HintedVm::k2M));                           // another region
  vm.mmu.prefetch(request(kVa + 0x1000, Access::Read, false, kVpid, /*pcid=*/3));  // another PCID
  EXPECT_TRUE(vm.log.peeked.empty());
  EXPECT_EQ(vm.log.prefetched, std::vector<uint64_t>{0x401'3000 + 8 * 6});
}

TEST(Prefetch, AHitAtLevel3ReadsTheLevel2EntryAndTranslatesItThroughTheNestedTlb) {
  HintedVm vm;
  vm.mmu.translate(request(kVa));  // L3 entry -> host 0x4012000; nested TLB: gPA [0, 2M)
  vm.mmu.prefetch(request(kVa + HintedVm::k2M));
  EXPECT_EQ(vm.log.peeked, std::vector<uint64_t>{0x401'2000 + 8 * 5});
  EXPECT_EQ(vm.log.prefetched, std::vector<uint64_t>{0x401'4000 + 8 * 5});
}

TEST(Prefetch, ANestedTlbMissIsAnsweredByReadingTheEpt) {
  // kVa + 2M's level-1 table moved to gPA 4M, which the EPT maps to host 0x440'0000 but no
  // nested TLB entry holds after the walk of kVa (gPA [0, 2M) and [2M, 4M) only): the hint reads
  // the EPT's level-2 entry for it (from the EPT PSC's level-3 entry) and prefetches index 5 there.
  HintedVm vm;
  vm.ept.map(2 * HintedVm::k2M, 0x440'0000, PageSize::Size2M);
  const uint64_t l2_entry = 0x401'2000 + 8 * 5;
  const uint64_t entry = vm.mem.read64(l2_entry);
  vm.mem.write64(0x440'0000 + 8 * 5, vm.mem.read64(0x401'4000 + 8 * 5));
  vm.mem.write64(l2_entry, (entry & ~0x000f'ffff'ffff'f000ull) | 2 * HintedVm::k2M);
  vm.mmu.translate(request(kVa));
  ASSERT_EQ(vm.mmu.ntlbValidEntries(), 2u);
  vm.mmu.prefetch(request(kVa + HintedVm::k2M));
  ASSERT_EQ(vm.log.peeked.size(), 2u);  // the guest's level-2 entry, then the EPT's
  EXPECT_EQ(vm.log.peeked[0], l2_entry);
  EXPECT_EQ(vm.log.prefetched, std::vector<uint64_t>{0x440'0000 + 8 * 5});
  // And the walk the hint was for reaches the moved table.
  const TranslateResult walked = vm.mmu.translate(request(kVa + HintedVm::k2M));
  EXPECT_EQ(walked.resp.fault, Fault::None);
  EXPECT_EQ(walked.resp.hpa, 0x420'2000 + (kVa & 0xfff));
}

TEST(Prefetch, ChangesNoCacheCounterOrMemoryWordNorTheNextWalk) {
  HintedVm hinted;
  HintedVm plain;
  hinted.mmu.translate(request(kVa));
  plain.mmu.translate(request(kVa));
  const std::array<uint64_t, kNumCounters> counters = hinted.mmu.counters();
  const uint64_t accesses = hinted.log.accesses;
  const size_t pages = hinted.mem.pagesAllocated();
  hinted.mmu.prefetch(request(kVa + HintedVm::k2M));
  hinted.mmu.prefetch(request(kVa + 0x1000, Access::Write, true));
  EXPECT_EQ(hinted.log.prefetched.size(), 2u);
  EXPECT_EQ(hinted.mmu.counters(), counters);
  EXPECT_EQ(hinted.log.accesses, accesses);
  EXPECT_EQ(hinted.mem.pagesAllocated(), pages);
  EXPECT_EQ(hinted.mmu.tlbValidEntries(), 1u);
  EXPECT_EQ(hinted.mmu.pscValidEntries(2), 1u);
  EXPECT_EQ(hinted.mmu.ntlbValidEntries(), 2u);  // gPA [0, 2M) and the data page's [2M, 4M)
  // The hinted walk is the plain one, operation for operation (PLRU bits included: the fills of
  // the next walks land in the same ways).
  for (const uint64_t va : {kVa + HintedVm::k2M, kVa + 0x1000, kVa}) {
    const TranslateResult a = hinted.mmu.translate(request(va));
    const TranslateResult b = plain.mmu.translate(request(va));
    EXPECT_EQ(a.resp, b.resp);
    EXPECT_EQ(a.ops, b.ops);
  }
  EXPECT_EQ(hinted.mmu.counters(), plain.mmu.counters());
}

TEST(Prefetch, DoesNothingWithoutAnEntryToStartFromOrATableToGoTo) {
  HintedVm vm;
  vm.mmu.prefetch(request(kVa));  // no context found yet, no PSC entry
  vm.mmu.translate(request(kVa));
  vm.mmu.prefetch(request(kVa, Access::Read, false, /*vpid=*/8));  // another VM
  vm.mmu.prefetch(request(kVa, Access::Read, false, kVpid, /*pcid=*/3));  // another address space
  vm.mmu.prefetch(request(kVa + 2 * HintedVm::k2M));  // L2 index 6: not present
  EXPECT_EQ(vm.log.peeked, std::vector<uint64_t>{0x401'2000 + 8 * 6});
  EXPECT_TRUE(vm.log.prefetched.empty());
}

TEST(Prefetch, NativeTablesNeedNoNestedTranslation) {
  // The same tables read as NATIVE: table addresses are host addresses, so the L3 hit's next table
  // is at 0x12000 and the level-2 entry names L1 table 0x14000 directly.
  HintedVm vm(Mode::Native);
  vm.guest.emplace(vm.mem, vm.guest_frames);  // identity tables: root 0x15000, L3 0x16000, ...
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  vm.guest->map(kVaPage + HintedVm::k2M, 0x20'2000, PageSize::Size4K);
  vm.mmu.writeReg(0, CtxReg::Cr3, vm.guest->root());
  vm.mmu.translate(request(kVa));
  vm.mmu.prefetch(request(kVa + HintedVm::k2M));
  EXPECT_EQ(vm.log.peeked, std::vector<uint64_t>{0x1'7000 + 8 * 5});
  EXPECT_EQ(vm.log.prefetched, std::vector<uint64_t>{0x1'9000 + 8 * 5});
}

TEST(SparseMemoryHints, PeekReadsWithoutAllocatingAndPrefetchAllocatesNothing) {
  SparseMemory mem;
  mem.write64(0x5008, 42);
  uint64_t value = 1;
  EXPECT_TRUE(mem.peekHint(0x5008, value));
  EXPECT_EQ(value, 42u);
  EXPECT_TRUE(mem.peekHint(0x9000, value));  // never written: reads zero
  EXPECT_EQ(value, 0u);
  mem.prefetchHint(0x5008);
  mem.prefetchHint(0xa000);
  EXPECT_EQ(mem.pagesAllocated(), 1u);
}

}  // namespace
}  // namespace vmmu::test
