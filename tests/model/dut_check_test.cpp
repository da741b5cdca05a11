// dut_check_test.cpp - the pieces every RTL checker shares (vmmu/dut_check.h) and the one-line
// descriptions of requests, responses and memory operations (vmmu/types.h), on hand-made results:
// the comparison must find each kind of difference, and only those it is asked to look for.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vmmu/dut_check.h"
#include "vmmu/types.h"

namespace vmmu {
namespace {

MemOp read(uint64_t addr, uint8_t level) { return MemOp{addr, MemOpKind::Read, 0, Dim::Guest, level}; }

// A two-read walk (PDE-cache hit on a 4K page) at 3 cycles per read: latency 2 + 2 * 3 = 8.
TranslateResult modelWalk() {
  TranslateResult model;
  model.resp.hpa = 0x5001008;
  model.ops = {read(0x10'2000, 2), read(0x10'3008, 1)};
  model.trace.walked = true;
  model.trace.walk_cycles = 8;
  return model;
}

DutTranslation sameAsModel() {
  DutTranslation dut;
  dut.resp.hpa = 0x5001008;
  dut.ops = {read(0x10'2000, 2), read(0x10'3008, 1)};
  dut.op_cycles = {3, 3};
  dut.latency = 8;
  return dut;
}

TEST(ToString, WritesEveryFieldWithHexAddresses) {
  EXPECT_EQ(toString(Request{0x12, 0x3, 0x7f00'0000'1000, Access::Write, true}),
            "vpid=0x12 pcid=0x3 va=0x7f0000001000 WRITE user");
  Response resp;
  resp.fault = Fault::EptViolation;
  resp.fault_info = 0x81;
  resp.fault_addr = 0x4008;
  resp.fault_level = 3;
  resp.fault_guest_level = 2;
  resp.vm_exit = true;
  EXPECT_EQ(toString(resp),
            "hpa=0x0 size=4K fault=EPT_VIOLATION info=0x81 addr=0x4008 level=3 glevel=2 vm_exit=1 tlb_hit=0");
  EXPECT_EQ(toString(read(0x1000, 4)), "GUEST  READ     L4 addr=0x1000");
  EXPECT_EQ(toString(MemOp{0x2008, MemOpKind::FetchOr, 0x100, Dim::Nested, 1}),
            "NESTED FETCH_OR L1 addr=0x2008 mask=0x100");
}

TEST(CompareTranslation, AgreeingResultsGiveNothing) {
  EXPECT_EQ(compareTranslation(sameAsModel(), modelWalk()), "");
}

TEST(CompareTranslation, ExpectedLatencyIsOneCycleWithoutAWalk) {
  TranslateResult hit;
  hit.resp.tlb_hit = true;
  EXPECT_EQ(expectedLatency(hit), 1u);
  EXPECT_EQ(expectedLatency(modelWalk()), 8u);
}

TEST(CompareTranslation, ADifferentResponseShowsBothAndNoOperationList) {
  DutTranslation dut = sameAsModel();
  dut.resp.hpa = 0x6001008;
  const std::string what = compareTranslation(dut, modelWalk());
  EXPECT_EQ(what.rfind("\n  differs: response\n", 0), 0u) << what;
  EXPECT_NE(what.find("\n  rtl:   hpa=0x6001008 size=4K"), std::string::npos) << what;
  EXPECT_NE(what.find(" latency 8, 2 memory ops\n  model: hpa=0x5001008 "), std::string::npos) << what;
  EXPECT_EQ(what.find("#0"), std::string::npos) << "the operations agree: " << what;
}

TEST(CompareTranslation, MarksTheFirstDifferentOperationAndAMissingOne) {
  DutTranslation dut = sameAsModel();
  dut.ops[1].addr = 0x10'3010;
  dut.ops.push_back(read(0x10'4000, 1));
  const std::string what = compareTranslation(dut, modelWalk());
  EXPECT_NE(what.find("differs: memory operations from #1\n"), std::string::npos) << what;
  EXPECT_NE(what.find("\n   #0  rtl GUEST  READ     L2 addr=0x102000 "), std::string::npos) << what;
  EXPECT_NE(what.find("\n  >#1  rtl GUEST  READ     L1 addr=0x103010 "), std::string::npos) << what;
  EXPECT_NE(what.find("model GUEST  READ     L1 addr=0x103008"), std::string::npos) << what;
  EXPECT_NE(what.find("\n   #2  rtl GUEST  READ     L1 addr=0x104000 "), std::string::npos) << what;
  EXPECT_NE(what.find(" model -"), std::string::npos) << "the model has no third operation: " << what;
}

TEST(CompareTranslation, LatencyCountsOnlyWhenObserved) {
  DutTranslation dut = sameAsModel();
  dut.latency = 9;
  const std::string what = compareTranslation(dut, modelWalk());
  EXPECT_NE(what.find("differs: latency (a walk, §12)\n"), std::string::npos) << what;
  EXPECT_NE(what.find("rtl:   hpa=0x5001008 size=4K fault=NONE info=0x0 addr=0x0 level=0 glevel=0 vm_exit=0 tlb_hit=0 "
                      "latency 9, 2 memory ops"),
            std::string::npos)
      << what;
  EXPECT_EQ(compareTranslation(dut, modelWalk(), /*compare_latency=*/false), "");
}

TEST(ReplayTiming, ChargesTheRecordedCyclesInOrderThenOne) {
  const std::vector<uint64_t> cycles = {7, 3};
  ReplayTiming timing;
  EXPECT_EQ(timing.cycles(read(0, 1)), 1u) << "nothing to replay yet";
  timing.replay(cycles);
  EXPECT_EQ(timing.cycles(read(0, 1)), 7u);
  EXPECT_EQ(timing.cycles(read(0, 1)), 3u);
  EXPECT_EQ(timing.cycles(read(0, 1)), 1u) << "an operation the DUT did not make";
  timing.replay(cycles);
  EXPECT_EQ(timing.cycles(read(0, 1)), 7u) << "each replay starts over";
}

TEST(MirroredMemory, WritesBothReadsTheDutsAndAppliesFetchOrToEach) {
  SparseMemory dut, model;
  MirroredMemory both(dut, model);
  both.write64(0x1000, 0x21);
  EXPECT_EQ(dut.peek64(0x1000), 0x21u);
  EXPECT_EQ(model.peek64(0x1000), 0x21u);
  model.write64(0x1000, 0x1);  // the model's copy evolves on its own
  EXPECT_EQ(both.read64(0x1000), 0x21u) << "reads come from the DUT's memory";
  EXPECT_EQ(both.fetchOr64(0x1000, 0x40), 0x21u) << "the DUT's old value";
  EXPECT_EQ(dut.peek64(0x1000), 0x61u);
  EXPECT_EQ(model.peek64(0x1000), 0x41u);
}

}  // namespace
}  // namespace vmmu
