// dut.h - the SC_MODULE around the `--cc` verilated mmu_top (class Vmmu_top).
//
// The clock is driven from C++: each cycle the environment sets the inputs, calls settle() (clock
// low, combinational outputs valid: monitors and drivers sample here) and then tick() (rising
// edge). This avoids an sc_event and a SystemC signal per pin per cycle, which would cost more
// than the DUT itself. Waves are written to an FST file between +wave_start and +wave_stop (through a temporary
// file beside it, renamed when the run ends), by tb/harness/wave_convention.h like every wave of the project.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <systemc>

class Vmmu_top;
class VerilatedContext;
class VerilatedFstC;

namespace vmmu::tb {

struct DutOptions {
  std::string file;  // FST waves; empty: none
  uint64_t start_cycle = 0;
  uint64_t stop_cycle = UINT64_MAX;
  std::string coverage_file;  // where a coverage-instrumented DUT (vmmu_tb_cov) writes its counts
};

class Dut : public sc_core::sc_module {
public:
  Dut(sc_core::sc_module_name name, const DutOptions &options);
  ~Dut() override;

  Vmmu_top &top() { return *top_; }
  const Vmmu_top &top() const { return *top_; }
  uint64_t cycle() const { return cycle_; }

  // Holds rst_ni low for `cycles` rising edges with every valid input low.
  void reset(unsigned cycles);
  // Clock low; evaluates the combinational outputs for the inputs set this cycle.
  void settle();
  // Rising edge; the cycle counter advances.
  void tick();
  // Accounts `cycles` cycles of a memory wait (§12, mem_wait_o) without clocking them: the cycle
  // counter advances, and readCounter() adds them to WALK_CYCLES, the one thing they change.
  void skipMemoryWait(uint64_t cycles);
  uint64_t skippedCycles() const { return skipped_cycles_; }
  // Combinational counter readout (§12): drives ctr_sel_i and re-evaluates. The count since the
  // last preloadCounters(), modulo 2^64 (as the model counts), if there was one.
  uint64_t readCounter(unsigned index);
  // A backdoor write (UVM: uvm_reg::poke) of every performance counter (§14) to `value`, into
  // the verilated registers of mmu_perf_counters (its two 32-bit halves; no carry may be pending,
  // as after reset). Lets a bounded run take the counters through 2^32 and 2^64.
  void preloadCounters(uint64_t value);
  // Flushes and closes the wave file, if any, and renames it into place (or discards it). False
  // when the waves were to be kept and could not be put in place (the reason is printed).
  bool finish(bool keep_waves = true);

private:
  static std::string createTemporary(const std::string &file);
  void dump(uint64_t time);

  std::unique_ptr<VerilatedContext> context_;
  std::unique_ptr<Vmmu_top> top_;
  std::unique_ptr<VerilatedFstC> trace_;
  DutOptions options_;
  std::string wave_temp_;  // the FST being written; renamed to options_.file by finish()
  bool finished_ = false;
  uint64_t cycle_ = 0;
  uint64_t skipped_cycles_ = 0;  // all memory-wait cycles, hence WALK_CYCLES the DUT did not count
  uint64_t counter_base_ = 0;    // the value preloadCounters() wrote
};

}  // namespace vmmu::tb
