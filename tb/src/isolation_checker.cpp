// isolation_checker.cpp - §8.3 checked from the observed ports, and churn classification.
#include "isolation_checker.h"

#include <algorithm>
#include <utility>

namespace vmmu::tb {
namespace {

constexpr uint64_t kValidBit = uint64_t{1} << 16;

bool sameRoot(uint64_t a, uint64_t b, uint64_t mask) { return (a & mask) == (b & mask); }

// The modes the isolation property covers: DIRECT, and DUAL_DIRECT, whose every host address
// passes the same bounds checker (§18.3).
bool isDirect(Mode mode) { return mode == Mode::Direct || mode == Mode::DualDirect; }

}  // namespace

const char *churnName(ChurnKind kind) {
  static const char *const kNames[] = {"retag_to_held_vpid",
                                       "slot_made_valid",
                                       "slot_made_invalid",
                                       "in_force_lower_to_higher",
                                       "in_force_higher_to_lower",
                                       "mode_into_direct",
                                       "mode_out_of_direct",
                                       "gbase",
                                       "gsize",
                                       "eptp",
                                       "escape_add",
                                       "escape_remove"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(ChurnKind::Count));
  return kNames[static_cast<unsigned>(kind)];
}

IsolationChecker::IsolationChecker(sc_core::sc_module_name name, const MmuConfig &config, ReportServer &reporter)
    : Component(name), reporter_(reporter), pa_bits_(config.pa_bits), slots_(config.num_contexts) {
  for (Slot &slot : slots_)
    slot.escapes.assign(config.escape_entries, 0);
  ops_.reserve(256);
}

int IsolationChecker::inForce(uint16_t vpid) const {
  for (size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].valid && slots_[i].vpid == vpid)
      return static_cast<int>(i);
  return -1;
}

void IsolationChecker::arm(uint16_t vpid, ChurnKind kind) {
  VpidState &state = vpids_[vpid];
  if (state.hot_count == 0)
    return;  // nothing warm: no stale state to hit
  if (state.armed == 0)
    state.armed_stamp = stamp_;
  state.armed |= 1u << static_cast<unsigned>(kind);
}

void IsolationChecker::forget(uint16_t vpid) {
  const auto found = vpids_.find(vpid);
  if (found != vpids_.end())
    found->second = VpidState{};
}

// Decodes one WRITE_REG (§3 fields; writes to slots or registers that do not exist are ignored,
// §13) and classifies what it changed for the VPIDs involved.
void IsolationChecker::writeReg(unsigned ctx, unsigned reg, uint64_t data) {
  if (ctx >= slots_.size())
    return;
  Slot &slot = slots_[ctx];
  const uint64_t page_mask = ((uint64_t{1} << pa_bits_) - 1) & ~uint64_t{0xfff};
  const bool in_force = slot.valid && inForce(slot.vpid) == static_cast<int>(ctx);
  switch (reg) {
  case static_cast<unsigned>(CtxReg::Vpid): {
    const uint16_t old_vpid = slot.vpid, new_vpid = static_cast<uint16_t>(data);
    const bool old_valid = slot.valid, new_valid = (data & kValidBit) != 0;
    const int old_for_old = inForce(old_vpid), old_for_new = inForce(new_vpid);
    const bool held = new_valid && old_for_new >= 0 && old_for_new != static_cast<int>(ctx);
    slot.vpid = new_vpid;
    slot.valid = new_valid;
    if (held)
      arm(new_vpid, ChurnKind::RetagToHeldVpid);
    if (!old_valid && new_valid)
      arm(new_vpid, ChurnKind::SlotMadeValid);
    if (old_valid && !new_valid)
      arm(old_vpid, ChurnKind::SlotMadeInvalid);
    // The slot in force may have moved for either VPID.
    for (const auto &[vpid, before] : {std::pair{old_vpid, old_for_old}, std::pair{new_vpid, old_for_new}}) {
      const int after = inForce(vpid);
      if (before >= 0 && after >= 0 && before != after)
        arm(vpid, after > before ? ChurnKind::InForceLowerToHigher : ChurnKind::InForceHigherToLower);
    }
    return;
  }
  case static_cast<unsigned>(CtxReg::Mode): {
    if ((data & 7) > static_cast<uint64_t>(Mode::Agile))
      return;  // a reserved code: the write is ignored (§3)
    const Mode mode = static_cast<Mode>(data & 7);
    if (in_force && isDirect(mode) != isDirect(slot.mode))
      arm(slot.vpid, isDirect(mode) ? ChurnKind::ModeIntoDirect : ChurnKind::ModeOutOfDirect);
    slot.mode = mode;
    return;
  }
  case static_cast<unsigned>(CtxReg::Eptp):
    if (in_force && data != slot.eptp)
      arm(slot.vpid, ChurnKind::Eptp);
    slot.eptp = data;  // all 64 bits are stored (§2.3)
    return;
  case static_cast<unsigned>(CtxReg::GBase):
    if (in_force && (data & page_mask) != slot.gbase)
      arm(slot.vpid, ChurnKind::GBase);
    slot.gbase = data & page_mask;
    return;
  case static_cast<unsigned>(CtxReg::GSize): {
    const uint64_t gsize = data & (((uint64_t{1} << (pa_bits_ + 1)) - 1) & ~uint64_t{0xfff});
    if (in_force && gsize != slot.gsize)
      arm(slot.vpid, ChurnKind::GSize);
    slot.gsize = gsize;
    return;
  }
  default:
    break;
  }
  const unsigned base = static_cast<unsigned>(CtxReg::EscapeBase);
  if (reg >= base && reg - base < slot.escapes.size()) {
    uint64_t &entry = slot.escapes[reg - base];
    const uint64_t value = data & (page_mask | 1);
    if (in_force && value != entry && (value & 1))
      arm(slot.vpid, ChurnKind::EscapeAdd);
    else if (in_force && (entry & 1) && !(value & 1))
      arm(slot.vpid, ChurnKind::EscapeRemove);
    entry = value;
  }
}

void IsolationChecker::write(const ObservedControl &observed) {
  const ControlCommand &c = observed.command;
  switch (c.op) {
  case CtrlOp::WriteReg:
    writeReg(c.ctx, c.reg, c.data);
    break;
  case CtrlOp::InvVpid:  // explicit invalidations remove the stale state churn could leave
    forget(c.vpid);
    break;
  case CtrlOp::InvEptp: {
    const uint64_t mask = ((uint64_t{1} << pa_bits_) - 1) & ~uint64_t{0xfff};
    for (const Slot &slot : slots_)
      if (slot.valid && slot.mode != Mode::Native && slot.mode != Mode::Shadow && sameRoot(slot.eptp, c.data, mask))
        forget(slot.vpid);
    break;
  }
  case CtrlOp::InvAll:
    vpids_.clear();
    break;
  default:  // INV_ADDR and INV_PCID remove only part of a VPID's state
    break;
  }
}

void IsolationChecker::write(const ObservedRequest &observed) {
  Snapshot snapshot;
  snapshot.request = observed.request;
  snapshot.accept_cycle = observed.accept_cycle;
  snapshot.slot = inForce(observed.request.vpid);
  if (snapshot.slot >= 0) {
    const Slot &slot = slots_[static_cast<size_t>(snapshot.slot)];
    snapshot.direct = isDirect(slot.mode);
    // [GBASE, GBASE + GSIZE) and below 2^P (§8.1); P <= 52, so nothing overflows.
    snapshot.lo = slot.gbase;
    snapshot.hi = std::min(slot.gbase + slot.gsize, uint64_t{1} << pa_bits_);
  }
  outstanding_.push_back(snapshot);
}

void IsolationChecker::write(const ObservedMemOp &observed) {
  if (observed.op.dim == Dim::Guest)
    ops_.push_back(observed.op);
}

void IsolationChecker::violation(const Snapshot &snapshot, const std::string &what) {
  ++violations_;
  reporter_.error(name(),
                  format("ISOLATION VIOLATION (§8.3) for %s accepted at cycle %llu: slot %d in force, DIRECT "
                         "region [0x%llx, 0x%llx): %s",
                         toString(snapshot.request).c_str(), static_cast<unsigned long long>(snapshot.accept_cycle),
                         snapshot.slot, static_cast<unsigned long long>(snapshot.lo),
                         static_cast<unsigned long long>(snapshot.hi), what.c_str()));
}

void IsolationChecker::write(const ObservedResponse &observed) {
  if (outstanding_.empty())
    return;  // the scoreboard reports a response without a request
  const Snapshot snapshot = outstanding_.front();
  outstanding_.pop_front();
  const Response &response = observed.response;
  ++stamp_;
  if (snapshot.direct) {
    ++direct_checked_;
    for (const MemOp &op : ops_)
      if (op.addr < snapshot.lo || op.addr + 8 > snapshot.hi)
        violation(snapshot, "walk operation outside the region: " + toString(op));
    if (response.fault == Fault::None) {
      const uint64_t bytes = pageBytes(response.size);
      const uint64_t page = response.hpa & ~(bytes - 1);
      if (page < snapshot.lo || page + bytes > snapshot.hi)
        violation(snapshot, "response page outside the region: " + toString(response));
    }
  }
  ops_.clear();
  if (snapshot.slot < 0)
    return;
  // Churn coverage: a hot page of this VPID, translated before the churn, is requested again.
  VpidState &state = vpids_[snapshot.request.vpid];
  const uint16_t pcid = snapshot.request.pcid;
  const uint64_t va_page = snapshot.request.va >> 12;
  bool known = false;
  for (unsigned i = 0; i < state.hot_count; ++i) {
    const HotPage &hot = state.hot[i];
    if (hot.pcid != pcid || hot.page != va_page)
      continue;
    known = true;
    if (state.armed && hot.stamp <= state.armed_stamp) {
      for (unsigned k = 0; k < static_cast<unsigned>(ChurnKind::Count); ++k)
        if (state.armed & (1u << k))
          churn_port.write({static_cast<ChurnKind>(k), snapshot.request.vpid});
      state.armed = 0;
    }
    break;
  }
  if (!known && response.fault == Fault::None) {
    state.hot[state.hot_next] = {pcid, va_page, stamp_};
    state.hot_next = (state.hot_next + 1) % state.hot.size();
    state.hot_count = std::min<unsigned>(state.hot_count + 1, static_cast<unsigned>(state.hot.size()));
  }
}

}  // namespace vmmu::tb
