// Tests that the parameters the library under test was verilated with (vmmu_rtl_config.h) are
// the ones the RTL implements: array capacities, context slots, escape entries, VA width and
// PaBits, each asserted from the configuration (so the same test checks every parameter set)
// and, as every RTL test, cosimulated against the golden model configured identically.
#include <gtest/gtest.h>

#include <vector>

#include "cosim.h"
#include "rtl_test_env.h"
#include "vmmu_rtl_config.h"

namespace vmmu::rtltest {
namespace {

constexpr MemoryBehaviour kFixedLatency{1, 1, 0, 1};

Request read(uint16_t vpid, uint64_t va) { return Request{vpid, 0, va, Access::Read, false}; }

TEST(RtlParameters, ConfigurationIsValid) {
  const MmuConfig config = rtl::verilatedConfig();
  EXPECT_EQ(config.validate(), "") << "parameter set " << rtl::kParameterSet << ": "
                                   << rtl::kParameterOverrides;
  // The tests corrupt entries with the lowest reserved address bit, which needs P < 52.
  EXPECT_LT(config.pa_bits, 52u);
}

class RtlParameterTest : public ::testing::Test {
protected:
  Cosim sim{kFixedLatency};
  const MmuConfig &config = sim.config();
  FrameAllocator host_tables{kHostTablesBase, kHostTablesLimit};
  GuestPageTables tables = hostTables(config, sim.tables(), host_tables);

  void TearDown() override { sim.expectCountersMatch(); }
};

// Fills one first-level TLB array with Sets x Ways pages of its size (consecutive pages: Ways per
// set), all of which must then hit it (one cycle); one more page in set 0 must evict one of that
// set's pages, which the STLB (§9.2) may still serve, in two cycles.
void checkTlbCapacity(Cosim &sim, GuestPageTables &tables, PageSize size, uint64_t va_base) {
  const ArrayGeometry geometry = sim.config().tlb[static_cast<unsigned>(size)];
  const uint64_t bytes = pageBytes(size);
  const unsigned capacity = geometry.sets * geometry.ways;
  // Host frames cycle through the first 2 GiB, inside every PaBits the spec allows.
  const auto frame = [&](unsigned i) { return (uint64_t{i} * bytes) & 0x7fff'ffff; };
  for (unsigned i = 0; i <= capacity; ++i)
    tables.map(va_base + i * bytes, frame(i), size);
  setContext(sim, 0, 1, Mode::Native, tables.root());

  for (unsigned i = 0; i < capacity; ++i)
    sim.check(read(1, va_base + i * bytes));
  for (unsigned i = 0; i < capacity; ++i) {
    const DutTranslation t = sim.check(read(1, va_base + i * bytes + 8));
    EXPECT_TRUE(t.resp.tlb_hit) << toString(size) << " page " << i << " of " << capacity;
    EXPECT_EQ(t.latency, 1u) << toString(size) << " page " << i << " of " << capacity;
    EXPECT_EQ(t.resp.hpa, frame(i) + 8);
  }
  // Page `capacity` falls in set 0, which is full: one of its pages is the PLRU victim.
  EXPECT_FALSE(sim.check(read(1, va_base + capacity * bytes)).resp.tlb_hit);
  unsigned set0_misses = 0;
  for (unsigned i = 0; i < capacity; i += geometry.sets) {
    const DutTranslation t = sim.check(read(1, va_base + i * bytes));
    set0_misses += !(t.resp.tlb_hit && t.latency == 1);
  }
  EXPECT_GE(set0_misses, 1u) << toString(size) << ": set 0 held more than " << geometry.ways
                             << " ways";
}

TEST_F(RtlParameterTest, Tlb4kArrayHoldsSetsTimesWaysPages) {
  checkTlbCapacity(sim, tables, PageSize::Size4K, 0x0000'1000'0000'0000);
}
TEST_F(RtlParameterTest, Tlb2mArrayHoldsSetsTimesWaysPages) {
  checkTlbCapacity(sim, tables, PageSize::Size2M, 0x0000'1000'0000'0000);
}
// The STLB (§9.2) holds StlbSets x StlbWays 4K pages (consecutive pages: StlbWays per set): each is
// then served without a walk; one more page in set 0 makes one of that set's pages walk again.
TEST_F(RtlParameterTest, StlbHoldsSetsTimesWaysPages) {
  if (!config.hasStlb())
    GTEST_SKIP() << "no STLB in this parameter set";
  const uint64_t va_base = 0x0000'1000'0000'0000;
  const unsigned capacity = config.stlb.sets * config.stlb.ways;
  const auto frame = [&](unsigned i) { return (uint64_t{i} << 12) & 0x7fff'ffff; };
  for (unsigned i = 0; i <= capacity; ++i)
    tables.map(va_base + (uint64_t{i} << 12), frame(i), PageSize::Size4K);
  setContext(sim, 0, 1, Mode::Native, tables.root());
  for (unsigned i = 0; i < capacity; ++i)
    sim.check(read(1, va_base + (uint64_t{i} << 12)));
  for (unsigned i = 0; i < capacity; ++i) {
    const DutTranslation t = sim.check(read(1, va_base + (uint64_t{i} << 12) + 8));
    EXPECT_TRUE(t.resp.tlb_hit && t.ops.empty()) << "page " << i << " of " << capacity;
    EXPECT_EQ(t.resp.hpa, frame(i) + 8);
  }
  EXPECT_EQ(sim.dut().counter(Counter::StlbMisses4K), capacity);
  EXPECT_FALSE(sim.check(read(1, va_base + (uint64_t{capacity} << 12))).resp.tlb_hit);
  unsigned set0_walks = 0;
  for (unsigned i = 0; i < capacity; i += config.stlb.sets)
    set0_walks += !sim.check(read(1, va_base + (uint64_t{i} << 12))).ops.empty();
  EXPECT_GE(set0_walks, 1u) << "STLB set 0 held more than " << config.stlb.ways << " ways";
}

TEST_F(RtlParameterTest, Tlb1gArrayHoldsSetsTimesWaysPages) {
  checkTlbCapacity(sim, tables, PageSize::Size1G, 0x0000'1000'0000'0000);
}

// The PDE cache (PSC level 2) holds Sets x Ways prefixes: after a walk in each of that many 2M
// regions, a walk to another 4K page of each region starts from the PDE cache (one read).
TEST_F(RtlParameterTest, PdeCacheHoldsSetsTimesWaysPrefixes) {
  const ArrayGeometry geometry = config.psc[0];
  const unsigned capacity = geometry.sets * geometry.ways;
  const uint64_t base = 0x0000'2000'0000'0000;
  const auto region = [&](unsigned i) { return base + (uint64_t{i} << 21); };
  for (unsigned i = 0; i <= capacity; ++i) {
    tables.map(region(i), 0x100'0000 + (uint64_t{i} << 13), PageSize::Size4K);
    tables.map(region(i) + 0x1000, 0x100'1000 + (uint64_t{i} << 13), PageSize::Size4K);
  }
  setContext(sim, 0, 1, Mode::Native, tables.root());
  for (unsigned i = 0; i < capacity; ++i)
    sim.check(read(1, region(i)));
  for (unsigned i = 0; i < capacity; ++i)
    EXPECT_EQ(sim.check(read(1, region(i) + 0x1000)).ops.size(), 1u) << "region " << i;
  EXPECT_EQ(sim.dut().counter(Counter::PscHitsL2), capacity);
}

// Every slot serves its VPID; with one VPID in two slots the lower slot wins (§3).
TEST_F(RtlParameterTest, EverySlotServesItsVpidAndTheLowestSlotWins) {
  const uint64_t va = 0x0000'3000'0000'0000;
  FrameAllocator other_alloc(kHostTablesLimit, kHostTablesLimit + 0x100'0000);
  GuestPageTables other = hostTables(config, sim.tables(), other_alloc);
  tables.map(va, 0x10'0000, PageSize::Size4K);
  other.map(va, 0x20'0000, PageSize::Size4K);
  const unsigned slots = config.num_contexts;
  for (unsigned slot = 0; slot < slots; ++slot)
    setContext(sim, slot, static_cast<uint16_t>(100 + slot), Mode::Native, tables.root());
  for (unsigned slot = 0; slot < slots; ++slot) {
    const DutTranslation t = sim.check(read(static_cast<uint16_t>(100 + slot), va));
    EXPECT_EQ(t.resp.fault, Fault::None) << "slot " << slot;
    EXPECT_EQ(t.resp.hpa, 0x10'0000u);
  }
  EXPECT_EQ(sim.check(read(static_cast<uint16_t>(100 + slots), va)).resp.fault,
            Fault::NoContext);

  // The highest slot takes slot 0's VPID with other tables: slot 0 still serves it.
  const unsigned last = slots - 1;
  setContext(sim, last, 100, Mode::Native, other.root());
  sim.control(CtrlOp::InvAll, 0, 0, 0, 0, 0);
  EXPECT_EQ(sim.check(read(100, va)).resp.hpa, slots > 1 ? 0x10'0000u : 0x20'0000u);
  if (slots > 1) {
    sim.writeReg(0, CtxReg::Vpid, 100);  // valid bit clear: slot 0 no longer serves it
    EXPECT_EQ(sim.check(read(100, va)).resp.hpa, 0x20'0000u);
  }
}

// ESCAPE_k exists for k < EscapeEntries (a write flushes the VPID, §3); ESCAPE_EscapeEntries,
// when it fits the register field, does not exist (the write is ignored, nothing is flushed).
TEST_F(RtlParameterTest, OnlyEscapeEntriesBelowEscapeEntriesExist) {
  const uint64_t va = 0x0000'4000'0000'0000;
  const uint64_t gpa = 0x10'0000;
  DirectGuest vm(config, sim.tables());
  EptTables ept = eptTables(config, sim.tables(), host_tables);
  vm.guest.map(va, gpa, PageSize::Size4K);
  ept.map(gpa, kDirectBase + 0x200'0000, PageSize::Size4K);
  setContext(sim, 0, 9, Mode::Direct, vm.guest.root(), ept.eptp(), kDirectBase, kDirectSize);
  const unsigned entries = config.escape_entries;

  sim.check(read(9, va));
  if (entries < 8) {
    sim.writeReg(0, escapeReg(entries), gpa | 1);
    const DutTranslation ignored = sim.check(read(9, va));
    EXPECT_TRUE(ignored.resp.tlb_hit) << "ESCAPE_" << entries << " does not exist: no flush";
    EXPECT_EQ(ignored.resp.hpa, kDirectBase + gpa);
  }
  if (entries > 0) {
    sim.writeReg(0, escapeReg(entries - 1), gpa | 1);
    const DutTranslation escaped = sim.check(read(9, va));
    EXPECT_FALSE(escaped.resp.tlb_hit) << "ESCAPE_" << entries - 1 << " exists: its write flushes";
    EXPECT_EQ(escaped.resp.hpa, kDirectBase + 0x200'0000);
    EXPECT_EQ(sim.dut().counter(Counter::Escapes), 1u);
  }
}

// The extremes of the VA width: the highest lower-half page and the lowest upper-half page
// translate (every level's index at its widest), the next VA up is the first non-canonical one.
TEST_F(RtlParameterTest, CanonicalVaExtremesTranslate) {
  const uint64_t top_low = lowestNonCanonicalVa(config) - 0x1000;
  const uint64_t bottom_high = ~uint64_t{0} << (config.vaBits() - 1);
  tables.map(top_low, 0x30'0000, PageSize::Size4K);
  tables.map(bottom_high, 0x31'0000, PageSize::Size4K);
  setContext(sim, 0, 1, Mode::Native, tables.root());
  const DutTranslation low = sim.check(read(1, top_low + 0xff8));
  EXPECT_EQ(low.resp.hpa, 0x30'0ff8u);
  EXPECT_EQ(low.ops.size(), config.guest_levels);
  EXPECT_EQ(sim.check(read(1, bottom_high)).resp.hpa, 0x31'0000u);
  EXPECT_EQ(sim.check(read(1, top_low + 0x1000)).resp.fault, Fault::GuestGeneralProtection);
  EXPECT_EQ(sim.check(read(1, bottom_high - 0x1000)).resp.fault, Fault::GuestGeneralProtection);
}

// PaBits bounds the host space: a frame at its top translates; a DIRECT region whose GSIZE
// reaches past 2^P passes GBASE + GSIZE but fails a + n <= 2^P (§8.1, P + 2 bits).
TEST_F(RtlParameterTest, HostAddressSpaceEndsAtTwoToThePaBits) {
  const uint64_t top = uint64_t{1} << config.pa_bits;
  const uint64_t va = 0x0000'5000'0000'0000;
  tables.map(va, top - 0x1000, PageSize::Size4K);
  setContext(sim, 0, 1, Mode::Native, tables.root());
  EXPECT_EQ(sim.check(read(1, va + 0xff8)).resp.hpa, top - 8);

  // DIRECT VM at the upper half of the host space: gPA g at host 2^(P-1) + g.
  const uint64_t gbase = top >> 1;
  FrameAllocator guest_alloc(kGuestTablesGpa, kGuestTablesGpa + 0x10'0000);
  GuestPageTables guest(sim.tables(), guest_alloc, config.guest_levels, config.pa_bits,
                        [gbase](uint64_t gpa) { return gbase + gpa; });
  guest.map(va, gbase - 0x1000, PageSize::Size4K);  // the last page below 2^P
  guest.map(va + 0x1000, gbase, PageSize::Size4K);  // the first page at 2^P
  // GSIZE = 2^P: GBASE + GSIZE lies past 2^P. The highest slot (slot 0 with one context).
  setContext(sim, config.num_contexts - 1, 2, Mode::Direct, guest.root(), 0, gbase, top);
  const DutTranslation inside = sim.check(read(2, va + 8));
  EXPECT_EQ(inside.resp.fault, Fault::None);
  EXPECT_EQ(inside.resp.hpa, top - 0x1000 + 8);
  const DutTranslation beyond = sim.check(read(2, va + 0x1000));
  EXPECT_EQ(beyond.resp.fault, Fault::Bounds);
  EXPECT_EQ(beyond.resp.fault_addr, gbase);
}

}  // namespace
}  // namespace vmmu::rtltest
