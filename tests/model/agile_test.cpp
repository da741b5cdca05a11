// AGILE (§20): a walk that starts in the shadow tables and switches once to the nested walk of the
// guest's tables. Exact reference lists, counts and cycles per switch level (none, 1, 2, 3, the
// root), faults above and below the switch, the switch bit's scope, PSC resumption and the
// invalidations. Every expected value is worked out by hand in the comments from the tables each
// test builds.
#include <gtest/gtest.h>

#include "model_test_util.h"

namespace vmmu::test {
namespace {

// The guest maps kVa (indices L4=2, L3=3, L2=4, L1=5) to gPA 0x201000 (EPT: hPA 0x4201000) and
// kVa + 0x1000 to gPA 0x202000; its tables are at gPA 0x10000 (L4), 0x11000 (L3), 0x12000 (L2),
// 0x13000 (L1), host 0x4010000 .. 0x4013000 (NestedVm's EPT adds 0x4000000).
constexpr uint64_t kDataGpa = 0x20'1000, kNextGpa = 0x20'2000, kHostOffset = 0x400'0000;
constexpr uint64_t kGuestL4 = 0x1'0000, kGuestL3 = 0x1'1000, kGuestL2 = 0x1'2000, kGuestL1 = 0x1'3000;
// The VMM's shadow tables of the same VAs, straight to the host pages, at host 0x3000000 (L4),
// 0x3001000 (L3), 0x3002000 (L2), 0x3003000 (L1).
constexpr uint64_t kShadowL4 = 0x300'0000, kShadowL3 = 0x300'1000, kShadowL2 = 0x300'2000, kShadowL1 = 0x300'3000;
constexpr uint64_t kTableFlags = pte::P | pte::RW | pte::US;

struct AgileVm : NestedVm {
  FrameAllocator shadow_frames{kShadowL4, kShadowL4 + 0x10'0000};
  GuestPageTables shadow{mem, shadow_frames, 4, 46};

  explicit AgileVm(bool guest_ad = false, const MmuConfig &config = withoutEptPsc()) : NestedVm(false, guest_ad, config) {
    guest->map(kVaPage, kDataGpa, PageSize::Size4K, pte::RW | pte::US);
    guest->map(kVaPage + 0x1000, kNextGpa, PageSize::Size4K, pte::RW | pte::US);
    shadow.map(kVaPage, kHostOffset + kDataGpa, PageSize::Size4K, pte::RW | pte::US);
    shadow.map(kVaPage + 0x1000, kHostOffset + kNextGpa, PageSize::Size4K, pte::RW | pte::US);
    mmu.writeReg(0, CtxReg::Mode, static_cast<uint64_t>(Mode::Agile));
    mmu.writeReg(0, CtxReg::Cr3, shadow.root());
  }

  // The switch for the levels from `level` down: the switch bit in the shadow entry of level
  // `level + 1`, holding the host address of the guest's level-`level` table; `level` = 4 sets
  // GCR3's root switch instead.
  void switchAt(unsigned level) {
    if (level == 4) {
      mmu.writeReg(0, CtxReg::Gcr3, guest->root() | agile::RootNested);
      return;
    }
    const uint64_t guest_table[] = {0, kGuestL1, kGuestL2, kGuestL3};
    shadow.writeEntry(kVa, level + 1, (kHostOffset + guest_table[level]) | kTableFlags | agile::Switch);
  }
};

// The EPT row of a gPA below 2M (guest tables) and of the data gPAs in [2M, 4M).
std::vector<MemOp> tableRow(uint64_t gpa) { return lowRow(gpa); }

std::vector<MemOp> shadowReads(unsigned count) {
  const std::vector<MemOp> all = {guestRead(kShadowL4 + 8 * 2, 4), guestRead(kShadowL3 + 8 * 3, 3),
                                  guestRead(kShadowL2 + 8 * 4, 2), guestRead(kShadowL1 + 8 * 5, 1)};
  return std::vector<MemOp>(all.begin(), all.begin() + count);
}
MemOp guestEntry(uint64_t table_gpa, unsigned level) {
  const unsigned index[] = {0, 5, 4, 3, 2};
  return guestRead(kHostOffset + table_gpa + 8 * index[level], level);
}

struct Expected {
  unsigned switch_level;
  std::vector<MemOp> ops;
  unsigned answers;  // gPAs translated through the EPT (§12's a)
};

// §20.2's table: 4, 8, 12, 16, 24 references cold (no EPT PSC); x = 5 XLATE cycles each.
TEST(Agile, ColdWalkPerSwitchLevel) {
  const std::vector<Expected> cases = {
      {0, shadowReads(4), 0},
      {1, concat({shadowReads(3), {guestEntry(kGuestL1, 1)}, dataRow(kDataGpa)}), 1},
      {2, concat({shadowReads(2), {guestEntry(kGuestL2, 2)}, tableRow(kGuestL1), {guestEntry(kGuestL1, 1)},
                  dataRow(kDataGpa)}),
       2},
      {3, concat({shadowReads(1), {guestEntry(kGuestL3, 3)}, tableRow(kGuestL2), {guestEntry(kGuestL2, 2)},
                  tableRow(kGuestL1), {guestEntry(kGuestL1, 1)}, dataRow(kDataGpa)}),
       3},
      {4, concat({tableRow(kGuestL4), {guestEntry(kGuestL4, 4)}, tableRow(kGuestL3), {guestEntry(kGuestL3, 3)},
                  tableRow(kGuestL2), {guestEntry(kGuestL2, 2)}, tableRow(kGuestL1), {guestEntry(kGuestL1, 1)},
                  dataRow(kDataGpa)}),
       5},
  };
  const unsigned expected_refs[] = {4, 8, 12, 16, 24};
  for (const Expected &c : cases) {
    SCOPED_TRACE("switch level " + std::to_string(c.switch_level));
    AgileVm vm;
    if (c.switch_level != 0)
      vm.switchAt(c.switch_level);
    const TranslateResult r = vm.mmu.translate(request(kVa, Access::Write, true));
    EXPECT_EQ(r.resp.fault, Fault::None);
    EXPECT_EQ(r.resp.hpa, kHostOffset + kDataGpa + 0x123);
    EXPECT_EQ(r.resp.size, PageSize::Size4K);
    EXPECT_EQ(r.ops, c.ops);
    EXPECT_EQ(r.ops.size(), expected_refs[c.switch_level]);
    EXPECT_EQ(r.trace.agile_switch_level, c.switch_level);
    // §20.6: cold, every ANSWER presents its EPT walk's first read (§12: early).
    EXPECT_EQ(r.trace.walk_cycles, 2 + 5 + r.ops.size() * kDefaultMemOpCycles);
    EXPECT_EQ(ctr(vm.mmu, Counter::GuestReads), 4u);  // shadow and guest entries alike (§20.2)
    EXPECT_EQ(ctr(vm.mmu, Counter::NestedReads), r.ops.size() - 4);
    EXPECT_EQ(ctr(vm.mmu, Counter::NtlbMisses), c.answers);
    // The reference walk agrees (Mmu::peek is it).
    EXPECT_EQ(vm.mmu.peek(request(kVa, Access::Write, true)).hpa, r.resp.hpa);
  }
}

TEST(Agile, SwitchBitCountsOnlyInNonLeafShadowEntries) {
  // In a guest table below the switch bit 11 is the guest's own: a switch at level 3 and bit 11 in
  // the guest's PDE still walk 16 references.
  AgileVm below;
  below.switchAt(3);
  below.guest->writeEntry(kVa, 2, below.guest->readEntry(kVa, 2) | agile::Switch);
  EXPECT_EQ(below.mmu.translate(request(kVa)).ops.size(), 16u);
  EXPECT_EQ(below.mmu.peek(request(kVa)).hpa, kHostOffset + kDataGpa + 0x123);
  // A shadow leaf with bit 11 is a shadow leaf: 4 reads, the hPA it holds.
  AgileVm leaf;
  leaf.shadow.writeEntry(kVa, 1, leaf.shadow.readEntry(kVa, 1) | agile::Switch);
  const TranslateResult r = leaf.mmu.translate(request(kVa));
  EXPECT_EQ(r.ops, shadowReads(4));
  EXPECT_EQ(r.trace.agile_switch_level, 0u);
  // In SHADOW mode bit 11 means nothing: the shadow PDE's address is read as a shadow table.
  AgileVm shadow_mode;
  shadow_mode.switchAt(1);
  shadow_mode.mmu.writeReg(0, CtxReg::Mode, static_cast<uint64_t>(Mode::Shadow));
  const TranslateResult s = shadow_mode.mmu.translate(request(kVa));
  EXPECT_EQ(s.ops.size(), 4u);  // the guest PTE read as a shadow leaf: gPA 0x201000 taken as the hPA
  EXPECT_EQ(s.resp.hpa, kDataGpa + 0x123);
}

TEST(Agile, FaultAboveTheSwitchExitsBelowItGoesToTheGuest) {
  // Above: the shadow PTE is not present (no switch): a shadow fault, VM exit (§20.3).
  AgileVm above;
  above.shadow.writeEntry(kVa, 1, 0);
  TranslateResult r = above.mmu.translate(request(kVa, Access::Read, true));
  EXPECT_EQ(r.resp.fault, Fault::GuestPageFault);
  EXPECT_EQ(r.resp.fault_info, pf::U);
  EXPECT_EQ(r.resp.fault_level, 1u);
  EXPECT_TRUE(r.resp.vm_exit);
  EXPECT_EQ(above.mmu.peek(request(kVa, Access::Read, true)), r.resp);
  // Below: the guest's PTE is not present under a switch at level 1: delivered to the guest.
  AgileVm below;
  below.switchAt(1);
  below.guest->writeEntry(kVa, 1, 0);
  r = below.mmu.translate(request(kVa, Access::Read, true));
  EXPECT_EQ(r.resp.fault, Fault::GuestPageFault);
  EXPECT_EQ(r.resp.fault_level, 1u);
  EXPECT_FALSE(r.resp.vm_exit);
  EXPECT_EQ(r.ops, concat({shadowReads(3), {guestEntry(kGuestL1, 1)}}));
  EXPECT_EQ(below.mmu.peek(request(kVa, Access::Read, true)), r.resp);
  // A write to a read-only guest leaf below the switch: guest #PF (P, W), no exit; the same
  // read-only leaf in the shadow part exits.
  AgileVm read_only_guest;
  read_only_guest.switchAt(1);
  read_only_guest.guest->writeEntry(kVa, 1, read_only_guest.guest->readEntry(kVa, 1) & ~pte::RW);
  r = read_only_guest.mmu.translate(request(kVa, Access::Write));
  EXPECT_EQ(r.resp.fault, Fault::GuestPageFault);
  EXPECT_EQ(r.resp.fault_info, pf::P | pf::W);
  EXPECT_FALSE(r.resp.vm_exit);
  AgileVm read_only_shadow;
  read_only_shadow.shadow.writeEntry(kVa, 1, read_only_shadow.shadow.readEntry(kVa, 1) & ~pte::RW);
  r = read_only_shadow.mmu.translate(request(kVa, Access::Write));
  EXPECT_EQ(r.resp.fault, Fault::GuestPageFault);
  EXPECT_TRUE(r.resp.vm_exit);
  // The upper shadow entries' rights count below the switch: a read-only switching entry denies
  // the write of a writable guest leaf, delivered to the guest (the leaf decides where).
  AgileVm upper;
  upper.shadow.writeEntry(kVa, 2, (kHostOffset + kGuestL1) | pte::P | pte::US | agile::Switch);
  r = upper.mmu.translate(request(kVa, Access::Write));
  EXPECT_EQ(r.resp.fault, Fault::GuestPageFault);
  EXPECT_FALSE(r.resp.vm_exit);
  EXPECT_EQ(upper.mmu.peek(request(kVa, Access::Write)), r.resp);
}

TEST(Agile, EptViolationBelowTheSwitchNamesTheGuestEntry) {
  // Switch at level 2: the guest PDE's pointer (gPA 0x13000) goes through the EPT; unmapped, it is
  // an EPT violation for the PTE's gPA 0x13000 + 8·5 at guest level 1, with exit (§20.3, §6).
  AgileVm vm;
  vm.switchAt(2);
  vm.ept.unmap(kGuestL1);
  const TranslateResult r = vm.mmu.translate(request(kVa));
  EXPECT_EQ(r.resp.fault, Fault::EptViolation);
  EXPECT_EQ(r.resp.fault_addr, kGuestL1 + 8 * 5);
  EXPECT_EQ(r.resp.fault_guest_level, 1u);
  EXPECT_EQ(r.resp.fault_level, 1u);
  EXPECT_TRUE(r.resp.vm_exit);
  EXPECT_EQ(r.resp.fault_info, eptq::Read | eptq::LinearValid);
  EXPECT_EQ(vm.mmu.peek(request(kVa)), r.resp);
  // The first guest table (named by the switching entry's hPA) is not translated: with a switch at
  // level 1 the same unmapped page is read directly and the walk succeeds.
  AgileVm direct_table;
  direct_table.switchAt(1);
  direct_table.ept.unmap(kGuestL1);
  EXPECT_EQ(direct_table.mmu.translate(request(kVa)).resp.fault, Fault::None);
}

TEST(Agile, PdeCacheHitResumesInTheDimensionOfItsEntry) {
  // Switch at level 1: the walk fills the PDE cache with the guest PTE table (nested). The next
  // page of the same 2 MiB resumes there: its guest PTE, then the EPT row of gPA 0x202000.
  AgileVm vm;
  vm.switchAt(1);
  vm.mmu.translate(request(kVa));
  const TranslateResult next = vm.mmu.translate(request(kVa + 0x1000));
  EXPECT_EQ(next.trace.psc_level, 2u);
  EXPECT_EQ(next.trace.agile_switch_level, 1u);
  EXPECT_EQ(next.ops, concat({{guestRead(kHostOffset + kGuestL1 + 8 * 6, 1)}, dataRow(kNextGpa)}));
  EXPECT_EQ(next.resp.hpa, kHostOffset + kNextGpa + 0x123);
  // All shadow: the PDE cache leads to the shadow PTE table and one read finishes the walk.
  AgileVm shadowed;
  shadowed.mmu.translate(request(kVa));
  const TranslateResult one = shadowed.mmu.translate(request(kVa + 0x1000));
  EXPECT_EQ(one.ops, std::vector<MemOp>{guestRead(kShadowL1 + 8 * 6, 1)});
  EXPECT_EQ(one.trace.agile_switch_level, 0u);
  // START (presenting the read, §12: early), XLATE of the final, DONE.
  EXPECT_EQ(one.trace.walk_cycles, 2 + 1 + kDefaultMemOpCycles - 1);
}

TEST(Agile, AccessedFlagsAboveAndBelowTheSwitch) {
  // FLAGS.ad: A is set in the shadow entries above the switch and the guest entries below it; the
  // leaf's A|D (a write) last, in the guest PTE (§20.2).
  AgileVm vm(true);
  vm.switchAt(1);
  const TranslateResult r = vm.mmu.translate(request(kVa, Access::Write));
  EXPECT_EQ(r.ops, concat({{guestRead(kShadowL4 + 16, 4), guestOr(kShadowL4 + 16, pte::A, 4),
                            guestRead(kShadowL3 + 24, 3), guestOr(kShadowL3 + 24, pte::A, 3),
                            guestRead(kShadowL2 + 32, 2), guestOr(kShadowL2 + 32, pte::A, 2),
                            guestEntry(kGuestL1, 1)},
                           dataRow(kDataGpa),
                           {guestOr(kHostOffset + kGuestL1 + 40, pte::A | pte::D, 1)}}));
}

TEST(Agile, RegistersAndInvalidations) {
  AgileVm vm;
  vm.switchAt(1);
  // MODE 6 is AGILE and stored; 7 stays reserved (ignored, no flush).
  EXPECT_EQ(vm.mmu.readReg(0, CtxReg::Mode), 6u);
  ASSERT_EQ(vm.mmu.translate(request(kVa)).resp.fault, Fault::None);
  vm.mmu.writeReg(0, CtxReg::Mode, 7);
  EXPECT_EQ(vm.mmu.readReg(0, CtxReg::Mode), 6u);
  EXPECT_TRUE(vm.mmu.translate(request(kVa)).resp.tlb_hit);
  // GCR3 keeps bits P-1:12 and bit 0; a write does not invalidate (§3, §20.1).
  vm.mmu.writeReg(0, CtxReg::Gcr3, 0xffff'ffff'ffff'ffffull);
  EXPECT_EQ(vm.mmu.readReg(0, CtxReg::Gcr3), ((uint64_t{1} << 46) - 1) & ~uint64_t{0xffe});
  vm.mmu.writeReg(0, CtxReg::Gcr3, 0);
  EXPECT_TRUE(vm.mmu.translate(request(kVa)).resp.tlb_hit);
  EXPECT_EQ(vm.mmu.pscValidEntries(2), 1u);
  // INV_EPTP of the slot's EPT removes the AGILE VPID's TLB and PSC entries (§20.5) and the nested TLB's.
  vm.mmu.invEptp(vm.ept.eptp());
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 0u);
  EXPECT_EQ(vm.mmu.pscValidEntries(2), 0u);
  EXPECT_EQ(vm.mmu.ntlbValidEntries(), 0u);
  // INV_PCID removes the PSC entries the switch left: moving the PDE back to the shadow PTE table
  // then takes effect (4 shadow reads).
  vm.mmu.translate(request(kVa));
  vm.shadow.writeEntry(kVa, 2, kShadowL1 | kTableFlags);
  vm.mmu.invPcid(kVpid, 0);
  const TranslateResult back = vm.mmu.translate(request(kVa));
  EXPECT_EQ(back.ops, shadowReads(4));
  EXPECT_EQ(back.trace.agile_switch_level, 0u);
}

}  // namespace
}  // namespace vmmu::test
