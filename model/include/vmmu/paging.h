// vmmu/paging.h - the paging arithmetic that the model, the guest OS model and the VMM shim share
// (spec §1, §2): the shift of a level, the index of an entry in its table, and how an address is
// written in a message. The independent reference walk (reference_walk.cpp) keeps its own on
// purpose: it is written from the SDM alone, so it must not share the model's code.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace vmmu {

// shift(level) = 12 + 9·(level-1): the leaf at level 1/2/3 maps 4K/2M/1G (§1).
constexpr unsigned levelShift(unsigned level) { return 12 + 9 * (level - 1); }

// The index (0..511) of the entry for `addr` in a level-`level` table (§2).
constexpr uint64_t entryIndex(uint64_t addr, unsigned level) { return (addr >> levelShift(level)) & 511; }

// Flattened nested tables (§21.1): every level is indexed by 18 bits, so a table is 2^18 entries
// (2 MiB) and level 1 starts at bit 12, level 2 at bit 30.
constexpr unsigned kFlatIndexBits = 18;
constexpr uint64_t kFlatEntries = uint64_t{1} << kFlatIndexBits;
constexpr uint64_t kFlatTableBytes = 8 * kFlatEntries;
constexpr unsigned flatLevelShift(unsigned level) { return 12 + kFlatIndexBits * (level - 1); }
constexpr uint64_t flatEntryIndex(uint64_t addr, unsigned level) {
  return (addr >> flatLevelShift(level)) & (kFlatEntries - 1);
}

// "0x…" in lower-case hex, as every message of vmmu writes an address.
inline std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace vmmu
