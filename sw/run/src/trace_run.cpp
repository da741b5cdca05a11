// trace_run.cpp - running every approach over a trace, the oracles, the verdict and the reports.
#include "vmmu/run/trace_run.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <stdexcept>

#ifdef VMMU_RUN_HAVE_RTL
#include "vmmu/rtl_backend/rtl_backend.h"
#endif

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

std::string fmt(const char *format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

uint64_t ctr(const policy::RunResult &run, Counter c) { return run.counters[static_cast<unsigned>(c)]; }

char modeLetter(Approach approach) {
  switch (approach) {
  case Approach::Native: return 'x';
  case Approach::Nested: return 'n';
  case Approach::ShadowPlain: return 's';
  case Approach::ShadowCaching: return 'c';
  case Approach::ShadowPrefetch: return 'p';
  case Approach::Direct: return 'd';
  }
  return '?';
}

std::string schedule(const policy::OracleResult &oracle) {
  std::string out;
  for (const Approach a : oracle.schedule)
    out += modeLetter(a);
  return out;
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

std::string exitReasons(const policy::RunResult &run) {
  std::string out;
  for (unsigned r = 0; r < vmm::kNumExitReasons; ++r)
    if (run.cost.exits[r] != 0)
      out += std::string(out.empty() ? "" : " ") + std::string(vmm::toString(static_cast<vmm::ExitReason>(r))) + "=" +
             std::to_string(run.cost.exits[r]);
  return out.empty() ? "-" : out;
}

double slowdown(const RunReport &report, const policy::RunResult &run) {
  const ModeRun *native = report.find("native");
  if (native == nullptr || native->result.cycles() == 0)
    return 0.0;
  return static_cast<double>(run.cycles()) / static_cast<double>(native->result.cycles());
}

double distance(uint64_t cycles, const policy::OracleResult &oracle) {
  return oracle.cycles == 0 ? 0.0 : 100.0 * (static_cast<double>(cycles) / static_cast<double>(oracle.cycles) - 1.0);
}

std::string jsonString(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The static runs a verdict compares: measured to the end, not native, not a policy.
std::vector<const ModeRun *> candidates(const RunReport &report) {
  std::vector<const ModeRun *> out;
  for (const ModeRun &run : report.runs)
    if (run.result.policy != "native" && run.result.policy != "adaptive" && !run.result.stopped && !run.interrupted)
      out.push_back(&run);
  return out;
}

#ifdef VMMU_RUN_HAVE_RTL
// The RTL backend of one run, which tells `transactions` how many transactions it issued when the
// run ends (the experiment owns and destroys the backend), so the report can say which
// --wave-window values exist.
class TransactionCounting final : public vmm::MmuBackend {
public:
  TransactionCounting(std::unique_ptr<vmm::RtlBackend> backend, std::shared_ptr<uint64_t> transactions)
      : backend_(std::move(backend)), transactions_(std::move(transactions)) {}
  ~TransactionCounting() override { *transactions_ = backend_->transactions(); }
  TransactionCounting(const TransactionCounting &) = delete;
  TransactionCounting &operator=(const TransactionCounting &) = delete;

  Response translate(const Request &req, uint64_t &walk_cycles) override {
    return backend_->translate(req, walk_cycles);
  }
  void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) override {
    backend_->control(op, ctx, reg, data, vpid, pcid);
  }
  uint64_t counter(Counter c) override { return backend_->counter(c); }
  PhysicalMemory &memory() override { return backend_->memory(); }
  const MmuConfig &config() const override { return backend_->config(); }

private:
  std::unique_ptr<vmm::RtlBackend> backend_;
  std::shared_ptr<uint64_t> transactions_;
};
#endif

}  // namespace

const ModeRun *RunReport::find(std::string_view name) const {
  for (const ModeRun &run : runs)
    if (run.result.policy == name)
      return &run;
  return nullptr;
}

bool rtlBackendAvailable() {
#ifdef VMMU_RUN_HAVE_RTL
  return true;
#else
  return false;
#endif
}

RunReport runTrace(const RunRequest &request) {
  const Clock::time_point start = Clock::now();
  const TraceCounts counts = countTrace(request.trace, request.max_events, request.stop);
  if (counts.accesses == 0 && !counts.interrupted)
    throw std::invalid_argument(request.trace + ": the trace has no user accesses to replay");
  if (request.backend == BackendKind::Rtl && !rtlBackendAvailable())
    throw std::invalid_argument("--backend rtl: this vmmu was built without the RTL backend (configure with "
                                "-DVMMU_BUILD_RTL=ON)");

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
#ifdef VMMU_RUN_HAVE_RTL
  if (request.backend == BackendKind::Rtl) {
    config.make_backend = [&](const MmuConfig &mmu, uint64_t cycles_per_ref) -> std::unique_ptr<vmm::MmuBackend> {
      vmm::RtlBackendOptions options;
      options.cycles_per_ref = cycles_per_ref;
      options.check = true;
      options.waves_path = request.wave_path;
      options.waves_from = request.wave_from;
      options.waves_to = request.wave_to;
      // VMMU_RTL_CHECK / VMMU_RTL_WAVES / VMMU_RTL_WAVES_WINDOW / VMMU_RTL_INJECT_DIVERGENCE
      // override these (rtl_backend.h).
      return std::make_unique<TransactionCounting>(
          std::make_unique<vmm::RtlBackend>(mmu, vmm::RtlBackendOptions::fromEnvironment(options)), transactions);
    };
  }
#endif
  if (const std::string error = config.validate(); !error.empty())
    throw std::invalid_argument(error);

  for (const std::unique_ptr<policy::SwitchPolicy> &policy : policies) {
    running = policy->name();
    ++run_number;
    ModeRun run;
    const Clock::time_point run_start = Clock::now();
    const double cpu_start = cpuSeconds();
#ifdef VMMU_RUN_HAVE_RTL
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
      mismatch.what = e.details();
      report.mismatch = std::move(mismatch);
      break;
    }
#else
    run.result = policy::runPolicy(config, *policy);
#endif
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

std::string verdict(const RunReport &report) {
  const std::vector<const ModeRun *> runs = candidates(report);
  if (runs.empty())
    return "best approach: none compared (no virtualized approach ran to the end)";
  const ModeRun *best = runs.front();
  for (const ModeRun *run : runs)
    if (run->result.cycles() < best->result.cycles())
      best = run;
  const double ratio = slowdown(report, best->result);
  std::string out = "best approach: " + best->result.policy +
                    (ratio == 0.0 ? std::string(" (no native baseline run)") : " at " + fmt("%.3f", ratio) + "x native");
  if (runs.size() == 1)
    return out + " (the only approach run)";
  // The runner-up and the worst, each with what its extra cost over the best consists of: walk
  // (translation) cycles, VM exit round trips, or the VMM's own work (shadow maintenance, a direct
  // VM's compaction), naming the largest.
  const ModeRun *runner_up = nullptr;
  const ModeRun *worst = nullptr;
  for (const ModeRun *run : runs) {
    if (run == best)
      continue;
    if (runner_up == nullptr || run->result.cycles() < runner_up->result.cycles())
      runner_up = run;
    if (worst == nullptr || run->result.cycles() > worst->result.cycles())
      worst = run;
  }
  const auto against = [&](const char *label, const ModeRun &run) {
    const auto extra = [&](uint64_t vmm::RunCost::*part) {
      return static_cast<double>(run.result.cost.*part) - static_cast<double>(best->result.cost.*part);
    };
    const double walk = extra(&vmm::RunCost::translation_cycles);
    const double exits = extra(&vmm::RunCost::exit_cycles);
    const double work = extra(&vmm::RunCost::shim_cycles);
    const char *dominant = walk >= exits && walk >= work ? "walk cycles dominate"
                           : exits >= work               ? "VM exits dominate"
                                                         : "VMM work dominates";
    const double more = 100.0 * (static_cast<double>(run.result.cycles()) / static_cast<double>(best->result.cycles()) - 1.0);
    return std::string("; ") + label + " " + run.result.policy + " costs " + fmt("%+.2f", more) + "% (translation " +
           fmt("%+.3g", walk) + " cycles, VM exits " + fmt("%+.3g", exits) + ", VMM work " + fmt("%+.3g", work) +
           ": " + dominant + ")";
  };
  out += against("runner-up", *runner_up);
  if (worst != runner_up)
    out += against("worst", *worst);
  return out;
}

std::string formatText(const RunReport &report) {
  std::string out;
  char line[768];
  std::snprintf(line, sizeof line,
                "vmmu run %s: %" PRIu64 " events, %" PRIu64 " user accesses, backend %s, interval %" PRIu64
                ", %" PRIu64 " cycles per walk reference\n",
                report.trace.c_str(), report.events, report.accesses, report.backend.c_str(), report.interval,
                report.cycles_per_ref);
  out += line;
  std::snprintf(line, sizeof line, "%-16s %15s %9s %10s %10s %10s  %s\n", "approach", "cycles", "slowdown",
                "misses/1k", "refs/walk", "vm exits", "exits by reason");
  out += line;
  for (const ModeRun &run : report.runs) {
    std::string reasons = exitReasons(run.result);
    if (run.result.stopped)
      reasons += " [stopped: " + run.result.stop_reason + "]";
    if (run.result.direct_fell_back)
      reasons += " [direct impossible: ran nested]";
    if (run.interrupted)
      reasons += " [interrupted after " + std::to_string(run.replay.accesses) + " accesses]";
    const double ratio = slowdown(report, run.result);
    std::snprintf(line, sizeof line, "%-16s %15" PRIu64 " %9s %10.2f %10.2f %10" PRIu64 "  %s\n",
                  run.result.policy.c_str(), run.result.cycles(), ratio == 0.0 ? "-" : (fmt("%.3f", ratio) + "x").c_str(),
                  run.result.tlbMissesPerKiloAccess(), run.result.referencesPerWalk(), run.result.cost.totalExits(),
                  reasons.c_str());
    out += line;
  }
  if (const ModeRun *adaptive = report.find("adaptive")) {
    const std::string timeline = adaptive->result.modeTimeline();
    uint64_t per_mode[vmm::kNumApproaches] = {};
    uint64_t switches = 0;
    for (size_t i = 0; i < adaptive->result.intervals.size(); ++i) {
      const Approach a = adaptive->result.intervals[i].approach;
      ++per_mode[static_cast<unsigned>(a)];
      if (i > 0 && a != adaptive->result.intervals[i - 1].approach)
        ++switches;
    }
    std::string choices;
    for (unsigned a = 0; a < vmm::kNumApproaches; ++a)
      if (per_mode[a] != 0)
        choices += (choices.empty() ? "" : ", ") + std::string(vmm::toString(static_cast<Approach>(a))) + " " +
                   std::to_string(per_mode[a]);
    out += "adaptive: intervals per mode: " + choices + "; " + std::to_string(switches) + " switches\n";
    out += "adaptive: mode per interval (n nested, s shadow, c shadow-cache, p shadow-prefetch, d direct): " +
           (timeline.size() > 200 ? timeline.substr(0, 200) + "..." : timeline) + "\n";
    if (report.oracle.cycles != 0) {
      std::snprintf(line, sizeof line, "oracle (nested/%s): %" PRIu64 " cycles; adaptive is %+.2f%% from it\n",
                    report.oracle_shadow.c_str(), report.oracle.cycles,
                    distance(adaptive->result.cycles(), report.oracle));
      out += line;
    }
    if (report.oracle_all.cycles != 0) {
      std::snprintf(line, sizeof line, "oracle (every approach): %" PRIu64 " cycles; adaptive is %+.2f%% from it\n",
                    report.oracle_all.cycles, distance(adaptive->result.cycles(), report.oracle_all));
      out += line;
    }
  }
  if (report.backend == "rtl" && !report.runs.empty()) {
    std::string counts;
    for (const ModeRun &run : report.runs)
      counts += (counts.empty() ? "" : ", ") + run.result.policy + " " +
                (run.transactions == 0 ? std::string("-") : "0:" + std::to_string(run.transactions - 1));
    out += "rtl transactions per run (the --wave-window range): " + counts + "\n";
  }
  if (report.mismatch) {
    std::snprintf(line, sizeof line,
                  "MISMATCH in %s at trace event %" PRIu64 " (backend transaction %" PRIu64 ", DUT cycles %" PRIu64
                  " to %" PRIu64 ")\n",
                  report.mismatch->run.c_str(), report.mismatch->event_index, report.mismatch->transaction,
                  report.mismatch->first_cycle, report.mismatch->last_cycle);
    out += line;
  }
  if (report.interrupted)
    out += "interrupted: the runs above are what was measured\n";
  uint64_t replayed = 0;
  double seconds = 0.0, cpu_seconds = 0.0;
  for (const ModeRun &run : report.runs) {
    replayed += run.replay.accesses;
    seconds += run.seconds;
    cpu_seconds += run.cpu_seconds;
  }
  if (seconds > 0.0 && cpu_seconds > 0.0) {
    std::snprintf(line, sizeof line,
                  "replay speed: %.2fM accesses/s of CPU time on the %s backend (%" PRIu64
                  " accesses in %.2f CPU s, %.2f s wall)\n",
                  static_cast<double>(replayed) / cpu_seconds / 1e6, report.backend.c_str(), replayed, cpu_seconds,
                  seconds);
    out += line;
  }
  out += verdict(report) + "\n";
  return out;
}

std::string formatJson(const RunReport &report) {
  std::string out = "{\n";
  const auto field = [&](const char *name, const std::string &value, bool last = false) {
    out += std::string("  ") + jsonString(name) + ": " + value + (last ? "\n" : ",\n");
  };
  const auto num = [](uint64_t v) { return std::to_string(v); };
  const auto real = [](double v) { return fmt("%.6g", v); };
  field("trace", jsonString(report.trace));
  field("backend", jsonString(report.backend));
  field("events", num(report.events));
  field("accesses", num(report.accesses));
  field("interval", num(report.interval));
  field("cycles_per_ref", num(report.cycles_per_ref));
  field("seconds", real(report.seconds));
  field("interrupted", report.interrupted ? "true" : "false");
  std::string runs = "[";
  for (size_t i = 0; i < report.runs.size(); ++i) {
    const ModeRun &run = report.runs[i];
    const policy::RunResult &r = run.result;
    std::string exits = "{";
    for (unsigned e = 0; e < vmm::kNumExitReasons; ++e)
      exits += std::string(e ? ", " : "") + jsonString(vmm::toString(static_cast<vmm::ExitReason>(e))) + ": " +
               num(r.cost.exits[e]);
    exits += "}";
    std::string interval_cycles = "[";
    for (size_t k = 0; k < r.intervals.size(); ++k)
      interval_cycles += (k ? ", " : "") + num(r.intervals[k].total_cycles);
    interval_cycles += "]";
    runs += std::string(i ? ",\n" : "\n") + "    {\"approach\": " + jsonString(r.policy) +
            ", \"cycles\": " + num(r.cycles()) + ", \"slowdown\": " + real(slowdown(report, r)) +
            ", \"accesses\": " + num(r.cost.accesses) + ", \"tlb_misses\": " + num(ctr(r, Counter::TlbMisses)) +
            ", \"misses_per_1k\": " + real(r.tlbMissesPerKiloAccess()) +
            ", \"walks\": " + num(ctr(r, Counter::Walks)) + ", \"refs_per_walk\": " + real(r.referencesPerWalk()) +
            ", \"translation_cycles\": " + num(r.cost.translation_cycles) +
            ", \"exit_cycles\": " + num(r.cost.exit_cycles) + ", \"shim_cycles\": " + num(r.cost.shim_cycles) +
            ", \"guest_work_cycles\": " + num(r.cost.guest_work_cycles) +
            ", \"vm_exits\": " + num(r.cost.totalExits()) + ", \"exits_by_reason\": " + exits +
            ", \"guest_page_faults\": " + num(r.cost.guest_page_faults) +
            ", \"stopped\": " + (r.stopped ? "true" : "false") +
            ", \"interrupted\": " + (run.interrupted ? "true" : "false") +
            ", \"seconds\": " + real(run.seconds) + ", \"cpu_seconds\": " + real(run.cpu_seconds) +
            ", \"transactions\": " + num(run.transactions) + ", \"modes\": " + jsonString(r.modeTimeline()) +
            ", \"interval_cycles\": " + interval_cycles + "}";
  }
  runs += "\n  ]";
  field("runs", runs);
  const ModeRun *adaptive = report.find("adaptive");
  const auto oracle = [&](const policy::OracleResult &o) {
    return "{\"cycles\": " + num(o.cycles) + ", \"schedule\": " + jsonString(schedule(o)) +
           ", \"adaptive_distance_percent\": " +
           (adaptive && o.cycles ? real(distance(adaptive->result.cycles(), o)) : std::string("null")) + "}";
  };
  field("oracle", report.oracle.cycles ? oracle(report.oracle) : "null");
  field("oracle_shadow", jsonString(report.oracle_shadow));
  field("oracle_all", report.oracle_all.cycles ? oracle(report.oracle_all) : "null");
  if (report.mismatch)
    field("mismatch", "{\"run\": " + jsonString(report.mismatch->run) +
                          ", \"event_index\": " + num(report.mismatch->event_index) +
                          ", \"transaction\": " + num(report.mismatch->transaction) +
                          ", \"wave_from\": " + num(report.mismatch->wave_from) +
                          ", \"first_cycle\": " + num(report.mismatch->first_cycle) +
                          ", \"last_cycle\": " + num(report.mismatch->last_cycle) +
                          ", \"what\": " + jsonString(report.mismatch->what) + "}");
  else
    field("mismatch", "null");
  field("verdict", jsonString(verdict(report)), true);
  return out + "}\n";
}

}  // namespace vmmu::run
