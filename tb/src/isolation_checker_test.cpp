// isolation_checker_test.cpp - the isolation checker on hand-made transactions: it must report
// walks and responses outside the DIRECT region of the slot in force, take the slot in force as
// §3 defines it (lowest valid slot) from the register writes it observed, and classify churn.
// (The churn test shows it against the DUT; this shows it fails where it must with any DUT.)
#include <gtest/gtest.h>

#include <systemc>
#include <vector>

#include "isolation_checker.h"

namespace vmmu::tb {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kBaseA = 16 * kGiB, kBaseB = 32 * kGiB;

class ChurnLog final : public AnalysisImp<ChurnSample> {
public:
  void write(const ChurnSample &sample) override { kinds.push_back(sample.kind); }
  std::vector<ChurnKind> kinds;
};

class IsolationCheckerTest : public ::testing::Test {
protected:
  IsolationCheckerTest() : reporter_(Verbosity::None), checker_("isolation", MmuConfig{}, reporter_) {
    checker_.churn_port.connect(churn_);
    // Slot 1: VPID 5, DIRECT at A. Slot 2: VPID 5 too (shadowed by slot 1), DIRECT at B.
    program(1, 5, true, Mode::Direct, kBaseA);
    program(2, 5, true, Mode::Direct, kBaseB);
  }

  void writeReg(unsigned ctx, CtxReg reg, uint64_t data) {
    checker_.write(ObservedControl{
        ControlCommand{CtrlOp::WriteReg, static_cast<uint8_t>(ctx), static_cast<uint8_t>(reg), data, 0, 0}, 0});
  }
  void program(unsigned ctx, uint16_t vpid, bool valid, Mode mode, uint64_t gbase) {
    writeReg(ctx, CtxReg::Vpid, vpid | (valid ? uint64_t{1} << 16 : 0));
    writeReg(ctx, CtxReg::Mode, static_cast<uint64_t>(mode));
    writeReg(ctx, CtxReg::GBase, gbase);
    writeReg(ctx, CtxReg::GSize, kGiB);
  }
  // One translation of VPID 5: the walk's guest reads, then a successful 4K response at `hpa`.
  void translate(std::vector<uint64_t> reads, uint64_t hpa, uint64_t va = 0x400000) {
    Request request;
    request.vpid = 5;
    request.pcid = 1;
    request.va = va;
    checker_.write(ObservedRequest{request, 0, true});
    for (const uint64_t addr : reads) {
      ObservedMemOp op;
      op.op.addr = addr;
      op.op.dim = Dim::Guest;
      op.op.level = 1;
      checker_.write(op);
    }
    ObservedResponse response;
    response.response.hpa = hpa;
    checker_.write(response);
  }

  ReportServer reporter_;
  IsolationChecker checker_;
  ChurnLog churn_;
};

TEST_F(IsolationCheckerTest, InsideTheRegionOfTheSlotInForcePasses) {
  translate({kBaseA + 0x1000, kBaseA + kGiB - 8}, kBaseA + 0x5123);
  EXPECT_EQ(checker_.directChecked(), 1u);
  EXPECT_EQ(checker_.violations(), 0u);
}

TEST_F(IsolationCheckerTest, OutOfRegionWalkAndResponseAreViolations) {
  translate({kBaseA + 0x1000, kBaseB + 0x1000}, kBaseA + 0x5000);  // a stale PSC pointer
  EXPECT_EQ(checker_.violations(), 1u);
  translate({}, kBaseB + 0x5000);  // a stale TLB entry of slot 2's region
  EXPECT_EQ(checker_.violations(), 2u);
  translate({}, kBaseA + kGiB);  // one past the end
  EXPECT_EQ(checker_.violations(), 3u);
  EXPECT_EQ(reporter_.errorCount(), 3u);
}

TEST_F(IsolationCheckerTest, TheLowestValidSlotIsInForce) {
  writeReg(1, CtxReg::Vpid, 5);  // slot 1 invalid: slot 2 (region B) in force
  translate({}, kBaseB + 0x5000);
  EXPECT_EQ(checker_.violations(), 0u);
  translate({}, kBaseA + 0x5000);
  EXPECT_EQ(checker_.violations(), 1u);
  writeReg(0, CtxReg::GBase, kBaseA);  // slot 0, still invalid, changes nothing
  writeReg(0, CtxReg::GSize, kGiB);
  writeReg(0, CtxReg::Mode, static_cast<uint64_t>(Mode::Direct));
  writeReg(0, CtxReg::Vpid, 5 | uint64_t{1} << 16);  // now slot 0 (region A) is in force
  translate({}, kBaseA + 0x5000);
  EXPECT_EQ(checker_.violations(), 1u);
}

TEST_F(IsolationCheckerTest, OnlyDirectModeIsChecked) {
  writeReg(1, CtxReg::Mode, static_cast<uint64_t>(Mode::Nested));
  translate({kBaseB}, kBaseB + 0x5000);
  EXPECT_EQ(checker_.directChecked(), 0u);
  EXPECT_EQ(checker_.violations(), 0u);
}

TEST_F(IsolationCheckerTest, ChurnCountsWhenAHotPageIsRequestedAgain) {
  translate({}, kBaseA + 0x5000, 0x400000);  // hot page of VPID 5
  writeReg(1, CtxReg::Vpid, 5);              // slot 1 made invalid: slot 2 in force
  EXPECT_TRUE(churn_.kinds.empty());         // not yet: no translation since
  translate({}, kBaseB + 0x7000, 0x999000);  // another page: not stale
  EXPECT_TRUE(churn_.kinds.empty());
  translate({}, kBaseB + 0x5000, 0x400000);  // the hot page again
  EXPECT_EQ(churn_.kinds, (std::vector<ChurnKind>{ChurnKind::SlotMadeInvalid, ChurnKind::InForceLowerToHigher}));
  // An explicit INV_VPID leaves nothing stale: the next churn does not count.
  checker_.write(ObservedControl{ControlCommand{CtrlOp::InvVpid, 0, 0, 0, 5, 0}, 0});
  writeReg(2, CtxReg::GBase, kBaseA);
  translate({}, kBaseA + 0x5000, 0x400000);
  EXPECT_EQ(churn_.kinds.size(), 2u);
}

}  // namespace
}  // namespace vmmu::tb

int sc_main(int argc, char **argv) {  // libsystemc's main calls it
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
