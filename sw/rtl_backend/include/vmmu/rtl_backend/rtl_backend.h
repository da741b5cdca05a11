// vmmu/rtl_backend/rtl_backend.h - the VMM shim's MMU backend on the verilated RTL.
//
// RtlBackend implements vmm::MmuBackend on mmu_top through the bare-DUT harness (vmmu_tb_harness):
// every translation, control command and counter read goes to the DUT, whose walker is served
// from the backend's host memory with a fixed cost of `cycles_per_ref` cycles per operation (the
// c of §12, the same figure ModelBackend charges), and walk_cycles is what the DUT took.
//
// With checking on (the default) a golden-model Mmu with its own copy of host memory runs every
// translation and control command too. Writes through memory() reach both copies (reads come from
// the DUT's), so the shim's page tables are identical on both sides while each side applies its
// own A/D updates. Any difference in a response, in the ordered memory operations, in the latency
// or in a counter throws BackendMismatch, naming the transaction and how to reproduce it with
// waves. Everything here is deterministic, so rerunning the same activity with a wave window set
// (RtlBackendOptions::waves_*, or the environment, see fromEnvironment()) reproduces it.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "vmmu/config.h"
#include "vmmu/memory.h"
#include "vmmu/mmu.h"
#include "vmmu/types.h"
#include "vmmu/vmm/mmu_backend.h"

namespace vmmu::vmm {

struct RtlBackendOptions {
  // Cycles per walker memory operation (§12 c). At least 2: the port needs a request cycle and a
  // response cycle; at most 1000, so that the longest walk fits the harness's cycle budget.
  uint64_t cycles_per_ref = 30;
  // Run the golden model alongside and compare every transaction.
  bool check = true;
  // Non-empty: dump FST waves to this file for the transactions [waves_from, waves_to] (indices
  // as BackendMismatch reports them).
  std::string waves_path;
  uint64_t waves_from = 0;
  uint64_t waves_to = std::numeric_limits<uint64_t>::max();
  // Test hook, never set by a real run: the first translation with index >= this one that makes
  // a memory operation has the golden model's copy of the entry it reads first changed (its
  // bit 0, P or R, flipped) before the model runs it, so the checker must report a mismatch
  // there. It lets tests drive the whole mismatch path (report, replay command, waves) of an
  // RTL that is correct. Needs `check`.
  uint64_t inject_divergence_at = kNoInjection;
  static constexpr uint64_t kNoInjection = std::numeric_limits<uint64_t>::max();

  // `base` (e.g. RtlBackendOptions{}) with what the environment overrides:
  //   VMMU_RTL_CHECK=0|1            checking off or on
  //   VMMU_RTL_WAVES=file.fst       dump waves
  //   VMMU_RTL_WAVES_WINDOW=A:B     only for transactions A..B (inclusive)
  //   VMMU_RTL_INJECT_DIVERGENCE=N  test hook: inject_divergence_at = N
  // Throws std::invalid_argument naming the variable for a malformed value.
  static RtlBackendOptions fromEnvironment(RtlBackendOptions base);
  // Empty when valid, else one line naming the bad field.
  std::string validate() const;
};

// The RTL and the golden model disagreed. what() says where, on what, both results, and how to
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
  // c at c ns (clock low) and c ns + 500 ps (clock high): tb/harness/wave_convention.h.
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

class RtlBackend final : public MmuBackend {
public:
  // The RTL is verilated with the §1 defaults: `config` must equal MmuConfig{} (else
  // std::invalid_argument naming the first parameter that differs), as must `options` be valid.
  explicit RtlBackend(const MmuConfig &config = MmuConfig{}, const RtlBackendOptions &options = {});
  ~RtlBackend() override;
  RtlBackend(const RtlBackend &) = delete;
  RtlBackend &operator=(const RtlBackend &) = delete;

  Response translate(const Request &req, uint64_t &walk_cycles) override;
  void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) override;
  // The DUT's counter; with checking on, compared with the model's first.
  uint64_t counter(Counter c) override;
  PhysicalMemory &memory() override;
  const MmuConfig &config() const override { return config_; }

  // With checking on: compares every counter (and that indices past the last read zero); throws
  // BackendMismatch on the first difference. A no-op with checking off.
  void checkCounters();

  const RtlBackendOptions &options() const { return options_; }
  // Transactions issued so far (the index the next one gets).
  uint64_t transactions() const { return transactions_; }
  // The DUT clock: cycles simulated so far.
  uint64_t cycles() const;
  // The golden model's private copy of host memory, or null with checking off. Only tests that
  // inject a divergence on purpose write it directly.
  PhysicalMemory *checkerMemory();

private:
  struct Impl;
  // Dumps waves while transaction `index` runs only if it is in the requested window.
  void selectWaves(uint64_t index);
  [[noreturn]] void reportMismatch(uint64_t index, uint64_t first_cycle, const std::string &headline,
                                   const std::string &details);
  // The test hook of RtlBackendOptions::inject_divergence_at, for a translation the DUT just made.
  void injectDivergence(uint64_t index, const std::vector<MemOp> &dut_ops);

  const MmuConfig config_;
  const RtlBackendOptions options_;
  std::unique_ptr<Impl> impl_;
  uint64_t transactions_ = 0;
  bool injected_ = false;
};

}  // namespace vmmu::vmm
