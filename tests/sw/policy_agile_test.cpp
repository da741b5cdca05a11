// policy_agile_test.cpp - agile paging as the adaptive policy's target (docs/architecture.md §16,
// `--policy-modes agile`): the share of guest page faults that still exit, agile's estimates from
// a nested and from a caching-shadow interval, nested's from an agile interval, the switch costs,
// the decisions (into agile from nested and from the caching shadow, out of it to nested only),
// that the default parameters never pick it, and the shim's side: Vmm::switchApproach into and
// out of AGILE, what each switch builds or tears down and what it costs. Every expectation is
// worked out by hand beside it.
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "sw_test_support.h"
#include "vmmu/policy/experiment.h"
#include "vmmu/policy/policy.h"

namespace vmmu::testing {
namespace {

using policy::AdaptiveParams;
using policy::AdaptivePolicy;
using policy::IntervalCounters;
using vmm::Approach;
using vmm::ExitReason;
constexpr uint64_t k4K = 4096;

// Parameters that do not depend on the library's defaults: an exit priced 3,000 and the shim's
// work per exit 1,000 (4,000 a shadow exit until shadow has been measured), the nested/guest
// reference ratio 3, the switch threshold 4.
AdaptiveParams agileParams(bool agile = true) {
  AdaptiveParams params;
  params.agile = agile;
  params.agile_switch_writes = 4;
  params.exit_cycles = 3'000;
  params.exit_work_cycles = 1'000;
  params.prefetch_scan_cycles = 0;
  params.nested_walk_ratio = 3.0;
  return params;
}

// The first interval the policy sees: 40 guest page faults, 1,000 pages in use and one guest table
// page, 2,000,000 cycles of run time, no walk. Afterwards the resident set is min(40, 1,000) = 40
// pages, and a later interval of 100,000 cycles has a horizon of 2,000,000 / 100,000 = 20.
IntervalCounters priming() {
  IntervalCounters in;
  in.approach = Approach::Nested;
  in.guest_page_faults = 40;
  in.guest_used_pages = 1'000;
  in.guest_table_pages = 1;
  in.total_cycles = 2'000'000;
  return in;
}

// A nested interval of 1,000 walks: 4,000 gPAs translated (XLATE + ANSWER: 8,000 cycles), 1,000
// guest and 2,000 EPT references at 10 cycles (30,000), START and DONE (2,000): C = 40,000, so
// c = 10 and e = 2,000 / 4,000 = 0.5. TLB hits 10,000 more (T = 50,000). 5 guest page faults and
// 2 CR3 writes (no exit under nested); three EPT violations, two of which backed host pages
// (10,000 cycles of backing): exit 4,500, shim 10,600. Measured: 50,000 + 15,100 = 65,100.
IntervalCounters nestedInterval() {
  IntervalCounters in;
  in.approach = Approach::Nested;
  in.walks = 1'000;
  in.nested_lookups = 4'000;
  in.guest_references = 1'000;
  in.nested_references = 2'000;
  in.walk_cycles = 40'000;
  in.translation_cycles = 50'000;
  in.guest_page_faults = 5;
  in.cr3_writes = 2;
  in.exits[static_cast<unsigned>(ExitReason::EptViolation)] = 3;
  in.exit_cycles = 4'500;
  in.shim_cycles = 10'600;
  in.host_backings = 2;
  in.host_backing_cycles = 10'000;
  in.guest_used_pages = 1'000;
  in.guest_table_pages = 1;
  in.total_cycles = 100'000;
  return in;
}

// A caching-shadow interval of 1,000 walks, 1,000 guest references at 10 cycles each beyond their
// XLATE: C = 2,000 + 1,000 + 10,000 = 13,000, T = 23,000. 20 guest page faults; 52 exits
// (30 shadow faults, 20 trapped PTE stores, 2 CR3 writes) at 3,000 + 1,000: exit 156,000, shim
// 52,000. Measured: 23,000 + 208,000 = 231,000.
IntervalCounters cachingInterval() {
  IntervalCounters in;
  in.approach = Approach::ShadowCaching;
  in.walks = 1'000;
  in.guest_references = 1'000;
  in.walk_cycles = 13'000;
  in.translation_cycles = 23'000;
  in.guest_page_faults = 20;
  in.cr3_writes = 2;
  in.exits[static_cast<unsigned>(ExitReason::ShadowFault)] = 30;
  in.exits[static_cast<unsigned>(ExitReason::PageTableWrite)] = 20;
  in.exits[static_cast<unsigned>(ExitReason::Cr3Write)] = 2;
  in.exit_cycles = 156'000;
  in.shim_cycles = 52'000;
  in.guest_used_pages = 1'000;
  in.guest_table_pages = 1;
  in.total_cycles = 100'000;
  return in;
}

// An agile interval of 1,000 walks, 200 of them below a switch (each translated its final gPA: X =
// 200, with 600 EPT references): 1,000 guest-dimension references, C = 2,000 START/DONE + 1,000
// XLATE + 200 ANSWER + 1,600 references x 10 = 19,200, T = 29,200. Exits 100,000, shim 20,000:
// measured 149,200.
IntervalCounters agileInterval() {
  IntervalCounters in;
  in.approach = Approach::Agile;
  in.walks = 1'000;
  in.nested_lookups = 200;
  in.guest_references = 1'000;
  in.nested_references = 600;
  in.walk_cycles = 19'200;
  in.translation_cycles = 29'200;
  in.exits[static_cast<unsigned>(ExitReason::ShadowFault)] = 25;
  in.exit_cycles = 100'000;
  in.shim_cycles = 20'000;
  in.guest_used_pages = 1'000;
  in.guest_table_pages = 1;
  in.total_cycles = 100'000;
  return in;
}

TEST(AgilePolicyEstimates, TrappedFaultShare) {
  AdaptivePolicy policy(agileParams());
  // Nothing known yet: every fault is taken to exit, as under the caching shadow.
  EXPECT_DOUBLE_EQ(policy.agileTrappedFaultShare(), 1.0);
  EXPECT_DOUBLE_EQ(policy.agileSwitchedWalkShare(), 1.0);
  EXPECT_DOUBLE_EQ(policy.eptReferencesPerGpa(), 4.0);
  policy.decide(priming());
  // 4 trapped stores per table x 1 table page / 40 resident pages.
  EXPECT_DOUBLE_EQ(policy.agileTrappedFaultShare(), 0.1);
  // 20 table pages: 80 trapped stores for 40 pages, at most every fault.
  IntervalCounters dense = priming();
  dense.guest_table_pages = 20;
  AdaptivePolicy other(agileParams());
  other.decide(dense);
  EXPECT_DOUBLE_EQ(other.agileTrappedFaultShare(), 1.0);
}

TEST(AgilePolicyEstimates, AgileFromNested) {
  AdaptivePolicy policy(agileParams());
  policy.decide(priming());
  // Walk: 2W + X + c R_g = 2,000 + 4,000 + 10,000, plus s W (1 + e c) = 1 x 1,000 x (1 + 5) =
  // 6,000: 22,000. Exits: 2 x 0.1 x 5 faults + 1 x 2 CR3 writes = 3, at 4,000: 12,000. T - C =
  // 10,000 and the backing 10,000: 54,000.
  EXPECT_NEAR(static_cast<double>(policy.estimateAgile(nestedInterval())), 54'000.0, 1.0);
  // The caching shadow on the same interval: walk 16,000, exits (2 x 5 + 2) x 4,000 = 48,000,
  // and 20,000: 84,000 (its every fault exits twice).
  EXPECT_EQ(policy.estimateShadow(nestedInterval(), Approach::ShadowCaching), 84'000u);
  // Before any table is known, every fault is taken to exit: agile is the caching shadow plus its
  // walks' final translations (84,000 + 6,000).
  AdaptivePolicy fresh(agileParams());
  EXPECT_NEAR(static_cast<double>(fresh.estimateAgile(nestedInterval())), 90'000.0, 1.0);
}

TEST(AgilePolicyEstimates, AgileFromTheCachingShadow) {
  AdaptivePolicy policy(agileParams());
  policy.decide(priming());
  // Measured 231,000; below a switch s W (1 + e c') = 1 x 1,000 x (1 + 4 x 10) = 41,000 (e: the
  // prior 4, no nested interval translated a gPA; c' = (13,000 - 2,000 - 1,000) / 1,000 = 10);
  // saved (1 - 0.1) x 2 x 20 faults x 4,000 = 144,000: 128,000.
  EXPECT_NEAR(static_cast<double>(policy.estimateAgile(cachingInterval())), 128'000.0, 1.0);
}

TEST(AgilePolicyEstimates, AgileIsMeasuredInItselfAndNestedIsEstimatedFromIt) {
  AdaptivePolicy policy(agileParams());
  EXPECT_EQ(policy.estimateAgile(agileInterval()), 149'200u);
  // Beyond START and DONE 17,200: 1,000 XLATE, 200 ANSWER, 16,000 of memory for 1,600 references,
  // 10,000 of it the guest's 1,000; nested: 2,000 + 2 x 1,000 + 10,000 x 3 = 34,000, plus T - C
  // 10,000 and no backing: 44,000.
  EXPECT_EQ(policy.estimateNested(agileInterval()), 44'000u);
}

TEST(AgilePolicyEstimates, SwitchCosts) {
  AdaptivePolicy policy(agileParams());
  policy.decide(priming());
  // From nested: the base and the caching shadow's rebuild, 40 resident pages x 4,000.
  EXPECT_EQ(policy.switchCost(Approach::Agile), 20'000u + 160'000u);
  EXPECT_EQ(policy.switchCost(Approach::Agile, nestedInterval()), 180'000u);
  EXPECT_EQ(policy.switchCost(Approach::Agile), policy.switchCost(Approach::ShadowCaching));
  // From the caching shadow its tables are kept: the base alone.
  EXPECT_EQ(policy.switchCost(Approach::Agile, cachingInterval()), 20'000u);
  // Out of agile, to nested: the base.
  EXPECT_EQ(policy.switchCost(Approach::Nested, agileInterval()), 20'000u);
}

TEST(AgilePolicyDecisions, IntoAgileFromNestedWhenItPaysAndOnlyWhenOptedIn) {
  AdaptivePolicy policy(agileParams());
  policy.decide(priming());
  // Agile 54,000 < 0.85 x 65,100 = 55,335; the gain 11,100 >= 5% of 100,000; net gain over the
  // horizon 11,100 x 20 - 180,000 = 42,000 > 0. The caching shadow (84,000) is dearer than nested.
  EXPECT_EQ(policy.bestTarget(nestedInterval()), Approach::Agile);
  AdaptivePolicy without(agileParams(false));
  without.decide(priming());
  EXPECT_EQ(without.bestTarget(nestedInterval()), Approach::Nested);
  // The minimum gain applies from nested, as into shadow: 20% of 100,000 is more than 11,100.
  AdaptiveParams insured = agileParams();
  insured.min_gain_fraction = 0.2;
  AdaptivePolicy cautious(insured);
  cautious.decide(priming());
  EXPECT_EQ(cautious.bestTarget(nestedInterval()), Approach::Nested);
  // Patience 2: the second such boundary switches.
  EXPECT_EQ(policy.decide(nestedInterval()), Approach::Nested);
  EXPECT_EQ(policy.decide(nestedInterval()), Approach::Agile);
}

TEST(AgilePolicyDecisions, IntoAgileFromTheCachingShadowAtOnce) {
  AdaptivePolicy policy(agileParams());
  policy.decide(priming());
  // Nested from the caching interval: 2,000 + 2 x 1,000 + 10,000 x 3 + 10,000 = 44,000, which
  // would win; make it dearer (ratio 20: 2,000 + 2,000 + 200,000 + 10,000 = 214,000, above
  // 0.85 x 231,000 = 196,350).
  AdaptiveParams params = agileParams();
  params.nested_walk_ratio = 20.0;
  AdaptivePolicy dear_nested(params);
  dear_nested.decide(priming());
  EXPECT_EQ(dear_nested.estimateNested(cachingInterval()), 214'000u);
  // The interval's 20 faults make the resident set 60 (t = 4 / 60): agile 231,000 + 41,000 -
  // (14 / 15) x 160,000 = 122,667 < 196,350, and (231,000 - 122,667) x 21 - 20,000 > 0 (no minimum
  // gain from the caching shadow); patience_leave_shadow 1: the first boundary switches.
  EXPECT_EQ(dear_nested.decide(cachingInterval()), Approach::Agile);
  params.agile = false;
  AdaptivePolicy without(params);
  without.decide(priming());
  EXPECT_EQ(without.decide(cachingInterval()), Approach::ShadowCaching);
  // When nested gains more, nested: (231,000 - 44,000) x 21 - 20,000 against 103,000 x 21 - 20,000.
  EXPECT_EQ(policy.decide(cachingInterval()), Approach::Nested);
}

TEST(AgilePolicyDecisions, AgileLeavesOnlyForNestedAndLearnsItsWalkShare) {
  AdaptivePolicy policy(agileParams());
  policy.decide(priming());
  // Nested 44,000 < 0.85 x 149,200; (149,200 - 44,000) x 21 - 20,000 > 0: back to nested at once.
  EXPECT_EQ(policy.decide(agileInterval()), Approach::Nested);
  // 200 of the 1,000 walks ended below a switch.
  EXPECT_DOUBLE_EQ(policy.agileSwitchedWalkShare(), 0.2);
  // A cheap agile interval stays: agile is never left for the caching shadow, however the caching
  // shadow would have done.
  IntervalCounters cheap = agileInterval();
  cheap.exits = {};
  cheap.exit_cycles = 0;
  cheap.shim_cycles = 0;
  AdaptivePolicy staying(agileParams());
  staying.decide(priming());
  EXPECT_EQ(staying.decide(cheap), Approach::Agile);
  EXPECT_EQ(staying.decide(cheap), Approach::Agile);
}

TEST(AgilePolicyDecisions, DefaultParametersNeverPickAgile) {
  AdaptivePolicy policy;
  EXPECT_FALSE(policy.params().agile);
  EXPECT_FALSE(policy.offersGuestSegment());
  for (int i = 0; i < 6; ++i) {
    EXPECT_NE(policy.decide(priming()), Approach::Agile);
    EXPECT_NE(policy.decide(nestedInterval()), Approach::Agile);
  }
  AdaptiveParams bad;
  bad.agile_switch_writes = 0;
  EXPECT_THROW(AdaptivePolicy{bad}, std::invalid_argument);
}

// The shim's side (Vmm::switchApproach, §16): a small guest with 4 KiB pages.
System smallPages(Approach approach) {
  vmm::VmmConfig config = System::configFor(64ull << 20, 0.0);
  config.check_invariants_each_exit = true;
  return System(approach, config, false);
}

uint64_t exits(const System &sys, ExitReason reason) { return sys.vmm->cost().exits[static_cast<unsigned>(reason)]; }

TEST(AgileSwitches, NestedIntoAgileBuildsAnAllShadowedSpace) {
  System sys = smallPages(Approach::Nested);
  guest::GuestKernel &k = *sys.kernel;
  const guest::Pid a = k.spawn();
  k.switchTo(a);
  const uint64_t buf = k.mmap(a, 8 * k4K, guest::prot::ReadWrite, false);
  k.touch(buf, Access::Write);
  const vmm::CostConfig costs;
  const vmm::RunCost before = sys.vmm->cost();
  sys.vmm->switchApproach(Approach::Agile);
  const vmm::RunCost d = sys.vmm->cost() - before;
  // One mode-switch exit; the handler, MODE written, the space's root table, CR3 written.
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::ModeSwitch)], 1u);
  EXPECT_EQ(d.totalExits(), 1u);
  EXPECT_EQ(d.exit_cycles, costs.exit_round_trip + costs.exit_indirect);
  EXPECT_EQ(d.shim_cycles, costs.exit_handler + 2 * costs.control_command + costs.shadow_table_alloc);
  EXPECT_EQ(d.control_commands, 2u);
  EXPECT_EQ(sys.backend->mmu().readReg(0, CtxReg::Mode), static_cast<uint64_t>(Mode::Agile));
  EXPECT_EQ(sys.backend->mmu().readReg(0, CtxReg::Gcr3), 0u);  // ROOT_NESTED clear: never set
  ASSERT_NE(sys.vmm->shadow(), nullptr);
  EXPECT_EQ(sys.vmm->shadow()->variant(), vmm::ShadowVariant::Agile);
  EXPECT_EQ(sys.vmm->shadow()->switchedTables(), 0u);
  // Every table starts shadowed: the page mapped under nested is refilled by one shadow fault.
  const uint64_t faults = exits(sys, ExitReason::ShadowFault);
  k.touch(buf, Access::Read);
  EXPECT_EQ(exits(sys, ExitReason::ShadowFault), faults + 1);
  // Back to nested: every shadow table dropped, no more exits.
  sys.vmm->switchApproach(Approach::Nested);
  EXPECT_EQ(sys.vmm->shadow(), nullptr);
  EXPECT_EQ(sys.backend->mmu().readReg(0, CtxReg::Mode), static_cast<uint64_t>(Mode::Nested));
  const uint64_t all = sys.vmm->cost().totalExits();
  k.touch(buf, Access::Read);
  EXPECT_EQ(sys.vmm->cost().totalExits(), all);
}

TEST(AgileSwitches, CachingShadowIntoAgileKeepsItsTables) {
  System sys = smallPages(Approach::ShadowCaching);
  guest::GuestKernel &k = *sys.kernel;
  const guest::Pid a = k.spawn();
  k.switchTo(a);
  const uint64_t buf = k.mmap(a, 64 * k4K, guest::prot::ReadWrite, false);
  for (unsigned i = 0; i < 4; ++i)
    k.touch(buf + k4K * i, Access::Write);
  const vmm::ShadowPager *pager = sys.vmm->shadow();
  const size_t spaces = pager->spaceCount();
  const uint64_t tables = pager->stats().tables_allocated;
  const uint64_t root = sys.backend->mmu().readReg(0, CtxReg::Cr3);
  const vmm::CostConfig costs;
  const vmm::RunCost before = sys.vmm->cost();
  sys.vmm->switchApproach(Approach::Agile);
  const vmm::RunCost d = sys.vmm->cost() - before;
  // One exit, the handler and the MODE write: no table built or freed, CR3 kept.
  EXPECT_EQ(d.totalExits(), 1u);
  EXPECT_EQ(d.shim_cycles, costs.exit_handler + costs.control_command);
  EXPECT_EQ(d.control_commands, 1u);
  EXPECT_EQ(sys.vmm->shadow(), pager);
  EXPECT_EQ(pager->variant(), vmm::ShadowVariant::Agile);
  EXPECT_EQ(pager->spaceCount(), spaces);
  EXPECT_EQ(pager->stats().tables_allocated, tables);
  EXPECT_EQ(pager->stats().tables_freed, 0u);
  EXPECT_EQ(sys.backend->mmu().readReg(0, CtxReg::Cr3), root);
  EXPECT_EQ(sys.backend->mmu().readReg(0, CtxReg::Mode), static_cast<uint64_t>(Mode::Agile));
  // The pages mapped under the caching shadow translate without a refill.
  const uint64_t all = sys.vmm->cost().totalExits();
  for (unsigned i = 0; i < 4; ++i)
    k.touch(buf + k4K * i, Access::Read);
  EXPECT_EQ(sys.vmm->cost().totalExits(), all);
  // Agile's policy from now on: the trapped writes count afresh (4 more new pages), then the
  // table goes nested.
  for (unsigned i = 4; i < 16 && pager->switchedTables() == 0; ++i)
    k.touch(buf + k4K * i, Access::Write);
  EXPECT_EQ(pager->switchedTables(), 1u);
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

TEST(AgileSwitches, AgileIntoCachingShadowRevertsEverySwitch) {
  System sys = smallPages(Approach::Agile);
  guest::GuestKernel &k = *sys.kernel;
  const guest::Pid a = k.spawn();
  k.switchTo(a);
  const uint64_t buf = k.mmap(a, 64 * k4K, guest::prot::ReadWrite, false);
  for (unsigned i = 0; i < 16 && sys.vmm->shadow()->switchedTables() == 0; ++i)
    k.touch(buf + k4K * i, Access::Write);
  ASSERT_EQ(sys.vmm->shadow()->switchedTables(), 1u);
  const vmm::CostConfig costs;
  const vmm::RunCost before = sys.vmm->cost();
  sys.vmm->switchApproach(Approach::ShadowCaching);
  const vmm::RunCost d = sys.vmm->cost() - before;
  // One exit; the handler, the switching PDE cleared (one shadow-entry write and an INV_PCID),
  // MODE written.
  EXPECT_EQ(d.totalExits(), 1u);
  EXPECT_EQ(d.shim_cycles, costs.exit_handler + costs.shadow_entry_write + 2 * costs.control_command);
  EXPECT_EQ(d.control_commands, 2u);
  EXPECT_EQ(sys.vmm->shadow()->variant(), vmm::ShadowVariant::Caching);
  EXPECT_EQ(sys.vmm->shadow()->switchedTables(), 0u);
  EXPECT_EQ(sys.vmm->shadow()->stats().agile_reverts, 1u);
  EXPECT_EQ(sys.backend->mmu().readReg(0, CtxReg::Mode), static_cast<uint64_t>(Mode::Shadow));
  // The table is refilled by a shadow fault and write-protected again: a new page's PTE store traps.
  const uint64_t faults = exits(sys, ExitReason::ShadowFault);
  k.touch(buf, Access::Read);
  EXPECT_EQ(exits(sys, ExitReason::ShadowFault), faults + 1);
  const uint64_t pt_writes = exits(sys, ExitReason::PageTableWrite);
  k.touch(buf + k4K * 40, Access::Write);
  EXPECT_EQ(exits(sys, ExitReason::PageTableWrite), pt_writes + 1);
  EXPECT_TRUE(sys.vmm->checkInvariants().empty());
}

TEST(AgileSwitches, AgileIntoPrefetchingShadowStartsAnew) {
  System sys = smallPages(Approach::Agile);
  guest::GuestKernel &k = *sys.kernel;
  const guest::Pid a = k.spawn();
  k.switchTo(a);
  k.touch(k.mmap(a, 8 * k4K, guest::prot::ReadWrite, false), Access::Write);
  const vmm::ShadowStats &stats = sys.vmm->shadow()->stats();
  const uint64_t tables = stats.tables_allocated - stats.tables_freed;
  const uint64_t spaces = sys.vmm->shadow()->spaceCount();  // the boot's and the process's
  const vmm::RunCost before = sys.vmm->cost();
  sys.vmm->switchApproach(Approach::ShadowPrefetch);
  const vmm::RunCost d = sys.vmm->cost() - before;
  const vmm::CostConfig costs;
  // The handler; every table freed and each space's PCID flushed; MODE; the new space's root; CR3.
  EXPECT_EQ(d.shim_cycles, costs.exit_handler + tables * costs.shadow_table_free + spaces * costs.control_command +
                               2 * costs.control_command + costs.shadow_table_alloc);
  EXPECT_EQ(sys.vmm->shadow()->variant(), vmm::ShadowVariant::Prefetch);
  EXPECT_EQ(sys.backend->mmu().readReg(0, CtxReg::Mode), static_cast<uint64_t>(Mode::Shadow));
  EXPECT_THROW(sys.vmm->switchApproach(Approach::Native), std::invalid_argument);
}

// Switches along a script, one entry per decision (then stays): drives PolicyRun as `vmmu run`
// drives the adaptive policy.
class ScriptedPolicy final : public policy::SwitchPolicy {
public:
  explicit ScriptedPolicy(std::vector<Approach> script) : script_(std::move(script)) {}
  std::string name() const override { return "scripted"; }
  Approach initial() const override { return Approach::Nested; }
  Approach decide(const IntervalCounters &) override { return script_[std::min(next_++, script_.size() - 1)]; }

private:
  std::vector<Approach> script_;
  size_t next_ = 0;
};

TEST(AgileSwitches, APolicyRunMovesInAndOutOfAgileAtIntervalBoundaries) {
  ScriptedPolicy policy({Approach::Agile, Approach::ShadowCaching, Approach::Agile, Approach::Nested});
  policy::ExperimentConfig config;
  config.vmm.memory.bytes = 64ull << 20;
  config.interval = 8;
  policy::PolicyRun run(config, policy);
  guest::GuestKernel &k = run.kernel();
  const guest::Pid pid = k.spawn();
  k.switchTo(pid);
  const uint64_t base = k.mmap(pid, 64 * k4K, guest::prot::ReadWrite, false);
  // Five intervals of 8 first touches each (a guest page fault and a PTE store apiece).
  for (uint64_t interval = 0; interval < 5; ++interval)
    run.advance([&](guest::GuestKernel &kernel) {
      for (uint64_t page = 0; page < 8; ++page)
        kernel.touch(base + (8 * interval + page) * k4K, Access::Write);
      return uint64_t{8};
    });
  const policy::RunResult result = run.finish();
  EXPECT_EQ(result.modeTimeline(), "nacan");
  EXPECT_EQ(result.cost.mode_switches, 4u);
  EXPECT_EQ(result.cost.guest_page_faults, 40u);
  // The second agile interval, entered from the caching shadow with its tables: its 8 faults'
  // first 4 PTE stores trap, then the table is walked nested and the rest go to the guest.
  const IntervalCounters &agile = result.intervals[3];
  EXPECT_EQ(agile.guest_page_faults, 8u);
  EXPECT_EQ(agile.exits[static_cast<unsigned>(ExitReason::PageTableWrite)], 4u);
  EXPECT_GT(agile.nested_lookups, 0u);  // walks below the switch translate their final gPA
}

}  // namespace
}  // namespace vmmu::testing
