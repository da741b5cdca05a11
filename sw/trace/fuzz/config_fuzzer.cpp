// config_fuzzer.cpp - libFuzzer target for the `vmmu run --config` parser (applyConfigText).
//
// The input is the configuration file. A ConfigError is the expected outcome for bad input;
// anything else is a bug: a crash, a sanitizer report, another exception, or an accepted file
// whose settings break the bounds the parser promises (run_config.h).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "vmmu/run/run_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  vmmu::run::RunSettings settings;
  try {
    vmmu::run::applyConfigText(text, "fuzz.cfg", settings);
  } catch (const vmmu::run::ConfigError &) {
    return 0;
  }
  if (settings.memory.cycles_per_ref < 1 || settings.memory.cycles_per_ref > 1'000'000 ||
      !settings.memory.validate().empty() || settings.interval < 1 ||
      !settings.mmu.validate().empty() || settings.vmm.costs.exit_round_trip > 1'000'000'000 ||
      settings.vmm.memory.bytes == 0 || settings.vmm.memory.bytes % (2u << 20) != 0 ||
      !(settings.vmm.memory.fragmentation >= 0.0 && settings.vmm.memory.fragmentation <= 1.0))
    std::abort();
  return 0;
}
