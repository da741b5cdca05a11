// workload_test.cpp - the synthetic guest workloads step by step on tiny sizes, with the page
// faults, copy-on-write faults, processes and resident pages each must leave, counted by hand.
#include <gtest/gtest.h>

#include "sw_test_support.h"
#include "vmmu/guest/workload.h"

namespace vmmu::testing {
namespace {

using guest::WorkloadKind;
using guest::WorkloadSpec;
using vmm::Approach;
constexpr uint64_t k4K = 4096, k2M = 2ull << 20;

WorkloadSpec readsOnly(WorkloadKind kind, uint64_t footprint) {
  WorkloadSpec spec;
  spec.kind = kind;
  spec.footprint_bytes = footprint;
  spec.write_fraction = 0.0;
  spec.huge_pages = false;
  return spec;
}

TEST(Workloads, ShortProcessesForkTouchAndExit) {
  System sys(Approach::Nested);
  guest::GuestKernel &k = *sys.kernel;
  WorkloadSpec spec = readsOnly(WorkloadKind::ShortProcesses, k4K);
  spec.pages_per_process = 3;
  spec.accesses_per_page = 2;
  const auto workload = guest::makeWorkload(spec);
  // The shell (pid 1) faults its 4 heap pages in; child 2 forks, the shell's store to its heap
  // copies a page (COW), the child reads pages 0, 0, 1: 2 demand faults.
  workload->run(k, 3);
  EXPECT_EQ(k.stats().page_faults, 4u + 1 + 2);
  EXPECT_EQ(k.stats().cow_faults, 1u);
  EXPECT_TRUE(k.alive(2));
  EXPECT_EQ(k.residentPages(2), 2u) << "exec dropped the shared heap";
  // Pages 1, 2, 2: one more fault; the child's 6 accesses are done and it exits. Then child 3:
  // another COW store by the shell and 3 pages over 6 accesses.
  workload->run(k, 3 + 6);
  EXPECT_EQ(k.stats().page_faults, 4u + 1 + 3 + 1 + 3);
  EXPECT_EQ(k.stats().cow_faults, 2u);
  EXPECT_FALSE(k.alive(2));
  EXPECT_FALSE(k.alive(3));
  EXPECT_TRUE(k.alive(1));
  EXPECT_EQ(k.residentPages(1), 4u);
  EXPECT_EQ(workload->describe(), "short-processes");
}

// A shell that died (here: made to exit between two calls) is replaced by a new one, which faults
// its own 4 heap pages in before the running child goes on.
TEST(Workloads, ShortProcessesSpawnsANewShellWhenItsShellDied) {
  System sys(Approach::Nested);
  guest::GuestKernel &k = *sys.kernel;
  WorkloadSpec spec = readsOnly(WorkloadKind::ShortProcesses, k4K);
  spec.pages_per_process = 3;
  spec.accesses_per_page = 2;
  const auto workload = guest::makeWorkload(spec);
  workload->run(k, 3);  // shell 1, child 2 half done (as in ShortProcessesForkTouchAndExit)
  k.exit(1);
  ASSERT_FALSE(k.alive(1));
  workload->run(k, 3);  // a new shell (pid 3); child 2 finishes its 6 accesses
  EXPECT_TRUE(k.alive(3));
  EXPECT_EQ(k.residentPages(3), 4u);
  EXPECT_FALSE(k.alive(2));
}

TEST(Workloads, ScanVisitsANewPageEachAccessAndSwitchesRoundRobin) {
  System sys(Approach::Nested);
  guest::GuestKernel &k = *sys.kernel;
  WorkloadSpec spec = readsOnly(WorkloadKind::Scan, 4 * k4K);
  spec.processes = 2;
  spec.switch_every = 3;
  const auto workload = guest::makeWorkload(spec);
  // Strides of 4 KiB + 64 over 16 KiB: offsets 0, 4160, 8320 | 12480, 256, 4416 (pages 0 1 2 |
  // 3 0 1). Process 1 runs 3, process 2 runs 3: 6 faults.
  const uint64_t cr3_writes = k.stats().cr3_writes;
  workload->run(k, 6);
  EXPECT_EQ(k.stats().page_faults, 6u);
  EXPECT_EQ(k.residentPages(1), 3u);
  EXPECT_EQ(k.residentPages(2), 3u);
  // Process 1's second turn: page 3 is new, pages 0 and 1 are resident.
  workload->run(k, 3);
  EXPECT_EQ(k.stats().page_faults, 7u);
  EXPECT_EQ(k.residentPages(1), 4u);
  EXPECT_EQ(k.stats().cr3_writes - cr3_writes, 3u) << "to 1, to 2, to 1";
  // A run of one access, right after a switch: process 2's offset 12480 (page 3, new).
  workload->run(k, 1);
  EXPECT_EQ(k.stats().page_faults, 8u);
  EXPECT_EQ(k.residentPages(2), 4u);
  EXPECT_EQ(workload->describe(), "scan");
}

TEST(Workloads, StreamingWalksLineByLineAndWraps) {
  System sys(Approach::Nested);
  guest::GuestKernel &k = *sys.kernel;
  const auto workload = guest::makeWorkload(readsOnly(WorkloadKind::Streaming, 2 * k4K));
  // 64 lines a page: 64 accesses stay in page 0, the 65th is page 1's first.
  workload->run(k, 64);
  EXPECT_EQ(k.stats().page_faults, 1u);
  workload->run(k, 1);
  EXPECT_EQ(k.stats().page_faults, 2u);
  workload->run(k, 200);  // wraps around the two pages: no new fault
  EXPECT_EQ(k.stats().page_faults, 2u);
  EXPECT_EQ(k.residentPages(1), 2u);
  WorkloadSpec huge = readsOnly(WorkloadKind::Streaming, k2M);
  huge.huge_pages = true;
  const auto huge_workload = guest::makeWorkload(huge);
  huge_workload->run(k, 100);
  EXPECT_EQ(k.stats().huge_page_faults, 1u) << "one 2 MiB page for the whole buffer";
}

TEST(Workloads, RandomAccessTouchesEveryPageOfItsBuffer) {
  System sys(Approach::Nested);
  guest::GuestKernel &k = *sys.kernel;
  const auto workload = guest::makeWorkload(readsOnly(WorkloadKind::RandomAccess, 4 * k4K));
  workload->run(k, 1'000);
  EXPECT_EQ(k.stats().page_faults, 4u);
  EXPECT_EQ(k.residentPages(1), 4u);
  EXPECT_EQ(workload->describe(), "random-access");
}

TEST(Workloads, PhasesTakeTurnsAndRepeat) {
  System sys(Approach::Nested);
  guest::GuestKernel &k = *sys.kernel;
  guest::PhasedWorkload phased({{readsOnly(WorkloadKind::Streaming, 2 * k4K), 64},
                                {readsOnly(WorkloadKind::RandomAccess, 4 * k4K), 1'000}});
  EXPECT_EQ(phased.totalAccesses(), 1'064u);
  phased.run(k, 64);  // streaming: page 0 only
  EXPECT_EQ(k.stats().page_faults, 1u);
  phased.run(k, 1'000);  // random: its own process, 4 pages
  EXPECT_EQ(k.stats().page_faults, 5u);
  phased.run(k, 1);  // streaming again, where it stopped: page 1
  EXPECT_EQ(k.stats().page_faults, 6u);
}

// Three phases take turns in order, then the first comes back: each phase's process is its own
// (pids 1, 2 and 3 in the order the phases first run), each resident page one fault.
TEST(Workloads, ThreePhasesTakeTurnsInOrder) {
  System sys(Approach::Nested);
  guest::GuestKernel &k = *sys.kernel;
  guest::PhasedWorkload phased({{readsOnly(WorkloadKind::Streaming, 2 * k4K), 64},
                                {readsOnly(WorkloadKind::RandomAccess, 4 * k4K), 1'000},
                                {readsOnly(WorkloadKind::Streaming, 8 * k4K), 128}});
  phased.run(k, 64 + 1'000 + 128);
  EXPECT_EQ(k.residentPages(1), 1u) << "the first streaming phase: 64 lines, page 0";
  EXPECT_EQ(k.residentPages(2), 4u) << "the random phase";
  EXPECT_EQ(k.residentPages(3), 2u) << "the second streaming phase: 128 lines, pages 0 and 1";
  phased.run(k, 64);  // the first phase again, where it stopped: page 1
  EXPECT_EQ(k.residentPages(1), 2u);
  EXPECT_EQ(k.stats().page_faults, 1u + 4 + 2 + 1);
}

TEST(Workloads, NamesAndBadSpecs) {
  for (const WorkloadKind kind :
       {WorkloadKind::RandomAccess, WorkloadKind::Streaming, WorkloadKind::ShortProcesses, WorkloadKind::Scan})
    EXPECT_EQ(guest::parseWorkloadKind(guest::toString(kind)), kind);
  EXPECT_EQ(guest::toString(WorkloadKind::ShortProcesses), "short-procs");
  EXPECT_THROW(guest::parseWorkloadKind("Random"), std::invalid_argument);
  WorkloadSpec spec;
  spec.footprint_bytes = 0;
  EXPECT_THROW(guest::makeWorkload(spec), std::invalid_argument);
  spec = WorkloadSpec{};
  spec.write_fraction = 1.5;
  EXPECT_THROW(guest::makeWorkload(spec), std::invalid_argument);
  spec.write_fraction = 1.0;
  EXPECT_NO_THROW(guest::makeWorkload(spec));
  spec.kind = WorkloadKind::Scan;
  spec.processes = 0;
  EXPECT_THROW(guest::makeWorkload(spec), std::invalid_argument);
  spec = WorkloadSpec{};
  spec.kind = WorkloadKind::ShortProcesses;
  spec.accesses_per_page = 0;
  EXPECT_THROW(guest::makeWorkload(spec), std::invalid_argument);
}

}  // namespace
}  // namespace vmmu::testing
