// churn_sequence.cpp - control-port churn between translations against warm caches.
#include "churn_sequence.h"

namespace vmmu::tb {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint16_t kSpareVpid = 0x0101;  // in the pool but in no slot at the start
constexpr uint64_t kValidBit = uint64_t{1} << 16;

}  // namespace

ChurnSequence::ChurnSequence(World &world, Random random, const ChurnKnobs &knobs)
    : world_(world), random_(random), knobs_(knobs) {
  // The slots start as ScriptSequence::programContexts left them: slot s runs VM s.
  for (const Vm &vm : world_.vms()) {
    Slot slot;
    slot.vpid = vm.vpid;
    slot.valid = true;
    slot.mode = vm.mode;
    slot.gbase = vm.hbase;
    slot.gsize = vm.gsize;
    slot.eptp = vm.eptp();
    slot.escapes = vm.escapes;
    slots_.push_back(slot);
    pool_.push_back(vm.vpid);
  }
  pool_.push_back(kSpareVpid);
}

int ChurnSequence::inForce(uint16_t vpid) const {
  for (size_t s = 0; s < slots_.size(); ++s)
    if (slots_[s].valid && slots_[s].vpid == vpid)
      return static_cast<int>(s);
  return -1;
}

void ChurnSequence::request(uint16_t vpid, uint16_t pcid, uint64_t va) {
  round_.request(vpid, pcid, va, random_.percent(70) ? Access::Read : Access::Write, random_.percent(50));
  ++requests_;
}

void ChurnSequence::writeVpid(unsigned slot, uint16_t vpid, bool valid) {
  slots_[slot].vpid = vpid;
  slots_[slot].valid = valid;
  round_.writeReg(slot, CtxReg::Vpid, vpid | (valid ? kValidBit : 0));
}

void ChurnSequence::writeMode(unsigned slot, Mode mode) {
  const Vm &vm = world_.vms()[slot];
  slots_[slot].mode = mode;
  round_.writeReg(slot, CtxReg::Mode, static_cast<uint64_t>(mode));
  round_.writeReg(slot, CtxReg::Cr3, vm.cr3For(mode, vm.space));
}

template <typename Predicate> int ChurnSequence::warmSlot(Predicate want) {
  std::vector<unsigned> candidates;
  for (const Hot &hot : hot_) {
    const int s = inForce(hot.vpid);
    if (s >= 0 && want(static_cast<unsigned>(s)))
      candidates.push_back(static_cast<unsigned>(s));
  }
  return candidates.empty() ? -1 : static_cast<int>(candidates[random_.below(candidates.size())]);
}

uint16_t ChurnSequence::heldVpid(unsigned except) {
  std::vector<uint16_t> held;
  for (size_t s = 0; s < slots_.size(); ++s)
    if (s != except && slots_[s].valid)
      held.push_back(slots_[s].vpid);
  if (held.empty())
    return pool_[random_.below(pool_.size())];
  return held[random_.below(held.size())];
}

uint16_t ChurnSequence::otherVpid(uint16_t vpid) {
  uint16_t pick = vpid;
  while (pick == vpid)
    pick = pool_[random_.below(pool_.size())];
  return pick;
}

void ChurnSequence::warm() {
  hot_.clear();
  std::vector<Vm> &vms = world_.vms();
  for (const uint16_t vpid : pool_) {
    const int s = inForce(vpid);
    if (s < 0)
      continue;
    const Vm &vm = vms[static_cast<size_t>(s)];
    const AddressSpace &space = vm.spaces[vm.space];
    for (unsigned i = 0; i < knobs_.hot_pages; ++i) {
      const MappedPage &page = space.pages[random_.below(space.pages.size())];
      const uint64_t va = page.va + page.touch[random_.below(page.touch.size())] + (random_.below(512) << 3);
      request(vpid, space.pcid, va);
      request(vpid, space.pcid, va);  // a TLB hit when the first succeeded
      hot_.push_back({vpid, space.pcid, va});
    }
  }
}

void ChurnSequence::invalidate() {
  const uint16_t vpid = pool_[random_.below(pool_.size())];
  switch (random_.below(4)) {
  case 0:
    round_.control(CtrlOp::InvVpid, 0, 0, 0, vpid);
    break;
  case 1:
    round_.control(CtrlOp::InvEptp, 0, 0, slots_[random_.below(slots_.size())].eptp);
    break;
  case 2:
    if (!hot_.empty()) {
      const Hot &hot = hot_[random_.below(hot_.size())];
      round_.control(CtrlOp::InvAddr, 0, 0, hot.va, hot.vpid);
    }
    break;
  default:
    round_.control(CtrlOp::InvAll);
    break;
  }
}

// One change of the kind `action`, aimed at a slot in force for a warm VPID. When the state
// does not allow it (no such slot), a change that sets it up for a later round is made instead.
void ChurnSequence::act(Action action) {
  std::vector<Vm> &vms = world_.vms();
  const unsigned count = static_cast<unsigned>(slots_.size());
  const auto any = [](unsigned) { return true; };
  const auto direct = [this](unsigned s) { return slots_[s].mode == Mode::Direct; };
  const int warm_any = warmSlot(any);
  switch (action) {
  case Action::RetagToHeld: {
    const unsigned t = static_cast<unsigned>(random_.below(count));
    writeVpid(t, heldVpid(t), true);
    return;
  }
  case Action::MakeValid: {
    std::vector<unsigned> invalid;
    for (unsigned s = 0; s < count; ++s)
      if (!slots_[s].valid)
        invalid.push_back(s);
    if (invalid.empty()) {
      const unsigned s = static_cast<unsigned>(random_.below(count));
      writeVpid(s, slots_[s].vpid, false);
      return;
    }
    const unsigned t = invalid[random_.below(invalid.size())];
    writeVpid(t, random_.percent(70) ? heldVpid(t) : pool_[random_.below(pool_.size())], true);
    return;
  }
  case Action::MakeInvalid:
    if (warm_any >= 0)
      writeVpid(static_cast<unsigned>(warm_any), slots_[static_cast<unsigned>(warm_any)].vpid, false);
    return;
  case Action::MoveLowerToHigher: {
    // A VPID in force at s and also held by a higher slot: take it away from s.
    const int s = warmSlot([this, count](unsigned low) {
      for (unsigned t = low + 1; t < count; ++t)
        if (slots_[t].valid && slots_[t].vpid == slots_[low].vpid)
          return true;
      return false;
    });
    if (s >= 0) {
      const unsigned low = static_cast<unsigned>(s);
      if (random_.percent(50))
        writeVpid(low, slots_[low].vpid, false);
      else
        writeVpid(low, otherVpid(slots_[low].vpid), true);
    } else if (const int low = warmSlot([count](unsigned x) { return x + 1 < count; }); low >= 0) {
      const unsigned t = static_cast<unsigned>(random_.range(static_cast<unsigned>(low) + 1, count - 1));
      writeVpid(t, slots_[static_cast<unsigned>(low)].vpid, true);  // set up: a higher slot holds it too
    }
    return;
  }
  case Action::MoveHigherToLower: {
    const int s = warmSlot([](unsigned high) { return high >= 1; });
    if (s >= 0) {
      const unsigned t = static_cast<unsigned>(random_.below(static_cast<unsigned>(s)));
      writeVpid(t, slots_[static_cast<unsigned>(s)].vpid, true);
    } else {
      writeVpid(0, slots_[0].vpid, false);  // set up: the VPIDs in force at slot 0 move up
    }
    return;
  }
  case Action::ModeIntoDirect:
  case Action::ModeOutOfDirect: {
    const bool into = action == Action::ModeIntoDirect;
    int s = warmSlot([&](unsigned x) { return direct(x) != into; });
    const bool set_up = s < 0;
    if (set_up)
      s = warm_any;
    if (s < 0)
      return;
    const bool to_direct = set_up ? !direct(static_cast<unsigned>(s)) : into;
    writeMode(static_cast<unsigned>(s),
              to_direct ? Mode::Direct : static_cast<Mode>(random_.below(3)));  // NATIVE, NESTED or SHADOW
    return;
  }
  default:
    break;
  }
  // Register rewrites of a slot in force, DIRECT slots first.
  int target = warmSlot(direct);
  if (target < 0)
    target = warm_any;
  if (target < 0)
    return;
  const unsigned s = static_cast<unsigned>(target);
  Slot &slot = slots_[s];
  const Vm &vm = vms[s];
  const Vm &other = vms[(s + 1 + random_.below(vms.size() - 1)) % vms.size()];
  switch (action) {
  case Action::GBase:  // another VM's window (its tables at the same gPAs) or back to its own
    slot.gbase = slot.gbase == vm.hbase && vms.size() > 1 ? other.hbase : vm.hbase;
    round_.writeReg(s, CtxReg::GBase, slot.gbase);
    return;
  case Action::GSize:  // shrink (pages and tables beyond it fault BOUNDS) or restore
    slot.gsize = slot.gsize == vm.gsize ? random_.range(1, vm.gsize / kGiB * 4) * (kGiB / 4) - random_.below(64) * 4096
                                        : vm.gsize;
    round_.writeReg(s, CtxReg::GSize, slot.gsize);
    return;
  case Action::Eptp: {  // the A/D bit, another VM's EPT (escaped pages then map out of region) or its own
    const bool own_ept = (slot.eptp & ~uint64_t{0xfff}) == vm.ept->root();
    if (random_.percent(40))
      slot.eptp ^= uint64_t{1} << 6;
    else
      slot.eptp = own_ept && vms.size() > 1 ? other.eptp() : vm.eptp();
    round_.writeReg(s, CtxReg::Eptp, slot.eptp);
    return;
  }
  case Action::EscapeAdd:
  case Action::EscapeRemove: {
    unsigned k = static_cast<unsigned>(random_.below(slot.escapes.size()));
    for (unsigned i = 0; i < slot.escapes.size(); ++i)
      if ((slot.escapes[i] != 0) == (action == Action::EscapeRemove))
        k = i;
    const bool add = action == Action::EscapeAdd || slot.escapes[k] == 0;
    if (add) {
      // The gPA page of a page this slot's VM serves (a warm one when the random pick is).
      const AddressSpace &space = vm.spaces[vm.space];
      const MappedPage &page = space.pages[random_.below(space.pages.size())];
      slot.escapes[k] = (page.gpa + page.touch[random_.below(page.touch.size())]) & ~uint64_t{0xfff};
    } else {
      slot.escapes[k] = 0;
    }
    round_.writeReg(s, CtxReg::EscapeBase, slot.escapes[k] ? slot.escapes[k] | 1 : 0, k);
    return;
  }
  default:
    return;
  }
}

void ChurnSequence::buildRound() {
  round_.clear();
  warm();
  act(static_cast<Action>(round_number_++ % static_cast<unsigned>(Action::Count)));
  const unsigned extra = static_cast<unsigned>(random_.below(knobs_.random_actions + 1));
  for (unsigned i = 0; i < extra; ++i) {
    if (random_.percent(knobs_.invalidate_percent))
      invalidate();
    else
      act(static_cast<Action>(random_.below(static_cast<unsigned>(Action::Count))));
  }
  for (const Hot &hot : hot_)
    request(hot.vpid, hot.pcid, hot.va);
}

bool ChurnSequence::next(SequenceItem &item) {
  while (!round_.next(item)) {
    if (requests_ >= knobs_.requests) {
      if (finished_)
        return false;
      finished_ = true;
      round_.clear();
      round_.checkpoint();
      continue;
    }
    buildRound();
  }
  return true;
}

}  // namespace vmmu::tb
