// vmmu/vmm/shadow.h - shadow paging in the three variants of Bae, Lange and Dinda (seed 002).
//
// Shadow tables map guest VA straight to hPA in host frames the VMM owns; the MMU walks them in
// SHADOW mode exactly as native tables. A shadow table is either a mirror of one guest table (same
// level, same VA range) or a splinter table (4 KiB pieces of a guest large page that cannot be
// mapped large: its host backing is not contiguous, or it holds a write-protected page).
//  - Plain (virtual TLB): one shadow space, rebuilt from nothing after every CR3 write; INVLPG and
//    INVPCID exit and drop the affected entries; guest tables are not write-protected.
//  - Caching: a shadow space per guest address space (guest CR3), kept across switches; every
//    guest page-table page a space was built from is write-protected; a trapped write is emulated
//    and propagated to every space that uses the page (pages shared between address spaces, such
//    as the kernel's, and tables of processes that are not running included).
//  - Prefetching: plain's lifecycle, but a shadow fault fills the whole shadow table page from
//    the guest table; the guest tables prefetched from are write-protected, and a trapped write
//    just drops the affected shadow entries.
//  - Agile (docs/architecture.md §20.8, the MMU's AGILE mode): caching's, but a guest page table
//    of level 1 written often is switched to nested (the shadow PDE gets the switch bit and the
//    guest table's host address; the table is no longer write-protected, so its updates cause no
//    exit), and switched back once it stays unchanged between two checkpoints.
// Shadow leaves are never more permissive than the composition of the guest entry and the EPT:
// a write-protected page's leaf is read-only, and the invariant checker verifies it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "vmmu/vmm/costs.h"
#include "vmmu/vmm/mmu_backend.h"
#include "vmmu/vmm/vm_memory.h"

namespace vmmu::vmm {

enum class ShadowVariant : uint8_t { Plain, Caching, Prefetch, Agile };  // their differences: shadow_traits.h

// Where the agile variant places its switch bits (§20.8).
struct AgilePolicy {
  // Trapped writes to one level-1 guest table (while shadowed) that switch it to nested.
  unsigned switch_writes = 4;
  // Every this many guest CR3 writes the switched tables are checked: one unchanged since the last
  // check goes back to shadow.
  unsigned revert_cr3_writes = 32;
};
std::string_view toString(ShadowVariant variant);

// Host frames owned by the VMM (EPT is elsewhere): a bump range with a free list.
class FramePool {
public:
  FramePool(uint64_t base, uint64_t limit) : next_(base), limit_(limit) {}
  uint64_t allocate();
  void release(uint64_t frame) {
    free_.push_back(frame);
    --in_use_;
  }
  size_t inUse() const { return in_use_; }

private:
  uint64_t next_;
  uint64_t limit_;
  std::vector<uint64_t> free_;
  size_t in_use_ = 0;
};

// How the shadow pager reaches the rest of the VMM: the MMU's control port, and the cost account.
struct ShadowEnvironment {
  MmuBackend &backend;
  VmMemory &vm;  // a leaf the shadow installs backs its guest page (lazy host allocation)
  FramePool &frames;
  const CostConfig &costs;
  RunCost &cost;
  uint16_t vpid;
};

struct ShadowStats {
  uint64_t fills = 0;             // shadow leaves installed on a fault
  uint64_t prefetched = 0;        // shadow leaves installed by prefetching
  uint64_t propagated = 0;        // shadow leaves installed by propagating a trapped write
  uint64_t injected = 0;          // guest page faults injected
  uint64_t emulated_writes = 0;   // trapped stores to guest page-table pages
  uint64_t zaps = 0;              // shadow entries cleared because their guest entry changed
  uint64_t write_protects = 0;    // writable shadow leaves downgraded when their page became a table
  uint64_t spaces_created = 0;
  uint64_t spaces_dropped = 0;
  uint64_t tables_allocated = 0;
  uint64_t tables_freed = 0;
  uint64_t agile_switches = 0;    // agile: guest tables switched to nested (per space using them)
  uint64_t agile_reverts = 0;     // agile: switched tables moved back to shadow (per space)
};

class WriteTracker;  // the write-tracking maps (src/shadow_tracker.h)
struct TableUser;
struct LeafRef;

class ShadowPager {
public:
  // Caching keeps at most `max_spaces` spaces, dropping the least recently activated beyond that.
  ShadowPager(ShadowVariant variant, const ShadowEnvironment &env, size_t max_spaces = 64,
              const AgilePolicy &agile = AgilePolicy{});
  ~ShadowPager();
  ShadowPager(const ShadowPager &) = delete;
  ShadowPager &operator=(const ShadowPager &) = delete;

  ShadowVariant variant() const { return variant_; }

  // The guest wrote CR3 (root, pcid). Returns the shadow root (sCR3, an hPA) to load.
  uint64_t activate(uint64_t guest_root, uint16_t pcid);

  enum class FaultOutcome {
    Filled,            // a shadow leaf was installed: retry the access
    InjectGuestFault,  // the guest's own tables deny it: deliver #PF to the guest
    EmulatedWrite,     // a store to a write-protected guest table was emulated: the access is done
    OutsideMemory,     // the guest's tables point outside its memory: the VM must be stopped
  };
  struct FaultResult {
    FaultOutcome outcome = FaultOutcome::Filled;
    uint32_t error_code = 0;  // InjectGuestFault: the #PF error code the guest sees
    uint64_t hpa = 0;         // EmulatedWrite: where the store went
    uint64_t gpa = 0;         // OutsideMemory: the offending gPA
  };
  // A GUEST_PF exit in SHADOW mode in the running space. A store's value is needed to emulate it.
  FaultResult handleFault(uint64_t va, Access access, bool user, const uint64_t *store_value);

  // Plain variant: guest INVLPG of `va`; INVPCID of the running PCID (returns the new sCR3).
  void invalidatePage(uint64_t va);
  uint64_t flushActive();
  // Drops every space (switching away from shadow paging, or plain/prefetch CR3 writes).
  void dropAll();

  // Invariant check: every present shadow leaf of every space equals the composition of the
  // guest's tables and the EPT (frame; size within both; US and NX equal; RW never more than the
  // composition and never over a write-protected guest table; never global). One line per
  // violation.
  std::vector<std::string> check() const;

  const ShadowStats &stats() const { return stats_; }
  size_t spaceCount() const { return spaces_.size(); }
  size_t trackedPages() const;              // guest table pages write-protected
  bool isWriteProtected(uint64_t gpa) const;  // whether the page of `gpa` is one of them
  uint64_t activeRoot() const;  // sCR3 of the running space, 0 when none
  // Agile: the guest tables (gPA pages) now walked nested, in at least one space.
  size_t switchedTables() const { return switched_.size(); }

private:
  struct Space;
  struct GuestWalk;

  GuestWalk walkGuest(uint64_t root_gpa, uint64_t va, bool charge) const;
  uint64_t readGuest(uint64_t gpa, bool charge) const;
  Space &createSpace(uint64_t guest_root, uint16_t pcid);
  void dropSpace(uint64_t space_id);
  uint64_t newTable(Space &space, uint64_t mirrors);
  // Returns false when nothing changed (the leaf was already there, or the gPA is not memory).
  // `may_back`: a fault's own fill backs its page's host page on first touch; a prefetched or
  // propagated leaf maps only a page the host has already backed (as KVM's prefetch takes only
  // resident pages), so it never allocates host memory the guest has not touched.
  bool installLeaf(Space &space, uint64_t va, const GuestWalk &walk, unsigned guest_level, uint64_t guest_entry,
                   uint64_t acc_above, bool may_back);
  uint64_t shadowEntryAddress(const Space &space, uint64_t va, unsigned level) const;
  void prefetchAround(Space &space, uint64_t va, const GuestWalk &walk);
  void trackTable(Space &space, uint64_t table_gpa, unsigned level, uint64_t va_base);
  void writeProtect(uint64_t page);
  void takeBackLeaves(const std::vector<LeafRef> &refs, unsigned level, uint64_t host);
  bool userLive(const TableUser &user, uint64_t page) const;
  void onTableWrite(uint64_t entry_gpa);
  void zap(Space &space, uint64_t va, unsigned level);
  uint64_t shadowTableAt(const Space &space, uint64_t va, unsigned level) const;
  void chargeShim(uint64_t cycles) const { env_.cost.shim_cycles += cycles; }
  void invAddr(uint64_t va) const;
  void invPcid(uint16_t pcid) const;
  void freeTable(Space &space, uint64_t table);
  // Agile (§20.8).
  void countTableWrite(uint64_t page, const std::vector<TableUser> &live);
  void switchToNested(uint64_t page, const std::vector<TableUser> &live);
  void agileCheckpoint();
  uint64_t tableDigest(uint64_t page) const;

  const ShadowVariant variant_;
  ShadowEnvironment env_;
  const unsigned levels_;  // the guest's paging levels (the MMU's GuestLevels): 4 or 5
  const size_t max_spaces_;
  ShadowStats stats_;
  std::unordered_map<uint64_t, std::unique_ptr<Space>> spaces_;  // by space id
  std::unordered_map<uint64_t, uint64_t> space_by_root_;         // guest root gPA -> space id
  uint64_t active_ = 0;                                          // space id, 0 when none
  uint64_t next_space_id_ = 1;
  std::unordered_map<uint64_t, uint64_t> mirror_;  // shadow table hPA -> guest table gPA (or kSplinter)
  std::unique_ptr<WriteTracker> tracker_;         // write-protected guest tables, leaves to take back
  uint64_t use_clock_ = 0;
  // Agile: trapped writes per shadowed level-1 guest table, and the tables switched to nested with
  // the shadow PDEs that name them and their contents' digest at the last checkpoint.
  struct Switched {
    struct Pde {
      uint64_t space_id;
      uint64_t va_base;  // the first VA the guest table maps
    };
    std::vector<Pde> pdes;  // the shadow PDEs that hold the switch to this table
    uint64_t digest = 0;
    bool digested = false;
  };
  const AgilePolicy agile_;
  std::unordered_map<uint64_t, unsigned> table_writes_;
  std::unordered_map<uint64_t, Switched> switched_;
  uint64_t activations_ = 0;
};

}  // namespace vmmu::vmm
