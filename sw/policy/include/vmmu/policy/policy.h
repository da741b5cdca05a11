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
  // §14 NTLB_HITS + NTLB_MISSES: the gPAs the walks translated through the EPT, each of which took
  // an XLATE and an ANSWER cycle (§12; under nested, every gPA a walk translates).
  uint64_t nested_lookups = 0;
  // #PF the guest handled. Under nested paging a real VMM learns this from a PMU event or a
  // paravirtual counter (no exit happens); vmmu counts it where the fault is delivered.
  uint64_t guest_page_faults = 0;
  uint64_t cr3_writes = 0;
  std::array<uint64_t, vmm::kNumExitReasons> exits{};
  uint64_t translation_cycles = 0;
  uint64_t exit_cycles = 0;
  uint64_t shim_cycles = 0;
  // Host pages backed on first touch (lazy host allocation, §16) and the part of shim_cycles that
  // backing them took: work every approach pays for the same pages, which the VMM knows it did.
  uint64_t host_backings = 0;
  uint64_t host_backing_cycles = 0;
  // At the interval's end: the guest's memory in use (4 KiB pages; what a balloon driver's
  // statistics report as total minus free) and its live page-table pages (what walking the
  // guest's tables from its roots finds). 0 when unknown.
  uint64_t guest_used_pages = 0;
  uint64_t guest_table_pages = 0;
  uint64_t total_cycles = 0;  // the interval's run time
  // The guest segment (§16, `--policy-modes`): the walks whose VA lay inside the running process's
  // segment and their walk cycles (vmm::RunCost::segment_walks); at the interval's end, the
  // running process's segment (bytes, 0: none; saved guest state the VMM reads), whether the VM
  // could enter DUAL_DIRECT (vmm::Vmm::canEnterDirect) and what entering it would cost now
  // (vmm::Vmm::directEntryCycles).
  uint64_t segment_walks = 0;
  uint64_t segment_walk_cycles = 0;
  uint64_t guest_segment_bytes = 0;
  bool direct_possible = false;
  uint64_t direct_entry_cycles = 0;
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
  // Whether the VM it runs must offer the guest segment in every mode (vmm::VmmConfig::
  // guest_segment), because the policy may switch into GuestDirect or DualDirect (§16).
  virtual bool offersGuestSegment() const { return false; }
};

// Always the same approach. Direct falls back to nested when the runner finds it impossible.
std::unique_ptr<SwitchPolicy> makeStaticPolicy(Approach approach);

// Every knob of the adaptive policy, with where its default comes from.
struct AdaptiveParams {
  // Pick the shadow variant at each switch into shadow, caching or prefetching, by which gains
  // more over the horizon net of its rebuild (the default, `vmmu run --policy adaptive`); false
  // always uses `shadow` (`--policy adaptive-shadow`, `adaptive-shadow-prefetch`).
  bool choose_shadow = true;
  // The shadow variant used when choose_shadow is false, and the one the nested <-> shadow oracle
  // (experiment.h) prices either way.
  Approach shadow = Approach::ShadowCaching;
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
  // What a prefetching shadow fault does beyond a caching one: it scans the other 511 entries of
  // the guest table (CostConfig prefetch_entry_read each), and writes one shadow entry per page it
  // prefetches (shadow_entry_write). Exits measured under the prefetching variant are pooled with
  // the others less the scan, so one measured price serves both variants.
  uint64_t prefetch_scan_cycles = 511 * vmm::CostConfig{}.prefetch_entry_read;
  uint64_t prefetch_install_cycles = vmm::CostConfig{}.shadow_entry_write;
  // A switch costs a mode-switch exit, flushes and table drops (this), plus, into shadow, the
  // rebuild of the shadow tables (rebuildFaults: one refill fault per resident page, or per guest
  // table page for the prefetching variant).
  uint64_t switch_base_cycles = 20'000;
  double margin = 0.15;                // the other approach must be this much cheaper
  // Into shadow, the estimated gain must also be this fraction of the interval's run time. Below
  // it the gain is within the estimate's error (a guest reference priced at the walk's average
  // can put shadow's gain at twice what it is, docs/results.md) and does not cover the risk a
  // switch takes: a later burst of guest page faults costs shadow two exits per fault where
  // nested takes none (on 4-process `random` over a 4 KiB EPT, 2.5% of run time gained while
  // settled, 20M cycles lost to each new process's first touches under shadow).
  double min_gain_fraction = 0.05;
  unsigned patience = 2;               // for this many intervals in a row (into shadow)
  unsigned patience_leave_shadow = 1;  // exits are an unambiguous signal: leave shadow sooner
  unsigned cooldown = 2;               // intervals after a switch with no new switch
  // How long a switch has to pay for itself, as a multiple of the run time elapsed so far: a run
  // that has gone on for T cycles is expected to go on for horizon_factor x T more. That is the
  // rule process lifetimes follow (Harchol-Balter and Downey, ACM TOCS 1997: a process that has
  // run T seconds has about even odds of running T more), and it needs nothing the VMM does not
  // know: the run time so far, the refills priced at the exits measured so far. If the run ends
  // right after a switch, the loss is that switch's cost. A fixed number of intervals does not
  // scale: the 100 intervals of before (1,000,000 accesses) were a whole generated trace and half
  // a recorded one, and no switch could pay back in 8 (docs/results.md). Early in a run the horizon is short, so
  // the first touches (where shadow's refills and exits are dearest) never start a switch; after
  // a long build phase it is long, so a random phase that follows is switched for as soon as its
  // tables settle.
  double horizon_factor = 1.0;
  // `vmmu run --policy-modes guest-direct,dual-direct` (§16): the policy may also switch from
  // nested into Guest Direct and Dual Direct, and from Guest Direct into Dual Direct, once the
  // guest has given a segment. Off by default: the VM then offers no segment outside those modes
  // and every run is as without them.
  bool guest_direct = false;
  bool dual_direct = false;
};

// What the counters of a nested or guest-direct interval say about its walks (§16): cycles per
// memory reference `c`, EPT references per gPA translated `e`, and `rho`, the share of a nested
// walk's cycles beyond START and DONE that a DIRECT walk keeps (one XLATE per gPA and the guest
// references; the ANSWER cycles and the EPT references go).
struct WalkTerms {
  double cycles_per_reference = 0.0;
  double ept_references_per_gpa = 0.0;
  double direct_share = 1.0;
};
WalkTerms walkTerms(const IntervalCounters &interval);

// Nested <-> shadow (by default choosing the shadow variant at each switch) on estimates of the interval just measured under the other approach (Wang et
// al. VEE 2011's signals: TLB misses and walk cost against guest page faults, CR3 writes and
// exits), with hysteresis; a switch is taken only when the gain over the payback horizon (the run
// time elapsed times horizon_factor) exceeds the switch's cost (the refills priced at the cycles
// per exit measured so far).
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
  bool offersGuestSegment() const override { return params_.guest_direct || params_.dual_direct; }

  // The cost of `interval`'s translation and virtualization under nested and under shadow:
  // measured for the approach in force (for shadow, less the refill faults the switch paid for),
  // estimated for the other.
  // estimateShadow without a variant is for `params().shadow`; from nested the variant matters
  // (plain and prefetching shadow refill after every CR3 write, caching does not).
  uint64_t estimateNested(const IntervalCounters &interval) const;
  uint64_t estimateShadow(const IntervalCounters &interval) const { return estimateShadow(interval, params_.shadow); }
  uint64_t estimateShadow(const IntervalCounters &interval, Approach variant) const;
  // A switch into `into` (nested, or a shadow variant and its rebuild); the bool form is into
  // `params().shadow` or nested.
  uint64_t switchCost(bool to_shadow) const { return switchCost(to_shadow ? params_.shadow : Approach::Nested); }
  uint64_t switchCost(Approach into) const;
  // The same after `interval`, whose direct_entry_cycles a switch into DualDirect adds.
  uint64_t switchCost(Approach into, const IntervalCounters &interval) const;
  // Guest Direct and Dual Direct (§16): the interval's virtualization cycles under each, measured
  // when the interval ran in it, else estimated from a nested or guest-direct interval; whether
  // the parameters and the interval allow a switch into each; and the best target from nested
  // (the shadow variants of bestShadow and the allowed segment modes, by net gain; ties in the
  // order caching, prefetching, guest-direct, dual-direct) or from guest-direct (dual-direct).
  uint64_t estimateGuestDirect(const IntervalCounters &interval) const;
  uint64_t estimateDualDirect(const IntervalCounters &interval) const;
  bool segmentModeAllowed(Approach mode, const IntervalCounters &interval) const;
  Approach bestTarget(const IntervalCounters &interval) const;
  // Shadow faults that rebuild the shadow tables of the resident set under `variant`: one per
  // page, or, for the prefetching variant (a fault fills a whole shadow table), one per guest
  // table page (when known).
  uint64_t rebuildFaults(Approach variant) const;
  // The shadow variant a switch from nested after `interval` would take, if one would pay: the
  // largest net gain over the horizon, (nested - the variant's estimate) x horizon - its switch
  // cost, among the candidates cheaper by the margin with a positive net gain (ties: the first
  // candidate, caching). Nested when none pays. Ignores patience and cooldown.
  Approach bestShadow(const IntervalCounters &interval) const;
  // Cycles of one shadow exit (round trip and the shim's work, host backing excluded): measured
  // once shadow ran. With a variant: plus the prefetching variant's scan of a guest table.
  double cyclesPerExit() const;
  double cyclesPerExit(Approach variant) const;
  // The rebuild's cycles under `variant`: rebuildFaults at cyclesPerExit(variant), plus, for the
  // prefetching variant, one shadow-entry write per resident page its faults prefetch.
  double rebuildCycles(Approach variant) const;
  // Run time seen so far (every interval's total cycles), and the intervals of `interval`'s
  // length a switch decided after it has to pay for itself in: horizon_factor x the run time so
  // far (this interval included), over this interval's run time.
  uint64_t elapsedCycles() const { return elapsed_cycles_; }
  double horizonIntervals(const IntervalCounters &interval) const;
  const AdaptiveParams &params() const { return params_; }

private:
  // Refill faults of `interval` still covered by the switch's budget.
  uint64_t refillExits(const IntervalCounters &interval) const;
  // Pages resident now: those the guest faulted in, bounded by its memory in use when known.
  uint64_t residentPages() const;
  // The net gain of a switch from `from_cycles` to `to_cycles` over the horizon, when the target
  // is cheaper by the margin (and, into shadow, by min_gain_fraction); 0 otherwise.
  double netGain(const IntervalCounters &interval, uint64_t from_cycles, uint64_t to_cycles, Approach into) const;

  AdaptiveParams params_;
  double nested_walk_ratio_;          // learned from nested intervals
  uint64_t working_set_pages_ = 0;    // guest page faults so far: a proxy for the resident set
  uint64_t elapsed_cycles_ = 0;       // run time of the intervals seen
  uint64_t used_pages_ = 0;           // the last interval's guest_used_pages
  uint64_t table_pages_ = 0;          // the last interval's guest_table_pages
  uint64_t measured_exits_ = 0;       // shadow exits seen, and their cycles (exit + shim)
  uint64_t measured_exit_cycles_ = 0;
  uint64_t refill_credit_ = 0;        // refill faults the last switch into shadow paid for
  unsigned streak_ = 0;
  unsigned cooldown_left_ = 0;
};

}  // namespace vmmu::policy
