// SparseMemory: host memory as 4 KiB pages allocated on first write, found through an
// open-addressing table of frame numbers.
#include "vmmu/memory.h"

#include <array>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace vmmu {

// One 4 KiB frame of 512 entries; value-initialized to zero (§2: unwritten memory reads zero).
struct SparseMemory::Page {
  std::array<uint64_t, 512> words{};
};
static_assert(sizeof(std::array<uint64_t, 512>) == 4096, "slabs hold whole 4 KiB pages");

namespace {
constexpr unsigned kFrameShift = 12;
constexpr unsigned kInitialSlotBits = 10;  // 1024 slots: a small VM's tables without a rehash
constexpr size_t kPageBytes = 4096;
constexpr size_t kSlabPages = 512;
constexpr size_t kSlabBytes = kSlabPages * kPageBytes;  // 2 MiB, a huge page of x86-64 hosts
// The first slab is small and gets no huge-page advice: most VMs' tables fit in a few dozen pages,
// and a huge page would have the host zero 2 MiB on its first touch (a sixth of a short replay's
// set-up), where 4 KiB host pages are zeroed only as they are used.
constexpr size_t kFirstSlabPages = 64;
unsigned wordIndex(uint64_t addr) { return (addr >> 3) & 511; }

// Fibonacci hashing: multiplying by 2^64 / golden ratio spreads consecutive frame numbers (page
// tables are allocated in runs) over the whole table; the top `bits` bits are the slot.
size_t slotIndex(uint64_t frame, unsigned bits) {
  return static_cast<size_t>((frame * 0x9E37'79B9'7F4A'7C15ull) >> (64 - bits));
}
}  // namespace

void SparseMemory::SlabDeleter::operator()(Page *slab) const {
  ::operator delete(slab, std::align_val_t{alignment});  // pages are trivially destructible
}

// Carves the next page from the current slab, starting a new slab when it is used up.
SparseMemory::Page *SparseMemory::newPage() {
  if (slab_pages_left_ == 0) {
    const bool first = slabs_.empty();
    const size_t bytes = first ? kFirstSlabPages * kPageBytes : kSlabBytes;
    const size_t alignment = first ? kPageBytes : kSlabBytes;
    void *slab = ::operator new(bytes, std::align_val_t{alignment});
#if defined(__linux__)
    if (!first)
      madvise(slab, bytes, MADV_HUGEPAGE);  // advice only: no huge pages is no error
#endif
    slabs_.emplace_back(static_cast<Page *>(slab), SlabDeleter{alignment});
    next_page_ = slabs_.back().get();
    slab_pages_left_ = bytes / kPageBytes;
  }
  --slab_pages_left_;
  return new (next_page_++) Page();
}

SparseMemory::SparseMemory() : slots_(size_t{1} << kInitialSlotBits), slot_bits_(kInitialSlotBits) {}
SparseMemory::~SparseMemory() = default;

// The index of the slot holding `frame`, or of the empty slot where it would go. The table is
// never full (at most half), so the probe ends.
size_t SparseMemory::slotOf(uint64_t frame) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = slotIndex(frame, slot_bits_);; i = (i + 1) & mask) {
    const Slot &slot = slots_[i];
    if (slot.page == nullptr || slot.frame == frame)
      return i;
  }
}

SparseMemory::Page *SparseMemory::find(uint64_t frame) const { return slots_[slotOf(frame)].page; }

// Doubles the table and reinserts every page (pages never move: only the slots do).
void SparseMemory::grow() {
  std::vector<Slot> old(size_t{1} << (slot_bits_ + 1));
  old.swap(slots_);
  ++slot_bits_;
  for (const Slot &slot : old)
    if (slot.page != nullptr)
      slots_[slotOf(slot.frame)] = slot;
}

SparseMemory::Page *SparseMemory::pageFor(uint64_t addr, bool allocate) {
  const uint64_t frame = addr >> kFrameShift;
  // Walks touch the same few table pages repeatedly: recent_ spares most lookups.
  Recent &recent = recentOf(frame);
  if (recent.frame == frame)
    return recent.page;
  Page *page = find(frame);
  if (page == nullptr) {
    if (!allocate)
      return nullptr;
    if (2 * (pages_ + 1) > slots_.size())
      grow();
    page = newPage();
    ++pages_;
    slots_[slotOf(frame)] = Slot{frame, page};
  }
  recent = Recent{frame, page};
  return page;
}

uint64_t SparseMemory::read64(uint64_t addr) {
  // pageFor(addr, false) with its lookup inlined: reads (a walk's) are most lookups.
  const uint64_t frame = addr >> kFrameShift;
  Recent &recent = recentOf(frame);
  if (recent.frame == frame)
    return recent.page->words[wordIndex(addr)];
  Page *page = find(frame);
  if (page == nullptr)
    return 0;
  recent = Recent{frame, page};
  return page->words[wordIndex(addr)];
}

void SparseMemory::write64(uint64_t addr, uint64_t value) {
  // Writing zero to a page that does not exist would change nothing a reader can see, but table
  // builders zero whole frames; allocating keeps pagesAllocated() meaningful for them.
  pageFor(addr, /*allocate=*/true)->words[wordIndex(addr)] = value;
}

uint64_t SparseMemory::fetchOr64(uint64_t addr, uint64_t mask) {
  uint64_t &word = pageFor(addr, /*allocate=*/true)->words[wordIndex(addr)];
  const uint64_t old = word;
  word |= mask;
  return old;
}

uint64_t SparseMemory::peek64(uint64_t addr) const {
  const Page *page = find(addr >> kFrameShift);
  return page == nullptr ? 0 : page->words[wordIndex(addr)];
}

bool SparseMemory::peekHint(uint64_t addr, uint64_t &value) const {
  value = peek64(addr);
  return true;
}

void SparseMemory::prefetchHint(uint64_t addr) const {
  // The hint's page is one a walk is about to read (a level-1 table of a large footprint, which
  // recent_ rarely holds): entering it here spares that read its lookup.
  const uint64_t frame = addr >> kFrameShift;
  Recent &recent = recentOf(frame);
  if (recent.frame != frame) {
    Page *page = find(frame);
    if (page == nullptr)
      return;
    recent = Recent{frame, page};
  }
  __builtin_prefetch(&recent.page->words[wordIndex(addr)]);
}

void SparseMemory::clear() {
  slabs_.clear();
  next_page_ = nullptr;
  slab_pages_left_ = 0;
  pages_ = 0;
  slots_.assign(size_t{1} << kInitialSlotBits, Slot{});
  slot_bits_ = kInitialSlotBits;
  recent_.fill(Recent{});
}

}  // namespace vmmu
