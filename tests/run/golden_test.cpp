// golden_test.cpp - `vmmu run` prints, field for field, what it printed before: the tables and
// the JSON of seven replays, recorded in tests/run/golden/ by the vmmu of the commit before the
// shadow pager was split up (timings: every key ending in "seconds"; the trace's path; the "replay speed" line). They are
// the five bundled traces on every approach; a generated `build` trace (36 short processes: forks, execs,
// exits, copy-on-write); a generated 4-process `random` trace over a fragmented VM on 4 KiB EPT
// pages (splintered shadow pages, compaction for direct, and adaptive switches). Every result
// change shows here; a change meant to alter results re-records the files (scripts/rerecord-golden)
// and says why.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "run_test_support.h"
#include "vmmu/run/json_reader.h"

namespace vmmu::run {
namespace {

const std::string kGolden = std::string(VMMU_SOURCE_DIR) + "/tests/run/golden/";

nlohmann::json withoutVaryingKeys(nlohmann::json j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end();) {
      const std::string &key = it.key();
      const bool timing = key.size() >= 7 && key.compare(key.size() - 7, 7, "seconds") == 0;
      it = timing || key == "trace" ? j.erase(it) : std::next(it);
    }
    for (auto &item : j.items())
      item.value() = withoutVaryingKeys(item.value());
  } else if (j.is_array()) {
    for (auto &item : j)
      item = withoutVaryingKeys(item);
  }
  return j;
}

std::string withoutVaryingLines(const std::string &text, const std::string &trace) {
  std::istringstream in(text);
  std::string out;
  bool first = true;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("replay speed:", 0) == 0)
      continue;
    if (const size_t at = line.find(trace); at != std::string::npos)
      line.replace(at, trace.size(), "TRACE");
    out += (first ? "" : "\n") + line;
    first = false;
  }
  return out;
}

void expectAsRecorded(const std::string &name, const std::string &trace, std::vector<std::string> args) {
  const testing::TempDir dir("golden_" + name);
  const std::string json_path = dir / "out.json";
  args.insert(args.begin(), {"run", trace});
  args.insert(args.end(), {"--json", json_path});
  const testing::Outcome o = testing::runProgram(VMMU_BINARY, args);
  ASSERT_EQ(o.status, 0) << o.err;
  std::string expected_text = testing::readFile(kGolden + name + ".txt");
  while (!expected_text.empty() && expected_text.back() == '\n')
    expected_text.pop_back();
  std::string text = withoutVaryingLines(o.out, trace);
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  EXPECT_EQ(text, expected_text) << name;
  const nlohmann::json expected = nlohmann::json::parse(testing::readFile(kGolden + name + ".json"));
  const nlohmann::json actual = withoutVaryingKeys(parseReport(testing::readFile(json_path)));
  EXPECT_TRUE(actual == expected) << name << ": differs from the recording: "
                                  << nlohmann::json::diff(expected, actual).dump().substr(0, 2000);
}

std::string generate(const testing::TempDir &dir, const std::string &name, const std::vector<std::string> &args) {
  const std::string path = dir / (name + ".vmt");
  std::vector<std::string> command{"trace", "gen"};
  command.insert(command.end(), args.begin(), args.end());
  command.insert(command.end(), {"-o", path});
  const testing::Outcome o = testing::runProgram(VMMU_BINARY, command);
  EXPECT_EQ(o.status, 0) << o.err;
  return path;
}

TEST(Golden, BundledTracesOnEveryApproach) {
  for (const char *name : {"gzip", "cc1", "sort", "sqlite", "xz"})
    expectAsRecorded(name, std::string(VMMU_TRACES_DIR) + "/" + name + ".vmt", {});
}

TEST(Golden, ShortProcesses) {
  const testing::TempDir dir("golden_build4_trace");
  expectAsRecorded("build4", generate(dir, "build4", {"build", "--procs", "4", "--accesses", "200000"}), {});
}

TEST(Golden, FragmentedVmOn4KEptPages) {
  const testing::TempDir dir("golden_random4_trace");
  expectAsRecorded("random4",
                   generate(dir, "random4", {"random", "--procs", "4", "--accesses", "400000", "--footprint-mib", "32"}),
                   {"--config", kGolden + "random4.cfg"});
}

}  // namespace
}  // namespace vmmu::run
