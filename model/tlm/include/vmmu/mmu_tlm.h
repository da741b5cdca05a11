// vmmu/mmu_tlm.h - the golden model as a SystemC TLM-2.0 component.
//
// Drops the transaction-level MMU into a virtual platform:
//   - `translate` (target socket): one translation per b_transport. The generic payload's address
//     is the request's VA; a TranslationExtension (mandatory) carries the full Request in and the
//     Response out. The delay is annotated with the spec's latency (§12): one cycle for TLB hits
//     and early faults, walk_cycles for walks. transport_dbg answers the same question without
//     side effects (no cache, PLRU, counter or A/D change; see Mmu::peek).
//   - `memory` (initiator socket): the walker's page-table reads and A/D updates, 8 bytes each.
//     A FETCH_OR is a read followed by a write inside one b_transport call of the MMU; it is atomic
//     as long as the memory target does not wait() between the two.
// A memory operation costs c = 1 + ceil(delay the target annotated / clock period) cycles, at
// least 2 (a response comes at least one cycle after the request, §13).
#pragma once

#include <memory>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "vmmu/mmu.h"

namespace vmmu {

// Carries a translation through a generic payload.
class TranslationExtension final : public tlm::tlm_extension<TranslationExtension> {
public:
  Request request;
  Response response;
  WalkTrace trace;

  tlm::tlm_extension_base *clone() const override { return new TranslationExtension(*this); }
  void copy_from(const tlm::tlm_extension_base &other) override {
    *this = static_cast<const TranslationExtension &>(other);
  }
};

class MmuTlm final : public sc_core::sc_module {
public:
  tlm_utils::simple_target_socket<MmuTlm> translate;
  tlm_utils::simple_initiator_socket<MmuTlm> memory;

  MmuTlm(sc_core::sc_module_name name, const MmuConfig &config, sc_core::sc_time clock_period);
  ~MmuTlm() override;

  // The control port (§3, §11) and counters are plain calls: they are register accesses of the
  // VMM, not memory-mapped traffic in this wrapper.
  Mmu &mmu() { return *mmu_; }

private:
  class SocketMemory;
  class AnnotatedTiming;

  void b_transport(tlm::tlm_generic_payload &payload, sc_core::sc_time &delay);
  unsigned transport_dbg(tlm::tlm_generic_payload &payload);

  const sc_core::sc_time clock_period_;
  std::unique_ptr<SocketMemory> socket_memory_;
  std::unique_ptr<AnnotatedTiming> timing_;
  std::unique_ptr<Mmu> mmu_;
  TranslateResult result_;  // reused: no allocation per translation
};

}  // namespace vmmu
