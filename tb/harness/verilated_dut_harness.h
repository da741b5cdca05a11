// verilated_dut_harness.h - the DutHarness of one verilated parameter set.
//
// Each harness library (vmmu_tb_harness, vmmu_tb_harness_<set>) compiles this for its own set:
// vmmu_rtl_config.h, from the set's verilated library, names the class, the configuration and
// the namespace that keeps this set's definitions apart from another set's in the same program.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dut_harness.h"
#include "vmmu_rtl_config.h"

class VMMU_RTL_CLASS;
class VerilatedContext;
class VerilatedFstC;

namespace vmmu::rtltest {
inline namespace VMMU_RTL_SET_NAMESPACE {

class VerilatedDutHarness final : public DutHarness {
public:
  // `fst_path` non-empty: dump waves there (see RtlParameterSet::make).
  explicit VerilatedDutHarness(PhysicalMemory &memory, MemoryBehaviour behaviour = {},
                               const std::string &fst_path = {});
  ~VerilatedDutHarness() override;
  VerilatedDutHarness(const VerilatedDutHarness &) = delete;
  VerilatedDutHarness &operator=(const VerilatedDutHarness &) = delete;

  void reset() override;
  DutTranslation translate(const Request &req) override;
  std::vector<Response> stream(const std::vector<Request> &requests, uint64_t &cycles) override;
  void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid,
               uint16_t pcid) override;
  using DutHarness::counter;
  uint64_t counter(unsigned index) override;
  uint64_t cycle() const override { return cycle_; }
  void setWaveDump(bool enabled) override { dump_enabled_ = enabled; }
  void setCycleSkip(bool enabled) override { cycle_skip_ = enabled; }
  uint64_t skippedCycles() const override { return skipped_cycles_; }

  // One transfer on the memory port, as the harness saw it: for tests that compare runs.
  struct MemoryEvent {
    uint64_t cycle = 0;
    bool response = false;  // else the request transferred
    MemOp op;               // the request (response: the operation it answers)
    uint64_t data = 0;      // the response data
    bool operator==(const MemoryEvent &) const = default;
  };
  // Non-null: every memory transfer from now on is appended to `log`.
  void logMemory(std::vector<MemoryEvent> *log) { memory_log_ = log; }

private:
  void step();
  void skipMemoryWait();
  unsigned drawLatency(const MemOp &op);
  void presentRequest(const Request &req);

  PhysicalMemory &memory_;
  MemoryBehaviour behaviour_;
  std::mt19937_64 rng_;
  std::unique_ptr<VerilatedContext> context_;
  std::unique_ptr<VMMU_RTL_CLASS> top_;
  std::unique_ptr<VerilatedFstC> trace_;
  uint64_t cycle_ = 0;
  bool dump_enabled_ = true;
  bool cycle_skip_ = true;
  uint64_t skipped_cycles_ = 0;
  // Skipped cycles since the last reset: the DUT's WALK_CYCLES did not count them (§12).
  uint64_t skipped_walk_cycles_ = 0;
  std::vector<MemoryEvent> *memory_log_ = nullptr;

  // Memory responder state: at most one operation outstanding (§13).
  static constexpr uint64_t kNone = ~uint64_t{0};
  uint64_t op_start_ = kNone;  // cycle s the current operation was first presented
  bool pending_ = false;       // a response is owed
  uint64_t pending_due_ = 0;   // first cycle it is presented
  uint64_t pending_data_ = 0;
  MemOp pending_op_;

  // What the last step() observed.
  bool req_fired_ = false;
  bool resp_fired_ = false;
  bool ctrl_fired_ = false;
  Response last_resp_;
  std::vector<MemOp> ops_;
  std::vector<uint64_t> op_cycles_;
};

// This set, as the program linked it.
const RtlParameterSet &parameterSet();

}  // namespace VMMU_RTL_SET_NAMESPACE
}  // namespace vmmu::rtltest
