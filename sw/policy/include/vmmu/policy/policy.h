// vmmu/policy/policy.h - when to use which approach: the switch-policy interface, static
// policies, and the adaptive nested <-> shadow policy of the seeds.
//
// A policy is called at the end of every interval (a fixed number of guest user accesses) with
// that interval's counters, and names the approach for the next interval. The adaptive policy
// estimates what the interval would have cost under the other approach from what it measured
// under the current one, as Wang et al. (VEE 2011) do with TLB misses and guest page faults, and
// switches with hysteresis (a margin, a patience count and a cooldown after each switch, after the
// ntua-rpms KVM patches) and only when the expected gain over a horizon pays for the switch itself.
// Its inputs are what a VMM observes online: counters, exit counts and its own past intervals.
#pragma once

#include <array>
#include <numeric>
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
  uint64_t totalExits() const { return std::accumulate(exits.begin(), exits.end(), uint64_t{0}); }
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

// Every knob of the adaptive policy, with where its default comes from.
struct AdaptiveParams {
  Approach shadow = Approach::ShadowCaching;  // the shadow variant used when shadow wins
  // Nested walk cycles per shadow walk cycle, used until a nested interval has been measured: a
  // native-depth walk with page-walk caches averages ~1.5 references against ~4.4 for a 2D walk
  // ("Every Walk's a Hit", ASPLOS 2022). Measured nested intervals replace it: there the guest
  // references alone are what a shadow (native-format) walk would make.
  double nested_walk_ratio = 4.4 / 1.5;
  // Shadow exits per guest page fault (injection, the handler's trapped PTE store) and, for the
  // caching and prefetching variants, per CR3 write (the trapped MOV CR3 alone: their tables are
  // kept). Plain shadow drops its tables on a CR3 write, so there the estimate is one refill fault
  // per walk of the interval, up to the resident set (estimateShadow).
  double exits_per_guest_fault = 2.0;
  double exits_per_cr3_write = 1.0;
  // Round trip + indirect cost + handler, taken from the shim's cost defaults so the two cannot
  // drift apart (`vmmu run`, whose default indirect cost is not the library's, sets its own). The
  // oracle (experiment.h) charges a switch into shadow this much per resident page.
  uint64_t exit_cycles =
      vmm::CostConfig{}.exit_round_trip + vmm::CostConfig{}.exit_indirect + vmm::CostConfig{}.exit_handler;
  // The shim's own work per shadow exit beyond `exit_cycles`, used until shadow intervals have
  // been measured: a software walk of the guest's four levels, one shadow-entry write and, in a
  // sparse address space, one shadow-table allocation (CostConfig: 4 x 20 + 10 + 300). Measured
  // per-exit costs replace it (about 1,800 to 2,400 cycles in all on the generated traces).
  uint64_t exit_work_cycles = 4 * vmm::CostConfig{}.guest_entry_read + vmm::CostConfig{}.shadow_entry_write +
                              vmm::CostConfig{}.shadow_table_alloc;
  // A switch costs a mode-switch exit, flushes and table drops (this), plus, into shadow, one
  // refill fault per page of the working set (estimated from the guest's page faults so far).
  uint64_t switch_base_cycles = 20'000;
  double margin = 0.15;                // the other approach must be this much cheaper
  unsigned patience = 2;               // for this many intervals in a row (into shadow)
  unsigned patience_leave_shadow = 1;  // exits are an unambiguous signal: leave shadow sooner
  unsigned cooldown = 2;               // intervals after a switch with no new switch
  // Intervals over which a switch must pay for itself: how long the policy expects the behaviour
  // it measured to last. Into shadow a switch costs a refill fault per resident page, which takes
  // 25-75 intervals of the steady-state gain to earn back on `worst`, on `random` and on 4-process
  // `random` over a 4K EPT (docs/results.md); the old 8 (80,000 accesses) could never pay for it.
  // 100 intervals is 1,000,000 guest accesses, about a millisecond of a real CPU, while the
  // ntua-rpms KVM patches (references.md) sample once a second and hold a mode for two: they
  // assume a mode lasts 1,000 times longer. If the behaviour ends sooner, the loss is bounded: the
  // margin and patience filter blips, and a shadow mode that stops paying is left one interval
  // after the cooldown (its refill budget can hide at most the switch's own cost again).
  // docs/results.md gives the adaptive column at horizons 8, 25, 50, 100 and 200.
  unsigned horizon = 100;
};

// Nested <-> shadow on estimates of the interval just measured under the other approach (Wang et
// al. VEE 2011's signals: TLB misses and walk cost against guest page faults, CR3 writes and
// exits), with hysteresis.
//
// Two things keep a justified switch from being undone by its own warm-up: the refill faults that
// rebuild the shadow tables after a switch were already charged to the switch, so they are taken
// out of the shadow intervals' cost until that budget is spent (`refill_credit_`); and the cost of
// an exit is learned from the shadow intervals measured, not assumed.
class AdaptivePolicy final : public SwitchPolicy {
public:
  // Throws std::invalid_argument naming the bad parameter.
  explicit AdaptivePolicy(const AdaptiveParams &params = AdaptiveParams{});
  std::string name() const override { return "adaptive"; }
  Approach initial() const override { return Approach::Nested; }
  Approach decide(const IntervalCounters &interval) override;

  // The cost of `interval`'s translation and virtualization under nested and under shadow:
  // measured for the approach in force (for shadow, less the refill faults the switch paid for),
  // estimated for the other.
  uint64_t estimateNested(const IntervalCounters &interval) const;
  uint64_t estimateShadow(const IntervalCounters &interval) const;
  uint64_t switchCost(bool to_shadow) const;
  // Cycles of one shadow exit (round trip and the shim's work): measured once shadow ran.
  double cyclesPerExit() const;
  const AdaptiveParams &params() const { return params_; }

private:
  // Refill faults of `interval` still covered by the switch's budget.
  uint64_t refillExits(const IntervalCounters &interval) const;

  AdaptiveParams params_;
  double nested_walk_ratio_;          // learned from nested intervals
  uint64_t working_set_pages_ = 0;    // guest page faults so far: a proxy for the resident set
  uint64_t measured_exits_ = 0;       // shadow exits seen, and their cycles (exit + shim)
  uint64_t measured_exit_cycles_ = 0;
  uint64_t refill_credit_ = 0;        // refill faults the last switch into shadow paid for
  unsigned streak_ = 0;
  unsigned cooldown_left_ = 0;
};

}  // namespace vmmu::policy
