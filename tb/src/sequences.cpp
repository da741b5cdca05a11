// sequences.cpp - directed scripts and the constrained-random stream.
#include "sequences.h"

#include <iterator>

namespace vmmu::tb {
namespace {

constexpr uint64_t kUnknownVpid = 0x7777;
constexpr uint64_t kAddressBits51 = uint64_t{1} << 51;  // a reserved bit for P <= 51 (§2.1, §2.2)

}  // namespace

// --- ScriptSequence ---------------------------------------------------------------------------

void ScriptSequence::request(uint16_t vpid, uint16_t pcid, uint64_t va, Access access, bool user) {
  SequenceItem item;
  item.kind = SequenceItem::Kind::Request;
  item.request = {vpid, pcid, va, access, user};
  items_.push_back(item);
}

void ScriptSequence::control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) {
  SequenceItem item;
  item.kind = SequenceItem::Kind::Control;
  item.control = {op, static_cast<uint8_t>(ctx), static_cast<uint8_t>(reg), data, vpid, pcid};
  items_.push_back(item);
}

void ScriptSequence::writeReg(unsigned ctx, CtxReg reg, uint64_t value, unsigned escape_index) {
  const bool indexed = reg == CtxReg::EscapeBase || reg == CtxReg::GEscapeBase;
  control(CtrlOp::WriteReg, ctx, static_cast<unsigned>(reg) + (indexed ? escape_index : 0), value);
}

void ScriptSequence::tableWrite(uint64_t addr, uint64_t clear, uint64_t set) {
  SequenceItem item;
  item.kind = SequenceItem::Kind::TableWrite;
  item.table_write = {addr, clear, set};
  items_.push_back(item);
}

void ScriptSequence::idle(uint32_t cycles) {
  SequenceItem item;
  item.kind = SequenceItem::Kind::Idle;
  item.idle_cycles = cycles;
  items_.push_back(item);
}

void ScriptSequence::checkpoint() {
  SequenceItem item;
  item.kind = SequenceItem::Kind::Checkpoint;
  items_.push_back(item);
}

void ScriptSequence::programContexts(const World &world) {
  for (const Vm &vm : world.vms())
    for (const World::RegWrite &write : world.slotProgram(vm))
      writeReg(vm.slot, write.reg, write.value, write.index);
}

void ScriptSequence::switchMode(Vm &vm, Mode mode) {
  vm.mode = mode;
  writeReg(vm.slot, CtxReg::Mode, static_cast<uint64_t>(mode));
  writeReg(vm.slot, CtxReg::Cr3, vm.cr3For(mode, vm.space));
}

// --- RandomSequence ---------------------------------------------------------------------------

RandomSequence::RandomSequence(World &world, Random random, const RandomKnobs &knobs)
    : world_(world), random_(random), knobs_(knobs) {}

SequenceItem &RandomSequence::push(SequenceItem::Kind kind) {
  // The ring never overflows: one action pushes at most a handful of items onto an empty ring.
  SequenceItem &item = pending_[(pending_head_ + pending_count_) % kPending];
  ++pending_count_;
  item.kind = kind;
  return item;
}

void RandomSequence::pushControl(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) {
  SequenceItem &item = push(SequenceItem::Kind::Control);
  item.control = {op, static_cast<uint8_t>(ctx), static_cast<uint8_t>(reg), data, vpid, pcid};
}

void RandomSequence::pushWriteReg(const Vm &vm, CtxReg reg, uint64_t value, unsigned escape_index) {
  pushControl(CtrlOp::WriteReg, vm.slot, static_cast<unsigned>(reg) + escape_index, value, 0, 0);
}

void RandomSequence::pushTableWrite(uint64_t addr, uint64_t clear, uint64_t set) {
  SequenceItem &item = push(SequenceItem::Kind::TableWrite);
  item.table_write = {addr, clear, set};
}

bool RandomSequence::next(SequenceItem &item) {
  if (pending_count_ == 0) {
    if (requests_ >= knobs_.requests) {
      if (finished_)
        return false;
      finished_ = true;
      push(SequenceItem::Kind::Checkpoint);
    } else {
      if (random_.permille(knobs_.table_change_permille))
        tableChange();
      if (random_.permille(knobs_.control_permille))
        controlAction();
      if (random_.permille(knobs_.idle_permille))
        push(SequenceItem::Kind::Idle).idle_cycles = static_cast<uint32_t>(random_.range(1, 12));
      if (knobs_.checkpoint_every && requests_ && requests_ % knobs_.checkpoint_every == 0)
        push(SequenceItem::Kind::Checkpoint);
      makeRequest(push(SequenceItem::Kind::Request).request);
      ++requests_;
    }
  }
  item = pending_[pending_head_];
  pending_head_ = (pending_head_ + 1) % kPending;
  --pending_count_;
  return true;
}

void RandomSequence::makeRequest(Request &request) {
  std::vector<Vm> &vms = world_.vms();
  const unsigned odd = random_.permille(knobs_.odd_request_permille) ? static_cast<unsigned>(random_.below(4)) + 1 : 0;
  HotPage pick{};
  bool have_pick = false;
  if (odd == 0 && hot_count_ && random_.percent(knobs_.locality_percent)) {
    pick = hot_[random_.below(hot_count_)];
    have_pick = vms[pick.vm].space == pick.space;
  }
  if (!have_pick) {
    pick.vm = static_cast<uint8_t>(random_.below(vms.size()));
    pick.space = static_cast<uint8_t>(vms[pick.vm].space);
    const AddressSpace &space = vms[pick.vm].spaces[pick.space];
    pick.page = static_cast<uint16_t>(random_.below(space.pages.size()));
    const MappedPage &page = space.pages[pick.page];
    pick.offset = page.touch[random_.below(page.touch.size())] | random_.below(4096);
    if (odd == 0) {
      hot_[hot_next_] = pick;
      hot_next_ = (hot_next_ + 1) % kHot;
      hot_count_ = hot_count_ < kHot ? hot_count_ + 1 : kHot;
    }
  }
  const Vm &vm = vms[pick.vm];
  const AddressSpace &space = vm.spaces[pick.space];
  const MappedPage &page = space.pages[pick.page];
  request.vpid = vm.vpid;
  request.pcid = random_.percent(97) ? space.pcid : static_cast<uint16_t>(random_.below(4096));
  request.va = page.va + pick.offset;
  // §18: in a guest-segment mode, often anywhere inside the segment (its walks are one per TLB
  // miss, and the segment covers few of the World's pages).
  const uint64_t segment_base = vm.gseg_base & ~uint64_t{0xfff};
  if (knobs_.segment_weight != 0 && (vm.mode == Mode::GuestDirect || vm.mode == Mode::DualDirect) &&
      vm.gseg_limit > segment_base && random_.percent(30)) {
    request.va = segment_base + random_.below(vm.gseg_limit - segment_base);
    // Now and then the page of an escape entry: a GESCAPE'd VA, or a VA the segment translates
    // to an ESCAPE'd gPA (the entries' pages are rarely hit at random).
    const size_t entries = vm.gescapes.size();
    if (entries != 0 && random_.percent(40)) {
      const size_t k = random_.below(2 * entries);
      uint64_t target = 0;
      if (k < entries) {
        target = vm.gescapes[k];
      } else if (vm.escapes[k - entries] != 0) {
        // The VA base + d whose gPA, (base + d + OFFSET) mod 2^P, is the escaped one.
        const uint64_t gpa_mask = (uint64_t{1} << world_.config().pa_bits) - 1;
        target = segment_base + ((vm.escapes[k - entries] - segment_base - vm.gseg_offset) & gpa_mask);
      }
      if (target >= segment_base && target < vm.gseg_limit)
        request.va = target + random_.below(4096);
    }
  }
  switch (odd) {
  case 1:  // an address nothing maps (most likely): guest page fault
    request.va = world_.randomVa(random_, PageSize::Size4K) | random_.below(4096);
    break;
  case 2:  // non-canonical (§5 early GUEST_GP)
    request.va ^= uint64_t{1} << (world_.config().vaBits() + random_.below(64 - world_.config().vaBits()));
    break;
  case 3:  // no context for this VPID (§3 NO_CONTEXT)
    request.vpid = kUnknownVpid;
    break;
  case 4:  // anywhere in the page: EPT may not map it
    request.va = page.va + (random_.below(pageBytes(page.size)));
    break;
  default:
    break;
  }
  if (knobs_.benign_access_percent && random_.percent(knobs_.benign_access_percent)) {
    request.access = Access::Read;
    request.user = false;
    return;
  }
  const unsigned roll = static_cast<unsigned>(random_.below(100));
  request.access = roll < 55 ? Access::Read : roll < 85 ? Access::Write : Access::Exec;
  request.user = random_.percent(request.va >> 63 ? 10 : 80);
}

void RandomSequence::invalidate(Vm &vm, const MappedPage *page) {
  const unsigned roll = static_cast<unsigned>(random_.below(100));
  const AddressSpace &space = vm.spaces[random_.below(vm.spaces.size())];
  if (roll < 40) {
    const uint64_t va = page ? page->va + random_.below(pageBytes(page->size))
                             : space.pages[random_.below(space.pages.size())].va;
    pushControl(CtrlOp::InvAddr, 0, 0, va, vm.vpid, 0);
  } else if (roll < 60) {
    pushControl(CtrlOp::InvPcid, 0, 0, 0, vm.vpid, space.pcid);
  } else if (roll < 75) {
    pushControl(CtrlOp::InvVpid, 0, 0, 0, vm.vpid, 0);
  } else if (roll < 92) {
    pushControl(CtrlOp::InvEptp, 0, 0, vm.eptp(), 0, 0);
  } else {
    pushControl(CtrlOp::InvAll, 0, 0, 0, 0, 0);
  }
}

void RandomSequence::tableChange() {
  std::vector<Vm> &vms = world_.vms();
  Vm &vm = vms[random_.below(vms.size())];
  // Mostly the address space in use, so that the change matters to the next accesses.
  AddressSpace &space = vm.spaces[random_.percent(80) ? vm.space : random_.below(vm.spaces.size())];
  const MappedPage &page = space.pages[random_.below(space.pages.size())];
  const unsigned pa_bits = world_.config().pa_bits;
  const uint64_t reserved = uint64_t{1} << random_.range(pa_bits, 51);

  if (saved_count_ && random_.percent(30)) {  // undo an earlier change
    const unsigned index = static_cast<unsigned>(random_.below(saved_count_));
    const SavedEntry saved = saved_[index];
    saved_[index] = saved_[--saved_count_];
    pushTableWrite(saved.addr, ~uint64_t{0}, saved.original);
  } else if (random_.percent(65)) {  // a guest (or shadow) entry on the page's walk
    // AGILE walks shadow entries above its switch and guest entries below: either may matter.
    const bool shadow = vm.mode == Mode::Native || vm.mode == Mode::Shadow ||
                        (vm.mode == Mode::Agile && random_.percent(50));
    // Shadow tables may map the page with smaller pieces: their levels start lower.
    const unsigned leaf = shadow ? 1 : static_cast<unsigned>(page.size) + 1;
    const unsigned level = static_cast<unsigned>(random_.range(leaf, world_.config().guest_levels));
    const uint64_t addr = shadow ? page.shadow_entry[level] : page.guest_entry[level];
    if (addr == 0)
      return;
    if (saved_count_ < kSaved)
      saved_[saved_count_++] = {addr, world_.peek(addr)};
    const unsigned roll = static_cast<unsigned>(random_.below(100));
    if (roll < 15)
      pushTableWrite(addr, pte::P, 0);
    else if (roll < 35)
      pushTableWrite(addr, pte::RW, 0);
    else if (roll < 50)
      pushTableWrite(addr, pte::US, 0);
    else if (roll < 62)
      pushTableWrite(addr, 0, pte::NX);
    else if (roll < 72)
      pushTableWrite(addr, 0, reserved);
    else if (roll < 77)  // PS where it is reserved (level >= 4) or a bit of [20:13]/[29:13] of a large leaf
      pushTableWrite(addr, 0, level >= 4 ? pte::PS : level > 1 ? (uint64_t{1} << 13) : pte::G);
    else
      pushTableWrite(addr, pte::A | pte::D, 0);
  } else {  // an EPT entry of one of the page's touched 4K pages
    const uint64_t touch = page.touch[random_.below(page.touch.size())];
    const uint64_t gpa = page.gpa + touch;
    // A level of the EPT's format (§21: 2level and 1level have 2 and 1).
    const unsigned level = static_cast<unsigned>(random_.range(1, vm.ept->levels()));
    const std::optional<uint64_t> addr = vm.ept->entryAddress(gpa, level);
    if (!addr)
      return;
    const uint64_t value = world_.peek(*addr);
    if (!(value & (ept::R | ept::W | ept::X)))
      return;
    if (saved_count_ < kSaved)
      saved_[saved_count_++] = {*addr, value};
    const bool leaf = level == 1 || (value & ept::LP);
    const unsigned roll = static_cast<unsigned>(random_.below(100));
    if (roll < 15)
      pushTableWrite(*addr, ept::R | ept::W | ept::X, 0);  // not present
    else if (roll < 30)
      pushTableWrite(*addr, ept::W, 0);
    else if (roll < 42)
      pushTableWrite(*addr, ept::X, 0);
    else if (roll < 50)
      pushTableWrite(*addr, ept::R, ept::W);  // write without read: misconfigured
    else if (roll < 60)
      pushTableWrite(*addr, 0, reserved);
    else if (roll < 68)  // memory type 2 in a leaf, or a memory-type bit in a non-leaf
      pushTableWrite(*addr, leaf ? (7ull << 3) : 0, leaf ? (2ull << 3) : (1ull << 3));
    else if (roll < 75)
      pushTableWrite(*addr, ept::R | ept::W, ept::X);  // execute-only: legal
    else
      pushTableWrite(*addr, ept::A | ept::D, 0);
    if (vm.mode == Mode::Direct || vm.mode == Mode::DualDirect) {
      // In DIRECT the EPT matters only for escaped pages: escape this one.
      const unsigned k = static_cast<unsigned>(random_.below(vm.escapes.size()));
      vm.escapes[k] = gpa & ~uint64_t{0xfff};
      pushWriteReg(vm, CtxReg::EscapeBase, vm.escapes[k] | 1, k);
    }
    // The nested TLB would hide most EPT changes: usually invalidate them as a VMM must.
    if (random_.percent(70))
      pushControl(CtrlOp::InvEptp, 0, 0, vm.eptp(), 0, 0);
    else if (random_.percent(30))
      invalidate(vm, &page);
    // Probe the page at once (EPT faults are otherwise rare: the stream must come back to it).
    if (&space == &vm.spaces[vm.space]) {
      Request &probe = push(SequenceItem::Kind::Request).request;
      probe.vpid = vm.vpid;
      probe.pcid = space.pcid;
      probe.va = page.va + touch + random_.below(4096);
      probe.access = static_cast<Access>(random_.below(3));
      probe.user = false;
    }
    return;
  }
  if (random_.percent(60))
    invalidate(vm, &page);
}

// A new guest segment (GSEG_* writes do not flush, §3: sometimes an INV_PCID as the guest would
// issue, §18.5), or a GESCAPE entry set to a touched page of the segment or cleared.
void RandomSequence::segmentAction(Vm &vm) {
  if (random_.percent(50)) {
    world_.pickSegment(vm, random_);
    pushWriteReg(vm, CtxReg::GsegBase, vm.gseg_base);
    pushWriteReg(vm, CtxReg::GsegLimit, vm.gseg_limit);
    pushWriteReg(vm, CtxReg::GsegOffset, vm.gseg_offset);
    if (random_.percent(50))
      pushControl(CtrlOp::InvPcid, 0, 0, 0, vm.vpid, vm.spaces[vm.space].pcid);
    return;
  }
  if (vm.gescapes.empty())
    return;
  const unsigned k = static_cast<unsigned>(random_.below(vm.gescapes.size()));
  const uint64_t base = vm.gseg_base & ~uint64_t{0xfff};
  if (random_.percent(30) && vm.gseg_limit > base) {
    // An ESCAPE entry (gPA) on a page the segment translates to: DUAL_DIRECT's escaped gPA.
    const uint64_t va = base + random_.below(vm.gseg_limit - base);
    const uint64_t gpa = (va + vm.gseg_offset) & ((uint64_t{1} << world_.config().pa_bits) - 1);
    vm.escapes[k % vm.escapes.size()] = gpa & ~uint64_t{0xfff};
    pushWriteReg(vm, CtxReg::EscapeBase, vm.escapes[k % vm.escapes.size()] | 1, k % vm.escapes.size());
    return;
  }
  uint64_t page = 0;
  if (random_.percent(70)) {
    for (const MappedPage &candidate : vm.spaces[vm.space].pages)
      if (candidate.va >= base && candidate.va < vm.gseg_limit && (page == 0 || random_.percent(30)))
        page = candidate.va + candidate.touch[random_.below(candidate.touch.size())];
  }
  vm.gescapes[k] = page & ~uint64_t{0xfff};
  pushWriteReg(vm, CtxReg::GEscapeBase, vm.gescapes[k] ? (vm.gescapes[k] | 1) : 0, k);
}

void RandomSequence::controlAction() {
  std::vector<Vm> &vms = world_.vms();
  Vm &vm = vms[random_.below(vms.size())];
  const unsigned total = knobs_.mode_switch_weight + knobs_.context_switch_weight + knobs_.escape_weight +
                         knobs_.invalidate_weight + knobs_.register_rewrite_weight + knobs_.segment_weight;
  if (total == 0)
    return;
  unsigned roll = static_cast<unsigned>(random_.below(total));
  if (roll < knobs_.context_switch_weight) {
    vm.space = static_cast<unsigned>(random_.below(vm.spaces.size()));
    pushWriteReg(vm, CtxReg::Cr3, vm.cr3For(vm.mode, vm.space));
    if (knobs_.agile_modes) {  // GCR3 is guest state switched with CR3 (§20.1): no flush
      vm.root_nested = random_.percent(15);
      pushWriteReg(vm, CtxReg::Gcr3, vm.gcr3For(vm.space));
    }
    if (random_.percent(30))
      pushControl(CtrlOp::InvPcid, 0, 0, 0, vm.vpid, vm.spaces[vm.space].pcid);
    return;
  }
  roll -= knobs_.context_switch_weight;
  if (roll < knobs_.mode_switch_weight) {
    if ((knobs_.guest_segment_modes || knobs_.agile_modes) && random_.percent(5)) {  // reserved: ignored, no flush (§3)
      pushWriteReg(vm, CtxReg::Mode, 7);
      return;
    }
    if (knobs_.agile_modes) {
      static constexpr Mode kAgileMix[] = {Mode::Agile, Mode::Nested, Mode::Agile, Mode::Shadow, Mode::Agile, Mode::Direct,
                                           Mode::Native};
      vm.mode = kAgileMix[random_.below(std::size(kAgileMix))];
    } else {
      const unsigned modes = knobs_.guest_segment_modes ? 6 : 4;
      vm.mode = static_cast<Mode>((static_cast<unsigned>(vm.mode) + random_.range(1, modes - 1)) % modes);
    }
    pushWriteReg(vm, CtxReg::Mode, static_cast<uint64_t>(vm.mode));
    pushWriteReg(vm, CtxReg::Cr3, vm.cr3For(vm.mode, vm.space));
    if (knobs_.agile_modes)
      pushWriteReg(vm, CtxReg::Gcr3, vm.gcr3For(vm.space));
    return;
  }
  roll -= knobs_.mode_switch_weight;
  if (roll < knobs_.escape_weight) {
    const unsigned k = static_cast<unsigned>(random_.below(vm.escapes.size()));
    if (random_.percent(35)) {
      vm.escapes[k] = 0;
    } else {
      const AddressSpace &space = vm.spaces[vm.space];
      const MappedPage &page = space.pages[random_.below(space.pages.size())];
      // Mostly a data page the stream touches; sometimes the 4K page of a guest table.
      vm.escapes[k] = random_.percent(85) ? page.gpa + page.touch[random_.below(page.touch.size())]
                                          : (page.guest_entry[random_.range(static_cast<unsigned>(page.size) + 1, world_.config().guest_levels)] -
                                             vm.hbase) & ~uint64_t{0xfff};
    }
    pushWriteReg(vm, CtxReg::EscapeBase, vm.escapes[k] ? (vm.escapes[k] | 1) : 0, k);
    return;
  }
  roll -= knobs_.escape_weight;
  if (roll < knobs_.invalidate_weight) {
    invalidate(vm, nullptr);
    return;
  }
  roll -= knobs_.invalidate_weight;
  if (roll < knobs_.segment_weight) {
    segmentAction(vm);
    return;
  }
  switch (random_.below(5)) {  // register rewrites: implicit flushes (§3) and the A/D flags
  case 0:
    pushWriteReg(vm, CtxReg::Vpid, vm.vpid | (uint64_t{1} << 16));
    break;
  case 1:
    vm.guest_ad = !vm.guest_ad;
    pushWriteReg(vm, CtxReg::Flags, vm.guest_ad ? 1 : 0);
    break;
  case 2:
    vm.ept_ad = !vm.ept_ad;
    pushWriteReg(vm, CtxReg::Eptp, vm.eptp());
    break;
  case 3:
    pushWriteReg(vm, CtxReg::GBase, vm.hbase);
    break;
  default:
    pushWriteReg(vm, CtxReg::GSize, vm.gsize);
    break;
  }
}

}  // namespace vmmu::tb
