// vm_memory_test.cpp - VM memory layout and EPT construction (4K/2M/1G host pages, fragmentation),
// and the cost account's arithmetic.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>

#include "sw_test_support.h"

namespace vmmu::testing {
namespace {

using vmm::Approach;
constexpr uint64_t k4K = 4096, k2M = 2ull << 20, k1G = 1ull << 30;

vmm::VmMemoryConfig memoryConfig(uint64_t bytes, PageSize max_page, double fragmentation) {
  vmm::VmMemoryConfig config;
  config.bytes = bytes;
  config.max_ept_page = max_page;
  config.fragmentation = fragmentation;
  // A 1 GiB EPT page needs a guest of at least 1 GiB; below that the tests ask for what the guest
  // holds. Backed at creation: these tests read the whole EPT (lazy backing:
  // host_backing_test.cpp).
  if (max_page == PageSize::Size1G && bytes < k1G)
    config.max_ept_page = PageSize::Size2M;
  config.lazy = false;
  return config;
}

TEST(VmMemory, EptUsesTheLargestPageTheLayoutAllows) {
  SparseMemory memory;
  const uint64_t ept_base = vmm::VmmConfig{}.frames_base;
  const vmm::VmMemory huge(memory, memoryConfig(2 * k1G, PageSize::Size1G, 0.0), ept_base, ept_base + k1G);
  EXPECT_EQ(huge.eptPageSize(k1G + 5 * k4K), PageSize::Size1G);
  const vmm::VmMemory medium(memory, memoryConfig(2 * k1G, PageSize::Size2M, 0.0), ept_base + k1G, ept_base + 2 * k1G);
  EXPECT_EQ(medium.eptPageSize(k1G + 5 * k4K), PageSize::Size2M);
  const vmm::VmMemory small(memory, memoryConfig(64 * k2M, PageSize::Size4K, 0.0), ept_base + 2 * k1G,
                            ept_base + 3 * k1G);
  EXPECT_EQ(small.eptPageSize(5 * k2M), PageSize::Size4K);
}

TEST(VmMemory, FragmentationSplintersOnlyTheChunksItTouches) {
  SparseMemory memory;
  const uint64_t ept_base = vmm::VmmConfig{}.frames_base;
  const vmm::VmMemory vm(memory, memoryConfig(256 * k2M, PageSize::Size1G, 0.002), ept_base, ept_base + k1G);
  const std::vector<uint64_t> moved = vm.misplacedPages();
  ASSERT_FALSE(moved.empty());
  EXPECT_EQ(moved.size() % 2, 0u) << "pages move in swapped pairs";
  size_t chunks_4k = 0;
  for (uint64_t chunk = 0; chunk < vm.bytes(); chunk += k2M) {
    bool touched = false;
    for (const uint64_t gpa : moved)
      touched |= gpa / k2M == chunk / k2M;
    EXPECT_EQ(vm.eptPageSize(chunk), touched ? PageSize::Size4K : PageSize::Size2M) << chunk;
    chunks_4k += touched;
  }
  EXPECT_GT(chunks_4k, 0u);
  // The EPT in memory says exactly what the layout says, for every page.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const uint64_t gpa = (rng() % vm.bytes()) & ~uint64_t{7};
    const auto host = vm.ept().translate(gpa);
    ASSERT_TRUE(host.has_value());
    EXPECT_EQ(*host, vm.hostOf(gpa));
  }
  for (const uint64_t gpa : moved) {
    EXPECT_NE(vm.hostOf(gpa), vm.hostBase() + gpa);
    EXPECT_GE(vm.hostOf(gpa), vm.hostBase());
    EXPECT_LT(vm.hostOf(gpa), vm.hostBase() + vm.bytes()) << "moved frames stay inside the VM's region";
  }
}

TEST(VmMemory, SwapsAndCompactionMovePagesInPairs) {
  SparseMemory memory;
  const uint64_t ept_base = vmm::VmmConfig{}.frames_base;
  vmm::VmMemory vm(memory, memoryConfig(8 * k2M, PageSize::Size1G, 0.0), ept_base, ept_base + k1G);
  const uint64_t base = vm.hostBase();
  memory.write64(base + 3 * k4K, 33);
  memory.write64(base + 9 * k4K, 99);
  vm.swapPages(3 * k4K, 9 * k4K);
  EXPECT_EQ(vm.hostOf(3 * k4K + 8), base + 9 * k4K + 8);
  EXPECT_EQ(vm.misplacedPages(), (std::vector<uint64_t>{3 * k4K, 9 * k4K}));
  EXPECT_EQ(memory.read64(vm.hostOf(3 * k4K)), 33u) << "the contents move with the page";
  EXPECT_EQ(vm.eptPageSize(0), PageSize::Size4K) << "the chunk holding moved pages";
  EXPECT_EQ(vm.eptPageSize(k2M), PageSize::Size2M);
  vm.swapPages(5 * k4K, 6 * k4K);
  EXPECT_EQ(vm.misplacedCount(), 4u);
  // Two pairs out of place: two swaps of two copies each.
  EXPECT_EQ(vm.compact(), 4u);
  EXPECT_EQ(vm.misplacedCount(), 0u);
  EXPECT_EQ(vm.hostOf(9 * k4K), base + 9 * k4K);
  EXPECT_EQ(memory.read64(base + 3 * k4K), 33u);
  EXPECT_EQ(memory.read64(base + 9 * k4K), 99u);
  EXPECT_EQ(vm.eptPageSize(0), PageSize::Size2M) << "in place again: a large page";
  EXPECT_EQ(vm.compact(), 0u);
}

// Guest pages 1 to 512 swapped with 1024 to 1535 (the third 2 MiB chunk): the run of guest pages
// from 1 is then host-contiguous from a 2 MiB-aligned host page, yet starts off a guest 2 MiB
// boundary, so it is no large page: chunks 0 to 2 are mapped page by page, chunk 3 by a 2 MiB
// leaf, and every page translates to its own host page.
TEST(VmMemory, AnUnalignedHostContiguousRunIsMappedInSmallPages) {
  SparseMemory memory;
  const uint64_t ept_base = vmm::VmmConfig{}.frames_base;
  vmm::VmMemory vm(memory, memoryConfig(4 * k2M, PageSize::Size2M, 0.0), ept_base, ept_base + k1G);
  for (uint64_t page = 1; page <= 512; ++page)
    vm.swapPages(page * k4K, (1023 + page) * k4K);
  ASSERT_EQ(vm.hostOf(k4K), vm.hostBase() + 2 * k2M);
  for (const uint64_t chunk : {0u, 1u, 2u})
    EXPECT_EQ(vm.eptPageSize(chunk * k2M + k4K), PageSize::Size4K) << chunk;
  EXPECT_EQ(vm.eptPageSize(3 * k2M), PageSize::Size2M);
  for (uint64_t gpa = 0; gpa < 4 * k2M; gpa += k4K) {
    const std::optional<uint64_t> host = vm.ept().translate(gpa);
    ASSERT_TRUE(host.has_value()) << gpa;
    ASSERT_EQ(*host, vm.hostOf(gpa)) << gpa;
  }
}

// Fragmentation f of P pages swaps floor(f * P / 2) disjoint pairs: 2 * floor(f * P / 2) pages
// out of place, put back by compact() at two copies a pair. The default seed is 1.
TEST(VmMemory, FragmentationMovesExactlyItsShareInDisjointPairs) {
  SparseMemory memory;
  const uint64_t ept_base = vmm::VmmConfig{}.frames_base;
  // 64 MiB = 16384 pages; 1% is 81.92 pages to pair: 81 pairs, 162 pages.
  vmm::VmMemory vm(memory, memoryConfig(32 * k2M, PageSize::Size1G, 0.01), ept_base, ept_base + k1G);
  EXPECT_EQ(vm.misplacedCount(), 162u);
  EXPECT_EQ(vm.misplacedPages().size(), 162u);
  EXPECT_EQ(vm.compact(), 162u);
  EXPECT_EQ(vm.misplacedCount(), 0u);
  for (uint64_t chunk = 0; chunk < 32; ++chunk)
    EXPECT_EQ(vm.eptPageSize(chunk * k2M), PageSize::Size2M) << chunk;  // 64 MiB: no 1 GiB page fits
  // Everything fragmented: every page moves.
  const vmm::VmMemory all(memory, memoryConfig(2 * k2M, PageSize::Size1G, 1.0), ept_base + k1G, ept_base + 2 * k1G);
  EXPECT_EQ(all.misplacedCount(), 1024u);
  EXPECT_EQ(all.eptPageSize(0), PageSize::Size4K);
  EXPECT_EQ(all.eptPageSize(k2M), PageSize::Size4K);
  // 3 pages' worth: 1.5 pairs, one pair.
  const vmm::VmMemory few(memory, memoryConfig(k2M, PageSize::Size1G, 3.0 / 512), ept_base + 2 * k1G,
                          ept_base + 3 * k1G);
  EXPECT_EQ(few.misplacedCount(), 2u);
  // The seed picks the pages; the default is seed 1.
  vmm::VmMemoryConfig seeded = memoryConfig(k2M, PageSize::Size1G, 0.1);
  seeded.seed = 1;
  const vmm::VmMemory by_default(memory, memoryConfig(k2M, PageSize::Size1G, 0.1), ept_base + 3 * k1G,
                                 ept_base + 4 * k1G);
  const vmm::VmMemory seed1(memory, seeded, ept_base + 4 * k1G, ept_base + 5 * k1G);
  seeded.seed = 2;
  const vmm::VmMemory seed2(memory, seeded, ept_base + 5 * k1G, ept_base + 6 * k1G);
  EXPECT_EQ(by_default.misplacedPages(), seed1.misplacedPages());
  EXPECT_NE(seed2.misplacedPages(), seed1.misplacedPages());
  EXPECT_EQ(seed1.misplacedCount(), 50u);  // 0.1 * 512 / 2 = 25.6: 25 pairs
}

// Where a 1 GiB EPT page fits (a whole, in-place GiB) and where only 2 MiB or 4 KiB ones do.
TEST(VmMemory, EptPageSizesAtTheEdges) {
  SparseMemory memory;
  const uint64_t ept_base = vmm::VmmConfig{}.frames_base;
  const vmm::VmMemory exact(memory, memoryConfig(k1G, PageSize::Size1G, 0.0), ept_base, ept_base + k1G);
  EXPECT_EQ(exact.eptPageSize(0), PageSize::Size1G);
  EXPECT_EQ(exact.eptPageSize(k1G - k2M), PageSize::Size1G);
  const vmm::VmMemory more(memory, memoryConfig(k1G + k2M, PageSize::Size1G, 0.0), ept_base + k1G,
                           ept_base + 2 * k1G);
  EXPECT_EQ(more.eptPageSize(k1G - k2M), PageSize::Size1G);
  EXPECT_EQ(more.eptPageSize(k1G), PageSize::Size2M);
  EXPECT_EQ(*more.ept().translate(k1G + 8), more.hostBase() + k1G + 8);
  EXPECT_EQ(*more.ept().translate(k1G - 8), more.hostBase() + k1G - 8);
  vmm::VmMemoryConfig too_small = memoryConfig(k1G, PageSize::Size1G, 0.0);
  too_small.bytes = k1G - k2M;
  EXPECT_THROW(vmm::VmMemory(memory, too_small, ept_base + 2 * k1G, ept_base + 3 * k1G), std::invalid_argument)
      << "no silent fall back to 2 MiB pages";
  const vmm::VmMemory less(memory, memoryConfig(k1G - k2M, PageSize::Size2M, 0.0), ept_base + 2 * k1G,
                           ept_base + 3 * k1G);
  EXPECT_EQ(less.eptPageSize(0), PageSize::Size2M);
  EXPECT_EQ(less.eptPageSize(k1G - 2 * k2M), PageSize::Size2M);
  const vmm::VmMemory small(memory, memoryConfig(2 * k2M, PageSize::Size4K, 0.0), ept_base + 3 * k1G,
                            ept_base + 4 * k1G);
  EXPECT_EQ(small.eptPageSize(k2M), PageSize::Size4K);
  EXPECT_EQ(*small.ept().translate(k2M + 4 * k4K + 16), small.hostBase() + k2M + 4 * k4K + 16);
  EXPECT_EQ(small.hostOf(2 * k2M - 1), small.hostBase() + 2 * k2M - 1);
  EXPECT_THROW(small.hostOf(2 * k2M), std::out_of_range);
  EXPECT_TRUE(small.contains(2 * k2M - 1));
  EXPECT_FALSE(small.contains(2 * k2M));
}

// The constructor's checks, each at its boundary.
TEST(VmMemory, BadConfigurationsThrowAtTheirBoundaries) {
  SparseMemory memory;
  const uint64_t ept_base = vmm::VmmConfig{}.frames_base;  // 1 TiB; the VMM's frames up to 1 TiB + 1 GiB
  const auto make = [&](uint64_t bytes, uint64_t host_base, double fragmentation) {
    vmm::VmMemoryConfig config = memoryConfig(bytes, PageSize::Size1G, fragmentation);
    config.host_base = host_base;
    vmm::VmMemory vm(memory, config, ept_base, ept_base + k1G);
  };
  EXPECT_THROW(make(0, k1G, 0.0), std::invalid_argument);
  EXPECT_THROW(make(k2M + k4K, k1G, 0.0), std::invalid_argument);
  EXPECT_NO_THROW(make(k2M, k1G, 0.0));
  EXPECT_THROW(make(k2M, k1G + k2M, 0.0), std::invalid_argument);  // host base not 1 GiB aligned
  EXPECT_NO_THROW(make(k2M, 0, 0.0));
  EXPECT_NO_THROW(make(k1G, ept_base - k1G, 0.0));  // ends where the VMM's frames begin
  EXPECT_THROW(make(k1G + k2M, ept_base - k1G, 0.0), std::invalid_argument);
  EXPECT_THROW(make(k2M, ept_base, 0.0), std::invalid_argument);
  EXPECT_NO_THROW(make(k2M, ept_base + k1G, 0.0));  // begins where they end
  EXPECT_NO_THROW(make(k2M, k1G, 1.0));
  EXPECT_THROW(make(k2M, k1G, 1.01), std::invalid_argument);
  EXPECT_THROW(make(k2M, k1G, -0.01), std::invalid_argument);
  EXPECT_THROW(make(k2M, k1G, std::nan("")), std::invalid_argument);
  vmm::VmMemory vm(memory, memoryConfig(k2M, PageSize::Size1G, 0.0), ept_base + k1G, ept_base + 2 * k1G);
  EXPECT_THROW(vm.swapPages(k4K, k4K + 8), std::invalid_argument);  // the same page
  EXPECT_THROW(vm.swapPages(k2M, 0), std::invalid_argument);
  EXPECT_THROW(vm.swapPages(0, k2M), std::invalid_argument);
  vm.swapPages(k2M - k4K, 0);
  EXPECT_EQ(vm.misplacedCount(), 2u);
  vm.swapPages(0, k2M - 1);  // back: both in place again
  EXPECT_EQ(vm.misplacedCount(), 0u);
  EXPECT_EQ(vm.eptPageSize(0), PageSize::Size2M);
}

TEST(VmMemory, GuestRunsOnOneGigabyteEptPages) {
  vmm::VmmConfig config = System::configFor(k1G, 0.0);
  config.memory.max_ept_page = PageSize::Size1G;
  System sys(Approach::Nested, config, true);
  ASSERT_EQ(sys.vmm->memory().eptPageSize(0), PageSize::Size1G);
  guest::GuestKernel &k = *sys.kernel;
  const guest::Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t buf = k.mmap(pid, 8 * k2M, guest::prot::ReadWrite, true);
  for (uint64_t off = 0; off < 8 * k2M; off += k2M + 3 * k4K) {
    const guest::AccessOutcome out = k.touch(buf + off, Access::Write);
    EXPECT_EQ(out.hpa, sys.vmm->memory().hostBase() + k.residentFrame(pid, buf + off));
  }
}

TEST(CostAccount, ExitsAndCyclesAddUp) {
  System sys(Approach::ShadowPlain);
  guest::GuestKernel &k = *sys.kernel;
  const guest::Pid a = k.spawn(), b = k.spawn();
  k.switchTo(a);
  const uint64_t buf = k.mmap(a, 8 * k4K, guest::prot::ReadWrite, false);
  for (int i = 0; i < 8; ++i)
    k.touch(buf + i * k4K, Access::Write);
  k.switchTo(b);
  const vmm::RunCost &cost = sys.vmm->cost();
  EXPECT_GT(cost.totalExits(), 0u);
  EXPECT_EQ(cost.exit_cycles, cost.totalExits() * sys.vmm->config().costs.exit_round_trip);
  EXPECT_EQ(cost.totalCycles(),
            cost.translation_cycles + cost.access_cycles + cost.exit_cycles + cost.shim_cycles + cost.guest_work_cycles);
  EXPECT_GE(cost.translations, cost.accesses) << "every access translates at least once";
  EXPECT_EQ(cost.cr3_writes, k.stats().cr3_writes);
  // Nested: the same activity exits never.
  System nested(Approach::Nested);
  guest::GuestKernel &kn = *nested.kernel;
  const guest::Pid na = kn.spawn();
  kn.switchTo(na);
  const uint64_t nbuf = kn.mmap(na, 8 * k4K, guest::prot::ReadWrite, false);
  for (int i = 0; i < 8; ++i)
    kn.touch(nbuf + i * k4K, Access::Write);
  EXPECT_EQ(nested.vmm->cost().totalExits(), 0u);
  EXPECT_EQ(nested.vmm->cost().guest_page_faults, 8u);
}

// The defaults of a VM's memory (vm_memory.h): 64 MiB at host address 4 GiB, in place, on 2 MiB
// EPT pages (a KVM host with THP), backed lazily; a guest access reaches 4 GiB + its gPA.
TEST(VmMemory, DefaultsPlaceTheVmAtFourGibibytes) {
  const vmm::VmMemoryConfig defaults;
  EXPECT_EQ(defaults.bytes, 64 * (uint64_t{1} << 20));
  EXPECT_EQ(defaults.host_base, uint64_t{1} << 32);
  EXPECT_EQ(defaults.fragmentation, 0.0);
  EXPECT_EQ(defaults.max_ept_page, PageSize::Size2M);
  EXPECT_TRUE(defaults.lazy);
  EXPECT_EQ(defaults.seed, 1u);
  System sys(Approach::Nested);
  EXPECT_EQ(sys.vmm->memory().hostBase(), uint64_t{1} << 32);
  guest::GuestKernel &k = *sys.kernel;
  const guest::Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t buf = k.mmap(pid, 4 * k4K, guest::prot::ReadWrite, false);
  const guest::AccessOutcome out = k.touch(buf + 3 * k4K + 40, Access::Write);
  EXPECT_EQ(out.hpa, (uint64_t{1} << 32) + k.residentFrame(pid, buf + 3 * k4K) + 40);
}

// The VMM's configuration checks, each at its boundary: the context slot below num_contexts (4),
// the native baseline in place, the VMM's 64 GiB of frames 4 KiB aligned inside the 46-bit host
// space, and the VM's memory inside it too.
TEST(VmmConfig, ChecksAtTheirBoundaries) {
  vmm::ModelBackend backend;
  const uint64_t top = uint64_t{1} << 46;
  const auto make = [&](const vmm::VmmConfig &config, Approach approach) { vmm::Vmm vm(backend, config, approach); };
  vmm::VmmConfig config;
  config.context = 3;
  EXPECT_NO_THROW(make(config, Approach::Nested));
  config.context = 4;
  EXPECT_THROW(make(config, Approach::Nested), std::invalid_argument);

  vmm::VmmConfig native;
  native.memory.host_base = 0;
  EXPECT_NO_THROW(make(native, Approach::Native));
  native.memory.host_base = k1G;
  EXPECT_THROW(make(native, Approach::Native), std::invalid_argument);
  EXPECT_NO_THROW(make(native, Approach::Nested));  // only the native baseline must sit at 0
  native.memory.host_base = 0;
  native.memory.fragmentation = 0.01;
  EXPECT_THROW(make(native, Approach::Native), std::invalid_argument);

  vmm::VmmConfig frames;
  frames.frames_base = top - vmm::Vmm::kVmmFramesBytes;  // the frames end at the top
  EXPECT_NO_THROW(make(frames, Approach::ShadowPlain));
  frames.frames_base += k4K;
  EXPECT_THROW(make(frames, Approach::ShadowPlain), std::invalid_argument);
  frames.frames_base = vmm::VmmConfig{}.frames_base + 8;
  EXPECT_THROW(make(frames, Approach::ShadowPlain), std::invalid_argument);

  vmm::VmmConfig memory;
  memory.memory.host_base = top - k1G;
  memory.memory.bytes = k1G;  // ends at the top
  EXPECT_NO_THROW(make(memory, Approach::Nested));
  memory.memory.bytes = k1G + k2M;
  EXPECT_THROW(make(memory, Approach::Nested), std::invalid_argument);
}

// Two VMs on one MMU at once, each in its own mode (§3): nested and caching shadow, interleaved.
TEST(TwoVms, RunSideBySideInTheirOwnModesAndRegions) {
  vmm::ModelBackend backend;
  vmm::VmmConfig config_a;
  config_a.vpid = 1;
  config_a.context = 0;
  config_a.memory.host_base = 4 * k1G;
  config_a.memory.lazy = false;  // nested then never exits (first touches: host_backing_test.cpp)
  vmm::VmmConfig config_b = config_a;
  config_b.vpid = 2;
  config_b.context = 1;
  config_b.memory.host_base = 8 * k1G;
  config_b.frames_base = config_a.frames_base + vmm::Vmm::kVmmFramesBytes;
  vmm::Vmm vm_a(backend, config_a, Approach::Nested);
  vmm::Vmm vm_b(backend, config_b, Approach::ShadowCaching);
  guest::GuestConfig guest_config;
  guest_config.memory_bytes = config_a.memory.bytes;
  guest::GuestKernel kernel_a(vm_a, guest_config), kernel_b(vm_b, guest_config);
  const guest::Pid pa = kernel_a.spawn(), pb = kernel_b.spawn();
  kernel_a.switchTo(pa);
  kernel_b.switchTo(pb);
  const uint64_t buf_a = kernel_a.mmap(pa, 16 * k4K, guest::prot::ReadWrite, false);
  const uint64_t buf_b = kernel_b.mmap(pb, 16 * k4K, guest::prot::ReadWrite, false);
  EXPECT_EQ(buf_a, buf_b) << "the same guest VAs in both VMs";
  for (int round = 0; round < 3; ++round) {
    for (uint64_t i = 0; i < 16; ++i) {
      const uint64_t hpa_a = kernel_a.touch(buf_a + i * k4K, Access::Write).hpa;
      const uint64_t hpa_b = kernel_b.touch(buf_b + i * k4K, Access::Write).hpa;
      EXPECT_EQ(hpa_a, vm_a.memory().hostOf(kernel_a.residentFrame(pa, buf_a + i * k4K)));
      EXPECT_EQ(hpa_b, vm_b.memory().hostOf(kernel_b.residentFrame(pb, buf_b + i * k4K)));
      EXPECT_GE(hpa_b, config_b.memory.host_base);
      EXPECT_LT(hpa_a, config_a.memory.host_base + config_a.memory.bytes);
    }
  }
  EXPECT_EQ(vm_a.cost().totalExits(), 0u);
  EXPECT_GT(vm_b.cost().totalExits(), 0u);
  EXPECT_TRUE(vm_b.checkInvariants().empty());
}

}  // namespace
}  // namespace vmmu::testing
