// flat_ept_test.cpp - the VMM building its EPT in a flattened format (architecture.md §21.7):
// the 2 MiB tables it allocates and when it pays for them, 2 MiB leaves written as 512 replicas,
// the limits of 1level, the nested walk's references on a hand-built guest, and a flattened
// format on a backend that is not the golden model (as the RTL backend is not, §21.8). Every cost
// is worked out from the values set here.
#include <gtest/gtest.h>

#include "hand_built_guest.h"
#include "sw_test_support.h"

namespace vmmu::testing {
namespace {

using vmm::Approach;
using vmm::ExitReason;

constexpr uint64_t k4K = 4096, k2M = 2ull << 20, k1G = 1ull << 30;
constexpr uint64_t kHostAlloc = 3'001, kHostClear = 13;
constexpr uint64_t kBack2M = kHostAlloc + 512 * kHostClear;
// A flattened table: one fault path and 512 pages zeroed, as a 2 MiB host page; a replicated 2M
// leaf: one page of stores.
constexpr uint64_t kTable = kHostAlloc + 512 * kHostClear, kReplicas = kHostClear;

vmm::VmMemoryConfig flatMemory(EptFormat format, uint64_t bytes) {
  vmm::VmMemoryConfig config;
  config.bytes = bytes;
  config.lazy = true;
  config.ept_format = format;
  return config;
}

TEST(FlatEptShim, TwoLevelVmAllocatesALevel1TablePerGigabyteOnFirstTouch) {
  SparseMemory memory;
  const uint64_t ept_base = vmm::VmmConfig{}.frames_base;
  vmm::VmMemory vm(memory, flatMemory(EptFormat::Flat2, 2 * k1G), ept_base, ept_base + 4 * k1G);
  EXPECT_EQ(vm.eptTableBytes(), k2M) << "the level-2 table, made with the VM";
  EXPECT_EQ(eptFormatOf(vm.eptp()), EptFormat::Flat2);
  EXPECT_EQ(vm.eptp() & ~uint64_t{0xfff}, ept_base);

  const vmm::Backing first = vm.back(5 * k4K + 8);
  EXPECT_EQ(first.units, 1u);
  EXPECT_EQ(first.pages, 512u);
  EXPECT_EQ(first.ept_tables, 1u) << "the level-1 table of gPA [0, 1G)";
  EXPECT_EQ(first.ept_replicated_leaves, 1u);
  EXPECT_EQ(vm.eptTableBytes(), 2 * k2M);
  // The 2 MiB leaf in all 512 entries of its range.
  const uint64_t leaf = vm.ept().readEntry(0, 1);
  EXPECT_EQ(leaf & ept::LP, ept::LP);
  EXPECT_EQ(vm.ept().readEntry(k2M - k4K, 1), leaf);
  EXPECT_EQ(vm.ept().translate(5 * k4K + 8), vm.hostOf(5 * k4K + 8));

  // Another chunk of the same gigabyte: no new table.
  const vmm::Backing same_gig = vm.back(7 * k2M);
  EXPECT_EQ(same_gig.ept_tables, 0u);
  EXPECT_EQ(same_gig.ept_replicated_leaves, 1u);
  // The second gigabyte: its own level-1 table.
  const vmm::Backing second_gig = vm.back(k1G + 3 * k4K);
  EXPECT_EQ(second_gig.ept_tables, 1u);
  EXPECT_EQ(vm.eptTableBytes(), 3 * k2M);
  // A fragmented chunk is mapped with 4 KiB leaves: nothing replicated.
  vm.swapPages(3 * k2M + 7 * k4K, 3 * k2M + 9 * k4K);
  const vmm::Backing moved = vm.back(3 * k2M + 7 * k4K);
  EXPECT_EQ(moved.pages, 1u);
  EXPECT_EQ(moved.ept_replicated_leaves, 0u);
  EXPECT_EQ(moved.ept_tables, 0u) << "the rebuild after the swap reuses the tables paid for";
  EXPECT_EQ(vm.ept().translate(3 * k2M + 7 * k4K), vm.hostOf(3 * k2M + 7 * k4K));
}

TEST(FlatEptShim, RadixTablesAreNotCharged) {
  SparseMemory memory;
  const uint64_t ept_base = vmm::VmmConfig{}.frames_base;
  vmm::VmMemory vm(memory, flatMemory(EptFormat::Radix, 8 * k2M), ept_base, ept_base + k1G);
  const vmm::Backing first = vm.back(0);
  EXPECT_EQ(first.ept_tables, 0u);
  EXPECT_EQ(first.ept_replicated_leaves, 0u);
  EXPECT_EQ(vm.eptTableBytes(), 3 * k4K) << "PML4, PDPT and PD";
  EXPECT_EQ(eptFormatOf(vm.eptp()), EptFormat::Radix);
}

TEST(FlatEptShim, OneLevelLimitsTheGuestTo1GAnd2MPages) {
  SparseMemory memory;
  const uint64_t ept_base = vmm::VmmConfig{}.frames_base;
  try {
    const vmm::VmMemory vm(memory, flatMemory(EptFormat::Flat1, 1024 * k2M), ept_base, ept_base + k1G);
    FAIL() << "a 2 GiB guest is beyond 1level's reach";
  } catch (const std::invalid_argument &e) {
    EXPECT_STREQ(e.what(), "ept_format 1level reaches 1 GiB of guest-physical memory (memory_mib <= 1024), got 2048 MiB");
  }
  vmm::VmMemoryConfig huge = flatMemory(EptFormat::Flat1, k1G);
  huge.max_ept_page = PageSize::Size1G;
  EXPECT_THROW(vmm::VmMemory(memory, huge, ept_base, ept_base + k1G), std::invalid_argument);
  vmm::VmMemory vm(memory, flatMemory(EptFormat::Flat1, k1G), ept_base, ept_base + k1G);
  EXPECT_EQ(vm.eptTableBytes(), k2M);
  const vmm::Backing first = vm.back(k1G - k4K);
  EXPECT_EQ(first.ept_tables, 0u) << "the one table was made with the VM";
  EXPECT_EQ(vm.ept().translate(k1G - 8), vm.hostOf(k1G - 8));
}

vmm::VmmConfig flatVmmConfig(EptFormat format) {
  vmm::VmmConfig c = handBuiltConfig();
  c.memory.lazy = true;
  c.memory.ept_format = format;
  c.costs.host_alloc = kHostAlloc;
  c.costs.host_clear_page = kHostClear;
  return c;
}

TEST(FlatEptShim, NestedFirstTouchPaysForTheLevel1TableOnce) {
  HandBuiltGuest m(Approach::Nested, flatVmmConfig(EptFormat::Flat2));
  m.vmm.writeCr3(kRoot, 0, false);
  // The boot stores to chunk 0 exit once: the 2 MiB host page, the level-1 table of [0, 1G) and
  // the replicated leaf.
  EXPECT_EQ(m.exits(ExitReason::EptViolation), 1u);
  EXPECT_EQ(m.cost().shim_cycles, kHandler + kBack2M + kTable + kReplicas);
  EXPECT_EQ(m.cost().ept_tables, 1u);
  EXPECT_EQ(m.cost().ept_replicated_leaves, 1u);
  // A cold nested walk of kData (every table and the data in chunk 0, so in one 2M nested-TLB
  // entry after the first row): the CR3 row reads the two EPT levels, the other rows hit.
  const uint64_t nested_before = m.backend.counter(Counter::NestedReads);
  EXPECT_FALSE(m.vmm.access(kData, Access::Read, true, nullptr).faulted);
  EXPECT_EQ(m.backend.counter(Counter::NestedReads) - nested_before, 2u);
  // Chunk 2 (gPA 5 MiB): the same table, one more replicated leaf.
  m.vmm.writePhysical(kPt + 8 * 5, 0x50'0000 | kFlags);
  const vmm::RunCost before = m.cost();
  EXPECT_FALSE(m.vmm.access(0x205000, Access::Read, true, nullptr).faulted);
  const vmm::RunCost d = m.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::EptViolation)], 1u);
  EXPECT_EQ(d.shim_cycles, kHandler + kBack2M + kReplicas);
  EXPECT_EQ(d.ept_tables, 0u);
}

// A backend that is not the golden model (as the RTL backend is not).
class OtherBackend final : public vmm::MmuBackend {
public:
  vmm::Translation translate(const Request &req) override { return model_.translate(req); }
  void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) override {
    model_.control(op, ctx, reg, data, vpid, pcid);
  }
  uint64_t counter(Counter c) override { return model_.counter(c); }
  PhysicalMemory &memory() override { return model_.memory(); }
  const MmuConfig &config() const override { return model_.config(); }

private:
  vmm::ModelBackend model_;
};

TEST(FlatEptShim, AFlattenedFormatRunsOnABackendThatIsNotTheModel) {
  // The RTL decodes EPTP FMT (§21.8): a Vmm takes a flattened format on any backend. The VMM
  // writes the EPTP with its FMT bits, and a backend that is not the golden model walks it.
  for (const EptFormat format : {EptFormat::Flat2, EptFormat::Flat1}) {
    SCOPED_TRACE(toString(format));
    OtherBackend backend;
    vmm::VmmConfig config = handBuiltConfig();
    config.memory.ept_format = format;
    vmm::Vmm vmm(backend, config, Approach::Nested);
    EXPECT_EQ(eptFormatOf(vmm.memory().eptp()), format);
  }
}

}  // namespace
}  // namespace vmmu::testing
