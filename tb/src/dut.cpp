// dut.cpp - the verilated DUT harness.

// The verilated headers come first: included after SystemC they would take SystemC's time
// source, which the verilated library (built without SystemC) does not use.
#include "Vmmu_top.h"
#include "verilated.h"
#include "verilated_fst_c.h"
#if VMMU_TB_COVERAGE
#include "verilated_cov.h"
#endif

#include "dut.h"

#include <stdexcept>

namespace vmmu::tb {

Dut::Dut(sc_core::sc_module_name name, const DutOptions &options)
    : sc_module(name), context_(std::make_unique<VerilatedContext>()), options_(options) {
  if (!options_.file.empty())
    context_->traceEverOn(true);
  top_ = std::make_unique<Vmmu_top>(context_.get(), "mmu_top");
  if (!options_.file.empty()) {
    trace_ = std::make_unique<VerilatedFstC>();
    top_->trace(trace_.get(), 99);
    trace_->open(options_.file.c_str());
    if (!trace_->isOpen())
      throw std::runtime_error("cannot open wave file '" + options_.file + "'");
  }
  top_->clk_i = 0;
  top_->rst_ni = 0;
  top_->eval();
}

Dut::~Dut() { finish(); }

void Dut::finish() {
  if (finished_)
    return;
  finished_ = true;
  if (trace_ && trace_->isOpen())
    trace_->close();
  top_->final();
#if VMMU_TB_COVERAGE
  if (!options_.coverage_file.empty())
    context_->coveragep()->write(options_.coverage_file.c_str());
#endif
}

void Dut::dump(uint64_t time) {
  if (trace_ && cycle_ >= options_.start_cycle && cycle_ <= options_.stop_cycle)
    trace_->dump(time);
}

void Dut::reset(unsigned cycles) {
  Vmmu_top &t = *top_;
  t.req_valid_i = 0;
  t.resp_ready_i = 0;
  t.mem_req_ready_i = 0;
  t.mem_resp_valid_i = 0;
  t.ctrl_valid_i = 0;
  t.ctr_sel_i = 0;
  t.rst_ni = 0;
  for (unsigned i = 0; i < cycles; ++i) {
    settle();
    tick();
  }
  t.rst_ni = 1;
}

void Dut::settle() {
  top_->clk_i = 0;
  top_->eval();
  dump(2 * cycle_);
}

void Dut::tick() {
  top_->clk_i = 1;
  top_->eval();
  dump(2 * cycle_ + 1);
  ++cycle_;
  context_->time(2 * cycle_);
}

uint64_t Dut::readCounter(unsigned index) {
  top_->ctr_sel_i = index;
  top_->eval();
  return top_->ctr_value_o;
}

}  // namespace vmmu::tb
