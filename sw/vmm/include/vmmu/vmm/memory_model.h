// vmmu/vmm/memory_model.h - what a memory access costs: the flat latency, or a cache hierarchy
// shared by page-walk references and data accesses.
//
// MemoryHierarchy is the one memory timing of a run. The MMU backend hands it to the walker (as
// the golden model's MemoryTiming, and as the RTL backend's memory responder), so every walk
// reference costs the latency of the level that holds its entry; the VMM shim asks it the cost
// of every guest data access at the host address the translation gave. Page-table entries and
// data therefore share L1D, L2 and the LLC, as they do in hardware ("Every Walk's a Hit", ASPLOS
// 2022). The flat model is the old one: each walk reference costs `cycles_per_ref`, data
// accesses cost nothing beyond the shim's `access_cycles`.
//
// The caches (docs/architecture.md §12, "Memory timing of a run"): physically indexed by the host
// address, 64-byte lines, set-associative with the §9.1 tree-PLRU; a miss fills every level it
// missed (non-inclusive, no back-invalidation); writes allocate like reads and cost like them (no
// write-back traffic). Latencies are load-to-use: an access served by a level costs that level's
// latency, one served by DRAM the DRAM latency.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vmmu/mmu.h"
#include "vmmu/types.h"

namespace vmmu::vmm {

// One cache level's geometry and its load-to-use latency.
struct CacheLevelConfig {
  uint64_t size_kib = 0;
  unsigned ways = 0;
  uint64_t latency = 0;  // cycles
};

struct MemoryModelConfig {
  enum class Kind : uint8_t { Flat, Cache };
  static constexpr unsigned kLineBytes = 64;
  static constexpr unsigned kLevels = 3;  // L1D, L2, LLC
  static constexpr uint64_t kMaxLatency = 1'000;  // cycles, the RTL harness's budget per reference

  // The faithful model by default; `vmmu run` uses this default, the library's fixed-latency
  // experiments (policy::ExperimentConfig, ModelBackend's own default) stay flat.
  Kind kind = Kind::Cache;
  // Flat: cycles of every walk reference (§12 c).
  uint64_t cycles_per_ref = 30;
  // Cache: Intel Skylake client (Core i7-6700, 4.0 GHz): L1D 32 KiB 8-way 4 cycles, L2 256 KiB
  // 4-way 12 cycles, L3 8 MiB 16-way 42 cycles, DRAM 42 cycles + 51 ns = 246 cycles (7-cpu.com,
  // "Intel Skylake"; Intel 64 and IA-32 Architectures Optimization Reference Manual, table 2-5
  // for the L1D/L2 geometry). references.md: L1D 4-5, L2 12-14, LLC 40-70, DRAM 60-100 ns.
  std::array<CacheLevelConfig, kLevels> levels{{{32, 8, 4}, {256, 4, 12}, {8192, 16, 42}}};
  uint64_t dram_latency = 246;

  static MemoryModelConfig flat(uint64_t cycles_per_ref) {
    MemoryModelConfig config;
    config.kind = Kind::Flat;
    config.cycles_per_ref = cycles_per_ref;
    return config;
  }
  // The configuration key of each level ("l1d", "l2", "llc"), as `vmmu run --config` names them.
  static const char *levelName(unsigned level);
  // Empty when valid; else one line "KEY: what is wrong (allowed ...)" naming the configuration
  // key at fault: a latency of zero or above kMaxLatency, latencies that fall from a level to the
  // next, a size that is not a multiple of ways x 64 bytes, sets that are not a power of two.
  std::string validate() const;
  // "flat 30 cycles per walk reference" or the hierarchy in one line, for report headers.
  std::string describe() const;
};

// The hierarchy of one run (one MMU backend), with its hit counts.
class MemoryHierarchy final : public MemoryTiming {
public:
  // Throws std::invalid_argument with validate()'s message for a bad configuration.
  explicit MemoryHierarchy(const MemoryModelConfig &config);

  const MemoryModelConfig &config() const { return config_; }
  bool flat() const { return config_.kind == MemoryModelConfig::Kind::Flat; }

  // MemoryTiming: a walk reference's c (§12) is the latency of the level holding its entry.
  uint64_t cycles(const MemOp &op) override { return flat() ? config_.cycles_per_ref : access(op.addr); }
  uint64_t fixedCycles() const override { return flat() ? config_.cycles_per_ref : 0; }
  // A guest data access at host address `hpa`: its cycles beyond an L1D hit, which the core
  // overlaps with execution (0 in the flat model, where nothing is cached).
  uint64_t dataStall(uint64_t hpa) { return flat() ? 0 : access(hpa) - config_.levels[0].latency; }
  // The load-to-use latency of an access to `hpa` in the cache model, filling what it missed.
  uint64_t access(uint64_t hpa);

  // Accesses served by L1D, L2, LLC and DRAM so far (walk references and data alike).
  const std::array<uint64_t, MemoryModelConfig::kLevels + 1> &served() const { return served_; }
  // Whether `hpa`'s line is in level `level` (0 L1D, 1 L2, 2 LLC), without touching anything.
  bool holds(unsigned level, uint64_t hpa) const;

  ~MemoryHierarchy() override;
  MemoryHierarchy(const MemoryHierarchy &) = delete;
  MemoryHierarchy &operator=(const MemoryHierarchy &) = delete;

private:
  // One level: the model's set-associative array with the §9.1 tree-PLRU (model/src), so that
  // the replacement policy exists once.
  struct Level;

  MemoryModelConfig config_;
  std::vector<std::unique_ptr<Level>> levels_;
  std::array<uint64_t, MemoryModelConfig::kLevels + 1> served_{};
  // The line of the last access, held by L1D then: the next access to it (most of a sequential
  // run) is an L1D hit whose touch would change no PLRU bit, so no set is searched.
  uint64_t last_line_ = ~uint64_t{0};
};

}  // namespace vmmu::vmm
