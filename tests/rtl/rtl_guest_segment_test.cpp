// GUEST_DIRECT and DUAL_DIRECT on the verilated MMU (docs/architecture.md §18): the guest
// segment's walk, its faults, its escape filters, its flush rules, and a random cosimulation of
// both modes beside NESTED and DIRECT. Every translation is cosimulated against the golden model
// (Cosim::check); reference lists, cycle counts and fault payloads are also asserted from §18's
// text, computed here for the configuration of the library under test.
#include <gtest/gtest.h>

#include <random>

#include "cosim.h"
#include "rtl_test_env.h"
#include "vmmu/paging.h"

namespace vmmu::rtltest {
namespace {

// A 1 GiB-aligned canonical VA for every VaBits (48 or 57) and 8 MiB of segment above it, whose
// gPAs start at kSegGpa: OFFSET = kSegGpa - kSegBase (mod 2^64), 16 MiB aligned, so a segment
// page is at most 2M (§18.1 gsize: OFFSET is no multiple of 1G).
constexpr uint64_t kSegBase = 0x0000'7e00'0000'0000;
constexpr uint64_t kSegBytes = 0x80'0000;
constexpr uint64_t kSegGpa = 0x100'0000;
constexpr uint64_t kSegOffset = kSegGpa - kSegBase;
constexpr uint64_t kGrantAll = gseg::RW | gseg::US | gseg::X;
constexpr uint16_t kVpid = 7;

// With a memory latency of one cycle every operation costs c = 2 (§12).
constexpr MemoryBehaviour kFixedLatency{1, 1, 0, 1};

unsigned countOps(const std::vector<MemOp> &ops, Dim dim) {
  unsigned n = 0;
  for (const MemOp &op : ops)
    n += op.dim == dim;
  return n;
}

class RtlGuestSegment : public ::testing::Test {
protected:
  Cosim sim{kFixedLatency};
  const MmuConfig &config = sim.config();
  FrameAllocator host_tables{kHostTablesBase, kHostTablesLimit};
  // Guest RAM behind a 4K-paged EPT at kGuestRamHost + gPA: GUEST_DIRECT translates through it,
  // DUAL_DIRECT with GBASE = kGuestRamHost finds the same host pages base-offset.
  NestedGuest vm{config, sim.tables(), host_tables, PageSize::Size4K};

  // §12: a miss's STLB probe is its 4K set alone when the 2M set holds no valid 2M entry
  // (§9.2), as in every translation these tests time (nothing of 2M precedes them).
  uint64_t stlbProbeCycles() const { return config.hasStlb() ? 1 : 0; }

  void setUp(Mode mode, uint64_t grant = kGrantAll) {
    setContext(sim, 0, kVpid, mode, vm.guest->root(), vm.ept.eptp(), kGuestRamHost, kGuestRamSize);
    writeSegment(kSegBase | grant, kSegBase + kSegBytes, kSegOffset);
  }
  void writeSegment(uint64_t base, uint64_t limit, uint64_t offset) {
    sim.writeReg(0, CtxReg::GsegBase, base);
    sim.writeReg(0, CtxReg::GsegLimit, limit);
    sim.writeReg(0, CtxReg::GsegOffset, offset);
  }
  DutTranslation access(uint64_t va, Access kind = Access::Read, bool user = false) {
    return sim.check(Request{kVpid, 0, va, kind, user});
  }

  void TearDown() override {
    sim.expectCountersMatch();
    EXPECT_EQ(sim.mismatches(), 0u);
  }
};

TEST_F(RtlGuestSegment, GuestDirectReadsOnlyTheEptOfTheFinalGpa) {
  setUp(Mode::GuestDirect);
  const DutTranslation cold = access(kSegBase + 0x5123);
  EXPECT_EQ(cold.resp.fault, Fault::None);
  EXPECT_EQ(cold.resp.hpa, kGuestRamHost + kSegGpa + 0x5123);
  EXPECT_EQ(cold.resp.size, PageSize::Size4K) << "guest 2M on a 4K EPT page";
  const unsigned m = config.nested_levels;
  ASSERT_EQ(cold.ops.size(), m) << "§18.2: 4 EPT reads, no guest read";
  for (unsigned i = 0; i < m; ++i) {
    EXPECT_EQ(cold.ops[i].dim, Dim::Nested);
    EXPECT_EQ(cold.ops[i].kind, MemOpKind::Read);
    EXPECT_EQ(cold.ops[i].level, m - i);
  }
  EXPECT_EQ(cold.latency, stlbProbeCycles() + 4 + 2 * m - 1)
      << "START, XLATE, ANSWER presenting the first EPT read (§12: early), DONE + sum c";
  EXPECT_EQ(access(kSegBase + 0x5008).latency, 1u) << "a TLB hit";
  // Another 4K page of the same 2M gPA region: the EPT PSCs skip the upper EPT levels.
  const DutTranslation warm = access(kSegBase + 0x7000);
  EXPECT_EQ(warm.ops.size(), eptRowReads(config, 2));
  EXPECT_EQ(warm.latency, stlbProbeCycles() + 4 + 2 * warm.ops.size() - 1);
  EXPECT_EQ(sim.dut().counter(static_cast<unsigned>(Counter::GuestReads)), 0u);
}

TEST_F(RtlGuestSegment, DualDirectTranslatesWithoutAMemoryReference) {
  setUp(Mode::DualDirect);
  const DutTranslation t = access(kSegBase + 0x21'0abc, Access::Write, true);
  EXPECT_EQ(t.resp.fault, Fault::None);
  EXPECT_EQ(t.resp.hpa, kGuestRamHost + kSegGpa + 0x21'0abc);
  // gsize 2M (OFFSET 16M aligned, the 2M page inside the segment); GBASE 256M aligned.
  EXPECT_EQ(t.resp.size, PageSize::Size2M);
  EXPECT_TRUE(t.ops.empty());
  EXPECT_EQ(t.latency, stlbProbeCycles() + 3) << "START, XLATE, DONE";
  // A limit inside the next 2M page leaves its VAs 4K pages (§18.1).
  writeSegment(kSegBase | kGrantAll, kSegBase + 0x40'1000, kSegOffset);
  EXPECT_EQ(access(kSegBase + 0x40'0010).resp.size, PageSize::Size4K);
  // A 4K-misaligned OFFSET too.
  writeSegment(kSegBase | kGrantAll, kSegBase + kSegBytes, kSegOffset + 0x1000);
  sim.control(CtrlOp::InvPcid, 0, 0, 0, kVpid, 0);
  const DutTranslation shifted = access(kSegBase + 0x21'0abc);
  EXPECT_EQ(shifted.resp.hpa, kGuestRamHost + kSegGpa + 0x21'1abc);
  EXPECT_EQ(shifted.resp.size, PageSize::Size4K);
}

TEST_F(RtlGuestSegment, SegmentPermissionFaultIsAGuestPageFaultAtLevelZero) {
  for (const Mode mode : {Mode::GuestDirect, Mode::DualDirect}) {
    setUp(mode, gseg::US);  // reads only, user allowed, no execute
    const DutTranslation w = access(kSegBase + 0x10, Access::Write);
    EXPECT_EQ(w.resp.fault, Fault::GuestPageFault);
    EXPECT_EQ(w.resp.fault_info, pf::P | pf::W);
    EXPECT_EQ(w.resp.fault_addr, kSegBase + 0x10);
    EXPECT_EQ(w.resp.fault_level, 0u);
    EXPECT_FALSE(w.resp.vm_exit);
    EXPECT_TRUE(w.ops.empty());
    EXPECT_EQ(w.latency, stlbProbeCycles() + 2) << "START, DONE";
    EXPECT_EQ(access(kSegBase + 0x10, Access::Exec).resp.fault_info, pf::P | pf::ID);
    setUp(mode, gseg::RW | gseg::X);  // supervisor only
    EXPECT_EQ(access(kSegBase + 0x10, Access::Read, true).resp.fault_info, pf::P | pf::U);
    EXPECT_EQ(access(kSegBase + 0x10, Access::Write).resp.fault, Fault::None);
  }
}

TEST_F(RtlGuestSegment, DualDirectOutOfBoundsIsABoundsExitOnTheFinalGpa) {
  setUp(Mode::DualDirect);
  sim.writeReg(0, CtxReg::GSize, kSegGpa);  // the segment's gPAs lie past GSIZE
  const DutTranslation t = access(kSegBase + 0x3456);
  EXPECT_EQ(t.resp.fault, Fault::Bounds);
  EXPECT_EQ(t.resp.fault_info, eptq::Final);
  EXPECT_EQ(t.resp.fault_addr, kSegGpa + 0x3456);
  EXPECT_EQ(t.resp.fault_guest_level, 0u);
  EXPECT_TRUE(t.resp.vm_exit);
  EXPECT_TRUE(t.ops.empty());
  EXPECT_EQ(t.latency, stlbProbeCycles() + 3);
}

TEST_F(RtlGuestSegment, GuestDirectEptViolationReportsTheFinalGpa) {
  setUp(Mode::GuestDirect);
  writeSegment(kSegBase | kGrantAll, kSegBase + kSegBytes, kGuestRamSize - kSegBase);  // past the EPT
  const DutTranslation t = access(kSegBase + 0x10, Access::Write);
  EXPECT_EQ(t.resp.fault, Fault::EptViolation);
  EXPECT_EQ(t.resp.fault_addr, kGuestRamSize + 0x10);
  EXPECT_EQ(t.resp.fault_guest_level, 0u);
  EXPECT_TRUE(t.resp.fault_info & eptq::Final);
  EXPECT_TRUE(t.resp.vm_exit);
}

TEST_F(RtlGuestSegment, EscapedVaTakesTheWalkOutsideTheSegment) {
  const uint64_t va = kSegBase + 0x3000;
  vm.guest->map(va, 0x200'0000, PageSize::Size4K, pte::RW);
  for (const Mode mode : {Mode::GuestDirect, Mode::DualDirect}) {
    setUp(mode);
    if (config.escape_entries == 0) {
      sim.writeReg(0, guestEscapeReg(0), va | 1);  // no such register: ignored
      EXPECT_EQ(access(va).resp.hpa, kGuestRamHost + kSegGpa + 0x3000);
      continue;
    }
    const uint64_t escapes = sim.dut().counter(static_cast<unsigned>(Counter::Escapes));
    sim.writeReg(0, guestEscapeReg(config.escape_entries - 1), va | 1);
    const DutTranslation t = access(va + 0x10);
    EXPECT_EQ(t.resp.hpa, kGuestRamHost + 0x200'0010) << "the guest tables' mapping";
    EXPECT_EQ(countOps(t.ops, Dim::Guest), config.guest_levels);
    EXPECT_EQ(sim.dut().counter(static_cast<unsigned>(Counter::Escapes)), escapes + 1);
    // The 2M page around an escaped VA is no segment page of 2M (§18.1 gsize).
    EXPECT_EQ(access(kSegBase + 0x10'0000).resp.size, PageSize::Size4K);
    sim.writeReg(0, guestEscapeReg(config.escape_entries - 1), 0);
  }
}

TEST_F(RtlGuestSegment, DualDirectEscapedGpaTakesTheNestedWalk) {
  if (config.escape_entries == 0)
    GTEST_SKIP() << "no escape filter in this parameter set";
  setUp(Mode::DualDirect);
  const uint64_t moved = kGuestRamHost + 0x3f0'0000;  // still inside the VM's region
  ASSERT_TRUE(vm.ept.unmap(kSegGpa + 0x5000));
  vm.ept.map(kSegGpa + 0x5000, moved, PageSize::Size4K);
  sim.writeReg(0, escapeReg(0), (kSegGpa + 0x5000) | 1);
  const DutTranslation t = access(kSegBase + 0x5040);
  EXPECT_EQ(t.resp.hpa, moved + 0x40);
  EXPECT_EQ(t.resp.size, PageSize::Size4K);
  EXPECT_EQ(t.ops.size(), config.nested_levels);
  EXPECT_EQ(countOps(t.ops, Dim::Nested), config.nested_levels);
  EXPECT_EQ(t.latency, stlbProbeCycles() + 4 + 2 * t.ops.size() - 1);
  EXPECT_EQ(sim.dut().counter(static_cast<unsigned>(Counter::Escapes)), 1u);
}

TEST_F(RtlGuestSegment, SegmentWritesKeepTheTlbGescapeAndReservedModeRules) {
  setUp(Mode::DualDirect);
  const uint64_t va = kSegBase + 0x1000;
  access(va);
  // GSEG_* writes do not flush (§3, §18.7): the entry still hits.
  writeSegment(kSegBase | kGrantAll, kSegBase + kSegBytes, kSegOffset);
  EXPECT_EQ(access(va).latency, 1u);
  // MODE 7 is reserved: ignored, no flush; the slot stays DUAL_DIRECT.
  sim.writeReg(0, CtxReg::Mode, 7);
  EXPECT_EQ(access(va).latency, 1u);
  EXPECT_EQ(access(kSegBase + 0x60'0000).ops.size(), 0u) << "still DUAL_DIRECT";
  if (config.escape_entries == 0)
    return;
  // A GESCAPE write flushes the VPID, whatever it writes.
  sim.writeReg(0, guestEscapeReg(0), 0);
  EXPECT_GT(access(va).latency, 1u);
}

// Random requests in all six-mode mixes of a slot: segments anywhere over the guest's mapped and
// unmapped VAs, random OFFSETs and grants, GESCAPE and ESCAPE entries, mode switches (and the
// reserved code 7), invalidations; every translation compared with the model.
TEST_F(RtlGuestSegment, RandomCosimulationOfBothModes) {
  std::mt19937_64 random(15);
  auto below = [&random](uint64_t n) { return random() % n; };
  // Guest pages around the segment, so that escaped and outside VAs have mappings too.
  for (uint64_t i = 0; i < 64; ++i) {
    const uint64_t va = kSegBase - 0x10'0000 + i * 0x4'0000 + below(64) * 0x1000;
    vm.guest->map(va, 0x200'0000 + i * 0x1000, PageSize::Size4K, pte::RW | pte::US);
  }
  setUp(Mode::GuestDirect);
  const Mode modes[] = {Mode::GuestDirect, Mode::DualDirect, Mode::Nested, Mode::Direct};
  const unsigned requests = 4000;
  for (unsigned n = 0; n < requests && sim.mismatches() == 0; ++n) {
    const unsigned roll = static_cast<unsigned>(below(1000));
    if (roll < 15) {
      sim.writeReg(0, CtxReg::Mode, roll < 2 ? 7 : static_cast<uint64_t>(modes[below(4)]));
    } else if (roll < 40) {
      const uint64_t base = kSegBase - 0x10'0000 + below(16) * 0x10'0000;
      const uint64_t limit = base + below(40) * 0x4'0000 + below(2) * 0x1000;
      const uint64_t offset = below(3) == 0 ? below(1u << 14) * 0x1000 - base : kSegGpa - base;
      writeSegment(base | (below(4) == 0 ? below(8) << 1 : kGrantAll), limit, offset);
      if (below(2))
        sim.control(CtrlOp::InvPcid, 0, 0, 0, kVpid, 0);
    } else if (roll < 55 && config.escape_entries > 0) {
      const uint64_t page = kSegBase - 0x10'0000 + below(0x200) * 0x1000;
      sim.writeReg(0, guestEscapeReg(static_cast<unsigned>(below(config.escape_entries))), below(3) ? page | 1 : 0);
    } else if (roll < 65 && config.escape_entries > 0) {
      const uint64_t gpa = kSegGpa + below(0x800) * 0x1000;
      sim.writeReg(0, escapeReg(static_cast<unsigned>(below(config.escape_entries))), below(3) ? gpa | 1 : 0);
    } else if (roll < 70) {
      sim.writeReg(0, CtxReg::GSize, below(2) ? kGuestRamSize : kSegGpa + below(0x800) * 0x1000);
    } else if (roll < 75) {
      sim.control(CtrlOp::InvVpid, 0, 0, 0, kVpid, 0);
    }
    const uint64_t va = kSegBase - 0x10'0000 + below(0x120'0000);
    access(va, static_cast<Access>(below(3)), below(2) == 0);
  }
  EXPECT_EQ(sim.mismatches(), 0u);
}

}  // namespace
}  // namespace vmmu::rtltest
