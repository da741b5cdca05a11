// golden_test.cpp - `vmmu trace info` of the bundled traces, and the synthetic traces and the
// mixer event for event: `vmmu trace gen` of every kind (300 accesses, 2 processes, seed 3, 4 MiB)
// and `vmmu trace mix` of two of them, dumped as text and compared with tests/trace/golden/,
// recorded by the vmmu of the commit these tests were written on (the header lines naming the
// command line, the date, the machine and the inputs' paths left out). A change meant to alter
// the traces re-records the files and says why.
#include <gtest/gtest.h>

#include <sstream>

#include "trace_test_support.h"

namespace vmmu::trace {
namespace {

#ifdef VMMU_CLI_PATH
using testing::readFile;
using testing::scratchPath;

const std::string kGolden = std::string(VMMU_SOURCE_DIR) + "/tests/trace/golden/";

// Runs `vmmu ARGS` (no shell word splitting beyond spaces: the arguments hold none).
int vmmu(const std::string &args) {
  return std::system((std::string(VMMU_CLI_PATH) + " " + args + " >/dev/null 2>&1").c_str());
}

// `vmmu trace dump` of `trace`, without the header lines that vary from run to run.
std::string dumpOf(const std::string &trace) {
  const std::string out = scratchPath("golden_dump.txt");
  EXPECT_EQ(std::system((std::string(VMMU_CLI_PATH) + " trace dump " + trace + " >" + out).c_str()), 0);
  std::istringstream in(readFile(out));
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("header \"command\"", 0) == 0 || line.rfind("header \"date\"", 0) == 0 ||
        line.rfind("header \"machine\"", 0) == 0 || line.rfind("header \"input.", 0) == 0)
      continue;
    kept += line + "\n";
  }
  return kept;
}

// The first line where `actual` and `expected` differ, for the failure message.
std::string firstDifference(const std::string &actual, const std::string &expected) {
  std::istringstream a(actual), e(expected);
  std::string la, le;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(a, la)), more_e = static_cast<bool>(std::getline(e, le));
    if (!more_a && !more_e)
      return "none";
    if (la != le || more_a != more_e)
      return "line " + std::to_string(line) + ": got '" + la + "', recorded '" + le + "'";
  }
}

// `vmmu trace info` of `trace`, without the lines that vary from run to run.
std::string infoOf(const std::string &trace) {
  const std::string out = scratchPath("golden_info.txt");
  EXPECT_EQ(std::system((std::string(VMMU_CLI_PATH) + " trace info " + trace + " >" + out).c_str()), 0);
  std::istringstream in(readFile(out));
  std::string kept;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("command ", 0) != 0 && line.rfind("date ", 0) != 0 && line.rfind("machine ", 0) != 0)
      kept += line + "\n";
  return kept;
}

TEST(TraceGolden, InfoOfTheBundledTraces) {
  for (const char *name : {"gzip", "cc1", "sort", "sqlite", "xz", "gups", "vpr", "sort-big", "tpch", "cc1-big"}) {
    const std::string expected = readFile(kGolden + "info-" + name + ".txt");
    const std::string out = scratchPath("golden_bundled_info.txt");
    ASSERT_EQ(std::system((std::string(VMMU_CLI_PATH) + " trace info " + VMMU_TRACES_DIR + "/" + name + ".vmt >" + out)
                              .c_str()),
              0);
    const std::string actual = readFile(out);
    EXPECT_EQ(actual, expected) << name << ": " << firstDifference(actual, expected);
  }
}

TEST(TraceGolden, EveryGeneratorKindAndTheMixer) {
  for (const char *kind : {"worst", "random", "stream", "scan", "build", "boot", "phased"}) {
    const std::string path = scratchPath(std::string("golden-") + kind + ".vmt");
    ASSERT_EQ(vmmu(std::string("trace gen ") + kind + " --accesses 300 --procs 2 --seed 3 --footprint-mib 4 -o " + path),
              0)
        << kind;
    const std::string expected = readFile(kGolden + "gen-" + kind + ".txt");
    const std::string actual = dumpOf(path);
    EXPECT_EQ(actual, expected) << kind << ": " << firstDifference(actual, expected);
    const std::string expected_info = readFile(kGolden + "info-gen-" + kind + ".txt");
    const std::string info = infoOf(path);
    EXPECT_EQ(info, expected_info) << kind << ": " << firstDifference(info, expected_info);
  }
  const std::string mixed = scratchPath("golden-mix.vmt");
  ASSERT_EQ(vmmu("trace mix " + scratchPath("golden-random.vmt") + " " + scratchPath("golden-build.vmt") +
                 " --quantum 40 -o " + mixed),
            0);
  const std::string expected = readFile(kGolden + "mix.txt");
  const std::string actual = dumpOf(mixed);
  EXPECT_EQ(actual, expected) << "mix: " << firstDifference(actual, expected);
}
TEST(TraceGolden, GeneratorCountsStartAtOne) {
  const std::string path = scratchPath("bounds.vmt");
  for (const char *option : {"--footprint-mib", "--accesses", "--procs", "--quantum"}) {
    EXPECT_EQ(vmmu(std::string("trace gen random ") + option + " 0 -o " + path), 2 << 8) << option;
    const std::string few = std::string(option) == "--accesses" ? "" : "--accesses 10 ";
    EXPECT_EQ(vmmu("trace gen random " + few + option + " 1 -o " + path), 0) << option;
  }
}
#endif

}  // namespace
}  // namespace vmmu::trace
