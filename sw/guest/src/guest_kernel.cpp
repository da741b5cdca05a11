// guest_kernel.cpp - the guest kernel model: frame allocation, page-table maintenance through the
// direct map, demand paging with THP, COW fork, exec/exit teardown, context switches and the
// balloon driver (§19).
#include "vmmu/guest/guest_kernel.h"

#include "page_index.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "vmmu/paging.h"

namespace vmmu::guest {

namespace {

constexpr uint64_t k4K = pageBytes(PageSize::Size4K);
constexpr uint64_t k2M = pageBytes(PageSize::Size2M);
constexpr uint64_t k1G = pageBytes(PageSize::Size1G);
constexpr unsigned kMaxPcid = 4096;  // 12-bit PCIDs; 0 is the kernel's
constexpr uint64_t kTableFlags = pte::P | pte::RW | pte::US;

// Key of the level-`level` table (1 up to the level below the root) covering `va`: its level and
// the VA bits above it. User addresses lie below 2^47, so 48 bits hold them at 4 and 5 levels.
constexpr uint64_t tableKey(uint64_t va, unsigned level) {
  return (uint64_t{level} << 60) | ((va & ((uint64_t{1} << 48) - 1)) >> levelShift(level + 1));
}
}  // namespace

struct GuestKernel::Vma {
  uint64_t start = 0;
  uint64_t end = 0;
  unsigned prot = 0;
  bool huge_ok = false;
  bool physical = false;  // mapPhysical: frames are phys_base + offset, not allocated
  uint64_t phys_base = 0;
};

struct GuestKernel::Leaf {
  uint64_t gpa = 0;
  PageSize size = PageSize::Size4K;
  bool writable = false;  // the PTE has RW
  bool counted = true;    // an allocated RAM frame (refcounted), not a physical mapping
};

struct GuestKernel::Process {
  Pid pid = 0;
  uint16_t pcid = 0;
  uint64_t root = 0;
  std::map<uint64_t, Vma> vmas;                  // by start
  PageIndex<Leaf> leaves;                        // by page start: the kernel's bookkeeping
  std::unordered_map<uint64_t, uint64_t> tables; // tableKey -> table gPA (levels below the root)
  uint64_t next_va = kUserMmapBase;
  // The guest direct segment (§18.9): [segment.start, segment.end) at gPA segment.gpa; end = 0 for
  // none.
  SegmentView segment;
  unsigned segment_prot = 0;
};

GuestKernel::GuestKernel(GuestCpu &cpu, const GuestConfig &config)
    : cpu_(cpu), config_(config), levels_(config.paging_levels), pcid_in_use_(kMaxPcid, false),
      pcid_stale_(kMaxPcid, false) {
  if (levels_ != 4 && levels_ != 5)
    throw std::invalid_argument("guest paging_levels must be 4 or 5, got " + std::to_string(levels_));
  if (config.memory_bytes == 0 || config.memory_bytes % k2M != 0 || config.memory_bytes > (uint64_t{1} << 39))
    throw std::invalid_argument("guest memory_bytes must be a non-zero multiple of 2 MiB up to 512 GiB, got " +
                                std::to_string(config.memory_bytes));
  if (config.io_gap_bytes != 0 && (config.io_gap_bytes % k2M != 0 || config.io_gap_start % k2M != 0 ||
                                   config.io_gap_start <= k2M || config.io_gap_start >= config.memory_bytes))
    throw std::invalid_argument("guest I/O gap must be 2 MiB aligned and start inside the RAM above its first 2 MiB");
  frame_refs_.assign(physicalTop() / k4K, 0);
  // Free 2 MiB chunks, lowest address handed out first; none in the I/O gap. The first chunk is
  // split for the kernel's own tables; its frame 0 stays unused (a null guard).
  for (uint64_t chunk = physicalTop(); chunk > k2M;)
    if (isRam(chunk -= k2M))
      free_2m_.push_back(chunk);
  for (uint64_t frame = k2M; frame > k4K;)
    free_4k_.push_back(frame -= k4K);

  // Boot, paging off: the direct map of all guest memory with 2 MiB pages, global, no-execute.
  pcid_in_use_[0] = true;
  kernel_root_ = allocFrame4K();
  const uint64_t pdpt = allocFrame4K();
  direct_map_pdpt_ = pdpt;
  stats_.table_pages_allocated += 2;
  const uint64_t direct_flags = pte::P | pte::RW | pte::G | pte::NX | pte::PS;
  // With an I/O gap, of the RAM only: the gap's 2 MiB pages stay unmapped.
  for (uint64_t gib = 0; gib * k1G < physicalTop(); ++gib) {
    const uint64_t pd = allocFrame4K();
    direct_map_pds_.push_back(pd);
    ++stats_.table_pages_allocated;
    cpu_.writePhysical(pdpt + 8 * entryIndex(kDirectMapBase + gib * k1G, 3), pd | kTableFlags);
    for (uint64_t off = 0; off < k1G && gib * k1G + off < physicalTop(); off += k2M) {
      const uint64_t gpa = gib * k1G + off;
      if (isRam(gpa))
        cpu_.writePhysical(pd + 8 * entryIndex(kDirectMapBase + gpa, 2), gpa | direct_flags);
    }
  }
  // The root's entry for the kernel half, copied into every process's root. With 5 levels (LA57)
  // it points to a kernel PML4 that holds the direct map's PDPT; a 4-level root holds the PDPT's
  // entry itself.
  kernel_root_entry_ = pdpt | kTableFlags;
  if (levels_ == 5) {
    const uint64_t pml4 = allocFrame4K();
    ++stats_.table_pages_allocated;
    cpu_.writePhysical(pml4 + 8 * entryIndex(kDirectMapBase, 4), kernel_root_entry_);
    kernel_root_entry_ = pml4 | kTableFlags;
  }
  cpu_.writePhysical(kernel_root_ + 8 * entryIndex(kDirectMapBase, levels_), kernel_root_entry_);
  cpu_.writeCr3(kernel_root_, 0, true);
  ++stats_.cr3_writes;
}

GuestKernel::~GuestKernel() = default;

GuestKernel::Process &GuestKernel::process(Pid pid) {
  const auto it = processes_.find(pid);
  if (it == processes_.end())
    throw std::invalid_argument("guest: no process with pid " + std::to_string(pid));
  return *it->second;
}
const GuestKernel::Process &GuestKernel::process(Pid pid) const {
  const auto it = processes_.find(pid);
  if (it == processes_.end())
    throw std::invalid_argument("guest: no process with pid " + std::to_string(pid));
  return *it->second;
}

uint64_t GuestKernel::rootOf(Pid pid) const { return process(pid).root; }
uint16_t GuestKernel::pcidOf(Pid pid) const { return process(pid).pcid; }
size_t GuestKernel::residentPages(Pid pid) const { return process(pid).leaves.size(); }
uint64_t GuestKernel::freeFrames() const { return free_4k_.size() + 512 * free_2m_.size(); }

uint64_t GuestKernel::residentFrame(Pid pid, uint64_t va) const {
  uint64_t page = 0;
  const Leaf *leaf = process(pid).leaves.find(va, &page);
  return leaf == nullptr ? ~uint64_t{0} : leaf->gpa + (va - page);
}

uint64_t GuestKernel::allocFrame4K() {
  if (free_4k_.empty()) {
    if (free_2m_.empty())
      throw OutOfGuestMemory("guest: out of physical memory (" + std::to_string(config_.memory_bytes >> 20) +
                             " MiB)");
    const uint64_t chunk = free_2m_.back();
    free_2m_.pop_back();
    for (uint64_t frame = chunk + k2M; frame > chunk;)
      free_4k_.push_back(frame -= k4K);
  }
  const uint64_t frame = free_4k_.back();
  free_4k_.pop_back();
  frame_refs_[frame / k4K] = 1;
  return frame;
}

uint64_t GuestKernel::allocFrame2M() {
  if (free_2m_.empty())
    return 0;
  const uint64_t chunk = free_2m_.back();
  free_2m_.pop_back();
  frame_refs_[chunk / k4K] = 1;
  return chunk;
}

void GuestKernel::freeFrame(uint64_t gpa, PageSize size) {
  frame_refs_[gpa / k4K] = 0;
  if (size == PageSize::Size2M)
    free_2m_.push_back(gpa);
  else
    free_4k_.push_back(gpa);
}

void GuestKernel::releaseFrame(uint64_t gpa, PageSize size) {
  uint32_t &refs = frame_refs_[gpa / k4K];
  if (refs == 0)
    throw std::logic_error("guest: releasing free frame " + hex(gpa));
  if (--refs == 0)
    freeFrame(gpa, size);
}

// A new, zeroed page-table page. Freed table pages are already zero (teardown clears every entry
// before freeing), and data contents are not modelled, so clear_page costs one store through the
// direct map (the one that traps if the VMM still write-protects the page) plus its work charge.
uint64_t GuestKernel::newTablePage() {
  const uint64_t page = allocFrame4K();
  writeEntry(page, 0);
  cpu_.chargeGuestWork(config_.costs.clear_page);
  ++stats_.table_pages_allocated;
  return page;
}

void GuestKernel::writeEntry(uint64_t entry_gpa, uint64_t value) {
  const AccessOutcome out = cpu_.access(kDirectMapBase + entry_gpa, Access::Write, false, &value);
  if (out.faulted)
    throw std::logic_error("guest: kernel store to the direct map faulted at gPA " + hex(entry_gpa));
  ++stats_.pte_writes;
}

uint64_t GuestKernel::tableFor(Process &p, uint64_t va, unsigned level, bool create) {
  if (level == levels_)
    return p.root;
  const uint64_t key = tableKey(va, level);
  const auto it = p.tables.find(key);
  if (it != p.tables.end())
    return it->second;
  if (!create)
    return 0;
  const uint64_t parent = tableFor(p, va, level + 1, true);
  const uint64_t table = newTablePage();
  writeEntry(parent + 8 * entryIndex(va, level + 1), table | kTableFlags);
  p.tables.emplace(key, table);
  return table;
}

uint64_t GuestKernel::leafFlags(unsigned prot) {
  uint64_t flags = pte::P | pte::US;
  if (prot & prot::Write)
    flags |= pte::RW;
  if (!(prot & prot::Exec))
    flags |= pte::NX;
  return flags;
}

void GuestKernel::setLeaf(Process &p, uint64_t va, uint64_t gpa, PageSize size, uint64_t flags) {
  const unsigned level = 1 + static_cast<unsigned>(size);
  const uint64_t table = tableFor(p, va, level, true);
  writeEntry(table + 8 * entryIndex(va, level), gpa | flags | (size == PageSize::Size4K ? 0 : pte::PS));
}

void GuestKernel::dropPage(Process &p, uint64_t va, const Leaf &leaf) {
  const unsigned level = 1 + static_cast<unsigned>(leaf.size);
  writeEntry(tableFor(p, va, level, false) + 8 * entryIndex(va, level), 0);
  invalidate(p, va);
  if (leaf.counted)
    releaseFrame(leaf.gpa, leaf.size);
}

uint64_t GuestKernel::dropRange(Process &p, uint64_t start, uint64_t end) {
  uint64_t dropped = 0;
  p.leaves.walk(start, end, [&](uint64_t va, const Leaf &leaf) {
    dropPage(p, va, leaf);
    ++dropped;
    return true;
  });
  return dropped;
}

uint64_t GuestKernel::rewriteTableEntry(Pid pid, unsigned level, uint64_t entry_gpa) {
  if (level < 1 || level > levels_)
    throw std::invalid_argument("guest: page-table level " + std::to_string(level) + " is not in 1.." +
                                std::to_string(levels_));
  const Process &p = process(pid);
  std::vector<uint64_t> tables;
  if (level < levels_) {
    for (const auto &[key, table] : p.tables)
      if (key >> 60 == level)
        tables.push_back(table);
    std::sort(tables.begin(), tables.end());
    if (level == 3)
      tables.push_back(direct_map_pdpt_);
    if (level == 2)
      tables.insert(tables.end(), direct_map_pds_.begin(), direct_map_pds_.end());
  }
  const uint64_t table = tables.empty() ? p.root : tables[(entry_gpa >> 12) % tables.size()];
  const uint64_t entry = table + (entry_gpa & 0xFF8);
  const AccessOutcome old = cpu_.access(kDirectMapBase + entry, Access::Read, false, nullptr);
  if (old.faulted)
    throw std::logic_error("guest: kernel load from the direct map faulted at gPA " + hex(entry));
  writeEntry(entry, old.loaded);
  return entry;
}

void GuestKernel::invlpg(uint64_t va) {
  cpu_.invlpg(va);
  ++stats_.invlpgs;
}

void GuestKernel::invalidate(Process &p, uint64_t va) {
  if (p.pid == current_) {
    cpu_.invlpg(va);
    ++stats_.invlpgs;
  } else {
    pcid_stale_[p.pcid] = true;  // flushed by the CR3 write that next runs p
  }
}

uint16_t GuestKernel::allocPcid() {
  for (unsigned tries = 0; tries < kMaxPcid; ++tries) {
    const uint16_t pcid = next_pcid_;
    next_pcid_ = static_cast<uint16_t>(next_pcid_ + 1 == kMaxPcid ? 1 : next_pcid_ + 1);
    if (!pcid_in_use_[pcid]) {
      pcid_in_use_[pcid] = true;
      return pcid;
    }
  }
  throw std::runtime_error("guest: all 4095 PCIDs in use");
}

Pid GuestKernel::spawn() {
  auto p = std::make_unique<Process>();
  p->pid = next_pid_++;
  p->pcid = allocPcid();
  p->root = newTablePage();
  writeEntry(p->root + 8 * entryIndex(kDirectMapBase, levels_), kernel_root_entry_);
  cpu_.chargeGuestWork(config_.costs.process_lifecycle);
  const Pid pid = p->pid;
  processes_.emplace(pid, std::move(p));
  return pid;
}

Pid GuestKernel::fork(Pid parent_pid) {
  Process &parent = process(parent_pid);
  const Pid child_pid = spawn();
  Process &child = process(child_pid);
  child.vmas = parent.vmas;
  child.next_va = parent.next_va;
  bool parent_changed = false;
  parent.leaves.walk(0, ~uint64_t{0}, [&](uint64_t va, Leaf &leaf) {
    const Vma &vma = std::prev(parent.vmas.upper_bound(va))->second;
    const uint64_t flags_ro = leafFlags(vma.prot & ~prot::Write);
    if (leaf.counted && leaf.writable) {  // copy-on-write: both sides read-only
      setLeaf(parent, va, leaf.gpa, leaf.size, flags_ro);
      leaf.writable = false;
      parent_changed = true;
    }
    setLeaf(child, va, leaf.gpa, leaf.size, leaf.writable ? leafFlags(vma.prot) : flags_ro);
    if (leaf.counted)
      ++frame_refs_[leaf.gpa / k4K];
    child.leaves.insert(va, leaf.size, leaf);
    return false;
  });
  if (parent_changed) {
    if (parent.pid == current_)
      cpu_.invpcid(parent.pcid);
    else
      pcid_stale_[parent.pcid] = true;
  }
  return child_pid;
}

void GuestKernel::teardownUser(Process &p) {
  // The process's translations are all dropped below (INVPCID or a stale PCID): no INVLPG each.
  p.leaves.walk(0, ~uint64_t{0}, [&](uint64_t va, const Leaf &leaf) {
    const unsigned level = 1 + static_cast<unsigned>(leaf.size);
    writeEntry(tableFor(p, va, level, false) + 8 * entryIndex(va, level), 0);
    if (leaf.counted)
      releaseFrame(leaf.gpa, leaf.size);
    return true;
  });
  // Free the tables bottom-up: unlink each from its parent (already-empty tables stay zero).
  for (unsigned level = 1; level < levels_; ++level) {
    for (const auto &[key, table] : p.tables) {
      if ((key >> 60) != level)
        continue;
      const uint64_t va = (key & ((uint64_t{1} << 60) - 1)) << levelShift(level + 1);
      writeEntry(tableFor(p, va, level + 1, false) + 8 * entryIndex(va, level + 1), 0);
      freeFrame(table, PageSize::Size4K);
      ++stats_.table_pages_freed;
    }
  }
  p.tables.clear();
  dissolveSegment(p);
  p.vmas.clear();
  p.next_va = kUserMmapBase;
  if (p.pid == current_)
    cpu_.invpcid(p.pcid);
  else
    pcid_stale_[p.pcid] = true;
}

void GuestKernel::exec(Pid pid) {
  Process &p = process(pid);
  teardownUser(p);
  cpu_.chargeGuestWork(config_.costs.process_lifecycle);
}

void GuestKernel::exit(Pid pid) {
  Process &p = process(pid);
  if (current_ == pid)
    switchToIdle();
  teardownUser(p);
  writeEntry(p.root + 8 * entryIndex(kDirectMapBase, levels_), 0);
  freeFrame(p.root, PageSize::Size4K);
  ++stats_.table_pages_freed;
  pcid_in_use_[p.pcid] = false;
  pcid_stale_[p.pcid] = true;  // a later owner of this PCID must not see p's translations
  cpu_.chargeGuestWork(config_.costs.process_lifecycle);
  processes_.erase(pid);
}

void GuestKernel::switchTo(Pid pid) {
  if (pid == current_)
    return;
  Process &p = process(pid);
  cpu_.chargeGuestWork(config_.costs.context_switch);
  cpu_.writeCr3(p.root, p.pcid, pcid_stale_[p.pcid]);
  pcid_stale_[p.pcid] = false;
  ++stats_.cr3_writes;
  current_ = pid;
  loadSegment(p);
}

void GuestKernel::loadSegment(const Process &p) {
  if (cpu_.hasGuestSegment())  // saved state switched with CR3 (§18.5)
    cpu_.writeGuestSegment(p.segment.start, p.segment.end, p.segment.gpa - p.segment.start, p.segment_prot);
}

uint64_t GuestKernel::giveSegment(Pid pid, uint64_t va, uint64_t length) {
  Process &p = process(pid);
  if (!cpu_.hasGuestSegment() || p.segment.end != 0)
    return 0;
  const uint64_t start = (va + k2M - 1) & ~(k2M - 1);
  auto vit = p.vmas.upper_bound(start);
  if (vit == p.vmas.begin() || start >= std::prev(vit)->second.end || std::prev(vit)->second.physical)
    return 0;
  const Vma &vma = std::prev(vit)->second;
  const uint64_t end = std::min(va + length, vma.end) & ~(k2M - 1);
  if (end <= start)
    return 0;
  // The longest run of free 2 MiB frames (the guest reserves contiguous guest-physical memory).
  std::vector<uint64_t> free_chunks = free_2m_;
  std::sort(free_chunks.begin(), free_chunks.end());
  uint64_t best_start = 0, best_bytes = 0;
  for (size_t i = 0; i < free_chunks.size();) {
    size_t j = i + 1;
    while (j < free_chunks.size() && free_chunks[j] == free_chunks[j - 1] + k2M)
      ++j;
    if ((j - i) * k2M > best_bytes) {
      best_bytes = (j - i) * k2M;
      best_start = free_chunks[i];
    }
    i = j;
  }
  // A quarter of guest memory stays outside the segment for everything else (page tables, other
  // mappings and processes): a primary region as large as the mapping asked for (sort's 1 GiB
  // buffer) would otherwise leave the rest of the guest no frame.
  const uint64_t spare = (config_.memory_bytes / 4 + k2M - 1) & ~(k2M - 1);
  const uint64_t free_bytes = free_2m_.size() * k2M;
  const uint64_t allowed = free_bytes > spare ? free_bytes - spare : 0;
  const uint64_t bytes = std::min({best_bytes, end - start, allowed});
  if (bytes == 0)
    return 0;
  free_2m_.erase(std::remove_if(free_2m_.begin(), free_2m_.end(),
                                [&](uint64_t chunk) { return chunk >= best_start && chunk < best_start + bytes; }),
                 free_2m_.end());
  checkNoHugeSplit(p, start, start + bytes, "giveSegment");
  dropRange(p, start, start + bytes);
  cpu_.chargeGuestWork(config_.costs.clear_page * (bytes / k4K));
  p.segment = SegmentView{start, start + bytes, best_start};
  p.segment_prot = vma.prot;
  ++stats_.segments_given;
  if (pid == current_)
    loadSegment(p);
  return bytes;
}

GuestKernel::SegmentView GuestKernel::segmentOf(Pid pid) const { return process(pid).segment; }

void GuestKernel::dissolveSegment(Process &p) {
  if (p.segment.end == 0)
    return;
  // Pages of the segment mapped while it was not in force (§16) point at its frames: gone first.
  if (p.leaves.anyIn(p.segment.start, p.segment.end))
    dropRange(p, p.segment.start, p.segment.end);
  for (uint64_t chunk = p.segment.gpa; chunk < p.segment.gpa + (p.segment.end - p.segment.start); chunk += k2M)
    freeFrame(chunk, PageSize::Size2M);
  p.segment = SegmentView{};
  p.segment_prot = 0;
  ++stats_.segments_dissolved;
  if (p.pid == current_) {
    loadSegment(p);
    cpu_.invpcid(p.pcid);  // the segment's translations are tagged by the PCID (§18.5)
  } else {
    pcid_stale_[p.pcid] = true;
  }
}

void GuestKernel::dissolveSegmentIn(Process &p, uint64_t start, uint64_t end) {
  if (p.segment.end != 0 && start < p.segment.end && p.segment.start < end)
    dissolveSegment(p);
}

void GuestKernel::switchToIdle() {
  if (current_ == 0)
    return;
  cpu_.chargeGuestWork(config_.costs.context_switch);
  cpu_.writeCr3(kernel_root_, 0, false);
  ++stats_.cr3_writes;
  current_ = 0;
  if (cpu_.hasGuestSegment())
    cpu_.writeGuestSegment(0, 0, 0, 0);
}

uint64_t GuestKernel::mmap(Pid pid, uint64_t length, unsigned prot, bool huge_ok) {
  Process &p = process(pid);
  if (length == 0)
    throw std::invalid_argument("guest mmap: zero length");
  cpu_.chargeGuestWork(config_.costs.syscall);
  const uint64_t align = huge_ok ? k2M : k4K;
  const uint64_t start = (p.next_va + align - 1) & ~(align - 1);
  const uint64_t end = start + ((length + align - 1) & ~(align - 1));
  p.vmas.emplace(start, Vma{start, end, prot, huge_ok, false, 0});
  p.next_va = end + k4K;  // a guard page between mappings
  return start;
}

uint64_t GuestKernel::mapPhysical(Pid pid, uint64_t gpa, uint64_t length, unsigned prot) {
  if (gpa % k4K != 0)
    throw std::invalid_argument("guest mapPhysical: gPA " + hex(gpa) + " is not 4 KiB aligned");
  const uint64_t start = mmap(pid, length, prot, false);
  Process &p = process(pid);
  Vma &vma = p.vmas.at(start);
  vma.physical = true;
  vma.phys_base = gpa;
  return start;
}

namespace {
// Splits the VMA containing `addr` so that one starts exactly at `addr`.
template <typename VmaMap> void splitVmaAt(VmaMap &vmas, uint64_t addr) {
  auto it = vmas.upper_bound(addr);
  if (it == vmas.begin())
    return;
  --it;
  auto &vma = it->second;
  if (addr <= vma.start || addr >= vma.end)
    return;
  auto tail = vma;
  tail.start = addr;
  if (tail.physical)
    tail.phys_base += addr - vma.start;
  vma.end = addr;
  vmas.emplace(addr, tail);
}
}  // namespace

// vmmu does not split huge pages: a range must cover each 2 MiB page it touches entirely. Checked
// before any change, so a rejected call leaves the address space as it was.
void GuestKernel::checkNoHugeSplit(Process &p, uint64_t start, uint64_t end, const char *what) {
  p.leaves.walk(start >= k2M ? start - k2M + 1 : 0, end, [&](uint64_t va, const Leaf &leaf) {
    if (leaf.size != PageSize::Size4K && va + k2M > start && (va < start || va + k2M > end))
      throw std::invalid_argument(std::string("guest ") + what + ": range splits the 2 MiB page at " + hex(va));
    return false;
  });
}

void GuestKernel::munmap(Pid pid, uint64_t addr, uint64_t length) {
  Process &p = process(pid);
  cpu_.chargeGuestWork(config_.costs.syscall);
  const uint64_t end = addr + ((length + k4K - 1) & ~(k4K - 1));
  dissolveSegmentIn(p, addr, end);
  checkNoHugeSplit(p, addr, end, "munmap");
  dropRange(p, addr, end);
  splitVmaAt(p.vmas, addr);
  splitVmaAt(p.vmas, end);
  for (auto it = p.vmas.lower_bound(addr); it != p.vmas.end() && it->first < end;)
    it = p.vmas.erase(it);
}

void GuestKernel::mprotect(Pid pid, uint64_t addr, uint64_t length, unsigned new_prot) {
  Process &p = process(pid);
  cpu_.chargeGuestWork(config_.costs.syscall);
  const uint64_t end = addr + ((length + k4K - 1) & ~(k4K - 1));
  dissolveSegmentIn(p, addr, end);
  checkNoHugeSplit(p, addr, end, "mprotect");
  p.leaves.walk(addr, end, [&](uint64_t va, Leaf &leaf) {
    const bool shared = leaf.counted && frame_refs_[leaf.gpa / k4K] > 1;  // still copy-on-write
    leaf.writable = (new_prot & prot::Write) && !shared;
    setLeaf(p, va, leaf.gpa, leaf.size, leafFlags(leaf.writable ? new_prot : new_prot & ~prot::Write));
    invalidate(p, va);
    return false;
  });
  splitVmaAt(p.vmas, addr);
  splitVmaAt(p.vmas, end);
  for (auto it = p.vmas.lower_bound(addr); it != p.vmas.end() && it->first < end; ++it)
    it->second.prot = new_prot;
}

bool GuestKernel::reclaim(Pid pid, uint64_t va) { return reclaimRange(pid, va, va + 1) != 0; }

uint64_t GuestKernel::reclaimRange(Pid pid, uint64_t start, uint64_t end) {
  Process &p = process(pid);
  dissolveSegmentIn(p, start, end);
  // The first page overlapping the range may begin before it (a 2 MiB page); every other one
  // begins inside it.
  uint64_t first = start;
  if (start < end)
    p.leaves.find(start, &first);
  return dropRange(p, first, end);
}

uint64_t GuestKernel::kernelLoad(uint64_t gpa) {
  if (!isRam(gpa))
    throw std::invalid_argument("guest kernelLoad: gPA " + hex(gpa) + " is beyond guest memory");
  const AccessOutcome out = cpu_.access(kDirectMapBase + (gpa & ~uint64_t{7}), Access::Read, false, nullptr);
  if (out.faulted)
    throw std::logic_error("guest: kernel load from the direct map faulted at gPA " + hex(gpa));
  return out.loaded;
}

void GuestKernel::setDirectMapWritable(uint64_t gpa, bool writable) {
  if (!isRam(gpa))
    throw std::invalid_argument("guest setDirectMapWritable: gPA " + hex(gpa) + " is beyond guest memory");
  const uint64_t region = gpa & ~(k2M - 1);
  const uint64_t va = kDirectMapBase + region;
  const uint64_t flags = pte::P | pte::G | pte::NX | pte::PS | (writable ? pte::RW : 0);
  writeEntry(direct_map_pds_[region / k1G] + 8 * entryIndex(va, 2), region | flags);
  cpu_.invlpg(va);
  ++stats_.invlpgs;
}

void GuestKernel::noProcessRuns() { throw std::logic_error("guest: user access while no process runs"); }

void GuestKernel::resolveFaults(uint64_t va, Access access, AccessOutcome &out) {
  // Demand fault, then perhaps a COW fault on the same page: two faults at most.
  for (int handled = 0; out.faulted;) {
    handlePageFault(va, access, out.error_code);
    if (++handled == 3)
      throw std::logic_error("guest: page fault at " + hex(va) + " not resolved by its handler");
    out = cpu_.access(va, access, true, nullptr);
  }
}

void GuestKernel::handlePageFault(uint64_t va, Access access, uint32_t error_code) {
  ++stats_.page_faults;
  cpu_.chargeGuestWork(config_.costs.page_fault);
  Process &p = process(current_);
  auto vit = p.vmas.upper_bound(va);
  if (vit == p.vmas.begin() || va >= std::prev(vit)->second.end)
    throw SegmentationFault("pid " + std::to_string(p.pid) + ": " + std::string(toString(access)) +
                            " of unmapped address " + hex(va));
  const Vma &vma = std::prev(vit)->second;
  const bool in_segment = va >= p.segment.start && va < p.segment.end;
  if (in_segment && cpu_.guestSegmentInForce())  // the segment translates it: no demand paging
    throw SegmentationFault("pid " + std::to_string(p.pid) + ": " + std::string(toString(access)) + " of " +
                            hex(va) + " not allowed by its direct segment");
  const unsigned needed = access == Access::Write ? prot::Write : access == Access::Exec ? prot::Exec : prot::Read;
  if (!(vma.prot & needed))
    throw SegmentationFault("pid " + std::to_string(p.pid) + ": " + std::string(toString(access)) + " of " +
                            hex(va) + " not allowed by the mapping");

  uint64_t resident_page = 0;
  if (Leaf *const resident = p.leaves.find(va, &resident_page)) {
    const uint64_t page = resident_page;
    Leaf &leaf = *resident;
    if ((error_code & pf::P) && access == Access::Write && !leaf.writable) {  // copy-on-write
      ++stats_.cow_faults;
      if (frame_refs_[leaf.gpa / k4K] > 1) {
        const uint64_t copy = leaf.size == PageSize::Size4K ? allocFrame4K() : allocFrame2M();
        if (copy == 0)
          throw OutOfGuestMemory("guest: no free 2 MiB frame for a copy-on-write fault");
        cpu_.chargeGuestWork(config_.costs.copy_page * (pageBytes(leaf.size) / k4K));
        releaseFrame(leaf.gpa, leaf.size);
        leaf.gpa = copy;
      }
      leaf.writable = true;
      setLeaf(p, page, leaf.gpa, leaf.size, leafFlags(vma.prot));
      invalidate(p, page);
    }
    return;  // otherwise a stale translation: the retry walks the current tables
  }

  if (vma.physical || in_segment) {
    // A segment not in force (§16): the page maps to the frame the segment gives it, reserved and
    // zeroed when the segment was given; like a physical mapping, the leaf owns no frame.
    const uint64_t page = va & ~(k4K - 1);
    const uint64_t gpa = in_segment ? p.segment.gpa + (page - p.segment.start) : vma.phys_base + (page - vma.start);
    setLeaf(p, page, gpa, PageSize::Size4K, leafFlags(vma.prot));
    p.leaves.insert(page, PageSize::Size4K, Leaf{gpa, PageSize::Size4K, (vma.prot & prot::Write) != 0, false});
    return;
  }
  const uint64_t region = va & ~(k2M - 1);
  const bool huge_fits = config_.transparent_huge_pages && vma.huge_ok && region >= vma.start &&
                         region + k2M <= vma.end && p.tables.count(tableKey(region, 1)) == 0;
  if (huge_fits) {
    const uint64_t frame = p.leaves.anyIn(region, region + k2M) ? 0 : allocFrame2M();
    if (frame != 0) {
      ++stats_.huge_page_faults;
      cpu_.chargeGuestWork(config_.costs.clear_page * 512);
      setLeaf(p, region, frame, PageSize::Size2M, leafFlags(vma.prot));
      p.leaves.insert(region, PageSize::Size2M, Leaf{frame, PageSize::Size2M, (vma.prot & prot::Write) != 0, true});
      return;
    }
  }
  const uint64_t page = va & ~(k4K - 1);
  const uint64_t frame = allocFrame4K();
  cpu_.chargeGuestWork(config_.costs.clear_page);
  setLeaf(p, page, frame, PageSize::Size4K, leafFlags(vma.prot));
  p.leaves.insert(page, PageSize::Size4K, Leaf{frame, PageSize::Size4K, (vma.prot & prot::Write) != 0, true});
}


std::vector<bool> GuestKernel::freeMap() const {
  std::vector<bool> free(physicalTop() / k4K, false);
  for (const uint64_t frame : free_4k_)
    free[frame / k4K] = true;
  for (const uint64_t chunk : free_2m_)
    for (uint64_t i = 0; i < k2M / k4K; ++i)
      free[chunk / k4K + i] = true;
  return free;
}

void GuestKernel::setFreeLists(const std::vector<bool> &free) {
  constexpr uint64_t kPerChunk = k2M / k4K;
  free_2m_.clear();
  free_4k_.clear();
  // Highest first, so that the back of each list (handed out first) is the lowest frame.
  for (uint64_t chunk = free.size() / kPerChunk; chunk-- > 0;) {
    const uint64_t first = chunk * kPerChunk;
    bool whole = true;
    for (uint64_t i = 0; i < kPerChunk && whole; ++i)
      whole = free[first + i];
    if (whole) {
      free_2m_.push_back(first * k4K);
      continue;
    }
    for (uint64_t i = kPerChunk; i-- > 0;)
      if (free[first + i])
        free_4k_.push_back((first + i) * k4K);
  }
}

BalloonResult GuestKernel::inflate(const std::vector<uint64_t> &gpas) {
  std::vector<bool> wanted(physicalTop() / k4K, false);
  for (const uint64_t gpa : gpas) {
    if (gpa % k4K != 0 || !isRam(gpa))
      throw std::invalid_argument("balloon: gPA " + hex(gpa) + " is not a 4 KiB page of guest memory");
    wanted[gpa / k4K] = true;
  }
  // The user pages that can move: 4 KiB RAM frames mapped once, in the request.
  struct Movable {
    Process *process;
    uint64_t va;
  };
  std::vector<Movable> movable;
  for (auto &[pid, p] : processes_)
    p->leaves.walk(0, ~uint64_t{0}, [&](uint64_t va, Leaf &leaf) {
      if (leaf.counted && leaf.size == PageSize::Size4K && wanted[leaf.gpa / k4K] && frame_refs_[leaf.gpa / k4K] == 1)
        movable.push_back({p.get(), va});
      return false;
    });
  // Take the free pages of the request off the free lists first, so that no page moves into one.
  std::vector<bool> free = freeMap();
  BalloonResult result;
  std::vector<bool> given(wanted.size(), false);
  for (uint64_t page = 0; page < wanted.size(); ++page)
    if (wanted[page] && free[page]) {
      free[page] = false;
      given[page] = true;
    }
  setFreeLists(free);
  for (const Movable &m : movable) {
    // No free frame outside the request is left (a guest using most of its memory, or the RAM
    // above an I/O gap asked for whole, §19.5): the rest are kept, and the host copies them.
    if (freeFrames() == 0)
      break;
    uint64_t page = 0;
    Leaf &leaf = *m.process->leaves.find(m.va, &page);
    const Vma &vma = std::prev(m.process->vmas.upper_bound(m.va))->second;
    const uint64_t old_frame = leaf.gpa;
    const uint64_t new_frame = allocFrame4K();
    cpu_.chargeGuestWork(config_.costs.copy_page);  // user contents are not modelled: the copy is its cost
    leaf.gpa = new_frame;
    setLeaf(*m.process, m.va, new_frame, PageSize::Size4K,
            leafFlags(leaf.writable ? vma.prot : vma.prot & ~prot::Write));
    invalidate(*m.process, m.va);
    frame_refs_[old_frame / k4K] = 0;
    given[old_frame / k4K] = true;
    ++result.migrated;
  }
  for (uint64_t page = 0; page < wanted.size(); ++page) {
    if (given[page])
      result.given.push_back(page * k4K);
    else if (wanted[page])
      result.kept.push_back(page * k4K);
  }
  cpu_.chargeGuestWork(config_.costs.balloon_page * result.given.size());
  return result;
}

void GuestKernel::deflate(const std::vector<uint64_t> &gpas) {
  std::vector<bool> free = freeMap();
  for (const uint64_t gpa : gpas) {
    if (gpa % k4K != 0 || !isRam(gpa) || free[gpa / k4K] || frame_refs_[gpa / k4K] != 0)
      throw std::invalid_argument("balloon: gPA " + hex(gpa) + " is not a page in the balloon");
    free[gpa / k4K] = true;
  }
  setFreeLists(free);
  cpu_.chargeGuestWork(config_.costs.balloon_page * gpas.size());
}

}  // namespace vmmu::guest
