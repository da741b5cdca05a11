// options.h - the testbench's run-time plusargs (+test=NAME +seed=N ...).
#pragma once

#include <cstdint>
#include <string>

#include "memory_responder.h"
#include "report.h"

namespace vmmu::tb {

struct TbOptions {
  std::string test = "smoke";
  uint64_t seed = 1;
  uint64_t count = 0;  // +n: translation requests (>= 1); 0 here = not given: the test's default
  Verbosity verbosity = Verbosity::Low;
  std::string wave_file;  // +wave=FILE.fst; empty = no waves
  uint64_t wave_start = 0;
  uint64_t wave_stop = UINT64_MAX;
  bool list_tests = false;  // +list
  bool bare = false;        // +bare: drive the DUT without monitors or checking (speed baseline)
  bool no_cycle_skip = false;  // +no_cycle_skip: clock every cycle of a memory wait (§12)
  uint64_t max_errors = 1;  // +max_errors=N: stop after N UVM_ERRORs (UVM's max quit count)
  uint64_t inject = 0;      // +inject=K: corrupt the K-th READ response (proves the checker fails)
  InjectKind inject_kind = InjectKind::ReadData;  // +inject_kind=read_data|read_entry
  std::string coverage_file = "coverage.dat";  // +coverage_file=F: vmmu_tb_cov's coverage output
  std::string program;      // argv[0], for the reproduction command
  std::string help_text;    // +help: the plusargs with their defaults (printed instead of a run)
};

// Parses argv (CLI11, each +name spelled --name). Returns an empty string on success, else one
// line naming the bad plusarg as typed. +help fills help_text.
std::string parseOptions(int argc, const char *const *argv, TbOptions &options);

// The command line that reruns `options` (with waves when wave_file is set).
std::string reproduceCommand(const TbOptions &options);

}  // namespace vmmu::tb
