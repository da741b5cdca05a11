// summary.h - what `vmmu trace info` reports about a trace: event counts, processes, footprint.
#ifndef VMMU_TRACE_SUMMARY_H
#define VMMU_TRACE_SUMMARY_H

#include <array>
#include <optional>
#include <cstdint>
#include <cstdio>

#include "vmmu/trace/event.h"
#include "vmmu/trace/reader.h"

namespace vmmu::trace {

struct TraceSummary {
  uint64_t events = 0;
  std::array<uint64_t, kNumEventKinds + 1> by_kind{};  // indexed by EventKind value
  std::array<uint64_t, 3> accesses_by_op{};            // indexed by AccessOp value
  uint64_t processes_seen = 0;    // distinct pids in any event
  uint64_t processes_created = 0;
  uint64_t processes_exited = 0;
  uint64_t cpus_seen = 0;         // distinct cpus of accesses and switches
  uint64_t footprint_pages = 0;   // distinct (pid, 4 KiB virtual page) touched by accesses
  // Accesses before the start-up marker (kStartUpMarker) of a recording made with --skip: one per
  // page the start-up left resident. Absent without that marker.
  std::optional<uint64_t> start_up_accesses;
  uint64_t count(EventKind kind) const { return by_kind[static_cast<size_t>(kind)]; }
};

// Reads `reader` to the end. Memory grows with the footprint and the number of processes, not
// with the length of the trace.
TraceSummary summarize(TraceReader &reader);

// Prints the header and the summary in the layout of `vmmu trace info`.
void printSummary(const TraceReader &reader, const TraceSummary &summary, std::FILE *out);

}  // namespace vmmu::trace

#endif  // VMMU_TRACE_SUMMARY_H
