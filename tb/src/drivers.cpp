// drivers.cpp - request, control and response drivers.

// The verilated headers come first: included after SystemC they would take SystemC's time
// source, which the verilated library (built without SystemC) does not use.
#include "Vmmu_top.h"

#include "drivers.h"

namespace vmmu::tb {

void RequestDriver::drive() {
  top_.req_valid_i = busy_;
  if (!busy_)
    return;
  top_.req_vpid_i = request_.vpid;
  top_.req_pcid_i = request_.pcid;
  top_.req_va_i = request_.va;
  top_.req_access_i = static_cast<uint8_t>(request_.access);
  top_.req_user_i = request_.user;
}

void RequestDriver::observe() {
  if (busy_ && top_.req_ready_o)
    busy_ = false;
}

void ControlDriver::drive() {
  top_.ctrl_valid_i = busy_;
  if (!busy_)
    return;
  top_.ctrl_op_i = static_cast<uint8_t>(command_.op);
  top_.ctrl_ctx_i = command_.ctx;
  top_.ctrl_reg_i = command_.reg;
  top_.ctrl_data_i = command_.data;
  top_.ctrl_vpid_i = command_.vpid;
  top_.ctrl_pcid_i = command_.pcid;
}

void ControlDriver::observe() {
  if (busy_ && top_.ctrl_ready_o)
    busy_ = false;
}

void ResponseDriver::drive() {
  top_.resp_ready_i = stall_permille_ == 0 || !random_.permille(stall_permille_);
}

void ResponseDriver::skip(uint64_t cycles) {
  if (stall_permille_ == 0)
    return;
  for (uint64_t i = 0; i < cycles; ++i)
    random_.permille(stall_permille_);
}

}  // namespace vmmu::tb
