// memory_responder.cpp - memory port responder.

// The verilated headers come first: included after SystemC they would take SystemC's time
// source, which the verilated library (built without SystemC) does not use.
#include "Vmmu_top.h"

#include "memory_responder.h"

namespace vmmu::tb {

MemoryResponder::MemoryResponder(sc_core::sc_module_name name, Vmmu_top &top, SparseMemory &memory,
                                 const MemoryKnobs &knobs, Random random)
    : sc_module(name), top_(top), memory_(memory), knobs_(knobs), random_(random) {
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
    rdata_ = top_.mem_req_op_o == 1 ? memory_.fetchOr64(addr, top_.mem_req_wdata_o) : memory_.peek64(addr);
    const unsigned latency = latencyFor(addr);
    due_cycle_ = now_ + (latency == 0 ? 1 : latency);
    pending_ = true;
    if (++responses_ == knobs_.inject_at)
      rdata_ ^= 1;  // a deliberate difference between the DUT's memory and the model's
  }
  ++now_;
}

}  // namespace vmmu::tb
