// trace_run.cpp - running every approach over a trace, and the oracles (report.cpp prints them).
#include "vmmu/run/trace_run.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <stdexcept>


namespace vmmu::run {

namespace {

using Clock = std::chrono::steady_clock;
using vmm::Approach;

double cpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The oracles of policy::runComparison, over the runs this command made: nested vs the adaptive
// policy's shadow variant, and every approach but native. Switch costs are the ones runComparison
// charges (experiment.h): into shadow one exit per page the guest faulted in so far, into direct the
// compaction the direct run paid.
void computeOracles(RunReport &report, const RunSettings &settings) {
  const ModeRun *nested = report.find("nested");
  const ModeRun *shadow = report.find(vmm::toString(settings.adaptive.shadow));
  report.oracle_shadow = std::string(vmm::toString(settings.adaptive.shadow));
  if (nested == nullptr || nested->result.stopped)
    return;
  const policy::AdaptiveParams &adaptive = settings.adaptive;
  std::vector<uint64_t> faults_before(nested->result.intervals.size() + 1, 0);
  for (size_t i = 0; i < nested->result.intervals.size(); ++i)
    faults_before[i + 1] = faults_before[i] + nested->result.intervals[i].guest_page_faults;
  if (shadow != nullptr && !shadow->result.stopped) {
    const policy::SwitchCost cost = [&](size_t interval, size_t, size_t to) {
      return adaptive.switch_base_cycles + (to == 1 ? faults_before[interval] * adaptive.exit_cycles : 0);
    };
    report.oracle = policy::computeOracle({&nested->result, &shadow->result}, cost);
  }
  std::vector<const policy::RunResult *> all;
  for (const ModeRun &run : report.runs)
    if (run.result.policy != "native" && run.result.policy != "adaptive" && !run.result.stopped)
      all.push_back(&run.result);
  const policy::SwitchCost cost_all = [&](size_t interval, size_t, size_t to) {
    const policy::RunResult &target = *all[to];
    const Approach approach = target.intervals.empty() ? Approach::Nested : target.intervals.front().approach;
    uint64_t cycles = adaptive.switch_base_cycles;
    if (vmm::isShadow(approach))
      cycles += faults_before[interval] * adaptive.exit_cycles;
    if (approach == Approach::Direct)
      cycles += target.cost.page_moves * settings.vmm.costs.page_move;
    return cycles;
  };
  report.oracle_all = policy::computeOracle(all, cost_all);
}

// The backend of one run (the RTL's, which has transactions), which tells `transactions` how many transactions it issued when the
// run ends (the experiment owns and destroys the backend), so the report can say which
// --wave-window values exist.
class TransactionCounting final : public vmm::MmuBackend {
public:
  TransactionCounting(std::unique_ptr<vmm::MmuBackend> backend, std::shared_ptr<uint64_t> transactions)
      : backend_(std::move(backend)), transactions_(std::move(transactions)) {}
  ~TransactionCounting() override { *transactions_ = backend_->transactions(); }
  TransactionCounting(const TransactionCounting &) = delete;
  TransactionCounting &operator=(const TransactionCounting &) = delete;

  vmm::Translation translate(const Request &req) override { return backend_->translate(req); }
  void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) override {
    backend_->control(op, ctx, reg, data, vpid, pcid);
  }
  uint64_t counter(Counter c) override { return backend_->counter(c); }
  PhysicalMemory &memory() override { return backend_->memory(); }
  const MmuConfig &config() const override { return backend_->config(); }

private:
  std::unique_ptr<vmm::MmuBackend> backend_;
  std::shared_ptr<uint64_t> transactions_;
};

}  // namespace

const ModeRun *RunReport::find(std::string_view name) const {
  for (const ModeRun &run : runs)
    if (run.result.policy == name)
      return &run;
  return nullptr;
}

RunReport runTrace(const RunRequest &request) {
  if (request.backend == BackendKind::Rtl && !request.rtl_backend)
    throw std::invalid_argument("--backend rtl: this vmmu was built without the RTL backend (configure with "
                                "-DVMMU_BUILD_RTL=ON)");
  const Clock::time_point start = Clock::now();
  const TraceCounts counts = countTrace(request.trace, request.max_events, request.stop);
  if (counts.accesses == 0 && !counts.interrupted)
    throw std::invalid_argument(request.trace + ": the trace has no user accesses to replay");

  RunReport report;
  report.trace = request.trace;
  report.backend = request.backend == BackendKind::Rtl ? "rtl" : "model";
  report.events = counts.events;
  report.accesses = counts.accesses;
  report.counted = !counts.interrupted;
  report.requested_interval = request.settings.interval;
  report.interval = std::max(request.settings.interval, (counts.accesses + kMaxIntervals - 1) / kMaxIntervals);
  report.cycles_per_ref = request.settings.cycles_per_ref;
  if (report.interval != report.requested_interval && request.progress)
    request.progress("vmmu run: interval coarsened from " + std::to_string(report.requested_interval) + " to " +
                     std::to_string(report.interval) + " accesses (at most " + std::to_string(kMaxIntervals) +
                     " intervals are recorded)");

  std::vector<std::unique_ptr<policy::SwitchPolicy>> policies;
  if (request.baseline)
    policies.push_back(policy::makeStaticPolicy(Approach::Native));
  for (const Approach approach : request.approaches)
    if (approach != Approach::Native || !request.baseline)
      policies.push_back(policy::makeStaticPolicy(approach));
  if (request.adaptive)
    policies.push_back(std::make_unique<policy::AdaptivePolicy>(request.settings.adaptive));

  std::shared_ptr<ReplayProbe> probe;
  std::string running;
  size_t run_number = 0;
  Clock::time_point last_progress = start;
  const auto progress = [&](const ReplayProbe &p) {
    if (!request.progress)
      return;
    const Clock::time_point now = Clock::now();
    if (secondsSince(start) < 3.0 || std::chrono::duration<double>(now - last_progress).count() < 1.0)
      return;
    last_progress = now;
    char line[256];
    std::snprintf(line, sizeof line, "vmmu run: %s (run %zu of %zu): %" PRIu64 " of %" PRIu64 " accesses (%.0f%%), %.1f s",
                  running.c_str(), run_number, policies.size(), p.stats.accesses, counts.accesses,
                  100.0 * static_cast<double>(p.stats.accesses) / static_cast<double>(std::max<uint64_t>(counts.accesses, 1)),
                  secondsSince(start));
    request.progress(line);
  };

  policy::ExperimentConfig config;
  // Stopped while counting: the first run starts, sees the flag at once and reports itself
  // interrupted after 0 accesses, like a stop at any later point.
  config.accesses = std::max<uint64_t>(counts.accesses, 1);
  config.interval = report.interval;
  config.vmm = request.settings.vmm;
  config.guest = request.settings.guest;
  config.mmu = request.settings.mmu;
  config.cycles_per_ref = request.settings.cycles_per_ref;
  config.make_workload = [&]() -> std::unique_ptr<guest::Workload> {
    probe = std::make_shared<ReplayProbe>();
    ReplayOptions options;
    options.path = request.trace;
    options.max_events = request.max_events;
    options.huge_pages = request.settings.huge_pages;
    options.stop = request.stop;
    options.after_interval = progress;
    return std::make_unique<TraceReplay>(options, probe);
  };
  // The transactions of the current run's backend, published when the run ends (RTL only).
  const auto transactions = std::make_shared<uint64_t>(0);
  if (request.backend == BackendKind::Rtl) {
    config.make_backend = [&](const MmuConfig &mmu, uint64_t cycles_per_ref) -> std::unique_ptr<vmm::MmuBackend> {
      return std::make_unique<TransactionCounting>(request.rtl_backend(mmu, cycles_per_ref), transactions);
    };
  }
  if (const std::string error = config.validate(); !error.empty())
    throw std::invalid_argument(error);

  for (const std::unique_ptr<policy::SwitchPolicy> &policy : policies) {
    running = policy->name();
    ++run_number;
    ModeRun run;
    const Clock::time_point run_start = Clock::now();
    const double cpu_start = cpuSeconds();
    try {
      run.result = policy::runPolicy(config, *policy);
    } catch (const vmm::BackendMismatch &e) {
      Mismatch mismatch;
      mismatch.run = running;
      mismatch.event_index = probe ? probe->event_index : 0;
      mismatch.transaction = e.transaction();
      mismatch.wave_from = e.waveWindowFrom();
      mismatch.first_cycle = e.firstCycle();
      mismatch.last_cycle = e.lastCycle();
      mismatch.first_time = e.firstWaveTime();
      mismatch.last_time = e.lastWaveTime();
      mismatch.what = e.details();
      report.mismatch = std::move(mismatch);
      break;
    }
    run.seconds = secondsSince(run_start);
    run.cpu_seconds = cpuSeconds() - cpu_start;
    run.transactions = *transactions;
    run.replay = probe->stats;
    run.interrupted = probe->interrupted;
    report.runs.push_back(std::move(run));
    if (report.runs.back().interrupted) {
      report.interrupted = true;
      break;
    }
  }
  if (!report.interrupted && !report.mismatch)
    computeOracles(report, request.settings);
  report.seconds = secondsSince(start);
  return report;
}

}  // namespace vmmu::run
