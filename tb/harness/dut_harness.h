// dut_harness.h - a bare-DUT harness for the verilated MMU (Vmmu_top), without SystemC.
//
// DutHarness owns the verilated model and clocks it one cycle at a time. It drives the request,
// response and control handshakes of §13 at pin level and plays the memory: it serves the
// walker's operations from a PhysicalMemory (READ, and FETCH_OR applied atomically when the
// request transfers) with a configurable, optionally random latency and request back-pressure.
// For every operation it records the cycles c = r - s + 1 that §12 defines, so that the golden
// model can be charged exactly the same cycles (ReplayTiming) and WALK_CYCLES compared.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "vmmu/memory.h"
#include "vmmu/mmu.h"
#include "vmmu/types.h"

class Vmmu_top;
class VerilatedContext;
class VerilatedFstC;

namespace vmmu::rtltest {

// How the memory responder behaves. A response is presented `latency` cycles after its request
// transferred (latency >= 1, §13), with latency drawn uniformly from [min_latency, max_latency];
// each cycle the request port is stalled (ready low) with probability stall_percent / 100.
struct MemoryBehaviour {
  unsigned min_latency = 1;
  unsigned max_latency = 1;
  unsigned stall_percent = 0;
  uint64_t seed = 1;
};

// One translation as the DUT performed it.
struct DutTranslation {
  Response resp;
  std::vector<MemOp> ops;          // memory operations in issue order
  std::vector<uint64_t> op_cycles; // c of each operation (§12)
  uint64_t latency = 0;            // response cycle minus accept cycle
};

class DutHarness {
public:
  // `fst_path` non-empty: dump waves there (FST), named and timed by wave_convention.h (scope
  // mmu_top, cycle C at C ns), like the testbench's, so tb/waves/vmmu.gtkw opens them.
  explicit DutHarness(PhysicalMemory &memory, MemoryBehaviour behaviour = {},
                      const std::string &fst_path = {});
  ~DutHarness();
  DutHarness(const DutHarness &) = delete;
  DutHarness &operator=(const DutHarness &) = delete;

  // Holds rst_ni low for two cycles, then releases it.
  void reset();

  // Presents `req`, waits for its acceptance and response; throws std::runtime_error if the DUT
  // does not answer within a generous cycle budget.
  DutTranslation translate(const Request &req);

  // Presents the requests back to back (each as soon as the previous one was accepted) with the
  // response always ready, and returns their responses in order. `cycles` receives the number
  // of cycles from the first acceptance to the last response.
  std::vector<Response> stream(const std::vector<Request> &requests, uint64_t &cycles);

  // One control command with the port's operand layout (§13); returns when it was accepted.
  void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid,
               uint16_t pcid);
  void writeReg(unsigned ctx, CtxReg reg, uint64_t value) {
    control(CtrlOp::WriteReg, ctx, static_cast<unsigned>(reg), value, 0, 0);
  }

  // Combinational counter readout (§12, §14): no clock edge.
  uint64_t counter(unsigned index);
  uint64_t counter(Counter c) { return counter(static_cast<unsigned>(c)); }

  uint64_t cycle() const { return cycle_; }

  // With an FST file open, dumps only while enabled (default on): a long run can record just
  // the window around a mismatch. No effect without fst_path.
  void setWaveDump(bool enabled) { dump_enabled_ = enabled; }

private:
  void step();
  unsigned drawLatency();
  void presentRequest(const Request &req);

  PhysicalMemory &memory_;
  MemoryBehaviour behaviour_;
  std::mt19937_64 rng_;
  std::unique_ptr<VerilatedContext> context_;
  std::unique_ptr<Vmmu_top> top_;
  std::unique_ptr<VerilatedFstC> trace_;
  uint64_t cycle_ = 0;
  bool dump_enabled_ = true;

  // Memory responder state: at most one operation outstanding (§13).
  static constexpr uint64_t kNone = ~uint64_t{0};
  uint64_t op_start_ = kNone;  // cycle s the current operation was first presented
  bool pending_ = false;       // a response is owed
  uint64_t pending_due_ = 0;   // first cycle it is presented
  uint64_t pending_data_ = 0;

  // What the last step() observed.
  bool req_fired_ = false;
  bool resp_fired_ = false;
  bool ctrl_fired_ = false;
  Response last_resp_;
  std::vector<MemOp> ops_;
  std::vector<uint64_t> op_cycles_;
};

// A MemoryTiming that charges the model the cycles the DUT was observed to take, in order.
class ReplayTiming final : public MemoryTiming {
public:
  void load(const std::vector<uint64_t> &cycles) {
    cycles_ = cycles;
    next_ = 0;
  }
  // Operations beyond the recorded ones (a divergence the op comparison reports) cost 1.
  uint64_t cycles(const MemOp &) override { return next_ < cycles_.size() ? cycles_[next_++] : 1; }

private:
  std::vector<uint64_t> cycles_;
  size_t next_ = 0;
};

// Writes go to two memories, reads come from the first: table builders fill the DUT's memory
// and the model's identical copy, which then evolve separately (each applies its own A/D
// FETCH_ORs, which the cosimulation compares).
class TeeMemory final : public PhysicalMemory {
public:
  TeeMemory(PhysicalMemory &first, PhysicalMemory &second) : first_(first), second_(second) {}
  uint64_t read64(uint64_t addr) override { return first_.read64(addr); }
  void write64(uint64_t addr, uint64_t value) override {
    first_.write64(addr, value);
    second_.write64(addr, value);
  }
  uint64_t fetchOr64(uint64_t addr, uint64_t mask) override {
    second_.fetchOr64(addr, mask);
    return first_.fetchOr64(addr, mask);
  }

private:
  PhysicalMemory &first_;
  PhysicalMemory &second_;
};

}  // namespace vmmu::rtltest
