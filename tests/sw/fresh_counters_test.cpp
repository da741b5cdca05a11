// fresh_counters_test.cpp - every counter and record the VMM, the guest and the policy keep
// starts at zero (false for its flags): a count that started at 1 would be off by one in every
// report that reads it whole rather than as a difference. Each size check fails when a field is
// added, until it is listed here.
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "vmmu/guest/balloon.h"
#include "vmmu/guest/cpu.h"
#include "vmmu/guest/guest_kernel.h"
#include "vmmu/policy/experiment.h"
#include "vmmu/policy/policy.h"
#include "vmmu/vmm/mmu_backend.h"
#include "vmmu/vmm/shadow.h"
#include "vmmu/vmm/vm_memory.h"

namespace vmmu::testing {
namespace {

using Fields = std::vector<std::pair<const char *, uint64_t>>;

void expectAllZero(const Fields &fields) {
  for (const auto &[name, value] : fields)
    EXPECT_EQ(value, 0u) << name;
}

TEST(FreshCounters, IntervalCounters) {
  static_assert(sizeof(policy::IntervalCounters) ==
                    (22 + vmm::kNumExitReasons) * sizeof(uint64_t) + 2 * sizeof(uint64_t),
                "list the new field below");
  const policy::IntervalCounters c{};
  EXPECT_EQ(c.approach, vmm::Approach::Nested);
  EXPECT_FALSE(c.direct_possible);
  expectAllZero({{"index", c.index},
                 {"accesses", c.accesses},
                 {"tlb_misses", c.tlb_misses},
                 {"walks", c.walks},
                 {"guest_references", c.guest_references},
                 {"nested_references", c.nested_references},
                 {"walk_cycles", c.walk_cycles},
                 {"nested_lookups", c.nested_lookups},
                 {"guest_page_faults", c.guest_page_faults},
                 {"cr3_writes", c.cr3_writes},
                 {"translation_cycles", c.translation_cycles},
                 {"exit_cycles", c.exit_cycles},
                 {"shim_cycles", c.shim_cycles},
                 {"host_backings", c.host_backings},
                 {"host_backing_cycles", c.host_backing_cycles},
                 {"guest_used_pages", c.guest_used_pages},
                 {"guest_table_pages", c.guest_table_pages},
                 {"total_cycles", c.total_cycles},
                 {"segment_walks", c.segment_walks},
                 {"segment_walk_cycles", c.segment_walk_cycles},
                 {"guest_segment_bytes", c.guest_segment_bytes},
                 {"direct_entry_cycles", c.direct_entry_cycles},
                 {"totalExits()", c.totalExits()}});
}

TEST(FreshCounters, RunResult) {
  const policy::RunResult r{};
  EXPECT_FALSE(r.stopped);
  EXPECT_FALSE(r.direct_fell_back);
  EXPECT_TRUE(r.intervals.empty());
  EXPECT_EQ(r.ept_table_bytes, 0u);
  EXPECT_EQ(r.cycles(), 0u);
  for (unsigned c = 0; c < kNumCounters; ++c)
    EXPECT_EQ(r.counters[c], 0u) << "counter " << c;
  EXPECT_EQ(r.notes(), "");
}

TEST(FreshCounters, ShadowStats) {
  static_assert(sizeof(vmm::ShadowStats) == 13 * sizeof(uint64_t), "list the new field below");
  const vmm::ShadowStats s{};
  expectAllZero({{"fills", s.fills},
                 {"prefetched", s.prefetched},
                 {"propagated", s.propagated},
                 {"injected", s.injected},
                 {"emulated_writes", s.emulated_writes},
                 {"zaps", s.zaps},
                 {"write_protects", s.write_protects},
                 {"spaces_created", s.spaces_created},
                 {"spaces_dropped", s.spaces_dropped},
                 {"tables_allocated", s.tables_allocated},
                 {"tables_freed", s.tables_freed},
                 {"agile_switches", s.agile_switches},
                 {"agile_reverts", s.agile_reverts}});
}

TEST(FreshCounters, GuestStats) {
  static_assert(sizeof(guest::GuestStats) == 10 * sizeof(uint64_t), "list the new field below");
  const guest::GuestStats s{};
  expectAllZero({{"page_faults", s.page_faults},
                 {"huge_page_faults", s.huge_page_faults},
                 {"cow_faults", s.cow_faults},
                 {"pte_writes", s.pte_writes},
                 {"invlpgs", s.invlpgs},
                 {"cr3_writes", s.cr3_writes},
                 {"table_pages_allocated", s.table_pages_allocated},
                 {"table_pages_freed", s.table_pages_freed},
                 {"segments_given", s.segments_given},
                 {"segments_dissolved", s.segments_dissolved}});
}

TEST(FreshCounters, Backing) {
  static_assert(sizeof(vmm::Backing) == 4 * sizeof(uint64_t), "list the new field below");
  const vmm::Backing b{};
  expectAllZero({{"units", b.units},
                 {"pages", b.pages},
                 {"ept_tables", b.ept_tables},
                 {"ept_replicated_leaves", b.ept_replicated_leaves}});
}

// The records a single operation returns: an access's outcome, a shadow fault's result, a
// translation's timing, a balloon request's result, the oracle's schedule.
TEST(FreshCounters, OperationRecords) {
  const guest::AccessOutcome outcome{};
  EXPECT_FALSE(outcome.faulted);
  expectAllZero({{"error_code", outcome.error_code}, {"hpa", outcome.hpa}, {"loaded", outcome.loaded}});
  const guest::UserAccess access{};
  EXPECT_EQ(access.va, 0u);
  EXPECT_EQ(access.access, Access::Read);
  const vmm::ShadowPager::FaultResult fault{};
  EXPECT_EQ(fault.outcome, vmm::ShadowPager::FaultOutcome::Filled);
  expectAllZero({{"error_code", fault.error_code}, {"hpa", fault.hpa}, {"gpa", fault.gpa}});
  const Response response{};
  const vmm::Translation translation{response};
  EXPECT_FALSE(translation.walked);
  expectAllZero({{"walk_cycles", translation.walk_cycles}, {"stlb_cycles", translation.stlb_cycles}});
  const guest::BalloonResult balloon{};
  EXPECT_TRUE(balloon.given.empty());
  EXPECT_TRUE(balloon.kept.empty());
  EXPECT_EQ(balloon.migrated, 0u);
  const guest::GuestKernel::SegmentView segment{};
  expectAllZero({{"start", segment.start}, {"end", segment.end}, {"gpa", segment.gpa}});
  const policy::OracleResult oracle{};
  EXPECT_EQ(oracle.cycles, 0u);
  EXPECT_TRUE(oracle.schedule.empty());
}

}  // namespace
}  // namespace vmmu::testing
