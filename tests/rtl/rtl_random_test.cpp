// Random cosimulation of the verilated MMU against the golden model: several VMs in every
// mode share the MMU; requests hit mapped and unmapped pages of every size with every access
// type; control commands (invalidations, mode switches, escape updates) and table corruptions
// (reserved bits, EPT misconfigurations, cleared entries) are interleaved. Every response,
// operation list and latency is compared, and all counters at the end.
//
// The scenario follows the configuration of the library under test: tables have its levels and
// PaBits, corruptions use its reserved bits, and when it has fewer context slots than the four
// VMs, the VMs share the slots in time slices (see scheduledRequest()): the VMM keeps each VM's
// registers and loads them into a slot when the VM runs.
//
// VMMU_RTL_RANDOM_REQUESTS sets the number of requests (default 3000; each seed of the
// regression below: 5000); VMMU_RTL_RANDOM_SEED the seed of the first test (default 1).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>
#include <random>
#include <vector>

#include "cosim.h"
#include "rtl_test_env.h"
#include "vmmu_rtl_config.h"

namespace vmmu::rtltest {
namespace {

uint64_t envOr(const char *name, uint64_t fallback) {
  const char *value = std::getenv(name);
  return value ? std::strtoull(value, nullptr, 0) : fallback;
}

// DIRECT guest-physical pages that the escape filter may name (mapped by the DIRECT VM's EPT).
constexpr uint64_t kEscapeWindow = 0x38'0000;

struct Page {
  uint16_t vpid;
  uint64_t va;
  PageSize size;
};

// The scenario's VMs (0 host, 1 NESTED on 4K EPT, 2 NESTED on 2M EPT, 3 DIRECT) and the escape
// registers the DIRECT VM writes (those at or past EscapeEntries do not exist and are ignored).
constexpr unsigned kVms = 4;
constexpr unsigned kEscapeRegsWritten = 4;

// A VM's context registers as its VMM keeps them, and the slot that holds them (if any).
struct VmContext {
  uint16_t vpid = 0;
  Mode mode = Mode::Native;
  uint64_t cr3 = 0, eptp = 0, gbase = 0, gsize = 0;
  bool guest_ad = false;
  std::array<uint64_t, kEscapeRegsWritten> escapes{};
  int slot = -1;
};

class RandomScenario {
public:
  RandomScenario(Cosim &sim, uint64_t seed)
      : sim_(sim), config_(sim.config()), rng_(seed),
        host_tables_(kHostTablesBase, kHostTablesLimit),
        native_(hostTables(config_, sim.tables(), host_tables_)),
        nested_(config_, sim.tables(), host_tables_, PageSize::Size4K),
        nested_large_(config_, sim.tables(), host_tables_, PageSize::Size2M),
        direct_(config_, sim.tables()),
        direct_ept_(eptTables(config_, sim.tables(), host_tables_)),
        slots_(std::min(config_.num_contexts, kVms)) {
    // VM 0: host (NATIVE), 1: NESTED on 4K EPT, 2: NESTED on 2M EPT with A/D, 3: DIRECT.
    vms_[0] = VmContext{vmVpid(0), Mode::Native, native_.root(), 0, 0, 0, true, {}, -1};
    vms_[1] = VmContext{vmVpid(1), Mode::Nested, nested_.guest->root(), nested_.ept.eptp(), 0, 0,
                        true, {}, -1};
    vms_[2] = VmContext{vmVpid(2), Mode::Nested, nested_large_.guest->root(),
                        nested_large_.ept.eptp(true), 0, 0, false, {}, -1};
    vms_[3] = VmContext{vmVpid(3), Mode::Direct, direct_.guest.root(), direct_ept_.eptp(true),
                        kDirectBase, kDirectSize, true, {}, -1};
    for (unsigned k = 0; k < kEscapeRegsWritten; ++k)
      vms_[3].escapes[k] = (kEscapeWindow + (uint64_t{k} << 12)) | 1;
    for (uint64_t gpa = kEscapeWindow; gpa < kEscapeWindow + 0x4'0000; gpa += 0x1000)
      direct_ept_.map(gpa, kDirectBase + 0x100'0000 + gpa, PageSize::Size4K);
    for (unsigned vm = 0; vm < slots_; ++vm)
      load(vm, vm);
    for (unsigned i = 0; i < 40; ++i)
      mapRandom();
    // A DIRECT page on each gPA the escape registers name at first, so that escapes are
    // exercised whatever the draws (its PDPT index, 3, is outside mapRandom's pool).
    for (unsigned k = 0; k < kEscapeRegsWritten; ++k) {
      const uint64_t va = (uint64_t{3} << 30) | (uint64_t{k} << 12);
      direct_.guest.map(va, kEscapeWindow + (uint64_t{k} << 12), PageSize::Size4K,
                        pte::RW | pte::US);
      pages_.push_back(Page{vmVpid(3), va, PageSize::Size4K});
    }
  }

  void step() {
    const unsigned dice = pick(200);
    if (dice < 6) {
      mapRandom();
    } else if (dice < 8) {
      corruptRandom();
    } else if (dice < 16) {
      controlRandom();
    } else {
      sim_.check(scheduledRequest());
    }
  }

private:
  unsigned pick(unsigned n) { return std::uniform_int_distribution<unsigned>(0, n - 1)(rng_); }

  // Writes every register of `vm` into `slot`, which the VM then holds (and its previous
  // holder no longer does).
  void load(unsigned vm, unsigned slot) {
    for (VmContext &other : vms_)
      if (other.slot == static_cast<int>(slot))
        other.slot = -1;
    VmContext &c = vms_[vm];
    c.slot = static_cast<int>(slot);
    setContext(sim_, slot, c.vpid, c.mode, c.cr3, c.eptp, c.gbase, c.gsize, c.guest_ad);
    for (unsigned k = 0; k < kEscapeRegsWritten; ++k)  // also clears the previous holder's
      sim_.writeReg(slot, escapeReg(k), c.escapes[k]);
  }

  // A register write to a VM: kept in its context, and written to its slot if it has one.
  void writeVmReg(unsigned vm, CtxReg reg, uint64_t value) {
    VmContext &c = vms_[vm];
    if (reg == CtxReg::Mode)
      c.mode = static_cast<Mode>(value);
    else if (reg == CtxReg::Flags)
      c.guest_ad = value & 1;
    else  // the only other registers the scenario writes are escape entries
      c.escapes.at(static_cast<unsigned>(reg) - static_cast<unsigned>(CtxReg::EscapeBase)) = value;
    if (c.slot >= 0)
      sim_.writeReg(static_cast<unsigned>(c.slot), reg, value);
  }

  // A random request. With fewer slots than VMs, the VMs run in time slices: a request for a
  // VM without a slot is mostly replaced by a new draw, and now and then its VMM loads that VM
  // into a random slot (a context switch, which flushes both VMs' cached translations, §3).
  // Switching on every such request would leave the TLB cold. A request that still names a VM
  // without a slot is a NO_CONTEXT fault. Draws nothing extra when every VM has a slot.
  Request scheduledRequest() {
    Request req = randomRequest();
    for (unsigned tries = 0; tries < 8; ++tries) {
      const unsigned vm = vmOf(req.vpid);
      if (vm == kVms || vms_[vm].slot >= 0)
        break;
      if (pick(16) == 0) {
        load(vm, pick(slots_));
        break;
      }
      req = randomRequest();
    }
    return req;
  }

  // The VM with `vpid`, or kVms for a VPID no VM has.
  unsigned vmOf(uint16_t vpid) const {
    unsigned vm = 0;
    while (vm < kVms && vms_[vm].vpid != vpid)
      ++vm;
    return vm;
  }

  // A VA from the pool the scenario maps: a few entries per level so that walks share tables
  // and caches and conflict in them (with GuestLevels = 5, the top level gets two entries too).
  uint64_t poolVa(unsigned top_index) {
    uint64_t va = (uint64_t{top_index} << 39);
    if (config_.guest_levels == 5)
      va |= uint64_t{pick(2)} << 48;
    return va;
  }
  uint64_t flags() {
    uint64_t f = 0;
    if (pick(8) != 0) f |= pte::RW;
    if (pick(4) != 0) f |= pte::US;
    if (pick(8) == 0) f |= pte::NX;
    if (pick(8) == 0) f |= pte::G;
    if (pick(3) == 0) f |= pte::A;
    if (pick(4) == 0) f |= pte::D;
    return f;
  }

  // Picks a VM and maps a page of random size at a random VA (from a small pool so that
  // requests hit, share tables and caches, and conflict).
  void mapRandom() {
    const unsigned vm = pick(4);
    const PageSize size = static_cast<PageSize>(pick(5) < 3 ? 0 : pick(4) < 3 ? 1 : 2);
    const uint64_t bytes = pageBytes(size);
    const uint64_t va = (poolVa(pick(4)) | (uint64_t{pick(3)} << 30) |
                         (uint64_t{pick(4)} << 21) | (uint64_t{pick(16)} << 12)) &
                        ~(bytes - 1);
    // A quarter in the upper canonical half (bits 63..VaBits-1 set).
    const uint64_t upper_half = ~uint64_t{0} << (config_.vaBits() - 1);
    const uint64_t canonical_va = pick(4) == 0 ? (va | upper_half) : va;
    // Guest-physical frames below the tables (which start at 48 MiB).
    uint64_t gpa = (uint64_t{pick(24)} << 21) & ~(bytes - 1);
    if (size == PageSize::Size1G) gpa = 0;  // only gPA 0 keeps a 1G page inside guest RAM
    if (size == PageSize::Size4K) gpa |= uint64_t{pick(512)} << 12;
    try {
      switch (vm) {
      case 0: native_.map(canonical_va, 0x2000'0000 + gpa, size, flags()); break;
      case 1: nested_.guest->map(canonical_va, gpa, size, flags()); break;
      case 2: nested_large_.guest->map(canonical_va, gpa, size, flags()); break;
      default:
        // Some DIRECT pages land in the escaped window or past GSIZE.
        if (size == PageSize::Size4K && pick(3) == 0)
          gpa = kEscapeWindow + (uint64_t{pick(8)} << 12);
        if (pick(10) == 0) gpa = kDirectSize + (gpa & 0x3f'ffff & ~(bytes - 1));
        direct_.guest.map(canonical_va, gpa, size, flags());
        break;
      }
      pages_.push_back(Page{vmVpid(vm), canonical_va, size});
    } catch (const std::exception &) {
      // Overlaps a page of another size: keep the tables as they are.
    }
  }

  static uint16_t vmVpid(unsigned vm) { return vm == 0 ? 0 : static_cast<uint16_t>(10 + vm); }

  // Corrupts one entry of a mapped page's walk (reserved bit, EPT misconfig, not present).
  void corruptRandom() {
    if (pages_.empty()) return;
    const Page &page = pages_[pick(static_cast<unsigned>(pages_.size()))];
    const unsigned leaf_level = 1 + static_cast<unsigned>(page.size);
    const unsigned level = leaf_level + pick(config_.guest_levels - leaf_level + 1);
    GuestPageTables *tables = page.vpid == 0 ? &native_ : page.vpid == 11 ? nested_.guest.get()
                              : page.vpid == 12 ? nested_large_.guest.get() : &direct_.guest;
    try {
      const uint64_t entry = tables->readEntry(page.va, level);
      const uint64_t bad[] = {entry | lowestReservedAddressBit(config_), entry & ~pte::P,
                              entry & ~pte::RW, entry | pte::PS, entry & ~pte::US};
      tables->writeEntry(page.va, level, bad[pick(5)]);
    } catch (const std::exception &) {
      return;
    }
    if (pick(3) == 0) {  // and sometimes an EPT entry of the 4K-EPT VM
      const uint64_t gpa = uint64_t{pick(24)} << 21;
      const unsigned ept_level = 1 + pick(config_.nested_levels);
      try {
        const uint64_t e = nested_.ept.readEntry(gpa, ept_level);
        const uint64_t bad[] = {e & ~ept::R, e & ~ept::W, e & ~uint64_t{7}, e | (6ull << 3),
                                e & ~ept::X};
        nested_.ept.writeEntry(gpa, ept_level, bad[pick(5)]);
      } catch (const std::exception &) {
      }
    }
  }

  void controlRandom() {
    const uint16_t vpid = vmVpid(pick(4));
    const uint64_t va = pages_.empty() ? 0 : pages_[pick(static_cast<unsigned>(pages_.size()))].va;
    switch (pick(8)) {
    case 0: sim_.control(CtrlOp::InvAddr, 0, 0, va + (uint64_t{pick(512)} << 12), vpid, 0); break;
    case 1: sim_.control(CtrlOp::InvPcid, 0, 0, 0, vpid, static_cast<uint16_t>(pick(3))); break;
    case 2: sim_.control(CtrlOp::InvVpid, 0, 0, 0, vpid, 0); break;
    case 3: sim_.control(CtrlOp::InvEptp, 0, 0, nested_.ept.eptp(), 0, 0); break;
    case 4: if (pick(4) == 0) sim_.control(CtrlOp::InvAll, 0, 0, 0, 0, 0); break;
    case 5: {  // escape entries of the DIRECT VM come and go
      const unsigned valid = pick(4) != 0;
      const uint64_t page = kEscapeWindow + (uint64_t{pick(8)} << 12);
      writeVmReg(3, escapeReg(pick(kEscapeRegsWritten)), page | valid);
      break;
    }
    case 6:  // the host switches between NATIVE and SHADOW (same tables)
      writeVmReg(0, CtxReg::Mode, pick(2) ? static_cast<uint64_t>(Mode::Shadow)
                                          : static_cast<uint64_t>(Mode::Native));
      break;
    default: writeVmReg(1, CtxReg::Flags, pick(2)); break;
    }
  }

  Request randomRequest() {
    Request req;
    if (!pages_.empty() && pick(8) != 0) {
      // Mostly recently mapped pages (locality, so the TLB hits), sometimes any page.
      const unsigned n = static_cast<unsigned>(pages_.size());
      const Page &page = pages_[pick(2) ? n - 1 - pick(n < 12 ? n : 12) : pick(n)];
      req.vpid = page.vpid;
      std::uniform_int_distribution<uint64_t> offset(0, pageBytes(page.size) - 1);
      req.va = page.va + (offset(rng_) & ~7ull);
    } else {
      req.vpid = pick(10) == 0 ? 99 : vmVpid(pick(4));
      req.va = poolVa(pick(4)) | (uint64_t{pick(1u << 20)} << 12);
      if (pick(20) == 0) req.va |= lowestNonCanonicalVa(config_);
    }
    req.pcid = static_cast<uint16_t>(pick(3));
    req.access = static_cast<Access>(pick(8) == 0 ? 2 : pick(2));
    req.user = pick(4) == 0;
    return req;
  }

  Cosim &sim_;
  const MmuConfig &config_;
  std::mt19937_64 rng_;
  FrameAllocator host_tables_;
  GuestPageTables native_;
  NestedGuest nested_;
  NestedGuest nested_large_;
  DirectGuest direct_;
  EptTables direct_ept_;
  const unsigned slots_;  // context slots the scenario uses: min(NumContexts, kVms)
  std::array<VmContext, kVms> vms_;
  std::vector<Page> pages_;
};

void printCounters(Cosim &sim) {
  for (unsigned i = 0; i < kNumCounters; ++i)
    std::printf("  %-22s %llu\n", std::string(toString(static_cast<Counter>(i))).c_str(),
                static_cast<unsigned long long>(sim.dut().counter(i)));
}

TEST(RtlRandom, CosimulationAgainstTheModel) {
  const uint64_t requests = envOr("VMMU_RTL_RANDOM_REQUESTS", 3000);
  const uint64_t seed = envOr("VMMU_RTL_RANDOM_SEED", 1);
  Cosim sim(MemoryBehaviour{1, 4, 25, seed});
  RandomScenario scenario(sim, seed);
  for (uint64_t i = 0; i < requests && sim.mismatches() < 5; ++i)
    scenario.step();
  EXPECT_EQ(sim.mismatches(), 0u) << "seed " << seed << ", parameter set " << rtl::kParameterSet;
  sim.expectCountersMatch();
  // The mix must exercise every kind of outcome, or the comparison proves little.
  DutHarness &dut = sim.dut();
  EXPECT_GT(dut.counter(Counter::TlbHits), requests / 20);
  EXPECT_GT(dut.counter(Counter::Walks), requests / 20);
  EXPECT_GT(dut.counter(Counter::NtlbHits), 0u);
  EXPECT_GT(dut.counter(Counter::PscHitsL2), 0u);
  EXPECT_GT(dut.counter(Counter::GuestAdUpdates), 0u);
  EXPECT_GT(dut.counter(Counter::NestedAdUpdates), 0u);
  EXPECT_GT(dut.counter(Counter::FaultGuestPf), 0u);
  EXPECT_GT(dut.counter(Counter::FaultBounds), 0u);
  EXPECT_GT(dut.counter(Counter::FaultEptViolation) + dut.counter(Counter::FaultEptMisconfig), 0u);
  if (sim.config().escape_entries > 0) {
    EXPECT_GT(dut.counter(Counter::Escapes), 0u);
  }
  EXPECT_GT(dut.counter(Counter::PermRefills), 0u);
  if (sim.config().hasStlb()) {
    EXPECT_GT(dut.counter(Counter::StlbHits4K), 0u);
    EXPECT_GT(dut.counter(Counter::StlbHits2M), 0u);
  }
  printCounters(sim);
}

// The random regression: the scenario over many seeds, in kRegressionEntries CTest entries (so
// that `ctest -j` runs them side by side) of kSeedsPerEntry seeds each, kStepsPerSeed steps a
// seed, on both parameter sets: about 0.74 million checked translations in all. With the
// testbench's regression (tb/, the default set) the default CTest run checks more than a million
// random translations against the model. A seed runs a fresh DUT and model: the scenario breaks
// table entries as it goes, so a short run keeps most of its requests translating (a seed of
// 25,000 steps ends with most of them faulting). Odd seeds draw each memory operation's latency
// from 2..60 cycles without stalls, so the harness skips the waits (§12); even seeds keep the
// short latencies and stalls of the test above. Besides every response, operation and counter
// matching, each entry must have exercised what the first-level tests cannot: STLB hits of both
// sizes and misses (§9.2), commands that swept STLB entries away, EPT PSC hits (§10.3) above
// level 2 as well, and INV_EPTP or INV_ALL removing EPT PSC entries.
constexpr unsigned kRegressionEntries = 8;
constexpr unsigned kSeedsPerEntry = 10;
constexpr uint64_t kStepsPerSeed = 5000;

class RtlRandomRegression : public ::testing::TestWithParam<unsigned> {};

TEST_P(RtlRandomRegression, SeedsAgainstTheModel) {
  const uint64_t steps = envOr("VMMU_RTL_RANDOM_REQUESTS", kStepsPerSeed);
  std::array<uint64_t, kNumCounters> counters{};
  uint64_t stlb_sweeps = 0, ept_psc_invalidations = 0;
  MmuConfig config;
  for (unsigned k = 0; k < kSeedsPerEntry; ++k) {
    const uint64_t seed = 1000 + uint64_t{GetParam()} * kSeedsPerEntry + k;
    Cosim sim(seed % 2 ? MemoryBehaviour{2, 60, 0, seed} : MemoryBehaviour{1, 4, 25, seed});
    RandomScenario scenario(sim, seed);
    for (uint64_t i = 0; i < steps && sim.mismatches() < 5; ++i)
      scenario.step();
    EXPECT_EQ(sim.mismatches(), 0u) << "seed " << seed << ", parameter set " << rtl::kParameterSet;
    sim.expectCountersMatch();
    for (unsigned c = 0; c < kNumCounters; ++c)
      counters[c] += sim.dut().counter(c);
    stlb_sweeps += sim.stlbSweepsThatRemoved();
    ept_psc_invalidations += sim.eptPscInvalidationsThatRemoved();
    config = sim.config();
  }
  const auto count = [&](Counter c) { return counters[static_cast<unsigned>(c)]; };
  const uint64_t lookups = count(Counter::Lookups);
  EXPECT_GT(lookups, kSeedsPerEntry * steps * 8 / 10);
  EXPECT_GT(count(Counter::TlbHits), lookups / 20);
  EXPECT_GT(count(Counter::Walks), lookups / 20);
  EXPECT_GT(count(Counter::PermRefills), 0u);
  if (config.hasStlb()) {
    EXPECT_GT(count(Counter::StlbHits4K), 0u);
    EXPECT_GT(count(Counter::StlbHits2M), 0u);
    EXPECT_GT(count(Counter::StlbMisses4K), 0u);
    EXPECT_GT(count(Counter::StlbMisses2M), 0u);
    EXPECT_GT(stlb_sweeps, 0u);
  }
  if (config.ept_psc[0].ways != 0) {
    uint64_t above_l2 = 0;
    for (unsigned level = 3; level <= config.nested_levels; ++level)
      above_l2 += counters[static_cast<unsigned>(Counter::EptPscHitsL2) + level - 2];
    EXPECT_GT(count(Counter::EptPscHitsL2), 0u);
    EXPECT_GT(above_l2, 0u) << "no EPT PSC hit above level 2";
    EXPECT_GT(ept_psc_invalidations, 0u);
  }
  for (unsigned c = 0; c < kNumCounters; ++c)
    std::printf("  %-22s %llu\n", std::string(toString(static_cast<Counter>(c))).c_str(),
                static_cast<unsigned long long>(counters[c]));
  std::printf("  STLB sweeps that removed entries %llu, EPT PSC invalidations that removed %llu\n",
              static_cast<unsigned long long>(stlb_sweeps),
              static_cast<unsigned long long>(ept_psc_invalidations));
}

INSTANTIATE_TEST_SUITE_P(Seeds, RtlRandomRegression, ::testing::Range(0u, kRegressionEntries));

// §12 memory-wait skipping: the random scenario run twice on fresh DUTs, the harness skipping
// memory waits in one run and clocking every cycle in the other, gives the same responses,
// operation lists, per-operation cycles and latencies, the same memory transfers in the same
// cycles with the same data, the same cycle after every response and at the end, and the same
// counters (WALK_CYCLES included, which the skipping harness accounts). Each run is also
// cosimulated against the model. The behaviours cover a fixed latency (RtlBackend's 30-cycle
// operation), latencies drawn per operation, and request back-pressure on top.
struct SkipCase {
  const char *name;
  MemoryBehaviour behaviour;
};

struct ScenarioRecord {
  std::vector<Cosim::Checked> checks;
  std::vector<VerilatedDutHarness::MemoryEvent> memory;
  std::vector<uint64_t> counters;
  uint64_t cycles = 0;
  uint64_t skipped = 0;
};

ScenarioRecord runScenario(const MemoryBehaviour &behaviour, bool skip, uint64_t steps) {
  ScenarioRecord record;
  Cosim sim(behaviour);
  sim.dut().setCycleSkip(skip);
  sim.logChecks(&record.checks);
  sim.dut().logMemory(&record.memory);
  RandomScenario scenario(sim, behaviour.seed);
  for (uint64_t i = 0; i < steps && sim.mismatches() < 5; ++i)
    scenario.step();
  EXPECT_EQ(sim.mismatches(), 0u) << (skip ? "skipping" : "cycle by cycle");
  sim.expectCountersMatch();
  for (unsigned i = 0; i <= kNumCounters; ++i)
    record.counters.push_back(sim.dut().counter(i));
  record.cycles = sim.dut().cycle();
  record.skipped = sim.dut().skippedCycles();
  return record;
}

void PrintTo(const SkipCase &c, std::ostream *os) { *os << c.name; }

class RtlCycleSkip : public ::testing::TestWithParam<SkipCase> {};

TEST_P(RtlCycleSkip, SkippingMemoryWaitsChangesNothing) {
  constexpr uint64_t kSteps = 1500;
  const MemoryBehaviour &behaviour = GetParam().behaviour;
  const ScenarioRecord skipped = runScenario(behaviour, true, kSteps);
  const ScenarioRecord clocked = runScenario(behaviour, false, kSteps);

  EXPECT_EQ(clocked.skipped, 0u);
  // Every operation waits at least min_latency - 1 cycles; most walks make several.
  EXPECT_GT(skipped.skipped, clocked.cycles / 4) << "the skipping run must skip most of its waits";
  EXPECT_EQ(skipped.cycles, clocked.cycles);
  EXPECT_EQ(skipped.counters, clocked.counters);
  EXPECT_GT(clocked.counters[static_cast<unsigned>(Counter::WalkCycles)], 0u);
  ASSERT_EQ(skipped.checks.size(), clocked.checks.size());
  for (size_t i = 0; i < clocked.checks.size(); ++i) {
    const Cosim::Checked &a = skipped.checks[i], &b = clocked.checks[i];
    ASSERT_TRUE(a.dut.resp == b.dut.resp && a.dut.ops == b.dut.ops && a.dut.op_cycles == b.dut.op_cycles &&
                a.dut.latency == b.dut.latency && a.cycle_after == b.cycle_after)
        << "translation " << i << " differs: response cycle " << a.cycle_after << " vs " << b.cycle_after
        << ", latency " << a.dut.latency << " vs " << b.dut.latency;
  }
  ASSERT_EQ(skipped.memory.size(), clocked.memory.size());
  EXPECT_GT(clocked.memory.size(), kSteps);
  for (size_t i = 0; i < clocked.memory.size(); ++i)
    ASSERT_TRUE(skipped.memory[i] == clocked.memory[i])
        << "memory transfer " << i << ": cycle " << skipped.memory[i].cycle << " vs " << clocked.memory[i].cycle;
}

INSTANTIATE_TEST_SUITE_P(
    Latencies, RtlCycleSkip,
    ::testing::Values(SkipCase{"Fixed29", MemoryBehaviour{29, 29, 0, 3}},
                      SkipCase{"PerOperation1To40", MemoryBehaviour{1, 40, 0, 5}},
                      SkipCase{"PerOperation2To60WithStalls", MemoryBehaviour{2, 60, 25, 9}}),
    [](const ::testing::TestParamInfo<SkipCase> &info) { return std::string(info.param.name); });

}  // namespace
}  // namespace vmmu::rtltest
