// vmmu/rtl_backend/rtl_backend.h - the VMM shim's MMU backend on the verilated RTL.
//
// RtlBackend implements vmm::MmuBackend on mmu_top through the bare-DUT harness (tb/harness):
// every translation, control command and counter read goes to the DUT, whose walker is served
// from the backend's host memory, each operation costing the c (§12) that the run's memory model
// gives (vmm/memory_model.h: the flat cycles_per_ref, or the cache hierarchy the VMM also charges
// its data accesses to, exactly as ModelBackend does), and walk_cycles is what the DUT took.
//
// Every verilated parameter set the build made (rtl/CMakeLists.txt: the defaults, and "alt") is
// linked in; RtlBackendOptions::parameter_set picks one, and the MmuConfig must be the one that set
// was verilated with (rtlParameterSetConfig(), generated from the same list as the -G overrides).
//
// With checking on (the default) a golden-model Mmu with its own copy of host memory runs every
// translation and control command too. Writes through memory() reach both copies (reads come from
// the DUT's), so the shim's page tables are identical on both sides while each side applies its
// own A/D updates. Any difference in a response, in the ordered memory operations, in the latency
// (vmmu/dut_check.h's compareTranslation, the comparison every RTL checker uses) or in a counter
// throws BackendMismatch, naming the transaction and how to reproduce it with
// waves. Everything here is deterministic, so rerunning the same activity with a wave window set
// (RtlBackendOptions::waves_*, or the environment, see fromEnvironment()) reproduces it.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "vmmu/config.h"
#include "vmmu/memory.h"
#include "vmmu/mmu.h"
#include "vmmu/types.h"
#include "vmmu/vmm/mmu_backend.h"

namespace vmmu::vmm {

struct RtlBackendOptions {
  // What each walker memory operation costs (§12 c): flat cycles_per_ref, or the cache hierarchy.
  // At least 2 cycles (the port needs a request cycle and a response cycle) and at most 1000, so
  // that the longest walk fits the harness's cycle budget.
  MemoryModelConfig memory = MemoryModelConfig::flat(30);
  // Run the golden model alongside and compare every transaction.
  bool check = true;
  // The verilated parameter set to run: "default" (mmu_top's own, §1's) or a named one
  // (rtlParameterSets()).
  std::string parameter_set = "default";
  // Non-empty: dump FST waves to this file for the transactions [waves_from, waves_to] (indices
  // as BackendMismatch reports them).
  std::string waves_path;
  uint64_t waves_from = 0;
  uint64_t waves_to = std::numeric_limits<uint64_t>::max();
  // Skip the cycles of a memory wait instead of clocking them (§12): the same results, far
  // fewer evaluations of the DUT on walk-heavy runs. The harness clocks every cycle anyway while
  // it dumps waves. Off: the cycle-by-cycle run, for speed comparisons.
  bool cycle_skip = true;
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
  //   VMMU_RTL_CYCLE_SKIP=0|1       memory-wait skipping off or on
  //   VMMU_RTL_INJECT_DIVERGENCE=N  test hook: inject_divergence_at = N
  // Throws std::invalid_argument naming the variable for a malformed value.
  static RtlBackendOptions fromEnvironment(RtlBackendOptions base);
  // Empty when valid, else one line naming the bad field.
  std::string validate() const;
};

// The names of the verilated parameter sets linked into this program, "default" first.
std::vector<std::string> rtlParameterSets();
// The MmuConfig that parameter set `name` was verilated with; std::invalid_argument naming the
// linked sets for another name.
MmuConfig rtlParameterSetConfig(std::string_view name);

class RtlBackend final : public MmuBackend {
public:
  // `config` must equal the configuration options.parameter_set was verilated with (else
  // std::invalid_argument naming the first parameter that differs), as must `options` be valid.
  explicit RtlBackend(const MmuConfig &config = MmuConfig{}, const RtlBackendOptions &options = {});
  ~RtlBackend() override;
  RtlBackend(const RtlBackend &) = delete;
  RtlBackend &operator=(const RtlBackend &) = delete;

  Translation translate(const Request &req) override;
  void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) override;
  // The DUT's counter; with checking on, compared with the model's first.
  uint64_t counter(Counter c) override;
  PhysicalMemory &memory() override;
  const MmuConfig &config() const override { return config_; }
  MemoryHierarchy *memoryModel() override;

  // With checking on: compares every counter (and that indices past the last read zero); throws
  // BackendMismatch on the first difference. A no-op with checking off.
  void checkCounters();

  const RtlBackendOptions &options() const { return options_; }
  // Transactions issued so far (the index the next one gets).
  uint64_t transactions() const override { return transactions_; }
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
  Response response_;  // the last translation's, which translate() hands out
};

// What `vmmu run --backend rtl` plugs into a run (run::RunRequest::rtl_backend): a fresh
// RtlBackend per run, checked against the golden model, with `base`'s waves and the VMMU_RTL_*
// environment overrides applied (RtlBackendOptions::fromEnvironment). vmmu_run itself does not
// link the verilated RTL; the caller that does hands it this.
std::function<std::unique_ptr<MmuBackend>(const MmuConfig &, const MemoryModelConfig &)>
checkedRtlBackendFactory(RtlBackendOptions base);

}  // namespace vmmu::vmm
