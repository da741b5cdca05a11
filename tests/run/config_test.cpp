// config_test.cpp - the `vmmu run --config` key=value format.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "vmmu/policy/experiment.h"
#include "vmmu/run/report.h"
#include "vmmu/run/run_config.h"
#include "vmmu/run/trace_replay.h"
#include "vmmu/run/trace_run.h"
#include "vmmu/run/trace_tape.h"

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
  // Kept in step, with the indirect cost `vmmu run` charges by default.
  EXPECT_EQ(s.adaptive.exit_cycles, 2500u + vmm::kCitedExitIndirect + s.vmm.costs.exit_handler);
  EXPECT_EQ(s.memory.cycles_per_ref, 40u);
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
  EXPECT_EQ(s.memory.cycles_per_ref, 30u);
  EXPECT_EQ(s.vmm.memory.bytes, 256ull << 20);
}

TEST(RunConfig, UnknownKeyNamesFileAndLine) {
  EXPECT_EQ(errorOf("interval = 5\n\nbogus = 1\n"), "test.cfg:3: unknown key 'bogus'");
}

TEST(RunConfig, MalformedLinesAndValuesAreOneLineErrors) {
  EXPECT_EQ(errorOf("interval 5\n"), "test.cfg:1: expected 'key = value', got 'interval 5'");
  EXPECT_EQ(errorOf("interval = five\n"),
            "test.cfg:1: interval: expected a whole number in 1..18446744073709551615, got 'five'");
  EXPECT_EQ(errorOf("interval =\n"), "test.cfg:1: interval: missing value");
  EXPECT_EQ(errorOf("fragmentation = 2\n"), "test.cfg:1: fragmentation: expected a number in 0..1, got '2'");
  EXPECT_EQ(errorOf("max_ept_page = 4m\n"), "test.cfg:1: max_ept_page: expected 4k|2m|1g, got '4m'");
  EXPECT_EQ(errorOf("huge_pages = maybe\n"), "test.cfg:1: huge_pages: expected 0 or 1, got 'maybe'");
  EXPECT_EQ(errorOf("interval = 0\n"),
            "test.cfg:1: interval: expected a whole number in 1..18446744073709551615, got '0'");
  EXPECT_EQ(errorOf("interval = -5\n"),
            "test.cfg:1: interval: expected a whole number in 1..18446744073709551615, got '-5'");
  EXPECT_EQ(errorOf("interval = 18446744073709551616\n"),  // 2^64: out of range, not wrapped
            "test.cfg:1: interval: expected a whole number in 1..18446744073709551615, got '18446744073709551616'");
}

TEST(RunConfig, MemoryMustBeEvenAndFitTheMachine) {
  EXPECT_EQ(errorOf("memory_mib = 3\n").rfind("test.cfg:1: memory_mib: expected a multiple of 2 in 2..", 0), 0u)
      << errorOf("memory_mib = 3\n");
  // 512 GiB was accepted before and cost minutes before the first access; now it is refused
  // (this machine has less) with the allowed range, the value as given and the line.
  const std::string huge = errorOf("\nmemory_mib = 524288\n");
  EXPECT_EQ(huge.rfind("test.cfg:2: memory_mib: expected a whole number in 2..", 0), 0u) << huge;
  EXPECT_NE(huge.find("got '524288'"), std::string::npos) << huge;
}

TEST(RunConfig, WholeNumbersAreDecimal) {
  RunSettings s;
  applyConfigText("cycles_per_ref = 010\n", "test.cfg", s);
  EXPECT_EQ(s.memory.cycles_per_ref, 10u);  // not octal 8
  EXPECT_EQ(errorOf("cycles_per_ref = 0x10\n"),
            "test.cfg:1: cycles_per_ref: expected a whole number in 1..1000000, got '0x10'");
  EXPECT_EQ(errorOf("cycles_per_ref = +5\n"),
            "test.cfg:1: cycles_per_ref: expected a whole number in 1..1000000, got '+5'");
  EXPECT_EQ(errorOf("cycles_per_ref = 1 0\n"),
            "test.cfg:1: cycles_per_ref: expected a whole number in 1..1000000, got '1 0'");
}

TEST(RunConfig, CostsAreBoundedSoNoSumWraps) {
  // 2^64 - 1 cycles per reference made nested cheaper than native (the sums wrapped).
  EXPECT_EQ(errorOf("cycles_per_ref = 18446744073709551615\n"),
            "test.cfg:1: cycles_per_ref: expected a whole number in 1..1000000, got '18446744073709551615'");
  EXPECT_EQ(errorOf("exit_round_trip = 1000000001\n"),
            "test.cfg:1: exit_round_trip: expected a whole number in 0..1000000000, got '1000000001'");
  EXPECT_EQ(errorOf("guest.page_fault = 1000000001\n"),
            "test.cfg:1: guest.page_fault: expected a whole number in 0..1000000000, got '1000000001'");
  RunSettings s;
  applyConfigText("cycles_per_ref = 1000000\nexit_round_trip = 1000000000\n", "test.cfg", s);
  EXPECT_EQ(s.memory.cycles_per_ref, 1'000'000u);
  EXPECT_EQ(s.vmm.costs.exit_round_trip, 1'000'000'000u);
}

TEST(RunConfig, GeometryValuesAreReportedAsGivenNotClamped) {
  // Out of range: the value as written, not a clamped one.
  EXPECT_EQ(errorOf("tlb.4k.sets = 4294967296\n"),
            "test.cfg:1: tlb.4k.sets: expected a whole number in 1..1048576, got '4294967296'");
  EXPECT_EQ(errorOf("num_contexts = 300\n"), "test.cfg:1: num_contexts: expected a whole number in 1..256, got '300'");
  // In range but not a power of two: the model's validation, at the line of the key.
  EXPECT_EQ(errorOf("interval = 5\n# a comment\ntlb.4k.sets = 3\n"),
            "test.cfg:3: tlb.4k.sets must be a power of two >= 1, got 3");
}

TEST(RunConfig, WhitespaceAndCommentsAreTrimmed) {
  RunSettings s;
  applyConfigText("\t interval\t=\t 12 \t# trailing comment\r\n"
                  "   # only a comment\n"
                  "\r\n"
                  "max_ept_page=2m#no spaces\n",
                  "test.cfg", s);
  EXPECT_EQ(s.interval, 12u);
  EXPECT_EQ(s.vmm.memory.max_ept_page, PageSize::Size2M);
}

TEST(RunConfig, DuplicateKeysAreErrors) {
  EXPECT_EQ(errorOf("interval = 5\n\ninterval = 6\n"), "test.cfg:3: interval: already set on line 1");
}

TEST(RunConfig, NulByteIsAnError) {
  using namespace std::string_view_literals;
  EXPECT_EQ(errorOf("interval = 5\nhuge_pages = 1\0\n"sv), "test.cfg:2: NUL byte: not a configuration file");
}

TEST(RunConfig, KeyTableDescribesEveryKeyTheParserTakes) {
  const std::string table = describeConfigKeys();
  size_t lines = 0;
  for (size_t at = 0; at < table.size(); at = table.find('\n', at) + 1) {
    const std::string line = table.substr(at, table.find('\n', at) - at);
    ++lines;
    const std::string name = line.substr(0, line.find(' '));
    // Each key named by the table is one the parser accepts with its own default value.
    const size_t def = line.find("default ");
    ASSERT_NE(def, std::string::npos) << line;
    const std::string value = line.substr(def + 8, line.find(' ', def + 8) - def - 8);
    RunSettings s;
    EXPECT_NO_THROW(applyConfigText(name + " = " + value + "\n", "t.cfg", s)) << line;
    EXPECT_NE(line.find("range "), std::string::npos) << line;
  }
  // memory, fragmentation, max_ept_page, host_allocation, 3 flags, memory_model, cycles_per_ref,
  // 3 x 3 cache keys, dram.latency, base_cpi, interval, 15 VMM costs, 6 guest costs, 20 geometry
  // keys, 2 STLB keys, 8 EPT PSC geometry keys, escape_entries, num_contexts, 5 adaptive keys,
  // 2 agile keys (§20.8).
  EXPECT_EQ(lines, 81u);
  EXPECT_NE(table.find("stlb.sets  whole (sets)  default 128  range 0..1048576"), std::string::npos) << table;
  EXPECT_NE(table.find("cycles_per_ref  whole (cycles)  default 30  range 1..1000000"), std::string::npos) << table;
  EXPECT_NE(table.find("interval  whole (accesses)  default 10000"), std::string::npos) << table;
}

// The whole table, field for field, as tests/run/golden/config-keys.txt records it: every key's
// type, unit, default (the spec's geometry §1, the VMM's and the guest's costs, the adaptive
// policy's parameters), range and meaning. Only the largest memory_mib depends on the machine.
TEST(RunConfig, KeyTableIsTheRecordedOne) {
  std::string table = describeConfigKeys();
  const std::string memory = "memory_mib  whole (MiB)  default 256  range 2..";
  ASSERT_EQ(table.rfind(memory, 0), 0u) << table;
  const size_t digits = table.find_first_not_of("0123456789", memory.size());
  // This machine's physical memory in MiB, rounded down to even, at most 512 GiB.
  const uint64_t physical_mib = static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                                static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) >> 20;
  EXPECT_EQ(table.substr(memory.size(), digits - memory.size()),
            std::to_string(std::min<uint64_t>(512 << 10, physical_mib & ~uint64_t{1})));
  table.replace(memory.size(), digits - memory.size(), "PHYSICAL");
  std::ifstream in(std::string(VMMU_SOURCE_DIR) + "/tests/run/golden/config-keys.txt");
  std::ostringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(table, expected.str());
}

// `interval = 1` (or --interval 1) over a long trace used to allocate one record per access and
// die of bad_alloc; the records are bounded by coarsening the interval, and the report says so.
TEST(RunConfig, IntervalIsCoarsenedSoRecordsStayBounded) {
  RunRequest request;
  request.trace = std::string(VMMU_TRACES_DIR) + "/gzip.vmt";
  request.approaches = {vmm::Approach::Native};
  request.adaptive = false;
  request.max_events = 250'020;  // gzip.vmt: 250,000 user accesses in these
  request.settings.interval = 1;
  const RunReport report = runTrace(request);
  ASSERT_EQ(report.runs.size(), 1u);
  EXPECT_EQ(report.requested_interval, 1u);
  // The 100,000th record (at access 100,000) merges the records pairwise: 50,000 of 2 accesses;
  // the next 100,000 accesses make 50,000 more, and at access 200,000 they merge into 50,000 of 4;
  // the last 50,000 accesses make 12,500 more.
  EXPECT_EQ(report.accesses, 250'000u);
  EXPECT_EQ(report.interval, 4u);
  const std::vector<policy::IntervalCounters> &intervals = report.runs[0].result.intervals;
  ASSERT_EQ(intervals.size(), 62'500u);
  EXPECT_EQ(intervals.back().index, 62'499u);
  uint64_t accesses = 0, cycles = 0;
  for (const policy::IntervalCounters &interval : intervals) {
    accesses += interval.accesses;
    cycles += interval.total_cycles;
  }
  EXPECT_EQ(cycles, report.runs[0].result.cycles()) << "merging keeps every cycle";
  EXPECT_EQ(accesses, report.runs[0].result.cost.accesses);
  EXPECT_NE(formatText(report).find("interval 4 (coarsened from 1: at most 100000 intervals are recorded)"),
            std::string::npos)
      << formatText(report);

  request.settings.interval = 5'000;  // few enough intervals: used as asked
  const RunReport asked = runTrace(request);
  EXPECT_EQ(asked.interval, 5'000u);
  EXPECT_EQ(asked.runs[0].result.intervals.size(), 50u);
}

// Every count of two interval records (all but the index and the approach) is the same.
void expectSameCounts(const policy::IntervalCounters &a, const policy::IntervalCounters &b) {
  EXPECT_EQ(a.accesses, b.accesses);
  EXPECT_EQ(a.tlb_misses, b.tlb_misses);
  EXPECT_EQ(a.walks, b.walks);
  EXPECT_EQ(a.guest_references, b.guest_references);
  EXPECT_EQ(a.nested_references, b.nested_references);
  EXPECT_EQ(a.walk_cycles, b.walk_cycles);
  EXPECT_EQ(a.guest_page_faults, b.guest_page_faults);
  EXPECT_EQ(a.cr3_writes, b.cr3_writes);
  EXPECT_EQ(a.exits, b.exits);
  EXPECT_EQ(a.translation_cycles, b.translation_cycles);
  EXPECT_EQ(a.exit_cycles, b.exit_cycles);
  EXPECT_EQ(a.shim_cycles, b.shim_cycles);
  EXPECT_EQ(a.total_cycles, b.total_cycles);
}

// Coarsening merges records exactly as a run at the doubled interval records them: a run of
// 30,000 accesses in intervals of 1,000, at most 8 records, merges at its 8th record (access
// 8,000: 4 records of 2,000), again at access 16,000 (4 of 4,000), and once more when the last,
// partial record (28,000 to 30,000) makes 8: 4 records of 8,000, the last of 6,000, as a run at
// 8,000 records them.
TEST(RunConfig, CoarseningMergesRecordsAsTheDoubledIntervalRecordsThem) {
  const std::string gzip = std::string(VMMU_TRACES_DIR) + "/gzip.vmt";
  const auto experiment = [&](uint64_t interval, uint64_t max_intervals) {
    std::vector<std::unique_ptr<TraceTape>> tapes;  // each replay's tape, alive for the run
    policy::ExperimentConfig config;
    config.make_workload = [&]() -> std::unique_ptr<guest::Workload> {
      tapes.push_back(std::make_unique<TraceTape>(gzip));
      return std::make_unique<TraceReplay>(*tapes.back(), false);
    };
    config.accesses = 30'000;
    config.interval = interval;
    config.max_intervals = max_intervals;
    const std::unique_ptr<policy::SwitchPolicy> nested = policy::makeStaticPolicy(vmm::Approach::Nested);
    return policy::runPolicy(config, *nested);
  };
  const policy::RunResult coarsened = experiment(1'000, 8);
  const policy::RunResult direct = experiment(8'000, 0);
  ASSERT_EQ(coarsened.intervals.size(), 4u);
  ASSERT_EQ(direct.intervals.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    const policy::IntervalCounters &a = coarsened.intervals[i], &b = direct.intervals[i];
    EXPECT_EQ(a.index, i);
    expectSameCounts(a, b);
  }
  EXPECT_EQ(coarsened.cycles(), direct.cycles());
}

// The same on synthetic workloads that count in every field all the time: short processes under
// plain shadow paging (CR3 writes, exits and shim work in every interval), and random accesses
// over a large buffer under nested paging (nested references in every interval). Each field of a
// merged record is the sum of its halves, also when the second half is what it adds.
TEST(RunConfig, CoarseningSumsEveryFieldOfBothHalves) {
  const auto experiment = [](guest::WorkloadKind kind, vmm::Approach approach, uint64_t interval,
                             uint64_t max_intervals) {
    policy::ExperimentConfig config;
    config.make_workload = [kind] {
      guest::WorkloadSpec spec;
      spec.kind = kind;
      spec.footprint_bytes = 32ull << 20;
      return guest::makeWorkload(spec);
    };
    config.accesses = 16'000;
    config.interval = interval;
    config.max_intervals = max_intervals;
    const std::unique_ptr<policy::SwitchPolicy> policy = policy::makeStaticPolicy(approach);
    return policy::runPolicy(config, *policy);
  };
  for (const auto &[kind, approach] : {std::pair{guest::WorkloadKind::ShortProcesses, vmm::Approach::ShadowPlain},
                                       std::pair{guest::WorkloadKind::RandomAccess, vmm::Approach::Nested}}) {
    SCOPED_TRACE(vmm::toString(approach));
    // Records of 1,000 merged at the 4th (2 of 2,000), again at the 4th (2 of 4,000) and the
    // 4th (2 of 8,000): as a run at 8,000 records them.
    const policy::RunResult coarsened = experiment(kind, approach, 1'000, 4);
    const policy::RunResult direct = experiment(kind, approach, 8'000, 0);
    ASSERT_EQ(coarsened.intervals.size(), 2u);
    ASSERT_EQ(direct.intervals.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      SCOPED_TRACE(i);
      const policy::IntervalCounters &a = coarsened.intervals[i], &b = direct.intervals[i];
      EXPECT_EQ(a.index, i);
      EXPECT_EQ(a.approach, approach);
      expectSameCounts(a, b);
    }
    // Teeth: the four records of the first merge each counted what its field sums (later ones
    // may count no nested references once the walk caches are warm).
    const policy::RunResult fine = experiment(kind, approach, 1'000, 0);
    ASSERT_EQ(fine.intervals.size(), 16u);
    for (size_t i = 0; i < 4; ++i) {
      const policy::IntervalCounters &in = fine.intervals[i];
      SCOPED_TRACE(in.index);
      EXPECT_GT(in.tlb_misses, 0u);
      EXPECT_GT(in.walks, 0u);
      EXPECT_GT(in.guest_references, 0u);
      EXPECT_GT(in.walk_cycles, 0u);
      EXPECT_GT(in.translation_cycles, 0u);
      if (approach == vmm::Approach::Nested) {
        EXPECT_GT(in.nested_references, 0u);
      } else {
        EXPECT_GT(in.guest_page_faults, 0u);
        EXPECT_GT(in.cr3_writes, 0u);
        EXPECT_GT(in.totalExits(), 0u);
        EXPECT_GT(in.exit_cycles, 0u);
        EXPECT_GT(in.shim_cycles, 0u);
      }
    }
  }
}

// A stop before the first step (a stop is looked at between steps, and Ctrl-C used to be ignored
// during the counting pass that came before the runs) ends the runs at once: each reports itself
// interrupted after 0 accesses, and the counts are what was replayed.
TEST(RunConfig, StopBeforeTheFirstStepEndsTheRunsAtOnce) {
  RunRequest request;
  request.trace = std::string(VMMU_TRACES_DIR) + "/gzip.vmt";
  request.approaches = {vmm::Approach::Nested};
  volatile std::sig_atomic_t stop = 1;
  request.stop = &stop;
  const RunReport report = runTrace(request);
  EXPECT_FALSE(report.counted);
  EXPECT_TRUE(report.interrupted);
  EXPECT_EQ(report.events, 0u);
  EXPECT_EQ(report.accesses, 0u);
  EXPECT_NE(formatText(report).find("(replayed until the stop: partial)"), std::string::npos) << formatText(report);
  ASSERT_EQ(report.runs.size(), 3u);  // native, nested, adaptive
  for (const ModeRun &run : report.runs) {
    EXPECT_TRUE(run.interrupted) << run.result.policy;
    EXPECT_EQ(run.replay.accesses, 0u) << run.result.policy;
  }
}

TEST(RunConfig, UnreadableFileIsAnError) {
  RunSettings s;
  EXPECT_THROW(applyConfigFile("/nonexistent/run.cfg", s), ConfigError);
}

std::string fileErrorOf(const std::string &path) {
  RunSettings s;
  try {
    applyConfigFile(path, s);
  } catch (const ConfigError &e) {
    return e.what();
  }
  return "";
}

TEST(RunConfig, OnlyRegularFilesAreRead) {
  EXPECT_EQ(fileErrorOf("/dev/zero"), "configuration file /dev/zero: is not a regular file (a FIFO, socket or device)");
  EXPECT_EQ(fileErrorOf("/"), "configuration file /: is a directory");
  // A FIFO with no writer: refused at once instead of blocking in open(2).
  char dir_template[] = "/tmp/vmmu-config-test.XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string fifo = std::string(dir_template) + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(fileErrorOf(fifo), "configuration file " + fifo + ": is not a regular file (a FIFO, socket or device)");
  unlink(fifo.c_str());
  rmdir(dir_template);
}

// The edges of the format, one at a time: which characters are trimmed and where, comments,
// blank lines and line numbers, empty keys and values, the bounds of every value type (inclusive),
// the spellings of booleans and choices, the cost keys that keep the adaptive policy's exit
// estimate in step, and the size limit of a file.
uint64_t intervalOf(std::string_view text) {
  RunSettings settings;
  applyConfigText(text, "test.cfg", settings);
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
  EXPECT_EQ(errorOf("interval = 5\v\n"), "test.cfg:1: interval: expected a whole number in 1..18446744073709551615, "
                                         "got '5\v'");
  EXPECT_EQ(errorOf("\finterval = 5\n"), "test.cfg:1: unknown key '\finterval'");
  EXPECT_EQ(errorOf("inter val = 5\n"), "test.cfg:1: unknown key 'inter val'");
}

TEST(ConfigEdges, EmptyKeysValuesAndLines) {
  EXPECT_EQ(errorOf("= 5\n"), "test.cfg:1: unknown key ''");
  EXPECT_EQ(errorOf("interval = \t \r\n"), "test.cfg:1: interval: missing value");
  EXPECT_EQ(errorOf("interval = # nothing\n"), "test.cfg:1: interval: missing value");
  EXPECT_EQ(errorOf("interval\n"), "test.cfg:1: expected 'key = value', got 'interval'");
  EXPECT_EQ(errorOf("  \t\r\n"), "");
  EXPECT_EQ(errorOf(""), "");
  EXPECT_EQ(errorOf("\n\n\n"), "");
  EXPECT_EQ(errorOf("interval = 5 = 6\n"),
            "test.cfg:1: interval: expected a whole number in 1..18446744073709551615, got '5 = 6'");
}

TEST(ConfigEdges, LineNumbersCountEveryLine) {
  EXPECT_EQ(errorOf("# one\n\n   # three\nbogus = 1\n"), "test.cfg:4: unknown key 'bogus'");
  EXPECT_EQ(errorOf("interval = 5\r\n\r\ninterval = 6\r\n"), "test.cfg:3: interval: already set on line 1");
}

// The run-time model's keys: the memory model, the caches, the base CPI, an exit's indirect cost
// and the flush of a VMM without VPIDs; what cannot work is one line naming the key and its range.
TEST(RunConfig, RunTimeModelKeys) {
  RunSettings s;
  EXPECT_EQ(s.memory.kind, vmm::MemoryModelConfig::Kind::Cache) << "the cache model is the default";
  applyConfigText("memory_model = flat\nbase_cpi = 0.75\nexit_indirect = 500\nflush_tlb_on_exit = 1\n"
                  "l2.size_kib = 1024\nl2.ways = 16\nl2.latency = 14\ndram.latency = 300\n",
                  "test.cfg", s);
  EXPECT_EQ(s.memory.kind, vmm::MemoryModelConfig::Kind::Flat);
  EXPECT_EQ(s.vmm.costs.cpi_millis, 750u);
  EXPECT_EQ(s.vmm.costs.exit_indirect, 500u);
  EXPECT_TRUE(s.vmm.flush_tlb_on_exit);
  EXPECT_EQ(s.memory.levels[1].size_kib, 1024u);
  EXPECT_EQ(s.memory.levels[1].ways, 16u);
  EXPECT_EQ(s.memory.levels[1].latency, 14u);
  EXPECT_EQ(s.memory.dram_latency, 300u);
  // The adaptive policy prices an exit with its indirect cost: 1,500 + 500 + 200.
  EXPECT_EQ(s.adaptive.exit_cycles, 2'200u);

  EXPECT_EQ(errorOf("l1d.latency = 0\n"), "test.cfg:1: l1d.latency: expected a whole number in 2..1000, got '0'");
  EXPECT_EQ(errorOf("dram.latency = 1001\n"), "test.cfg:1: dram.latency: expected a whole number in 2..1000, got '1001'");
  EXPECT_EQ(errorOf("memory_model = lru\n"), "test.cfg:1: memory_model: expected flat|cache, got 'lru'");
  EXPECT_EQ(errorOf("base_cpi = 0\n"), "test.cfg:1: base_cpi: expected a number in 0.001..1000, got '0'");
  EXPECT_EQ(errorOf("interval = 5\nl2.size_kib = 100\n"),
            "test.cfg:2: l2.size_kib: 100 KiB over 4 ways gives 400 sets, not a power of two (allowed: size_kib = "
            "ways x 64 B x 2^n / 1024)");
  EXPECT_EQ(errorOf("llc.ways = 64\nllc.size_kib = 2\n"),
            "test.cfg:2: llc.size_kib: 2 KiB is not a multiple of llc.ways x 64-byte lines (4096 bytes)");
  EXPECT_EQ(errorOf("l2.latency = 3\n"), "test.cfg:1: l2.latency: 3 cycles is below l1d.latency (4): allowed 4..1000");
  EXPECT_EQ(errorOf("dram.latency = 41\n"),
            "test.cfg:1: dram.latency: 41 cycles is outside 42..1000 (at least llc.latency)");
  // The flat model does not look at the caches.
  EXPECT_EQ(errorOf("memory_model = flat\nl2.latency = 3\n"), "");
}

TEST(ConfigEdges, CommentsEndTheLineWhereverTheyStart) {
  EXPECT_EQ(intervalOf("interval = 7#8\n"), 7u);
  EXPECT_EQ(intervalOf("interval = 7 # 8\n"), 7u);
  EXPECT_EQ(errorOf("# interval = x\n"), "");
  EXPECT_EQ(errorOf("interval # = 7\n"), "test.cfg:1: expected 'key = value', got 'interval'");
}

TEST(ConfigEdges, WholeNumberBoundsAreInclusive) {
  RunSettings s;
  applyConfigText("num_contexts = 1\nescape_entries = 0\ncycles_per_ref = 1\n", "test.cfg", s);
  EXPECT_EQ(s.mmu.num_contexts, 1u);
  EXPECT_EQ(s.mmu.escape_entries, 0u);
  EXPECT_EQ(s.memory.cycles_per_ref, 1u);
  applyConfigText("num_contexts = 256\nescape_entries = 8\ncycles_per_ref = 1000000\n", "test2.cfg", s);
  EXPECT_EQ(s.mmu.num_contexts, 256u);
  EXPECT_EQ(s.mmu.escape_entries, 8u);
  EXPECT_EQ(s.memory.cycles_per_ref, 1'000'000u);
  EXPECT_EQ(errorOf("num_contexts = 0\n"), "test.cfg:1: num_contexts: expected a whole number in 1..256, got '0'");
  EXPECT_EQ(errorOf("num_contexts = 257\n"), "test.cfg:1: num_contexts: expected a whole number in 1..256, got '257'");
  EXPECT_EQ(errorOf("escape_entries = 9\n"), "test.cfg:1: escape_entries: expected a whole number in 0..8, got '9'");
  EXPECT_EQ(errorOf("cycles_per_ref = 0\n"),
            "test.cfg:1: cycles_per_ref: expected a whole number in 1..1000000, got '0'");
  EXPECT_EQ(errorOf("cycles_per_ref = 1000001\n"),
            "test.cfg:1: cycles_per_ref: expected a whole number in 1..1000000, got '1000001'");
  EXPECT_EQ(intervalOf("interval = 18446744073709551615\n"), UINT64_MAX);
  EXPECT_EQ(errorOf("exit_handler = 1000000000\n"), "");
  EXPECT_EQ(errorOf("exit_handler = 0\n"), "");
}

TEST(ConfigEdges, MemoryIsAnEvenNumberOfMib) {
  RunSettings s;
  applyConfigText("memory_mib = 2\n", "test.cfg", s);
  EXPECT_EQ(s.vmm.memory.bytes, 2ull << 20);
  applyConfigText("memory_mib = 6\n", "test2.cfg", s);
  EXPECT_EQ(s.vmm.memory.bytes, 6ull << 20);
  EXPECT_EQ(errorOf("memory_mib = 0\n").rfind("test.cfg:1: memory_mib: expected a whole number in 2..", 0), 0u);
  EXPECT_EQ(errorOf("memory_mib = 5\n").rfind("test.cfg:1: memory_mib: expected a multiple of 2 in 2..", 0), 0u);
}

TEST(ConfigEdges, RealBoundsAreInclusiveAndOnlyNumbers) {
  RunSettings s;
  applyConfigText("fragmentation = 0\nadaptive.margin = 1\n", "test.cfg", s);
  EXPECT_DOUBLE_EQ(s.vmm.memory.fragmentation, 0.0);
  EXPECT_DOUBLE_EQ(s.adaptive.margin, 1.0);
  applyConfigText("fragmentation = .5\n", "test2.cfg", s);
  EXPECT_DOUBLE_EQ(s.vmm.memory.fragmentation, 0.5);
  for (const char *bad : {"1.0001", "-0.5", "nan", "inf", "0.5x", "x", "1e400"})
    EXPECT_EQ(errorOf(std::string("fragmentation = ") + bad + "\n"),
              std::string("test.cfg:1: fragmentation: expected a number in 0..1, got '") + bad + "'")
        << bad;
}

TEST(ConfigEdges, BooleansAndChoicesAreSpelledExactly) {
  for (const char *on : {"1", "true", "on"}) {
    RunSettings s;
    applyConfigText(std::string("huge_pages = ") + on + "\nallow_compaction = " + on + "\n", "test.cfg", s);
    EXPECT_TRUE(s.huge_pages) << on;
    EXPECT_TRUE(s.vmm.allow_compaction) << on;
  }
  for (const char *off : {"0", "false", "off"}) {
    RunSettings s;
    s.huge_pages = true;
    applyConfigText(std::string("huge_pages = ") + off + "\nallow_compaction = " + off + "\n", "test.cfg", s);
    EXPECT_FALSE(s.huge_pages) << off;
    EXPECT_FALSE(s.vmm.allow_compaction) << off;
  }
  for (const char *bad : {"TRUE", "yes", "2", "01"})
    EXPECT_EQ(errorOf(std::string("huge_pages = ") + bad + "\n"),
              std::string("test.cfg:1: huge_pages: expected 0 or 1, got '") + bad + "'")
        << bad;
  const PageSize sizes[] = {PageSize::Size4K, PageSize::Size2M, PageSize::Size1G};
  const char *names[] = {"4k", "2m", "1g"};
  for (int i = 0; i < 3; ++i) {
    RunSettings s;
    applyConfigText(std::string("memory_mib = 1024\nmax_ept_page = ") + names[i] + "\n", "test.cfg", s);
    EXPECT_EQ(s.vmm.memory.max_ept_page, sizes[i]) << names[i];
  }
  for (const char *bad : {"4K", "1G", "", "4k2m"}) {
    if (*bad == '\0')
      continue;
    EXPECT_EQ(errorOf(std::string("max_ept_page = ") + bad + "\n"),
              std::string("test.cfg:1: max_ept_page: expected 4k|2m|1g, got '") + bad + "'")
        << bad;
  }
}

// The EPT page a KVM host with THP gives is the default; one the guest cannot hold is an error
// naming the key and its line, not a silent fall back to smaller pages.
TEST(ConfigEdges, MaxEptPageDefaultsTo2MAndA1GPageNeedsA1GGuest) {
  EXPECT_EQ(RunSettings{}.vmm.memory.max_ept_page, PageSize::Size2M);
  EXPECT_EQ(errorOf("max_ept_page = 1g\n"),
            "test.cfg:1: max_ept_page: 1g needs memory_mib >= 1024, the guest has 256 MiB (use 2m or 4k)");
  EXPECT_EQ(errorOf("max_ept_page = 1g\nmemory_mib = 1022\n"),
            "test.cfg:1: max_ept_page: 1g needs memory_mib >= 1024, the guest has 1022 MiB (use 2m or 4k)");
  RunSettings s;
  applyConfigText("max_ept_page = 1g\nmemory_mib = 1024\n", "test.cfg", s);
  EXPECT_EQ(s.vmm.memory.max_ept_page, PageSize::Size1G);
}

TEST(ConfigEdges, HostAllocationIsLazyByDefaultAndItsCostsAreKeys) {
  EXPECT_TRUE(RunSettings{}.vmm.memory.lazy);
  RunSettings s;
  applyConfigText("host_allocation = eager\nhost_alloc = 7\nhost_clear_page = 9\n", "test.cfg", s);
  EXPECT_FALSE(s.vmm.memory.lazy);
  EXPECT_EQ(s.vmm.costs.host_alloc, 7u);
  EXPECT_EQ(s.vmm.costs.host_clear_page, 9u);
  EXPECT_EQ(errorOf("host_allocation = lazily\n"), "test.cfg:1: host_allocation: expected lazy|eager, got 'lazily'");
  EXPECT_EQ(errorOf("host_alloc = 1000000001\n"),
            "test.cfg:1: host_alloc: expected a whole number in 0..1000000000, got '1000000001'");
}

TEST(ConfigEdges, ExitCostsKeepTheAdaptiveEstimateInStep) {
  RunSettings s;
  EXPECT_EQ(s.adaptive.exit_cycles, 1'500u + 2'000u + 200u) << "round trip, indirect cost, handler";
  applyConfigText("exit_handler = 300\n", "test.cfg", s);
  EXPECT_EQ(s.vmm.costs.exit_handler, 300u);
  EXPECT_EQ(s.adaptive.exit_cycles, vmm::CostConfig{}.exit_round_trip + vmm::kCitedExitIndirect + 300);
  applyConfigText("exit_round_trip = 2000\nexit_indirect = 0\n", "test2.cfg", s);
  EXPECT_EQ(s.adaptive.exit_cycles, 2'300u);
  applyConfigText("shadow_entry_write = 17\npage_move = 5\n", "test3.cfg", s);
  EXPECT_EQ(s.vmm.costs.shadow_entry_write, 17u);
  EXPECT_EQ(s.vmm.costs.page_move, 5u);
  EXPECT_EQ(s.adaptive.exit_cycles, 2'300u);
  EXPECT_EQ(s.adaptive.prefetch_install_cycles, 17u) << "one shadow entry written per prefetched entry";
  // A prefetch reads the 511 other entries of the faulting entry's table.
  applyConfigText("prefetch_entry_read = 3\n", "test4.cfg", s);
  EXPECT_EQ(s.adaptive.prefetch_scan_cycles, 511u * 3);
}

TEST(ConfigEdges, EveryKeySetsItsOwnField) {
  RunSettings s;
  applyConfigText("guest.clear_page = 11\nguest.copy_page = 12\nguest.syscall = 13\n"
                  "guest.context_switch = 14\nguest.process_lifecycle = 15\n"
                  "hit_cycles = 21\naccess_cycles = 22\nguest_entry_read = 23\nprefetch_entry_read = 24\n"
                  "shadow_table_alloc = 25\nshadow_table_free = 26\nemulate_write = 27\ncontrol_command = 28\n"
                  "tlb.2m.sets = 4\ntlb.1g.ways = 2\nntlb.4k.sets = 8\nntlb.2m.ways = 8\nntlb.1g.sets = 2\n"
                  "psc.l3.sets = 2\npsc.l5.ways = 2\n"
                  "adaptive.patience = 5\nadaptive.cooldown = 6\nadaptive.horizon_factor = 0.5\n"
                  "adaptive.switch_base_cycles = 8\n",
                  "test.cfg", s);
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
  EXPECT_DOUBLE_EQ(s.adaptive.horizon_factor, 0.5);
  EXPECT_EQ(s.adaptive.switch_base_cycles, 8u);
}

// §10.3: an EPT PSC level may be removed (ways = 0), no other array; its ways are still powers
// of two otherwise.
TEST(ConfigEdges, EptPscLevelsTakeZeroWays) {
  RunSettings s;
  applyConfigText("ept_psc.l2.ways = 0\nept_psc.l4.sets = 16\n", "test.cfg", s);
  EXPECT_EQ(s.mmu.ept_psc[0].ways, 0u);
  EXPECT_EQ(s.mmu.ept_psc[2].sets, 16u);
  EXPECT_EQ(s.mmu.ept_psc[1].ways, 4u);  // §1's default
  EXPECT_EQ(s.mmu.validate(), "");
  EXPECT_EQ(errorOf("ept_psc.l3.ways = 3\n").rfind("test.cfg:1: ept_psc.l3.ways", 0), 0u)
      << errorOf("ept_psc.l3.ways = 3\n");
  EXPECT_NE(errorOf("psc.l2.ways = 0\n"), "");
}

TEST(ConfigEdges, TheModelsGeometryCheckNamesTheLineOfItsKey) {
  EXPECT_EQ(errorOf("# geometry\ninterval = 5\ntlb.4k.ways = 3\n").rfind("test.cfg:3: tlb.4k.ways", 0), 0u)
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
