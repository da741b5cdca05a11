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

// One approach's run over the shared tape: its policy, the run, its reader of the tape, and the
// time its own steps took.
struct Lane {
  std::unique_ptr<policy::SwitchPolicy> policy;
  std::unique_ptr<policy::PolicyRun> run;
  std::unique_ptr<TraceReplay> replay;  // released when the run stops, so it holds no chunk
  ReplayStats stats;                    // the replay's, kept when it is released
  double seconds = 0.0;
  double cpu_seconds = 0.0;

  bool active() const { return replay != nullptr; }

  // Replays the lane's run up to `target` user accesses, interval by interval, or up to the tape's
  // horizon; releases the reader when the VMM stopped the guest.
  void step(uint64_t target) {
    for (uint64_t at = replay->stats().accesses; at < target && !run->stopped();) {
      const uint64_t until = at + std::min(target - at, run->untilIntervalEnd());
      run->advance([&](guest::GuestKernel &kernel) { return replay->replayTo(kernel, until); });
      at = replay->stats().accesses;
      if (at < until)
        break;  // the horizon
    }
    stats = replay->stats();
    if (run->stopped())
      replay.reset();
  }
};

// The RTL and the model disagreed in `lane`'s run (while it was being built, or at the event its
// reader was replaying).
Mismatch mismatchOf(const vmm::BackendMismatch &e, const Lane &lane) {
  Mismatch mismatch;
  mismatch.run = lane.policy->name();
  mismatch.event_index = lane.replay ? lane.replay->eventIndex() : 0;
  mismatch.transaction = e.transaction();
  mismatch.wave_from = e.waveWindowFrom();
  mismatch.first_cycle = e.firstCycle();
  mismatch.last_cycle = e.lastCycle();
  mismatch.first_time = e.firstWaveTime();
  mismatch.last_time = e.lastWaveTime();
  mismatch.what = e.details();
  return mismatch;
}

// Runs `work` and adds the wall and CPU time it took to `seconds` and `cpu_seconds`.
template <typename Work> void timed(double &seconds, double &cpu_seconds, Work &&work) {
  const Clock::time_point start = Clock::now();
  const double cpu_start = cpuSeconds();
  work();
  seconds += secondsSince(start);
  cpu_seconds += cpuSeconds() - cpu_start;
}

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
  TraceTape tape(request.trace, request.max_events);

  RunReport report;
  report.trace = request.trace;
  report.backend = request.backend == BackendKind::Rtl ? "rtl" : "model";
  report.requested_interval = request.settings.interval;
  report.interval = request.settings.interval;
  report.cycles_per_ref = request.settings.memory.cycles_per_ref;
  report.memory_model = request.settings.memory.describe();
  report.base_cpi = static_cast<double>(request.settings.vmm.costs.cpi_millis) / 1000.0;
  report.max_ept_page = configName(request.settings.vmm.memory.max_ept_page);
  report.host_allocation = request.settings.vmm.memory.lazy ? "lazy" : "eager";
  report.page_move_cycles = request.settings.vmm.costs.page_move;
  report.host_alloc_cycles = request.settings.vmm.costs.host_alloc;
  report.host_clear_page_cycles = request.settings.vmm.costs.host_clear_page;
  report.io_gap_start = request.settings.vmm.memory.io_gap_start;
  report.io_gap_bytes = request.settings.vmm.memory.io_gap_bytes;

  policy::ExperimentConfig config;
  config.interval = request.settings.interval;
  config.max_intervals = kMaxIntervals;
  config.direct_after = request.settings.direct_after;
  config.vmm = request.settings.vmm;
  config.guest = request.settings.guest;
  config.mmu = request.settings.mmu;
  config.memory = request.settings.memory;
  if (request.backend == BackendKind::Rtl)
    config.make_backend = request.rtl_backend;
  if (const std::string error = config.validateRun(); !error.empty())
    throw std::invalid_argument(error);

  std::vector<std::unique_ptr<policy::SwitchPolicy>> policies;
  if (request.baseline)
    policies.push_back(policy::makeStaticPolicy(Approach::Native));
  for (const Approach approach : request.approaches)
    if (approach != Approach::Native || !request.baseline)
      policies.push_back(policy::makeStaticPolicy(approach));
  if (request.adaptive)
    policies.push_back(std::make_unique<policy::AdaptivePolicy>(request.settings.adaptive));
  std::vector<Lane> lanes(policies.size());
  for (size_t i = 0; i < lanes.size(); ++i)
    lanes[i].policy = std::move(policies[i]);

  const auto stopRequested = [&] { return request.stop != nullptr && *request.stop != 0; };
  const auto decode = [&] {
    bool decoded = false;
    timed(report.decode_seconds, report.decode_cpu_seconds, [&] { decoded = tape.extend(); });
    return decoded;
  };
  // Decodes the tape up to the step's last user access (or the trace's end) before the runs take
  // the step, in one timed stretch rather than a chunk between every run's turns.
  const auto decodeStep = [&](uint64_t step_end) {
    timed(report.decode_seconds, report.decode_cpu_seconds, [&] {
      while (tape.accesses() < step_end && tape.extend()) {
      }
    });
  };
  Clock::time_point last_progress = start;
  const auto progress = [&](uint64_t replayed) {
    if (!request.progress)
      return;
    const Clock::time_point now = Clock::now();
    if (secondsSince(start) < 3.0 || std::chrono::duration<double>(now - last_progress).count() < 1.0)
      return;
    last_progress = now;
    char line[256];
    std::snprintf(line, sizeof line,
                  "vmmu run: %" PRIu64 " accesses replayed by each of %zu runs, %.0f%% of the trace read, %.1f s",
                  replayed, lanes.size(),
                  100.0 * static_cast<double>(tape.bytesRead()) / static_cast<double>(std::max<uint64_t>(tape.fileBytes(), 1)),
                  secondsSince(start));
    request.progress(line);
  };

  // Lockstep: a step is stepAccesses() user accesses, decoded before the runs take it; every run
  // replays it (interval by interval), then the next step starts. A run that reaches the tape's
  // horizon (events after the step's last access waiting for the scout) waits for the next chunk
  // (the others then reach it too).
  const uint64_t step_accesses = stepAccesses(request.backend);
  uint64_t done = 0;    // user accesses every running run has replayed
  uint64_t target = 0;  // where the step under way ends (done: none under way)
  bool interrupted = false;
  const Lane *running = nullptr;  // the run being built or taking its step
  try {
    for (Lane &lane : lanes) {
      running = &lane;
      timed(lane.seconds, lane.cpu_seconds, [&] {
        lane.run = std::make_unique<policy::PolicyRun>(config, *lane.policy);
        lane.replay = std::make_unique<TraceReplay>(tape, request.settings.huge_pages);
      });
    }
    for (;;) {
      if (stopRequested()) {
        interrupted = true;
        break;
      }
      if (target == done) {
        target = done + step_accesses;
        if (done < request.warmup)
          target = std::min(target, request.warmup);  // the phases meet at a step boundary
        decodeStep(target);
      }
      bool reached = true, any = false;
      for (Lane &lane : lanes) {
        if (!lane.active())
          continue;
        any = true;
        running = &lane;
        timed(lane.seconds, lane.cpu_seconds, [&] { lane.step(target); });
        if (lane.active() && lane.stats.accesses != target)
          reached = false;
      }
      if (!any)
        break;  // the VMM stopped every run
      if (!reached) {
        if (!decode())
          break;  // the trace is over: every run replayed up to its last user access
        continue;
      }
      done = target;
      if (request.warmup != 0 && done == request.warmup)
        for (Lane &lane : lanes)
          lane.run->startSteadyPhase();
      progress(done);
      for (const Lane &lane : lanes)
        if (lane.active() && lane.run->interval() != report.interval) {
          report.interval = lane.run->interval();
          if (request.progress)
            request.progress("vmmu run: interval coarsened from " + std::to_string(report.requested_interval) +
                             " to " + std::to_string(report.interval) + " accesses (at most " +
                             std::to_string(kMaxIntervals) + " intervals are recorded)");
        }
    }
  } catch (const vmm::BackendMismatch &e) {
    // The other runs are cut short and not reported (none ran to the end).
    report.mismatch = mismatchOf(e, *running);
    report.seconds = secondsSince(start);
    return report;
  }
  // Every run stopped early: the trace is still read to its end, so the counts are the trace's.
  while (!interrupted && !tape.ended()) {
    if (stopRequested())
      interrupted = true;
    else
      decode();
  }
  if (!interrupted && tape.accesses() == 0)
    throw std::invalid_argument(request.trace + ": the trace has no user accesses to replay");
  if (!interrupted && request.warmup != 0 && tape.accesses() <= request.warmup)
    throw std::invalid_argument("--warmup " + std::to_string(request.warmup) + ": the trace has only " +
                                std::to_string(tape.accesses()) +
                                " user accesses, so no steady phase follows the warm-up");
  report.warmup = request.warmup;

  report.interrupted = interrupted;
  report.counted = !interrupted;
  report.events = tape.events();
  report.accesses = tape.accesses();
  if (interrupted) {
    report.events = report.accesses = 0;
    for (const Lane &lane : lanes) {
      report.events = std::max(report.events, lane.stats.events);
      report.accesses = std::max(report.accesses, lane.stats.accesses);
    }
  }
  // The interval as run: the runs coarsened at the same accesses, except those that stopped
  // earlier, whose records are brought to the same interval here.
  for (const Lane &lane : lanes)
    report.interval = std::max(report.interval, lane.run->interval());
  for (Lane &lane : lanes) {
    while (lane.run->interval() < report.interval)
      lane.run->coarsen();
    ModeRun run;
    run.interrupted = interrupted && lane.active();
    timed(lane.seconds, lane.cpu_seconds, [&] {
      run.transactions = lane.run->backend().transactions();
      run.result = lane.run->finish(run.interrupted);
    });
    run.warmup = lane.run->warmup();
    run.replay = lane.stats;
    run.seconds = lane.seconds;
    run.cpu_seconds = lane.cpu_seconds;
    report.runs.push_back(std::move(run));
  }
  if (!interrupted) {
    std::vector<const policy::RunResult *> results;
    for (const ModeRun &run : report.runs)
      results.push_back(&run.result);
    policy::Oracles oracles = policy::computeOracles(results, request.settings.adaptive, request.settings.vmm.costs);
    report.oracle = std::move(oracles.nested_shadow);
    report.oracle_shadow = std::move(oracles.shadow);
    report.oracle_all = std::move(oracles.all);
  }
  report.seconds = secondsSince(start);
  return report;
}

}  // namespace vmmu::run
