// report.cpp - see vmmu/run/report.h.
#include "vmmu/run/report.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>

#include "vmmu/paging.h"

namespace vmmu::run {

namespace {

using vmm::Approach;
using OrderedJson = nlohmann::ordered_json;

std::string fmt(const char *format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

// A real number as the reports give it: 6 significant digits, the precision of the text table,
// so that the JSON and the text agree. Always a JSON float, also when it is whole.
double real(double value) { return std::strtod(fmt("%.6g", value).c_str(), nullptr); }

uint64_t ctr(const policy::RunResult &run, Counter c) { return run.counters[static_cast<unsigned>(c)]; }

std::string exitReasons(const policy::RunResult &run) {
  const std::string reasons = run.exitsByReason();
  return reasons.empty() ? "-" : reasons;
}

// `run`'s cycles over `native`'s; 0 when native has none.
double ratioTo(const policy::RunResult &run, const policy::RunResult &native) {
  if (native.cycles() == 0)
    return 0.0;
  return static_cast<double>(run.cycles()) / static_cast<double>(native.cycles());
}

double slowdown(const RunReport &report, const policy::RunResult &run) {
  const ModeRun *native = report.find("native");
  return native == nullptr ? 0.0 : ratioTo(run, native->result);
}

double distance(uint64_t cycles, const policy::OracleResult &oracle) {
  return oracle.cycles == 0 ? 0.0 : 100.0 * (static_cast<double>(cycles) / static_cast<double>(oracle.cycles) - 1.0);
}

// The static runs a verdict compares: measured to the end, not native, not a policy.
std::vector<const ModeRun *> candidates(const RunReport &report) {
  std::vector<const ModeRun *> out;
  for (const ModeRun &run : report.runs)
    if (run.result.policy != "native" && run.result.policy != "adaptive" && !run.result.stopped && !run.interrupted)
      out.push_back(&run);
  return out;
}

// What one run measured in one phase (the whole run, the steady phase or the warm-up): the
// fields a run's JSON object and a warm-up run's share.
OrderedJson phaseJson(const policy::RunResult &r, double slowdown_ratio) {
  OrderedJson exits = OrderedJson::object();
  for (unsigned e = 0; e < vmm::kNumExitReasons; ++e)
    exits[std::string(vmm::toString(static_cast<vmm::ExitReason>(e)))] = r.cost.exits[e];
  OrderedJson item;
  item["approach"] = r.policy;
  item["cycles"] = r.cycles();
  item["slowdown"] = real(slowdown_ratio);
  item["accesses"] = r.cost.accesses;
  item["tlb_misses"] = ctr(r, Counter::TlbMisses);
  item["misses_per_1k"] = real(r.tlbMissesPerKiloAccess());
  item["walks"] = ctr(r, Counter::Walks);
  // §14: the second-level TLB's hits and misses (completed walks) by page size.
  OrderedJson stlb;
  stlb["hits_4k"] = ctr(r, Counter::StlbHits4K);
  stlb["hits_2m"] = ctr(r, Counter::StlbHits2M);
  stlb["misses_4k"] = ctr(r, Counter::StlbMisses4K);
  stlb["misses_2m"] = ctr(r, Counter::StlbMisses2M);
  stlb["misses_1g"] = ctr(r, Counter::StlbMisses1G);
  item["stlb"] = std::move(stlb);
  item["refs_per_walk"] = real(r.referencesPerWalk());
  // §14's EPT_PSC_HITS_L2 .. L5: nested walks that an EPT paging-structure cache shortened.
  OrderedJson ept_psc_hits = OrderedJson::object();
  static constexpr const char *kLevels[] = {"l2", "l3", "l4", "l5"};
  for (unsigned i = 0; i < std::size(kLevels); ++i)
    ept_psc_hits[kLevels[i]] = ctr(r, static_cast<Counter>(static_cast<unsigned>(Counter::EptPscHitsL2) + i));
  item["ept_psc_hits"] = std::move(ept_psc_hits);
  item["instructions"] = r.cost.instructions;
  item["instruction_cycles"] = r.cost.instruction_cycles;
  item["access_cycles"] = r.cost.access_cycles;
  item["translation_cycles"] = r.cost.translation_cycles;
  item["exit_cycles"] = r.cost.exit_cycles;
  item["shim_cycles"] = r.cost.shim_cycles;
  item["guest_work_cycles"] = r.cost.guest_work_cycles;
  item["vm_exits"] = r.cost.totalExits();
  item["exits_by_reason"] = std::move(exits);
  item["guest_page_faults"] = r.cost.guest_page_faults;
  item["host_pages_backed"] = r.cost.host_pages_backed;
  return item;
}

// What making the direct VM contiguous cost (§19), for `--contiguity`: the host's copies, and with
// self-ballooning the pages the guest gave back, those it copied first, and the exits and work.
// The cycles the VMM spent allocating and zeroing flattened EPT tables and writing replicated
// 2 MiB leaves (§21.7), as vmm::chargeBacking charged them.
uint64_t eptTableCycles(const RunReport &report, const policy::RunResult &r) {
  return r.cost.ept_tables * (report.host_alloc_cycles + (kFlatTableBytes >> 12) * report.host_clear_page_cycles) +
         r.cost.ept_replicated_leaves * report.host_clear_page_cycles;
}

uint64_t contiguityCycles(const policy::RunResult &r, const RunReport &report) {
  return r.cost.page_moves * report.page_move_cycles + r.cost.balloon_cycles;
}

std::string contiguityLine(const RunReport &report, const policy::RunResult &r) {
  const uint64_t cycles = contiguityCycles(r, report);
  std::string out = "direct made contiguous by " + report.contiguity + ": ";
  if (report.contiguity == "balloon")
    out += std::to_string(r.cost.balloon_pages) + " pages ballooned (" + std::to_string(r.cost.balloon_migrations) +
           " copied by the guest first), ";
  out += std::to_string(r.cost.page_moves) + " host copies, " + std::to_string(cycles) + " cycles";
  if (r.cycles() != 0)
    out += fmt(" (%.2f%% of the run)", 100.0 * static_cast<double>(cycles) / static_cast<double>(r.cycles()));
  return out;
}

// `--ept-format` (§21.7): per run that walks the EPT, its tables' host memory, the flattened
// tables the VMM allocated after creation and the cycles those and the replicated 2 MiB leaves
// cost, and its nested references per walk.
std::string eptFormatLines(const RunReport &report) {
  std::string out = "EPT format " + report.ept_format + " (docs/architecture.md §21):\n";
  for (const ModeRun &run : report.runs) {
    const policy::RunResult &r = run.result;
    if (r.policy == "native")
      continue;
    const uint64_t walks = r.counters[static_cast<unsigned>(Counter::Walks)];
    const uint64_t nested = r.counters[static_cast<unsigned>(Counter::NestedReads)];
    char line[256];
    std::snprintf(line, sizeof line,
                  "  %-16s EPT tables %8.2f MiB, %" PRIu64 " allocated in the run (%" PRIu64
                  " cycles with %" PRIu64 " replicated 2M leaves), nested refs/walk %.2f\n",
                  r.policy.c_str(), static_cast<double>(r.ept_table_bytes) / (1 << 20), r.cost.ept_tables,
                  eptTableCycles(report, r), r.cost.ept_replicated_leaves,
                  walks == 0 ? 0.0 : static_cast<double>(nested) / static_cast<double>(walks));
    out += line;
  }
  return out;
}

}  // namespace

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
  // A stop before the trace's end leaves the counts of what was replayed; a trace with more than
  // kMaxIntervals intervals has its interval coarsened. Both are said where the figures are.
  const std::string partial = report.counted ? "" : " (replayed until the stop: partial)";
  const std::string coarsened =
      report.interval == report.requested_interval || report.requested_interval == 0
          ? ""
          : " (coarsened from " + std::to_string(report.requested_interval) + ": at most " +
                std::to_string(kMaxIntervals) + " intervals are recorded)";
  // The trace's path apart: it may be as long as PATH_MAX, more than the line buffer holds.
  out += "vmmu run " + report.trace;
  std::snprintf(line, sizeof line,
                ": %" PRIu64 " events, %" PRIu64 " user accesses%s, backend %s, interval %" PRIu64
                "%s\nmemory %s; base CPI %g; EPT pages up to %s, host memory %s; run time in cycles, slowdown "
                "relative to native\n",
                report.events, report.accesses, partial.c_str(), report.backend.c_str(),
                report.interval, coarsened.c_str(), report.memory_model.c_str(), report.base_cpi,
                report.max_ept_page.c_str(), report.host_allocation.c_str());
  out += line;
  if (report.io_gap_bytes != 0)
    out += "I/O gap: guest-physical [" + std::to_string(report.io_gap_start >> 20) + ", " +
           std::to_string((report.io_gap_start + report.io_gap_bytes) >> 20) +
           ") MiB holds no RAM; the RAM above it is relocated above it (docs/architecture.md §19.5)\n";
  // The table of one phase: `phase` picks each run's result of it.
  const auto table = [&](const policy::RunResult ModeRun::*phase) {
    std::snprintf(line, sizeof line, "%-16s %15s %9s %10s %10s %10s  %s\n", "approach", "cycles", "slowdown",
                  "misses/1k", "refs/walk", "vm exits", "exits by reason");
    out += line;
    const ModeRun *native = report.find("native");
    for (const ModeRun &run : report.runs) {
      const policy::RunResult &result = run.*phase;
      std::string reasons = exitReasons(result) + result.notes();
      if (run.interrupted)
        reasons += " [interrupted after " + std::to_string(run.replay.accesses) + " accesses]";
      const double ratio = native == nullptr ? 0.0 : ratioTo(result, native->*phase);
      std::snprintf(line, sizeof line, "%-16s %15" PRIu64 " %9s %10.2f %10.2f %10" PRIu64 "  %s\n",
                    result.policy.c_str(), result.cycles(), ratio == 0.0 ? "-" : (fmt("%.3f", ratio) + "x").c_str(),
                    result.tlbMissesPerKiloAccess(), result.referencesPerWalk(), result.cost.totalExits(),
                    reasons.c_str());
      out += line;
    }
  };
  if (report.warmup != 0) {
    out += "steady phase: after the first " + std::to_string(report.warmup) +
           " user accesses (the table, the oracles and the verdict)\n";
    table(&ModeRun::result);
    out += "first-touch phase: the first " + std::to_string(report.warmup) + " user accesses (warm-up)\n";
    table(&ModeRun::warmup);
  } else {
    table(&ModeRun::result);
  }
  if (const ModeRun *direct = report.find("direct"); direct != nullptr && !report.contiguity.empty())
    out += contiguityLine(report, direct->result) + "\n";
  if (!report.ept_format.empty())
    out += eptFormatLines(report);
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
    // The segment modes' and agile's letters only where they appear (§16), so that other reports
    // are as before.
    const bool segment_modes = timeline.find_first_of("gu") != std::string::npos;
    const bool agile = timeline.find('a') != std::string::npos;
    out += std::string("adaptive: mode per interval (n nested, s shadow, c shadow-cache, p shadow-prefetch, d direct") +
           (segment_modes ? ", g guest-direct, u dual-direct" : "") + (agile ? ", a agile" : "") + "): " +
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
  // The runs' own CPU time and decoding the trace (once, for all of them) together.
  const double total_cpu = cpu_seconds + report.decode_cpu_seconds;
  if (total_cpu > 0.0) {
    std::snprintf(line, sizeof line,
                  "replay speed: %.2fM accesses/s of CPU time on the %s backend (%" PRIu64
                  " accesses in %.2f CPU s: runs %.2f, decoding the trace once %.2f; %.2f s wall)\n",
                  static_cast<double>(replayed) / total_cpu / 1e6, report.backend.c_str(), replayed, total_cpu,
                  cpu_seconds, report.decode_cpu_seconds, seconds + report.decode_seconds);
    out += line;
  }
  out += verdict(report) + "\n";
  return out;
}

OrderedJson toJson(const RunReport &report) {
  OrderedJson out;
  out["schema_version"] = kReportSchemaVersion;
  out["trace"] = report.trace;
  out["backend"] = report.backend;
  out["events"] = report.events;
  out["accesses"] = report.accesses;
  out["counted"] = report.counted;
  out["interval"] = report.interval;
  out["requested_interval"] = report.requested_interval;
  out["cycles_per_ref"] = report.cycles_per_ref;
  out["memory_model"] = report.memory_model;
  out["base_cpi"] = real(report.base_cpi);
  out["max_ept_page"] = report.max_ept_page;
  out["host_allocation"] = report.host_allocation;
  if (report.io_gap_bytes != 0) {
    out["io_gap_start"] = report.io_gap_start;
    out["io_gap_bytes"] = report.io_gap_bytes;
  }
  out["seconds"] = real(report.seconds);
  out["decode_seconds"] = real(report.decode_seconds);
  out["interrupted"] = report.interrupted;
  OrderedJson runs = OrderedJson::array();
  for (const ModeRun &run : report.runs) {
    const policy::RunResult &r = run.result;
    OrderedJson interval_cycles = OrderedJson::array();
    for (const auto &interval : r.intervals)
      interval_cycles.push_back(interval.total_cycles);
    OrderedJson item = phaseJson(r, slowdown(report, r));
    item["stopped"] = r.stopped;
    item["interrupted"] = run.interrupted;
    item["seconds"] = real(run.seconds);
    item["cpu_seconds"] = real(run.cpu_seconds);
    item["transactions"] = run.transactions;
    item["modes"] = r.modeTimeline();
    item["interval_cycles"] = std::move(interval_cycles);
    if (!report.contiguity.empty() && r.policy == "direct") {
      OrderedJson contiguity;
      contiguity["way"] = report.contiguity;
      contiguity["balloon_pages"] = r.cost.balloon_pages;
      contiguity["balloon_migrations"] = r.cost.balloon_migrations;
      contiguity["host_copies"] = r.cost.page_moves;
      contiguity["cycles"] = contiguityCycles(r, report);
      item["contiguity"] = std::move(contiguity);
    }
    if (!report.ept_format.empty() && r.policy != "native") {
      OrderedJson format;
      format["format"] = report.ept_format;
      format["table_bytes"] = r.ept_table_bytes;
      format["tables_allocated"] = r.cost.ept_tables;
      format["replicated_2m_leaves"] = r.cost.ept_replicated_leaves;
      format["cycles"] = eptTableCycles(report, r);
      item["ept_format"] = std::move(format);
    }
    runs.push_back(std::move(item));
  }
  out["runs"] = std::move(runs);
  if (report.warmup == 0) {
    out["warmup"] = nullptr;
  } else {
    // The first-touch phase: per run, its own cycles and what they consist of.
    const ModeRun *native = report.find("native");
    OrderedJson phase;
    phase["accesses"] = report.warmup;
    OrderedJson warm_runs = OrderedJson::array();
    for (const ModeRun &run : report.runs)
      warm_runs.push_back(phaseJson(run.warmup, native == nullptr ? 0.0 : ratioTo(run.warmup, native->warmup)));
    phase["runs"] = std::move(warm_runs);
    out["warmup"] = std::move(phase);
  }
  const ModeRun *adaptive = report.find("adaptive");
  const auto oracle = [&](const policy::OracleResult &o) -> OrderedJson {
    if (o.cycles == 0)
      return nullptr;
    OrderedJson item;
    item["cycles"] = o.cycles;
    item["schedule"] = policy::modeLetters(o.schedule);
    item["adaptive_distance_percent"] =
        adaptive ? OrderedJson(real(distance(adaptive->result.cycles(), o))) : OrderedJson(nullptr);
    return item;
  };
  out["oracle"] = oracle(report.oracle);
  out["oracle_shadow"] = report.oracle_shadow;
  out["oracle_all"] = oracle(report.oracle_all);
  if (report.mismatch) {
    const Mismatch &m = *report.mismatch;
    OrderedJson item;
    item["run"] = m.run;
    item["event_index"] = m.event_index;
    item["transaction"] = m.transaction;
    item["wave_from"] = m.wave_from;
    item["first_cycle"] = m.first_cycle;
    item["last_cycle"] = m.last_cycle;
    item["first_time"] = m.first_time;
    item["last_time"] = m.last_time;
    item["what"] = m.what;
    out["mismatch"] = std::move(item);
  } else {
    out["mismatch"] = nullptr;
  }
  out["verdict"] = verdict(report);
  return out;
}

std::string formatJson(const RunReport &report) {
  // A trace path need not be UTF-8; its invalid bytes become U+FFFD rather than failing the report.
  return toJson(report).dump(2, ' ', false, OrderedJson::error_handler_t::replace) + "\n";
}

}  // namespace vmmu::run
