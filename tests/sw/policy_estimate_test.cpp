// policy_estimate_test.cpp - the adaptive policy's arithmetic, number by number: the estimates of
// nested and shadow from an interval measured under the other approach, the learned walk ratio and
// cost of an exit, the switch cost, the refill budget a switch pays for, and the bounds of every
// test of decide() (margin, payback over the horizon, patience, cooldown). Every expectation is
// worked out by hand in the comment beside it from the defaults of policy.h and costs.h.
#include <gtest/gtest.h>

#include "vmmu/policy/policy.h"

namespace vmmu::testing {
namespace {

using policy::AdaptiveParams;
using policy::AdaptivePolicy;
using policy::IntervalCounters;
using vmm::Approach;
using vmm::ExitReason;

// The prior cost of one shadow exit: (1,500 + 200) round trip and handler + (4 x 20 + 10 + 300)
// of shim work.
constexpr double kPriorPerExit = 2'090.0;

// The run time of every interval built here: after k of them the payback horizon is k intervals
// (horizon_factor 1 x k x 1,000,000 elapsed / 1,000,000).
constexpr uint64_t kIntervalCycles = 1'000'000;

// A nested interval: 1,000 walks making 1,000 guest and 3,000 nested references at 30 cycles each
// plus 2 fixed cycles per walk (walk cycles 2,000 + 120,000 = 122,000), and 10,000 cycles of TLB
// hits besides (translation 132,000); 1,000,000 cycles of run time in all (kIntervalCycles).
IntervalCounters nested(uint64_t guest_faults = 0, uint64_t cr3_writes = 0) {
  IntervalCounters in;
  in.approach = Approach::Nested;
  in.walks = 1'000;
  in.guest_references = 1'000;
  in.nested_references = 3'000;
  in.walk_cycles = 122'000;
  in.translation_cycles = 132'000;
  in.guest_page_faults = guest_faults;
  in.cr3_writes = cr3_writes;
  in.total_cycles = kIntervalCycles;
  return in;
}

// A shadow-cache interval: 1,000 walks of 32,000 cycles (translation 42,000), `faults` shadow-fault
// exits of which `guest_faults` were guest page faults, each exit 1,500 + 500 = 2,000 cycles.
IntervalCounters shadow(uint64_t faults, uint64_t guest_faults = 0) {
  IntervalCounters in;
  in.approach = Approach::ShadowCaching;
  in.walks = 1'000;
  in.guest_references = 1'000;
  in.walk_cycles = 32'000;
  in.translation_cycles = 42'000;
  in.guest_page_faults = guest_faults;
  in.exits[static_cast<unsigned>(ExitReason::ShadowFault)] = faults;
  in.exit_cycles = 1'500 * faults;
  in.shim_cycles = 500 * faults;
  in.total_cycles = kIntervalCycles;
  return in;
}

// An interval's counters start at zero (and nested paging in force): the estimates above build
// intervals from a few fields and rely on the rest being zero.
TEST(AdaptiveEstimates, IntervalCountersStartAtZero) {
  const IntervalCounters in;
  EXPECT_EQ(in.index, 0u);
  EXPECT_EQ(in.approach, Approach::Nested);
  EXPECT_EQ(in.accesses, 0u);
  EXPECT_EQ(in.tlb_misses, 0u);
  EXPECT_EQ(in.walks, 0u);
  EXPECT_EQ(in.guest_references, 0u);
  EXPECT_EQ(in.nested_references, 0u);
  EXPECT_EQ(in.walk_cycles, 0u);
  EXPECT_EQ(in.nested_lookups, 0u);
  EXPECT_EQ(in.guest_page_faults, 0u);
  EXPECT_EQ(in.cr3_writes, 0u);
  EXPECT_EQ(in.totalExits(), 0u);
  EXPECT_EQ(in.translation_cycles, 0u);
  EXPECT_EQ(in.exit_cycles, 0u);
  EXPECT_EQ(in.shim_cycles, 0u);
  EXPECT_EQ(in.total_cycles, 0u);
  EXPECT_EQ(in.virtualizationCycles(), 0u);
}

TEST(AdaptiveEstimates, NestedIsMeasuredInNested) {
  const AdaptivePolicy policy;
  IntervalCounters in = nested();
  in.exit_cycles = 7;
  in.shim_cycles = 11;
  EXPECT_EQ(policy.estimateNested(in), 132'000u + 7 + 11);
}

TEST(AdaptiveEstimates, ShadowFromANestedInterval) {
  const AdaptivePolicy policy;
  // Walks: 2 x 1,000 fixed + (122,000 - 2,000) / 4,000 = 30 cycles per reference x 1,000 guest
  // references = 32,000; plus the 10,000 non-walk cycles.
  EXPECT_EQ(policy.estimateShadow(nested()), 42'000u);
  // 100 guest faults at 2 exits each, at the prior 2,090 cycles: + 418,000.
  EXPECT_EQ(policy.estimateShadow(nested(100)), 460'000u);
  // Shadow-cache keeps its tables: 1 exit per CR3 write (3 x 2,090 = 6,270 more).
  EXPECT_EQ(policy.estimateShadow(nested(100, 3)), 466'270u);
}

// §12: each gPA a nested walk translates takes an XLATE and an ANSWER cycle; shadow keeps the
// XLATE cycle and drops the ANSWER cycle.
TEST(AdaptiveEstimates, ShadowFromANestedIntervalKeepsXlateAndDropsAnswerCycles) {
  const AdaptivePolicy policy;
  IntervalCounters in = nested();
  in.nested_lookups = 1'000;
  in.walk_cycles = 2'000 + 2 * 1'000 + 120'000;
  in.translation_cycles = in.walk_cycles + 10'000;
  // 2,000 fixed + 1,000 XLATE + 120,000 / 4,000 = 30 per reference x 1,000 guest references,
  // plus 10,000 non-walk.
  EXPECT_EQ(policy.estimateShadow(in), 2'000u + 1'000u + 30'000u + 10'000u);
}

TEST(AdaptiveEstimates, ShadowFromANestedIntervalWithoutReferences) {
  const AdaptivePolicy policy;
  IntervalCounters in = nested();
  in.guest_references = 0;
  in.nested_references = 0;
  // No reference to price: the walks cost their fixed 2 cycles each, 2,000, plus 10,000.
  EXPECT_EQ(policy.estimateShadow(in), 12'000u);
  // Walk cycles below the fixed part (a backend with cheaper walks) price references at 0.
  in.guest_references = 1'000;
  in.walk_cycles = 1'500;
  in.translation_cycles = 11'500;
  EXPECT_EQ(policy.estimateShadow(in), 2'000u + 10'000u);
}

TEST(AdaptiveEstimates, PlainShadowRefillsTheResidentSetAfterACr3Write) {
  AdaptiveParams params;
  params.choose_shadow = false;
  params.shadow = Approach::ShadowPlain;
  AdaptivePolicy policy(params);
  // No page resident yet: nothing to refill.
  EXPECT_EQ(policy.estimateShadow(nested(100, 3)), 460'000u);
  policy.decide(nested(100));  // 100 resident pages now; 460,000 is far dearer than 132,000
  // min(1,000 walks, 100 pages) refills: 300 exits x 2,090 + 32,000 + 10,000.
  EXPECT_EQ(policy.estimateShadow(nested(100, 3)), 669'000u);
  // Without a CR3 write nothing is dropped.
  EXPECT_EQ(policy.estimateShadow(nested(100)), 460'000u);
  // Fewer walks than resident pages bound the refills: min(50, 100) = 50.
  IntervalCounters few = nested(0, 1);
  few.walks = 50;
  few.walk_cycles = 100 + 30 * 4'000;
  few.translation_cycles = few.walk_cycles + 10'000;
  // Fixed 100 + 30 x 1,000 guest references; 50 refills x 2,090 = 104,500; 10,000 non-walk.
  EXPECT_EQ(policy.estimateShadow(few), 100u + 30'000u + 104'500u + 10'000u);
}

TEST(AdaptiveEstimates, NestedFromAShadowIntervalUsesTheWalkRatio) {
  AdaptivePolicy policy;
  // 32,000 walk cycles: 2,000 fixed, 1,000 XLATE (one per guest reference), 29,000 of references.
  // Nested: 2,000 fixed + 2 x 1,000 (XLATE and ANSWER, §12) + 29,000 x the prior ratio 4.4 / 1.5
  // (85,066.67) = 89,066.67, truncated, plus 10,000 non-walk.
  EXPECT_EQ(policy.estimateNested(shadow(0)), 89'066u + 10'000u);
  policy.decide(nested());  // learns (1,000 + 3,000) / 1,000 = 4
  EXPECT_EQ(policy.estimateNested(shadow(0)), 4'000u + 116'000u + 10'000u);
  // A nested interval without nested references: the ratio cannot fall below 1; the ANSWER
  // cycles remain.
  IntervalCounters flat = nested();
  flat.nested_references = 0;
  policy.decide(flat);
  EXPECT_EQ(policy.estimateNested(shadow(0)), 4'000u + 29'000u + 10'000u);
}

TEST(AdaptiveEstimates, RatioIsLearnedOnlyFromWalksBeyondTheirFixedCycles) {
  AdaptivePolicy policy;
  IntervalCounters fixed_only = nested();
  fixed_only.walk_cycles = 2 * fixed_only.walks;  // nothing but the 2 fixed cycles per walk
  policy.decide(fixed_only);
  EXPECT_EQ(policy.estimateNested(shadow(0)), 89'066u + 10'000u) << "the prior ratio stays";
  IntervalCounters no_guest = nested();
  no_guest.guest_references = 0;
  policy.decide(no_guest);
  EXPECT_EQ(policy.estimateNested(shadow(0)), 89'066u + 10'000u) << "the prior ratio stays";
  // A shadow interval teaches nothing about nested walks either.
  IntervalCounters deep = shadow(0);
  deep.nested_references = 9'000;
  policy.decide(deep);
  EXPECT_EQ(policy.estimateNested(shadow(0)), 89'066u + 10'000u) << "the prior ratio stays";
}

TEST(AdaptiveEstimates, ShadowIsMeasuredInShadowWhenNoRefillIsBudgeted) {
  const AdaptivePolicy policy;
  // 42,000 translation + 30 exits x 2,000.
  EXPECT_EQ(policy.estimateShadow(shadow(30, 10)), 102'000u);
  EXPECT_EQ(policy.estimateShadow(shadow(0)), 42'000u);
}

TEST(AdaptiveEstimates, CostOfAnExitIsThePriorUntil64AreMeasured) {
  AdaptivePolicy policy;
  EXPECT_DOUBLE_EQ(policy.cyclesPerExit(), kPriorPerExit);
  IntervalCounters in = shadow(63);
  in.shim_cycles += 63 * 1'000;  // 3,000 cycles per exit
  policy.decide(in);
  EXPECT_DOUBLE_EQ(policy.cyclesPerExit(), kPriorPerExit) << "63 exits are not enough";
  policy.decide(shadow(1));
  // (63 x 3,000 + 2,000) / 64.
  EXPECT_DOUBLE_EQ(policy.cyclesPerExit(), (63.0 * 3'000 + 2'000) / 64);
  // Exits under nested (EPT violations) are not shadow exits: the average does not move.
  IntervalCounters ept = nested();
  ept.exits[static_cast<unsigned>(ExitReason::EptViolation)] = 1'000;
  ept.exit_cycles = 1'000;
  policy.decide(ept);
  EXPECT_DOUBLE_EQ(policy.cyclesPerExit(), (63.0 * 3'000 + 2'000) / 64);
}

TEST(AdaptiveEstimates, SwitchCostIsABaseAndOneRefillPerResidentPage) {
  AdaptivePolicy policy;
  EXPECT_EQ(policy.switchCost(true), 20'000u);
  EXPECT_EQ(policy.switchCost(false), 20'000u);
  policy.decide(nested(100));
  policy.decide(nested(20));  // 120 pages resident
  EXPECT_EQ(policy.switchCost(true), 20'000u + static_cast<uint64_t>(120 * kPriorPerExit));
  EXPECT_EQ(policy.switchCost(false), 20'000u) << "leaving shadow refills nothing";
}

// Into shadow-cache with 100 resident pages: the switch budgets 100 refill faults.
AdaptivePolicy switchedWith100Pages() {
  AdaptivePolicy policy;
  EXPECT_EQ(policy.decide(nested(100)), Approach::Nested);  // 460,000 against 132,000
  // 42,000 < 0.85 x 132,000, but the switch costs 20,000 + 100 x 2,090 = 229,000: 90,000 over a
  // horizon of 2 intervals does not repay it, over 3 it does; twice in a row (patience 2).
  EXPECT_EQ(policy.decide(nested()), Approach::Nested);
  EXPECT_EQ(policy.decide(nested()), Approach::Nested);
  EXPECT_EQ(policy.decide(nested()), Approach::ShadowCaching);
  return policy;
}

TEST(AdaptiveEstimates, RefillsTheSwitchPaidForAreTakenOutUntilTheBudgetIsSpent) {
  AdaptivePolicy policy = switchedWith100Pages();
  // 30 shadow faults, 10 of them guest faults: 20 refills at this interval's 2,000 per exit.
  EXPECT_EQ(policy.estimateShadow(shadow(30, 10)), 102'000u - 40'000u);
  // Each decision spends 20 of the 100: four more intervals still see the discount.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(policy.estimateShadow(shadow(30, 10)), 62'000u) << "interval " << i;
    EXPECT_EQ(policy.decide(shadow(30, 10)), Approach::ShadowCaching) << "interval " << i;
  }
  EXPECT_EQ(policy.estimateShadow(shadow(30, 10)), 102'000u) << "the budget is spent";
}

TEST(AdaptiveEstimates, RefillBudgetCoversAtMostWhatIsLeftOfIt) {
  AdaptivePolicy policy = switchedWith100Pages();
  // 150 refills against a budget of 100: 100 are discounted (x 2,000).
  EXPECT_EQ(policy.estimateShadow(shadow(150)), 42'000u + 300'000u - 200'000u);
  // Guest faults are never refills: 40 faults, all the guest's.
  EXPECT_EQ(policy.estimateShadow(shadow(40, 40)), 42'000u + 80'000u);
  // More guest faults than shadow faults (faults the hardware delivered): no refill, no wrap.
  EXPECT_EQ(policy.estimateShadow(shadow(5, 40)), 42'000u + 10'000u);
  // Under nested there is no refill to discount.
  EXPECT_EQ(policy.estimateShadow(nested()), 42'000u);
}

TEST(AdaptiveEstimates, LeavingShadowForgetsTheBudget) {
  AdaptiveParams params;
  params.cooldown = 0;
  params.patience = 1;
  params.horizon_factor = 2.0;  // after 2 intervals 4 of them: 360,000 repays 229,000
  AdaptivePolicy policy(params);
  EXPECT_EQ(policy.decide(nested(100)), Approach::Nested);
  EXPECT_EQ(policy.decide(nested()), Approach::ShadowCaching);
  // 2,000 guest faults under shadow: 4,042,000 measured against 138,000 nested: leave.
  EXPECT_EQ(policy.decide(shadow(2'000, 2'000)), Approach::Nested);
  EXPECT_EQ(policy.estimateShadow(shadow(30, 10)), 102'000u) << "no budget left after leaving";
}

// nested() with `here` translation cycles: its shadow estimate is here - 90,000 (the walks'
// 122,000 cycles become 32,000).
IntervalCounters nestedCosting(uint64_t here) {
  IntervalCounters in = nested();
  in.translation_cycles = here;
  return in;
}

TEST(AdaptiveDecisions, TheOtherApproachMustBeCheaperByMoreThanTheMargin) {
  AdaptiveParams params;
  params.patience = 1;
  params.margin = 0.5;
  // 180,000 nested against 90,000 shadow: exactly half, not less.
  AdaptivePolicy at_margin(params);
  EXPECT_EQ(at_margin.estimateShadow(nestedCosting(180'000)), 90'000u);
  EXPECT_EQ(at_margin.decide(nestedCosting(180'000)), Approach::Nested);
  params.margin = 0.49;
  AdaptivePolicy inside(params);
  EXPECT_EQ(inside.decide(nestedCosting(180'000)), Approach::ShadowCaching);
}

TEST(AdaptiveDecisions, TheGainOverTheHorizonMustExceedTheSwitchCost) {
  AdaptiveParams params;
  params.patience = 1;
  params.horizon_factor = 2.0;
  // After one interval the horizon is 2 x 1,000,000 elapsed / 1,000,000 = 2 intervals.
  // Gain 132,000 - 42,000 = 90,000 per interval, 180,000 over two: equal to the cost is not enough.
  params.switch_base_cycles = 180'000;
  AdaptivePolicy equal(params);
  EXPECT_EQ(equal.decide(nested()), Approach::Nested);
  params.switch_base_cycles = 179'999;
  AdaptivePolicy cheaper(params);
  EXPECT_EQ(cheaper.decide(nested()), Approach::ShadowCaching);
}

TEST(AdaptiveDecisions, PatienceCountsIntervalsInARow) {
  AdaptiveParams params;
  params.patience = 3;
  // A horizon of 100 x k intervals after k: the 1,000 pages nested(1'000) faults in (a switch of
  // 20,000 + 1,000 x 2,090) are repaid by 90,000 x 400 from the fourth interval on.
  params.horizon_factor = 100.0;
  AdaptivePolicy policy(params);
  EXPECT_EQ(policy.decide(nested()), Approach::Nested);
  EXPECT_EQ(policy.decide(nested()), Approach::Nested);
  EXPECT_EQ(policy.decide(nested(1'000)), Approach::Nested) << "a fault burst breaks the streak";
  EXPECT_EQ(policy.decide(nested()), Approach::Nested);
  EXPECT_EQ(policy.decide(nested()), Approach::Nested);
  EXPECT_EQ(policy.decide(nested()), Approach::ShadowCaching) << "three in a row";
}

TEST(AdaptiveDecisions, CooldownHoldsTheModeAndResetsTheStreak) {
  AdaptiveParams params;
  params.patience = 1;
  params.patience_leave_shadow = 2;
  params.cooldown = 3;
  params.choose_shadow = false;
  params.shadow = Approach::ShadowPrefetch;
  AdaptivePolicy policy(params);
  EXPECT_EQ(policy.decide(nested()), Approach::ShadowPrefetch);
  IntervalCounters bad = shadow(2'000, 2'000);
  bad.approach = Approach::ShadowPrefetch;
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(policy.decide(bad), Approach::ShadowPrefetch) << "cooldown interval " << i;
  EXPECT_EQ(policy.decide(bad), Approach::ShadowPrefetch) << "patience to leave: 2; the cooldown counted none";
  EXPECT_EQ(policy.decide(bad), Approach::Nested);
  EXPECT_EQ(policy.decide(nested()), Approach::Nested) << "cooldown again";
}

TEST(AdaptiveDecisions, BoundaryParametersAreAccepted) {
  AdaptiveParams params;
  params.margin = 0.0;
  params.nested_walk_ratio = 1.0;
  params.exits_per_guest_fault = 0.0;
  params.exits_per_cr3_write = 0.0;
  params.cooldown = 0;
  EXPECT_NO_THROW(AdaptivePolicy{params});
  params.nested_walk_ratio = 0.999;
  EXPECT_THROW(AdaptivePolicy{params}, std::invalid_argument);
  params = AdaptiveParams{};
  params.margin = -0.01;
  EXPECT_THROW(AdaptivePolicy{params}, std::invalid_argument);
  params = AdaptiveParams{};
  params.exits_per_cr3_write = -1.0;
  EXPECT_THROW(AdaptivePolicy{params}, std::invalid_argument);
  params = AdaptiveParams{};
  params.patience_leave_shadow = 0;
  EXPECT_THROW(AdaptivePolicy{params}, std::invalid_argument);
  for (const Approach not_shadow : {Approach::Native, Approach::Direct}) {
    params = AdaptiveParams{};
    params.shadow = not_shadow;
    EXPECT_THROW(AdaptivePolicy{params}, std::invalid_argument);
  }
  for (const Approach variant : {Approach::ShadowPlain, Approach::ShadowCaching, Approach::ShadowPrefetch}) {
    params = AdaptiveParams{};
    params.shadow = variant;
    EXPECT_NO_THROW(AdaptivePolicy{params});
  }
}

TEST(StaticPolicy, NamesItsApproachAndNeverMoves) {
  for (const Approach approach : {Approach::Nested, Approach::ShadowPlain, Approach::Direct}) {
    const auto policy = policy::makeStaticPolicy(approach);
    EXPECT_EQ(policy->name(), vmm::toString(approach));
    EXPECT_EQ(policy->initial(), approach);
    EXPECT_EQ(policy->decide(nested(5'000)), approach);
    EXPECT_EQ(policy->decide(shadow(5'000)), approach);
  }
  const AdaptivePolicy adaptive;
  EXPECT_EQ(adaptive.name(), "adaptive");
  EXPECT_EQ(adaptive.initial(), Approach::Nested);
}

}  // namespace
}  // namespace vmmu::testing
