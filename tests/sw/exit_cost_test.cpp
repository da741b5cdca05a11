// exit_cost_test.cpp - what every VM exit costs, cycle by cycle. The guest's page tables are
// written by hand (no guest kernel), each cost of CostConfig gets its own value, and every
// expectation is the sum of the operations the shim does for that exit, worked out in the comment
// beside it: a round trip (exit_cycles) and the handler plus the shim's work (shim_cycles), per
// exit reason, under plain and caching shadow, nested, direct, and at approach switches.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hand_built_guest.h"

namespace vmmu::testing {
namespace {

using vmm::Approach;
using vmm::ExitReason;

// Each test builds a HandBuiltGuest (hand_built_guest.h): its tables and its costs.
using Machine = HandBuiltGuest;

// Every field of a RunCost by name, the exits one per reason. The size check makes a field added
// to RunCost fail here until it is listed.
std::vector<std::pair<std::string, uint64_t *>> fieldsOf(vmm::RunCost &c) {
  static_assert(sizeof(vmm::RunCost) == (24 + vmm::kNumExitReasons) * sizeof(uint64_t), "list the new field below");
  std::vector<std::pair<std::string, uint64_t *>> fields = {
      {"accesses", &c.accesses}, {"translations", &c.translations}, {"translation_cycles", &c.translation_cycles},
      {"access_cycles", &c.access_cycles}, {"instructions", &c.instructions},
      {"instruction_cycles", &c.instruction_cycles}, {"exit_cycles", &c.exit_cycles},
      {"exit_flushes", &c.exit_flushes}, {"shim_cycles", &c.shim_cycles}, {"guest_work_cycles", &c.guest_work_cycles},
      {"guest_page_faults", &c.guest_page_faults}, {"cr3_writes", &c.cr3_writes},
      {"control_commands", &c.control_commands}, {"page_moves", &c.page_moves}, {"balloon_pages", &c.balloon_pages},
      {"balloon_migrations", &c.balloon_migrations}, {"balloon_cycles", &c.balloon_cycles},
      {"host_backings", &c.host_backings}, {"host_pages_backed", &c.host_pages_backed}, {"ept_tables", &c.ept_tables},
      {"ept_replicated_leaves", &c.ept_replicated_leaves}, {"mode_switches", &c.mode_switches},
      {"segment_walks", &c.segment_walks}, {"segment_walk_cycles", &c.segment_walk_cycles}};
  for (unsigned r = 0; r < vmm::kNumExitReasons; ++r)
    fields.emplace_back("exits[" + std::to_string(r) + "]", &c.exits[r]);
  return fields;
}

std::vector<std::pair<std::string, uint64_t>> valuesOf(vmm::RunCost c) {
  std::vector<std::pair<std::string, uint64_t>> values;
  for (const auto &[name, field] : fieldsOf(c))
    values.emplace_back(name, *field);
  return values;
}

TEST(ExitCost, CreatingTheVmChargesNothing) {
  for (const auto &[name, value] : valuesOf(vmm::RunCost{}))
    EXPECT_EQ(value, 0u) << "a new account's " << name;
  for (const Approach approach : {Approach::Nested, Approach::ShadowPlain, Approach::ShadowCaching}) {
    const Machine m(approach);
    for (const auto &[name, value] : valuesOf(m.cost()))
      EXPECT_EQ(value, 0u) << vmm::toString(approach) << ": " << name;
  }
}

// The difference of two accounts is taken field by field (what a phase or an interval cost).
TEST(ExitCost, AccountsSubtractFieldByField) {
  vmm::RunCost later, earlier;
  // Field i of `later` holds 1000 + 7i and of `earlier` 3i.
  const auto fill = [](vmm::RunCost &c, uint64_t base, uint64_t step) {
    uint64_t i = 0;
    for (const auto &[name, field] : fieldsOf(c))
      *field = base + step * i++;
  };
  fill(later, 1000, 7);
  fill(earlier, 0, 3);
  const auto l = valuesOf(later), e = valuesOf(earlier), d = valuesOf(later - earlier);
  ASSERT_EQ(d.size(), l.size());
  for (size_t i = 0; i < d.size(); ++i)
    EXPECT_EQ(d[i].second, l[i].second - e[i].second) << d[i].first;
}

TEST(ExitCost, PlainShadowCr3WriteFillAndInjections) {
  Machine m(Approach::ShadowPlain);
  // MOV CR3: a round trip; the handler, a new shadow root, and the CR3 register written.
  m.vmm.writeCr3(kRoot, 0, false);
  EXPECT_EQ(m.exits(ExitReason::Cr3Write), 1u);
  EXPECT_EQ(m.cost().cr3_writes, 1u);
  EXPECT_EQ(m.cost().exit_cycles, kRoundTrip);
  EXPECT_EQ(m.cost().shim_cycles, kHandler + kTableAlloc + kControl);
  EXPECT_EQ(m.cost().control_commands, 1u);

  // A fill: 4 guest entries read; three shadow tables allocated below the root, each linked by an
  // entry write; the leaf written. Then the retried access hits.
  vmm::RunCost before = m.cost();
  const guest::AccessOutcome filled = m.vmm.access(kData + 8, Access::Read, true, nullptr);
  EXPECT_FALSE(filled.faulted);
  EXPECT_EQ(filled.hpa, m.vmm.memory().hostOf(0x10008));
  vmm::RunCost d = m.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::ShadowFault)], 1u);
  EXPECT_EQ(d.totalExits(), 1u);
  EXPECT_EQ(d.exit_cycles, kRoundTrip);
  EXPECT_EQ(d.shim_cycles, kHandler + 4 * kEntryRead + 3 * (kTableAlloc + kEntryWrite) + kEntryWrite);
  EXPECT_EQ(d.translations, 2u) << "the fault, then the retry";
  EXPECT_EQ(d.accesses, 1u);
  EXPECT_EQ(d.access_cycles, 1u);
  EXPECT_EQ(d.guest_page_faults, 0u);
  EXPECT_EQ(m.vmm.shadow()->stats().fills, 1u);
  EXPECT_EQ(m.vmm.shadow()->stats().tables_allocated, 4u);
  EXPECT_EQ(m.vmm.shadow()->stats().spaces_created, 1u);
  EXPECT_EQ(m.vmm.shadow()->stats().injected, 0u);

  // A page the guest does not map: the 4 guest entries read, a #PF injected (write, user).
  before = m.cost();
  const guest::AccessOutcome missing = m.vmm.access(kUnmapped, Access::Write, true, nullptr);
  EXPECT_TRUE(missing.faulted);
  EXPECT_EQ(missing.error_code, pf::W | pf::U);
  d = m.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::ShadowFault)], 1u);
  EXPECT_EQ(d.exit_cycles, kRoundTrip);
  EXPECT_EQ(d.shim_cycles, kHandler + 4 * kEntryRead);
  EXPECT_EQ(d.guest_page_faults, 1u);
  EXPECT_EQ(d.access_cycles, 0u);
  EXPECT_EQ(m.vmm.shadow()->stats().injected, 1u);

  // A store to a read-only page: a protection fault (P set), same work.
  before = m.cost();
  const guest::AccessOutcome denied = m.vmm.access(kReadOnly, Access::Write, true, nullptr);
  EXPECT_TRUE(denied.faulted);
  EXPECT_EQ(denied.error_code, pf::W | pf::U | pf::P);
  d = m.cost() - before;
  EXPECT_EQ(d.shim_cycles, kHandler + 4 * kEntryRead);
  EXPECT_EQ(d.guest_page_faults, 1u);
  EXPECT_EQ(m.vmm.shadow()->stats().injected, 2u);
  // A kernel read of it is allowed: filled (the three tables exist now: the leaf write only).
  before = m.cost();
  EXPECT_FALSE(m.vmm.access(kReadOnly, Access::Read, false, nullptr).faulted);
  d = m.cost() - before;
  EXPECT_EQ(d.shim_cycles, kHandler + 4 * kEntryRead + kEntryWrite);
  // A kernel read of an unmapped page is a plain not-present fault (error code 0); an instruction
  // fetch says so (ID).
  EXPECT_EQ(m.vmm.access(kUnmapped, Access::Read, false, nullptr).error_code, 0u);
  EXPECT_EQ(m.vmm.access(kUnmapped, Access::Exec, false, nullptr).error_code, pf::ID);
  EXPECT_EQ(m.vmm.shadow()->stats().injected, 4u);
  EXPECT_EQ(m.vmm.shadow()->stats().fills, 2u);
  EXPECT_TRUE(m.vmm.checkInvariants().empty());
}

TEST(ExitCost, ShadowStopsAGuestWhoseTablesLeaveItsMemory) {
  Machine m(Approach::ShadowPlain);
  m.vmm.writeCr3(kRoot, 0, false);
  const vmm::RunCost before = m.cost();
  try {
    m.vmm.access(kOutside, Access::Read, false, nullptr);
    FAIL() << "the guest was not stopped";
  } catch (const vmm::GuestStopped &stopped) {
    EXPECT_EQ(stopped.reason, ExitReason::ShadowFault);
    EXPECT_EQ(stopped.gpa, kMemory);
  }
  const vmm::RunCost d = m.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::ShadowFault)], 1u);
  EXPECT_EQ(d.exit_cycles, kRoundTrip);
  EXPECT_EQ(d.shim_cycles, kHandler + 4 * kEntryRead);
  EXPECT_EQ(d.guest_page_faults, 0u);
}

TEST(ExitCost, PlainShadowInvlpgAndInvpcid) {
  Machine m(Approach::ShadowPlain);
  m.vmm.writeCr3(kRoot, 0, false);
  m.vmm.access(kData, Access::Read, true, nullptr);
  // INVLPG: a round trip; the handler, the shadow leaf cleared (an entry write and an INV_ADDR),
  // and the guest's INVLPG passed on (another INV_ADDR).
  vmm::RunCost before = m.cost();
  m.vmm.invlpg(kData);
  vmm::RunCost d = m.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::Invlpg)], 1u);
  EXPECT_EQ(d.totalExits(), 1u);
  EXPECT_EQ(d.exit_cycles, kRoundTrip);
  EXPECT_EQ(d.shim_cycles, kHandler + kEntryWrite + 2 * kControl);
  EXPECT_EQ(d.control_commands, 2u);
  EXPECT_EQ(m.vmm.shadow()->stats().zaps, 1u);
  // INVLPG of a page with no shadow leaf: nothing to clear.
  before = m.cost();
  m.vmm.invlpg(kUnmapped + (1ull << 30));
  d = m.cost() - before;
  EXPECT_EQ(d.shim_cycles, kHandler + kControl);
  // INVPCID of the running PCID: the space's four tables freed, its PCID flushed, a new root, CR3
  // rewritten, and the INVPCID passed on.
  before = m.cost();
  m.vmm.invpcid(0);
  d = m.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::Invlpg)], 1u);
  EXPECT_EQ(d.shim_cycles, kHandler + 4 * kTableFree + kControl + kTableAlloc + kControl + kControl);
  EXPECT_EQ(d.control_commands, 3u);
  EXPECT_EQ(m.vmm.shadow()->stats().tables_freed, 4u);
  // INVPCID of another PCID: passed on only.
  before = m.cost();
  m.vmm.invpcid(5);
  d = m.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::Invlpg)], 1u);
  EXPECT_EQ(d.shim_cycles, kHandler + kControl);
  EXPECT_EQ(d.control_commands, 1u);
  // A flushing CR3 write: the root alone freed (its PCID flushed), a new root, CR3, the flush.
  before = m.cost();
  m.vmm.writeCr3(kRoot, 0, true);
  d = m.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::Cr3Write)], 1u);
  EXPECT_EQ(d.shim_cycles, kHandler + kTableFree + kControl + kTableAlloc + kControl + kControl);
  EXPECT_EQ(d.control_commands, 3u);
}

TEST(ExitCost, CachingShadowEmulatesAndPropagatesATableWrite) {
  Machine m(Approach::ShadowCaching);
  m.vmm.writeCr3(kRoot, 0, false);
  EXPECT_EQ(m.cost().shim_cycles, kHandler + kTableAlloc + kControl);
  m.vmm.access(kData, Access::Read, true, nullptr);
  // The fill write-protected the four guest tables it walked.
  for (const uint64_t table : {kRoot, uint64_t{0x2000}, uint64_t{0x3000}, kPt})
    EXPECT_TRUE(m.vmm.shadow()->isWriteProtected(table + 8)) << table;
  EXPECT_FALSE(m.vmm.shadow()->isWriteProtected(0x10000));
  // The guest maps PT[5] -> 0x12000 through its own mapping of the PT page: a shadow fault (the
  // 4 entries read), the store emulated, and propagated at once: PT[5]'s walk read again (4
  // entries) and its leaf written into the existing shadow PT.
  const vmm::RunCost before = m.cost();
  const uint64_t value = 0x12000 | kFlags;
  const guest::AccessOutcome out = m.vmm.access(kTableVa + 8 * 5, Access::Write, false, &value);
  EXPECT_FALSE(out.faulted);
  EXPECT_EQ(out.hpa, m.vmm.memory().hostOf(kPt + 8 * 5));
  EXPECT_EQ(m.backend.memory().read64(m.vmm.memory().hostOf(kPt + 8 * 5)), value);
  const vmm::RunCost d = m.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::PageTableWrite)], 1u);
  EXPECT_EQ(d.totalExits(), 1u);
  EXPECT_EQ(d.exit_cycles, kRoundTrip);
  EXPECT_EQ(d.shim_cycles, kHandler + 4 * kEntryRead + kEmulate + 4 * kEntryRead + kEntryWrite);
  EXPECT_EQ(d.access_cycles, 1u);
  EXPECT_EQ(d.translations, 1u) << "the emulated store is not retried";
  EXPECT_EQ(m.vmm.shadow()->stats().emulated_writes, 1u);
  EXPECT_EQ(m.vmm.shadow()->stats().propagated, 1u);
  // The propagated leaf is there: no exit.
  const vmm::RunCost settled = m.cost();
  EXPECT_EQ(m.vmm.access(0x205000, Access::Read, true, nullptr).hpa, m.vmm.memory().hostOf(0x12000));
  EXPECT_EQ((m.cost() - settled).totalExits(), 0u);
  // Caching does not exit on INVLPG or INVPCID.
  m.vmm.invlpg(kData);
  m.vmm.invpcid(0);
  EXPECT_EQ((m.cost() - settled).totalExits(), 0u);
  EXPECT_EQ((m.cost() - settled).shim_cycles, 0u);
  EXPECT_TRUE(m.vmm.checkInvariants().empty());
}

TEST(ExitCost, NestedExitsOnlyOnMemoryOutsideTheVm) {
  Machine m(Approach::Nested);
  m.vmm.writeCr3(kRoot, 0, true);
  m.vmm.invlpg(kData);
  m.vmm.invpcid(0);
  EXPECT_EQ(m.cost().cr3_writes, 1u);
  EXPECT_FALSE(m.vmm.access(kData, Access::Write, true, nullptr).faulted);
  const guest::AccessOutcome missing = m.vmm.access(kUnmapped, Access::Write, true, nullptr);
  EXPECT_TRUE(missing.faulted);
  EXPECT_EQ(missing.error_code, pf::W | pf::U);
  EXPECT_EQ(m.cost().guest_page_faults, 1u);
  EXPECT_EQ(m.cost().totalExits(), 0u);
  EXPECT_EQ(m.cost().exit_cycles + m.cost().shim_cycles, 0u);
  EXPECT_EQ(m.cost().control_commands, 0u) << "CR3, INVLPG and INVPCID act on the MMU without the VMM";
  try {
    m.vmm.access(kOutside, Access::Read, true, nullptr);
    FAIL() << "the guest was not stopped";
  } catch (const vmm::GuestStopped &stopped) {
    EXPECT_EQ(stopped.reason, ExitReason::EptViolation);
    EXPECT_EQ(stopped.gpa, kMemory);
  }
  EXPECT_EQ(m.exits(ExitReason::EptViolation), 1u);
  EXPECT_EQ(m.cost().totalExits(), 1u);
  EXPECT_EQ(m.cost().exit_cycles, kRoundTrip);
  EXPECT_EQ(m.cost().shim_cycles, kHandler);
}

// The guest's PD[2] points at a page table past the end of its memory: the EPT violation is
// met while locating that table, and the shim reports the PTE's gPA (§6), on the table's page.
TEST(ExitCost, NestedStopsAGuestWhoseTableLeavesItsMemoryAtTheEntry) {
  Machine m(Approach::Nested);
  m.vmm.writePhysical(kPd + 8 * 2, kMemory | kFlags);  // VA [0x400000, 0x600000)
  m.vmm.writeCr3(kRoot, 0, true);
  try {
    m.vmm.access(0x405000, Access::Read, true, nullptr);
    FAIL() << "the guest was not stopped";
  } catch (const vmm::GuestStopped &stopped) {
    EXPECT_EQ(stopped.reason, ExitReason::EptViolation);
    EXPECT_EQ(stopped.gpa, kMemory + 8 * 5);  // PT[5] of the table at kMemory
    EXPECT_NE(std::string(stopped.what()).find("gPA 0x4000028 (the guest's level-1 table entry)"),
              std::string::npos)
        << stopped.what();
  }
  EXPECT_EQ(m.exits(ExitReason::EptViolation), 1u);
}

TEST(ExitCost, DirectStopsAGuestOutsideItsRegion) {
  Machine m(Approach::Direct);
  m.vmm.writeCr3(kRoot, 0, false);
  const vmm::RunCost before = m.cost();
  EXPECT_EQ(m.vmm.access(kData, Access::Read, true, nullptr).hpa, m.vmm.memory().hostBase() + 0x10000);
  try {
    m.vmm.access(kOutside, Access::Read, true, nullptr);
    FAIL() << "the guest was not stopped";
  } catch (const vmm::GuestStopped &stopped) {
    EXPECT_EQ(stopped.reason, ExitReason::Bounds);
    EXPECT_EQ(stopped.gpa, kMemory);
  }
  const vmm::RunCost d = m.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::Bounds)], 1u);
  EXPECT_EQ(d.totalExits(), 1u);
  EXPECT_EQ(d.exit_cycles, kRoundTrip);
  EXPECT_EQ(d.shim_cycles, kHandler);
}

TEST(ExitCost, ApproachSwitches) {
  Machine m(Approach::Nested);
  m.vmm.writeCr3(kRoot, 3, false);
  // Into shadow-cache: a round trip; the handler, MODE written, a new shadow root, CR3 written.
  vmm::RunCost before = m.cost();
  m.vmm.switchApproach(Approach::ShadowCaching);
  vmm::RunCost d = m.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::ModeSwitch)], 1u);
  EXPECT_EQ(d.totalExits(), 1u);
  EXPECT_EQ(d.mode_switches, 1u);
  EXPECT_EQ(d.exit_cycles, kRoundTrip);
  EXPECT_EQ(d.shim_cycles, kHandler + kControl + kTableAlloc + kControl);
  EXPECT_EQ(d.control_commands, 2u);
  EXPECT_EQ(m.vmm.approach(), Approach::ShadowCaching);
  // The same approach again: nothing happens.
  before = m.cost();
  m.vmm.switchApproach(Approach::ShadowCaching);
  EXPECT_EQ((m.cost() - before).totalCycles(), 0u);
  EXPECT_EQ((m.cost() - before).mode_switches, 0u);
  // Back to nested: the handler, the space's one table freed and its PCID flushed, then EPTP,
  // MODE and CR3 written.
  before = m.cost();
  m.vmm.switchApproach(Approach::Nested);
  d = m.cost() - before;
  EXPECT_EQ(d.exits[static_cast<unsigned>(ExitReason::ModeSwitch)], 1u);
  EXPECT_EQ(d.shim_cycles, kHandler + kTableFree + kControl + 3 * kControl);
  EXPECT_EQ(d.control_commands, 4u);
  EXPECT_EQ(m.vmm.shadow(), nullptr);
  // Into direct (memory in place): GBASE, GSIZE, EPTP, every escape slot, MODE and CR3 written.
  before = m.cost();
  m.vmm.switchApproach(Approach::Direct);
  d = m.cost() - before;
  const uint64_t writes = 5 + m.backend.config().escape_entries;
  EXPECT_EQ(d.shim_cycles, kHandler + writes * kControl);
  EXPECT_EQ(d.control_commands, writes);
  EXPECT_EQ(d.page_moves, 0u);
  EXPECT_EQ(m.cost().mode_switches, 3u);
  EXPECT_THROW(m.vmm.switchApproach(Approach::Native), std::invalid_argument);
}

TEST(ExitCost, ExitReasonsHaveTheirNames) {
  EXPECT_EQ(vmm::toString(ExitReason::ShadowFault), "shadow-fault");
  EXPECT_EQ(vmm::toString(ExitReason::PageTableWrite), "pt-write");
  EXPECT_EQ(vmm::toString(ExitReason::Cr3Write), "cr3-write");
  EXPECT_EQ(vmm::toString(ExitReason::Invlpg), "invlpg");
  EXPECT_EQ(vmm::toString(ExitReason::EptViolation), "ept-violation");
  EXPECT_EQ(vmm::toString(ExitReason::Bounds), "bounds");
  EXPECT_EQ(vmm::toString(ExitReason::ModeSwitch), "mode-switch");
}

// A RunCost whose every field is a different multiple of `unit`, and the list of its fields.
vmm::RunCost multiplesOf(uint64_t unit) {
  vmm::RunCost c;
  uint64_t next = unit;
  for (uint64_t *field : {&c.accesses, &c.translations, &c.translation_cycles, &c.access_cycles, &c.exit_cycles,
                          &c.shim_cycles, &c.guest_work_cycles, &c.guest_page_faults, &c.cr3_writes,
                          &c.control_commands, &c.page_moves, &c.mode_switches}) {
    *field = next;
    next += unit;
  }
  for (uint64_t &exits : c.exits) {
    exits = next;
    next += unit;
  }
  return c;
}

std::vector<uint64_t> fieldsOf(const vmm::RunCost &c) {
  std::vector<uint64_t> fields{c.accesses,         c.translations,      c.translation_cycles, c.access_cycles,
                               c.exit_cycles,      c.shim_cycles,       c.guest_work_cycles,  c.guest_page_faults,
                               c.cr3_writes,       c.control_commands,  c.page_moves,         c.mode_switches};
  fields.insert(fields.end(), c.exits.begin(), c.exits.end());
  return fields;
}

TEST(ExitCost, RunCostDifferenceSubtractsEveryField) {
  const vmm::RunCost later = multiplesOf(10), earlier = multiplesOf(1);
  EXPECT_EQ(fieldsOf(later - earlier), fieldsOf(multiplesOf(9)));
  // Exits are fields 13 to 19: 10 x (13 + ... + 19) = 1,120.
  EXPECT_EQ(later.totalExits(), 1'120u);
  // Translation 30, accesses 40, exits 50, the shim 60, the guest's work 70.
  EXPECT_EQ(later.totalCycles(), 250u);
  EXPECT_EQ(later.virtualizationCycles(), 30u + 50u + 60u);
}

}  // namespace
}  // namespace vmmu::testing
