// wave_convention.h - how every wave file of the project names its top scope and spells time.
//
// Both writers of FST waves, the SystemC testbench (tb/src/dut.cpp) and the bare-DUT harness
// (dut_harness.cpp, used by `vmmu run --backend rtl --wave`), follow this one convention, so that
// the GTKWave save file tb/waves/vmmu.gtkw (signals named mmu_top.*) opens either kind:
//   - the verilated model is instantiated as kTopScope, so its ports read mmu_top.<port> and its
//     body mmu_top.mmu_top.<signal>;
//   - time is in picoseconds (Verilator's default precision for rtl/) with one nanosecond per
//     clock cycle: cycle C is dumped at C ns with the clock low (inputs of the cycle applied,
//     combinational outputs settled) and at C ns + 500 ps after its rising edge. A time cursor
//     in GTKWave therefore reads the cycle number in ns.
#pragma once

#include <cstdint>

namespace vmmu::waves {

inline constexpr const char *kTopScope = "mmu_top";
inline constexpr int kTimePrecision = -12;         // 10^-12 s: one unit is 1 ps
inline constexpr uint64_t kUnitsPerCycle = 1000;   // 1 ns per cycle
inline constexpr uint64_t kRisingEdgeOffset = 500; // the edge half-way through the cycle

// Time stamp of cycle `cycle` with the clock low, and after its rising edge.
constexpr uint64_t clockLowTime(uint64_t cycle) { return cycle * kUnitsPerCycle; }
constexpr uint64_t risingEdgeTime(uint64_t cycle) { return cycle * kUnitsPerCycle + kRisingEdgeOffset; }

} // namespace vmmu::waves
