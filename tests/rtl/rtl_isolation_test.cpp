// DIRECT isolation across control sequences on the verilated MMU (§3 implicit flushes, §8.3),
// cosimulated against the model: the TLB and the PSC are warmed under slot A (DIRECT, region
// R1), one control sequence makes slot B (DIRECT, region R2) the slot in force for the same
// VPID, and the next translation must walk from the root, read only inside R2 and answer
// inside R2. Each sequence is one the pre-fix rule (flush the old VPID of a valid slot only)
// let through, or one that changes the slot in force in another way.
#include <gtest/gtest.h>

#include "cosim.h"
#include "rtl_test_env.h"

namespace vmmu::rtltest {
namespace {

constexpr uint64_t kVa = 0x0000'7f12'3456'7123;
constexpr uint16_t kVm = 9, kOtherVm = 11;
constexpr uint64_t kBaseA = kDirectBase, kBaseB = kDirectBase + 0x1000'0000;  // R1, R2
constexpr uint64_t kDataGpaA = 0x20'0000, kDataGpaB = 0x30'0000;  // where kVa maps in each

// One DIRECT guest layout per region, built on both sides of the cosimulation.
struct Region {
  Region(const MmuConfig &config, PhysicalMemory &memory, uint64_t region_base, uint64_t data_gpa)
      : base(region_base),
        alloc(kGuestTablesGpa, kDirectSize),
        tables(memory, alloc, config.guest_levels, config.pa_bits,
               [region_base](uint64_t gpa) { return gpa + region_base; }) {
    tables.map(kVa & ~uint64_t{0xfff}, data_gpa, PageSize::Size4K);
  }
  bool contains(uint64_t hpa) const { return hpa >= base && hpa < base + kDirectSize; }
  uint64_t base;
  FrameAllocator alloc;
  GuestPageTables tables;
};

class RtlIsolation : public ::testing::Test {
protected:
  Cosim sim{MemoryBehaviour{1, 1, 0, 1}};
  const MmuConfig &config = sim.config();
  Region a{config, sim.tables(), kBaseA, kDataGpaA};
  Region b{config, sim.tables(), kBaseB, kDataGpaB};

  void SetUp() override { ASSERT_GE(config.num_contexts, 2u) << "two slots for one VM"; }
  void TearDown() override { sim.expectCountersMatch(); }

  // A DIRECT slot over `r`; the VPID register is written first (with or without the valid
  // bit), so the other writes flush only that VPID.
  void direct(unsigned slot, uint64_t vpid_reg, const Region &r) {
    sim.writeReg(slot, CtxReg::Vpid, vpid_reg);
    sim.writeReg(slot, CtxReg::Mode, static_cast<uint64_t>(Mode::Direct));
    sim.writeReg(slot, CtxReg::Cr3, r.tables.root());
    sim.writeReg(slot, CtxReg::GBase, r.base);
    sim.writeReg(slot, CtxReg::GSize, kDirectSize);
  }
  // Fills the TLB entry of kVa and the PSC entries above it under the slot in force (R1).
  void warmA() {
    const DutTranslation cold = sim.check(Request{kVm, 0, kVa, Access::Read, false});
    ASSERT_EQ(cold.resp.fault, Fault::None);
    ASSERT_EQ(cold.resp.hpa, kBaseA + kDataGpaA + 0x123);
    ASSERT_TRUE(sim.check(Request{kVm, 0, kVa, Access::Read, false}).resp.tlb_hit);
  }
  // The first translation after the switch: a full walk in R2 and R2's answer.
  void expectServedByB() {
    const auto psc_hits = [&] {
      uint64_t n = 0;
      for (Counter c : {Counter::PscHitsL2, Counter::PscHitsL3, Counter::PscHitsL4,
                        Counter::PscHitsL5})
        n += sim.dut().counter(c);
      return n;
    };
    const uint64_t psc_hits_before = psc_hits();
    const DutTranslation t = sim.check(Request{kVm, 0, kVa, Access::Read, false});
    EXPECT_EQ(t.resp.fault, Fault::None);
    EXPECT_FALSE(t.resp.tlb_hit) << "a TLB entry made under R1 was used";
    EXPECT_EQ(t.resp.hpa, kBaseB + kDataGpaB + 0x123);
    EXPECT_TRUE(b.contains(t.resp.hpa));
    ASSERT_EQ(t.ops.size(), config.guest_levels) << "a PSC entry made under R1 was used";
    for (unsigned i = 0; i < t.ops.size(); ++i) {
      const unsigned level = config.guest_levels - i;
      EXPECT_EQ(t.ops[i].dim, Dim::Guest);
      EXPECT_EQ(t.ops[i].addr, *b.tables.hostEntryAddress(kVa, level)) << "level " << level;
      EXPECT_TRUE(b.contains(t.ops[i].addr));
    }
    EXPECT_EQ(psc_hits(), psc_hits_before);
  }
};

TEST_F(RtlIsolation, InvalidLowerSlotMadeValid) {
  direct(0, kVm, b);           // not valid
  direct(1, ctxVpid(kVm), a);  // in force
  warmA();
  sim.writeReg(0, CtxReg::Vpid, ctxVpid(kVm));
  expectServedByB();
}

TEST_F(RtlIsolation, LowerSlotRetaggedFromAnotherVm) {
  direct(0, ctxVpid(kOtherVm), b);
  direct(1, ctxVpid(kVm), a);
  warmA();
  sim.writeReg(0, CtxReg::Vpid, ctxVpid(kVm));
  expectServedByB();
}

TEST_F(RtlIsolation, LowerSlotInvalidated) {
  direct(0, ctxVpid(kVm), a);
  direct(1, ctxVpid(kVm), b);
  warmA();
  sim.writeReg(0, CtxReg::Vpid, kVm);
  expectServedByB();
}

TEST_F(RtlIsolation, LowerSlotRetaggedToAnotherVm) {
  direct(0, ctxVpid(kVm), a);
  direct(1, ctxVpid(kVm), b);
  warmA();
  sim.writeReg(0, CtxReg::Vpid, ctxVpid(kOtherVm));
  expectServedByB();
}

// A round trip: slot 0 (R2) invalidated, slot 1 (R1) fills, slot 0 valid again.
TEST_F(RtlIsolation, LowerSlotInvalidatedAndMadeValidAgain) {
  direct(0, ctxVpid(kVm), b);
  direct(1, ctxVpid(kVm), a);
  sim.writeReg(0, CtxReg::Vpid, kVm);
  warmA();
  sim.writeReg(0, CtxReg::Vpid, ctxVpid(kVm));
  expectServedByB();
}

}  // namespace
}  // namespace vmmu::rtltest
