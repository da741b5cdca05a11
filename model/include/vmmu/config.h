// vmmu/config.h - the parameters of §1, with the spec's defaults.
#pragma once

#include <array>
#include <string>

namespace vmmu {

struct ArrayGeometry {
  unsigned sets = 1;
  unsigned ways = 1;
};

struct MmuConfig {
  unsigned guest_levels = 4;   // L; VaBits = 12 + 9 L
  unsigned nested_levels = 4;  // EPT levels
  unsigned pa_bits = 46;       // P
  unsigned num_contexts = 4;
  unsigned escape_entries = 4;
  // TLB and nested TLB arrays indexed by PageSize (4K, 2M, 1G).
  std::array<ArrayGeometry, 3> tlb{{{16, 4}, {8, 4}, {1, 4}}};
  std::array<ArrayGeometry, 3> ntlb{{{16, 4}, {4, 4}, {1, 4}}};
  // Paging-structure caches indexed by guest level - 2 (PDE, PDPTE, PML4E, PML5E).
  std::array<ArrayGeometry, 4> psc{{{8, 4}, {4, 4}, {4, 4}, {1, 4}}};
  // The second-level TLB for 4K and 2M entries (§9.2); sets = 0 removes it.
  ArrayGeometry stlb{128, 8};

  bool hasStlb() const { return stlb.sets != 0; }
  // EPT paging-structure caches (§10.3) indexed by EPT level - 2 (PDE, PDPTE, PML4E, PML5E).
  // ways = 0 removes a level's cache.
  std::array<ArrayGeometry, 4> ept_psc{{{8, 4}, {4, 4}, {4, 4}, {1, 4}}};

  unsigned vaBits() const { return 12 + 9 * guest_levels; }
  // Empty when valid; otherwise one line naming the parameter and what is wrong with it.
  std::string validate() const;
};

}  // namespace vmmu
