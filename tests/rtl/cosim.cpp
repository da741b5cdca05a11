// cosim.cpp - see cosim.h.
#include "cosim.h"

#include <gtest/gtest.h>

#include <string>

#include "vmmu_rtl_config.h"

namespace vmmu::rtltest {

Cosim::Cosim(MemoryBehaviour behaviour)
    : config_(rtl::verilatedConfig()), mirrored_(dut_memory_, model_memory_),
      model_(config_, model_memory_, &timing_),
      dut_(dut_memory_, behaviour) {}

void Cosim::control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid,
                    uint16_t pcid) {
  const unsigned stlb_before = model_.stlbValidEntries();
  const unsigned ept_psc_before = eptPscValidEntries();
  dut_.control(op, ctx, reg, data, vpid, pcid);
  model_.control(op, ctx, reg, data, vpid, pcid);
  if (op != CtrlOp::InvAll && model_.stlbValidEntries() < stlb_before)
    ++stlb_sweeps_removed_;
  if (eptPscValidEntries() < ept_psc_before)
    ++ept_psc_invalidations_removed_;
}

unsigned Cosim::eptPscValidEntries() const {
  unsigned entries = 0;
  for (unsigned level = 2; level <= config_.nested_levels; ++level)
    entries += model_.eptPscValidEntries(level);
  return entries;
}

DutTranslation Cosim::check(const Request &req) {
  const DutTranslation dut = dut_.translate(req);
  if (check_log_)
    check_log_->push_back(Checked{dut, dut_.cycle()});
  timing_.replay(dut.op_cycles);
  const TranslateResult golden = model_.translate(req);
  if (const std::string differences = compareTranslation(dut, golden); !differences.empty()) {
    ++mismatches_;
    ADD_FAILURE() << "RTL and model differ for " << toString(req) << differences;
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
