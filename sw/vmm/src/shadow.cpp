// shadow.cpp - shadow page tables: fills, prefetching, write protection of guest tables, trapped
// write propagation and space caching. The write-tracking maps are a WriteTracker
// (shadow_tracker.h), what sets the variants apart is their ShadowTraits (shadow_traits.h), and
// the invariant checker is in shadow_check.cpp.
#include "vmmu/vmm/shadow.h"

#include <algorithm>
#include <stdexcept>

#include "shadow_internal.h"
#include "shadow_tracker.h"
#include "shadow_traits.h"

namespace vmmu::vmm {

using namespace shadow_detail;

std::string_view toString(ShadowVariant variant) {
  switch (variant) {
  case ShadowVariant::Plain: return "shadow";
  case ShadowVariant::Caching: return "shadow-cache";
  case ShadowVariant::Prefetch: return "shadow-prefetch";
  case ShadowVariant::Agile: return "agile";
  }
  return "?";
}

uint64_t FramePool::allocate() {
  ++in_use_;
  if (!free_.empty()) {
    const uint64_t frame = free_.back();
    free_.pop_back();
    return frame;
  }
  if (next_ >= limit_)
    throw std::runtime_error("VMM frame pool exhausted at " + hex(limit_));
  const uint64_t frame = next_;
  next_ += 4096;
  return frame;
}

ShadowPager::ShadowPager(ShadowVariant variant, const ShadowEnvironment &env, size_t max_spaces,
                         const AgilePolicy &agile)
    : variant_(variant), env_(env), levels_(env.backend.config().guest_levels),
      max_spaces_(max_spaces == 0 ? 1 : max_spaces), tracker_(std::make_unique<WriteTracker>()), agile_(agile) {
  if (levels_ < 4 || levels_ > shadow_detail::kMaxLevels)
    throw std::invalid_argument("shadow paging mirrors 4- or 5-level guest paging, the MMU has " +
                                std::to_string(levels_) + " levels");
}

ShadowPager::~ShadowPager() = default;

void ShadowPager::invAddr(uint64_t va) const {
  env_.backend.invAddr(env_.vpid, va);
  ++env_.cost.control_commands;
  chargeShim(env_.costs.control_command);
}

void ShadowPager::invPcid(uint16_t pcid) const {
  env_.backend.invPcid(env_.vpid, pcid);
  ++env_.cost.control_commands;
  chargeShim(env_.costs.control_command);
}

uint64_t ShadowPager::readGuest(uint64_t gpa, bool charge) const {
  if (charge)
    chargeShim(env_.costs.guest_entry_read);
  return env_.backend.memory().read64(env_.vm.hostOf(gpa));
}

ShadowPager::GuestWalk ShadowPager::walkGuest(uint64_t root_gpa, uint64_t va, bool charge) const {
  GuestWalk w;
  uint64_t acc = pte::RW | pte::US;
  uint64_t table = root_gpa;
  for (unsigned level = levels_; level >= 1; --level) {
    w.table[level] = table;
    w.acc_above[level] = acc;
    if (!env_.vm.contains(table)) {
      w.outside = true;
      w.outside_gpa = table;
      return w;
    }
    const uint64_t entry = readGuest(table + 8 * entryIndex(va, level), charge);
    if (!(entry & pte::P))
      return w;  // not mapped: !ok, !outside
    acc = (acc & entry & (pte::RW | pte::US)) | ((acc | entry) & pte::NX);
    if (level == 1 || (entry & pte::PS)) {
      w.leaf_level = level;
      w.leaf_entry = entry;
      w.acc = acc;
      w.gpa = leafFrame(entry, level) | (va & (levelBytes(level) - 1));
      if (!env_.vm.contains(w.gpa)) {
        w.outside = true;
        w.outside_gpa = w.gpa;
        return w;
      }
      w.ok = true;
      return w;
    }
    table = entry & kAddrMask;
  }
  return w;
}

uint64_t ShadowPager::activeRoot() const {
  const auto it = spaces_.find(active_);
  return it == spaces_.end() ? 0 : it->second->root;
}

uint64_t ShadowPager::newTable(Space &space, uint64_t mirrors) {
  const uint64_t table = env_.frames.allocate();
  space.tables.push_back(table);
  mirror_[table] = mirrors;
  ++stats_.tables_allocated;
  chargeShim(env_.costs.shadow_table_alloc);
  return table;
}

ShadowPager::Space &ShadowPager::createSpace(uint64_t guest_root, uint16_t pcid) {
  if (traitsOf(variant_).keeps_spaces && spaces_.size() >= max_spaces_) {
    uint64_t victim = 0, oldest = ~uint64_t{0};
    for (const auto &[id, s] : spaces_)
      if (id != active_ && s->last_used < oldest) {
        oldest = s->last_used;
        victim = id;
      }
    if (victim != 0)
      dropSpace(victim);
  }
  auto space = std::make_unique<Space>();
  space->id = next_space_id_++;
  space->guest_root = guest_root;
  space->pcid = pcid;
  space->root = newTable(*space, guest_root);
  Space &ref = *space;
  space_by_root_[guest_root] = space->id;
  spaces_.emplace(space->id, std::move(space));
  ++stats_.spaces_created;
  return ref;
}

void ShadowPager::dropSpace(uint64_t id) {
  const auto it = spaces_.find(id);
  if (it == spaces_.end())
    return;
  Space &space = *it->second;
  for (const uint64_t page : space.tracked)
    tracker_->removeSpace(page, id);
  PhysicalMemory &mem = env_.backend.memory();
  for (const uint64_t table : space.tables) {
    for (uint64_t off = 0; off < 4096; off += 8)
      if (mem.read64(table + off) != 0)
        mem.write64(table + off, 0);
    mirror_.erase(table);
    env_.frames.release(table);
    ++stats_.tables_freed;
    chargeShim(env_.costs.shadow_table_free);
  }
  // Paging-structure caches may point into the freed tables, and TLB entries came from them.
  invPcid(space.pcid);
  const auto rit = space_by_root_.find(space.guest_root);
  if (rit != space_by_root_.end() && rit->second == id)
    space_by_root_.erase(rit);
  if (active_ == id)
    active_ = 0;
  spaces_.erase(it);
  ++stats_.spaces_dropped;
}

void ShadowPager::dropAll() {
  std::vector<uint64_t> ids;
  for (const auto &entry : spaces_)
    ids.push_back(entry.first);
  std::sort(ids.begin(), ids.end());
  for (const uint64_t id : ids)
    dropSpace(id);
  tracker_->forgetLeaves();
  table_writes_.clear();
  switched_.clear();
}

uint64_t ShadowPager::activate(uint64_t guest_root, uint16_t pcid) {
  if (variant_ == ShadowVariant::Agile && agile_.revert_cr3_writes != 0 &&
      ++activations_ % agile_.revert_cr3_writes == 0)
    agileCheckpoint();
  if (!traitsOf(variant_).keeps_spaces) {
    dropAll();  // the virtual-TLB model: a CR3 write flushes everything
    Space &space = createSpace(guest_root, pcid);
    active_ = space.id;
    return space.root;
  }
  const auto it = space_by_root_.find(guest_root);
  Space &space = it != space_by_root_.end() ? *spaces_.at(it->second) : createSpace(guest_root, pcid);
  space.pcid = pcid;
  space.last_used = ++use_clock_;
  active_ = space.id;
  return space.root;
}

uint64_t ShadowPager::shadowEntryAddress(const Space &space, uint64_t va, unsigned level) const {
  PhysicalMemory &mem = env_.backend.memory();
  uint64_t table = space.root;
  for (unsigned l = levels_; l > level; --l) {
    const uint64_t entry = mem.read64(table + 8 * entryIndex(va, l));
    // Below a switching entry (agile) lies the guest's own table, not the VMM's.
    if (!(entry & pte::P) || (entry & pte::PS) || (entry & agile::Switch))
      return 0;
    table = entry & kAddrMask;
  }
  return table + 8 * entryIndex(va, level);
}

uint64_t ShadowPager::shadowTableAt(const Space &space, uint64_t va, unsigned level) const {
  if (level == levels_)
    return space.root;
  const uint64_t parent_entry = shadowEntryAddress(space, va, level + 1);
  if (parent_entry == 0)
    return 0;
  const uint64_t entry = env_.backend.memory().read64(parent_entry);
  if (!(entry & pte::P) || (entry & pte::PS) || (entry & agile::Switch))
    return 0;
  return entry & kAddrMask;
}

bool ShadowPager::installLeaf(Space &space, uint64_t va, const GuestWalk &walk, unsigned guest_level,
                              uint64_t guest_entry, uint64_t acc_above, bool may_back) {
  PhysicalMemory &mem = env_.backend.memory();
  const uint64_t gpa = leafFrame(guest_entry, guest_level) | (va & (levelBytes(guest_level) - 1));
  if (!env_.vm.contains(gpa))
    return false;  // prefetching skips what it cannot map; a fault on it stops the VM later
  if (!may_back && !env_.vm.backed(gpa))
    return false;  // not resident in the host yet: left to the first touch's own fault
  const bool rw = (acc_above & pte::RW) && (guest_entry & pte::RW);
  const bool us = (acc_above & pte::US) && (guest_entry & pte::US);
  const bool nx = (acc_above & pte::NX) || (guest_entry & pte::NX);
  // A large shadow leaf needs a large EPT page under it, and no write-protected table inside it.
  const ShadowTraits &traits = traitsOf(variant_);
  const bool tracked_region = tracker_->regionTracked(gpa);
  const unsigned shadow_level = (guest_level >= 2 && env_.vm.eptPageSize(gpa) != PageSize::Size4K &&
                                 (!traits.tracks_tables || !tracked_region))
                                    ? 2
                                    : 1;
  uint64_t table = space.root;
  for (unsigned level = levels_; level > shadow_level; --level) {
    const uint64_t entry_addr = table + 8 * entryIndex(va, level);
    const uint64_t entry = mem.read64(entry_addr);
    const uint64_t expected = level - 1 >= guest_level ? walk.table[level - 1] : kSplinter;
    if ((entry & pte::P) && (entry & agile::Switch))
      return false;  // agile: the guest's table below is walked nested; nothing to install
    if (entry & pte::P) {
      const uint64_t child = entry & kAddrMask;
      const auto mit = mirror_.find(child);
      if (!(entry & pte::PS) && mit != mirror_.end() && mit->second == expected) {
        table = child;
        continue;
      }
      // A stale subtree (the guest entry above changed without the shadow noticing): replace it.
      invPcid(space.pcid);
    }
    const uint64_t child = newTable(space, expected);
    mem.write64(entry_addr, child | kTableFlags);
    chargeShim(env_.costs.shadow_entry_write);
    table = child;
  }
  const uint64_t size = levelBytes(shadow_level);
  const uint64_t gpa_base = gpa & ~(size - 1);
  const bool protect = shadow_level == 1 && tracker_->isTracked(gpa_base);
  const bool writable = rw && !protect;
  // Never global: every shadow translation is then tagged with its space's PCID, so dropping a
  // space or a subtree (INV_PCID) removes all of it from the TLB, splinters of global guest pages
  // included.
  const uint64_t flags = pte::P | (writable ? pte::RW : 0) | (us ? pte::US : 0) | (nx ? pte::NX : 0) |
                         (shadow_level == 2 ? pte::PS : 0);
  const uint64_t va_base = canonical(va & ~(size - 1), levels_);
  const uint64_t leaf_addr = table + 8 * entryIndex(va, shadow_level);
  const uint64_t leaf = env_.vm.hostOf(gpa_base) | flags;
  const uint64_t old = mem.read64(leaf_addr);
  if (old == leaf)
    return false;  // already there (a prefetch over a filled table)
  // The host allocates the page on the shadow fault that first maps it: no exit of its own.
  chargeBacking(env_.cost, env_.costs, env_.vm.back(gpa_base));
  mem.write64(leaf_addr, leaf);
  chargeShim(env_.costs.shadow_entry_write);
  // A large leaf over a splinter table (its region no longer holds a write-protected table: agile
  // lifted the protection, §20.8): the PDE caches of the space's PCID still lead into the splinter,
  // whose stale read-only leaf would fault again and again.
  if (shadow_level > 1 && (old & pte::P) && !(old & pte::PS))
    invPcid(space.pcid);
  // Leaves a future table page would have to take back: writable 4 KiB ones and large ones.
  if (traits.tracks_tables && (shadow_level == 2 || writable))
    tracker_->recordLeaf(gpa_base, shadow_level == 2, LeafRef{space.id, va_base},
                         [&](uint64_t space_id) { return spaces_.count(space_id) != 0; });
  return true;
}

void ShadowPager::trackTable(Space &space, uint64_t table_gpa, unsigned level, uint64_t va_base) {
  if (!traitsOf(variant_).tracks_tables)
    return;
  const WriteTracker::Added added = tracker_->addUser(table_gpa, TableUser{space.id, level, va_base});
  if (added == WriteTracker::Added::Already)
    return;
  space.tracked.push_back(table_gpa);
  if (added == WriteTracker::Added::FirstUser)
    writeProtect(table_gpa);
}

// `page` just became a guest page-table page: no shadow leaf may map it writable any more, and no
// large shadow leaf may cover it (those refault as 4 KiB pieces, the table page read-only).
void ShadowPager::writeProtect(uint64_t page) {
  takeBackLeaves(tracker_->takeWritable(page), 1, env_.vm.hostOf(page));
  const std::vector<LeafRef> large = tracker_->takeLarge(page);
  if (!large.empty())
    takeBackLeaves(large, 2, env_.vm.hostOf(page & ~(k2M - 1)));
}

// The leaves of `refs` still in place over host frame `host`: a 4 KiB one (level 1) loses RW, a
// 2 MiB one (level 2) is cleared. Leaves of dropped spaces, or replaced since, are left alone.
void ShadowPager::takeBackLeaves(const std::vector<LeafRef> &refs, unsigned level, uint64_t host) {
  PhysicalMemory &mem = env_.backend.memory();
  const uint64_t kind = level == 1 ? pte::RW : pte::PS;
  for (const LeafRef &ref : refs) {
    const auto sit = spaces_.find(ref.space_id);
    if (sit == spaces_.end())
      continue;
    const uint64_t addr = shadowEntryAddress(*sit->second, ref.va, level);
    if (addr == 0)
      continue;
    const uint64_t entry = mem.read64(addr);
    if ((entry & pte::P) && (entry & kind) && (entry & kAddrMask) == host) {
      mem.write64(addr, level == 1 ? entry & ~pte::RW : 0);
      chargeShim(env_.costs.shadow_entry_write);
      invAddr(ref.va);
      ++stats_.write_protects;
    }
  }
}

bool ShadowPager::userLive(const TableUser &user, uint64_t page) const {
  const auto it = spaces_.find(user.space_id);
  if (it == spaces_.end())
    return false;
  if (user.level == levels_)
    return it->second->guest_root == page;
  const uint64_t table = shadowTableAt(*it->second, user.va_base, user.level);
  if (table == 0)
    return false;
  const auto mit = mirror_.find(table);
  return mit != mirror_.end() && mit->second == page;
}

void ShadowPager::zap(Space &space, uint64_t va, unsigned level) {
  PhysicalMemory &mem = env_.backend.memory();
  const uint64_t addr = shadowEntryAddress(space, va, level);
  if (addr == 0)
    return;
  const uint64_t entry = mem.read64(addr);
  if (!(entry & pte::P))
    return;
  mem.write64(addr, 0);
  chargeShim(env_.costs.shadow_entry_write);
  ++stats_.zaps;
  if (level == 1 || (entry & pte::PS))
    invAddr(va);
  else
    invPcid(space.pcid);  // a whole subtree: its TLB and paging-structure-cache entries
}

// The guest stored to `entry_gpa`, inside a write-protected table page (the store is done).
void ShadowPager::onTableWrite(uint64_t entry_gpa) {
  const uint64_t page = entry_gpa & kPageMask;
  const std::vector<TableUser> *tracked_users = tracker_->users(page);
  if (tracked_users == nullptr)
    return;
  const std::vector<TableUser> users = *tracked_users;
  std::vector<TableUser> live;
  std::vector<uint64_t> recycled_roots;
  const uint64_t index = (entry_gpa & 4095) / 8;
  for (const TableUser &user : users) {
    if (!userLive(user, page))
      continue;
    Space &space = *spaces_.at(user.space_id);
    if (user.level == levels_ && space.id != active_ && traitsOf(variant_).keeps_spaces) {
      // The root of an address space that is not running changed: the guest is most likely
      // recycling the page (its process exited). Drop the space rather than track a dead one.
      recycled_roots.push_back(space.id);
      continue;
    }
    live.push_back(user);
    const uint64_t va = canonical(user.va_base + (index << levelShift(user.level)), levels_);
    zap(space, va, user.level);
    if (traitsOf(variant_).propagates_writes) {
      // Propagate: install the new translation now rather than at the next fault.
      const GuestWalk w = walkGuest(space.guest_root, va, true);
      if (w.ok && w.leaf_level == user.level) {
        installLeaf(space, va, w, w.leaf_level, w.leaf_entry, w.acc_above[w.leaf_level], false);
        ++stats_.propagated;
      }
    }
  }
  if (variant_ == ShadowVariant::Agile)
    countTableWrite(page, live);
  else
    tracker_->setUsers(page, std::move(live));
  for (const uint64_t id : recycled_roots)
    dropSpace(id);
}

void ShadowPager::freeTable(Space &space, uint64_t table) {
  PhysicalMemory &mem = env_.backend.memory();
  for (uint64_t off = 0; off < 4096; off += 8)
    if (mem.read64(table + off) != 0)
      mem.write64(table + off, 0);
  mirror_.erase(table);
  std::erase(space.tables, table);
  env_.frames.release(table);
  ++stats_.tables_freed;
  chargeShim(env_.costs.shadow_table_free);
}

// Agile (§20.8): a trapped write to `page`, whose live users are `live`. A level-1 table that has
// taken agile_.switch_writes of them while shadowed goes nested.
void ShadowPager::countTableWrite(uint64_t page, const std::vector<TableUser> &live) {
  const bool leaf_table = std::any_of(live.begin(), live.end(), [](const TableUser &u) { return u.level == 1; });
  if (!leaf_table || ++table_writes_[page] < agile_.switch_writes) {
    tracker_->setUsers(page, live);
    return;
  }
  table_writes_.erase(page);
  switchToNested(page, live);
}

// Every space that shadows `page` as a level-1 table gets the switch bit in its shadow PDE, which
// then names the guest table's host page with the guest's rights above it; the shadow PTE table
// goes, and the page is no longer write-protected for those users.
void ShadowPager::switchToNested(uint64_t page, const std::vector<TableUser> &live) {
  PhysicalMemory &mem = env_.backend.memory();
  std::vector<TableUser> kept;
  Switched &record = switched_[page];
  record.digested = false;
  for (const TableUser &user : live) {
    const auto sit = spaces_.find(user.space_id);
    if (user.level != 1 || sit == spaces_.end()) {
      kept.push_back(user);
      continue;
    }
    Space &space = *sit->second;
    const uint64_t pde = shadowEntryAddress(space, user.va_base, 2);
    const GuestWalk w = walkGuest(space.guest_root, user.va_base, true);
    if (pde == 0 || w.table[1] != page) {
      kept.push_back(user);
      continue;
    }
    const uint64_t old_table = mem.read64(pde) & kAddrMask;
    const uint64_t acc = w.acc_above[1] & (pte::RW | pte::US | pte::NX);
    mem.write64(pde, env_.vm.hostOf(page) | pte::P | acc | agile::Switch);
    chargeShim(env_.costs.shadow_entry_write);
    if (mirror_.count(old_table) != 0)
      freeTable(space, old_table);
    invPcid(space.pcid);  // the PSCs hold the old shape of the subtree (§20.5)
    record.pdes.push_back({space.id, user.va_base});
    ++stats_.agile_switches;
  }
  tracker_->setUsers(page, std::move(kept));  // untracked once no space shadows it
  if (record.pdes.empty())
    switched_.erase(page);
}

// A digest of the 512 entries of guest table `page`, each read as a scan reads it.
uint64_t ShadowPager::tableDigest(uint64_t page) const {
  uint64_t digest = 0xcbf29ce484222325ull;
  for (uint64_t off = 0; off < 4096; off += 8) {
    chargeShim(env_.costs.prefetch_entry_read);
    digest = (digest ^ readGuest(page + off, false)) * 0x100000001b3ull;
  }
  return digest;
}

// Every agile_.revert_cr3_writes guest CR3 writes: a switched table unchanged since the last
// checkpoint is stable and goes back to shadow (its switching PDEs cleared; the next access
// refills the shadow and write-protects the table again); a changed one stays nested. Switching
// PDEs that are gone already (the guest rewrote its PDE and the shadow was refilled, or the space
// was dropped) are forgotten first.
void ShadowPager::agileCheckpoint() {
  PhysicalMemory &mem = env_.backend.memory();
  const auto pdeAddress = [&](uint64_t page, const Switched::Pde &pde) -> uint64_t {
    const auto sit = spaces_.find(pde.space_id);
    if (sit == spaces_.end())
      return 0;
    const uint64_t addr = shadowEntryAddress(*sit->second, pde.va_base, 2);
    if (addr == 0)
      return 0;
    const uint64_t entry = mem.read64(addr);
    return (entry & agile::Switch) && (entry & kAddrMask) == env_.vm.hostOf(page) ? addr : 0;
  };
  std::vector<uint64_t> pages;
  for (const auto &entry : switched_)
    pages.push_back(entry.first);
  std::sort(pages.begin(), pages.end());  // a fixed order: the results do not depend on hashing
  for (const uint64_t page : pages) {
    Switched &record = switched_.at(page);
    std::erase_if(record.pdes, [&](const Switched::Pde &pde) { return pdeAddress(page, pde) == 0; });
    if (record.pdes.empty()) {
      switched_.erase(page);
      continue;
    }
    const uint64_t digest = tableDigest(page);
    const bool stable = record.digested && record.digest == digest;
    record.digest = digest;
    record.digested = true;
    if (!stable)
      continue;
    for (const Switched::Pde &pde : record.pdes) {
      mem.write64(pdeAddress(page, pde), 0);
      chargeShim(env_.costs.shadow_entry_write);
      invPcid(spaces_.at(pde.space_id)->pcid);
      ++stats_.agile_reverts;
    }
    switched_.erase(page);
  }
}

ShadowPager::FaultResult ShadowPager::handleFault(uint64_t va, Access access, bool user, const uint64_t *store_value) {
  const auto sit = spaces_.find(active_);
  if (sit == spaces_.end())
    throw std::logic_error("shadow fault with no active shadow space");
  Space &space = *sit->second;
  space.last_used = ++use_clock_;
  const GuestWalk w = walkGuest(space.guest_root, va, true);
  FaultResult result;
  if (w.outside) {
    result.outcome = FaultOutcome::OutsideMemory;
    result.gpa = w.outside_gpa;
    return result;
  }
  const uint32_t access_bits = (access == Access::Write ? pf::W : 0) | (user ? pf::U : 0) |
                               (access == Access::Exec ? pf::ID : 0);
  if (!w.ok) {
    result.outcome = FaultOutcome::InjectGuestFault;
    result.error_code = access_bits;
    ++stats_.injected;
    return result;
  }
  const bool denied = (user && !(w.acc & pte::US)) || (access == Access::Write && !(w.acc & pte::RW)) ||
                      (access == Access::Exec && (w.acc & pte::NX));
  if (denied) {
    result.outcome = FaultOutcome::InjectGuestFault;
    result.error_code = access_bits | pf::P;
    ++stats_.injected;
    return result;
  }
  for (unsigned level = levels_; level >= w.leaf_level; --level)
    trackTable(space, w.table[level], level, tableBase(va, level, levels_));
  if (access == Access::Write && tracker_->isTracked(w.gpa & kPageMask)) {
    // A store to a guest page-table page: emulate it, then bring every shadow up to date.
    const uint64_t hpa = env_.vm.hostOf(w.gpa);
    if (store_value != nullptr)
      env_.backend.memory().write64(hpa & ~uint64_t{7}, *store_value);
    chargeShim(env_.costs.emulate_write);
    ++stats_.emulated_writes;
    onTableWrite(w.gpa & ~uint64_t{7});
    result.outcome = FaultOutcome::EmulatedWrite;
    result.hpa = hpa;
    return result;
  }
  installLeaf(space, va, w, w.leaf_level, w.leaf_entry, w.acc_above[w.leaf_level], true);
  ++stats_.fills;
  if (traitsOf(variant_).prefetches)
    prefetchAround(space, va, w);
  result.outcome = FaultOutcome::Filled;
  return result;
}

// Fills the rest of the shadow table page the fault landed in: every present leaf of the same
// guest table, and, when a guest large page was splintered, every 4 KiB piece of it.
void ShadowPager::prefetchAround(Space &space, uint64_t va, const GuestWalk &w) {
  const unsigned level = w.leaf_level;
  const uint64_t acc_above = w.acc_above[level];
  const uint64_t base = tableBase(va, level, levels_);
  for (uint64_t index = 0; index < 512; ++index) {
    const uint64_t sibling = canonical(base + (index << levelShift(level)), levels_);
    if (index == entryIndex(va, level))
      continue;
    chargeShim(env_.costs.prefetch_entry_read);
    const uint64_t entry = readGuest(w.table[level] + 8 * index, false);
    if (!(entry & pte::P) || (level > 1 && !(entry & pte::PS)))
      continue;
    if (installLeaf(space, sibling, w, level, entry, acc_above, false))
      ++stats_.prefetched;
  }
  if (level >= 2 && shadowEntryAddress(space, va, 1) != 0) {  // splintered: fill every piece
    for (uint64_t piece = 0; piece < 512; ++piece) {
      const uint64_t piece_va = canonical((va & ~(k2M - 1)) + piece * 4096, levels_);
      if (piece_va != canonical(va & kPageMask, levels_) &&
          installLeaf(space, piece_va, w, level, w.leaf_entry, acc_above, true))
        ++stats_.prefetched;
    }
  }
}

void ShadowPager::invalidatePage(uint64_t va) {
  const auto it = spaces_.find(active_);
  if (it == spaces_.end())
    return;
  Space &space = *it->second;
  PhysicalMemory &mem = env_.backend.memory();
  uint64_t table = space.root;
  for (unsigned level = levels_; level >= 1; --level) {
    const uint64_t addr = table + 8 * entryIndex(va, level);
    const uint64_t entry = mem.read64(addr);
    if (!(entry & pte::P))
      return;
    const uint64_t child = entry & kAddrMask;
    const auto mit = mirror_.find(child);
    const bool splinter_below = level == 2 && !(entry & pte::PS) && mit != mirror_.end() && mit->second == kSplinter;
    if (level == 1 || (entry & pte::PS) || splinter_below) {
      // A splintered guest page goes as a whole, as INVLPG of a large page must.
      zap(space, va, level);
      return;
    }
    table = child;
  }
}

uint64_t ShadowPager::flushActive() {
  const auto it = spaces_.find(active_);
  if (it == spaces_.end())
    return 0;
  const uint64_t root = it->second->guest_root;
  const uint16_t pcid = it->second->pcid;
  return activate(root, pcid);  // plain: drop and rebuild from nothing
}

size_t ShadowPager::trackedPages() const { return tracker_->trackedPages(); }

bool ShadowPager::isWriteProtected(uint64_t gpa) const { return tracker_->isTracked(gpa & kPageMask); }

}  // namespace vmmu::vmm
