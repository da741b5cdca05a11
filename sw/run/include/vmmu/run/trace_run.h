// vmmu/run/trace_run.h - `vmmu run`: one trace replayed under every approach, compared.
//
// runTrace() replays the same trace (trace_replay.h) once per approach asked for, plus native as
// the baseline and the adaptive switch policy, each on a fresh MMU backend (the golden model, or
// the verilated RTL checked against it on every translation), then computes the oracle schedules
// and names the best approach. report.h prints a RunReport as text and as JSON.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "vmmu/policy/experiment.h"
#include "vmmu/run/run_config.h"
#include "vmmu/run/trace_replay.h"

namespace vmmu::run {

enum class BackendKind { Model, Rtl };

// Makes the MMU backend of one run (policy::ExperimentConfig::make_backend's type).
using BackendFactory = std::function<std::unique_ptr<vmm::MmuBackend>(const MmuConfig &, uint64_t cycles_per_ref)>;

struct RunRequest {
  std::string trace;
  // Static approaches to run, after native when `baseline` (the slowdowns' denominator).
  std::vector<vmm::Approach> approaches;
  bool baseline = true;
  bool adaptive = true;  // also run the adaptive policy (settings.adaptive)
  BackendKind backend = BackendKind::Model;
  // BackendKind::Rtl: makes each run's RTL backend, waves included. vmmu_run does not link the
  // verilated RTL: the caller that does (the vmmu command, the tests) supplies
  // vmm::checkedRtlBackendFactory (sw/rtl_backend). Empty: --backend rtl is refused.
  BackendFactory rtl_backend;
  uint64_t max_events = std::numeric_limits<uint64_t>::max();
  RunSettings settings;
  const volatile std::sig_atomic_t *stop = nullptr;  // SIGINT: finish the current run's accounting and stop
  // Receives a progress line now and then (at most about once a second, after the first seconds).
  std::function<void(const std::string &)> progress;
};

struct ModeRun {
  policy::RunResult result;
  ReplayStats replay;
  bool interrupted = false;
  double seconds = 0.0;      // wall time of this run (replay, guest, VMM and backend)
  double cpu_seconds = 0.0;  // CPU time of this process during the run (a busy machine inflates wall time)
  // RTL backend: the transactions (translations and control commands) the run issued, numbered
  // from 0; the unit of --wave-window. 0 on the model backend.
  uint64_t transactions = 0;
};

// The RTL and the golden model disagreed.
struct Mismatch {
  std::string run;           // the approach or policy running
  uint64_t event_index = 0;  // trace event (from 0) being replayed
  uint64_t transaction = 0;  // backend transaction index (the wave window's unit)
  uint64_t wave_from = 0;    // the wave window worth replaying is [wave_from, transaction]
  uint64_t first_cycle = 0;  // DUT cycles of the transaction
  uint64_t last_cycle = 0;
  uint64_t first_time = 0;   // the same in the waves' time stamps (ps): first_cycle with the clock
  uint64_t last_time = 0;    // low, last_cycle after its rising edge (tb/harness/wave_convention.h)
  std::string what;          // what differed: the request and both results
};

// Per-interval records are bounded: when the trace has more than this many intervals of the
// requested length, the interval is coarsened to ceil(accesses / kMaxIntervals) (RunReport says
// so), so memory does not follow --interval 1 over a long trace.
inline constexpr uint64_t kMaxIntervals = 100'000;

struct RunReport {
  std::string trace;
  std::string backend;  // "model" or "rtl"
  uint64_t events = 0;    // trace events replayed (up to max_events)
  uint64_t accesses = 0;  // user accesses in them
  bool counted = true;    // false when a stop came while counting: events and accesses are partial
  uint64_t interval = 0;            // user accesses per policy interval, as run
  uint64_t requested_interval = 0;  // as asked; `interval` is larger when coarsened (kMaxIntervals)
  uint64_t cycles_per_ref = 0;
  std::vector<ModeRun> runs;
  policy::OracleResult oracle;      // nested vs the adaptive policy's shadow variant
  std::string oracle_shadow;
  policy::OracleResult oracle_all;  // every approach but native
  bool interrupted = false;
  std::optional<Mismatch> mismatch;
  double seconds = 0.0;  // wall time of all runs

  const ModeRun *find(std::string_view name) const;
};

// Throws trace::TraceError (bad trace), std::invalid_argument (bad settings), or whatever the
// guest reports (guest::OutOfGuestMemory). A backend mismatch does not throw: it ends the report.
RunReport runTrace(const RunRequest &request);

}  // namespace vmmu::run
