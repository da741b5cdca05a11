// Table builders of vmmu/page_tables.h.
#include "vmmu/page_tables.h"

#include <cstdio>
#include <stdexcept>
#include <string>

#include "vmmu/paging.h"

namespace vmmu {
namespace {

constexpr unsigned kEntriesPerTable = 512;

// The level whose leaf maps a page of `size` (§1: 4K/2M/1G at level 1/2/3).
unsigned leafLevel(PageSize size) { return static_cast<unsigned>(size) + 1; }

// Bits [pa_bits-1:12]: the address field of every entry.
uint64_t addressField(unsigned pa_bits) {
  return ((pa_bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << pa_bits) - 1)) & ~uint64_t{0xfff};
}

void checkLevels(const char *who, unsigned levels, unsigned pa_bits) {
  if (levels < 3 || levels > 5)
    throw std::invalid_argument(std::string(who) + ": levels must be 3..5, got " +
                                std::to_string(levels));
  if (pa_bits < 32 || pa_bits > 52)
    throw std::invalid_argument(std::string(who) + ": pa_bits must be 32..52, got " +
                                std::to_string(pa_bits));
}

void checkMapping(const char *who, uint64_t in_addr, uint64_t out_addr, PageSize size,
                  unsigned pa_bits) {
  const uint64_t mask = pageBytes(size) - 1;
  if (in_addr & mask)
    throw std::invalid_argument(std::string(who) + ": address " + hex(in_addr) +
                                " is not aligned to the " + std::string(toString(size)) + " page");
  if (out_addr & mask)
    throw std::invalid_argument(std::string(who) + ": frame " + hex(out_addr) +
                                " is not aligned to the " + std::string(toString(size)) + " page");
  if (out_addr & ~addressField(pa_bits))
    throw std::invalid_argument(std::string(who) + ": frame " + hex(out_addr) + " exceeds " +
                                std::to_string(pa_bits) + " physical address bits");
}

}  // namespace

// --- FrameAllocator -------------------------------------------------------------------------

FrameAllocator::FrameAllocator(uint64_t base, uint64_t limit)
    : base_(base), limit_(limit), next_(base) {
  if ((base | limit) & 0xfff)
    throw std::invalid_argument("FrameAllocator: range [" + hex(base) + ", " + hex(limit) +
                                ") is not 4 KiB aligned");
  if (base > limit)
    throw std::invalid_argument("FrameAllocator: base " + hex(base) + " is above limit " +
                                hex(limit));
}

uint64_t FrameAllocator::allocate() {
  if (next_ >= limit_)
    throw std::runtime_error("FrameAllocator: out of frames in [" + hex(base_) + ", " +
                             hex(limit_) + ")");
  const uint64_t frame = next_;
  next_ += pageBytes(PageSize::Size4K);
  return frame;
}

uint64_t FrameAllocator::allocateAligned(uint64_t bytes) {
  if (bytes < pageBytes(PageSize::Size4K) || (bytes & (bytes - 1)) != 0)
    throw std::invalid_argument("FrameAllocator::allocateAligned: " + hex(bytes) +
                                " is not a power of two of at least 4 KiB");
  const uint64_t start = (next_ + bytes - 1) & ~(bytes - 1);
  if (start < next_ || start > limit_ || limit_ - start < bytes)
    throw std::runtime_error("FrameAllocator: out of frames in [" + hex(base_) + ", " +
                             hex(limit_) + ") for " + hex(bytes) + " contiguous bytes");
  next_ = start + bytes;
  return start;
}

// --- GuestPageTables ------------------------------------------------------------------------

GuestPageTables::GuestPageTables(PhysicalMemory &memory, FrameAllocator &allocator,
                                 unsigned levels, unsigned pa_bits, AddressMap to_host)
    : memory_(memory), allocator_(allocator), levels_(levels), pa_bits_(pa_bits),
      to_host_(std::move(to_host)), root_(0) {
  checkLevels("GuestPageTables", levels, pa_bits);
  root_ = newTable();
}

uint64_t GuestPageTables::host(uint64_t table_addr) const {
  return to_host_ ? to_host_(table_addr) : table_addr;
}

uint64_t GuestPageTables::newTable() {
  const uint64_t table = allocator_.allocate();
  const uint64_t host_table = host(table);
  for (unsigned i = 0; i < kEntriesPerTable; ++i)
    memory_.write64(host_table + 8 * i, 0);
  return table;
}

void GuestPageTables::map(uint64_t va, uint64_t pa, PageSize size, uint64_t flags) {
  checkMapping("GuestPageTables::map", va, pa, size, pa_bits_);
  // Flags may use bits 11:0 and 63:52 (NX and ignored bits); never the address field.
  const uint64_t flag_bits = 0xfffull | (0xfffull << 52);
  if (flags & ~flag_bits)
    throw std::invalid_argument("GuestPageTables::map: flags " + hex(flags) +
                                " overlap the address field");
  const unsigned leaf = leafLevel(size);
  const uint64_t addr_mask = addressField(pa_bits_);
  uint64_t table = root_;
  for (unsigned level = levels_; level > leaf; --level) {
    const uint64_t slot = host(table) + 8 * entryIndex(va, level);
    uint64_t entry = memory_.read64(slot);
    if (!(entry & pte::P)) {
      const uint64_t next = newTable();
      entry = next | pte::P | pte::RW | pte::US;
      memory_.write64(slot, entry);
    } else if (level > 1 && (entry & pte::PS)) {
      throw std::logic_error("GuestPageTables::map: " + hex(va) + " is inside a larger page "
                             "mapped at level " + std::to_string(level));
    }
    table = entry & addr_mask;
  }
  const uint64_t slot = host(table) + 8 * entryIndex(va, leaf);
  const uint64_t old = memory_.read64(slot);
  if (leaf > 1 && (old & pte::P) && !(old & pte::PS))
    throw std::logic_error("GuestPageTables::map: a table is already present where the " +
                           std::string(toString(size)) + " page " + hex(va) + " would go");
  uint64_t entry = pa | (flags & ~pte::PS) | pte::P;
  if (size != PageSize::Size4K)
    entry |= pte::PS;
  memory_.write64(slot, entry);
}

std::optional<uint64_t> GuestPageTables::entryAddress(uint64_t va, unsigned level) const {
  if (level < 1 || level > levels_)
    return std::nullopt;
  const uint64_t addr_mask = addressField(pa_bits_);
  uint64_t table = root_;
  for (unsigned l = levels_; l > level; --l) {
    const uint64_t entry = memory_.read64(host(table) + 8 * entryIndex(va, l));
    if (!(entry & pte::P) || (l > 1 && (entry & pte::PS)))
      return std::nullopt;
    table = entry & addr_mask;
  }
  return table + 8 * entryIndex(va, level);
}

std::optional<uint64_t> GuestPageTables::hostEntryAddress(uint64_t va, unsigned level) const {
  const std::optional<uint64_t> addr = entryAddress(va, level);
  if (!addr)
    return std::nullopt;
  // The table is 4K aligned and entries never straddle pages: translate the table, add offset.
  return host(*addr & ~uint64_t{0xfff}) + (*addr & 0xfff);
}

uint64_t GuestPageTables::readEntry(uint64_t va, unsigned level) const {
  const std::optional<uint64_t> slot = hostEntryAddress(va, level);
  if (!slot)
    throw std::logic_error("GuestPageTables::readEntry: no level-" + std::to_string(level) +
                           " entry for " + hex(va));
  return memory_.read64(*slot);
}

void GuestPageTables::writeEntry(uint64_t va, unsigned level, uint64_t value) {
  const std::optional<uint64_t> slot = hostEntryAddress(va, level);
  if (!slot)
    throw std::logic_error("GuestPageTables::writeEntry: no level-" + std::to_string(level) +
                           " entry for " + hex(va));
  memory_.write64(*slot, value);
}

bool GuestPageTables::unmap(uint64_t va) {
  for (unsigned level = levels_; level >= 1; --level) {
    const std::optional<uint64_t> slot = hostEntryAddress(va, level);
    if (!slot)
      return false;
    const uint64_t entry = memory_.read64(*slot);
    if (!(entry & pte::P))
      return false;
    if (level == 1 || (level <= 3 && (entry & pte::PS))) {
      memory_.write64(*slot, 0);
      return true;
    }
  }
  return false;
}

// --- EptTables ------------------------------------------------------------------------------

namespace {
constexpr uint64_t kEptPresent = ept::R | ept::W | ept::X;
}

EptTables::EptTables(PhysicalMemory &memory, FrameAllocator &allocator, unsigned levels,
                     unsigned pa_bits, EptFormat format)
    : memory_(memory), allocator_(allocator), levels_(levels), pa_bits_(pa_bits), format_(format),
      root_(0) {
  if (format == EptFormat::Flat2)
    levels_ = levels = 2;
  else if (format == EptFormat::Flat1)
    levels_ = levels = 1;
  else
    checkLevels("EptTables", levels, pa_bits);
  if (pa_bits < 32 || pa_bits > 52)
    throw std::invalid_argument("EptTables: pa_bits must be 32..52, got " + std::to_string(pa_bits));
  root_ = newTable();
}

uint64_t EptTables::newTable() {
  // A flattened table is 2^18 entries, contiguous and aligned to its 2 MiB (§21.1).
  const uint64_t entries = flat() ? kFlatEntries : kEntriesPerTable;
  const uint64_t table = flat() ? allocator_.allocateAligned(kFlatTableBytes) : allocator_.allocate();
  for (uint64_t i = 0; i < entries; ++i)
    memory_.write64(table + 8 * i, 0);
  ++tables_;
  return table;
}

uint64_t EptTables::tableBytes() const { return tables_ * (flat() ? kFlatTableBytes : 8 * kEntriesPerTable); }

// An EPTP x86 would accept at VM entry (§2.3): write-back paging structures, walk length; a
// flattened format adds its FMT bits (§21.1), which x86 does not have.
uint64_t EptTables::eptp(bool ad_enable) const {
  return root_ | ept::kEptpMemTypeWB | (uint64_t{levels_ - 1} << ept::kEptpWalkLengthShift) |
         eptpFormatBits(format_) | (ad_enable ? ept::kEptpAdEnable : 0);
}

namespace {
// The gPA bits a flattened format reaches (§21.1): 48 for Flat2, 30 for Flat1.
unsigned flatReach(EptFormat format) { return format == EptFormat::Flat2 ? 48 : 30; }
}  // namespace

std::optional<uint64_t> EptTables::flatLevel1Table(uint64_t gpa, bool create, const char *who) {
  if (format_ == EptFormat::Flat1)
    return root_;
  const uint64_t slot = root_ + 8 * flatEntryIndex(gpa, 2);
  uint64_t entry = memory_.read64(slot);
  if (!(entry & kEptPresent)) {
    if (!create)
      return std::nullopt;
    entry = newTable() | kEptPresent;
    memory_.write64(slot, entry);
  } else if (entry & ept::LP) {
    if (!create)
      return std::nullopt;
    throw std::logic_error(std::string(who) + ": " + hex(gpa) + " is inside a 1G page mapped at level 2");
  }
  return entry & addressField(pa_bits_);
}

void EptTables::mapFlat(uint64_t gpa, uint64_t hpa, PageSize size, uint64_t leaf_bits) {
  const char *who = "EptTables::map";
  if ((gpa >> flatReach(format_)) != 0)
    throw std::invalid_argument(std::string(who) + ": gPA " + hex(gpa) + " is beyond the " +
                                std::to_string(flatReach(format_)) + "-bit reach of the " +
                                std::string(toString(format_)) + " format");
  if (size == PageSize::Size1G) {
    if (format_ == EptFormat::Flat1)
      throw std::invalid_argument(std::string(who) + ": the 1level format maps at most 2M pages");
    const uint64_t slot = root_ + 8 * flatEntryIndex(gpa, 2);
    const uint64_t old = memory_.read64(slot);
    if ((old & kEptPresent) && !(old & ept::LP))
      throw std::logic_error(std::string(who) + ": a table is already present where the 1G page " +
                             hex(gpa) + " would go");
    memory_.write64(slot, hpa | leaf_bits | ept::LP);
    return;
  }
  const uint64_t table = *flatLevel1Table(gpa, true, who);
  const uint64_t first = flatEntryIndex(gpa, 1);
  const uint64_t count = pageBytes(size) / pageBytes(PageSize::Size4K);
  for (uint64_t i = first; i < first + count; ++i) {  // a 2M page: its 512 replicas (§21.2)
    const uint64_t old = memory_.read64(table + 8 * i);
    if ((old & kEptPresent) && ((old & ept::LP) != 0) != (size == PageSize::Size2M))
      throw std::logic_error(std::string(who) + ": " + hex(gpa) + " overlaps a page of another size");
  }
  const uint64_t entry = hpa | leaf_bits | (size == PageSize::Size2M ? ept::LP : 0);
  for (uint64_t i = first; i < first + count; ++i)
    memory_.write64(table + 8 * i, entry);
}

void EptTables::map(uint64_t gpa, uint64_t hpa, PageSize size, uint64_t perms) {
  checkMapping("EptTables::map", gpa, hpa, size, pa_bits_);
  if (perms & ~uint64_t{0xfff})
    throw std::invalid_argument("EptTables::map: perms " + hex(perms) +
                                " overlap the address field");
  if (flat()) {
    mapFlat(gpa, hpa, size, (perms & ~(ept::LP | (uint64_t{7} << 3))) | ept::kMemTypeWB);
    return;
  }
  const unsigned leaf = leafLevel(size);
  const uint64_t addr_mask = addressField(pa_bits_);
  uint64_t table = root_;
  for (unsigned level = levels_; level > leaf; --level) {
    const uint64_t slot = table + 8 * entryIndex(gpa, level);
    uint64_t entry = memory_.read64(slot);
    if (!(entry & kEptPresent)) {
      entry = newTable() | kEptPresent;
      memory_.write64(slot, entry);
    } else if (entry & ept::LP) {
      throw std::logic_error("EptTables::map: " + hex(gpa) + " is inside a larger page mapped "
                             "at level " + std::to_string(level));
    }
    table = entry & addr_mask;
  }
  const uint64_t slot = table + 8 * entryIndex(gpa, leaf);
  const uint64_t old = memory_.read64(slot);
  if (leaf > 1 && (old & kEptPresent) && !(old & ept::LP))
    throw std::logic_error("EptTables::map: a table is already present where the " +
                           std::string(toString(size)) + " page " + hex(gpa) + " would go");
  uint64_t entry = hpa | (perms & ~(ept::LP | (uint64_t{7} << 3))) | ept::kMemTypeWB;
  if (size != PageSize::Size4K)
    entry |= ept::LP;
  memory_.write64(slot, entry);
}

std::optional<uint64_t> EptTables::entryAddress(uint64_t gpa, unsigned level) const {
  if (level < 1 || level > levels_)
    return std::nullopt;
  const uint64_t addr_mask = addressField(pa_bits_);
  if (flat()) {
    if ((gpa >> flatReach(format_)) != 0)
      return std::nullopt;
    if (level == levels_)
      return root_ + 8 * flatEntryIndex(gpa, level);
    const uint64_t upper = memory_.read64(root_ + 8 * flatEntryIndex(gpa, 2));
    if (!(upper & kEptPresent) || (upper & ept::LP))
      return std::nullopt;
    return (upper & addr_mask) + 8 * flatEntryIndex(gpa, 1);
  }
  uint64_t table = root_;
  for (unsigned l = levels_; l > level; --l) {
    const uint64_t entry = memory_.read64(table + 8 * entryIndex(gpa, l));
    if (!(entry & kEptPresent) || (entry & ept::LP))
      return std::nullopt;
    table = entry & addr_mask;
  }
  return table + 8 * entryIndex(gpa, level);
}

uint64_t EptTables::readEntry(uint64_t gpa, unsigned level) const {
  const std::optional<uint64_t> slot = entryAddress(gpa, level);
  if (!slot)
    throw std::logic_error("EptTables::readEntry: no level-" + std::to_string(level) +
                           " entry for " + hex(gpa));
  return memory_.read64(*slot);
}

void EptTables::writeEntry(uint64_t gpa, unsigned level, uint64_t value) {
  const std::optional<uint64_t> slot = entryAddress(gpa, level);
  if (!slot)
    throw std::logic_error("EptTables::writeEntry: no level-" + std::to_string(level) +
                           " entry for " + hex(gpa));
  memory_.write64(*slot, value);
}

bool EptTables::unmap(uint64_t gpa) {
  for (unsigned level = levels_; level >= 1; --level) {
    const std::optional<uint64_t> slot = entryAddress(gpa, level);
    if (!slot)
      return false;
    const uint64_t entry = memory_.read64(*slot);
    if (!(entry & kEptPresent))
      return false;
    if (level == 1 || (level <= 3 && (entry & ept::LP))) {
      // A flattened 2M page is its 512 replicas (§21.2); every other leaf is one entry.
      const bool replicated = flat() && level == 1 && (entry & ept::LP);
      const uint64_t first = replicated ? *slot - 8 * (flatEntryIndex(gpa, 1) & 511) : *slot;
      for (uint64_t i = 0; i < (replicated ? 512u : 1u); ++i)
        memory_.write64(first + 8 * i, 0);
      return true;
    }
  }
  return false;
}

std::optional<uint64_t> EptTables::translate(uint64_t gpa) const {
  const uint64_t addr_mask = addressField(pa_bits_);
  if (flat()) {
    for (unsigned level = levels_; level >= 1; --level) {
      const std::optional<uint64_t> slot = entryAddress(gpa, level);
      if (!slot)
        return std::nullopt;
      const uint64_t entry = memory_.read64(*slot);
      if (!(entry & kEptPresent))
        return std::nullopt;
      if (level == 2 && !(entry & ept::LP))
        continue;
      const unsigned shift = level == 2 ? 30 : (entry & ept::LP) ? 21 : 12;  // §21.2
      const uint64_t offset_mask = (uint64_t{1} << shift) - 1;
      return ((entry & addr_mask) & ~offset_mask) | (gpa & offset_mask);
    }
    return std::nullopt;
  }
  uint64_t table = root_;
  for (unsigned level = levels_; level >= 1; --level) {
    const uint64_t entry = memory_.read64(table + 8 * entryIndex(gpa, level));
    if (!(entry & kEptPresent))
      return std::nullopt;
    if (level == 1 || (level <= 3 && (entry & ept::LP))) {
      const uint64_t offset_mask = (uint64_t{1} << levelShift(level)) - 1;
      return ((entry & addr_mask) & ~offset_mask) | (gpa & offset_mask);
    }
    table = entry & addr_mask;
  }
  return std::nullopt;
}

AddressMap EptTables::hostMap() const {
  return [this](uint64_t gpa) {
    const std::optional<uint64_t> hpa = translate(gpa);
    if (!hpa)
      throw std::out_of_range("EptTables::hostMap: gPA " + hex(gpa) + " is not mapped");
    return *hpa;
  };
}

}  // namespace vmmu
