// policy.cpp - static and adaptive switch policies.
#include "vmmu/policy/policy.h"

#include <algorithm>
#include <stdexcept>

namespace vmmu::policy {

namespace {

class StaticPolicy final : public SwitchPolicy {
public:
  explicit StaticPolicy(Approach approach) : approach_(approach) {}
  std::string name() const override { return std::string(vmm::toString(approach_)); }
  Approach initial() const override { return approach_; }
  Approach decide(const IntervalCounters &) override { return approach_; }

private:
  Approach approach_;
};

}  // namespace

std::unique_ptr<SwitchPolicy> makeStaticPolicy(Approach approach) { return std::make_unique<StaticPolicy>(approach); }

AdaptivePolicy::AdaptivePolicy(const AdaptiveParams &params)
    : params_(params), nested_walk_ratio_(params.nested_walk_ratio) {
  if (!vmm::isShadow(params.shadow))
    throw std::invalid_argument("adaptive policy: 'shadow' must be a shadow variant, got " +
                                std::string(vmm::toString(params.shadow)));
  if (!(params.nested_walk_ratio >= 1.0))
    throw std::invalid_argument("adaptive policy: nested_walk_ratio must be >= 1");
  if (!(params.margin >= 0.0 && params.margin < 1.0))
    throw std::invalid_argument("adaptive policy: margin must be in [0, 1)");
  if (!(params.min_gain_fraction >= 0.0 && params.min_gain_fraction < 1.0))
    throw std::invalid_argument("adaptive policy: min_gain_fraction must be in [0, 1)");
  if (!(params.exits_per_guest_fault >= 0.0) || !(params.exits_per_cr3_write >= 0.0))
    throw std::invalid_argument("adaptive policy: exits_per_guest_fault and exits_per_cr3_write must be >= 0");
  if (params.patience == 0 || params.patience_leave_shadow == 0)
    throw std::invalid_argument("adaptive policy: patience and patience_leave_shadow must be >= 1");
  if (!(params.horizon_factor > 0.0))
    throw std::invalid_argument("adaptive policy: horizon_factor must be > 0");
}

double AdaptivePolicy::cyclesPerExit() const {
  // A few dozen exits average out the mix of fills, injections and table allocations.
  constexpr uint64_t kEnoughExits = 64;
  if (measured_exits_ >= kEnoughExits)
    return static_cast<double>(measured_exit_cycles_) / static_cast<double>(measured_exits_);
  return static_cast<double>(params_.exit_cycles + params_.exit_work_cycles);
}

double AdaptivePolicy::cyclesPerExit(Approach variant) const {
  return cyclesPerExit() +
         (variant == Approach::ShadowPrefetch ? static_cast<double>(params_.prefetch_scan_cycles) : 0.0);
}

double AdaptivePolicy::rebuildCycles(Approach variant) const {
  const uint64_t faults = rebuildFaults(variant);
  const double prefetched =
      variant == Approach::ShadowPrefetch ? static_cast<double>(residentPages() - faults) : 0.0;
  return static_cast<double>(faults) * cyclesPerExit(variant) +
         prefetched * static_cast<double>(params_.prefetch_install_cycles);
}

uint64_t AdaptivePolicy::refillExits(const IntervalCounters &in) const {
  if (!vmm::isShadow(in.approach))
    return 0;
  // Shadow faults the guest did not see as page faults fill entries for pages it had already
  // mapped: after a switch, the rebuild of its resident set.
  const uint64_t faults = in.exits[static_cast<unsigned>(vmm::ExitReason::ShadowFault)];
  return std::min(refill_credit_, faults - std::min(faults, in.guest_page_faults));
}

uint64_t AdaptivePolicy::residentPages() const {
  return used_pages_ == 0 ? working_set_pages_ : std::min(working_set_pages_, used_pages_);
}

uint64_t AdaptivePolicy::rebuildFaults(Approach variant) const {
  const uint64_t pages = residentPages();
  if (variant == Approach::ShadowPrefetch && table_pages_ != 0)
    return std::min(pages, table_pages_);
  return pages;
}

double AdaptivePolicy::horizonIntervals(const IntervalCounters &in) const {
  // The run time this interval took stands for the intervals to come; an interval of no run time
  // (hand-built counters) counts as the virtualization it measured.
  const uint64_t interval = std::max<uint64_t>(1, std::max(in.total_cycles, in.virtualizationCycles()));
  return params_.horizon_factor * static_cast<double>(elapsed_cycles_) / static_cast<double>(interval);
}

uint64_t AdaptivePolicy::estimateNested(const IntervalCounters &in) const {
  if (in.approach == Approach::Nested)
    return in.virtualizationCycles();
  // From shadow: the same misses walk in two dimensions; no exits are needed but one EPT violation
  // per host page first touched, whose backing nested pays as shadow did. A walk's cycles are
  // 2 (START, DONE) + one XLATE cycle per gPA it translates + its references' cycles (§12);
  // nested, each gPA translated also takes an ANSWER cycle, and the references grow by the
  // nested/guest ratio at the same cycles each. Shadow does not count the gPAs it translates:
  // about one per guest reference (a guest read yields the next table's or the final gPA; a walk
  // that misses every PSC also translates CR3).
  const uint64_t fixed = 2 * in.walks;
  const uint64_t beyond_fixed = in.walk_cycles - std::min(in.walk_cycles, fixed);
  const uint64_t xlate = std::min(in.guest_references, beyond_fixed);
  const double walk = static_cast<double>(fixed + 2 * xlate) +
                      static_cast<double>(beyond_fixed - xlate) * nested_walk_ratio_;
  return static_cast<uint64_t>(walk) + (in.translation_cycles - in.walk_cycles) + in.host_backing_cycles +
         in.host_backings * params_.exit_cycles;
}

uint64_t AdaptivePolicy::estimateShadow(const IntervalCounters &in, Approach variant) const {
  if (vmm::isShadow(in.approach)) {
    // Measured, less the refill faults already paid for by the switch (at this interval's own
    // cycles per exit).
    const uint64_t measured = in.virtualizationCycles();
    const uint64_t exits = in.totalExits();
    const uint64_t refills = refillExits(in);
    if (exits == 0 || refills == 0)
      return measured;
    const double per_exit = static_cast<double>(in.exit_cycles + in.shim_cycles - std::min(in.shim_cycles, in.host_backing_cycles)) /
                            static_cast<double>(exits);
    return measured - std::min(measured, static_cast<uint64_t>(per_exit * static_cast<double>(refills)));
  }
  // From nested: a shadow walk makes only the guest-dimension references (the PSCs behave alike),
  // at the same cycles per reference; the fixed 2 cycles per walk (START, DONE) stay, and so does
  // the XLATE cycle of each gPA translated, but not its ANSWER cycle: shadow translates no gPA
  // through the EPT (§12). Under nested every gPA translated is a nested lookup.
  const uint64_t references = in.guest_references + in.nested_references;
  const uint64_t fixed = 2 * in.walks;
  const uint64_t xlate = in.nested_lookups;
  const uint64_t memory = in.walk_cycles - std::min(in.walk_cycles, fixed + 2 * xlate);
  const double per_reference = references == 0 ? 0.0 : static_cast<double>(memory) / static_cast<double>(references);
  const double walk = static_cast<double>(fixed + xlate) + per_reference * static_cast<double>(in.guest_references);
  // Plain and prefetching shadow rebuild after every CR3 write: each walk of the interval may
  // refill, up to the resident set's rebuild.
  const double cr3_exits = variant != Approach::ShadowCaching
                               ? (in.cr3_writes == 0 ? 0.0 : static_cast<double>(std::min(in.walks, rebuildFaults(variant))))
                               : params_.exits_per_cr3_write * static_cast<double>(in.cr3_writes);
  const double exits = params_.exits_per_guest_fault * static_cast<double>(in.guest_page_faults) + cr3_exits;
  // The host pages nested backed would be backed under shadow too, within its shadow faults.
  return static_cast<uint64_t>(walk + exits * cyclesPerExit(variant)) + (in.translation_cycles - in.walk_cycles) +
         in.host_backing_cycles;
}

uint64_t AdaptivePolicy::switchCost(Approach into) const {
  const double refills = vmm::isShadow(into) ? rebuildCycles(into) : 0.0;
  return params_.switch_base_cycles + static_cast<uint64_t>(refills);
}

uint64_t AdaptivePolicy::switchCost(Approach into, const IntervalCounters &in) const {
  return switchCost(into) + (into == Approach::DualDirect ? in.direct_entry_cycles : 0);
}

double AdaptivePolicy::netGain(const IntervalCounters &in, uint64_t from_cycles, uint64_t to_cycles,
                               Approach into) const {
  if (!(static_cast<double>(to_cycles) < (1.0 - params_.margin) * static_cast<double>(from_cycles)))
    return 0.0;
  // The minimum gain is shadow's insurance against a later burst of guest page faults (two exits
  // each); a segment mode takes no exit such a burst could multiply.
  if (vmm::isShadow(into) &&
      static_cast<double>(from_cycles - to_cycles) < params_.min_gain_fraction * static_cast<double>(in.total_cycles))
    return 0.0;
  const double gain = static_cast<double>(from_cycles - to_cycles) * horizonIntervals(in) -
                      static_cast<double>(switchCost(into, in));
  return gain > 0.0 ? gain : 0.0;
}

Approach AdaptivePolicy::bestShadow(const IntervalCounters &in) const {
  const uint64_t nested = estimateNested(in);
  Approach best = Approach::Nested;
  double best_gain = 0.0;
  const auto consider = [&](Approach variant) {
    const double gain = netGain(in, nested, estimateShadow(in, variant), variant);
    if (gain > best_gain) {
      best = variant;
      best_gain = gain;
    }
  };
  if (params_.choose_shadow) {
    consider(Approach::ShadowCaching);
    consider(Approach::ShadowPrefetch);
  } else {
    consider(params_.shadow);
  }
  return best;
}

Approach AdaptivePolicy::bestTarget(const IntervalCounters &in) const {
  Approach best = bestShadow(in);
  const uint64_t nested = estimateNested(in);
  double best_gain = best == Approach::Nested ? 0.0 : netGain(in, nested, estimateShadow(in, best), best);
  for (const Approach mode : {Approach::GuestDirect, Approach::DualDirect}) {
    if (!segmentModeAllowed(mode, in))
      continue;
    const uint64_t estimate = mode == Approach::GuestDirect ? estimateGuestDirect(in) : estimateDualDirect(in);
    const double gain = netGain(in, nested, estimate, mode);
    if (gain > best_gain) {
      best = mode;
      best_gain = gain;
    }
  }
  return best;
}

bool AdaptivePolicy::segmentModeAllowed(Approach mode, const IntervalCounters &in) const {
  if (in.guest_segment_bytes == 0)
    return false;
  if (mode == Approach::GuestDirect)
    return params_.guest_direct;
  return mode == Approach::DualDirect && params_.dual_direct && in.direct_possible;
}

WalkTerms walkTerms(const IntervalCounters &in) {
  WalkTerms terms;
  const uint64_t fixed = 2 * in.walks;
  const uint64_t beyond_fixed = in.walk_cycles - std::min(in.walk_cycles, fixed);
  // Under nested and guest-direct every gPA translated takes an XLATE and an ANSWER cycle (§12).
  const uint64_t memory = beyond_fixed - std::min(beyond_fixed, 2 * in.nested_lookups);
  const uint64_t references = in.guest_references + in.nested_references;
  if (references != 0)
    terms.cycles_per_reference = static_cast<double>(memory) / static_cast<double>(references);
  if (in.nested_lookups != 0)
    terms.ept_references_per_gpa = static_cast<double>(in.nested_references) / static_cast<double>(in.nested_lookups);
  // The DIRECT share is of the walks outside the segment. Under nested they are taken to be like
  // the interval's walks (the whole interval); under guest-direct the segment walks are set apart:
  // each translated one gPA and read no guest entry.
  uint64_t lookups = in.nested_lookups, cycles = beyond_fixed;
  if (in.approach == Approach::GuestDirect) {
    const uint64_t segment_walks = std::min(in.walks, in.segment_walks);
    const uint64_t outside_walks = in.walks - segment_walks;
    const uint64_t outside_cycles = in.walk_cycles - std::min(in.walk_cycles, in.segment_walk_cycles);
    lookups -= std::min(lookups, segment_walks);
    cycles = outside_cycles - std::min(outside_cycles, 2 * outside_walks);
  }
  if (cycles != 0)
    terms.direct_share = std::min(1.0, (static_cast<double>(lookups) +
                                        terms.cycles_per_reference * static_cast<double>(in.guest_references)) /
                                           static_cast<double>(cycles));
  return terms;
}

uint64_t AdaptivePolicy::estimateGuestDirect(const IntervalCounters &in) const {
  if (in.approach == Approach::GuestDirect)
    return in.virtualizationCycles();
  // A segment walk: START, XLATE, ANSWER, DONE and the final gPA's EPT references (§18.2); the
  // walks outside the segment are nested's, as measured.
  const WalkTerms terms = walkTerms(in);
  const uint64_t segment_cycles = std::min(in.walk_cycles, in.segment_walk_cycles);
  const double walk = static_cast<double>(in.walk_cycles - segment_cycles) +
                      static_cast<double>(in.segment_walks) *
                          (4.0 + terms.ept_references_per_gpa * terms.cycles_per_reference);
  return static_cast<uint64_t>(walk) + (in.translation_cycles - in.walk_cycles) + in.exit_cycles + in.shim_cycles;
}

uint64_t AdaptivePolicy::estimateDualDirect(const IntervalCounters &in) const {
  if (in.approach == Approach::DualDirect)
    return in.virtualizationCycles();
  // A segment walk is 3 cycles (START, XLATE, DONE); a walk outside is DIRECT's: its cycles beyond
  // START and DONE scaled by the DIRECT share.
  const WalkTerms terms = walkTerms(in);
  const uint64_t segment_walks = std::min(in.walks, in.segment_walks);
  const uint64_t outside_walks = in.walks - segment_walks;
  const uint64_t outside_cycles = in.walk_cycles - std::min(in.walk_cycles, in.segment_walk_cycles);
  const uint64_t outside_beyond_fixed = outside_cycles - std::min(outside_cycles, 2 * outside_walks);
  const double walk = static_cast<double>(3 * segment_walks + 2 * outside_walks) +
                      terms.direct_share * static_cast<double>(outside_beyond_fixed);
  // Backed whole when it enters (the switch pays for the pages not yet backed): its first touches
  // take no EPT violation. The backing itself stays, as in estimateShadow: the pages nested backs
  // in the interval are work any approach does once (dual-direct did it at its entry).
  const uint64_t violations = in.host_backings * params_.exit_cycles;
  const uint64_t rest = in.exit_cycles + in.shim_cycles;
  return static_cast<uint64_t>(walk) + (in.translation_cycles - in.walk_cycles) + (rest - std::min(rest, violations));
}

Approach AdaptivePolicy::decide(const IntervalCounters &in) {
  const bool in_shadow = vmm::isShadow(in.approach);
  working_set_pages_ += in.guest_page_faults;
  used_pages_ = in.guest_used_pages;
  table_pages_ = in.guest_table_pages;
  if (in.approach == Approach::Nested && in.guest_references != 0 && in.walk_cycles > 2 * in.walks) {
    // Learn how much dearer a nested walk is than its guest dimension alone.
    const double refs = static_cast<double>(in.guest_references + in.nested_references);
    nested_walk_ratio_ = std::max(1.0, refs / static_cast<double>(in.guest_references));
  }
  if (in_shadow) {
    measured_exits_ += in.totalExits();
    // Pooled without the prefetching variant's table scans (cyclesPerExit(variant) adds them).
    const uint64_t scans = in.approach == Approach::ShadowPrefetch
                               ? in.exits[static_cast<unsigned>(vmm::ExitReason::ShadowFault)] * params_.prefetch_scan_cycles
                               : 0;
    const uint64_t cycles = in.exit_cycles + in.shim_cycles - std::min(in.shim_cycles, in.host_backing_cycles);
    measured_exit_cycles_ += cycles - std::min(cycles, scans);
  }
  elapsed_cycles_ += in.total_cycles;
  // Measured under shadow before the credit is spent (refillExits reads it).
  const uint64_t shadow_measured = in_shadow ? estimateShadow(in, in.approach) : 0;
  refill_credit_ -= refillExits(in);

  const Approach current = in_shadow || vmm::hasGuestSegment(in.approach) ? in.approach : Approach::Nested;
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    streak_ = 0;
    return current;
  }
  Approach target = Approach::Nested;
  unsigned patience = in_shadow ? params_.patience_leave_shadow : params_.patience;
  if (in_shadow) {
    const uint64_t nested = estimateNested(in);
    const bool better = static_cast<double>(nested) < (1.0 - params_.margin) * static_cast<double>(shadow_measured) &&
                        static_cast<double>(shadow_measured - nested) * horizonIntervals(in) >
                            static_cast<double>(switchCost(Approach::Nested));
    target = better ? Approach::Nested : current;
  } else if (current == Approach::DualDirect) {
    target = current;  // never left (§16): no mode walks the same walks for less
  } else if (current == Approach::GuestDirect) {
    if (in.guest_segment_bytes == 0) {
      target = Approach::Nested;  // the segment is gone: this is nested's walk, and shadow is a candidate there
      patience = params_.patience_leave_shadow;
    } else {
      const bool dual = segmentModeAllowed(Approach::DualDirect, in) &&
                        netGain(in, in.virtualizationCycles(), estimateDualDirect(in), Approach::DualDirect) > 0.0;
      target = dual ? Approach::DualDirect : current;
    }
  } else {
    target = bestTarget(in);
  }
  streak_ = target != current ? streak_ + 1 : 0;
  if (streak_ < patience)
    return current;
  streak_ = 0;
  cooldown_left_ = params_.cooldown;
  // Entering shadow budgets the chosen variant's rebuild (switchCost); leaving forgets it.
  refill_credit_ = vmm::isShadow(target) ? rebuildFaults(target) : 0;
  return target;
}

}  // namespace vmmu::policy
