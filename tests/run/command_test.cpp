// command_test.cpp - the `vmmu run` and `vmmu plot` commands as a user runs them: options, errors,
// the JSON file, the plot, and Ctrl-C (SIGINT) on a running replay (a child process).
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "run_test_support.h"

namespace vmmu::run {
namespace {

using testing::finish;
using testing::Outcome;
using testing::readFile;
using testing::TempFile;

const std::string kGzip = std::string(VMMU_TRACES_DIR) + "/gzip.vmt";

pid_t start(const std::vector<std::string> &args, const std::string &out, const std::string &err) {
  return testing::start(VMMU_BINARY, args, out, err);
}

Outcome vmmu(const std::vector<std::string> &args) { return testing::runProgram(VMMU_BINARY, args); }

TEST(RunCommand, BadOptionsAreOneLineUsageErrors) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"run", "--bogus"}, "vmmu: unknown option '--bogus' for 'vmmu run'"},
      {{"run", kGzip, "--mode", "fast"},
       "vmmu: --mode: unknown mode 'fast' (expected native, nested, shadow, shadow-cache, shadow-prefetch, direct, "
       "adaptive or all)"},
      {{"run", kGzip, "--backend", "fpga"}, "vmmu: --backend: expected model or rtl, got 'fpga'"},
      {{"run", kGzip, "--policy", "smart"},
       "vmmu: --policy: unknown policy 'smart' (expected adaptive, adaptive-shadow, adaptive-shadow-prefetch or none)"},
      {{"run", kGzip, "--wave", "w.fst"}, "vmmu: --wave needs --backend rtl (the model has no waves)"},
      {{"run", kGzip, "--wave-window", "1:2"}, "vmmu: --wave-window needs --wave FILE.fst"},
      {{"run", kGzip, "--interval", "0"}, "vmmu: --interval: expected a whole number from 1 to 1000000000000, got '0'"},
      {{"run", kGzip, "--max-events"}, "vmmu: --max-events: missing value"},
      {{"run", kGzip, kGzip}, "vmmu: run: expected one trace file, got a second: '" + kGzip + "'"},
      {{"plot", "x.json"}, "vmmu: plot: missing -o OUT.png"},
  };
  for (const auto &[args, message] : cases) {
    const Outcome o = vmmu(args);
    EXPECT_EQ(o.status, 2) << message;
    EXPECT_EQ(o.firstErrLine(), message);
    EXPECT_TRUE(o.out.empty());
  }
}

TEST(RunCommand, HelpPrintsTheUsageAndSucceeds) {
  for (const std::vector<std::string> &args :
       {std::vector<std::string>{"--help"}, {"run", "--help"}, {"run", kGzip, "-h"}, {"trace", "gen", "--help"}}) {
    const Outcome o = vmmu(args);
    EXPECT_EQ(o.status, 0) << args.back();
    EXPECT_EQ(o.out.rfind("usage: vmmu run", 0), 0u) << o.out;
    EXPECT_TRUE(o.err.empty()) << o.err;
  }
  // After `--`, a --help belongs to the recorded program, not to vmmu.
  const Outcome record = vmmu({"record", "--", "--help"});
  EXPECT_EQ(record.status, 2);
  EXPECT_EQ(record.firstErrLine(), "vmmu: record: missing -o FILE");
}

TEST(RunCommand, BadTracesAreOneLineErrors) {
  const Outcome missing = vmmu({"run", "/nonexistent/t.vmt"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.err.rfind("vmmu: error: /nonexistent/t.vmt", 0), 0u) << missing.err;
  EXPECT_EQ(missing.err.find('\n'), missing.err.size() - 1);

  TempFile garbage("garbage.vmt");
  std::ofstream(garbage.path()) << "not a trace at all";
  const Outcome bad = vmmu({"run", garbage.path()});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("not a vmmu trace"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.err.find('\n'), bad.err.size() - 1);

  TempFile empty("noaccess.vmt");
  testing::writeTrace(empty.path(), {trace::Event::processCreate(1, 0, "idle")});
  const Outcome none = vmmu({"run", empty.path()});
  EXPECT_EQ(none.status, 1);
  EXPECT_EQ(none.err, "vmmu: error: " + empty.path() + ": the trace has no user accesses to replay\n");
}

TEST(RunCommand, UnwritableJsonFailsBeforeTheRun) {
  const Outcome o = vmmu({"run", kGzip, "--json", "/nonexistent/dir/r.json"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err, "vmmu: error: /nonexistent/dir/r.json: cannot write the JSON report\n");
  EXPECT_TRUE(o.out.empty());
}

TEST(RunCommand, BadConfigNamesFileAndLine) {
  TempFile config("bad.cfg");
  std::ofstream(config.path()) << "interval = 1000\ncolour = blue\n";
  const Outcome o = vmmu({"run", kGzip, "--config", config.path()});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err, "vmmu: error: " + config.path() + ":2: unknown key 'colour'\n");
}

TEST(RunCommand, WritesTheTableAndJsonAndPlotsIt) {
  TempFile json("result.json"), png("result.png"), config("good.cfg");
  std::ofstream(config.path()) << "interval = 4000\n";
  const Outcome o = vmmu({"run", kGzip, "--max-events", "20000", "--json", json.path(), "--config", config.path()});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("interval 4000"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("best approach:"), std::string::npos);
  const std::string report = readFile(json.path());
  EXPECT_NE(report.find("\"verdict\": \"best approach:"), std::string::npos);
  EXPECT_NE(report.find("\"interval\": 4000"), std::string::npos);

  if (testing::findProgram("gnuplot").empty())
    GTEST_SKIP() << "gnuplot not installed";
  const Outcome plot = vmmu({"plot", json.path(), "-o", png.path()});
  ASSERT_EQ(plot.status, 0) << plot.err;
  EXPECT_EQ(readFile(png.path()).substr(0, 4), "\x89PNG");
}

TEST(RunCommand, PlotRejectsWhatIsNotARunReport) {
  TempFile json("other.json");
  std::ofstream(json.path()) << "{\"something\": [1, 2]}";
  const Outcome o = vmmu({"plot", json.path(), "-o", "/dev/null"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err, "vmmu: error: " + json.path() + ": not a vmmu run JSON report: no \"runs\"\n");
}

TEST(RunCommand, SigintStopsCleanlyAndPrintsWhatWasMeasured) {
  TempFile out("sigint-out.txt"), err("sigint-err.txt");
  // The bundled run (70M accesses replayed over all approaches: many seconds even on a fast idle
  // machine), so the signal lands mid-run, or while the bundled traces are mixed: both must stop.
  const pid_t pid = start({"run"}, out.path(), err.path());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  kill(pid, SIGINT);
  const Outcome o = finish(pid, out.path(), err.path());
  EXPECT_EQ(o.status, 130) << o.err;
  EXPECT_NE(o.out.find("\nnative "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("interrupted"), std::string::npos) << o.out;
  EXPECT_NE(o.err.find("vmmu: interrupted"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace vmmu::run
