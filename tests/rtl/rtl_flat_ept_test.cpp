// Flattened nested tables on the verilated MMU (docs/architecture.md §21): the cold and warm walks
// of the 2level and 1level formats, their large leaves, their faults (not present, denied,
// misconfigured, beyond the reach), the root's ignored bits 20:12, the reserved FMT code, and a
// random cosimulation that switches formats. Every translation is cosimulated against the golden
// model (Cosim::check); the reference lists, cycle counts and fault payloads are also asserted
// from §21's text, computed here for the configuration of the library under test (guest levels,
// whether it has an EPT PDE cache, PaBits).
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "cosim.h"
#include "rtl_test_env.h"
#include "vmmu/paging.h"

namespace vmmu::rtltest {
namespace {

constexpr uint64_t kVa = 0x0000'7000'0000'0000;  // canonical for 48- and 57-bit VAs
constexpr uint64_t kDataGpa = 0x20'0000;
constexpr uint64_t kGuestTablesBytes = 0x10'0000;
constexpr uint64_t k1G = uint64_t{1} << 30;
constexpr uint16_t kVpid = 9;

// With a memory latency of one cycle every operation costs c = 2 (§12).
constexpr MemoryBehaviour kFixedLatency{1, 1, 0, 1};

MemOp nestedRead(uint64_t addr, unsigned level) {
  return MemOp{addr, MemOpKind::Read, 0, Dim::Nested, static_cast<uint8_t>(level)};
}
MemOp guestRead(uint64_t addr, unsigned level) {
  return MemOp{addr, MemOpKind::Read, 0, Dim::Guest, static_cast<uint8_t>(level)};
}

// A guest behind a flattened EPT: its tables at gPA kGuestTablesGpa.. (4K EPT pages onto host
// kGuestRamHost + gPA), kVa mapped to kDataGpa. The EPT's 2 MiB tables come from the host-table
// allocator, 2 MiB aligned: the root first and, for 2level, the level-1 table of gPA [0, 1G),
// the first one a map() needs (from kHostTablesBase: 0x1000000 and 0x1200000).
struct FlatGuest {
  FlatGuest(const MmuConfig &config, PhysicalMemory &memory, FrameAllocator &host_tables, EptFormat format)
      : ept(memory, host_tables, config.nested_levels, config.pa_bits, format),
        guest_tables_alloc(kGuestTablesGpa, kGuestTablesGpa + kGuestTablesBytes) {
    for (uint64_t gpa = kGuestTablesGpa; gpa < kGuestTablesGpa + kGuestTablesBytes; gpa += 0x1000)
      ept.map(gpa, kGuestRamHost + gpa, PageSize::Size4K);
    for (uint64_t gpa = kDataGpa; gpa < kDataGpa + 0x8000; gpa += 0x1000)
      ept.map(gpa, kGuestRamHost + gpa, PageSize::Size4K);
    guest = std::make_unique<GuestPageTables>(memory, guest_tables_alloc, config.guest_levels, config.pa_bits,
                                              ept.hostMap());
    guest->map(kVa, kDataGpa, PageSize::Size4K, pte::RW);
  }
  uint64_t root() const { return ept.root(); }
  // 2level's level-1 table of gPA [0, 1G), where it keeps the entries of every gPA below; 1level's
  // one table.
  uint64_t level1() const { return ept.format() == EptFormat::Flat2 ? root() + 0x20'0000 : root(); }

  EptTables ept;
  FrameAllocator guest_tables_alloc;
  std::unique_ptr<GuestPageTables> guest;
};

class RtlFlatEpt : public ::testing::Test {
protected:
  Cosim sim{kFixedLatency};
  const MmuConfig &config = sim.config();
  FrameAllocator host_tables{kHostTablesBase, kHostTablesLimit};
  const unsigned n = config.guest_levels;

  // §12: a miss probes the STLB's 4K set alone when its 2M set holds no valid 2M entry (§9.2),
  // as before every walk these tests time (the STLB holds 4K translations only).
  uint64_t stlbProbeCycles() const { return config.hasStlb() ? 1 : 0; }
  // §12 with c = 2: START and DONE, XLATE and ANSWER per gPA translated, 2 per operation, less
  // one per early operation (the guest read below a PSC hit, each EPT walk's first read).
  uint64_t walkLatency(unsigned gpas, size_t ops, unsigned early) const {
    return stlbProbeCycles() + 2 + 2 * gpas + 2 * ops - early;
  }
  bool hasEptPdeCache() const { return config.ept_psc[0].ways != 0; }

  std::unique_ptr<FlatGuest> setUp(EptFormat format) {
    auto vm = std::make_unique<FlatGuest>(config, sim.tables(), host_tables, format);
    setContext(sim, 0, kVpid, Mode::Nested, vm->guest->root(), vm->ept.eptp());
    return vm;
  }
  DutTranslation access(uint64_t va, Access kind = Access::Read) {
    return sim.check(Request{kVpid, 0, va, kind, false});
  }
  uint64_t dutCounter(Counter c) { return sim.dut().counter(static_cast<unsigned>(c)); }

  // §21.1's entry addresses: 2level level 2 at root + 8 (gpa >> 30), level 1 at the level-1 table
  // + 8 ((gpa >> 12) & 0x3ffff); 1level at root + 8 ((gpa >> 12) & 0x3ffff).
  static MemOp flat2Level2(const FlatGuest &vm, uint64_t gpa) { return nestedRead(vm.root() + 8 * (gpa >> 30), 2); }
  static MemOp flatLevel1(const FlatGuest &vm, uint64_t gpa) {
    return nestedRead(vm.level1() + 8 * ((gpa >> 12) & 0x3ffff), 1);
  }

  // The references of a cold walk of kVa: per guest table (root first) the row that translates
  // its gPA and the guest read, then the final gPA's row. `row(gpa, first)` gives a row's EPT
  // reads; `first` is the CR3 row, the one that fills the EPT PDE cache.
  template <typename Row> std::vector<MemOp> coldWalk(const FlatGuest &vm, Row row) const {
    std::vector<MemOp> ops;
    uint64_t table_gpa = vm.guest->root();
    for (unsigned level = n; level >= 1; --level) {
      for (const MemOp &op : row(table_gpa, level == n))
        ops.push_back(op);
      ops.push_back(guestRead(kGuestRamHost + table_gpa + 8 * entryIndex(kVa, level), level));
      const uint64_t entry = vm.guest->readEntry(kVa, level);
      table_gpa = entry & 0x000f'ffff'ffff'f000;
    }
    for (const MemOp &op : row(kDataGpa, false))
      ops.push_back(op);
    return ops;
  }

  void TearDown() override {
    sim.expectCountersMatch();
    EXPECT_EQ(sim.mismatches(), 0u);
  }
};

TEST_F(RtlFlatEpt, TwoLevelColdWalkReadsTwoEptLevelsThenOneBelowTheLevel2Cache) {
  // §21.3: without an EPT PSC nm + n + m = 2n + n + 2 (14 for n = 4); with the level-2 cache the
  // CR3 row reads both levels and fills it (prefix gpa >> 30 = 0), every later row one (10).
  const auto vm = setUp(EptFormat::Flat2);
  ASSERT_EQ(vm->root(), 0x100'0000u);
  ASSERT_EQ(vm->ept.readEntry(0, 2) & ~uint64_t{0xfff}, 0x120'0000u) << "the level-1 table of [0, 1G)";
  const bool cached = hasEptPdeCache();
  const DutTranslation t = access(kVa + 0x123);
  EXPECT_EQ(t.resp.fault, Fault::None);
  EXPECT_EQ(t.resp.hpa, kGuestRamHost + kDataGpa + 0x123);
  EXPECT_EQ(t.resp.size, PageSize::Size4K);
  EXPECT_EQ(t.ops, coldWalk(*vm, [&](uint64_t gpa, bool first) {
              if (first || !cached)
                return std::vector<MemOp>{flat2Level2(*vm, gpa), flatLevel1(*vm, gpa)};
              return std::vector<MemOp>{flatLevel1(*vm, gpa)};
            }));
  EXPECT_EQ(t.ops.size(), cached ? 2 * n + 2 : 3 * n + 2);
  EXPECT_EQ(t.latency, walkLatency(n + 1, t.ops.size(), n + 1)) << "n + 1 EPT walks";
  EXPECT_EQ(dutCounter(Counter::EptPscHitsL2), cached ? n : 0);
  EXPECT_EQ(dutCounter(Counter::EptPscHitsL3), 0u);
  EXPECT_EQ(dutCounter(Counter::NestedReads), t.ops.size() - n);
  EXPECT_EQ(dutCounter(Counter::NtlbMisses), n + 1);
  // Warm: the guest PDE cache hits, the next page's gPA misses the nested TLB and reads level 1
  // below the level-2 cache (1 + 1), or both levels without it (1 + 2).
  vm->guest->map(kVa + 0x1000, kDataGpa + 0x1000, PageSize::Size4K);
  const DutTranslation warm = access(kVa + 0x1000);
  EXPECT_EQ(warm.resp.hpa, kGuestRamHost + kDataGpa + 0x1000);
  EXPECT_EQ(warm.ops.size(), cached ? 2u : 3u);
  EXPECT_EQ(warm.ops.back(), flatLevel1(*vm, kDataGpa + 0x1000));
}

TEST_F(RtlFlatEpt, OneLevelColdWalkReadsOneEptEntryPerRow) {
  // §21.3: nm + n + m = n + n + 1 (9 for n = 4), with or without EPT PSC (1level uses none).
  const auto vm = setUp(EptFormat::Flat1);
  ASSERT_EQ(vm->root(), 0x100'0000u);
  const DutTranslation t = access(kVa + 0x8);
  EXPECT_EQ(t.resp.fault, Fault::None);
  EXPECT_EQ(t.resp.hpa, kGuestRamHost + kDataGpa + 0x8);
  EXPECT_EQ(t.ops, coldWalk(*vm, [&](uint64_t gpa, bool) { return std::vector<MemOp>{flatLevel1(*vm, gpa)}; }));
  EXPECT_EQ(t.ops.size(), 2 * n + 1);
  // §21.6's 25 cycles for n = 4: 2 + 10 + 9 x 2 - 5 (each row's read presented in its ANSWER).
  EXPECT_EQ(t.latency, walkLatency(n + 1, 2 * n + 1, n + 1));
  EXPECT_EQ(dutCounter(Counter::EptPscHitsL2), 0u);
  EXPECT_EQ(access(kVa + 0x10).latency, 1u) << "a TLB hit";
}

TEST_F(RtlFlatEpt, LargeLeavesFillTheNestedTlbAtTheirSize) {
  // A replicated 2M leaf (level 1, LP) in both formats, and 2level's 1G leaf at level 2 (§21.2).
  for (const EptFormat format : {EptFormat::Flat2, EptFormat::Flat1}) {
    SCOPED_TRACE(toString(format));
    const auto vm = setUp(format);
    sim.control(CtrlOp::InvAll, 0, 0, 0, 0, 0);
    vm->ept.map(0x40'0000, kGuestRamHost + 0x40'0000, PageSize::Size2M);
    vm->guest->map(kVa + 0x10'0000, 0x40'0000, PageSize::Size4K);
    vm->guest->map(kVa + 0x10'1000, 0x5f'f000, PageSize::Size4K);
    const DutTranslation first = access(kVa + 0x10'0018);
    EXPECT_EQ(first.resp.hpa, kGuestRamHost + 0x40'0018);
    EXPECT_EQ(first.resp.size, PageSize::Size4K) << "splintered to the guest's 4K";
    EXPECT_EQ(first.ops.back(), flatLevel1(*vm, 0x40'0000));
    // Another 4K page of the 2M: the guest PTE only, the final gPA a 2M nested-TLB hit.
    const uint64_t misses = dutCounter(Counter::NtlbMisses);
    const DutTranslation second = access(kVa + 0x10'1010);
    EXPECT_EQ(second.resp.hpa, kGuestRamHost + 0x5f'f010);
    for (const MemOp &op : second.ops)
      EXPECT_EQ(op.dim, Dim::Guest) << "every gPA a nested-TLB hit";
    EXPECT_EQ(dutCounter(Counter::NtlbMisses), misses);
    if (config.psc[0].ways != 0) {  // the guest PDE cache leaves the PTE
      EXPECT_EQ(second.ops.size(), 1u);
      EXPECT_EQ(second.latency, walkLatency(1, 1, 1)) << "START presenting the read, XLATE, ANSWER (hit), DONE";
    }
  }
  const auto vm = setUp(EptFormat::Flat2);
  vm->ept.map(k1G, 0x8000'0000, PageSize::Size1G);
  vm->guest->map(kVa + 0x20'0000, k1G + 0x12'3000, PageSize::Size4K);
  vm->guest->map(kVa + 0x20'1000, k1G + 0x3ff0'0000, PageSize::Size4K);
  const DutTranslation t = access(kVa + 0x20'0456);
  EXPECT_EQ(t.resp.hpa, 0x8012'3456u);
  EXPECT_EQ(t.ops.back(), flat2Level2(*vm, k1G)) << "one EPT read for the final gPA: root + 8";
  const uint64_t misses = dutCounter(Counter::NtlbMisses);
  const DutTranslation far = access(kVa + 0x20'1008);
  EXPECT_EQ(far.resp.hpa, 0xbff0'0008u);
  EXPECT_EQ(dutCounter(Counter::NtlbMisses), misses) << "the final gPA hits the 1G nested-TLB entry";
}

TEST_F(RtlFlatEpt, NotPresentAndDeniedEntriesAreEptViolationsAtTheirLevel) {
  const auto vm = setUp(EptFormat::Flat2);
  vm->guest->map(kVa + 0x1000, 0x30'0000, PageSize::Size4K);  // level-1 entry absent
  vm->guest->map(kVa + 0x2000, k1G, PageSize::Size4K);        // level-2 entry absent
  const DutTranslation level1 = access(kVa + 0x1010, Access::Write);
  EXPECT_EQ(level1.resp.fault, Fault::EptViolation);
  EXPECT_EQ(level1.resp.fault_level, 1u);
  EXPECT_EQ(level1.resp.fault_addr, 0x30'0010u);
  EXPECT_EQ(level1.resp.fault_guest_level, 0u);
  // Write, R/W/X over the entries read = 0 (the faulting one is 0), linear valid, final.
  EXPECT_EQ(level1.resp.fault_info, eptq::Write | eptq::LinearValid | eptq::Final);
  EXPECT_TRUE(level1.resp.vm_exit);
  EXPECT_EQ(level1.ops.back(), flatLevel1(*vm, 0x30'0000));
  const DutTranslation level2 = access(kVa + 0x2010);
  EXPECT_EQ(level2.resp.fault, Fault::EptViolation);
  EXPECT_EQ(level2.resp.fault_level, 2u);
  EXPECT_EQ(level2.resp.fault_info, eptq::Read | eptq::LinearValid | eptq::Final);
  EXPECT_EQ(level2.ops.back(), flat2Level2(*vm, k1G));
  // A leaf that denies a write: bits 5:3 the AND over both entries read (R only).
  vm->ept.map(0x20'6000, kGuestRamHost + 0x20'6000, PageSize::Size4K, ept::R);
  vm->guest->map(kVa + 0x3000, 0x20'6000, PageSize::Size4K, pte::RW);
  const DutTranslation denied = access(kVa + 0x3000, Access::Write);
  EXPECT_EQ(denied.resp.fault, Fault::EptViolation);
  EXPECT_EQ(denied.resp.fault_level, 1u);
  EXPECT_EQ(denied.resp.fault_info, eptq::Write | eptq::Readable | eptq::LinearValid | eptq::Final);
}

TEST_F(RtlFlatEpt, GpaBeyondOneLevelsReachFaultsInAnswerWithoutAnEptRead) {
  // §21.1, §21.4: 1level reaches gPA < 1 GiB. The final gPA 1 GiB + 0x123 is an EPT violation at
  // level 1 with no R/W/X in the qualification; its row reads nothing and ends in ANSWER.
  const auto vm = setUp(EptFormat::Flat1);
  vm->guest->map(kVa + 0x1000, k1G, PageSize::Size4K, pte::RW);
  const DutTranslation t = access(kVa + 0x1123, Access::Exec);
  EXPECT_EQ(t.resp.fault, Fault::EptViolation);
  EXPECT_EQ(t.resp.fault_level, 1u);
  EXPECT_EQ(t.resp.fault_addr, k1G + 0x123);
  EXPECT_EQ(t.resp.fault_guest_level, 0u);
  EXPECT_EQ(t.resp.fault_info, eptq::Fetch | eptq::LinearValid | eptq::Final);
  EXPECT_TRUE(t.resp.vm_exit);
  ASSERT_EQ(t.ops.size(), 2 * n) << "n guest reads and n rows of one EPT read";
  EXPECT_EQ(t.ops.back(), guestRead(vm->guest->hostEntryAddress(kVa + 0x1000, 1).value(), 1));
  EXPECT_EQ(t.latency, walkLatency(n + 1, 2 * n, n)) << "n EPT walks; the final gPA's ANSWER reads nothing";
  EXPECT_EQ(dutCounter(Counter::FaultEptViolation), 1u);
  // A guest table beyond the reach: CR3 at 1 GiB. The first row faults for the guest root's entry
  // (§6: CR3 + 8 x index), a table read (no final bit), before any memory reference.
  sim.writeReg(0, CtxReg::Cr3, k1G);
  sim.control(CtrlOp::InvVpid, 0, 0, 0, kVpid, 0);  // a CR3 write keeps the PSC entries (§3)
  const DutTranslation root = access(kVa);
  EXPECT_EQ(root.resp.fault, Fault::EptViolation);
  EXPECT_EQ(root.resp.fault_level, 1u);
  EXPECT_EQ(root.resp.fault_addr, k1G + 8 * entryIndex(kVa, n));
  EXPECT_EQ(root.resp.fault_guest_level, n);
  EXPECT_EQ(root.resp.fault_info, eptq::Read | eptq::LinearValid);
  EXPECT_TRUE(root.ops.empty());
  EXPECT_EQ(root.latency, stlbProbeCycles() + 4) << "START, XLATE, ANSWER, DONE";
}

TEST_F(RtlFlatEpt, MisconfiguredEntriesByTheFlattenedRules) {
  // §21.2: a level-2 table pointer with bit 12 set (a level-1 table not 2 MiB aligned), met on the
  // CR3 row: EPT_MISCONFIG at level 2 for the guest root's entry, qualification 0.
  const auto vm = setUp(EptFormat::Flat2);
  const uint64_t good = vm->ept.readEntry(0, 2);
  vm->ept.writeEntry(0, 2, good | 0x1000);
  const DutTranslation t = access(kVa);
  EXPECT_EQ(t.resp.fault, Fault::EptMisconfig);
  EXPECT_EQ(t.resp.fault_level, 2u);
  EXPECT_EQ(t.resp.fault_info, 0u);
  EXPECT_EQ(t.resp.fault_addr, vm->guest->root() + 8 * entryIndex(kVa, n));
  EXPECT_EQ(t.resp.fault_guest_level, n);
  EXPECT_EQ(t.ops, (std::vector<MemOp>{flat2Level2(*vm, vm->guest->root())}));
  EXPECT_EQ(t.latency, stlbProbeCycles() + 4 + 2 - 1) << "the EPT read presented in ANSWER (§12: early)";
  // Bits 6:3 of a table pointer too; the same bits in a 1G leaf (LP) are its memory type.
  vm->ept.writeEntry(0, 2, good | (2 << 3));
  EXPECT_EQ(access(kVa).resp.fault, Fault::EptMisconfig);
  vm->ept.writeEntry(0, 2, good);
  sim.control(CtrlOp::InvAll, 0, 0, 0, 0, 0);
  EXPECT_EQ(access(kVa).resp.fault, Fault::None);
  // A 1G leaf with bit 12 set, and a 2M leaf with bit 20 set (bits 29:12 and 20:12 of §21.2).
  vm->ept.writeEntry(k1G, 2, 0x8000'1000 | 7 | ept::kMemTypeWB | ept::LP);
  vm->guest->map(kVa + 0x1000, k1G, PageSize::Size4K);
  const DutTranslation leaf1g = access(kVa + 0x1000);
  EXPECT_EQ(leaf1g.resp.fault, Fault::EptMisconfig);
  EXPECT_EQ(leaf1g.resp.fault_level, 2u);
  EXPECT_EQ(leaf1g.resp.fault_guest_level, 0u);
  const auto flat1 = setUp(EptFormat::Flat1);
  flat1->ept.writeEntry(kDataGpa, 1, (kGuestRamHost + 0x10'0000) | 7 | ept::kMemTypeWB | ept::LP);
  const DutTranslation leaf2m = access(kVa);
  EXPECT_EQ(leaf2m.resp.fault, Fault::EptMisconfig);
  EXPECT_EQ(leaf2m.resp.fault_level, 1u);
  EXPECT_EQ(leaf2m.resp.fault_addr, kDataGpa);
  // Without LP the same bits are a 4K frame.
  flat1->ept.writeEntry(kDataGpa, 1, (kGuestRamHost + 0x10'0000) | 7 | ept::kMemTypeWB);
  sim.control(CtrlOp::InvAll, 0, 0, 0, 0, 0);
  EXPECT_EQ(access(kVa + 0x45).resp.hpa, kGuestRamHost + 0x10'0045);
}

TEST_F(RtlFlatEpt, RootBits20To12AreIgnoredAndTheReservedCodeWalksAsRadix) {
  // §21.1: the root table is at EPTP[P-1:21]; the EPTP's bits 20:12 change no address.
  const auto vm = setUp(EptFormat::Flat1);
  sim.writeReg(0, CtxReg::Eptp, vm->ept.eptp() | 0x1f'f000);
  const DutTranslation t = access(kVa + 0x8);
  EXPECT_EQ(t.ops, coldWalk(*vm, [&](uint64_t gpa, bool) { return std::vector<MemOp>{flatLevel1(*vm, gpa)}; }));
  // FMT 3 is reserved and walks as RADIX: §5's cold walk of the configuration.
  FrameAllocator radix_tables{kHostTablesLimit, kHostTablesLimit + 0x100'0000};
  NestedGuest radix(config, sim.tables(), radix_tables, PageSize::Size4K);
  radix.guest->map(kVa, 0x200'0000, PageSize::Size4K);
  setContext(sim, 1, kVpid + 1, Mode::Nested, radix.guest->root(), radix.ept.eptp() | (uint64_t{3} << 8));
  const DutTranslation r = sim.check(Request{static_cast<uint16_t>(kVpid + 1), 0, kVa, Access::Read, false});
  EXPECT_EQ(r.resp.hpa, kGuestRamHost + 0x200'0000);
  EXPECT_EQ(r.ops.size(), coldNestedReads(config));
}

// Random requests over three EPTs of the same guest memory (4level, 2level, 1level) and the
// slot's switches between them: EPTP writes (A/D enable, root bits 20:12, a root reused with
// another format, which §21.5 leaves to software to invalidate), INV_EPTP, INV_VPID, INV_ALL,
// corrupted EPT leaves (not present, W without R, a reserved memory type, a misaligned 2M leaf),
// gPAs beyond 1level's reach, DIRECT with escaped gPAs walking the EPT; every translation
// compared with the model.
TEST_F(RtlFlatEpt, RandomCosimulationAcrossFormats) {
  std::mt19937_64 random(21);
  auto below = [&random](uint64_t n) { return random() % n; };
  constexpr uint64_t kRamBytes = 0x400'0000;  // 64 MiB of guest RAM, 4K or 2M EPT pages
  FrameAllocator radix_tables{kHostTablesLimit, kHostTablesLimit + 0x100'0000};
  std::vector<std::unique_ptr<EptTables>> epts;
  epts.push_back(std::make_unique<EptTables>(sim.tables(), radix_tables, config.nested_levels, config.pa_bits));
  epts.push_back(std::make_unique<EptTables>(sim.tables(), host_tables, config.nested_levels, config.pa_bits,
                                             EptFormat::Flat2));
  epts.push_back(std::make_unique<EptTables>(sim.tables(), host_tables, config.nested_levels, config.pa_bits,
                                             EptFormat::Flat1));
  for (const auto &ept : epts) {
    for (uint64_t gpa = 0; gpa < kRamBytes; gpa += 0x20'0000) {
      if (below(2) == 0 || (gpa >= kGuestTablesGpa && gpa < kGuestTablesGpa + kGuestTablesBytes)) {
        for (uint64_t page = gpa; page < gpa + 0x20'0000; page += 0x1000)
          ept->map(page, kGuestRamHost + page, PageSize::Size4K);
      } else {
        ept->map(gpa, kGuestRamHost + gpa, PageSize::Size2M);
      }
    }
  }
  // gPA [1G, 2G) as a 1G page where the format has one (not 1level, whose reach ends at 1G).
  epts[0]->map(k1G, 0x8000'0000, PageSize::Size1G);
  epts[1]->map(k1G, 0x8000'0000, PageSize::Size1G);
  FrameAllocator guest_alloc(kGuestTablesGpa, kGuestTablesGpa + kGuestTablesBytes);
  GuestPageTables guest(sim.tables(), guest_alloc, config.guest_levels, config.pa_bits, epts[0]->hostMap());
  std::vector<uint64_t> vas, gpas;
  for (unsigned i = 0; i < 256; ++i) {
    const uint64_t va = kVa + i * 0x4'0000 + below(64) * 0x1000;
    const uint64_t gpa = below(8) == 0 ? k1G + below(0x4'0000) * 0x1000 : below(kRamBytes >> 12) << 12;
    guest.map(va, gpa, PageSize::Size4K, pte::RW | pte::US);
    vas.push_back(va);
    gpas.push_back(gpa);
  }
  // What the stream reached, by the format of the EPTP in force: translations that read the EPT,
  // EPT violations, misconfigurations.
  unsigned format_in_force = 1;
  unsigned walks[4] = {}, violations[4] = {}, misconfigs[4] = {};
  auto eptp = [&](unsigned k) {
    const uint64_t base = epts[k]->eptp(below(2) == 0);
    return epts[k]->format() == EptFormat::Radix || below(4) != 0 ? base : base | below(0x200) << 12;
  };
  setContext(sim, 0, kVpid, Mode::Nested, guest.root(), eptp(1), kGuestRamHost, kRamBytes);
  const unsigned requests = 4000;
  for (unsigned i = 0; i < requests && sim.mismatches() == 0; ++i) {
    const unsigned roll = static_cast<unsigned>(below(1000));
    if (roll < 20) {
      const uint64_t value = eptp(static_cast<unsigned>(below(3)));
      sim.writeReg(0, CtxReg::Eptp, value);
      format_in_force = static_cast<unsigned>(eptFormatOf(value));
    } else if (roll < 25) {  // a root with another format's FMT
      const uint64_t value = (epts[below(3)]->eptp() & ~ept::kEptpFormatMask) | below(4) << 8;
      sim.writeReg(0, CtxReg::Eptp, value);
      format_in_force = 3;  // not counted
    } else if (roll < 35) {
      sim.control(CtrlOp::InvEptp, 0, 0, epts[below(3)]->eptp(), 0, 0);
    } else if (roll < 40) {
      sim.control(CtrlOp::InvVpid, 0, 0, 0, kVpid, 0);
    } else if (roll < 42) {
      sim.control(CtrlOp::InvAll, 0, 0, 0, 0, 0);
    } else if (roll < 52) {  // corrupt (or repair) a 4K data page's leaf in one EPT
      const uint64_t gpa = gpas[below(gpas.size())];
      EptTables &ept = *epts[below(3)];
      if (gpa < kRamBytes && ept.entryAddress(gpa, 1).has_value() && !(ept.readEntry(gpa, 1) & ept::LP)) {
        const uint64_t frame = kGuestRamHost + (gpa & ~uint64_t{0xfff});
        const uint64_t variants[] = {frame | 7 | ept::kMemTypeWB, frame | ept::W | ept::kMemTypeWB,
                                     frame | 7 | (2 << 3), (frame | 0x10'0000) | 7 | ept::kMemTypeWB | ept::LP,
                                     frame | ept::R | ept::kMemTypeWB, 0};
        ept.writeEntry(gpa, 1, variants[below(6)]);
      }
    } else if (roll < 60) {
      sim.writeReg(0, CtxReg::Mode, static_cast<uint64_t>(below(3) == 0 ? Mode::Direct : Mode::Nested));
    } else if (roll < 66 && config.escape_entries > 0) {
      const uint64_t gpa = gpas[below(gpas.size())] & ~uint64_t{0xfff};
      sim.writeReg(0, escapeReg(static_cast<unsigned>(below(config.escape_entries))), below(3) ? gpa | 1 : 0);
    } else if (roll < 70) {
      sim.writeReg(0, CtxReg::Flags, below(2));
    }
    const uint64_t va = below(16) == 0 ? kVa + below(0x400'0000) : vas[below(vas.size())] + below(0x1000);
    const DutTranslation t = sim.check(Request{kVpid, 0, va, static_cast<Access>(below(3)), below(2) == 0});
    bool read_ept = false;
    for (const MemOp &op : t.ops)
      read_ept = read_ept || op.dim == Dim::Nested;
    walks[format_in_force] += t.resp.fault == Fault::None && read_ept;
    violations[format_in_force] += t.resp.fault == Fault::EptViolation;
    misconfigs[format_in_force] += t.resp.fault == Fault::EptMisconfig;
  }
  EXPECT_EQ(sim.mismatches(), 0u);
  EXPECT_GT(walks[static_cast<unsigned>(EptFormat::Radix)], 0u);
  for (const EptFormat format : {EptFormat::Flat2, EptFormat::Flat1}) {
    SCOPED_TRACE(toString(format));
    const unsigned f = static_cast<unsigned>(format);
    EXPECT_GT(walks[f], 0u);
    EXPECT_GT(violations[f], 0u);
    EXPECT_GT(misconfigs[f], 0u);
  }
}

}  // namespace
}  // namespace vmmu::rtltest
