// five_level_test.cpp - the guest and the VMM shim over an MMU with GuestLevels = 5 (LA57): the
// guest's 5-level tables (the kernel half hung from a kernel PML4), cold walks of five references,
// and every shadow variant keeping its 5-level shadow tables consistent (plain shadow with the same
// exits as at 4 levels: the guest's faults and switches do not depend on the number of levels).
#include <gtest/gtest.h>

#include <array>

#include "vmmu/guest/guest_kernel.h"
#include "vmmu/paging.h"
#include "vmmu/vmm/mmu_backend.h"
#include "vmmu/vmm/vmm.h"

namespace vmmu::testing {
namespace {

using guest::Pid;
using vmm::Approach;
constexpr uint64_t k4K = 4096;
constexpr uint64_t kAddr = 0x000F'FFFF'FFFF'F000ull;

struct LeveledSystem {
  LeveledSystem(Approach approach, unsigned levels) {
    MmuConfig mmu;
    mmu.guest_levels = levels;
    backend = std::make_unique<vmm::ModelBackend>(mmu);
    vmm::VmmConfig config;
    config.memory.bytes = 64ull << 20;
    if (approach == Approach::Native)
      config.memory.host_base = 0;
    vmm = std::make_unique<vmm::Vmm>(*backend, config, approach);
    guest::GuestConfig guest_config;
    guest_config.memory_bytes = config.memory.bytes;
    guest_config.paging_levels = levels;
    guest_config.transparent_huge_pages = false;
    kernel = std::make_unique<guest::GuestKernel>(*vmm, guest_config);
  }
  uint64_t readGuest(uint64_t gpa) const { return backend->memory().read64(vmm->memory().hostOf(gpa)); }
  uint64_t counter(Counter c) const { return backend->counter(c); }

  std::unique_ptr<vmm::ModelBackend> backend;
  std::unique_ptr<vmm::Vmm> vmm;
  std::unique_ptr<guest::GuestKernel> kernel;
};

// The guest's own tables, walked in software from `root` through `levels` levels: the leaf entry
// for `va`, or 0 where an entry is not present.
uint64_t softwareWalk(const LeveledSystem &sys, uint64_t root, uint64_t va, unsigned levels) {
  uint64_t table = root;
  for (unsigned level = levels; level >= 1; --level) {
    const uint64_t entry = sys.readGuest(table + 8 * entryIndex(va, level));
    if (!(entry & pte::P))
      return 0;
    if (level == 1 || (entry & pte::PS))
      return entry;
    table = entry & kAddr;
  }
  return 0;
}

TEST(FiveLevelGuest, ProcessTablesHaveFiveLevelsAndTheKernelHalfBelowAKernelPml4) {
  LeveledSystem sys(Approach::Native, 5);
  guest::GuestKernel &k = *sys.kernel;
  const Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t buf = k.mmap(pid, 4 * k4K, guest::prot::ReadWrite, false);
  k.touch(buf + k4K, Access::Write);
  const uint64_t root = k.rootOf(pid);
  // PML5[0] holds the user half; PML5[511] the kernel half (0xffff888000000000 has bits 56:48 set).
  EXPECT_EQ(entryIndex(guest::GuestKernel::kDirectMapBase, 5), 511u);
  const uint64_t kernel_entry = sys.readGuest(root + 8 * 511);
  ASSERT_TRUE(kernel_entry & pte::P);
  EXPECT_EQ(kernel_entry, sys.readGuest(k.kernelRoot() + 8 * 511)) << "every root shares the kernel's entry";
  const uint64_t pdpt_entry = sys.readGuest((kernel_entry & kAddr) + 8 * entryIndex(guest::GuestKernel::kDirectMapBase, 4));
  EXPECT_TRUE(pdpt_entry & pte::P) << "the kernel PML4 holds the direct map's PDPT";
  // The touched page is mapped through five levels, the untouched neighbour is not.
  const uint64_t leaf = softwareWalk(sys, root, buf + k4K, 5);
  ASSERT_TRUE(leaf & pte::P);
  EXPECT_TRUE(leaf & pte::RW);
  EXPECT_EQ(softwareWalk(sys, root, buf + 2 * k4K, 5), 0u);
  // A 4-level walk of the same root does not find it: the root is a PML5.
  EXPECT_EQ(softwareWalk(sys, root, buf + k4K, 4), 0u);
}

TEST(FiveLevelGuest, AColdNativeWalkReadsOneEntryPerLevel) {
  for (const unsigned levels : {4u, 5u}) {
    LeveledSystem sys(Approach::Native, levels);
    guest::GuestKernel &k = *sys.kernel;
    const Pid pid = k.spawn();
    k.switchTo(pid);
    const uint64_t buf = k.mmap(pid, k4K, guest::prot::ReadWrite, false);
    k.touch(buf, Access::Write);
    sys.backend->invVpid(sys.vmm->vpid());  // TLB and paging-structure caches of the VM: cold
    const uint64_t reads = sys.counter(Counter::GuestReads);
    const uint64_t walks = sys.counter(Counter::Walks);
    k.touch(buf, Access::Read);
    EXPECT_EQ(sys.counter(Counter::Walks) - walks, 1u) << levels << " levels";
    EXPECT_EQ(sys.counter(Counter::GuestReads) - reads, levels) << levels << " levels";
  }
}

// Two processes touching pages, switching, remapping and exiting: the guest activity of a shell.
void exercise(guest::GuestKernel &k) {
  const Pid a = k.spawn(), b = k.spawn();
  std::array<uint64_t, 2> bufs{};
  for (unsigned round = 0; round < 3; ++round) {
    for (unsigned p = 0; p < 2; ++p) {
      const Pid pid = p == 0 ? a : b;
      k.switchTo(pid);
      if (round == 0)
        bufs[p] = k.mmap(pid, 64 * k4K, guest::prot::ReadWrite, false);
      for (unsigned i = 0; i < 64; i += 1 + round)
        k.touch(bufs[p] + i * k4K, i % 3 == 0 ? Access::Write : Access::Read);
    }
  }
  k.switchTo(a);
  k.munmap(a, bufs[0] + 8 * k4K, 8 * k4K);
  for (unsigned i = 0; i < 64; ++i)
    if (i < 8 || i >= 16)  // the pages still mapped
      k.touch(bufs[0] + i * k4K, Access::Write);
  k.exit(b);
}

TEST(FiveLevelGuest, ShadowVariantsKeepTheirInvariantOverFiveLevelTables) {
  for (const Approach approach : {Approach::ShadowPlain, Approach::ShadowCaching, Approach::ShadowPrefetch}) {
    LeveledSystem four(approach, 4), five(approach, 5);
    exercise(*four.kernel);
    exercise(*five.kernel);
    const char *name = vmm::toString(approach).data();
    EXPECT_TRUE(five.vmm->checkInvariants().empty()) << name;
    EXPECT_EQ(five.kernel->stats().page_faults, four.kernel->stats().page_faults) << name;
    const auto exits = [](const LeveledSystem &sys, vmm::ExitReason reason) {
      return sys.vmm->cost().exits[static_cast<unsigned>(reason)];
    };
    EXPECT_EQ(exits(five, vmm::ExitReason::Cr3Write), exits(four, vmm::ExitReason::Cr3Write)) << name;
    if (approach == Approach::ShadowPlain) {
      // Plain shadow traps no table write: its exits follow the guest's faults and switches only.
      for (unsigned r = 0; r < vmm::kNumExitReasons; ++r)
        EXPECT_EQ(exits(five, static_cast<vmm::ExitReason>(r)), exits(four, static_cast<vmm::ExitReason>(r)))
            << name << ": " << vmm::toString(static_cast<vmm::ExitReason>(r));
    } else {
      // The write-protecting variants also trap the guest's stores into its user-half PML4 pages,
      // a level that 4-level paging does not have.
      EXPECT_GE(exits(five, vmm::ExitReason::PageTableWrite), exits(four, vmm::ExitReason::PageTableWrite)) << name;
      EXPECT_GT(exits(five, vmm::ExitReason::PageTableWrite), 0u) << name;
    }
  }
}

}  // namespace
}  // namespace vmmu::testing
