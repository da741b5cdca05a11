// agile_test.cpp - the agile shim (docs/architecture.md §20.8): where it puts the switch bits (a
// level-1 guest table written often goes nested), what then stops exiting, what a walk below the
// switch reads, the move back to shadow of a table that stopped changing, and that every exit is
// charged at the shadow variants' prices.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sw_test_support.h"
#include "vmmu/paging.h"

namespace vmmu::testing {
namespace {

using guest::Pid;
using vmm::Approach;
using vmm::ExitReason;
constexpr uint64_t k4K = 4096;

uint64_t exits(const System &sys, ExitReason reason) { return sys.vmm->cost().exits[static_cast<unsigned>(reason)]; }

// gPA of the guest's level-1 table that maps `va` (a software walk of the guest's 4 levels).
uint64_t leafTableGpa(System &sys, uint64_t root, uint64_t va) {
  uint64_t table = root;
  for (unsigned l = 4; l > 1; --l) {
    const uint64_t entry =
        sys.backend->memory().read64(sys.vmm->memory().hostOf(table + 8 * ((va >> (12 + 9 * (l - 1))) & 511)));
    table = entry & 0x000F'FFFF'FFFF'F000ull;
  }
  return table;
}

// A System of `approach` with 4 KiB guest pages (every first touch writes one PTE) and the agile
// policy `policy`.
System smallPages(Approach approach, const vmm::AgilePolicy &policy = vmm::AgilePolicy{}) {
  vmm::VmmConfig config = System::configFor(64ull << 20, 0.0);
  config.agile = policy;
  config.check_invariants_each_exit = true;
  return System(approach, config, false);
}

TEST(AgileShim, OftenWrittenLeafTableGoesNestedAndItsUpdatesStopExiting) {
  System sys = smallPages(Approach::Agile);
  EXPECT_EQ(sys.backend->mmu().readReg(0, CtxReg::Mode), static_cast<uint64_t>(Mode::Agile));
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  k.switchTo(a);
  const uint64_t buf = k.mmap(a, 64 * k4K, guest::prot::ReadWrite, false);
  // Until the switch, the caching shadow's behaviour: each new page's PTE store traps.
  unsigned touched = 0;
  while (sys.vmm->shadow()->stats().agile_switches == 0 && touched < 16)
    k.touch(buf + k4K * touched++, Access::Write);
  ASSERT_EQ(sys.vmm->shadow()->stats().agile_switches, 1u) << "one space uses the table";
  EXPECT_EQ(sys.vmm->shadow()->switchedTables(), 1u);
  const uint64_t table = leafTableGpa(sys, k.rootOf(a), buf);
  EXPECT_FALSE(sys.vmm->shadow()->isWriteProtected(table));
  EXPECT_GE(exits(sys, ExitReason::PageTableWrite), 4u);  // the policy's threshold
  // From now on: each new page is a guest page fault without an exit and a PTE store without one;
  // only the first store to the table page takes one shadow fault (its read-only leaf goes).
  const vmm::RunCost before = sys.vmm->cost();
  constexpr unsigned kMore = 20;
  for (unsigned i = 0; i < kMore; ++i)
    k.touch(buf + k4K * (touched + i), Access::Write);
  const vmm::RunCost after = sys.vmm->cost();
  EXPECT_EQ(after.guest_page_faults - before.guest_page_faults, kMore);
  EXPECT_EQ(after.exits[static_cast<unsigned>(ExitReason::PageTableWrite)],
            before.exits[static_cast<unsigned>(ExitReason::PageTableWrite)]);
  EXPECT_LE(after.totalExits() - before.totalExits(), 1u);
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
  // A walk below the switch, cold: shadow PML4E, PDPTE, the switching PDE, the guest's PTE (4 guest
  // reads), then the final gPA's EPT row, which maps the host's 2 MiB pages (L4, L3, L2: 3 reads).
  sys.backend->mmu().invAll();
  const uint64_t guest_reads = sys.backend->counter(Counter::GuestReads);
  const uint64_t nested_reads = sys.backend->counter(Counter::NestedReads);
  k.touch(buf + k4K, Access::Read);
  EXPECT_EQ(sys.backend->counter(Counter::GuestReads) - guest_reads, 4u);
  EXPECT_EQ(sys.backend->counter(Counter::NestedReads) - nested_reads, 3u);
}

TEST(AgileShim, SameWorkUnderCachingShadowExitsOnEveryPage) {
  // The same 36 first touches: caching shadow exits at least twice a page (the injected fault and
  // the trapped PTE store), agile stops after the switch.
  const auto run = [](Approach approach) {
    System sys = smallPages(approach);
    guest::GuestKernel &k = *sys.kernel;
    const Pid a = k.spawn();
    k.switchTo(a);
    const uint64_t buf = k.mmap(a, 64 * k4K, guest::prot::ReadWrite, false);
    const vmm::RunCost before = sys.vmm->cost();
    for (unsigned i = 0; i < 36; ++i)
      k.touch(buf + k4K * i, Access::Write);
    return sys.vmm->cost() - before;
  };
  const vmm::RunCost caching = run(Approach::ShadowCaching), agile = run(Approach::Agile);
  EXPECT_EQ(caching.guest_page_faults, 36u);
  EXPECT_EQ(agile.guest_page_faults, 36u);
  EXPECT_GE(caching.totalExits(), 2u * 36);
  EXPECT_LT(agile.totalExits(), 2u * 8 + 4);  // the pages before the switch, and a handful more
  // Every exit at the shadow variants' price (§17): round trip + indirect + handler.
  const vmm::CostConfig costs;
  EXPECT_EQ(agile.exit_cycles, agile.totalExits() * (costs.exit_round_trip + costs.exit_indirect));
}

TEST(AgileShim, StableTableGoesBackToShadowAndIsProtectedAgain) {
  vmm::AgilePolicy policy;
  policy.revert_cr3_writes = 2;  // a checkpoint every second CR3 write
  System sys = smallPages(Approach::Agile, policy);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn(), b = k.spawn();
  k.switchTo(a);
  const uint64_t buf = k.mmap(a, 64 * k4K, guest::prot::ReadWrite, false);
  for (unsigned i = 0; i < 12; ++i)
    k.touch(buf + k4K * i, Access::Write);
  ASSERT_EQ(sys.vmm->shadow()->switchedTables(), 1u);
  const uint64_t table = leafTableGpa(sys, k.rootOf(a), buf);
  // Still changing between checkpoints: kept nested.
  for (unsigned round = 0; round < 3; ++round) {
    k.switchTo(b);
    k.switchTo(a);
    k.touch(buf + k4K * (12 + round), Access::Write);
  }
  EXPECT_EQ(sys.vmm->shadow()->switchedTables(), 1u);
  EXPECT_EQ(sys.vmm->shadow()->stats().agile_reverts, 0u);
  // Unchanged over a whole period: back to shadow at the next checkpoint.
  for (unsigned round = 0; round < 2; ++round) {
    k.switchTo(b);
    k.switchTo(a);
  }
  EXPECT_EQ(sys.vmm->shadow()->switchedTables(), 0u);
  EXPECT_EQ(sys.vmm->shadow()->stats().agile_reverts, 1u);
  // The next touch refills the shadow (a shadow fault) and write-protects the table again, so a
  // new page's PTE store traps once more.
  const uint64_t faults = exits(sys, ExitReason::ShadowFault);
  k.touch(buf, Access::Read);
  EXPECT_EQ(exits(sys, ExitReason::ShadowFault), faults + 1);
  EXPECT_TRUE(sys.vmm->shadow()->isWriteProtected(table));
  const uint64_t pt_writes = exits(sys, ExitReason::PageTableWrite);
  k.touch(buf + k4K * 40, Access::Write);
  EXPECT_EQ(exits(sys, ExitReason::PageTableWrite), pt_writes + 1);
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

// A run-time approach on the golden model (§16; its switches: policy_agile_test.cpp).
TEST(AgileShim, RunTimeApproachOnTheModel) {
  System sys(Approach::Agile);
  sys.vmm->switchApproach(Approach::Nested);
  EXPECT_EQ(sys.vmm->approach(), Approach::Nested);
  System nested(Approach::Nested);
  nested.vmm->switchApproach(Approach::Agile);
  EXPECT_EQ(nested.vmm->approach(), Approach::Agile);
  EXPECT_EQ(nested.backend->mmu().readReg(0, CtxReg::Mode), static_cast<uint64_t>(Mode::Agile));
  EXPECT_EQ(vmm::parseApproach("agile"), Approach::Agile);
}

// The invariant checker on a broken switching entry: the PDE that switches `buf`'s 2 MiB to the
// guest's own level-1 table is made to point one page further, and the check names the space, the
// 2 MiB's VA, the wrong host page and the level of the table it should point to.
TEST(AgileShim, TheCheckerNamesASwitchingEntryThatPointsElsewhere) {
  System sys = smallPages(Approach::Agile);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  k.switchTo(a);
  const uint64_t buf = k.mmap(a, 64 * k4K, guest::prot::ReadWrite, false);
  for (unsigned touched = 0; sys.vmm->shadow()->stats().agile_switches == 0 && touched < 16; ++touched)
    k.touch(buf + k4K * touched, Access::Write);
  ASSERT_EQ(sys.vmm->shadow()->stats().agile_switches, 1u);
  ASSERT_TRUE(sys.vmm->checkInvariants().empty());
  // The shadow PDE of buf: a walk of the shadow tables from the host CR3 (PML4E, PDPTE, PDE).
  vmmu::PhysicalMemory &mem = sys.backend->memory();
  constexpr uint64_t kFrame = 0x000F'FFFF'FFFF'F000ull;
  uint64_t table = sys.backend->mmu().readReg(0, CtxReg::Cr3) & kFrame;
  for (unsigned l = 4; l > 2; --l)
    table = mem.read64(table + 8 * ((buf >> (12 + 9 * (l - 1))) & 511)) & kFrame;
  const uint64_t pde_addr = table + 8 * ((buf >> 21) & 511);
  const uint64_t pde = mem.read64(pde_addr);
  ASSERT_NE(pde & agile::Switch, 0u) << "the PDE switches to the guest's table";
  const uint64_t guest_table_host = sys.vmm->memory().hostOf(leafTableGpa(sys, k.rootOf(a), buf));
  ASSERT_EQ(pde & kFrame, guest_table_host);
  mem.write64(pde_addr, pde + k4K);  // the next host page: not the guest's table
  const std::vector<std::string> problems = sys.vmm->checkInvariants();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "space of guest CR3 " + hex(k.rootOf(a)) + ": VA " + hex(buf & ~((2ull << 20) - 1)) +
                             ": switching entry points to " + hex(guest_table_host + k4K) +
                             ", not to the guest's level-1 table");
  mem.write64(pde_addr, pde);  // put back, so the run can end checked
}

}  // namespace
}  // namespace vmmu::testing
