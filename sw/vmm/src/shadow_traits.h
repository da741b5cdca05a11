// shadow_traits.h - what sets the three shadow variants apart (shadow.h), in one table: the pager
// asks these questions, never which variant it is.
#pragma once

#include <array>

#include "vmmu/vmm/shadow.h"

namespace vmmu::vmm {

struct ShadowTraits {
  // A space per guest address space, kept across CR3 writes (and the oldest dropped beyond the
  // limit), rather than one space rebuilt from nothing at every CR3 write.
  bool keeps_spaces;
  // Guest table pages the shadow was built from are write-protected and their stores trapped;
  // without it a guest large page is always mapped large when the EPT allows.
  bool tracks_tables;
  // A trapped store installs the new translation in every space at once (not only drops the old).
  bool propagates_writes;
  // A fill installs every present entry of the same guest table (and every piece of a splinter).
  bool prefetches;
};

// Indexed by ShadowVariant: Plain, Caching, Prefetch, Agile (caching's, plus switch bits: §20.8).
inline constexpr std::array<ShadowTraits, 4> kShadowTraits{{
    {.keeps_spaces = false, .tracks_tables = false, .propagates_writes = false, .prefetches = false},
    {.keeps_spaces = true, .tracks_tables = true, .propagates_writes = true, .prefetches = false},
    {.keeps_spaces = false, .tracks_tables = true, .propagates_writes = false, .prefetches = true},
    {.keeps_spaces = true, .tracks_tables = true, .propagates_writes = true, .prefetches = false},
}};

constexpr const ShadowTraits &traitsOf(ShadowVariant variant) { return kShadowTraits[static_cast<size_t>(variant)]; }

}  // namespace vmmu::vmm
