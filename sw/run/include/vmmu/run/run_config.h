// vmmu/run/run_config.h - the settings of one `vmmu run` and its key=value configuration file.
//
// A configuration file holds one `key = value` per line; `#` starts a comment, blank lines are
// ignored, spaces around keys and values are trimmed. Every key, its type, default, allowed range
// and meaning: describeConfigKeys() (one table drives it and the parser). Whole numbers are
// decimal (`010` is ten); costs are bounded (10^6 cycles per walk reference, 10^9 cycles per other
// cost) so that no sum of them wraps; memory_mib is bounded by this machine's physical memory.
// An unknown or repeated key, a malformed or out-of-range value, a missing `=` or a NUL byte is a
// ConfigError "FILE:LINE: ..."; so is a geometry the MMU model rejects, or a memory model that
// cannot work (a cache size that is not a multiple of ways x 64 bytes, sets that are not a power of
// two, latencies falling from one level to the next): the line of its key.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "vmmu/config.h"
#include "vmmu/guest/guest_kernel.h"
#include "vmmu/policy/policy.h"
#include "vmmu/vmm/vmm.h"

namespace vmmu::run {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RunSettings {
  MmuConfig mmu;
  vmm::VmmConfig vmm = defaultVmm();
  guest::GuestConfig guest;
  policy::AdaptiveParams adaptive = defaultAdaptive(vmm.costs);
  // The cache hierarchy by default (the faithful model); `memory_model = flat` restores the fixed
  // cycles_per_ref per walk reference.
  vmm::MemoryModelConfig memory;
  uint64_t interval = 10'000;
  bool huge_pages = false;
  // `vmmu run --direct-after N` (policy::ExperimentConfig::direct_after): 0, direct from creation.
  uint64_t direct_after = 0;

  // A 256 MiB guest whose exits cost their cited indirect cost too (the run-time model).
  static vmm::VmmConfig defaultVmm() {
    vmm::VmmConfig config;
    config.memory.bytes = 256ull << 20;
    config.costs.exit_indirect = vmm::kCitedExitIndirect;
    return config;
  }
  // The adaptive policy prices an exit as the VMM charges it: round trip, indirect cost, handler.
  static policy::AdaptiveParams defaultAdaptive(const vmm::CostConfig &costs) {
    policy::AdaptiveParams params;
    params.exit_cycles = costs.exit_round_trip + costs.exit_indirect + costs.exit_handler;
    return params;
  }
};

// Applies the key=value lines of `text` (named `name` in errors) to `settings`.
void applyConfigText(std::string_view text, const std::string &name, RunSettings &settings);
// Reads `path` and applies it; an unreadable file, one that is not a regular file (a directory, a
// FIFO, /dev/zero) or one over 1 MiB is a ConfigError naming it.
void applyConfigFile(const std::string &path, RunSettings &settings);

// One line per key: "NAME  TYPE (UNIT)  default D  range R  MEANING" (for `vmmu run --help-config`).
std::string describeConfigKeys();

// A page size as the configuration writes it (`max_ept_page`, the `tlb.` and `ntlb.` keys) and the
// report prints it: "4k", "2m" or "1g".
std::string_view configName(PageSize size);

}  // namespace vmmu::run
