// vmmu/vmm/vmm.h - the VMM shim: runs one guest on an MMU backend in one of six approaches.
//
// The Vmm is the guest's CPU (guest::GuestCpu): every guest access goes through the backend's
// translate(), and the Vmm decides, per approach, what traps and what the shim then does:
//  - Native:  no VM (baseline): guest-physical is host-physical, NATIVE mode.
//  - Nested:  EPT built from the VM's memory layout; guest faults go straight to the guest.
//  - Shadow (plain, caching, prefetching): see shadow.h; CR3 writes and shadow faults exit.
//  - Direct:  GBASE/GSIZE base-offset translation, the escape filter for pages out of place, the
//             bounds checker stopping a guest that reaches outside its region; a fragmented VM is
//             made contiguous first when allowed: compacted by the host (the page copies are
//             charged) or, with Contiguity::Balloon, by self-ballooning (§19: the guest's balloon
//             driver gives the pages back, the VMM re-plugs them in place; every step charged).
//  - GuestDirect, DualDirect (docs/architecture.md §18, both backends): the guest's
//             direct segment, written with CR3 on each guest context switch without an exit;
//             GuestDirect is nested outside it, DualDirect is Direct's region besides.
//  - Agile (§20, both backends): AGILE mode; the caching shadow with switch bits,
//             placed by the shadow pager's agile policy (shadow.h), so the guest's often-written
//             leaf tables are walked nested and their updates cause no exit.
// Every exit has a reason and costs a round trip plus the shim's work (costs.h); the account is in
// cost(). switchApproach() moves a running guest between nested, the shadow variants, agile and
// direct, charging what the switch does (dropping or starting shadow tables, flushes, compaction).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "vmmu/guest/balloon.h"
#include "vmmu/guest/cpu.h"
#include "vmmu/vmm/costs.h"
#include "vmmu/vmm/mmu_backend.h"
#include "vmmu/vmm/shadow.h"
#include "vmmu/vmm/vm_memory.h"

namespace vmmu::vmm {

enum class Approach : uint8_t {
  Native, Nested, ShadowPlain, ShadowCaching, ShadowPrefetch, Direct, GuestDirect, DualDirect, Agile
};
constexpr unsigned kNumApproaches = 9;
// Native .. Direct: the approaches `vmmu run --mode all` runs and the adaptive policy and its
// oracles switch among. GuestDirect and DualDirect need the guest's segment from the start; Agile
// is run by name only (§20.8), so that `--mode all` keeps its tables; the policy may switch into
// either kind when opted in (§16, `--policy-modes`).
constexpr unsigned kNumSwitchableApproaches = 6;
std::string_view toString(Approach approach);
// Parses toString's names; throws std::invalid_argument naming the bad value.
Approach parseApproach(std::string_view name);
bool isShadow(Approach approach);
// GuestDirect or DualDirect: the guest runs with a direct segment (§18).
bool hasGuestSegment(Approach approach);

// How the VMM makes a fragmented VM's memory contiguous before DIRECT (§19).
enum class Contiguity : uint8_t {
  Compact,  // host compaction: the VMM copies every page out of place home (seed 004)
  Balloon,  // self-ballooning: the guest gives those pages back, the VMM re-plugs them in place
};
std::string_view toString(Contiguity contiguity);
// Parses toString's names; throws std::invalid_argument naming the bad value.
Contiguity parseContiguity(std::string_view name);

struct VmmConfig {
  VmMemoryConfig memory;
  CostConfig costs;
  uint16_t vpid = 1;              // the VM's VPID (Native uses 0, the host's, §1)
  unsigned context = 0;           // the MMU context slot the VM runs in
  // Host frames this VMM keeps for itself (EPT, shadow tables): [frames_base, + kVmmFramesBytes).
  // VMs sharing one backend need disjoint ranges (and disjoint memory regions, VPIDs, contexts).
  uint64_t frames_base = 0x100'0000'0000ull;  // 1 TiB
  // Direct: the VMM may make a fragmented VM contiguous (by `contiguity`) before entering. Without
  // it a VM with more pages out of place than the escape filter holds cannot enter DIRECT.
  bool allow_compaction = true;
  Contiguity contiguity = Contiguity::Compact;
  // A VMM without VPIDs: every VM exit and entry flushes the VM's TLB entries and paging-structure
  // caches (one INV_VPID per exit), costed by the refills it causes.
  bool flush_tlb_on_exit = false;
  size_t max_shadow_spaces = 64;  // caching shadow: spaces kept
  AgilePolicy agile;              // agile: where the switch bits go (§20.8)
  // Run the shadow invariant checker after every exit the caching and prefetching variants handle
  // (throwing std::logic_error on the first violation). Slow: for tests. Plain shadow is a virtual
  // TLB, exact only once the guest has invalidated, so it is checked at guest-step boundaries
  // (checkInvariants()) instead.
  bool check_invariants_each_exit = false;
  // Offer the guest segment (§18) in every approach, not only in GuestDirect and DualDirect: the
  // guest then gives its segment from the start and demand-pages its range outside those modes,
  // so that switchApproach() can move between Nested, GuestDirect and DualDirect (§16: the
  // adaptive policy with guest-direct or dual-direct allowed). The shim also counts the walks
  // inside the segment (RunCost::segment_walks).
  bool guest_segment = false;
};

// The VMM stopped the guest: it touched guest-physical memory it does not have (an EPT violation
// for an address outside the VM, or a DIRECT bounds violation).
struct GuestStopped : std::runtime_error {
  GuestStopped(const std::string &what, ExitReason reason, uint64_t gpa)
      : std::runtime_error(what), reason(reason), gpa(gpa) {}
  ExitReason reason;
  uint64_t gpa;
};

class Vmm final : public guest::GuestCpu {
public:
  static constexpr uint64_t kVmmFramesBytes = 0x10'0000'0000ull;  // 64 GiB of VMM frames

  // Throws std::invalid_argument naming the bad setting (Native needs host_base 0 and no
  // fragmentation; the backend must have 4 guest levels; GuestDirect and DualDirect need the
  // golden model's backend).
  Vmm(MmuBackend &backend, const VmmConfig &config, Approach approach);
  ~Vmm() override;
  Vmm(const Vmm &) = delete;
  Vmm &operator=(const Vmm &) = delete;

  // guest::GuestCpu.
  guest::AccessOutcome access(uint64_t va, Access access, bool user, const uint64_t *store_value) override;
  // Runs of TLB hits go to the model in one call (ModelBackend::translateHits()) and are charged
  // together; every other access goes through access().
  void userAccesses(const guest::UserAccess *accesses, size_t count, size_t &made,
                    guest::AccessOutcome &fault) override;
  void writeCr3(uint64_t root_gpa, uint16_t pcid, bool flush) override;
  void invlpg(uint64_t va) override;
  void invpcid(uint16_t pcid) override;
  void writePhysical(uint64_t gpa, uint64_t value) override;
  bool hasGuestSegment() const override { return config_.guest_segment || vmm::hasGuestSegment(approach_); }
  bool guestSegmentInForce() const override { return vmm::hasGuestSegment(approach_); }
  // The running address space's guest segment as last written (bytes; 0: none).
  uint64_t guestSegmentBytes() const { return segment_limit_ > segment_base_ ? segment_limit_ - segment_base_ : 0; }
  // Saved guest state switched with CR3 (§18.5): the hardware loads it, no exit, no shim work.
  void writeGuestSegment(uint64_t base, uint64_t limit, uint64_t offset, unsigned prot) override;
  void chargeGuestWork(uint64_t cycles) override { cost_.guest_work_cycles += cycles; }

  Approach approach() const { return approach_; }
  // Moves the running guest to `next` (not to or from Native; to or from GuestDirect and
  // DualDirect only with VmmConfig::guest_segment, and never out of DualDirect but to
  // GuestDirect or Nested; into GuestDirect, DualDirect and Agile on the golden model only).
  // ShadowCaching <-> Agile keeps the shadow tables (§16). Throws std::runtime_error when Direct
  // or DualDirect is impossible (pages out of place beyond the escape filter and compaction
  // disallowed).
  void switchApproach(Approach next);
  // Whether switchApproach(Direct) can succeed (few enough pages out of place, or compaction on;
  // with Contiguity::Balloon also a balloon driver attached).
  bool canEnterDirect() const;
  // What entering Direct or DualDirect would cost the VMM now (§16): the pages out of place made
  // contiguous by its contiguity way (none when the escape filter holds them), the pages not yet
  // backed zeroed and their host pages allocated (one per 2 MiB, rounded up). Only meaningful
  // when canEnterDirect().
  uint64_t directEntryCycles() const;
  // The guest's balloon driver (the guest kernel, once it has booted). A VM created Direct with
  // Contiguity::Balloon and memory out of place runs NESTED until then: the guest must run to
  // balloon. Attaching makes it contiguous and enters DIRECT, charged to the run as compaction
  // at creation is. The driver must outlive the Vmm's use of it.
  void attachBalloon(guest::BalloonDriver &driver);
  // The VMM moves two guest pages between host frames (as for retiring a frame). In Direct mode the
  // moved pages are escaped; when they no longer fit the filter the VM is compacted again.
  void migratePages(uint64_t gpa_a, uint64_t gpa_b);

  const RunCost &cost() const { return cost_; }
  const ShadowPager *shadow() const { return shadow_.get(); }
  const VmMemory &memory() const { return vm_; }
  MmuBackend &backend() { return backend_; }
  uint16_t vpid() const { return vpid_; }
  const VmmConfig &config() const { return config_; }
  // Shadow invariant checker (empty when every shadow entry is right or no shadow is in use).
  std::vector<std::string> checkInvariants() const;

private:
  // access(), writing the outcome into `out` (cleared by the caller).
  void accessTo(guest::AccessOutcome &out, uint64_t va, Access access, bool user, const uint64_t *store_value);
  // One translation, charged to the account; the response is the backend's (valid until its next
  // translate()).
  const Response &translateCharged(const Request &req);
  // Charges `count` translations of `cycles_each` (hit_cycles for a TLB hit, else the walk's):
  // the one place both the access-by-access path and a run of hits (userAccesses()) charge them.
  void chargeTranslations(uint64_t count, uint64_t cycles_each) {
    cost_.translations += count;
    cost_.translation_cycles += count * cycles_each;
  }
  // An instruction fetch costs the base CPI; a data access access_cycles and, with the cache
  // model, its stall beyond an L1D hit at `hpa`.
  void chargeAccess(Access access, uint64_t hpa) {
    if (access == Access::Exec) {
      chargeInstructions(1);
      return;
    }
    cost_.access_cycles += config_.costs.access_cycles + (data_caches_ != nullptr ? data_caches_->dataStall(hpa) : 0);
  }
  // `count` instructions at the base CPI, its thousandths carried over so that no cycle is lost
  // to rounding however the instructions come (one by one or in runs).
  void chargeInstructions(uint64_t count);
  // The access translated without a fault: charges it and makes the load or store.
  void complete(const Request &req, const Response &resp, const uint64_t *store_value, guest::AccessOutcome &out);
  // The access's first translation faulted: a guest fault, an exit handled (and retried) or a stop.
  [[gnu::noinline]] void resolveFault(const Request &req, const Response &first, const uint64_t *store_value,
                                      guest::AccessOutcome &out);
  void exitTo(ExitReason reason);
  void checkAfterExit() const;
  void vmmControl(CtrlOp op, unsigned reg, uint64_t data, uint16_t pcid);
  void writeContext(CtxReg reg, uint64_t value) { vmmControl(CtrlOp::WriteReg, static_cast<unsigned>(reg), value, 0); }
  // Makes the VM's region contiguous and enters `mode` (Direct or DualDirect).
  void enterDirect(Mode mode);
  // Self-ballooning (§19): the pages out of place given back by the guest and re-plugged at home;
  // the ones the guest keeps copied home by the host.
  void balloonIntoPlace();
  void writeMode(Mode mode);
  void programEscapes();
  ShadowEnvironment shadowEnvironment();

  MmuBackend &backend_;
  // backend_ when it is the golden model (the usual case), whose translate() is then a direct,
  // inlined call rather than a virtual one per access; nullptr for any other backend.
  ModelBackend *const model_;
  // The backend's cache hierarchy, charged every data access; nullptr with the flat model.
  MemoryHierarchy *const data_caches_;
  const VmmConfig config_;
  const uint16_t vpid_;
  RunCost cost_;
  VmMemory vm_;
  FramePool shadow_frames_;
  std::unique_ptr<ShadowPager> shadow_;
  Approach approach_;
  Mode mmu_mode_ = Mode::Native;  // the MODE register's value (writeMode())
  guest::BalloonDriver *balloon_ = nullptr;
  bool direct_pending_ = false;  // created Direct, waiting for the balloon driver (attachBalloon())
  bool paging_on_ = false;
  uint64_t guest_root_ = 0;
  uint16_t guest_pcid_ = 0;
  // userAccesses()'s requests, kept here so that a call does not clear a buffer on the stack.
  static constexpr size_t kRunRequests = 64;
  std::array<Request, kRunRequests> run_requests_{};
  // How many accesses ahead of a walk userAccesses() hints the model (Mmu::prefetch()): two walks
  // give the host line time to arrive (a footprint of 1 GiB ran as fast with four).
  static constexpr size_t kPrefetchDistance = 2;
  std::array<uint64_t, kRunRequests> run_hpas_{};  // their host addresses, for the data caches
  uint64_t cpi_remainder_ = 0;  // thousandths of a cycle not yet charged (chargeInstructions)
  uint64_t segment_base_ = 0;   // the guest segment last written (writeGuestSegment)
  uint64_t segment_limit_ = 0;
};

}  // namespace vmmu::vmm
