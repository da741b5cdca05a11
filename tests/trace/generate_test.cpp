// generate_test.cpp - the synthetic generators: length, footprint, switch rate, the property that
// defines each kind, and determinism.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "trace_test_support.h"
#include "vmmu/trace/generate.h"

namespace vmmu::trace {
namespace {

using testing::readAll;
using testing::scratchPath;

struct Region {
  uint64_t start, length;
  uint8_t prot;
};

// What the tests check of a generated trace, gathered in one pass.
struct Facts {
  uint64_t accesses = 0, switches = 0, created = 0, exited = 0;
  std::map<uint32_t, std::set<uint64_t>> pages;  // pid -> 4K pages touched
  std::map<uint32_t, std::vector<Region>> regions;
  uint64_t outside_regions = 0;  // accesses not inside a region mapped for their pid (heap excluded)
  uint64_t fetch_outside_exec = 0;
  std::vector<Event> pte_writes;
  std::vector<Event> mmaps;
};

Facts gather(const std::string &path, bool heap_allowed = false) {
  Facts f;
  std::map<uint32_t, uint64_t> brk;
  for (const Event &e : readAll(path)) {
    switch (e.kind) {
    case EventKind::Access: {
      ++f.accesses;
      f.pages[e.pid].insert(e.address >> 12);
      const Region *inside = nullptr;
      for (const Region &r : f.regions[e.pid])
        if (e.address >= r.start && e.address + e.size <= r.start + r.length)
          inside = &r;
      const bool in_heap = heap_allowed && brk.count(e.pid) && e.address < brk[e.pid] &&
                           e.address >= brk[e.pid] - (64ull << 20);
      if (!inside && !in_heap)
        ++f.outside_regions;
      if (e.op == AccessOp::Fetch && (!inside || !(inside->prot & prot::Exec)))
        ++f.fetch_outside_exec;
      break;
    }
    case EventKind::Mmap:
      f.regions[e.pid].push_back({e.address, e.length, e.prot});
      f.mmaps.push_back(e);
      break;
    case EventKind::Brk:
      brk[e.pid] = e.address;
      break;
    case EventKind::ContextSwitch:
      ++f.switches;
      break;
    case EventKind::ProcessCreate:
      ++f.created;
      break;
    case EventKind::ProcessExit:
      ++f.exited;
      break;
    case EventKind::PageTableWrite:
      f.pte_writes.push_back(e);
      break;
    default:
      break;
    }
  }
  return f;
}

GenOptions options(GenKind kind, uint64_t accesses, uint64_t procs, uint64_t quantum, uint64_t footprint_mib) {
  GenOptions o;
  o.kind = kind;
  o.accesses = accesses;
  o.procs = procs;
  o.quantum = quantum;
  o.footprint_mib = footprint_mib;
  return o;
}

class SteadyKinds : public ::testing::TestWithParam<GenKind> {};

// The four steady-state kinds: exact length, footprint within the per-process share, one switch
// per quantum, every access inside a mapped region.
TEST_P(SteadyKinds, LengthFootprintAndSwitchRate) {
  const std::string path = scratchPath("gen.vmt");
  const uint64_t accesses = 20000, procs = 4, quantum = 500, footprint_mib = 8;
  const GenResult r = generateTrace(options(GetParam(), accesses, procs, quantum, footprint_mib), path, {});
  const Facts f = gather(path);
  EXPECT_EQ(r.accesses, accesses);
  EXPECT_EQ(f.accesses, accesses);
  EXPECT_EQ(f.switches, accesses / quantum);
  EXPECT_EQ(r.switches, f.switches);
  EXPECT_EQ(f.created, procs);
  EXPECT_EQ(f.exited, procs);
  EXPECT_EQ(f.outside_regions, 0u);
  const uint64_t share = (footprint_mib << 20) / 4096 / procs;
  ASSERT_EQ(f.pages.size(), procs);
  for (const auto &[pid, pages] : f.pages)
    EXPECT_LE(pages.size(), share) << "pid " << pid;
}

INSTANTIATE_TEST_SUITE_P(Kinds, SteadyKinds,
                         ::testing::Values(GenKind::Worst, GenKind::Random, GenKind::Stream, GenKind::Scan),
                         [](const auto &info) { return std::string(toString(info.param)); });

TEST(TraceGenerate, QuantumSetsTheSwitchRate) {
  for (const uint64_t quantum : {10u, 100u, 1000u}) {
    const std::string path = scratchPath(std::to_string(quantum) + "q.vmt");
    const GenResult r = generateTrace(options(GenKind::Random, 10000, 3, quantum, 4), path, {});
    EXPECT_EQ(r.switches, 10000 / quantum);
  }
  const GenResult single = generateTrace(options(GenKind::Random, 10000, 1, 10, 4), scratchPath("one.vmt"), {});
  EXPECT_EQ(single.switches, 1u);  // the first dispatch only
}

TEST(TraceGenerate, RandomAndScanCoverTheFootprint) {
  for (const GenKind kind : {GenKind::Random, GenKind::Scan}) {
    const std::string path = scratchPath(std::string(toString(kind)) + ".vmt");
    generateTrace(options(kind, 20000, 1, 20000, 16), path, {});
    const Facts f = gather(path);
    const uint64_t pages = f.pages.begin()->second.size();
    EXPECT_LE(pages, 4096u);
    EXPECT_GE(pages, 4000u) << toString(kind);  // 20000 accesses over 4096 pages
  }
}

// Worst case: no two touched pages share a PTE table, a PD table or a PDPT entry.
TEST(TraceGenerate, WorstCaseHasNoPageTableLocality) {
  const std::string path = scratchPath("worst.vmt");
  generateTrace(options(GenKind::Worst, 30000, 1, 30000, 8), path, {});
  const Facts f = gather(path);
  const auto &pages = f.pages.begin()->second;
  std::set<uint64_t> pt_tables, pd_tables;
  for (const uint64_t page : pages) {
    pt_tables.insert(page >> 9);   // VA >> 21: the 2 MiB region one PTE table maps
    pd_tables.insert(page >> 18);  // VA >> 30: the 1 GiB region one PD table maps
  }
  EXPECT_GT(pages.size(), 1500u);
  EXPECT_EQ(pt_tables.size(), pages.size());
  EXPECT_EQ(pd_tables.size(), pages.size());
}

TEST(TraceGenerate, StreamIsSequential) {
  const std::string path = scratchPath("stream.vmt");
  generateTrace(options(GenKind::Stream, 2000, 1, 2000, 4), path, {});
  std::vector<uint64_t> reads, writes;
  for (const Event &e : readAll(path))
    if (e.kind == EventKind::Access)
      (e.op == AccessOp::Read ? reads : writes).push_back(e.address);
  ASSERT_EQ(reads.size(), 1000u);
  ASSERT_EQ(writes.size(), 1000u);
  for (size_t i = 1; i < reads.size(); ++i) {
    EXPECT_EQ(reads[i] - reads[i - 1], 64u);
    EXPECT_EQ(writes[i] - writes[i - 1], 64u);
  }
  EXPECT_EQ(writes[0] - reads[0], 2u << 20);  // the destination is the second half of 4 MiB
}

TEST(TraceGenerate, BuildHasManyShortLivedProcesses) {
  const std::string path = scratchPath("build.vmt");
  const GenResult r = generateTrace(options(GenKind::Build, 200000, 4, 2000, 16), path, {});
  const Facts f = gather(path, /*heap_allowed=*/true);
  EXPECT_EQ(f.accesses, 200000u);
  EXPECT_GT(f.created, 20u);  // jobs live ~3000-9000 accesses
  EXPECT_EQ(f.created, r.processes);
  EXPECT_EQ(f.exited, f.created);
  EXPECT_EQ(f.outside_regions, 0u);
  EXPECT_EQ(f.fetch_outside_exec, 0u);
  // Every process stays within its share of the footprint.
  for (const auto &[pid, pages] : f.pages)
    EXPECT_LE(pages.size(), (16u << 20) / 4096 / 4) << "pid " << pid;
}

// Phased: a build phase of exactly build_percent of the accesses (short jobs of job_mib each),
// every job gone before the random phase, whose processes share the footprint.
TEST(TraceGenerate, PhasedIsABuildPhaseThenARandomPhase) {
  GenOptions o = options(GenKind::Phased, 40000, 2, 1000, 8);
  o.build_percent = 25;
  o.job_mib = 1;
  const std::string path = scratchPath("phased.vmt");
  const GenResult r = generateTrace(o, path, {});
  std::map<uint32_t, std::string> names;
  std::map<uint32_t, uint64_t> accesses_of;
  std::set<uint32_t> live;
  uint64_t accesses = 0, build_accesses = 0, first_random_access = 0;
  bool jobs_live_in_random_phase = false;
  for (const Event &e : readAll(path)) {
    if (e.kind == EventKind::ProcessCreate) {
      names[e.pid] = e.text;
      live.insert(e.pid);
    } else if (e.kind == EventKind::ProcessExit) {
      live.erase(e.pid);
    } else if (e.kind == EventKind::Access) {
      ++accesses;
      ++accesses_of[e.pid];
      const bool job = names[e.pid].rfind("build-", 0) == 0;
      build_accesses += job ? 1 : 0;
      if (!job && first_random_access == 0) {
        first_random_access = accesses;
        for (const uint32_t pid : live)
          jobs_live_in_random_phase = jobs_live_in_random_phase || names[pid].rfind("build-", 0) == 0;
      }
    }
  }
  EXPECT_EQ(accesses, 40000u);
  EXPECT_EQ(build_accesses, 10000u) << "25% of the accesses";
  EXPECT_EQ(first_random_access, 10001u) << "the random phase follows the whole build phase";
  EXPECT_FALSE(jobs_live_in_random_phase) << "every job exited first";
  // Jobs live 313-938 accesses (mean 10,000 / (8 x 2) = 625): at least 10,000 / 938 of them,
  // two at a time; then the two random processes.
  uint64_t jobs = 0, randoms = 0;
  for (const auto &[pid, name] : names) {
    jobs += name.rfind("build-", 0) == 0 ? 1 : 0;
    randoms += name.rfind("random-", 0) == 0 ? 1 : 0;
  }
  EXPECT_GE(jobs, 11u);
  EXPECT_EQ(randoms, 2u);
  EXPECT_EQ(jobs + randoms, r.processes);
  const Facts f = gather(path, /*heap_allowed=*/true);
  EXPECT_EQ(f.created, f.exited);
  EXPECT_EQ(f.outside_regions, 0u);
  EXPECT_EQ(f.fetch_outside_exec, 0u);
  for (const auto &[pid, pages] : f.pages) {
    if (names[pid].rfind("build-", 0) == 0) {
      EXPECT_LE(pages.size(), 256u) << "a job's 1 MiB, pid " << pid;
    } else {
      EXPECT_LE(pages.size(), 1024u) << "half of 8 MiB, pid " << pid;
      EXPECT_GT(pages.size(), 900u) << "15,000 random accesses cover most of 1,024 pages, pid " << pid;
    }
  }
}

TEST(TraceGenerate, BootBuildsADirectMapWithLargePages) {
  const std::string path = scratchPath("boot.vmt");
  const uint64_t footprint_mib = 64;
  generateTrace(options(GenKind::Boot, 40000, 2, 1000, footprint_mib), path, {});
  const Facts f = gather(path);
  EXPECT_EQ(f.accesses, 40000u);
  EXPECT_EQ(f.outside_regions, 0u);
  uint64_t large_leaves = 0;
  for (const Event &e : f.pte_writes) {
    EXPECT_EQ(e.address % 8, 0u);
    EXPECT_TRUE(e.value & 1) << "not present";
    if (e.level == 2) {
      EXPECT_TRUE(e.value & 0x80) << "a level-2 entry without PS";
      EXPECT_EQ((e.value & ~0xfffull) % (2u << 20), 0u) << "a 2 MiB frame not 2 MiB aligned";
      ++large_leaves;
    }
  }
  EXPECT_EQ(large_leaves, footprint_mib / 2);
  for (const Event &e : f.mmaps) {
    EXPECT_EQ(e.address % (2u << 20), 0u);
    EXPECT_EQ(e.length % (2u << 20), 0u);
  }
}

// A direct map of several GiB needs one PD per GiB; every entry is written once.
TEST(TraceGenerate, BootTablesNeverOverwriteAnEntry) {
  const std::string path = scratchPath("boot3g.vmt");
  generateTrace(options(GenKind::Boot, 100, 1, 100, 3 * 1024), path, {});
  std::map<uint8_t, uint64_t> per_level;
  std::set<uint64_t> entries;
  for (const Event &e : gather(path).pte_writes) {
    ++per_level[e.level];
    EXPECT_TRUE(entries.insert(e.address).second) << "entry written twice: " << e.address;
  }
  EXPECT_EQ(per_level[4], 1u);
  EXPECT_EQ(per_level[3], 3u);
  EXPECT_EQ(per_level[2], 3u * 512);
}

// The largest footprint, 1 TiB, worked out entry by entry: two PDPTs (so two PML4 entries, at
// indices 273 and 274 of the PML4 at 0x1000 for the direct map at 0xffff888000000000), 1024 PD
// pointers (PDPT i at 0x2000 + i * 4 KiB), 512 Ki 2 MiB leaves (PD g at 0x4000 + g * 4 KiB)
// mapping guest memory from 1 GiB on.
TEST(TraceGenerate, BootOfOneTebibyteWritesEveryEntryWhereTheFormulaSays) {
  const std::string path = scratchPath("boot1t.vmt");
  generateTrace(options(GenKind::Boot, 8, 1, 8, uint64_t{1} << 20), path, {});
  TraceReader reader(path);
  std::vector<Event> level4;
  uint64_t level3 = 0, level2 = 0, kernel_touches = 0;
  bool mmap_seen = false;
  while (const auto e = reader.next()) {
    if (e->kind == EventKind::Mmap && e->pid == 1) {
      EXPECT_EQ(*e, Event::mmap(1, 0xffff'8880'0000'0000ull, uint64_t{1} << 40, prot::Read | prot::Write));
      mmap_seen = true;
    }
    if (e->kind == EventKind::Access && e->pid == 1) {
      EXPECT_EQ(*e, Event::access(0, 1, AccessOp::Write, 0xffff'8880'0000'0000ull + kernel_touches * (2u << 20), 8));
      ++kernel_touches;
    }
    if (e->kind != EventKind::PageTableWrite)
      continue;
    ASSERT_EQ(e->pid, 1u);
    if (e->level == 4) {
      level4.push_back(*e);
    } else if (e->level == 3) {
      const uint64_t g = level3++;
      ASSERT_EQ(e->address, 0x2000 + (g / 512) * 0x1000 + 8 * (g % 512)) << "PD pointer " << g;
      ASSERT_EQ(e->value, (0x4000 + g * 0x1000) | 3) << "PD pointer " << g;
    } else {
      ASSERT_EQ(e->level, 2u);
      const uint64_t i = level2++;
      ASSERT_EQ(e->address, 0x4000 + (i / 512) * 0x1000 + 8 * (i % 512)) << "leaf " << i;
      ASSERT_EQ(e->value, ((uint64_t{1} << 30) + i * (2u << 20)) | 0x83) << "leaf " << i;
    }
  }
  EXPECT_TRUE(mmap_seen);
  EXPECT_EQ(kernel_touches, 2u);  // a quarter of the 8 accesses
  EXPECT_EQ(level4, (std::vector<Event>{Event::pageTableWrite(0, 1, 0x1888, 0x2003, 4),
                                        Event::pageTableWrite(0, 1, 0x1890, 0x3003, 4)}));
  EXPECT_EQ(level3, 1024u);
  EXPECT_EQ(level2, 512u * 1024);
}

TEST(TraceGenerate, SeedDeterminesTheTrace) {
  for (const GenKind kind : {GenKind::Build, GenKind::Phased}) {
    const auto make = [kind](const std::string &name, uint64_t seed) {
      GenOptions o = options(kind, 5000, 2, 100, 4);
      o.seed = seed;
      const std::string path = scratchPath(name);
      generateTrace(o, path, {});
      return decompressTraceFile(path);
    };
    EXPECT_EQ(make("a.vmt", 5), make("b.vmt", 5)) << toString(kind);
    EXPECT_NE(make("a.vmt", 5), make("c.vmt", 6)) << toString(kind);
  }
}

TEST(TraceGenerate, KindNamesRoundTrip) {
  for (const GenKind kind :
       {GenKind::Worst, GenKind::Random, GenKind::Stream, GenKind::Scan, GenKind::Build, GenKind::Boot, GenKind::Phased})
    EXPECT_EQ(genKindFromString(toString(kind)), kind);
  EXPECT_FALSE(genKindFromString("nonsense"));
}

TEST(TraceGenerate, BadOptionsThrow) {
  EXPECT_THROW(generateTrace(options(GenKind::Random, 0, 1, 1, 1), scratchPath("x.vmt"), {}), std::invalid_argument);
  EXPECT_THROW(generateTrace(options(GenKind::Random, 1, 0, 1, 1), scratchPath("x.vmt"), {}), std::invalid_argument);
  EXPECT_THROW(generateTrace(options(GenKind::Random, 1, 1, 0, 1), scratchPath("x.vmt"), {}), std::invalid_argument);
  EXPECT_THROW(generateTrace(options(GenKind::Random, 1, 1, 1, 0), scratchPath("x.vmt"), {}), std::invalid_argument);
  GenOptions phased = options(GenKind::Phased, 100, 1, 1, 1);
  for (const uint64_t percent : {0u, 100u}) {
    phased.build_percent = percent;
    EXPECT_THROW(generateTrace(phased, scratchPath("x.vmt"), {}), std::invalid_argument) << percent;
  }
  phased.build_percent = 99;
  EXPECT_NO_THROW(generateTrace(phased, scratchPath("x.vmt"), {}));
  phased.job_mib = 0;
  EXPECT_THROW(generateTrace(phased, scratchPath("x.vmt"), {}), std::invalid_argument);
  // At most 100,000 processes: the most is made, one more is refused.
  try {
    generateTrace(options(GenKind::Random, 1, 100'001, 1, 1), scratchPath("x.vmt"), {});
    FAIL() << "100001 processes";
  } catch (const std::invalid_argument &e) {
    EXPECT_STREQ(e.what(), "generator: at most 100000 processes");
  }
  EXPECT_EQ(generateTrace(options(GenKind::Random, 1, 100'000, 1, 1), scratchPath("x.vmt"), {}).processes, 100'000u);
}

// Every generator's accesses are aligned 8-byte loads and stores, and its instruction fetches
// (Build's and Phased's build phase, the only code) aligned 4-byte reads of the next instruction unless a jump
// lands on a 16-byte boundary.
TEST(TraceGenerate, AccessesAreAlignedWordsAndFetchesAlignedInstructions) {
  for (const GenKind kind : {GenKind::Worst, GenKind::Random, GenKind::Stream, GenKind::Scan, GenKind::Build,
                             GenKind::Boot, GenKind::Phased}) {
    SCOPED_TRACE(std::string(toString(kind)));
    const std::string path = scratchPath("sizes_" + std::string(toString(kind)) + ".vmt");
    generateTrace(options(kind, 20000, 2, 1000, 16), path, {});
    uint64_t data = 0, fetches = 0, straight = 0;
    std::map<uint32_t, uint64_t> last_fetch;
    for (const Event &e : readAll(path)) {
      if (e.kind != EventKind::Access)
        continue;
      if (e.op == AccessOp::Fetch) {
        ++fetches;
        EXPECT_EQ(e.size, 4u);
        EXPECT_EQ(e.address % 4, 0u);
        const auto it = last_fetch.find(e.pid);
        if (it != last_fetch.end() && e.address == it->second + 4) {
          ++straight;
        } else if (it != last_fetch.end()) {
          EXPECT_TRUE(e.address % 16 == 0 || e.address < it->second) << std::hex << e.address;
        }
        last_fetch[e.pid] = e.address;
      } else {
        ++data;
        EXPECT_EQ(e.size, 8u);
        EXPECT_EQ(e.address % 8, 0u) << std::hex << e.address;
      }
    }
    EXPECT_GT(data, 0u);
    if (kind == GenKind::Build || kind == GenKind::Phased) {  // phased: its build phase's jobs
      EXPECT_GT(fetches, kind == GenKind::Build ? 1000u : 250u);
      EXPECT_GT(straight, fetches / 2);  // mostly straight-line code
    } else {
      EXPECT_EQ(fetches, 0u);
    }
  }
}

}  // namespace
}  // namespace vmmu::trace
