// command_test.cpp - the `vmmu run` and `vmmu plot` commands as a user runs them: options, errors,
// the JSON file, the plot, and Ctrl-C (SIGINT) on a running replay (a child process).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "run_test_support.h"
#include "vmmu/run/json_reader.h"
#include "vmmu/run/run_config.h"

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

// Starts `vmmu run` on the largest bundled trace (40M accesses over every approach: seconds even
// on a fast idle machine) and returns once it reports replay progress on stderr (or after 60 s,
// when the test's expectations will say what happened), so that a signal sent then lands mid-run.
pid_t startLongRun(const std::vector<std::string> &extra, const std::string &out, const std::string &err) {
  std::vector<std::string> args{"run", std::string(VMMU_TRACES_DIR) + "/tpch.vmt"};
  args.insert(args.end(), extra.begin(), extra.end());
  const pid_t pid = start(args, out, err);
  for (int waited = 0; waited < 6000 && readFile(err).find("replayed by each") == std::string::npos; ++waited)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return pid;
}

TEST(RunCommand, BadOptionsAreOneLineUsageErrors) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"run", "--bogus"}, "vmmu: run: unexpected argument '--bogus' (see vmmu run --help)"},
      {{"run", kGzip, "--mode", "fast"},
       "vmmu: --mode: expected native, nested, shadow, shadow-cache, shadow-prefetch, direct, guest-direct, "
       "dual-direct, agile, adaptive or all, got 'fast'"},
      {{"run", kGzip, "--backend", "fpga"}, "vmmu: --backend: expected model or rtl, got 'fpga'"},
      {{"run", kGzip, "--policy", "smart"},
       "vmmu: --policy: expected adaptive, adaptive-shadow, adaptive-shadow-prefetch or none, got 'smart'"},
      {{"run", kGzip, "--wave", "w.fst"}, "vmmu: --wave: needs --backend rtl (the model has no waves)"},
      {{"run", kGzip, "--wave-window", "1:2"}, "vmmu: --wave-window requires --wave"},
      {{"run", kGzip, "--mode", "native", "--backend", "rtl", "--wave", "w.fst", "--wave-window", "9:1"},
       "vmmu: --wave-window: the window 9:1 ends before it starts"},
      {{"run", kGzip, "--mode", "adaptive", "--policy", "none"},
       "vmmu: --mode: adaptive needs a policy, not --policy none"},
      {{"run", kGzip, "--interval", "0"}, "vmmu: --interval: expected a whole number from 1 to 1000000000000, got '0'"},
      {{"run", kGzip, "--interval", "-5"},
       "vmmu: --interval: expected a whole number from 1 to 1000000000000, got '-5'"},
      {{"run", kGzip, "--max-events"}, "vmmu: --max-events: 1 required UINT:1..18446744073709551615 missing"},
      {{"run", kGzip, "--warmup", "-3"},
       "vmmu: --warmup: expected a whole number from 0 to 18446744073709551615, got '-3'"},
      {{"run", kGzip, "--contiguity", "hotplug"}, "vmmu: --contiguity: expected compact or balloon, got 'hotplug'"},
      {{"run", kGzip, "--ept-format", "3level"}, "vmmu: --ept-format: expected 4level, 2level or 1level, got '3level'"},
      {{"run", kGzip, "--direct-after", "-1"},
       "vmmu: --direct-after: expected a whole number from 0 to 18446744073709551615, got '-1'"},
      {{"run", kGzip, kGzip}, "vmmu: run: unexpected argument '" + kGzip + "' (see vmmu run --help)"},
      {{"plot", "x.json"}, "vmmu: --output is required"},
      {{"plot", "x.json", "-o", "x.gif"},
       "vmmu: -o: expected a file name ending in .png, .svg or .pdf (or - for a PNG on standard output), got "
       "'x.gif'"},
      {{"frobnicate"}, "vmmu: unknown command 'frobnicate' (expected run, plot, demo, trace or record)"},
  };

  for (const auto &[args, message] : cases) {
    const Outcome o = vmmu(args);
    EXPECT_EQ(o.status, 2) << message;
    EXPECT_EQ(o.firstErrLine(), message);
    EXPECT_TRUE(o.out.empty());
  }
}

// `--contiguity` adds what making the direct VM contiguous cost to the table and the JSON; without
// it the report says nothing of it (the recorded reports stay as they were).
TEST(RunCommand, ContiguityReportsWhatMakingDirectContiguousCost) {
  const TempFile config("contiguity.cfg");
  {
    std::ofstream(config.path()) << "fragmentation = 0.1\nmemory_mib = 64\n";
  }
  const std::vector<std::string> base = {"run", kGzip, "--mode", "direct", "--max-events", "3000",
                                         "--config", config.path(), "--json", "-"};
  std::vector<std::string> args = base;
  args.insert(args.end(), {"--contiguity", "balloon"});
  const Outcome balloon = vmmu(args);
  ASSERT_EQ(balloon.status, 0) << balloon.err;
  EXPECT_NE(balloon.err.find("direct made contiguous by balloon: "), std::string::npos) << balloon.err;
  const nlohmann::json report = parseReport(balloon.out);
  const nlohmann::json &direct = report.at("runs").at(1).at("contiguity");
  EXPECT_EQ(direct.at("way"), "balloon");
  // 64 MiB at 10%: 819 pairs, 1,638 pages out of place. The guest has just booted: it keeps at
  // most its null frame and its three kernel tables, which the host copies (two copies at most
  // each), and gives back the rest.
  EXPECT_GE(direct.at("balloon_pages").get<uint64_t>(), 1634u);
  EXPECT_LE(direct.at("host_copies").get<uint64_t>(), 8u);
  args = base;
  args.insert(args.end(), {"--contiguity", "compact"});
  const Outcome compact = vmmu(args);
  ASSERT_EQ(compact.status, 0) << compact.err;
  EXPECT_EQ(parseReport(compact.out).at("runs").at(1).at("contiguity").at("host_copies"), 1638);
  const Outcome plain = vmmu(base);
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_EQ(plain.err.find("made contiguous"), std::string::npos);
  EXPECT_FALSE(parseReport(plain.out).at("runs").at(1).contains("contiguity"));
}

// `--ept-format` (docs/architecture.md §21.7) adds each run's EPT tables to the table and the JSON:
// a 64 MiB guest's 2level EPT is the level-2 table made with the VM and the level-1 table of gPA
// [0, 1G) allocated at the first EPT violation, 2 MiB each, that one charged 3,000 + 512 x 250
// cycles, and 250 per 2 MiB leaf written as 512 replicas; 4level's 4 KiB tables are not charged.
// Without the option the report says nothing of it.
TEST(RunCommand, EptFormatReportsTheNestedTablesAndWhatTheyCost) {
  const TempFile config("ept-format.cfg");
  {
    std::ofstream(config.path()) << "memory_mib = 64\n";
  }
  const std::vector<std::string> base = {"run", kGzip, "--mode", "nested", "--max-events", "3000",
                                         "--config", config.path(), "--json", "-"};
  std::vector<std::string> args = base;
  args.insert(args.end(), {"--ept-format", "2level"});
  const Outcome flat2 = vmmu(args);
  ASSERT_EQ(flat2.status, 0) << flat2.err;
  EXPECT_NE(flat2.err.find("EPT format 2level (docs/architecture.md §21):"), std::string::npos) << flat2.err;
  const nlohmann::json report = parseReport(flat2.out);
  EXPECT_FALSE(report.at("runs").at(0).contains("ept_format")) << "native has no EPT";
  const nlohmann::json &nested = report.at("runs").at(1).at("ept_format");
  EXPECT_EQ(nested.at("format"), "2level");
  EXPECT_EQ(nested.at("table_bytes"), 4u << 20);
  EXPECT_EQ(nested.at("tables_allocated"), 1u);
  const uint64_t leaves = nested.at("replicated_2m_leaves").get<uint64_t>();
  EXPECT_GE(leaves, 1u);
  EXPECT_EQ(nested.at("cycles"), 3'000u + 512 * 250 + 250 * leaves);
  args = base;
  args.insert(args.end(), {"--ept-format", "4level"});
  const Outcome radix = vmmu(args);
  ASSERT_EQ(radix.status, 0) << radix.err;
  const nlohmann::json radix_report = parseReport(radix.out);
  const nlohmann::json &radix_nested = radix_report.at("runs").at(1).at("ept_format");
  EXPECT_EQ(radix_nested.at("tables_allocated"), 0u);
  EXPECT_EQ(radix_nested.at("cycles"), 0u);
  EXPECT_EQ(radix_nested.at("table_bytes").get<uint64_t>() % 4096, 0u);
  const Outcome plain = vmmu(base);
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_EQ(plain.err.find("EPT format"), std::string::npos);
  EXPECT_FALSE(parseReport(plain.out).at("runs").at(1).contains("ept_format"));
  // The radix run's figures are the plain run's: naming the default format changes nothing.
  EXPECT_EQ(radix_report.at("runs").at(1).at("cycles"), parseReport(plain.out).at("runs").at(1).at("cycles"));
}

// A warm-up that leaves no steady phase is a one-line error (status 1), naming the option.
TEST(RunCommand, AWarmupLongerThanTheTraceIsAnError) {
  const Outcome o = vmmu({"run", kGzip, "--max-events", "100", "--warmup", "98"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.firstErrLine(),
            "vmmu: error: --warmup 98: the trace has only 98 user accesses, so no steady phase follows the warm-up");
}

TEST(RunCommand, HelpListsEveryOptionWithItsDefaultAndSucceeds) {
  const std::pair<std::vector<std::string>, std::vector<std::string>> cases[] = {
      {{"--help"}, {"Usage: vmmu [OPTIONS] SUBCOMMAND", "run", "plot", "demo", "trace", "record", "--version"}},
      {{"run", "--help"},
       {"Usage: vmmu run [OPTIONS] [TRACE]", "--mode", "=all", "--backend", "=model", "--policy", "=adaptive",
        "--wave", "--wave-window", "--json", "--config", "--interval", "--max-events", "--warmup", "--contiguity",
        "=compact", "--ept-format", "=4level", "--direct-after", "SIGTERM"}},
      {{"run", kGzip, "-h"}, {"Usage: vmmu run"}},
      {{"plot", "--help"}, {"Usage: vmmu plot", "-o,--output", ".svg"}},
      {{"demo", "--help"}, {"--accesses", "=400000", "--footprint-mib", "=256", "--guest-pages", "=4k"}},
      {{"trace", "gen", "--help"}, {"Usage: vmmu trace gen", "KIND", "--procs", "=1", "--seed", "--quantum"}},
      {{"trace", "dump", "--help"}, {"-o,--output", "=-"}},
      {{"record", "--help"}, {"--max-accesses", "=50000000", "COMMAND"}},
  };
  for (const auto &[args, expected] : cases) {
    const Outcome o = vmmu(args);
    EXPECT_EQ(o.status, 0) << args.back();
    for (const std::string &text : expected)
      EXPECT_NE(o.out.find(text), std::string::npos) << text << " in\n" << o.out;
    EXPECT_TRUE(o.err.empty()) << o.err;
  }
  // After `--`, a --help belongs to the recorded program, not to vmmu.
  const Outcome record = vmmu({"record", "--", "--help"});
  EXPECT_EQ(record.status, 2);
  EXPECT_EQ(record.firstErrLine(), "vmmu: --output is required");
}

TEST(RunCommand, VersionIsTheProjectVersion) {
  const Outcome o = vmmu({"--version"});
  EXPECT_EQ(o.status, 0);
  EXPECT_EQ(o.out, "vmmu " VMMU_VERSION "\n");
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
  EXPECT_EQ(o.err, "vmmu: error: /nonexistent/dir/r.json: cannot write: directory '/nonexistent/dir' does not exist\n");
  EXPECT_TRUE(o.out.empty());
}

TEST(RunCommand, BadConfigNamesFileAndLine) {
  TempFile config("bad.cfg");
  std::ofstream(config.path()) << "interval = 1000\ncolour = blue\n";
  const Outcome o = vmmu({"run", kGzip, "--config", config.path()});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err, "vmmu: error: " + config.path() + ":2: unknown key 'colour'\n");
}

// Issue 14: a cache that cannot work is one line naming the key and what is allowed, exit 1.
TEST(RunCommand, ImpossibleCacheIsOneLineNamingTheKey) {
  TempFile config("cache.cfg");
  std::ofstream(config.path()) << "l1d.size_kib = 48\n";
  const Outcome o = vmmu({"run", kGzip, "--config", config.path()});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err, "vmmu: error: " + config.path() +
                       ":1: l1d.size_kib: 48 KiB over 8 ways gives 96 sets, not a power of two (allowed: size_kib = "
                       "ways x 64 B x 2^n / 1024)\n");
  EXPECT_TRUE(o.out.empty());
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
  const Outcome o = vmmu({"plot", json.path(), "-o", "never-written.png"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err, "vmmu: error: " + json.path() + ": not a vmmu run JSON report: no \"runs\"\n");
  EXPECT_TRUE(o.out.empty());
}

TEST(RunCommand, SigintStopsCleanlyAndPrintsWhatWasMeasured) {
  TempFile out("sigint-out.txt"), err("sigint-err.txt");
  const pid_t pid = startLongRun({}, out.path(), err.path());
  kill(pid, SIGINT);
  const Outcome o = finish(pid, out.path(), err.path());
  EXPECT_EQ(o.status, 130) << o.err;
  EXPECT_NE(o.out.find("\nnative "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("interrupted"), std::string::npos) << o.out;
  EXPECT_NE(o.err.find("vmmu: interrupted by SIGINT"), std::string::npos) << o.err;
}

TEST(RunCommand, SigtermStopsCleanlyLikeSigintAndWritesTheJson) {
  TempFile out("sigterm-out.txt"), err("sigterm-err.txt"), json("sigterm.json");
  std::ofstream(json.path()) << "previous report";
  const pid_t pid = startLongRun({"--json", json.path()}, out.path(), err.path());
  kill(pid, SIGTERM);
  const Outcome o = finish(pid, out.path(), err.path());
  EXPECT_EQ(o.status, 128 + SIGTERM) << o.err;
  EXPECT_NE(o.out.find("interrupted"), std::string::npos) << o.out;
  EXPECT_NE(o.err.find("vmmu: interrupted by SIGTERM"), std::string::npos) << o.err;
  const nlohmann::json report = parseReport(readFile(json.path()));
  EXPECT_EQ(report.at("interrupted"), true);
  // No temporary file is left next to the JSON.
  const std::filesystem::path dir = std::filesystem::path(json.path()).parent_path();
  for (const auto &entry : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().rfind(".sigterm.json.", 0), std::string::npos) << entry.path();
}

TEST(RunCommand, AFailedRunKeepsThePreviousJson) {
  TempFile json("kept.json"), garbage("garbage2.vmt");
  std::ofstream(json.path()) << "previous report";
  std::ofstream(garbage.path()) << "not a trace";
  const Outcome o = vmmu({"run", garbage.path(), "--json", json.path()});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(readFile(json.path()), "previous report");
}

TEST(RunCommand, JsonDashWritesTheJsonAloneToStandardOutput) {
  const Outcome o = vmmu({"run", kGzip, "--max-events", "5000", "--mode", "nested", "--json", "-"});
  ASSERT_EQ(o.status, 0) << o.err;
  const nlohmann::json report = parseReport(o.out);
  EXPECT_EQ(report.at("runs").size(), 2u);  // native, nested
  EXPECT_NE(o.err.find("best approach:"), std::string::npos) << "the table goes to stderr: " << o.err;
  EXPECT_FALSE(std::filesystem::exists("-"));
}

TEST(RunCommand, LostStandardOutputIsAnError) {
  const Outcome o = testing::runProgram("/bin/sh", {"-c", std::string(VMMU_BINARY) + " run " + kGzip +
                                                               " --max-events 2000 --mode nested > /dev/full"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err, "vmmu: error: standard output: write failed: No space left on device\n");
}

// Every plot format, and a report whose labels are shell and gnuplot syntax: they are drawn as
// text, never run.
TEST(RunCommand, PlotDrawsEveryFormatAndRunsNothingFromTheReport) {
  if (testing::findProgram("gnuplot").empty())
    GTEST_SKIP() << "gnuplot not installed";
  testing::TempDir dir("plot");
  const std::string json = dir.path() + "/r.json";
  const std::string hostile = "x\"; system(\"touch " + dir.path() +
                              "/pwned1\") `touch pwned2` $(touch pwned3) '; system('touch pwned4'); '\n";
  nlohmann::json report = {{"schema_version", 1}, {"trace", hostile}, {"backend", hostile}};
  report["runs"] = nlohmann::json::array();
  for (const std::string &name : {std::string("native"), hostile, std::string("adaptive")})
    report["runs"].push_back(
        {{"approach", name}, {"slowdown", 1.5}, {"modes", "ncd"}, {"interval_cycles", {10, 20, 30}}});
  std::ofstream(json) << report.dump();
  for (const char *const extension_name : {"png", "svg", "pdf"}) {
    const std::string extension = extension_name;
    const std::string image = dir.path() + "/r." + extension;
    testing::ProcessOptions in_dir;
    in_dir.cwd = dir.path();
    const Outcome o = testing::runProgram(VMMU_BINARY, {"plot", json, "-o", image}, in_dir);
    ASSERT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.out, "wrote " + image + "\n");
    const std::string bytes = readFile(image);
    EXPECT_EQ(bytes.substr(0, extension == "png" ? 4 : 5),
              extension == "png" ? "\x89PNG" : extension == "pdf" ? "%PDF-" : "<?xml");
  }
  for (const auto &entry : std::filesystem::directory_iterator(dir.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_EQ(name.find("pwned"), std::string::npos) << name;
    EXPECT_TRUE(name == "r.json" || name == "r.png" || name == "r.svg" || name == "r.pdf") << "stray " << name;
  }
}

// A stand-in for gnuplot, first on PATH: it keeps the data file and the arguments vmmu gave it
// (gnuplot -c SCRIPT DATA IMAGE TERMINAL TITLE RUNS ADAPTIVE), writes "image" as the picture, and
// fails with a message when the report's trace is named "fail".
class FakeGnuplot {
public:
  FakeGnuplot() : dir_("fake-gnuplot") {
    std::filesystem::create_directories(dir_ / "bin");
    std::ofstream script(dir_ / "bin/gnuplot");
    script << "#!/bin/sh\n"
              "cp \"$3\" '" << dir_.path() << "/data.txt'\n"
              "printf '%s|' \"$1\" \"$5\" \"$6\" \"$7\" \"$8\" > '" << dir_.path() << "/args.txt'\n"
              "case \"$6\" in *'fail ('*) echo 'set output'; echo '         ^'; echo '\"gp\" line 3: bad'; exit 3;; esac\n"
              "case \"$6\" in *'quiet ('*) exit 4;; esac\n"
              "case \"$6\" in *'killed ('*) kill -9 $$;; esac\n"
              "printf image > \"$4\"\n";
    script.close();
    std::filesystem::permissions(dir_ / "bin/gnuplot", std::filesystem::perms::owner_all);
  }
  Outcome plot(const nlohmann::json &report, const std::string &output) const {
    std::ofstream(dir_ / "r.json") << report.dump();
    testing::ProcessOptions options;
    options.cwd = dir_.path();
    options.env = {{"PATH", dir_ / "bin:" + std::string(std::getenv("PATH"))}};
    return testing::runProgram(VMMU_BINARY, {"plot", dir_ / "r.json", "-o", output}, options);
  }
  std::string data() const { return readFile(dir_ / "data.txt"); }
  std::string args() const { return readFile(dir_ / "args.txt"); }
  std::string operator/(const std::string &name) const { return dir_ / name; }

private:
  testing::TempDir dir_;
};

nlohmann::json runOf(const std::string &approach, double slowdown, const std::string &modes,
                     const std::vector<uint64_t> &cycles) {
  return {{"approach", approach}, {"slowdown", slowdown}, {"modes", modes}, {"interval_cycles", cycles}};
}

// The data file gnuplot reads, written out by hand: the slowdowns, the cycles per interval with
// NaN where a run has fewer intervals, and the adaptive run's mode numbers (n s c p d -> 1..5,
// anything else 0). Labels keep letters, digits and " -_.+:/()," and nothing else.
TEST(RunCommand, PlotGivesGnuplotTheFiguresAndLabelsAsData) {
  const FakeGnuplot gnuplot;
  nlohmann::json report = {{"schema_version", 1}, {"trace", "t.vmt"}, {"backend", "model"}};
  report["runs"] = {runOf("azAZ09 -_.+:/(),x", 1.5, "n", {100, 200}),
                    runOf(std::string("`{@[<\xc3\xa9\"\x7f", 9) + std::string(1, '\0') + "~", 2.0, "s", {300}),
                    runOf("adaptive", 1.25, "nscpdx", {1, 2, 3})};
  const Outcome o = gnuplot.plot(report, gnuplot / "r.svg");
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "wrote " + (gnuplot / "r.svg") + "\n");
  EXPECT_EQ(readFile(gnuplot / "r.svg"), "image");
  EXPECT_EQ(gnuplot.data(),
            "\"azAZ09 -_.+:/(),x\" 1.500000\n"
            "\"???????????\" 2.000000\n"
            "\"adaptive\" 1.250000\n"
            "\n\n"
            "interval \"azAZ09 -_.+:/(),x\" \"???????????\" \"adaptive\"\n"
            "0 100 300 1\n"
            "1 200 NaN 2\n"
            "2 NaN NaN 3\n"
            "\n\n"
            "0 1\n1 2\n2 3\n3 4\n4 5\n5 0\n");
  EXPECT_EQ(gnuplot.args(), "-c|svg|vmmu run: t.vmt (model backend)|3|1|");

  // Without an adaptive run there is no mode block, and the script is told so; .pdf and - choose
  // their terminals (- is a PNG copied to standard output).
  report["runs"] = {runOf("nested", 3.0, "n", {7})};
  report["backend"] = "rtl";
  const Outcome pdf = gnuplot.plot(report, gnuplot / "r.pdf");
  ASSERT_EQ(pdf.status, 0) << pdf.err;
  EXPECT_EQ(gnuplot.data(), "\"nested\" 3.000000\n\n\ninterval \"nested\"\n0 7\n\n\n");
  EXPECT_EQ(gnuplot.args(), "-c|pdf|vmmu run: t.vmt (rtl backend)|1|0|");
  const Outcome piped = gnuplot.plot(report, "-");
  ASSERT_EQ(piped.status, 0) << piped.err;
  EXPECT_EQ(piped.out, "image");
  EXPECT_EQ(gnuplot.args(), "-c|png|vmmu run: t.vmt (rtl backend)|1|0|");
  const Outcome png = gnuplot.plot(report, gnuplot / "a.b.png");
  ASSERT_EQ(png.status, 0) << png.err;
  EXPECT_EQ(gnuplot.args(), "-c|png|vmmu run: t.vmt (rtl backend)|1|0|");
}

TEST(RunCommand, PlotNamesGnuplotsErrorAndKeepsNoImage) {
  const FakeGnuplot gnuplot;
  nlohmann::json report = {{"schema_version", 1}, {"trace", "fail"}, {"backend", "model"}};
  report["runs"] = {runOf("native", 1.0, "n", {1})};
  const Outcome o = gnuplot.plot(report, gnuplot / "r.png");
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err, "vmmu: error: plot: gnuplot failed (exit status 3): \"gp\" line 3: bad\n");
  EXPECT_FALSE(std::filesystem::exists(gnuplot / "r.png"));
  report["trace"] = "quiet";
  const Outcome quiet = gnuplot.plot(report, gnuplot / "r.png");
  EXPECT_EQ(quiet.status, 1);
  EXPECT_EQ(quiet.err, "vmmu: error: plot: gnuplot failed (exit status 4)\n");
  report["trace"] = "killed";  // by a signal: 128 + 9, as a shell says it
  const Outcome killed = gnuplot.plot(report, gnuplot / "r.png");
  EXPECT_EQ(killed.status, 1);
  EXPECT_EQ(killed.err, "vmmu: error: plot: gnuplot failed (exit status 137)\n");
  std::filesystem::remove(gnuplot / "bin/gnuplot");
  testing::ProcessOptions no_gnuplot;
  no_gnuplot.env = {{"PATH", gnuplot / "bin"}};
  const Outcome missing = testing::runProgram(VMMU_BINARY, {"plot", gnuplot / "r.json", "-o", gnuplot / "r.png"},
                                              no_gnuplot);
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.err, "vmmu: error: plot: cannot run gnuplot: No such file or directory (Debian package gnuplot-nox)\n");
  // The extension decides the picture's format; a dot in a directory name is no extension.
  for (const std::string bad : {"r.gif", "png", "r.png/x", "r.PNG"}) {
    const Outcome u = gnuplot.plot(report, bad);
    EXPECT_EQ(u.status, 2) << bad;
    EXPECT_EQ(u.firstErrLine(), "vmmu: -o: expected a file name ending in .png, .svg or .pdf (or - for a PNG on "
                                "standard output), got '" + bad + "'");
  }
}

TEST(RunCommand, PlotToAMissingDirectoryIsOneLine) {
  TempFile json("p.json");
  std::ofstream(json.path())
      << R"({"schema_version": 1, "trace": "t", "backend": "model", "runs": [{"approach": "native", )"
         R"("slowdown": 1.0, "modes": "x", "interval_cycles": [1]}]})";
  const Outcome o = vmmu({"plot", json.path(), "-o", "/nonexistent/x.png"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err, "vmmu: error: /nonexistent/x.png: cannot write: directory '/nonexistent' does not exist\n");
  EXPECT_TRUE(o.out.empty());
}

// A signal while gnuplot runs: vmmu removes every scratch file it has made (the data, the script,
// and the image's temporary beside the output) and dies of the signal.
TEST(RunCommand, ASignalDuringAPlotRemovesEveryTemporaryFile) {
  const testing::TempDir dir("plot-signal");
  for (const char *sub : {"bin", "tmp", "out"})
    std::filesystem::create_directories(dir / sub);
  const std::string started = dir / "started";
  {
    // Tells its pid once it runs (all of vmmu's scratch files exist by then), then waits.
    std::ofstream script(dir / "bin/gnuplot");
    script << "#!/bin/sh\necho $$ > '" << started << ".part'\nmv '" << started << ".part' '" << started
           << "'\nexec sleep 60\n";
  }
  std::filesystem::permissions(dir / "bin/gnuplot", std::filesystem::perms::owner_all);
  nlohmann::json report = {{"schema_version", 1}, {"trace", "t.vmt"}, {"backend", "model"}};
  report["runs"] = {runOf("nested", 1.0, "n", {5})};
  std::ofstream(dir / "r.json") << report.dump();
  testing::ProcessOptions options;
  options.env = {{"PATH", dir / "bin:" + std::string(std::getenv("PATH"))}, {"TMPDIR", dir / "tmp"}};
  const pid_t pid = testing::start(VMMU_BINARY, {"plot", dir / "r.json", "-o", dir / "out/p.svg"}, dir / "out.txt",
                                   dir / "err.txt", options);
  for (int i = 0; i < 600 && !std::filesystem::exists(started); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(std::filesystem::exists(started)) << "the stand-in gnuplot never ran";
  const auto files = [](const std::string &path) {
    std::vector<std::string> names;
    for (const auto &entry : std::filesystem::directory_iterator(path))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  };
  const std::vector<std::string> scratch = files(dir / "tmp"), beside = files(dir / "out");
  ASSERT_EQ(scratch.size(), 2u);
  EXPECT_EQ(scratch[0].rfind(".vmmu-plot.dat.", 0), 0u) << scratch[0];
  EXPECT_EQ(scratch[1].rfind(".vmmu-plot.gp.", 0), 0u) << scratch[1];
  ASSERT_EQ(beside.size(), 1u);
  EXPECT_EQ(beside[0].rfind(".p.svg.", 0), 0u) << beside[0];

  ::kill(pid, SIGTERM);
  const Outcome o = finish(pid, dir / "out.txt", dir / "err.txt");
  ::kill(static_cast<pid_t>(std::stol(readFile(started))), SIGKILL);  // the waiting stand-in
  EXPECT_EQ(o.status, 128 + SIGTERM) << o.err;
  EXPECT_TRUE(files(dir / "tmp").empty());
  EXPECT_TRUE(files(dir / "out").empty());
}

// `vmmu run --help-config` prints the config file's key table, the one the library describes, and
// exits 0 without replaying anything.
TEST(RunCommand, HelpConfigPrintsTheKeyTableAndSucceeds) {
  const Outcome o = vmmu({"run", "--help-config"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, describeConfigKeys());
  EXPECT_EQ(o.err, "");
}

// With no trace, `vmmu run` replays its bundled mix, read from VMMU_TRACES_DIR when that is set
// and not empty (the first bundled trace is gzip.vmt), else from the directory built in.
TEST(RunCommand, TheBundledMixIsReadFromVmmuTracesDirUnlessItIsEmpty) {
  const std::vector<std::string> args{"run", "--max-events", "2000", "--mode", "native"};
  const Outcome elsewhere =
      testing::runProgram(VMMU_BINARY, args, {"", {{"VMMU_TRACES_DIR", "/nonexistent-vmmu-traces"}}});
  EXPECT_EQ(elsewhere.status, 1);
  EXPECT_EQ(elsewhere.firstErrLine(),
            "vmmu: error: /nonexistent-vmmu-traces/gzip.vmt: cannot open: No such file or directory");
  const Outcome built_in = testing::runProgram(VMMU_BINARY, args, {"", {{"VMMU_TRACES_DIR", ""}}});
  EXPECT_EQ(built_in.status, 0) << built_in.err;
  const std::string first_line = built_in.out.substr(0, built_in.out.find('\n'));
  // The trace named as the report names the bundled mix, and --max-events' 2000 events of it.
  EXPECT_EQ(first_line.substr(0, first_line.find(" events")),
            "vmmu run bundled mix of traces/{gzip,xz,sort,cc1,sqlite}.vmt, quantum 100000: 2000");
}

}  // namespace
}  // namespace vmmu::run
