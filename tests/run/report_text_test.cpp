// report_text_test.cpp - the lines of a `vmmu run` report that the bundled traces' golden files do
// not pin, on hand-made reports: the replay speed (timings are left out of the golden files), the
// RTL backend's transaction ranges and a mismatch (the RTL is not built in every configuration),
// a stop by Ctrl-C, and the adaptive policy's summary lines at their edges.
#include <gtest/gtest.h>

#include <string>

#include "vmmu/run/report.h"

namespace vmmu::run {
namespace {

using vmm::Approach;

// A run of `policy` that cost `walk` translation cycles, nothing else.
ModeRun runOf(const std::string &policy, uint64_t walk) {
  ModeRun run;
  run.result.policy = policy;
  run.result.cost.translation_cycles = walk;
  return run;
}

// The line of `text` that starts with `prefix` (with its newline), or "" when there is none.
std::string lineStarting(const std::string &text, const std::string &prefix) {
  for (size_t at = 0; at < text.size();) {
    const size_t end = text.find('\n', at);
    const size_t next = end == std::string::npos ? text.size() : end + 1;
    if (text.compare(at, prefix.size(), prefix) == 0)
      return text.substr(at, next - at);
    at = next;
  }
  return "";
}

TEST(ReportText, ReplaySpeedAddsEveryRunAndTheOneDecode) {
  RunReport report;
  report.backend = "model";
  report.runs = {runOf("nested", 100), runOf("shadow", 200)};
  report.runs[0].replay.accesses = 1'000'000;
  report.runs[0].seconds = 2.0;
  report.runs[0].cpu_seconds = 1.5;
  report.runs[1].replay.accesses = 5'000'000;
  report.runs[1].seconds = 1.0;
  report.runs[1].cpu_seconds = 0.5;
  report.decode_cpu_seconds = 1.0;
  report.decode_seconds = 0.25;
  // 6,000,000 accesses in 1.5 + 0.5 + 1.0 = 3 CPU seconds: 2 M/s; wall 2 + 1 + 0.25.
  EXPECT_EQ(lineStarting(formatText(report), "replay speed:"),
            "replay speed: 2.00M accesses/s of CPU time on the model backend (6000000 accesses in 3.00 CPU s: runs "
            "2.00, decoding the trace once 1.00; 3.25 s wall)\n");

  // Decoding alone is CPU time too.
  for (ModeRun &run : report.runs)
    run.cpu_seconds = 0.0;
  EXPECT_EQ(lineStarting(formatText(report), "replay speed:"),
            "replay speed: 6.00M accesses/s of CPU time on the model backend (6000000 accesses in 1.00 CPU s: runs "
            "0.00, decoding the trace once 1.00; 3.25 s wall)\n");
  // No CPU time measured at all: no speed (rather than a division by zero).
  report.decode_cpu_seconds = 0.0;
  EXPECT_EQ(lineStarting(formatText(report), "replay speed:"), "");
}

TEST(ReportText, RtlTransactionRangesPerRun) {
  RunReport report;
  report.backend = "rtl";
  report.runs = {runOf("native", 10), runOf("nested", 20), runOf("adaptive", 30)};
  report.runs[1].transactions = 12;  // transactions 0 to 11
  report.runs[2].transactions = 1;   // transaction 0 alone
  EXPECT_EQ(lineStarting(formatText(report), "rtl transactions"),
            "rtl transactions per run (the --wave-window range): native -, nested 0:11, adaptive 0:0\n");
  report.backend = "model";
  EXPECT_EQ(lineStarting(formatText(report), "rtl transactions"), "");
  report.backend = "rtl";
  report.runs.clear();
  EXPECT_EQ(lineStarting(formatText(report), "rtl transactions"), "");
}

TEST(ReportText, MismatchInTheTableAndTheJson) {
  RunReport report;
  report.backend = "rtl";
  report.runs = {runOf("direct", 10)};
  EXPECT_EQ(lineStarting(formatText(report), "MISMATCH"), "");
  EXPECT_TRUE(toJson(report).at("mismatch").is_null());

  Mismatch m;
  m.run = "direct";
  m.event_index = 41;
  m.transaction = 7;
  m.wave_from = 3;
  m.first_cycle = 100;
  m.last_cycle = 123;
  m.first_time = 1000;
  m.last_time = 1235;
  m.what = "va 0x1000: dut fault, model ok";
  report.mismatch = m;
  EXPECT_EQ(lineStarting(formatText(report), "MISMATCH"),
            "MISMATCH in direct at trace event 41 (backend transaction 7, DUT cycles 100 to 123)\n");
  const nlohmann::ordered_json json = toJson(report).at("mismatch");
  EXPECT_EQ(json.dump(), "{\"run\":\"direct\",\"event_index\":41,\"transaction\":7,\"wave_from\":3,\"first_cycle\":100,"
                         "\"last_cycle\":123,\"first_time\":1000,\"last_time\":1235,"
                         "\"what\":\"va 0x1000: dut fault, model ok\"}");
}

TEST(ReportText, AStopByCtrlCIsSaidWhereTheFiguresAre) {
  RunReport report;
  report.trace = "t.vmt";
  report.backend = "model";
  report.events = 10;
  report.accesses = 8;
  report.interval = 4;
  report.requested_interval = 4;
  report.cycles_per_ref = 3;
  report.memory_model = "flat, 3 cycles per walk reference";
  report.base_cpi = 1.5;
  report.max_ept_page = "4k";
  report.host_allocation = "eager";
  report.runs = {runOf("nested", 100), runOf("shadow", 50)};
  std::string text = formatText(report);
  EXPECT_EQ(lineStarting(text, "vmmu run"), "vmmu run t.vmt: 10 events, 8 user accesses, backend model, interval 4\n");
  EXPECT_EQ(lineStarting(text, "memory "),
            "memory flat, 3 cycles per walk reference; base CPI 1.5; EPT pages up to 4k, host memory eager; run time "
            "in cycles, slowdown relative to native\n");
  EXPECT_EQ(lineStarting(text, "interrupted"), "");
  EXPECT_EQ(text.find("[interrupted"), std::string::npos);

  report.counted = false;
  report.interrupted = true;
  report.runs[1].interrupted = true;
  report.runs[1].replay.accesses = 1234;
  text = formatText(report);
  EXPECT_EQ(lineStarting(text, "vmmu run"), "vmmu run t.vmt: 10 events, 8 user accesses (replayed until the stop: "
                                            "partial), backend model, interval 4\n");
  EXPECT_EQ(lineStarting(text, "interrupted"), "interrupted: the runs above are what was measured\n");
  EXPECT_NE(lineStarting(text, "shadow ").find("  - [interrupted after 1234 accesses]\n"), std::string::npos)
      << text;
  EXPECT_EQ(lineStarting(text, "nested ").find("[interrupted"), std::string::npos) << text;
  // The interrupted run is not compared.
  EXPECT_EQ(lineStarting(text, "best approach"), "best approach: nested (no native baseline run) (the only approach run)\n");
}

// An adaptive run that spent `modes` (one letter per interval: n nested, c shadow-cache) and cost
// `cycles`.
ModeRun adaptiveRun(const std::string &modes, uint64_t cycles) {
  ModeRun run = runOf("adaptive", cycles);
  for (const char mode : modes) {
    policy::IntervalCounters in;
    in.index = run.result.intervals.size();
    in.approach = mode == 'n' ? Approach::Nested : mode == 'c' ? Approach::ShadowCaching : Approach::Direct;
    run.result.intervals.push_back(in);
  }
  return run;
}

TEST(ReportText, AdaptiveSummaryCountsModesAndSwitches) {
  RunReport report;
  report.backend = "model";
  report.runs = {runOf("nested", 900), adaptiveRun("nnccdcn", 1000)};
  std::string text = formatText(report);
  EXPECT_EQ(lineStarting(text, "adaptive: intervals"),
            "adaptive: intervals per mode: nested 3, shadow-cache 3, direct 1; 4 switches\n");
  EXPECT_EQ(lineStarting(text, "adaptive: mode per interval"),
            "adaptive: mode per interval (n nested, s shadow, c shadow-cache, p shadow-prefetch, d direct): nnccdcn\n");
  // No oracle computed (cycles 0): no oracle lines.
  EXPECT_EQ(lineStarting(text, "oracle"), "");

  // One mode throughout: no switch. 200 letters are shown whole, 201 cut to 200 and "...".
  report.runs = {adaptiveRun(std::string(200, 'n'), 1000)};
  text = formatText(report);
  EXPECT_EQ(lineStarting(text, "adaptive: intervals"), "adaptive: intervals per mode: nested 200; 0 switches\n");
  EXPECT_NE(text.find("direct): " + std::string(200, 'n') + "\n"), std::string::npos);
  report.runs = {adaptiveRun(std::string(200, 'c') + "n", 1000)};
  text = formatText(report);
  EXPECT_EQ(lineStarting(text, "adaptive: intervals"),
            "adaptive: intervals per mode: nested 1, shadow-cache 200; 1 switches\n");
  EXPECT_NE(text.find("direct): " + std::string(200, 'c') + "...\n"), std::string::npos);

  // The oracles: adaptive's 1,000 cycles are 25% above 800 and 100% above 500.
  report.oracle.cycles = 800;
  report.oracle_shadow = "shadow-cache";
  report.oracle_all.cycles = 500;
  text = formatText(report);
  EXPECT_EQ(lineStarting(text, "oracle (nested"), "oracle (nested/shadow-cache): 800 cycles; adaptive is +25.00% from it\n");
  EXPECT_EQ(lineStarting(text, "oracle (every"), "oracle (every approach): 500 cycles; adaptive is +100.00% from it\n");
  report.oracle.cycles = 0;
  text = formatText(report);
  EXPECT_EQ(lineStarting(text, "oracle (nested"), "");
  EXPECT_NE(lineStarting(text, "oracle (every"), "");
}

// The header names the trace whatever the length of its path (a path may be up to PATH_MAX, 4096
// bytes): a 1,000-byte path is printed whole and the line after it, the memory model's, follows.
TEST(ReportText, TheHeaderHoldsALongTracePathWhole) {
  RunReport report;
  report.backend = "model";
  report.trace = "/" + std::string(999, 'p');
  report.memory_model = "flat, 30 cycles per walk reference";
  report.runs = {runOf("nested", 100)};
  const std::string text = formatText(report);
  EXPECT_EQ(text.substr(0, text.find(':')), "vmmu run " + report.trace) << text.substr(0, 1100);
  EXPECT_EQ(lineStarting(text, "memory "), "memory flat, 30 cycles per walk reference; base CPI 0; EPT pages up to , "
                                            "host memory ; run time in cycles, slowdown relative to native\n");
}

}  // namespace
}  // namespace vmmu::run
