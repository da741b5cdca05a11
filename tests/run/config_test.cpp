// config_test.cpp - the `vmmu run --config` key=value format.
#include <gtest/gtest.h>

#include "vmmu/run/run_config.h"

namespace vmmu::run {
namespace {

std::string errorOf(std::string_view text) {
  RunSettings settings;
  try {
    applyConfigText(text, "test.cfg", settings);
  } catch (const ConfigError &e) {
    return e.what();
  }
  return "";
}

TEST(RunConfig, KeysSetTheirSettings) {
  RunSettings s;
  applyConfigText("# costs\n"
                  "exit_round_trip = 2500\n"
                  "  cycles_per_ref=40   # a slower memory\n"
                  "\n"
                  "memory_mib = 512\n"
                  "fragmentation = 0.25\n"
                  "max_ept_page = 2m\n"
                  "huge_pages = 1\n"
                  "interval = 777\n"
                  "tlb.4k.sets = 32\n"
                  "psc.l2.ways = 8\n"
                  "guest.page_fault = 2000\n"
                  "adaptive.margin = 0.3\n",
                  "test.cfg", s);
  EXPECT_EQ(s.vmm.costs.exit_round_trip, 2500u);
  EXPECT_EQ(s.adaptive.exit_cycles, 2500u + s.vmm.costs.exit_handler);  // kept in step
  EXPECT_EQ(s.cycles_per_ref, 40u);
  EXPECT_EQ(s.vmm.memory.bytes, 512ull << 20);
  EXPECT_DOUBLE_EQ(s.vmm.memory.fragmentation, 0.25);
  EXPECT_EQ(s.vmm.memory.max_ept_page, PageSize::Size2M);
  EXPECT_TRUE(s.huge_pages);
  EXPECT_EQ(s.interval, 777u);
  EXPECT_EQ(s.mmu.tlb[0].sets, 32u);
  EXPECT_EQ(s.mmu.psc[0].ways, 8u);
  EXPECT_EQ(s.guest.costs.page_fault, 2000u);
  EXPECT_DOUBLE_EQ(s.adaptive.margin, 0.3);
}

TEST(RunConfig, DefaultsAreTheSpecsAndTheShims) {
  const RunSettings s;
  EXPECT_EQ(s.mmu.tlb[0].sets, MmuConfig{}.tlb[0].sets);
  EXPECT_EQ(s.vmm.costs.exit_round_trip, vmm::CostConfig{}.exit_round_trip);
  EXPECT_EQ(s.cycles_per_ref, 30u);
  EXPECT_EQ(s.vmm.memory.bytes, 256ull << 20);
}

TEST(RunConfig, UnknownKeyNamesFileAndLine) {
  EXPECT_EQ(errorOf("interval = 5\n\nbogus = 1\n"), "test.cfg:3: unknown key 'bogus'");
}

TEST(RunConfig, MalformedLinesAndValuesAreOneLineErrors) {
  EXPECT_EQ(errorOf("interval 5\n"), "test.cfg:1: expected 'key = value', got 'interval 5'");
  EXPECT_EQ(errorOf("interval = five\n"), "test.cfg:1: interval: expected a whole number, got 'five'");
  EXPECT_EQ(errorOf("interval =\n"), "test.cfg:1: interval: missing value");
  EXPECT_EQ(errorOf("fragmentation = 2\n"), "test.cfg:1: fragmentation: expected a fraction from 0 to 1, got '2'");
  EXPECT_EQ(errorOf("memory_mib = 3\n"),
            "test.cfg:1: memory_mib: expected an even number of MiB from 2 to 524288, got '3'");
  EXPECT_EQ(errorOf("max_ept_page = 4m\n"), "test.cfg:1: max_ept_page: expected 4k, 2m or 1g, got '4m'");
  EXPECT_EQ(errorOf("huge_pages = maybe\n"), "test.cfg:1: huge_pages: expected 0 or 1, got 'maybe'");
  EXPECT_EQ(errorOf("interval = 0\n"), "test.cfg: interval must be at least 1");
  // MMU geometry is checked by the model's own validation, which names the parameter.
  const std::string geometry = errorOf("tlb.4k.sets = 3\n");
  EXPECT_EQ(geometry.rfind("test.cfg: ", 0), 0u) << geometry;
  EXPECT_EQ(geometry.find('\n'), std::string::npos);
}

TEST(RunConfig, UnreadableFileIsAnError) {
  RunSettings s;
  EXPECT_THROW(applyConfigFile("/nonexistent/run.cfg", s), ConfigError);
}

}  // namespace
}  // namespace vmmu::run
