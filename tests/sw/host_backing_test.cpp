// host_backing_test.cpp - lazy host allocation (architecture.md §16): a guest page is backed on
// its first touch, by an EPT-violation exit under nested and within the shadow fault under
// shadow, at the extent of its EPT leaf; a DIRECT VM is backed when it is made contiguous; eager
// VMs are backed at creation. Every expectation is worked out from the costs set here.
#include <gtest/gtest.h>

#include "hand_built_guest.h"
#include "sw_test_support.h"

namespace vmmu::testing {
namespace {

using vmm::Approach;
using vmm::ExitReason;

constexpr uint64_t k4K = 4096, k2M = 2ull << 20, k1G = 1ull << 30;
constexpr uint64_t kHostAlloc = 3'001, kHostClear = 13;
// A 2 MiB host page: one fault path, 512 pages zeroed.
constexpr uint64_t kBack2M = kHostAlloc + 512 * kHostClear;
constexpr uint64_t kBack4K = kHostAlloc + kHostClear;
// A page outside chunk 0 (where the hand-built tables are): gPA 5 MiB, chunk 2, mapped at kMore.
constexpr uint64_t kFar = 0x50'0000, kMore = 0x205000;

vmm::VmmConfig lazyConfig(PageSize max_ept_page = PageSize::Size2M) {
  vmm::VmmConfig c = handBuiltConfig();
  c.memory.lazy = true;
  c.memory.max_ept_page = max_ept_page;
  c.costs.host_alloc = kHostAlloc;
  c.costs.host_clear_page = kHostClear;
  return c;
}

// The hand-built guest with one more PT entry, kMore -> kFar, and its CR3 loaded.
struct LazyGuest : HandBuiltGuest {
  explicit LazyGuest(Approach approach, PageSize max_ept_page = PageSize::Size2M)
      : HandBuiltGuest(approach, lazyConfig(max_ept_page)) {
    vmm.writePhysical(kPt + 8 * 5, kFar | kFlags);
    vmm.writeCr3(kRoot, 0, false);
  }
};

// A lazily backed VM's memory on its own (no VMM), with its EPT in the VMM's default frames.
struct LazyVmMemory {
  LazyVmMemory(uint64_t bytes, PageSize max_ept_page)
      : vm(memory, config(bytes, max_ept_page), vmm::VmmConfig{}.frames_base, vmm::VmmConfig{}.frames_base + k1G) {}
  static vmm::VmMemoryConfig config(uint64_t bytes, PageSize max_ept_page) {
    vmm::VmMemoryConfig c;
    c.bytes = bytes;
    c.max_ept_page = max_ept_page;
    c.lazy = true;
    return c;
  }
  SparseMemory memory;
  vmm::VmMemory vm;
};

// backAll (a VM made contiguous for DIRECT) backs every page, the first included: on 4 KiB EPT
// pages a 4 MiB lazy VM takes 1,024 backings of one page each; then nothing is left to back.
TEST(VmMemoryBacking, BackAllBacksEveryPageFromTheFirst) {
  LazyVmMemory lazy(2 * k2M, PageSize::Size4K);
  vmm::VmMemory &vm = lazy.vm;
  ASSERT_EQ(vm.backedPages(), 0u);
  const vmm::Backing all = vm.backAll();
  EXPECT_EQ(all.units, 1'024u);
  EXPECT_EQ(all.pages, 1'024u);
  EXPECT_TRUE(vm.backed(0));
  EXPECT_EQ(vm.ept().translate(0), vm.hostOf(0));
  EXPECT_EQ(vm.backedPages(), 1'024u);
  EXPECT_EQ(vm.backAll().units, 0u);
}

TEST(VmMemoryBacking, ALazyVmBacksTheExtentOfTheEptLeafOnce) {
  LazyVmMemory lazy(8 * k2M, PageSize::Size2M);
  vmm::VmMemory &vm = lazy.vm;
  EXPECT_EQ(vm.backedPages(), 0u);
  EXPECT_FALSE(vm.ept().translate(5 * k4K).has_value()) << "no EPT leaf before the first touch";
  const vmm::Backing first = vm.back(5 * k4K + 8);
  EXPECT_EQ(first.units, 1u);
  EXPECT_EQ(first.pages, 512u) << "the whole 2 MiB chunk";
  EXPECT_EQ(vm.ept().translate(5 * k4K + 8), vm.hostOf(5 * k4K + 8));
  EXPECT_TRUE(vm.backed(k2M - k4K));
  EXPECT_FALSE(vm.backed(k2M));
  const vmm::Backing again = vm.back(0);
  EXPECT_EQ(again.units, 0u);
  EXPECT_EQ(again.pages, 0u);
  // A chunk holding moved pages is mapped with 4 KiB leaves: one page at a time.
  vm.swapPages(3 * k2M + 7 * k4K, 3 * k2M + 9 * k4K);
  const vmm::Backing moved = vm.back(3 * k2M + 7 * k4K);
  EXPECT_EQ(moved.units, 1u);
  EXPECT_EQ(moved.pages, 1u);
  EXPECT_EQ(vm.ept().translate(3 * k2M + 7 * k4K), vm.hostOf(3 * k2M + 7 * k4K));
  EXPECT_FALSE(vm.ept().translate(3 * k2M + 9 * k4K).has_value());
  EXPECT_EQ(vm.backedPages(), 513u);
  // backAll: the 6 untouched chunks, 2 MiB each, and the fragmented chunk's other 511 pages.
  const vmm::Backing rest = vm.backAll();
  EXPECT_EQ(rest.units, 6u + 511u);
  EXPECT_EQ(rest.pages, 6u * 512u + 511u);
  EXPECT_EQ(vm.backedPages(), 8u * 512u);
}

TEST(VmMemoryBacking, AnEagerVmIsBackedAtCreation) {
  SparseMemory memory;
  const uint64_t ept_base = vmm::VmmConfig{}.frames_base;
  vmm::VmMemoryConfig config;
  config.bytes = 4 * k2M;
  config.lazy = false;
  const vmm::VmMemory vm(memory, config, ept_base, ept_base + k1G);
  EXPECT_EQ(vm.backedPages(), 4u * 512u);
  EXPECT_EQ(vm.ept().translate(3 * k2M + 8), vm.hostOf(3 * k2M + 8));
}

TEST(VmMemoryBacking, A1GEptPageNeedsAGuestOfAtLeast1G) {
  SparseMemory memory;
  const uint64_t ept_base = vmm::VmmConfig{}.frames_base;
  vmm::VmMemoryConfig config;
  config.bytes = 256 * k2M;
  config.max_ept_page = PageSize::Size1G;
  try {
    const vmm::VmMemory vm(memory, config, ept_base, ept_base + k1G);
    FAIL() << "a 512 MiB guest cannot hold a 1 GiB EPT page";
  } catch (const std::invalid_argument &e) {
    EXPECT_STREQ(e.what(), "max_ept_page = 1g needs a guest of at least 1 GiB (memory_mib >= 1024), got 512 MiB");
  }
  // Exactly 1 GiB is enough, and is mapped by one 1 GiB page.
  config.bytes = k1G;
  const vmm::VmMemory vm(memory, config, ept_base, ept_base + k1G);
  EXPECT_EQ(vm.eptPageSize(k1G - k4K), PageSize::Size1G);
}

TEST(HostBacking, NestedFirstTouchTakesAnEptViolationExitAndRetries) {
  LazyGuest m(Approach::Nested);
  // Creation wrote the tables at boot: the first physical store to chunk 0 exits once and backs
  // it; the other stores find it backed. The CR3 write does not exit under nested.
  EXPECT_EQ(m.exits(ExitReason::EptViolation), 1u);
  EXPECT_EQ(m.cost().totalExits(), 1u);
  EXPECT_EQ(m.cost().exit_cycles, kRoundTrip);
  EXPECT_EQ(m.cost().shim_cycles, kHandler + kBack2M);
  EXPECT_EQ(m.cost().host_backings, 1u);
  EXPECT_EQ(m.cost().host_pages_backed, 512u);

  // kData's page is in chunk 0: no exit.
  vmm::RunCost before = m.cost();
  EXPECT_FALSE(m.vmm.access(kData, Access::Read, true, nullptr).faulted);
  EXPECT_EQ((m.cost() - before).totalExits(), 0u);

  // kMore's page is in chunk 2: the walk faults on the final gPA, the shim backs 2 MiB, the
  // retried translation completes.
  before = m.cost();
  const guest::AccessOutcome out = m.vmm.access(kMore + 8, Access::Write, true, nullptr);
  EXPECT_FALSE(out.faulted);
  EXPECT_EQ(out.hpa, m.vmm.memory().hostOf(kFar + 8));
  vmm::RunCost d = m.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::EptViolation)], 1u);
  EXPECT_EQ(d.totalExits(), 1u);
  EXPECT_EQ(d.exit_cycles, kRoundTrip);
  EXPECT_EQ(d.shim_cycles, kHandler + kBack2M);
  EXPECT_EQ(d.translations, 2u) << "the violation, then the retry";
  EXPECT_EQ(d.guest_page_faults, 0u);
  EXPECT_TRUE(m.vmm.memory().backed(2 * k2M)) << "the whole chunk";
  EXPECT_TRUE(m.vmm.memory().backed(3 * k2M - k4K)) << "the whole chunk";
  EXPECT_FALSE(m.vmm.memory().backed(3 * k2M));

  // Touched again: backed, no exit.
  before = m.cost();
  EXPECT_FALSE(m.vmm.access(kMore, Access::Read, true, nullptr).faulted);
  EXPECT_EQ((m.cost() - before).totalExits(), 0u);
}

TEST(HostBacking, A4KEptBacksOnePageAtATime) {
  LazyGuest m(Approach::Nested, PageSize::Size4K);
  // Boot stores to the four table pages 0x1000-0x4000: four exits, four 4 KiB pages.
  EXPECT_EQ(m.exits(ExitReason::EptViolation), 4u);
  EXPECT_EQ(m.cost().shim_cycles, 4 * (kHandler + kBack4K));
  const vmm::RunCost before = m.cost();
  // kData -> gPA 0x10000: not backed yet.
  EXPECT_FALSE(m.vmm.access(kData, Access::Read, true, nullptr).faulted);
  const vmm::RunCost d = m.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::EptViolation)], 1u);
  EXPECT_EQ(d.shim_cycles, kHandler + kBack4K);
  EXPECT_EQ(d.host_pages_backed, 1u);
}

TEST(HostBacking, ShadowBacksWithinItsFaultWithoutAnExitOfItsOwn) {
  LazyGuest m(Approach::ShadowCaching);
  // Boot's physical stores back chunk 0 without an exit; the CR3 write exits as always.
  EXPECT_EQ(m.exits(ExitReason::EptViolation), 0u);
  EXPECT_EQ(m.cost().host_backings, 1u);
  const vmm::RunCost before = m.cost();
  EXPECT_FALSE(m.vmm.access(kMore, Access::Read, true, nullptr).faulted);
  const vmm::RunCost d = m.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::ShadowFault)], 1u);
  EXPECT_EQ(d.totalExits(), 1u) << "the shadow fault only";
  EXPECT_EQ(d.host_backings, 1u);
  EXPECT_EQ(d.host_pages_backed, 512u);
  // The same fill as without backing, plus the backing.
  const vmm::VmmConfig eager_config = handBuiltConfig();
  HandBuiltGuest eager(Approach::ShadowCaching, eager_config);
  eager.vmm.writePhysical(kPt + 8 * 5, kFar | kFlags);
  eager.vmm.writeCr3(kRoot, 0, false);
  const vmm::RunCost eager_before = eager.cost();
  EXPECT_FALSE(eager.vmm.access(kMore, Access::Read, true, nullptr).faulted);
  EXPECT_EQ(d.shim_cycles, (eager.cost() - eager_before).shim_cycles + kBack2M);
}

// Prefetching maps the siblings the host already backs and leaves the others to their own first
// touch: it never allocates host memory the guest has not touched.
TEST(HostBacking, PrefetchMapsOnlyBackedSiblings) {
  LazyGuest m(Approach::ShadowPrefetch);
  constexpr uint64_t kUntouched = 0x90'0000;  // chunk 4
  m.vmm.writePhysical(kPt + 8 * 6, kUntouched | kFlags);
  const vmm::RunCost before = m.cost();
  EXPECT_FALSE(m.vmm.access(kMore, Access::Read, true, nullptr).faulted);
  const vmm::RunCost d = m.cost() - before;
  EXPECT_EQ(d.host_backings, 1u) << "kMore's chunk only";
  EXPECT_FALSE(m.vmm.memory().backed(kUntouched));
  EXPECT_EQ(m.shadowLeaf(0x206000), 0u) << "not prefetched";
  EXPECT_NE(m.shadowLeaf(kData), 0u) << "chunk 0 is backed: prefetched";
  // Its own touch fills and backs it.
  EXPECT_FALSE(m.vmm.access(0x206000, Access::Read, true, nullptr).faulted);
  EXPECT_TRUE(m.vmm.memory().backed(kUntouched));
}

TEST(HostBacking, DirectIsBackedWhenMadeContiguous) {
  // Created DIRECT: backed whole, uncharged.
  const LazyGuest direct(Approach::Direct);
  EXPECT_EQ(direct.vmm.memory().backedPages(), kMemory / k4K);
  EXPECT_EQ(direct.cost().host_backings, 0u);
  EXPECT_EQ(direct.cost().totalExits(), 0u);
  // Switched into DIRECT from nested: the 31 chunks not yet backed (chunk 0 is) are charged.
  LazyGuest m(Approach::Nested);
  const vmm::RunCost before = m.cost();
  m.vmm.switchApproach(Approach::Direct);
  const vmm::RunCost d = m.cost() - before;
  EXPECT_EQ(d.host_backings, kMemory / k2M - 1);
  EXPECT_EQ(d.host_pages_backed, (kMemory / k2M - 1) * 512);
  EXPECT_EQ(m.vmm.memory().backedPages(), kMemory / k4K);
}

TEST(HostBacking, EagerVmsNeverExitToBack) {
  vmm::VmmConfig config = lazyConfig();
  config.memory.lazy = false;
  HandBuiltGuest m(Approach::Nested, config);
  m.vmm.writePhysical(kPt + 8 * 5, kFar | kFlags);
  m.vmm.writeCr3(kRoot, 0, false);
  EXPECT_FALSE(m.vmm.access(kMore, Access::Read, true, nullptr).faulted);
  EXPECT_EQ(m.cost().totalExits(), 0u);
  EXPECT_EQ(m.cost().host_backings, 0u);
}

TEST(HostBacking, AGpaOutsideGuestMemoryStillStopsTheGuest) {
  LazyGuest m(Approach::Nested);
  try {
    m.vmm.access(kOutside, Access::Read, true, nullptr);
    FAIL() << "gPA 64 MiB is not guest memory";
  } catch (const vmm::GuestStopped &e) {
    EXPECT_EQ(e.reason, ExitReason::EptViolation);
    EXPECT_EQ(e.gpa, kMemory);
  }
}

// The guest kernel on a lazy nested VM: boot's physical stores back the first 2 MiB chunk (its
// tables and 4 KiB frames come from there) with one exit; each 2 MiB THP page the guest then maps
// from a fresh chunk is backed by one more exit on its first touch, and only then.
TEST(HostBacking, AGuestKernelOnNestedExitsOncePerHostPageItTouches) {
  vmm::VmmConfig config = System::configFor(64ull << 20, 0.0);
  config.memory.lazy = true;
  System sys(Approach::Nested, config, true);
  const auto ept_exits = [&] { return sys.vmm->cost().exits[static_cast<unsigned>(ExitReason::EptViolation)]; };
  EXPECT_EQ(ept_exits(), 1u);
  guest::GuestKernel &k = *sys.kernel;
  const guest::Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t small = k.mmap(pid, 8 * k4K, guest::prot::ReadWrite, false);
  for (uint64_t i = 0; i < 8; ++i)
    k.touch(small + i * k4K, Access::Write);
  EXPECT_EQ(ept_exits(), 1u) << "4 KiB frames come from the first chunk, already backed";
  const uint64_t huge = k.mmap(pid, 4 * k2M, guest::prot::ReadWrite, true);
  for (uint64_t i = 0; i < 4; ++i)
    for (uint64_t off = 0; off < k2M; off += 64 * k4K)
      k.touch(huge + i * k2M + off, Access::Write);
  EXPECT_EQ(ept_exits(), 5u) << "one per 2 MiB page, on its first touch";
  EXPECT_EQ(sys.vmm->cost().host_backings, 5u);
  EXPECT_EQ(sys.vmm->memory().backedPages(), 5u * 512u);
  EXPECT_EQ(sys.vmm->cost().totalExits(), 5u);
}

}  // namespace
}  // namespace vmmu::testing
