// vmm.cpp - the VMM shim: exit handling per approach, CR3/INVLPG interception, DIRECT entry with
// compaction or self-ballooning and escapes, run-time approach switches, and the cost account.
#include "vmmu/vmm/vmm.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "vmmu/guest/guest_kernel.h"
#include "vmmu/paging.h"

namespace vmmu::vmm {

namespace {

constexpr uint64_t kVmmEptBytes = 0x4'0000'0000ull;  // the first 16 GiB of the VMM's frames

ShadowVariant variantOf(Approach approach) {
  switch (approach) {
  case Approach::ShadowCaching: return ShadowVariant::Caching;
  case Approach::ShadowPrefetch: return ShadowVariant::Prefetch;
  case Approach::Agile: return ShadowVariant::Agile;
  default: return ShadowVariant::Plain;
  }
}

Mode modeOf(Approach approach) {
  switch (approach) {
  case Approach::Native: return Mode::Native;
  case Approach::Nested: return Mode::Nested;
  case Approach::Direct: return Mode::Direct;
  case Approach::GuestDirect: return Mode::GuestDirect;
  case Approach::DualDirect: return Mode::DualDirect;
  case Approach::Agile: return Mode::Agile;
  default: return Mode::Shadow;
  }
}

VmMemoryConfig checkedMemory(const VmmConfig &config, Approach approach, const MmuBackend &backend) {
  if (config.context >= backend.config().num_contexts)
    throw std::invalid_argument("VMM context " + std::to_string(config.context) + " is not below num_contexts " +
                                std::to_string(backend.config().num_contexts));
  if (approach == Approach::Native && (config.memory.host_base != 0 || config.memory.fragmentation != 0.0))
    throw std::invalid_argument("the native baseline needs memory.host_base = 0 and fragmentation = 0");
  if (config.frames_base % 4096 != 0 || config.frames_base + Vmm::kVmmFramesBytes > (uint64_t{1} << backend.config().pa_bits))
    throw std::invalid_argument("VMM frames_base must be 4 KiB aligned with 64 GiB of host space above it");
  if (config.memory.host_base + config.memory.bytes + config.memory.io_gap_bytes > (uint64_t{1} << backend.config().pa_bits))
    throw std::invalid_argument("VM memory ends beyond the host's " + std::to_string(backend.config().pa_bits) +
                                "-bit physical address space");
  VmMemoryConfig memory = config.memory;
  // Native has no host below it; a DIRECT VM's region is backed when it is made contiguous (§16).
  if (approach == Approach::Native || approach == Approach::Direct || approach == Approach::DualDirect)
    memory.lazy = false;
  // Native's RAM sits at its gPAs, the I/O gap a hole of the machine (§19.5).
  if (approach == Approach::Native)
    memory.pack_gap = false;
  return memory;
}

// Names what an EPT or bounds fault accessed (§6): an entry of one of the guest's own tables
// (fault_addr is that entry's gPA, on the table's page), or nothing for the final gPA.
std::string faultedEntry(const Response &resp) {
  if (resp.fault_guest_level == 0)
    return "";
  return " (the guest's level-" + std::to_string(resp.fault_guest_level) + " table entry)";
}

}  // namespace

std::string_view toString(Approach approach) {
  switch (approach) {
  case Approach::Native: return "native";
  case Approach::Nested: return "nested";
  case Approach::ShadowPlain: return "shadow";
  case Approach::ShadowCaching: return "shadow-cache";
  case Approach::ShadowPrefetch: return "shadow-prefetch";
  case Approach::Direct: return "direct";
  case Approach::GuestDirect: return "guest-direct";
  case Approach::DualDirect: return "dual-direct";
  case Approach::Agile: return "agile";
  }
  return "?";
}

Approach parseApproach(std::string_view name) {
  for (unsigned i = 0; i < kNumApproaches; ++i)
    if (toString(static_cast<Approach>(i)) == name)
      return static_cast<Approach>(i);
  throw std::invalid_argument("unknown approach '" + std::string(name) +
                              "' (expected native, nested, shadow, shadow-cache, shadow-prefetch, direct, "
                              "guest-direct, dual-direct or agile)");
}

bool hasGuestSegment(Approach approach) {
  return approach == Approach::GuestDirect || approach == Approach::DualDirect;
}

std::string_view toString(Contiguity contiguity) {
  return contiguity == Contiguity::Balloon ? "balloon" : "compact";
}

Contiguity parseContiguity(std::string_view name) {
  for (const Contiguity c : {Contiguity::Compact, Contiguity::Balloon})
    if (toString(c) == name)
      return c;
  throw std::invalid_argument("unknown contiguity '" + std::string(name) + "' (expected compact or balloon)");
}

bool isShadow(Approach approach) {
  return approach == Approach::ShadowPlain || approach == Approach::ShadowCaching ||
         approach == Approach::ShadowPrefetch;
}

std::string_view toString(ExitReason reason) {
  switch (reason) {
  case ExitReason::ShadowFault: return "shadow-fault";
  case ExitReason::PageTableWrite: return "pt-write";
  case ExitReason::Cr3Write: return "cr3-write";
  case ExitReason::Invlpg: return "invlpg";
  case ExitReason::EptViolation: return "ept-violation";
  case ExitReason::Bounds: return "bounds";
  case ExitReason::ModeSwitch: return "mode-switch";
  case ExitReason::Count: break;
  }
  return "?";
}

uint64_t RunCost::totalExits() const {
  uint64_t total = 0;
  for (const uint64_t n : exits)
    total += n;
  return total;
}

RunCost RunCost::operator-(const RunCost &e) const {
  RunCost d;
  d.accesses = accesses - e.accesses;
  d.translations = translations - e.translations;
  d.translation_cycles = translation_cycles - e.translation_cycles;
  d.access_cycles = access_cycles - e.access_cycles;
  d.instructions = instructions - e.instructions;
  d.instruction_cycles = instruction_cycles - e.instruction_cycles;
  for (unsigned i = 0; i < kNumExitReasons; ++i)
    d.exits[i] = exits[i] - e.exits[i];
  d.exit_cycles = exit_cycles - e.exit_cycles;
  d.exit_flushes = exit_flushes - e.exit_flushes;
  d.shim_cycles = shim_cycles - e.shim_cycles;
  d.guest_work_cycles = guest_work_cycles - e.guest_work_cycles;
  d.guest_page_faults = guest_page_faults - e.guest_page_faults;
  d.cr3_writes = cr3_writes - e.cr3_writes;
  d.control_commands = control_commands - e.control_commands;
  d.page_moves = page_moves - e.page_moves;
  d.balloon_pages = balloon_pages - e.balloon_pages;
  d.balloon_migrations = balloon_migrations - e.balloon_migrations;
  d.balloon_cycles = balloon_cycles - e.balloon_cycles;
  d.mode_switches = mode_switches - e.mode_switches;
  d.segment_walks = segment_walks - e.segment_walks;
  d.segment_walk_cycles = segment_walk_cycles - e.segment_walk_cycles;
  d.host_backings = host_backings - e.host_backings;
  d.host_pages_backed = host_pages_backed - e.host_pages_backed;
  d.ept_tables = ept_tables - e.ept_tables;
  d.ept_replicated_leaves = ept_replicated_leaves - e.ept_replicated_leaves;
  return d;
}

void chargeBacking(RunCost &cost, const CostConfig &costs, const Backing &backing) {
  cost.host_backings += backing.units;
  cost.host_pages_backed += backing.pages;
  cost.shim_cycles += backing.units * costs.host_alloc + backing.pages * costs.host_clear_page;
  // §21.7: a flattened EPT table is allocated and zeroed as a 2 MiB host page is; a replicated
  // 2 MiB leaf is 4 KiB of stores, priced as clearing one page.
  constexpr uint64_t kPagesPerTable = kFlatTableBytes / 4096;
  cost.ept_tables += backing.ept_tables;
  cost.ept_replicated_leaves += backing.ept_replicated_leaves;
  cost.shim_cycles += backing.ept_tables * (costs.host_alloc + kPagesPerTable * costs.host_clear_page) +
                      backing.ept_replicated_leaves * costs.host_clear_page;
}

Vmm::Vmm(MmuBackend &backend, const VmmConfig &config, Approach approach)
    : backend_(backend), model_(dynamic_cast<ModelBackend *>(&backend)),
      data_caches_(backend.memoryModel() != nullptr && !backend.memoryModel()->flat() ? backend.memoryModel() : nullptr),
      config_(config),
      vpid_(approach == Approach::Native ? 0 : config.vpid),
      vm_(backend.memory(), checkedMemory(config, approach, backend), config.frames_base,
          config.frames_base + kVmmEptBytes),
      shadow_frames_(config.frames_base + kVmmEptBytes, config.frames_base + kVmmFramesBytes), approach_(approach) {
  // VM creation: not charged to the run.
  const unsigned ctx = config_.context;
  backend_.writeReg(ctx, CtxReg::Vpid, (uint64_t{1} << 16) | vpid_);
  backend_.writeReg(ctx, CtxReg::Flags, 0);  // guest A/D updates off: the guest model does not use them
  backend_.writeReg(ctx, CtxReg::Eptp, vm_.eptp());
  // A fragmented VM made contiguous by self-ballooning runs NESTED until its guest has booted and
  // its balloon driver is attached (attachBalloon()).
  direct_pending_ = approach == Approach::Direct && config_.contiguity == Contiguity::Balloon &&
                    config_.allow_compaction && vm_.misplacedCount() > backend.config().escape_entries;
  if (direct_pending_)
    approach_ = Approach::Nested;
  mmu_mode_ = modeOf(approach_);
  backend_.writeReg(ctx, CtxReg::Mode, static_cast<uint64_t>(mmu_mode_));
  if (isShadow(approach) || approach == Approach::Agile)
    shadow_ = std::make_unique<ShadowPager>(variantOf(approach), shadowEnvironment(), config_.max_shadow_spaces,
                                            config_.agile);
  if (approach_ == Approach::Direct || approach_ == Approach::DualDirect)
    enterDirect(modeOf(approach_));
}

Vmm::~Vmm() = default;

ShadowEnvironment Vmm::shadowEnvironment() {
  return ShadowEnvironment{backend_, vm_, shadow_frames_, config_.costs, cost_, vpid_};
}

void Vmm::exitTo(ExitReason reason) {
  ++cost_.exits[static_cast<unsigned>(reason)];
  cost_.exit_cycles += config_.costs.exit_round_trip + config_.costs.exit_indirect;
  cost_.shim_cycles += config_.costs.exit_handler;
  if (config_.flush_tlb_on_exit) {
    // Without VPIDs, VM exit and VM entry each flush the VM's translations (SDM Vol. 3C, 28.3.3.3):
    // one flush stands for both, as nothing of the VM runs between them. Its cost is the refills
    // it causes; guest-physical translations (the nested TLB, tagged by EPTP) survive, as they do
    // on x86.
    backend_.invVpid(vpid_);
    ++cost_.exit_flushes;
  }
}

void Vmm::chargeInstructions(uint64_t count) {
  cost_.instructions += count;
  const uint64_t millis = count * config_.costs.cpi_millis + cpi_remainder_;
  cost_.instruction_cycles += millis / 1000;
  cpi_remainder_ = millis % 1000;
}

void Vmm::checkAfterExit() const {
  if (!config_.check_invariants_each_exit || !shadow_ || shadow_->variant() == ShadowVariant::Plain)
    return;
  const std::vector<std::string> problems = shadow_->check();
  if (!problems.empty())
    throw std::logic_error("shadow invariant violated: " + problems.front());
}

void Vmm::vmmControl(CtrlOp op, unsigned reg, uint64_t data, uint16_t pcid) {
  backend_.control(op, config_.context, reg, data, vpid_, pcid);
  ++cost_.control_commands;
  cost_.shim_cycles += config_.costs.control_command;
}

void Vmm::writePhysical(uint64_t gpa, uint64_t value) {
  if (vm_.contains(gpa) && !vm_.backed(gpa)) {
    // The guest's physical store (boot, paging off) takes the first touch's EPT violation under
    // nested; under shadow the host backs the page within the shim's own handling.
    if (approach_ == Approach::Nested || approach_ == Approach::GuestDirect)
      exitTo(ExitReason::EptViolation);
    chargeBacking(cost_, config_.costs, vm_.back(gpa));
  }
  backend_.memory().write64(vm_.hostOf(gpa), value);
}

const Response &Vmm::translateCharged(const Request &req) {
  const Translation translation = model_ != nullptr ? model_->translate(req) : backend_.translate(req);
  chargeTranslations(1, translation.walked ? translation.walk_cycles
                                           : config_.costs.hit_cycles + translation.stlb_cycles);
  if (translation.walked && req.va - segment_base_ < segment_limit_ - segment_base_) {
    ++cost_.segment_walks;  // an empty segment (limit <= base) holds no VA: the test fails
    cost_.segment_walk_cycles += translation.walk_cycles;
  }
  return translation.resp;
}

inline void Vmm::complete(const Request &req, const Response &resp, const uint64_t *store_value,
                          guest::AccessOutcome &out) {
  chargeAccess(req.access, resp.hpa);
  out.hpa = resp.hpa;
  // Only the guest kernel's own loads need the memory's contents (vmmu does not model user
  // data), and a lookup in host memory per user load would be a good part of the access. `user`
  // is tested first: it comes in long runs, where the kind of access is a coin toss to predict.
  if (store_value != nullptr)
    backend_.memory().write64(resp.hpa & ~uint64_t{7}, *store_value);
  else if (!req.user && req.access == Access::Read)
    out.loaded = backend_.memory().read64(resp.hpa & ~uint64_t{7});
}

guest::AccessOutcome Vmm::access(uint64_t va, Access access, bool user, const uint64_t *store_value) {
  guest::AccessOutcome out;
  accessTo(out, va, access, user, store_value);
  return out;
}

inline void Vmm::accessTo(guest::AccessOutcome &out, uint64_t va, Access access, bool user,
                          const uint64_t *store_value) {
  ++cost_.accesses;
  const Request req{vpid_, guest_pcid_, va, access, user};
  // Most accesses translate without a fault: that path stays here, small; faults and exits are
  // handled out of line (their frame and message building would otherwise cost every access).
  const Response &resp = translateCharged(req);
  if (resp.fault == Fault::None)
    complete(req, resp, store_value, out);
  else
    resolveFault(req, resp, store_value, out);
}

void Vmm::userAccesses(const guest::UserAccess *accesses, size_t count, size_t &made, guest::AccessOutcome &fault) {
  if (model_ == nullptr) {
    GuestCpu::userAccesses(accesses, count, made, fault);
    return;
  }
  // The requests of up to kRunRequests accesses, built once (no access of the run changes the
  // VPID or the PCID).
  std::array<Request, kRunRequests> &requests = run_requests_;
  while (made < count) {
    const size_t first = made;
    const size_t end = std::min(count, first + kRunRequests);
    for (size_t i = first; i < end; ++i)
      requests[i - first] = Request{vpid_, guest_pcid_, accesses[i].va, accesses[i].access, true};
    while (made < end) {
      const size_t hits = model_->translateHits(&requests[made - first], end - made,
                                                data_caches_ != nullptr ? &run_hpas_[made - first] : nullptr);
      // What access() charges for each of them: a translation answered in one cycle, the access.
      cost_.accesses += hits;
      chargeTranslations(hits, config_.costs.hit_cycles);
      if (data_caches_ != nullptr) {
        for (size_t i = 0; i < hits; ++i)
          chargeAccess(accesses[made + i].access, run_hpas_[made - first + i]);
      } else {
        size_t fetches = 0;
        for (size_t i = 0; i < hits; ++i)
          fetches += accesses[made + i].access == Access::Exec ? 1 : 0;
        chargeInstructions(fetches);
        cost_.access_cycles += (hits - fetches) * config_.costs.access_cycles;
      }
      made += hits;
      if (made == end)
        break;
      // A hint for the access kPrefetchDistance further on (no effect on any result): the host
      // line of the guest entry its walk will read last is fetched while this walk and the next
      // run. Over a large footprint that line is a host cache miss per walk.
      if (made + kPrefetchDistance < end)
        model_->prefetch(requests[made + kPrefetchDistance - first]);
      // Written in place: an outcome returned by access() and copied here would be read back
      // whole right after its fields' narrow stores, a store-forwarding stall per walk.
      fault = guest::AccessOutcome{};
      accessTo(fault, accesses[made].va, accesses[made].access, true, nullptr);
      if (fault.faulted)
        return;
      ++made;
    }
  }
}

void Vmm::resolveFault(const Request &req, const Response &first, const uint64_t *store_value,
                       guest::AccessOutcome &out) {
  const uint64_t va = req.va;
  const Response *resp = &first;
  // A shadow fault fills one entry and retries; a handful of rounds (translations) always settles.
  constexpr int kMaxRounds = 8;
  for (int round = 1;; ++round) {
    if (!resp->vm_exit) {
      if (resp->fault != Fault::GuestPageFault)
        throw std::logic_error("guest access to " + hex(va) + " raised " + std::string(toString(resp->fault)));
      ++cost_.guest_page_faults;
      out.faulted = true;
      out.error_code = resp->fault_info;
      return;
    }
    switch (resp->fault) {
    case Fault::EptViolation:
      exitTo(ExitReason::EptViolation);
      if (vm_.contains(resp->fault_addr) && !vm_.backed(resp->fault_addr)) {
        // First touch of a guest page the host has not allocated: back it and retry (§16).
        chargeBacking(cost_, config_.costs, vm_.back(resp->fault_addr));
        break;
      }
      throw GuestStopped("guest stopped: gPA " + hex(resp->fault_addr) + faultedEntry(*resp) + " (VA " +
                             hex(va) + ") is not guest memory (EPT violation)",
                         ExitReason::EptViolation, resp->fault_addr);
    case Fault::EptMisconfig:
      exitTo(ExitReason::EptViolation);
      throw GuestStopped("guest stopped: gPA " + hex(resp->fault_addr) + faultedEntry(*resp) + " (VA " +
                             hex(va) + ") is not guest memory (EPT violation)",
                         ExitReason::EptViolation, resp->fault_addr);
    case Fault::Bounds:
      exitTo(ExitReason::Bounds);
      throw GuestStopped("guest stopped: gPA " + hex(resp->fault_addr) + faultedEntry(*resp) + " (VA " +
                             hex(va) + ") is outside the VM's region (DIRECT bounds violation)",
                         ExitReason::Bounds, resp->fault_addr);
    case Fault::GuestPageFault: {
      if (!shadow_)
        throw std::logic_error("guest page fault with VM exit outside shadow paging");
      const ShadowPager::FaultResult r = shadow_->handleFault(va, req.access, req.user, store_value);
      checkAfterExit();
      switch (r.outcome) {
      case ShadowPager::FaultOutcome::Filled:
        exitTo(ExitReason::ShadowFault);
        break;  // translate again
      case ShadowPager::FaultOutcome::InjectGuestFault:
        exitTo(ExitReason::ShadowFault);
        ++cost_.guest_page_faults;
        out.faulted = true;
        out.error_code = r.error_code;
        return;
      case ShadowPager::FaultOutcome::EmulatedWrite:
        exitTo(ExitReason::PageTableWrite);
        chargeAccess(Access::Write, r.hpa);  // the VMM makes the store
        out.hpa = r.hpa;
        return;
      case ShadowPager::FaultOutcome::OutsideMemory:
        exitTo(ExitReason::ShadowFault);
        throw GuestStopped("guest stopped: its page tables reach gPA " + hex(r.gpa) + " (VA " + hex(va) +
                               "), which is not guest memory",
                           ExitReason::ShadowFault, r.gpa);
      }
      break;
    }
    default:
      throw std::logic_error("unexpected VM exit " + std::string(toString(resp->fault)) + " at " + hex(va));
    }
    if (round == kMaxRounds)
      throw std::logic_error("translation of " + hex(va) + " did not settle");
    resp = &translateCharged(req);
    if (resp->fault == Fault::None) {
      complete(req, *resp, store_value, out);
      return;
    }
  }
}

void Vmm::writeCr3(uint64_t root_gpa, uint16_t pcid, bool flush) {
  ++cost_.cr3_writes;
  paging_on_ = true;
  guest_root_ = root_gpa;
  guest_pcid_ = pcid;
  if (shadow_) {
    exitTo(ExitReason::Cr3Write);
    writeContext(CtxReg::Cr3, shadow_->activate(root_gpa, pcid));
    if (flush)
      vmmControl(CtrlOp::InvPcid, 0, 0, pcid);
    checkAfterExit();
    return;
  }
  // No exit: the guest's MOV CR3 acts on the hardware context directly.
  backend_.writeReg(config_.context, CtxReg::Cr3, root_gpa);
  if (flush)
    backend_.invPcid(vpid_, pcid);
}

void Vmm::invlpg(uint64_t va) {
  if (approach_ == Approach::ShadowPlain) {
    exitTo(ExitReason::Invlpg);
    shadow_->invalidatePage(va);
    vmmControl(CtrlOp::InvAddr, 0, va, 0);
    return;
  }
  backend_.invAddr(vpid_, va);  // executes without an exit
}

void Vmm::invpcid(uint16_t pcid) {
  if (approach_ == Approach::ShadowPlain) {
    exitTo(ExitReason::Invlpg);
    if (pcid == guest_pcid_)
      writeContext(CtxReg::Cr3, shadow_->flushActive());
    vmmControl(CtrlOp::InvPcid, 0, 0, pcid);
    return;
  }
  backend_.invPcid(vpid_, pcid);
}

void Vmm::programEscapes() {
  const std::vector<uint64_t> misplaced = vm_.misplacedPages();
  const unsigned entries = backend_.config().escape_entries;
  for (unsigned k = 0; k < entries; ++k)
    writeContext(escapeReg(k), k < misplaced.size() ? (misplaced[k] | 1) : 0);
}

bool Vmm::canEnterDirect() const {
  if (vm_.misplacedCount() <= backend_.config().escape_entries)
    return true;
  return config_.allow_compaction && (config_.contiguity == Contiguity::Compact || balloon_ != nullptr);
}

uint64_t Vmm::directEntryCycles() const {
  // The guest's part of ballooning a page, inflate and deflate (§19.4): the VMM prices the guest's
  // work at its default, as it cannot read the guest's own figure.
  constexpr uint64_t kGuestBalloonPage = guest::GuestWorkCosts{}.balloon_page;
  const CostConfig &c = config_.costs;
  const uint64_t misplaced = vm_.misplacedCount();
  const uint64_t per_misplaced = config_.contiguity == Contiguity::Balloon
                                     ? c.balloon_page_host + c.host_clear_page + 2 * kGuestBalloonPage
                                     : c.page_move;
  const uint64_t contiguity = misplaced > backend_.config().escape_entries ? misplaced * per_misplaced : 0;
  const uint64_t unbacked = vm_.bytes() / 4096 - vm_.backedPages();
  constexpr uint64_t kPagesPer2M = 512;
  return contiguity + unbacked * c.host_clear_page + (unbacked + kPagesPer2M - 1) / kPagesPer2M * c.host_alloc;
}

void Vmm::attachBalloon(guest::BalloonDriver &driver) {
  balloon_ = &driver;
  if (!direct_pending_)
    return;
  direct_pending_ = false;
  approach_ = Approach::Direct;
  enterDirect(Mode::Direct);
}

void Vmm::writeMode(Mode mode) {
  writeContext(CtxReg::Mode, static_cast<uint64_t>(mode));
  mmu_mode_ = mode;
}

void Vmm::balloonIntoPlace() {
  const RunCost before = cost_;
  // The guest's stores (its migrations' PTE writes) must reach the right frames while pages are
  // out of place: NESTED translates them through the EPT (coming from shadow or DIRECT it is set).
  if (mmu_mode_ != Mode::Nested) {
    writeContext(CtxReg::Eptp, vm_.eptp());
    writeMode(Mode::Nested);
    writeContext(CtxReg::Cr3, guest_root_);
  }
  // The request (which pages) reaches the guest as a device configuration change and an interrupt;
  // the driver reading it from the device is one MMIO exit (KVM: an EPT misconfiguration).
  exitTo(ExitReason::EptViolation);
  const guest::BalloonResult given = balloon_->inflate(vm_.misplacedPages());
  const uint64_t pages = given.given.size();
  // Each batch of PFNs the driver reports is one virtqueue notification: an MMIO exit. The host
  // takes each page's PFN, finds its host page and discards it.
  const uint64_t batches = (pages + kBalloonBatchPages - 1) / kBalloonBatchPages;
  for (uint64_t b = 0; b < batches; ++b)
    exitTo(ExitReason::EptViolation);
  cost_.shim_cycles += pages * config_.costs.balloon_page_host;
  // Re-plug: the given pages come back at their home frames, zeroed; the pages the guest kept are
  // copied home by the host (one copy each, two when two kept pages trade places). The old EPT's
  // cached translations go with it.
  const uint64_t old_eptp = vm_.eptp();
  const uint64_t copies = vm_.rehome(given.given);
  cost_.page_moves += copies;
  cost_.shim_cycles += copies * config_.costs.page_move + pages * config_.costs.host_clear_page;
  vmmControl(CtrlOp::InvEptp, 0, old_eptp, 0);
  writeContext(CtxReg::Eptp, vm_.eptp());
  // The guest takes the pages back (deflate), reporting them in batches as it gave them.
  balloon_->deflate(given.given);
  for (uint64_t b = 0; b < batches; ++b)
    exitTo(ExitReason::EptViolation);
  cost_.balloon_pages += pages;
  cost_.balloon_migrations += given.migrated;
  cost_.balloon_cycles += (cost_ - before).totalCycles() - copies * config_.costs.page_move;
}

void Vmm::writeGuestSegment(uint64_t base, uint64_t limit, uint64_t offset, unsigned prot) {
  // What the segment grants: the mapping's protection, to user and kernel alike (§18.1).
  const uint64_t attributes = gseg::US | ((prot & guest::prot::Write) != 0 ? gseg::RW : 0) |
                              ((prot & guest::prot::Exec) != 0 ? gseg::X : 0);
  const bool empty = limit <= base;
  segment_base_ = empty ? 0 : base;
  segment_limit_ = empty ? 0 : limit;
  backend_.writeReg(config_.context, CtxReg::GsegBase, empty ? 0 : base | attributes);
  backend_.writeReg(config_.context, CtxReg::GsegLimit, empty ? 0 : limit);
  backend_.writeReg(config_.context, CtxReg::GsegOffset, empty ? 0 : offset);
}

void Vmm::enterDirect(Mode mode) {
  if (vm_.misplacedCount() > backend_.config().escape_entries) {
    if (!config_.allow_compaction)
      throw std::runtime_error("DIRECT mode needs contiguous VM memory: " + std::to_string(vm_.misplacedCount()) +
                               " pages are out of place, the escape filter holds " +
                               std::to_string(backend_.config().escape_entries) + ", and compaction is disabled");
    if (config_.contiguity == Contiguity::Balloon) {
      if (balloon_ == nullptr)
        throw std::runtime_error("DIRECT by self-ballooning needs the guest's balloon driver (Vmm::attachBalloon)");
      balloonIntoPlace();
    } else {
      const uint64_t copies = vm_.compact();
      cost_.page_moves += copies;
      cost_.shim_cycles += copies * config_.costs.page_move;
    }
  }
  // The region is backed whole when it is made contiguous: DIRECT translates without the EPT, so
  // no first touch would fault to back a page. A VM made DIRECT at creation is backed uncharged
  // (as all VM creation); one switched into DIRECT pays for the pages not yet backed.
  chargeBacking(cost_, config_.costs, vm_.backAll());
  writeContext(CtxReg::GBase, vm_.hostBase());
  // The top of guest-physical memory: with an I/O gap the bounds span it (§19.5).
  writeContext(CtxReg::GSize, vm_.gpaTop());
  writeContext(CtxReg::Eptp, vm_.eptp());  // escaped pages still walk the EPT
  programEscapes();
  writeMode(mode);
  writeContext(CtxReg::Cr3, guest_root_);
}

void Vmm::switchApproach(Approach next) {
  if (next == approach_)
    return;
  if (next == Approach::Native || approach_ == Approach::Native)
    throw std::invalid_argument("the native baseline is not a run-time approach");
  if ((vmm::hasGuestSegment(next) || vmm::hasGuestSegment(approach_)) && !config_.guest_segment)
    throw std::invalid_argument("guest-direct and dual-direct are run-time approaches only for a VM that offers the "
                                "guest segment from the start (VmmConfig::guest_segment)");
  if (approach_ == Approach::DualDirect && next != Approach::GuestDirect && next != Approach::Nested)
    throw std::invalid_argument("dual-direct switches to guest-direct or nested only");
  exitTo(ExitReason::ModeSwitch);
  ++cost_.mode_switches;
  // The caching shadow's tables are AGILE's with no switch bit: between the two the pager keeps
  // its spaces (leaving AGILE it clears the switching PDEs) and only MODE changes; CR3 already
  // holds the shadow root (§16).
  const bool keeps_tables = (approach_ == Approach::ShadowCaching && next == Approach::Agile) ||
                            (approach_ == Approach::Agile && next == Approach::ShadowCaching);
  if (keeps_tables) {
    shadow_->convert(variantOf(next));
    approach_ = next;
    writeMode(modeOf(next));
    return;
  }
  if (shadow_) {
    shadow_->dropAll();
    shadow_.reset();
  }
  approach_ = next;
  switch (next) {
  case Approach::Nested:
    writeContext(CtxReg::Eptp, vm_.eptp());
    writeMode(Mode::Nested);
    writeContext(CtxReg::Cr3, guest_root_);
    break;
  case Approach::Direct:
    enterDirect(Mode::Direct);
    break;
  case Approach::DualDirect:
    enterDirect(Mode::DualDirect);
    break;
  case Approach::GuestDirect:  // NESTED's registers and the segment's MODE; the segment is written
    writeContext(CtxReg::Eptp, vm_.eptp());
    writeMode(Mode::GuestDirect);
    writeContext(CtxReg::Cr3, guest_root_);
    break;
  default:  // a shadow variant or AGILE: every table starts shadowed, refilled by shadow faults
    shadow_ = std::make_unique<ShadowPager>(variantOf(next), shadowEnvironment(), config_.max_shadow_spaces,
                                            config_.agile);
    writeMode(modeOf(next));
    writeContext(CtxReg::Cr3, paging_on_ ? shadow_->activate(guest_root_, guest_pcid_) : 0);
    break;
  }
}

void Vmm::migratePages(uint64_t gpa_a, uint64_t gpa_b) {
  if (approach_ != Approach::Nested && approach_ != Approach::Direct && approach_ != Approach::DualDirect)
    throw std::logic_error("page migration is modelled under nested, direct and dual-direct only");
  const uint64_t old_eptp = vm_.eptp();
  vm_.swapPages(gpa_a, gpa_b);
  cost_.page_moves += 2;
  cost_.shim_cycles += 2 * config_.costs.page_move;
  vmmControl(CtrlOp::InvEptp, 0, old_eptp, 0);
  if (approach_ == Approach::Direct || approach_ == Approach::DualDirect)
    enterDirect(modeOf(approach_));  // escapes the moved pages, or compacts when they no longer fit
  else
    writeContext(CtxReg::Eptp, vm_.eptp());
}

std::vector<std::string> Vmm::checkInvariants() const {
  return shadow_ ? shadow_->check() : std::vector<std::string>{};
}

}  // namespace vmmu::vmm
