// coverage.cpp - functional coverage bins and report.
#include "coverage.h"

namespace vmmu::tb {
namespace {

constexpr unsigned kNone = ~0u;
const char *const kModeNames[] = {"NATIVE", "NESTED", "SHADOW", "DIRECT", "GUEST_DIRECT", "DUAL_DIRECT", "AGILE"};
const char *const kSizeNames[] = {"4K", "2M", "1G"};
const char *const kFaultNames[] = {"NONE", "GUEST_PF", "GUEST_GP", "EPT_VIOLATION", "EPT_MISCONFIG", "BOUNDS", "NO_CONTEXT"};
const char *const kControlNames[] = {"WRITE_REG", "INV_ADDR", "INV_PCID", "INV_VPID", "INV_EPTP", "INV_ALL"};
const char *const kRegNames[] = {"VPID",     "MODE",      "CR3",        "EPTP",       "GBASE",  "GSIZE", "FLAGS",
                                 "(7)",      "ESCAPE",    "GSEG_BASE",  "GSEG_LIMIT", "GSEG_OFFSET", "GESCAPE",
                                 "GCR3"};

// The write_reg bin of register `reg` (kRegNames' index), or kNone for a number that is no register.
unsigned regBin(unsigned reg) {
  if (reg < 8)
    return reg;
  if (reg < 16)
    return 8;  // ESCAPE_k
  if (reg <= 18)
    return reg - 16 + 9;  // GSEG_BASE, GSEG_LIMIT, GSEG_OFFSET
  if (reg == 19)
    return 13;  // GCR3 (§20.1)
  return reg >= 24 ? 12 : kNone;  // GESCAPE_k; 20-23 are no registers
}
const char *const kChannelNames[] = {"request", "response", "control", "mem_request", "mem_response"};

// Which fault classes a mode can produce (§6 table).
bool faultPossible(Mode mode, Fault fault) {
  switch (fault) {
  case Fault::GuestPageFault:
  case Fault::GuestGeneralProtection:
    return true;
  case Fault::EptViolation:
  case Fault::EptMisconfig:
    return mode != Mode::Native && mode != Mode::Shadow;
  case Fault::Bounds:
    return mode == Mode::Direct || mode == Mode::DualDirect;
  default:
    return false;
  }
}

}  // namespace

Coverage::Coverage(sc_core::sc_module_name name, const MmuConfig &config) : Component(name) {
  const unsigned guest_levels = config.guest_levels;
  const bool has_stlb = config.hasStlb();
  for (unsigned m = 0; m < kModes; ++m) {
    const Mode mode = static_cast<Mode>(m);
    const bool direct = mode == Mode::Direct || mode == Mode::DualDirect;
    for (unsigned g = 0; g < 3; ++g)
      for (unsigned h = 0; h < 3; ++h) {
        bool possible = false;
        if (mode == Mode::Agile)
          possible = false;  // the host size depends on the switch: the agile.* bins instead
        else if (mode == Mode::Native || mode == Mode::Shadow)
          possible = h == g;  // host size is the guest size (§5 xlate_final)
        else if (mode == Mode::Nested || mode == Mode::GuestDirect)
          possible = true;
        else
          possible = h <= g;  // DIRECT: the combined (splintered) size
        size_bins_[m][g][h] =
            possible ? addBin(format("size.%s.guest_%s.%s_%s", kModeNames[m], kSizeNames[g],
                                     direct ? "combined" : "host", kSizeNames[h]))
                     : kNone;
      }
    for (unsigned f = 0; f < 7; ++f)
      fault_bins_[m][f] = faultPossible(mode, static_cast<Fault>(f))
                              ? addBin(format("fault.%s.%s", kModeNames[m], kFaultNames[f]))
                              : kNone;
  }
  // §18.2's paths of the guest-segment modes (walks): a translation by the segment, a VA in it
  // but escaped (GESCAPE), a VA outside it, the segment's permission fault; DUAL_DIRECT also an
  // escaped final gPA (ESCAPE) and a bounds fault of a segment translation, GUEST_DIRECT an EPT
  // fault of one.
  for (unsigned s = 0; s < 2; ++s) {
    const char *const mode = kModeNames[static_cast<unsigned>(Mode::GuestDirect) + s];
    segment_bins_[s][0] = addBin(format("segment.%s.in_segment", mode));
    segment_bins_[s][1] = addBin(format("segment.%s.escaped_va", mode));
    segment_bins_[s][2] = addBin(format("segment.%s.outside", mode));
    segment_bins_[s][3] = addBin(format("segment.%s.permission_fault", mode));
    segment_bins_[s][4] = addBin(format("segment.%s.%s", mode, s == 0 ? "ept_fault" : "escaped_gpa"));
    segment_bins_[s][5] = s == 0 ? kNone : addBin(format("segment.%s.bounds_fault", mode));
  }
  for (unsigned f = 0; f < 3; ++f) {
    const std::string name(toString(static_cast<EptFormat>(f)));
    ept_format_bins_[f][0] = addBin(format("ept_format.%s.walk", name.c_str()));
    ept_format_bins_[f][1] = addBin(format("ept_format.%s.ept_violation", name.c_str()));
    ept_format_bins_[f][2] = addBin(format("ept_format.%s.ept_misconfig", name.c_str()));
  }
  flat2_1g_bin_ = addBin("ept_format.2level.leaf_1G");
  flat2_ept_psc_bin_ = config.ept_psc[0].ways != 0 ? addBin("ept_format.2level.ept_psc_L2") : kNone;
  flat1_beyond_bin_ = addBin("ept_format.1level.beyond_reach");
  // §20.2's AGILE walks by where they switched (the first guest level walked nested; none: all
  // shadow; resumed: a PSC hit below a switch), and §20.3's faults: a shadow entry's (exits), a
  // guest entry's below the switch (delivered), an EPT fault of the nested part.
  for (unsigned l = 0; l < 6; ++l)
    agile_switch_bins_[l] = l >= 1 && l <= guest_levels ? addBin(format("agile.switch_L%u", l)) : kNone;
  agile_no_switch_bin_ = addBin("agile.no_switch");
  agile_resumed_bin_ = addBin("agile.resumed_below_switch");
  agile_shadow_fault_bin_ = addBin("agile.fault.shadow_entry");
  agile_guest_fault_bin_ = addBin("agile.fault.guest_entry");
  agile_ept_fault_bin_ = addBin("agile.fault.ept");
  no_context_bin_ = addBin("fault.NO_CONTEXT");
  ept_table_bin_ = addBin("fault.ept_access.guest_table_entry");
  ept_final_bin_ = addBin("fault.ept_access.final_gpa");
  tlb_hit_bin_ = addBin("source.tlb_hit");
  for (unsigned l = 0; l < 6; ++l)
    psc_bins_[l] = l >= 2 && l <= guest_levels ? addBin(format("source.psc_L%u", l)) : kNone;
  ntlb_hit_bin_ = addBin("source.ntlb_hit");
  for (unsigned l = 0; l < 6; ++l) {
    const bool exists = l >= 2 && l <= config.nested_levels && config.ept_psc[l - 2].ways != 0;
    ept_psc_bins_[l] = exists ? addBin(format("source.ept_psc_L%u", l)) : kNone;
  }
  full_walk_bin_ = addBin("source.full_walk");
  escape_bin_ = addBin("source.escape");
  for (unsigned c = 0; c < 6; ++c)
    control_bins_[c] = c == 0 ? kNone : addBin(format("control.%s", kControlNames[c]));
  for (unsigned r = 0; r < kRegBins; ++r)
    write_reg_bins_[r] = r == 7 ? kNone : addBin(format("control.WRITE_REG.%s", kRegNames[r]));
  for (unsigned c = 0; c < static_cast<unsigned>(Channel::Count); ++c)
    stall_bins_[c] = c == static_cast<unsigned>(Channel::MemResponse) ? kNone
                                                                       : addBin(format("backpressure.%s", kChannelNames[c]));
  delayed_memory_bin_ = addBin("backpressure.mem_response_delayed");
  counter_bins_[0] = addBin("event.guest_ad_update");
  counter_bins_[1] = addBin("event.nested_ad_update");
  counter_bins_[2] = addBin("event.perm_refill");
  counter_bins_[3] = addBin("event.escape");
  for (unsigned k = 0; k < static_cast<unsigned>(ChurnKind::Count); ++k)
    churn_bins_[k] = addBin(format("churn.%s", churnName(static_cast<ChurnKind>(k))));
  for (unsigned s = 0; s < 3; ++s) {
    if (s < 2)
      stlb_hit_bins_[s] = has_stlb ? addBin(format("stlb.hit_%s", kSizeNames[s])) : kNone;
    stlb_miss_bins_[s] = has_stlb ? addBin(format("stlb.miss_%s", kSizeNames[s])) : kNone;
  }
  for (unsigned m = 0; m < kModes; ++m)
    stlb_hit_mode_bins_[m] = has_stlb ? addBin(format("stlb.hit.%s", kModeNames[m])) : kNone;
  stlb_fill_bin_ = has_stlb ? addBin("stlb.fill") : kNone;
  // §9.2: the 4K set is probed first; a 2M entry is found (and dropped) only when no 4K one matched.
  for (unsigned s = 0; s < 2; ++s)
    stlb_drop_bins_[s] = has_stlb ? addBin(format("stlb.drop_non_granting.%s_set", kSizeNames[s])) : kNone;
  // Which commands remove STLB entries (§11), and how: INV_ALL clears the valid bits in one cycle,
  // the others (WRITE_REG: the implicit flush of §3) sweep the sets.
  bool has_ept_psc = false;
  for (unsigned l = 2; l <= config.nested_levels; ++l)
    has_ept_psc = has_ept_psc || config.ept_psc[l - 2].ways != 0;
  for (unsigned c = 0; c < 6; ++c) {
    const CtrlOp op = static_cast<CtrlOp>(c);
    stlb_removal_bins_[c] = has_stlb ? addBin(format("stlb.%s.%s", op == CtrlOp::InvAll ? "clear" : "sweep",
                                                     kControlNames[c]))
                                     : kNone;
    ept_psc_removal_bins_[c] = has_ept_psc && (op == CtrlOp::InvEptp || op == CtrlOp::InvAll)
                                   ? addBin(format("ept_psc.invalidation.%s", kControlNames[c]))
                                   : kNone;
  }
}

unsigned Coverage::addBin(const std::string &name) {
  bins_.push_back({name, 0, false});
  return static_cast<unsigned>(bins_.size() - 1);
}

void Coverage::write(const CheckedTransaction &t) {
  const Response &resp = t.result->resp;
  const WalkTrace &trace = t.result->trace;
  if (resp.tlb_hit) {
    hit(tlb_hit_bin_);
    if (trace.stlb_hit && stlb_hit_bins_[0] != kNone && resp.size != PageSize::Size1G) {
      hit(stlb_hit_bins_[static_cast<unsigned>(resp.size)]);
      if (t.has_context)
        hit(stlb_hit_mode_bins_[static_cast<unsigned>(t.mode)]);
    }
    return;
  }
  if (stlb_fill_bin_ != kNone) {
    // A match that did not grant was dropped in the set it was found in: the 4K set (decided in
    // the probe's first cycle) or the 2M set (second cycle, §12).
    if (trace.stlb_read)
      hit(stlb_drop_bins_[trace.stlb_cycles == 1 ? 0 : 1]);
    if (trace.walked && resp.fault == Fault::None) {
      hit(stlb_miss_bins_[static_cast<unsigned>(resp.size)]);
      if (resp.size != PageSize::Size1G)
        hit(stlb_fill_bin_);
    }
  }
  if (resp.fault == Fault::NoContext) {
    hit(no_context_bin_);
    return;
  }
  if (!t.has_context)
    return;
  const unsigned mode = static_cast<unsigned>(t.mode);
  const unsigned fault = static_cast<unsigned>(resp.fault);
  if (fault < 7 && fault_bins_[mode][fault] != kNone)
    hit(fault_bins_[mode][fault]);
  if (resp.fault == Fault::EptViolation || resp.fault == Fault::EptMisconfig)
    hit(resp.fault_guest_level != 0 ? ept_table_bin_ : ept_final_bin_);
  if (trace.walked) {
    if (trace.psc_level >= 2 && trace.psc_level < 6 && psc_bins_[trace.psc_level] != kNone)
      hit(psc_bins_[trace.psc_level]);
    else if (trace.psc_level == 0)
      hit(full_walk_bin_);
    if (trace.ntlb_hits)
      hit(ntlb_hit_bin_);
    for (unsigned l = 2; l < 6; ++l)
      if ((trace.ept_psc_levels >> l) & 1 && ept_psc_bins_[l] != kNone)
        hit(ept_psc_bins_[l]);
    if (trace.escaped)
      hit(escape_bin_);
  }
  if (t.segment != CheckedTransaction::SegmentPath::None)
    sampleSegment(t);
  if (t.uses_ept && trace.walked)
    sampleEptFormat(t);
  if (t.mode == Mode::Agile && t.result->trace.walked)
    sampleAgile(t);
  if (t.sizes_known) {
    const unsigned bin = size_bins_[mode][static_cast<unsigned>(t.guest_size)][static_cast<unsigned>(t.host_size)];
    if (bin != kNone)
      hit(bin);
  }
}

// A walk in a mode with an EPT, by its format (§21): one that read the EPT and translated, an
// EPT violation or misconfiguration; 2level's 1G leaves and level-2 EPT PSC hits, and 1level's
// gPAs beyond the reach (an EPT violation whose gPA is at or above 1 GiB).
void Coverage::sampleEptFormat(const CheckedTransaction &t) {
  const Response &resp = t.result->resp;
  const unsigned f = static_cast<unsigned>(t.ept_format);
  bool read_ept = false;
  for (const MemOp &op : t.result->ops)
    read_ept = read_ept || op.dim == Dim::Nested;
  if (resp.fault == Fault::None && read_ept)
    hit(ept_format_bins_[f][0]);
  if (resp.fault == Fault::EptViolation)
    hit(ept_format_bins_[f][1]);
  if (resp.fault == Fault::EptMisconfig)
    hit(ept_format_bins_[f][2]);
  if (t.ept_format == EptFormat::Flat2) {
    if (t.sizes_known && t.host_size == PageSize::Size1G)
      hit(flat2_1g_bin_);
    if ((t.result->trace.ept_psc_levels >> 2) & 1 && flat2_ept_psc_bin_ != kNone)
      hit(flat2_ept_psc_bin_);
  }
  if (t.ept_format == EptFormat::Flat1 && resp.fault == Fault::EptViolation && (resp.fault_addr >> 30) != 0)
    hit(flat1_beyond_bin_);
}

void Coverage::sampleSegment(const CheckedTransaction &t) {
  using Path = CheckedTransaction::SegmentPath;
  const Response &resp = t.result->resp;
  const unsigned s = t.mode == Mode::DualDirect ? 1 : 0;
  const unsigned(&bins)[6] = segment_bins_[s];
  if (t.segment == Path::EscapedVa)
    hit(bins[1]);
  if (t.segment == Path::Outside)
    hit(bins[2]);
  if (t.segment != Path::InSegment)
    return;
  if (resp.fault == Fault::None)
    hit(bins[0]);
  if (resp.fault == Fault::GuestPageFault)  // the only guest fault of a segment translation (§18.3)
    hit(bins[3]);
  if (s == 0 && (resp.fault == Fault::EptViolation || resp.fault == Fault::EptMisconfig))
    hit(bins[4]);
  if (s == 1 && t.result->trace.escaped)
    hit(bins[4]);
  if (s == 1 && resp.fault == Fault::Bounds)
    hit(bins[5]);
}

void Coverage::sampleAgile(const CheckedTransaction &t) {
  const TranslateResult &result = *t.result;
  const unsigned switch_level = result.trace.agile_switch_level;
  const bool resumed = switch_level != 0 && result.trace.psc_level != 0 && switch_level + 1 == result.trace.psc_level;
  if (resumed)
    hit(agile_resumed_bin_);
  else if (switch_level == 0)
    hit(agile_no_switch_bin_);
  else if (switch_level < 6 && agile_switch_bins_[switch_level] != kNone)
    hit(agile_switch_bins_[switch_level]);
  const Fault fault = result.resp.fault;
  if (fault == Fault::GuestPageFault)
    hit(result.resp.vm_exit ? agile_shadow_fault_bin_ : agile_guest_fault_bin_);
  if (fault == Fault::EptViolation || fault == Fault::EptMisconfig)
    hit(agile_ept_fault_bin_);
}

void Coverage::write(const ObservedControl &control) {
  const unsigned op = static_cast<unsigned>(control.command.op);
  if (op == 0) {
    const unsigned reg = regBin(control.command.reg);
    if (reg != kNone && write_reg_bins_[reg] != kNone)
      hit(write_reg_bins_[reg]);
  } else if (op < 6) {
    hit(control_bins_[op]);
  }
}

void Coverage::write(const ChurnSample &churn) { hit(churn_bins_[static_cast<unsigned>(churn.kind)]); }

void Coverage::sampleEnd(const StallCounts &stalls, uint64_t delayed_memory_responses, const Mmu &model,
                         const Scoreboard::RemovalsByOp &stlb_removals,
                         const Scoreboard::RemovalsByOp &ept_psc_removals) {
  for (unsigned c = 0; c < stlb_removals.size(); ++c) {
    if (stlb_removal_bins_[c] != kNone)
      bins_[stlb_removal_bins_[c]].hits += stlb_removals[c];
    if (ept_psc_removal_bins_[c] != kNone)
      bins_[ept_psc_removal_bins_[c]].hits += ept_psc_removals[c];
  }
  for (unsigned c = 0; c < stalls.size(); ++c)
    if (stall_bins_[c] != kNone)
      bins_[stall_bins_[c]].hits += stalls[c];
  bins_[delayed_memory_bin_].hits += delayed_memory_responses;
  bins_[counter_bins_[0]].hits += model.counter(Counter::GuestAdUpdates);
  bins_[counter_bins_[1]].hits += model.counter(Counter::NestedAdUpdates);
  bins_[counter_bins_[2]].hits += model.counter(Counter::PermRefills);
  bins_[counter_bins_[3]].hits += model.counter(Counter::Escapes);
}

unsigned Coverage::declare(const std::string &pattern) {
  const bool prefix = !pattern.empty() && pattern.back() == '*';
  const std::string stem = prefix ? pattern.substr(0, pattern.size() - 1) : pattern;
  unsigned declared = 0;
  for (Bin &bin : bins_) {
    if (prefix ? bin.name.compare(0, stem.size(), stem) == 0 : bin.name == stem) {
      bin.declared = true;
      ++declared;
    }
  }
  return declared;
}

unsigned Coverage::report(ReportServer &reporter) const {
  unsigned declared = 0, covered = 0, missed = 0;
  std::string table;
  for (const Bin &bin : bins_) {
    if (bin.declared) {
      ++declared;
      (bin.hits ? covered : missed) += 1;
    }
    table += format("  %-44s %12llu%s\n", bin.name.c_str(), static_cast<unsigned long long>(bin.hits),
                    bin.declared ? (bin.hits ? "" : "   <-- declared, NOT HIT") : "   (not declared)");
  }
  reporter.info(name(), Verbosity::Low,
                format("functional coverage: %u of %u declared bins hit\n%s", covered, declared, table.c_str()));
  for (const Bin &bin : bins_)
    if (bin.declared && bin.hits == 0)
      reporter.error(name(), "declared coverage bin not hit: " + bin.name);
  return missed;
}

}  // namespace vmmu::tb
