// policy_segment_test.cpp - Guest Direct and Dual Direct as the adaptive policy's targets
// (docs/architecture.md §16, `--policy-modes`): the walk terms, both estimates and both switch
// costs number by number, when each mode is allowed, the decisions (which mode, when, and that
// DUAL_DIRECT is never left), that the default parameters change nothing, and the shim's side: a
// VM offering the segment in every mode demand-pages the segment's range outside the segment
// modes and switches between NESTED, GUEST_DIRECT and DUAL_DIRECT at run time. Every expectation
// is worked out by hand beside it.
#include <gtest/gtest.h>

#include "sw_test_support.h"
#include "vmmu/policy/policy.h"

namespace vmmu::testing {
namespace {

using policy::AdaptiveParams;
using policy::AdaptivePolicy;
using policy::IntervalCounters;
using vmm::Approach;
using vmm::ExitReason;
constexpr uint64_t k4K = 4096, k2M = 2ull << 20;

// The run time of every interval: after k decisions the payback horizon is k intervals.
constexpr uint64_t kIntervalCycles = 1'000'000;

// A nested interval of 1,000 walks, 600 of them inside the segment: 4,000 gPAs translated through
// the EPT (XLATE + ANSWER: 8,000 cycles), 1,000 guest and 2,000 EPT references at 10 cycles
// (30,000), START and DONE (2,000): walk cycles C = 40,000, the segment's 600 walks 24,000 of them
// (the same 40 a walk). TLB hits 10,000 more (translation 50,000). Three exits: two EPT violations
// that backed host pages (10,000 cycles of backing) and one more, each 1,500 of round trip and 200
// of handler: exit 4,500, shim 600 + 10,000 = 10,600. Virtualization 50,000 + 15,100 = 65,100.
IntervalCounters nestedWithSegment() {
  IntervalCounters in;
  in.approach = Approach::Nested;
  in.walks = 1'000;
  in.nested_lookups = 4'000;
  in.guest_references = 1'000;
  in.nested_references = 2'000;
  in.walk_cycles = 40'000;
  in.translation_cycles = 50'000;
  in.segment_walks = 600;
  in.segment_walk_cycles = 24'000;
  in.exits[static_cast<unsigned>(ExitReason::EptViolation)] = 3;
  in.exit_cycles = 4'500;
  in.shim_cycles = 10'600;
  in.host_backings = 2;
  in.host_backing_cycles = 10'000;
  in.guest_segment_bytes = 64 * k2M;
  in.direct_possible = true;
  in.total_cycles = kIntervalCycles;
  return in;
}

AdaptiveParams bothModes() {
  AdaptiveParams params;
  params.guest_direct = true;
  params.dual_direct = true;
  return params;
}

// The segment's counters start empty (the intervals here set them): no segment, not possible.
TEST(SegmentPolicyEstimates, SegmentCountersStartEmpty) {
  const IntervalCounters in;
  EXPECT_EQ(in.segment_walks, 0u);
  EXPECT_EQ(in.segment_walk_cycles, 0u);
  EXPECT_EQ(in.guest_segment_bytes, 0u);
  EXPECT_FALSE(in.direct_possible);
  EXPECT_EQ(in.direct_entry_cycles, 0u);
  const policy::WalkTerms terms = policy::walkTerms(in);  // no walk: no reference, DIRECT's share 1
  EXPECT_EQ(terms.cycles_per_reference, 0.0);
  EXPECT_EQ(terms.ept_references_per_gpa, 0.0);
  EXPECT_EQ(terms.direct_share, 1.0);
}

TEST(SegmentPolicyEstimates, WalkTermsOfANestedInterval) {
  const policy::WalkTerms terms = policy::walkTerms(nestedWithSegment());
  // c = (C - 2W - 2X) / (R_g + R_n) = (40,000 - 2,000 - 8,000) / 3,000 = 10.
  EXPECT_DOUBLE_EQ(terms.cycles_per_reference, 10.0);
  // e = R_n / X = 2,000 / 4,000.
  EXPECT_DOUBLE_EQ(terms.ept_references_per_gpa, 0.5);
  // rho = (X + c R_g) / (C - 2W) = (4,000 + 10,000) / 38,000.
  EXPECT_DOUBLE_EQ(terms.direct_share, 14'000.0 / 38'000.0);
}

TEST(SegmentPolicyEstimates, GuestDirectFromNested) {
  const AdaptivePolicy policy(bothModes());
  // (C - C_S) + S (4 + e c) = 16,000 + 600 x (4 + 0.5 x 10) = 21,400; + hits 10,000 + exits and
  // shim as measured 15,100.
  EXPECT_EQ(policy.estimateGuestDirect(nestedWithSegment()), 46'500u);
}

TEST(SegmentPolicyEstimates, DualDirectFromNested) {
  const AdaptivePolicy policy(bothModes());
  // 3 S + 2 (W - S) + rho (C - C_S - 2 (W - S)) = 1,800 + 800 + (14 / 38) x 15,200 (= 5,600) =
  // 8,200; + hits 10,000; exits and shim less the two EPT violations that backed pages (the
  // backing's 10,000 stays): 15,100 - 2 x 1,700 = 11,700 (an exit priced 1,500 + 0 + 200 by the
  // library's defaults). 29,900 in all.
  EXPECT_EQ(policy.params().exit_cycles, 1'700u);
  EXPECT_EQ(policy.estimateDualDirect(nestedWithSegment()), 29'900u);
}

TEST(SegmentPolicyEstimates, EachModeIsMeasuredInItself) {
  const AdaptivePolicy policy(bothModes());
  IntervalCounters in = nestedWithSegment();
  in.approach = Approach::GuestDirect;
  EXPECT_EQ(policy.estimateGuestDirect(in), 65'100u);
  in.approach = Approach::DualDirect;
  EXPECT_EQ(policy.estimateDualDirect(in), 65'100u);
}

// A guest-direct interval: the 600 segment walks translate one gPA each with 0.5 EPT references
// (300) at 10 cycles: 4 + 5 = 9 cycles each, C_S = 5,400; the 400 outside walks are nested ones
// of 4 gPAs, 1 guest and 2 EPT references: 2 + 8 + 30 = 40 cycles each, 16,000. X = 600 + 1,600,
// R_g = 400, R_n = 300 + 800, C = 21,400; no hits, no exits.
IntervalCounters guestDirectInterval() {
  IntervalCounters in;
  in.approach = Approach::GuestDirect;
  in.walks = 1'000;
  in.segment_walks = 600;
  in.segment_walk_cycles = 5'400;
  in.nested_lookups = 2'200;
  in.guest_references = 400;
  in.nested_references = 1'100;
  in.walk_cycles = 21'400;
  in.translation_cycles = 21'400;
  in.guest_segment_bytes = 64 * k2M;
  in.direct_possible = true;
  in.total_cycles = kIntervalCycles;
  return in;
}

TEST(SegmentPolicyEstimates, DualDirectFromGuestDirectSetsTheSegmentWalksApart) {
  const AdaptivePolicy policy(bothModes());
  const policy::WalkTerms terms = policy::walkTerms(guestDirectInterval());
  // c = (21,400 - 2,000 - 4,400) / 1,500 = 10; rho over the outside walks:
  // (X - S + c R_g) / (C - C_S - 2 (W - S)) = (1,600 + 4,000) / (16,000 - 800) = 5,600 / 15,200.
  EXPECT_DOUBLE_EQ(terms.cycles_per_reference, 10.0);
  EXPECT_DOUBLE_EQ(terms.direct_share, 5'600.0 / 15'200.0);
  // 3 x 600 + 2 x 400 + (5,600 / 15,200) x 15,200 = 1,800 + 800 + 5,600.
  EXPECT_EQ(policy.estimateDualDirect(guestDirectInterval()), 8'200u);
}

TEST(SegmentPolicyEstimates, SwitchCosts) {
  const AdaptivePolicy policy(bothModes());
  IntervalCounters in = nestedWithSegment();
  in.direct_entry_cycles = 123'456;
  EXPECT_EQ(policy.switchCost(Approach::GuestDirect, in), 20'000u);
  EXPECT_EQ(policy.switchCost(Approach::DualDirect, in), 20'000u + 123'456u);
  EXPECT_EQ(policy.switchCost(Approach::Nested, in), 20'000u);
}

TEST(SegmentPolicyEstimates, AllowedOnlyWithTheOptionASegmentAndContiguity) {
  IntervalCounters in = nestedWithSegment();
  const AdaptivePolicy off{AdaptiveParams{}};
  EXPECT_FALSE(off.offersGuestSegment());
  EXPECT_FALSE(off.segmentModeAllowed(Approach::GuestDirect, in));
  EXPECT_FALSE(off.segmentModeAllowed(Approach::DualDirect, in));
  AdaptiveParams guest_only;
  guest_only.guest_direct = true;
  const AdaptivePolicy guest(guest_only);
  EXPECT_TRUE(guest.offersGuestSegment());
  EXPECT_TRUE(guest.segmentModeAllowed(Approach::GuestDirect, in));
  EXPECT_FALSE(guest.segmentModeAllowed(Approach::DualDirect, in));
  const AdaptivePolicy both(bothModes());
  EXPECT_TRUE(both.segmentModeAllowed(Approach::DualDirect, in));
  in.direct_possible = false;  // fragmented beyond the escape filter, compaction off
  EXPECT_FALSE(both.segmentModeAllowed(Approach::DualDirect, in));
  EXPECT_TRUE(both.segmentModeAllowed(Approach::GuestDirect, in));
  in.guest_segment_bytes = 0;  // no segment given (yet)
  EXPECT_FALSE(both.segmentModeAllowed(Approach::GuestDirect, in));
  EXPECT_FALSE(both.segmentModeAllowed(Approach::Direct, in));
}

TEST(SegmentPolicyDecisions, DefaultParametersNeverPickASegmentMode) {
  AdaptivePolicy policy{AdaptiveParams{}};
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(policy.decide(nestedWithSegment()), Approach::Nested) << i;
}

// Entering DUAL_DIRECT costs 100,000 cycles more than GUEST_DIRECT. Gains over the horizon of k
// intervals: guest-direct (65,100 - 46,500) k - 20,000 = 18,600 k - 20,000; dual-direct
// (65,100 - 29,900) k - 120,000 = 35,200 k - 120,000. Both pass the margin (below 0.85 x 65,100 =
// 55,335). k = 1: neither pays (-1,400; -84,800). k = 2: guest-direct 17,200 (dual -49,600), the
// first of patience's two. k = 3: guest-direct 35,800 (dual -14,400): switch.
TEST(SegmentPolicyDecisions, GuestDirectWhenDualDirectsEntryDoesNotPayYet) {
  AdaptivePolicy policy(bothModes());
  IntervalCounters in = nestedWithSegment();
  in.direct_entry_cycles = 100'000;
  EXPECT_EQ(policy.decide(in), Approach::Nested);
  EXPECT_EQ(policy.decide(in), Approach::Nested);
  EXPECT_EQ(policy.decide(in), Approach::GuestDirect);
}

// With a cheap entry (0): dual-direct 35,200 k - 20,000 beats guest-direct's 18,600 k - 20,000
// from k = 1 (15,200 against -1,400); the second decision switches (patience 2).
TEST(SegmentPolicyDecisions, DualDirectWhenItGainsMore) {
  AdaptivePolicy policy(bothModes());
  const IntervalCounters in = nestedWithSegment();
  EXPECT_EQ(policy.bestTarget(in), Approach::Nested);  // no interval seen: no horizon
  EXPECT_EQ(policy.decide(in), Approach::Nested);
  EXPECT_EQ(policy.bestTarget(in), Approach::DualDirect);
  EXPECT_EQ(policy.decide(in), Approach::DualDirect);
}

// Within the margin no switch is taken: 1,000,000 more cycles of TLB hits in the interval make
// nested 1,065,100, guest-direct 1,046,500 and dual-direct 1,029,900, both above 0.85 x 1,065,100
// = 905,335.
TEST(SegmentPolicyDecisions, TheMarginHolds) {
  AdaptivePolicy policy(bothModes());
  IntervalCounters in = nestedWithSegment();
  in.translation_cycles += 1'000'000;
  EXPECT_EQ(policy.estimateDualDirect(in), 1'029'900u);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(policy.decide(in), Approach::Nested) << i;
}

TEST(SegmentPolicyDecisions, FromGuestDirectOnlyToDualDirectAndBackToNestedWithoutASegment) {
  AdaptivePolicy policy(bothModes());
  IntervalCounters gd = guestDirectInterval();
  gd.direct_entry_cycles = 10'000;
  // Measured 21,400 against dual-direct's 8,200 (below 0.85 x 21,400 = 18,190); gain over k
  // intervals 13,200 k - 30,000: k = 1, 2 no; k = 3 9,600, first of two; k = 4 switch.
  EXPECT_EQ(policy.decide(gd), Approach::GuestDirect);
  EXPECT_EQ(policy.decide(gd), Approach::GuestDirect);
  EXPECT_EQ(policy.decide(gd), Approach::GuestDirect);
  EXPECT_EQ(policy.decide(gd), Approach::DualDirect);
  // The segment dissolved under guest-direct: back to nested at the first decision (patience 1).
  AdaptivePolicy other(bothModes());
  gd.guest_segment_bytes = 0;
  EXPECT_EQ(other.decide(gd), Approach::Nested);
}

TEST(SegmentPolicyDecisions, DualDirectIsNeverLeft) {
  AdaptivePolicy policy(bothModes());
  IntervalCounters in = nestedWithSegment();
  in.approach = Approach::DualDirect;
  in.translation_cycles = 5'000'000;  // however dear
  in.guest_segment_bytes = 0;
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(policy.decide(in), Approach::DualDirect) << i;
}

// The shim: a VM offering the segment in every mode (VmmConfig::guest_segment).
struct SegmentVm {
  SegmentVm() {
    vmm::VmmConfig config = System::configFor(64ull << 20, 0.0);
    config.guest_segment = true;
    sys = std::make_unique<System>(Approach::Nested, config, false);
  }
  std::unique_ptr<System> sys;
};

TEST(SegmentPolicyShim, NestedDemandPagesTheSegmentOntoItsFramesAndSwitchesIntoTheSegmentModes) {
  SegmentVm vm;
  System &sys = *vm.sys;
  guest::GuestKernel &k = *sys.kernel;
  EXPECT_TRUE(sys.vmm->hasGuestSegment());
  EXPECT_FALSE(sys.vmm->guestSegmentInForce());
  const guest::Pid a = k.spawn();
  k.switchTo(a);
  const uint64_t buf = k.mmap(a, 8 * k2M, guest::prot::ReadWrite, true);
  ASSERT_EQ(k.giveSegment(a, buf, 4 * k2M), 4 * k2M);
  EXPECT_EQ(sys.vmm->guestSegmentBytes(), 4 * k2M);
  const uint64_t gpa = k.segmentOf(a).gpa;
  // Under nested a touch inside the segment is a guest page fault, mapped to the segment's frame.
  const uint64_t faults = k.stats().page_faults;
  const uint64_t segment_walks = sys.vmm->cost().segment_walks;
  const guest::AccessOutcome nested = k.touch(buf + k2M + 0x2010, Access::Write);
  EXPECT_FALSE(nested.faulted);
  EXPECT_EQ(nested.hpa, sys.vmm->memory().hostOf(gpa + k2M + 0x2010));
  EXPECT_EQ(k.stats().page_faults, faults + 1);
  EXPECT_EQ(k.residentPages(a), 1u);
  EXPECT_EQ(sys.vmm->cost().segment_walks, segment_walks + 2);  // the faulting walk and the retry
  // Into dual-direct: the same page translates by the segment and GBASE, no reference.
  sys.vmm->switchApproach(Approach::DualDirect);
  EXPECT_TRUE(sys.vmm->guestSegmentInForce());
  const uint64_t refs = sys.backend->counter(Counter::GuestReads) + sys.backend->counter(Counter::NestedReads);
  EXPECT_EQ(k.touch(buf + k2M + 0x2010, Access::Read).hpa, sys.vmm->memory().hostBase() + gpa + k2M + 0x2010);
  // A page never touched under nested: no fault, the segment translates it.
  EXPECT_EQ(k.touch(buf + 3 * k2M, Access::Read).hpa, sys.vmm->memory().hostBase() + gpa + 3 * k2M);
  EXPECT_EQ(k.stats().page_faults, faults + 1);
  EXPECT_EQ(sys.backend->counter(Counter::GuestReads) + sys.backend->counter(Counter::NestedReads), refs);
  // Back to guest-direct, then nested: the page mapped under nested still translates there; the
  // other one faults in to its segment frame.
  sys.vmm->switchApproach(Approach::GuestDirect);
  sys.vmm->switchApproach(Approach::Nested);
  EXPECT_EQ(k.touch(buf + 3 * k2M, Access::Read).hpa, sys.vmm->memory().hostOf(gpa + 3 * k2M));
  EXPECT_EQ(k.stats().page_faults, faults + 2);
  EXPECT_EQ(sys.vmm->cost().mode_switches, 3u);
  // Dissolving the segment drops the pages mapped onto its frames before freeing them.
  k.munmap(a, buf, 8 * k2M);
  EXPECT_EQ(k.residentPages(a), 0u);
  EXPECT_EQ(sys.vmm->guestSegmentBytes(), 0u);
}

TEST(SegmentPolicyShim, DirectEntryCyclesCountWhatEnteringWouldBack) {
  vmm::VmmConfig config = System::configFor(64ull << 20, 0.0);
  config.memory.lazy = true;
  config.guest_segment = true;
  System sys(Approach::Nested, config, false);
  // 16,384 pages of 4 KiB; the guest's boot backed some. Each unbacked page costs its clear
  // (250) and each 512 of them (rounded up) one allocation (3,000).
  const uint64_t unbacked = 16'384 - sys.vmm->memory().backedPages();
  ASSERT_GT(unbacked, 0u);
  EXPECT_EQ(sys.vmm->directEntryCycles(), unbacked * 250 + (unbacked + 511) / 512 * 3'000);
}

TEST(SegmentPolicyShim, SwitchingIntoASegmentModeNeedsTheOffer) {
  System sys(Approach::Nested);
  EXPECT_THROW(sys.vmm->switchApproach(Approach::GuestDirect), std::invalid_argument);
  SegmentVm vm;
  vm.sys->vmm->switchApproach(Approach::DualDirect);
  EXPECT_THROW(vm.sys->vmm->switchApproach(Approach::ShadowCaching), std::invalid_argument);
}

}  // namespace
}  // namespace vmmu::testing
