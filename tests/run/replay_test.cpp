// replay_test.cpp - trace events reach the guest OS model as the activity trace_replay.h promises.
#include <gtest/gtest.h>

#include <memory>

#include "run_test_support.h"
#include "vmmu/run/trace_replay.h"
#include "vmmu/vmm/mmu_backend.h"
#include "vmmu/vmm/vmm.h"

namespace vmmu::run {
namespace {

using testing::TempFile;
using testing::writeTrace;
using trace::AccessOp;
using trace::Event;

// A guest kernel on a nested-paging VMM on the golden model.
struct Guest {
  explicit Guest(vmm::Approach approach = vmm::Approach::Nested) {
    vmm::VmmConfig config;
    config.memory.bytes = 64ull << 20;
    if (approach == vmm::Approach::Native)
      config.memory.host_base = 0;
    vmm = std::make_unique<vmm::Vmm>(backend, config, approach);
    guest::GuestConfig guest_config;
    guest_config.memory_bytes = config.memory.bytes;
    kernel = std::make_unique<guest::GuestKernel>(*vmm, guest_config);
  }
  vmm::ModelBackend backend;
  std::unique_ptr<vmm::Vmm> vmm;
  std::unique_ptr<guest::GuestKernel> kernel;
};

constexpr uint64_t kHeap = 0x4000'0000;    // a GiB-aligned trace address
constexpr uint64_t kStack = 0x1fff'0000'0000;

TEST(TraceReplay, EveryEventKindReachesTheGuest) {
  TempFile file("kinds.vmt");
  writeTrace(file.path(), {
                              Event::processCreate(1, 0, "a"),
                              Event::processCreate(2, 1, "b"),
                              Event::contextSwitch(0, 1),
                              Event::mmap(1, kHeap, 0x4000, trace::prot::Read | trace::prot::Write),
                              Event::access(0, 1, AccessOp::Write, kHeap, 8),
                              Event::access(0, 1, AccessOp::Read, kHeap + 0x1000, 8),
                              Event::access(0, 1, AccessOp::Read, kHeap + 0x1008, 8),  // same page
                              Event::access(0, 1, AccessOp::Read, kStack, 8),           // outside any mmap
                              Event::contextSwitch(0, 2),
                              Event::access(0, 2, AccessOp::Fetch, kHeap, 4),
                              Event::munmap(1, kHeap, 0x4000),
                              Event::brk(2, kHeap + 0x10000),
                              Event::pageTableWrite(0, 2, 0x3000, 0x83, 2),
                              Event::marker(0, "phase"),
                              Event::processExit(2),
                          });
  Guest g;
  auto probe = std::make_shared<ReplayProbe>();
  ReplayOptions options;
  options.path = file.path();
  TraceReplay replay(options, probe);
  const uint64_t cr3_before = g.kernel->stats().cr3_writes;
  const uint64_t faults_before = g.kernel->stats().page_faults;
  replay.run(*g.kernel, 100);  // more than the trace holds: runs to its end

  const ReplayStats &s = probe->stats;
  EXPECT_TRUE(probe->finished);
  EXPECT_EQ(s.events, 15u);
  EXPECT_EQ(s.accesses, 5u);
  EXPECT_EQ(s.processes, 2u);
  EXPECT_EQ(s.switches, 2u);
  EXPECT_EQ(s.mmaps, 1u);
  EXPECT_EQ(s.munmaps, 1u);
  EXPECT_EQ(s.brks, 1u);
  EXPECT_EQ(s.not_replayed, 2u);
  EXPECT_EQ(s.process_exits, 1u);
  EXPECT_EQ(s.refused, 0u);
  // Pages touched by pid 1: two heap pages and one stack page; the munmap reclaimed the two.
  EXPECT_EQ(s.pages_reclaimed, 2u);
  EXPECT_EQ(g.kernel->stats().page_faults - faults_before, 4u);  // 3 pages of pid 1, 1 of pid 2
  EXPECT_GE(g.kernel->stats().cr3_writes - cr3_before, 2u);
  EXPECT_FALSE(g.kernel->alive(2));  // guest pids are given in creation order: trace pid 2 is guest pid 2
}

TEST(TraceReplay, RunStopsAtTheAccessCountAndResumes) {
  TempFile file("resume.vmt");
  std::vector<Event> events;
  for (uint64_t i = 0; i < 50; ++i)
    events.push_back(Event::access(0, 1, AccessOp::Read, kHeap + i * 0x1000, 8));
  writeTrace(file.path(), events);
  Guest g;
  auto probe = std::make_shared<ReplayProbe>();
  ReplayOptions options;
  options.path = file.path();
  TraceReplay replay(options, probe);
  replay.run(*g.kernel, 20);
  EXPECT_EQ(probe->stats.accesses, 20u);
  EXPECT_FALSE(probe->finished);
  replay.run(*g.kernel, 20);
  EXPECT_EQ(probe->stats.accesses, 40u);
  replay.run(*g.kernel, 20);
  EXPECT_EQ(probe->stats.accesses, 50u);
  EXPECT_TRUE(probe->finished);
  EXPECT_EQ(probe->stats.processes, 1u);  // created on first sight
}

TEST(TraceReplay, KeepsPageLayoutInsideAGibAndSeparatesGibs) {
  TempFile file("layout.vmt");
  // Two pages 2 MiB apart in one GiB, and one page in a GiB 5 TiB away.
  writeTrace(file.path(), {
                              Event::access(0, 1, AccessOp::Read, kHeap + 0x1234, 8),
                              Event::access(0, 1, AccessOp::Read, kHeap + 0x20'0000 + 0x1234, 8),
                              Event::access(0, 1, AccessOp::Read, (5ull << 40) + 0x1234, 8),
                          });
  Guest g;
  ReplayOptions options;
  options.path = file.path();
  TraceReplay replay(options, nullptr);
  replay.run(*g.kernel, 3);
  const guest::Pid pid = g.kernel->current();
  ASSERT_NE(pid, 0u);
  EXPECT_EQ(g.kernel->residentPages(pid), 3u);
  // The arena starts at the first GiB-aligned address of the process's first mapping; slot 0 holds
  // kHeap's GiB, so the guest address of kHeap + x is arena + x.
  const uint64_t arena = (guest::GuestKernel::kUserMmapBase + TraceReplay::kSlotBytes - 1) & ~(TraceReplay::kSlotBytes - 1);
  EXPECT_NE(g.kernel->residentFrame(pid, arena + 0x1000), ~uint64_t{0});
  EXPECT_NE(g.kernel->residentFrame(pid, arena + 0x20'1000), ~uint64_t{0});
  EXPECT_NE(g.kernel->residentFrame(pid, arena + TraceReplay::kSlotBytes + 0x1000), ~uint64_t{0});
  EXPECT_EQ(g.kernel->residentFrame(pid, arena + 0x2000), ~uint64_t{0});
}

TEST(TraceReplay, MprotectReachesTheGuestAndForbiddenAccessesAreCounted) {
  TempFile file("prot.vmt");
  writeTrace(file.path(), {
                              Event::mmap(1, kHeap, 0x2000, trace::prot::Read),
                              Event::access(0, 1, AccessOp::Read, kHeap, 8),
                              Event::access(0, 1, AccessOp::Write, kHeap, 8),  // not allowed: refused
                              Event::mprotect(1, kHeap, 0x2000, trace::prot::Read | trace::prot::Write),
                              Event::access(0, 1, AccessOp::Write, kHeap, 8),  // allowed now
                          });
  Guest g;
  auto probe = std::make_shared<ReplayProbe>();
  ReplayOptions options;
  options.path = file.path();
  TraceReplay replay(options, probe);
  replay.run(*g.kernel, 3);
  EXPECT_EQ(probe->stats.refused, 1u);
  EXPECT_EQ(probe->stats.accesses, 3u);
  EXPECT_EQ(probe->stats.mprotects, 1u);
}

TEST(TraceReplay, HugeMappingsCostNothingUntilTouchedAndKeepTheirProtection) {
  TempFile file("huge.vmt");
  // 64 TiB read-only (more GiBs than the arena has slots), then accesses in two of its GiBs.
  writeTrace(file.path(), {
                              Event::mmap(1, 1ull << 40, 1ull << 46, trace::prot::Read),
                              Event::access(0, 1, AccessOp::Read, (1ull << 40) + (7ull << 30), 8),
                              Event::access(0, 1, AccessOp::Write, (1ull << 40) + (9ull << 30), 8),  // read-only
                              Event::munmap(1, (1ull << 40) + (9ull << 30), 1ull << 30),
                              Event::access(0, 1, AccessOp::Write, (1ull << 40) + (9ull << 30), 8),  // unmapped: demand-paged
                          });
  Guest g;
  auto probe = std::make_shared<ReplayProbe>();
  ReplayOptions options;
  options.path = file.path();
  TraceReplay replay(options, probe);
  replay.run(*g.kernel, 3);
  EXPECT_EQ(probe->stats.accesses, 3u);
  EXPECT_EQ(probe->stats.refused, 1u);
  EXPECT_EQ(g.kernel->residentPages(g.kernel->current()), 2u);
}

TEST(TraceReplay, KernelHalfAccessesBecomeKernelLoads) {
  TempFile file("kernel.vmt");
  writeTrace(file.path(), {
                              Event::access(0, 1, AccessOp::Read, guest::GuestKernel::kDirectMapBase + 0x20'0000, 8),
                              Event::access(0, 1, AccessOp::Read, kHeap, 8),
                          });
  EXPECT_EQ(countTrace(file.path(), UINT64_MAX).accesses, 1u);
  EXPECT_EQ(countTrace(file.path(), UINT64_MAX).events, 2u);
  EXPECT_EQ(countTrace(file.path(), 1).events, 1u);
  Guest g;
  auto probe = std::make_shared<ReplayProbe>();
  ReplayOptions options;
  options.path = file.path();
  TraceReplay replay(options, probe);
  replay.run(*g.kernel, 1);
  EXPECT_EQ(probe->stats.kernel_accesses, 1u);
  EXPECT_EQ(probe->stats.accesses, 1u);
}

TEST(TraceReplay, StopFlagEndsTheReplay) {
  TempFile file("stop.vmt");
  writeTrace(file.path(), {Event::access(0, 1, AccessOp::Read, kHeap, 8)});
  Guest g;
  volatile std::sig_atomic_t stop = 1;
  auto probe = std::make_shared<ReplayProbe>();
  ReplayOptions options;
  options.path = file.path();
  options.stop = &stop;
  TraceReplay replay(options, probe);
  replay.run(*g.kernel, 1);
  EXPECT_TRUE(probe->interrupted);
  EXPECT_EQ(probe->stats.accesses, 0u);
}

TEST(TraceReplay, MaxEventsLimitsTheReplay) {
  TempFile file("max.vmt");
  std::vector<Event> events;
  for (uint64_t i = 0; i < 10; ++i)
    events.push_back(Event::access(0, 1, AccessOp::Read, kHeap + i * 8, 8));
  writeTrace(file.path(), events);
  Guest g;
  auto probe = std::make_shared<ReplayProbe>();
  ReplayOptions options;
  options.path = file.path();
  options.max_events = 4;
  TraceReplay replay(options, probe);
  replay.run(*g.kernel, 10);
  EXPECT_EQ(probe->stats.events, 4u);
  EXPECT_TRUE(probe->finished);
}

}  // namespace
}  // namespace vmmu::run
