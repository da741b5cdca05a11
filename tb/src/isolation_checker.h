// isolation_checker.h - the DIRECT-mode isolation property (§8.3), checked on every response
// independently of the golden model (UVM: a second uvm_scoreboard beside the model comparison).
//
// The checker keeps its own copy of every context slot's registers, decoded from the control
// commands the control monitor observes (§3 field layout), and snapshots the slot in force (the
// lowest-numbered valid slot whose VPID matches) when the request monitor sees a request
// accepted: §12 gives requests and control commands one total order, and a request runs under
// the registers in force at its acceptance. When that slot is in DIRECT or DUAL_DIRECT mode (§18.3:
// the property holds for both) the checker asserts:
//   - every GUEST memory operation of the walk lies in [GBASE, GBASE + GSIZE) (and below 2^P);
//   - every successful response's page lies inside that range (escaped pages too: their final
//     result is bounds-checked). NESTED operations (EPT reads for escaped pages) are exempt.
// The model and the RTL may agree and both break the property (a stale TLB or PSC entry made
// under another slot's registers), which is why this check does not use the model.
//
// It also classifies control-port churn for coverage: each kind of change to the context a VPID
// runs under (retag, a slot made valid or invalid, the slot in force moving, mode into or out of
// DIRECT, GBASE, GSIZE, EPTP, escape add or remove) arms that VPID; the next request of the VPID
// to a page it translated successfully before the change (without an explicit invalidation in
// between, so stale state would be hit) publishes one ChurnSample per armed kind.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "component.h"

#include "analysis_port.h"
#include "options.h"
#include "report.h"
#include "sequence_item.h"
#include "vmmu/config.h"

namespace vmmu::tb {

enum class ChurnKind : uint8_t {
  RetagToHeldVpid,       // a slot's VPID set to one another valid slot holds
  SlotMadeValid,         // an invalid slot made valid
  SlotMadeInvalid,       // a valid slot made invalid
  InForceLowerToHigher,  // the slot in force for a VPID moved to a higher-numbered slot
  InForceHigherToLower,  // ... to a lower-numbered slot
  ModeIntoDirect,        // MODE of the slot in force changed to DIRECT
  ModeOutOfDirect,       // ... from DIRECT to another mode
  GBase,                 // GBASE of the slot in force changed
  GSize,                 // GSIZE of the slot in force changed
  Eptp,                  // EPTP of the slot in force changed
  EscapeAdd,             // an escape entry of the slot in force made valid (or moved)
  EscapeRemove,          // ... made invalid
  Count
};
const char *churnName(ChurnKind kind);  // the coverage bin suffix, e.g. "retag_to_held_vpid"

// A churn of `kind` was followed by a translation of a page that was hot before it.
struct ChurnSample {
  ChurnKind kind;
  uint16_t vpid;
};

class IsolationChecker : public Component,
                         public AnalysisImp<ObservedRequest>,
                         public AnalysisImp<ObservedResponse>,
                         public AnalysisImp<ObservedControl>,
                         public AnalysisImp<ObservedMemOp> {
public:
  IsolationChecker(sc_core::sc_module_name name, const MmuConfig &config, ReportServer &reporter);

  void write(const ObservedRequest &observed) override;
  void write(const ObservedResponse &observed) override;
  void write(const ObservedControl &observed) override;
  void write(const ObservedMemOp &observed) override;

  uint64_t directChecked() const { return direct_checked_; }
  uint64_t violations() const { return violations_; }

  AnalysisPort<ChurnSample> churn_port;

private:
  struct Slot {
    uint16_t vpid = 0;
    bool valid = false;
    Mode mode = Mode::Native;
    uint64_t eptp = 0, gbase = 0, gsize = 0;
    std::vector<uint64_t> escapes;  // page | valid bit, as decoded
  };
  // The context a request runs under, captured at its acceptance.
  struct Snapshot {
    Request request;
    uint64_t accept_cycle = 0;
    int slot = -1;  // -1: no context
    bool direct = false;
    uint64_t lo = 0, hi = 0;  // DIRECT region [GBASE, min(GBASE + GSIZE, 2^P))
  };
  // Pages a VPID translated successfully, stamped so that "before the churn" can be told.
  struct HotPage {
    uint16_t pcid = 0;
    uint64_t page = 0;  // va >> 12
    uint64_t stamp = 0;
  };
  struct VpidState {
    std::array<HotPage, 16> hot{};
    unsigned hot_count = 0, hot_next = 0;
    uint32_t armed = 0;  // ChurnKind bits
    uint64_t armed_stamp = 0;
  };

  int inForce(uint16_t vpid) const;
  void writeReg(unsigned ctx, unsigned reg, uint64_t data);
  void arm(uint16_t vpid, ChurnKind kind);
  void forget(uint16_t vpid);
  void violation(const Snapshot &snapshot, const std::string &what);

  ReportServer &reporter_;
  const unsigned pa_bits_;
  std::vector<Slot> slots_;
  std::deque<Snapshot> outstanding_;
  std::vector<MemOp> ops_;  // GUEST operations of the walk in progress
  std::unordered_map<uint16_t, VpidState> vpids_;
  uint64_t stamp_ = 0;
  uint64_t direct_checked_ = 0, violations_ = 0;
};

}  // namespace vmmu::tb
