// vmmu/dut_check.h - checking a DUT (the verilated RTL) against the golden model.
//
// Three checkers run the golden model beside the RTL: the testbench's scoreboard (tb/src), the
// cosimulation tests (tests/rtl) and the VMM shim's RTL backend (sw/rtl_backend). What they have in
// common is here, once: the record of one translation as the DUT made it, the one comparison of
// it with the model's, the timing that charges the model the cycles the DUT was observed to take,
// and the memory that gives the DUT and the model identical page tables while each applies its
// own A/D updates (so that those are compared, not shared).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "vmmu/memory.h"
#include "vmmu/mmu.h"
#include "vmmu/types.h"

namespace vmmu {

// One translation as a DUT performed it.
struct DutTranslation {
  Response resp;
  std::vector<MemOp> ops;           // memory operations in issue order
  std::vector<uint64_t> op_cycles;  // c of each operation (§12), in the same order
  uint64_t latency = 0;             // response cycle minus accept cycle
};

// The latency §12 gives the model's translation: one cycle for a TLB hit or for a fault found
// before any memory operation, 2 + the sum of the operations' c for a walk, and on top the STLB
// probe's cycles when a first-level miss probed it (§9.2: 1 when the 4K set matched, else 2).
inline uint64_t expectedLatency(const TranslateResult &model) {
  return (model.trace.walked ? model.trace.walk_cycles : 1) + model.trace.stlb_cycles;
}

// How `dut` differs from `model`: empty when the responses, the ordered memory operations and
// (with `compare_latency`) the latencies agree. Otherwise lines that each start with "\n  ": what
// differs, both results, and, when the operations differ, both lists side by side with the first
// difference marked. `compare_latency` false: the checker could not observe the DUT's latency
// (the testbench's response port was still busy when the request was accepted).
std::string compareTranslation(const DutTranslation &dut, const TranslateResult &model,
                               bool compare_latency = true);

// Charges the model, in order, the cycles the DUT was observed to take per memory operation, so
// that the walk's latency and WALK_CYCLES compare exactly.
class ReplayTiming final : public MemoryTiming {
public:
  // `cycles` is read, not copied (the checkers replay every translation): it must outlive the
  // model's translation that uses it.
  void replay(const std::vector<uint64_t> &cycles) {
    cycles_ = &cycles;
    next_ = 0;
  }
  // Operations beyond the recorded ones (a divergence compareTranslation reports) cost 1.
  uint64_t cycles(const MemOp &) override {
    return cycles_ != nullptr && next_ < cycles_->size() ? (*cycles_)[next_++] : 1;
  }

private:
  const std::vector<uint64_t> *cycles_ = nullptr;
  size_t next_ = 0;
};

// The DUT's memory and the model's copy seen as one, where page tables are built: writes reach
// both, reads come from the DUT's (the two are identical outside a translation), and a FETCH_OR
// is applied to both.
class MirroredMemory final : public PhysicalMemory {
public:
  MirroredMemory(SparseMemory &dut, SparseMemory &model) : dut_(dut), model_(model) {}
  uint64_t read64(uint64_t addr) override { return dut_.peek64(addr); }
  void write64(uint64_t addr, uint64_t value) override {
    dut_.write64(addr, value);
    model_.write64(addr, value);
  }
  uint64_t fetchOr64(uint64_t addr, uint64_t mask) override {
    model_.fetchOr64(addr, mask);
    return dut_.fetchOr64(addr, mask);
  }

private:
  SparseMemory &dut_;
  SparseMemory &model_;
};

}  // namespace vmmu
