// demo_test.cpp - `vmmu demo`'s figures on a scan small enough to count by hand: 1,000 accesses
// at a 64-byte stride over 1 MiB touch 16 pages of 4 KiB, so 16 TLB misses; the first native walk
// reads 4 entries and the 15 others 1 (the page-walk caches hold the upper levels): 19 references,
// 1.19 per walk, and 19 x 10 cycles + 2 per walk = 222 walk cycles, 0.22 per access.
#include <gtest/gtest.h>

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
  // needs no second dimension).
  for (const char *mode : {"NATIVE", "SHADOW", "DIRECT"}) {
    char line[128];
    std::snprintf(line, sizeof line, "%-8s %14.2f %12.2f %14d %14.2f\n", mode, 16.0, 1.19, 222, 0.22);
    EXPECT_NE(table.find(line), std::string::npos) << mode << "\n" << table;
  }
  // Nested misses as often; its walks are dearer.
  EXPECT_NE(table.find("NESTED            16.00"), std::string::npos) << table;
  // The random workload: as many misses in every mode (one stream, one TLB).
  EXPECT_NE(o.out.find("workload: random (no locality)\n"), std::string::npos) << o.out;
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

}  // namespace
}  // namespace vmmu::run
