// vmmu/reference_walk.h - a plain, uncached translation written apart from the Mmu.
//
// referenceWalk() is what a cold walk (§5 with every cache empty) answers for one request: the
// address and size, or the fault class with its §6 payload and exit bit. It is deliberately short
// and shares no code with the Mmu's walker, so that the property test comparing the two can
// catch a bug in either. It never writes memory (no A/D updates: they do not change the answer)
// and keeps no state.
#pragma once

#include <array>
#include <cstdint>

#include "vmmu/config.h"
#include "vmmu/memory.h"
#include "vmmu/types.h"

namespace vmmu {

// The registers of one context slot (§3), as written (unused bits are ignored).
struct ContextRegisters {
  uint64_t vpid = 0;   // 15:0 VPID, 16 valid (not checked here: the caller picked the slot)
  uint64_t mode = 0;   // Mode
  uint64_t cr3 = 0;
  uint64_t eptp = 0;
  uint64_t gbase = 0;
  uint64_t gsize = 0;
  uint64_t flags = 0;
  std::array<uint64_t, 8> escape{};  // ESCAPE_k; entries k >= config.escape_entries are ignored
  // The guest segment and its escape filter (§18.1), used in GUEST_DIRECT and DUAL_DIRECT.
  uint64_t gseg_base = 0;
  uint64_t gseg_limit = 0;
  uint64_t gseg_offset = 0;
  std::array<uint64_t, 8> guest_escape{};  // GESCAPE_k; as `escape`
  uint64_t gcr3 = 0;  // AGILE (§20.1): the guest root and, in bit 0, the switch at the root
};

// The response of a cold walk of `req` in the context `ctx` (tlb_hit is always false).
Response referenceWalk(const MmuConfig &config, const ContextRegisters &ctx,
                       PhysicalMemory &memory, const Request &req);

}  // namespace vmmu
