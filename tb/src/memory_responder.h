// memory_responder.h - the driver of the memory port (UVM: a reactive slave driver).
//
// Serves the walker's operations from the DUT-side vmmu::SparseMemory: READ returns the entry,
// FETCH_OR applies mem[addr] |= wdata atomically at the request transfer and returns the old
// value (§13). Latency is fixed, random, or set by a small cache model of page-table reads;
// mem_req_ready_i is dropped in random cycles and while an operation is outstanding.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "component.h"

#include "random.h"
#include "report.h"
#include "vmmu/memory.h"

class Vmmu_top;

namespace vmmu::tb {

enum class LatencyModel : uint8_t { Fixed, Random, Cache };

// +inject_kind: how the responder corrupts data the walker consumes, to prove the checker fails.
// Only READ responses count: the walker ignores the data of a FETCH_OR (§13), so corrupting it
// would prove nothing.
enum class InjectKind : uint8_t {
  ReadData,   // flip bit 0 (P / R) of the K-th READ response's data
  ReadEntry,  // answer the first READ from the K-th on whose neighbouring entry (addr ^ 8) differs
              // in bit 0 (P / R) with that neighbour's data: a misrouted read
};
// Parses "read_data" or "read_entry"; returns false on anything else.
bool parseInjectKind(const std::string &text, InjectKind &out);
const char *toString(InjectKind kind);

// What the responder injected: a run with +inject that injected nothing fails (report phase).
struct Injection {
  bool done = false;
  uint64_t read_responses = 0;  // READ responses served so far
  uint64_t response = 0;        // the READ response (1-based) that was corrupted
  uint64_t addr = 0;
  uint64_t original = 0, corrupted = 0;
};

struct MemoryKnobs {
  LatencyModel model = LatencyModel::Fixed;
  unsigned fixed_cycles = 1;  // Fixed: cycles from request transfer to response valid (>= 1)
  unsigned min_cycles = 1;    // Random: uniform in [min, max]
  unsigned max_cycles = 6;
  unsigned hit_cycles = 1;    // Cache: direct-mapped cache of 64-byte lines
  unsigned miss_cycles = 12;
  unsigned cache_lines = 16;  // power of two, at most kMaxCacheLines
  unsigned ready_stall_permille = 0;  // mem_req_ready_i low in this share of cycles
  uint64_t inject_at = 0;  // +inject=K: corrupt READ response K (1-based; 0: never), see InjectKind
  InjectKind inject_kind = InjectKind::ReadData;
  static constexpr unsigned kMaxCacheLines = 256;
};

class MemoryResponder : public Driver {
public:
  MemoryResponder(sc_core::sc_module_name name, Vmmu_top &top, SparseMemory &memory, const MemoryKnobs &knobs,
                  Random random, ReportServer &reporter);

  void drive();
  void observe();
  bool idle() const { return !pending_; }
  // Cycles from now before the outstanding response is presented (0: none is pending, or it is
  // presented this cycle), and accounting such cycles without driving them (§12 memory wait:
  // drive() makes no draw and presents nothing while a response is pending and not due).
  uint64_t cyclesBeforeResponse() const { return pending_ && due_cycle_ > now_ ? due_cycle_ - now_ : 0; }
  void skip(uint64_t cycles) { now_ += cycles; }
  const Injection &injection() const { return injection_; }

private:
  unsigned latencyFor(uint64_t addr);
  void inject(uint64_t addr);

  Vmmu_top &top_;
  SparseMemory &memory_;
  MemoryKnobs knobs_;
  Random random_;
  ReportServer &reporter_;
  uint64_t now_ = 0;  // cycles seen by this responder
  Injection injection_;
  bool pending_ = false;
  uint64_t due_cycle_ = 0;
  uint64_t rdata_ = 0;
  bool ready_driven_ = false;
  bool resp_valid_driven_ = false;
  std::array<uint64_t, MemoryKnobs::kMaxCacheLines> cache_tags_;
};

}  // namespace vmmu::tb
