// fresh_records_test.cpp - the trace records start empty: an event's fields are zero unless its
// kind sets them (events compare equal exactly when they encode to the same bytes, event.h), and a
// summary's, a generated trace's and a mix's counts start at zero.
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "vmmu/trace/event.h"
#include "vmmu/trace/generate.h"
#include "vmmu/trace/mix.h"
#include "vmmu/trace/summary.h"

namespace vmmu::trace {
namespace {

using Fields = std::vector<std::pair<const char *, uint64_t>>;

void expectAllZero(const Fields &fields) {
  for (const auto &[name, value] : fields)
    EXPECT_EQ(value, 0u) << name;
}

TEST(FreshRecords, AnEventHasOnlyWhatItsKindSets) {
  const Event none{};
  EXPECT_EQ(none.kind, EventKind::Marker);
  EXPECT_EQ(none.op, AccessOp::Read);
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
  Event access = Event::access(2, 7, AccessOp::Write, 0x1000, 8);
  EXPECT_EQ(access.kind, EventKind::Access);
  access.kind = EventKind::Marker;
  access.cpu = access.pid = access.size = 0;
  access.op = AccessOp::Read;
  access.address = 0;
  EXPECT_EQ(access, none);
}

TEST(FreshRecords, CountsStartAtZero) {
  const TraceSummary summary{};
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
  const GenResult generated{};
  expectAllZero({{"events", generated.events},
                 {"accesses", generated.accesses},
                 {"switches", generated.switches},
                 {"processes", generated.processes}});
  const MixResult mixed{};
  expectAllZero({{"events", mixed.events}, {"switches", mixed.switches}});
}

}  // namespace
}  // namespace vmmu::trace
