// config_edge_test.cpp - the edges of the `vmmu run --config` format, one at a time: which
// characters are trimmed and where, comments, blank lines and line numbers, empty keys and values,
// the bounds of every value type (inclusive), the spellings of booleans and choices, the cost keys
// that keep the adaptive policy's exit estimate in step, and the size limit of a file.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "vmmu/run/run_config.h"

namespace vmmu::run {
namespace {

std::string errorOf(std::string_view text) {
  RunSettings settings;
  try {
    applyConfigText(text, "e.cfg", settings);
  } catch (const ConfigError &e) {
    return e.what();
  }
  return "";
}

uint64_t intervalOf(std::string_view text) {
  RunSettings settings;
  applyConfigText(text, "e.cfg", settings);
  return settings.interval;
}

TEST(ConfigEdges, SpaceTabAndCarriageReturnAreTrimmedOnEitherSideOfKeyAndValue) {
  for (const char c : {' ', '\t', '\r'}) {
    const std::string w(1, c);
    const std::string name = c == ' ' ? "space" : c == '\t' ? "tab" : "CR";
    EXPECT_EQ(intervalOf(w + "interval=5\n"), 5u) << name << " before the key";
    EXPECT_EQ(intervalOf("interval" + w + "=5\n"), 5u) << name << " after the key";
    EXPECT_EQ(intervalOf("interval=" + w + "5\n"), 5u) << name << " before the value";
    EXPECT_EQ(intervalOf("interval=5" + w + "\n"), 5u) << name << " after the value";
    EXPECT_EQ(intervalOf("interval=5" + w), 5u) << name << " at the end of the text";
    EXPECT_EQ(intervalOf(w + w + "interval" + w + w + "=" + w + w + "5" + w + w + "\n"), 5u) << name << " twice";
  }
}

TEST(ConfigEdges, OtherWhitespaceIsPartOfTheKeyOrValue) {
  EXPECT_EQ(errorOf("interval = 5\v\n"), "e.cfg:1: interval: expected a whole number in 1..18446744073709551615, "
                                         "got '5\v'");
  EXPECT_EQ(errorOf("\finterval = 5\n"), "e.cfg:1: unknown key '\finterval'");
  EXPECT_EQ(errorOf("inter val = 5\n"), "e.cfg:1: unknown key 'inter val'");
}

TEST(ConfigEdges, EmptyKeysValuesAndLines) {
  EXPECT_EQ(errorOf("= 5\n"), "e.cfg:1: unknown key ''");
  EXPECT_EQ(errorOf("interval = \t \r\n"), "e.cfg:1: interval: missing value");
  EXPECT_EQ(errorOf("interval = # nothing\n"), "e.cfg:1: interval: missing value");
  EXPECT_EQ(errorOf("interval\n"), "e.cfg:1: expected 'key = value', got 'interval'");
  EXPECT_EQ(errorOf("  \t\r\n"), "");
  EXPECT_EQ(errorOf(""), "");
  EXPECT_EQ(errorOf("\n\n\n"), "");
  EXPECT_EQ(errorOf("interval = 5 = 6\n"),
            "e.cfg:1: interval: expected a whole number in 1..18446744073709551615, got '5 = 6'");
}

TEST(ConfigEdges, LineNumbersCountEveryLine) {
  EXPECT_EQ(errorOf("# one\n\n   # three\nbogus = 1\n"), "e.cfg:4: unknown key 'bogus'");
  EXPECT_EQ(errorOf("interval = 5\r\n\r\ninterval = 6\r\n"), "e.cfg:3: interval: already set on line 1");
}

TEST(ConfigEdges, CommentsEndTheLineWhereverTheyStart) {
  EXPECT_EQ(intervalOf("interval = 7#8\n"), 7u);
  EXPECT_EQ(intervalOf("interval = 7 # 8\n"), 7u);
  EXPECT_EQ(errorOf("# interval = x\n"), "");
  EXPECT_EQ(errorOf("interval # = 7\n"), "e.cfg:1: expected 'key = value', got 'interval'");
}

TEST(ConfigEdges, WholeNumberBoundsAreInclusive) {
  RunSettings s;
  applyConfigText("num_contexts = 1\nescape_entries = 0\ncycles_per_ref = 1\n", "e.cfg", s);
  EXPECT_EQ(s.mmu.num_contexts, 1u);
  EXPECT_EQ(s.mmu.escape_entries, 0u);
  EXPECT_EQ(s.cycles_per_ref, 1u);
  applyConfigText("num_contexts = 256\nescape_entries = 8\ncycles_per_ref = 1000000\n", "e2.cfg", s);
  EXPECT_EQ(s.mmu.num_contexts, 256u);
  EXPECT_EQ(s.mmu.escape_entries, 8u);
  EXPECT_EQ(s.cycles_per_ref, 1'000'000u);
  EXPECT_EQ(errorOf("num_contexts = 0\n"), "e.cfg:1: num_contexts: expected a whole number in 1..256, got '0'");
  EXPECT_EQ(errorOf("num_contexts = 257\n"), "e.cfg:1: num_contexts: expected a whole number in 1..256, got '257'");
  EXPECT_EQ(errorOf("escape_entries = 9\n"), "e.cfg:1: escape_entries: expected a whole number in 0..8, got '9'");
  EXPECT_EQ(errorOf("cycles_per_ref = 0\n"),
            "e.cfg:1: cycles_per_ref: expected a whole number in 1..1000000, got '0'");
  EXPECT_EQ(errorOf("cycles_per_ref = 1000001\n"),
            "e.cfg:1: cycles_per_ref: expected a whole number in 1..1000000, got '1000001'");
  EXPECT_EQ(intervalOf("interval = 18446744073709551615\n"), UINT64_MAX);
  EXPECT_EQ(errorOf("exit_handler = 1000000000\n"), "");
  EXPECT_EQ(errorOf("exit_handler = 0\n"), "");
}

TEST(ConfigEdges, MemoryIsAnEvenNumberOfMib) {
  RunSettings s;
  applyConfigText("memory_mib = 2\n", "e.cfg", s);
  EXPECT_EQ(s.vmm.memory.bytes, 2ull << 20);
  applyConfigText("memory_mib = 6\n", "e2.cfg", s);
  EXPECT_EQ(s.vmm.memory.bytes, 6ull << 20);
  EXPECT_EQ(errorOf("memory_mib = 0\n").rfind("e.cfg:1: memory_mib: expected a whole number in 2..", 0), 0u);
  EXPECT_EQ(errorOf("memory_mib = 5\n").rfind("e.cfg:1: memory_mib: expected a multiple of 2 in 2..", 0), 0u);
}

TEST(ConfigEdges, RealBoundsAreInclusiveAndOnlyNumbers) {
  RunSettings s;
  applyConfigText("fragmentation = 0\nadaptive.margin = 1\n", "e.cfg", s);
  EXPECT_DOUBLE_EQ(s.vmm.memory.fragmentation, 0.0);
  EXPECT_DOUBLE_EQ(s.adaptive.margin, 1.0);
  applyConfigText("fragmentation = .5\n", "e2.cfg", s);
  EXPECT_DOUBLE_EQ(s.vmm.memory.fragmentation, 0.5);
  for (const char *bad : {"1.0001", "-0.5", "nan", "inf", "0.5x", "x", "1e400"})
    EXPECT_EQ(errorOf(std::string("fragmentation = ") + bad + "\n"),
              std::string("e.cfg:1: fragmentation: expected a number in 0..1, got '") + bad + "'")
        << bad;
}

TEST(ConfigEdges, BooleansAndChoicesAreSpelledExactly) {
  for (const char *on : {"1", "true", "on"}) {
    RunSettings s;
    applyConfigText(std::string("huge_pages = ") + on + "\nallow_compaction = " + on + "\n", "e.cfg", s);
    EXPECT_TRUE(s.huge_pages) << on;
    EXPECT_TRUE(s.vmm.allow_compaction) << on;
  }
  for (const char *off : {"0", "false", "off"}) {
    RunSettings s;
    s.huge_pages = true;
    applyConfigText(std::string("huge_pages = ") + off + "\nallow_compaction = " + off + "\n", "e.cfg", s);
    EXPECT_FALSE(s.huge_pages) << off;
    EXPECT_FALSE(s.vmm.allow_compaction) << off;
  }
  for (const char *bad : {"TRUE", "yes", "2", "01"})
    EXPECT_EQ(errorOf(std::string("huge_pages = ") + bad + "\n"),
              std::string("e.cfg:1: huge_pages: expected 0 or 1, got '") + bad + "'")
        << bad;
  const PageSize sizes[] = {PageSize::Size4K, PageSize::Size2M, PageSize::Size1G};
  const char *names[] = {"4k", "2m", "1g"};
  for (int i = 0; i < 3; ++i) {
    RunSettings s;
    applyConfigText(std::string("max_ept_page = ") + names[i] + "\n", "e.cfg", s);
    EXPECT_EQ(s.vmm.memory.max_ept_page, sizes[i]) << names[i];
  }
  for (const char *bad : {"4K", "1G", "", "4k2m"}) {
    if (*bad == '\0')
      continue;
    EXPECT_EQ(errorOf(std::string("max_ept_page = ") + bad + "\n"),
              std::string("e.cfg:1: max_ept_page: expected 4k|2m|1g, got '") + bad + "'")
        << bad;
  }
}

TEST(ConfigEdges, ExitCostsKeepTheAdaptiveEstimateInStep) {
  RunSettings s;
  applyConfigText("exit_handler = 300\n", "e.cfg", s);
  EXPECT_EQ(s.vmm.costs.exit_handler, 300u);
  EXPECT_EQ(s.adaptive.exit_cycles, vmm::CostConfig{}.exit_round_trip + 300);
  applyConfigText("exit_round_trip = 2000\n", "e2.cfg", s);
  EXPECT_EQ(s.adaptive.exit_cycles, 2'300u);
  applyConfigText("shadow_entry_write = 17\npage_move = 5\n", "e3.cfg", s);
  EXPECT_EQ(s.vmm.costs.shadow_entry_write, 17u);
  EXPECT_EQ(s.vmm.costs.page_move, 5u);
  EXPECT_EQ(s.adaptive.exit_cycles, 2'300u);
}

TEST(ConfigEdges, EveryKeySetsItsOwnField) {
  RunSettings s;
  applyConfigText("guest.clear_page = 11\nguest.copy_page = 12\nguest.syscall = 13\n"
                  "guest.context_switch = 14\nguest.process_lifecycle = 15\n"
                  "hit_cycles = 21\naccess_cycles = 22\nguest_entry_read = 23\nprefetch_entry_read = 24\n"
                  "shadow_table_alloc = 25\nshadow_table_free = 26\nemulate_write = 27\ncontrol_command = 28\n"
                  "tlb.2m.sets = 4\ntlb.1g.ways = 2\nntlb.4k.sets = 8\nntlb.2m.ways = 8\nntlb.1g.sets = 2\n"
                  "psc.l3.sets = 2\npsc.l5.ways = 2\n"
                  "adaptive.patience = 5\nadaptive.cooldown = 6\nadaptive.horizon = 7\n"
                  "adaptive.switch_base_cycles = 8\n",
                  "e.cfg", s);
  EXPECT_EQ(s.guest.costs.clear_page, 11u);
  EXPECT_EQ(s.guest.costs.copy_page, 12u);
  EXPECT_EQ(s.guest.costs.syscall, 13u);
  EXPECT_EQ(s.guest.costs.context_switch, 14u);
  EXPECT_EQ(s.guest.costs.process_lifecycle, 15u);
  EXPECT_EQ(s.vmm.costs.hit_cycles, 21u);
  EXPECT_EQ(s.vmm.costs.access_cycles, 22u);
  EXPECT_EQ(s.vmm.costs.guest_entry_read, 23u);
  EXPECT_EQ(s.vmm.costs.prefetch_entry_read, 24u);
  EXPECT_EQ(s.vmm.costs.shadow_table_alloc, 25u);
  EXPECT_EQ(s.vmm.costs.shadow_table_free, 26u);
  EXPECT_EQ(s.vmm.costs.emulate_write, 27u);
  EXPECT_EQ(s.vmm.costs.control_command, 28u);
  EXPECT_EQ(s.mmu.tlb[1].sets, 4u);
  EXPECT_EQ(s.mmu.tlb[2].ways, 2u);
  EXPECT_EQ(s.mmu.ntlb[0].sets, 8u);
  EXPECT_EQ(s.mmu.ntlb[1].ways, 8u);
  EXPECT_EQ(s.mmu.ntlb[2].sets, 2u);
  EXPECT_EQ(s.mmu.psc[1].sets, 2u);
  EXPECT_EQ(s.mmu.psc[3].ways, 2u);
  EXPECT_EQ(s.adaptive.patience, 5u);
  EXPECT_EQ(s.adaptive.cooldown, 6u);
  EXPECT_EQ(s.adaptive.horizon, 7u);
  EXPECT_EQ(s.adaptive.switch_base_cycles, 8u);
}

TEST(ConfigEdges, TheModelsGeometryCheckNamesTheLineOfItsKey) {
  EXPECT_EQ(errorOf("# geometry\ninterval = 5\ntlb.4k.ways = 3\n").rfind("e.cfg:3: tlb.4k.ways", 0), 0u)
      << errorOf("# geometry\ninterval = 5\ntlb.4k.ways = 3\n");
}

std::string writeFile(const std::string &name, const std::string &text) {
  const std::string path = ::testing::TempDir() + name;
  FILE *f = std::fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr) << path;
  if (f != nullptr) {
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  return path;
}

TEST(ConfigEdges, AFileOfUpTo1MibIsRead) {
  // 1 MiB exactly: "interval = 9\n" (13 bytes), then comment lines of 64 bytes, then a last
  // comment filling the rest.
  std::string text = "interval = 9\n";
  const std::string comment = "#" + std::string(62, 'c') + "\n";
  while (text.size() + comment.size() <= (1u << 20))
    text += comment;
  text.push_back('#');
  text.append((1u << 20) - text.size(), 'd');
  ASSERT_EQ(text.size(), 1u << 20);
  RunSettings s;
  applyConfigFile(writeFile("vmmu_config_edge_1mib.cfg", text), s);
  EXPECT_EQ(s.interval, 9u);
  const std::string over = writeFile("vmmu_config_edge_over.cfg", text + "d");
  try {
    applyConfigFile(over, s);
    FAIL() << "a file over 1 MiB was read";
  } catch (const ConfigError &e) {
    EXPECT_EQ(std::string(e.what()), over + ": larger than 1048576 bytes: not a configuration file");
  }
  std::remove(over.c_str());
}

TEST(ConfigEdges, ErrorsInAFileNameTheFileAndLine) {
  const std::string path = writeFile("vmmu_config_edge_bad.cfg", "interval = 5\r\nbogus = 1\r\n");
  RunSettings s;
  try {
    applyConfigFile(path, s);
    FAIL() << "no error";
  } catch (const ConfigError &e) {
    EXPECT_EQ(std::string(e.what()), path + ":2: unknown key 'bogus'");
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vmmu::run
