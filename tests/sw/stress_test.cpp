// stress_test.cpp - every workload kind, back to back, under every approach: the shadow invariant
// holds throughout (after every exit for caching and prefetching, at every step for plain), and
// the guest sees exactly the same page faults whatever the approach (no fault lost or invented by
// shadow injection, none by DIRECT or nested).
#include <gtest/gtest.h>

#include "sw_test_support.h"
#include "vmmu/guest/workload.h"

namespace vmmu::testing {
namespace {

using vmm::Approach;

std::unique_ptr<guest::PhasedWorkload> mixedWorkload() {
  std::vector<guest::PhasedWorkload::Phase> phases;
  guest::WorkloadSpec spec;
  spec.footprint_bytes = 2ull << 20;
  spec.processes = 3;
  spec.switch_every = 300;
  spec.pages_per_process = 6;
  spec.accesses_per_page = 4;
  for (const guest::WorkloadKind kind : {guest::WorkloadKind::Scan, guest::WorkloadKind::ShortProcesses,
                                         guest::WorkloadKind::RandomAccess, guest::WorkloadKind::Streaming}) {
    spec.kind = kind;
    spec.seed += 1;
    phases.push_back({spec, 1'500});
  }
  return std::make_unique<guest::PhasedWorkload>(phases);
}

struct Outcome {
  guest::GuestStats stats;
  uint64_t free_frames;
  uint64_t agile_switches;  // agile: guest tables switched to nested (so the mix exercised the switch)
};

Outcome runMixed(Approach approach, double fragmentation) {
  vmm::VmmConfig config = System::configFor(64ull << 20, approach == Approach::Native ? 0.0 : fragmentation);
  config.check_invariants_each_exit = true;
  System sys(approach, config, true);
  const auto workload = mixedWorkload();
  for (int chunk = 0; chunk < 2 * 6'000 / 250; ++chunk) {
    workload->run(*sys.kernel, 250);
    const std::vector<std::string> problems = sys.vmm->checkInvariants();
    EXPECT_TRUE(problems.empty()) << vmm::toString(approach) << " chunk " << chunk << ": " << problems.front();
    if (!problems.empty())
      break;
  }
  const uint64_t switches = sys.vmm->shadow() != nullptr ? sys.vmm->shadow()->stats().agile_switches : 0;
  return Outcome{sys.kernel->stats(), sys.kernel->freeFrames(), switches};
}

class Stress : public ::testing::TestWithParam<double> {};

TEST_P(Stress, EveryApproachKeepsItsInvariantAndTheGuestSeesTheSameFaults) {
  const double fragmentation = GetParam();
  const Outcome native = runMixed(Approach::Native, 0.0);
  EXPECT_GT(native.stats.page_faults, 0u);
  EXPECT_GT(native.stats.cow_faults, 0u) << "the mix forks and writes";
  for (const Approach approach : {Approach::Nested, Approach::ShadowPlain, Approach::ShadowCaching,
                                  Approach::ShadowPrefetch, Approach::Direct, Approach::Agile}) {
    const Outcome run = runMixed(approach, fragmentation);
    EXPECT_EQ(run.stats.page_faults, native.stats.page_faults) << vmm::toString(approach);
    EXPECT_EQ(run.stats.huge_page_faults, native.stats.huge_page_faults) << vmm::toString(approach);
    EXPECT_EQ(run.stats.cow_faults, native.stats.cow_faults) << vmm::toString(approach);
    EXPECT_EQ(run.stats.pte_writes, native.stats.pte_writes) << vmm::toString(approach);
    EXPECT_EQ(run.free_frames, native.free_frames) << vmm::toString(approach);
    if (approach == Approach::Agile) {
      EXPECT_GT(run.agile_switches, 0u);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fragmentation, Stress, ::testing::Values(0.0, 0.3));

}  // namespace
}  // namespace vmmu::testing
