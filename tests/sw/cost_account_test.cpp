// cost_account_test.cpp - the cost account's arithmetic by hand: the difference of two accounts
// field by field (the policy's intervals and the tests' before/after figures are such
// differences), its totals, and the exit reasons' names.
#include <gtest/gtest.h>

#include "vmmu/policy/policy.h"
#include "vmmu/vmm/costs.h"

namespace vmmu::vmm {
namespace {

// An account whose every field differs from every other, scaled by `k`.
RunCost account(uint64_t k) {
  RunCost c;
  c.accesses = 1 * k;
  c.translations = 2 * k;
  c.translation_cycles = 3 * k;
  c.access_cycles = 4 * k;
  for (unsigned r = 0; r < kNumExitReasons; ++r)
    c.exits[r] = (10 + r) * k;
  c.exit_cycles = 5 * k;
  c.shim_cycles = 6 * k;
  c.guest_work_cycles = 7 * k;
  c.guest_page_faults = 8 * k;
  c.cr3_writes = 9 * k;
  c.control_commands = 20 * k;
  c.page_moves = 21 * k;
  c.mode_switches = 22 * k;
  return c;
}

TEST(CostAccount, DifferenceIsFieldByField) {
  const RunCost later = account(5), earlier = account(2);
  const RunCost d = later - earlier;  // every field 3 times its scale
  EXPECT_EQ(d.accesses, 3u);
  EXPECT_EQ(d.translations, 6u);
  EXPECT_EQ(d.translation_cycles, 9u);
  EXPECT_EQ(d.access_cycles, 12u);
  for (unsigned r = 0; r < kNumExitReasons; ++r)
    EXPECT_EQ(d.exits[r], (10 + r) * 3u) << toString(static_cast<ExitReason>(r));
  EXPECT_EQ(d.exit_cycles, 15u);
  EXPECT_EQ(d.shim_cycles, 18u);
  EXPECT_EQ(d.guest_work_cycles, 21u);
  EXPECT_EQ(d.guest_page_faults, 24u);
  EXPECT_EQ(d.cr3_writes, 27u);
  EXPECT_EQ(d.control_commands, 60u);
  EXPECT_EQ(d.page_moves, 63u);
  EXPECT_EQ(d.mode_switches, 66u);
}

TEST(CostAccount, TotalsAddTheirParts) {
  const RunCost c = account(1);
  // translation 3 + accesses 4 + exits 5 + shim 6 + guest work 7.
  EXPECT_EQ(c.totalCycles(), 25u);
  // What the VMM adds: translation, exits and its own work.
  EXPECT_EQ(c.virtualizationCycles(), 14u);
  // Exits 10 + 11 + ... over the seven reasons.
  EXPECT_EQ(kNumExitReasons, 7u);
  EXPECT_EQ(c.totalExits(), 10u + 11 + 12 + 13 + 14 + 15 + 16);
  // A fresh account counts nothing.
  const RunCost zero;
  EXPECT_EQ(zero.totalExits(), 0u);
  EXPECT_EQ(zero.totalCycles(), 0u);  // translation, access, exit, shim and guest work cycles
  EXPECT_EQ(zero.accesses + zero.translations + zero.guest_page_faults + zero.cr3_writes + zero.control_commands +
                zero.page_moves + zero.mode_switches,
            0u);

  policy::IntervalCounters in;
  in.translation_cycles = 3;
  in.exit_cycles = 5;
  in.shim_cycles = 6;
  in.total_cycles = 100;
  for (unsigned r = 0; r < kNumExitReasons; ++r)
    in.exits[r] = r + 1;
  EXPECT_EQ(in.virtualizationCycles(), 14u);
  EXPECT_EQ(in.totalExits(), 28u);
  // A fresh record counts nothing.
  const policy::IntervalCounters fresh;
  EXPECT_EQ(fresh.virtualizationCycles(), 0u);
  EXPECT_EQ(fresh.totalExits(), 0u);
  EXPECT_EQ(fresh.index + fresh.accesses + fresh.tlb_misses + fresh.walks + fresh.guest_references +
                fresh.nested_references + fresh.walk_cycles + fresh.guest_page_faults + fresh.cr3_writes +
                fresh.total_cycles,
            0u);
  EXPECT_EQ(fresh.approach, Approach::Nested);
}

TEST(CostAccount, ExitReasonNames) {
  EXPECT_EQ(toString(ExitReason::ShadowFault), "shadow-fault");
  EXPECT_EQ(toString(ExitReason::PageTableWrite), "pt-write");
  EXPECT_EQ(toString(ExitReason::Cr3Write), "cr3-write");
  EXPECT_EQ(toString(ExitReason::Invlpg), "invlpg");
  EXPECT_EQ(toString(ExitReason::EptViolation), "ept-violation");
  EXPECT_EQ(toString(ExitReason::Bounds), "bounds");
  EXPECT_EQ(toString(ExitReason::ModeSwitch), "mode-switch");
  EXPECT_EQ(toString(ExitReason::Count), "?");
}

}  // namespace
}  // namespace vmmu::vmm
