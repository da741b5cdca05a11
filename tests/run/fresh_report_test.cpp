// fresh_report_test.cpp - a replay's statistics, a run's record and a report start empty: every
// count at zero and every flag false, so that what runTrace adds up is all that a report shows.
// Each size check fails when a field is added, until it is listed here.
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "vmmu/run/trace_replay.h"
#include "vmmu/run/trace_run.h"

namespace vmmu::run {
namespace {

using Fields = std::vector<std::pair<const char *, uint64_t>>;

void expectAllZero(const Fields &fields) {
  for (const auto &[name, value] : fields)
    EXPECT_EQ(value, 0u) << name;
}

TEST(FreshReport, ReplayStats) {
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

TEST(FreshReport, ModeRunAndMismatch) {
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

TEST(FreshReport, RunReport) {
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

}  // namespace
}  // namespace vmmu::run
