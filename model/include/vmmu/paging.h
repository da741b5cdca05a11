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

// "0x…" in lower-case hex, as every message of vmmu writes an address.
inline std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace vmmu
