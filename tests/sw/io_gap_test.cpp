// io_gap_test.cpp - the I/O gap (docs/architecture.md §19.5), number by number, on a small VM:
// 64 MiB of RAM with a 16 MiB hole at 32 MiB, so RAM is [0, 32) and [48, 80) MiB. Where the VMM
// backs each page (packed, the gap's host range empty), what the guest never allocates, why DIRECT
// needs the pages above the gap moved (all 8,192 of them out of place), and what compaction and
// self-ballooning each cost to move them, with DIRECT's bounds spanning the gap afterwards.
#include <gtest/gtest.h>

#include "sw_test_support.h"

namespace vmmu::testing {
namespace {

using vmm::Approach;
using vmm::ExitReason;
constexpr uint64_t k4K = 4096, k2M = 2ull << 20, k1M = 1ull << 20;
constexpr uint64_t kRam = 64 * k1M, kGapStart = 32 * k1M, kGap = 16 * k1M, kTop = kRam + kGap;
constexpr uint64_t kAbovePages = (kRam - kGapStart) / k4K;  // 8,192 RAM pages above the gap

vmm::VmMemoryConfig gapMemory() {
  vmm::VmMemoryConfig c;
  c.bytes = kRam;
  c.lazy = false;
  c.io_gap_start = kGapStart;
  c.io_gap_bytes = kGap;
  return c;
}

struct GapMemory {
  SparseMemory memory;
  uint64_t ept_base = vmm::VmmConfig{}.frames_base;
  vmm::VmMemory vm{memory, gapMemory(), ept_base, ept_base + (1ull << 30)};
};

TEST(IoGapMemory, RamAboveTheGapIsBackedPackedAndTheGapHoldsNothing) {
  GapMemory m;
  const uint64_t h = m.vm.hostBase();
  EXPECT_EQ(m.vm.gpaTop(), kTop);
  EXPECT_EQ(m.vm.hostOf(kGapStart - k4K), h + kGapStart - k4K);       // below: at home
  EXPECT_EQ(m.vm.hostOf(kGapStart + kGap), h + kGapStart);            // 48 MiB at H + 32 MiB
  EXPECT_EQ(m.vm.hostOf(kTop - k4K + 8), h + kRam - k4K + 8);          // the last page at H + 64 MiB - 4 KiB
  EXPECT_FALSE(m.vm.contains(kGapStart));
  EXPECT_FALSE(m.vm.contains(kGapStart + kGap - 1));
  EXPECT_TRUE(m.vm.contains(kGapStart + kGap));
  EXPECT_FALSE(m.vm.contains(kTop));
  EXPECT_THROW(m.vm.hostOf(40 * k1M), std::out_of_range);
  EXPECT_EQ(m.vm.backedPages(), kRam / k4K);  // eager: the RAM, not the gap
  // Packed by whole 2 MiB pages: the EPT still maps the RAM above the gap with 2 MiB leaves.
  EXPECT_EQ(m.vm.eptPageSize(kGapStart + kGap), PageSize::Size2M);
  EXPECT_EQ(m.vm.eptPageSize(kGapStart), PageSize::Size4K) << "the gap's chunks have no leaf of their own";
  EXPECT_EQ(m.vm.back(40 * k1M).units, 0u);  // a hole is never backed
  // Out of place for DIRECT: every page above the gap.
  EXPECT_EQ(m.vm.misplacedCount(), kAbovePages);
  EXPECT_EQ(m.vm.misplacedPages().front(), kGapStart + kGap);
  EXPECT_EQ(m.vm.misplacedPages().back(), kTop - k4K);
}

TEST(IoGapMemory, CompactionMovesEachPageAboveTheGapOnceTopFirst) {
  GapMemory m;
  const uint64_t h = m.vm.hostBase();
  m.memory.write64(h + kRam - k4K, 77);  // the last page's contents (gPA 80 MiB - 4 KiB)
  m.memory.write64(h + kGapStart, 55);   // the first page above the gap (gPA 48 MiB)
  // Top page first: each home is a hole or vacated already, so one copy a page.
  EXPECT_EQ(m.vm.compact(), kAbovePages);
  EXPECT_EQ(m.vm.misplacedCount(), 0u);
  EXPECT_EQ(m.vm.hostOf(kGapStart + kGap), h + kGapStart + kGap);
  EXPECT_EQ(m.memory.read64(h + kTop - k4K), 77u);
  EXPECT_EQ(m.memory.read64(h + kGapStart + kGap), 55u);
  EXPECT_EQ(m.vm.backedPages(), kRam / k4K);
  EXPECT_EQ(m.vm.eptPageSize(kGapStart + kGap), PageSize::Size2M) << "in place again: 2 MiB leaves";
}

TEST(IoGapMemory, BadGapsAreRefused) {
  SparseMemory memory;
  const uint64_t ept_base = vmm::VmmConfig{}.frames_base;
  for (const auto &[start, bytes] : {std::pair<uint64_t, uint64_t>{kGapStart, k4K}, {k4K, kGap}, {0, kGap}, {kRam, kGap}}) {
    vmm::VmMemoryConfig c = gapMemory();
    c.io_gap_start = start;
    c.io_gap_bytes = bytes;
    EXPECT_THROW(vmm::VmMemory(memory, c, ept_base, ept_base + (1ull << 30)), std::invalid_argument) << start;
  }
}

vmm::VmmConfig gapVm(vmm::Contiguity contiguity) {
  vmm::VmmConfig config = System::configFor(kRam, 0.0);
  config.memory.io_gap_start = kGapStart;
  config.memory.io_gap_bytes = kGap;
  config.contiguity = contiguity;
  return config;
}

// A nested VM with the gap, a guest that knows it (THP on or off) and one running process.
struct GapSystem {
  GapSystem(vmm::Contiguity contiguity, bool thp) {
    backend = std::make_unique<vmm::ModelBackend>();
    vmm = std::make_unique<vmm::Vmm>(*backend, gapVm(contiguity), Approach::Nested);
    guest::GuestConfig guest_config;
    guest_config.memory_bytes = kRam;
    guest_config.io_gap_start = kGapStart;
    guest_config.io_gap_bytes = kGap;
    guest_config.transparent_huge_pages = thp;
    kernel = std::make_unique<guest::GuestKernel>(*vmm, guest_config);
    vmm->attachBalloon(*kernel);
    pid = kernel->spawn();
    kernel->switchTo(pid);
  }
  std::unique_ptr<vmm::ModelBackend> backend;
  std::unique_ptr<vmm::Vmm> vmm;
  std::unique_ptr<guest::GuestKernel> kernel;
  guest::Pid pid = 0;
};

// Its process has touched 18 2 MiB pages (THP), 15 below the gap ([2, 32) MiB; the kernel's tables
// hold the first chunk) and 3 above it, [48, 54) MiB.
struct GapGuest : GapSystem {
  explicit GapGuest(vmm::Contiguity contiguity) : GapSystem(contiguity, true) {
    buf = kernel->mmap(pid, 18 * k2M, guest::prot::ReadWrite, true);
    for (uint64_t i = 0; i < 18; ++i)
      kernel->touch(buf + i * k2M, Access::Write);
  }
  uint64_t buf = 0;
};

TEST(IoGapGuest, NeverAllocatesInTheGapAndRelocatesRamAboveIt) {
  GapGuest g(vmm::Contiguity::Compact);
  guest::GuestKernel &k = *g.kernel;
  EXPECT_EQ(k.physicalTop(), kTop);
  EXPECT_EQ(k.ramAddress(kGapStart - 8), kGapStart - 8);
  EXPECT_EQ(k.ramAddress(kGapStart), kGapStart + kGap);
  EXPECT_FALSE(k.isRam(40 * k1M));
  EXPECT_TRUE(k.isRam(48 * k1M));
  // The 15th 2 MiB page is the last below the gap, the 16th the first above it.
  EXPECT_EQ(k.residentFrame(g.pid, g.buf + 14 * k2M), 30 * k1M);
  EXPECT_EQ(k.residentFrame(g.pid, g.buf + 15 * k2M), 48 * k1M);
  EXPECT_EQ(k.residentFrame(g.pid, g.buf + 17 * k2M), 52 * k1M);
  // Its translation goes through the EPT to the packed host frame.
  EXPECT_EQ(k.touch(g.buf + 15 * k2M + 0x10, Access::Read).hpa, g.vmm->memory().hostBase() + kGapStart + 0x10);
  EXPECT_THROW(k.kernelLoad(40 * k1M), std::invalid_argument);
  // Free 2 MiB frames: the RAM's 32 less the first (kernel tables, frame 0) and the 18 used; the
  // gap's 8 would make 21.
  EXPECT_EQ(k.freeFrames() / 512, (kRam - 18 * k2M) / k2M - 1);
}

TEST(IoGapDirect, CompactionMovesEveryPageAboveTheGapAndTheBoundsSpanIt) {
  GapGuest g(vmm::Contiguity::Compact);
  const vmm::CostConfig &c = g.vmm->config().costs;
  const vmm::RunCost before = g.vmm->cost();
  g.vmm->switchApproach(Approach::Direct);
  const vmm::RunCost d = g.vmm->cost() - before;
  // Used or free, the VMM cannot tell: 8,192 copies, one each.
  EXPECT_EQ(d.page_moves, kAbovePages);
  EXPECT_EQ(d.totalExits(), 1u);  // the switch's own
  EXPECT_EQ(d.shim_cycles, c.exit_handler + kAbovePages * c.page_move + 9 * c.control_command);
  const uint64_t h = g.vmm->memory().hostBase();
  Mmu &mmu = g.backend->mmu();
  EXPECT_EQ(mmu.readReg(0, CtxReg::GBase), h);
  EXPECT_EQ(mmu.readReg(0, CtxReg::GSize), kTop) << "the bounds span the gap (§19.5)";
  EXPECT_EQ(g.kernel->touch(g.buf + 16 * k2M + 0x20, Access::Read).hpa, h + 50 * k1M + 0x20);
  EXPECT_EQ(g.backend->counter(Counter::Escapes), 0u);
}

TEST(IoGapDirect, SelfBallooningGivesBackTheFreePagesAboveTheGapAndCopiesTheKeptOnes) {
  GapGuest g(vmm::Contiguity::Balloon);
  const vmm::CostConfig &c = g.vmm->config().costs;
  const guest::GuestWorkCosts guest_costs;
  const vmm::RunCost before = g.vmm->cost();
  g.vmm->switchApproach(Approach::Direct);
  const vmm::RunCost d = g.vmm->cost() - before;
  // Above the gap: 3 x 512 frames of the process's 2 MiB pages (kept: the guest moves 4 KiB pages
  // only), 8,192 - 1,536 = 6,656 free pages given back, none moved.
  constexpr uint64_t kKept = 3 * 512, kGiven = kAbovePages - kKept;
  EXPECT_EQ(d.balloon_pages, kGiven);
  EXPECT_EQ(d.balloon_migrations, 0u);
  EXPECT_EQ(d.page_moves, kKept) << "the kept pages, one copy each into their home frames";
  // Exits: the switch, the request, 26 batches of 256 out and 26 back.
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::EptViolation)], 1u + 2 * 26);
  EXPECT_EQ(d.totalExits(), 54u);
  EXPECT_EQ(d.shim_cycles, 54 * c.exit_handler + kGiven * (c.balloon_page_host + c.host_clear_page) +
                               kKept * c.page_move + (2 + 9) * c.control_command);
  EXPECT_EQ(d.guest_work_cycles, 2 * kGiven * guest_costs.balloon_page);
  const uint64_t h = g.vmm->memory().hostBase();
  EXPECT_EQ(g.backend->mmu().readReg(0, CtxReg::GSize), kTop);
  // The kept 2 MiB page at 50 MiB is at its home now, and every RAM page with it.
  EXPECT_EQ(g.kernel->touch(g.buf + 16 * k2M + 0x20, Access::Read).hpa, h + 50 * k1M + 0x20);
  EXPECT_EQ(g.vmm->memory().misplacedCount(), 0u);
  // The pages given back are the guest's again, free: 2 MiB frames once more.
  EXPECT_EQ(g.kernel->freeFrames() / 512, (kRam - 18 * k2M) / k2M - 1);
}

// 4 KiB pages (no THP) touched one by one until ten of them sit above the gap: the guest fills its
// RAM below the gap first. `free_below` of the first pages are then unmapped, their frames below
// the gap free again.
struct SmallPagesAboveTheGap : GapSystem {
  explicit SmallPagesAboveTheGap(uint64_t free_below) : GapSystem(vmm::Contiguity::Balloon, false) {
    buf = kernel->mmap(pid, kRam, guest::prot::ReadWrite, false);
    for (uint64_t page = 0; above.size() < 10; ++page) {
      kernel->touch(buf + page * k4K, Access::Write);
      if (kernel->residentFrame(pid, buf + page * k4K) >= kGapStart + kGap)
        above.push_back(buf + page * k4K);
    }
    kernel->munmap(pid, buf, free_below * k4K);
  }
  uint64_t buf = 0;
  std::vector<uint64_t> above;  // the user pages above the gap
};

TEST(IoGapDirect, TheGuestMovesItsSmallPagesBelowTheGapWhileFreeFramesLast) {
  SmallPagesAboveTheGap g(20);
  const uint64_t tables_above = [&] {  // frames above the gap neither free nor the ten user pages
    return kAbovePages - 10 - (g.kernel->freeFrames() - 20);
  }();
  const vmm::RunCost before = g.vmm->cost();
  g.vmm->switchApproach(Approach::Direct);
  const vmm::RunCost d = g.vmm->cost() - before;
  // The ten user pages move into ten of the twenty frames freed below the gap; the pages above the
  // gap the guest cannot move (its page tables there) are kept and copied home.
  EXPECT_EQ(d.balloon_migrations, 10u);
  EXPECT_EQ(d.balloon_pages, kAbovePages - tables_above);
  EXPECT_EQ(d.page_moves, tables_above);
  for (const uint64_t va : g.above) {
    const uint64_t frame = g.kernel->residentFrame(g.pid, va);
    EXPECT_LT(frame, kGapStart) << va;
    EXPECT_EQ(g.kernel->touch(va, Access::Read).hpa, g.vmm->memory().hostBase() + frame);
  }
  EXPECT_EQ(g.vmm->memory().misplacedCount(), 0u);
}

TEST(IoGapDirect, WithNoFreeFrameBelowTheGapTheGuestKeepsItsPagesAndTheHostCopiesThem) {
  SmallPagesAboveTheGap g(0);
  // Every frame below the gap is in use, so every free frame is above it.
  const uint64_t free_above = g.kernel->freeFrames();
  const vmm::RunCost before = g.vmm->cost();
  g.vmm->switchApproach(Approach::Direct);  // no OutOfGuestMemory: the pages are kept
  const vmm::RunCost d = g.vmm->cost() - before;
  EXPECT_EQ(d.balloon_migrations, 0u);
  EXPECT_EQ(d.balloon_pages, free_above);
  EXPECT_EQ(d.page_moves, kAbovePages - free_above) << "the ten user pages and the tables above the gap";
  EXPECT_EQ(g.kernel->touch(g.above.back(), Access::Read).hpa,
            g.vmm->memory().hostBase() + g.kernel->residentFrame(g.pid, g.above.back()));
}

TEST(IoGapNative, TheBaselinesRamSitsAtItsGpas) {
  vmm::VmmConfig config = gapVm(vmm::Contiguity::Compact);
  System sys(Approach::Native, config, false);
  EXPECT_EQ(sys.vmm->memory().hostOf(kGapStart + kGap), kGapStart + kGap);
  EXPECT_EQ(sys.vmm->memory().misplacedCount(), 0u);
}

}  // namespace
}  // namespace vmmu::testing
