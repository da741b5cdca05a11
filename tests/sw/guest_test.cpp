// guest_test.cpp - the guest kernel model: demand paging, THP, COW fork, munmap/mprotect, exit,
// and that its activity gives the same guest-visible results under every approach.
#include <gtest/gtest.h>

#include "sw_test_support.h"

namespace vmmu::testing {
namespace {

using guest::Pid;
using vmm::Approach;
constexpr uint64_t k4K = 4096, k2M = 2ull << 20;

class GuestOnEveryApproach : public ::testing::TestWithParam<Approach> {};

TEST_P(GuestOnEveryApproach, DemandPagingMapsEachPageOnFirstTouchOnly) {
  System sys(GetParam());
  guest::GuestKernel &k = *sys.kernel;
  const Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t buf = k.mmap(pid, 16 * k4K, guest::prot::ReadWrite, false);
  for (uint64_t i = 0; i < 16; ++i)
    k.touch(buf + i * k4K, Access::Read);
  EXPECT_EQ(k.stats().page_faults, 16u);
  EXPECT_EQ(k.residentPages(pid), 16u);
  for (uint64_t i = 0; i < 16; ++i)
    k.touch(buf + i * k4K + 8, Access::Write);
  EXPECT_EQ(k.stats().page_faults, 16u) << "second touches must not fault";
  // The access lands on the host frame behind the guest frame the kernel chose.
  const uint64_t gpa = k.residentFrame(pid, buf + 5 * k4K + 16);
  const guest::AccessOutcome out = k.touch(buf + 5 * k4K + 16, Access::Read);
  EXPECT_EQ(out.hpa, sys.vmm->memory().hostOf(gpa));
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

TEST_P(GuestOnEveryApproach, HugePageWhenAlignedRegionFits) {
  System sys(GetParam());
  guest::GuestKernel &k = *sys.kernel;
  const Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t buf = k.mmap(pid, 4 * k2M, guest::prot::ReadWrite, true);
  ASSERT_EQ(buf % k2M, 0u);
  k.touch(buf + 3 * k4K, Access::Write);
  k.touch(buf + k2M - 8, Access::Read);
  EXPECT_EQ(k.stats().huge_page_faults, 1u);
  EXPECT_EQ(k.stats().page_faults, 1u);
  EXPECT_EQ(k.residentFrame(pid, buf + 77 * k4K) % k2M, 77 * k4K);
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

TEST_P(GuestOnEveryApproach, ForkSharesFramesCopyOnWrite) {
  System sys(GetParam());
  guest::GuestKernel &k = *sys.kernel;
  const Pid parent = k.spawn();
  k.switchTo(parent);
  const uint64_t buf = k.mmap(parent, 4 * k4K, guest::prot::ReadWrite, false);
  for (uint64_t i = 0; i < 4; ++i)
    k.touch(buf + i * k4K, Access::Write);
  const uint64_t frame = k.residentFrame(parent, buf);
  const Pid child = k.fork(parent);
  EXPECT_EQ(k.residentFrame(child, buf), frame);
  k.switchTo(child);
  k.touch(buf, Access::Read);
  EXPECT_EQ(k.stats().cow_faults, 0u);
  k.touch(buf, Access::Write);  // copy-on-write
  EXPECT_EQ(k.stats().cow_faults, 1u);
  EXPECT_NE(k.residentFrame(child, buf), frame);
  k.switchTo(parent);
  k.touch(buf, Access::Write);  // last reference: made writable in place
  EXPECT_EQ(k.stats().cow_faults, 2u);
  EXPECT_EQ(k.residentFrame(parent, buf), frame);
  const guest::AccessOutcome out = k.touch(buf + 8, Access::Write);
  EXPECT_EQ(out.hpa, sys.vmm->memory().hostOf(frame + 8));
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

TEST_P(GuestOnEveryApproach, MunmapAndMprotectTakeEffectAtOnce) {
  System sys(GetParam());
  guest::GuestKernel &k = *sys.kernel;
  const Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t buf = k.mmap(pid, 8 * k4K, guest::prot::ReadWrite, false);
  for (uint64_t i = 0; i < 8; ++i)
    k.touch(buf + i * k4K, Access::Write);
  k.mprotect(pid, buf, 2 * k4K, guest::prot::Read);
  k.touch(buf, Access::Read);
  EXPECT_THROW(k.touch(buf + 8, Access::Write), guest::SegmentationFault);
  k.munmap(pid, buf + 4 * k4K, 2 * k4K);
  EXPECT_THROW(k.touch(buf + 4 * k4K, Access::Read), guest::SegmentationFault);
  k.touch(buf + 6 * k4K, Access::Read);  // its neighbour is still mapped
  EXPECT_EQ(k.residentPages(pid), 6u);
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

TEST_P(GuestOnEveryApproach, ExitFreesEveryFrameAndTable) {
  System sys(GetParam());
  guest::GuestKernel &k = *sys.kernel;
  const uint64_t free_before = k.freeFrames();
  const Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t a = k.mmap(pid, 32 * k4K, guest::prot::ReadWrite, false);
  const uint64_t b = k.mmap(pid, 2 * k2M, guest::prot::ReadWrite, true);
  for (uint64_t i = 0; i < 32; ++i)
    k.touch(a + i * k4K, Access::Write);
  k.touch(b, Access::Write);
  k.exit(pid);
  EXPECT_EQ(k.freeFrames(), free_before);
  EXPECT_EQ(k.stats().table_pages_allocated - k.stats().table_pages_freed, 3u)
      << "only the kernel's boot tables (root, PDPT, one PD) remain";
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

INSTANTIATE_TEST_SUITE_P(Approaches, GuestOnEveryApproach,
                         ::testing::Values(Approach::Native, Approach::Nested, Approach::ShadowPlain,
                                           Approach::ShadowCaching, Approach::ShadowPrefetch, Approach::Direct),
                         [](const ::testing::TestParamInfo<Approach> &info) {
                           std::string name(vmm::toString(info.param));
                           for (char &c : name)
                             if (c == '-')
                               c = '_';
                           return name;
                         });

// Range operations cost what is mapped, not the size of the range: a reclaim or munmap of 2^46
// bytes over a sparse mapping (the replay's munmap of a trace's whole address space) visits the
// resident pages only: one cleared PTE and one INVLPG each, and it finishes (visiting every 4 KiB
// page of the range would take hours).
TEST(GuestKernel, RangeReclaimVisitsOnlyResidentPages) {
  System sys(Approach::Native, 256ull << 20);
  guest::GuestKernel &k = *sys.kernel;
  const Pid pid = k.spawn();
  k.switchTo(pid);
  constexpr uint64_t k1G = 1ull << 30, kSpan = 64 * k1G;
  // A 2 MiB page below the reclaimed range: not reclaimed, as it does not overlap.
  const uint64_t huge = k.mmap(pid, 2 * k2M, guest::prot::ReadWrite, true);
  k.touch(huge, Access::Write);
  const uint64_t sparse = k.mmap(pid, kSpan, guest::prot::ReadWrite, false);
  ASSERT_GT(sparse, huge);
  for (uint64_t g = 0; g < 64; ++g)
    k.touch(sparse + g * k1G + 5 * k4K, Access::Write);
  ASSERT_EQ(k.residentPages(pid), 65u);
  const uint64_t frames_before = k.freeFrames();
  const guest::GuestStats before = k.stats();

  EXPECT_EQ(k.reclaimRange(pid, sparse + k4K, sparse + (1ull << 46)), 64u);
  EXPECT_EQ(k.stats().pte_writes - before.pte_writes, 64u) << "one cleared PTE per resident page";
  EXPECT_EQ(k.stats().invlpgs - before.invlpgs, 64u);
  EXPECT_EQ(k.freeFrames(), frames_before + 64);
  EXPECT_EQ(k.residentPages(pid), 1u);
  EXPECT_NE(k.residentFrame(pid, huge), ~uint64_t{0});

  // A reclaim starting inside the 2 MiB page takes the page that overlaps its start.
  EXPECT_EQ(k.reclaimRange(pid, huge + k2M - k4K, huge + k2M), 1u);
  EXPECT_EQ(k.residentPages(pid), 0u);
  EXPECT_EQ(k.reclaimRange(pid, 0, ~uint64_t{0}), 0u);

  // munmap of the same huge range: again only the resident pages.
  for (uint64_t g = 0; g < 8; ++g)
    k.touch(sparse + g * k1G, Access::Read);
  const guest::GuestStats before_unmap = k.stats();
  k.munmap(pid, sparse, 1ull << 46);
  EXPECT_EQ(k.stats().pte_writes - before_unmap.pte_writes, 8u);
  EXPECT_EQ(k.residentPages(pid), 0u);
  EXPECT_THROW(k.touch(sparse, Access::Read), guest::SegmentationFault);
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

TEST(GuestKernel, RejectsBadMemorySize) {
  vmm::ModelBackend backend;
  vmm::Vmm vmm(backend, vmm::VmmConfig{}, Approach::Nested);
  guest::GuestConfig config;
  config.memory_bytes = 3 << 20;
  EXPECT_THROW(guest::GuestKernel(vmm, config), std::invalid_argument);
  config.memory_bytes = 0;
  EXPECT_THROW(guest::GuestKernel(vmm, config), std::invalid_argument);
  // 512 GiB is the most; 2 MiB more is refused before anything is allocated for it.
  config.memory_bytes = (1ull << 39) + (2ull << 20);
  try {
    guest::GuestKernel kernel(vmm, config);
    ADD_FAILURE() << "a guest of 512 GiB + 2 MiB was built";
  } catch (const std::invalid_argument &e) {
    EXPECT_STREQ(e.what(), "guest memory_bytes must be a non-zero multiple of 2 MiB up to 512 GiB, got 549757911040");
  }
}

// Where a fresh guest's frames come from, by hand for 8 MiB: the 2 MiB chunks at 2, 4 and 6 MiB
// are free; chunk 0 is split into 4 KiB frames, frame 0 kept back as a null guard, and boot takes
// the lowest three (0x1000 root, 0x2000 PDPT, 0x3000 the direct map's PD): 3 * 512 + 508 frames
// free. Huge pages come lowest chunk first; when none is left a fault takes a 4 KiB frame.
TEST(GuestKernel, FramesComeFromTheLowestFreeChunk) {
  System sys(Approach::Nested, 4 * k2M);
  guest::GuestKernel &k = *sys.kernel;
  EXPECT_EQ(k.stats().table_pages_allocated, 3u);
  EXPECT_EQ(k.freeFrames(), 3u * 512 + 508);
  const Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t buf = k.mmap(pid, 4 * k2M, guest::prot::ReadWrite, true);
  ASSERT_EQ(buf % k2M, 0u);
  for (uint64_t i = 0; i < 3; ++i) {
    k.touch(buf + i * k2M + 8, Access::Write);
    EXPECT_EQ(k.residentFrame(pid, buf + i * k2M), (i + 1) * k2M) << i;
  }
  EXPECT_EQ(k.stats().huge_page_faults, 3u);
  const uint64_t free_before = k.freeFrames();
  const uint64_t tables_before = k.stats().table_pages_allocated;
  EXPECT_LT(free_before, 508u);  // only chunk 0's frames are left
  k.touch(buf + 3 * k2M + 5 * k4K, Access::Write);
  EXPECT_EQ(k.stats().huge_page_faults, 3u);
  EXPECT_EQ(k.stats().page_faults, 4u);
  EXPECT_LT(k.residentFrame(pid, buf + 3 * k2M + 5 * k4K), k2M);  // a 4 KiB frame of chunk 0
  // Two frames: the page and the level-1 table that maps it.
  EXPECT_EQ(k.stats().table_pages_allocated, tables_before + 1);
  EXPECT_EQ(k.freeFrames(), free_before - 2);
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

TEST(GuestKernel, NotRunningProcessGetsItsPcidFlushedAtNextSwitch) {
  System sys(Approach::Nested);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn(), b = k.spawn();
  k.switchTo(a);
  const uint64_t buf = k.mmap(a, 4 * k4K, guest::prot::ReadWrite, false);
  k.touch(buf, Access::Write);
  k.switchTo(b);
  const uint64_t invlpgs = k.stats().invlpgs;
  ASSERT_TRUE(k.reclaim(a, buf));  // a is not running: no INVLPG, its PCID goes stale
  EXPECT_EQ(k.stats().invlpgs, invlpgs);
  const uint64_t inv_pcid = sys.backend->counter(Counter::InvPcid);
  k.switchTo(a);
  EXPECT_EQ(sys.backend->counter(Counter::InvPcid), inv_pcid + 1);
  const uint64_t faults = k.stats().page_faults;
  k.touch(buf, Access::Read);  // refaults: the old translation is gone
  EXPECT_EQ(k.stats().page_faults, faults + 1);
}

}  // namespace
}  // namespace vmmu::testing
