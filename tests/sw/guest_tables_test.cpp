// guest_tables_test.cpp - the entries the guest kernel writes into its own page tables, read back
// from guest memory by a walk in the test: the leaf of a 4 KiB and of a 2 MiB page (frame, P, RW,
// US, NX, PS), what mprotect changes, and that munmap clears the entry itself, at the level the
// page was mapped.
#include <gtest/gtest.h>

#include <stdexcept>

#include "sw_test_support.h"
#include "vmmu/paging.h"

namespace vmmu::testing {
namespace {

using guest::Pid;
using vmm::Approach;
constexpr uint64_t k4K = 4096, k2M = 2ull << 20;
constexpr uint64_t kFrame = 0x000F'FFFF'FFFF'F000ull;

// The guest's level-`level` entry for `va` (0 when a table above is missing).
uint64_t guestEntry(System &sys, Pid pid, uint64_t va, unsigned level) {
  uint64_t table = sys.kernel->rootOf(pid);
  for (unsigned l = 4;; --l) {
    const uint64_t entry = sys.backend->memory().read64(sys.vmm->memory().hostOf(table + 8 * entryIndex(va, l)));
    if (l == level)
      return entry;
    if (!(entry & pte::P) || (entry & pte::PS))
      return 0;
    table = entry & kFrame;
  }
}

TEST(GuestTables, A4KLeafHoldsItsFrameAndProtection) {
  System sys(Approach::Nested);
  guest::GuestKernel &k = *sys.kernel;
  const Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t rw = k.mmap(pid, 2 * k4K, guest::prot::ReadWrite, false);
  const uint64_t rx = k.mmap(pid, k4K, guest::prot::Read | guest::prot::Exec, false);
  k.touch(rw + k4K + 8, Access::Write);
  k.touch(rx, Access::Read);
  EXPECT_EQ(guestEntry(sys, pid, rw + k4K, 1), k.residentFrame(pid, rw + k4K) | pte::P | pte::RW | pte::US | pte::NX);
  EXPECT_EQ(guestEntry(sys, pid, rx, 1), k.residentFrame(pid, rx) | pte::P | pte::US);
  EXPECT_EQ(guestEntry(sys, pid, rw, 1), 0u) << "never touched: not mapped";
  // The tables above a leaf: present, writable, user.
  for (unsigned level = 2; level <= 4; ++level)
    EXPECT_EQ(guestEntry(sys, pid, rw, level) & ~kFrame, pte::P | pte::RW | pte::US) << level;
  k.mprotect(pid, rw + k4K, k4K, guest::prot::Read);
  EXPECT_EQ(guestEntry(sys, pid, rw + k4K, 1), k.residentFrame(pid, rw + k4K) | pte::P | pte::US | pte::NX);
  const uint64_t frames = k.freeFrames();
  k.munmap(pid, rw + k4K, k4K);
  EXPECT_EQ(guestEntry(sys, pid, rw + k4K, 1), 0u);
  EXPECT_EQ(k.residentFrame(pid, rw + k4K), ~uint64_t{0});
  EXPECT_EQ(k.freeFrames(), frames + 1);
}

TEST(GuestTables, A2MLeafIsClearedAtItsOwnLevel) {
  System sys(Approach::Nested);
  guest::GuestKernel &k = *sys.kernel;
  const Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t buf = k.mmap(pid, 2 * k2M, guest::prot::ReadWrite, true);
  k.touch(buf + k2M + 5 * k4K, Access::Write);
  ASSERT_EQ(k.stats().huge_page_faults, 1u);
  k.touch(buf, Access::Write);  // its neighbour, ending where it starts
  ASSERT_EQ(k.stats().huge_page_faults, 2u);
  const uint64_t neighbour = k.residentFrame(pid, buf);
  const uint64_t frame = k.residentFrame(pid, buf + k2M);
  EXPECT_EQ(frame % k2M, 0u);
  EXPECT_EQ(guestEntry(sys, pid, buf + k2M, 2), frame | pte::P | pte::RW | pte::US | pte::NX | pte::PS);
  k.mprotect(pid, buf + k2M, k2M, guest::prot::Read);
  EXPECT_EQ(guestEntry(sys, pid, buf + k2M, 2), frame | pte::P | pte::US | pte::NX | pte::PS);
  const uint64_t frames = k.freeFrames();
  const uint64_t pd_entry_before_neighbour = guestEntry(sys, pid, buf, 2);
  k.munmap(pid, buf + k2M, k2M);
  EXPECT_EQ(guestEntry(sys, pid, buf + k2M, 2), 0u) << "the PD entry itself";
  EXPECT_EQ(guestEntry(sys, pid, buf, 2), pd_entry_before_neighbour) << "its neighbour untouched";
  EXPECT_EQ(pd_entry_before_neighbour, neighbour | pte::P | pte::RW | pte::US | pte::NX | pte::PS);
  EXPECT_EQ(k.residentFrame(pid, buf), neighbour);
  EXPECT_EQ(k.freeFrames(), frames + 512);
}

TEST(GuestTables, APhysicalMappingMapsEachPageToItsFrame) {
  System sys(Approach::Nested);
  guest::GuestKernel &k = *sys.kernel;
  const Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t gpa = k.memoryBytes() - 4 * k4K;  // the last four pages, as a device window
  const uint64_t va = k.mapPhysical(pid, gpa, 4 * k4K, guest::prot::Read);
  const guest::AccessOutcome out = k.touch(va + 2 * k4K + 0x18, Access::Read);
  EXPECT_EQ(out.hpa, sys.vmm->memory().hostOf(gpa + 2 * k4K + 0x18));
  EXPECT_EQ(guestEntry(sys, pid, va + 2 * k4K, 1), (gpa + 2 * k4K) | pte::P | pte::US | pte::NX);
  EXPECT_EQ(k.residentFrame(pid, va + 2 * k4K + 0x18), gpa + 2 * k4K + 0x18);
}

// The boot direct map covers all of guest memory, one PD table per GiB: a guest of 2 GiB and
// 2 MiB boots with its root, the PDPT and three PDs, and the kernel loads from the last 2 MiB page
// of each GiB through it.
TEST(GuestTables, TheDirectMapCoversEveryGibOfGuestMemory) {
  constexpr uint64_t k1G = 1ull << 30;
  System sys(Approach::Nested, 2 * k1G + k2M);
  guest::GuestKernel &k = *sys.kernel;
  EXPECT_EQ(k.stats().table_pages_allocated, 5u);
  for (const uint64_t gpa : {k1G - 8, 2 * k1G - 8, 2 * k1G + k2M - 8}) {
    SCOPED_TRACE(gpa);
    EXPECT_NO_THROW(k.kernelLoad(gpa));
  }
  EXPECT_THROW(k.kernelLoad(2 * k1G + k2M), std::invalid_argument);
  // Each GiB's first 2 MiB page is its own, not the next GiB's: a load there reads what the host
  // holds at that gPA.
  for (const uint64_t gpa : {uint64_t{0x10'0008}, k1G + 0x10'0008, 2 * k1G + 0x10'0008}) {
    SCOPED_TRACE(gpa);
    const uint64_t value = 0x5eed'0000 + gpa;
    sys.backend->memory().write64(sys.vmm->memory().hostOf(gpa), value);
    EXPECT_EQ(k.kernelLoad(gpa), value);
  }
}

}  // namespace
}  // namespace vmmu::testing
