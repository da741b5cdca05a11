// mmu_tlm.cpp - TLM-2.0 wrapper of the golden model; see vmmu/mmu_tlm.h.
#include "vmmu/mmu_tlm.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "vmmu/paging.h"

namespace vmmu {

// PhysicalMemory that forwards every access to the initiator socket. In debug mode (used while
// answering transport_dbg) it uses transport_dbg and refuses writes, so a peek changes nothing.
class MmuTlm::SocketMemory final : public PhysicalMemory {
public:
  explicit SocketMemory(tlm_utils::simple_initiator_socket<MmuTlm> &socket) : socket_(socket) {}

  void setDebug(bool debug) { debug_ = debug; }
  // Delay the target annotated on the last transport, consumed by AnnotatedTiming.
  sc_core::sc_time takeLastDelay() {
    const sc_core::sc_time d = last_delay_;
    last_delay_ = sc_core::SC_ZERO_TIME;
    return d;
  }

  uint64_t read64(uint64_t addr) override {
    uint64_t value = 0;
    access(tlm::TLM_READ_COMMAND, addr, &value);
    return value;
  }
  void write64(uint64_t addr, uint64_t value) override { access(tlm::TLM_WRITE_COMMAND, addr, &value); }
  uint64_t fetchOr64(uint64_t addr, uint64_t mask) override {
    uint64_t old = 0;
    access(tlm::TLM_READ_COMMAND, addr, &old);
    const sc_core::sc_time read_delay = last_delay_;
    uint64_t updated = old | mask;
    access(tlm::TLM_WRITE_COMMAND, addr, &updated);
    last_delay_ += read_delay;
    return old;
  }

private:
  void access(tlm::tlm_command command, uint64_t addr, uint64_t *data) {
    tlm::tlm_generic_payload payload;
    payload.set_command(command);
    payload.set_address(addr);
    payload.set_data_ptr(reinterpret_cast<unsigned char *>(data));
    payload.set_data_length(8);
    payload.set_streaming_width(8);
    payload.set_byte_enable_ptr(nullptr);
    payload.set_dmi_allowed(false);
    payload.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    if (debug_) {
      if (command == tlm::TLM_WRITE_COMMAND)
        throw std::logic_error("vmmu::MmuTlm: a debug lookup tried to write memory");
      if (socket_->transport_dbg(payload) != 8)
        throw std::runtime_error("vmmu::MmuTlm: transport_dbg of page-table memory at " + hex(addr) +
                                 " returned fewer than 8 bytes");
      return;
    }
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    socket_->b_transport(payload, delay);
    if (payload.is_response_error())
      throw std::runtime_error("vmmu::MmuTlm: page-table memory access at " + hex(addr) + " failed: " +
                               payload.get_response_string());
    last_delay_ = delay;
  }

  tlm_utils::simple_initiator_socket<MmuTlm> &socket_;
  bool debug_ = false;
  sc_core::sc_time last_delay_ = sc_core::SC_ZERO_TIME;
};

// Converts the delay the memory target annotated into the op's cycle cost c (§12).
class MmuTlm::AnnotatedTiming final : public MemoryTiming {
public:
  AnnotatedTiming(SocketMemory &memory, sc_core::sc_time period) : memory_(memory), period_(period) {}
  uint64_t cycles(const MemOp &) override {
    const double ratio = memory_.takeLastDelay() / period_;
    uint64_t wait = static_cast<uint64_t>(ratio);
    if (static_cast<double>(wait) < ratio)
      ++wait;
    return 1 + (wait < 1 ? 1 : wait);
  }

private:
  SocketMemory &memory_;
  const sc_core::sc_time period_;
};

MmuTlm::MmuTlm(sc_core::sc_module_name name, const MmuConfig &config, sc_core::sc_time clock_period)
    : sc_core::sc_module(name), translate("translate"), memory("memory"), clock_period_(clock_period) {
  if (clock_period_ <= sc_core::SC_ZERO_TIME)
    throw std::invalid_argument("vmmu::MmuTlm: clock period must be positive");
  socket_memory_ = std::make_unique<SocketMemory>(memory);
  timing_ = std::make_unique<AnnotatedTiming>(*socket_memory_, clock_period_);
  mmu_ = std::make_unique<Mmu>(config, *socket_memory_, timing_.get());
  translate.register_b_transport(this, &MmuTlm::b_transport);
  translate.register_transport_dbg(this, &MmuTlm::transport_dbg);
}

MmuTlm::~MmuTlm() = default;

void MmuTlm::b_transport(tlm::tlm_generic_payload &payload, sc_core::sc_time &delay) {
  TranslationExtension *ext = nullptr;
  payload.get_extension(ext);
  if (ext == nullptr) {
    payload.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  ext->request.va = payload.get_address();
  mmu_->translate(ext->request, result_);
  ext->response = result_.resp;
  ext->trace = result_.trace;
  const uint64_t cycles = result_.trace.walked ? result_.trace.walk_cycles : 1;
  delay += clock_period_ * static_cast<double>(cycles);
  payload.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned MmuTlm::transport_dbg(tlm::tlm_generic_payload &payload) {
  TranslationExtension *ext = nullptr;
  payload.get_extension(ext);
  if (ext == nullptr)
    return 0;
  ext->request.va = payload.get_address();
  socket_memory_->setDebug(true);
  try {
    ext->response = mmu_->peek(ext->request);
  } catch (...) {
    socket_memory_->setDebug(false);
    throw;
  }
  socket_memory_->setDebug(false);
  ext->trace = WalkTrace{};
  return 1;
}

}  // namespace vmmu
