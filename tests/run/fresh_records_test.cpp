// fresh_records_test.cpp - every counter and record of the VMM, the guest, the policy, the
// replay and the trace tools starts empty: each count at zero and each flag false (an event's
// fields zero unless its kind sets them: events compare equal exactly when they encode to the
// same bytes, event.h). A count that started at 1 would be off by one in every report that reads
// it whole rather than as a difference. Each size check fails when a field is added, until it is
// listed here. In tests/run, whose label every sw/ folder's mutants run (scripts/mutate).
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "vmmu/guest/balloon.h"
#include "vmmu/guest/cpu.h"
#include "vmmu/guest/guest_kernel.h"
#include "vmmu/policy/experiment.h"
#include "vmmu/policy/policy.h"
#include "vmmu/run/trace_replay.h"
#include "vmmu/run/trace_run.h"
#include "vmmu/trace/event.h"
#include "vmmu/trace/generate.h"
#include "vmmu/trace/mix.h"
#include "vmmu/trace/summary.h"
#include "vmmu/vmm/mmu_backend.h"
#include "vmmu/vmm/shadow.h"
#include "vmmu/vmm/vm_memory.h"

namespace vmmu::run {
namespace {

using Fields = std::vector<std::pair<const char *, uint64_t>>;

void expectAllZero(const Fields &fields) {
  for (const auto &[name, value] : fields)
    EXPECT_EQ(value, 0u) << name;
}

TEST(FreshRecords, IntervalCounters) {
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

TEST(FreshRecords, RunResult) {
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

TEST(FreshRecords, ShadowStats) {
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

TEST(FreshRecords, GuestStats) {
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

TEST(FreshRecords, Backing) {
  static_assert(sizeof(vmm::Backing) == 4 * sizeof(uint64_t), "list the new field below");
  const vmm::Backing b{};
  expectAllZero({{"units", b.units},
                 {"pages", b.pages},
                 {"ept_tables", b.ept_tables},
                 {"ept_replicated_leaves", b.ept_replicated_leaves}});
}

// The records a single operation returns: an access's outcome, a shadow fault's result, a
// translation's timing, a balloon request's result, the oracle's schedule.
TEST(FreshRecords, OperationRecords) {
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

TEST(FreshRecords, ReplayStats) {
  static_assert(sizeof(ReplayStats) == 15 * sizeof(uint64_t), "list the new field below");
  const ReplayStats s{};
  expectAllZero({{"events", s.events},
                 {"accesses", s.accesses},
                 {"kernel_accesses", s.kernel_accesses},
                 {"processes", s.processes},
                 {"process_exits", s.process_exits},
                 {"switches", s.switches},
                 {"mmaps", s.mmaps},
                 {"munmaps", s.munmaps},
                 {"mprotects", s.mprotects},
                 {"brks", s.brks},
                 {"pages_reclaimed", s.pages_reclaimed},
                 {"pte_writes", s.pte_writes},
                 {"invlpgs", s.invlpgs},
                 {"not_replayed", s.not_replayed},
                 {"refused", s.refused}});
}

TEST(FreshRecords, ModeRunAndMismatch) {
  const ModeRun run{};
  EXPECT_FALSE(run.interrupted);
  EXPECT_EQ(run.seconds, 0.0);
  EXPECT_EQ(run.cpu_seconds, 0.0);
  EXPECT_EQ(run.transactions, 0u);
  EXPECT_EQ(run.replay.events, 0u);
  const Mismatch m{};
  expectAllZero({{"event_index", m.event_index},
                 {"transaction", m.transaction},
                 {"wave_from", m.wave_from},
                 {"first_cycle", m.first_cycle},
                 {"last_cycle", m.last_cycle},
                 {"first_time", m.first_time},
                 {"last_time", m.last_time}});
  EXPECT_TRUE(m.run.empty());
  EXPECT_TRUE(m.what.empty());
}

TEST(FreshRecords, RunReport) {
  const RunReport r{};
  expectAllZero({{"events", r.events},
                 {"accesses", r.accesses},
                 {"warmup", r.warmup},
                 {"interval", r.interval},
                 {"requested_interval", r.requested_interval},
                 {"cycles_per_ref", r.cycles_per_ref},
                 {"page_move_cycles", r.page_move_cycles},
                 {"host_alloc_cycles", r.host_alloc_cycles},
                 {"host_clear_page_cycles", r.host_clear_page_cycles},
                 {"io_gap_start", r.io_gap_start},
                 {"io_gap_bytes", r.io_gap_bytes}});
  EXPECT_TRUE(r.counted);
  EXPECT_FALSE(r.interrupted);
  EXPECT_FALSE(r.mismatch.has_value());
  EXPECT_TRUE(r.runs.empty());
  EXPECT_EQ(r.base_cpi, 0.0);
  EXPECT_EQ(r.seconds, 0.0);
  EXPECT_EQ(r.decode_seconds, 0.0);
  EXPECT_EQ(r.decode_cpu_seconds, 0.0);
}

TEST(FreshRecords, AnEventHasOnlyWhatItsKindSets) {
  const trace::Event none{};
  EXPECT_EQ(none.kind, trace::EventKind::Marker);
  EXPECT_EQ(none.op, trace::AccessOp::Read);
  EXPECT_TRUE(none.text.empty());
  expectAllZero({{"cpu", none.cpu},
                 {"pid", none.pid},
                 {"parent", none.parent},
                 {"prot", none.prot},
                 {"level", none.level},
                 {"size", none.size},
                 {"address", none.address},
                 {"length", none.length},
                 {"value", none.value}});
  // An access sets its own fields and leaves the rest as an empty event has them.
  trace::Event access = trace::Event::access(2, 7, trace::AccessOp::Write, 0x1000, 8);
  EXPECT_EQ(access.kind, trace::EventKind::Access);
  access.kind = trace::EventKind::Marker;
  access.cpu = access.pid = access.size = 0;
  access.op = trace::AccessOp::Read;
  access.address = 0;
  EXPECT_EQ(access, none);
}

TEST(FreshRecords, TraceCounts) {
  const trace::TraceSummary summary{};
  expectAllZero({{"events", summary.events},
                 {"processes_seen", summary.processes_seen},
                 {"processes_created", summary.processes_created},
                 {"processes_exited", summary.processes_exited},
                 {"cpus_seen", summary.cpus_seen},
                 {"footprint_pages", summary.footprint_pages}});
  for (size_t k = 0; k < summary.by_kind.size(); ++k)
    EXPECT_EQ(summary.by_kind[k], 0u) << "kind " << k;
  for (size_t op = 0; op < summary.accesses_by_op.size(); ++op)
    EXPECT_EQ(summary.accesses_by_op[op], 0u) << "op " << op;
  EXPECT_FALSE(summary.start_up_accesses.has_value());
  const trace::GenResult generated{};
  expectAllZero({{"events", generated.events},
                 {"accesses", generated.accesses},
                 {"switches", generated.switches},
                 {"processes", generated.processes}});
  const trace::MixResult mixed{};
  expectAllZero({{"events", mixed.events}, {"switches", mixed.switches}});
}

}  // namespace
}  // namespace vmmu::run
