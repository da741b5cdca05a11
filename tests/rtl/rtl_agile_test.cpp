// AGILE on the verilated MMU (docs/architecture.md §20): a walk that starts in the shadow tables
// and, at a shadow entry with the switch bit (or at the root when GCR3.ROOT_NESTED is set),
// continues as NESTED's walk of the guest's own tables. Every translation is cosimulated against
// the golden model (Cosim::check); reference lists, cycle counts and fault payloads are also
// asserted from §20's text, computed here for the configuration of the library under test.
#include <gtest/gtest.h>

#include <random>

#include "cosim.h"
#include "rtl_test_env.h"
#include "vmmu/paging.h"

namespace vmmu::rtltest {
namespace {

constexpr uint64_t kVa = 0x0000'7f12'3456'7000;
// The guest's data page: guest RAM, another 2M region of the 1G region its tables lie in.
constexpr uint64_t kDataGpa = 0x0210'0000;
constexpr uint16_t kVpid = 9;
constexpr uint64_t kAddrBits = 0x000f'ffff'ffff'f000;  // an entry's address field ([51:12])

// With a memory latency of one cycle every operation costs c = 2 (§12).
constexpr MemoryBehaviour kFixedLatency{1, 1, 0, 1};

class RtlAgile : public ::testing::Test {
protected:
  Cosim sim{kFixedLatency};
  const MmuConfig &config = sim.config();
  const unsigned levels = config.guest_levels;
  const unsigned m = config.nested_levels;
  FrameAllocator host_tables{kHostTablesBase, kHostTablesLimit};
  // The guest's own tables and RAM behind a 4K-paged EPT (host kGuestRamHost + gPA).
  NestedGuest vm{config, sim.tables(), host_tables, PageSize::Size4K};
  // The VMM's shadow tables (host addresses), rooted at CR3.
  GuestPageTables shadow = hostTables(config, sim.tables(), host_tables);

  // §12: a miss probes the STLB's 4K set alone when its 2M set holds no valid 2M entry (§9.2),
  // as before every walk these tests time (they translate 4K pages only).
  uint64_t stlbProbeCycles() const { return config.hasStlb() ? 1 : 0; }
  static uint64_t hostOf(uint64_t gpa) { return kGuestRamHost + gpa; }

  void SetUp() override {
    setContext(sim, 0, kVpid, Mode::Agile, shadow.root(), vm.ept.eptp());
  }
  void TearDown() override {
    sim.expectCountersMatch();
    EXPECT_EQ(sim.mismatches(), 0u);
  }

  // Maps `va` to the data gPA `gpa` in the guest's tables and, as the VMM's shadow would, to
  // its host page in the shadow tables.
  void mapBoth(uint64_t va, uint64_t gpa, uint64_t flags = pte::RW | pte::US) {
    vm.guest->map(va, gpa, PageSize::Size4K, flags);
    shadow.map(va, hostOf(gpa), PageSize::Size4K, flags);
  }
  // Sets the switch bit in the shadow entry of `level` (>= 2) for va: it then holds the host
  // address of the guest's level-1 lower table, which the guest's own level entry points to (§20.1).
  void switchAt(uint64_t va, unsigned level, uint64_t flags = pte::RW | pte::US) {
    const uint64_t guest_table = vm.guest->readEntry(va, level) & kAddrBits;
    shadow.writeEntry(va, level, hostOf(guest_table) | pte::P | flags | agile::Switch);
  }
  // The gPA of the guest's level-`level` table on va's walk.
  uint64_t guestTableGpa(uint64_t va, unsigned level) const {
    return level == levels ? vm.guest->root() : vm.guest->readEntry(va, level + 1) & kAddrBits;
  }
  DutTranslation access(uint64_t va, Access kind = Access::Read, bool user = false) {
    return sim.check(Request{kVpid, 0, va, kind, user});
  }

  // §20.2's cold walk whose first guest level walked nested is `j` (1 .. L-1: a switch bit at
  // shadow level j + 1): L - j shadow reads, then j guest reads, the tables after the first and
  // the final gPA each through an EPT row. The rows with §1's EPT PSCs: the first reads all m
  // levels, later table rows (the guest tables share one 2M gPA region) from level 2 up, the
  // final row (another 2M region of the same 1G) from level 3 up.
  unsigned coldNestedPart(unsigned j) const {
    if (j == 1)
      return m;
    return m + (j - 2) * eptRowReads(config, 2) + eptRowReads(config, 3);
  }
  // Checks the order of the guest-dimension reads (shadow entries, then guest entries) and the
  // counts of a walk of `va` switched at guest level j (0: no switch).
  void expectWalk(const DutTranslation &t, uint64_t va, unsigned j, unsigned nested_reads) {
    std::vector<uint64_t> guest_addrs;
    for (unsigned level = levels; level > j; --level)
      guest_addrs.push_back(*shadow.hostEntryAddress(va, level));
    for (unsigned level = j; level >= 1; --level)
      guest_addrs.push_back(*vm.guest->hostEntryAddress(va, level));
    std::vector<uint64_t> seen;
    unsigned nested = 0;
    for (const MemOp &op : t.ops) {
      EXPECT_EQ(op.kind, MemOpKind::Read);
      if (op.dim == Dim::Guest)
        seen.push_back(op.addr);
      else
        ++nested;
    }
    EXPECT_EQ(seen, guest_addrs) << "shadow levels L..j+1, then guest levels j..1";
    EXPECT_EQ(nested, nested_reads);
    // Every gPA the walk translates has its XLATE cycle (CR3 or gCR3, L - 1 pointers, the
    // final gPA); those that go through the EPT one ANSWER cycle more (§20.6), which presents
    // the first read of their EPT walk (§12: early; cold, every one misses the nested TLB), so
    // the ANSWER cycles cancel.
    EXPECT_EQ(t.latency, stlbProbeCycles() + 2 + (levels + 1) + 2 * t.ops.size());
  }

  void switchedWalk(unsigned j) {
    mapBoth(kVa, kDataGpa);
    switchAt(kVa, j + 1);
    const DutTranslation t = access(kVa + 0x123);
    EXPECT_EQ(t.resp.fault, Fault::None);
    EXPECT_EQ(t.resp.hpa, hostOf(kDataGpa) + 0x123);
    EXPECT_EQ(t.resp.size, PageSize::Size4K);
    expectWalk(t, kVa, j, coldNestedPart(j));
    EXPECT_EQ(access(kVa + 0x8).latency, 1u) << "a TLB hit";
  }
};

TEST_F(RtlAgile, NoSwitchWalksAsShadow) {
  mapBoth(kVa, kDataGpa);
  const DutTranslation t = access(kVa + 0x10, Access::Write, true);
  EXPECT_EQ(t.resp.hpa, hostOf(kDataGpa) + 0x10);
  ASSERT_EQ(t.ops.size(), levels);
  expectWalk(t, kVa, 0, 0);
  EXPECT_EQ(t.latency, stlbProbeCycles() + 2 + (levels + 1) + 2 * levels) << "SHADOW's 15 at L = 4";
}

TEST_F(RtlAgile, SwitchInTheShadowPdeReadsTheGuestPteThenOneEptRow) { switchedWalk(1); }

TEST_F(RtlAgile, SwitchInTheShadowPdpteReadsTwoGuestLevels) { switchedWalk(2); }

TEST_F(RtlAgile, SwitchInTheShadowRootEntryReadsAllButOneLevelNested) { switchedWalk(levels - 1); }

TEST_F(RtlAgile, RootNestedIsNestedsWalkFromGcr3) {
  mapBoth(kVa, kDataGpa);
  sim.writeReg(0, CtxReg::Gcr3, vm.guest->root() | agile::RootNested);
  const DutTranslation t = access(kVa + 0x123);
  EXPECT_EQ(t.resp.hpa, hostOf(kDataGpa) + 0x123);
  expectWalk(t, kVa, levels, coldNestedReads(config) - levels);
  // Without EPT PSCs: 24 at 4 + 4 levels (§20.2's table).
}

TEST_F(RtlAgile, PdeCacheHitBelowTheSwitchResumesNested) {
  mapBoth(kVa, kDataGpa);
  mapBoth(kVa + 0x1000, kDataGpa + 0x5000);
  switchAt(kVa, levels);
  access(kVa);
  const DutTranslation warm = access(kVa + 0x1000);
  EXPECT_EQ(warm.resp.hpa, hostOf(kDataGpa + 0x5000));
  // The guest PTE (by hPA from the PDE cache), then the final gPA's row from the EPT PDE cache.
  ASSERT_EQ(warm.ops.size(), 1 + eptRowReads(config, 2));
  EXPECT_EQ(warm.ops[0].dim, Dim::Guest);
  EXPECT_EQ(warm.ops[0].addr, *vm.guest->hostEntryAddress(kVa + 0x1000, 1));
  // START presents the guest read, the final gPA's ANSWER its EPT row's first read (§12: early).
  EXPECT_EQ(warm.latency, stlbProbeCycles() + 2 + 1 + 1 + 2 * warm.ops.size() - 2);
  EXPECT_EQ(sim.dut().counter(Counter::PscHitsL2), 1u);
}

TEST_F(RtlAgile, PdeCacheHitAboveAnySwitchIsOneShadowRead) {
  mapBoth(kVa, kDataGpa);
  mapBoth(kVa + 0x1000, kDataGpa + 0x5000);
  access(kVa);
  const DutTranslation warm = access(kVa + 0x1000);
  ASSERT_EQ(warm.ops.size(), 1u);
  EXPECT_EQ(warm.ops[0].addr, *shadow.hostEntryAddress(kVa + 0x1000, 1));
  EXPECT_EQ(warm.latency, stlbProbeCycles() + 2 + 1 + 2 - 1) << "the read presented in START (§12: early)";
}

TEST_F(RtlAgile, ShadowFaultsAboveTheSwitchExit) {
  mapBoth(kVa, kDataGpa, pte::US);  // read-only
  switchAt(kVa, 2, pte::US);
  const uint64_t unmapped = kVa + (uint64_t{1} << levelShift(levels));  // another root entry
  const DutTranslation np = access(unmapped);
  EXPECT_EQ(np.resp.fault, Fault::GuestPageFault);
  EXPECT_EQ(np.resp.fault_info, 0u);
  EXPECT_EQ(np.resp.fault_addr, unmapped);
  EXPECT_EQ(np.resp.fault_level, levels);
  EXPECT_TRUE(np.resp.vm_exit) << "a shadow entry's fault: the VMM decides (§20.3)";
  EXPECT_EQ(np.ops.size(), 1u);
  EXPECT_EQ(np.latency, stlbProbeCycles() + 2 + 1 + 2);
  // A shadow leaf's permission fault exits too.
  const uint64_t ro = kVa + (uint64_t{1} << levelShift(2));  // another PDE, no switch
  mapBoth(ro, kDataGpa + 0x1000, pte::US);
  const DutTranslation w = access(ro, Access::Write);
  EXPECT_EQ(w.resp.fault, Fault::GuestPageFault);
  EXPECT_EQ(w.resp.fault_info, pf::P | pf::W);
  EXPECT_EQ(w.resp.fault_level, 1u);
  EXPECT_TRUE(w.resp.vm_exit);
  // The shadow rights above a switch are part of acc: the switching PDE is read-only.
  const DutTranslation below = access(kVa, Access::Write);
  EXPECT_EQ(below.resp.fault, Fault::GuestPageFault);
  EXPECT_FALSE(below.resp.vm_exit) << "the guest leaf below the switch denies: delivered";
}

TEST_F(RtlAgile, GuestFaultsBelowTheSwitchAreDelivered) {
  mapBoth(kVa, kDataGpa);
  vm.guest->map(kVa + 0x3000, kDataGpa + 0x3000, PageSize::Size4K, pte::US);  // read-only
  switchAt(kVa, levels);
  const DutTranslation np = access(kVa + 0x2000);  // no guest PTE
  EXPECT_EQ(np.resp.fault, Fault::GuestPageFault);
  EXPECT_EQ(np.resp.fault_info, 0u);
  EXPECT_EQ(np.resp.fault_level, 1u);
  EXPECT_FALSE(np.resp.vm_exit) << "a guest entry's fault: delivered without an exit (§20.3)";
  const DutTranslation w = access(kVa + 0x3000, Access::Write, true);
  EXPECT_EQ(w.resp.fault, Fault::GuestPageFault);
  EXPECT_EQ(w.resp.fault_info, pf::P | pf::W | pf::U);
  EXPECT_FALSE(w.resp.vm_exit);
}

TEST_F(RtlAgile, EptViolationsBelowTheSwitchReportTheGuestEntryOrTheFinalGpa) {
  mapBoth(kVa, kDataGpa);
  switchAt(kVa, levels);
  // The first guest table (named by the switching entry's hPA) is never translated: its EPT
  // entry may be gone. (The tables' gPAs are read before the EPT loses them.)
  const uint64_t first = guestTableGpa(kVa, levels - 1);
  const uint64_t second = guestTableGpa(kVa, levels - 2);
  ASSERT_TRUE(vm.ept.unmap(first));
  EXPECT_EQ(access(kVa).resp.fault, Fault::None);
  sim.control(CtrlOp::InvVpid, 0, 0, 0, kVpid, 0);
  // The next table's is used: an EPT violation on its entry's gPA, guest level L - 2.
  ASSERT_TRUE(vm.ept.unmap(second));
  sim.control(CtrlOp::InvEptp, 0, 0, vm.ept.eptp(), 0, 0);  // the nested TLB holds it
  const DutTranslation t = access(kVa + 0x40, Access::Write);
  EXPECT_EQ(t.resp.fault, Fault::EptViolation);
  EXPECT_EQ(t.resp.fault_addr, second + 8 * entryIndex(kVa, levels - 2));
  EXPECT_EQ(t.resp.fault_guest_level, levels - 2);
  EXPECT_EQ(t.resp.fault_info & (eptq::Final | eptq::Read | eptq::Write), eptq::Read);
  EXPECT_TRUE(t.resp.vm_exit);
  vm.ept.map(second, hostOf(second), PageSize::Size4K);
  // The final gPA's.
  ASSERT_TRUE(vm.ept.unmap(kDataGpa));
  sim.control(CtrlOp::InvEptp, 0, 0, vm.ept.eptp(), 0, 0);
  const DutTranslation f = access(kVa + 0x40, Access::Write);
  EXPECT_EQ(f.resp.fault, Fault::EptViolation);
  EXPECT_EQ(f.resp.fault_addr, kDataGpa + 0x40);
  EXPECT_EQ(f.resp.fault_guest_level, 0u);
  EXPECT_EQ(f.resp.fault_info & (eptq::Final | eptq::Write), eptq::Final | eptq::Write);
  EXPECT_TRUE(f.resp.vm_exit);
}

TEST_F(RtlAgile, RootNestedEptViolationOnGcr3) {
  mapBoth(kVa, kDataGpa);
  sim.writeReg(0, CtxReg::Gcr3, vm.guest->root() | agile::RootNested);
  ASSERT_TRUE(vm.ept.unmap(vm.guest->root()));
  const DutTranslation t = access(kVa);
  EXPECT_EQ(t.resp.fault, Fault::EptViolation);
  EXPECT_EQ(t.resp.fault_addr, vm.guest->root() + 8 * entryIndex(kVa, levels));
  EXPECT_EQ(t.resp.fault_guest_level, levels);
  EXPECT_EQ(t.ops.size(), m);
}

TEST_F(RtlAgile, OneSwitchPerWalkAndNoneInALeaf) {
  mapBoth(kVa, kDataGpa);
  switchAt(kVa, levels);
  // Bit 11 in a guest entry below the switch is the guest's own: ignored, its pointer a gPA.
  vm.guest->writeEntry(kVa, 2, vm.guest->readEntry(kVa, 2) | agile::Switch);
  const DutTranslation t = access(kVa);
  EXPECT_EQ(t.resp.hpa, hostOf(kDataGpa));
  expectWalk(t, kVa, levels - 1, coldNestedPart(levels - 1));
  // Bit 11 in a shadow 2M leaf is ignored: the walk ends as SHADOW's.
  const uint64_t big = kVa + (uint64_t{1} << levelShift(levels));  // another root entry
  shadow.map(big & ~uint64_t{0x1f'ffff}, 0x2000'0000, PageSize::Size2M, pte::RW);
  shadow.writeEntry(big, 2, shadow.readEntry(big, 2) | agile::Switch);
  const DutTranslation leaf = access(big + 0x1234);
  EXPECT_EQ(leaf.resp.hpa, 0x2000'0000 + ((big + 0x1234) & 0x1f'ffff));
  EXPECT_EQ(leaf.resp.size, PageSize::Size2M);
  EXPECT_EQ(leaf.ops.size(), levels - 1);
}

TEST_F(RtlAgile, Gcr3WritesDoNotFlushAndInvEptpDoes) {
  mapBoth(kVa, kDataGpa);
  switchAt(kVa, 2);
  access(kVa);
  sim.writeReg(0, CtxReg::Gcr3, vm.guest->root());
  EXPECT_EQ(access(kVa).latency, 1u) << "GCR3 is guest state: no implicit flush (§20.5)";
  sim.control(CtrlOp::InvEptp, 0, 0, vm.ept.eptp(), 0, 0);
  EXPECT_GT(access(kVa).latency, 1u) << "INV_EPTP removes an AGILE VM's entries (§11)";
  // MODE 7 stays reserved: ignored, no flush.
  sim.writeReg(0, CtxReg::Mode, 7);
  EXPECT_EQ(access(kVa).latency, 1u);
}

// Random requests over 2M regions each shadowed or switched at a random level, with GCR3's root
// switch toggled, guest and EPT entries removed and restored, invalidations and A/D updates on;
// every translation compared with the model.
TEST_F(RtlAgile, RandomCosimulation) {
  std::mt19937_64 random(20);
  auto below = [&random](uint64_t n) { return random() % n; };
  sim.writeReg(0, CtxReg::Flags, 1);
  constexpr unsigned kRegions = 24;
  std::vector<uint64_t> pages;
  for (unsigned r = 0; r < kRegions; ++r) {
    // Regions spread over two PML4 entries, several PDPTEs.
    const uint64_t region = kVa - 0x1'0000'0000 * (r % 3) + (r / 3) * 0x20'0000 + (r % 2) * 0x80'0000'0000;
    for (unsigned p = 0; p < 6; ++p) {
      const uint64_t va = (region & ~uint64_t{0x1f'ffff}) + below(512) * 0x1000;
      const uint64_t gpa = 0x0100'0000 + (r * 64 + p) * 0x1000;
      if (vm.guest->entryAddress(va, 1) && (vm.guest->readEntry(va, 1) & pte::P))
        continue;
      mapBoth(va, gpa, below(4) == 0 ? pte::US : pte::RW | pte::US);
      pages.push_back(va);
    }
  }
  // A shadow entry below a switch is the guest's: place a switch only on a path without one.
  const auto switched = [this](uint64_t va) {
    for (unsigned level = levels; level >= 2; --level)
      if (shadow.readEntry(va, level) & agile::Switch)
        return true;
    return false;
  };
  for (const uint64_t va : pages) {
    const unsigned level = 1 + static_cast<unsigned>(below(4));
    if (level > 1 && !switched(va))
      switchAt(va, level, shadow.readEntry(va, level) & (pte::RW | pte::US));
  }
  const unsigned requests = 3000;
  for (unsigned n = 0; n < requests && sim.mismatches() == 0; ++n) {
    const unsigned roll = static_cast<unsigned>(below(1000));
    const uint64_t va = pages[below(pages.size())];
    if (roll < 10) {
      sim.writeReg(0, CtxReg::Gcr3, vm.guest->root() | below(2));
    } else if (roll < 20) {
      sim.control(CtrlOp::InvPcid, 0, 0, 0, kVpid, 0);
    } else if (roll < 30) {
      const uint64_t gpa = vm.guest->readEntry(va, 1) & kAddrBits;
      if (gpa != 0 && vm.ept.unmap(gpa)) {
        access(va + below(0x1000), static_cast<Access>(below(3)), below(2) == 0);
        vm.ept.map(gpa, hostOf(gpa), PageSize::Size4K);
        sim.control(CtrlOp::InvEptp, 0, 0, vm.ept.eptp(), 0, 0);
      }
    } else if (roll < 40) {
      const uint64_t entry = vm.guest->readEntry(va, 1);
      vm.guest->writeEntry(va, 1, 0);
      sim.control(CtrlOp::InvAddr, 0, 0, va, kVpid, 0);
      access(va, static_cast<Access>(below(3)), below(2) == 0);
      vm.guest->writeEntry(va, 1, entry);
    } else if (roll < 45) {
      sim.control(CtrlOp::InvVpid, 0, 0, 0, kVpid, 0);
    }
    access(va + below(0x1000), static_cast<Access>(below(3)), below(2) == 0);
  }
  EXPECT_EQ(sim.mismatches(), 0u);
}

}  // namespace
}  // namespace vmmu::rtltest
