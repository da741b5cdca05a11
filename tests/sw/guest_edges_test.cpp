// guest_edges_test.cpp - the guest kernel at its edges.
// - What fork() does to the parent's translations: a writable page it owns turns copy-on-write,
//   so the running parent drops its translations (one INVPCID) and walks again; a process with
//   only read-only pages, 4 KiB or 2 MiB, has nothing to make read-only and keeps them (no
//   INVPCID, the next read hits the TLB). A parent that is not running gets no INVPCID: its PCID
//   goes stale and the switch back to it flushes.
// - munmap and mprotect of part of a 2 MiB page (vmmu does not split them): refused, naming the
//   page, with the address space left as it was; whole pages and ranges beside them are fine.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "sw_test_support.h"
#include "vmmu/paging.h"

namespace vmmu::testing {
namespace {

using guest::Pid;
using vmm::Approach;
constexpr uint64_t k4K = 4096, k2M = 2ull << 20;

struct ForkCase {
  const char *what;
  unsigned prot;
  uint64_t length;
  bool huge_ok;
  uint64_t invpcids;  // by the fork
  uint64_t walks;     // by the parent's next read of its page
};

TEST(GuestFork, OnlyPagesThatTurnCopyOnWriteFlushTheRunningParent) {
  const ForkCase cases[] = {
      {"read-only 4 KiB page", guest::prot::Read, k4K, false, 0, 0},
      {"read-only 2 MiB page", guest::prot::Read, k2M, true, 0, 0},
      {"writable 4 KiB page", guest::prot::ReadWrite, k4K, false, 1, 1},
      {"writable 2 MiB page", guest::prot::ReadWrite, k2M, true, 1, 1},
  };
  for (const ForkCase &c : cases) {
    SCOPED_TRACE(c.what);
    vmm::ModelBackend backend;
    vmm::Vmm vmm(backend, System::configFor(64ull << 20, 0.0), Approach::Nested);
    guest::GuestKernel k(vmm, guest::GuestConfig{});
    const Pid parent = k.spawn();
    k.switchTo(parent);
    const uint64_t buf = k.mmap(parent, c.length, c.prot, c.huge_ok);
    k.touch(buf, Access::Read);  // faulted in
    EXPECT_EQ(k.stats().huge_page_faults, c.huge_ok ? 1u : 0u);
    k.touch(buf, Access::Read);  // and in the TLB
    const uint64_t invpcids = backend.counter(Counter::InvPcid);
    k.fork(parent);
    EXPECT_EQ(backend.counter(Counter::InvPcid) - invpcids, c.invpcids);
    const uint64_t walks = backend.counter(Counter::Walks);
    k.touch(buf, Access::Read);
    EXPECT_EQ(backend.counter(Counter::Walks) - walks, c.walks);
  }
}

// mmap rounds the length up to the page size the mapping may use, and no further: a mapping of
// whole pages ends at start + length, where its guard page faults; the next mapping starts past
// that one guard page (4 KiB), rounded up to its own alignment.
TEST(GuestMmap, AMappingOfWholePagesEndsAtItsLengthAndIsFollowedByOneGuardPage) {
  vmm::ModelBackend backend;
  vmm::Vmm vmm(backend, System::configFor(64ull << 20, 0.0), Approach::Nested);
  guest::GuestKernel k(vmm, guest::GuestConfig{});
  const Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t two_pages = k.mmap(pid, 2 * k4K, guest::prot::ReadWrite, false);
  k.touch(two_pages + 2 * k4K - 8, Access::Write);  // the last word of the mapping
  EXPECT_THROW(k.touch(two_pages + 2 * k4K, Access::Read), guest::SegmentationFault);
  const uint64_t odd = k.mmap(pid, 2 * k4K + 1, guest::prot::ReadWrite, false);
  EXPECT_EQ(odd, two_pages + 3 * k4K);  // two pages, one guard page
  k.touch(odd + 3 * k4K - 8, Access::Write);  // 8 KiB + 1 byte rounds up to three pages
  EXPECT_THROW(k.touch(odd + 3 * k4K, Access::Read), guest::SegmentationFault);
  const uint64_t huge = k.mmap(pid, 2 * k2M, guest::prot::ReadWrite, true);
  EXPECT_EQ(huge % k2M, 0u);
  EXPECT_EQ(huge, (odd + 4 * k4K + k2M - 1) & ~(k2M - 1));
  k.touch(huge + 2 * k2M - 8, Access::Write);
  EXPECT_THROW(k.touch(huge + 2 * k2M, Access::Read), guest::SegmentationFault);
  EXPECT_EQ(k.mmap(pid, k4K, guest::prot::Read, false), huge + 2 * k2M + k4K);
  EXPECT_EQ(k.stats().huge_page_faults, 1u);
}

TEST(GuestFork, AParentNotRunningIsFlushedWhenItRunsAgain) {
  vmm::ModelBackend backend;
  vmm::Vmm vmm(backend, System::configFor(64ull << 20, 0.0), Approach::Nested);
  guest::GuestKernel k(vmm, guest::GuestConfig{});
  const Pid parent = k.spawn(), other = k.spawn();
  k.switchTo(parent);
  const uint64_t buf = k.mmap(parent, k4K, guest::prot::ReadWrite, false);
  k.touch(buf, Access::Write);
  k.switchTo(other);
  const uint64_t invpcids = backend.counter(Counter::InvPcid);
  k.fork(parent);
  EXPECT_EQ(backend.counter(Counter::InvPcid) - invpcids, 0u) << "the parent does not run";
  k.switchTo(parent);  // its stale PCID: this CR3 write flushes
  const uint64_t walks = backend.counter(Counter::Walks);
  k.touch(buf, Access::Read);
  EXPECT_EQ(backend.counter(Counter::Walks) - walks, 1u);
}

// Two 2 MiB pages at `huge` (from 4 MiB with THP), both resident.
struct TwoHugePages {
  TwoHugePages() : vmm(backend, System::configFor(64ull << 20, 0.0), Approach::Nested), k(vmm, guest::GuestConfig{}) {
    pid = k.spawn();
    k.switchTo(pid);
    huge = k.mmap(pid, 2 * k2M, guest::prot::ReadWrite, true);
    k.touch(huge, Access::Write);
    k.touch(huge + k2M, Access::Write);
  }
  // The message of the std::invalid_argument `call` throws; empty when it throws none.
  template <typename Call> std::string refusal(Call call) {
    try {
      call();
    } catch (const std::invalid_argument &e) {
      return e.what();
    }
    return "";
  }
  vmm::ModelBackend backend;
  vmm::Vmm vmm;
  guest::GuestKernel k;
  Pid pid = 0;
  uint64_t huge = 0;
};

TEST(GuestHugePages, ARangeThatSplitsOneIsRefusedAndChangesNothing) {
  TwoHugePages g;
  ASSERT_EQ(g.k.stats().huge_page_faults, 2u);
  ASSERT_EQ(g.huge % k2M, 0u);
  const size_t resident = g.k.residentPages(g.pid);
  const std::string first = "range splits the 2 MiB page at " + hex(g.huge);
  const std::string second = "range splits the 2 MiB page at " + hex(g.huge + k2M);
  // Inside the first page, at its start, across its end, across both.
  EXPECT_EQ(g.refusal([&] { g.k.munmap(g.pid, g.huge + k4K, k4K); }), "guest munmap: " + first);
  EXPECT_EQ(g.refusal([&] { g.k.munmap(g.pid, g.huge, k4K); }), "guest munmap: " + first);
  EXPECT_EQ(g.refusal([&] { g.k.mprotect(g.pid, g.huge + k2M - k4K, k4K, guest::prot::Read); }),
            "guest mprotect: " + first);
  EXPECT_EQ(g.refusal([&] { g.k.munmap(g.pid, g.huge + k4K, 2 * k2M - k4K); }), "guest munmap: " + first);
  // The second page alone: from its start to past it, and its last 4 KiB.
  EXPECT_EQ(g.refusal([&] { g.k.munmap(g.pid, g.huge + k2M + k2M - k4K, k4K); }), "guest munmap: " + second);
  EXPECT_EQ(g.refusal([&] { g.k.mprotect(g.pid, g.huge + k2M, k2M - k4K, guest::prot::Read); }),
            "guest mprotect: " + second);
  EXPECT_EQ(g.k.residentPages(g.pid), resident) << "a refused call changes nothing";
  // Whole pages are fine: the second made read-only, then the first unmapped.
  EXPECT_EQ(g.refusal([&] { g.k.mprotect(g.pid, g.huge + k2M, k2M, guest::prot::Read); }), "");
  EXPECT_EQ(g.refusal([&] { g.k.munmap(g.pid, g.huge, k2M); }), "");
  EXPECT_EQ(g.k.residentPages(g.pid), resident - 1);
}

}  // namespace
}  // namespace vmmu::testing
