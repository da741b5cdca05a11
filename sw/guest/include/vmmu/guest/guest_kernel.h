// vmmu/guest/guest_kernel.h - a small guest kernel that owns x86-64 page tables in guest memory.
//
// It does what a real kernel does to its page tables, with the same stores and invalidations, so
// that the VMM shim sees the same traps a real guest would cause:
//  - every page-table write is a store through the MMU to the kernel's direct map of guest
//    physical memory (only boot, with paging off, writes physically);
//  - demand paging: a first touch faults, the handler allocates a frame and writes the PTEs
//    (a 2 MiB page when the region is aligned and inside a huge-page-eligible mapping, as THP);
//  - mmap / munmap / mprotect with INVLPG for the running process, and a stale-PCID mark (flushed
//    at the next switch) for a process that is not running, as Linux does;
//  - fork with copy-on-write, exec and exit that clear every entry and free the tables;
//  - context switches that write CR3 with the process's PCID.
// Data contents are not modelled: only page tables hold values.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "vmmu/guest/balloon.h"
#include "vmmu/guest/cpu.h"

namespace vmmu::guest {

using Pid = unsigned;

// Protection bits of a mapping (mmap's PROT_*).
namespace prot {
constexpr unsigned Read = 1, Write = 2, Exec = 4;
constexpr unsigned ReadWrite = Read | Write;
}  // namespace prot

// Cycles charged for guest kernel work that is not simulated access by access. The figures are
// vmmu's choices (order of magnitude of Linux on a 3 GHz core); they are the same in every approach.
struct GuestWorkCosts {
  uint64_t page_fault = 1'500;     // exception entry/exit plus the handler's bookkeeping
  uint64_t clear_page = 250;       // 4 KiB at 16 bytes per cycle
  uint64_t copy_page = 500;        // COW copy of 4 KiB
  uint64_t syscall = 300;          // mmap/munmap/mprotect entry and exit
  uint64_t context_switch = 1'000; // scheduler, register save/restore (CR3 write excluded)
  uint64_t process_lifecycle = 20'000;  // fork/exec/exit work beyond the page tables
  // The balloon driver taking one page into the balloon or giving it back (§19). Inflating 7 GB
  // of an 8 GB idle guest took 4,126 ms, 6.5% of it allocating the pages (Wang, "virtio-balloon:
  // VIRTIO_BALLOON_F_SG", LKML, July 2017): 0.146 us a page, 440 cycles at 3 GHz.
  uint64_t balloon_page = 440;
};

struct GuestConfig {
  uint64_t memory_bytes = 64ull << 20;  // guest physical memory; a 2 MiB multiple
  unsigned paging_levels = 4;           // 4, or 5 (LA57): the MMU's GuestLevels (spec §2)
  bool transparent_huge_pages = true;
  GuestWorkCosts costs;
  // The I/O gap (docs/architecture.md §19.5): a guest-physical hole [io_gap_start, + io_gap_bytes)
  // for MMIO; the RAM above it is relocated above it, so guest-physical memory ends at
  // memory_bytes + io_gap_bytes. No frame in it is ever allocated. None when io_gap_bytes is 0.
  uint64_t io_gap_start = 0;
  uint64_t io_gap_bytes = 0;
};

// Thrown when a process makes an access its mappings do not allow (the kernel would send SIGSEGV).
struct SegmentationFault : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Thrown when the guest runs out of physical memory (vmmu does not model swapping).
struct OutOfGuestMemory : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct GuestStats {
  uint64_t page_faults = 0;        // #PF handled (demand, COW, protection)
  uint64_t huge_page_faults = 0;   // faults satisfied with a 2 MiB page
  uint64_t cow_faults = 0;
  uint64_t pte_writes = 0;         // stores to page-table entries (paging on)
  uint64_t invlpgs = 0;
  uint64_t cr3_writes = 0;
  uint64_t table_pages_allocated = 0;
  uint64_t table_pages_freed = 0;
  uint64_t segments_given = 0;       // guest direct segments given (giveSegment)
  uint64_t segments_dissolved = 0;   // ... and dissolved by munmap, mprotect, reclaim, exec, exit
};

class GuestKernel final : public BalloonDriver {
public:
  // The kernel's direct map of all guest-physical memory (Linux's page_offset_base on x86-64).
  static constexpr uint64_t kDirectMapBase = 0xFFFF'8880'0000'0000ull;
  // Where user mappings start.
  static constexpr uint64_t kUserMmapBase = 0x0000'7000'0000'0000ull;

  // Boots: builds the direct map with paging off, then loads the kernel's tables (PCID 0).
  // Throws std::invalid_argument for a memory size that is not a non-zero 2 MiB multiple.
  GuestKernel(GuestCpu &cpu, const GuestConfig &config);
  ~GuestKernel() override;
  GuestKernel(const GuestKernel &) = delete;
  GuestKernel &operator=(const GuestKernel &) = delete;

  // Process lifecycle. spawn() creates a process with an empty user address space (a fresh exec).
  Pid spawn();
  Pid fork(Pid parent);
  void exec(Pid pid);
  void exit(Pid pid);
  // Context switch to `pid` (a CR3 write; with flush when its PCID went stale).
  void switchTo(Pid pid);
  // Switch to the kernel's own tables (idle).
  void switchToIdle();

  // Memory syscalls on `pid`'s address space (it need not be running). Lengths are rounded up to
  // 4 KiB. `huge_ok` lets THP back the mapping with 2 MiB pages; such a mapping is 2 MiB aligned
  // and munmap/mprotect of it must be 2 MiB aligned (vmmu does not split huge pages).
  uint64_t mmap(Pid pid, uint64_t length, unsigned prot, bool huge_ok);
  void munmap(Pid pid, uint64_t addr, uint64_t length);
  void mprotect(Pid pid, uint64_t addr, uint64_t length, unsigned prot);
  // Maps guest-physical [gpa, gpa + length) into `pid` (as /dev/mem would); the range may lie
  // outside guest RAM, in which case touching it is an error the VMM must stop.
  uint64_t mapPhysical(Pid pid, uint64_t gpa, uint64_t length, unsigned prot);
  // Reclaims the resident page containing `va` (as kswapd would): clears its PTE and frees the
  // frame. Returns false when nothing was resident there.
  bool reclaim(Pid pid, uint64_t va);
  // Reclaims every resident page that overlaps [start, end), in address order, visiting only
  // resident pages (the cost follows what is mapped, not the range's size). Returns how many.
  uint64_t reclaimRange(Pid pid, uint64_t start, uint64_t end);

  // Gives `pid` a guest direct segment (docs/architecture.md §18.9) for its mapping at
  // [va, va + length): the 2 MiB-aligned part of it, as much of it as the longest run of free
  // 2 MiB guest frames holds while a quarter of guest memory stays free for everything else. Those frames are reserved and zeroed (charged), pages resident in
  // the range are dropped, and the range is never demand-paged again: the CPU translates it as
  // gVA + offset. Returns the bytes the segment covers; 0 (nothing done) when the CPU has no
  // segment, the process has one, or no whole 2 MiB fits. munmap, mprotect or reclaim of a range
  // overlapping it, exec and exit dissolve it (its frames freed, INVPCID); fork does not copy it.
  uint64_t giveSegment(Pid pid, uint64_t va, uint64_t length);
  // The segment of `pid` as [start, end) and its first gPA; start = end = 0 when it has none.
  struct SegmentView {
    uint64_t start = 0, end = 0, gpa = 0;
  };
  SegmentView segmentOf(Pid pid) const;
  // Whether the CPU has the guest segment (giveSegment() can succeed).
  bool hasGuestSegment() const { return cpu_.hasGuestSegment(); }

  // A kernel load of guest-physical `gpa` through the direct map (copy_from_user-like kernel work),
  // in whatever address space runs.
  uint64_t kernelLoad(uint64_t gpa);
  // set_memory_ro / set_memory_rw on the 2 MiB of the direct map holding `gpa`: rewrites the
  // kernel's PDE, which every process shares, and INVLPGs it (the entry is global).
  void setDirectMapWritable(uint64_t gpa, bool writable);

  // A page-table write named by a trace (docs/trace-format.md §8.1): the kernel loads and stores
  // back, unchanged, entry (`entry_gpa` & 0xFFF) / 8 of one of `pid`'s table pages at `level`
  // (1 = PT .. the root's level): its user tables of that level in gPA order, then the direct
  // map's (its PDPT at level 3, its PDs at level 2), the one at index (`entry_gpa` >> 12) modulo
  // their number; the root when there is none. The store is a guest store through the direct map
  // like any page-table write, so a VMM that write-protects the page traps it. Returns the gPA of
  // the entry written. Throws std::invalid_argument for a level outside 1..levels.
  uint64_t rewriteTableEntry(Pid pid, unsigned level, uint64_t entry_gpa);
  // INVLPG of `va` on the running address space (a trace's invlpg event).
  void invlpg(uint64_t va);

  // A user access by the running process; handles the guest page faults it raises. Throws
  // SegmentationFault when the process may not make it.
  AccessOutcome touch(uint64_t va, Access access) {
    if (current_ == 0)
      noProcessRuns();
    // `out` is the one object returned, so the CPU writes the outcome straight into the caller's:
    // a copy of it, made right after the CPU's narrower stores, would wait for them (a
    // store-forwarding stall per access). Inline: most accesses do not fault.
    AccessOutcome out = cpu_.access(va, access, true, nullptr);
    if (out.faulted)
      resolveFaults(va, access, out);
    return out;
  }

  // BalloonDriver (§19). inflate() keeps a page in use that it cannot move: a page-table page, a
  // frame of a 2 MiB page, a frame mapped more than once (copy-on-write), the null frame 0. It
  // moves a 4 KiB user page mapped once: a copy to a free page outside the request (copy_page),
  // its PTE rewritten through the direct map and invalidated. Each page taken or given back costs
  // balloon_page. After deflate() the free lists are rebuilt: every wholly free 2 MiB chunk is a
  // 2 MiB frame again.
  BalloonResult inflate(const std::vector<uint64_t> &gpas) override;
  void deflate(const std::vector<uint64_t> &gpas) override;

  // Event-shaped form for trace replay: switches to `pid` if another process runs, then touches.
  AccessOutcome access(Pid pid, uint64_t va, Access access) {
    if (pid != current_)  // here, not only in switchTo(): most events continue the running process
      switchTo(pid);
    return touch(va, access);
  }

  // access() of each of `accesses` in order, from accesses[made]: `made` advances past each
  // access made, and an exception (a SegmentationFault, say) leaves it at the one that raised it.
  // The CPU takes the accesses as a run (GuestCpu::userAccesses), one call for many TLB hits.
  void accessAll(Pid pid, const UserAccess *accesses, size_t count, size_t &made) {
    if (pid != current_)
      switchTo(pid);
    if (current_ == 0)
      noProcessRuns();
    while (made < count) {
      AccessOutcome fault;
      cpu_.userAccesses(accesses, count, made, fault);
      if (made == count)
        return;
      resolveFaults(accesses[made].va, accesses[made].access, fault);
      ++made;
    }
  }

  Pid current() const { return current_; }  // 0 when idle
  bool alive(Pid pid) const { return processes_.count(pid) != 0; }
  uint64_t rootOf(Pid pid) const;
  uint16_t pcidOf(Pid pid) const;
  uint64_t kernelRoot() const { return kernel_root_; }
  uint64_t memoryBytes() const { return config_.memory_bytes; }  // RAM
  // The top of guest-physical memory (RAM and the I/O gap), and whether `gpa` is RAM.
  uint64_t physicalTop() const { return config_.memory_bytes + config_.io_gap_bytes; }
  bool isRam(uint64_t gpa) const {
    return gpa < physicalTop() && gpa - config_.io_gap_start >= config_.io_gap_bytes;
  }
  // The gPA of the byte `offset` bytes into the RAM (offset < memoryBytes()): past the gap's start
  // it is relocated above the gap.
  uint64_t ramAddress(uint64_t offset) const {
    return config_.io_gap_bytes != 0 && offset >= config_.io_gap_start ? offset + config_.io_gap_bytes : offset;
  }
  unsigned pagingLevels() const { return levels_; }
  // Guest-physical address of the frame `va` is mapped to in `pid`, from the kernel's bookkeeping
  // (nullopt-like ~0 when not resident).
  uint64_t residentFrame(Pid pid, uint64_t va) const;
  size_t residentPages(Pid pid) const;
  uint64_t freeFrames() const;
  const GuestStats &stats() const { return stats_; }

private:
  struct Vma;
  struct Leaf;
  struct Process;

  // Frees the segment of `p` (if any) and empties the CPU's when `p` runs; `p`'s segment
  // translations are invalidated (INVPCID now, or at its next switch).
  void dissolveSegment(Process &p);
  void dissolveSegmentIn(Process &p, uint64_t start, uint64_t end);
  void loadSegment(const Process &p);

  Process &process(Pid pid);
  const Process &process(Pid pid) const;
  uint64_t allocFrame4K();
  uint64_t allocFrame2M();  // 0 when no 2 MiB frame is free
  void freeFrame(uint64_t gpa, PageSize size);
  void releaseFrame(uint64_t gpa, PageSize size);  // drops one reference
  uint64_t newTablePage();
  // Which 4 KiB frames are on the free lists, and the free lists rebuilt from such a map (lowest
  // frame handed out first; a wholly free 2 MiB chunk is one 2 MiB frame).
  std::vector<bool> freeMap() const;
  void setFreeLists(const std::vector<bool> &free);
  void writeEntry(uint64_t entry_gpa, uint64_t value);
  uint64_t tableFor(Process &p, uint64_t va, unsigned level, bool create);
  void setLeaf(Process &p, uint64_t va, uint64_t gpa, PageSize size, uint64_t flags);
  // Clears the PTE of the page at `va`, invalidates it and releases its frame (the caller drops
  // it from the bookkeeping); dropRange does so for every page starting in [start, end).
  void dropPage(Process &p, uint64_t va, const Leaf &leaf);
  uint64_t dropRange(Process &p, uint64_t start, uint64_t end);
  void invalidate(Process &p, uint64_t va);
  void teardownUser(Process &p);
  void checkNoHugeSplit(Process &p, uint64_t start, uint64_t end, const char *what);
  uint16_t allocPcid();
  [[noreturn]] static void noProcessRuns();
  // Handles the faults of a user access at `va` and retries it until it completes (`out`).
  void resolveFaults(uint64_t va, Access access, AccessOutcome &out);
  void handlePageFault(uint64_t va, Access access, uint32_t error_code);
  static uint64_t leafFlags(unsigned prot);

  GuestCpu &cpu_;
  const GuestConfig config_;
  const unsigned levels_;  // paging levels: the root table is at this level
  GuestStats stats_;
  uint64_t kernel_root_ = 0;
  uint64_t kernel_root_entry_ = 0;  // the root entry mapping the kernel half (direct map)
  uint64_t direct_map_pdpt_ = 0;          // gPA of the direct map's PDPT
  std::vector<uint64_t> direct_map_pds_;  // gPA of the direct map's PD pages, per GiB
  std::vector<uint64_t> free_4k_;
  std::vector<uint64_t> free_2m_;
  std::vector<uint32_t> frame_refs_;  // per 4K frame; a 2 MiB frame counts at its first frame
  std::map<Pid, std::unique_ptr<Process>> processes_;
  std::vector<bool> pcid_in_use_;
  std::vector<bool> pcid_stale_;
  uint16_t next_pcid_ = 1;
  Pid next_pid_ = 1;
  Pid current_ = 0;
};

}  // namespace vmmu::guest
