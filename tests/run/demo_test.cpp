// demo_test.cpp - `vmmu demo`'s figures on a scan small enough to count by hand: 1,000 accesses
// at a 64-byte stride over 1 MiB touch 16 pages of 4 KiB, so 16 TLB misses; the first native walk
// reads 4 entries and the 15 others 1 (the page-walk caches hold the upper levels): 19 references,
// 1.19 per walk, and 19 x 10 cycles + 2 per walk + the XLATE cycles of §12 (5 for the first walk:
// CR3, three table pointers, the final gPA; 1 for each other: the final gPA), less one for each of
// the 15 reads presented in START below a PSC hit (§12: early) = 190 + 32 + 20 - 15 = 227 walk
// cycles, 0.23 per access, in SHADOW and DIRECT. NATIVE takes no XLATE cycle and presents every
// walk's first read in START, the first walk's at CR3 too: 190 + 32 - 16 = 206, 0.21 per access.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "run_test_support.h"

namespace vmmu::run {
namespace {

TEST(Demo, ScanFiguresCountedByHand) {
  const testing::Outcome o = testing::runProgram(
      VMMU_BINARY, {"demo", "--accesses", "1000", "--footprint-mib", "1", "--guest-pages", "4k", "--mem-latency", "10"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("vmmu demo: golden model, 1000 accesses per run, footprint 1 MiB, guest 4K pages, 10 cycles "
                       "per page-table access, seed 1\n"),
            std::string::npos)
      << o.out;
  const size_t scan = o.out.find("workload: scan (64-byte stride)\n");
  ASSERT_NE(scan, std::string::npos) << o.out;
  const std::string table = o.out.substr(scan);
  // Native, shadow and direct walk the guest's tables alone (direct's base-offset translation
  // needs no second dimension); native's addresses need no XLATE cycle.
  for (const auto &[mode, cycles, per_access] :
       {std::tuple{"NATIVE", 206, 0.21}, std::tuple{"SHADOW", 227, 0.23}, std::tuple{"DIRECT", 227, 0.23}}) {
    char line[128];
    std::snprintf(line, sizeof line, "%-8s %14.2f %12.2f %14d %14.2f\n", mode, 16.0, 1.19, cycles, per_access);
    EXPECT_NE(table.find(line), std::string::npos) << mode << "\n" << table;
  }
  // Nested misses as often; its walks are dearer.
  EXPECT_NE(table.find("NESTED            16.00"), std::string::npos) << table;
  // The random workload: as many misses in every mode (one stream, one TLB).
  EXPECT_NE(o.out.find("workload: random (no locality)\n"), std::string::npos) << o.out;
}

// Two whole outputs, recorded: every option given, on 4 KiB and on 2 MiB guest pages. The scans
// count by hand: 5000 accesses at a 64-byte stride touch 78.1, so 79, pages of 4 KiB (15.80
// misses per 1000; 82 references x 3 cycles + 2 x 79 + 83 XLATE cycles - 78 reads presented in
// START below a PSC hit (§12: early) = 409; NATIVE without the XLATE cycles and with the first
// walk's root read presented in START too: 246 + 158 - 79 = 325); 3000 touch one
// 2 MiB page (0.33), walked in 3 guest references (x 7 cycles + 2 + 4 XLATE cycles: CR3, two
// pointers, the final gPA = 27 cycles; NATIVE 21 + 2 - 1 = 22), 8 when nested (the 9 of §5 less one: the EPT PML4E cache of §10.3, filled by
// the CR3 row, spares the final gPA's row its first EPT read). Nested, every gPA translated also
// takes an ANSWER cycle (§12), which presents the first read of each EPT walk (early): the 2 MiB
// scan's 4, two of them starting EPT walks (62 + 4 - 2 = 64), the 4 KiB scan's 83, two starting
// EPT walks, with its 78 early guest reads (502 + 83 - 78 - 2 = 505). Recorded with the EPT PSCs
// on.
TEST(Demo, WholeOutputsAsRecorded) {
  const testing::Outcome small = testing::runProgram(
      VMMU_BINARY, {"demo", "--accesses", "5000", "--footprint-mib", "3", "--seed", "5", "--mem-latency", "3"});
  ASSERT_EQ(small.status, 0) << small.err;
  EXPECT_EQ(small.out,
            "vmmu demo: golden model, 5000 accesses per run, footprint 3 MiB, guest 4K pages, 3 cycles per page-table "
            "access, seed 5\n"
            "\n"
            "workload: random (no locality)\n"
            "mode        misses/1000    refs/walk    walk cycles  cycles/access\n"
            "NATIVE           919.60         1.01           3080           0.62\n"
            "NESTED           919.60         1.01           4640           0.93\n"
            "SHADOW           919.60         1.01           3853           0.77\n"
            "DIRECT           919.60         1.01           3853           0.77\n"
            "\n"
            "workload: scan (64-byte stride)\n"
            "mode        misses/1000    refs/walk    walk cycles  cycles/access\n"
            "NATIVE            15.80         1.04            325           0.07\n"
            "NESTED            15.80         1.10            505           0.10\n"
            "SHADOW            15.80         1.04            409           0.08\n"
            "DIRECT            15.80         1.04            409           0.08\n");
  const testing::Outcome large = testing::runProgram(VMMU_BINARY, {"demo", "--accesses", "3000", "--footprint-mib", "8",
                                                                    "--seed", "11", "--mem-latency", "7",
                                                                    "--guest-pages", "2m"});
  ASSERT_EQ(large.status, 0) << large.err;
  EXPECT_EQ(large.out,
            "vmmu demo: golden model, 3000 accesses per run, footprint 8 MiB, guest 2M pages, 7 cycles per page-table "
            "access, seed 11\n"
            "\n"
            "workload: random (no locality)\n"
            "mode        misses/1000    refs/walk    walk cycles  cycles/access\n"
            "NATIVE             1.33         1.50             46           0.02\n"
            "NESTED             1.33         3.50            112           0.04\n"
            "SHADOW             1.33         1.50             54           0.02\n"
            "DIRECT             1.33         1.50             54           0.02\n"
            "\n"
            "workload: scan (64-byte stride)\n"
            "mode        misses/1000    refs/walk    walk cycles  cycles/access\n"
            "NATIVE             0.33         3.00             22           0.01\n"
            "NESTED             0.33         8.00             64           0.02\n"
            "SHADOW             0.33         3.00             27           0.01\n"
            "DIRECT             0.33         3.00             27           0.01\n");
  // The defaults: 256 MiB, 4 KiB pages, 30 cycles, seed 1.
  const testing::Outcome defaults = testing::runProgram(VMMU_BINARY, {"demo", "--accesses", "1"});
  ASSERT_EQ(defaults.status, 0) << defaults.err;
  EXPECT_EQ(defaults.out.substr(0, defaults.out.find('\n')),
            "vmmu demo: golden model, 1 accesses per run, footprint 256 MiB, guest 4K pages, 30 cycles per page-table "
            "access, seed 1");
}

// Counts are digits only: strtoull would take a sign or leading blanks.
TEST(Demo, CountsAreDigitsOnly) {
  for (const char *bad : {"+5", " 5", "-5", "5x", ""}) {
    const testing::Outcome o = testing::runProgram(VMMU_BINARY, {"demo", "--accesses", bad});
    EXPECT_EQ(o.status, 2) << "'" << bad << "'";
    EXPECT_NE(o.err.find("expected a whole number from 1 to 1000000000, got '" + std::string(bad) + "'"),
              std::string::npos)
        << o.err;
  }
}

// Each numeric option's range, at both ends: the last value inside runs, the first outside is a
// usage error naming the range.
TEST(Demo, OptionRangesAtTheirEdges) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"--accesses", "0"}, "vmmu: --accesses: expected a whole number from 1 to 1000000000, got '0'"},
      {{"--accesses", "1000000001"}, "vmmu: --accesses: expected a whole number from 1 to 1000000000, got '1000000001'"},
      {{"--footprint-mib", "0"}, "vmmu: --footprint-mib: expected a whole number from 1 to 4096, got '0'"},
      {{"--footprint-mib", "4097"}, "vmmu: --footprint-mib: expected a whole number from 1 to 4096, got '4097'"},
      {{"--mem-latency", "0"}, "vmmu: --mem-latency: expected a whole number from 1 to 100000, got '0'"},
      {{"--mem-latency", "100001"}, "vmmu: --mem-latency: expected a whole number from 1 to 100000, got '100001'"},
  };
  for (const auto &[args, message] : refused) {
    std::vector<std::string> argv = {"demo"};
    argv.insert(argv.end(), args.begin(), args.end());
    const testing::Outcome o = testing::runProgram(VMMU_BINARY, argv);
    EXPECT_EQ(o.status, 2) << message;
    EXPECT_EQ(o.err.substr(0, o.err.find('\n')), message);
  }
  for (const std::vector<std::string> &edge : {std::vector<std::string>{"--footprint-mib", "4096"},
                                               std::vector<std::string>{"--mem-latency", "100000"},
                                               std::vector<std::string>{"--seed", "0"}}) {
    std::vector<std::string> argv = {"demo", "--accesses", "1"};
    argv.insert(argv.end(), edge.begin(), edge.end());
    const testing::Outcome o = testing::runProgram(VMMU_BINARY, argv);
    EXPECT_EQ(o.status, 0) << edge[0] << " " << edge[1] << ": " << o.err;
  }
}

}  // namespace
}  // namespace vmmu::run
