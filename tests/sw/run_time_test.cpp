// run_time_test.cpp - the run-time model: the cache hierarchy (hits, misses and latency per level,
// the tree-PLRU victim), what the VMM charges instructions and data accesses, page-table entries
// and data sharing the caches, an exit's indirect cost and the flush of a VMM without VPIDs.
// Every expectation is worked out by hand in the comment beside it.
#include <gtest/gtest.h>

#include "hand_built_guest.h"
#include "vmmu/vmm/memory_model.h"

namespace vmmu::testing {
namespace {

using vmm::Approach;
using vmm::ExitReason;
using vmm::MemoryHierarchy;
using vmm::MemoryModelConfig;

// A hierarchy small enough to fill by hand: L1D 1 KiB 4-way (4 sets), L2 2 KiB 4-way (8 sets),
// LLC 8 KiB 8-way (16 sets); 4, 12, 40 cycles, DRAM 200. Line n (address n x 64) lives in set
// n mod 4 of L1D, n mod 8 of L2 and n mod 16 of the LLC.
MemoryModelConfig tinyCaches() {
  MemoryModelConfig config;
  config.levels = {{{1, 4, 4}, {2, 4, 12}, {8, 8, 40}}};
  config.dram_latency = 200;
  return config;
}

constexpr uint64_t kLine = 64;

TEST(MemoryHierarchy, AColdLineComesFromDramAndIsThenInEveryLevel) {
  MemoryHierarchy caches(tinyCaches());
  EXPECT_EQ(caches.access(0x1000), 200u);
  for (unsigned level = 0; level < 3; ++level)
    EXPECT_TRUE(caches.holds(level, 0x1000)) << level;
  EXPECT_EQ(caches.access(0x1038), 4u) << "the same 64-byte line: an L1D hit";
  EXPECT_EQ(caches.access(0x1040), 200u) << "the next line is cold";
  EXPECT_EQ(caches.served()[0], 1u);
  EXPECT_EQ(caches.served()[3], 2u);
  EXPECT_EQ(caches.served()[1] + caches.served()[2], 0u);
}

// L1D set 0 gets lines 0, 4, 8, 12 in ways 0..3; line 0 is touched again. §9.1: after the touches
// of ways 0, 1, 2, 3 the bits are b0 = 0, b1 = 0, b2 = 0; touching way 0 sets b0 = 1, b1 = 1. The
// victim follows b0 = 1 to the upper half, b2 = 0 to way 2: line 8, where LRU would evict line 4.
TEST(MemoryHierarchy, TheTreePlruVictimIsNotTheLeastRecentlyUsedLine) {
  MemoryHierarchy caches(tinyCaches());
  for (const uint64_t line : {0, 4, 8, 12})
    caches.access(line * kLine);
  EXPECT_EQ(caches.access(0), 4u);
  EXPECT_EQ(caches.access(16 * kLine), 200u);
  EXPECT_FALSE(caches.holds(0, 8 * kLine)) << "PLRU's victim";
  EXPECT_TRUE(caches.holds(0, 4 * kLine)) << "LRU's victim stays";
  EXPECT_EQ(caches.access(4 * kLine), 4u);
  // Line 8 is still in L2 (set 0 holds lines 0, 8, 16: three of its four ways).
  EXPECT_EQ(caches.access(8 * kLine), 12u);
}

// Lines 0, 8, 16, 24, 32 all fall in L1D set 0 and L2 set 0. In both, the first four fill ways
// 0..3 in order; the fifth evicts the victim of the touches 0, 1, 2, 3: b0 = 0, b1 = 0, so way 0,
// line 0. The LLC (set 0: lines 0, 16, 32; set 8: lines 8, 24) keeps all five.
TEST(MemoryHierarchy, ALineEvictedFromL1AndL2IsServedByTheLlc) {
  MemoryHierarchy caches(tinyCaches());
  for (const uint64_t line : {0, 8, 16, 24, 32})
    EXPECT_EQ(caches.access(line * kLine), 200u) << line;
  EXPECT_FALSE(caches.holds(0, 0));
  EXPECT_FALSE(caches.holds(1, 0));
  EXPECT_TRUE(caches.holds(2, 0));
  EXPECT_EQ(caches.access(0), 40u);
  EXPECT_EQ(caches.served()[2], 1u);
  // The LLC hit filled L1D and L2 again: the next access is an L1D hit.
  EXPECT_EQ(caches.access(8), 4u);
}

TEST(MemoryHierarchy, TheFlatModelChargesEveryWalkReferenceAlikeAndNoDataStall) {
  MemoryHierarchy flat(MemoryModelConfig::flat(30));
  EXPECT_EQ(flat.cycles(MemOp{0x1000, MemOpKind::Read, 0, Dim::Guest, 4}), 30u);
  EXPECT_EQ(flat.cycles(MemOp{0x1000, MemOpKind::Read, 0, Dim::Guest, 4}), 30u);
  EXPECT_EQ(flat.dataStall(0x1000), 0u);
  MemoryHierarchy caches(tinyCaches());
  EXPECT_EQ(caches.cycles(MemOp{0x1000, MemOpKind::Read, 0, Dim::Nested, 4}), 200u);
  EXPECT_EQ(caches.dataStall(0x1008), 0u) << "an L1D hit is covered by the base CPI";
  EXPECT_EQ(caches.dataStall(0x2000), 196u) << "DRAM: 200 - 4";
}

TEST(MemoryHierarchy, ImpossibleConfigurationsNameTheKey) {
  MemoryModelConfig c = tinyCaches();
  EXPECT_EQ(c.validate(), "");
  c.levels[1].latency = 0;
  EXPECT_EQ(c.validate(), "l2.latency: 0 cycles is outside 2..1000 (a reference takes a request and a response cycle, §12)");
  c = tinyCaches();
  c.levels[1].latency = 3;
  EXPECT_EQ(c.validate(), "l2.latency: 3 cycles is below l1d.latency (4): allowed 4..1000");
  c = tinyCaches();
  c.levels[0].ways = 32;  // 1 KiB is not a multiple of 32 ways x 64 B = 2 KiB
  EXPECT_EQ(c.validate(), "l1d.size_kib: 1 KiB is not a multiple of l1d.ways x 64-byte lines (2048 bytes)");
  c = tinyCaches();
  c.levels[2].size_kib = 12;  // 12 KiB / (8 x 64 B) = 24 sets
  EXPECT_EQ(c.validate(),
            "llc.size_kib: 12 KiB over 8 ways gives 24 sets, not a power of two (allowed: size_kib = ways x 64 B x 2^n / 1024)");
  c = tinyCaches();
  c.levels[0].ways = 3;
  EXPECT_EQ(c.validate(), "l1d.ways: 3 is not a power of two in 1..64");
  c = tinyCaches();
  c.dram_latency = 39;
  EXPECT_EQ(c.validate(), "dram.latency: 39 cycles is outside 40..1000 (at least llc.latency)");
  EXPECT_THROW(MemoryHierarchy{c}, std::invalid_argument);
  EXPECT_EQ(MemoryModelConfig::flat(0).validate(), "cycles_per_ref: a walk reference cannot take 0 cycles (allowed 1..1000000)");
  // The defaults are Skylake client's, and valid.
  EXPECT_EQ(MemoryModelConfig{}.validate(), "");
  EXPECT_EQ(MemoryModelConfig{}.describe(), "cache L1D 32K/8w 4c, L2 256K/4w 12c, LLC 8M/16w 42c, DRAM 246c");
}

// For a native guest: L1D 2 KiB 8-way (4 sets), L2 4 KiB 8-way (8 sets), LLC 16 KiB 16-way (16
// sets), the tiny caches' latencies. Its walks read PML4E 0x1000, PDPTE 0x2000, PDE 0x3008 and
// PTE 0x4000 + 8 x index (host = guest physical): lines 0x40, 0x80, 0xC0 and 0x100, set 0 of
// every level, as is the data line 0x400 (0x10000): set 0 holds them all.
MemoryModelConfig roomyCaches() {
  MemoryModelConfig config = tinyCaches();
  config.levels = {{{2, 8, 4}, {4, 8, 12}, {16, 16, 40}}};
  return config;
}

vmm::VmmConfig nativeConfig(uint64_t cpi_millis) {
  vmm::VmmConfig config = handBuiltConfig();
  config.memory.host_base = 0;
  config.costs.cpi_millis = cpi_millis;
  return config;
}

TEST(RunTime, WalkReferencesAndDataAccessesShareTheCaches) {
  HandBuiltGuest m(Approach::Native, nativeConfig(1'000), roomyCaches());
  m.vmm.writeCr3(kRoot, 0, false);
  // kData: a cold walk (the STLB probe's 1 cycle, §12: no 2M entry in its 2M set; then START and
  // DONE and four DRAM references, the first presented in START: 2 + 4 x 200 - 1; NATIVE has no
  // XLATE cycle), then the load at 0x10008 from DRAM:
  // access_cycles 1 + a stall of 200 - 4.
  vmm::RunCost before = m.cost();
  EXPECT_FALSE(m.vmm.access(kData + 8, Access::Read, true, nullptr).faulted);
  vmm::RunCost d = m.cost() - before;
  EXPECT_EQ(d.translation_cycles, 1u + 2 + 4 * 200 - 1);
  EXPECT_EQ(d.access_cycles, 1u + 196);
  // The same line again: a TLB hit (1) and an L1D hit (1, no stall).
  before = m.cost();
  m.vmm.access(kData + 16, Access::Read, true, nullptr);
  d = m.cost() - before;
  EXPECT_EQ(d.translation_cycles, 1u);
  EXPECT_EQ(d.access_cycles, 1u);
  // kTableVa maps the PT page itself. Its walk starts from the PDE cache (the same 2 MiB region
  // as kData) and reads one entry, PTE 0x4008, on the line the first walk brought into L1D: the
  // STLB probe's 1, then 2 + 4, less the cycle its read shares with START (§12: early).
  // Its load at 0x4000 is on that line too: an L1D hit.
  before = m.cost();
  EXPECT_FALSE(m.vmm.access(kTableVa, Access::Read, true, nullptr).faulted);
  d = m.cost() - before;
  EXPECT_EQ(d.translation_cycles, 1u + 2 + 4 - 1);
  EXPECT_EQ(d.access_cycles, 1u);
  EXPECT_EQ(m.backend.memoryModel()->served()[3], 5u) << "four entries and one data line from DRAM";
}

TEST(RunTime, AnInstructionCostsTheBaseCpiWithItsFractionCarriedOver) {
  HandBuiltGuest m(Approach::Native, nativeConfig(1'500), roomyCaches());
  m.vmm.writeCr3(kRoot, 0, false);
  m.vmm.access(kData, Access::Exec, true, nullptr);  // the walk, then 1.5 cycles: 1 charged
  vmm::RunCost before = m.cost();
  EXPECT_EQ(before.instructions, 1u);
  EXPECT_EQ(before.instruction_cycles, 1u);
  EXPECT_EQ(before.access_cycles, 0u) << "a fetch is an instruction, not a data access";
  // Three fetches in one run of TLB hits (Vmm::userAccesses): 0.5 + 4.5 = 5 more cycles.
  const guest::UserAccess run[] = {{kData + 4, Access::Exec}, {kData + 8, Access::Exec}, {kData + 12, Access::Exec},
                                   {kData + 16, Access::Read}};
  size_t made = 0;
  guest::AccessOutcome fault;
  m.vmm.userAccesses(run, 4, made, fault);
  EXPECT_EQ(made, 4u);
  const vmm::RunCost d = m.cost() - before;
  EXPECT_EQ(d.instructions, 3u);
  EXPECT_EQ(d.instruction_cycles, 5u);
  EXPECT_EQ(d.access_cycles, 1u + 196) << "the load's line (0x10010) was never read: DRAM";
  EXPECT_EQ(d.translation_cycles, 4u) << "four TLB hits";
  EXPECT_EQ(m.cost().totalCycles(), m.cost().translation_cycles + m.cost().access_cycles + 6);
}

// The carried fraction starts at zero: at 0.999 cycles per instruction the first fetch charges
// nothing, and a thousand fetches charge 999 cycles.
TEST(RunTime, TheCarriedFractionStartsAtZero) {
  HandBuiltGuest m(Approach::Native, nativeConfig(999));
  m.vmm.writeCr3(kRoot, 0, false);
  m.vmm.access(kData, Access::Exec, true, nullptr);
  EXPECT_EQ(m.cost().instructions, 1u);
  EXPECT_EQ(m.cost().instruction_cycles, 0u);
  for (int i = 1; i < 1000; ++i)
    m.vmm.access(kData + 4, Access::Exec, true, nullptr);
  EXPECT_EQ(m.cost().instructions, 1000u);
  EXPECT_EQ(m.cost().instruction_cycles, 999u);
}

// With the flat model and CPI 1, a fetch costs what an access cost before the run-time model.
TEST(RunTime, FlatModelAndCpiOneChargeEveryAccessOneCycle) {
  HandBuiltGuest m(Approach::Native, nativeConfig(1'000));
  m.vmm.writeCr3(kRoot, 0, false);
  m.vmm.access(kData, Access::Exec, true, nullptr);
  m.vmm.access(kData + 64, Access::Read, true, nullptr);
  EXPECT_EQ(m.cost().instruction_cycles + m.cost().access_cycles, 2u);
  EXPECT_EQ(m.cost().translation_cycles, 1u + 2 + 4 * 30 - 1 + 1)
      << "STLB probe, walk (START with the root read, §12: early; no XLATE in NATIVE), TLB hit";
}

// The flat model's run of TLB hits (Vmm::userAccesses without data caches) tells fetches from data
// accesses as access() does: a fetch is an instruction at the base CPI, a load or store
// access_cycles.
TEST(RunTime, FlatModelRunsOfHitsChargeFetchesAsInstructions) {
  vmm::VmmConfig config = nativeConfig(2'000);
  config.costs.access_cycles = 7;
  HandBuiltGuest m(Approach::Native, config);
  m.vmm.writeCr3(kRoot, 0, false);
  m.vmm.access(kData, Access::Read, true, nullptr);  // the walk
  const vmm::RunCost before = m.cost();
  const guest::UserAccess run[] = {{kData + 4, Access::Exec}, {kData + 8, Access::Write}, {kData + 12, Access::Exec},
                                   {kData + 16, Access::Exec}, {kData + 20, Access::Read}};
  size_t made = 0;
  guest::AccessOutcome fault;
  m.vmm.userAccesses(run, 5, made, fault);
  EXPECT_EQ(made, 5u);
  const vmm::RunCost d = m.cost() - before;
  EXPECT_EQ(d.translation_cycles, 5u) << "five TLB hits";
  EXPECT_EQ(d.instructions, 3u);
  EXPECT_EQ(d.instruction_cycles, 3u * 2);
  EXPECT_EQ(d.access_cycles, 2u * 7);
  EXPECT_EQ(d.accesses, 5u);
}

TEST(RunTime, AnExitCostsItsRoundTripPlusItsIndirectCost) {
  vmm::VmmConfig config = handBuiltConfig();
  config.costs.exit_indirect = 333;
  HandBuiltGuest m(Approach::ShadowPlain, config);
  m.vmm.writeCr3(kRoot, 0, false);
  EXPECT_EQ(m.cost().exit_cycles, kRoundTrip + 333);
  EXPECT_EQ(m.cost().shim_cycles, kHandler + kTableAlloc + kControl) << "the indirect cost is not the shim's work";
  m.vmm.access(kData, Access::Read, true, nullptr);  // a shadow fault
  EXPECT_EQ(m.cost().exit_cycles, 2 * (kRoundTrip + 333));
}

// Caching shadow keeps its tables across CR3 writes, so only the flush of a VMM without VPIDs
// makes the access after the second CR3 write walk again. Exits: CR3 write, the shadow fault of
// the first access, CR3 write: three flushes (INV_VPID each).
TEST(RunTime, AVmmWithoutVpidsFlushesTheTlbOnEveryExit) {
  uint64_t walks[2] = {};
  for (const bool flush : {false, true}) {
    vmm::VmmConfig config = handBuiltConfig();
    config.flush_tlb_on_exit = flush;
    HandBuiltGuest m(Approach::ShadowCaching, config);
    m.vmm.writeCr3(kRoot, 0, false);
    m.vmm.access(kData, Access::Read, true, nullptr);
    m.vmm.access(kData, Access::Read, true, nullptr);
    m.vmm.writeCr3(kRoot, 0, false);
    const uint64_t walks_before = m.backend.counter(Counter::Walks);
    m.vmm.access(kData, Access::Read, true, nullptr);
    walks[flush] = m.backend.counter(Counter::Walks) - walks_before;
    EXPECT_EQ(m.cost().totalExits(), 3u) << flush;
    EXPECT_EQ(m.cost().exit_flushes, flush ? 3u : 0u);
    EXPECT_EQ(m.backend.counter(Counter::InvVpid), flush ? 3u : 0u);
    EXPECT_EQ(m.exits(ExitReason::ShadowFault), 1u) << "the shadow tables survive the flush";
  }
  EXPECT_EQ(walks[false], 0u);
  EXPECT_EQ(walks[true], 1u);
}

}  // namespace
}  // namespace vmmu::testing
