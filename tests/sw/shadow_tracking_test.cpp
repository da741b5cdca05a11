// shadow_tracking_test.cpp - the shadow variants' write tracking and refill accounting, entry by
// entry on hand-built guest tables (hand_built_guest.h): which guest pages are write-protected,
// which shadow leaves lose RW or go when a page becomes a table, what a trapped table write
// zaps and propagates, what prefetching installs, when a guest large page is splintered, and what
// each of these charges.
#include <gtest/gtest.h>

#include "hand_built_guest.h"

namespace vmmu::testing {
namespace {

using vmm::Approach;
using vmm::ExitReason;

constexpr uint64_t k2M = 2ull << 20;

TEST(ShadowTracking, CachingWriteProtectsTheTablesItWalked) {
  HandBuiltGuest g(Approach::ShadowCaching);
  g.vmm.writeCr3(kRoot, 0, false);
  EXPECT_EQ(g.vmm.shadow()->trackedPages(), 0u);
  g.vmm.access(kData, Access::Read, true, nullptr);
  EXPECT_EQ(g.vmm.shadow()->trackedPages(), 4u);
  for (const uint64_t table : {kRoot, kPdpt, kPd, kPt})
    EXPECT_TRUE(g.vmm.shadow()->isWriteProtected(table + 0xff8)) << table;
  EXPECT_FALSE(g.vmm.shadow()->isWriteProtected(0x10000));
  EXPECT_FALSE(g.vmm.shadow()->isWriteProtected(0x5000));
  // The data page stays writable in the shadow; the PT page, reached through kTableVa, does not.
  EXPECT_NE(g.shadowLeaf(kData) & pte::RW, 0u);
  g.vmm.access(kTableVa, Access::Read, true, nullptr);
  EXPECT_EQ(g.shadowLeaf(kTableVa) & (pte::P | pte::RW), pte::P);
  EXPECT_TRUE(g.vmm.checkInvariants().empty());
}

TEST(ShadowTracking, PlainTracksNothingAndStoresToTablesDoNotTrap) {
  HandBuiltGuest g(Approach::ShadowPlain);
  g.vmm.writeCr3(kRoot, 0, false);
  g.vmm.access(kData, Access::Read, true, nullptr);
  EXPECT_EQ(g.vmm.shadow()->trackedPages(), 0u);
  EXPECT_FALSE(g.vmm.shadow()->isWriteProtected(kPt));
  const uint64_t value = 0x12000 | kFlags;
  g.vmm.access(kTableVa + 8 * 5, Access::Write, false, &value);
  EXPECT_EQ(g.exits(ExitReason::PageTableWrite), 0u);
  EXPECT_EQ(g.exits(ExitReason::ShadowFault), 2u) << "one fill each";
  EXPECT_NE(g.shadowLeaf(kTableVa) & pte::RW, 0u) << "a virtual TLB leaves guest tables writable";
  EXPECT_EQ(g.read(kPt + 8 * 5), value) << "the store went through the shadow leaf";
  EXPECT_EQ(g.vmm.shadow()->stats().emulated_writes, 0u);
}

// Plain shadow sees a guest PTE made writable only when the write faults on the stale read-only
// leaf: the fill rewrites that one 4 KiB leaf in place, with no INV_PCID (only a large leaf over a
// splinter table needs one), so the running space's other translations stay in the TLB.
TEST(ShadowTracking, RewritingAFourKLeafInPlaceFlushesNothing) {
  HandBuiltGuest g(Approach::ShadowPlain);
  g.vmm.writeCr3(kRoot, 0, false);
  g.vmm.access(kData, Access::Read, true, nullptr);
  g.vmm.access(kReadOnly, Access::Read, true, nullptr);
  ASSERT_EQ(g.shadowLeaf(kReadOnly) & (pte::P | pte::RW), pte::P);
  const uint64_t writable = 0x11000 | kFlags;  // PT[4] made read-write, untrapped under plain
  g.vmm.access(kTableVa + 8 * 4, Access::Write, false, &writable);
  const vmm::RunCost before = g.cost();
  const uint64_t misses = g.backend.counter(Counter::TlbMisses);
  const uint64_t value = 7;
  EXPECT_FALSE(g.vmm.access(kReadOnly, Access::Write, true, &value).faulted);
  const vmm::RunCost d = g.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::ShadowFault)], 1u);
  EXPECT_EQ(d.control_commands, 0u);
  EXPECT_NE(g.shadowLeaf(kReadOnly) & pte::RW, 0u);
  g.vmm.access(kData, Access::Read, true, nullptr);
  // The faulting write's two lookups (the fault, then the retry) missed; kData still hits.
  EXPECT_EQ(g.backend.counter(Counter::TlbMisses) - misses, 2u);
}

TEST(ShadowTracking, APageThatBecomesATableLosesItsWritableLeaves) {
  HandBuiltGuest g(Approach::ShadowCaching);
  g.vmm.writeCr3(kRoot, 0, false);
  g.vmm.access(kData, Access::Write, true, nullptr);
  ASSERT_NE(g.shadowLeaf(kData) & pte::RW, 0u);
  // The guest makes page 0x10000 a page table: PD[2] -> 0x10000, whose entry 0 maps 0x13000.
  g.vmm.writePhysical(0x10000, 0x13000 | kFlags);
  g.vmm.writePhysical(kPd + 8 * 2, 0x10000 | kFlags);
  const vmm::RunCost before = g.cost();
  g.vmm.access(0x400000, Access::Read, true, nullptr);
  // The fill walks 4 entries, write-protects 0x10000 (kData's leaf loses RW: an entry write and an
  // INV_ADDR), then allocates the shadow PT under PD[2] and writes the leaf.
  const vmm::RunCost d = g.cost() - before;
  EXPECT_EQ(d.shim_cycles, kHandler + 4 * kEntryRead + (kEntryWrite + kControl) + (kTableAlloc + kEntryWrite) +
                               kEntryWrite);
  EXPECT_EQ(g.stats().write_protects, 1u);
  EXPECT_TRUE(g.vmm.shadow()->isWriteProtected(0x10000));
  EXPECT_EQ(g.shadowLeaf(kData) & (pte::P | pte::RW), pte::P);
  EXPECT_TRUE(g.vmm.checkInvariants().empty());
  // A store through kData now writes a page table: emulated; its entry 1 was not shadowed, and the
  // zero stored maps nothing, so nothing is zapped or propagated (the walk is read again).
  const vmm::RunCost before_store = g.cost();
  const uint64_t zero = 0;
  const guest::AccessOutcome out = g.vmm.access(kData + 8, Access::Write, true, &zero);
  EXPECT_FALSE(out.faulted);
  const vmm::RunCost s = g.cost() - before_store;
  EXPECT_EQ(s.exits[static_cast<unsigned>(ExitReason::PageTableWrite)], 1u);
  EXPECT_EQ(s.shim_cycles, kHandler + 4 * kEntryRead + kEmulate + 4 * kEntryRead);
  EXPECT_EQ(g.stats().emulated_writes, 1u);
  EXPECT_EQ(g.stats().zaps, 0u);
  EXPECT_EQ(g.stats().propagated, 0u);
}

TEST(ShadowTracking, ATrappedWriteZapsTheShadowedEntry) {
  for (const Approach approach : {Approach::ShadowCaching, Approach::ShadowPrefetch}) {
    HandBuiltGuest g(approach);
    g.vmm.writeCr3(kRoot, 0, false);
    g.vmm.access(kData, Access::Read, true, nullptr);
    g.vmm.access(kReadOnly, Access::Read, true, nullptr);
    ASSERT_NE(g.shadowLeaf(kReadOnly) & pte::P, 0u);
    // The guest unmaps PT[4] with a store through kTableVa: the shadow leaf goes (an entry write
    // and an INV_ADDR); caching walks PT[4] again to propagate (4 reads) and finds nothing.
    const vmm::RunCost before = g.cost();
    const uint64_t zero = 0;
    g.vmm.access(kTableVa + 8 * 4, Access::Write, false, &zero);
    const vmm::RunCost d = g.cost() - before;


    const uint64_t propagation_walk = approach == Approach::ShadowCaching ? 4 * kEntryRead : 0;
    EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::PageTableWrite)], 1u) << vmm::toString(approach);
    EXPECT_EQ(d.shim_cycles, kHandler + 4 * kEntryRead + kEmulate + kEntryWrite + kControl + propagation_walk)
        << vmm::toString(approach);
    EXPECT_EQ(g.stats().zaps, 1u) << vmm::toString(approach);
    EXPECT_EQ(g.shadowLeaf(kReadOnly), 0u) << vmm::toString(approach);
    EXPECT_TRUE(g.vmm.access(kReadOnly, Access::Read, true, nullptr).faulted) << vmm::toString(approach);
    EXPECT_TRUE(g.vmm.checkInvariants().empty()) << vmm::toString(approach);
  }
}

TEST(ShadowTracking, PrefetchFillsTheSiblingsItCanMap) {
  HandBuiltGuest g(Approach::ShadowPrefetch);
  g.vmm.writeCr3(kRoot, 0, false);
  const vmm::RunCost before = g.cost();
  g.vmm.access(kData, Access::Read, true, nullptr);
  // The fill (4 reads, 3 tables, the leaf), then 511 sibling entries scanned: PT[1] (the PT page,
  // read-only) and PT[4] installed; PT[3] points outside memory and is skipped.
  const vmm::RunCost d = g.cost() - before;
  EXPECT_EQ(d.shim_cycles, kHandler + 4 * kEntryRead + 3 * (kTableAlloc + kEntryWrite) + kEntryWrite +
                               511 * kPrefetchRead + 2 * kEntryWrite);
  EXPECT_EQ(g.stats().fills, 1u);
  EXPECT_EQ(g.stats().prefetched, 2u);
  EXPECT_EQ(g.shadowLeaf(kTableVa) & (pte::P | pte::RW), pte::P);
  EXPECT_EQ(g.shadowLeaf(kReadOnly) & (pte::P | pte::RW), pte::P);
  EXPECT_EQ(g.shadowLeaf(kOutside), 0u);
  EXPECT_EQ(g.shadowLeaf(kUnmapped), 0u);
  // The prefetched pages need no exit.
  const vmm::RunCost settled = g.cost();
  g.vmm.access(kReadOnly, Access::Read, true, nullptr);
  g.vmm.access(kTableVa, Access::Read, true, nullptr);
  EXPECT_EQ((g.cost() - settled).totalExits(), 0u);
  EXPECT_TRUE(g.vmm.checkInvariants().empty());
  // Refilling after a CR3 write (prefetch keeps no space): the same fill, nothing new to prefetch
  // beyond the same two.
  g.vmm.writeCr3(kRoot, 0, false);
  EXPECT_EQ(g.vmm.shadow()->spaceCount(), 1u);
  EXPECT_EQ(g.stats().spaces_dropped, 1u);
  EXPECT_EQ(g.stats().tables_freed, 4u);
}

TEST(ShadowTracking, CachingKeepsASpacePerRootAndEvictsTheLeastRecentlyUsed) {
  vmm::VmmConfig config = handBuiltConfig();
  config.max_shadow_spaces = 2;
  HandBuiltGuest g(Approach::ShadowCaching, config);
  // Three address spaces sharing the PDPT: roots 0x1000, 0x5000, 0x6000.
  g.vmm.writePhysical(0x5000, kPdpt | kFlags);
  g.vmm.writePhysical(0x6000, kPdpt | kFlags);
  g.vmm.writeCr3(kRoot, 1, false);
  g.vmm.access(kData, Access::Read, true, nullptr);
  g.vmm.writeCr3(0x5000, 2, false);
  g.vmm.access(kData, Access::Read, true, nullptr);
  EXPECT_EQ(g.vmm.shadow()->spaceCount(), 2u);
  // Back to the first root: its space is kept (the handler and CR3 written only), no refill.
  vmm::RunCost before = g.cost();
  g.vmm.writeCr3(kRoot, 1, false);
  vmm::RunCost d = g.cost() - before;
  EXPECT_EQ(d.shim_cycles, kHandler + kControl);
  g.vmm.access(kData, Access::Read, true, nullptr);
  EXPECT_EQ((g.cost() - before).exits[static_cast<unsigned>(ExitReason::ShadowFault)], 0u);
  // A third root: the least recently used space (0x5000's four tables) is dropped.
  before = g.cost();
  g.vmm.writeCr3(0x6000, 3, false);
  d = g.cost() - before;
  EXPECT_EQ(d.shim_cycles, kHandler + 4 * kTableFree + kControl + kTableAlloc + kControl);
  EXPECT_EQ(g.vmm.shadow()->spaceCount(), 2u);
  EXPECT_EQ(g.stats().spaces_created, 3u);
  EXPECT_EQ(g.stats().spaces_dropped, 1u);
  // The first root's space survived: no refill there.
  before = g.cost();
  g.vmm.writeCr3(kRoot, 1, false);
  g.vmm.access(kData, Access::Read, true, nullptr);
  EXPECT_EQ((g.cost() - before).exits[static_cast<unsigned>(ExitReason::ShadowFault)], 0u);
  EXPECT_TRUE(g.vmm.checkInvariants().empty());
}

// Dropping a space clears exactly its own tables: the frame after its last one (here the next
// space's root) keeps its entries.
TEST(ShadowTracking, DroppingASpaceLeavesTheNextFrameAlone) {
  vmm::VmmConfig config = handBuiltConfig();
  config.max_shadow_spaces = 2;
  HandBuiltGuest g(Approach::ShadowCaching, config);
  g.vmm.writePhysical(0x5000, kPdpt | kFlags);
  g.vmm.writePhysical(0x6000, kPdpt | kFlags);
  g.vmm.writeCr3(kRoot, 1, false);
  g.vmm.access(kData, Access::Read, true, nullptr);  // frames 0-3: root, PDPT, PD, PT
  g.vmm.writeCr3(0x5000, 2, false);                  // frame 4: the second root
  g.vmm.access(kData, Access::Read, true, nullptr);
  const uint64_t second_root = g.vmm.shadow()->activeRoot();
  ASSERT_NE(g.backend.memory().read64(second_root), 0u);
  g.vmm.writeCr3(0x6000, 3, false);  // drops the first space, the least recently used
  ASSERT_EQ(g.stats().spaces_dropped, 1u);
  EXPECT_NE(g.backend.memory().read64(second_root), 0u);
  const vmm::RunCost before = g.cost();
  g.vmm.writeCr3(0x5000, 2, false);
  g.vmm.access(kData, Access::Read, true, nullptr);
  EXPECT_EQ((g.cost() - before).exits[static_cast<unsigned>(ExitReason::ShadowFault)], 0u);
}

// Agile (§20.8) frees the shadow PT of a table it switches to nested, and clears exactly that
// frame: the frame after it (here the shadow PT allocated next, whose entry 0 maps a page) keeps
// its entries.
TEST(ShadowTracking, SwitchingATableToNestedLeavesTheNextFrameAlone) {
  constexpr uint64_t kSecondPt = 0x7000, kSecondVa = 0x400000, kSecondData = 0x12000;
  vmm::VmmConfig config = handBuiltConfig();
  config.agile.switch_writes = 1;  // the first trapped store to the PT switches it
  HandBuiltGuest g(Approach::Agile, config);
  g.vmm.writePhysical(kPd + 8 * 2, kSecondPt | kFlags);  // PD[2] -> a second PT: VA 0x400000
  g.vmm.writePhysical(kSecondPt, kSecondData | kFlags);
  g.vmm.writeCr3(kRoot, 0, false);                      // frame 0: the shadow root
  g.vmm.access(kData, Access::Read, true, nullptr);      // frames 1-3: PDPT, PD, the PT of 0x200000
  g.vmm.access(kSecondVa, Access::Read, true, nullptr);  // frame 4: the PT of 0x400000
  const uint64_t second_leaf = g.shadowLeaf(kSecondVa);
  ASSERT_NE(second_leaf & pte::P, 0u);
  // The guest maps PT[2] with a store through kTableVa: trapped, and the PT goes nested.
  const uint64_t mapped = 0x13000 | kFlags;
  g.vmm.access(kTableVa + 8 * 2, Access::Write, false, &mapped);
  ASSERT_EQ(g.stats().agile_switches, 1u);
  EXPECT_EQ(g.stats().tables_freed, 1u);
  EXPECT_EQ(g.shadowLeaf(kSecondVa), second_leaf);
  const vmm::RunCost before = g.cost();
  g.vmm.access(kSecondVa, Access::Read, true, nullptr);
  EXPECT_EQ((g.cost() - before).exits[static_cast<unsigned>(ExitReason::ShadowFault)], 0u);
  EXPECT_TRUE(g.vmm.checkInvariants().empty());
}

TEST(ShadowTracking, ASharedTableWriteReachesEverySpace) {
  HandBuiltGuest g(Approach::ShadowCaching);
  g.vmm.writePhysical(0x5000, kPdpt | kFlags);
  g.vmm.writeCr3(kRoot, 1, false);
  g.vmm.access(kReadOnly, Access::Read, true, nullptr);
  g.vmm.writeCr3(0x5000, 2, false);
  g.vmm.access(kReadOnly, Access::Read, true, nullptr);
  g.vmm.access(kData, Access::Read, true, nullptr);
  // Unmap PT[4] through kTableVa while 0x5000 runs: both spaces lose their leaf (two zaps, two
  // INV_ADDRs) and each walks PT[4] again to propagate.
  const vmm::RunCost before = g.cost();
  const uint64_t zero = 0;
  g.vmm.access(kTableVa + 8 * 4, Access::Write, false, &zero);
  const vmm::RunCost d = g.cost() - before;
  EXPECT_EQ(d.shim_cycles, kHandler + 4 * kEntryRead + kEmulate + 2 * (kEntryWrite + kControl + 4 * kEntryRead));
  EXPECT_EQ(g.stats().zaps, 2u);
  EXPECT_TRUE(g.vmm.checkInvariants().empty());
  g.vmm.writeCr3(kRoot, 1, false);
  EXPECT_EQ(g.shadowLeaf(kReadOnly), 0u);
  EXPECT_TRUE(g.vmm.access(kReadOnly, Access::Read, true, nullptr).faulted);
}

TEST(ShadowTracking, ATableOutsideGuestMemoryStopsTheGuest) {
  for (const Approach approach : {Approach::ShadowPlain, Approach::ShadowCaching, Approach::ShadowPrefetch}) {
    HandBuiltGuest g(approach);
    g.vmm.writePhysical(kPd + 8 * 3, (kMemory + 0x5000) | kFlags);  // PD[3]: a PT past the end
    g.vmm.writeCr3(kRoot, 0, false);
    const vmm::RunCost before = g.cost();
    try {
      g.vmm.access(0x600000, Access::Read, true, nullptr);
      ADD_FAILURE() << "the guest was not stopped";
    } catch (const vmm::GuestStopped &stopped) {
      EXPECT_EQ(stopped.reason, ExitReason::ShadowFault);
      EXPECT_EQ(stopped.gpa, kMemory + 0x5000) << vmm::toString(approach);
    }
    // Three entries read (PML4, PDPT, PD) before the PT's address is found outside.
    EXPECT_EQ((g.cost() - before).shim_cycles, kHandler + 3 * kEntryRead) << vmm::toString(approach);
    EXPECT_EQ(g.vmm.shadow()->trackedPages(), 0u) << "nothing is tracked for a walk that failed";
  }
}

// A guest 2 MiB page (PD[4] -> gPA 0, PS) over 2 MiB-or-larger EPT pages: plain shadow maps it
// with one 2 MiB leaf; caching cannot, as the guest's own tables live in that 2 MiB.
TEST(ShadowTracking, AGuestLargePageIsSplinteredWhereTablesLive) {
  {
    HandBuiltGuest g(Approach::ShadowPlain);
    g.vmm.writePhysical(kPd + 8 * 4, 0 | kFlags | pte::PS);
    g.vmm.writeCr3(kRoot, 0, false);
    const vmm::RunCost before = g.cost();
    EXPECT_EQ(g.vmm.access(0x810000, Access::Read, true, nullptr).hpa, g.vmm.memory().hostOf(0x10000));
    // 3 entries read, 2 tables (PDPT, PD), the 2 MiB leaf.
    EXPECT_EQ((g.cost() - before).shim_cycles, kHandler + 3 * kEntryRead + 2 * (kTableAlloc + kEntryWrite) + kEntryWrite);
    EXPECT_NE(g.shadowLeaf(0x810000) & pte::PS, 0u);
    const vmm::RunCost filled = g.cost();
    g.vmm.access(0x9ff000, Access::Read, true, nullptr);
    EXPECT_EQ((g.cost() - filled).totalExits(), 0u) << "the same 2 MiB leaf";
    EXPECT_TRUE(g.vmm.checkInvariants().empty());
  }
  for (const Approach approach : {Approach::ShadowCaching, Approach::ShadowPrefetch}) {
    HandBuiltGuest g(approach);
    g.vmm.writePhysical(kPd + 8 * 4, 0 | kFlags | pte::PS);
    g.vmm.writeCr3(kRoot, 0, false);
    g.vmm.access(0x810000, Access::Read, true, nullptr);
    EXPECT_EQ(g.shadowLeaf(0x810000) & pte::PS, 0u) << vmm::toString(approach);
    EXPECT_EQ(g.shadowLeaf(0x810000) & ~(pte::P | pte::RW | pte::US), g.vmm.memory().hostOf(0x10000));
    // The guest's PD page (gPA 0x3000) through the large page: mapped read-only.
    g.vmm.access(0x803000, Access::Read, true, nullptr);
    EXPECT_EQ(g.shadowLeaf(0x803000) & (pte::P | pte::RW), pte::P) << vmm::toString(approach);
    EXPECT_TRUE(g.vmm.checkInvariants().empty()) << vmm::toString(approach);
  }
}

// Prefetching into a splinter fills every other 4 KiB piece of the guest large page at once.
TEST(ShadowTracking, PrefetchFillsEveryPieceOfASplinter) {
  vmm::VmmConfig config = handBuiltConfig();
  config.memory.max_ept_page = PageSize::Size4K;
  HandBuiltGuest g(Approach::ShadowPrefetch, config);
  g.vmm.writePhysical(kPd + 8 * 4, 0x400000 | kFlags | pte::PS);  // VA 0x800000 -> 2 MiB at 4 MiB
  g.vmm.writeCr3(kRoot, 0, false);
  g.vmm.access(0x805000, Access::Read, true, nullptr);
  // The PD's other present entries are a table (PD[1]), not a large page: none is prefetched;
  // the splinter's 511 other pieces are.
  EXPECT_EQ(g.stats().fills, 1u);
  EXPECT_EQ(g.stats().prefetched, 511u);
  const vmm::RunCost before = g.cost();
  g.vmm.access(0x800000, Access::Read, true, nullptr);
  g.vmm.access(0x9ff000, Access::Read, true, nullptr);
  EXPECT_EQ((g.cost() - before).totalExits(), 0u);
  EXPECT_EQ(g.shadowLeaf(0x9ff000) & ~(pte::P | pte::RW | pte::US | pte::NX), g.vmm.memory().hostOf(0x5ff000));
  EXPECT_TRUE(g.vmm.checkInvariants().empty());
}

TEST(ShadowTracking, ALargeLeafGoesWhenItsRegionGetsATable) {
  HandBuiltGuest g(Approach::ShadowCaching);
  g.vmm.writePhysical(kPd + 8 * 4, 0x400000 | kFlags | pte::PS);  // VA 0x800000 -> 2 MiB at 4 MiB
  g.vmm.writeCr3(kRoot, 0, false);
  g.vmm.access(0x800000, Access::Write, true, nullptr);
  ASSERT_NE(g.shadowLeaf(0x800000) & pte::PS, 0u) << "no table in 4..6 MiB yet";
  // The guest makes 0x401000 a PT (PD[5] -> 0x401000, entry 0 -> 0x13000) and touches it.
  g.vmm.writePhysical(0x401000, 0x13000 | kFlags);
  g.vmm.writePhysical(kPd + 8 * 5, 0x401000 | kFlags);
  const vmm::RunCost before = g.cost();
  g.vmm.access(0xa00000, Access::Read, true, nullptr);
  // The 2 MiB leaf is cleared (an entry write, an INV_ADDR); then the new PT's shadow and leaf.
  EXPECT_EQ((g.cost() - before).shim_cycles, kHandler + 4 * kEntryRead + (kEntryWrite + kControl) +
                                                 (kTableAlloc + kEntryWrite) + kEntryWrite);
  EXPECT_EQ(g.stats().write_protects, 1u);
  EXPECT_EQ(g.shadowLeaf(0x800000), 0u);
  EXPECT_TRUE(g.vmm.checkInvariants().empty());
  // The large page refaults in 4 KiB pieces, the new table's page read-only.
  g.vmm.access(0x801000, Access::Read, true, nullptr);
  EXPECT_EQ(g.shadowLeaf(0x801000) & (pte::P | pte::RW | pte::PS), pte::P);
  g.vmm.access(0x802000, Access::Read, true, nullptr);
  EXPECT_EQ(g.shadowLeaf(0x802000) & (pte::P | pte::RW | pte::PS), pte::P | pte::RW);
  EXPECT_TRUE(g.vmm.checkInvariants().empty());
}

// Plain shadow's INVLPG drops one leaf of a shadow table that mirrors a guest table, but a whole
// splinter table (the 4 KiB pieces of one guest large page), as INVLPG of a large page must.
TEST(ShadowTracking, InvlpgDropsOneLeafOrAWholeSplinter) {
  vmm::VmmConfig config = handBuiltConfig();
  config.memory.max_ept_page = PageSize::Size4K;  // every guest large page is splintered
  HandBuiltGuest g(Approach::ShadowPlain, config);
  g.vmm.writePhysical(kPd + 8 * 4, 0x400000 | kFlags | pte::PS);  // VA 0x800000 -> 2 MiB at 4 MiB
  g.vmm.writeCr3(kRoot, 0, false);
  for (const uint64_t va : {kData, kReadOnly, uint64_t{0x800000}, uint64_t{0x801000}})
    g.vmm.access(va, Access::Read, true, nullptr);
  ASSERT_EQ(g.shadowLeaf(0x801000) & (pte::P | pte::PS), pte::P) << "a 4 KiB piece";
  vmm::RunCost before = g.cost();
  g.vmm.invlpg(kData);
  // One leaf cleared (an entry write, an INV_ADDR) and the INVLPG passed on.
  EXPECT_EQ((g.cost() - before).shim_cycles, kHandler + kEntryWrite + kControl + kControl);
  EXPECT_EQ(g.shadowLeaf(kData), 0u);
  EXPECT_NE(g.shadowLeaf(kReadOnly), 0u) << "its neighbour stays";
  before = g.cost();
  g.vmm.invlpg(0x800000);
  // The splinter's PD entry cleared (an entry write, an INV_PCID for the subtree), passed on.
  EXPECT_EQ((g.cost() - before).shim_cycles, kHandler + kEntryWrite + kControl + kControl);
  EXPECT_EQ(g.shadowLeaf(0x801000), 0u) << "every piece of the large page goes";
  EXPECT_EQ(g.stats().zaps, 2u);
  before = g.cost();
  g.vmm.access(kReadOnly, Access::Read, true, nullptr);
  EXPECT_EQ((g.cost() - before).totalExits(), 0u);
  g.vmm.access(0x801000, Access::Read, true, nullptr);
  EXPECT_EQ((g.cost() - before).totalExits(), 1u) << "a piece refaults";
  EXPECT_TRUE(g.vmm.checkInvariants().empty());
}

// A table whose shadow went with its parent's entry has a stale user: the guest unlinks the PT
// (PD[1] = 0, a trapped store), which zaps the shadow PDE, so the PT's level-1 user no longer has
// a shadow table under it. The next trapped store to the PT finds no live user and stops tracking
// the page: it is no longer write-protected, and a third store does not trap.
// A second PT at 0x6000 (PD[2], VA 0x400000) maps the PT page (0x400000) and the PD (0x401000).
TEST(ShadowTracking, AStoreToATableWithOnlyStaleUsersStopsItsTracking) {
  HandBuiltGuest g(Approach::ShadowCaching);
  g.vmm.writePhysical(kPd + 8 * 2, 0x6000 | kFlags);
  g.vmm.writePhysical(0x6000 + 8 * 0, kPt | kFlags);
  g.vmm.writePhysical(0x6000 + 8 * 1, kPd | kFlags);
  constexpr uint64_t kPtVa = 0x400000, kPdVa = 0x401000;
  g.vmm.writeCr3(kRoot, 0, false);
  g.vmm.access(kData, Access::Read, true, nullptr);
  ASSERT_TRUE(g.vmm.shadow()->isWriteProtected(kPt));
  const uint64_t zero = 0;
  g.vmm.access(kPdVa + 8 * 1, Access::Write, false, &zero);  // PD[1] = 0: the PT is unlinked
  EXPECT_EQ(g.exits(ExitReason::PageTableWrite), 1u);
  EXPECT_TRUE(g.vmm.shadow()->isWriteProtected(kPt)) << "still tracked, by a stale user";
  const uint64_t value = 0x12000 | kFlags;
  g.vmm.access(kPtVa + 8 * 2, Access::Write, false, &value);  // PT[2]: traps, no live user
  EXPECT_EQ(g.exits(ExitReason::PageTableWrite), 2u);
  EXPECT_FALSE(g.vmm.shadow()->isWriteProtected(kPt));
  EXPECT_EQ(g.read(kPt + 8 * 2), value);
  EXPECT_TRUE(g.vmm.checkInvariants().empty());
}

}  // namespace
}  // namespace vmmu::testing
