// guest_direct_test.cpp - the guest kernel's direct segment (docs/architecture.md §18.9) under
// guest-direct and dual-direct: which region gets it, what a touch inside it costs, how it reaches
// the MMU on each context switch (no exit, no control command) and what dissolves it.
#include <gtest/gtest.h>

#include "sw_test_support.h"

namespace vmmu::testing {
namespace {

using guest::Pid;
using vmm::Approach;
constexpr uint64_t k4K = 4096, k2M = 2ull << 20;

struct Counts {
  uint64_t guest_reads, nested_reads, walks;
};
Counts counts(vmm::ModelBackend &backend) {
  return {backend.counter(Counter::GuestReads), backend.counter(Counter::NestedReads),
          backend.counter(Counter::Walks)};
}

// A process with an 8 MiB read-write mapping given the segment; returns its start.
uint64_t segmentProcess(guest::GuestKernel &k, Pid pid) {
  k.switchTo(pid);
  const uint64_t buf = k.mmap(pid, 8 * k2M / 2, guest::prot::ReadWrite, true);
  EXPECT_EQ(buf % k2M, 0u);
  EXPECT_EQ(k.giveSegment(pid, buf, 4 * k2M), 4 * k2M);
  return buf;
}

TEST(GuestDirectShim, SegmentTouchesWalkOnlyTheEptAndNeverFault) {
  System sys(Approach::GuestDirect);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  const uint64_t buf = segmentProcess(k, a);
  const guest::GuestKernel::SegmentView seg = k.segmentOf(a);
  EXPECT_EQ(seg.start, buf);
  EXPECT_EQ(seg.end, buf + 4 * k2M);
  EXPECT_EQ(seg.gpa % k2M, 0u);
  const uint64_t faults = k.stats().page_faults;
  sys.backend->mmu().invAll();  // every cache cold, the nested TLB too
  const Counts before = counts(*sys.backend);
  const guest::AccessOutcome out = k.touch(buf + 3 * k2M + 0x1238, Access::Write);
  const Counts after = counts(*sys.backend);
  EXPECT_FALSE(out.faulted);
  EXPECT_EQ(out.hpa, sys.vmm->memory().hostOf(seg.gpa + 3 * k2M + 0x1238));
  EXPECT_EQ(after.guest_reads - before.guest_reads, 0u);
  // One EPT row, cold: the VMM maps intact 2 MiB chunks with 2 MiB leaves (§16), so L4, L3, L2.
  EXPECT_EQ(after.nested_reads - before.nested_reads, 3u);
  EXPECT_EQ(after.walks - before.walks, 1u);
  EXPECT_EQ(k.stats().page_faults, faults);  // never demand-paged
  EXPECT_EQ(k.residentPages(a), 0u);
}

TEST(DualDirectShim, SegmentTouchesCostNoReference) {
  System sys(Approach::DualDirect);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  const uint64_t buf = segmentProcess(k, a);
  const uint64_t gpa = k.segmentOf(a).gpa;
  sys.backend->mmu().invAll();
  const Counts before = counts(*sys.backend);
  EXPECT_EQ(k.touch(buf + 0x5010, Access::Read).hpa, sys.vmm->memory().hostBase() + gpa + 0x5010);
  const Counts after = counts(*sys.backend);
  EXPECT_EQ(after.guest_reads + after.nested_reads - before.guest_reads - before.nested_reads, 0u);
  EXPECT_EQ(after.walks - before.walks, 1u);
  // Outside the segment, the DIRECT walk: a fresh 4K mapping demand-faults, then reads 4 guest
  // levels cold.
  const uint64_t other = k.mmap(a, k4K, guest::prot::ReadWrite, false);
  k.touch(other, Access::Write);
  sys.backend->mmu().invAll();
  const Counts outside = counts(*sys.backend);
  k.touch(other, Access::Read);
  EXPECT_EQ(counts(*sys.backend).guest_reads - outside.guest_reads, 4u);
  EXPECT_EQ(counts(*sys.backend).nested_reads - outside.nested_reads, 0u);
}

TEST(GuestDirectShim, ContextSwitchLoadsEachProcesssSegmentWithoutAnExit) {
  System sys(Approach::DualDirect);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn(), b = k.spawn();
  const uint64_t buf = segmentProcess(k, a);
  const uint64_t gpa = k.segmentOf(a).gpa;
  Mmu &mmu = sys.backend->mmu();
  const auto segmentRegs = [&] {
    return std::array<uint64_t, 3>{mmu.readReg(0, CtxReg::GsegBase), mmu.readReg(0, CtxReg::GsegLimit),
                                   mmu.readReg(0, CtxReg::GsegOffset)};
  };
  const std::array<uint64_t, 3> a_regs{buf | gseg::RW | gseg::US, buf + 4 * k2M, gpa - buf};
  EXPECT_EQ(segmentRegs(), a_regs);
  const uint64_t exits = sys.vmm->cost().totalExits(), commands = sys.vmm->cost().control_commands;
  k.switchTo(b);
  EXPECT_EQ(segmentRegs(), (std::array<uint64_t, 3>{0, 0, 0}));
  k.switchTo(a);
  EXPECT_EQ(segmentRegs(), a_regs);
  EXPECT_EQ(sys.vmm->cost().totalExits(), exits);  // saved state, as CR3 under EPT (§18.5)
  EXPECT_EQ(sys.vmm->cost().control_commands, commands);
  // b's own accesses at a's segment addresses are its own: a fault (nothing is mapped there).
  k.switchTo(b);
  EXPECT_THROW(k.touch(buf, Access::Read), guest::SegmentationFault);
}

// The segment grants the mapping's own rights (§18.1): a read-only mapping's GSEG_BASE carries US
// alone, a read-execute one US and X, never RW.
TEST(GuestDirectShim, TheSegmentGrantsTheMappingsRights) {
  for (const unsigned prot : {guest::prot::Read, guest::prot::Read | guest::prot::Exec}) {
    System sys(Approach::GuestDirect);
    guest::GuestKernel &k = *sys.kernel;
    const Pid a = k.spawn();
    k.switchTo(a);
    const uint64_t buf = k.mmap(a, 4 * k2M, prot, true);
    ASSERT_EQ(k.giveSegment(a, buf, 4 * k2M), 4 * k2M) << prot;
    const uint64_t rights = (prot & guest::prot::Exec) != 0 ? gseg::US | gseg::X : gseg::US;
    EXPECT_EQ(sys.backend->mmu().readReg(0, CtxReg::GsegBase), buf | rights) << prot;
  }
}

TEST(GuestDirectShim, MunmapDissolvesTheSegmentAndFreesItsFrames) {
  System sys(Approach::GuestDirect);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  k.switchTo(a);
  const uint64_t free_before = k.freeFrames();
  const uint64_t buf = segmentProcess(k, a);
  EXPECT_EQ(k.freeFrames(), free_before - 4 * 512);
  const uint64_t invpcids = sys.backend->counter(Counter::InvPcid);
  k.munmap(a, buf, 4 * k2M);
  EXPECT_EQ(k.segmentOf(a).end, 0u);
  EXPECT_EQ(k.freeFrames(), free_before);
  EXPECT_EQ(sys.backend->mmu().readReg(0, CtxReg::GsegLimit), 0u);
  EXPECT_EQ(sys.backend->counter(Counter::InvPcid), invpcids + 1);  // its translations dropped
  EXPECT_EQ(k.stats().segments_dissolved, 1u);
}

TEST(DualDirectShim, FragmentedVmIsCompactedAsForDirect) {
  System sys(Approach::DualDirect, 64ull << 20, 0.05);
  EXPECT_EQ(sys.vmm->memory().misplacedCount(), 0u);
  EXPECT_GT(sys.vmm->cost().page_moves, 0u);
  EXPECT_EQ(sys.backend->mmu().readReg(0, CtxReg::Mode), static_cast<uint64_t>(Mode::DualDirect));
  EXPECT_EQ(sys.backend->mmu().readReg(0, CtxReg::GBase), sys.vmm->memory().hostBase());
}

TEST(GuestDirectShim, LazyHostPagesFaultInOnTheSegmentsFirstTouch) {
  vmm::VmmConfig config = System::configFor(64ull << 20, 0.0);
  config.memory.lazy = true;
  System sys(Approach::GuestDirect, config, true);
  guest::GuestKernel &k = *sys.kernel;
  const Pid a = k.spawn();
  const uint64_t buf = segmentProcess(k, a);
  const auto violations = [&] { return sys.vmm->cost().exits[static_cast<unsigned>(vmm::ExitReason::EptViolation)]; };
  const uint64_t before = violations(), backed = sys.vmm->cost().host_pages_backed;
  k.touch(buf + 0x10, Access::Write);  // the EPT has no leaf for the segment's gPA yet
  EXPECT_EQ(violations(), before + 1);
  EXPECT_GT(sys.vmm->cost().host_pages_backed, backed);
  k.touch(buf + 0x1010, Access::Write);  // the same 2 MiB host page: no exit
  EXPECT_EQ(violations(), before + 1);
}

TEST(GuestDirectShim, OnlyTheSegmentModesHaveTheHardware) {
  for (const Approach approach : {Approach::Nested, Approach::Direct, Approach::ShadowCaching}) {
    System sys(approach);
    guest::GuestKernel &k = *sys.kernel;
    const Pid a = k.spawn();
    k.switchTo(a);
    const uint64_t buf = k.mmap(a, 4 * k2M, guest::prot::ReadWrite, true);
    EXPECT_EQ(k.giveSegment(a, buf, 4 * k2M), 0u) << vmm::toString(approach);
  }
  System sys(Approach::GuestDirect);
  EXPECT_THROW(sys.vmm->switchApproach(Approach::Nested), std::invalid_argument);
}

}  // namespace
}  // namespace vmmu::testing
