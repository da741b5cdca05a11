// The TLB-hit fast path and what it relies on: the slot remembered for the last VPID (forgotten
// whenever a VPID register or a reset could move it), the canonical test it leaves to the full
// path, a 4K geometry other than the default one, the frame table of SparseMemory, and runs of hits
// answered in one call (translateHits).
#include <gtest/gtest.h>

#include <array>

#include "model_test_util.h"

namespace vmmu::test {
namespace {

// NATIVE tables A and B mapping kVaPage to different frames; slot 0 runs VPID 7 on A.
struct TwoTables {
  SparseMemory mem;
  FrameAllocator frames{0x10'0000, 0x20'0000};
  GuestPageTables a{mem, frames};
  GuestPageTables b{mem, frames};
  Mmu mmu{MmuConfig{}, mem};

  TwoTables() {
    a.map(kVaPage, 0xa000, PageSize::Size4K);
    b.map(kVaPage, 0xc000, PageSize::Size4K);
    setupContext(mmu, 0, {.vpid = 7, .cr3 = a.root()});
  }
  Response translate(uint16_t vpid = 7) { return mmu.translate(request(kVa, Access::Read, false, vpid)).resp; }
};

TEST(ContextMemory, AVpidMovedToAnotherSlotIsTranslatedThere) {
  TwoTables t;
  EXPECT_EQ(t.translate().hpa, 0xa123u);
  EXPECT_TRUE(t.translate().tlb_hit);
  t.mmu.writeReg(0, CtxReg::Vpid, (1u << 16) | 9);  // slot 0 now runs VPID 9
  setupContext(t.mmu, 1, {.vpid = 7, .cr3 = t.b.root()});
  const Response walked = t.translate();
  EXPECT_FALSE(walked.tlb_hit);
  EXPECT_EQ(walked.hpa, 0xc123u);  // slot 1's tables, not slot 0's
  const Response hit = t.translate();
  EXPECT_TRUE(hit.tlb_hit);
  EXPECT_EQ(hit.hpa, 0xc123u);
}

TEST(ContextMemory, ASlotMadeInvalidNoLongerTranslates) {
  TwoTables t;
  t.translate();
  EXPECT_TRUE(t.translate().tlb_hit);
  t.mmu.writeReg(0, CtxReg::Vpid, 7);  // VPID kept, valid bit cleared
  const Response r = t.translate();
  EXPECT_EQ(r.fault, Fault::NoContext);
  EXPECT_FALSE(r.tlb_hit);
  EXPECT_EQ(ctr(t.mmu, Counter::FaultNoContext), 1u);
}

TEST(ContextMemory, ResetForgetsTheSlot) {
  TwoTables t;
  t.translate();
  t.translate();
  t.mmu.reset();
  EXPECT_EQ(t.translate().fault, Fault::NoContext);
  EXPECT_EQ(ctr(t.mmu, Counter::Lookups), 1u);  // counted after the reset
}

TEST(ContextMemory, AnotherVpidAfterAHitIsLookedUp) {
  TwoTables t;
  setupContext(t.mmu, 2, {.vpid = 8, .cr3 = t.b.root()});
  t.translate(7);
  t.translate(8);
  EXPECT_EQ(t.translate(7).hpa, 0xa123u);
  EXPECT_EQ(t.translate(8).hpa, 0xc123u);
  EXPECT_TRUE(t.translate(8).tlb_hit);
  EXPECT_EQ(t.translate(5).fault, Fault::NoContext);
  EXPECT_EQ(ctr(t.mmu, Counter::TlbHits), 3u);
}

TEST(FastHit, ANonCanonicalAddressInACachedPageRaisesGp) {
  TwoTables t;
  t.translate();
  t.translate();
  // Bit 50 set, bit 47 clear: outside the 48-bit canonical halves, same low 48 bits as kVa.
  const Response r = t.mmu.translate(request(kVa | (uint64_t{1} << 50))).resp;
  EXPECT_EQ(r.fault, Fault::GuestGeneralProtection);
  EXPECT_EQ(r.fault_addr, kVa | (uint64_t{1} << 50));
  EXPECT_FALSE(r.tlb_hit);
  EXPECT_EQ(ctr(t.mmu, Counter::Lookups), 3u);
  EXPECT_EQ(ctr(t.mmu, Counter::TlbHits), 1u);
  EXPECT_EQ(ctr(t.mmu, Counter::FaultGuestGp), 1u);
}

TEST(FastHit, AnEntryThatDoesNotGrantTheRequestIsRefilledByAWalk) {
  SparseMemory mem;
  FrameAllocator frames{0x10'0000, 0x20'0000};
  GuestPageTables tables{mem, frames};
  tables.map(kVaPage, 0xa000, PageSize::Size4K, /*flags=*/0);  // read-only, supervisor
  Mmu mmu{MmuConfig{}, mem};
  setupContext(mmu, 0, {.cr3 = tables.root()});
  mmu.translate(request(kVa));
  EXPECT_TRUE(mmu.translate(request(kVa)).resp.tlb_hit);
  const TranslateResult user = mmu.translate(request(kVa, Access::Read, /*user=*/true));
  EXPECT_FALSE(user.resp.tlb_hit);
  EXPECT_EQ(user.resp.fault, Fault::GuestPageFault);
  EXPECT_EQ(user.resp.fault_info, pf::P | pf::U);
  EXPECT_EQ(user.ops.size(), 1u);  // dropped and walked: the PTE read (the PSC holds the rest)
  EXPECT_EQ(ctr(mmu, Counter::PermRefills), 1u);
  EXPECT_FALSE(mmu.translate(request(kVa)).resp.tlb_hit);  // dropped: the next read walks again
}

// A 4K array of 8 sets x 2 ways, not the default 16 x 4: the fast path reads the geometry at run
// time. VPNs v, v + 8 and v + 16 share a set.
TEST(FastHit, AnyGeometryHitsAndReplacesByThePlruBit) {
  SparseMemory mem;
  FrameAllocator frames{0x10'0000, 0x20'0000};
  GuestPageTables tables{mem, frames};
  for (uint64_t i = 0; i < 3; ++i)
    tables.map(kVaPage + i * 0x8000, 0xa000 + i * 0x1000, PageSize::Size4K);
  MmuConfig config;
  config.tlb[0] = {8, 2};
  config.stlb.sets = 0;  // the first level alone: an eviction from it walks again
  Mmu mmu{config, mem};
  setupContext(mmu, 0, {.cr3 = tables.root()});
  const auto hits = [&](uint64_t i) { return mmu.translate(request(kVa + i * 0x8000)).resp.tlb_hit; };
  EXPECT_FALSE(hits(0));  // fills way 0 (bit: victim way 1)
  EXPECT_FALSE(hits(1));  // fills way 1 (bit: victim way 0)
  EXPECT_TRUE(hits(0));   // touches way 0 (bit: victim way 1)
  EXPECT_FALSE(hits(2));  // replaces way 1, page 1
  EXPECT_TRUE(hits(0));
  EXPECT_FALSE(hits(1));
  EXPECT_EQ(mmu.translate(request(kVa + 0x8000)).resp.hpa, 0xb123u);
}

TEST(SparseMemoryTable, ThousandsOfPagesSurviveTheTableGrowing) {
  SparseMemory mem;
  // 5000 frames 4 MiB apart: the table starts at 1024 slots and doubles four times.
  const auto addr = [](uint64_t i) { return (i << 22) + 8 * (i % 512); };
  for (uint64_t i = 0; i < 5000; ++i)
    mem.write64(addr(i), i + 1);
  EXPECT_EQ(mem.pagesAllocated(), 5000u);
  for (uint64_t i = 0; i < 5000; ++i) {
    ASSERT_EQ(mem.read64(addr(i)), i + 1) << i;
    ASSERT_EQ(mem.peek64(addr(i)), i + 1) << i;
  }
  EXPECT_EQ(mem.read64((uint64_t{7} << 22) + 0x1000), 0u);  // a frame between two written ones
  EXPECT_EQ(mem.pagesAllocated(), 5000u);                    // reads do not allocate
  mem.clear();
  EXPECT_EQ(mem.read64(addr(4999)), 0u);
  mem.write64(addr(3), 9);
  EXPECT_EQ(mem.pagesAllocated(), 1u);
  EXPECT_EQ(mem.peek64(addr(3)), 9u);
}

}  // namespace
}  // namespace vmmu::test

namespace vmmu::test {
namespace {

// Mmu::translateHits(): a run answered as translate() answers TLB hits, up to the first request
// that is not a granted 4K hit, which is left untranslated.
TEST(TranslateHits, AnswersTheHitsAndStopsAtTheFirstOther) {
  TwoTables t;
  t.a.map(kVaPage + 0x1000, 0xb000, PageSize::Size4K);
  t.translate();                                                       // walks kVaPage
  t.mmu.translate(request(kVaPage + 0x1008, Access::Read, false, 7));  // walks the page after it
  const std::array<Request, 5> run{
      request(kVa, Access::Read, false, 7),
      request(kVa + 8, Access::Write, false, 7),  // the same page, another kind of access
      request(kVaPage + 0x1010, Access::Read, false, 7),
      request(kVa, Access::Read, false, 7),
      request(kVaPage + 0x2000, Access::Read, false, 7),  // not mapped: not a hit
  };
  TranslateResult result;
  EXPECT_EQ(t.mmu.translateHits(run.data(), run.size(), result), 4u);
  EXPECT_EQ(ctr(t.mmu, Counter::Lookups), 6u);  // two walks and four hits; the fifth not looked up
  EXPECT_EQ(ctr(t.mmu, Counter::TlbHits), 4u);
  EXPECT_EQ(ctr(t.mmu, Counter::TlbMisses), 2u);
  EXPECT_EQ(result.resp.hpa, 0xa123u);  // the last hit's answer
  EXPECT_TRUE(result.resp.tlb_hit);
  EXPECT_EQ(result.resp.fault, Fault::None);
  EXPECT_TRUE(result.ops.empty());
  EXPECT_FALSE(result.trace.walked);
}

// With `hpas`, each hit's host address, as its own translate() would answer it (the shim charges
// the data caches by it): frame 0xa000 for kVaPage, 0xb000 for the page after it.
TEST(TranslateHits, GivesEachHitsHostAddress) {
  TwoTables t;
  t.a.map(kVaPage + 0x1000, 0xb000, PageSize::Size4K);
  t.translate();
  t.mmu.translate(request(kVaPage + 0x1008, Access::Read, false, 7));
  const std::array<Request, 4> run{
      request(kVa, Access::Read, false, 7),
      request(kVa + 8, Access::Write, false, 7),
      request(kVaPage + 0x1010, Access::Read, false, 7),
      request(kVaPage + 0x2000, Access::Read, false, 7),  // not a hit: no address written
  };
  std::array<uint64_t, 4> hpas{0, 0, 0, 0x5555};
  TranslateResult result;
  EXPECT_EQ(t.mmu.translateHits(run.data(), run.size(), result, hpas.data()), 3u);
  EXPECT_EQ(hpas[0], 0xa123u);
  EXPECT_EQ(hpas[1], 0xa12bu);
  EXPECT_EQ(hpas[2], 0xb010u);
  EXPECT_EQ(hpas[3], 0x5555u);
  EXPECT_EQ(ctr(t.mmu, Counter::TlbHits), 3u);
}

TEST(TranslateHits, ARequestOfTheSamePageItDoesNotGrantEndsTheRun) {
  TwoTables t;
  t.translate();
  const std::array<Request, 3> run{
      request(kVa, Access::Read, false, 7),
      request(kVa + 16, Access::Read, /*user=*/true, 7),  // a supervisor page: not granted
      request(kVa, Access::Read, false, 7),
  };
  TranslateResult result;
  EXPECT_EQ(t.mmu.translateHits(run.data(), run.size(), result), 1u);
  EXPECT_EQ(ctr(t.mmu, Counter::TlbHits), 1u);
  EXPECT_EQ(ctr(t.mmu, Counter::Lookups), 2u);
  EXPECT_EQ(t.mmu.translate(run[1]).resp.fault, Fault::GuestPageFault);  // what translate() makes of it
}

TEST(TranslateHits, NothingTranslatedWhenTheFirstIsNotAHit) {
  TwoTables t;
  const Request first = request(kVa, Access::Read, false, 7);  // nothing cached yet
  TranslateResult result;
  EXPECT_EQ(t.mmu.translateHits(&first, 1, result), 0u);
  EXPECT_EQ(ctr(t.mmu, Counter::Lookups), 0u);
  EXPECT_EQ(t.mmu.tlbValidEntries(), 0u);
}

}  // namespace
}  // namespace vmmu::test
