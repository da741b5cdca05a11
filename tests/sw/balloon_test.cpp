// balloon_test.cpp - self-ballooning (architecture.md §19), number by number: which pages the guest
// gives back, moves or keeps; where every page ends; the exits, copies and work charged; the same
// VM made contiguous by host compaction instead; and configurations that cannot work.
#include <gtest/gtest.h>

#include <algorithm>

#include "sw_test_support.h"
#include "vmmu/policy/experiment.h"
#include "vmmu/policy/policy.h"

namespace vmmu::testing {
namespace {

using guest::Pid;
using vmm::Approach;
using vmm::ExitReason;
constexpr uint64_t k4K = 4096, k2M = 2ull << 20, k1G = 1ull << 30;

unsigned reason(ExitReason r) { return static_cast<unsigned>(r); }

// Pages 3 and 9 trade frames, and so do 5 and 6; page 3 and page 9 hold data (33, 99).
struct TwoPairs {
  SparseMemory memory;
  uint64_t ept_base = vmm::VmmConfig{}.frames_base;
  vmm::VmMemory vm{memory, config(), ept_base, ept_base + k1G};
  static vmm::VmMemoryConfig config() {
    vmm::VmMemoryConfig c;
    c.bytes = 8 * k2M;
    c.lazy = false;
    return c;
  }
  TwoPairs() {
    memory.write64(vm.hostBase() + 3 * k4K, 33);
    memory.write64(vm.hostBase() + 9 * k4K, 99);
    memory.write64(vm.hostBase() + 5 * k4K, 55);
    vm.swapPages(3 * k4K, 9 * k4K);
    vm.swapPages(5 * k4K, 6 * k4K);
  }
};

TEST(Rehome, CopiesOnlyThePagesWhoseContentsAreKept) {
  TwoPairs t;
  const uint64_t base = t.vm.hostBase();
  // Page 3 is kept, 9 given back: 3 goes home with one copy (9's contents are not kept). 5 and 6
  // are both given back: no copy. Compaction copies all four (two swaps of two).
  EXPECT_EQ(t.vm.rehome({5 * k4K, 6 * k4K, 9 * k4K}), 1u);
  EXPECT_EQ(t.vm.misplacedCount(), 0u);
  for (const uint64_t page : {3, 5, 6, 9})
    EXPECT_EQ(t.vm.hostOf(page * k4K), base + page * k4K) << page;
  EXPECT_EQ(t.memory.read64(base + 3 * k4K), 33u) << "the kept page's contents went home with it";
  EXPECT_EQ(t.memory.read64(base + 9 * k4K), 0u) << "a page given back comes back zeroed";
  EXPECT_EQ(t.memory.read64(base + 5 * k4K), 0u);
  EXPECT_EQ(t.vm.eptPageSize(0), PageSize::Size2M) << "in place again: one large page";
}

TEST(Rehome, WithNothingGivenBackIsCompaction) {
  TwoPairs a, b;
  EXPECT_EQ(a.vm.rehome({}), 4u);
  EXPECT_EQ(b.vm.compact(), 4u);
  EXPECT_EQ(a.memory.read64(a.vm.hostBase() + 9 * k4K), 99u);
  EXPECT_EQ(a.memory.read64(a.vm.hostBase() + 5 * k4K), 55u);
  EXPECT_THROW(a.vm.rehome({8 * k2M}), std::invalid_argument);
}

// A nested guest with THP off (its user pages are 4 KiB), one process with `pages` pages touched.
struct Guest {
  System sys;
  Pid pid;
  uint64_t buf;
  explicit Guest(unsigned pages, vmm::Contiguity contiguity = vmm::Contiguity::Compact)
      : sys(Approach::Nested, withContiguity(contiguity), false) {
    guest::GuestKernel &k = *sys.kernel;
    pid = k.spawn();
    k.switchTo(pid);
    buf = k.mmap(pid, pages * k4K, guest::prot::ReadWrite, false);
    for (unsigned i = 0; i < pages; ++i)
      k.touch(buf + i * k4K, Access::Write);
  }
  static vmm::VmmConfig withContiguity(vmm::Contiguity contiguity) {
    vmm::VmmConfig config = System::configFor(64ull << 20, 0.0);
    config.contiguity = contiguity;
    return config;
  }
  uint64_t frameOf(unsigned page) const { return sys.kernel->residentFrame(pid, buf + page * k4K); }
};

TEST(BalloonDriver, GivesFreePagesMovesUserPagesAndKeepsTables) {
  Guest g(2);
  guest::GuestKernel &k = *g.sys.kernel;
  const guest::GuestWorkCosts costs;
  const uint64_t user = g.frameOf(0), table = k.rootOf(g.pid), free = k.memoryBytes() - k4K;
  const uint64_t free_before = k.freeFrames();
  const uint64_t other = g.frameOf(1);
  const uint64_t work_before = g.sys.vmm->cost().guest_work_cycles;
  const guest::BalloonResult r = k.inflate({free, table, user});
  EXPECT_EQ(r.given, (std::vector<uint64_t>{user, free}));
  EXPECT_EQ(r.kept, (std::vector<uint64_t>{table}));
  EXPECT_EQ(r.migrated, 1u);
  // One copy and two pages into the balloon; the free page and the copy's destination left the
  // free lists.
  EXPECT_EQ(g.sys.vmm->cost().guest_work_cycles - work_before, costs.copy_page + 2 * costs.balloon_page);
  EXPECT_EQ(k.freeFrames(), free_before - 2);
  const uint64_t moved = g.frameOf(0);
  EXPECT_NE(moved, user);
  EXPECT_NE(moved, free);
  EXPECT_EQ(k.touch(g.buf, Access::Read).hpa, g.sys.vmm->memory().hostOf(moved)) << "the PTE was rewritten";
  EXPECT_EQ(g.frameOf(1), other) << "pages not asked for stay";
  k.deflate(r.given);
  EXPECT_EQ(k.freeFrames(), free_before);
  EXPECT_EQ(g.sys.vmm->cost().guest_work_cycles - work_before, costs.copy_page + 4 * costs.balloon_page);
}

// The free lists the balloon rebuilds keep every wholly free 2 MiB chunk whole: after an inflate
// and a deflate of one 4 KiB page, a transparent huge page fault still gets a 2 MiB frame, and
// the chunk that held the page (free again) is whole again too.
TEST(BalloonDriver, RebuiltFreeListsKeepWholeChunksForHugePages) {
  System sys(Approach::Nested, System::configFor(64ull << 20, 0.0), true);
  guest::GuestKernel &k = *sys.kernel;
  const Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t page = k.memoryBytes() - k4K;  // free: the top chunk
  const guest::BalloonResult r = k.inflate({page});
  ASSERT_EQ(r.given, (std::vector<uint64_t>{page}));
  const uint64_t huge = k.mmap(pid, 2 * k2M, guest::prot::ReadWrite, true);
  const uint64_t huge_before = k.stats().huge_page_faults;
  k.touch(huge, Access::Write);
  EXPECT_EQ(k.stats().huge_page_faults, huge_before + 1) << "a whole free chunk after inflate";
  k.deflate(r.given);
  k.touch(huge + k2M, Access::Write);
  EXPECT_EQ(k.stats().huge_page_faults, huge_before + 2) << "a whole free chunk after deflate";
}

TEST(BalloonDriver, RefusesPagesItDoesNotHave) {
  Guest g(1);
  guest::GuestKernel &k = *g.sys.kernel;
  EXPECT_THROW(k.inflate({k.memoryBytes()}), std::invalid_argument);
  EXPECT_THROW(k.inflate({k4K + 8}), std::invalid_argument);
  EXPECT_THROW(k.deflate({k.memoryBytes() - k4K}), std::invalid_argument) << "a free page is not in the balloon";
}

// Three user pages moved by the host to free pages at the top of guest memory: six pages out of
// place, more than the 4-entry escape filter holds.
std::vector<uint64_t> scatter(Guest &g) {
  std::vector<uint64_t> misplaced;
  for (unsigned i = 0; i < 3; ++i) {
    const uint64_t spare = g.sys.kernel->memoryBytes() - (i + 1) * k4K;
    misplaced.push_back(g.frameOf(i));
    misplaced.push_back(spare);
    g.sys.vmm->migratePages(g.frameOf(i), spare);
  }
  std::sort(misplaced.begin(), misplaced.end());
  EXPECT_EQ(g.sys.vmm->memory().misplacedPages(), misplaced);
  return misplaced;
}

TEST(SelfBallooning, SwitchIntoDirectChargesEveryStep) {
  Guest g(3, vmm::Contiguity::Balloon);
  const std::vector<uint64_t> misplaced = scatter(g);
  const vmm::CostConfig &c = g.sys.vmm->config().costs;
  const guest::GuestWorkCosts guest_costs;
  const vmm::RunCost before = g.sys.vmm->cost();
  g.sys.vmm->switchApproach(Approach::Direct);
  const vmm::RunCost d = g.sys.vmm->cost() - before;
  // The guest gives all six back: the three free spares, and the three user pages after copying them.
  EXPECT_EQ(d.balloon_pages, 6u);
  EXPECT_EQ(d.balloon_migrations, 3u);
  // Every page given back, so nothing is left for the host to copy.
  EXPECT_EQ(d.page_moves, 0u);
  EXPECT_EQ(g.sys.vmm->memory().misplacedCount(), 0u);
  // Exits: the switch, the request read, one batch inflating and one deflating (6 < 256 pages).
  EXPECT_EQ(d.exits[reason(ExitReason::ModeSwitch)], 1u);
  EXPECT_EQ(d.exits[reason(ExitReason::EptViolation)], 3u);
  EXPECT_EQ(d.totalExits(), 4u);
  EXPECT_EQ(d.exit_cycles, 4 * c.exit_round_trip);
  // The VMM: four handlers, the host's work and the zeroing per page, INV_EPT and EPTP after the
  // re-plug, then DIRECT's GBASE, GSIZE, EPTP, four escapes, MODE and CR3.
  EXPECT_EQ(d.control_commands, 2u + 9u);
  EXPECT_EQ(d.shim_cycles, 4 * c.exit_handler + 6 * (c.balloon_page_host + c.host_clear_page) + 11 * c.control_command);
  EXPECT_EQ(d.guest_work_cycles, 3 * guest_costs.copy_page + 2 * 6 * guest_costs.balloon_page);
  // Everything but the switch's own exit and DIRECT's nine register writes is the balloon's.
  EXPECT_EQ(d.balloon_cycles, d.totalCycles() - (c.exit_round_trip + c.exit_handler) - 9 * c.control_command);
  // DIRECT now: each user page at GBASE + its (new) gPA, none of them one of the pages given back.
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ(std::count(misplaced.begin(), misplaced.end(), g.frameOf(i)), 0) << i;
    EXPECT_EQ(g.sys.kernel->touch(g.buf + i * k4K, Access::Read).hpa,
              g.sys.vmm->memory().hostBase() + g.frameOf(i));
  }
  EXPECT_EQ(g.sys.backend->counter(Counter::Escapes), 0u);
}

TEST(SelfBallooning, HostCompactionOfTheSameVmCopiesEveryPage) {
  Guest g(3, vmm::Contiguity::Compact);
  scatter(g);
  const vmm::RunCost before = g.sys.vmm->cost();
  g.sys.vmm->switchApproach(Approach::Direct);
  const vmm::RunCost d = g.sys.vmm->cost() - before;
  EXPECT_EQ(d.page_moves, 6u) << "three pairs, two copies each";
  EXPECT_EQ(d.balloon_pages, 0u);
  EXPECT_EQ(d.balloon_cycles, 0u);
  EXPECT_EQ(d.totalExits(), 1u);
  // The frames the user pages had: compaction moves contents, not gPAs.
  EXPECT_EQ(g.sys.kernel->touch(g.buf, Access::Read).hpa, g.sys.vmm->memory().hostBase() + g.frameOf(0));
}

TEST(SelfBallooning, KeptTablePageIsCopiedHomeByTheHost) {
  Guest g(1, vmm::Contiguity::Balloon);
  const uint64_t root = g.sys.kernel->rootOf(g.pid);
  const uint64_t top = g.sys.kernel->memoryBytes();
  // The process's root table trades frames with a free page; two more free pairs fill the filter.
  g.sys.vmm->migratePages(root, top - k4K);
  g.sys.vmm->migratePages(top - 2 * k4K, top - 3 * k4K);
  g.sys.vmm->migratePages(top - 4 * k4K, top - 5 * k4K);
  const vmm::RunCost before = g.sys.vmm->cost();
  g.sys.vmm->switchApproach(Approach::Direct);
  const vmm::RunCost d = g.sys.vmm->cost() - before;
  EXPECT_EQ(d.balloon_pages, 5u) << "the free pages";
  EXPECT_EQ(d.balloon_migrations, 0u);
  EXPECT_EQ(d.page_moves, 1u) << "the root, into a home frame whose occupant was given back";
  EXPECT_EQ(g.sys.kernel->touch(g.buf, Access::Read).hpa, g.sys.vmm->memory().hostBase() + g.frameOf(0))
      << "the root's entries survived the copy";
}

TEST(SelfBallooning, FromShadowTheGuestBalloonsUnderNested) {
  System sys(Approach::ShadowCaching, Guest::withContiguity(vmm::Contiguity::Balloon), false);
  guest::GuestKernel &k = *sys.kernel;
  const Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t buf = k.mmap(pid, 4 * k4K, guest::prot::ReadWrite, false);
  for (unsigned i = 0; i < 4; ++i)
    k.touch(buf + i * k4K, Access::Write);
  // Shadow paging reads the guest's tables by gPA, so the host may not move pages under it
  // (migratePages is nested and direct only): go nested, move three user pages, come back.
  sys.vmm->switchApproach(Approach::Nested);
  for (unsigned i = 0; i < 3; ++i)
    sys.vmm->migratePages(k.residentFrame(pid, buf + i * k4K), k.memoryBytes() - (i + 1) * k4K);
  sys.vmm->switchApproach(Approach::ShadowCaching);
  const vmm::RunCost before = sys.vmm->cost();
  sys.vmm->switchApproach(Approach::Direct);
  const vmm::RunCost d = sys.vmm->cost() - before;
  // Dropping the one shadow space (its INV_PCID), NESTED (EPTP, MODE, CR3), the balloon's INV_EPT
  // and EPTP, then DIRECT's nine.
  EXPECT_EQ(d.control_commands, 1u + 3u + 2u + 9u);
  EXPECT_EQ(d.balloon_pages, 6u);
  EXPECT_EQ(d.balloon_migrations, 3u);
  EXPECT_EQ(sys.vmm->memory().misplacedCount(), 0u);
  for (unsigned i = 0; i < 4; ++i)
    EXPECT_EQ(k.touch(buf + i * k4K, Access::Read).hpa,
              sys.vmm->memory().hostBase() + k.residentFrame(pid, buf + i * k4K));
}

TEST(SelfBallooning, DirectVmBootsNestedThenBalloonsAtAttach) {
  vmm::ModelBackend backend;
  vmm::VmmConfig config = System::configFor(64ull << 20, 0.05);
  config.contiguity = vmm::Contiguity::Balloon;
  vmm::Vmm vmm(backend, config, Approach::Direct);
  EXPECT_EQ(vmm.approach(), Approach::Nested) << "no guest to balloon yet";
  EXPECT_FALSE(vmm.canEnterDirect());
  const uint64_t misplaced = vmm.memory().misplacedCount();
  guest::GuestConfig guest_config;
  guest_config.memory_bytes = config.memory.bytes;
  guest::GuestKernel kernel(vmm, guest_config);
  vmm.attachBalloon(kernel);
  EXPECT_EQ(vmm.approach(), Approach::Direct);
  EXPECT_EQ(vmm.memory().misplacedCount(), 0u);
  // Just booted: only the kernel's few table pages (and the null frame) are not free, so nearly
  // every page goes back without a copy.
  EXPECT_GE(vmm.cost().balloon_pages + vmm.cost().page_moves, misplaced);
  EXPECT_LE(vmm.cost().page_moves, 8u);
  EXPECT_EQ(vmm.cost().balloon_migrations, 0u);
  EXPECT_EQ(vmm.cost().exits[reason(ExitReason::EptViolation)],
            1 + 2 * ((vmm.cost().balloon_pages + vmm::kBalloonBatchPages - 1) / vmm::kBalloonBatchPages));
}

TEST(SelfBallooning, BadConfigurationsSayWhy) {
  EXPECT_EQ(vmm::parseContiguity("balloon"), vmm::Contiguity::Balloon);
  EXPECT_EQ(vmm::toString(vmm::Contiguity::Compact), "compact");
  try {
    vmm::parseContiguity("hotplug");
    FAIL();
  } catch (const std::invalid_argument &e) {
    EXPECT_STREQ(e.what(), "unknown contiguity 'hotplug' (expected compact or balloon)");
  }
  // Ballooning without a guest to balloon: a switch into DIRECT is refused, naming why.
  vmm::ModelBackend backend;
  vmm::VmmConfig config = System::configFor(64ull << 20, 0.05);
  config.contiguity = vmm::Contiguity::Balloon;
  vmm::Vmm vmm(backend, config, Approach::Nested);
  EXPECT_FALSE(vmm.canEnterDirect());
  try {
    vmm.switchApproach(Approach::Direct);
    FAIL();
  } catch (const std::runtime_error &e) {
    EXPECT_STREQ(e.what(), "DIRECT by self-ballooning needs the guest's balloon driver (Vmm::attachBalloon)");
  }
  // Nor may it balloon when the VMM may not make the VM contiguous at all.
  config.allow_compaction = false;
  vmm::ModelBackend other_backend;
  EXPECT_THROW(vmm::Vmm(other_backend, config, Approach::Direct), std::runtime_error);
}

// A direct run held nested for its first 128 user accesses (ExperimentConfig::direct_after): 64
// fresh pages touched, read again (the switch comes at that interval's end), then read under
// DIRECT. Intervals of 64 accesses: n, n, then d. The pages' frames before the switch and after.
policy::RunResult heldDirect(vmm::Contiguity contiguity, std::vector<uint64_t> &frames_before,
                             std::vector<uint64_t> &frames_after) {
  policy::ExperimentConfig config;
  config.vmm.memory.bytes = 64ull << 20;
  config.vmm.memory.fragmentation = 0.5;
  config.vmm.contiguity = contiguity;
  config.interval = 64;
  config.direct_after = 128;
  const std::unique_ptr<policy::SwitchPolicy> direct = policy::makeStaticPolicy(Approach::Direct);
  policy::PolicyRun run(config, *direct);
  guest::GuestKernel &k = run.kernel();
  const Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t buf = k.mmap(pid, 64 * k4K, guest::prot::ReadWrite, false);
  const auto touchAll = [&](Access access) {
    run.advance([&](guest::GuestKernel &kernel) {
      for (uint64_t page = 0; page < 64; ++page)
        kernel.touch(buf + page * k4K, access);
      return uint64_t{64};
    });
  };
  touchAll(Access::Write);
  for (uint64_t page = 0; page < 64; ++page)
    frames_before.push_back(k.residentFrame(pid, buf + page * k4K));
  touchAll(Access::Read);  // reaches direct_after: the switch at this interval's end
  touchAll(Access::Read);
  for (uint64_t page = 0; page < 64; ++page)
    frames_after.push_back(k.residentFrame(pid, buf + page * k4K));
  return run.finish();
}

TEST(SelfBallooning, AtRunTimeTheGuestMovesItsPagesOutOfTheWay) {
  // The same layout as the runs' VM (fragmentation is seeded): 4,096 pairs out of place.
  SparseMemory memory;
  vmm::VmMemoryConfig layout;
  layout.bytes = 64ull << 20;
  layout.fragmentation = 0.5;
  const uint64_t ept_base = vmm::VmmConfig{}.frames_base;
  const std::vector<uint64_t> misplaced = vmm::VmMemory(memory, layout, ept_base, ept_base + k1G).misplacedPages();
  ASSERT_EQ(misplaced.size(), 8192u);
  const auto outOfPlace = [&](uint64_t gpa) { return std::binary_search(misplaced.begin(), misplaced.end(), gpa); };

  std::vector<uint64_t> before, after;
  const policy::RunResult balloon = heldDirect(vmm::Contiguity::Balloon, before, after);
  EXPECT_EQ(balloon.modeTimeline(), "nnd");
  const uint64_t in_use_out_of_place = static_cast<uint64_t>(std::count_if(before.begin(), before.end(), outOfPlace));
  ASSERT_GT(in_use_out_of_place, 0u) << "the test needs user pages on frames out of place";
  EXPECT_EQ(balloon.cost.balloon_migrations, in_use_out_of_place);
  EXPECT_EQ(std::count_if(after.begin(), after.end(), outOfPlace), 0) << "every moved page left the request";
  // What the guest could not give back (its tables out of place) the host copied home.
  const uint64_t kept = misplaced.size() - balloon.cost.balloon_pages;
  EXPECT_GE(balloon.cost.page_moves, kept);
  EXPECT_LE(balloon.cost.page_moves, 2 * kept);
  EXPECT_EQ(balloon.cost.exits[reason(ExitReason::ModeSwitch)], 1u);

  std::vector<uint64_t> compact_before, compact_after;
  const policy::RunResult compact = heldDirect(vmm::Contiguity::Compact, compact_before, compact_after);
  EXPECT_EQ(compact.modeTimeline(), "nnd");
  EXPECT_EQ(compact.cost.page_moves, 8192u) << "two copies for each of the 4,096 pairs";
  EXPECT_EQ(compact_after, compact_before) << "compaction keeps every gPA";
}

}  // namespace
}  // namespace vmmu::testing
