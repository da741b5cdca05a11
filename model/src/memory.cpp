// SparseMemory: host memory as 4 KiB pages allocated on first write.
#include "vmmu/memory.h"

#include <array>

namespace vmmu {

// One 4 KiB frame of 512 entries; value-initialized to zero (§2: unwritten memory reads zero).
struct SparseMemory::Page {
  std::array<uint64_t, 512> words{};
};

namespace {
constexpr unsigned kFrameShift = 12;
unsigned wordIndex(uint64_t addr) { return (addr >> 3) & 511; }
}  // namespace

SparseMemory::SparseMemory() = default;
SparseMemory::~SparseMemory() = default;

SparseMemory::Page *SparseMemory::pageFor(uint64_t addr, bool allocate) {
  const uint64_t frame = addr >> kFrameShift;
  // Walks touch the same few table pages repeatedly: a one-entry cache avoids most hash lookups.
  if (frame == last_frame_)
    return last_page_;
  auto it = pages_.find(frame);
  if (it == pages_.end()) {
    if (!allocate)
      return nullptr;
    it = pages_.emplace(frame, std::make_unique<Page>()).first;
  }
  last_frame_ = frame;
  last_page_ = it->second.get();
  return last_page_;
}

uint64_t SparseMemory::read64(uint64_t addr) {
  const Page *page = pageFor(addr, /*allocate=*/false);
  return page ? page->words[wordIndex(addr)] : 0;
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
  const auto it = pages_.find(addr >> kFrameShift);
  return it == pages_.end() ? 0 : it->second->words[wordIndex(addr)];
}

void SparseMemory::clear() {
  pages_.clear();
  last_frame_ = ~uint64_t{0};
  last_page_ = nullptr;
}

}  // namespace vmmu
