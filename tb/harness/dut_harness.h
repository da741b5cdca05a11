// dut_harness.h - a bare-DUT harness for the verilated MMU, without SystemC.
//
// A DutHarness owns one verilated mmu_top and clocks it one cycle at a time. It drives the
// request, response and control handshakes of §13 at pin level and plays the memory: it serves
// the walker's operations from a PhysicalMemory (READ, and FETCH_OR applied atomically when the
// request transfers) with a configurable, optionally random latency and request back-pressure.
// For every operation it records the cycles c = r - s + 1 that §12 defines, so that the golden
// model can be charged exactly the same cycles (vmmu/dut_check.h's ReplayTiming) and WALK_CYCLES
// compared.
//
// While the walker waits for a response (§12, mem_wait_o) the harness skips to the cycle the
// response is due instead of clocking the DUT through the wait, and accounts the skipped cycles
// exactly: its cycle count, every operation's c and WALK_CYCLES (counter()) are what the
// cycle-by-cycle run gives. It clocks every cycle while it dumps waves, or with setCycleSkip(false).
//
// This header names no verilated class: a program may link several verilated parameter sets
// and pick one at run time (sw/rtl_backend). Each set's harness library (vmmu_tb_harness for the
// defaults, vmmu_tb_harness_<set> for a named set) implements DutHarness as VerilatedDutHarness
// (verilated_dut_harness.h) and describes itself with an RtlParameterSet.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vmmu/config.h"
#include "vmmu/dut_check.h"
#include "vmmu/memory.h"
#include "vmmu/types.h"

namespace vmmu::rtltest {

// How the memory responder behaves. A response is presented `latency` cycles after its request
// transferred (latency >= 1, §13), with latency drawn uniformly from [min_latency, max_latency],
// or, with `timing`, latency = timing->cycles(op) - 1 (so that an operation served without
// stalls costs the c that timing names, §12; a cache model's, which the VMM shim shares); each
// cycle the request port is stalled (ready low) with probability stall_percent / 100.
struct MemoryBehaviour {
  unsigned min_latency = 1;
  unsigned max_latency = 1;
  unsigned stall_percent = 0;
  uint64_t seed = 1;
  MemoryTiming *timing = nullptr;  // not owned; its cycles() must be >= 2 (last: aggregates stay valid)
};

class DutHarness {
public:
  virtual ~DutHarness() = default;

  // Holds rst_ni low for two cycles, then releases it.
  virtual void reset() = 0;

  // Presents `req`, waits for its acceptance and response; throws std::runtime_error if the DUT
  // does not answer within a generous cycle budget.
  virtual DutTranslation translate(const Request &req) = 0;

  // Presents the requests back to back (each as soon as the previous one was accepted) with the
  // response always ready, and returns their responses in order. `cycles` receives the number
  // of cycles from the first acceptance to the last response.
  virtual std::vector<Response> stream(const std::vector<Request> &requests, uint64_t &cycles) = 0;

  // One control command with the port's operand layout (§13); returns when it was accepted.
  virtual void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid,
                       uint16_t pcid) = 0;
  void writeReg(unsigned ctx, CtxReg reg, uint64_t value) {
    control(CtrlOp::WriteReg, ctx, static_cast<unsigned>(reg), value, 0, 0);
  }

  // Combinational counter readout (§12, §14): no clock edge.
  virtual uint64_t counter(unsigned index) = 0;
  uint64_t counter(Counter c) { return counter(static_cast<unsigned>(c)); }

  virtual uint64_t cycle() const = 0;

  // Skipping of memory-wait cycles (§12), on by default. Off: every cycle is clocked.
  virtual void setCycleSkip(bool enabled) = 0;
  // Cycles skipped so far (included in cycle()), not clocked.
  virtual uint64_t skippedCycles() const = 0;

  // With an FST file open, dumps only while enabled (default on): a long run can record just
  // the window around a mismatch. No effect without an FST file.
  virtual void setWaveDump(bool enabled) = 0;
};

// One verilated parameter set as a program linked it (rtl/CMakeLists.txt, vmmu_verilate).
struct RtlParameterSet {
  std::string_view name;       // "default" for mmu_top's own defaults, else the set's name
  std::string_view overrides;  // the -G overrides, for messages; empty for the defaults
  MmuConfig config;            // the golden model's configuration for the same parameters
  // A harness on this set's verilated model. `fst_path` non-empty: dump waves there (FST), named
  // and timed by wave_convention.h (scope mmu_top, cycle C at C ns), like the testbench's, so
  // tb/waves/vmmu.gtkw opens them.
  std::unique_ptr<DutHarness> (*make)(PhysicalMemory &memory, const MemoryBehaviour &behaviour,
                                      const std::string &fst_path);
};

}  // namespace vmmu::rtltest
