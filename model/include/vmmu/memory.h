// vmmu/memory.h - host physical memory as the walker sees it.
//
// PhysicalMemory is the interface the model walks through (so the testbench can hand it its own
// view); SparseMemory is the fast page-granular implementation everything else uses.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace vmmu {

class PhysicalMemory {
public:
  virtual ~PhysicalMemory() = default;
  // 8-byte aligned 64-bit little-endian accesses (§2); never-written memory reads as zero.
  virtual uint64_t read64(uint64_t addr) = 0;
  virtual void write64(uint64_t addr, uint64_t value) = 0;
  // Atomic mem[addr] |= mask; returns the old value (§13 FETCH_OR).
  virtual uint64_t fetchOr64(uint64_t addr, uint64_t mask) = 0;

  // Hints for Mmu::prefetch(), which a memory may ignore (the defaults do) and which change
  // nothing a reader sees: the word at `addr` when it can be read without any effect (false when
  // it cannot), and a request to bring the word at `addr` close, as it is about to be read.
  virtual bool peekHint(uint64_t addr, uint64_t &value) const {
    (void)addr;
    (void)value;
    return false;
  }
  virtual void prefetchHint(uint64_t addr) const { (void)addr; }
};

class SparseMemory final : public PhysicalMemory {
public:
  // Out of line: Page is incomplete here, so the pages are built and destroyed in memory.cpp.
  SparseMemory();
  ~SparseMemory() override;
  SparseMemory(const SparseMemory &) = delete;
  SparseMemory &operator=(const SparseMemory &) = delete;

  uint64_t read64(uint64_t addr) override;
  void write64(uint64_t addr, uint64_t value) override;
  uint64_t fetchOr64(uint64_t addr, uint64_t mask) override;
  // Side-effect free read (does not allocate).
  uint64_t peek64(uint64_t addr) const;
  // A word never written reads zero here too; prefetchHint() brings the host cache line that
  // holds the word, if its page exists, and remembers the page for the read that follows.
  bool peekHint(uint64_t addr, uint64_t &value) const override;
  void prefetchHint(uint64_t addr) const override;
  size_t pagesAllocated() const { return pages_; }
  void clear();

private:
  struct Page;
  // One slot of the frame table: a frame number and its page, or an empty slot (page null).
  struct Slot {
    uint64_t frame = 0;
    Page *page = nullptr;
  };

  Page *pageFor(uint64_t addr, bool allocate);
  // Inlined into every lookup (memory.cpp, their only user): a walk's reads are most of a
  // replay's lookups, and a call for each step was a good part of a lookup's cost.
  [[gnu::always_inline]] inline Page *find(uint64_t frame) const;
  [[gnu::always_inline]] inline size_t slotOf(uint64_t frame) const;
  void grow();
  Page *newPage();

  // Frame number -> page, by open addressing with linear probing in a power-of-two table kept at
  // most half full: a lookup hashes once and reads one or two adjacent slots whatever the number
  // of pages, where a node-based map chased a bucket and a node (and divided by the bucket count).
  std::vector<Slot> slots_;
  unsigned slot_bits_ = 0;  // slots_.size() == 1 << slot_bits_
  // Pages are carved from slabs, one after the other: after a small first one, 2 MiB slabs, so
  // that the host's TLB (and its transparent huge pages, where the host gives them) covers 512
  // pages an entry: a random walk over a GiB of guest tables otherwise costs a host TLB miss
  // besides the cache miss.
  struct SlabDeleter {
    size_t alignment = 0;  // as allocated
    void operator()(Page *slab) const;
  };
  std::vector<std::unique_ptr<Page, SlabDeleter>> slabs_;
  Page *next_page_ = nullptr;   // the last slab's first unused page
  size_t slab_pages_left_ = 0;  // pages of the last slab not yet used
  size_t pages_ = 0;            // pages allocated
  // The pages found last, direct-mapped by frame number: a nested walk alternates between a few
  // pages read again and again (the guest's upper tables, the EPT's) and a level-1 table, one of
  // 512 over a GiB, so one remembered page alone missed on most reads; 1,024 entries (16 KiB) hold
  // most of a GiB's tables. A page never moves until clear(), which empties this too; a frame
  // without a page is never entered.
  static constexpr unsigned kRecentBits = 10;
  struct Recent {
    uint64_t frame = ~uint64_t{0};  // no frame number is all ones (addresses are 64-bit)
    Page *page = nullptr;
  };
  // Mutable: prefetchHint() enters the page it prefetches from, as the walk it announces reads it.
  mutable std::array<Recent, size_t{1} << kRecentBits> recent_{};
  [[gnu::always_inline]] inline Recent &recentOf(uint64_t frame) const {
    return recent_[frame & ((size_t{1} << kRecentBits) - 1)];
  }
};

}  // namespace vmmu
