// shadow_test.cpp - the three shadow-paging variants: what exits, what is kept across switches,
// propagation of trapped writes (shared tables, processes not running), prefetching, splintering,
// and the invariant checker catching a stale shadow entry; and, beside them, the guest kernel
// meeting a protection fault its own records do not explain.
#include <gtest/gtest.h>

#include "sw_test_support.h"
#include "vmmu/paging.h"

namespace vmmu::testing {
namespace {

using guest::Pid;
using vmm::Approach;
using vmm::ExitReason;
constexpr uint64_t k4K = 4096, k2M = 2ull << 20;

uint64_t exits(const System &sys, ExitReason reason) { return sys.vmm->cost().exits[static_cast<unsigned>(reason)]; }

// gPA of the guest's level-`level` entry for `va` under root `root` (a software walk in the test).
uint64_t guestEntryGpa(System &sys, uint64_t root, uint64_t va, unsigned level) {
  uint64_t table = root;
  for (unsigned l = 4; l > level; --l) {
    const uint64_t entry =
        sys.backend->memory().read64(sys.vmm->memory().hostOf(table + 8 * ((va >> (12 + 9 * (l - 1))) & 511)));
    table = entry & 0x000F'FFFF'FFFF'F000ull;
  }
  return table + 8 * ((va >> (12 + 9 * (level - 1))) & 511);
}

// A process with `pages` resident 4K pages.
uint64_t populate(guest::GuestKernel &k, Pid pid, unsigned pages) {
  k.switchTo(pid);
  const uint64_t buf = k.mmap(pid, pages * k4K, guest::prot::ReadWrite, false);
  for (unsigned i = 0; i < pages; ++i)
    k.touch(buf + i * k4K, Access::Write);
  return buf;
}

TEST(ShadowPlain, EveryCr3WriteExitsAndRebuildsTheShadow) {
  System sys(Approach::ShadowPlain);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn(), b = k.spawn();
  const uint64_t buf = populate(k, a, 16);
  k.switchTo(b);
  EXPECT_EQ(exits(sys, ExitReason::Cr3Write), sys.vmm->cost().cr3_writes);
  EXPECT_EQ(sys.vmm->shadow()->spaceCount(), 1u) << "the virtual-TLB model keeps one space";
  k.switchTo(a);
  const uint64_t faults = exits(sys, ExitReason::ShadowFault);
  for (unsigned i = 0; i < 16; ++i)
    k.touch(buf + i * k4K, Access::Read);
  EXPECT_GE(exits(sys, ExitReason::ShadowFault) - faults, 16u) << "each page refills after the switch";
  EXPECT_EQ(exits(sys, ExitReason::PageTableWrite), 0u) << "plain shadow does not write-protect tables";
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

TEST(ShadowPlain, InvlpgExitsAndDropsTheEntry) {
  System sys(Approach::ShadowPlain);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  const uint64_t buf = populate(k, a, 4);
  const uint64_t invlpgs = exits(sys, ExitReason::Invlpg);
  k.mprotect(a, buf, k4K, guest::prot::Read);
  EXPECT_EQ(exits(sys, ExitReason::Invlpg), invlpgs + 1);
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
  EXPECT_THROW(k.touch(buf, Access::Write), guest::SegmentationFault) << "the stale writable entry is gone";
}

TEST(ShadowCaching, SpacesSurviveSwitchesAndTableWritesTrap) {
  System sys(Approach::ShadowCaching);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn(), b = k.spawn();
  const uint64_t buf = populate(k, a, 16);
  EXPECT_GT(exits(sys, ExitReason::PageTableWrite), 0u) << "the guest's PTE stores hit protected tables";
  populate(k, b, 4);
  k.switchTo(a);
  const uint64_t faults = exits(sys, ExitReason::ShadowFault);
  for (unsigned i = 0; i < 16; ++i)
    k.touch(buf + i * k4K + 64, Access::Read);
  EXPECT_EQ(exits(sys, ExitReason::ShadowFault), faults) << "a's shadow was kept while b ran";
  EXPECT_GE(sys.vmm->shadow()->spaceCount(), 3u);  // idle kernel, a, b
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

TEST(ShadowCaching, WriteToTableOfProcessNotRunningIsPropagated) {
  System sys(Approach::ShadowCaching);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn(), b = k.spawn();
  const uint64_t buf = populate(k, a, 4);
  const uint64_t old_frame = k.residentFrame(a, buf);
  k.switchTo(b);
  const uint64_t zaps = sys.vmm->shadow()->stats().zaps;
  ASSERT_TRUE(k.reclaim(a, buf));  // a's PTE cleared while b runs
  EXPECT_GT(sys.vmm->shadow()->stats().zaps, zaps) << "a's cached shadow entry must go";
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
  // The page is gone for a: its next touch faults in the guest and lands on a new frame.
  k.mmap(b, k4K, guest::prot::ReadWrite, false);
  populate(k, b, 1);  // b takes the reclaimed frame
  k.switchTo(a);
  const uint64_t faults = k.stats().page_faults;
  const guest::AccessOutcome out = k.touch(buf, Access::Read);
  EXPECT_EQ(k.stats().page_faults, faults + 1);
  EXPECT_NE(k.residentFrame(a, buf), old_frame);
  EXPECT_EQ(out.hpa, sys.vmm->memory().hostOf(k.residentFrame(a, buf)));
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

TEST(ShadowCaching, TablePageSharedBetweenSpacesUpdatesEverySpace) {
  System sys(Approach::ShadowCaching);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn(), b = k.spawn();
  const uint64_t target = k.memoryBytes() - k2M;  // a direct-map region nothing else uses
  k.switchTo(a);
  k.kernelLoad(target);
  k.switchTo(b);
  // The direct map is global: b would hit a's TLB entry. Evict it (as TLB pressure would) so that
  // b's shadow gets its own leaf for the region.
  sys.backend->invVpid(sys.vmm->vpid());
  k.kernelLoad(target);
  // The kernel's direct-map PD page is shared by every address space (and write-protected).
  const uint64_t pd_entry = guestEntryGpa(sys, k.rootOf(a), guest::GuestKernel::kDirectMapBase + target, 2);
  EXPECT_EQ(pd_entry, guestEntryGpa(sys, k.rootOf(b), guest::GuestKernel::kDirectMapBase + target, 2));
  EXPECT_TRUE(sys.vmm->shadow()->isWriteProtected(pd_entry));
  const uint64_t zaps = sys.vmm->shadow()->stats().zaps;
  k.setDirectMapWritable(target, false);  // b runs; a's shadow must change too
  EXPECT_GE(sys.vmm->shadow()->stats().zaps, zaps + 2) << "one shadow entry in a and one in b";
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
  // The PDE is the region's 2 MiB leaf, global and not executable, read-only now; made writable
  // again, it gets RW back. A kernel load reaches the region through it either way.
  const auto pde = [&] { return sys.backend->memory().read64(sys.vmm->memory().hostOf(pd_entry)); };
  EXPECT_EQ(pde(), target | pte::P | pte::G | pte::NX | pte::PS);
  EXPECT_NO_THROW(k.kernelLoad(target));
  k.setDirectMapWritable(target, true);
  EXPECT_EQ(pde(), target | pte::P | pte::RW | pte::G | pte::NX | pte::PS);
  EXPECT_NO_THROW(k.kernelLoad(target + k4K));
}

TEST(ShadowCaching, InvariantCheckerCatchesStaleShadowEntry) {
  System sys(Approach::ShadowCaching);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  const uint64_t buf = populate(k, a, 2);
  ASSERT_TRUE(sys.vmm->checkInvariants().empty());
  // Change a's PTE behind the VMM's back (no trapped store): point it at the other page's frame.
  const uint64_t pte_gpa = guestEntryGpa(sys, k.rootOf(a), buf, 1);
  const uint64_t other = k.residentFrame(a, buf + k4K);
  PhysicalMemory &mem = sys.backend->memory();
  const uint64_t pte_hpa = sys.vmm->memory().hostOf(pte_gpa);
  const uint64_t old = mem.read64(pte_hpa);
  mem.write64(pte_hpa, (old & ~0x000F'FFFF'FFFF'F000ull) | other);
  const std::vector<std::string> problems = sys.vmm->checkInvariants();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("shadow frame"), std::string::npos) << problems[0];
  // And a permission the shadow grants but the guest no longer does.
  mem.write64(pte_hpa, old & ~pte::RW);
  const std::vector<std::string> rw_problems = sys.vmm->checkInvariants();
  ASSERT_EQ(rw_problems.size(), 1u);
  EXPECT_NE(rw_problems[0].find("writable in the shadow"), std::string::npos) << rw_problems[0];
}

// Every other way a guest PTE can change behind the VMM's back, one report each: the page gone,
// user access taken away, execution forbidden.
TEST(ShadowCaching, InvariantCheckerNamesEveryPermissionAndPresenceDifference) {
  System sys(Approach::ShadowCaching);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  const uint64_t buf = populate(k, a, 1);
  ASSERT_TRUE(sys.vmm->checkInvariants().empty());
  const uint64_t pte_hpa = sys.vmm->memory().hostOf(guestEntryGpa(sys, k.rootOf(a), buf, 1));
  PhysicalMemory &mem = sys.backend->memory();
  const uint64_t old = mem.read64(pte_hpa);
  const struct {
    uint64_t entry;
    const char *what;
  } cases[] = {
      {old & ~pte::P, "shadow maps a VA the guest does not map"},
      {old & ~pte::US, "U/S differs from the guest's"},
      {old ^ pte::NX, "NX differs from the guest's"},  // a data page: NX set, now clear
  };
  for (const auto &c : cases) {
    mem.write64(pte_hpa, c.entry);
    const std::vector<std::string> problems = sys.vmm->checkInvariants();
    ASSERT_EQ(problems.size(), 1u) << c.what;
    EXPECT_NE(problems[0].find(": VA " + hex(buf) + ": " + c.what), std::string::npos) << problems[0];
    EXPECT_EQ(problems[0].rfind("space of guest CR3 " + hex(k.rootOf(a)), 0), 0u) << problems[0];
  }
  mem.write64(pte_hpa, old);
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

TEST(ShadowPrefetch, OneFaultFillsTheWholeTable) {
  System plain(Approach::ShadowPlain), prefetch(Approach::ShadowPrefetch);
  uint64_t refill_faults[2];
  System *systems[2] = {&plain, &prefetch};
  for (int i = 0; i < 2; ++i) {
    System &sys = *systems[i];
    guest::GuestKernel &k = *sys.kernel;
    const Pid a = k.spawn(), b = k.spawn();
    const uint64_t buf = populate(k, a, 32);
    k.switchTo(b);
    k.switchTo(a);
    const uint64_t before = exits(sys, ExitReason::ShadowFault);
    for (unsigned p = 0; p < 32; ++p)
      k.touch(buf + p * k4K, Access::Read);
    refill_faults[i] = exits(sys, ExitReason::ShadowFault) - before;
    EXPECT_TRUE(sys.vmm->checkInvariants().empty()) << vmm::toString(sys.vmm->approach());
  }
  EXPECT_GE(refill_faults[0], 32u);
  EXPECT_LE(refill_faults[1], 1u);
  EXPECT_GT(prefetch.vmm->shadow()->stats().prefetched, 0u);
}

TEST(ShadowPrefetch, WriteToPrefetchedTableIsTrapped) {
  System sys(Approach::ShadowPrefetch);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  const uint64_t buf = populate(k, a, 8);
  const uint64_t writes = exits(sys, ExitReason::PageTableWrite);
  k.mprotect(a, buf + k4K, k4K, guest::prot::Read);
  EXPECT_GT(exits(sys, ExitReason::PageTableWrite), writes);
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
  EXPECT_THROW(k.touch(buf + k4K, Access::Write), guest::SegmentationFault);
}

// A 2 MiB shadow leaf written where no entry was flushes nothing: only one written over a present
// splinter table drops the space's translations (INV_PCID, for its PDE caches). The 4 KiB page
// touched before the guest's huge page is still in the TLB after it.
TEST(ShadowPlain, ALargeLeafOverAnEmptyEntryFlushesNothing) {
  System sys(Approach::ShadowPlain);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  k.switchTo(a);
  const uint64_t small = k.mmap(a, k4K, guest::prot::ReadWrite, false);
  k.touch(small, Access::Write);
  const uint64_t huge = k.mmap(a, k2M, guest::prot::ReadWrite, true);
  k.touch(huge, Access::Write);
  ASSERT_EQ(k.stats().huge_page_faults, 1u);
  ASSERT_EQ(sys.vmm->memory().eptPageSize(k.residentFrame(a, huge)), PageSize::Size2M);
  const uint64_t walks = sys.backend->counter(Counter::Walks);
  k.touch(small, Access::Read);
  EXPECT_EQ(sys.backend->counter(Counter::Walks), walks) << "a TLB hit";
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

class ShadowSplinter : public ::testing::TestWithParam<Approach> {};

TEST_P(ShadowSplinter, GuestHugePageOverFragmentedHostUses4KPieces) {
  System sys(GetParam(), 64ull << 20, 0.5);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  k.switchTo(a);
  const uint64_t buf = k.mmap(a, k2M, guest::prot::ReadWrite, true);
  k.touch(buf, Access::Write);
  ASSERT_EQ(k.stats().huge_page_faults, 1u);
  ASSERT_EQ(sys.vmm->memory().eptPageSize(k.residentFrame(a, buf)), PageSize::Size4K);
  for (uint64_t off = 0; off < k2M; off += 37 * k4K) {
    const guest::AccessOutcome out = k.touch(buf + off, Access::Read);
    EXPECT_EQ(out.hpa, sys.vmm->memory().hostOf(k.residentFrame(a, buf + off)));
  }
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

INSTANTIATE_TEST_SUITE_P(Variants, ShadowSplinter,
                         ::testing::Values(Approach::ShadowPlain, Approach::ShadowCaching, Approach::ShadowPrefetch));

// Many short processes recycle page-table pages: caching must drop dead spaces and stay exact.
TEST(ShadowCaching, RecycledTablePagesStayConsistent) {
  System sys(Approach::ShadowCaching);
  guest::GuestKernel &k = *sys.kernel;
  const Pid shell = k.spawn();
  populate(k, shell, 2);
  for (int round = 0; round < 20; ++round) {
    const Pid child = k.fork(shell);
    k.switchTo(child);
    k.exec(child);
    populate(k, child, 5);
    k.switchTo(shell);
    k.exit(child);
    ASSERT_TRUE(sys.vmm->checkInvariants().empty()) << "round " << round;
  }
  EXPECT_LE(sys.vmm->shadow()->spaceCount(), 4u) << "dead processes' spaces are dropped";
}

// A present page the guest's records call resident and writable faults on a read because its PTE
// lost US behind the kernel's back (nested paging: the MMU walks the guest's tables). Only a write
// to a page kept read-only is copy-on-write: the handler must not rewrite the PTE and count a COW
// fault for this one; it retries, and the third fault is reported.
TEST(GuestFaults, AProtectionFaultThatIsNotCopyOnWriteIsNotResolvedAsOne) {
  System sys(Approach::Nested);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  const uint64_t buf = populate(k, a, 1);
  const uint64_t pte_hpa = sys.vmm->memory().hostOf(guestEntryGpa(sys, k.rootOf(a), buf, 1));
  PhysicalMemory &mem = sys.backend->memory();
  const uint64_t pte = mem.read64(pte_hpa);
  ASSERT_TRUE((pte & pte::P) && (pte & pte::US) && (pte & pte::RW));
  mem.write64(pte_hpa, pte & ~pte::US);
  k.invlpg(buf);
  const uint64_t faults = k.stats().page_faults, cow = k.stats().cow_faults;
  try {
    k.touch(buf, Access::Read);
    ADD_FAILURE() << "the read went through";
  } catch (const std::logic_error &e) {
    EXPECT_NE(std::string(e.what()).find("not resolved by its handler"), std::string::npos) << e.what();
  }
  EXPECT_EQ(k.stats().page_faults, faults + 3);
  EXPECT_EQ(k.stats().cow_faults, cow);
  EXPECT_EQ(mem.read64(pte_hpa), pte & ~pte::US) << "the PTE is left as found";
}

}  // namespace
}  // namespace vmmu::testing
