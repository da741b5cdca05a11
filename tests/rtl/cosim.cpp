// cosim.cpp - see cosim.h.
#include "cosim.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "vmmu_rtl_config.h"

namespace vmmu::rtltest {

namespace {

std::string describe(const Request &req) {
  std::ostringstream out;
  out << "vpid " << req.vpid << " pcid " << req.pcid << " va 0x" << std::hex << req.va << std::dec
      << " " << toString(req.access) << (req.user ? " user" : " supervisor");
  return out.str();
}

std::string describe(const Response &resp) {
  std::ostringstream out;
  out << std::hex << "hpa 0x" << resp.hpa << " size " << toString(resp.size) << " fault "
      << toString(resp.fault) << " info 0x" << resp.fault_info << " addr 0x" << resp.fault_addr
      << std::dec << " level " << unsigned{resp.fault_level} << " exit " << resp.vm_exit
      << " hit " << resp.tlb_hit;
  return out.str();
}

std::string describe(const std::vector<MemOp> &ops) {
  std::ostringstream out;
  for (const MemOp &op : ops)
    out << "\n    " << (op.kind == MemOpKind::Read ? "READ " : "OR   ") << std::hex << "0x"
        << op.addr << " mask 0x" << op.mask << std::dec
        << (op.dim == Dim::Guest ? " guest" : " nested") << " L" << unsigned{op.level};
  return out.str();
}

}  // namespace

Cosim::Cosim(MemoryBehaviour behaviour)
    : config_(rtl::verilatedConfig()), tee_(dut_memory_, model_memory_),
      model_(config_, model_memory_, &timing_),
      dut_(dut_memory_, behaviour) {}

void Cosim::control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid,
                    uint16_t pcid) {
  dut_.control(op, ctx, reg, data, vpid, pcid);
  model_.control(op, ctx, reg, data, vpid, pcid);
}

DutTranslation Cosim::check(const Request &req) {
  const DutTranslation dut = dut_.translate(req);
  timing_.load(dut.op_cycles);
  const TranslateResult golden = model_.translate(req);
  const uint64_t expected_latency = golden.trace.walked ? golden.trace.walk_cycles : 1;
  const bool same = dut.resp == golden.resp && dut.ops == golden.ops &&
                    dut.latency == expected_latency;
  if (!same) {
    ++mismatches_;
    ADD_FAILURE() << "RTL and model differ for " << describe(req) << "\n  rtl:   "
                  << describe(dut.resp) << " latency " << dut.latency << describe(dut.ops)
                  << "\n  model: " << describe(golden.resp) << " latency " << expected_latency
                  << describe(golden.ops);
  }
  return dut;
}

void Cosim::expectCountersMatch() {
  for (unsigned i = 0; i < kNumCounters; ++i)
    EXPECT_EQ(dut_.counter(i), model_.counter(static_cast<Counter>(i)))
        << "counter " << toString(static_cast<Counter>(i));
  EXPECT_EQ(dut_.counter(kNumCounters), 0u) << "index past the last counter reads zero";
  EXPECT_EQ(dut_.counter(63), 0u);
}

}  // namespace vmmu::rtltest
