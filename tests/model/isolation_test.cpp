// DIRECT isolation across control sequences (§3 implicit flushes, §8.3): whenever another slot
// becomes the slot in force for a VPID, no TLB or PSC entry made under the earlier slot's region
// is used. Each test warms the TLB and the PSC under slot A (DIRECT, region R1), makes slot B
// (DIRECT, region R2) the slot in force for the same VPID by one control sequence, and checks by
// hand-computed values that the next translation walks from the root, reads only inside R2 and
// answers inside R2.
#include <gtest/gtest.h>

#include "model_test_util.h"

namespace vmmu::test {
namespace {

constexpr uint64_t kSize = 0x4000'0000;                          // 1 GiB each
constexpr uint64_t kBaseA = 0x1'0000'0000, kBaseB = 0x2'0000'0000;  // R1, R2
constexpr uint64_t kValid = uint64_t{1} << 16;                     // VPID register valid bit
constexpr uint16_t kOther = 9;                                     // another VM's VPID

// The same guest layout in both regions (tables at gPA 0x10000 root, 0x11000, 0x12000,
// 0x13000, written at gPA + base); kVaPage maps gPA 0x200000 in R1's tables and gPA 0x300000 in
// R2's, so a stale entry shows in the result as well as in the addresses read.
struct TwoRegions {
  SparseMemory mem;
  FrameAllocator frames_a{0x1'0000, 0x2'0000}, frames_b{0x1'0000, 0x2'0000};
  GuestPageTables tables_a{mem, frames_a, 4, 46, [](uint64_t gpa) { return gpa + kBaseA; }};
  GuestPageTables tables_b{mem, frames_b, 4, 46, [](uint64_t gpa) { return gpa + kBaseB; }};
  Mmu mmu{MmuConfig{}, mem};

  TwoRegions() {
    tables_a.map(kVaPage, 0x20'0000, PageSize::Size4K);
    tables_b.map(kVaPage, 0x30'0000, PageSize::Size4K);
  }
  // A DIRECT slot over the region at `base`; the VPID register (with or without its valid
  // bit) is written first, so the other writes flush only `vpid_reg`'s VPID.
  void direct(unsigned slot, uint64_t vpid_reg, uint64_t base) {
    mmu.writeReg(slot, CtxReg::Vpid, vpid_reg);
    mmu.writeReg(slot, CtxReg::Mode, static_cast<uint64_t>(Mode::Direct));
    mmu.writeReg(slot, CtxReg::Cr3, 0x1'0000);
    mmu.writeReg(slot, CtxReg::GBase, base);
    mmu.writeReg(slot, CtxReg::GSize, kSize);
  }
  // Fills the TLB (kVaPage) and the PSC (levels 2-4 on the way to it) for kVpid.
  void warm(uint64_t base, uint64_t gpa) {
    const TranslateResult r = mmu.translate(request(kVa));
    ASSERT_EQ(r.resp.fault, Fault::None);
    ASSERT_EQ(r.resp.hpa, base + gpa + 0x123);
    ASSERT_TRUE(mmu.translate(request(kVa)).resp.tlb_hit);
    ASSERT_EQ(mmu.pscValidEntries(2), 1u);
  }
};

// A cold walk of kVa in region `base`: root index 2, then 3, 4, 5 (kVa), no A/D updates.
std::vector<MemOp> coldWalk(uint64_t base) {
  return {guestRead(base + 0x1'0010, 4), guestRead(base + 0x1'1018, 3),
          guestRead(base + 0x1'2020, 2), guestRead(base + 0x1'3028, 1)};
}

// The translation after the switch: no TLB hit, no PSC hit, R1 untouched, R2's mapping.
void expectServedByRegionB(TwoRegions &t) {
  const TranslateResult r = t.mmu.translate(request(kVa));
  EXPECT_EQ(r.resp.fault, Fault::None);
  EXPECT_FALSE(r.resp.tlb_hit) << "a TLB entry made under R1 was used";
  EXPECT_EQ(r.trace.psc_level, 0u) << "a PSC entry made under R1 was used";
  EXPECT_EQ(r.ops, coldWalk(kBaseB));
  EXPECT_EQ(r.resp.hpa, kBaseB + 0x30'0123);
  // And the entries it made are R2's.
  const TranslateResult again = t.mmu.translate(request(kVa));
  EXPECT_TRUE(again.resp.tlb_hit);
  EXPECT_EQ(again.resp.hpa, kBaseB + 0x30'0123);
}

TEST(Isolation, AnInvalidLowerSlotMadeValidTakesOverWithNothingCached) {
  TwoRegions t;
  t.direct(0, kVpid, kBaseB);           // B: slot 0, not valid
  t.direct(1, kValid | kVpid, kBaseA);  // A: slot 1, in force
  t.warm(kBaseA, 0x20'0000);
  t.mmu.writeReg(0, CtxReg::Vpid, kValid | kVpid);  // B in force now
  expectServedByRegionB(t);
}

TEST(Isolation, ALowerSlotRetaggedFromAnotherVmTakesOverWithNothingCached) {
  TwoRegions t;
  t.direct(0, kValid | kOther, kBaseB);  // B: slot 0, another VM's
  t.direct(1, kValid | kVpid, kBaseA);   // A: slot 1, in force for kVpid
  t.warm(kBaseA, 0x20'0000);
  t.mmu.writeReg(0, CtxReg::Vpid, kValid | kVpid);
  expectServedByRegionB(t);
}

TEST(Isolation, AHigherSlotTakesOverWhenTheLowerIsInvalidated) {
  TwoRegions t;
  t.direct(0, kValid | kVpid, kBaseA);  // A: slot 0, in force
  t.direct(1, kValid | kVpid, kBaseB);  // B: slot 1, shadowed by A
  t.warm(kBaseA, 0x20'0000);
  t.mmu.writeReg(0, CtxReg::Vpid, kVpid);  // A not valid: B in force
  expectServedByRegionB(t);
}

TEST(Isolation, AHigherSlotTakesOverWhenTheLowerIsRetagged) {
  TwoRegions t;
  t.direct(0, kValid | kVpid, kBaseA);
  t.direct(1, kValid | kVpid, kBaseB);
  t.warm(kBaseA, 0x20'0000);
  t.mmu.writeReg(0, CtxReg::Vpid, kValid | kOther);
  expectServedByRegionB(t);
  // A now serves the other VM: nothing of kVpid's R2 walk reaches it.
  const TranslateResult other = t.mmu.translate(request(kVa, Access::Read, false, kOther));
  EXPECT_FALSE(other.resp.tlb_hit);
  EXPECT_EQ(other.ops, coldWalk(kBaseA));
  EXPECT_EQ(other.resp.hpa, kBaseA + 0x20'0123);
}

// A round trip: slot 0 (R2) is invalidated, slot 1 (R1) serves and fills, slot 0 is made valid
// again. Under a rule that flushes only for a slot that was valid, R1's entries survived.
TEST(Isolation, ALowerSlotInvalidatedAndMadeValidAgainFindsNothingOfTheOther) {
  TwoRegions t;
  t.direct(0, kValid | kVpid, kBaseB);
  t.direct(1, kValid | kVpid, kBaseA);
  t.mmu.writeReg(0, CtxReg::Vpid, kVpid);  // slot 1 (R1) in force
  t.warm(kBaseA, 0x20'0000);
  t.mmu.writeReg(0, CtxReg::Vpid, kValid | kVpid);  // slot 0 (R2) back in force
  expectServedByRegionB(t);
}

// The register writes that flushed before still do, so the slot in force never keeps entries
// made under other values of its own MODE, GBASE, GSIZE or ESCAPE registers.
TEST(Isolation, MovingTheRegionOfTheSlotInForceFlushes) {
  TwoRegions t;
  t.direct(0, kValid | kVpid, kBaseA);
  t.warm(kBaseA, 0x20'0000);
  t.mmu.writeReg(0, CtxReg::GBase, kBaseB);
  expectServedByRegionB(t);
}

}  // namespace
}  // namespace vmmu::test
