// vmmu/policy/experiment.h - runs the same guest activity under every approach and a switch
// policy, computes the oracle, and reports.
//
// Each run builds a fresh MMU (golden model), VMM and guest kernel, replays a deterministic
// workload interval by interval, and asks its policy after each interval. Because the workload is
// deterministic, interval i is the same guest activity in every run; the oracle picks, with
// hindsight, the cheapest approach per interval (paying a switch cost per change), which bounds
// what any policy choosing among the same approaches could reach.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vmmu/config.h"
#include "vmmu/guest/guest_kernel.h"
#include "vmmu/guest/workload.h"
#include "vmmu/policy/policy.h"
#include "vmmu/vmm/mmu_backend.h"
#include "vmmu/vmm/vmm.h"

namespace vmmu::policy {

struct ExperimentConfig {
  std::function<std::unique_ptr<guest::Workload>()> make_workload;
  uint64_t accesses = 200'000;    // guest user accesses in the run
  uint64_t interval = 10'000;     // user accesses per policy interval
  vmm::VmmConfig vmm;             // the VM (memory size also sizes the guest)
  guest::GuestConfig guest;       // memory_bytes is taken from vmm.memory.bytes
  MmuConfig mmu;
  uint64_t cycles_per_ref = 30;   // walk reference latency (§12 c)
  // Builds the MMU backend for each run; empty means vmm::ModelBackend (the golden model). The
  // RTL backend plugs in here, so the same experiment runs on either.
  std::function<std::unique_ptr<vmm::MmuBackend>(const MmuConfig &, uint64_t cycles_per_ref)> make_backend;
  // Empty when valid, else one line naming the bad field.
  std::string validate() const;
};

struct RunResult {
  std::string policy;
  std::vector<IntervalCounters> intervals;
  vmm::RunCost cost;
  std::array<uint64_t, kNumCounters> counters{};  // MMU counters at the end of the run
  bool stopped = false;                           // the VMM stopped the guest
  std::string stop_reason;
  bool direct_fell_back = false;                  // direct was impossible: ran nested

  uint64_t cycles() const { return cost.totalCycles(); }
  double tlbMissesPerKiloAccess() const;
  double referencesPerWalk() const;
  // One letter per interval for the approach in force (n nested, s/c/p shadow variants, d direct).
  std::string modeTimeline() const;
};

RunResult runPolicy(const ExperimentConfig &config, SwitchPolicy &policy);

struct OracleResult {
  uint64_t cycles = 0;
  std::vector<Approach> schedule;
};
// What changing from run `from` to run `to` before interval `interval` costs.
using SwitchCost = std::function<uint64_t(size_t interval, size_t from, size_t to)>;
// The cheapest per-interval schedule over the runs given (static runs of the same activity),
// paying `switch_cost` per change of approach.
OracleResult computeOracle(const std::vector<const RunResult *> &static_runs, const SwitchCost &switch_cost);

struct Report {
  std::string workload;
  uint64_t accesses = 0;
  uint64_t interval = 0;
  std::vector<RunResult> runs;  // native, nested, the shadow variants, direct, adaptive
  // Over nested and the adaptive policy's shadow variant, charging switches as the adaptive
  // policy estimates them (into shadow: one shadow fault per page the guest has faulted in).
  OracleResult oracle;
  std::string oracle_shadow;    // that shadow variant's name
  // Over every approach but native (into direct also paying the compaction the direct run paid):
  // the best any policy could do with hindsight.
  OracleResult oracle_all;
  const RunResult *find(std::string_view policy) const;
};

Report runComparison(const ExperimentConfig &config, const AdaptiveParams &adaptive = AdaptiveParams{});
std::string formatReport(const Report &report);

}  // namespace vmmu::policy
