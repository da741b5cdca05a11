// The golden model: §3 contexts, §5 algorithm, §6 faults, §7 permissions, §8 DIRECT checks,
// §9-§10 caches, §11 invalidations, §12 walk cycles, §14 counters.
//
// translate() follows the §5 pseudo-code statement by statement; comments cite the line they
// implement. Faults travel as a `false` return up to translate(), with the response already
// filled in, so that every path out of a walk goes through one place that counts it.
#include "vmmu/mmu.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "set_assoc_array.h"
#include "vmmu/paging.h"
#include "vmmu/reference_walk.h"

namespace vmmu {
namespace {

PageSize sizeOfLevel(unsigned level) { return static_cast<PageSize>(level - 1); }
unsigned ctrIndex(Counter c) { return static_cast<unsigned>(c); }

// The nested table as one EPT format lays it out (§21.1): its levels, where each level's index
// starts in the gPA and how wide it is, which entries are leaves and what they map, and how many
// gPA bits it reaches. Radix is §2.2 with NestedLevels levels.
struct EptShape {
  EptFormat format = EptFormat::Radix;
  unsigned levels = 4;
  unsigned reach_bits = 0;  // a gPA with bits at or above this faults (§21.1); 0: no limit (Radix)

  bool radix() const { return format == EptFormat::Radix; }
  unsigned shift(unsigned level) const { return radix() ? levelShift(level) : flatLevelShift(level); }
  uint64_t index(uint64_t gpa, unsigned level) const {
    return radix() ? entryIndex(gpa, level) : flatEntryIndex(gpa, level);
  }
  bool beyondReach(uint64_t gpa) const { return reach_bits != 0 && (gpa >> reach_bits) != 0; }
  // The root table's address: a flattened table is 2 MiB aligned, EPTP bits 20:12 are ignored
  // (§21.1); the root as a tag keeps them.
  uint64_t rootTable(uint64_t root) const { return radix() ? root : root & ~(kFlatTableBytes - 1); }
  bool leaf(uint64_t e, unsigned level) const { return level == 1 || (e & ept::LP); }
  // The page a leaf of `level` maps (§2.2; §21.2: a flattened level-1 LP leaf maps 2 MiB, a
  // level-2 one 1 GiB).
  PageSize leafSize(uint64_t e, unsigned level) const {
    if (radix())
      return static_cast<PageSize>(level - 1);
    if (level == 2)
      return PageSize::Size1G;
    return (e & ept::LP) ? PageSize::Size2M : PageSize::Size4K;
  }
};

EptShape eptShapeOf(uint64_t eptp, unsigned nested_levels) {
  switch (eptFormatOf(eptp)) {
  case EptFormat::Flat2: return {EptFormat::Flat2, 2, 48};
  case EptFormat::Flat1: return {EptFormat::Flat1, 1, 30};
  case EptFormat::Radix: break;
  }
  return {EptFormat::Radix, nested_levels, 0};
}

// Guest access rights accumulated over a walk (§7): rw, us are ANDed and nx ORed.
struct GuestAccess {
  bool rw = true;
  bool us = true;
  bool nx = false;
};

// The same rights as one word, as the walk accumulates them: RW and US where the entries read have
// them all, NX where none has it (NX inverted), so that each entry read is one XOR and one AND
// (guestRights()), where three bools took a load, a test and a store each.
constexpr uint64_t kAllGuestRights = pte::RW | pte::US | pte::NX;
uint64_t guestRights(uint64_t rights, uint64_t entry) { return rights & (entry ^ pte::NX); }
GuestAccess guestAccessOf(uint64_t rights) {
  GuestAccess acc;
  acc.rw = (rights & pte::RW) != 0;
  acc.us = (rights & pte::US) != 0;
  acc.nx = (rights & pte::NX) == 0;
  return acc;
}

bool guestDenies(const GuestAccess &acc, const Request &req) {
  return (req.user && !acc.us) || (req.access == Access::Write && !acc.rw) ||
         (req.access == Access::Exec && acc.nx);
}

// EPT permission bits R=1, W=2, X=4 as in the entry; read needs R, write W, execute X.
constexpr uint8_t eptBitFor(Access access) { return uint8_t{1} << static_cast<unsigned>(access); }

// A TLB entry's permissions as one bit per kind of request: bit 3·user + access.
unsigned grantBit(Access access, bool user) { return 3 * static_cast<unsigned>(user) + static_cast<unsigned>(access); }

// §7: the requests a TLB entry grants without a walk, as grantBit()s. A supervisor request needs
// the EPT permission of its access (R, W, X are bits 0, 1, 2, as the accesses are numbered), a
// write also the guest's RW and the entry dirty, an execute the guest's NX clear; a user request
// needs the same and the guest's US.
uint8_t grantsOf(const GuestAccess &acc, uint8_t ept_perm, bool dirty) {
  static_assert(eptBitFor(Access::Read) == ept::R && eptBitFor(Access::Write) == ept::W &&
                eptBitFor(Access::Exec) == ept::X);
  const unsigned guest_allows = eptBitFor(Access::Read) | (acc.rw && dirty ? eptBitFor(Access::Write) : 0) |
                                (acc.nx ? 0 : eptBitFor(Access::Exec));
  const unsigned supervisor = ept_perm & guest_allows;
  return static_cast<uint8_t>(supervisor | (acc.us ? supervisor << 3 : 0));
}

struct TlbEntry {
  bool valid = false;
  bool global = false;
  bool dirty = false;
  uint8_t spare = 0;  // a member, not padding, so that every byte tagWord() reads has a value (always 0)
  uint16_t vpid = 0;
  uint16_t pcid = 0;
  PageSize gsize = PageSize::Size4K;
  GuestAccess acc;
  uint8_t ept_perm = 0;
  // grantsOf(acc, ept_perm, dirty), worked out at the fill: a lookup then tests one bit, where
  // it evaluated the rules of §7 on every hit.
  uint8_t grants = 0;
  uint64_t vpn = 0;    // va >> shift of the array's size
  uint64_t frame = 0;  // host address of the page (aligned to the array's size)
};

// The first eight bytes of a TLB entry as one word: valid (bits 7:0), global (15:8), vpid (47:32)
// and pcid (63:48). The hit path of the default geometry compares a way's tags with one load and
// one compare where field by field took four of each (the loads bound the hit's speed).
static_assert(offsetof(TlbEntry, valid) == 0 && offsetof(TlbEntry, global) == 1 && offsetof(TlbEntry, spare) == 3 &&
                  offsetof(TlbEntry, vpid) == 4 &&
                  offsetof(TlbEntry, pcid) == 6 && sizeof(bool) == 1,
              "tagWord() reads the tags where these offsets put them");
uint64_t tagWord(const TlbEntry &e) {
  uint64_t word;
  std::memcpy(&word, &e, sizeof word);
  return word;
}
constexpr uint64_t kTagValid = 0xff, kTagGlobal = 0xff00, kTagVpid = 0xffffull << 32, kTagPcid = 0xffffull << 48;
// What tagWord() of a valid entry for (vpid, pcid) holds under each mask: the entry of the
// request's PCID, or a global entry of its VPID (a bool is stored as 0 or 1).
uint64_t tagOfPcid(uint16_t vpid, uint16_t pcid) {
  return 1 | uint64_t{vpid} << 32 | uint64_t{pcid} << 48;
}
uint64_t tagOfGlobal(uint16_t vpid) { return 1 | 1 << 8 | uint64_t{vpid} << 32; }

// A second-level TLB entry (§9.2): a first-level entry and the size it was made for (4K or 2M),
// which decides how its VPN is compared and which first-level array an STLB hit fills.
struct StlbEntry : TlbEntry {
  PageSize size = PageSize::Size4K;
};

// What an STLB probe compares first, as one word: the VPN and whether it is a 2M entry's. The
// STLB keeps it for every way in rows of its own (Mmu::Impl::stlb_tags), 64 bytes for a set of 8
// ways, where the entries themselves take 320: a probe that misses (every probe over a footprint
// far beyond the STLB's reach) reads one host cache line per set instead of five, lines that the
// walk's other data would otherwise have evicted since the set was last probed.
uint64_t stlbTag(uint64_t vpn, PageSize size) { return vpn << 1 | (size == PageSize::Size2M ? 1 : 0); }

struct PscEntry {
  bool valid = false;
  bool nested = false;    // AGILE (§20.4): the table below is the guest's, walked nested
  uint16_t vpid = 0;
  uint16_t pcid = 0;
  uint64_t rights = kAllGuestRights;  // the rights of the entries above, as guestRights() makes them
  uint64_t prefix = 0;    // va >> shift(level)
  uint64_t next_hpa = 0;  // host address of the level-1 table below
};

struct NtlbEntry {
  bool valid = false;
  bool dirty = false;
  uint8_t perm = 0;  // R|W|X over the EPT levels
  uint64_t root = 0;
  uint64_t gfn = 0;    // gpa >> shift of the array's size
  uint64_t frame = 0;  // host address of the page
};

// An EPT paging-structure cache entry of EPT level l (§10.3).
struct EptPscEntry {
  bool valid = false;
  uint8_t perm = 0;       // R|W|X over EPT levels NestedLevels .. l
  uint64_t root = 0;
  uint64_t prefix = 0;    // gpa >> shift(l)
  uint64_t next_hpa = 0;  // host address of the level l-1 EPT table
};

using Tlb = detail::SetAssocArray<TlbEntry>;
using Stlb = detail::SetAssocArray<StlbEntry>;
using Psc = detail::SetAssocArray<PscEntry>;
using Ntlb = detail::SetAssocArray<NtlbEntry>;
using EptPsc = detail::SetAssocArray<EptPscEntry>;

constexpr unsigned kNumRegs = 32;  // 5-bit register number on the control port (§3, §13)

// What a nested translation or a final translation hands back to the walk.
struct HostPage {
  uint64_t hpa = 0;
  PageSize size = PageSize::Size4K;
  uint8_t ept_perm = 7;
  bool ept_dirty = true;
};

}  // namespace

struct Mmu::Impl {
  Impl(const MmuConfig &cfg, PhysicalMemory &mem, MemoryTiming *mem_timing)
      : config(cfg), memory(mem), sparse_memory(dynamic_cast<SparseMemory *>(&mem)), default_timing(kDefaultMemOpCycles),
        timing(mem_timing ? mem_timing : &default_timing), fixed_cycles(timing->fixedCycles()),
        addr_mask(((uint64_t{1} << cfg.pa_bits) - 1) & ~uint64_t{0xfff}),
        va_drop_bits(64 - cfg.vaBits()), guest_reserved(guestReservedMasks(cfg.pa_bits)),
        ept_reserved(eptReservedMasks(cfg.pa_bits)), regs(cfg.num_contexts), tlb(arraysOf<Tlb>(cfg.tlb)),
        ntlb(arraysOf<Ntlb>(cfg.ntlb)),
        // Without an STLB a 1 x 1 array stands in, never used: has_stlb guards every access.
        stlb(cfg.hasStlb() ? cfg.stlb.sets : 1, cfg.hasStlb() ? cfg.stlb.ways : 1), has_stlb(cfg.hasStlb()),
        stlb_tags(size_t{stlb.sets()} * stlb.ways(), stlbTag(0, PageSize::Size4K)),
        default_4k_geometry(tlb[static_cast<unsigned>(PageSize::Size4K)].hasGeometry<kDefault4K.sets, kDefault4K.ways>()),
        default_nested_geometry(defaultNestedGeometry(cfg)),
        default_psc_geometry(defaultPscGeometry(cfg)) {
    for (unsigned level = 2; level <= cfg.guest_levels; ++level)
      psc.emplace_back(cfg.psc[level - 2].sets, cfg.psc[level - 2].ways);
    for (unsigned level = 2; level <= cfg.nested_levels; ++level) {
      const ArrayGeometry &geometry = cfg.ept_psc[level - 2];
      if (geometry.ways != 0)
        ept_psc[level - 2].emplace(geometry.sets, geometry.ways);
    }
  }

  // The three arrays of one kind (4K, 2M, 1G) with their configured geometry.
  template <typename Array>
  static std::array<Array, 3> arraysOf(const std::array<ArrayGeometry, 3> &geometry) {
    return {Array(geometry[0].sets, geometry[0].ways), Array(geometry[1].sets, geometry[1].ways),
            Array(geometry[2].sets, geometry[2].ways)};
  }

  // --- registers (§3) ---------------------------------------------------------------------

  using Regs = std::array<uint64_t, kNumRegs>;

  static constexpr unsigned regIndex(CtxReg reg) { return static_cast<unsigned>(reg); }
  static bool slotValid(const Regs &r) { return (r[regIndex(CtxReg::Vpid)] >> 16) & 1; }
  static uint16_t slotVpid(const Regs &r) { return static_cast<uint16_t>(r[regIndex(CtxReg::Vpid)]); }
  static Mode slotMode(const Regs &r) { return static_cast<Mode>(r[regIndex(CtxReg::Mode)] & 7); }
  // The modes whose gPAs go through the EPT (§5 NESTED, §18 GUEST_DIRECT outside and inside the
  // guest segment) and those that add GBASE under the bounds checker (DIRECT, DUAL_DIRECT).
  static bool nestedDimension(Mode mode) { return mode == Mode::Nested || mode == Mode::GuestDirect; }
  static bool directDimension(Mode mode) { return mode == Mode::Direct || mode == Mode::DualDirect; }
  static bool hasGuestSegment(Mode mode) { return mode == Mode::GuestDirect || mode == Mode::DualDirect; }
  // The modes whose TLB entries INV_EPTP removes (§11): every mode with an EPTP in use.
  static bool usesEpt(Mode mode) { return nestedDimension(mode) || directDimension(mode) || mode == Mode::Agile; }
  static bool guestAd(const Regs &r) { return r[regIndex(CtxReg::Flags)] & 1; }
  uint64_t eptRoot(const Regs &r) const { return r[regIndex(CtxReg::Eptp)] & addr_mask; }
  static bool eptAd(const Regs &r) { return r[regIndex(CtxReg::Eptp)] & ept::kEptpAdEnable; }

  // The bits a register keeps (§3; EPTP keeps every bit, §2.3). Zero: not a register.
  uint64_t regMask(unsigned reg) const {
    const unsigned escape_base = regIndex(CtxReg::EscapeBase);
    switch (reg) {
    case regIndex(CtxReg::Vpid): return 0x1ffff;
    case regIndex(CtxReg::Mode): return 0x7;
    case regIndex(CtxReg::GsegBase): return ~uint64_t{0xfff} | gseg::RW | gseg::US | gseg::X;
    case regIndex(CtxReg::GsegLimit):
    case regIndex(CtxReg::GsegOffset): return ~uint64_t{0xfff};
    case regIndex(CtxReg::Gcr3): return addr_mask | agile::RootNested;
    case regIndex(CtxReg::Cr3): return addr_mask;
    case regIndex(CtxReg::Eptp): return ~uint64_t{0};
    case regIndex(CtxReg::GBase): return addr_mask;
    case regIndex(CtxReg::GSize): return ((uint64_t{1} << (config.pa_bits + 1)) - 1) & ~uint64_t{0xfff};
    case regIndex(CtxReg::Flags): return 0x1;
    default:
      if (reg >= escape_base && reg < escape_base + config.escape_entries)
        return addr_mask | 1;
      if (reg >= regIndex(CtxReg::GEscapeBase) && reg < regIndex(CtxReg::GEscapeBase) + config.escape_entries)
        return ~uint64_t{0xfff} | 1;  // a guest-virtual page (§18.4)
      return 0;  // registers 7, 19-23 and escape registers beyond EscapeEntries do not exist
    }
  }

  void writeReg(unsigned ctx, unsigned reg, uint64_t value) {
    if (ctx >= config.num_contexts)
      throw std::out_of_range("Mmu::writeReg: context " + std::to_string(ctx) + " >= " +
                              std::to_string(config.num_contexts));
    const uint64_t mask = regMask(reg);
    if (mask == 0)
      return;
    if (reg == regIndex(CtxReg::Mode) && (value & 7) > static_cast<uint64_t>(Mode::Agile))
      return;  // a reserved MODE code is ignored: nothing stored, no flush (§3)
    Regs &r = regs[ctx];
    // §3 implicit INV_VPID, whatever the valid bits: MODE, EPTP, GBASE, GSIZE, ESCAPE and GESCAPE
    // writes flush the slot's VPID; a VPID write flushes the old and the new VPID, the only two
    // whose slot in force it can change. CR3, FLAGS and the guest segment (guest state switched
    // with CR3, §18.5) and GCR3 (AGILE's guest root, §20.1) do not invalidate.
    const bool flushes = !(reg == regIndex(CtxReg::Cr3) || reg == regIndex(CtxReg::Flags) ||
                           reg == regIndex(CtxReg::GsegBase) || reg == regIndex(CtxReg::GsegLimit) ||
                           reg == regIndex(CtxReg::GsegOffset) || reg == regIndex(CtxReg::Gcr3));
    if (flushes)
      invalidateVpid(slotVpid(r));
    if (reg == regIndex(CtxReg::Vpid)) {
      invalidateVpid(static_cast<uint16_t>(value));
      forgetContext();  // the slot a VPID is found in may change
    }
    r[reg] = value & mask;
    if (reg == regIndex(CtxReg::Eptp))
      forgetContext();  // contextOf() works out last_ctx_fixed_ept from the EPTP again
  }

  uint64_t readReg(unsigned ctx, unsigned reg) const {
    if (ctx >= config.num_contexts)
      throw std::out_of_range("Mmu::readReg: context " + std::to_string(ctx) + " >= " +
                              std::to_string(config.num_contexts));
    return reg < kNumRegs ? regs[ctx][reg] : 0;
  }

  int findContext(uint16_t vpid) const {
    for (unsigned slot = 0; slot < regs.size(); ++slot)
      if (slotValid(regs[slot]) && slotVpid(regs[slot]) == vpid)
        return static_cast<int>(slot);
    return -1;
  }

  // findContext() for translate(), remembering the last VPID found: requests come in long runs
  // from one VM, and only a write to a VPID register (or a reset) changes which slot holds a VPID.
  const Regs *contextOf(uint16_t vpid) {
    if (last_ctx_vpid == vpid)
      return last_ctx;
    const int slot = findContext(vpid);
    if (slot < 0)
      return nullptr;
    last_ctx = &regs[static_cast<unsigned>(slot)];
    last_ctx_vpid = vpid;
    last_ctx_fixed_ept = default_nested_geometry && eptFormatOf((*last_ctx)[regIndex(CtxReg::Eptp)]) == EptFormat::Radix;
    return last_ctx;
  }

  void forgetContext() {
    last_ctx = nullptr;
    last_ctx_vpid = kNoVpid;
  }

  bool canonical(uint64_t va) const {
    return static_cast<uint64_t>(static_cast<int64_t>(va << va_drop_bits) >> va_drop_bits) == va;
  }

  // --- invalidations (§11) ------------------------------------------------------------------

  void invalidateVpid(uint16_t vpid) {
    for (Tlb &array : tlb)
      array.invalidateIf([&](const TlbEntry &e) { return e.vpid == vpid; });
    if (has_stlb)
      stlb.invalidateIf([&](const StlbEntry &e) { return e.vpid == vpid; });
    for (Psc &cache : psc)
      cache.invalidateIf([&](const PscEntry &e) { return e.vpid == vpid; });
  }

  void invAddr(uint16_t vpid, uint64_t va) {
    ++counters[ctrIndex(Counter::InvAddr)];
    for (unsigned size = 0; size < 3; ++size) {
      const unsigned shift = pageShift(static_cast<PageSize>(size));
      tlb[size].invalidateIf([&](const TlbEntry &e) {
        // The guest page (gsize), not the splintered entry, decides (§11).
        const uint64_t guest_mask = ~(pageBytes(e.gsize) - 1);
        return e.vpid == vpid && ((e.vpn << shift) & guest_mask) == (va & guest_mask);
      });
    }
    if (has_stlb) {
      stlb.invalidateIf([&](const StlbEntry &e) {
        const uint64_t guest_mask = ~(pageBytes(e.gsize) - 1);
        return e.vpid == vpid && ((e.vpn << pageShift(e.size)) & guest_mask) == (va & guest_mask);
      });
    }
    for (unsigned i = 0; i < psc.size(); ++i) {
      const uint64_t prefix = va >> levelShift(i + 2);
      psc[i].invalidateIf([&](const PscEntry &e) { return e.vpid == vpid && e.prefix == prefix; });
    }
  }

  void invPcid(uint16_t vpid, uint16_t pcid) {
    ++counters[ctrIndex(Counter::InvPcid)];
    for (Tlb &array : tlb)
      array.invalidateIf(
          [&](const TlbEntry &e) { return e.vpid == vpid && e.pcid == pcid && !e.global; });
    if (has_stlb)
      stlb.invalidateIf([&](const StlbEntry &e) { return e.vpid == vpid && e.pcid == pcid && !e.global; });
    for (Psc &cache : psc)
      cache.invalidateIf([&](const PscEntry &e) { return e.vpid == vpid && e.pcid == pcid; });
  }

  void invVpid(uint16_t vpid) {
    ++counters[ctrIndex(Counter::InvVpid)];
    invalidateVpid(vpid);
  }

  void invEptp(uint64_t eptp) {
    ++counters[ctrIndex(Counter::InvEptp)];
    const uint64_t root = eptp & addr_mask;
    for (const Regs &r : regs) {
      const Mode mode = slotMode(r);
      if (slotValid(r) && usesEpt(mode) && eptRoot(r) == root)
        invalidateVpid(slotVpid(r));
    }
    for (Ntlb &array : ntlb)
      array.invalidateIf([&](const NtlbEntry &e) { return e.root == root; });
    for (std::optional<EptPsc> &cache : ept_psc)
      if (cache)
        cache->invalidateIf([&](const EptPscEntry &e) { return e.root == root; });
  }

  void invAll() {
    ++counters[ctrIndex(Counter::InvAll)];
    resetCaches();
  }

  void resetCaches() {
    for (Tlb &array : tlb)
      array.reset();
    stlb.reset();
    for (Psc &cache : psc)
      cache.reset();
    for (Ntlb &array : ntlb)
      array.reset();
    for (std::optional<EptPsc> &cache : ept_psc)
      if (cache)
        cache->reset();
  }

  // --- translation (§5) -----------------------------------------------------------------------

  // State of the request in flight; set by translate(), read by the walk helpers.
  const Request *req = nullptr;
  const Regs *ctx = nullptr;
  TranslateResult *out = nullptr;
  // AGILE (§20.2): the walk in flight has switched to nested (it reads guest tables and
  // translates their pointers through the EPT). Cleared at the start of every walk.
  bool agile_nested = false;

  // The mode whose rules a table pointer, a final gPA and a fault of the walk in flight follow:
  // the slot's, but for AGILE SHADOW's above its switch and NESTED's below it (§20.2, §20.3).
  Mode walkMode() const {
    const Mode mode = slotMode(*ctx);
    if (mode != Mode::Agile)
      return mode;
    return agile_nested ? Mode::Nested : Mode::Shadow;
  }

  // translate() behind the TLB-hit fast path (fastHit()), which answers most requests.
  void translateFast(const Request &request, TranslateResult &result) {
    // The 4K array's geometry as compile-time constants when it is the default one (config.h),
    // which folds the set index and row address and unrolls the search over the ways.
    if (default_4k_geometry) [[likely]] {
      if (!fastHit<kDefault4K.sets, kDefault4K.ways>(request, result))
        translate(request, result);
      return;
    }
    translateAnyGeometry(request, result);
  }

  // Out of line: inlined beside the default-geometry path, its register needs would cost that
  // path a larger frame.
  [[gnu::noinline]] void translateAnyGeometry(const Request &request, TranslateResult &result) {
    if (!fastHit<0, 0>(request, result))
      translate(request, result);
  }

  static constexpr ArrayGeometry kDefault4K = MmuConfig{}.tlb[static_cast<unsigned>(PageSize::Size4K)];

  // The TLB-hit fast path: a request from the VM of the previous one (contextOf()'s memory) that
  // hits a 4K entry which grants it. It does exactly what translate() does for such a request, and
  // returns false having changed nothing for every other one, which translate() then runs from
  // the start. Hits are most requests; this path spares them the general one's context search,
  // its loop over the three page sizes and its bookkeeping for walks. Sets and Ways: the 4K
  // array's geometry when known at compile time, else 0 (SetAssocArray).
  template <unsigned Sets, unsigned Ways> bool fastHit(const Request &request, TranslateResult &result) {
    const TlbEntry *e = hitEntry<Sets, Ways>(request);
    if (e == nullptr)
      return false;
    ++counters[ctrIndex(Counter::Lookups)];
    ++counters[ctrIndex(Counter::TlbHits)];
    answerHit(request, *e, result);
    return true;
  }

  // fastHit()'s lookup: the 4K entry that answers `request` as a hit, its PLRU bits touched, or
  // null having changed nothing. The caller counts the hit.
  template <unsigned Sets, unsigned Ways> const TlbEntry *hitEntry(const Request &request) {
    // No test of the VA's canonical form: a 4K entry holds all of va >> 12 of a canonical request
    // (only those walk), so a non-canonical VA matches none and translate() faults it.
    if (request.vpid != last_ctx_vpid)
      return nullptr;
    Tlb &array = tlb[static_cast<unsigned>(PageSize::Size4K)];
    const uint64_t vpn = request.va >> kPageShift4K;
    const uint16_t pcid = request.pcid & 0xfff;
    const unsigned set = array.setOf<Sets>(vpn);
    if constexpr (Ways != 0) {
      // The search of SetAssocArray::find() (the lowest valid way that matches), its tags compared
      // as one word (tagWord()), the PLRU bits of the way it found set without a table.
      // The ways are tried one by one as compile-time constants (a fold over 0 .. Ways - 1), so
      // each hit's touch has its own constant bits.
      const uint64_t pcid_tag = tagOfPcid(request.vpid, pcid);
      const uint64_t global_tag = tagOfGlobal(request.vpid);
      const TlbEntry *row = &array.at<Ways>(set, 0);
      const TlbEntry *hit = nullptr;
      const auto tryWay = [&]<unsigned Way>() {
        const TlbEntry &e = row[Way];
        if (e.vpn != vpn)
          return false;
        const uint64_t tags = tagWord(e);
        if ((tags & (kTagValid | kTagVpid | kTagPcid)) != pcid_tag &&
            (tags & (kTagValid | kTagGlobal | kTagVpid)) != global_tag)
          return false;
        // The lowest way that matches decides: a hit when it grants, else no hit here.
        if (tlbGrants(e, request)) {
          array.touch<Way, Ways>(set);
          hit = &e;
        }
        return true;
      };
      [&]<unsigned... Way>(std::integer_sequence<unsigned, Way...>) {
        (void)(tryWay.template operator()<Way>() || ...);
      }(std::make_integer_sequence<unsigned, Ways>{});
      return hit;
    } else {
      const int way = array.find(set, [&](const TlbEntry &e) {
        return e.vpn == vpn && e.vpid == request.vpid && (e.global || e.pcid == pcid);
      });
      if (way < 0)
        return nullptr;
      const TlbEntry &e = array.at(set, static_cast<unsigned>(way));
      if (!tlbGrants(e, request))
        return nullptr;
      array.touch(set, static_cast<unsigned>(way));
      return &e;
    }
  }

  // The result of a hit on `e`, as translate() leaves it.
  static void answerHit(const Request &request, const TlbEntry &e, TranslateResult &result) {
    // Before the stores to `result`, which might alias `request` for all the compiler knows (it
    // read the VA again after them).
    const uint64_t hpa = e.frame | (request.va & (pageBytes(PageSize::Size4K) - 1));
    result.ops.clear();
    // Copied whole from constants, padding included (memcpy), the trace and the response take one
    // wide store per 16 bytes, where assigning them field by field took a store per field. Written
    // in place: a Response built aside and copied in would be reloaded before its stores retire (a
    // store-forwarding stall that costs more than the whole hit).
    std::memcpy(&result.trace, &kNoWalk, sizeof kNoWalk);
    Response &resp = result.resp;
    std::memcpy(&resp, &kHitResponse, sizeof kHitResponse);
    resp.hpa = hpa;
  }

  static constexpr WalkTrace kNoWalk{};
  static_assert(sizeof(WalkTrace) == 16, "a hit rewrites the walk record whole: keep it one 16-byte store");
  // A 4K hit's response, but for its address.
  static constexpr Response kHitResponse = [] {
    Response resp;
    resp.size = PageSize::Size4K;
    resp.tlb_hit = true;
    return resp;
  }();

  size_t translateHits(const Request *requests, size_t count, TranslateResult &result, uint64_t *hpas) {
    if (hpas != nullptr)
      return default_4k_geometry ? hits<kDefault4K.sets, kDefault4K.ways, true>(requests, count, result, hpas)
                                 : hits<0, 0, true>(requests, count, result, hpas);
    return default_4k_geometry ? hits<kDefault4K.sets, kDefault4K.ways, false>(requests, count, result, nullptr)
                               : hits<0, 0, false>(requests, count, result, nullptr);
  }

  // translateHits(): the hits counted once for the run and only the last one's result written,
  // which is all a run of fastHit() calls leaves behind.
  // WithHpas: each hit's host address goes to hpas[i] (its entry's frame and the page offset).
  template <unsigned Sets, unsigned Ways, bool WithHpas>
  size_t hits(const Request *requests, size_t count, TranslateResult &result, uint64_t *hpas) {
    const TlbEntry *last = nullptr;
    uint64_t last_vpn = 0;
    uint16_t last_vpid = 0, last_pcid = 0;
    size_t done = 0;
    for (; done < count; ++done) {
      const Request &request = requests[done];
      const uint64_t vpn = request.va >> kPageShift4K;
      const uint16_t pcid = request.pcid & 0xfff;
      // The page of the hit before, in the same context (most of a run): the same entry answers
      // it, as a hit changes no entry, and touching it again would change no PLRU bit; only its
      // permission is asked anew. This spares the run the search and the PLRU bits' load, which
      // waits for the store of the touch before.
      if (last != nullptr && vpn == last_vpn && request.vpid == last_vpid && pcid == last_pcid) {
        if (!tlbGrants(*last, request))
          break;
        if constexpr (WithHpas)
          hpas[done] = last->frame | (request.va & (pageBytes(PageSize::Size4K) - 1));
        continue;
      }
      const TlbEntry *e = hitEntry<Sets, Ways>(request);
      if (e == nullptr)
        break;
      if constexpr (WithHpas)
        hpas[done] = e->frame | (request.va & (pageBytes(PageSize::Size4K) - 1));
      last = e;
      last_vpn = vpn;
      last_vpid = request.vpid;
      last_pcid = pcid;
    }
    if (done == 0)
      return 0;
    counters[ctrIndex(Counter::Lookups)] += done;
    counters[ctrIndex(Counter::TlbHits)] += done;
    answerHit(requests[done - 1], *last, result);
    return done;
  }

  // Out of line so that the fast path inlined into Mmu::translate() keeps a small frame.
  [[gnu::noinline]] void translate(const Request &request, TranslateResult &result) {
    result.ops.clear();
    result.resp = Response{};
    result.trace = WalkTrace{};
    req = &request;
    out = &result;
    lean_op_cycles = !result.record_ops && sparse_memory != nullptr ? fixed_cycles : 0;
    ++counters[ctrIndex(Counter::Lookups)];  // LOOKUPS++
    ctx = contextOf(request.vpid);
    if (ctx == nullptr) {
      setFault(Mode::Native, Fault::NoContext, 0, request.va, 0);
      return finish();
    }
    if (!canonical(request.va)) {
      setFault(slotMode(*ctx), Fault::GuestGeneralProtection, 0, request.va, 0);
      return finish();
    }
    const uint16_t pcid = request.pcid & 0xfff;
    bool dropped = false;
    if (!tlbLookup(request, pcid, dropped))
      translateMiss(pcid, dropped);
  }

  // tlb_lookup: 4K, 2M, 1G. True when it answered the request (a hit has no fault and no exit to
  // count); false when the request goes on to the STLB, with any entry that matched but did not
  // grant dropped (§7) and `dropped` set.
  bool tlbLookup(const Request &request, uint16_t pcid, bool &dropped) {
    for (unsigned size = 0; size < 3; ++size) {
      Tlb &array = tlb[size];
      if (array.empty())
        continue;
      const uint64_t vpn = request.va >> pageShift(static_cast<PageSize>(size));
      const unsigned set = array.setOf(vpn);
      const auto matches = [&](const TlbEntry &e) {
        return e.vpn == vpn && e.vpid == request.vpid && (e.global || e.pcid == pcid);
      };
      const int way = array.find(set, matches);
      if (way < 0)
        continue;
      const TlbEntry &e = array.at(set, static_cast<unsigned>(way));
      if (tlbGrants(e, request)) {
        ++counters[ctrIndex(Counter::TlbHits)];
        array.touch(set, static_cast<unsigned>(way));
        const uint64_t offset_mask = pageBytes(static_cast<PageSize>(size)) - 1;
        out->resp.hpa = e.frame | (request.va & offset_mask);
        out->resp.size = static_cast<PageSize>(size);
        out->resp.tlb_hit = true;
        return true;
      }
      // Matched but does not grant: drop every entry matching the request (§7).
      dropped = true;
      dropTlbMatches(request, pcid);
      return false;
    }
    return false;
  }

  // stlb_lookup of §5 (§9.2): the 4K set, then, when none of its entries matched, the 2M set; the
  // first match decides, in the probe's first or second cycle (§12). True when the entry granted:
  // the request is answered and the entry copied into the first level. A match that does not grant
  // drops the matching entries of the set it was found in (the other set was not read) and sets
  // `dropped`.
  bool stlbLookup(const Request &request, uint16_t pcid, bool &dropped) {
    for (const PageSize size : {PageSize::Size4K, PageSize::Size2M}) {
      const uint64_t vpn = request.va >> pageShift(size);
      const unsigned set = stlb.setOf(vpn);
      // The RTL keeps each entry's size beside its valid bit (§9.2): a 2M set without a valid 2M
      // entry is not read, and the probe decides after the 4K set.
      if (size == PageSize::Size2M && !stlbSetHolds2M(set))
        break;
      ++out->trace.stlb_cycles;
      const auto matches = [&](const StlbEntry &e) {
        return e.vpn == vpn && e.size == size && e.vpid == request.vpid && (e.global || e.pcid == pcid);
      };
      const int way = findStlb(set, stlbTag(vpn, size), matches);
      if (way < 0)
        continue;
      const StlbEntry &e = stlb.at(set, static_cast<unsigned>(way));
      out->trace.stlb_read = true;
      if (!tlbGrants(e, request)) {
        dropped = true;
        stlb.invalidateInSet(set, matches);
        return false;
      }
      ++counters[ctrIndex(size == PageSize::Size4K ? Counter::StlbHits4K : Counter::StlbHits2M)];
      stlb.touch(set, static_cast<unsigned>(way));
      Tlb &array = tlb[static_cast<unsigned>(size)];
      const unsigned first_set = array.setOf(vpn);
      array.at(first_set, array.allocate(first_set)) = e;  // the first-level part of the entry
      out->resp.hpa = e.frame | (request.va & (pageBytes(size) - 1));
      out->resp.size = size;
      out->resp.tlb_hit = true;
      out->trace.stlb_hit = true;
      return true;
    }
    return false;
  }

  // stlb.find(set, matches) for a `matches` that holds only for entries of stlbTag() `tag`: the
  // tag rows rule out the other ways without reading their entries.
  template <typename Match> int findStlb(unsigned set, uint64_t tag, const Match &matches) const {
    if (stlb.ways() == kDefaultStlb.ways)  // the bound known: unrolled
      return findStlbIn<kDefaultStlb.ways>(set, tag, matches);
    return findStlbIn<0>(set, tag, matches);
  }
  template <unsigned Ways, typename Match> int findStlbIn(unsigned set, uint64_t tag, const Match &matches) const {
    const unsigned ways = Ways != 0 ? Ways : stlb.ways();
    const uint64_t *row = &stlb_tags[size_t{set} * ways];
    for (unsigned way = 0; way < ways; ++way) {
      if (row[way] != tag)
        continue;
      const StlbEntry &e = stlb.at(set, way);
      if (e.valid && matches(e))
        return static_cast<int>(way);
    }
    return -1;
  }
  static constexpr ArrayGeometry kDefaultStlb = MmuConfig{}.stlb;

  // Whether `set` holds a valid 2M entry, found from its tag row: only a way whose stlbTag() says
  // 2M has its entry read. Searching the entries themselves read all of the set's (five host lines
  // for eight ways): over a footprint of many 2 MiB regions, where the 2M sets probed after every
  // 4K miss are all 128, those lines were most of the replay's host cache misses.
  bool stlbSetHolds2M(unsigned set) const {
    if (stlb.ways() == kDefaultStlb.ways)  // the bound known: unrolled
      return stlbSetHolds2MIn<kDefaultStlb.ways>(set);
    return stlbSetHolds2MIn<0>(set);
  }
  template <unsigned Ways> bool stlbSetHolds2MIn(unsigned set) const {
    const unsigned ways = Ways != 0 ? Ways : stlb.ways();
    const uint64_t *row = &stlb_tags[size_t{set} * ways];
    uint64_t any_2m = 0;
    for (unsigned way = 0; way < ways; ++way)
      any_2m |= row[way];
    if ((any_2m & stlbTag(0, PageSize::Size2M)) == 0)
      return false;
    for (unsigned way = 0; way < ways; ++way) {
      const StlbEntry &e = stlb.at(set, way);
      if ((row[way] & stlbTag(0, PageSize::Size2M)) != 0 && e.valid && e.size == PageSize::Size2M)
        return true;
    }
    return false;
  }

  void translateMiss(uint16_t pcid, bool dropped) {
    ++counters[ctrIndex(Counter::TlbMisses)];
    const bool stlb_hit = has_stlb && stlbLookup(*req, pcid, dropped);
    if (dropped)
      ++counters[ctrIndex(Counter::PermRefills)];  // once per request, whichever level dropped
    if (stlb_hit)
      return finish();
    ++counters[ctrIndex(Counter::Walks)];
    // NESTED under the default guest geometry (most walks of the shim's replays) takes walkIn<true>:
    // the same walk with the mode and the PSCs' geometry as constants.
    if (default_psc_geometry && slotMode(*ctx) == Mode::Nested)
      walkIn<true>(pcid);
    else
      walkIn<false>(pcid);
    out->trace.walked = true;
    out->trace.walk_cycles += 2;  // START and DONE (§12); xlateTable/xlateFinal count XLATE
    counters[ctrIndex(Counter::WalkCycles)] += out->trace.walk_cycles;
    finish();
  }

  static bool tlbGrants(const TlbEntry &e, const Request &r) { return (e.grants >> grantBit(r.access, r.user)) & 1; }

  void dropTlbMatches(const Request &request, uint16_t pcid) {
    for (unsigned size = 0; size < 3; ++size) {
      const uint64_t vpn = request.va >> pageShift(static_cast<PageSize>(size));
      tlb[size].invalidateInSet(tlb[size].setOf(vpn), [&](const TlbEntry &e) {
        return e.vpn == vpn && e.vpid == request.vpid && (e.global || e.pcid == pcid);
      });
    }
  }

  // Counts the response's fault class and exit (every response, early or not, §5).
  void finish() {
    const Response &resp = out->resp;
    if (resp.fault != Fault::None)
      ++counters[ctrIndex(Counter::FaultGuestPf) + static_cast<unsigned>(resp.fault) - 1];
    if (resp.vm_exit)
      ++counters[ctrIndex(Counter::VmExits)];
  }

  // Fills the response with a fault; returns false so callers can `return fault(...)`.
  bool setFault(Mode mode, Fault fault, uint32_t info, uint64_t addr, unsigned level,
                unsigned guest_level = 0) {
    Response &resp = out->resp;
    resp = Response{};
    resp.fault = fault;
    resp.fault_info = info;
    resp.fault_addr = addr;
    resp.fault_level = static_cast<uint8_t>(level);
    resp.fault_guest_level = static_cast<uint8_t>(guest_level);
    // §6 exit table.
    switch (fault) {
    case Fault::GuestPageFault: resp.vm_exit = mode == Mode::Shadow; break;
    case Fault::EptViolation:
    case Fault::EptMisconfig:
    case Fault::Bounds: resp.vm_exit = true; break;
    default: resp.vm_exit = false; break;
    }
    return false;
  }
  bool fault(Fault f, uint32_t info, uint64_t addr, unsigned level, unsigned guest_level = 0) {
    return setFault(walkMode(), f, info, addr, level, guest_level);
  }

  // The operation is written straight into the result's list (not copied there from a local:
  // the copy of a struct just stored field by field stalls on store forwarding, once per read).
  MemOp &recordOp(uint64_t addr, MemOpKind kind, uint64_t mask, Dim dim, unsigned level) {
    MemOp &op = out->ops.emplace_back();
    op.addr = addr;
    op.kind = kind;
    op.mask = mask;
    op.dim = dim;
    op.level = static_cast<uint8_t>(level);
    return op;
  }

  // The operation's c (§12), recorded in the result when the caller asked for the list: a fixed
  // latency is added as it is, else the timing is asked with the operation.
  uint64_t issueOp(uint64_t addr, MemOpKind kind, uint64_t mask, Dim dim, unsigned level) {
    if (out->record_ops) {
      const MemOp &op = recordOp(addr, kind, mask, dim, level);
      return fixed_cycles != 0 ? fixed_cycles : timing->cycles(op);
    }
    if (fixed_cycles != 0)
      return fixed_cycles;
    MemOp op;
    op.addr = addr;
    op.kind = kind;
    op.mask = mask;
    op.dim = dim;
    op.level = static_cast<uint8_t>(level);
    return timing->cycles(op);
  }

  uint64_t emitRead(uint64_t addr, Dim dim, unsigned level) {
    ++counters[ctrIndex(dim == Dim::Guest ? Counter::GuestReads : Counter::NestedReads)];
    if (lean_op_cycles != 0) {  // the shim's case, one test where issueOp() makes three
      out->trace.walk_cycles += lean_op_cycles;
      return sparse_memory->read64Inline(addr);
    }
    // SparseMemory (final) is read directly, its recent pages inline: no call per reference.
    const uint64_t value = sparse_memory != nullptr ? sparse_memory->read64Inline(addr) : memory.read64(addr);
    out->trace.walk_cycles += issueOp(addr, MemOpKind::Read, 0, dim, level);
    return value;
  }

  void emitFetchOr(uint64_t addr, uint64_t mask, Dim dim, unsigned level) {
    ++counters[ctrIndex(dim == Dim::Guest ? Counter::GuestAdUpdates : Counter::NestedAdUpdates)];
    memory.fetchOr64(addr, mask);
    out->trace.walk_cycles += issueOp(addr, MemOpKind::FetchOr, mask, dim, level);
  }

  // The reserved bits of §2.1 and §2.2 by level (1 .. 5) and by the entry's PS (guest) or LP (EPT)
  // bit, worked out once from P: a check is then one AND, where it was a chain of tests per entry
  // read (every walk reads two to four entries).
  using ReservedMasks = std::array<std::array<uint64_t, 2>, 6>;
  static uint64_t highReserved(unsigned pa_bits) {
    return ((uint64_t{1} << 52) - 1) & ~((uint64_t{1} << pa_bits) - 1);  // bits 51:P
  }
  static ReservedMasks guestReservedMasks(unsigned pa_bits) {
    ReservedMasks masks{};
    for (unsigned level = 1; level < masks.size(); ++level) {
      masks[level][0] = highReserved(pa_bits);
      // PS set: a large page's low address bits are reserved (2M: bits 20:13, 1G: 29:13); above
      // level 3 PS itself is.
      masks[level][1] = highReserved(pa_bits) | (level == 2   ? 0x1fe000
                                                 : level == 3 ? 0x3fffe000
                                                 : level >= 4 ? pte::PS
                                                              : 0);
    }
    return masks;
  }
  static ReservedMasks eptReservedMasks(unsigned pa_bits) {
    ReservedMasks masks{};
    for (unsigned level = 1; level < masks.size(); ++level) {
      // LP clear: a non-leaf's bits 6:3 are reserved (not at level 1, where every entry is a leaf).
      masks[level][0] = highReserved(pa_bits) | (level > 1 ? 0x78 : 0);
      // LP set: a large page's low address bits (2M: bits 20:12, 1G: 29:12); above level 3 LP itself.
      masks[level][1] = highReserved(pa_bits) | (level == 2   ? 0x1ff000
                                                 : level == 3 ? 0x3ffff000
                                                 : level >= 4 ? ept::LP
                                                              : 0);
    }
    return masks;
  }

  // §2.1 reserved bits of a present guest entry at `level`.
  bool guestReserved(uint64_t pte_value, unsigned level) const {
    return (pte_value & guest_reserved[level][(pte_value & pte::PS) != 0]) != 0;
  }

  // §2.2 (§21.2 for a flattened format) misconfiguration of a present EPT entry at `level`:
  // writable but not readable, a reserved bit set, or a leaf of a reserved memory type (2, 3, 7).
  bool eptMisconfigured(uint64_t e, unsigned level, const EptShape &shape) const {
    constexpr unsigned kReservedMemTypes = 1u << 2 | 1u << 3 | 1u << 7;
    if ((e & (ept::R | ept::W)) == ept::W)
      return true;
    const bool leaf = shape.leaf(e, level);
    // x86's format: the reserved bits of each level, as masks built once. A flattened format:
    // a large leaf's frame aligned to its page, a table pointer's bits 6:3 and its 2 MiB alignment.
    const uint64_t reserved =
        shape.radix() ? ept_reserved[level][(e & ept::LP) != 0]
        : leaf        ? highReserved(config.pa_bits) | ((pageBytes(shape.leafSize(e, level)) - 1) & ~uint64_t{0xfff})
                      : highReserved(config.pa_bits) | 0x78 | 0x1ff000;
    if (e & reserved)
      return true;
    return leaf && ((kReservedMemTypes >> ((e >> 3) & 7)) & 1) != 0;
  }

  // Whether a radix EPT entry of `level` has neither fault of §2.2, in two tests where the checks
  // above make five: its bits 5:0 (R, W, X and a leaf's memory type) among those that pass
  // (kCleanLowBits), and no reserved bit. The memory type is tested whatever the entry is: a
  // non-leaf's bits 5:3 are reserved, so for it a value that fails here fails the checks above too,
  // and one that passes here has them zero. False means "not known clean", not "faulty".
  static constexpr uint64_t kCleanLowBits = [] {
    constexpr unsigned kReservedMemTypes = 1u << 2 | 1u << 3 | 1u << 7;
    uint64_t bits = 0;
    for (unsigned low = 0; low < 64; ++low) {
      const unsigned rwx = low & 7;
      const bool clean = rwx != 0 && (rwx & (ept::R | ept::W)) != ept::W && !((kReservedMemTypes >> (low >> 3)) & 1);
      bits |= uint64_t{clean} << low;
    }
    return bits;
  }();
  bool eptEntryClean(uint64_t e, unsigned level) const {
    return ((kCleanLowBits >> (e & 63)) & 1) != 0 && (e & ept_reserved[level][(e & ept::LP) != 0]) == 0;
  }

  uint32_t accessQualification(Access access) const {
    switch (access) {
    case Access::Read: return eptq::Read;
    case Access::Write: return eptq::Write;
    case Access::Exec: return eptq::Fetch;
    }
    return 0;
  }

  // The gPA of the entry the walk reads in the guest table at `table` of level `guest_level`
  // (`entry_gpa`, §5): what a fault met while locating that table reports (§6), as x86 reports
  // the entry accessed, not the table.
  uint64_t entryGpa(uint64_t table, unsigned guest_level) const {
    return table + 8 * entryIndex(req->va, guest_level);
  }

  // The tags a paging-structure cache entry and a nested TLB entry are looked up by.
  static auto pscMatch(uint64_t prefix, uint16_t vpid, uint16_t pcid) {
    return [=](const PscEntry &e) { return e.prefix == prefix && e.vpid == vpid && e.pcid == pcid; };
  }
  static auto ntlbMatch(uint64_t gfn, uint64_t root) {
    return [=](const NtlbEntry &e) { return e.gfn == gfn && e.root == root; };
  }

  // nested_translate(gpa, access, final) of §5. `guest_level` is the level of the guest table
  // being located (0 for the final gPA), for the fault payload.
  bool nestedTranslate(uint64_t gpa, Access access, bool final, unsigned guest_level,
                       HostPage &page) {
    // Called only for a gPA in its XLATE cycle, which probes the nested TLB and the EPT PSC;
    // their answer is used in the next cycle, ANSWER (§12).
    ++out->trace.walk_cycles;
    const uint64_t root = eptRoot(*ctx);
    // ntlb_lookup: 4K, 2M, 1G; the first array holding (eptp, gpa) decides.
    const NtlbHit hit = default_nested_geometry ? findNtlb<true>(root, gpa) : findNtlb<false>(root, gpa);
    if (hit.found) {
      Ntlb &array = ntlb[hit.size];
      const NtlbEntry &e = array.at(hit.set, hit.way);
      // What the hit must grant, worked out here: on a miss (most translations over a large
      // footprint) it is not needed, and worked out before the probe it was kept on the stack.
      const bool needs_dirty = final && access == Access::Write && eptAd(*ctx);
      if ((e.perm & eptBitFor(access)) && (!needs_dirty || e.dirty)) {
        ++counters[ctrIndex(Counter::NtlbHits)];
        ++out->trace.ntlb_hits;
        array.touch(hit.set, hit.way);
        const PageSize page_size = static_cast<PageSize>(hit.size);
        page.hpa = e.frame | (gpa & (pageBytes(page_size) - 1));
        page.size = page_size;
        page.ept_perm = e.perm;
        page.ept_dirty = e.dirty;
        return true;
      }
      for (unsigned s = 0; s < 3; ++s) {  // drop every entry matching (eptp, gpa)
        const uint64_t g = gpa >> pageShift(static_cast<PageSize>(s));
        ntlb[s].invalidateInSet(ntlb[s].setOf(g), ntlbMatch(g, root));
      }
    }
    return nestedWalk(gpa, access, final, guest_level, page);
  }

  // The nested TLB entry for (root, gpa) in the first array (4K, 2M, 1G) that holds one, its
  // array, set and way; found false when none does. Touches nothing. Fixed: the default geometry
  // (kDefaultConfig.ntlb), each array's set index and row as constants and its ways unrolled.
  struct NtlbHit {
    bool found = false;
    unsigned size = 0;
    unsigned set = 0;
    unsigned way = 0;
  };
  template <bool Fixed> NtlbHit findNtlb(uint64_t root, uint64_t gpa) const {
    NtlbHit hit;
    if constexpr (Fixed) {
      (void)(probeNtlb<PageSize::Size4K>(root, gpa, hit) || probeNtlb<PageSize::Size2M>(root, gpa, hit) ||
             probeNtlb<PageSize::Size1G>(root, gpa, hit));
      return hit;
    }
    for (unsigned size = 0; size < 3; ++size) {
      const Ntlb &array = ntlb[size];
      if (array.empty())
        continue;
      const uint64_t gfn = gpa >> pageShift(static_cast<PageSize>(size));
      const unsigned set = array.setOf(gfn);
      const int way = array.find(set, ntlbMatch(gfn, root));
      if (way >= 0)
        return {true, size, set, static_cast<unsigned>(way)};
    }
    return hit;
  }
  // findNtlb<true>()'s probe of the array of Size, its geometry the default one: true on a hit.
  template <PageSize Size> bool probeNtlb(uint64_t root, uint64_t gpa, NtlbHit &hit) const {
    constexpr ArrayGeometry kGeometry = kDefaultConfig.ntlb[static_cast<unsigned>(Size)];
    const Ntlb &array = ntlb[static_cast<unsigned>(Size)];
    if (array.empty())
      return false;
    const uint64_t gfn = gpa >> pageShift(Size);
    const unsigned set = array.setOf<kGeometry.sets>(gfn);
    const int way = array.find<kGeometry.ways>(set, ntlbMatch(gfn, root));
    if (way < 0)
      return false;
    hit = {true, static_cast<unsigned>(Size), set, static_cast<unsigned>(way)};
    return true;
  }

  // The rest of nested_translate after a nested TLB miss: the EPT walk from the EPT PSC, and the
  // nested TLB fill. Every gPA that misses the nested TLB comes here, most of a walk's cost over a
  // large footprint: for x86's format under the default geometry (kDefaultConfig), the walk with
  // that geometry as compile-time constants (Fixed), the set indices and rows folded, the searches
  // and the levels unrolled.
  bool nestedWalk(uint64_t gpa, Access access, bool final, unsigned guest_level, HostPage &page) {
    if (last_ctx_fixed_ept)  // ctx is last_ctx (translate())
      return nestedWalkIn<true>(gpa, access, final, guest_level, page);
    return nestedWalkAnyShape(gpa, access, final, guest_level, page);
  }

  // Whether the configuration's nested geometry is the default one, which nestedWalkIn<true>()
  // takes as constants: four EPT levels, each of levels 2-4 with its EPT PSC, and the nested TLB.
  static bool defaultNestedGeometry(const MmuConfig &cfg) {
    const auto same = [](const ArrayGeometry &a, const ArrayGeometry &b) { return a.sets == b.sets && a.ways == b.ways; };
    static_assert(kDefaultConfig.ept_psc[0].ways != 0 && kDefaultConfig.ept_psc[1].ways != 0 &&
                  kDefaultConfig.ept_psc[2].ways != 0, "nestedWalkIn<true>() probes every level's EPT PSC");
    bool same_geometry = cfg.nested_levels == kDefaultConfig.nested_levels;
    for (unsigned level = 2; level <= kDefaultConfig.nested_levels; ++level)
      same_geometry = same_geometry && same(cfg.ept_psc[level - 2], kDefaultConfig.ept_psc[level - 2]);
    for (unsigned size = 0; size < 3; ++size)
      same_geometry = same_geometry && same(cfg.ntlb[size], kDefaultConfig.ntlb[size]);
    return same_geometry;
  }
  static constexpr MmuConfig kDefaultConfig{};

  // Whether the guest paging's geometry is the default one, which findPsc<true>() and
  // allocatePsc<true>() take as constants: four guest levels, each of levels 2-4 with its PSC.
  static bool defaultPscGeometry(const MmuConfig &cfg) {
    bool same_geometry = cfg.guest_levels == kDefaultConfig.guest_levels;
    for (unsigned level = 2; level <= kDefaultConfig.guest_levels; ++level)
      same_geometry = same_geometry && cfg.psc[level - 2].sets == kDefaultConfig.psc[level - 2].sets &&
                      cfg.psc[level - 2].ways == kDefaultConfig.psc[level - 2].ways;
    return same_geometry;
  }

  template <bool Fixed>
  [[gnu::always_inline]] bool nestedWalkIn(uint64_t gpa, Access access, bool final, unsigned guest_level,
                                           HostPage &page) {
    const Regs &c = *ctx;
    const uint64_t root = eptRoot(c);
    const bool ad = eptAd(c);
    EptShape shape;  // Fixed: x86's, four levels (checked by the caller)
    if constexpr (!Fixed)
      shape = eptShapeOf(c[regIndex(CtxReg::Eptp)], config.nested_levels);
    ++counters[ctrIndex(Counter::NtlbMisses)];
    ++out->trace.ntlb_misses;

    uint64_t table = shape.rootTable(root);
    uint8_t perm = 7;
    unsigned top = shape.levels;
    if (shape.beyondReach(gpa))  // §21.1: beyond a flattened table's reach, no entry is read
      return eptFault(Fault::EptViolation, gpa, access, final, guest_level, top, 0);
    eptPscLookup<Fixed>(root, gpa, shape, table, perm, top);
    // The first read, of level `top`, is presented in ANSWER, whose cycle it shares (§12: early).
    // Every walk from here makes it, before any fault.
    --out->trace.walk_cycles;
    // One level of the walk (§5 nested_walk's loop body): kNextLevel to go on to the level below,
    // else the walk's result.
    constexpr int kNextLevel = -1;
    const auto step = [&](unsigned level) -> int {
      const uint64_t addr = table + 8 * shape.index(gpa, level);
      const uint64_t e = emitRead(addr, Dim::Nested, level);
      perm &= static_cast<uint8_t>(e & 7);
      // x86's format: an entry that passes eptEntryClean() (every entry of a working EPT) has
      // neither fault; any other goes through the checks one by one, which tell which it has.
      if (!(Fixed && eptEntryClean(e, level))) {
        if ((e & 7) == 0)
          return eptFault(Fault::EptViolation, gpa, access, final, guest_level, level, perm);
        if (eptMisconfigured(e, level, shape))
          return eptFault(Fault::EptMisconfig, gpa, access, final, guest_level, level, perm);
      }
      if (!shape.leaf(e, level)) {
        if (ad && !(e & ept::A))
          emitFetchOr(addr, ept::A, Dim::Nested, level);
        table = e & addr_mask;
        eptPscFill<Fixed>(level, root, gpa >> shape.shift(level), table, perm);
        return kNextLevel;
      }
      return nestedLeaf<Fixed>(shape, e, addr, level, root, ad, perm, gpa, access, final, guest_level, page);
    };
    if constexpr (Fixed) {
      // The levels as constants (the loop unrolled, those above `top` skipped): each level's
      // index, reserved bits, leaf test, page size and caches fold.
#pragma GCC unroll 4
      for (unsigned level = kDefaultConfig.nested_levels; level >= 1; --level)
        if (level <= top)
          if (const int result = step(level); result != kNextLevel)
            return result != 0;
    } else {
      for (unsigned level = top; level >= 1; --level)
        if (const int result = step(level); result != kNextLevel)
          return result != 0;
    }
    return true;  // not reached: level 1 is always a leaf
  }

  // Out of line, as the walk of any geometry and format is rare; nestedWalkIn<true>() is inlined
  // into nestedTranslate(), whose frame it shares (a call of its own cost a tenth of it).
  [[gnu::noinline]] bool nestedWalkAnyShape(uint64_t gpa, Access access, bool final, unsigned guest_level,
                                            HostPage &page) {
    return nestedWalkIn<false>(gpa, access, final, guest_level, page);
  }

  // The leaf `e` of EPT level `level` at host address `addr` that nestedWalkIn() read, with the
  // permission `perm` over the levels: the permission check, its A/D update and the nested TLB
  // fill (§5 nested_walk), `page` the answer. The fault's arguments as nestedWalkIn()'s.
  template <bool Fixed>
  bool nestedLeaf(const EptShape &shape, uint64_t e, uint64_t addr, unsigned level, uint64_t root, bool ad,
                  uint8_t perm, uint64_t gpa, Access access, bool final, unsigned guest_level, HostPage &page) {
    if (!(perm & eptBitFor(access)))
      return eptFault(Fault::EptViolation, gpa, access, final, guest_level, level, perm);
    const bool write_final = final && access == Access::Write;
    if (ad && (!(e & ept::A) || (write_final && !(e & ept::D))))
      emitFetchOr(addr, ept::A | (write_final ? ept::D : 0), Dim::Nested, level);
    const bool dirty = !ad || (e & ept::D) || write_final;
    const PageSize page_size = shape.leafSize(e, level);
    const uint64_t page_mask = pageBytes(page_size) - 1;
    const uint64_t gfn = gpa >> pageShift(page_size);
    NtlbEntry &fill = allocateNtlb<Fixed>(page_size, gfn);
    fill.dirty = dirty;
    fill.perm = perm;
    fill.root = root;
    fill.gfn = gfn;
    fill.frame = e & addr_mask & ~page_mask;
    page.hpa = fill.frame | (gpa & page_mask);
    page.size = page_size;
    page.ept_perm = perm;
    page.ept_dirty = dirty;
    return true;
  }

  // A fault of nested_translate at EPT level `level` with the permission `perm` read so far (§6;
  // 0 beyond a flattened table's reach, where no entry was read), its payload worked out here
  // rather than on every nested walk: the faulting access is the final gPA itself or the guest
  // entry being located; a violation's qualification holds the access and the permission, a
  // misconfiguration's nothing, as x86 clears it.
  [[gnu::noinline]] bool eptFault(Fault f, uint64_t gpa, Access access, bool final, unsigned guest_level,
                                  unsigned level, uint8_t perm) {
    const uint64_t fault_gpa = final ? gpa : entryGpa(gpa, guest_level);
    if (f == Fault::EptMisconfig)
      return fault(f, 0, fault_gpa, level, guest_level);
    const uint32_t access_bits = accessQualification(final ? access : Access::Read) | eptq::LinearValid |
                                 (final ? eptq::Final : 0);
    return fault(f, access_bits | (uint32_t{perm} << 3), fault_gpa, level, guest_level);
  }

  // A nested TLB way for `gfn` in the array of `size`, allocated (§9 Fill) for the caller to write.
  template <bool Fixed> NtlbEntry &allocateNtlb(PageSize size, uint64_t gfn) {
    if constexpr (Fixed) {
      switch (size) {
      case PageSize::Size4K: return allocateNtlbIn<PageSize::Size4K>(gfn);
      case PageSize::Size2M: return allocateNtlbIn<PageSize::Size2M>(gfn);
      case PageSize::Size1G: break;
      }
      return allocateNtlbIn<PageSize::Size1G>(gfn);
    }
    return allocateIn<0, 0>(ntlb[static_cast<unsigned>(size)], gfn);
  }
  template <PageSize Size> NtlbEntry &allocateNtlbIn(uint64_t gfn) {
    constexpr ArrayGeometry kGeometry = kDefaultConfig.ntlb[static_cast<unsigned>(Size)];
    return allocateIn<kGeometry.sets, kGeometry.ways>(ntlb[static_cast<unsigned>(Size)], gfn);
  }

  // An EPT PSC entry found by findEptPsc(): its level (0 for none), set and way.
  struct EptPscHit {
    unsigned level = 0;
    unsigned set = 0;
    unsigned way = 0;
  };

  // §10.3 lookup, on a nested-TLB miss: the deepest EPT level whose cache holds (root, gpa)
  // gives the table the walk continues in, the permission so far and the level to read next.
  // Leaves the arguments as they are when no level hits.
  template <bool Fixed>
  void eptPscLookup(uint64_t root, uint64_t gpa, const EptShape &shape, uint64_t &table, uint8_t &perm,
                    unsigned &top) {
    if constexpr (Fixed) {
      // Each level's probe and hit with its level as a constant (its cache, row and counter).
      [&]<unsigned... Level>(std::integer_sequence<unsigned, Level...>) {
        (void)(useEptPscLevel<Level + 2>(root, gpa, table, perm, top) || ...);
      }(std::make_integer_sequence<unsigned, kDefaultConfig.nested_levels - 1>{});
      return;
    }
    const EptPscHit hit = findEptPsc(root, gpa, shape);
    if (hit.level != 0)
      useEptPscHit(hit, table, perm, top);
  }
  template <unsigned Level>
  bool useEptPscLevel(uint64_t root, uint64_t gpa, uint64_t &table, uint8_t &perm, unsigned &top) {
    EptPscHit hit;
    if (!probeEptPsc<Level>(root, gpa, hit))
      return false;
    useEptPscHit<kDefaultConfig.ept_psc[Level - 2].ways>(hit, table, perm, top);
    return true;
  }
  // The EPT PSC entry of `hit` starts the walk: counted, touched, and its table, permission and
  // level taken. Ways: the cache's, when known at compile time (0: read at run time).
  template <unsigned Ways = 0> void useEptPscHit(const EptPscHit &hit, uint64_t &table, uint8_t &perm, unsigned &top) {
    EptPsc &cache = *ept_psc[hit.level - 2];
    const EptPscEntry &e = cache.at<Ways>(hit.set, hit.way);
    ++counters[ctrIndex(Counter::EptPscHitsL2) + hit.level - 2];
    out->trace.ept_psc_levels |= static_cast<uint8_t>(1u << hit.level);
    cache.touch(hit.set, hit.way);
    table = e.next_hpa;
    perm = e.perm;
    top = hit.level - 1;
  }

  // The deepest EPT level (from 2 up to the format's levels) whose cache holds (root, gpa), and
  // the set and way of its entry; level 0 when none does. Touches nothing (eptPscLookup() and the
  // prefetch hint). A flattened level-2 entry's prefix is gpa >> 30 (§21.5). eptPscLookup<true>()
  // makes the same search with each level's probe a constant (probeEptPsc()).
  EptPscHit findEptPsc(uint64_t root, uint64_t gpa, const EptShape &shape) const {
    EptPscHit hit;
    for (unsigned level = 2; level <= shape.levels; ++level) {
      const std::optional<EptPsc> &cache = ept_psc[level - 2];
      if (!cache || cache->empty())
        continue;
      const uint64_t prefix = gpa >> shape.shift(level);
      const unsigned set = cache->setOf(prefix);
      const int way = cache->find(set, [&](const EptPscEntry &e) { return e.prefix == prefix && e.root == root; });
      if (way >= 0)
        return {level, set, static_cast<unsigned>(way)};
    }
    return hit;
  }
  // findEptPsc()'s probe of EPT level Level for eptPscLookup<true>(), its geometry the default
  // one: true on a hit.
  template <unsigned Level> bool probeEptPsc(uint64_t root, uint64_t gpa, EptPscHit &hit) const {
    constexpr ArrayGeometry kGeometry = kDefaultConfig.ept_psc[Level - 2];
    const EptPsc &cache = *ept_psc[Level - 2];
    if (cache.empty())
      return false;
    const uint64_t prefix = gpa >> levelShift(Level);
    const unsigned set = cache.setOf<kGeometry.sets>(prefix);
    const int way =
        cache.find<kGeometry.ways>(set, [&](const EptPscEntry &e) { return e.prefix == prefix && e.root == root; });
    if (way < 0)
      return false;
    hit = {Level, set, static_cast<unsigned>(way)};
    return true;
  }

  // §10.3 fill: the non-leaf EPT entry of `level` (>= 2) for the gPAs of `prefix` just read leads
  // to `next_hpa`. Fixed: the default geometry, every level with its cache, as constants.
  template <bool Fixed>
  void eptPscFill(unsigned level, uint64_t root, uint64_t prefix, uint64_t next_hpa, uint8_t perm) {
    if constexpr (Fixed) {
      static_assert(kDefaultConfig.nested_levels == 4);
      EptPscEntry &fill = level == 2   ? allocateEptPscIn<2>(prefix)
                          : level == 3 ? allocateEptPscIn<3>(prefix)
                                       : allocateEptPscIn<4>(prefix);
      fill.perm = perm;
      fill.root = root;
      fill.prefix = prefix;
      fill.next_hpa = next_hpa;
      return;
    }
    std::optional<EptPsc> &cache = ept_psc[level - 2];
    if (!cache)
      return;
    EptPscEntry &fill = allocateIn<0, 0>(*cache, prefix);
    fill.perm = perm;
    fill.root = root;
    fill.prefix = prefix;
    fill.next_hpa = next_hpa;
  }

  template <unsigned Level> EptPscEntry &allocateEptPscIn(uint64_t prefix) {
    constexpr ArrayGeometry kGeometry = kDefaultConfig.ept_psc[Level - 2];
    return allocateIn<kGeometry.sets, kGeometry.ways>(*ept_psc[Level - 2], prefix);
  }

  // A valid entry of an escape list (the VMM's, keyed on gPA pages, §8.2, or the guest's, keyed
  // on gVA pages, §18.4) whose page, its address bits `entry_mask`, lies in [page, page + bytes)
  // (page aligned to bytes).
  bool escapeWithin(CtxReg list, uint64_t entry_mask, uint64_t page, uint64_t bytes) const {
    for (unsigned k = 0; k < config.escape_entries; ++k) {
      const uint64_t e = (*ctx)[regIndex(list) + k];
      if ((e & 1) && (e & entry_mask & ~(bytes - 1)) == page)
        return true;
    }
    return false;
  }

  bool escaped(uint64_t gpa) const { return escapeWithin(CtxReg::EscapeBase, addr_mask, gpa & addr_mask, 4096); }

  // §8.1: [a, a + n) inside [GBASE, GBASE + GSIZE) and below 2^P. All values are < 2^(P+1) and
  // P <= 52, so 64-bit sums cannot overflow.
  bool boundsOk(uint64_t a, uint64_t n) const {
    const uint64_t gbase = (*ctx)[regIndex(CtxReg::GBase)];
    const uint64_t gsize = (*ctx)[regIndex(CtxReg::GSize)];
    return gbase <= a && a + n <= gbase + gsize && a + n <= (uint64_t{1} << config.pa_bits);
  }

  // §12: in NATIVE the tables' addresses are host addresses, taken in the cycle the entry
  // holding them is read: no XLATE cycle, and the root read is presented in START. (SHADOW and
  // AGILE keep their XLATE cycles, which the policy's estimates count, §16.)
  bool hostTables() const { return slotMode(*ctx) == Mode::Native; }

  // xlate_table(gpa, guest_level) of §5. Nested: the walk's mode is known to be NESTED.
  template <bool Nested = false> bool xlateTable(uint64_t gpa, unsigned guest_level, uint64_t &hpa) {
    if (Nested || !hostTables())
      ++out->trace.walk_cycles;  // its XLATE cycle (§12)
    switch (Nested ? Mode::Nested : walkMode()) {
    case Mode::Agile: break;  // walkMode() never answers it
    case Mode::Native:
    case Mode::Shadow: hpa = gpa; return true;
    case Mode::Nested:
    case Mode::GuestDirect: {
      HostPage page;
      if (!nestedTranslate(gpa, Access::Read, false, guest_level, page))
        return false;
      hpa = page.hpa;
      return true;
    }
    case Mode::Direct:
    case Mode::DualDirect: {
      if (escaped(gpa)) {
        ++counters[ctrIndex(Counter::Escapes)];
        out->trace.escaped = true;
        HostPage page;
        if (!nestedTranslate(gpa, Access::Read, false, guest_level, page))
          return false;
        hpa = page.hpa;
      } else {
        hpa = gpa + (*ctx)[regIndex(CtxReg::GBase)];
      }
      if (!boundsOk(hpa & ~uint64_t{0xfff}, pageBytes(PageSize::Size4K)))
        return fault(Fault::Bounds, 0, entryGpa(gpa, guest_level), 0, guest_level);
      return true;
    }
    }
    return true;
  }

  // xlate_final(gpa, req, gsize) of §5. Nested: as for xlateTable().
  template <bool Nested = false> bool xlateFinal(uint64_t gpa, PageSize gsize, HostPage &page) {
    if (Nested || !hostTables())
      ++out->trace.walk_cycles;  // its XLATE cycle (§12)
    switch (Nested ? Mode::Nested : walkMode()) {
    case Mode::Agile: break;  // walkMode() never answers it
    case Mode::Native:
    case Mode::Shadow:
      page = HostPage{gpa, gsize, 7, true};
      return true;
    case Mode::Nested:
    case Mode::GuestDirect: return nestedTranslate(gpa, req->access, true, 0, page);
    case Mode::Direct:
    case Mode::DualDirect: {
      if (escaped(gpa)) {
        ++counters[ctrIndex(Counter::Escapes)];
        out->trace.escaped = true;
        if (!nestedTranslate(gpa, req->access, true, 0, page))
          return false;
        page.size = PageSize::Size4K;
      } else {
        const uint64_t gbase = (*ctx)[regIndex(CtxReg::GBase)];
        page.hpa = gpa + gbase;
        page.size = (gbase & (pageBytes(PageSize::Size1G) - 1)) == 0   ? PageSize::Size1G
                    : (gbase & (pageBytes(PageSize::Size2M) - 1)) == 0 ? PageSize::Size2M
                                                                       : PageSize::Size4K;
        // A valid escape entry inside the guest page forces 4K entries around it (§8.2).
        const uint64_t guest_bytes = pageBytes(gsize);
        if (escapeWithin(CtxReg::EscapeBase, addr_mask, gpa & ~(guest_bytes - 1) & addr_mask, guest_bytes))
          page.size = PageSize::Size4K;
        page.ept_perm = 7;
        page.ept_dirty = true;
      }
      const PageSize size = std::min(gsize, page.size);
      const uint64_t bytes = pageBytes(size);
      if (!boundsOk(page.hpa & ~(bytes - 1), bytes))
        return fault(Fault::Bounds, eptq::Final, gpa, 0);
      return true;
    }
    }
    return true;
  }

  uint32_t pfCode(bool present, bool reserved) const {
    return (present ? pf::P : 0) | (req->access == Access::Write ? pf::W : 0) |
           (req->user ? pf::U : 0) | (reserved ? pf::RSVD : 0) |
           (req->access == Access::Exec ? pf::ID : 0);
  }

  // Mmu::prefetch(): where the last walk of the request's 2 MiB region found its level-1 table
  // (table_hints), else walk()'s start, read-only. The deepest paging-structure cache entry for the
  // request gives a host table address; upper entries are read (they are few and stay in the host
  // caches) and translated by peekNestedPage(), which touches nothing, down to the level-1 table
  // whose entry is then prefetched. Any step that would need more (a miss, a large page, an entry
  // not present, DIRECT mode's checks) ends the hint.
  void prefetch(const Request &request) const {
    const Regs *c = request.vpid == last_ctx_vpid ? last_ctx : nullptr;
    if (c == nullptr)
      return;
    const uint16_t pcid = request.pcid & 0xfff;
    const uint64_t va = request.va;
    const uint16_t vpid = slotVpid(*c);
    const TableHint &hint = table_hints[tableHintIndex(va)];
    if (hint.tag == tableHintTag(va, vpid, pcid)) {
      memory.prefetchHint(hint.table + 8 * entryIndex(va, 1));
      return;
    }
    const Mode mode = slotMode(*c);
    // AGILE: a PSC entry may lead into shadow or guest tables; the hint is not worth telling them apart.
    if (directDimension(mode) || mode == Mode::Agile || (hasGuestSegment(mode) && inGuestSegment(*c, va)))
      return;
    for (unsigned l = 2; l <= config.guest_levels; ++l) {
      const Psc &cache = psc[l - 2];
      const uint64_t prefix = va >> levelShift(l);
      const unsigned set = cache.setOf(prefix);
      const int way = cache.find(set, pscMatch(prefix, vpid, pcid));
      if (way < 0)
        continue;
      uint64_t table = cache.at(set, static_cast<unsigned>(way)).next_hpa;
      for (unsigned level = l - 1; level > 1; --level) {
        uint64_t entry = 0;
        if (!memory.peekHint(table + 8 * entryIndex(va, level), entry) || !(entry & pte::P) || (entry & pte::PS))
          return;
        const uint64_t gpa = entry & addr_mask;
        if (!nestedDimension(mode)) {
          table = gpa;
          continue;
        }
        if (!peekNestedPage(eptRoot(*c), eptShapeOf((*c)[regIndex(CtxReg::Eptp)], config.nested_levels), gpa,
                            table))
          return;
      }
      memory.prefetchHint(table + 8 * entryIndex(va, 1));
      return;
    }
  }

  // The host address of `gpa` under EPT root `root` for prefetch(), touching nothing: from a
  // nested TLB entry, else by reading the EPT from the deepest EPT paging-structure cache entry
  // that holds (root, gpa), or from the root. The EPT's upper levels are few and stay in the host
  // caches; a guest table of a large footprint is rarely in the nested TLB, and without this the
  // hint gave up on most walks there. False when an entry read is not present (the hint ends).
  bool peekNestedPage(uint64_t root, const EptShape &shape, uint64_t gpa, uint64_t &hpa) const {
    if (cachedNestedPage(root, gpa, hpa))
      return true;
    if (shape.beyondReach(gpa))
      return false;
    uint64_t table = shape.rootTable(root);
    unsigned level = shape.levels;
    if (const EptPscHit hit = findEptPsc(root, gpa, shape); hit.level != 0) {
      table = ept_psc[hit.level - 2]->at(hit.set, hit.way).next_hpa;
      level = hit.level - 1;
    }
    for (;; --level) {
      uint64_t entry = 0;
      if (!memory.peekHint(table + 8 * shape.index(gpa, level), entry) || (entry & 7) == 0)
        return false;
      if (shape.leaf(entry, level)) {
        const uint64_t page_mask = pageBytes(shape.leafSize(entry, level)) - 1;
        hpa = (entry & addr_mask & ~page_mask) | (gpa & page_mask);
        return true;
      }
      table = entry & addr_mask;
    }
  }

  // The host address of `gpa` from a nested TLB entry of EPT root `root`, untouched; false when
  // none holds it.
  bool cachedNestedPage(uint64_t root, uint64_t gpa, uint64_t &hpa) const {
    const NtlbHit hit = findNtlb<false>(root, gpa);
    if (!hit.found)
      return false;
    const uint64_t offset_mask = pageBytes(static_cast<PageSize>(hit.size)) - 1;
    hpa = ntlb[hit.size].at(hit.set, hit.way).frame | (gpa & offset_mask);
    return true;
  }

  // §18.1: BASE <= va < LIMIT (an empty segment when LIMIT <= BASE).
  static bool inGuestSegment(const Regs &r, uint64_t va) {
    const uint64_t base = r[regIndex(CtxReg::GsegBase)] & ~uint64_t{0xfff};
    return base <= va && va < r[regIndex(CtxReg::GsegLimit)];
  }

  bool guestEscaped(uint64_t va) const {
    return escapeWithin(CtxReg::GEscapeBase, ~uint64_t{0xfff}, va & ~uint64_t{0xfff}, 4096);
  }

  // §18.1 gsize: the largest page whose VA page lies inside the segment, which OFFSET keeps
  // aligned, and which holds no guest escape entry.
  PageSize segmentPageSize(uint64_t va) const {
    const Regs &c = *ctx;
    const uint64_t base = c[regIndex(CtxReg::GsegBase)] & ~uint64_t{0xfff};
    const uint64_t limit = c[regIndex(CtxReg::GsegLimit)];
    const uint64_t offset = c[regIndex(CtxReg::GsegOffset)];
    for (const PageSize size : {PageSize::Size1G, PageSize::Size2M}) {
      const uint64_t bytes = pageBytes(size);
      const uint64_t page = va & ~(bytes - 1);
      if (page < base || limit - page < bytes || (offset & (bytes - 1)) != 0)
        continue;
      if (!escapeWithin(CtxReg::GEscapeBase, ~uint64_t{0xfff}, page, bytes))
        return size;
    }
    return PageSize::Size4K;
  }

  // segment_walk of §18.2: gVA -> gPA by the guest segment, no guest read; then xlate_final as
  // the mode's second dimension does (the EPT for GUEST_DIRECT, GBASE for DUAL_DIRECT).
  void segmentWalk(uint16_t pcid) {
    const Regs &c = *ctx;
    const uint64_t va = req->va;
    const uint64_t attributes = c[regIndex(CtxReg::GsegBase)];
    GuestAccess acc;
    acc.rw = attributes & gseg::RW;
    acc.us = attributes & gseg::US;
    acc.nx = !(attributes & gseg::X);
    out->trace.guest_segment = true;
    if (guestDenies(acc, *req)) {
      fault(Fault::GuestPageFault, pfCode(true, false), va, 0);
      return;
    }
    const uint64_t gpa = (va + c[regIndex(CtxReg::GsegOffset)]) & ((uint64_t{1} << config.pa_bits) - 1);
    const PageSize gsize = segmentPageSize(va);
    HostPage host;
    if (!xlateFinal(gpa, gsize, host))
      return;
    fillTlb(pcid, std::min(gsize, host.size), gsize, acc, false, host.ept_dirty, host);
  }

  // A way of `array` for `key`, allocated (§9 Fill) for the caller to write; Sets and Ways as for
  // SetAssocArray (0: the array's own).
  template <unsigned Sets, unsigned Ways, typename Entry>
  static Entry &allocateIn(detail::SetAssocArray<Entry> &array, uint64_t key) {
    const unsigned set = array.template setOf<Sets>(key);
    return array.template at<Ways>(set, array.template allocate<Sets, Ways>(set));
  }

  // The TLB (and, but for 1G entries, the STLB) fill that ends a successful walk (§5, §9.2), and
  // the walk's response.
  // `acc` by value: taken by reference, the walk kept its rights in memory, updating them there at
  // every entry it read.
  void fillTlb(uint16_t pcid, PageSize size, PageSize gsize, GuestAccess acc, bool global, bool dirty,
               const HostPage &host) {
    const uint64_t size_mask = pageBytes(size) - 1;
    Tlb &array = tlb[static_cast<unsigned>(size)];
    const uint64_t vpn = req->va >> pageShift(size);
    // The 4K array's default geometry as constants (most fills), as on the hit path.
    TlbEntry &fill = size == PageSize::Size4K && default_4k_geometry
                         ? allocateIn<kDefault4K.sets, kDefault4K.ways>(array, vpn)
                         : allocateIn<0, 0>(array, vpn);
    fill.global = global;
    fill.dirty = dirty;
    fill.vpid = slotVpid(*ctx);
    fill.pcid = pcid;
    fill.gsize = gsize;
    fill.acc = acc;
    fill.ept_perm = host.ept_perm;
    fill.grants = grantsOf(fill.acc, fill.ept_perm, fill.dirty);
    fill.vpn = vpn;
    fill.frame = host.hpa & ~size_mask;
    if (has_stlb && size != PageSize::Size1G) {  // §9.2: the same entry, 1G pages excepted
      const bool default_stlb = stlb.hasGeometry<kDefaultStlb.sets, kDefaultStlb.ways>();
      const unsigned stlb_set = default_stlb ? stlb.setOf<kDefaultStlb.sets>(vpn) : stlb.setOf(vpn);
      const unsigned stlb_way =
          default_stlb ? stlb.allocate<kDefaultStlb.sets, kDefaultStlb.ways>(stlb_set) : stlb.allocate(stlb_set);
      StlbEntry &second = stlb.at(stlb_set, stlb_way);
      static_cast<TlbEntry &>(second) = fill;
      second.size = size;
      stlb_tags[size_t{stlb_set} * stlb.ways() + stlb_way] = stlbTag(vpn, size);
    }
    ++counters[ctrIndex(Counter::StlbMisses4K) + static_cast<unsigned>(size)];
    out->resp.hpa = host.hpa;
    out->resp.size = size;
  }

  // prefetch()'s memory of where the last walk of each 2 MiB region of a context found its
  // level-1 table (host address), direct-mapped by va >> 21. Host-side only: no cache of §9-§10,
  // nothing a translation or a counter shows, and a stale entry (the guest rewrote its tables, an
  // invalidation) only prefetches a line no walk reads. With it a hint costs one probe where
  // locating the table again took the PSCs, a guest entry and the EPT (most of the hint's cost
  // over a large footprint, where the 2 MiB regions are many and the PSCs' level 2 holds few).
  struct TableHint {
    uint64_t tag = ~uint64_t{0};  // tableHintTag(); all ones matches no request
    uint64_t table = 0;
  };
  static constexpr unsigned kTableHintBits = 10;  // 1024 regions: 2 GiB of 4K pages, 16 KiB
  static unsigned tableHintIndex(uint64_t va) {
    return static_cast<unsigned>(va >> levelShift(2)) & ((1u << kTableHintBits) - 1);
  }
  // va's bits [VaBits-1:21] (at most 36), the VPID above them and the PCID above that: 64 bits.
  uint64_t tableHintTag(uint64_t va, uint16_t vpid, uint16_t pcid) const {
    return ((va << va_drop_bits) >> (va_drop_bits + levelShift(2))) | uint64_t{vpid} << 36 | uint64_t{pcid} << 52;
  }

  // The deepest guest level (2 .. L) whose PSC holds (va, vpid, pcid), and the set and way of its
  // entry; level 0 when none does. Touches nothing. Fixed: the default geometry (four levels, the
  // default PSCs), the levels tried as constants (set index and row folded, ways unrolled).
  struct PscHit {
    unsigned level = 0;
    unsigned set = 0;
    unsigned way = 0;
  };
  template <bool Fixed> PscHit findPsc(uint64_t va, uint16_t vpid, uint16_t pcid) const {
    PscHit hit;
    if constexpr (Fixed) {
      [&]<unsigned... Level>(std::integer_sequence<unsigned, Level...>) {
        (void)(probePsc<Level + 2>(va, vpid, pcid, hit) || ...);
      }(std::make_integer_sequence<unsigned, kDefaultConfig.guest_levels - 1>{});
      return hit;
    }
    for (unsigned level = 2; level <= config.guest_levels; ++level) {
      const Psc &cache = psc[level - 2];
      if (cache.empty())
        continue;
      const uint64_t prefix = va >> levelShift(level);
      const unsigned set = cache.setOf(prefix);
      const int way = cache.find(set, pscMatch(prefix, vpid, pcid));
      if (way >= 0)
        return {level, set, static_cast<unsigned>(way)};
    }
    return hit;
  }
  template <unsigned Level> bool probePsc(uint64_t va, uint16_t vpid, uint16_t pcid, PscHit &hit) const {
    constexpr ArrayGeometry kGeometry = kDefaultConfig.psc[Level - 2];
    const Psc &cache = psc[Level - 2];
    if (cache.empty())
      return false;
    const uint64_t prefix = va >> levelShift(Level);
    const unsigned set = cache.setOf<kGeometry.sets>(prefix);
    const int way = cache.find<kGeometry.ways>(set, pscMatch(prefix, vpid, pcid));
    if (way < 0)
      return false;
    hit = {Level, set, static_cast<unsigned>(way)};
    return true;
  }

  // A PSC way of guest level `level` for the VAs of `prefix`, allocated (§9 Fill) for the caller
  // to write; Fixed as for findPsc().
  template <bool Fixed> PscEntry &allocatePsc(unsigned level, uint64_t prefix) {
    if constexpr (Fixed) {
      static_assert(kDefaultConfig.guest_levels == 4);
      return level == 2 ? allocatePscIn<2>(prefix) : level == 3 ? allocatePscIn<3>(prefix) : allocatePscIn<4>(prefix);
    }
    return allocateIn<0, 0>(psc[level - 2], prefix);
  }
  template <unsigned Level> PscEntry &allocatePscIn(uint64_t prefix) {
    constexpr ArrayGeometry kGeometry = kDefaultConfig.psc[Level - 2];
    return allocateIn<kGeometry.sets, kGeometry.ways>(psc[Level - 2], prefix);
  }

  // walk of §5. NestedFixed: the slot's mode is NESTED and the guest geometry the default one
  // (defaultPscGeometry()), known at compile time: the branches of the other modes fold away.
  template <bool NestedFixed> void walkIn(uint16_t pcid) {
    const Regs &c = *ctx;
    const Mode mode = NestedFixed ? Mode::Nested : slotMode(c);
    if (hasGuestSegment(mode) && inGuestSegment(c, req->va)) {  // §18.2
      if (!guestEscaped(req->va))
        return segmentWalk(pcid);
      ++counters[ctrIndex(Counter::Escapes)];
      out->trace.escaped = true;
    }
    const uint16_t vpid = slotVpid(c);
    const uint64_t va = req->va;
    const unsigned levels = NestedFixed ? kDefaultConfig.guest_levels : config.guest_levels;
    const bool agile = mode == Mode::Agile;
    agile_nested = false;
    uint64_t rights = kAllGuestRights;
    unsigned level = levels;
    uint64_t table = 0;
    bool have_table = false;
    // The PSCs, deepest first (§10.1).
    if (const PscHit hit = NestedFixed || default_psc_geometry ? findPsc<true>(va, vpid, pcid)
                                                               : findPsc<false>(va, vpid, pcid);
        hit.level != 0) {
      const unsigned l = hit.level;
      Psc &cache = psc[l - 2];
      ++counters[ctrIndex(Counter::PscHitsL2) + (l - 2)];
      cache.touch(hit.set, hit.way);
      const PscEntry &e = cache.at(hit.set, hit.way);
      table = e.next_hpa;
      rights = e.rights;
      level = l - 1;
      have_table = true;
      out->trace.psc_level = static_cast<uint8_t>(l);
      if (agile && e.nested) {  // resumed below a switch (§20.4)
        agile_nested = true;
        out->trace.agile_switch_level = static_cast<uint8_t>(level);
      }
    }
    if (!have_table) {
      uint64_t root = c[regIndex(CtxReg::Cr3)];
      const uint64_t gcr3 = c[regIndex(CtxReg::Gcr3)];
      if (agile && (gcr3 & agile::RootNested)) {  // the switch at the root: NESTED's walk (§20.1)
        agile_nested = true;
        out->trace.agile_switch_level = static_cast<uint8_t>(levels);
        root = gcr3 & addr_mask;
      }
      if (!xlateTable<NestedFixed>(root, levels, table))
        return;
    }
    const bool ad = guestAd(c);
    // Below a PSC hit the first guest read is presented in START, whose cycle it shares (§12:
    // early), and so is the root read in NATIVE (CR3 is a host address); after CR3's
    // XLATE it is not.
    bool early = have_table || hostTables();
    for (;;) {
      if (level == 1)
        table_hints[tableHintIndex(va)] = TableHint{tableHintTag(va, vpid, pcid), table};
      const uint64_t addr = table + 8 * entryIndex(va, level);
      const uint64_t pte_value = emitRead(addr, Dim::Guest, level);
      if (early) {
        --out->trace.walk_cycles;
        early = false;
      }
      if (!(pte_value & pte::P)) {
        fault(Fault::GuestPageFault, pfCode(false, false), va, level);
        return;
      }
      if (guestReserved(pte_value, level)) {
        fault(Fault::GuestPageFault, pfCode(true, true), va, level);
        return;
      }
      rights = guestRights(rights, pte_value);
      if (level > 1 && !(pte_value & pte::PS)) {  // non-leaf
        if (ad && !(pte_value & pte::A))
          emitFetchOr(addr, pte::A, Dim::Guest, level);
        uint64_t next = 0;
        // AGILE's switch (§20.2): a shadow entry with bit 11 holds the guest table's host address,
        // located as a shadow pointer; the levels below are walked nested. At most once a walk.
        const bool switches = agile && !agile_nested && (pte_value & agile::Switch);
        if (!xlateTable<NestedFixed>(pte_value & addr_mask, level - 1, next))
          return;
        if (switches) {
          agile_nested = true;
          out->trace.agile_switch_level = static_cast<uint8_t>(level - 1);
        }
        const uint64_t prefix = va >> levelShift(level);
        PscEntry &fill = NestedFixed || default_psc_geometry ? allocatePsc<true>(level, prefix)
                                                             : allocatePsc<false>(level, prefix);
        fill.vpid = vpid;
        fill.pcid = pcid;
        fill.rights = rights;
        fill.prefix = prefix;
        fill.next_hpa = next;
        fill.nested = agile_nested;
        table = next;
        --level;
        continue;
      }
      // Leaf.
      const PageSize gsize = sizeOfLevel(level);
      const uint64_t gmask = pageBytes(gsize) - 1;
      const GuestAccess acc = guestAccessOf(rights);
      if (guestDenies(acc, *req)) {
        fault(Fault::GuestPageFault, pfCode(true, false), va, level);
        return;
      }
      const uint64_t gpa = (pte_value & addr_mask & ~gmask) | (va & gmask);
      HostPage host;
      if (!xlateFinal<NestedFixed>(gpa, gsize, host))
        return;
      const PageSize size = std::min(gsize, host.size);  // splintering
      const bool write = req->access == Access::Write;
      if (ad && (!(pte_value & pte::A) || (write && !(pte_value & pte::D))))
        emitFetchOr(addr, pte::A | (write ? pte::D : 0), Dim::Guest, level);
      fillTlb(pcid, size, gsize, acc, pte_value & pte::G, (!ad || write || (pte_value & pte::D)) && host.ept_dirty,
              host);
      return;
    }
  }

  MmuConfig config;
  PhysicalMemory &memory;
  SparseMemory *const sparse_memory;  // `memory` when it is the shim's SparseMemory, else null
  FixedLatency default_timing;
  MemoryTiming *timing;
  const uint64_t fixed_cycles;  // timing->fixedCycles(): 0 unless every operation costs the same
  // For the request in flight: fixed_cycles when its operations are not recorded and the memory
  // is a SparseMemory (a read is then a read64Inline() and a constant c), else 0 (emitRead()).
  uint64_t lean_op_cycles = 0;
  uint64_t addr_mask;  // bits [P-1:12]
  unsigned va_drop_bits;  // 64 - VaBits: the bits above the VA that must copy its top bit
  const ReservedMasks guest_reserved;  // guestReservedMasks(P)
  const ReservedMasks ept_reserved;    // eptReservedMasks(P)
  std::vector<Regs> regs;
  // By PageSize. Held in place, not behind a vector, so that a TLB lookup reaches the entries
  // with one load less.
  std::array<Tlb, 3> tlb;
  std::vector<Psc> psc;    // by guest level - 2
  std::array<Ntlb, 3> ntlb;  // by PageSize
  Stlb stlb;
  const bool has_stlb;
  // stlbTag() of every STLB entry, valid or not, by set and way (sets x ways, like the entries):
  // written wherever an entry's VPN or size is (fillTlb()), so always its entry's.
  std::vector<uint64_t> stlb_tags;
  // By EPT level - 2; empty for a level without a cache (ways = 0) or beyond NestedLevels.
  std::array<std::optional<EptPsc>, 4> ept_psc;
  const bool default_4k_geometry;  // tlb[4K] is kDefault4K.sets x kDefault4K.ways (fastHit())
  const bool default_nested_geometry;  // defaultNestedGeometry(config) (nestedWalk())
  const bool default_psc_geometry;     // defaultPscGeometry(config) (findPsc(), allocatePsc())
  std::array<TableHint, size_t{1} << kTableHintBits> table_hints{};
  std::array<uint64_t, kNumCounters> counters{};
  // contextOf()'s memory: the slot of last_ctx_vpid; kNoVpid (no VPID is that wide) for none.
  static constexpr uint32_t kNoVpid = 1u << 16;
  const Regs *last_ctx = nullptr;
  uint32_t last_ctx_vpid = kNoVpid;
  // Whether last_ctx's EPT walk takes nestedWalkIn<true>(): the default nested geometry and x86's
  // format in its EPTP. Worked out with last_ctx (an EPTP write forgets it), not on every nested
  // TLB miss, where it was a tenth of the miss's work.
  bool last_ctx_fixed_ept = false;
};

// --- Mmu --------------------------------------------------------------------------------------

namespace {
const MmuConfig &validated(const MmuConfig &config) {
  if (const std::string error = config.validate(); !error.empty())
    throw std::invalid_argument("invalid MmuConfig: " + error);
  return config;
}
}  // namespace

Mmu::Mmu(const MmuConfig &config, PhysicalMemory &memory, MemoryTiming *timing)
    : impl_(std::make_unique<Impl>(validated(config), memory, timing)) {}

Mmu::~Mmu() = default;

const MmuConfig &Mmu::config() const { return impl_->config; }

void Mmu::translate(const Request &req, TranslateResult &result) { impl_->translateFast(req, result); }

size_t Mmu::translateHits(const Request *requests, size_t count, TranslateResult &result, uint64_t *hpas) {
  return impl_->translateHits(requests, count, result, hpas);
}

void Mmu::prefetch(const Request &req) const { impl_->prefetch(req); }

TranslateResult Mmu::translate(const Request &req) {
  TranslateResult result;
  translate(req, result);
  return result;
}

void Mmu::writeReg(unsigned ctx, CtxReg reg, uint64_t value) {
  impl_->writeReg(ctx, static_cast<unsigned>(reg), value);
}

uint64_t Mmu::readReg(unsigned ctx, CtxReg reg) const {
  return impl_->readReg(ctx, static_cast<unsigned>(reg));
}

void Mmu::invAddr(uint16_t vpid, uint64_t va) { impl_->invAddr(vpid, va); }
void Mmu::invPcid(uint16_t vpid, uint16_t pcid) { impl_->invPcid(vpid, pcid & 0xfff); }
void Mmu::invVpid(uint16_t vpid) { impl_->invVpid(vpid); }
void Mmu::invEptp(uint64_t eptp) { impl_->invEptp(eptp); }
void Mmu::invAll() { impl_->invAll(); }

void Mmu::control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid,
                  uint16_t pcid) {
  switch (op) {
  case CtrlOp::WriteReg: impl_->writeReg(ctx, reg & 0x1f, data); return;
  case CtrlOp::InvAddr: invAddr(vpid, data); return;
  case CtrlOp::InvPcid: invPcid(vpid, pcid); return;
  case CtrlOp::InvVpid: invVpid(vpid); return;
  case CtrlOp::InvEptp: invEptp(data); return;
  case CtrlOp::InvAll: invAll(); return;
  }
  throw std::invalid_argument("Mmu::control: unknown op " +
                              std::to_string(static_cast<unsigned>(op)));
}

uint64_t Mmu::counter(Counter c) const {
  const unsigned index = static_cast<unsigned>(c);
  return index < kNumCounters ? impl_->counters[index] : 0;  // §14: index >= 38 reads 0
}

const std::array<uint64_t, kNumCounters> &Mmu::counters() const { return impl_->counters; }

Response Mmu::peek(const Request &req) const {
  const Impl &m = *impl_;
  const int slot = m.findContext(req.vpid);
  if (slot < 0) {
    Response resp;
    resp.fault = Fault::NoContext;
    resp.fault_addr = req.va;
    return resp;
  }
  const Impl::Regs &r = m.regs[static_cast<unsigned>(slot)];
  const auto reg = [&](CtxReg which) { return r[Impl::regIndex(which)]; };
  ContextRegisters ctx;
  ctx.vpid = reg(CtxReg::Vpid);
  ctx.mode = reg(CtxReg::Mode);
  ctx.cr3 = reg(CtxReg::Cr3);
  ctx.eptp = reg(CtxReg::Eptp);
  ctx.gbase = reg(CtxReg::GBase);
  ctx.gsize = reg(CtxReg::GSize);
  ctx.flags = reg(CtxReg::Flags);
  for (unsigned k = 0; k < ctx.escape.size(); ++k) {
    ctx.escape[k] = r[Impl::regIndex(CtxReg::EscapeBase) + k];
    ctx.guest_escape[k] = r[Impl::regIndex(CtxReg::GEscapeBase) + k];
  }
  ctx.gseg_base = reg(CtxReg::GsegBase);
  ctx.gseg_limit = reg(CtxReg::GsegLimit);
  ctx.gseg_offset = reg(CtxReg::GsegOffset);
  ctx.gcr3 = reg(CtxReg::Gcr3);
  return referenceWalk(m.config, ctx, m.memory, req);
}

unsigned Mmu::tlbValidEntries() const {
  unsigned count = 0;
  for (const auto &array : impl_->tlb)
    count += array.validCount();
  return count;
}

unsigned Mmu::stlbValidEntries() const { return impl_->has_stlb ? impl_->stlb.validCount() : 0; }

unsigned Mmu::pscValidEntries(unsigned level) const {
  if (level < 2 || level > impl_->config.guest_levels)
    return 0;
  return impl_->psc[level - 2].validCount();
}

unsigned Mmu::ntlbValidEntries() const {
  unsigned count = 0;
  for (const auto &array : impl_->ntlb)
    count += array.validCount();
  return count;
}

unsigned Mmu::eptPscValidEntries(unsigned level) const {
  if (level < 2 || level > impl_->config.nested_levels)
    return 0;
  const auto &cache = impl_->ept_psc[level - 2];
  return cache ? cache->validCount() : 0;
}

void Mmu::reset() {
  impl_->resetCaches();
  for (auto &r : impl_->regs)
    r.fill(0);
  impl_->forgetContext();
  impl_->counters.fill(0);
}

}  // namespace vmmu
