// generate.h - synthetic traces for the workload classes of the research (`vmmu trace gen`).
//
// Every generator is parameterised by footprint, length and context-switch rate and is fully
// determined by its seed (std::mt19937_64 without library distributions, so the same seed makes
// the same trace on every platform). docs/trace-format.md, "Synthetic traces", says what each kind
// does; in short:
//   worst   no locality at all: each access a random page, pages placed so that every one has its
//           own PTE table, PD table and PDPT entry (page tables have no locality either)
//   random  uniformly random 8-byte accesses inside a dense region
//   stream  a copy loop: sequential reads of one array and writes of another, 64-byte steps
//   scan    one read per 4 KiB page, sequential: TLB-hostile, walk-cache friendly
//   build   many short-lived processes (a parallel build): create, map, run briefly, exit
//   boot    a guest kernel building its direct map with 2 MiB pages through explicit page-table
//           writes, then processes mapping and first-touching big 2 MiB-aligned regions
//   phased  a build phase (short jobs with small footprints: page-table churn and CR3 writes, what
//           shadow paging pays exits for) then a random phase over the whole footprint (TLB
//           misses over settled tables, what nested paging over a 4 KiB EPT pays 2D walks for)
#ifndef VMMU_TRACE_GENERATE_H
#define VMMU_TRACE_GENERATE_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vmmu/trace/format.h"

namespace vmmu::trace {

enum class GenKind { Worst, Random, Stream, Scan, Build, Boot, Phased };

std::optional<GenKind> genKindFromString(std::string_view name);
std::string_view toString(GenKind kind);
inline constexpr std::string_view kGenKindNames = "worst, random, stream, scan, build, boot, phased";

struct GenOptions {
  GenKind kind = GenKind::Random;
  uint64_t footprint_mib = 64;  // data footprint shared by the `procs` live processes
  uint64_t accesses = 1'000'000;
  uint64_t procs = 1;           // processes live at once
  uint64_t quantum = 100'000;   // accesses per turn before the CPU switches process
  uint64_t seed = 1;
  // phased only: the share of `accesses` in the build phase, and each build job's footprint
  // (the random phase that follows covers `footprint_mib`).
  uint64_t build_percent = 25;
  uint64_t job_mib = 2;
};

struct GenResult {
  uint64_t events = 0;
  uint64_t accesses = 0;
  uint64_t switches = 0;
  uint64_t processes = 0;  // processes created
};

// Writes the trace to `output` with `header`. Throws TraceError (I/O) or std::invalid_argument
// (options out of range: zero accesses, procs or quantum, zero footprint; for phased a build share
// outside 1..99 or a zero job footprint).
GenResult generateTrace(const GenOptions &options, const std::string &output, const TraceHeader &header);

}  // namespace vmmu::trace

#endif  // VMMU_TRACE_GENERATE_H
