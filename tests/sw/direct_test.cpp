// direct_test.cpp - DIRECT mode: base-offset walks, compaction of a fragmented VM (at start and at
// run time), escapes for migrated pages, and the bounds checker stopping a guest that maps
// outside its memory (an EPT violation under nested paging).
#include <gtest/gtest.h>

#include "sw_test_support.h"

namespace vmmu::testing {
namespace {

using guest::Pid;
using vmm::Approach;
using vmm::ExitReason;
constexpr uint64_t k4K = 4096;

uint64_t populate(guest::GuestKernel &k, Pid pid, unsigned pages) {
  k.switchTo(pid);
  const uint64_t buf = k.mmap(pid, pages * k4K, guest::prot::ReadWrite, false);
  for (unsigned i = 0; i < pages; ++i)
    k.touch(buf + i * k4K, Access::Write);
  return buf;
}

TEST(Direct, ColdWalkReadsOnlyTheGuestLevels) {
  System sys(Approach::Direct);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  const uint64_t buf = populate(k, a, 2);
  sys.backend->invVpid(sys.vmm->vpid());  // cold TLB and caches
  const uint64_t guest_reads = sys.backend->counter(Counter::GuestReads);
  const uint64_t nested_reads = sys.backend->counter(Counter::NestedReads);
  const guest::AccessOutcome out = k.touch(buf + k4K, Access::Read);
  EXPECT_EQ(sys.backend->counter(Counter::GuestReads) - guest_reads, 4u);
  EXPECT_EQ(sys.backend->counter(Counter::NestedReads) - nested_reads, 0u);
  EXPECT_EQ(out.hpa, sys.vmm->memory().hostBase() + k.residentFrame(a, buf + k4K));
}

TEST(Direct, FragmentedVmIsCompactedBeforeEntering) {
  System sys(Approach::Direct, 64ull << 20, 0.05);
  EXPECT_EQ(sys.vmm->memory().misplacedCount(), 0u);
  EXPECT_GT(sys.vmm->cost().page_moves, 0u);
  EXPECT_EQ(sys.vmm->cost().shim_cycles, sys.vmm->cost().page_moves * sys.vmm->config().costs.page_move +
                                              sys.vmm->cost().control_commands * sys.vmm->config().costs.control_command);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  const uint64_t buf = populate(k, a, 8);
  EXPECT_EQ(k.touch(buf, Access::Read).hpa, sys.vmm->memory().hostBase() + k.residentFrame(a, buf));
}

TEST(Direct, FragmentedVmWithoutCompactionIsRefused) {
  vmm::ModelBackend backend;
  vmm::VmmConfig config;
  config.memory.fragmentation = 0.05;
  config.allow_compaction = false;
  try {
    vmm::Vmm vmm(backend, config, Approach::Direct);
    FAIL() << "DIRECT over fragmented memory must be refused";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("compaction is disabled"), std::string::npos) << e.what();
  }
}

TEST(Direct, RunTimeCompactionFromNestedCountsItsCost) {
  System sys(Approach::Nested, 64ull << 20, 0.1);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  const uint64_t buf = populate(k, a, 16);
  const uint64_t misplaced = sys.vmm->memory().misplacedCount();
  ASSERT_GT(misplaced, 4u);
  const vmm::RunCost before = sys.vmm->cost();
  sys.vmm->switchApproach(Approach::Direct);
  const vmm::RunCost spent = sys.vmm->cost() - before;
  EXPECT_EQ(spent.exits[static_cast<unsigned>(ExitReason::ModeSwitch)], 1u);
  EXPECT_GE(spent.page_moves, misplaced);  // each swap puts at least one page home
  EXPECT_GE(spent.shim_cycles, spent.page_moves * sys.vmm->config().costs.page_move);
  EXPECT_EQ(sys.vmm->memory().misplacedCount(), 0u);
  // Page contents moved with the pages: the guest's tables still work.
  for (unsigned i = 0; i < 16; ++i)
    EXPECT_EQ(k.touch(buf + i * k4K, Access::Read).hpa,
              sys.vmm->memory().hostBase() + k.residentFrame(a, buf + i * k4K));
  EXPECT_EQ(k.stats().page_faults, 16u) << "no page was lost by the move";
}

TEST(Direct, MigratedPagesAreEscapedThroughTheEpt) {
  System sys(Approach::Direct);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  const uint64_t buf = populate(k, a, 4);
  const uint64_t gpa = k.residentFrame(a, buf);
  const uint64_t spare = k.memoryBytes() - k4K;  // a free frame at the top
  sys.vmm->migratePages(gpa, spare);
  EXPECT_EQ(sys.vmm->memory().misplacedCount(), 2u);
  const uint64_t escapes = sys.backend->counter(Counter::Escapes);
  const guest::AccessOutcome out = k.touch(buf + 16, Access::Read);
  EXPECT_GT(sys.backend->counter(Counter::Escapes), escapes);
  EXPECT_EQ(out.hpa, sys.vmm->memory().hostOf(gpa + 16));
  EXPECT_NE(out.hpa, sys.vmm->memory().hostBase() + gpa + 16);
  // A second pair still fits the 4-entry filter; a third overflows it and the VMM compacts back.
  sys.vmm->migratePages(k.residentFrame(a, buf + k4K), spare - k4K);
  sys.vmm->migratePages(k.residentFrame(a, buf + 2 * k4K), spare - 2 * k4K);
  EXPECT_EQ(sys.vmm->memory().misplacedCount(), 0u);
  EXPECT_EQ(k.touch(buf + 16, Access::Read).hpa, sys.vmm->memory().hostBase() + gpa + 16);
}

TEST(Direct, BoundsCheckerStopsGuestMappingOutsideItsMemory) {
  System sys(Approach::Direct);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  k.switchTo(a);
  const uint64_t outside = k.memoryBytes() + 16 * k4K;  // past the end of guest RAM
  const uint64_t va = k.mapPhysical(a, outside, k4K, guest::prot::ReadWrite);
  try {
    k.touch(va, Access::Write);
    FAIL() << "the guest reached outside its region";
  } catch (const vmm::GuestStopped &e) {
    EXPECT_EQ(e.reason, ExitReason::Bounds);
    EXPECT_EQ(e.gpa, outside);
  }
  EXPECT_EQ(sys.backend->counter(Counter::FaultBounds), 1u);
  EXPECT_EQ(sys.vmm->cost().exits[static_cast<unsigned>(ExitReason::Bounds)], 1u);
}

TEST(Nested, GuestMappingOutsideItsMemoryIsAnEptViolation) {
  System sys(Approach::Nested);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  k.switchTo(a);
  const uint64_t va = k.mapPhysical(a, k.memoryBytes() + 8 * k4K, k4K, guest::prot::Read);
  EXPECT_THROW(k.touch(va, Access::Read), vmm::GuestStopped);
  EXPECT_EQ(sys.vmm->cost().exits[static_cast<unsigned>(ExitReason::EptViolation)], 1u);
}

TEST(VmmConfigErrors, NameWhatIsWrong) {
  vmm::ModelBackend backend;
  vmm::VmmConfig config;
  config.memory.bytes = 3 << 20;
  EXPECT_THROW(vmm::Vmm(backend, config, Approach::Nested), std::invalid_argument);
  config = vmm::VmmConfig{};
  config.memory.fragmentation = 1.5;
  EXPECT_THROW(vmm::Vmm(backend, config, Approach::Nested), std::invalid_argument);
  config = vmm::VmmConfig{};
  EXPECT_THROW(vmm::Vmm(backend, config, Approach::Native), std::invalid_argument) << "native needs host_base 0";
  EXPECT_THROW(vmm::parseApproach("paravirt"), std::invalid_argument);
}

}  // namespace
}  // namespace vmmu::testing
