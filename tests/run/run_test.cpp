// run_test.cpp - runTrace over every approach on a small slice of a recorded trace, the reports,
// interruption, and the RTL backend giving the golden model's figures.
#include <gtest/gtest.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "run_test_support.h"
#include "vmmu/run/report.h"
#include "vmmu/run/trace_run.h"
#include "vmmu/trace/format.h"

namespace vmmu::run {
namespace {

using testing::rtlBackendAvailable;
using testing::useRtlBackend;

const std::string kGzip = std::string(VMMU_TRACES_DIR) + "/gzip.vmt";

RunRequest smallRequest(uint64_t max_events) {
  RunRequest request;
  request.trace = kGzip;
  for (unsigned a = 0; a < vmm::kNumSwitchableApproaches; ++a)  // what --mode all runs
    request.approaches.push_back(static_cast<vmm::Approach>(a));
  request.max_events = max_events;
  request.settings.interval = 5'000;
  return request;
}

// Events replayed by the shared report: the first 40,000 by default, the whole trace (2M accesses,
// a few seconds more) with VMMU_RUN_LONG=1 in the environment.
uint64_t sharedEvents() {
  const char *long_run = std::getenv("VMMU_RUN_LONG");
  return long_run != nullptr && std::string(long_run) == "1" ? UINT64_MAX : 40'000;
}

// One report shared by the tests that only read it.
const RunReport &smallReport() {
  static const RunReport report = runTrace(smallRequest(sharedEvents()));
  return report;
}

TEST(RunTrace, EveryApproachReplaysTheSameGuestActivity) {
  const RunReport &report = smallReport();
  ASSERT_EQ(report.runs.size(), 7u);  // native, nested, three shadows, direct, adaptive
  if (sharedEvents() != UINT64_MAX) {
    EXPECT_EQ(report.events, sharedEvents());
  }
  EXPECT_GT(report.accesses, report.events * 3 / 4);
  const ReplayStats &first = report.runs.front().replay;
  for (const ModeRun &run : report.runs) {
    SCOPED_TRACE(run.result.policy);
    EXPECT_FALSE(run.interrupted);
    EXPECT_FALSE(run.result.stopped) << run.result.stop_reason;
    EXPECT_EQ(run.replay.events, first.events);
    EXPECT_EQ(run.replay.accesses, report.accesses);
    EXPECT_EQ(run.replay.processes, first.processes);
    EXPECT_EQ(run.replay.refused, 0u);
    // Every user access is an MMU lookup (kernel work adds more).
    EXPECT_GE(run.result.counters[static_cast<unsigned>(Counter::Lookups)], report.accesses);
    EXPECT_EQ(run.result.intervals.size(), (report.accesses + 4'999) / 5'000);
  }
  EXPECT_EQ(report.find("native")->result.cost.totalExits(), 0u);
  EXPECT_GT(report.find("shadow")->result.cost.totalExits(), 0u);
  // A 2D walk reads at least as many entries as a native one.
  EXPECT_GE(report.find("nested")->result.referencesPerWalk(), report.find("native")->result.referencesPerWalk());
}

TEST(RunTrace, OracleIsNoWorseThanAnyStaticApproach) {
  const RunReport &report = smallReport();
  ASSERT_NE(report.oracle_all.cycles, 0u);
  for (const char *name : {"nested", "shadow", "shadow-cache", "shadow-prefetch", "direct"})
    EXPECT_LE(report.oracle_all.cycles, report.find(name)->result.cycles()) << name;
  EXPECT_LE(report.oracle.cycles, report.find("nested")->result.cycles());
  EXPECT_LE(report.oracle.cycles, report.find("shadow-cache")->result.cycles());
}

TEST(RunTrace, VerdictNamesTheCheapestApproach) {
  const RunReport &report = smallReport();
  std::string best;
  uint64_t cheapest = UINT64_MAX;
  for (const ModeRun &run : report.runs)
    if (run.result.policy != "native" && run.result.policy != "adaptive" && run.result.cycles() < cheapest) {
      cheapest = run.result.cycles();
      best = run.result.policy;
    }
  EXPECT_EQ(verdict(report).rfind("best approach: " + best + " at ", 0), 0u) << verdict(report);
  EXPECT_NE(verdict(report).find("dominate"), std::string::npos);
}

TEST(RunTrace, TextReportHasARowPerRunAndTheAdaptiveChoices) {
  const std::string text = formatText(smallReport());
  for (const char *name : {"native", "nested", "shadow-cache", "shadow-prefetch", "direct", "adaptive"})
    EXPECT_NE(text.find(std::string("\n") + name + " "), std::string::npos) << name;
  EXPECT_NE(text.find("adaptive: intervals per mode:"), std::string::npos);
  EXPECT_NE(text.find("oracle (every approach):"), std::string::npos);
  EXPECT_NE(text.find("best approach:"), std::string::npos);
}

TEST(RunTrace, JsonReportHasTheSchemaFields) {
  const nlohmann::json json = parseReport(formatJson(smallReport()));
  for (const char *key : {"schema_version", "trace", "backend", "events", "accesses", "counted", "interval",
                          "requested_interval", "cycles_per_ref", "memory_model", "base_cpi",
                          "seconds", "decode_seconds", "interrupted", "runs", "oracle", "oracle_shadow", "oracle_all", "mismatch",
                          "verdict"})
    EXPECT_TRUE(json.contains(key)) << key;
  EXPECT_EQ(json.at("schema_version"), kReportSchemaVersion);
  ASSERT_EQ(json.at("runs").size(), 7u);
  for (const nlohmann::json &run : json.at("runs"))
    for (const char *key : {"approach", "cycles", "slowdown", "accesses", "tlb_misses", "misses_per_1k", "walks",
                            "refs_per_walk", "instructions", "instruction_cycles", "access_cycles", "translation_cycles", "exit_cycles", "shim_cycles", "guest_work_cycles",
                            "vm_exits", "exits_by_reason", "guest_page_faults", "stopped", "interrupted", "seconds",
                            "cpu_seconds", "transactions", "modes", "interval_cycles", "stlb", "ept_psc_hits"})
      EXPECT_TRUE(run.contains(key)) << key;
  for (const nlohmann::json &run : json.at("runs"))
    for (const char *key : {"hits_4k", "hits_2m", "misses_4k", "misses_2m", "misses_1g"})
      EXPECT_TRUE(run.at("stlb").contains(key)) << key;
  EXPECT_TRUE(json.at("runs")[0].at("exits_by_reason").contains("shadow-fault"));
  EXPECT_TRUE(json.at("oracle").contains("adaptive_distance_percent"));
}

// What the JSON says is what the report holds, typed: counts are integers, ratios floats (also a
// whole one: native's slowdown is 1.0), and the text table shows the same figures.
TEST(RunTrace, JsonRoundTripsTheReportWithConsistentTypes) {
  const RunReport &report = smallReport();
  const nlohmann::json json = parseReport(formatJson(report));
  EXPECT_EQ(json.at("trace"), report.trace);
  EXPECT_EQ(json.at("events"), report.events);
  EXPECT_TRUE(json.at("events").is_number_unsigned());
  EXPECT_EQ(json.at("accesses"), report.accesses);
  EXPECT_EQ(json.at("interval"), report.interval);
  EXPECT_EQ(json.at("requested_interval"), report.requested_interval);
  EXPECT_EQ(json.at("counted"), report.counted);
  EXPECT_EQ(json.at("verdict"), verdict(report));
  const std::string text = formatText(report);
  ASSERT_EQ(json.at("runs").size(), report.runs.size());
  for (size_t i = 0; i < report.runs.size(); ++i) {
    const policy::RunResult &r = report.runs[i].result;
    const nlohmann::json &run = json.at("runs")[i];
    SCOPED_TRACE(r.policy);
    EXPECT_EQ(run.at("approach"), r.policy);
    EXPECT_EQ(run.at("cycles"), r.cycles());
    EXPECT_TRUE(run.at("cycles").is_number_unsigned());
    EXPECT_EQ(run.at("vm_exits"), r.cost.totalExits());
    uint64_t exits = 0;
    for (const auto &[reason, count] : run.at("exits_by_reason").items())
      exits += count.get<uint64_t>();
    EXPECT_EQ(exits, r.cost.totalExits());
    ASSERT_EQ(run.at("interval_cycles").size(), r.intervals.size());
    for (size_t k = 0; k < r.intervals.size(); ++k)
      EXPECT_EQ(run.at("interval_cycles")[k], r.intervals[k].total_cycles);
    EXPECT_EQ(run.at("modes"), r.modeTimeline());
    for (const char *key : {"slowdown", "misses_per_1k", "refs_per_walk", "seconds", "cpu_seconds"})
      EXPECT_TRUE(run.at(key).is_number_float()) << key << " = " << run.at(key);
    // The table's row shows the JSON's slowdown to 3 decimals.
    char row[128];
    std::snprintf(row, sizeof row, "\n%-16s %15llu %8.3fx", r.policy.c_str(),
                  static_cast<unsigned long long>(r.cycles()), run.at("slowdown").get<double>());
    EXPECT_NE(text.find(row), std::string::npos) << row << " in\n" << text;
  }
  EXPECT_EQ(json.at("runs")[0].at("slowdown"), 1.0);
  EXPECT_NE(formatJson(report).find("\"slowdown\": 1.0,"), std::string::npos) << "native's slowdown is a float";
  EXPECT_TRUE(json.at("oracle_all").at("adaptive_distance_percent").is_number_float());
}

TEST(RunTrace, StopFlagEndsEveryRunWithWhatWasMeasured) {
  RunRequest request = smallRequest(40'000);
  volatile std::sig_atomic_t stop = 1;
  request.stop = &stop;
  const RunReport report = runTrace(request);
  EXPECT_TRUE(report.interrupted);
  ASSERT_EQ(report.runs.size(), 7u);
  for (const ModeRun &run : report.runs)
    EXPECT_TRUE(run.interrupted) << run.result.policy;
  EXPECT_NE(formatText(report).find("interrupted"), std::string::npos);
}

// The golden model, raising the stop flag at its `stop_at`-th translation: a Ctrl-C in the middle
// of a step, plugged in where the RTL backend goes.
class StoppingBackend final : public vmm::MmuBackend {
public:
  StoppingBackend(const MmuConfig &config, const vmm::MemoryModelConfig &memory, volatile std::sig_atomic_t &stop,
                  uint64_t stop_at)
      : model_(config, memory), stop_(stop), stop_at_(stop_at) {}
  vmm::Translation translate(const Request &req) override {
    if (++translations_ == stop_at_)
      stop_ = 1;
    return model_.translate(req);
  }
  void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) override {
    model_.control(op, ctx, reg, data, vpid, pcid);
  }
  uint64_t counter(Counter c) override { return model_.counter(c); }
  PhysicalMemory &memory() override { return model_.memory(); }
  const MmuConfig &config() const override { return model_.config(); }
  vmm::MemoryHierarchy *memoryModel() override { return model_.memoryModel(); }

private:
  vmm::ModelBackend model_;
  volatile std::sig_atomic_t &stop_;
  const uint64_t stop_at_;
  uint64_t translations_ = 0;
};

// Under a shared decode the runs advance in lockstep, a round at a time: the tape is decoded up
// to the step's end (on the RTL backend kStepAccesses, 1,024 user accesses), each run replays up
// to it, and the stop flag is looked at between rounds. The steps end at 1,024, 2,048, 3,072,
// 4,096 and 5,120. Native's 5,000th translation (a few faults retry, so after access 4,096 and
// before 5,000) raises the flag in the step to 5,120: every run finishes that step, so all stop
// at access 5,120.
TEST(RunTrace, StopMidStepEndsEveryRunAtTheSameAccess) {
  RunRequest request = smallRequest(40'000);
  volatile std::sig_atomic_t stop = 0;
  request.stop = &stop;
  request.backend = BackendKind::Rtl;
  request.rtl_backend = [&stop](const MmuConfig &config, const vmm::MemoryModelConfig &memory) {
    return std::make_unique<StoppingBackend>(config, memory, stop, 5'000);
  };
  const RunReport report = runTrace(request);
  EXPECT_TRUE(report.interrupted);
  EXPECT_FALSE(report.counted);
  EXPECT_EQ(report.accesses, 5'120u);
  ASSERT_EQ(report.runs.size(), 7u);
  for (const ModeRun &run : report.runs) {
    SCOPED_TRACE(run.result.policy);
    EXPECT_TRUE(run.interrupted);
    EXPECT_EQ(run.replay.accesses, 5'120u);
    ASSERT_EQ(run.result.intervals.size(), 2u);  // 5,000 and the 120 up to the stop
    EXPECT_EQ(run.result.intervals[0].index, 0u);
  }
  EXPECT_FALSE(report.oracle_all.cycles != 0) << "no oracle over interrupted runs";
}

// Lockstep over one decoded trace changes nothing a run measures: each approach run beside the
// six others gives what it gives alone (every cycle, interval and counter).
TEST(RunTrace, ARunBesideOthersMeasuresWhatItMeasuresAlone) {
  const RunReport &all = smallReport();
  for (const vmm::Approach approach : {vmm::Approach::Nested, vmm::Approach::ShadowCaching, vmm::Approach::Direct}) {
    RunRequest request = smallRequest(sharedEvents());
    request.approaches = {approach};
    request.baseline = false;
    request.adaptive = false;
    const RunReport alone = runTrace(request);
    ASSERT_EQ(alone.runs.size(), 1u);
    const policy::RunResult &one = alone.runs[0].result;
    SCOPED_TRACE(one.policy);
    const ModeRun *beside = all.find(one.policy);
    ASSERT_NE(beside, nullptr);
    EXPECT_EQ(one.cycles(), beside->result.cycles());
    EXPECT_EQ(one.counters, beside->result.counters);
    ASSERT_EQ(one.intervals.size(), beside->result.intervals.size());
    for (size_t i = 0; i < one.intervals.size(); ++i)
      EXPECT_EQ(one.intervals[i].total_cycles, beside->result.intervals[i].total_cycles) << i;
    EXPECT_EQ(alone.runs[0].replay.events, beside->replay.events);
  }
}

TEST(RunTrace, SingleModeRunsNativeAsTheBaseline) {
  RunRequest request = smallRequest(5'000);
  request.approaches = {vmm::Approach::Nested};
  request.adaptive = false;
  const RunReport report = runTrace(request);
  ASSERT_EQ(report.runs.size(), 2u);
  EXPECT_EQ(report.runs[0].result.policy, "native");
  EXPECT_EQ(report.runs[1].result.policy, "nested");
}

TEST(RunTrace, AMissingTraceIsAnError) {
  RunRequest request = smallRequest(1);
  request.trace = "/nonexistent/trace.vmt";
  EXPECT_THROW(runTrace(request), trace::TraceError);
}

TEST(RunTrace, RtlBackendGivesTheModelsFigures) {
  if (!rtlBackendAvailable())
    GTEST_SKIP() << "built without the RTL backend (VMMU_BUILD_RTL=OFF)";
  RunRequest request = smallRequest(1'500);
  request.approaches = {vmm::Approach::Nested, vmm::Approach::ShadowCaching, vmm::Approach::Direct};
  request.adaptive = false;
  request.settings.interval = 500;
  const RunReport model = runTrace(request);
  useRtlBackend(request);
  const RunReport rtl = runTrace(request);
  ASSERT_FALSE(rtl.mismatch) << rtl.mismatch->what;
  ASSERT_EQ(rtl.runs.size(), model.runs.size());
  for (size_t i = 0; i < rtl.runs.size(); ++i) {
    SCOPED_TRACE(rtl.runs[i].result.policy);
    EXPECT_EQ(rtl.runs[i].result.cycles(), model.runs[i].result.cycles());
    EXPECT_EQ(rtl.runs[i].result.counters, model.runs[i].result.counters);
    EXPECT_EQ(rtl.runs[i].result.cost.exits, model.runs[i].result.cost.exits);
  }
  // Lazy host allocation (the default): the RTL's EPT violations on first touch, handled by the
  // shim and retried, as on the model.
  EXPECT_GT(rtl.find("nested")->result.cost.exits[static_cast<unsigned>(vmm::ExitReason::EptViolation)], 0u);
}

}  // namespace
}  // namespace vmmu::run

namespace vmmu::run {
namespace {

// 300 pages touched once each, then each touched again three times: with --warmup 300, every
// first touch (guest page fault, host backing, shadow fill) is in the first-touch phase and the
// steady phase has none.
std::string writeWarmupTrace(const testing::TempFile &file) {
  std::vector<trace::Event> events;
  constexpr uint64_t kBase = 0x4000'0000;
  for (uint64_t round = 0; round < 4; ++round)
    for (uint64_t page = 0; page < 300; ++page)
      events.push_back(trace::Event::access(0, 1, trace::AccessOp::Write, kBase + page * 4096, 8));
  testing::writeTrace(file.path(), events);
  return file.path();
}

RunRequest warmupRequest(const std::string &path, uint64_t warmup) {
  RunRequest request;
  request.trace = path;
  request.approaches = {vmm::Approach::Nested, vmm::Approach::ShadowCaching};
  request.adaptive = false;
  request.warmup = warmup;
  request.settings.interval = 250;  // the warm-up ends inside the second interval
  return request;
}

TEST(RunTrace, WarmupSplitsTheRunIntoAFirstTouchAndASteadyPhase) {
  const testing::TempFile file("warmup.vmt");
  writeWarmupTrace(file);
  const RunReport whole = runTrace(warmupRequest(file.path(), 0));
  const RunReport split = runTrace(warmupRequest(file.path(), 300));
  EXPECT_EQ(split.warmup, 300u);
  EXPECT_EQ(split.accesses, 1200u);
  ASSERT_EQ(split.runs.size(), 3u);
  for (size_t i = 0; i < split.runs.size(); ++i) {
    const policy::RunResult &warm = split.runs[i].warmup, &steady = split.runs[i].result;
    SCOPED_TRACE(steady.policy);
    // The phases add up to the whole run, cycle for cycle and exit for exit.
    EXPECT_EQ(warm.cycles() + steady.cycles(), whole.runs[i].result.cycles());
    EXPECT_EQ(warm.cost.totalExits() + steady.cost.totalExits(), whole.runs[i].result.cost.totalExits());
    // And every MMU counter: the steady phase counts from where the warm-up stopped.
    for (unsigned c = 0; c < kNumCounters; ++c)
      EXPECT_EQ(warm.counters[c] + steady.counters[c], whole.runs[i].result.counters[c]) << "counter " << c;
    EXPECT_GT(steady.counters[static_cast<unsigned>(Counter::TlbMisses)], 0u) << "the steady phase has its own misses";
    // Every page faults once in the guest, during the warm-up; the steady phase makes the 900
    // user accesses alone (no kernel work: no fault, no page-table write).
    EXPECT_EQ(warm.cost.guest_page_faults, 300u);
    EXPECT_EQ(steady.cost.guest_page_faults, 0u);
    EXPECT_EQ(steady.cost.accesses, 900u);
    EXPECT_EQ(steady.cost.host_backings, 0u);
    // Intervals: the warm-up's 250 + 50, then 900 in intervals of 250 from the phase's start.
    EXPECT_EQ(warm.intervals.size(), 2u);
    EXPECT_EQ(steady.intervals.size(), 4u);
  }
  // Nested backs the guest's first 2 MiB chunk of data (and the tables' chunk) in the warm-up.
  EXPECT_GT(split.find("nested")->warmup.cost.exits[static_cast<unsigned>(vmm::ExitReason::EptViolation)], 0u);
  EXPECT_EQ(split.find("nested")->result.cost.totalExits(), 0u);
  EXPECT_EQ(split.find("shadow-cache")->result.cost.totalExits(), 0u) << "every page was filled in the warm-up";
  // Both phases are in the table and the JSON.
  const std::string text = formatText(split);
  EXPECT_NE(text.find("steady phase: after the first 300 user accesses"), std::string::npos) << text;
  EXPECT_NE(text.find("first-touch phase: the first 300 user accesses (warm-up)"), std::string::npos) << text;
  const nlohmann::ordered_json json = toJson(split);
  EXPECT_EQ(json["warmup"]["accesses"], 300u);
  EXPECT_EQ(json["warmup"]["runs"].size(), 3u);
  EXPECT_EQ(json["warmup"]["runs"][1]["cycles"], split.runs[1].warmup.cycles());
  // A warm-up run's slowdown is over native's warm-up (rounded to 6 digits, as the JSON writes it).
  ASSERT_EQ(split.runs[0].warmup.policy, "native");
  ASSERT_GT(split.runs[0].warmup.cycles(), 0u);
  for (size_t i = 0; i < split.runs.size(); ++i) {
    const double ratio = static_cast<double>(split.runs[i].warmup.cycles()) /
                         static_cast<double>(split.runs[0].warmup.cycles());
    char six_digits[32];
    std::snprintf(six_digits, sizeof six_digits, "%.6g", ratio);
    EXPECT_EQ(json["warmup"]["runs"][i]["slowdown"], std::strtod(six_digits, nullptr)) << i;
  }
  EXPECT_EQ(json["warmup"]["runs"][0]["slowdown"], 1.0);
  EXPECT_TRUE(toJson(whole)["warmup"].is_null());
}

TEST(RunTrace, AWarmupAsLongAsTheTraceIsAnError) {
  const testing::TempFile file("warmup-long.vmt");
  writeWarmupTrace(file);
  try {
    runTrace(warmupRequest(file.path(), 1200));
    FAIL() << "no steady phase";
  } catch (const std::invalid_argument &e) {
    EXPECT_STREQ(e.what(), "--warmup 1200: the trace has only 1200 user accesses, so no steady phase follows the warm-up");
  }
}

// The smallest warm-up, 1, at the edge: a trace of one user access leaves no steady phase; one of
// two leaves the second access to it.
TEST(RunTrace, AWarmupOfOneNeedsASecondAccess) {
  const testing::TempFile file("warmup-one.vmt");
  testing::writeTrace(file.path(), {trace::Event::access(0, 1, trace::AccessOp::Read, 0x4000'0000, 8)});
  try {
    runTrace(warmupRequest(file.path(), 1));
    FAIL() << "no steady phase";
  } catch (const std::invalid_argument &e) {
    EXPECT_STREQ(e.what(), "--warmup 1: the trace has only 1 user accesses, so no steady phase follows the warm-up");
  }
  testing::writeTrace(file.path(), {trace::Event::access(0, 1, trace::AccessOp::Read, 0x4000'0000, 8),
                                    trace::Event::access(0, 1, trace::AccessOp::Read, 0x4000'0008, 8)});
  const RunReport two = runTrace(warmupRequest(file.path(), 1));
  EXPECT_EQ(two.warmup, 1u);
  ASSERT_EQ(two.runs.size(), 3u);
  for (const ModeRun &run : two.runs) {
    SCOPED_TRACE(run.result.policy);
    // The first access faults its page in during the warm-up; the second, on the same page, is
    // the steady phase's one access, with no kernel work.
    EXPECT_EQ(run.warmup.cost.guest_page_faults, 1u);
    EXPECT_EQ(run.result.cost.guest_page_faults, 0u);
    EXPECT_EQ(run.result.cost.accesses, 1u);
  }
}

// A steady phase longer than a step (kModelStepAccesses): the phase starts once, at the warm-up's
// end, not again at each later step boundary, so the two phases still add up to the whole run.
TEST(RunTrace, ASteadyPhaseOfSeveralStepsStartsOnce) {
  const testing::TempFile file("warmup-steps.vmt");
  std::vector<trace::Event> events;
  constexpr uint64_t kBase = 0x4000'0000, kPages = 300, kRounds = 1 + 3 * kModelStepAccesses / kPages;
  for (uint64_t round = 0; round < kRounds; ++round)
    for (uint64_t page = 0; page < kPages; ++page)
      events.push_back(trace::Event::access(0, 1, trace::AccessOp::Write, kBase + page * 4096, 8));
  testing::writeTrace(file.path(), events);
  const RunReport whole = runTrace(warmupRequest(file.path(), 0));
  const RunReport split = runTrace(warmupRequest(file.path(), kPages));
  ASSERT_GT(split.accesses - kPages, 2 * kModelStepAccesses);
  ASSERT_EQ(split.runs.size(), whole.runs.size());
  for (size_t i = 0; i < split.runs.size(); ++i) {
    const policy::RunResult &warm = split.runs[i].warmup, &steady = split.runs[i].result;
    SCOPED_TRACE(steady.policy);
    EXPECT_EQ(steady.cost.accesses, split.accesses - kPages);
    EXPECT_EQ(warm.cycles() + steady.cycles(), whole.runs[i].result.cycles());
    for (unsigned c = 0; c < kNumCounters; ++c)
      EXPECT_EQ(warm.counters[c] + steady.counters[c], whole.runs[i].result.counters[c]) << "counter " << c;
    // Every interval of 250 accesses from the phase's start (the last one partial).
    EXPECT_EQ(steady.intervals.size(), (split.accesses - kPages + 249) / 250);
  }
}

// Each run's CPU and wall time, and the decoding's, are stretches of the call's own: together they
// take no more CPU time than the process spent in runTrace, nor a run more wall time than the call.
TEST(RunTrace, ReportedTimesAreWithinTheCallsOwn) {
  timespec cpu{};
  const auto processCpu = [&cpu] {
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    return static_cast<double>(cpu.tv_sec) + 1e-9 * static_cast<double>(cpu.tv_nsec);
  };
  const auto wall_start = std::chrono::steady_clock::now();
  const double cpu_start = processCpu();
  const RunReport report = runTrace(smallRequest(20'000));
  const double cpu_spent = processCpu() - cpu_start;
  const double wall_spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  ASSERT_FALSE(report.runs.empty());
  double cpu_total = report.decode_cpu_seconds;
  EXPECT_GE(report.decode_cpu_seconds, 0.0);
  EXPECT_GE(report.decode_seconds, 0.0);
  EXPECT_LE(report.decode_seconds, wall_spent);
  EXPECT_LE(report.seconds, wall_spent);
  for (const ModeRun &run : report.runs) {
    SCOPED_TRACE(run.result.policy);
    EXPECT_GT(run.cpu_seconds, 0.0);
    EXPECT_GT(run.seconds, 0.0);
    EXPECT_LE(run.seconds, wall_spent);
    cpu_total += run.cpu_seconds;
  }
  EXPECT_LE(cpu_total, cpu_spent);
}

// The table without what differs between backends by design: the header line (it names the
// backend), the replay speed and the RTL's transaction ranges.
std::string tableOf(const RunReport &report) {
  std::istringstream in(formatText(report));
  std::string line, out;
  std::getline(in, line);
  while (std::getline(in, line))
    if (line.rfind("replay speed:", 0) != 0 && line.rfind("rtl transactions per run", 0) != 0)
      out += line + "\n";
  return out;
}

// Issue 14: with the run-time model (the cache hierarchy shared by walks and data, by default) the
// RTL and the model print the same tables, every approach and the adaptive policy, on a prefix of
// each bundled trace, the large ones included; on gzip also with the flush of a VMM without VPIDs and with flat memory.
TEST(RunTrace, RtlBackendPrintsTheModelsTablesOnEveryBundledTrace) {
  if (!rtlBackendAvailable())
    GTEST_SKIP() << "built without the RTL backend (VMMU_BUILD_RTL=OFF)";
  std::vector<RunRequest> requests;
  // The large traces' prefixes are their start-up pages (traces/README.md), one first touch each.
  for (const char *name : {"gzip", "cc1", "sort", "sqlite", "xz", "gups", "vpr", "sort-big", "tpch", "cc1-big"}) {
    RunRequest request = smallRequest(6'000);
    request.trace = std::string(VMMU_TRACES_DIR) + "/" + name + ".vmt";
    request.settings.interval = 1'000;
    requests.push_back(request);
  }
  RunRequest flush = requests.front();
  flush.settings.vmm.flush_tlb_on_exit = true;
  requests.push_back(flush);
  RunRequest flat = requests.front();
  flat.settings.memory.kind = vmm::MemoryModelConfig::Kind::Flat;
  requests.push_back(flat);
  for (RunRequest &request : requests) {
    SCOPED_TRACE(request.trace + (request.settings.vmm.flush_tlb_on_exit ? " (flush on exit)" : "") +
                 (request.settings.memory.kind == vmm::MemoryModelConfig::Kind::Flat ? " (flat)" : ""));
    const RunReport model = runTrace(request);
    useRtlBackend(request);
    const RunReport rtl = runTrace(request);
    ASSERT_FALSE(rtl.mismatch) << rtl.mismatch->what;
    EXPECT_EQ(tableOf(rtl), tableOf(model));
    ASSERT_EQ(rtl.runs.size(), model.runs.size());
    for (size_t i = 0; i < rtl.runs.size(); ++i) {
      EXPECT_EQ(rtl.runs[i].result.counters, model.runs[i].result.counters) << rtl.runs[i].result.policy;
      EXPECT_EQ(rtl.runs[i].result.cost.instruction_cycles, model.runs[i].result.cost.instruction_cycles);
      EXPECT_EQ(rtl.runs[i].result.cost.access_cycles, model.runs[i].result.cost.access_cycles);
      EXPECT_EQ(rtl.runs[i].result.cost.exit_flushes, model.runs[i].result.cost.exit_flushes);
    }
    const ModeRun *shadow = model.find("shadow");
    ASSERT_NE(shadow, nullptr);
    EXPECT_EQ(shadow->result.cost.exit_flushes,
              request.settings.vmm.flush_tlb_on_exit ? shadow->result.cost.totalExits() : 0u);
  }
}

}  // namespace
}  // namespace vmmu::run
