// shadow_check.cpp - the invariant checker of shadow paging: every present shadow leaf of every
// space against a fresh walk of the guest's tables and the EPT (shadow.h, ShadowPager::check).
#include "vmmu/vmm/shadow.h"

#include "shadow_internal.h"
#include "shadow_tracker.h"

namespace vmmu::vmm {

using namespace shadow_detail;

std::vector<std::string> ShadowPager::check() const {
  std::vector<std::string> problems;
  PhysicalMemory &mem = env_.backend.memory();
  for (const auto &[id, space_ptr] : spaces_) {
    const Space &space = *space_ptr;
    auto report = [&](uint64_t va, const std::string &what) {
      problems.push_back("space of guest CR3 " + hex(space.guest_root) + ": VA " + hex(va) + ": " + what);
    };
    auto verifyLeaf = [&](uint64_t va, unsigned level, uint64_t entry) {
      const GuestWalk w = walkGuest(space.guest_root, va, false);
      if (!w.ok) {
        report(va, "shadow maps a VA the guest does not map");
        return;
      }
      if (level > w.leaf_level) {
        report(va, "shadow page larger than the guest page");
        return;
      }
      const uint64_t size = levelBytes(level);
      const uint64_t gpa_base = w.gpa & ~(size - 1);
      const auto host = env_.vm.ept().translate(gpa_base);
      const uint64_t frame = entry & kAddrMask & ~(size - 1);
      if (!host || *host != frame) {
        report(va, "shadow frame " + hex(frame) + " but guest+EPT give " + (host ? hex(*host) : "no mapping"));
        return;
      }
      if (level == 2 && env_.vm.eptPageSize(gpa_base) == PageSize::Size4K)
        report(va, "2 MiB shadow leaf over host memory the EPT maps in 4 KiB pages");
      if (((entry & pte::US) != 0) != ((w.acc & pte::US) != 0))
        report(va, "U/S differs from the guest's");
      if (((entry & pte::NX) != 0) != ((w.acc & pte::NX) != 0))
        report(va, "NX differs from the guest's");
      if (entry & pte::G)
        report(va, "global shadow leaf (INV_PCID could not remove it)");
      if ((entry & pte::RW) && !(w.acc & pte::RW))
        report(va, "writable in the shadow but not in the guest");
      const bool protected_page = level == 1 ? tracker_->isTracked(gpa_base) : tracker_->regionTracked(gpa_base);
      if ((entry & pte::RW) && protected_page)
        report(va, "writable shadow leaf over a write-protected guest page table");
    };
    // AGILE (§20.8): a switching entry names the host page of the guest's table one level down
    // and carries the guest's rights over the levels above it.
    auto verifySwitch = [&](uint64_t va, unsigned level, uint64_t entry) {
      if (variant_ != ShadowVariant::Agile) {
        report(va, "switch bit in a shadow entry of a non-agile shadow");
        return;
      }
      const GuestWalk w = walkGuest(space.guest_root, va, false);
      const uint64_t guest_table = w.table[level - 1];
      if (guest_table == 0 || !env_.vm.contains(guest_table) || env_.vm.hostOf(guest_table) != (entry & kAddrMask)) {
        report(va, "switching entry points to " + hex(entry & kAddrMask) + ", not to the guest's level-" +
                       std::to_string(level - 1) + " table");
        return;
      }
      const uint64_t acc = w.acc_above[level - 1];
      if ((entry & (pte::RW | pte::US | pte::NX)) != (acc & (pte::RW | pte::US | pte::NX)))
        report(va, "switching entry's rights differ from the guest's above it");
    };
    // Depth-first over the shadow tables.
    struct Frame {
      uint64_t table;
      unsigned level;
      uint64_t base;
    };
    std::vector<Frame> stack{{space.root, levels_, 0}};
    while (!stack.empty()) {
      const Frame f = stack.back();
      stack.pop_back();
      for (uint64_t index = 0; index < 512; ++index) {
        const uint64_t entry = mem.read64(f.table + 8 * index);
        if (!(entry & pte::P))
          continue;
        const uint64_t va = canonical(f.base + (index << levelShift(f.level)), levels_);
        if (f.level > 1 && !(entry & pte::PS) && (entry & agile::Switch)) {
          verifySwitch(va, f.level, entry);  // the guest's own table below: nothing to descend into
          continue;
        }
        if (f.level > 1 && !(entry & pte::PS))
          stack.push_back(Frame{entry & kAddrMask, f.level - 1, va});
        else
          verifyLeaf(va, f.level, entry);
      }
    }
  }
  // And the write tracking's own bookkeeping.
  for (std::string &problem : tracker_->checkConsistency())
    problems.push_back(std::move(problem));
  return problems;
}

}  // namespace vmmu::vmm
