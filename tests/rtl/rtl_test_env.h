// rtl_test_env.h - page-table scenarios shared by the RTL tests: a host OS (NATIVE), a VM
// behind an EPT (NESTED, or DIRECT with escapes) and a VM whose memory is one contiguous host
// region (DIRECT), all built through a Cosim's tee so the DUT and the model see the same tables.
//
// Nothing here assumes the default parameters: levels, PaBits and the number of slots and
// escape entries come from the configuration of the library under test (Cosim::config(), from
// the generated vmmu_rtl_config.h), and the expectations that depend on them are computed here.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>

#include "cosim.h"
#include "vmmu/page_tables.h"

namespace vmmu::rtltest {

// Host physical layout of the scenarios. Everything lies below 2^31 so that it fits every
// PaBits the spec allows (>= 32).
inline constexpr uint64_t kHostTablesBase = 0x0100'0000;   // native/shadow tables, EPT tables
inline constexpr uint64_t kHostTablesLimit = 0x0400'0000;
inline constexpr uint64_t kGuestRamHost = 0x1000'0000;      // EPT-backed guest RAM (host side)
inline constexpr uint64_t kGuestRamSize = 0x0400'0000;      // 64 MiB of guest-physical RAM
inline constexpr uint64_t kGuestTablesGpa = 0x0300'0000;    // guest tables inside guest RAM
inline constexpr uint64_t kDirectBase = 0x4000'0000;        // DIRECT VM region (1G aligned)
inline constexpr uint64_t kDirectSize = 0x0400'0000;

inline uint64_t ctxVpid(uint16_t vpid) { return (uint64_t{1} << 16) | vpid; }

// The lowest VA that is not canonical (§1): bit VaBits-1 set, the bits above it clear.
inline uint64_t lowestNonCanonicalVa(const MmuConfig &config) {
  return uint64_t{1} << (config.vaBits() - 1);
}
// The lowest reserved address bit of a guest or EPT entry (§2: bits [51:P]). PaBits = 52 leaves
// none; the tests that corrupt entries with it need PaBits < 52 (every set built here has it).
inline uint64_t lowestReservedAddressBit(const MmuConfig &config) {
  return uint64_t{1} << std::min(config.pa_bits, 51u);
}

// The EPT reads of one nested translation (a row of the 2D walk) that misses the nested TLB
// when the EPT PSCs (§10.3) hold its prefixes at levels `from` and up (and not below): the
// deepest present level l >= from skips levels m..l, leaving l - 1 reads; none leaves all m.
inline unsigned eptRowReads(const MmuConfig &config, unsigned from) {
  for (unsigned level = from; level <= config.nested_levels; ++level)
    if (config.ept_psc[level - 2].ways != 0)
      return level - 1;
  return config.nested_levels;
}

// §5's reference counts of cold walks of a NestedGuest (below) for the configured levels (n
// guest, m nested) and EPT PSCs. Without EPT PSCs, a guest 4K page behind a 4K-paged EPT reads
// nm + n + m (Bhargava et al.). With them, the CR3 row reads all m EPT levels and fills the EPT
// PSCs; the guest tables share one 2M gPA region (at kGuestTablesGpa), so the n - 1 rows that
// locate the other tables hit from level 2 up; the final gPA lies in another 2M region of the
// same 1G region and hits from level 3 up. §1's defaults: 4 + 4 + 3 x 1 + 2 = 13.
inline unsigned coldNestedReads(const MmuConfig &config) {
  const unsigned n = config.guest_levels, m = config.nested_levels;
  return m + n + (n - 1) * eptRowReads(config, 2) + eptRowReads(config, 3);
}
// A guest 2M page behind a 4K-paged EPT: n - 1 guest reads and n rows (m + (n - 1) x m without
// EPT PSCs: 19 for 4 + 4 levels), the n - 2 rows after CR3's from level 2 up, the final one from
// level 3 up (§1's defaults: 3 + 4 + 2 x 1 + 2 = 11).
inline unsigned coldNested2MReads(const MmuConfig &config) {
  const unsigned n = config.guest_levels, m = config.nested_levels;
  return (n - 1) + m + (n - 2) * eptRowReads(config, 2) + eptRowReads(config, 3);
}

// Sets up one context slot (VPID, MODE, CR3, EPTP, GBASE, GSIZE, FLAGS) on both sides.
inline void setContext(Cosim &sim, unsigned slot, uint16_t vpid, Mode mode, uint64_t cr3,
                       uint64_t eptp = 0, uint64_t gbase = 0, uint64_t gsize = 0,
                       bool guest_ad = false) {
  sim.writeReg(slot, CtxReg::Vpid, ctxVpid(vpid));
  sim.writeReg(slot, CtxReg::Mode, static_cast<uint64_t>(mode));
  sim.writeReg(slot, CtxReg::Cr3, cr3);
  sim.writeReg(slot, CtxReg::Eptp, eptp);
  sim.writeReg(slot, CtxReg::GBase, gbase);
  sim.writeReg(slot, CtxReg::GSize, gsize);
  sim.writeReg(slot, CtxReg::Flags, guest_ad ? 1 : 0);
}

// Host (native or shadow) tables with the configured levels and PaBits.
inline GuestPageTables hostTables(const MmuConfig &config, PhysicalMemory &memory,
                                  FrameAllocator &allocator) {
  return GuestPageTables(memory, allocator, config.guest_levels, config.pa_bits);
}
// EPT tables with the configured levels and PaBits.
inline EptTables eptTables(const MmuConfig &config, PhysicalMemory &memory,
                           FrameAllocator &allocator) {
  return EptTables(memory, allocator, config.nested_levels, config.pa_bits);
}

// A guest whose RAM [0, kGuestRamSize) is mapped by an EPT onto host kGuestRamHost + gpa, with
// EPT pages of `ept_page` size, and whose own tables live at gPA kGuestTablesGpa.
struct NestedGuest {
  NestedGuest(const MmuConfig &config, PhysicalMemory &memory, FrameAllocator &host_tables,
              PageSize ept_page)
      : ept(eptTables(config, memory, host_tables)),
        guest_tables_alloc(kGuestTablesGpa, kGuestRamSize) {
    const uint64_t step = pageBytes(ept_page);
    for (uint64_t gpa = 0; gpa < kGuestRamSize; gpa += step)
      ept.map(gpa, kGuestRamHost + gpa, ept_page);
    guest = std::make_unique<GuestPageTables>(memory, guest_tables_alloc, config.guest_levels,
                                              config.pa_bits, ept.hostMap());
  }
  EptTables ept;
  FrameAllocator guest_tables_alloc;
  std::unique_ptr<GuestPageTables> guest;
};

// A DIRECT guest: gPA g lives at host kDirectBase + g; tables at gPA kGuestTablesGpa.
struct DirectGuest {
  DirectGuest(const MmuConfig &config, PhysicalMemory &memory)
      : alloc(kGuestTablesGpa, kDirectSize),
        guest(memory, alloc, config.guest_levels, config.pa_bits,
              [](uint64_t gpa) { return gpa + kDirectBase; }) {}
  FrameAllocator alloc;
  GuestPageTables guest;
};

}  // namespace vmmu::rtltest
