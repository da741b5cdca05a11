// vmmu/run/run_config.h - the settings of one `vmmu run` and its key=value configuration file.
//
// A configuration file holds one `key = value` per line; `#` starts a comment, blank lines are
// ignored. Keys (defaults in parentheses, costs in cycles):
//   memory_mib (256) guest memory; fragmentation (0) fraction of 4 KiB pages out of place;
//   max_ept_page (1g) 4k|2m|1g; allow_compaction (1); huge_pages (0) THP for the replayed arena;
//   cycles_per_ref (30) cycles per page-walk memory reference (§12 c);
//   interval (10000) user accesses per policy interval;
//   exit_round_trip (1500), exit_handler (200), hit_cycles, access_cycles, guest_entry_read,
//   prefetch_entry_read, shadow_entry_write, shadow_table_alloc, shadow_table_free,
//   emulate_write, control_command, page_move: vmm::CostConfig;
//   guest.page_fault, guest.clear_page, guest.copy_page, guest.syscall, guest.context_switch,
//   guest.process_lifecycle: guest::GuestWorkCosts;
//   tlb.4k.sets, tlb.4k.ways, tlb.2m.*, tlb.1g.*, ntlb.4k.* .. ntlb.1g.*, psc.l2.* .. psc.l5.*,
//   escape_entries, num_contexts: MMU geometry (§1);
//   adaptive.margin, adaptive.patience, adaptive.cooldown, adaptive.horizon,
//   adaptive.switch_base_cycles: the adaptive policy.
// An unknown key, a malformed value or a missing `=` is a ConfigError "FILE:LINE: ...".
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
  policy::AdaptiveParams adaptive;
  uint64_t cycles_per_ref = 30;
  uint64_t interval = 10'000;
  bool huge_pages = false;

  static vmm::VmmConfig defaultVmm() {
    vmm::VmmConfig config;
    config.memory.bytes = 256ull << 20;
    return config;
  }
};

// Applies the key=value lines of `text` (named `name` in errors) to `settings`.
void applyConfigText(std::string_view text, const std::string &name, RunSettings &settings);
// Reads `path` and applies it; an unreadable file is a ConfigError naming it.
void applyConfigFile(const std::string &path, RunSettings &settings);

}  // namespace vmmu::run
