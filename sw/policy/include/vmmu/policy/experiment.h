// vmmu/policy/experiment.h - runs the same guest activity under every approach and a switch
// policy, computes the oracle, and reports.
//
// Each run builds a fresh MMU (golden model), VMM and guest kernel, replays a deterministic
// workload interval by interval, and asks its policy after each interval. Because the workload is
// deterministic, interval i is the same guest activity in every run; the oracle picks, with
// hindsight, the cheapest approach per interval (paying a switch cost per change), which bounds
// what any policy choosing among the same approaches could reach.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vmmu/config.h"
#include "vmmu/guest/guest_kernel.h"
#include "vmmu/guest/workload.h"
#include "vmmu/policy/policy.h"
#include "vmmu/vmm/mmu_backend.h"
#include "vmmu/vmm/vmm.h"

namespace vmmu::policy {

struct ExperimentConfig {
  std::function<std::unique_ptr<guest::Workload>()> make_workload;
  uint64_t accesses = 200'000;    // guest user accesses in the run
  uint64_t interval = 10'000;     // user accesses per policy interval
  // Records kept at most (0: no bound): a run that has recorded this many merges them pairwise
  // and doubles its interval from then on (PolicyRun::coarsen). Runs of the same activity do so at
  // the same access, so their records stay aligned.
  uint64_t max_intervals = 0;
  // Direct runs nested for this many user accesses, then switches into direct at the interval
  // boundary that reaches them, making the VM contiguous then (`vmm.contiguity`) with the guest's
  // memory in use; 0: direct from creation.
  uint64_t direct_after = 0;
  vmm::VmmConfig vmm;             // the VM (memory size also sizes the guest)
  guest::GuestConfig guest;       // memory_bytes is taken from vmm.memory.bytes
  MmuConfig mmu;
  // What walk references and data accesses cost (vmm/memory_model.h): flat, 30 cycles per walk
  // reference (§12 c), for the library's experiments; `vmmu run` sets the cache hierarchy.
  vmm::MemoryModelConfig memory = vmm::MemoryModelConfig::flat(30);
  // Builds the MMU backend for each run; empty means vmm::ModelBackend (the golden model). The
  // RTL backend plugs in here, so the same experiment runs on either.
  std::function<std::unique_ptr<vmm::MmuBackend>(const MmuConfig &, const vmm::MemoryModelConfig &)> make_backend;
  // Empty when valid, else one line naming the bad field.
  std::string validate() const;
  // The same without the workload fields (make_workload, accesses): what PolicyRun needs.
  std::string validateRun() const;
};

struct RunResult {
  std::string policy;
  std::vector<IntervalCounters> intervals;
  vmm::RunCost cost;
  std::array<uint64_t, kNumCounters> counters{};  // MMU counters at the end of the run
  bool stopped = false;                           // the VMM stopped the guest
  std::string stop_reason;
  bool direct_fell_back = false;                  // direct was impossible: ran nested
  uint64_t ept_table_bytes = 0;                   // host memory of the VM's EPT tables at the end (§21.7)

  uint64_t cycles() const { return cost.totalCycles(); }
  double tlbMissesPerKiloAccess() const;
  double referencesPerWalk() const;
  // One letter per interval for the approach in force (n nested, s/c/p shadow variants, d direct).
  std::string modeTimeline() const;
  // "reason=count" for every exit reason that occurred, space-separated; empty without exits.
  std::string exitsByReason() const;
  // " [stopped: why]" and " [direct impossible: ran nested]" when they apply; else empty.
  std::string notes() const;
};

// The letter of `approach` in mode timelines and oracle schedules (x native, n nested, s/c/p the
// shadow variants, d direct), one per approach in order.
char modeLetter(Approach approach);
std::string modeLetters(const std::vector<Approach> &approaches);

// One run of one policy, driven from outside a step at a time: the experiment runner below, and
// `vmmu run` (sw/run), which advances every approach in lockstep over one decoded trace.
//
// The constructor builds a fresh MMU backend, VMM (a direct VM that cannot exist runs nested) and
// guest kernel. advance() lets the caller's guest activity run on kernel(); when the interval's
// accesses are complete, the interval is recorded and the policy decides the next approach.
// finish() records a partial last interval (and asks the policy after it, as after any interval)
// and returns the result. Intervals are cut at user-access counts the caller reports, so runs of
// the same activity have the same interval boundaries.
class PolicyRun {
public:
  // Throws std::invalid_argument for a bad configuration (config.make_workload is not used).
  PolicyRun(const ExperimentConfig &config, SwitchPolicy &policy);
  ~PolicyRun();
  PolicyRun(const PolicyRun &) = delete;
  PolicyRun &operator=(const PolicyRun &) = delete;

  guest::GuestKernel &kernel() { return *kernel_; }
  const vmm::MmuBackend &backend() const { return *backend_; }
  const std::string &name() const { return result_.policy; }

  // User accesses per interval, and how many the current interval still needs.
  uint64_t interval() const { return interval_; }
  uint64_t untilIntervalEnd() const { return interval_ - done_in_interval_; }
  // Intervals recorded so far.
  size_t intervalsRecorded() const { return result_.intervals.size(); }
  // The VMM stopped the guest (vmm::GuestStopped): the run is over, advance() does nothing more.
  bool stopped() const { return result_.stopped; }

  // Runs `work` on the guest kernel; it returns the user accesses it made, at most
  // untilIntervalEnd(). A GuestStopped ends the run (its interval is recorded).
  template <typename Work> void advance(Work &&work) {
    if (result_.stopped)
      return;
    try {
      const uint64_t made = work(*kernel_);
      done_in_interval_ += made;
      accesses_done_ += made;
    } catch (const vmm::GuestStopped &e) {
      stopGuest(e.what());
      return;
    }
    if (done_in_interval_ >= interval_)
      endInterval(true);
  }
  // Coarsens the records: merges them pairwise (the first's approach names the pair) and doubles
  // the interval from now on. Called when config.max_intervals are recorded; a caller may call it
  // on a run that stopped early to align its records with the others'. Only between intervals.
  void coarsen();
  // Ends a warm-up phase (`vmmu run --warmup`): records the interval in progress (asking the
  // policy), keeps what the run measured so far as warmup(), and starts the result over: the
  // intervals, cost and counters finish() returns are those after this call. The guest, the
  // VMM's tables and the MMU's TLBs and caches carry over, warm.
  void startSteadyPhase();
  const RunResult &warmup() const { return warmup_; }
  // `interrupted`: the activity was stopped from outside; the policy is not asked again.
  RunResult finish(bool interrupted = false);

private:
  void stopGuest(const std::string &reason);
  // Records the interval in progress; `decide`: then asks the policy and switches.
  void endInterval(bool decide);

  SwitchPolicy &policy_;
  uint64_t interval_;
  const uint64_t max_intervals_;
  RunResult result_;
  std::unique_ptr<vmm::MmuBackend> backend_;
  std::unique_ptr<vmm::Vmm> vmm_;
  std::unique_ptr<guest::GuestKernel> kernel_;
  uint64_t done_in_interval_ = 0;
  uint64_t accesses_done_ = 0;  // user accesses so far (for direct_after_)
  uint64_t direct_after_ = 0;   // a direct run held nested until this many (ExperimentConfig)
  Approach during_;  // the approach in force since the interval began
  // From zero: what VM creation cost (a direct VM's compaction) belongs to the first interval.
  vmm::RunCost last_cost_;
  std::array<uint64_t, kNumCounters> last_counters_{};
  // Where the result starts (startSteadyPhase), and what came before it.
  vmm::RunCost base_cost_;
  std::array<uint64_t, kNumCounters> base_counters_{};
  RunResult warmup_;
};

// Runs config.make_workload's activity for config.accesses user accesses under `policy`.
RunResult runPolicy(const ExperimentConfig &config, SwitchPolicy &policy);

struct OracleResult {
  uint64_t cycles = 0;
  std::vector<Approach> schedule;
};
// What changing from run `from` to run `to` before interval `interval` costs.
using SwitchCost = std::function<uint64_t(size_t interval, size_t from, size_t to)>;
// The cheapest per-interval schedule over the runs given (static runs of the same activity),
// paying `switch_cost` per change of approach.
OracleResult computeOracle(const std::vector<const RunResult *> &static_runs, const SwitchCost &switch_cost);

// The two oracles a comparison reports, over runs of the same activity (found by policy name).
struct Oracles {
  // Over nested and the adaptive policy's shadow variant, charging switches as the adaptive
  // policy estimates them (into shadow: one shadow fault per page the guest has faulted in).
  // Empty (0 cycles) unless both ran to the end.
  OracleResult nested_shadow;
  std::string shadow;  // that shadow variant's name
  // Over every static approach but native that ran to the end (into direct also paying the
  // compaction the direct run paid): the best any policy could do with hindsight. Empty unless
  // nested ran to the end.
  OracleResult all;
};
Oracles computeOracles(const std::vector<const RunResult *> &runs, const AdaptiveParams &adaptive,
                       const vmm::CostConfig &costs);

struct Report {
  std::string workload;
  uint64_t accesses = 0;
  uint64_t interval = 0;
  std::vector<RunResult> runs;  // native, nested, the shadow variants, direct, adaptive
  OracleResult oracle;          // computeOracles' nested_shadow
  std::string oracle_shadow;    // its shadow variant's name
  OracleResult oracle_all;      // computeOracles' all
  const RunResult *find(std::string_view policy) const;
};

Report runComparison(const ExperimentConfig &config, const AdaptiveParams &adaptive = AdaptiveParams{});
std::string formatReport(const Report &report);

}  // namespace vmmu::policy
