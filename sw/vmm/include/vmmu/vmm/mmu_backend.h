// vmmu/vmm/mmu_backend.h - the one interface through which the VMM shim drives an MMU.
//
// Translate, control commands (§13 control port), counters (§14) and host memory: nothing else.
// ModelBackend implements it with the golden model; a verilated-RTL backend (through the
// testbench's driver) implements the same four things, so the shim does not change.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "vmmu/config.h"
#include "vmmu/memory.h"
#include "vmmu/mmu.h"
#include "vmmu/types.h"
#include "vmmu/vmm/memory_model.h"

namespace vmmu::vmm {

// One translation as a backend answered it: the response, and how the MMU produced it (§12).
struct Translation {
  // The backend's own record of it, valid until its next translate(). Read where the backend wrote
  // it: a copy of a response made right after the model's field-by-field stores would wait for
  // them to retire (a store-forwarding stall that cost more than the model's whole TLB hit).
  const Response &resp;
  // false: answered in one cycle without a memory reference (a TLB hit, or a fault found before
  // any walk); true: by a page walk that took `walk_cycles` (2 + its XLATE and ANSWER cycles + the
  // sum of its operations' c, §12).
  bool walked = false;
  // With walked: the cycles from acceptance to response, 2 + the sum of c plus the STLB probe's
  // cycles before the walk (§12); 0 unless walked.
  uint64_t walk_cycles = 0;
  // Without walked: the cycles an STLB hit takes beyond a first-level hit (§12: 1 when its 4K set
  // matched, 2 when its 2M set did); 0 for a first-level hit or an early fault.
  uint64_t stlb_cycles = 0;
};

class MmuBackend {
public:
  virtual ~MmuBackend() = default;

  // The response refers to the backend's storage: valid until its next translate().
  virtual Translation translate(const Request &req) = 0;
  // One control-port command with the port's operand layout (§13).
  virtual void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) = 0;
  virtual uint64_t counter(Counter c) = 0;
  // Host physical memory, shared by the MMU's walker and the VMM.
  virtual PhysicalMemory &memory() = 0;
  virtual const MmuConfig &config() const = 0;
  // Transactions (translations and control commands) issued so far, numbered from 0: the unit of
  // a wave window. 0 for backends that have no waves (the golden model).
  virtual uint64_t transactions() const { return 0; }
  // The memory timing the walker's references are charged by, which the VMM also charges its
  // guest's data accesses to (memory_model.h); null: none (data accesses cost access_cycles only).
  virtual MemoryHierarchy *memoryModel() { return nullptr; }

  // Conveniences over control().
  void writeReg(unsigned ctx, CtxReg reg, uint64_t value) {
    control(CtrlOp::WriteReg, ctx, static_cast<unsigned>(reg), value, 0, 0);
  }
  void invAddr(uint16_t vpid, uint64_t va) { control(CtrlOp::InvAddr, 0, 0, va, vpid, 0); }
  void invPcid(uint16_t vpid, uint16_t pcid) { control(CtrlOp::InvPcid, 0, 0, 0, vpid, pcid); }
  void invVpid(uint16_t vpid) { control(CtrlOp::InvVpid, 0, 0, 0, vpid, 0); }
  void invEptp(uint64_t eptp) { control(CtrlOp::InvEptp, 0, 0, eptp, 0, 0); }
};

// A checked backend (the RTL against the golden model, sw/rtl_backend) disagreed with its
// reference. what() says where, on what, both results, and how to
// reproduce with waves. A logic_error (a bug in one of the two), not a runtime_error: callers
// that recover from runtime conditions (e.g. the experiment's direct fallback) must not swallow it.
class BackendMismatch : public std::logic_error {
public:
  // Where it happened: the transaction, the DUT cycles it took, and the first transaction of
  // the wave window worth dumping to see it (the ones before filled the caches it used).
  struct Where {
    uint64_t transaction = 0;
    uint64_t first_cycle = 0;
    uint64_t last_cycle = 0;
    uint64_t window_from = 0;
    uint64_t first_time = 0;  // wave time stamps (ps) of first_cycle (clock low) and of
    uint64_t last_time = 0;   // last_cycle's rising edge
  };
  // `details` says what differed; what() adds how to reproduce it with waves.
  BackendMismatch(const std::string &details, const std::string &reproduce, const Where &where)
      : std::logic_error(details + reproduce), details_(details), where_(where) {}
  // Index of the transaction (translation or control command, in issue order, from 0) that
  // differed; for a counter difference, the number of transactions issued before the read.
  uint64_t transaction() const { return where_.transaction; }
  // The DUT cycles from the transaction's first to its last (the response); a counter
  // difference has no transaction of its own: both are the cycle of the read. Waves show cycle
  // c at c ns (clock low) and c ns + 500 ps (clock high): tb/harness/wave_convention.h for the RTL.
  uint64_t firstCycle() const { return where_.first_cycle; }
  uint64_t lastCycle() const { return where_.last_cycle; }
  // The same in the waves' time stamps (ps): from firstCycle() with the clock low to lastCycle()
  // after its rising edge. Print these, not a formula of the cycles: the convention is the harness's.
  uint64_t firstWaveTime() const { return where_.first_time; }
  uint64_t lastWaveTime() const { return where_.last_time; }
  // The suggested wave window is [waveWindowFrom(), transaction()].
  uint64_t waveWindowFrom() const { return where_.window_from; }
  // what() without the advice on reproducing it (for callers that print their own).
  const std::string &details() const { return details_; }

private:
  std::string details_;
  Where where_;
};

// The golden model behind the backend interface, its walk references charged by a
// MemoryHierarchy. The first constructor is the flat model: every walk reference costs
// `cycles_per_ref` cycles (§12's c), 30 by default, an L2/LLC-hit figure, since page-walk
// references mostly hit the data caches; `vmmu run` passes its memory model (the cache hierarchy
// by default) to the second.
class ModelBackend final : public MmuBackend {
public:
  explicit ModelBackend(const MmuConfig &config = MmuConfig{}, uint64_t cycles_per_ref = 30);
  // Throws std::invalid_argument for a memory model that MemoryModelConfig::validate() rejects.
  ModelBackend(const MmuConfig &config, const MemoryModelConfig &memory_model);

  // Inline: the Vmm calls it directly, not through the interface, when its backend is the model.
  Translation translate(const Request &req) override {
    mmu_.translate(req, result_);
    const WalkTrace &trace = result_.trace;
    return Translation{result_.resp, trace.walked, trace.walked ? trace.walk_cycles + trace.stlb_cycles : 0,
                       trace.walked ? 0 : uint64_t{trace.stlb_cycles}};
  }
  // Mmu::translateHits() on the backend's record: a run of TLB hits in one call (Vmm::userAccesses).
  // With `hpas`, each translated request's host address goes to hpas[i] (for the data caches).
  size_t translateHits(const Request *requests, size_t count, uint64_t *hpas = nullptr) {
    return mmu_.translateHits(requests, count, result_, hpas);
  }
  // Mmu::prefetch(): a hint for the request after the one about to be translated.
  void prefetch(const Request &req) const { mmu_.prefetch(req); }
  void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) override;
  uint64_t counter(Counter c) override;
  PhysicalMemory &memory() override { return memory_; }
  const MmuConfig &config() const override { return mmu_.config(); }
  MemoryHierarchy *memoryModel() override { return &timing_; }

  Mmu &mmu() { return mmu_; }

private:
  SparseMemory memory_;
  MemoryHierarchy timing_;
  Mmu mmu_;
  TranslateResult result_;  // reused: the hit path allocates nothing
};

}  // namespace vmmu::vmm
