// monitors.cpp - port monitors and protocol checks.

// The verilated headers come first: included after SystemC they would take SystemC's time
// source, which the verilated library (built without SystemC) does not use.
#include "Vmmu_top.h"

#include "monitors.h"

namespace vmmu::tb {
namespace {

void countStall(StallCounts &stalls, Channel channel) { ++stalls[static_cast<size_t>(channel)]; }

}  // namespace

void RequestMonitor::sample(uint64_t cycle, StallCounts &stalls) {
  if (!top_.req_valid_i)
    return;
  if (!top_.req_ready_o) {
    countStall(stalls, Channel::Request);
    return;
  }
  observed_.request.vpid = top_.req_vpid_i;
  observed_.request.pcid = top_.req_pcid_i;
  observed_.request.va = top_.req_va_i;
  observed_.request.access = static_cast<Access>(top_.req_access_i);
  observed_.request.user = top_.req_user_i;
  observed_.accept_cycle = cycle;
  // A response presented this cycle and accepted frees the port for the new one.
  observed_.response_port_free = !(top_.resp_valid_o && !top_.resp_ready_i);
  port.write(observed_);
}

Response ResponseMonitor::read() const {
  Response r;
  r.hpa = top_.resp_hpa_o;
  r.size = static_cast<PageSize>(top_.resp_size_o);
  r.fault = static_cast<Fault>(top_.resp_fault_o);
  r.fault_info = top_.resp_fault_info_o;
  r.fault_addr = top_.resp_fault_addr_o;
  r.fault_level = top_.resp_fault_level_o;
  r.fault_guest_level = top_.resp_fault_guest_level_o;
  r.vm_exit = top_.resp_vm_exit_o;
  r.tlb_hit = top_.resp_tlb_hit_o;
  return r;
}

void ResponseMonitor::sample(uint64_t cycle, StallCounts &stalls) {
  if (!top_.resp_valid_o) {
    if (waiting_)
      reporter_.error(name(), "protocol: resp_valid_o dropped before the response was accepted");
    waiting_ = false;
    return;
  }
  const Response now = read();
  if (waiting_) {
    if (now != observed_.response)
      reporter_.error(name(), "protocol: response payload changed while resp_valid_o waited for resp_ready_i");
  } else {
    observed_.response = now;
    observed_.first_valid_cycle = cycle;
  }
  if (!top_.resp_ready_i) {
    countStall(stalls, Channel::Response);
    waiting_ = true;
    return;
  }
  waiting_ = false;
  observed_.accept_cycle = cycle;
  port.write(observed_);
}

void ControlMonitor::sample(uint64_t cycle, StallCounts &stalls) {
  if (!top_.ctrl_valid_i)
    return;
  if (!top_.ctrl_ready_o) {
    countStall(stalls, Channel::Control);
    return;
  }
  observed_.command.op = static_cast<CtrlOp>(top_.ctrl_op_i);
  observed_.command.ctx = top_.ctrl_ctx_i;
  observed_.command.reg = top_.ctrl_reg_i;
  observed_.command.data = top_.ctrl_data_i;
  observed_.command.vpid = top_.ctrl_vpid_i;
  observed_.command.pcid = top_.ctrl_pcid_i;
  observed_.accept_cycle = cycle;
  port.write(observed_);
}

MemOp MemoryMonitor::read() const {
  MemOp op;
  op.addr = top_.mem_req_addr_o;
  op.kind = static_cast<MemOpKind>(top_.mem_req_op_o);
  op.mask = op.kind == MemOpKind::FetchOr ? top_.mem_req_wdata_o : 0;
  op.dim = static_cast<Dim>(top_.mem_req_dim_o);
  op.level = top_.mem_req_level_o;
  return op;
}

void MemoryMonitor::sample(uint64_t cycle, StallCounts &stalls) {
  // Response side first: an operation's response and the next request never share a cycle (§12:
  // the next operation is presented in r + 1).
  if (outstanding_ && top_.mem_resp_valid_i && top_.mem_resp_ready_o) {
    outstanding_ = false;
    observed_.response_cycle = cycle;
    if (cycle > transfer_cycle_ + 1)
      ++delayed_;
    port.write(observed_);
  }
  if (!top_.mem_req_valid_o) {
    if (presenting_)
      reporter_.error(name(), "protocol: mem_req_valid_o dropped before the transfer");
    presenting_ = false;
    return;
  }
  if (outstanding_) {
    reporter_.error(name(), "protocol: a second memory operation was presented while one is outstanding");
    return;
  }
  const MemOp now = read();
  if (presenting_) {
    if (now != observed_.op)
      reporter_.error(name(), "protocol: memory request payload changed while waiting for mem_req_ready_i");
  } else {
    observed_.op = now;
    observed_.first_cycle = cycle;
    presenting_ = true;
  }
  if (!top_.mem_req_ready_i) {
    countStall(stalls, Channel::MemRequest);
    return;
  }
  presenting_ = false;
  outstanding_ = true;
  transfer_cycle_ = cycle;
}

}  // namespace vmmu::tb
