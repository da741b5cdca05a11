// MmuConfig::validate(), the §3 register fields, the control-port entry point, counter readout
// (§14), reset, printable names, and SparseMemory.
#include <gtest/gtest.h>

#include "model_test_util.h"

namespace vmmu::test {
namespace {

TEST(Config, DefaultsAreTheSpecsAndValid) {
  const MmuConfig c;
  EXPECT_EQ(c.validate(), "");
  EXPECT_EQ(c.vaBits(), 48u);
  EXPECT_EQ(c.tlb[0].sets, 16u);
  EXPECT_EQ(c.psc[0].sets, 8u);
  EXPECT_EQ(c.ntlb[1].sets, 4u);
}

TEST(Config, EachBadParameterIsNamed) {
  struct Case {
    void (*mutate)(MmuConfig &);
    const char *names;
  };
  const Case cases[] = {
      {[](MmuConfig &c) { c.guest_levels = 3; }, "guest_levels"},
      {[](MmuConfig &c) { c.nested_levels = 6; }, "nested_levels"},
      {[](MmuConfig &c) { c.pa_bits = 53; }, "pa_bits"},
      {[](MmuConfig &c) { c.pa_bits = 20; }, "pa_bits"},
      {[](MmuConfig &c) { c.num_contexts = 257; }, "num_contexts"},
      {[](MmuConfig &c) { c.num_contexts = 0; }, "num_contexts"},
      {[](MmuConfig &c) { c.escape_entries = 9; }, "escape_entries"},
      {[](MmuConfig &c) { c.tlb[0].sets = 12; }, "tlb.4k.sets"},
      {[](MmuConfig &c) { c.tlb[2].ways = 0; }, "tlb.1g.ways"},
      {[](MmuConfig &c) { c.ntlb[1].ways = 3; }, "ntlb.2m.ways"},
      {[](MmuConfig &c) { c.psc[0].sets = 0; }, "psc.l2.sets"},
      {[](MmuConfig &c) { c.tlb[0].ways = 128; }, "tlb.4k.ways"},
  };
  for (const Case &c : cases) {
    MmuConfig config;
    c.mutate(config);
    const std::string error = config.validate();
    EXPECT_NE(error.find(c.names), std::string::npos) << "'" << error << "' for " << c.names;
    EXPECT_EQ(error.find('\n'), std::string::npos);
    SparseMemory mem;
    EXPECT_THROW(Mmu(config, mem), std::invalid_argument) << c.names;
  }
}

TEST(Config, UnusedPml5eCacheGeometryIsIgnoredWithFourLevels) {
  MmuConfig c;
  c.psc[3].sets = 3;
  EXPECT_EQ(c.validate(), "");
  c.guest_levels = 5;
  EXPECT_NE(c.validate().find("psc.l5"), std::string::npos);
}

TEST(Registers, FieldsOutsideTheSpecReadAsZero) {
  SparseMemory mem;
  Mmu mmu(MmuConfig{}, mem);
  const uint64_t ones = ~uint64_t{0};
  mmu.writeReg(1, CtxReg::Vpid, ones);
  EXPECT_EQ(mmu.readReg(1, CtxReg::Vpid), 0x1'ffffu);
  // MODE keeps bits 2:0 (§3, widened for §18); all ones is the reserved code 7, ignored.
  mmu.writeReg(1, CtxReg::Mode, ones);
  EXPECT_EQ(mmu.readReg(1, CtxReg::Mode), 0u);
  mmu.writeReg(1, CtxReg::Mode, ones - 2);
  EXPECT_EQ(mmu.readReg(1, CtxReg::Mode), 5u);
  mmu.writeReg(1, CtxReg::Cr3, ones);
  EXPECT_EQ(mmu.readReg(1, CtxReg::Cr3), 0x3fff'ffff'f000u);  // bits 45:12
  mmu.writeReg(1, CtxReg::GBase, ones);
  EXPECT_EQ(mmu.readReg(1, CtxReg::GBase), 0x3fff'ffff'f000u);
  mmu.writeReg(1, CtxReg::GSize, ones);
  EXPECT_EQ(mmu.readReg(1, CtxReg::GSize), 0x7fff'ffff'f000u);  // bits 46:12
  mmu.writeReg(1, CtxReg::Flags, ones);
  EXPECT_EQ(mmu.readReg(1, CtxReg::Flags), 1u);
  mmu.writeReg(1, static_cast<CtxReg>(9), ones);
  EXPECT_EQ(mmu.readReg(1, static_cast<CtxReg>(9)), 0x3fff'ffff'f001u);
  // EPTP keeps its other bits (§2.3: "stored and ignored").
  mmu.writeReg(1, CtxReg::Eptp, ones);
  EXPECT_EQ(mmu.readReg(1, CtxReg::Eptp), ones);
  // Register 7 and escape registers beyond EscapeEntries (4) do not exist.
  mmu.writeReg(1, static_cast<CtxReg>(7), ones);
  EXPECT_EQ(mmu.readReg(1, static_cast<CtxReg>(7)), 0u);
  mmu.writeReg(1, static_cast<CtxReg>(12), ones);
  EXPECT_EQ(mmu.readReg(1, static_cast<CtxReg>(12)), 0u);
  // The guest segment (§18.1): BASE keeps its attribute bits 3:1, LIMIT and OFFSET bits 63:12;
  // GESCAPE_k a gVA page and the valid bit; GCR3 (19, §20.1) bits P-1:12 and 0; registers 20-23
  // and GESCAPE beyond EscapeEntries do not exist.
  mmu.writeReg(1, CtxReg::GsegBase, ones);
  EXPECT_EQ(mmu.readReg(1, CtxReg::GsegBase), ones & ~uint64_t{0xff1});
  mmu.writeReg(1, CtxReg::GsegLimit, ones);
  EXPECT_EQ(mmu.readReg(1, CtxReg::GsegLimit), ones & ~uint64_t{0xfff});
  mmu.writeReg(1, guestEscapeReg(3), ones);
  EXPECT_EQ(mmu.readReg(1, guestEscapeReg(3)), ones & ~uint64_t{0xffe});
  mmu.writeReg(1, CtxReg::Gcr3, ones);
  EXPECT_EQ(mmu.readReg(1, CtxReg::Gcr3), ((uint64_t{1} << MmuConfig{}.pa_bits) - 1) & ~uint64_t{0xffe});
  mmu.writeReg(1, static_cast<CtxReg>(20), ones);
  EXPECT_EQ(mmu.readReg(1, static_cast<CtxReg>(20)), 0u);
  mmu.writeReg(1, guestEscapeReg(4), ones);
  EXPECT_EQ(mmu.readReg(1, guestEscapeReg(4)), 0u);
}

TEST(Registers, SlotOutOfRangeIsAnError) {
  SparseMemory mem;
  Mmu mmu(MmuConfig{}, mem);
  EXPECT_THROW(mmu.writeReg(4, CtxReg::Mode, 1), std::out_of_range);
  EXPECT_THROW(mmu.readReg(4, CtxReg::Mode), std::out_of_range);
}

TEST(ControlPort, DispatchesEveryOpWithThePortOperands) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables tables(mem, frames);
  tables.map(kVaPage, 0xa000, PageSize::Size4K);
  Mmu mmu(MmuConfig{}, mem);
  mmu.control(CtrlOp::WriteReg, 2, static_cast<unsigned>(CtxReg::Vpid), (1u << 16) | 5, 0, 0);
  mmu.control(CtrlOp::WriteReg, 2, static_cast<unsigned>(CtxReg::Cr3), tables.root(), 0, 0);
  EXPECT_EQ(mmu.readReg(2, CtxReg::Cr3), tables.root());
  const auto fill = [&] { mmu.translate(request(kVa, Access::Read, false, 5, 1)); };
  fill();
  mmu.control(CtrlOp::InvAddr, 0, 0, kVa, 5, 0);
  EXPECT_EQ(mmu.tlbValidEntries(), 0u);
  fill();
  mmu.control(CtrlOp::InvPcid, 0, 0, 0, 5, 1);
  EXPECT_EQ(mmu.tlbValidEntries(), 0u);
  fill();
  mmu.control(CtrlOp::InvVpid, 0, 0, 0, 5, 0);
  EXPECT_EQ(mmu.tlbValidEntries(), 0u);
  fill();
  mmu.control(CtrlOp::InvEptp, 0, 0, 0, 0, 0);  // no NESTED/DIRECT slot uses root 0: keeps
  EXPECT_EQ(mmu.tlbValidEntries(), 1u);
  mmu.control(CtrlOp::InvAll, 0, 0, 0, 0, 0);
  EXPECT_EQ(mmu.tlbValidEntries(), 0u);
  for (Counter c : {Counter::InvAddr, Counter::InvPcid, Counter::InvVpid, Counter::InvEptp,
                    Counter::InvAll})
    EXPECT_EQ(mmu.counter(c), 1u) << toString(c);
  EXPECT_THROW(mmu.control(static_cast<CtrlOp>(9), 0, 0, 0, 0, 0), std::invalid_argument);
}

TEST(Counters, IndexBeyondTheLastReadsZeroAndResetClearsEverything) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables tables(mem, frames);
  tables.map(kVaPage, 0xa000, PageSize::Size4K);
  Mmu mmu(MmuConfig{}, mem);
  setupContext(mmu, 0, {.cr3 = tables.root()});
  mmu.translate(request(kVa));
  EXPECT_EQ(mmu.counter(static_cast<Counter>(29)), 0u);
  EXPECT_EQ(mmu.counter(static_cast<Counter>(63)), 0u);
  EXPECT_EQ(mmu.counters()[static_cast<unsigned>(Counter::Lookups)], 1u);
  mmu.reset();
  EXPECT_EQ(mmu.counter(Counter::Lookups), 0u);
  EXPECT_EQ(mmu.tlbValidEntries(), 0u);
  EXPECT_EQ(mmu.pscValidEntries(2), 0u);
  EXPECT_EQ(mmu.readReg(0, CtxReg::Vpid), 0u);
  EXPECT_EQ(mmu.translate(request(kVa)).resp.fault, Fault::NoContext);
}

TEST(Names, EveryEnumValueHasItsSpecName) {
  EXPECT_EQ(toString(Mode::Direct), "DIRECT");
  EXPECT_EQ(toString(Access::Exec), "EXEC");
  EXPECT_EQ(toString(PageSize::Size2M), "2M");
  EXPECT_EQ(toString(Fault::EptMisconfig), "EPT_MISCONFIG");
  EXPECT_EQ(toString(Counter::Lookups), "LOOKUPS");
  EXPECT_EQ(toString(Counter::WalkCycles), "WALK_CYCLES");
  EXPECT_EQ(toString(Counter::PermRefills), "PERM_REFILLS");
  EXPECT_EQ(toString(Counter::Count), "?");
}

TEST(SparseMemory, UnwrittenReadsZeroAndFetchOrReturnsTheOldValue) {
  SparseMemory mem;
  EXPECT_EQ(mem.read64(0x1234'5678'9000), 0u);
  EXPECT_EQ(mem.pagesAllocated(), 0u);  // reads do not allocate
  mem.write64(0x5008, 0x10);
  EXPECT_EQ(mem.fetchOr64(0x5008, 0x3), 0x10u);
  EXPECT_EQ(mem.read64(0x5008), 0x13u);
  EXPECT_EQ(mem.peek64(0x5008), 0x13u);
  EXPECT_EQ(mem.fetchOr64(0x9000, 1), 0u);
  EXPECT_EQ(mem.pagesAllocated(), 2u);
  mem.write64(0x6000, 7);
  EXPECT_EQ(mem.read64(0x5008), 0x13u);  // the last-page cache follows page changes
  EXPECT_EQ(mem.read64(0x6000), 7u);
  mem.clear();
  EXPECT_EQ(mem.read64(0x6000), 0u);
  EXPECT_EQ(mem.pagesAllocated(), 0u);
}

}  // namespace
}  // namespace vmmu::test
