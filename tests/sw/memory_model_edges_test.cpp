// memory_model_edges_test.cpp - MemoryModelConfig::validate() at both ends of every range (the
// largest and smallest accepted value beside the first refused one), the names of the levels and
// the one-line description of both models.
#include <gtest/gtest.h>

#include <string>

#include "vmmu/vmm/memory_model.h"

namespace vmmu::testing {
namespace {

using vmm::MemoryHierarchy;
using vmm::MemoryModelConfig;

// Every value at an edge that is still allowed: 64 ways (the most) of 4 KiB (one set), 2 cycles
// (the least), a level as fast as the one above it, the LLC and DRAM at 1,000 cycles (the most).
MemoryModelConfig edgeCaches() {
  MemoryModelConfig config;
  config.levels = {{{4, 64, 2}, {4, 64, 2}, {4, 64, 1'000}}};
  config.dram_latency = 1'000;
  return config;
}

TEST(MemoryModelEdges, TheLastAllowedValuesAreValid) {
  EXPECT_EQ(edgeCaches().validate(), "");
  EXPECT_NO_THROW(MemoryHierarchy{edgeCaches()});
  EXPECT_EQ(MemoryModelConfig::flat(1).validate(), "");
}

TEST(MemoryModelEdges, TheFirstRefusedValuesNameTheKeyAndTheRange) {
  MemoryModelConfig c = edgeCaches();
  c.levels[0].ways = 128;
  c.levels[0].size_kib = 8;
  EXPECT_EQ(c.validate(), "l1d.ways: 128 is not a power of two in 1..64");
  c = edgeCaches();
  c.levels[1].ways = 0;
  EXPECT_EQ(c.validate(), "l2.ways: 0 is not a power of two in 1..64");
  c = edgeCaches();
  c.levels[2].size_kib = 0;
  EXPECT_EQ(c.validate(), "llc.size_kib: 0 KiB is not a multiple of llc.ways x 64-byte lines (4096 bytes)");
  c = edgeCaches();
  c.levels[0].latency = 1;
  EXPECT_EQ(c.validate(), "l1d.latency: 1 cycles is outside 2..1000 (a reference takes a request and a response cycle, §12)");
  c = edgeCaches();
  c.levels[2].latency = 1'001;
  EXPECT_EQ(c.validate(),
            "llc.latency: 1001 cycles is outside 2..1000 (a reference takes a request and a response cycle, §12)");
  c = edgeCaches();
  c.levels[1].latency = 1'000;  // as slow as the LLC: allowed
  EXPECT_EQ(c.validate(), "");
  c.levels[2].latency = 999;
  EXPECT_EQ(c.validate(), "llc.latency: 999 cycles is below l2.latency (1000): allowed 1000..1000");
  c = edgeCaches();
  c.dram_latency = 1'001;
  EXPECT_EQ(c.validate(), "dram.latency: 1001 cycles is outside 1000..1000 (at least llc.latency)");
  c.dram_latency = 999;
  EXPECT_EQ(c.validate(), "dram.latency: 999 cycles is outside 1000..1000 (at least llc.latency)");
  // A level left at its defaults (vmm::CacheLevelConfig{}: no size, no ways, no latency) is
  // refused at its first key, the ways; given ways, at its size; given a size, at its latency.
  c = edgeCaches();
  c.levels[1] = vmm::CacheLevelConfig{};
  EXPECT_EQ(c.validate(), "l2.ways: 0 is not a power of two in 1..64");
  c.levels[1].ways = 4;
  EXPECT_EQ(c.validate(), "l2.size_kib: 0 KiB is not a multiple of l2.ways x 64-byte lines (256 bytes)");
  c.levels[1].size_kib = 4;
  EXPECT_EQ(c.validate(), "l2.latency: 0 cycles is outside 2..1000 (a reference takes a request and a response cycle, §12)");
  // The flat model checks only its own figure.
  MemoryModelConfig flat = MemoryModelConfig::flat(0);
  EXPECT_NE(flat.validate(), "");
  flat.cycles_per_ref = 7;
  flat.levels[0].ways = 3;
  EXPECT_EQ(flat.validate(), "");
}

TEST(MemoryModelEdges, LevelNamesAndDescriptions) {
  EXPECT_STREQ(MemoryModelConfig::levelName(0), "l1d");
  EXPECT_STREQ(MemoryModelConfig::levelName(1), "l2");
  EXPECT_STREQ(MemoryModelConfig::levelName(2), "llc");
  EXPECT_STREQ(MemoryModelConfig::levelName(3), "?");
  EXPECT_EQ(MemoryModelConfig::flat(30).describe(), "flat, 30 cycles per walk reference");
  EXPECT_EQ(edgeCaches().describe(), "cache L1D 4K/64w 2c, L2 4K/64w 2c, LLC 4K/64w 1000c, DRAM 1000c");
  MemoryModelConfig c = edgeCaches();
  c.levels[1].size_kib = 1'024;   // a whole MiB
  c.levels[2].size_kib = 1'536;  // not a whole MiB: in KiB (describe() does not validate)
  c.levels[2].ways = 32;
  EXPECT_EQ(c.describe(), "cache L1D 4K/64w 2c, L2 1M/64w 2c, LLC 1536K/32w 1000c, DRAM 1000c");
}

TEST(MemoryModelEdges, OnlyTheThreeLevelsHoldLines) {
  MemoryHierarchy caches(edgeCaches());
  caches.access(0x1000);
  EXPECT_TRUE(caches.holds(0, 0x1000));
  EXPECT_TRUE(caches.holds(2, 0x103F)) << "the same 64-byte line";
  EXPECT_FALSE(caches.holds(2, 0x1040));
  EXPECT_FALSE(caches.holds(3, 0x1000)) << "DRAM is not a cache level";
}

}  // namespace
}  // namespace vmmu::testing
