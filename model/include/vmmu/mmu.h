// vmmu/mmu.h - the golden reference model of the MMU (docs/architecture.md).
//
// Transaction level: translate() runs one request to completion exactly as §5 orders it, issuing
// its memory operations on a PhysicalMemory and recording them, and updates the TLB, the
// paging-structure caches and the nested TLB with the §9.1 tree-PLRU. Written from the spec
// alone, never from the RTL: it is what the RTL is checked against.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "vmmu/config.h"
#include "vmmu/memory.h"
#include "vmmu/types.h"

namespace vmmu {

// Per-operation cycle cost c (§12). The default charges a fixed latency; the testbench supplies
// the cycles it observed on the RTL's memory port so that WALK_CYCLES compares exactly.
class MemoryTiming {
public:
  virtual ~MemoryTiming() = default;
  virtual uint64_t cycles(const MemOp &op) = 0;
  // The c of every operation when it is one constant, whatever the operation and whenever asked
  // (a fixed latency); 0 when it is not. The walker then adds it without a call per reference.
  virtual uint64_t fixedCycles() const { return 0; }
};

// The cost c of one memory operation when no MemoryTiming is given: 2 cycles, the least the RTL's
// memory port allows (request transferred in cycle s, response accepted at the earliest in s+1).
constexpr uint64_t kDefaultMemOpCycles = 2;

class FixedLatency final : public MemoryTiming {
public:
  explicit FixedLatency(uint64_t cycles_per_op) : cycles_(cycles_per_op) {}
  uint64_t cycles(const MemOp &) override { return cycles_; }
  uint64_t fixedCycles() const override { return cycles_; }

private:
  uint64_t cycles_;
};

// Where a response came from, for coverage and reports (not part of the RTL response).
struct WalkTrace {
  bool walked = false;       // false for TLB hits and early faults
  bool stlb_hit = false;     // served by the second-level TLB (§9.2)
  bool stlb_read = false;    // an STLB entry matched (it granted, or it was dropped)
  uint8_t stlb_cycles = 0;   // §12: the STLB probe's cycles, 1 (the 4K set matched, or no 2M entry in the 2M set) or 2; 0 for none
  uint8_t psc_level = 0;     // level l whose PSC entry started the walk, 0 for none
  uint8_t ntlb_hits = 0;     // nested-TLB hits during the walk
  uint8_t ntlb_misses = 0;   // nested walks performed
  // Bit l set: a nested walk of this walk started from an EPT PSC hit at EPT level l (§10.3).
  uint8_t ept_psc_levels = 0;
  bool escaped = false;      // DIRECT: at least one escaped translation
  bool guest_segment = false;  // GUEST_DIRECT, DUAL_DIRECT: the guest segment translated the VA (§18)
  // AGILE (§20.2): the first guest level this walk read nested (the level below its switch), 0
  // when it read none (all shadow). A walk resumed by a PSC hit below a switch reports the level
  // it resumed at.
  uint8_t agile_switch_level = 0;
  // 2 + translation (XLATE) and answer (ANSWER) cycles + sum of op cycles, §12; 0 when not walked. 32 bits hold any
  // walk (a few dozen operations, each of at most the largest latency a memory timing is
  // configured with, 10^6 cycles) and keep the record at 16 bytes, which every TLB hit rewrites
  // whole.
  uint32_t walk_cycles = 0;
};

struct TranslateResult {
  Response resp;
  std::vector<MemOp> ops;
  WalkTrace trace;
  // Whether translate() records the walk's memory operations in `ops` (left empty when not). A
  // caller that never reads them (the shim's model backend) clears it, which spares every walk
  // reference its record; the operations are issued, timed and counted the same.
  bool record_ops = true;
};

class Mmu {
public:
  // Throws std::invalid_argument naming the bad parameter when config.validate() fails.
  // `timing` (not owned) defaults to FixedLatency(kDefaultMemOpCycles).
  Mmu(const MmuConfig &config, PhysicalMemory &memory, MemoryTiming *timing = nullptr);
  ~Mmu();
  Mmu(const Mmu &) = delete;
  Mmu &operator=(const Mmu &) = delete;

  const MmuConfig &config() const;

  // §5. Appends the operations to result.ops (cleared first).
  void translate(const Request &req, TranslateResult &result);
  TranslateResult translate(const Request &req);
  // translate() of requests[0], requests[1], ... for as long as each is a TLB hit answered by a 4K
  // entry that grants it (no walk, no fault): the same effects on the caches, PLRU bits and
  // counters, in the same order, with `result` holding the last one's answer. Stops at the first
  // other request, leaving it untranslated, and returns how many it translated. A run of hits then
  // costs no call per request (the shim's batched user accesses, vmm.h). With `hpas`, the host
  // address of each request translated goes to hpas[i] (what its own response's hpa would be).
  size_t translateHits(const Request *requests, size_t count, TranslateResult &result, uint64_t *hpas = nullptr);

  // A hint, for a caller that knows which request comes after the one it is about to translate:
  // when `req` would walk, the host cache line of the last guest entry its walk reads is
  // prefetched: in the level-1 table where the last walk of its 2 MiB region (same VPID and PCID)
  // found it, else as found from the paging-structure caches and the nested TLB as they are now
  // and by reading the tables they lead to (nothing when they do not locate it); a stale table
  // only costs a useless prefetch. It changes no cache, PLRU bit, counter or memory word, and no later
  // translation's result: only how long the host takes to simulate it (a replay over a large
  // footprint otherwise waits for that line at every walk).
  void prefetch(const Request &req) const;

  // §3 and §11: the control port.
  void writeReg(unsigned ctx, CtxReg reg, uint64_t value);
  uint64_t readReg(unsigned ctx, CtxReg reg) const;
  void invAddr(uint16_t vpid, uint64_t va);
  void invPcid(uint16_t vpid, uint16_t pcid);
  void invVpid(uint16_t vpid);
  void invEptp(uint64_t eptp);
  void invAll();
  // One entry point for every control command, with the port's operand layout (§13).
  void control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid);

  // §14.
  uint64_t counter(Counter c) const;
  const std::array<uint64_t, kNumCounters> &counters() const;

  // Side-effect-free lookup (for transport_dbg and debuggers): walks the tables without touching
  // any cache, counter, PLRU bit or A/D bit; returns the translation that a cold walk would give.
  Response peek(const Request &req) const;

  // Occupancy, for tests that assert what an invalidation removed or kept.
  unsigned tlbValidEntries() const;  // first level
  unsigned stlbValidEntries() const;
  unsigned pscValidEntries(unsigned level) const;
  unsigned ntlbValidEntries() const;
  // EPT level 2 .. NestedLevels; 0 for other levels and for a level without a cache (§10.3).
  unsigned eptPscValidEntries(unsigned level) const;

  // Reset as rst_ni does: caches, PLRU, registers and counters cleared.
  void reset();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmmu
