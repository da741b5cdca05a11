// guest_uncovered_test.cpp - guest kernel paths no other test ran (found with a gcov build of the
// sw, run, trace, backend and hostile labels), each checked against values worked out by hand:
// - A physical mapping split by mprotect or munmap: the part after the cut keeps mapping each page
//   to its own frame (the tail's frame base moves on by the cut's offset).
// - giveSegment's refusals: an address in no mapping, a physical mapping, a range that holds no
//   whole 2 MiB page, and a guest with no free 2 MiB frame all give 0 bytes and no segment.
// - Out of guest memory: the error names the guest's memory in MiB.
// - A segment dissolved while its process sleeps: the way back to it flushes its PCID.
// - The idle thread runs with no segment.
#include <gtest/gtest.h>

#include <string>

#include "sw_test_support.h"

namespace vmmu::testing {
namespace {

using guest::Pid;
using vmm::Approach;
constexpr uint64_t k4K = 4096, k2M = 2ull << 20;

// A new process, switched to (the running one).
Pid runningProcess(guest::GuestKernel &k) {
  const Pid pid = k.spawn();
  k.switchTo(pid);
  return pid;
}

// Four pages mapped to the last four frames of guest memory; the first page is cut off (made
// read-only, or unmapped) before any page is touched, so the tail's pages are first mapped from
// the split-off VMA: page i must still reach frame gpa + i * 4 KiB.
TEST(GuestPhysicalSplit, TheTailOfACutPhysicalMappingKeepsItsFrames) {
  for (const bool unmap : {false, true}) {
    SCOPED_TRACE(unmap ? "munmap of the first page" : "mprotect of the first page");
    System sys(Approach::Nested);
    guest::GuestKernel &k = *sys.kernel;
    const Pid pid = runningProcess(k);
    const uint64_t gpa = k.memoryBytes() - 4 * k4K;
    const uint64_t va = k.mapPhysical(pid, gpa, 4 * k4K, guest::prot::ReadWrite);
    if (unmap)
      k.munmap(pid, va, k4K);
    else
      k.mprotect(pid, va, k4K, guest::prot::Read);
    for (const uint64_t page : {1u, 2u, 3u}) {
      SCOPED_TRACE(page);
      const uint64_t at = va + page * k4K + 0x28;
      const guest::AccessOutcome out = k.touch(at, Access::Read);
      EXPECT_FALSE(out.faulted);
      EXPECT_EQ(k.residentFrame(pid, at), gpa + page * k4K + 0x28);
      EXPECT_EQ(out.hpa, sys.vmm->memory().hostOf(gpa + page * k4K + 0x28));
    }
  }
}

// Each refusal returns exactly 0 bytes and leaves the process without a segment.
TEST(GuestSegmentRefusals, NoMappingPhysicalMappingNoWholeHugePageOrNoFreeFrameGiveNothing) {
  System sys(Approach::GuestDirect);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = runningProcess(k);
  const uint64_t buf = k.mmap(a, 4 * k2M, guest::prot::ReadWrite, true);
  ASSERT_EQ(buf % k2M, 0u);
  // Past the mapping's end (mmap leaves a guard page after it): no VMA holds the rounded start.
  EXPECT_EQ(k.giveSegment(a, buf + 4 * k2M, 4 * k2M), 0u);
  // Below every mapping of the process: no VMA starts at or before it.
  EXPECT_EQ(k.giveSegment(a, 0, k2M), 0u);
  // A physical mapping is never given the segment.
  const uint64_t phys = k.mapPhysical(a, 0, 2 * k2M, guest::prot::ReadWrite);
  EXPECT_EQ(k.giveSegment(a, phys, 2 * k2M), 0u);
  // Inside the mapping but shorter than a whole 2 MiB page once the start is rounded up.
  EXPECT_EQ(k.giveSegment(a, buf + k4K, k2M), 0u);
  EXPECT_EQ(k.giveSegment(a, buf, k2M - k4K), 0u);
  EXPECT_EQ(k.segmentOf(a).end, 0u);
  EXPECT_EQ(k.stats().segments_given, 0u);
  // A whole 2 MiB page is given (the refusals above were not all for want of frames).
  EXPECT_EQ(k.giveSegment(a, buf, k2M), k2M);
}

TEST(GuestSegmentRefusals, AGuestWithNoFreeHugeFrameGivesNothing) {
  System sys(Approach::GuestDirect);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = runningProcess(k);
  // Take 4 KiB frames (each breaks up a 2 MiB chunk once the loose ones are gone) until fewer
  // than 512 are free: then no whole 2 MiB chunk is left, yet page tables still find frames.
  const uint64_t frames = k.freeFrames();
  const uint64_t small = k.mmap(a, frames * k4K, guest::prot::ReadWrite, false);
  for (uint64_t off = 0; k.freeFrames() >= 512; off += k4K)
    k.touch(small + off, Access::Write);
  const uint64_t buf = k.mmap(a, 4 * k2M, guest::prot::ReadWrite, true);
  EXPECT_EQ(k.giveSegment(a, buf, 4 * k2M), 0u);
  EXPECT_EQ(k.segmentOf(a).end, 0u);
  EXPECT_EQ(k.stats().segments_given, 0u);
}

// A guest of 4 MiB that runs out of frames says how much memory it has, in MiB.
TEST(GuestOutOfMemory, TheErrorNamesTheGuestMemoryInMib) {
  System sys(Approach::Nested, 4ull << 20);
  guest::GuestKernel &k = *sys.kernel;
  const Pid pid = runningProcess(k);
  const uint64_t buf = k.mmap(pid, 4ull << 20, guest::prot::ReadWrite, false);
  std::string message;
  try {
    for (uint64_t off = 0; off < (4ull << 20); off += k4K)  // more pages than free frames
      k.touch(buf + off, Access::Write);
  } catch (const guest::OutOfGuestMemory &e) {
    message = e.what();
  }
  EXPECT_EQ(message, "guest: out of physical memory (4 MiB)");
}

// A segment dissolved while its process is not running (munmap of it from another process's
// time slice) marks the process's PCID stale, so switching back to it flushes that PCID: a page
// it had in the TLB walks again. Without the munmap the same page hits the TLB (no walk).
TEST(GuestSegmentDissolve, DissolvingASleepingProcesssSegmentFlushesItsPcidOnTheWayBack) {
  for (const bool dissolve : {false, true}) {
    SCOPED_TRACE(dissolve ? "segment unmapped while asleep" : "segment kept");
    System sys(Approach::GuestDirect);
    guest::GuestKernel &k = *sys.kernel;
    const Pid a = k.spawn(), b = k.spawn();
    k.switchTo(a);
    const uint64_t seg = k.mmap(a, 2 * k2M, guest::prot::ReadWrite, true);
    ASSERT_EQ(k.giveSegment(a, seg, 2 * k2M), 2 * k2M);
    const uint64_t page = k.mmap(a, k4K, guest::prot::ReadWrite, false);
    k.touch(page, Access::Read);  // faulted in
    k.touch(page, Access::Read);  // and in the TLB under a's PCID
    k.switchTo(b);
    if (dissolve) {
      k.munmap(a, seg, 2 * k2M);
      EXPECT_EQ(k.stats().segments_dissolved, 1u);
    }
    k.switchTo(a);
    const uint64_t walks = sys.backend->counter(Counter::Walks);
    k.touch(page, Access::Read);
    EXPECT_EQ(sys.backend->counter(Counter::Walks) - walks, dissolve ? 1u : 0u);
  }
}

// Switching to the idle kernel thread clears the guest segment (the idle thread has none): the
// VMM's segment goes from the process's 4 MiB to nothing, and back with the process.
TEST(GuestSegmentIdle, TheIdleThreadRunsWithNoSegment) {
  System sys(Approach::GuestDirect);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = runningProcess(k);
  const uint64_t seg = k.mmap(a, 2 * k2M, guest::prot::ReadWrite, true);
  ASSERT_EQ(k.giveSegment(a, seg, 2 * k2M), 2 * k2M);
  EXPECT_EQ(sys.vmm->guestSegmentBytes(), 2 * k2M);
  k.switchToIdle();
  EXPECT_EQ(k.current(), 0u);
  EXPECT_EQ(sys.vmm->guestSegmentBytes(), 0u);
  k.switchTo(a);
  EXPECT_EQ(sys.vmm->guestSegmentBytes(), 2 * k2M);
}

}  // namespace
}  // namespace vmmu::testing
