// hand_built_guest.h - a VMM on the golden model whose guest page tables the test writes by hand
// (no guest kernel), and whose costs each have their own value, so that what the shim reads,
// writes and charges can be worked out by hand, entry by entry.
//
// Guest tables: PML4 0x1000 -> PDPT 0x2000 -> PD 0x3000; PD[1] -> PT 0x4000 maps the 2 MiB at
// VA 0x200000:
//   PT[0] kData     -> gPA 0x10000, read-write      PT[3] kOutside  -> gPA 64 MiB (past the end)
//   PT[1] kTableVa  -> the PT page itself           PT[4] kReadOnly -> gPA 0x11000, read-only
//   PT[2] kUnmapped    not present
#pragma once

#include "vmmu/paging.h"
#include "vmmu/vmm/vmm.h"

namespace vmmu::testing {

constexpr uint64_t kRoundTrip = 1'000, kHandler = 100, kEntryRead = 3, kPrefetchRead = 1, kEntryWrite = 5,
                   kTableAlloc = 700, kTableFree = 11, kEmulate = 900, kControl = 7;

constexpr uint64_t kRoot = 0x1000, kPdpt = 0x2000, kPd = 0x3000, kPt = 0x4000, kMemory = 64ull << 20;
constexpr uint64_t kFlags = pte::P | pte::RW | pte::US;
constexpr uint64_t kData = 0x200000, kTableVa = 0x201000, kUnmapped = 0x202000, kOutside = 0x203000,
                   kReadOnly = 0x204000;

inline vmm::VmmConfig handBuiltConfig() {
  vmm::VmmConfig c;
  c.memory.bytes = kMemory;
  c.costs.exit_round_trip = kRoundTrip;
  c.costs.exit_indirect = 0;  // the tests of the indirect cost set their own
  c.costs.exit_handler = kHandler;
  c.costs.guest_entry_read = kEntryRead;
  c.costs.prefetch_entry_read = kPrefetchRead;
  c.costs.shadow_entry_write = kEntryWrite;
  c.costs.shadow_table_alloc = kTableAlloc;
  c.costs.shadow_table_free = kTableFree;
  c.costs.emulate_write = kEmulate;
  c.costs.control_command = kControl;
  // Backed at creation: the exits these tests count are the approaches' own, not first touches'
  // (host_backing_test.cpp covers lazy backing).
  c.memory.lazy = false;
  return c;
}

struct HandBuiltGuest {
  // `memory`: the backend's memory model (flat 30 cycles per walk reference unless a test of the
  // cache model gives its own).
  explicit HandBuiltGuest(vmm::Approach approach, const vmm::VmmConfig &config = handBuiltConfig(),
                          const vmm::MemoryModelConfig &memory = vmm::MemoryModelConfig::flat(30))
      : backend(MmuConfig{}, memory), vmm(backend, config, approach) {
    vmm.writePhysical(kRoot, kPdpt | kFlags);
    vmm.writePhysical(kPdpt, kPd | kFlags);
    vmm.writePhysical(kPd + 8 * 1, kPt | kFlags);
    vmm.writePhysical(kPt + 8 * 0, 0x10000 | kFlags);
    vmm.writePhysical(kPt + 8 * 1, kPt | kFlags);
    vmm.writePhysical(kPt + 8 * 3, kMemory | kFlags);
    vmm.writePhysical(kPt + 8 * 4, 0x11000 | pte::P | pte::US);
  }
  uint64_t exits(vmm::ExitReason reason) const { return vmm.cost().exits[static_cast<unsigned>(reason)]; }
  const vmm::RunCost &cost() const { return vmm.cost(); }
  const vmm::ShadowStats &stats() const { return vmm.shadow()->stats(); }
  // The shadow leaf (or 0) that maps `va` in the running space, read from the shadow tables.
  uint64_t shadowLeaf(uint64_t va) {
    uint64_t table = vmm.shadow()->activeRoot();
    for (unsigned level = 4; level >= 1; --level) {
      const uint64_t entry = backend.memory().read64(table + 8 * entryIndex(va, level));
      if (!(entry & pte::P) || level == 1 || (entry & pte::PS))
        return entry;
      table = entry & 0x000F'FFFF'FFFF'F000ull;
    }
    return 0;
  }
  uint64_t read(uint64_t gpa) { return backend.memory().read64(vmm.memory().hostOf(gpa)); }
  vmm::ModelBackend backend;
  vmm::Vmm vmm;
};

}  // namespace vmmu::testing
