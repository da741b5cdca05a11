// verilated_dut_harness.cpp - see verilated_dut_harness.h. Compiled once per verilated
// parameter set (tb/harness/CMakeLists.txt), against that set's class and configuration.
#include "verilated_dut_harness.h"
#include "wave_convention.h"

#include <stdexcept>

#include VMMU_RTL_CLASS_HEADER
#include "verilated.h"
#include "verilated_fst_c.h"

namespace vmmu::rtltest {
inline namespace VMMU_RTL_SET_NAMESPACE {

namespace {
// No translation or command of the default configuration takes this long, even with the
// slowest memory behaviour the tests use; reaching it means the DUT hung.
constexpr uint64_t kCycleBudget = 100000;
}  // namespace

VerilatedDutHarness::VerilatedDutHarness(PhysicalMemory &memory, MemoryBehaviour behaviour,
                       const std::string &fst_path)
    : memory_(memory), behaviour_(behaviour), rng_(behaviour.seed),
      context_(std::make_unique<VerilatedContext>()) {
  if (behaviour_.min_latency < 1 || behaviour_.max_latency < behaviour_.min_latency)
    throw std::invalid_argument("MemoryBehaviour: need 1 <= min_latency <= max_latency");
  if (!fst_path.empty())
    context_->traceEverOn(true);
  top_ = std::make_unique<VMMU_RTL_CLASS>(context_.get(), waves::kTopScope);
  context_->timeprecision(waves::kTimePrecision);
  if (!fst_path.empty()) {
    trace_ = std::make_unique<VerilatedFstC>();
    top_->trace(trace_.get(), 99);
    trace_->open(fst_path.c_str());
  }
  reset();
}

VerilatedDutHarness::~VerilatedDutHarness() {
  if (trace_)
    trace_->close();
  top_->final();
  // Verilator 5.006 erases the model's scopes (which --assert creates) from the thread's current
  // context, not the model's own: with several harnesses in one program that may be another's,
  // already destroyed. Make it this harness's context first.
  Verilated::threadContextp(context_.get());
  top_.reset();
}

unsigned VerilatedDutHarness::drawLatency(const MemOp &op) {
  if (behaviour_.timing != nullptr) {
    const uint64_t cycles = behaviour_.timing->cycles(op);
    if (cycles < 2 || cycles > kCycleBudget)
      throw std::runtime_error("DutHarness: memory timing gave " + std::to_string(cycles) +
                               " cycles for one operation (need 2.." + std::to_string(kCycleBudget) + ")");
    return static_cast<unsigned>(cycles - 1);
  }
  if (behaviour_.min_latency == behaviour_.max_latency)
    return behaviour_.min_latency;
  std::uniform_int_distribution<unsigned> dist(behaviour_.min_latency, behaviour_.max_latency);
  return dist(rng_);
}

void VerilatedDutHarness::reset() {
  top_->req_valid_i = 0;
  top_->resp_ready_i = 1;
  top_->ctrl_valid_i = 0;
  top_->mem_req_ready_i = 0;
  top_->mem_resp_valid_i = 0;
  top_->ctr_sel_i = 0;
  top_->rst_ni = 0;
  pending_ = false;
  op_start_ = kNone;
  step();
  step();
  top_->rst_ni = 1;
  pending_ = false;
  op_start_ = kNone;
  skipped_walk_cycles_ = 0;  // the reset cleared the DUT's counters
}

// §12: with the walker in a memory wait (mem_wait_o, a function of registers) and the response
// not due this cycle, the cycles up to the one before it change nothing in the DUT but
// WALK_CYCLES, and nothing here: the request, control and response inputs stay as they are (the
// loops below change them only after a transfer, and none happens in a wait) and
// mem_resp_valid_i stays low. So they are accounted instead of clocked: the cycle count advances,
// the stall draws each of them would have made are made (the random sequence stays the same),
// and WALK_CYCLES is corrected when read. Each operation's own latency sets pending_due_, so
// varying latencies are skipped exactly too.
void VerilatedDutHarness::skipMemoryWait() {
  if (!cycle_skip_ || (trace_ && dump_enabled_) || !pending_ || pending_due_ <= cycle_ ||
      !top_->rst_ni || !top_->mem_wait_o)
    return;
  const uint64_t skipped = pending_due_ - cycle_;
  if (behaviour_.stall_percent > 0) {
    std::uniform_int_distribution<unsigned> dist(0, 99);
    for (uint64_t i = 0; i < skipped; ++i)
      dist(rng_);
  }
  cycle_ += skipped;
  skipped_cycles_ += skipped;
  skipped_walk_cycles_ += skipped;
  context_->time(waves::clockLowTime(cycle_));
}

// One clock cycle: inputs for the cycle, settle, observe the handshakes, rising edge.
void VerilatedDutHarness::step() {
  skipMemoryWait();
  bool stall = false;
  if (behaviour_.stall_percent > 0) {
    std::uniform_int_distribution<unsigned> dist(0, 99);
    stall = dist(rng_) < behaviour_.stall_percent;
  }
  top_->mem_req_ready_i = !pending_ && !stall;
  const bool presenting = pending_ && pending_due_ <= cycle_;
  top_->mem_resp_valid_i = presenting;
  top_->mem_resp_rdata_i = presenting ? pending_data_ : 0;
  top_->clk_i = 0;
  top_->eval();
  if (trace_ && dump_enabled_)
    trace_->dump(waves::clockLowTime(cycle_));

  if (top_->mem_req_valid_o && op_start_ == kNone)
    op_start_ = cycle_;
  const bool mem_req_fire = top_->mem_req_valid_o && top_->mem_req_ready_i;
  const bool mem_resp_fire = top_->mem_resp_valid_i && top_->mem_resp_ready_o;
  req_fired_ = top_->req_valid_i && top_->req_ready_o;
  ctrl_fired_ = top_->ctrl_valid_i && top_->ctrl_ready_o;
  resp_fired_ = top_->resp_valid_o && top_->resp_ready_i;
  if (resp_fired_) {
    last_resp_.hpa = top_->resp_hpa_o;
    last_resp_.size = static_cast<PageSize>(top_->resp_size_o);
    last_resp_.fault = static_cast<Fault>(top_->resp_fault_o);
    last_resp_.fault_info = top_->resp_fault_info_o;
    last_resp_.fault_addr = top_->resp_fault_addr_o;
    last_resp_.fault_level = top_->resp_fault_level_o;
    last_resp_.fault_guest_level = top_->resp_fault_guest_level_o;
    last_resp_.vm_exit = top_->resp_vm_exit_o;
    last_resp_.tlb_hit = top_->resp_tlb_hit_o;
  }
  if (mem_resp_fire) {
    op_cycles_.push_back(cycle_ - op_start_ + 1);
    if (memory_log_)
      memory_log_->push_back(MemoryEvent{cycle_, true, pending_op_, pending_data_});
    pending_ = false;
    op_start_ = kNone;
  }
  if (mem_req_fire) {
    MemOp op;
    op.addr = top_->mem_req_addr_o;
    op.kind = static_cast<MemOpKind>(top_->mem_req_op_o);
    op.mask = op.kind == MemOpKind::FetchOr ? top_->mem_req_wdata_o : 0;
    op.dim = static_cast<Dim>(top_->mem_req_dim_o);
    op.level = top_->mem_req_level_o;
    ops_.push_back(op);
    pending_op_ = op;
    if (memory_log_)
      memory_log_->push_back(MemoryEvent{cycle_, false, op, 0});
    pending_data_ = op.kind == MemOpKind::Read ? memory_.read64(op.addr)
                                               : memory_.fetchOr64(op.addr, op.mask);
    pending_ = true;
    pending_due_ = cycle_ + drawLatency(op);
  }

  top_->clk_i = 1;
  top_->eval();
  if (trace_ && dump_enabled_)
    trace_->dump(waves::risingEdgeTime(cycle_));
  ++cycle_;
  context_->time(waves::clockLowTime(cycle_));
}

void VerilatedDutHarness::presentRequest(const Request &req) {
  top_->req_valid_i = 1;
  top_->req_vpid_i = req.vpid;
  top_->req_pcid_i = req.pcid & 0xfff;
  top_->req_va_i = req.va;
  top_->req_access_i = static_cast<uint8_t>(req.access);
  top_->req_user_i = req.user;
}

std::vector<Response> VerilatedDutHarness::stream(const std::vector<Request> &requests, uint64_t &cycles) {
  std::vector<Response> responses;
  size_t next = 0;
  uint64_t first_accept = kNone;
  top_->resp_ready_i = 1;
  if (!requests.empty())
    presentRequest(requests[0]);
  const uint64_t deadline = cycle_ + kCycleBudget * (requests.size() + 1);
  while (responses.size() < requests.size() && cycle_ < deadline) {
    step();
    if (resp_fired_)
      responses.push_back(last_resp_);
    if (req_fired_) {
      if (first_accept == kNone)
        first_accept = cycle_ - 1;
      if (++next < requests.size())
        presentRequest(requests[next]);
      else
        top_->req_valid_i = 0;
    }
  }
  if (responses.size() < requests.size())
    throw std::runtime_error("DutHarness::stream: responses missing after the cycle budget");
  cycles = first_accept == kNone ? 0 : (cycle_ - 1) - first_accept;
  return responses;
}

DutTranslation VerilatedDutHarness::translate(const Request &req) {
  presentRequest(req);
  top_->resp_ready_i = 1;
  DutTranslation out;
  uint64_t accepted = kNone;
  const uint64_t deadline = cycle_ + kCycleBudget;
  while (cycle_ < deadline) {
    step();
    if (req_fired_) {
      accepted = cycle_ - 1;
      top_->req_valid_i = 0;
      ops_.clear();
      op_cycles_.clear();
    }
    if (resp_fired_ && accepted != kNone) {
      out.resp = last_resp_;
      out.ops = ops_;
      out.op_cycles = op_cycles_;
      out.latency = (cycle_ - 1) - accepted;
      return out;
    }
  }
  throw std::runtime_error("DutHarness::translate: no response within the cycle budget");
}

void VerilatedDutHarness::control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid,
                         uint16_t pcid) {
  top_->ctrl_valid_i = 1;
  top_->ctrl_op_i = static_cast<uint8_t>(op);
  top_->ctrl_ctx_i = ctx;
  top_->ctrl_reg_i = reg;
  top_->ctrl_data_i = data;
  top_->ctrl_vpid_i = vpid;
  top_->ctrl_pcid_i = pcid & 0xfff;
  const uint64_t deadline = cycle_ + kCycleBudget;
  while (cycle_ < deadline) {
    step();
    if (ctrl_fired_) {
      top_->ctrl_valid_i = 0;
      return;
    }
  }
  throw std::runtime_error("DutHarness::control: command not accepted within the cycle budget");
}

uint64_t VerilatedDutHarness::counter(unsigned index) {
  top_->ctr_sel_i = index;
  top_->eval();
  const uint64_t skipped = index == static_cast<unsigned>(Counter::WalkCycles) ? skipped_walk_cycles_ : 0;
  return top_->ctr_value_o + skipped;
}

namespace {
std::unique_ptr<DutHarness> makeHarness(PhysicalMemory &memory, const MemoryBehaviour &behaviour,
                                        const std::string &fst_path) {
  return std::make_unique<VerilatedDutHarness>(memory, behaviour, fst_path);
}
}  // namespace

const RtlParameterSet &parameterSet() {
  static const RtlParameterSet set{rtl::kParameterSet, rtl::kParameterOverrides, rtl::verilatedConfig(),
                                   &makeHarness};
  return set;
}

}  // namespace VMMU_RTL_SET_NAMESPACE
}  // namespace vmmu::rtltest
