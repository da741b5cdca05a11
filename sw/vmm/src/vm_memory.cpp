// vm_memory.cpp - guest memory layout, fragmentation, EPT construction and compaction.
#include "vmmu/vmm/vm_memory.h"

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>

namespace vmmu::vmm {

namespace {
constexpr uint64_t k4K = pageBytes(PageSize::Size4K);
constexpr uint64_t kPagesPer2M = 512;
constexpr uint64_t kPagesPer1G = 512 * 512;
}  // namespace

VmMemory::VmMemory(PhysicalMemory &memory, const VmMemoryConfig &config, uint64_t ept_base, uint64_t ept_limit)
    : memory_(memory), config_(config), ept_frames_(ept_base, ept_limit) {
  if (config.bytes == 0 || config.bytes % pageBytes(PageSize::Size2M) != 0)
    throw std::invalid_argument("VM memory bytes must be a non-zero multiple of 2 MiB, got " +
                                std::to_string(config.bytes));
  if (config.host_base % pageBytes(PageSize::Size1G) != 0)
    throw std::invalid_argument("VM host_base must be 1 GiB aligned, got " + std::to_string(config.host_base));
  if (config.max_ept_page == PageSize::Size1G && config.bytes < pageBytes(PageSize::Size1G))
    throw std::invalid_argument("max_ept_page = 1g needs a guest of at least 1 GiB (memory_mib >= 1024), got " +
                                std::to_string(config.bytes >> 20) + " MiB");
  if (config.ept_format == EptFormat::Flat1 && config.bytes > pageBytes(PageSize::Size1G))
    throw std::invalid_argument("ept_format 1level reaches 1 GiB of guest-physical memory (memory_mib <= 1024), got " +
                                std::to_string(config.bytes >> 20) + " MiB");
  if (config.ept_format == EptFormat::Flat1 && config.max_ept_page == PageSize::Size1G)
    throw std::invalid_argument("ept_format 1level maps at most 2 MiB pages: max_ept_page = 1g needs 2level or 4level");
  if (!(config.fragmentation >= 0.0 && config.fragmentation <= 1.0))
    throw std::invalid_argument("VM fragmentation must be in [0, 1], got " + std::to_string(config.fragmentation));
  if (config.io_gap_bytes != 0 &&
      (config.io_gap_bytes % pageBytes(PageSize::Size2M) != 0 || config.io_gap_start % pageBytes(PageSize::Size2M) != 0 ||
       config.io_gap_start == 0 || config.io_gap_start >= config.bytes))
    throw std::invalid_argument("VM I/O gap must be 2 MiB aligned and start inside the RAM, got " +
                                std::to_string(config.io_gap_bytes) + " bytes at " + std::to_string(config.io_gap_start));
  if (config.host_base + gpaTop() > ept_base && config.host_base < ept_limit)
    throw std::invalid_argument("VM host region overlaps the VMM's own frames");
  const uint64_t pages = gpaTop() / k4K;
  const uint64_t ram_pages = config.bytes / k4K;
  const uint64_t gap_first = config.io_gap_start / k4K, gap_pages = config.io_gap_bytes / k4K;
  host_page_.resize(pages);
  guest_page_.resize(pages);
  std::vector<uint64_t> ram;  // the RAM pages, ascending
  ram.reserve(ram_pages);
  for (uint64_t g = 0; g < pages; ++g) {
    // Packed: the RAM above the gap right after the RAM below it, the gap's pages (holes) in the
    // region's top.
    uint64_t host = g;
    if (gap_pages != 0 && config.pack_gap && g >= gap_first)
      host = g < gap_first + gap_pages ? ram_pages + (g - gap_first) : g - gap_pages;
    host_page_[g] = config.host_base / k4K + host;
    guest_page_[host] = g;
    if (!holePage(g))
      ram.push_back(g);
    if (!holePage(g) && host != g)
      ++misplaced_;
  }
  // Fragment: swap random pairs of distinct RAM pages (a Fisher-Yates prefix picks them).
  const uint64_t pairs = static_cast<uint64_t>(config.fragmentation * static_cast<double>(ram_pages) / 2.0);
  std::mt19937_64 rng(config.seed);
  for (uint64_t i = 0; i < 2 * pairs; ++i)
    std::swap(ram[i], ram[i + rng() % (ram_pages - i)]);
  for (uint64_t i = 0; i < pairs; ++i)
    swapFrames(ram[2 * i], ram[2 * i + 1]);
  backed_.assign(pages, !config.lazy);
  for (uint64_t g = gap_first; g < gap_first + gap_pages; ++g)
    backed_[g] = false;  // a hole holds no RAM
  backed_pages_ = config.lazy ? 0 : ram_pages;
  buildEpt();
  ept_tables_paid_ = ept_->tablesAllocated();  // VM creation is not charged
}

VmMemory::~VmMemory() = default;

uint64_t VmMemory::hostOf(uint64_t gpa) const {
  if (!contains(gpa))
    throw std::out_of_range("gPA " + std::to_string(gpa) + " is outside the VM's memory");
  return host_page_[gpa / k4K] * k4K + (gpa % k4K);
}

PageSize VmMemory::eptPageSize(uint64_t gpa) const {
  return static_cast<PageSize>(chunk_size_.at(gpa / pageBytes(PageSize::Size2M)));
}

std::vector<uint64_t> VmMemory::misplacedPages() const {
  std::vector<uint64_t> out;
  for (uint64_t g = 0; g < host_page_.size(); ++g)
    if (host_page_[g] != config_.host_base / k4K + g && !holePage(g))
      out.push_back(g * k4K);
  return out;
}

std::vector<uint64_t> VmMemory::moveOrder() const {
  std::vector<uint64_t> pages = misplacedPages();
  for (uint64_t &gpa : pages)
    gpa /= k4K;
  if (config_.io_gap_bytes != 0)
    std::reverse(pages.begin(), pages.end());
  return pages;
}

void VmMemory::swapFrames(uint64_t a, uint64_t b) {
  const uint64_t base_page = config_.host_base / k4K;
  // A hole is never counted out of place: it holds nothing DIRECT could need.
  auto placed = [&](uint64_t g) { return holePage(g) || host_page_[g] == base_page + g; };
  misplaced_ -= placed(a) ? 0 : 1;
  misplaced_ -= placed(b) ? 0 : 1;
  std::swap(host_page_[a], host_page_[b]);
  guest_page_[host_page_[a] - base_page] = a;
  guest_page_[host_page_[b] - base_page] = b;
  misplaced_ += placed(a) ? 0 : 1;
  misplaced_ += placed(b) ? 0 : 1;
}

void VmMemory::swapPages(uint64_t gpa_a, uint64_t gpa_b) {
  const uint64_t a = gpa_a / k4K, b = gpa_b / k4K;
  if (!contains(gpa_a) || !contains(gpa_b) || a == b)
    throw std::invalid_argument("swapPages needs two distinct pages inside guest memory");
  exchange(a, b, true, true);  // the backing follows the guest page, with its contents
  buildEpt();
}

uint64_t VmMemory::exchange(uint64_t a, uint64_t b, bool copy_a, bool copy_b) {
  const uint64_t ha = host_page_[a] * k4K, hb = host_page_[b] * k4K;
  if (copy_a || copy_b)
    for (uint64_t off = 0; off < k4K; off += 8) {
      const uint64_t va = memory_.read64(ha + off), vb = memory_.read64(hb + off);
      if (va == vb)
        continue;
      if (copy_a)
        memory_.write64(hb + off, va);
      if (copy_b)
        memory_.write64(ha + off, vb);
    }
  swapFrames(a, b);
  // A page moved into a hole of the gap's host range keeps its backing (the move allocates its new
  // frame); the hole stays unbacked.
  if (!holePage(a) && !holePage(b)) {
    const bool backed_a = backed_[a];
    backed_[a] = backed_[b];
    backed_[b] = backed_a;
  }
  return (copy_a ? 1 : 0) + (copy_b ? 1 : 0);
}

uint64_t VmMemory::compact() {
  const uint64_t base_page = config_.host_base / k4K;
  uint64_t copies = 0;
  // Swap g's contents into its home frame; whoever lived there moves to g's old frame (a hole's
  // nothing is not copied). Each swap puts g in place for good.
  for (const uint64_t g : moveOrder())
    if (host_page_[g] != base_page + g) {
      const uint64_t other = guest_page_[g];  // the occupant of g's home frame
      copies += exchange(g, other, true, !holePage(other));
    }
  buildEpt();
  return copies;
}

uint64_t VmMemory::rehome(const std::vector<uint64_t> &discarded_gpas) {
  const uint64_t base_page = config_.host_base / k4K;
  std::vector<bool> discarded(host_page_.size(), false);
  for (const uint64_t gpa : discarded_gpas) {
    if (!contains(gpa))
      throw std::invalid_argument("rehome: gPA " + std::to_string(gpa) + " is outside the VM's memory");
    discarded[gpa / k4K] = true;
  }
  uint64_t copies = 0;
  // As compact(), copying only what is kept: g home, its home frame's occupant to g's old frame.
  for (const uint64_t g : moveOrder())
    if (host_page_[g] != base_page + g) {
      const uint64_t other = guest_page_[g];
      copies += exchange(g, other, !discarded[g], !discarded[other] && !holePage(other));
    }
  for (uint64_t g = 0; g < host_page_.size(); ++g)
    if (discarded[g])
      for (uint64_t off = 0; off < k4K; off += 8)
        if (memory_.read64(host_page_[g] * k4K + off) != 0)
          memory_.write64(host_page_[g] * k4K + off, 0);
  buildEpt();
  return copies;
}

bool VmMemory::anyBacked(uint64_t first, uint64_t pages) const {
  for (uint64_t g = first; g < first + pages; ++g)
    if (backed_[g])
      return true;
  return false;
}

void VmMemory::markBacked(uint64_t first, uint64_t pages) {
  for (uint64_t g = first; g < first + pages; ++g)
    if (!backed_[g]) {
      backed_[g] = true;
      ++backed_pages_;
    }
}

Backing VmMemory::back(uint64_t gpa) {
  const uint64_t page = gpa / k4K;
  if (!contains(gpa) || backed_[page])
    return {};
  // The host allocates the page the EPT leaf maps: a THP or 1 GiB page for an intact chunk, a
  // 4 KiB page inside a fragmented one.
  const PageSize size = eptPageSize(gpa);
  const uint64_t pages = pageBytes(size) / k4K;
  const uint64_t first = page & ~(pages - 1);
  const uint64_t before = backed_pages_;
  markBacked(first, pages);
  ept_->map(first * k4K, host_page_[first] * k4K, size);
  Backing done{1, backed_pages_ - before};
  if (config_.ept_format != EptFormat::Radix) {  // §21.7: new 2 MiB tables, replicated 2M leaves
    if (ept_->tablesAllocated() > ept_tables_paid_) {
      done.ept_tables = ept_->tablesAllocated() - ept_tables_paid_;
      ept_tables_paid_ = ept_->tablesAllocated();
    }
    done.ept_replicated_leaves = size == PageSize::Size2M ? 1 : 0;
  }
  return done;
}

Backing VmMemory::backAll() {
  Backing done;
  for (uint64_t g = 0; g < backed_.size();) {
    const PageSize size = eptPageSize(g * k4K);
    const uint64_t first = g & ~(pageBytes(size) / k4K - 1);
    done += back(g * k4K);
    g = first + pageBytes(size) / k4K;
  }
  return done;
}

bool VmMemory::inPlace(uint64_t first, uint64_t pages) const {
  // Intact: the pages contiguous on a host page of their extent (at home, or, above a packed I/O
  // gap, shifted by the gap's whole 2 MiB pages), none of them a hole.
  if (host_page_[first] % pages != 0)
    return false;
  for (uint64_t g = first; g < first + pages; ++g)
    if (host_page_[g] != host_page_[first] + (g - first) || holePage(g))
      return false;
  return true;
}

void VmMemory::buildEpt() {
  ept_ = std::make_unique<EptTables>(memory_, ept_frames_, 4, 46, config_.ept_format);
  const uint64_t pages = host_page_.size();
  chunk_size_.assign(pages / kPagesPer2M, static_cast<uint8_t>(PageSize::Size4K));
  // Only backed pages are mapped. A large leaf whose extent is partly backed (pages moved back
  // into one chunk by compaction) is mapped whole: the host backs the rest with it, uncharged.
  for (uint64_t g = 0; g < pages;) {
    if (config_.max_ept_page == PageSize::Size1G && g % kPagesPer1G == 0 && g + kPagesPer1G <= pages &&
        inPlace(g, kPagesPer1G)) {
      if (anyBacked(g, kPagesPer1G)) {
        markBacked(g, kPagesPer1G);
        ept_->map(g * k4K, host_page_[g] * k4K, PageSize::Size1G);
      }
      for (uint64_t c = 0; c < kPagesPer1G / kPagesPer2M; ++c)
        chunk_size_[g / kPagesPer2M + c] = static_cast<uint8_t>(PageSize::Size1G);
      g += kPagesPer1G;
    } else if (config_.max_ept_page != PageSize::Size4K && inPlace(g, kPagesPer2M)) {
      if (anyBacked(g, kPagesPer2M)) {
        markBacked(g, kPagesPer2M);
        ept_->map(g * k4K, host_page_[g] * k4K, PageSize::Size2M);
      }
      chunk_size_[g / kPagesPer2M] = static_cast<uint8_t>(PageSize::Size2M);
      g += kPagesPer2M;
    } else {
      for (uint64_t i = 0; i < kPagesPer2M; ++i, ++g)
        if (backed_[g])
          ept_->map(g * k4K, host_page_[g] * k4K, PageSize::Size4K);
    }
  }
}

}  // namespace vmmu::vmm
