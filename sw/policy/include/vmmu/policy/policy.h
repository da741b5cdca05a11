// vmmu/policy/policy.h - when to use which approach: the switch-policy interface, static
// policies, and the adaptive nested <-> shadow policy of the seeds.
//
// A policy is called at the end of every interval (a fixed number of guest user accesses) with
// that interval's counters, and names the approach for the next interval. The adaptive policy
// estimates what the interval would have cost under the other approach from what it measured
// under the current one, as Wang et al. (VEE 2011) do with TLB misses and guest page faults, and
// switches with hysteresis (a margin, a patience count and a cooldown after each switch, after the
// ntua-rpms KVM patches) and only when the expected gain pays for the switch itself.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "vmmu/vmm/costs.h"
#include "vmmu/vmm/vmm.h"

namespace vmmu::policy {

using vmm::Approach;

// What the VMM can observe about one interval.
struct IntervalCounters {
  uint64_t index = 0;
  Approach approach = Approach::Nested;  // in force during the interval
  uint64_t accesses = 0;                 // guest accesses (user and kernel)
  uint64_t tlb_misses = 0;               // §14 TLB_MISSES
  uint64_t walks = 0;
  uint64_t guest_references = 0;         // §14 GUEST_READS
  uint64_t nested_references = 0;        // §14 NESTED_READS
  uint64_t walk_cycles = 0;              // §14 WALK_CYCLES
  // #PF the guest handled. Under nested paging a real VMM learns this from a PMU event or a
  // paravirtual counter (no exit happens); vmmu counts it where the fault is delivered.
  uint64_t guest_page_faults = 0;
  uint64_t cr3_writes = 0;
  std::array<uint64_t, vmm::kNumExitReasons> exits{};
  uint64_t translation_cycles = 0;
  uint64_t exit_cycles = 0;
  uint64_t shim_cycles = 0;
  uint64_t total_cycles = 0;
  uint64_t virtualizationCycles() const { return translation_cycles + exit_cycles + shim_cycles; }
};

class SwitchPolicy {
public:
  virtual ~SwitchPolicy() = default;
  virtual std::string name() const = 0;
  virtual Approach initial() const = 0;
  // The approach for the next interval.
  virtual Approach decide(const IntervalCounters &interval) = 0;
};

// Always the same approach. Direct falls back to nested when the runner finds it impossible.
std::unique_ptr<SwitchPolicy> makeStaticPolicy(Approach approach);

struct AdaptiveParams {
  Approach shadow = Approach::ShadowCaching;  // the shadow variant used when shadow wins
  // Nested walk cycles per shadow walk cycle, used until a nested interval has been measured: a
  // native-depth walk with page-walk caches averages ~1.5 references against ~4.4 for a 2D walk
  // ("Every Walk's a Hit", ASPLOS 2022). Measured nested intervals replace it: there the guest
  // references alone are what a shadow (native-format) walk would make.
  double nested_walk_ratio = 4.4 / 1.5;
  // Shadow exits per guest page fault (injection, the handler's trapped PTE store) and per CR3 write.
  double exits_per_guest_fault = 2.0;
  double exits_per_cr3_write = 1.0;
  // Round trip + handler, taken from the shim's cost defaults so the two cannot drift apart.
  uint64_t exit_cycles = vmm::CostConfig{}.exit_round_trip + vmm::CostConfig{}.exit_handler;
  // A switch costs a mode-switch exit, flushes and table drops (this), plus, into shadow, one
  // shadow fault per page of the working set (estimated from the guest's page faults so far).
  uint64_t switch_base_cycles = 20'000;
  double margin = 0.15;                // the other approach must be this much cheaper
  unsigned patience = 2;               // for this many intervals in a row (into shadow)
  unsigned patience_leave_shadow = 1;  // exits are an unambiguous signal: leave shadow sooner
  unsigned cooldown = 2;               // intervals after a switch with no new switch
  unsigned horizon = 8;                // intervals over which a switch must pay for itself
};

class AdaptivePolicy final : public SwitchPolicy {
public:
  // Throws std::invalid_argument naming the bad parameter.
  explicit AdaptivePolicy(const AdaptiveParams &params = AdaptiveParams{});
  std::string name() const override { return "adaptive"; }
  Approach initial() const override { return Approach::Nested; }
  Approach decide(const IntervalCounters &interval) override;

  // The cost of `interval`'s translation and virtualization under nested and under shadow:
  // measured for the approach in force, estimated for the other.
  uint64_t estimateNested(const IntervalCounters &interval) const;
  uint64_t estimateShadow(const IntervalCounters &interval) const;
  uint64_t switchCost(bool to_shadow) const;
  const AdaptiveParams &params() const { return params_; }

private:
  AdaptiveParams params_;
  double nested_walk_ratio_;      // learned from nested intervals
  uint64_t working_set_pages_ = 0;  // guest page faults so far: a proxy for the resident set
  unsigned streak_ = 0;
  unsigned cooldown_left_ = 0;
};

}  // namespace vmmu::policy
