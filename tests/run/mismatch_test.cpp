// mismatch_test.cpp - what `vmmu run --backend rtl` does when the RTL and the golden model
// disagree: the run stops with a non-zero status, names the trace event and the backend
// transaction, and prints a command that replays exactly that window with waves; that command,
// run as printed, reproduces the mismatch and writes an FST covering the failing transaction.
//
// The RTL is correct, so the divergence is injected with the backend's test hook
// VMMU_RTL_INJECT_DIVERGENCE=N (sw/rtl_backend/README.md): the golden model's copy of the first
// entry read by the first walking translation from transaction N on is changed.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "run_test_support.h"
#include "vmmu/run/report.h"

namespace vmmu::run {
namespace {

using testing::Outcome;
using testing::rtlBackendAvailable;
using testing::useRtlBackend;
using testing::ProcessOptions;
using testing::TempDir;

const std::string kGzip = std::string(VMMU_TRACES_DIR) + "/gzip.vmt";
constexpr uint64_t kInjectAt = 400;
const char *const kInjectVariable = "VMMU_RTL_INJECT_DIVERGENCE";

// What the command printed about a mismatch.
struct MismatchReport {
  uint64_t event = 0;
  uint64_t transaction = 0;
  uint64_t first_time = 0, last_time = 0;  // the failing transaction in the waves
  std::string replay;                      // the replay command as printed
};

// Parses the stderr of a run that stopped at a mismatch; fails the test if a part is missing.
MismatchReport parseMismatch(const std::string &err) {
  MismatchReport report;
  std::smatch match;
  const std::regex headline(
      R"(vmmu: error: RTL and golden model disagree in run '(\S+)' at trace event (\d+) \(backend transaction (\d+)\): )");
  if (!std::regex_search(err, match, headline)) {
    ADD_FAILURE() << "no mismatch headline in:\n" << err;
    return report;
  }
  report.event = std::stoull(match[2]);
  report.transaction = std::stoull(match[3]);
  const std::regex replay(R"(vmmu: replay that window with waves: (vmmu run [^\n]+)\n)");
  if (std::regex_search(err, match, replay))
    report.replay = match[1];
  else
    ADD_FAILURE() << "no replay command in:\n" << err;
  const std::regex times(R"(the failing transaction is at time (\d+) to (\d+) of mismatch\.fst)");
  if (std::regex_search(err, match, times)) {
    report.first_time = std::stoull(match[1]);
    report.last_time = std::stoull(match[2]);
  } else {
    ADD_FAILURE() << "no wave times in:\n" << err;
  }
  return report;
}

// The printed command as argv for the built binary: "vmmu" is the command a user has on PATH.
std::vector<std::string> replayArguments(const std::string &command) {
  std::istringstream words(command);
  std::vector<std::string> args;
  for (std::string word; words >> word;)
    args.push_back(word);
  EXPECT_EQ(args.front(), "vmmu");
  args.erase(args.begin());
  return args;
}

using testing::readWaves;
using testing::Waves;

TEST(RunMismatch, StopsNamesTheEventAndPrintsAReplayThatWritesTheWindowsWaves) {
  if (!rtlBackendAvailable())
    GTEST_SKIP() << "built without the RTL backend (VMMU_BUILD_RTL=OFF)";
  const TempDir dir("mismatch");
  ProcessOptions injected;
  injected.cwd = dir.path();
  injected.env = {{kInjectVariable, std::to_string(kInjectAt)}};

  const Outcome run = testing::runProgram(
      VMMU_BINARY, {"run", kGzip, "--backend", "rtl", "--mode", "nested", "--max-events", "3000"}, injected);
  EXPECT_EQ(run.status, 1) << run.err;
  const MismatchReport first = parseMismatch(run.err);
  ASSERT_FALSE(first.replay.empty());
  // The native baseline runs first, so it meets the injection.
  EXPECT_NE(run.err.find("in run 'native'"), std::string::npos) << run.err;
  EXPECT_GE(first.transaction, kInjectAt) << "not before the transaction chosen";
  EXPECT_LT(first.event, 3000u) << "an event of the replayed slice";
  EXPECT_NE(run.err.find("RtlBackend: RTL and golden model differ at transaction " + std::to_string(first.transaction)),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("\n  rtl:   "), std::string::npos) << "both results are shown: " << run.err;
  EXPECT_NE(run.err.find("\n  model: "), std::string::npos) << run.err;
  EXPECT_NE(run.out.find("MISMATCH in native at trace event " + std::to_string(first.event) +
                         " (backend transaction " + std::to_string(first.transaction) + ","),
            std::string::npos)
      << run.out;
  EXPECT_LT(first.first_time, first.last_time);

  // The command reruns that run alone, up to the failing event, with waves for a window ending
  // at the failing transaction.
  const std::smatch window = [&] {
    std::smatch m;
    std::regex_search(first.replay, m, std::regex(R"(--wave mismatch\.fst --wave-window (\d+):(\d+)$)"));
    return m;
  }();
  ASSERT_EQ(window.size(), 3u) << first.replay;
  const uint64_t window_from = std::stoull(window[1]);
  EXPECT_EQ(std::stoull(window[2]), first.transaction) << first.replay;
  EXPECT_LT(window_from, first.transaction) << "the window shows what led to it";
  EXPECT_EQ(first.replay.rfind("vmmu run " + kGzip + " --backend rtl --mode native --policy none", 0), 0u)
      << first.replay;
  EXPECT_NE(first.replay.find(" --max-events " + std::to_string(first.event + 1) + " "), std::string::npos)
      << first.replay;

#ifdef __SANITIZE_ADDRESS__
  // Sanitizer builds: verilator's FST writer (fstapi.c, not ours) trips UBSan (checker_test.cpp).
  GTEST_SKIP() << "verilator's fstapi.c trips UBSan in sanitizer builds: no waves";
#endif
  // Run as printed (same injection: the same divergence, as an RTL bug would be): it stops at
  // the same event, transaction and cycles, and leaves mismatch.fst in the working directory.
  const Outcome replay = testing::runProgram(VMMU_BINARY, replayArguments(first.replay), injected);
  EXPECT_EQ(replay.status, 1) << replay.err;
  const MismatchReport again = parseMismatch(replay.err);
  EXPECT_EQ(again.event, first.event);
  EXPECT_EQ(again.transaction, first.transaction);
  EXPECT_EQ(again.first_time, first.first_time);
  EXPECT_EQ(again.last_time, first.last_time);
  EXPECT_EQ(again.replay, first.replay) << "the replay points at itself";
  const std::string fst = dir / "mismatch.fst";
  ASSERT_TRUE(std::filesystem::exists(fst));
  const uintmax_t replay_size = std::filesystem::file_size(fst);
  EXPECT_GT(replay_size, 0u);

  const std::string fst2vcd = testing::findProgram("fst2vcd");
  if (fst2vcd.empty())
    GTEST_SKIP() << "fst2vcd (gtkwave) is not installed: the waves' contents are not checked";
  const Waves waves = readWaves(fst2vcd, fst);
  for (const char *signal : {"clk_i", "req_va_i", "resp_fault_o", "mem_req_addr_o", "ctrl_op_i"})
    EXPECT_EQ(waves.signals.count(signal), 1u) << signal;
  ASSERT_FALSE(waves.times.empty());
  const std::set<uint64_t> times(waves.times.begin(), waves.times.end());
  EXPECT_EQ(times.count(first.first_time), 1u) << "the failing transaction's first cycle is in the waves";
  EXPECT_EQ(times.count(first.last_time), 1u) << "and its last";
  EXPECT_EQ(*times.rbegin(), first.last_time) << "the run stopped there";
  // The harness dumps its two reset cycles (times 0 to 3) before the backend applies the window;
  // after them the dump starts at the window, before the failing transaction but well after time 0.
  const auto window_start = times.upper_bound(3);
  ASSERT_NE(window_start, times.end());
  EXPECT_LT(*window_start, first.first_time) << "the window starts before the failing transaction";
  EXPECT_GT(*window_start, 4u) << "and not from transaction 0 (time 4, right after the reset)";

  // Without the injection the same command runs clean (the RTL agrees with the model) and dumps
  // the same window: the waves a user opens for a window that did not fail.
  ProcessOptions clean;
  clean.cwd = dir.path();
  const Outcome clean_run = testing::runProgram(VMMU_BINARY, replayArguments(first.replay), clean);
  EXPECT_EQ(clean_run.status, 0) << clean_run.err;
  EXPECT_EQ(clean_run.out.find("MISMATCH"), std::string::npos) << clean_run.out;
  const Waves clean_waves = readWaves(fst2vcd, fst);
  ASSERT_FALSE(clean_waves.times.empty());
  EXPECT_EQ(std::set<uint64_t>(clean_waves.times.begin(), clean_waves.times.end()), times)
      << "the same DUT cycles, whatever the model says";
}

// The same path through the API, for a run other than the baseline: the report carries the run,
// the event, the transaction and its cycles; the text and JSON reports say so; nothing else ran.
TEST(RunMismatch, ReportNamesTheRunTheEventAndTheTransaction) {
  if (!rtlBackendAvailable())
    GTEST_SKIP() << "built without the RTL backend (VMMU_BUILD_RTL=OFF)";
  RunRequest request;
  request.trace = kGzip;
  request.approaches = {vmm::Approach::Direct, vmm::Approach::Nested};
  request.baseline = false;
  request.adaptive = false;
  request.max_events = 3000;
  useRtlBackend(request);
  ::setenv(kInjectVariable, std::to_string(kInjectAt).c_str(), 1);
  RunReport report;
  try {
    report = runTrace(request);
  } catch (...) {
    ::unsetenv(kInjectVariable);
    throw;
  }
  ::unsetenv(kInjectVariable);
  ASSERT_TRUE(report.mismatch.has_value());
  const Mismatch &m = *report.mismatch;
  EXPECT_EQ(m.run, "direct") << "the first run met it and the run stopped there";
  EXPECT_TRUE(report.runs.empty());
  EXPECT_GE(m.transaction, kInjectAt);
  EXPECT_LT(m.event_index, 3000u);
  EXPECT_LT(m.wave_from, m.transaction);
  EXPECT_LE(m.first_cycle, m.last_cycle);
  EXPECT_NE(m.what.find("at transaction " + std::to_string(m.transaction)), std::string::npos) << m.what;
  EXPECT_EQ(m.what.find("reproduce with waves"), std::string::npos) << "the command prints its own: " << m.what;
  const std::string text = formatText(report);
  EXPECT_NE(text.find("MISMATCH in direct at trace event " + std::to_string(m.event_index) + " (backend transaction " +
                      std::to_string(m.transaction) + ", DUT cycles " + std::to_string(m.first_cycle) + " to " +
                      std::to_string(m.last_cycle) + ")"),
            std::string::npos)
      << text;
  const nlohmann::json json = nlohmann::json::parse(formatJson(report));
  const nlohmann::json &mismatch = json.at("mismatch");
  EXPECT_EQ(mismatch.at("run"), "direct");
  EXPECT_EQ(mismatch.at("event_index"), m.event_index);
  EXPECT_EQ(mismatch.at("transaction"), m.transaction);
  EXPECT_EQ(mismatch.at("wave_from"), m.wave_from);
}

}  // namespace
}  // namespace vmmu::run
