// cosim.h - runs the verilated MMU and the golden model (vmmu::Mmu) side by side.
//
// Every request goes to both; check() asserts (GoogleTest EXPECTs) that the responses, the
// ordered memory operations and the latency agree (vmmu/dut_check.h's compareTranslation, the
// comparison every RTL checker uses), the model being charged the cycles the DUT was observed to
// take per operation (§12). Control commands go to both. The DUT and the model each own a
// memory; tables() writes both (MirroredMemory), so A/D updates are compared, not shared.
//
// The model is configured with the parameters the DUT was verilated with (vmmu_rtl_config.h,
// generated from the same CMake list as the -G overrides): a Cosim cannot pair a DUT with a
// model of other sizes.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "verilated_dut_harness.h"
#include "vmmu/config.h"
#include "vmmu/dut_check.h"
#include "vmmu/memory.h"
#include "vmmu/mmu.h"

namespace vmmu::rtltest {

class Cosim {
public:
  explicit Cosim(MemoryBehaviour behaviour = {});

  // The parameters of both sides (the verilated library's, see vmmu_rtl_config.h).
  const MmuConfig &config() const { return config_; }

  // Where tests build page tables: writes reach both memories.
  PhysicalMemory &tables() { return mirrored_; }
  SparseMemory &dutMemory() { return dut_memory_; }
  SparseMemory &modelMemory() { return model_memory_; }
  VerilatedDutHarness &dut() { return dut_; }
  Mmu &model() { return model_; }

  void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid,
               uint16_t pcid);
  void writeReg(unsigned ctx, CtxReg reg, uint64_t value) {
    control(CtrlOp::WriteReg, ctx, static_cast<unsigned>(reg), value, 0, 0);
  }

  // Runs `req` on both and expects identical behaviour; returns what the DUT did.
  DutTranslation check(const Request &req);
  // What check() saw of the DUT: its translation and the DUT cycle after the response.
  struct Checked {
    DutTranslation dut;
    uint64_t cycle_after = 0;
  };
  // Non-null: every check() from now on appends to `log` (to compare two runs of a scenario).
  void logChecks(std::vector<Checked> *log) { check_log_ = log; }

  // Expects every counter (§14, and indices past the last one) to agree.
  void expectCountersMatch();

  // Number of check() calls that found a difference (for loops that stop early).
  unsigned mismatches() const { return mismatches_; }

  // Control commands that removed STLB entries from the model (§9.2): with an SRAM-held tag, each
  // but INV_ALL did so by a sweep of the RTL's sets, so this counts the sweeps whose effect the
  // later comparisons checked.
  uint64_t stlbSweepsThatRemoved() const { return stlb_sweeps_removed_; }
  // Control commands that removed EPT PSC entries from the model (§10.3: INV_EPTP, INV_ALL).
  uint64_t eptPscInvalidationsThatRemoved() const { return ept_psc_invalidations_removed_; }

private:
  unsigned eptPscValidEntries() const;  // the model's, over every EPT level

  const MmuConfig config_;
  SparseMemory dut_memory_;
  SparseMemory model_memory_;
  MirroredMemory mirrored_;
  ReplayTiming timing_;
  Mmu model_;
  VerilatedDutHarness dut_;
  unsigned mismatches_ = 0;
  uint64_t stlb_sweeps_removed_ = 0;
  uint64_t ept_psc_invalidations_removed_ = 0;
  std::vector<Checked> *check_log_ = nullptr;
};

}  // namespace vmmu::rtltest
