// shadow_internal.h - what shadow.cpp and the invariant checker (shadow_check.cpp) share: the
// paging arithmetic of shadow tables and the pager's private records (a space, a guest walk).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "vmmu/paging.h"
#include "vmmu/vmm/shadow.h"

namespace vmmu::vmm::shadow_detail {

// The shadow mirrors the guest's paging: 4 levels, or 5 (LA57), the MMU's GuestLevels.
constexpr unsigned kMaxLevels = 5;
constexpr uint64_t kPageMask = ~uint64_t{4095};
constexpr uint64_t kAddrMask = ((uint64_t{1} << 52) - 1) & kPageMask;  // entry address bits
constexpr uint64_t kSplinter = ~uint64_t{0};  // mirror_ value of a splinter table
constexpr uint64_t kTableFlags = pte::P | pte::RW | pte::US;
constexpr uint64_t k2M = pageBytes(PageSize::Size2M);

// Bytes a level-`level` entry maps (paging.h's levelShift).
constexpr uint64_t levelBytes(unsigned level) { return uint64_t{1} << levelShift(level); }
// Sign-extends the top VA bit of `levels`-level paging (bit 47, or 56 with 5 levels), so that VAs
// assembled from table indices are canonical.
constexpr uint64_t canonical(uint64_t va, unsigned levels) {
  const unsigned unused = 64 - levelShift(levels + 1);
  return static_cast<uint64_t>(static_cast<int64_t>(va << unused) >> unused);
}
// First VA covered by the level-`level` table that maps `va` (the root, level `levels`, covers all).
constexpr uint64_t tableBase(uint64_t va, unsigned level, unsigned levels) {
  return level >= levels ? 0 : canonical(va & ~(levelBytes(level + 1) - 1), levels);
}
constexpr uint64_t leafFrame(uint64_t entry, unsigned level) { return entry & kAddrMask & ~(levelBytes(level) - 1); }

}  // namespace vmmu::vmm::shadow_detail

namespace vmmu::vmm {

struct ShadowPager::Space {
  uint64_t id = 0;
  uint64_t guest_root = 0;
  uint16_t pcid = 0;
  uint64_t root = 0;  // sCR3
  uint64_t last_used = 0;
  std::vector<uint64_t> tables;   // every shadow table of this space, the root included
  std::vector<uint64_t> tracked;  // guest table pages this space registered as a user of
};

// A software walk of the guest's tables (the VMM reads guest memory through its own map).
struct ShadowPager::GuestWalk {
  bool ok = false;
  bool outside = false;          // a table or the final gPA lies outside guest memory
  uint64_t outside_gpa = 0;
  unsigned leaf_level = 0;
  uint64_t leaf_entry = 0;
  uint64_t gpa = 0;              // the final gPA of the walked VA
  uint64_t acc = 0;              // RW|US (ANDed) and NX (ORed) over the walk
  std::array<uint64_t, shadow_detail::kMaxLevels + 1> table{};      // gPA of the guest table at each level walked
  std::array<uint64_t, shadow_detail::kMaxLevels + 1> acc_above{};  // acc over the entries above each level
  // Both are indexed by level, 1 to kMaxLevels: a slot short would be written past its end.
  static_assert(std::tuple_size_v<decltype(table)> > shadow_detail::kMaxLevels, "table is indexed by level");
  static_assert(std::tuple_size_v<decltype(acc_above)> > shadow_detail::kMaxLevels, "acc_above is indexed by level");
};

}  // namespace vmmu::vmm
