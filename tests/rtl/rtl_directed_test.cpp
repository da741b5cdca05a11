// Directed tests of the verilated MMU: each mode, each fault class, caches, A/D updates and
// invalidations. Every translation is also cosimulated against the golden model (Cosim::check),
// and the facts the spec states outright (reference counts, latencies, payloads) are asserted
// directly so that a shared misreading of the spec by RTL and model cannot pass unnoticed.
// Expectations that depend on the parameters (levels, reference counts, slots, escape entries,
// PaBits) are computed from the configuration of the library under test (Cosim::config()).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "cosim.h"
#include "rtl_test_env.h"
#include "vmmu/paging.h"
#include "vmmu_rtl_config.h"

namespace vmmu::rtltest {
namespace {

constexpr uint64_t kVa = 0x0000'7f12'3456'7000;
constexpr uint64_t kPa = 0x0000'0000'0500'0000;

Request read(uint16_t vpid, uint64_t va, bool user = false) {
  return Request{vpid, 0, va, Access::Read, user};
}
Request write(uint16_t vpid, uint64_t va, bool user = false) {
  return Request{vpid, 0, va, Access::Write, user};
}
Request exec(uint16_t vpid, uint64_t va) { return Request{vpid, 0, va, Access::Exec, false}; }

unsigned countOps(const std::vector<MemOp> &ops, Dim dim, MemOpKind kind) {
  unsigned n = 0;
  for (const MemOp &op : ops)
    n += op.dim == dim && op.kind == kind;
  return n;
}

// With a memory latency of one cycle every operation costs c = 2 (§12).
constexpr MemoryBehaviour kFixedLatency{1, 1, 0, 1};

class RtlDirected : public ::testing::Test {
protected:
  Cosim sim{kFixedLatency};
  const MmuConfig &config = sim.config();
  FrameAllocator host_tables{kHostTablesBase, kHostTablesLimit};

  // §12: the cycles a first-level miss spends probing the STLB before its walk starts: its 4K
  // set, then its 2M set only when that holds a valid 2M entry (§9.2), which it never does in
  // the walks these tests time (4K translations only before them); none without an STLB.
  uint64_t stlbProbeCycles() const { return config.hasStlb() ? 1 : 0; }

  // Native (or shadow) tables of the configured shape, written to both memories.
  GuestPageTables newHostTables() { return hostTables(config, sim.tables(), host_tables); }

  void TearDown() override { sim.expectCountersMatch(); }
};

TEST_F(RtlDirected, NativeColdWalkReadsOneEntryPerLevelThenHits) {
  GuestPageTables tables = newHostTables();
  tables.map(kVa, kPa, PageSize::Size4K, pte::RW);
  setContext(sim, 0, 0, Mode::Native, tables.root());

  const DutTranslation cold = sim.check(read(0, kVa + 0x123));
  EXPECT_EQ(cold.resp.fault, Fault::None);
  EXPECT_EQ(cold.resp.hpa, kPa + 0x123);
  EXPECT_EQ(cold.resp.size, PageSize::Size4K);
  EXPECT_FALSE(cold.resp.tlb_hit);
  const unsigned levels = config.guest_levels;
  ASSERT_EQ(cold.ops.size(), levels);
  for (unsigned i = 0; i < levels; ++i) {
    const unsigned level = levels - i;
    EXPECT_EQ(cold.ops[i].addr, *tables.hostEntryAddress(kVa, level)) << "level " << level;
    EXPECT_EQ(cold.ops[i].level, level);
    EXPECT_EQ(cold.ops[i].kind, MemOpKind::Read);
    EXPECT_EQ(cold.ops[i].dim, Dim::Guest);
  }
  EXPECT_EQ(cold.latency, stlbProbeCycles() + 2u + levels * 2u - 1)
      << "STLB probe, START presenting the root read (§12: early), L operations of 2 cycles, "
         "DONE; NATIVE has no XLATE cycle";

  const DutTranslation warm = sim.check(read(0, kVa + 0x456));
  EXPECT_TRUE(warm.resp.tlb_hit);
  EXPECT_EQ(warm.resp.hpa, kPa + 0x456);
  EXPECT_TRUE(warm.ops.empty());
  EXPECT_EQ(warm.latency, 1u);
  EXPECT_EQ(sim.dut().counter(Counter::WalkCycles), 2u + levels * 2u - 1);
  EXPECT_EQ(sim.dut().counter(Counter::TlbHits), 1u);
}

TEST_F(RtlDirected, PdeCacheHitLeavesOneGuestRead) {
  GuestPageTables tables = newHostTables();
  tables.map(kVa, kPa, PageSize::Size4K);
  tables.map(kVa + 0x1000, kPa + 0x7000, PageSize::Size4K);
  setContext(sim, 0, 0, Mode::Native, tables.root());
  sim.check(read(0, kVa));
  const DutTranslation next = sim.check(read(0, kVa + 0x1000));
  EXPECT_EQ(next.resp.hpa, kPa + 0x7000);
  ASSERT_EQ(next.ops.size(), 1u);
  EXPECT_EQ(next.ops[0].level, 1u);
  EXPECT_EQ(sim.dut().counter(Counter::PscHitsL2), 1u);
}

// §12 XLATE, by hand, in SHADOW: a walk whose root entry is not present takes CR3 (one XLATE
// cycle), reads one entry (2 cycles) and faults; one after a PDE-cache hit takes only the final
// address.
TEST_F(RtlDirected, OneTranslationCycleForEveryAddressAShadowWalkTakes) {
  GuestPageTables tables = newHostTables();
  tables.map(kVa, kPa, PageSize::Size4K);
  tables.map(kVa + 0x1000, kPa + 0x7000, PageSize::Size4K);
  setContext(sim, 0, 0, Mode::Shadow, tables.root());
  const unsigned levels = config.guest_levels;
  const DutTranslation cold = sim.check(read(0, kVa));
  EXPECT_EQ(cold.latency, stlbProbeCycles() + 2u + (levels + 1) + levels * 2u);
  const DutTranslation warm = sim.check(read(0, kVa + 0x1000));
  ASSERT_EQ(warm.ops.size(), 1u);
  EXPECT_EQ(warm.latency, stlbProbeCycles() + 2u + 1 + 2 - 1)
      << "STLB probe, START presenting the read (§12: early), the final gPA's XLATE, one read of 2 "
         "cycles, DONE";
  const uint64_t unmapped = kVa + (uint64_t{1} << levelShift(levels));  // another root index
  const DutTranslation fault = sim.check(read(0, unmapped));
  EXPECT_EQ(fault.resp.fault, Fault::GuestPageFault);
  ASSERT_EQ(fault.ops.size(), 1u);
  EXPECT_EQ(fault.latency, stlbProbeCycles() + 2u + 1 + 2)
      << "STLB probe, START, CR3's XLATE, the root entry's read of 2 cycles, DONE";
  EXPECT_EQ(sim.dut().counter(Counter::WalkCycles),
            (2u + (levels + 1) + levels * 2u) + (2u + 1 + 2 - 1) + (2u + 1 + 2));
}

// §12, the same walks in NATIVE: no XLATE cycle (each address is taken in the cycle its entry is
// read), and START presents the root read at CR3 as it presents the read below a PDE-cache hit.
TEST_F(RtlDirected, NativeWalksTakeNoTranslationCycle) {
  GuestPageTables tables = newHostTables();
  tables.map(kVa, kPa, PageSize::Size4K);
  tables.map(kVa + 0x1000, kPa + 0x7000, PageSize::Size4K);
  setContext(sim, 0, 0, Mode::Native, tables.root());
  const unsigned levels = config.guest_levels;
  EXPECT_EQ(sim.check(read(0, kVa)).latency, stlbProbeCycles() + 2u + levels * 2u - 1);
  const DutTranslation warm = sim.check(read(0, kVa + 0x1000));
  ASSERT_EQ(warm.ops.size(), 1u);
  EXPECT_EQ(warm.latency, stlbProbeCycles() + 2u + 2 - 1) << "STLB probe, START with the read, DONE";
  const DutTranslation fault = sim.check(read(0, kVa + (uint64_t{1} << levelShift(levels))));
  EXPECT_EQ(fault.resp.fault, Fault::GuestPageFault);
  ASSERT_EQ(fault.ops.size(), 1u);
  EXPECT_EQ(fault.latency, stlbProbeCycles() + 2u + 2 - 1);
  EXPECT_EQ(sim.dut().counter(Counter::WalkCycles), (2u + levels * 2u - 1) + 3 + 3);
}

TEST_F(RtlDirected, NestedColdWalkReadsNmPlusNPlusMAndSecondWalkUsesNestedTlb) {
  NestedGuest vm(config, sim.tables(), host_tables, PageSize::Size4K);
  vm.guest->map(kVa, 0x20'0000, PageSize::Size4K);
  vm.guest->map(kVa + 0x20'0000, 0x40'0000, PageSize::Size4K);  // another PDE, same PDPT
  setContext(sim, 1, 7, Mode::Nested, vm.guest->root(), vm.ept.eptp());

  const DutTranslation cold = sim.check(read(7, kVa + 8));
  EXPECT_EQ(cold.resp.fault, Fault::None);
  EXPECT_EQ(cold.resp.hpa, kGuestRamHost + 0x20'0008);
  EXPECT_EQ(cold.ops.size(), coldNestedReads(config)) << "13 for 4 + 4 levels and §1's EPT PSCs";
  EXPECT_EQ(countOps(cold.ops, Dim::Guest, MemOpKind::Read), config.guest_levels);
  EXPECT_EQ(countOps(cold.ops, Dim::Nested, MemOpKind::Read), coldNestedReads(config) - config.guest_levels);

  // PDPTE-cache hit; the next PD and the final page are new nested translations.
  const DutTranslation second = sim.check(read(7, kVa + 0x20'0000));
  EXPECT_EQ(second.resp.hpa, kGuestRamHost + 0x40'0000);
  EXPECT_LT(second.ops.size(), cold.ops.size());
  EXPECT_EQ(sim.dut().counter(Counter::PscHitsL3), 1u);
}

TEST_F(RtlDirected, NestedGuest2MOnHost4KReadsNmPlusNMinus1AndSplinters) {
  NestedGuest vm(config, sim.tables(), host_tables, PageSize::Size4K);
  vm.guest->map(kVa & ~0x1f'ffffull, 0x20'0000, PageSize::Size2M);
  setContext(sim, 0, 3, Mode::Nested, vm.guest->root(), vm.ept.eptp());
  const DutTranslation t = sim.check(read(3, (kVa & ~0x1f'ffffull) + 0x1'2345));
  EXPECT_EQ(t.ops.size(), coldNested2MReads(config)) << "11 for 4 + 4 levels and §1's EPT PSCs";
  EXPECT_EQ(t.resp.size, PageSize::Size4K) << "guest 2M on host 4K is splintered";
  EXPECT_EQ(t.resp.hpa, kGuestRamHost + 0x20'0000 + 0x1'2345);
}

// §10.3 on the RTL: which EPT PSC level each row starts from, its counters, and what INV_VPID
// and INV_EPTP leave. The parameter sets differ (default: every level; alt: no EPT PML4E cache,
// a PML5E cache), so the deepest present level is computed from the configuration.
TEST_F(RtlDirected, EptPscHitsSkipTheUpperEptLevels) {
  NestedGuest vm(config, sim.tables(), host_tables, PageSize::Size4K);
  // A gPA in the second 1G region (beyond the 64 MiB of guest RAM), mapped at the end of the
  // guest RAM's host range: only the top-level EPT entry is shared with the rest.
  vm.ept.map(0x4000'0000, kGuestRamHost + kGuestRamSize, PageSize::Size4K);
  vm.guest->map(kVa, 0x20'0000, PageSize::Size4K);
  vm.guest->map(kVa + 0x1000, 0x4000'0000, PageSize::Size4K);
  setContext(sim, 0, 5, Mode::Nested, vm.guest->root(), vm.ept.eptp());
  const unsigned n = config.guest_levels, m = config.nested_levels;
  const auto hits = [&](unsigned level) {
    return sim.dut().counter(static_cast<Counter>(static_cast<unsigned>(Counter::EptPscHitsL2) + level - 2));
  };
  ASSERT_NE(config.ept_psc[0].ways, 0u);  // both sets have the EPT PDE and PDPTE caches
  ASSERT_NE(config.ept_psc[1].ways, 0u);

  const DutTranslation cold = sim.check(read(5, kVa));
  EXPECT_EQ(cold.ops.size(), coldNestedReads(config));
  EXPECT_EQ(hits(2), n - 1) << "the rows locating the guest tables after the root";
  EXPECT_EQ(hits(3), 1u) << "the final gPA's row";

  // Guest PDE-cache hit; the final gPA (1G) misses the EPT PDE and PDPTE caches and hits the
  // deepest present level above them (default: PML4E, 3 EPT reads; alt: PML5E, 4).
  unsigned top = 4;
  while (top <= m && config.ept_psc[top - 2].ways == 0)
    ++top;
  ASSERT_LE(top, m);
  const DutTranslation far = sim.check(read(5, kVa + 0x1000));
  EXPECT_EQ(far.resp.hpa, kGuestRamHost + kGuestRamSize);
  EXPECT_EQ(countOps(far.ops, Dim::Nested, MemOpKind::Read), top - 1);
  EXPECT_EQ(far.ops.size(), 1u + (top - 1));
  EXPECT_EQ(hits(top), 1u);

  // INV_VPID leaves the nested TLB and the EPT PSC (§11): every row hits the nested TLB.
  sim.control(CtrlOp::InvVpid, 0, 0, 0, 5, 0);
  EXPECT_EQ(sim.check(read(5, kVa)).ops.size(), n);
  // INV_EPTP removes both: the cold walk again, with the same EPT PSC hits.
  sim.control(CtrlOp::InvEptp, 0, 0, vm.ept.eptp(), 0, 0);
  EXPECT_EQ(sim.check(read(5, kVa)).ops.size(), coldNestedReads(config));
  EXPECT_EQ(hits(2), 2 * (n - 1));
  EXPECT_EQ(hits(3), 2u);
}

TEST_F(RtlDirected, NestedOnLargeEptPagesKeepsGuestSize) {
  NestedGuest vm(config, sim.tables(), host_tables, PageSize::Size2M);
  vm.guest->map(kVa & ~0x1f'ffffull, 0x40'0000, PageSize::Size2M);
  setContext(sim, 0, 3, Mode::Nested, vm.guest->root(), vm.ept.eptp(true));
  const DutTranslation t = sim.check(write(3, kVa));
  EXPECT_EQ(t.resp.size, PageSize::Size2M);
  EXPECT_GT(countOps(t.ops, Dim::Nested, MemOpKind::FetchOr), 0u) << "EPT A/D enabled";
  EXPECT_TRUE(sim.check(write(3, kVa + 0x1000)).resp.tlb_hit);
}

TEST_F(RtlDirected, DirectWalkIsBaseOffsetWithOneReadPerLevel) {
  DirectGuest vm(config, sim.tables());
  vm.guest.map(kVa, 0x1000, PageSize::Size4K);
  vm.guest.map((kVa + 0x20'0000) & ~0x1f'ffffull, 0x20'0000, PageSize::Size2M);
  // The highest slot, to use every context-select bit.
  setContext(sim, config.num_contexts - 1, 9, Mode::Direct, vm.guest.root(), 0, kDirectBase,
             kDirectSize);
  const DutTranslation t = sim.check(read(9, kVa + 0x10));
  EXPECT_EQ(t.resp.fault, Fault::None);
  EXPECT_EQ(t.resp.hpa, kDirectBase + 0x1010);
  EXPECT_EQ(t.resp.size, PageSize::Size4K);
  ASSERT_EQ(t.ops.size(), config.guest_levels);
  for (const MemOp &op : t.ops) {
    EXPECT_GE(op.addr, kDirectBase);
    EXPECT_LT(op.addr, kDirectBase + kDirectSize);
  }
  // GBASE is 1G aligned, so a guest 2M page stays one 2M entry.
  const uint64_t large_va = (kVa + 0x20'0000) & ~0x1f'ffffull;
  const DutTranslation large = sim.check(read(9, large_va + 0x1'2340));
  EXPECT_EQ(large.resp.hpa, kDirectBase + 0x20'0000 + 0x1'2340);
  EXPECT_EQ(large.resp.size, PageSize::Size2M);
}

TEST_F(RtlDirected, DirectOutOfBoundsFinalAddressIsBoundsExit) {
  DirectGuest vm(config, sim.tables());
  const uint64_t outside = kDirectSize + 0x1000;  // a gPA past GSIZE
  vm.guest.map(kVa, outside, PageSize::Size4K);
  setContext(sim, 0, 9, Mode::Direct, vm.guest.root(), 0, kDirectBase, kDirectSize);
  const DutTranslation t = sim.check(read(9, kVa + 4));
  EXPECT_EQ(t.resp.fault, Fault::Bounds);
  EXPECT_TRUE(t.resp.vm_exit);
  EXPECT_EQ(t.resp.fault_addr, outside + 4);
  EXPECT_EQ(t.resp.fault_info, eptq::Final);
  EXPECT_EQ(t.resp.hpa, 0u);
  EXPECT_EQ(t.ops.size(), config.guest_levels) << "the faulting address is never emitted";
  EXPECT_EQ(sim.dut().counter(Counter::FaultBounds), 1u);
}

TEST_F(RtlDirected, DirectOutOfBoundsTableIsBoundsExitBeforeReading) {
  DirectGuest vm(config, sim.tables());
  vm.guest.map(kVa, 0x1000, PageSize::Size4K);
  // GSIZE ends below the guest tables: the root table itself is out of bounds.
  setContext(sim, 0, 9, Mode::Direct, vm.guest.root(), 0, kDirectBase, kGuestTablesGpa);
  const DutTranslation t = sim.check(read(9, kVa));
  EXPECT_EQ(t.resp.fault, Fault::Bounds);
  EXPECT_TRUE(t.ops.empty());
  EXPECT_EQ(t.resp.fault_info, 0u);  // bit 8 clear: not the final gPA
  EXPECT_EQ(t.resp.fault_guest_level, config.guest_levels);
  // The gPA of the root entry the walk was about to read, not the root's base (§6).
  EXPECT_EQ(t.resp.fault_addr, vm.guest.root() + 8 * entryIndex(kVa, config.guest_levels));
  EXPECT_EQ(t.latency, stlbProbeCycles() + 2u + 1)
      << "STLB probe, START, CR3's XLATE (where the bounds check fails), DONE";
}

TEST_F(RtlDirected, DirectEscapedPageTakesTheNestedWalk) {
  DirectGuest vm(config, sim.tables());
  EptTables ept = eptTables(config, sim.tables(), host_tables);
  const uint64_t escaped_gpa = 0x50'0000;  // outside the 2M guest page below
  const uint64_t moved_hpa = kDirectBase + 0x60'0000;  // where the VMM moved that page
  vm.guest.map(kVa & ~0x1f'ffffull, 0x20'0000, PageSize::Size2M);
  vm.guest.map(kVa + 0x40'0000, escaped_gpa, PageSize::Size4K);
  ept.map(escaped_gpa, moved_hpa, PageSize::Size4K);
  setContext(sim, 0, 9, Mode::Direct, vm.guest.root(), ept.eptp(), kDirectBase, kDirectSize);
  const unsigned entries = config.escape_entries;
  if (entries == 0) {
    // No escape filter: the register does not exist, the write is ignored, base-offset stays.
    sim.writeReg(0, escapeReg(0), escaped_gpa | 1);
    const DutTranslation plain = sim.check(read(9, kVa + 0x40'0000));
    EXPECT_EQ(plain.resp.hpa, kDirectBase + escaped_gpa + (kVa & 0xfff));
    EXPECT_EQ(countOps(plain.ops, Dim::Nested, MemOpKind::Read), 0u);
    EXPECT_EQ(sim.dut().counter(Counter::Escapes), 0u);
    return;
  }
  sim.writeReg(0, escapeReg(entries - 1), escaped_gpa | 1);  // the highest entry
  const DutTranslation esc = sim.check(read(9, kVa + 0x40'0000));
  EXPECT_EQ(esc.resp.hpa, moved_hpa + (kVa & 0xfff));
  EXPECT_EQ(countOps(esc.ops, Dim::Nested, MemOpKind::Read), config.nested_levels);
  EXPECT_EQ(sim.dut().counter(Counter::Escapes), 1u);
  // A 2M guest page holding no escaped page keeps its size; one that holds one is splintered.
  EXPECT_EQ(sim.check(read(9, kVa)).resp.size, PageSize::Size2M);
  sim.writeReg(0, escapeReg(0), 0x21'0000 | 1);
  EXPECT_EQ(sim.check(read(9, kVa)).resp.size, PageSize::Size4K);
}

TEST_F(RtlDirected, GuestPageFaultsCarryX86ErrorCodes) {
  GuestPageTables tables = newHostTables();
  tables.map(kVa, kPa, PageSize::Size4K, pte::NX);  // read-only, supervisor, no-execute
  setContext(sim, 0, 0, Mode::Native, tables.root());

  const DutTranslation absent = sim.check(read(0, kVa + 0x20'0000));
  EXPECT_EQ(absent.resp.fault, Fault::GuestPageFault);
  EXPECT_EQ(absent.resp.fault_info, 0u);
  EXPECT_EQ(absent.resp.fault_level, 2u);
  EXPECT_EQ(absent.resp.fault_addr, kVa + 0x20'0000);
  EXPECT_FALSE(absent.resp.vm_exit);

  EXPECT_EQ(sim.check(write(0, kVa)).resp.fault_info, pf::P | pf::W);
  EXPECT_EQ(sim.check(read(0, kVa, true)).resp.fault_info, pf::P | pf::U);
  EXPECT_EQ(sim.check(exec(0, kVa)).resp.fault_info, pf::P | pf::ID);

  // The lowest reserved address bit, bit P: the boundary of the reserved range [51:P].
  tables.writeEntry(kVa, 1, tables.readEntry(kVa, 1) | lowestReservedAddressBit(config));
  sim.control(CtrlOp::InvAll, 0, 0, 0, 0, 0);
  const DutTranslation rsvd = sim.check(read(0, kVa));
  EXPECT_EQ(rsvd.resp.fault_info, pf::P | pf::RSVD);
  EXPECT_EQ(rsvd.resp.fault_level, 1u);
}

TEST_F(RtlDirected, ShadowPageFaultExits) {
  GuestPageTables tables = newHostTables();
  setContext(sim, 0, 4, Mode::Shadow, tables.root());
  const DutTranslation t = sim.check(read(4, kVa));
  EXPECT_EQ(t.resp.fault, Fault::GuestPageFault);
  EXPECT_TRUE(t.resp.vm_exit);
  EXPECT_EQ(sim.dut().counter(Counter::VmExits), 1u);
}

TEST_F(RtlDirected, EarlyFaultsRespondWithHitLatency) {
  GuestPageTables tables = newHostTables();
  setContext(sim, 0, 0, Mode::Native, tables.root());
  const uint64_t non_canonical = lowestNonCanonicalVa(config);  // 0x8000'0000'0000 for L = 4
  const DutTranslation gp = sim.check(read(0, non_canonical));
  EXPECT_EQ(gp.resp.fault, Fault::GuestGeneralProtection);
  EXPECT_EQ(gp.resp.fault_addr, non_canonical);
  EXPECT_EQ(gp.latency, 1u);
  const DutTranslation none = sim.check(read(55, kVa));
  EXPECT_EQ(none.resp.fault, Fault::NoContext);
  EXPECT_EQ(none.latency, 1u);
  EXPECT_EQ(sim.dut().counter(Counter::TlbMisses), 0u);
  EXPECT_EQ(sim.dut().counter(Counter::Lookups), 2u);
}

TEST_F(RtlDirected, EptViolationAndMisconfigPayloads) {
  NestedGuest vm(config, sim.tables(), host_tables, PageSize::Size4K);
  vm.guest->map(kVa, 0x20'0000, PageSize::Size4K);
  vm.guest->map(kVa + 0x1000, 0x21'0000, PageSize::Size4K);
  vm.guest->map(kVa + 0x2000, 0x22'0000, PageSize::Size4K);
  vm.ept.map(0x20'0000, kGuestRamHost + 0x20'0000, PageSize::Size4K, ept::R);  // read-only
  vm.ept.unmap(0x21'0000);
  vm.ept.writeEntry(0x22'0000, 1, vm.ept.readEntry(0x22'0000, 1) & ~ept::R);  // W without R
  setContext(sim, 0, 5, Mode::Nested, vm.guest->root(), vm.ept.eptp());

  const DutTranslation denied = sim.check(write(5, kVa + 0x10));
  EXPECT_EQ(denied.resp.fault, Fault::EptViolation);
  EXPECT_TRUE(denied.resp.vm_exit);
  EXPECT_EQ(denied.resp.fault_addr, 0x20'0010u);
  EXPECT_EQ(denied.resp.fault_level, 1u);
  // Bit 1 write, bits 5:3 = R only, bit 7 linear valid, bit 8 final.
  EXPECT_EQ(denied.resp.fault_info, 0x18au);
  EXPECT_EQ(denied.resp.fault_guest_level, 0u);

  const DutTranslation absent = sim.check(read(5, kVa + 0x1000));
  EXPECT_EQ(absent.resp.fault, Fault::EptViolation);
  EXPECT_EQ(absent.resp.fault_info, 0x181u);  // read, nothing permitted, linear valid, final
  EXPECT_EQ(absent.resp.fault_addr, 0x21'0000u);

  const DutTranslation fetch = sim.check(exec(5, kVa + 0x1008));
  EXPECT_EQ(fetch.resp.fault, Fault::EptViolation);
  EXPECT_EQ(fetch.resp.fault_info, 0x184u);
  EXPECT_EQ(fetch.resp.fault_addr, 0x21'0008u);

  const DutTranslation misconfigured = sim.check(read(5, kVa + 0x2000));
  EXPECT_EQ(misconfigured.resp.fault, Fault::EptMisconfig);
  EXPECT_EQ(misconfigured.resp.fault_info, 0u);  // x86 clears the qualification
  EXPECT_EQ(misconfigured.resp.fault_addr, 0x22'0000u);
  EXPECT_EQ(misconfigured.resp.fault_level, 1u);
  EXPECT_EQ(misconfigured.resp.fault_guest_level, 0u);
}

// §6: an EPT fault met while locating a guest table reports the gPA of the entry the walk
// reads in it (table + 8 x index), a read in the qualification, and the table's guest level.
TEST_F(RtlDirected, EptFaultsWhileLocatingGuestTablesReportTheEntry) {
  NestedGuest vm(config, sim.tables(), host_tables, PageSize::Size4K);
  vm.guest->map(kVa, 0x20'0000, PageSize::Size4K);
  setContext(sim, 0, 5, Mode::Nested, vm.guest->root(), vm.ept.eptp());
  const unsigned levels = config.guest_levels;
  const uint64_t frame = ~uint64_t{0xfff} & ((uint64_t{1} << config.pa_bits) - 1);
  const uint64_t root = vm.guest->root();
  const uint64_t pd = vm.guest->readEntry(kVa, 3) & frame;  // the level-2 table
  const uint64_t pt = vm.guest->readEntry(kVa, 2) & frame;  // the level-1 table

  // The EPT PTE of one guest table's page gets new R/W/X bits; the entry for kVa in that table
  // is the access that faults. Fault level 1 throughout (the EPT PTE).
  struct Case {
    const char *what;
    uint64_t table;
    unsigned guest_level;
    uint64_t ept_perms;
    Request request;
    Fault fault;
    uint32_t info;
  };
  const Case cases[] = {
      // Not present: nothing permitted (bits 5:3 = 0); a read, not final, whatever the request.
      {"root absent", root, levels, 0, exec(5, kVa), Fault::EptViolation, 0x81},
      // Write-only: a misconfiguration, qualification cleared. Before the page-table case: a
      // fault fills nothing, so no cache skips this table then.
      {"PD write-only", pd, 2, ept::W, read(5, kVa), Fault::EptMisconfig, 0},
      // Execute-only: bits 5:3 report X (the AND over the EPT walk).
      {"PT execute-only", pt, 1, ept::X, write(5, kVa + 0x10), Fault::EptViolation, 0xa1},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    const uint64_t pte = vm.ept.readEntry(c.table, 1);
    vm.ept.writeEntry(c.table, 1, (pte & ~uint64_t{7}) | c.ept_perms);
    const DutTranslation t = sim.check(c.request);
    EXPECT_EQ(t.resp.fault, c.fault);
    EXPECT_EQ(t.resp.fault_addr, c.table + 8 * entryIndex(kVa, c.guest_level));
    EXPECT_EQ(t.resp.fault_info, c.info);
    EXPECT_EQ(t.resp.fault_level, 1u);
    EXPECT_EQ(t.resp.fault_guest_level, c.guest_level);
    EXPECT_TRUE(t.resp.vm_exit);
    vm.ept.writeEntry(c.table, 1, pte);
  }

  const DutTranslation ok = sim.check(read(5, kVa + 0x18));
  EXPECT_EQ(ok.resp.fault, Fault::None);
  EXPECT_EQ(ok.resp.hpa, kGuestRamHost + 0x20'0018);
}

TEST_F(RtlDirected, GuestAccessedDirtyUpdatesAndDirtyRefill) {
  GuestPageTables tables = newHostTables();
  tables.map(kVa, kPa, PageSize::Size4K, pte::RW);
  setContext(sim, 0, 0, Mode::Native, tables.root(), 0, 0, 0, /*guest_ad=*/true);

  const DutTranslation first = sim.check(read(0, kVa));
  EXPECT_EQ(countOps(first.ops, Dim::Guest, MemOpKind::FetchOr), config.guest_levels)
      << "A in every level";
  EXPECT_EQ(first.ops.back().mask, pte::A);
  EXPECT_TRUE(sim.dutMemory().peek64(*tables.hostEntryAddress(kVa, 1)) & pte::A);

  // The cached entry is clean: a write drops it and walks again to set D.
  const DutTranslation dirty = sim.check(write(0, kVa));
  EXPECT_FALSE(dirty.resp.tlb_hit);
  EXPECT_EQ(dirty.ops.back().kind, MemOpKind::FetchOr);
  EXPECT_EQ(dirty.ops.back().mask, pte::A | pte::D);
  EXPECT_EQ(sim.dut().counter(Counter::PermRefills), 1u);
  EXPECT_TRUE(sim.check(write(0, kVa)).resp.tlb_hit);
  EXPECT_EQ(sim.dutMemory().peek64(*tables.hostEntryAddress(kVa, 1)),
            sim.modelMemory().peek64(*tables.hostEntryAddress(kVa, 1)));
}

TEST_F(RtlDirected, InvalidationsRemoveWhatTheySelect) {
  GuestPageTables tables = newHostTables();
  tables.map(kVa, kPa, PageSize::Size4K);
  tables.map(kVa + 0x1000, kPa + 0x1000, PageSize::Size4K, pte::RW | pte::G);
  ASSERT_GE(config.num_contexts, 2u) << "two VMs need two context slots";
  setContext(sim, 0, 0, Mode::Native, tables.root());
  setContext(sim, 1, 1, Mode::Native, tables.root());
  const auto warm = [&] {
    sim.check(read(0, kVa));
    sim.check(read(0, kVa + 0x1000));
    sim.check(read(1, kVa));
  };
  const auto hit = [&](uint16_t vpid, uint64_t va) {
    return sim.check(read(vpid, va)).resp.tlb_hit;
  };

  warm();
  sim.control(CtrlOp::InvAddr, 0, 0, kVa, 0, 0);
  EXPECT_FALSE(hit(0, kVa));
  EXPECT_TRUE(hit(0, kVa + 0x1000));
  EXPECT_TRUE(hit(1, kVa));

  warm();
  sim.control(CtrlOp::InvPcid, 0, 0, 0, 0, 0);
  EXPECT_FALSE(hit(0, kVa));
  EXPECT_TRUE(hit(0, kVa + 0x1000)) << "global entries survive INV_PCID";

  warm();
  sim.control(CtrlOp::InvVpid, 0, 0, 0, 1, 0);
  EXPECT_FALSE(hit(1, kVa));
  EXPECT_TRUE(hit(0, kVa));

  warm();
  sim.writeReg(0, CtxReg::Mode, static_cast<uint64_t>(Mode::Shadow));  // implicit INV_VPID
  EXPECT_FALSE(hit(0, kVa + 0x1000));
  EXPECT_TRUE(hit(1, kVa));

  warm();
  sim.control(CtrlOp::InvAll, 0, 0, 0, 0, 0);
  EXPECT_FALSE(hit(1, kVa));
  EXPECT_EQ(sim.dut().counter(Counter::InvAll), 1u);
}

TEST_F(RtlDirected, InvEptpFlushesTheVmsUsingThatEpt) {
  NestedGuest vm(config, sim.tables(), host_tables, PageSize::Size4K);
  vm.guest->map(kVa, 0x20'0000, PageSize::Size4K);
  setContext(sim, 0, 5, Mode::Nested, vm.guest->root(), vm.ept.eptp());
  sim.check(read(5, kVa));
  EXPECT_TRUE(sim.check(read(5, kVa)).resp.tlb_hit);
  sim.control(CtrlOp::InvEptp, 0, 0, vm.ept.eptp(), 0, 0);
  const DutTranslation again = sim.check(read(5, kVa));
  EXPECT_FALSE(again.resp.tlb_hit);
  EXPECT_EQ(again.ops.size(), coldNestedReads(config)) << "TLB, PSC and nested TLB all flushed";
}

TEST_F(RtlDirected, SlowMemoryAndBackPressureAreCountedInWalkCycles) {
  Cosim slow(MemoryBehaviour{2, 6, 40, 99});
  FrameAllocator alloc(kHostTablesBase, kHostTablesLimit);
  NestedGuest vm(config, slow.tables(), alloc, PageSize::Size4K);
  vm.guest->map(kVa, 0x20'0000, PageSize::Size4K);
  setContext(slow, 0, 5, Mode::Nested, vm.guest->root(), vm.ept.eptp(true));
  const DutTranslation t = slow.check(write(5, kVa));
  uint64_t sum = 0;
  for (uint64_t c : t.op_cycles) {
    EXPECT_GE(c, 3u);
    sum += c;
  }
  // A cold walk translates CR3, the guest_levels - 1 table pointers and the final gPA, each in an
  // XLATE and, nested, an ANSWER cycle (§12), which presents the first read of the gPA's EPT walk
  // (early: its c counts from ANSWER, so the walk is one cycle shorter per gPA).
  EXPECT_EQ(t.latency, stlbProbeCycles() + 2 + (config.guest_levels + 1) + sum);
  slow.expectCountersMatch();
}

TEST_F(RtlDirected, HitsAndEarlyFaultsAreAcceptedEveryCycle) {
  GuestPageTables tables = newHostTables();
  std::vector<Request> requests;
  // As many pages as the 4K TLB array holds, up to 8 (consecutive pages spread over the sets).
  const uint64_t pages = std::min<uint64_t>(8, config.tlb[0].sets * config.tlb[0].ways);
  for (uint64_t page = 0; page < pages; ++page) {
    tables.map(kVa + (page << 12), kPa + (page << 16), PageSize::Size4K);
    requests.push_back(read(0, kVa + (page << 12) + page * 8));
  }
  setContext(sim, 0, 0, Mode::Native, tables.root());
  for (const Request &req : requests)
    sim.check(req);  // warm the TLB
  requests.push_back(read(0, lowestNonCanonicalVa(config) | 0x1000));  // GUEST_GP
  requests.push_back(read(77, kVa));                     // NO_CONTEXT
  requests.push_back(requests.front());

  uint64_t cycles = 0;
  const std::vector<Response> responses = sim.dut().stream(requests, cycles);
  EXPECT_EQ(cycles, requests.size()) << "one request accepted per cycle, response one cycle later";
  ASSERT_EQ(responses.size(), requests.size());
  for (size_t i = 0; i < requests.size(); ++i)
    EXPECT_EQ(responses[i], sim.model().translate(requests[i]).resp) << "request " << i;
}

TEST(RtlWaves, FstDumpCoversOnlyTheEnabledWindow) {
  // One file per parameter set: the sets' tests may run in parallel.
  const std::string path =
      ::testing::TempDir() + "vmmu_rtl_waves_" + rtl::kParameterSet + ".fst";
  const auto file_size = [&] {
    std::ifstream file(path, std::ios::binary | std::ios::ate);
    return file ? static_cast<long long>(file.tellg()) : -1LL;
  };
  SparseMemory memory;
  FrameAllocator alloc(kHostTablesBase, kHostTablesLimit);
  GuestPageTables tables = hostTables(rtl::verilatedConfig(), memory, alloc);
  tables.map(kVa, kPa, PageSize::Size4K);
  long long short_run = 0;
  for (const bool whole_run : {false, true}) {
    {
      VerilatedDutHarness dut(memory, kFixedLatency, path);
      dut.setWaveDump(whole_run);
      dut.writeReg(0, CtxReg::Vpid, ctxVpid(0));
      dut.writeReg(0, CtxReg::Cr3, tables.root());
      for (int i = 0; i < 200; ++i)
        dut.translate(read(0, kVa + 8 * i));
      dut.setWaveDump(true);
      EXPECT_EQ(dut.translate(read(0, kVa)).resp.hpa, kPa);
    }
    if (!whole_run)
      short_run = file_size();
  }
  EXPECT_GT(short_run, 0);
  EXPECT_GT(file_size(), short_run) << "dumping every cycle writes more than a window";
  std::remove(path.c_str());
}

// §9.2, §12: a page evicted from the first-level 4K array but kept by the STLB answers in two
// cycles (its 4K set matched in the probe's first cycle) with no memory operation and refills the
// first level; an STLB entry that does not grant costs that one probe cycle before the walk. The
// pages share a first-level set (a stride of its sets) and spread over the STLB's sets, so that
// the first page leaves only the first level.
TEST_F(RtlDirected, StlbHitTakesTwoCyclesAndANonGrantingEntryOneMoreBeforeTheWalk) {
  if (!config.hasStlb())
    GTEST_SKIP() << "no STLB in this parameter set";
  GuestPageTables tables = newHostTables();
  const unsigned l1_sets = config.tlb[0].sets, l1_ways = config.tlb[0].ways;
  const auto page = [&](unsigned k) { return kVa + uint64_t{k} * l1_sets * 0x1000; };
  tables.map(page(0), kPa, PageSize::Size4K, 0);  // read-only
  for (unsigned k = 1; k <= l1_ways; ++k)
    tables.map(page(k), kPa + uint64_t{k} * 0x1000, PageSize::Size4K, pte::RW);
  setContext(sim, 0, 0, Mode::Native, tables.root());
  for (unsigned k = 0; k <= l1_ways; ++k)
    EXPECT_FALSE(sim.check(read(0, page(k))).resp.tlb_hit) << k;  // page(l1_ways) evicts page(0)

  const DutTranslation stlb = sim.check(read(0, page(0) + 0x9a8));
  EXPECT_TRUE(stlb.resp.tlb_hit);
  EXPECT_EQ(stlb.resp.hpa, kPa + 0x9a8);
  EXPECT_TRUE(stlb.ops.empty());
  EXPECT_EQ(stlb.latency, 2u);
  EXPECT_EQ(sim.dut().counter(Counter::StlbHits4K), 1u);
  EXPECT_EQ(sim.dut().counter(Counter::StlbMisses4K), l1_ways + 1);
  EXPECT_EQ(sim.check(read(0, page(0))).latency, 1u);  // refilled into the first level

  // A write finds page(0) read-only in both levels: both drop it, the STLB's 4K set decides in
  // one cycle.
  const DutTranslation denied = sim.check(write(0, page(0)));
  EXPECT_EQ(denied.resp.fault, Fault::GuestPageFault);
  // NATIVE's first read, below a PSC hit or at CR3, is presented in START (§12: early).
  EXPECT_EQ(denied.latency, 1u + 2u + 2u * denied.ops.size() - 1) << "STLB probe, START, ops, DONE";
  EXPECT_EQ(sim.dut().counter(Counter::PermRefills), 1u);
  EXPECT_EQ(sim.dut().counter(Counter::Walks), sim.model().counter(Counter::Walks));
}

// §9.2, §12: a 2M page evicted from the first-level 2M array is found in the STLB's 2M set, which
// the probe compares in its second cycle (the 4K set holds no match): response valid 3 cycles
// after acceptance. The pages share a first-level 2M set.
TEST_F(RtlDirected, StlbTwoMiBHitTakesThreeCycles) {
  if (!config.hasStlb())
    GTEST_SKIP() << "no STLB in this parameter set";
  GuestPageTables tables = newHostTables();
  const unsigned l1_sets = config.tlb[1].sets, l1_ways = config.tlb[1].ways;
  const uint64_t base = 0x0000'2000'0000'0000;  // 2M-aligned
  const auto page = [&](unsigned k) { return base + uint64_t{k} * l1_sets * 0x20'0000; };
  for (unsigned k = 0; k <= l1_ways; ++k)
    tables.map(page(k), uint64_t{k + 1} * 0x20'0000, PageSize::Size2M, pte::RW);
  setContext(sim, 0, 0, Mode::Native, tables.root());
  for (unsigned k = 0; k <= l1_ways; ++k)
    EXPECT_FALSE(sim.check(read(0, page(k))).resp.tlb_hit) << k;  // page(l1_ways) evicts page(0)
  const DutTranslation stlb = sim.check(read(0, page(0) + 0x1'2345));
  EXPECT_TRUE(stlb.resp.tlb_hit);
  EXPECT_EQ(stlb.resp.size, PageSize::Size2M);
  EXPECT_EQ(stlb.resp.hpa, 0x20'0000u + 0x1'2345);
  EXPECT_TRUE(stlb.ops.empty());
  EXPECT_EQ(stlb.latency, 3u);
  EXPECT_EQ(sim.dut().counter(Counter::StlbHits2M), 1u);
}

// §9.2, §12: an invalidation other than INV_ALL sweeps the STLB's sets, one a cycle, and keeps the
// control port busy for StlbSets cycles after the one it is accepted in; INV_ALL clears the valid
// bits at once. Measured as the cycles between the acceptance of two back-to-back commands (the
// harness presents the next command in the cycle after the previous one is accepted).
TEST_F(RtlDirected, StlbSweepKeepsTheControlPortBusyForOneCyclePerSet) {
  const auto cycles_between = [&](CtrlOp first) {
    sim.control(first, 0, 0, kVa, 3, 0);
    const uint64_t accepted = sim.dut().cycle();
    sim.control(CtrlOp::InvAll, 0, 0, 0, 0, 0);
    return sim.dut().cycle() - accepted;
  };
  const uint64_t sweep = config.hasStlb() ? config.stlb.sets : 0;
  EXPECT_EQ(cycles_between(CtrlOp::InvAll), 1u);
  EXPECT_EQ(cycles_between(CtrlOp::InvAddr), 1u + sweep);
  EXPECT_EQ(cycles_between(CtrlOp::InvPcid), 1u + sweep);
  EXPECT_EQ(cycles_between(CtrlOp::InvVpid), 1u + sweep);
}

// §9.2: the sweep removes exactly what INV_VPID removes: the STLB entries of one VPID go, the
// other VPID's stay and serve its requests (cosimulated, so the model agrees on every response).
TEST_F(RtlDirected, StlbSweepRemovesOnlyTheInvalidatedVpid) {
  if (!config.hasStlb())
    GTEST_SKIP() << "no STLB in this parameter set";
  GuestPageTables tables = newHostTables();
  const unsigned l1_sets = config.tlb[0].sets, l1_ways = config.tlb[0].ways;
  const auto page = [&](unsigned k) { return kVa + uint64_t{k} * l1_sets * 0x1000; };
  for (unsigned k = 0; k <= l1_ways; ++k)
    tables.map(page(k), kPa + uint64_t{k} * 0x1000, PageSize::Size4K, pte::RW);
  setContext(sim, 0, 1, Mode::Native, tables.root());
  setContext(sim, 1, 2, Mode::Native, tables.root());
  for (const uint16_t vpid : {1, 2}) {
    for (unsigned k = 0; k <= l1_ways; ++k)
      sim.check(read(vpid, page(k)));
  }
  // page(0) of both VPIDs has left the first level (its set holds the last l1_ways pages of
  // VPID 2) and is in the STLB.
  sim.control(CtrlOp::InvVpid, 0, 0, 0, 1, 0);
  EXPECT_FALSE(sim.check(read(1, page(0))).resp.tlb_hit);  // swept: walks
  const DutTranslation kept = sim.check(read(2, page(0)));
  EXPECT_TRUE(kept.resp.tlb_hit);
  EXPECT_EQ(kept.latency, 2u);
  EXPECT_EQ(sim.dut().counter(Counter::StlbHits4K), 1u);
}

}  // namespace
}  // namespace vmmu::rtltest
