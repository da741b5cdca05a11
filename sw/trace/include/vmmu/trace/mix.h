// mix.h - interleaves single-program traces into one multi-process guest trace.
//
// Each input keeps its events in order; the inputs take turns on one CPU, each turn lasting
// `quantum` accesses (other events ride along with the turn in which they occur). A context switch
// event is written whenever the process on the CPU changes, so the quantum is the knob for the
// context-switch rate. Process ids are renumbered (1, 2, ... in order of first appearance) so that
// inputs never collide; CPU numbers become 0.
#ifndef VMMU_TRACE_MIX_H
#define VMMU_TRACE_MIX_H

#include <cstdint>
#include <string>
#include <vector>

#include "vmmu/trace/format.h"

namespace vmmu::trace {

struct MixResult {
  uint64_t events = 0;    // events written, switches included
  uint64_t switches = 0;  // context switches written
};

// Reads `inputs` (at least one) and writes `output` with `header` plus one "input.N" field per
// input naming it and its command. Throws TraceError on a bad input or I/O error.
MixResult mixTraces(const std::vector<std::string> &inputs, const std::string &output, TraceHeader header,
                    uint64_t quantum);

}  // namespace vmmu::trace

#endif  // VMMU_TRACE_MIX_H
