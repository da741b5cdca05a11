// vmmu/guest/cpu.h - the virtual CPU the guest kernel model runs on.
//
// The guest OS model (guest_kernel.h) is written against this interface only, as a real kernel is
// written against the ISA: it cannot tell whether it runs natively, under nested paging, under one
// of the shadow-paging variants or in DIRECT mode. The VMM shim (sw/vmm) implements it, deciding
// per approach which of these operations trap to the VMM.
#pragma once

#include <cstddef>
#include <cstdint>

#include "vmmu/types.h"

namespace vmmu::guest {

// One memory access as the guest sees it: it completed, or it raised a page fault that reaches the
// guest's #PF handler (raised by the hardware, or injected by the VMM under shadow paging).
struct AccessOutcome {
  bool faulted = false;
  uint32_t error_code = 0;  // x86 #PF error code (§6) when faulted
  uint64_t hpa = 0;         // host address the access reached (for checks; a guest cannot see it)
  uint64_t loaded = 0;      // the 8 bytes a supervisor load returned (user data is not modelled: 0)
};

// One user load, store or fetch of a run handed to GuestCpu::userAccesses().
struct UserAccess {
  uint64_t va = 0;
  Access access = Access::Read;
};

class GuestCpu {
public:
  virtual ~GuestCpu() = default;

  // One load (Read), store (Write) or instruction fetch (Exec) of 8 aligned bytes at `va` in the
  // running address space. A store writes `*store_value` (page-table stores need their value);
  // user data stores may pass nullptr and user loads return nothing, because vmmu does not model
  // user data contents.
  virtual AccessOutcome access(uint64_t va, Access access, bool user, const uint64_t *store_value) = 0;

  // User accesses without store values (user data is not modelled), made in order as access()
  // would make them: accesses[made], accesses[made + 1], ... up to `count`, `made` advancing past
  // each that completes. Stops at the first that faults, `made` left at it and its outcome in
  // `fault`; an exception leaves `made` at the access that raised it. The default calls access();
  // the VMM shim answers a run of TLB hits without a call per access.
  virtual void userAccesses(const UserAccess *accesses, size_t count, size_t &made, AccessOutcome &fault) {
    for (; made < count; ++made) {
      fault = access(accesses[made].va, accesses[made].access, true, nullptr);
      if (fault.faulted)
        return;
    }
  }

  // MOV CR3: run on the tables rooted at gPA `root_gpa`, tagged `pcid`. `flush` is a CR3 write
  // without the no-flush bit, which drops the PCID's cached translations.
  virtual void writeCr3(uint64_t root_gpa, uint16_t pcid, bool flush) = 0;
  // INVLPG `va` (every PCID's entry for it, and paging-structure caches covering it).
  virtual void invlpg(uint64_t va) = 0;
  // INVPCID single-context: drops every non-global translation tagged `pcid`.
  virtual void invpcid(uint16_t pcid) = 0;

  // Whether this CPU has the guest direct segment of docs/architecture.md §18 (Gandhi et al.'s
  // Guest Direct and Dual Direct): one gVA range per address space translated as gVA + offset.
  virtual bool hasGuestSegment() const { return false; }
  // Whether the segment translates now (the MMU is in a mode that reads it, §18.2). A CPU that
  // offers the segment in every mode (the adaptive policy's VM with guest-direct or dual-direct
  // allowed, §16) answers false outside those modes: the guest then demand-pages the segment's
  // range onto its frames, so that any mode translates it as the segment would.
  virtual bool guestSegmentInForce() const { return hasGuestSegment(); }
  // The running address space's guest segment, written with CR3 on each context switch (§18.5):
  // [base, limit) -> gPA base + offset.., granting `prot` (prot::* bits) to user and kernel.
  // base = limit = 0: none. A CPU without the segment ignores it.
  virtual void writeGuestSegment(uint64_t /*base*/, uint64_t /*limit*/, uint64_t /*offset*/, unsigned /*prot*/) {}

  // Stores with paging off, used once at boot to build the kernel's own tables.
  virtual void writePhysical(uint64_t gpa, uint64_t value) = 0;

  // Guest kernel work that vmmu does not simulate access by access (fault entry, page clearing and
  // copying, syscalls, scheduling): the same in every approach, so it shifts no comparison but
  // keeps slowdowns relative to a realistic baseline.
  virtual void chargeGuestWork(uint64_t cycles) = 0;
};

}  // namespace vmmu::guest
