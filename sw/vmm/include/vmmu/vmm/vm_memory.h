// vmmu/vmm/vm_memory.h - a VM's guest-physical memory: which host frame backs each guest page,
// and the EPT that says so to the MMU.
//
// The VM owns a host region [host_base, host_base + bytes). Unfragmented, guest page g lives at
// host_base + g (what DIRECT mode needs). Fragmentation swaps a fraction of the 4 KiB pages in
// pairs inside the region (so every frame stays inside the VM's bounds, as the escape filter
// requires); the EPT then maps each 2 MiB chunk holding a moved page with 4 KiB entries and every
// intact chunk with the largest page (up to max_ept_page) that is contiguous and aligned.
// compact() moves every page back into place, counting the copies, so a VM can enter DIRECT.
// rehome() does the same after self-ballooning (§19): the pages the guest gave back have no
// contents to keep, so only the others are copied, and the given pages come back zeroed.
//
// The I/O gap (architecture.md §19.5). A VM may have a guest-physical hole [io_gap_start,
// io_gap_start + io_gap_bytes) holding no RAM: its RAM above the hole is relocated above it, so
// guest-physical memory ends at bytes + io_gap_bytes. The host region then spans that whole range,
// [host_base, host_base + gpaTop()), but the RAM is backed packed (pack_gap): the pages above the
// hole right after those below it, so they are all out of place for DIRECT until compact() or
// rehome() moves them to host_base + gPA; the hole's host pages are never backed or mapped.
//
// Host backing (architecture.md §16). A lazy VM starts with no guest page backed: its EPT holds
// no leaf, and back() allocates the host page that would hold a guest page (the EPT leaf it
// would get: 4 KiB, 2 MiB or 1 GiB) and maps it, as KVM does on an EPT violation. An eager VM
// is backed whole when it is made.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "vmmu/memory.h"
#include "vmmu/page_tables.h"
#include "vmmu/types.h"

namespace vmmu::vmm {

struct VmMemoryConfig {
  uint64_t bytes = 64ull << 20;         // guest-physical memory, a non-zero 2 MiB multiple
  uint64_t host_base = 1ull << 32;      // 1 GiB aligned host base of the VM's region
  double fragmentation = 0.0;           // fraction of 4 KiB pages moved out of place, in [0, 1]
  PageSize max_ept_page = PageSize::Size2M;  // a KVM host with transparent huge pages
  bool lazy = true;                      // back guest pages on first touch (else all at creation)
  uint64_t seed = 1;
  // The EPT's format (§21): the x86 radix tables, or flattened 2 MiB tables of 18-bit levels
  // (Flat1 needs bytes <= 1 GiB and max_ept_page below 1g).
  EptFormat ept_format = EptFormat::Radix;
  // The I/O gap (§19.5): none when io_gap_bytes is 0; else 2 MiB multiples, the gap starting
  // inside the RAM (0 < io_gap_start < bytes). `vmmu run --io-gap`: 3 GiB and 1 GiB.
  uint64_t io_gap_start = 0;
  uint64_t io_gap_bytes = 0;
  // With a gap: the RAM above it backed right after the RAM below it (as KVM's two memslots),
  // else at host_base + gPA from the start (the native baseline, which has no host below it).
  bool pack_gap = true;
};

// What backing a guest page took: `pages` 4 KiB host pages zeroed, in `units` allocations; in a
// flattened EPT format (§21.7) also the 2 MiB EPT tables first allocated for it and the 2 MiB
// leaves written as 512 replicas (both 0 with radix tables, whose 4 KiB tables are not charged).
struct Backing {
  uint64_t units = 0;
  uint64_t pages = 0;
  uint64_t ept_tables = 0;
  uint64_t ept_replicated_leaves = 0;
  Backing &operator+=(const Backing &other) {
    units += other.units;
    pages += other.pages;
    ept_tables += other.ept_tables;
    ept_replicated_leaves += other.ept_replicated_leaves;
    return *this;
  }
};

class VmMemory {
public:
  // EPT tables are taken from host frames [ept_base, ept_limit). Throws std::invalid_argument
  // naming the bad field of `config`.
  VmMemory(PhysicalMemory &memory, const VmMemoryConfig &config, uint64_t ept_base, uint64_t ept_limit);
  ~VmMemory();

  const VmMemoryConfig &config() const { return config_; }
  uint64_t bytes() const { return config_.bytes; }  // RAM
  // The top of guest-physical memory: the RAM and the I/O gap below it (bytes() without a gap).
  uint64_t gpaTop() const { return config_.bytes + config_.io_gap_bytes; }
  uint64_t hostBase() const { return config_.host_base; }
  bool inGap(uint64_t gpa) const { return gpa - config_.io_gap_start < config_.io_gap_bytes; }
  // Whether `gpa` is guest RAM (below the top, not in the gap).
  bool contains(uint64_t gpa) const { return gpa < gpaTop() && !inGap(gpa); }
  // Host address of guest-physical `gpa`; throws std::out_of_range outside guest memory.
  uint64_t hostOf(uint64_t gpa) const;
  // Size of the EPT leaf mapping `gpa` (once backed).
  PageSize eptPageSize(uint64_t gpa) const;

  // Whether the host page holding guest-physical `gpa` (inside guest memory) is allocated and
  // mapped in the EPT.
  bool backed(uint64_t gpa) const { return backed_[gpa >> 12]; }
  // Backs the host page that holds `gpa` (its EPT leaf's whole extent); nothing when backed.
  Backing back(uint64_t gpa);
  // Backs every guest page not yet backed (a VM made contiguous for DIRECT).
  Backing backAll();
  uint64_t backedPages() const { return backed_pages_; }

  const EptTables &ept() const { return *ept_; }
  uint64_t eptp() const { return ept_->eptp(false); }
  // The host memory the EPT's tables take now (§21.7).
  uint64_t eptTableBytes() const { return ept_->tableBytes(); }

  // Guest RAM pages (gPA) not at host_base + gPA.
  std::vector<uint64_t> misplacedPages() const;
  size_t misplacedCount() const { return misplaced_; }
  // Swaps the host frames (and contents) of two guest pages and rebuilds the EPT.
  void swapPages(uint64_t gpa_a, uint64_t gpa_b);
  // Moves every page into place; returns the number of 4 KiB copies made (a page moved into a hole
  // of the gap's host range is one copy, two pages that trade places two). Rebuilds the EPT.
  uint64_t compact();
  // Moves every page into place when the pages at `discarded_gpas` (4 KiB aligned, inside guest
  // memory) hold nothing the guest needs: a page is copied only to keep its contents, so a page
  // whose home frame holds a discarded page costs one copy, two live pages swapped two; the
  // discarded pages end at home and zeroed (hot-added memory arrives zeroed). Returns the copies
  // made. Rebuilds the EPT. Throws std::invalid_argument for a gPA outside guest memory.
  uint64_t rehome(const std::vector<uint64_t> &discarded_gpas);

private:
  void swapFrames(uint64_t page_a, uint64_t page_b);  // guest page numbers
  // swapFrames() with the backed flags following the pages, and the contents of the pages whose
  // `copy_*` is set copied (a page whose contents are not kept is left as it is). Returns the
  // number of 4 KiB copies.
  uint64_t exchange(uint64_t page_a, uint64_t page_b, bool copy_a, bool copy_b);
  void buildEpt();
  // Whether the pages are intact: contiguous in host memory on a host page of their extent (so
  // one EPT leaf maps them), none in the gap.
  bool inPlace(uint64_t first_page, uint64_t pages) const;
  bool holePage(uint64_t page) const { return inGap(page * 4096); }
  // The RAM pages out of place in the order compact() and rehome() move them: ascending, or, with
  // a gap, from the top down (each home is then a hole or already vacated: one copy a page).
  std::vector<uint64_t> moveOrder() const;
  bool anyBacked(uint64_t first_page, uint64_t pages) const;
  void markBacked(uint64_t first_page, uint64_t pages);

  PhysicalMemory &memory_;
  VmMemoryConfig config_;
  FrameAllocator ept_frames_;
  std::unique_ptr<EptTables> ept_;
  std::vector<uint64_t> host_page_;   // guest page number -> host page number
  std::vector<uint64_t> guest_page_;  // host page index in the region -> guest page number
  std::vector<uint8_t> chunk_size_;   // per 2 MiB chunk: PageSize of its EPT leaf
  size_t misplaced_ = 0;
  std::vector<bool> backed_;          // guest page number -> its host page is allocated
  uint64_t backed_pages_ = 0;
  // Flattened EPT tables the VMM has paid for: the most any EPT built so far held. A rebuild
  // (compaction, ballooning) reuses them; back() charges only tables beyond them.
  uint64_t ept_tables_paid_ = 0;
};

}  // namespace vmmu::vmm
