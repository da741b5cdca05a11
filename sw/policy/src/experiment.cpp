// experiment.cpp - running policies over a workload, the oracle, and the report.
#include "vmmu/policy/experiment.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "vmmu/vmm/mmu_backend.h"

namespace vmmu::policy {

char modeLetter(Approach approach) {
  switch (approach) {
  case Approach::Native: return 'x';
  case Approach::Nested: return 'n';
  case Approach::ShadowPlain: return 's';
  case Approach::ShadowCaching: return 'c';
  case Approach::ShadowPrefetch: return 'p';
  case Approach::Direct: return 'd';
  case Approach::GuestDirect: return 'g';
  case Approach::DualDirect: return 'u';
  case Approach::Agile: return 'a';
  }
  return '?';
}

std::string modeLetters(const std::vector<Approach> &approaches) {
  std::string out;
  for (const Approach approach : approaches)
    out += modeLetter(approach);
  return out;
}

namespace {

IntervalCounters intervalOf(uint64_t index, Approach approach, const vmm::RunCost &cost,
                            const std::array<uint64_t, kNumCounters> &counters, const vmm::CostConfig &costs) {
  auto ctr = [&](Counter c) { return counters[static_cast<unsigned>(c)]; };
  IntervalCounters in;
  in.index = index;
  in.approach = approach;
  in.accesses = cost.accesses;
  in.tlb_misses = ctr(Counter::TlbMisses);
  in.walks = ctr(Counter::Walks);
  in.guest_references = ctr(Counter::GuestReads);
  in.nested_references = ctr(Counter::NestedReads);
  in.walk_cycles = ctr(Counter::WalkCycles);
  in.nested_lookups = ctr(Counter::NtlbHits) + ctr(Counter::NtlbMisses);
  in.guest_page_faults = cost.guest_page_faults;
  in.cr3_writes = cost.cr3_writes;
  in.exits = cost.exits;
  in.translation_cycles = cost.translation_cycles;
  in.exit_cycles = cost.exit_cycles;
  in.shim_cycles = cost.shim_cycles;
  // As vmm::chargeBacking charged it.
  in.host_backings = cost.host_backings;
  in.host_backing_cycles = cost.host_backings * costs.host_alloc + cost.host_pages_backed * costs.host_clear_page;
  in.total_cycles = cost.totalCycles();
  in.segment_walks = cost.segment_walks;
  in.segment_walk_cycles = cost.segment_walk_cycles;
  return in;
}

std::array<uint64_t, kNumCounters> readCounters(vmm::MmuBackend &backend) {
  std::array<uint64_t, kNumCounters> out{};
  for (unsigned c = 0; c < kNumCounters; ++c)
    out[c] = backend.counter(static_cast<Counter>(c));
  return out;
}

}  // namespace

std::string ExperimentConfig::validate() const {
  if (!make_workload)
    return "experiment: no workload";
  if (accesses == 0)
    return "experiment: accesses must be > 0";
  return validateRun();
}

std::string ExperimentConfig::validateRun() const {
  if (interval == 0)
    return "experiment: interval must be > 0";
  if (const std::string error = memory.validate(); !error.empty())
    return "experiment: " + error;
  return mmu.validate();
}

double RunResult::tlbMissesPerKiloAccess() const {
  return cost.accesses == 0 ? 0.0
                            : 1000.0 * static_cast<double>(counters[static_cast<unsigned>(Counter::TlbMisses)]) /
                                  static_cast<double>(cost.accesses);
}

double RunResult::referencesPerWalk() const {
  const uint64_t walks = counters[static_cast<unsigned>(Counter::Walks)];
  const uint64_t refs = counters[static_cast<unsigned>(Counter::GuestReads)] +
                        counters[static_cast<unsigned>(Counter::NestedReads)];
  return walks == 0 ? 0.0 : static_cast<double>(refs) / static_cast<double>(walks);
}

std::string RunResult::modeTimeline() const {
  std::string out;
  out.reserve(intervals.size());
  for (const IntervalCounters &in : intervals)
    out += modeLetter(in.approach);
  return out;
}

std::string RunResult::exitsByReason() const {
  std::string out;
  for (unsigned r = 0; r < vmm::kNumExitReasons; ++r)
    if (cost.exits[r] != 0)
      out += std::string(out.empty() ? "" : " ") + std::string(vmm::toString(static_cast<vmm::ExitReason>(r))) + "=" +
             std::to_string(cost.exits[r]);
  return out;
}

std::string RunResult::notes() const {
  std::string out;
  if (stopped)
    out += " [stopped: " + stop_reason + "]";
  if (direct_fell_back)
    out += " [direct impossible: ran nested]";
  return out;
}

PolicyRun::PolicyRun(const ExperimentConfig &config, SwitchPolicy &policy)
    : policy_(policy), interval_(config.interval), max_intervals_(config.max_intervals) {
  if (const std::string error = config.validateRun(); !error.empty())
    throw std::invalid_argument(error);
  result_.policy = policy.name();
  Approach approach = policy.initial();
  if (approach == Approach::Direct && config.direct_after != 0) {
    approach = Approach::Nested;  // until direct_after user accesses (endInterval())
    direct_after_ = config.direct_after;
  }
  vmm::VmmConfig vmm_config = config.vmm;
  // A policy that may switch into a segment mode needs the guest's segment from the start (§16).
  vmm_config.guest_segment = vmm_config.guest_segment || policy.offersGuestSegment();
  if (approach == Approach::Native) {
    vmm_config.memory.host_base = 0;
    vmm_config.memory.fragmentation = 0.0;
  }
  const auto makeBackend = [&]() -> std::unique_ptr<vmm::MmuBackend> {
    if (config.make_backend)
      return config.make_backend(config.mmu, config.memory);
    return std::make_unique<vmm::ModelBackend>(config.mmu, config.memory);
  };
  backend_ = makeBackend();
  try {
    vmm_ = std::make_unique<vmm::Vmm>(*backend_, vmm_config, approach);
  } catch (const std::runtime_error &) {
    if (approach != Approach::Direct)
      throw;
    // Direct is impossible for this VM (fragmented, compaction disallowed): run nested.
    result_.direct_fell_back = true;
    approach = Approach::Nested;
    backend_ = makeBackend();
    vmm_ = std::make_unique<vmm::Vmm>(*backend_, vmm_config, approach);
  }
  guest::GuestConfig guest_config = config.guest;
  guest_config.memory_bytes = vmm_config.memory.bytes;
  guest_config.io_gap_start = vmm_config.memory.io_gap_start;  // the guest sees the VM's hole (§19.5)
  guest_config.io_gap_bytes = vmm_config.memory.io_gap_bytes;
  guest_config.paging_levels = backend_->config().guest_levels;  // the guest pages as the MMU walks
  kernel_ = std::make_unique<guest::GuestKernel>(*vmm_, guest_config);
  // The booted guest's balloon driver: a direct VM made contiguous by self-ballooning enters
  // DIRECT here (§19).
  vmm_->attachBalloon(*kernel_);
  during_ = vmm_->approach();
}

PolicyRun::~PolicyRun() = default;

void PolicyRun::stopGuest(const std::string &reason) {
  result_.stopped = true;
  result_.stop_reason = reason;
  endInterval(false);
}

void PolicyRun::endInterval(bool decide) {
  const std::array<uint64_t, kNumCounters> counters = readCounters(*backend_);
  std::array<uint64_t, kNumCounters> delta{};
  for (unsigned c = 0; c < kNumCounters; ++c)
    delta[c] = counters[c] - last_counters_[c];
  result_.intervals.push_back(
      intervalOf(result_.intervals.size(), during_, vmm_->cost() - last_cost_, delta, vmm_->config().costs));
  IntervalCounters &recorded = result_.intervals.back();
  const uint64_t guest_pages = kernel_->memoryBytes() / 4096;
  recorded.guest_used_pages = guest_pages - std::min(guest_pages, kernel_->freeFrames());
  recorded.guest_table_pages = kernel_->stats().table_pages_allocated - kernel_->stats().table_pages_freed;
  recorded.guest_segment_bytes = vmm_->guestSegmentBytes();
  recorded.direct_possible = vmm_->canEnterDirect();
  recorded.direct_entry_cycles = recorded.direct_possible ? vmm_->directEntryCycles() : 0;
  last_cost_ = vmm_->cost();
  last_counters_ = counters;
  done_in_interval_ = 0;
  if (max_intervals_ != 0 && result_.intervals.size() >= max_intervals_)
    coarsen();
  if (decide) {
    const Approach next = policy_.decide(result_.intervals.back());
    const bool held_nested = next == Approach::Direct && accesses_done_ < direct_after_;
    const bool needs_direct = next == Approach::Direct || next == Approach::DualDirect;
    if (next != vmm_->approach() && !held_nested && !(needs_direct && !vmm_->canEnterDirect()))
      vmm_->switchApproach(next);
  }
  during_ = vmm_->approach();
}

void PolicyRun::coarsen() {
  std::vector<IntervalCounters> &records = result_.intervals;
  std::vector<IntervalCounters> merged;
  merged.reserve((records.size() + 1) / 2);
  for (size_t i = 0; i < records.size(); i += 2) {
    IntervalCounters pair = records[i];
    pair.index = i / 2;
    if (i + 1 < records.size()) {
      const IntervalCounters &second = records[i + 1];
      pair.accesses += second.accesses;
      pair.tlb_misses += second.tlb_misses;
      pair.walks += second.walks;
      pair.guest_references += second.guest_references;
      pair.nested_references += second.nested_references;
      pair.walk_cycles += second.walk_cycles;
      pair.nested_lookups += second.nested_lookups;
      pair.guest_page_faults += second.guest_page_faults;
      pair.cr3_writes += second.cr3_writes;
      for (unsigned r = 0; r < vmm::kNumExitReasons; ++r)
        pair.exits[r] += second.exits[r];
      pair.translation_cycles += second.translation_cycles;
      pair.exit_cycles += second.exit_cycles;
      pair.shim_cycles += second.shim_cycles;
      pair.host_backings += second.host_backings;
      pair.host_backing_cycles += second.host_backing_cycles;
      pair.guest_used_pages = second.guest_used_pages;  // at the pair's end
      pair.guest_table_pages = second.guest_table_pages;
      pair.total_cycles += second.total_cycles;
      pair.segment_walks += second.segment_walks;
      pair.segment_walk_cycles += second.segment_walk_cycles;
      pair.guest_segment_bytes = second.guest_segment_bytes;  // at the pair's end
      pair.direct_possible = second.direct_possible;
      pair.direct_entry_cycles = second.direct_entry_cycles;
    }
    merged.push_back(pair);
  }
  records = std::move(merged);
  interval_ *= 2;
}

void PolicyRun::startSteadyPhase() {
  if (!result_.stopped && done_in_interval_ != 0)
    endInterval(true);
  const std::array<uint64_t, kNumCounters> counters = readCounters(*backend_);
  warmup_ = result_;
  warmup_.cost = vmm_->cost() - base_cost_;
  for (unsigned c = 0; c < kNumCounters; ++c)
    warmup_.counters[c] = counters[c] - base_counters_[c];
  result_.intervals.clear();
  base_cost_ = vmm_->cost();
  base_counters_ = counters;
}

RunResult PolicyRun::finish(bool interrupted) {
  // The interval in progress is recorded when it has accesses (a run cut at an interval boundary
  // has none), or when nothing was recorded at all. A stop from outside does not ask the policy.
  if (!result_.stopped && (done_in_interval_ != 0 || result_.intervals.empty()))
    endInterval(!interrupted);
  result_.cost = vmm_->cost() - base_cost_;
  result_.ept_table_bytes = vmm_->memory().eptTableBytes();
  result_.counters = readCounters(*backend_);
  for (unsigned c = 0; c < kNumCounters; ++c)
    result_.counters[c] -= base_counters_[c];
  return std::move(result_);
}

RunResult runPolicy(const ExperimentConfig &config, SwitchPolicy &policy) {
  if (const std::string error = config.validate(); !error.empty())
    throw std::invalid_argument(error);
  PolicyRun run(config, policy);
  const std::unique_ptr<guest::Workload> workload = config.make_workload();
  for (uint64_t done = 0; done < config.accesses && !run.stopped();) {
    const uint64_t n = std::min(run.untilIntervalEnd(), config.accesses - done);
    run.advance([&](guest::GuestKernel &kernel) {
      workload->run(kernel, n);
      return n;
    });
    done += n;
    if (workload->stopped())
      return run.finish(true);
  }
  return run.finish();
}

OracleResult computeOracle(const std::vector<const RunResult *> &runs, const SwitchCost &switch_cost) {
  OracleResult out;
  if (runs.empty())
    return out;
  const size_t intervals = runs.front()->intervals.size();
  for (const RunResult *run : runs)
    if (run->intervals.size() != intervals)
      throw std::invalid_argument("oracle: runs cover different numbers of intervals");
  const size_t n = runs.size();
  // best[i][a]: cheapest cost of intervals 0..i ending in approach a; from[i][a]: its predecessor.
  std::vector<std::vector<uint64_t>> best(intervals, std::vector<uint64_t>(n));
  std::vector<std::vector<size_t>> from(intervals, std::vector<size_t>(n));
  for (size_t i = 0; i < intervals; ++i) {
    for (size_t a = 0; a < n; ++a) {
      const uint64_t here = runs[a]->intervals[i].total_cycles;
      if (i == 0) {
        best[i][a] = here;
        from[i][a] = a;
        continue;
      }
      size_t arg = a;
      uint64_t cheapest = best[i - 1][a];
      for (size_t b = 0; b < n; ++b) {
        const uint64_t via_b = b == a ? cheapest : best[i - 1][b] + switch_cost(i, b, a);
        if (via_b < cheapest) {
          cheapest = via_b;
          arg = b;
        }
      }
      best[i][a] = cheapest + here;
      from[i][a] = arg;
    }
  }
  if (intervals == 0)
    return out;
  size_t a = static_cast<size_t>(std::min_element(best.back().begin(), best.back().end()) - best.back().begin());
  out.cycles = best.back()[a];
  out.schedule.resize(intervals);
  for (size_t i = intervals; i-- > 0;) {
    out.schedule[i] = runs[a]->intervals[i].approach;
    a = from[i][a];
  }
  return out;
}

const RunResult *Report::find(std::string_view policy) const {
  for (const RunResult &run : runs)
    if (run.policy == policy)
      return &run;
  return nullptr;
}

Oracles computeOracles(const std::vector<const RunResult *> &runs, const AdaptiveParams &adaptive,
                       const vmm::CostConfig &costs) {
  Oracles out;
  out.shadow = std::string(vmm::toString(adaptive.shadow));
  const auto find = [&](std::string_view name) -> const RunResult * {
    for (const RunResult *run : runs)
      if (run->policy == name)
        return run;
    return nullptr;
  };
  const RunResult *nested = find("nested");
  const RunResult *shadow = find(out.shadow);
  if (nested == nullptr || nested->stopped)
    return out;
  // Into shadow: one shadow fault (an exit) per page the guest faulted in before the switch.
  std::vector<uint64_t> faults_before(nested->intervals.size() + 1, 0);
  for (size_t i = 0; i < nested->intervals.size(); ++i)
    faults_before[i + 1] = faults_before[i] + nested->intervals[i].guest_page_faults;
  if (shadow != nullptr && !shadow->stopped) {
    const SwitchCost cost = [&](size_t interval, size_t, size_t to) {
      return adaptive.switch_base_cycles + (to == 1 ? faults_before[interval] * adaptive.exit_cycles : 0);
    };
    out.nested_shadow = computeOracle({nested, shadow}, cost);
  }
  std::vector<const RunResult *> all;
  for (const RunResult *run : runs)
    if (run->policy != "native" && run->policy != "adaptive" && !run->stopped &&
        run->policy != vmm::toString(Approach::GuestDirect) && run->policy != vmm::toString(Approach::DualDirect) &&
        run->policy != vmm::toString(Approach::Agile))
      all.push_back(run);
  const SwitchCost cost_all = [&](size_t interval, size_t, size_t to) {
    const RunResult &target = *all[to];
    const Approach approach = target.intervals.empty() ? Approach::Nested : target.intervals.front().approach;
    uint64_t cycles = adaptive.switch_base_cycles;
    if (vmm::isShadow(approach))
      cycles += faults_before[interval] * adaptive.exit_cycles;
    if (approach == Approach::Direct)
      cycles += target.cost.page_moves * costs.page_move + target.cost.balloon_cycles;
    return cycles;
  };
  out.all = computeOracle(all, cost_all);
  return out;
}

Report runComparison(const ExperimentConfig &config, const AdaptiveParams &adaptive) {
  Report report;
  report.workload = config.make_workload ? config.make_workload()->describe() : "";
  report.accesses = config.accesses;
  report.interval = config.interval;
  for (const Approach approach : {Approach::Native, Approach::Nested, Approach::ShadowPlain, Approach::ShadowCaching,
                                  Approach::ShadowPrefetch, Approach::Direct}) {
    const std::unique_ptr<SwitchPolicy> policy = makeStaticPolicy(approach);
    report.runs.push_back(runPolicy(config, *policy));
  }
  AdaptivePolicy policy(adaptive);
  report.runs.push_back(runPolicy(config, policy));
  std::vector<const RunResult *> runs;
  for (const RunResult &run : report.runs)
    runs.push_back(&run);
  Oracles oracles = computeOracles(runs, adaptive, config.vmm.costs);
  report.oracle = std::move(oracles.nested_shadow);
  report.oracle_shadow = std::move(oracles.shadow);
  report.oracle_all = std::move(oracles.all);
  return report;
}

std::string formatReport(const Report &report) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "workload %s: %llu user accesses, policy interval %llu\n", report.workload.c_str(),
                static_cast<unsigned long long>(report.accesses), static_cast<unsigned long long>(report.interval));
  out += line;
  std::snprintf(line, sizeof line, "%-16s %14s %9s %9s %11s %10s  %s\n", "approach", "cycles", "slowdown", "exits",
                "misses/1k", "refs/walk", "exits by reason");
  out += line;
  const RunResult *native = report.find("native");
  for (const RunResult &run : report.runs) {
    const std::string reasons = run.exitsByReason() + run.notes();
    const double slowdown = native != nullptr && native->cycles() != 0
                                ? static_cast<double>(run.cycles()) / static_cast<double>(native->cycles())
                                : 0.0;
    std::snprintf(line, sizeof line, "%-16s %14llu %8.3fx %9llu %11.2f %10.2f  %s\n", run.policy.c_str(),
                  static_cast<unsigned long long>(run.cycles()), slowdown,
                  static_cast<unsigned long long>(run.cost.totalExits()), run.tlbMissesPerKiloAccess(),
                  run.referencesPerWalk(), reasons.c_str());
    out += line;
  }
  if (const RunResult *adaptive = report.find("adaptive")) {
    out += "adaptive modes per interval (n nested, s shadow, c shadow-cache, p shadow-prefetch, d direct): " +
           adaptive->modeTimeline() + "\n";
    const OracleResult &oracle = report.oracle;
    if (oracle.cycles != 0) {
      std::snprintf(line, sizeof line, "oracle (nested/%s): %llu cycles, schedule %s; adaptive is %+.2f%% from it\n",
                    report.oracle_shadow.c_str(), static_cast<unsigned long long>(oracle.cycles),
                    modeLetters(oracle.schedule).c_str(),
                    100.0 * (static_cast<double>(adaptive->cycles()) / static_cast<double>(oracle.cycles) - 1.0));
      out += line;
    }
    const OracleResult &oracle_all = report.oracle_all;
    if (oracle_all.cycles != 0) {
      std::snprintf(line, sizeof line, "oracle over every approach: %llu cycles, schedule %s; adaptive is %+.2f%% from it\n",
                    static_cast<unsigned long long>(oracle_all.cycles), modeLetters(oracle_all.schedule).c_str(),
                    100.0 * (static_cast<double>(adaptive->cycles()) / static_cast<double>(oracle_all.cycles) - 1.0));
      out += line;
    }
  }
  return out;
}

}  // namespace vmmu::policy
