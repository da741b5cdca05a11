// scoreboard.cpp - golden-model checking.
#include "scoreboard.h"

#include "dut.h"
#include "vmmu/paging.h"

namespace vmmu::tb {

Scoreboard::Scoreboard(sc_core::sc_module_name name, const MmuConfig &config, SparseMemory &model_memory,
                       ReportServer &reporter, const TbOptions &options)
    : Component(name), options_(options), reporter_(reporter), model_memory_(model_memory),
      model_(config, model_memory, &timing_) {
  observed_.ops.reserve(256);
  observed_.op_cycles.reserve(256);
  result_.ops.reserve(256);
}

Scoreboard::Event &Scoreboard::pushEvent(Event::Kind kind) {
  if (count_ == kQueue) {
    reporter_.error(name(), "event queue overflow: the DUT accepted 64 commands without a response");
    count_ = 0;
  }
  Event &event = queue_[(head_ + count_) % kQueue];
  ++count_;
  event.kind = kind;
  return event;
}

void Scoreboard::write(const ObservedRequest &observed) {
  pushEvent(Event::Kind::Request).request = observed;
  ++outstanding_;
}

void Scoreboard::write(const ObservedControl &observed) {
  if (outstanding_ == 0 && count_ == 0) {
    Event event;
    event.kind = Event::Kind::Control;
    event.control = observed.command;
    apply(event);
    return;
  }
  pushEvent(Event::Kind::Control).control = observed.command;
}

void Scoreboard::tableWrite(const TableWrite &change) {
  if (outstanding_ == 0 && count_ == 0) {
    model_memory_.write64(change.addr, change.apply(model_memory_.peek64(change.addr)));
    return;
  }
  pushEvent(Event::Kind::TableWrite).table_write = change;
}

void Scoreboard::write(const ObservedMemOp &observed) {
  if (observed_.ops.size() < 4096) {
    observed_.ops.push_back(observed.op);
    observed_.op_cycles.push_back(observed.cycles());
  }
}

void Scoreboard::apply(const Event &event) {
  if (event.kind == Event::Kind::Control) {
    const ControlCommand &c = event.control;
    const unsigned op = static_cast<unsigned>(c.op);
    // An unused op code (6, 7) is accepted and has no effect (§13); the model's API rejects it.
    if (op > static_cast<unsigned>(CtrlOp::InvAll))
      return;
    const unsigned stlb_before = model_.stlbValidEntries();
    const unsigned ept_psc_before = eptPscValidEntries();
    model_.control(c.op, c.ctx, c.reg, c.data, c.vpid, c.pcid);
    if (op < stlb_removals_.size()) {
      stlb_removals_[op] += model_.stlbValidEntries() < stlb_before ? 1 : 0;
      ept_psc_removals_[op] += eptPscValidEntries() < ept_psc_before ? 1 : 0;
    }
  } else if (event.kind == Event::Kind::TableWrite) {
    const TableWrite &w = event.table_write;
    model_memory_.write64(w.addr, w.apply(model_memory_.peek64(w.addr)));
  }
}

unsigned Scoreboard::eptPscValidEntries() const {
  unsigned entries = 0;
  for (unsigned level = 2; level <= model_.config().nested_levels; ++level)
    entries += model_.eptPscValidEntries(level);
  return entries;
}

void Scoreboard::drain() {
  while (count_ && queue_[head_].kind != Event::Kind::Request) {
    apply(queue_[head_]);
    head_ = (head_ + 1) % kQueue;
    --count_;
  }
}

void Scoreboard::write(const ObservedResponse &observed) {
  drain();
  if (count_ == 0) {
    reporter_.error(name(), "response without an accepted request: " + toString(observed.response));
    return;
  }
  const ObservedRequest request = queue_[head_].request;
  head_ = (head_ + 1) % kQueue;
  --count_;
  --outstanding_;
  check(request, observed);
  observed_.ops.clear();
  observed_.op_cycles.clear();
}

void Scoreboard::mismatch(const ObservedRequest &request, const std::string &what) {
  if (failed_)
    return;
  failed_ = true;
  TbOptions repro = options_;
  repro.wave_file = "fail.fst";
  repro.wave_start = request.accept_cycle > 200 ? request.accept_cycle - 200 : 0;
  repro.wave_stop = UINT64_MAX;
  reporter_.error(name(), format("MISMATCH in transaction #%llu accepted at cycle %llu: %s%s\n  reproduce: %s",
                                 static_cast<unsigned long long>(checked_), static_cast<unsigned long long>(request.accept_cycle),
                                 toString(request.request).c_str(), what.c_str(), reproduceCommand(repro).c_str()));
}

void Scoreboard::check(const ObservedRequest &request, const ObservedResponse &response) {
  timing_.replay(observed_.op_cycles);
  model_.translate(request.request, result_);
  observed_.resp = response.response;
  observed_.latency = response.first_valid_cycle - request.accept_cycle;
  // A response that waited behind an earlier one on the port did not show its own latency.
  const std::string what = compareTranslation(observed_, result_, request.response_port_free);
  if (!what.empty()) {
    mismatch(request, what);
    return;
  }
  if (reporter_.enabled(Verbosity::High))
    reporter_.info(name(), Verbosity::High,
                   format("#%llu ok: %s -> %s (%zu ops)", static_cast<unsigned long long>(checked_),
                          toString(request.request).c_str(), toString(result_.resp).c_str(), result_.ops.size()));
  CheckedTransaction checked;
  checked.index = checked_;
  checked.request = &request.request;
  checked.result = &result_;
  if (checked_port.connected() && (!result_.resp.tlb_hit || result_.trace.stlb_hit))
    classify(request.request, checked);
  checked_port.write(checked);
  ++checked_;
}

// §18.1: in the segment when BASE <= va < LIMIT; escaped when a valid GESCAPE entry holds its 4K
// page.
CheckedTransaction::SegmentPath Scoreboard::segmentPath(unsigned slot, uint64_t va) const {
  const uint64_t base = model_.readReg(slot, CtxReg::GsegBase) & ~uint64_t{0xfff};
  if (va < base || va >= model_.readReg(slot, CtxReg::GsegLimit))
    return CheckedTransaction::SegmentPath::Outside;
  for (unsigned k = 0; k < model_.config().escape_entries; ++k) {
    const uint64_t entry = model_.readReg(slot, guestEscapeReg(k));
    if ((entry & 1) && (entry & ~uint64_t{0xfff}) == (va & ~uint64_t{0xfff}))
      return CheckedTransaction::SegmentPath::EscapedVa;
  }
  return CheckedTransaction::SegmentPath::InSegment;
}

void Scoreboard::classify(const Request &request, CheckedTransaction &out) {
  const MmuConfig &config = model_.config();
  unsigned slot = config.num_contexts;
  for (unsigned i = 0; i < config.num_contexts; ++i) {
    const uint64_t vpid = model_.readReg(i, CtxReg::Vpid);
    if ((vpid >> 16 & 1) && (vpid & 0xffff) == request.vpid) {
      slot = i;
      break;
    }
  }
  if (slot == config.num_contexts)
    return;
  out.has_context = true;
  out.mode = static_cast<Mode>(model_.readReg(slot, CtxReg::Mode) & 7);
  if ((out.mode == Mode::GuestDirect || out.mode == Mode::DualDirect) && result_.trace.walked)
    out.segment = segmentPath(slot, request.va);
  const uint64_t eptp = model_.readReg(slot, CtxReg::Eptp);
  out.uses_ept = out.mode != Mode::Native && out.mode != Mode::Shadow;
  out.ept_format = eptFormatOf(eptp);
  if (result_.resp.fault != Fault::None || !result_.trace.walked)
    return;
  const MemOp *leaf = nullptr;
  for (const MemOp &op : result_.ops)
    if (op.dim == Dim::Guest && op.kind == MemOpKind::Read)
      leaf = &op;
  if (!leaf || leaf->level < 1 || leaf->level > 3)
    return;
  out.guest_size = static_cast<PageSize>(leaf->level - 1);
  out.host_size = out.guest_size;
  out.sizes_known = true;
  // Outside the guest segment (the only walks with a guest leaf) GUEST_DIRECT walks as NESTED and
  // DUAL_DIRECT as DIRECT (§18.2).
  if (out.mode == Mode::Direct || out.mode == Mode::DualDirect) {
    out.host_size = result_.resp.size;
  } else if (out.mode == Mode::Nested || out.mode == Mode::GuestDirect) {
    const uint64_t address_mask = ((uint64_t{1} << config.pa_bits) - 1) & ~uint64_t{0xfff};
    const uint64_t page_mask = pageBytes(out.guest_size) - 1;
    const uint64_t pte = model_memory_.peek64(leaf->addr);
    const uint64_t gpa = (pte & address_mask & ~page_mask) | (request.va & page_mask);
    // The EPT leaf's size, by the format's levels (§21.1: a flattened table is 2 MiB aligned, an
    // 18-bit index a level; its level 2 maps 1G, level 1 2M with LP).
    const bool flat = out.ept_format != EptFormat::Radix;
    uint64_t table = eptp & address_mask & (flat ? ~(kFlatTableBytes - 1) : ~uint64_t{0});
    out.sizes_known = false;
    const unsigned levels = out.ept_format == EptFormat::Flat2 ? 2 : flat ? 1 : config.nested_levels;
    for (unsigned level = levels; level >= 1; --level) {
      const uint64_t index = flat ? flatEntryIndex(gpa, level) : entryIndex(gpa, level);
      const uint64_t entry = model_memory_.peek64(table + 8 * index);
      if (!(entry & (ept::R | ept::W | ept::X)))
        break;
      if (level == 1 || (entry & ept::LP)) {
        const unsigned size_level = !flat ? level : level == 2 ? 3 : (entry & ept::LP) ? 2 : 1;
        if (size_level <= 3) {
          out.host_size = static_cast<PageSize>(size_level - 1);
          out.sizes_known = true;
        }
        break;
      }
      table = entry & address_mask;
    }
  }
}

bool Scoreboard::checkCounters(Dut &dut) {
  drain();
  if (failed_)
    return false;
  const auto &expected = model_.counters();
  std::string what;
  for (unsigned i = 0; i < 64; ++i) {
    const uint64_t rtl = dut.readCounter(i);
    const uint64_t model = i < kNumCounters ? expected[i] : 0;
    if (rtl != model)
      what += format("  counter %2u %-20s rtl %llu model %llu\n", i,
                     i < kNumCounters ? std::string(toString(static_cast<Counter>(i))).c_str() : "(unused)",
                     static_cast<unsigned long long>(rtl), static_cast<unsigned long long>(model));
  }
  if (what.empty()) {
    reporter_.info(name(), Verbosity::Medium,
                   format("checkpoint: all counters match after %llu translations", static_cast<unsigned long long>(checked_)));
    return true;
  }
  failed_ = true;
  what.pop_back();
  TbOptions repro = options_;
  repro.wave_file = "fail.fst";
  repro.wave_start = dut.cycle() > 2000 ? dut.cycle() - 2000 : 0;
  reporter_.error(name(), format("COUNTER MISMATCH at checkpoint after %llu translations:\n%s\n  reproduce: %s",
                                 static_cast<unsigned long long>(checked_), what.c_str(), reproduceCommand(repro).c_str()));
  return false;
}

}  // namespace vmmu::tb
