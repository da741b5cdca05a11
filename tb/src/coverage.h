// coverage.h - the functional coverage collector (UVM: a uvm_subscriber of the scoreboard's
// checked transactions and the control monitor).
//
// Bins: mode x guest page size x host page size (successful walks), fault class x mode, the
// guest segment's paths in GUEST_DIRECT and DUAL_DIRECT (§18.2), the EPT formats' walks and
// faults (§21), hit
// source (TLB, each PSC level, nested TLB, each EPT PSC level, full walk, escape), the STLB
// (§9.2: hits per page size and per mode, misses per page size, fills, non-granting entries
// dropped in the 4K and in the 2M set, each command that removed entries: INV_ALL's clear and
// every other command's set sweep), EPT PSC invalidations that removed entries (§10.3), each
// control command, the
// back-pressure seen on each channel, and each kind of control-port churn followed by a
// translation that would hit stale state (from the isolation checker). A test declares the bins it means to hit (by name or
// "prefix*"); the report lists every bin and the test fails for each declared bin left at zero.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "component.h"

#include "analysis_port.h"
#include "isolation_checker.h"
#include "monitors.h"
#include "report.h"
#include "scoreboard.h"
#include "sequence_item.h"
#include "vmmu/config.h"

namespace vmmu::tb {

class Coverage : public Component,
                 public AnalysisImp<CheckedTransaction>,
                 public AnalysisImp<ObservedControl>,
                 public AnalysisImp<ChurnSample> {
public:
  // Bins for the PSC levels and the EPT PSC levels (§10.3) that `config` has, and for the STLB
  // (§9.2) when it has one.
  Coverage(sc_core::sc_module_name name, const MmuConfig &config);

  void write(const CheckedTransaction &transaction) override;
  void write(const ObservedControl &control) override;
  void write(const ChurnSample &churn) override;
  // End of run: back-pressure cycles per channel, delayed memory responses, final counters, and
  // the control commands that removed STLB or EPT PSC entries, by command (the scoreboard's).
  void sampleEnd(const StallCounts &stalls, uint64_t delayed_memory_responses, const Mmu &model,
                 const Scoreboard::RemovalsByOp &stlb_removals,
                 const Scoreboard::RemovalsByOp &ept_psc_removals);

  // Declares every bin whose name equals `pattern`, or starts with it when it ends in '*'.
  // Returns the number of bins declared (0 means the pattern is wrong).
  unsigned declare(const std::string &pattern);
  // Prints the report; returns the number of declared bins that were not hit.
  unsigned report(ReportServer &reporter) const;

private:
  struct Bin {
    std::string name;
    uint64_t hits = 0;
    bool declared = false;
  };
  unsigned addBin(const std::string &name);
  void hit(unsigned bin) { ++bins_[bin].hits; }
  void sampleSegment(const CheckedTransaction &t);
  void sampleEptFormat(const CheckedTransaction &t);
  void sampleAgile(const CheckedTransaction &t);

  std::vector<Bin> bins_;
  // Bin indices, laid out for direct indexing on the hot path.
  static constexpr unsigned kModes = 7;    // mode_e: NATIVE .. AGILE
  static constexpr unsigned kRegBins = 14;  // VPID..FLAGS, (7), ESCAPE, GSEG_BASE/LIMIT/OFFSET, GESCAPE, GCR3
  unsigned size_bins_[kModes][3][3];  // mode, guest size, host size; ~0u where impossible
  unsigned fault_bins_[kModes][7];    // mode, fault class; ~0u where impossible
  // GUEST_DIRECT, DUAL_DIRECT: in segment, escaped VA, outside, permission fault, EPT fault
  // (GUEST_DIRECT) or escaped gPA (DUAL_DIRECT), bounds fault (DUAL_DIRECT).
  unsigned segment_bins_[2][6];
  // EPT formats (§21), 4level, 2level, 1level: a successful walk that read the EPT, an EPT
  // violation, an EPT misconfiguration; 2level's 1G leaf and level-2 EPT PSC hit (~0u without
  // one), 1level's gPA beyond the reach (§21.4).
  unsigned ept_format_bins_[3][3];
  unsigned flat2_1g_bin_, flat2_ept_psc_bin_, flat1_beyond_bin_;
  // AGILE (§20): the first guest level walked nested (1..L), and the other paths and faults.
  unsigned agile_switch_bins_[6];
  unsigned agile_no_switch_bin_, agile_resumed_bin_;
  unsigned agile_shadow_fault_bin_, agile_guest_fault_bin_, agile_ept_fault_bin_;
  unsigned no_context_bin_;
  unsigned ept_table_bin_, ept_final_bin_;  // EPT faults by the access that faulted (§6)
  unsigned tlb_hit_bin_, full_walk_bin_, ntlb_hit_bin_, escape_bin_;
  unsigned psc_bins_[6];  // by level 2..5
  unsigned ept_psc_bins_[6];  // by EPT level 2..5: a nested walk started from an EPT PSC hit
  unsigned control_bins_[6];
  unsigned write_reg_bins_[kRegBins];
  unsigned stall_bins_[static_cast<size_t>(Channel::Count)];
  unsigned delayed_memory_bin_;
  unsigned counter_bins_[4];  // guest A/D, nested A/D, perm refills, escapes
  unsigned churn_bins_[static_cast<size_t>(ChurnKind::Count)];
  // STLB (~0u without one): hits by size (4K, 2M) and by mode, misses by size (successful walks,
  // 4K, 2M, 1G), fills, non-granting entries dropped by the set they were found in (4K, 2M), and
  // control commands that removed entries, by command (INV_ALL clears, the others sweep).
  unsigned stlb_hit_bins_[2];
  unsigned stlb_hit_mode_bins_[kModes];
  unsigned stlb_miss_bins_[3];
  unsigned stlb_fill_bin_;
  unsigned stlb_drop_bins_[2];
  unsigned stlb_removal_bins_[6];
  // EPT PSC (~0u without one): INV_EPTP and INV_ALL that removed entries (§10.3).
  unsigned ept_psc_removal_bins_[6];
};

}  // namespace vmmu::tb
