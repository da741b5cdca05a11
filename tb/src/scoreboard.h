// scoreboard.h - runs the golden model (vmmu::Mmu) on every accepted request and compares
// (UVM: uvm_scoreboard).
//
// Requests, control commands and page-table changes enter one queue in the order the DUT
// accepted them (§12 gives them one total order); each response retires the queue up to its
// request, applying the controls and writes to the model first. Compared per transaction, by
// vmmu/dut_check.h's compareTranslation (the comparison every RTL checker uses): the response,
// the ordered memory operations of the walk, and the latency (hit: 1 cycle; walk: 2 + its XLATE
// and ANSWER cycles + the observed per-operation cycles, which the model is charged through ReplayTiming so
// WALK_CYCLES matches). At checkpoints every performance counter is compared. The first difference is
// reported with the command that reproduces it with waves; the environment then stops.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "component.h"

#include "analysis_port.h"
#include "options.h"
#include "report.h"
#include "sequence_item.h"
#include "vmmu/dut_check.h"
#include "vmmu/mmu.h"

namespace vmmu::tb {

class Dut;

// What the coverage collector learns about each checked translation.
struct CheckedTransaction {
  uint64_t index = 0;
  const Request *request = nullptr;
  const TranslateResult *result = nullptr;
  bool has_context = false;
  Mode mode = Mode::Native;
  bool sizes_known = false;  // successful walks only
  PageSize guest_size = PageSize::Size4K;
  PageSize host_size = PageSize::Size4K;  // EPT leaf (NESTED), combined size (DIRECT), guest size otherwise
  // GUEST_DIRECT and DUAL_DIRECT walks (§18.2): the guest segment's path, from the registers in
  // force. None for the other modes and for hits.
  enum class SegmentPath : uint8_t { None, InSegment, EscapedVa, Outside } segment = SegmentPath::None;
  // The modes that translate gPAs through the EPT (all but NATIVE and SHADOW): its format (§21).
  bool uses_ept = false;
  EptFormat ept_format = EptFormat::Radix;
};

class Scoreboard : public Component,
                   public AnalysisImp<ObservedRequest>,
                   public AnalysisImp<ObservedResponse>,
                   public AnalysisImp<ObservedControl>,
                   public AnalysisImp<ObservedMemOp> {
public:
  Scoreboard(sc_core::sc_module_name name, const MmuConfig &config, SparseMemory &model_memory, ReportServer &reporter,
             const TbOptions &options);

  void write(const ObservedRequest &observed) override;
  void write(const ObservedResponse &observed) override;
  void write(const ObservedControl &observed) override;
  void write(const ObservedMemOp &observed) override;
  // A page-table change the environment applied to the DUT's memory this cycle.
  void tableWrite(const TableWrite &change);

  // Requests accepted and not yet answered.
  unsigned outstanding() const { return outstanding_; }
  // Applies queued controls and table writes (call when no request is outstanding).
  void drain();
  // Compares every counter index 0..63 read from the DUT with the model's. Returns false on a
  // difference (reported).
  bool checkCounters(Dut &dut);

  uint64_t checked() const { return checked_; }
  const Mmu &model() const { return model_; }
  // Control commands that removed at least one STLB entry (§9.2), or at least one EPT PSC entry
  // (§10.3), from the model, by command (index: CtrlOp; WRITE_REG for the implicit flushes of §3).
  // Coverage: every command but INV_ALL reaches the RTL's STLB by a sweep of its sets.
  using RemovalsByOp = std::array<uint64_t, 6>;
  const RemovalsByOp &stlbRemovals() const { return stlb_removals_; }
  const RemovalsByOp &eptPscRemovals() const { return ept_psc_removals_; }
  AnalysisPort<CheckedTransaction> checked_port;

private:
  struct Event {
    enum class Kind : uint8_t { Request, Control, TableWrite } kind;
    ObservedRequest request;
    ControlCommand control;
    TableWrite table_write;
  };
  static constexpr unsigned kQueue = 64;

  Event &pushEvent(Event::Kind kind);
  void apply(const Event &event);
  unsigned eptPscValidEntries() const;  // the model's, over every EPT level
  void check(const ObservedRequest &request, const ObservedResponse &response);
  void classify(const Request &request, CheckedTransaction &out);
  CheckedTransaction::SegmentPath segmentPath(unsigned slot, uint64_t va) const;
  void mismatch(const ObservedRequest &request, const std::string &what);

  const TbOptions &options_;
  ReportServer &reporter_;
  SparseMemory &model_memory_;
  ReplayTiming timing_;
  Mmu model_;
  RemovalsByOp stlb_removals_{};
  RemovalsByOp ept_psc_removals_{};
  std::array<Event, kQueue> queue_;
  unsigned head_ = 0, count_ = 0, outstanding_ = 0;
  DutTranslation observed_;  // the DUT's translation being retired: its operations accumulate first
  TranslateResult result_;
  uint64_t checked_ = 0;
  bool failed_ = false;
};

}  // namespace vmmu::tb
