// vmmu/page_tables.h - builders for guest (x86-64, §2.1) and EPT (§2.2) page tables.
//
// Tests, the testbench and the VMM shim use these to lay out tables of every page size in a
// PhysicalMemory without hand-encoding entries. They are software helpers, not part of the MMU:
// the Mmu never calls them.
//
// Table addresses live in the table owner's physical space: an hPA for native, shadow and EPT
// tables, a gPA for a guest's own tables. A guest's tables are written at the host address that
// an AddressMap gives for each table address (identity by default; EptTables::hostMap() for a
// guest whose memory is behind an EPT).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "vmmu/memory.h"
#include "vmmu/types.h"

namespace vmmu {

// Maps an address in the table owner's physical space to the host address that holds it.
using AddressMap = std::function<uint64_t(uint64_t)>;

// Bump allocator of 4 KiB frames over [base, limit). Frames are handed out once, in increasing
// order; the table builders zero every frame they take (memory may have been written before).
class FrameAllocator {
public:
  // Throws std::invalid_argument when base or limit is not 4 KiB aligned or base > limit.
  FrameAllocator(uint64_t base, uint64_t limit);

  // Returns the next free frame; throws std::runtime_error naming the range when exhausted.
  uint64_t allocate();
  // Returns `bytes` (a power of two, at least 4 KiB) of contiguous frames aligned to `bytes`
  // (a flattened EPT table, §21.1); the frames skipped to align it are not handed out later.
  // Throws as allocate().
  uint64_t allocateAligned(uint64_t bytes);

  uint64_t base() const { return base_; }
  uint64_t limit() const { return limit_; }
  uint64_t framesUsed() const { return (next_ - base_) >> kPageShift4K; }
  uint64_t framesFree() const { return (limit_ - next_) >> kPageShift4K; }

private:
  uint64_t base_;
  uint64_t limit_;
  uint64_t next_;
};

// x86-64 guest page tables (or native/shadow tables, which have the same format) rooted at a
// table address that the allocator hands out at construction.
class GuestPageTables {
public:
  // `levels` is GuestLevels (4 or 5); `pa_bits` is P. Throws std::invalid_argument on bad
  // parameters. `to_host` defaults to the identity.
  GuestPageTables(PhysicalMemory &memory, FrameAllocator &allocator, unsigned levels = 4,
                  unsigned pa_bits = 46, AddressMap to_host = {});

  // The root table address (what CR3 holds), in the table owner's space.
  uint64_t root() const { return root_; }
  unsigned levels() const { return levels_; }

  // Maps the page of `size` containing `va` to the frame at `pa`. `flags` are vmmu::pte bits
  // (RW, US, PWT, PCD, A, D, G, NX); P is implied and PS is added for 2M and 1G leaves. Missing
  // upper tables are allocated and linked with P|RW|US (A clear). Remapping a leaf of the same
  // size overwrites it. Throws std::invalid_argument when va or pa is not aligned to `size`, pa is
  // beyond P bits or flags hold address bits, and std::logic_error when the page would overlap a
  // leaf of another size or a table already present at the leaf's level.
  void map(uint64_t va, uint64_t pa, PageSize size, uint64_t flags = pte::RW);

  // Clears the leaf entry (any size) that maps `va`. Returns false when nothing mapped va.
  // Tables themselves are not freed. The caller invalidates the TLB (INV_ADDR) as x86 requires.
  bool unmap(uint64_t va);

  // Address (in the table owner's space) of the level-`level` entry for `va`, or nullopt when the
  // walk from the root stops before that level (a non-present or leaf entry above it).
  std::optional<uint64_t> entryAddress(uint64_t va, unsigned level) const;
  // The same entry's host address, where the Mmu reads it and where tests can corrupt it.
  std::optional<uint64_t> hostEntryAddress(uint64_t va, unsigned level) const;

  // Reads / overwrites the raw level-`level` entry for `va`; throws std::logic_error when it does
  // not exist (see entryAddress).
  uint64_t readEntry(uint64_t va, unsigned level) const;
  void writeEntry(uint64_t va, unsigned level, uint64_t value);

private:
  uint64_t newTable();
  uint64_t host(uint64_t table_addr) const;

  PhysicalMemory &memory_;
  FrameAllocator &allocator_;
  unsigned levels_;
  unsigned pa_bits_;
  AddressMap to_host_;
  uint64_t root_;
};

// EPT tables (§2.2) rooted at a host frame: with `format` Radix (the x86 format) `levels` =
// NestedLevels levels of 4 KiB tables; with Flat2 or Flat1 (§21) 2 or 1 levels of 2 MiB tables
// indexed by 18 bits (`levels` is then ignored), a 2 MiB page written as 512 replicas (§21.2).
class EptTables {
public:
  EptTables(PhysicalMemory &memory, FrameAllocator &allocator, unsigned levels = 4,
            unsigned pa_bits = 46, EptFormat format = EptFormat::Radix);

  uint64_t root() const { return root_; }
  unsigned levels() const { return levels_; }
  EptFormat format() const { return format_; }
  // The EPTP register value (§2.3): root, WB memory type, walk length levels() - 1, the format's
  // FMT bits (§21.1, 0 for Radix), plus bit 6 when `ad_enable`.
  uint64_t eptp(bool ad_enable = false) const;
  // Tables allocated so far (the root included) and their bytes: 4 KiB each for Radix, 2 MiB for
  // a flattened format (what the VMM pays for, §21.7).
  uint64_t tablesAllocated() const { return tables_; }
  uint64_t tableBytes() const;

  // Maps the guest-physical page of `size` containing `gpa` to `hpa`. `perms` are vmmu::ept bits
  // R, W, X (and A, D if a test wants them preset); leaves get memory type WB and LP for 2M/1G.
  // Upper entries are created R|W|X. Errors as GuestPageTables::map; in a flattened format also
  // std::invalid_argument for a gPA beyond the format's reach or a 1G page in Flat1.
  void map(uint64_t gpa, uint64_t hpa, PageSize size, uint64_t perms = ept::R | ept::W | ept::X);
  bool unmap(uint64_t gpa);

  std::optional<uint64_t> entryAddress(uint64_t gpa, unsigned level) const;
  uint64_t readEntry(uint64_t gpa, unsigned level) const;
  void writeEntry(uint64_t gpa, unsigned level, uint64_t value);

  // Software walk: the hPA for `gpa`, or nullopt when an entry on the way is not present. Does
  // not check permissions or misconfigurations and never writes memory.
  std::optional<uint64_t> translate(uint64_t gpa) const;
  // An AddressMap through translate() for building a guest's tables behind this EPT; it throws
  // std::out_of_range when a table address is not mapped.
  AddressMap hostMap() const;

private:
  uint64_t newTable();
  bool flat() const { return format_ != EptFormat::Radix; }
  // Flattened formats: the level-1 table for `gpa`, created when `create` (nullopt when absent or
  // when a 1 GiB leaf maps gpa at level 2).
  std::optional<uint64_t> flatLevel1Table(uint64_t gpa, bool create, const char *who);
  void mapFlat(uint64_t gpa, uint64_t hpa, PageSize size, uint64_t leaf_bits);

  PhysicalMemory &memory_;
  FrameAllocator &allocator_;
  unsigned levels_;
  unsigned pa_bits_;
  EptFormat format_;
  uint64_t root_;
  uint64_t tables_ = 0;
};

}  // namespace vmmu
