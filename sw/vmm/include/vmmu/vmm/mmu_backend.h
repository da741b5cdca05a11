// vmmu/vmm/mmu_backend.h - the one interface through which the VMM shim drives an MMU.
//
// Translate, control commands (§13 control port), counters (§14) and host memory: nothing else.
// ModelBackend implements it with the golden model; a verilated-RTL backend (through the
// testbench's driver) implements the same four things, so the shim does not change.
#pragma once

#include <cstdint>

#include "vmmu/config.h"
#include "vmmu/memory.h"
#include "vmmu/mmu.h"
#include "vmmu/types.h"

namespace vmmu::vmm {

class MmuBackend {
public:
  virtual ~MmuBackend() = default;

  // One translation. `walk_cycles` receives the walk's cycles (§12 walk_cycles; 0 for a TLB hit
  // or an early fault, which take one cycle).
  virtual Response translate(const Request &req, uint64_t &walk_cycles) = 0;
  // One control-port command with the port's operand layout (§13).
  virtual void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) = 0;
  virtual uint64_t counter(Counter c) = 0;
  // Host physical memory, shared by the MMU's walker and the VMM.
  virtual PhysicalMemory &memory() = 0;
  virtual const MmuConfig &config() const = 0;

  // Conveniences over control().
  void writeReg(unsigned ctx, CtxReg reg, uint64_t value) {
    control(CtrlOp::WriteReg, ctx, static_cast<unsigned>(reg), value, 0, 0);
  }
  void invAddr(uint16_t vpid, uint64_t va) { control(CtrlOp::InvAddr, 0, 0, va, vpid, 0); }
  void invPcid(uint16_t vpid, uint16_t pcid) { control(CtrlOp::InvPcid, 0, 0, 0, vpid, pcid); }
  void invVpid(uint16_t vpid) { control(CtrlOp::InvVpid, 0, 0, 0, vpid, 0); }
  void invEptp(uint64_t eptp) { control(CtrlOp::InvEptp, 0, 0, eptp, 0, 0); }
};

// The golden model behind the backend interface. Every walk reference costs `cycles_per_ref`
// cycles (§12's c): 30 by default, an L2/LLC-hit figure, since page-walk references mostly hit the
// data caches (vmmu's choice; the `vmmu` command uses the same default).
class ModelBackend final : public MmuBackend {
public:
  explicit ModelBackend(const MmuConfig &config = MmuConfig{}, uint64_t cycles_per_ref = 30);

  Response translate(const Request &req, uint64_t &walk_cycles) override;
  void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) override;
  uint64_t counter(Counter c) override;
  PhysicalMemory &memory() override { return memory_; }
  const MmuConfig &config() const override { return mmu_.config(); }

  Mmu &mmu() { return mmu_; }

private:
  SparseMemory memory_;
  FixedLatency timing_;
  Mmu mmu_;
  TranslateResult result_;  // reused: the hit path allocates nothing
};

}  // namespace vmmu::vmm
