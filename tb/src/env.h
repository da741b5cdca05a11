// env.h - the environment (UVM: uvm_env): the DUT harness, one agent per port (request,
// response, control, memory: driver + monitor, agents.h), the sequencer, the scoreboard, the
// isolation checker and the coverage collector. connectPhase() connects the monitors' analysis
// ports to the scoreboard, checker and coverage.
//
// The run phase (runPhase) is one SC_THREAD that steps the clock in a plain loop (see dut.h): per cycle it
// dispatches the next sequence item when the previous one is done, lets the drivers set the
// inputs, settles the DUT, lets the monitors sample, and clocks the DUT. Page-table changes and
// counter checkpoints wait until no request is in flight. The cycles of a walk's memory wait in
// which nothing here would act are skipped, not clocked (§12, skipMemoryWait()).
#pragma once

#include <cstdint>
#include <memory>

#include <systemc>

#include "agents.h"
#include "component.h"
#include "coverage.h"
#include "dut.h"
#include "isolation_checker.h"
#include "options.h"
#include "report.h"
#include "scoreboard.h"
#include "sequences.h"

namespace vmmu::tb {

struct EnvKnobs {
  MemoryKnobs memory;
  unsigned response_stall_permille = 0;  // resp_ready_i low in this share of cycles
  unsigned request_gap_permille = 0;     // an idle cycle before a request
  uint64_t watchdog_cycles = 200000;     // no progress for this long is a hang
  // Every counter starts at this value after reset (Dut::preloadCounters); 0: none.
  uint64_t counter_preload = 0;
};

class Env : public Component {
public:
  SC_HAS_PROCESS(Env);
  Env(sc_core::sc_module_name name, const EnvKnobs &knobs, const TbOptions &options, const MmuConfig &config,
      SparseMemory &dut_memory, SparseMemory &model_memory, ReportServer &reporter, Random random);

  Sequencer sequencer;
  Scoreboard &scoreboard() { return *scoreboard_; }
  IsolationChecker &isolation() { return *isolation_; }
  Coverage &coverage() { return *coverage_; }
  Dut &dut() { return dut_; }

  uint64_t cycles() const { return dut_.cycle(); }
  uint64_t requestsAccepted() const { return accepted_; }
  const Injection &injection() const { return memory_.responder.injection(); }
  // The stimulus ran to its end (not stopped by +max_errors errors or the watchdog).
  bool finished() const { return finished_; }
  // End-of-run bookkeeping for coverage (call after sc_start returns).
  void sampleCoverage();

  void connectPhase() override;
  void runPhase() override;

private:
  bool dispatch();  // false when the sequence is over and everything has drained
  bool quiescent() const;
  void applyQuiescentItem();
  void skipMemoryWait();

  EnvKnobs knobs_;
  const TbOptions &options_;
  ReportServer &reporter_;
  SparseMemory &dut_memory_;
  Random random_;
  Dut dut_;
  RequestAgent request_;
  ControlAgent control_;
  ResponseAgent response_;
  MemoryAgent memory_;
  std::unique_ptr<Scoreboard> scoreboard_;  // absent with +bare
  std::unique_ptr<IsolationChecker> isolation_;  // absent with +bare
  std::unique_ptr<Coverage> coverage_;      // absent with +bare
  StallCounts stalls_{};

  SequenceItem item_;
  bool waiting_quiescent_ = false;
  uint64_t idle_until_ = 0;
  uint64_t accepted_ = 0, responded_ = 0;
  // The STLB's sweep (§9.2): StlbSets cycles (0 without an STLB), and the last cycle of the one
  // a command may have started.
  uint64_t stlb_sweep_cycles_ = 0;
  uint64_t sweep_end_cycle_ = 0;
  uint64_t last_progress_cycle_ = 0;
  bool finished_ = false;
};

}  // namespace vmmu::tb
