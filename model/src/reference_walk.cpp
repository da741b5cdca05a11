// referenceWalk(): the uncached translation of vmmu/reference_walk.h, written from the spec text
// (§2, §5-§8) and the Intel SDM without looking at the Mmu's walker. As the SDM describes a 2D
// walk, each guest paging-structure entry is read by translating the entry's own guest-physical
// address, so an EPT fault met on the way names that address (SDM Vol. 3C, EPT violations: the
// guest-physical address of the access), with the exit qualification of the SDM's table.
#include "vmmu/reference_walk.h"

#include <algorithm>

namespace vmmu {
namespace {

uint64_t bitsBetween(unsigned hi, unsigned lo) {  // mask of bits [hi:lo]
  return ((hi >= 63 ? ~uint64_t{0} : (uint64_t{2} << hi) - 1)) & ~((uint64_t{1} << lo) - 1);
}

// Everything one cold translation needs, with the fault it ended in (if any).
class ColdWalk {
public:
  ColdWalk(const MmuConfig &config, const ContextRegisters &ctx, PhysicalMemory &memory,
           const Request &req)
      : cfg_(config), ctx_(ctx), mem_(memory), req_(req),
        mode_(static_cast<Mode>(ctx.mode & 7)), frame_bits_(bitsBetween(config.pa_bits - 1, 12)) {}

  Response run() {
    const unsigned va_bits = cfg_.vaBits();
    const uint64_t top = req_.va >> (va_bits - 1);  // bits 63 .. VaBits-1
    const bool canonical = top == 0 || top == (~uint64_t{0} >> (va_bits - 1));
    if (!canonical)
      return fail(Fault::GuestGeneralProtection, 0, req_.va, 0);
    if ((mode_ == Mode::GuestDirect || mode_ == Mode::DualDirect) && inGuestSegment() && !guestSegmentEscaped())
      return segmentAddress();

    bool rw = true, us = true, nx = false;
    uint64_t table_gpa = ctx_.cr3 & frame_bits_;
    // AGILE (§20): GCR3 bit 0 makes the whole walk two-dimensional from the guest's root;
    // otherwise it starts in the shadow tables at CR3 and may turn two-dimensional once.
    if (mode_ == Mode::Agile && (ctx_.gcr3 & 1)) {
      two_dimensional_ = true;
      table_gpa = ctx_.gcr3 & frame_bits_;
    }
    bool table_is_host = false;  // AGILE: the table was named by a switching shadow entry, by hPA
    for (unsigned level = cfg_.guest_levels; level >= 1; --level) {
      const unsigned shift = 12 + 9 * (level - 1);
      const uint64_t entry_gpa = table_gpa + 8 * ((req_.va >> shift) & 511);
      uint64_t entry_hpa = entry_gpa;
      if (!table_is_host && !entryAddress(entry_gpa, level, entry_hpa))
        return resp_;
      table_is_host = false;
      const uint64_t entry = mem_.read64(entry_hpa);
      const uint32_t who = (req_.access == Access::Write ? pf::W : 0) | (req_.user ? pf::U : 0) |
                           (req_.access == Access::Exec ? pf::ID : 0);
      if (!(entry & pte::P))
        return fail(Fault::GuestPageFault, who, req_.va, level);
      if (guestEntryHasReservedBits(entry, level))
        return fail(Fault::GuestPageFault, who | pf::P | pf::RSVD, req_.va, level);
      rw = rw && (entry & pte::RW);
      us = us && (entry & pte::US);
      nx = nx || (entry & pte::NX);
      const bool leaf = level == 1 || (entry & pte::PS);
      if (!leaf) {
        table_gpa = entry & frame_bits_;
        // The switch bit (bit 11) of a shadow entry: the next table is the guest's, given by its
        // host address; everything below it is read two-dimensionally.
        if (mode_ == Mode::Agile && !two_dimensional_ && (entry & (uint64_t{1} << 11))) {
          two_dimensional_ = true;
          table_is_host = true;
        }
        continue;
      }
      const bool denied = (req_.user && !us) || (req_.access == Access::Write && !rw) ||
                          (req_.access == Access::Exec && nx);
      if (denied)
        return fail(Fault::GuestPageFault, who | pf::P, req_.va, level);
      const uint64_t page_bytes = uint64_t{1} << shift;
      const uint64_t gpa = (entry & frame_bits_ & ~(page_bytes - 1)) | (req_.va & (page_bytes - 1));
      return finalAddress(gpa, static_cast<PageSize>(level - 1));
    }
    return resp_;  // not reached
  }

private:
  // §18.1, read from the register text: BASE <= va < LIMIT, BASE's low 12 bits being attributes.
  bool inGuestSegment() const {
    return (ctx_.gseg_base & ~uint64_t{0xfff}) <= req_.va && req_.va < (ctx_.gseg_limit & ~uint64_t{0xfff});
  }
  bool guestSegmentEscaped() const {
    for (unsigned k = 0; k < cfg_.escape_entries; ++k)
      if ((ctx_.guest_escape[k] & 1) && (ctx_.guest_escape[k] >> 12) == (req_.va >> 12))
        return true;
    return false;
  }

  // §18.2 segment_walk: the segment's grant, gPA = va + OFFSET (P bits), the page size the
  // segment allows, then the final translation of the mode's second dimension.
  Response segmentAddress() {
    const bool rw = ctx_.gseg_base & gseg::RW, us = ctx_.gseg_base & gseg::US, x = ctx_.gseg_base & gseg::X;
    const bool denied = (req_.user && !us) || (req_.access == Access::Write && !rw) || (req_.access == Access::Exec && !x);
    if (denied) {
      const uint32_t who = (req_.access == Access::Write ? pf::W : 0) | (req_.user ? pf::U : 0) |
                           (req_.access == Access::Exec ? pf::ID : 0);
      return fail(Fault::GuestPageFault, who | pf::P, req_.va, 0);
    }
    const uint64_t gpa = (req_.va + (ctx_.gseg_offset & ~uint64_t{0xfff})) & bitsBetween(cfg_.pa_bits - 1, 0);
    PageSize size = PageSize::Size4K;
    for (const unsigned shift : {30u, 21u}) {
      const uint64_t bytes = uint64_t{1} << shift;
      const uint64_t first = req_.va / bytes * bytes;
      bool fits = first >= (ctx_.gseg_base & ~uint64_t{0xfff}) &&
                  first + bytes - 1 < (ctx_.gseg_limit & ~uint64_t{0xfff}) && first + bytes - 1 > first &&
                  ctx_.gseg_offset % bytes == 0;
      for (unsigned k = 0; fits && k < cfg_.escape_entries; ++k)
        fits = !((ctx_.guest_escape[k] & 1) && ctx_.guest_escape[k] / bytes == first / bytes);
      if (fits) {
        size = shift == 30 ? PageSize::Size1G : PageSize::Size2M;
        break;
      }
    }
    return finalAddress(gpa, size);
  }

  Response fail(Fault fault, uint32_t info, uint64_t addr, unsigned level, unsigned guest_level = 0) {
    resp_ = Response{};
    resp_.fault = fault;
    resp_.fault_info = info;
    resp_.fault_addr = addr;
    resp_.fault_level = static_cast<uint8_t>(level);
    resp_.fault_guest_level = static_cast<uint8_t>(guest_level);
    // A guest page fault exits when a shadow table raised it: SHADOW, or AGILE before its switch.
    const bool shadow_fault = mode_ == Mode::Shadow || (mode_ == Mode::Agile && !two_dimensional_);
    resp_.vm_exit = fault == Fault::EptViolation || fault == Fault::EptMisconfig ||
                    fault == Fault::Bounds || (fault == Fault::GuestPageFault && shadow_fault);
    return resp_;
  }

  bool guestEntryHasReservedBits(uint64_t entry, unsigned level) const {
    if (cfg_.pa_bits < 52 && (entry & bitsBetween(51, cfg_.pa_bits)))
      return true;
    if (!(entry & pte::PS) || level == 1)
      return false;
    if (level >= 4)
      return true;
    return entry & bitsBetween(level == 2 ? 20 : 29, 13);
  }

  bool isEscaped(uint64_t gpa) const {
    for (unsigned k = 0; k < cfg_.escape_entries; ++k)
      if ((ctx_.escape[k] & 1) && (ctx_.escape[k] & frame_bits_) == (gpa & frame_bits_))
        return true;
    return false;
  }

  bool inBounds(uint64_t start, uint64_t bytes) const {
    const uint64_t end = start + bytes;
    const uint64_t gbase = ctx_.gbase & frame_bits_;
    const uint64_t gsize = ctx_.gsize & bitsBetween(cfg_.pa_bits, 12);
    return start >= gbase && end <= gbase + gsize && end <= (uint64_t{1} << cfg_.pa_bits);
  }

  // One EPT walk (§5 nested_translate without the nested TLB) of the gPA the access uses: the
  // final gPA, or (guest_level > 0) the guest paging-structure entry of that level. On success
  // sets hpa and the EPT leaf's level.
  bool eptWalk(uint64_t gpa, unsigned guest_level, uint64_t &hpa, unsigned &leaf_level) {
    const bool final = guest_level == 0;
    // SDM: reads of guest paging structures are data reads.
    const Access access = final ? req_.access : Access::Read;
    const unsigned need = 1u << static_cast<unsigned>(access);
    unsigned rwx = 7;
    // §21.1: EPTP bits 9:8 name the table's format. 1: two levels of 18-bit index (gPA bits
    // 47:30, 29:12), 2: one level of 18 bits (29:12), reaching 48 and 30 gPA bits; 0 and the
    // reserved 3: the x86 radix format, 9 bits a level.
    const unsigned format = (ctx_.eptp >> 8) & 3;
    const bool flat = format == 1 || format == 2;
    // A flattened root table is 2 MiB aligned: EPTP bits 20:12 are not part of its address.
    uint64_t table = ctx_.eptp & frame_bits_ & (flat ? ~bitsBetween(20, 12) : ~uint64_t{0});
    const unsigned levels = format == 1 ? 2 : format == 2 ? 1 : cfg_.nested_levels;
    const unsigned index_bits = flat ? 18 : 9;
    // The SDM's exit qualification: bits 2:0 the access, 5:3 the AND of R/W/X over the entries
    // used, 7 linear address valid, 8 the access is to the translation of the linear address
    // (clear for a paging-structure entry); vmmu leaves the rest 0.
    const auto qualification = [&] { return (need & 7) | (rwx << 3) | (1u << 7) | (final ? 1u << 8 : 0); };
    const unsigned reach = 12 + index_bits * levels;
    if (flat && reach < 64 && (gpa >> reach) != 0) {  // nothing is read: no R/W/X to report
      rwx = 0;
      fail(Fault::EptViolation, qualification(), gpa, levels, guest_level);
      return false;
    }
    for (unsigned level = levels; level >= 1; --level) {
      const unsigned shift = 12 + index_bits * (level - 1);
      const uint64_t entry = mem_.read64(table + 8 * ((gpa >> shift) & ((uint64_t{1} << index_bits) - 1)));
      rwx &= entry & 7;
      if ((entry & 7) == 0) {
        fail(Fault::EptViolation, qualification(), gpa, level, guest_level);
        return false;
      }
      const bool large = entry & ept::LP;
      const bool leaf = level == 1 || large;
      // What a leaf maps: radix level l maps 2^(12+9(l-1)); flattened level 1 maps 4K, or 2M with
      // LP; flattened level 2 maps 1G (§21.2).
      const unsigned page_shift = !flat ? shift : level == 2 ? 30 : large ? 21 : 12;
      const unsigned mem_type = (entry >> 3) & 7;
      bool misconfigured = ((entry & ept::W) && !(entry & ept::R)) ||
                           (cfg_.pa_bits < 52 && (entry & bitsBetween(51, cfg_.pa_bits))) ||
                           (!flat && large && level >= 4);
      if (!misconfigured && !leaf)  // a flattened level-1 table is 2 MiB aligned
        misconfigured = (entry & bitsBetween(6, 3)) || (flat && (entry & bitsBetween(20, 12)));
      if (!misconfigured && leaf)
        misconfigured = mem_type == 2 || mem_type == 3 || mem_type == 7 ||
                        (page_shift > 12 && (entry & bitsBetween(page_shift - 1, 12)));
      if (misconfigured) {  // the SDM clears the exit qualification of a misconfiguration
        fail(Fault::EptMisconfig, 0, gpa, level, guest_level);
        return false;
      }
      if (!leaf) {
        table = entry & frame_bits_;
        continue;
      }
      if (!(rwx & need)) {
        fail(Fault::EptViolation, qualification(), gpa, level, guest_level);
        return false;
      }
      const uint64_t page_bytes = uint64_t{1} << page_shift;
      hpa = (entry & frame_bits_ & ~(page_bytes - 1)) | (gpa & (page_bytes - 1));
      leaf_level = (page_shift - 12) / 9 + 1;  // the level of a radix leaf of the same size
      return true;
    }
    return false;  // not reached
  }

  // The host address of the guest entry at `gpa` in a table of `guest_level` (§5 xlate_table
  // applied to the entry itself; its 4K page is the table's).
  bool entryAddress(uint64_t gpa, unsigned guest_level, uint64_t &hpa) {
    unsigned unused_level = 0;
    if (mode_ == Mode::Native || mode_ == Mode::Shadow || (mode_ == Mode::Agile && !two_dimensional_)) {
      hpa = gpa;
      return true;
    }
    if (mode_ == Mode::Nested || mode_ == Mode::GuestDirect || mode_ == Mode::Agile)
      return eptWalk(gpa, guest_level, hpa, unused_level);
    // DIRECT, DUAL_DIRECT
    if (isEscaped(gpa)) {
      if (!eptWalk(gpa, guest_level, hpa, unused_level))
        return false;
    } else {
      hpa = gpa + (ctx_.gbase & frame_bits_);
    }
    if (!inBounds(hpa & ~uint64_t{0xfff}, 0x1000)) {
      fail(Fault::Bounds, 0, gpa, 0, guest_level);
      return false;
    }
    return true;
  }

  // §5 xlate_final, then the response.
  Response finalAddress(uint64_t gpa, PageSize guest_size) {
    uint64_t hpa = gpa;
    PageSize host_size = guest_size;
    if (mode_ == Mode::Nested || mode_ == Mode::GuestDirect || (mode_ == Mode::Agile && two_dimensional_)) {
      unsigned leaf_level = 0;
      if (!eptWalk(gpa, 0, hpa, leaf_level))
        return resp_;
      host_size = static_cast<PageSize>(leaf_level - 1);
    } else if (mode_ == Mode::Direct || mode_ == Mode::DualDirect) {
      const uint64_t gbase = ctx_.gbase & frame_bits_;
      if (isEscaped(gpa)) {
        unsigned leaf_level = 0;
        if (!eptWalk(gpa, 0, hpa, leaf_level))
          return resp_;
        host_size = PageSize::Size4K;
      } else {
        hpa = gpa + gbase;
        host_size = gbase % (1ull << 30) == 0 ? PageSize::Size1G
                    : gbase % (1ull << 21) == 0 ? PageSize::Size2M
                                               : PageSize::Size4K;
        const uint64_t guest_page_bytes = pageBytes(guest_size);
        for (unsigned k = 0; k < cfg_.escape_entries; ++k) {
          const uint64_t escaped_gpa = ctx_.escape[k] & frame_bits_;
          if ((ctx_.escape[k] & 1) &&
              escaped_gpa / guest_page_bytes == (gpa & frame_bits_) / guest_page_bytes)
            host_size = PageSize::Size4K;
        }
      }
      const uint64_t bytes = pageBytes(std::min(guest_size, host_size));
      if (!inBounds(hpa & ~(bytes - 1), bytes))
        return fail(Fault::Bounds, 1u << 8, gpa, 0);
    }
    resp_ = Response{};
    resp_.hpa = hpa;
    resp_.size = std::min(guest_size, host_size);
    return resp_;
  }

  const MmuConfig &cfg_;
  const ContextRegisters &ctx_;
  PhysicalMemory &mem_;
  const Request &req_;
  const Mode mode_;
  const uint64_t frame_bits_;
  bool two_dimensional_ = false;  // AGILE: the walk is past its switch (guest tables, through the EPT)
  Response resp_;
};

}  // namespace

Response referenceWalk(const MmuConfig &config, const ContextRegisters &ctx,
                       PhysicalMemory &memory, const Request &req) {
  return ColdWalk(config, ctx, memory, req).run();
}

}  // namespace vmmu
