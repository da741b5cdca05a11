// memory_responder.cpp - memory port responder.

// The verilated headers come first: included after SystemC they would take SystemC's time
// source, which the verilated library (built without SystemC) does not use.
#include "Vmmu_top.h"

#include "memory_responder.h"

namespace vmmu::tb {

bool parseInjectKind(const std::string &text, InjectKind &out) {
  if (text == "read_data")
    out = InjectKind::ReadData;
  else if (text == "read_entry")
    out = InjectKind::ReadEntry;
  else
    return false;
  return true;
}

const char *toString(InjectKind kind) { return kind == InjectKind::ReadData ? "read_data" : "read_entry"; }

MemoryResponder::MemoryResponder(sc_core::sc_module_name name, Vmmu_top &top, SparseMemory &memory,
                                 const MemoryKnobs &knobs, Random random, ReportServer &reporter)
    : Driver(name), top_(top), memory_(memory), knobs_(knobs), random_(random), reporter_(reporter) {
  cache_tags_.fill(~uint64_t{0});
}

unsigned MemoryResponder::latencyFor(uint64_t addr) {
  switch (knobs_.model) {
  case LatencyModel::Fixed:
    return knobs_.fixed_cycles;
  case LatencyModel::Random:
    return static_cast<unsigned>(random_.range(knobs_.min_cycles, knobs_.max_cycles));
  case LatencyModel::Cache: {
    const uint64_t line = addr >> 6;
    uint64_t &tag = cache_tags_[line & (knobs_.cache_lines - 1)];
    const bool hit = tag == line;
    tag = line;
    return hit ? knobs_.hit_cycles : knobs_.miss_cycles;
  }
  }
  return 1;
}

// A deliberate difference between what the DUT reads and what the model reads.
void MemoryResponder::inject(uint64_t addr) {
  uint64_t corrupted = rdata_;
  if (knobs_.inject_kind == InjectKind::ReadData)
    corrupted ^= 1;
  else
    corrupted = memory_.peek64(addr ^ 8);
  // Bit 0 is P (guest and shadow tables) or R (EPT): a neighbour that agrees on it may leave the
  // walk's outcome unchanged (two not-present entries), so wait for a READ where it differs.
  if (((corrupted ^ rdata_) & 1) == 0)
    return;
  injection_.done = true;
  injection_.response = injection_.read_responses;
  injection_.addr = addr;
  injection_.original = rdata_;
  injection_.corrupted = corrupted;
  rdata_ = corrupted;
  reporter_.info(name(), Verbosity::None,
                 format("+inject (%s): READ response #%llu from 0x%llx corrupted, 0x%016llx -> 0x%016llx",
                        toString(knobs_.inject_kind), static_cast<unsigned long long>(injection_.response),
                        static_cast<unsigned long long>(addr), static_cast<unsigned long long>(injection_.original),
                        static_cast<unsigned long long>(corrupted)));
}

void MemoryResponder::drive() {
  ready_driven_ = !pending_ && (knobs_.ready_stall_permille == 0 || !random_.permille(knobs_.ready_stall_permille));
  resp_valid_driven_ = pending_ && now_ >= due_cycle_;
  top_.mem_req_ready_i = ready_driven_;
  top_.mem_resp_valid_i = resp_valid_driven_;
  top_.mem_resp_rdata_i = resp_valid_driven_ ? rdata_ : 0;
}

void MemoryResponder::observe() {
  if (resp_valid_driven_ && top_.mem_resp_ready_o)
    pending_ = false;
  if (ready_driven_ && top_.mem_req_valid_o) {
    const uint64_t addr = top_.mem_req_addr_o;
    // op 1 is FETCH_OR (§13); it returns the old value, as a READ does.
    const bool read = top_.mem_req_op_o == 0;
    rdata_ = read ? memory_.peek64(addr) : memory_.fetchOr64(addr, top_.mem_req_wdata_o);
    const unsigned latency = latencyFor(addr);
    due_cycle_ = now_ + (latency == 0 ? 1 : latency);
    pending_ = true;
    if (read && ++injection_.read_responses >= knobs_.inject_at && knobs_.inject_at != 0 && !injection_.done)
      inject(addr);
  }
  ++now_;
}

}  // namespace vmmu::tb
