// backend_mismatch_test.cpp - what runTrace reports when a checked backend disagrees, without the
// RTL: a stand-in backend (the golden model) raises vmm::BackendMismatch at a chosen user access,
// plugged in where the RTL backend goes. The report names the run, the trace event being replayed
// (an access alone or inside a run of accesses handed to the guest together) and where the
// backend says it happened, and holds no runs.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "run_test_support.h"
#include "vmmu/run/report.h"
#include "vmmu/run/trace_run.h"

namespace vmmu::run {
namespace {

using testing::TempFile;
using testing::writeTrace;
using trace::AccessOp;
using trace::Event;

constexpr uint64_t kHeap = 0x4000'0000;  // a GiB-aligned trace address
constexpr uint64_t kBadOffset = 0x5000;  // the offset in its GiB of the access that mismatches

// The golden model, raising a mismatch at the first user translation of an address `kBadOffset`
// into its GiB (the replay keeps offsets inside a GiB), when `armed`.
class MismatchingBackend final : public vmm::MmuBackend {
public:
  MismatchingBackend(const MmuConfig &config, const vmm::MemoryModelConfig &memory_model, bool armed)
      : model_(config, memory_model), armed_(armed) {}
  vmm::Translation translate(const Request &req) override {
    ++transactions_;
    if (armed_ && req.user && (req.va & ((uint64_t{1} << 30) - 1)) == kBadOffset) {
      vmm::BackendMismatch::Where where;
      where.transaction = transactions_ - 1;
      where.first_cycle = 700;
      where.last_cycle = 712;
      where.window_from = 3;
      where.first_time = 700'000;
      where.last_time = 712'500;
      throw vmm::BackendMismatch("the DUT faulted, the model did not", " (reproduce: ...)", where);
    }
    return model_.translate(req);
  }
  void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) override {
    ++transactions_;
    model_.control(op, ctx, reg, data, vpid, pcid);
  }
  uint64_t counter(Counter c) override { return model_.counter(c); }
  vmm::MemoryHierarchy *memoryModel() override { return model_.memoryModel(); }
  PhysicalMemory &memory() override { return model_.memory(); }
  const MmuConfig &config() const override { return model_.config(); }
  uint64_t transactions() const override { return transactions_; }

private:
  vmm::ModelBackend model_;
  const bool armed_;
  uint64_t transactions_ = 0;
};

// `events` replayed nested and shadow-cache (no baseline, no policy) on stand-in backends; the
// `armed`-th backend made (1: nested's, 2: shadow-cache's) raises the mismatch.
RunReport runWithMismatch(const std::vector<Event> &events, unsigned armed) {
  TempFile file("mismatch.vmt");
  writeTrace(file.path(), events);
  RunRequest request;
  request.trace = file.path();
  request.approaches = {vmm::Approach::Nested, vmm::Approach::ShadowCaching};
  request.baseline = false;
  request.adaptive = false;
  request.settings.interval = 1'000;
  request.backend = BackendKind::Rtl;
  auto made = std::make_shared<unsigned>(0);
  request.rtl_backend = [made, armed](const MmuConfig &config, const vmm::MemoryModelConfig &memory_model) {
    return std::make_unique<MismatchingBackend>(config, memory_model, ++*made == armed);
  };
  return runTrace(request);
}

TEST(RunMismatchWithoutRtl, AnAccessInsideARunIsTheEventNamed) {
  // Events 1, 2 and 4, 5 are runs of user accesses (one process, one GiB) after the first access
  // of the process; the marker between them ends the first run. Event 5, the second of its run,
  // mismatches.
  const RunReport report = runWithMismatch(
      {
          Event::access(0, 1, AccessOp::Read, kHeap, 8),
          Event::access(0, 1, AccessOp::Read, kHeap + 0x1000, 8),
          Event::access(0, 1, AccessOp::Write, kHeap + 0x2000, 8),
          Event::marker(0, "between"),
          Event::access(0, 1, AccessOp::Read, kHeap + 0x3000, 8),
          Event::access(0, 1, AccessOp::Read, kHeap + kBadOffset, 8),
          Event::access(0, 1, AccessOp::Read, kHeap + 0x6000, 8),
      },
      1);
  ASSERT_TRUE(report.mismatch);
  const Mismatch &m = *report.mismatch;
  EXPECT_EQ(m.run, "nested");
  EXPECT_EQ(m.event_index, 5u);
  EXPECT_GT(m.transaction, 0u);
  EXPECT_EQ(m.wave_from, 3u);
  EXPECT_EQ(m.first_cycle, 700u);
  EXPECT_EQ(m.last_cycle, 712u);
  EXPECT_EQ(m.first_time, 700'000u);
  EXPECT_EQ(m.last_time, 712'500u);
  EXPECT_EQ(m.what, "the DUT faulted, the model did not");
  EXPECT_TRUE(report.runs.empty());  // the other runs are cut short and not reported
  EXPECT_EQ(report.backend, "rtl");
  const std::string text = formatText(report);
  EXPECT_NE(text.find("MISMATCH in nested at trace event 5 (backend transaction " + std::to_string(m.transaction) +
                      ", DUT cycles 700 to 712)\n"),
            std::string::npos)
      << text;
}

TEST(RunMismatchWithoutRtl, AnAccessAloneIsTheEventNamedInTheRunThatMismatched) {
  // Event 3 is process 2's first access: replayed alone (a new process), not in a run. Only
  // shadow-cache's backend mismatches: nested ran the step up to it without a mismatch.
  const RunReport report = runWithMismatch(
      {
          Event::access(0, 1, AccessOp::Read, kHeap, 8),
          Event::access(0, 1, AccessOp::Read, kHeap + 0x1000, 8),
          Event::processCreate(2, 1, "second"),
          Event::access(0, 2, AccessOp::Fetch, kHeap + kBadOffset, 8),
          Event::access(0, 1, AccessOp::Read, kHeap + 0x2000, 8),
      },
      2);
  ASSERT_TRUE(report.mismatch);
  EXPECT_EQ(report.mismatch->run, "shadow-cache");
  EXPECT_EQ(report.mismatch->event_index, 3u);
  EXPECT_TRUE(report.runs.empty());
}

TEST(RunMismatchWithoutRtl, WithoutAMismatchEveryRunCountsItsTransactions) {
  const RunReport report = runWithMismatch(
      {
          Event::access(0, 1, AccessOp::Read, kHeap, 8),
          Event::access(0, 1, AccessOp::Read, kHeap + kBadOffset, 8),
      },
      0);
  EXPECT_FALSE(report.mismatch);
  ASSERT_EQ(report.runs.size(), 2u);
  for (const ModeRun &run : report.runs) {
    SCOPED_TRACE(run.result.policy);
    // At least the two translations and the control commands that set the context up.
    EXPECT_GT(run.transactions, 2u);
    EXPECT_EQ(run.replay.accesses, 2u);
  }
  EXPECT_EQ(formatText(report).find("MISMATCH"), std::string::npos);
  EXPECT_NE(formatText(report).find("rtl transactions per run (the --wave-window range): nested 0:" +
                                    std::to_string(report.runs[0].transactions - 1) + ", shadow-cache 0:" +
                                    std::to_string(report.runs[1].transactions - 1) + "\n"),
            std::string::npos);
}

}  // namespace
}  // namespace vmmu::run
