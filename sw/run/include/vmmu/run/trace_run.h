// vmmu/run/trace_run.h - `vmmu run`: one trace replayed under every approach, compared.
//
// runTrace() replays the same trace (trace_replay.h) under every approach asked for, plus native
// as the baseline and the adaptive switch policy, each on a fresh MMU backend (the golden model,
// or the verilated RTL checked against it on every translation), then computes the oracle
// schedules and names the best approach. report.h prints a RunReport as text and as JSON.
//
// The trace is decoded once (trace_tape.h), whatever the number of runs, and the runs advance in
// lockstep over it: the tape is decoded up to the next step's end (stepAccesses() user accesses),
// then each run in turn replays the step (interval by interval) before any goes further; a run
// that reaches the tape's decoded end waits for the next chunk, so the decoded events held stay
// within a step and a few chunks. Every run sees the same events and the same interval
// boundaries, as when each replayed the trace on its own.
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
#include "vmmu/run/trace_tape.h"

namespace vmmu::run {

enum class BackendKind { Model, Rtl };

// Makes the MMU backend of one run (policy::ExperimentConfig::make_backend's type).
using BackendFactory =
    std::function<std::unique_ptr<vmm::MmuBackend>(const MmuConfig &, const vmm::MemoryModelConfig &)>;

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
  // `vmmu run --warmup N`: the first N user accesses are replayed by every run (pages touched,
  // tables, TLBs and caches warmed) and reported apart, as the first-touch phase; the runs' results,
  // the oracles and the verdict are of the steady phase after them.
  uint64_t warmup = 0;
  RunSettings settings;
  // SIGINT: looked at between steps; every run stops at the same user access, the report marks
  // them interrupted and holds what they measured.
  const volatile std::sig_atomic_t *stop = nullptr;
  // Receives a progress line now and then (at most about once a second, after the first seconds).
  std::function<void(const std::string &)> progress;
};

// What one run measured: the one way results leave a run.
struct ModeRun {
  policy::RunResult result;
  policy::RunResult warmup;  // the first-touch phase (RunRequest::warmup > 0)
  ReplayStats replay;
  bool interrupted = false;
  // This run's own steps: its replay of the decoded events, guest, VMM and backend (decoding the
  // trace, shared by all runs, is RunReport::decode_seconds). CPU time is the process's during
  // those steps (a busy machine inflates wall time, not CPU time).
  double seconds = 0.0;
  double cpu_seconds = 0.0;
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

// Per-interval records are bounded: when a run has recorded this many intervals, its records are
// merged pairwise and its interval doubles from then on (every run does so at the same access;
// RunReport::interval is the final interval, requested_interval what was asked), so memory does
// not follow --interval 1 over a long trace. The trace's length is not known in advance (there
// is no counting pass), hence the doubling.
inline constexpr uint64_t kMaxIntervals = 100'000;

// The runs advance together by at most this many user accesses a step, and a stop is looked at
// between steps: small enough that seven runs on the RTL backend at its slowest (30,000
// walk-heavy accesses/s) take a step in a quarter of a second, large enough that a step's
// bookkeeping (a few clock reads per run) does not show.
inline constexpr uint64_t kStepAccesses = 1024;
// The same on the model backend, a thousand times faster: seven runs take such a step in a few
// milliseconds (tens on a 1 GiB random footprint), and a step's bookkeeping (four clock reads
// per run, the process's CPU clock a system call of about 200 ns) stays below 0.1% of it, where
// at 1,024 accesses it was 1%.
inline constexpr uint64_t kModelStepAccesses = 16 * 1024;
inline constexpr uint64_t stepAccesses(BackendKind backend) {
  return backend == BackendKind::Rtl ? kStepAccesses : kModelStepAccesses;
}

struct RunReport {
  std::string trace;
  std::string backend;  // "model" or "rtl"
  // The trace's events (up to max_events) and the user accesses among them; when `counted` is
  // false (a stop came before the end), the events and user accesses replayed until the stop.
  uint64_t events = 0;
  uint64_t accesses = 0;
  bool counted = true;
  uint64_t warmup = 0;              // user accesses of the first-touch phase (0: none)
  uint64_t interval = 0;            // user accesses per policy interval, as run
  uint64_t requested_interval = 0;  // as asked; `interval` is larger when coarsened (kMaxIntervals)
  uint64_t cycles_per_ref = 0;   // the flat model's (also reported with the cache model)
  std::string memory_model;     // MemoryModelConfig::describe()
  double base_cpi = 0.0;
  std::string max_ept_page;   // "4k", "2m" or "1g": the largest EPT page the VMM maps
  std::string host_allocation;  // "lazy" or "eager"
  // `vmmu run --contiguity`: "compact" or "balloon", and the report says what making the direct
  // VM contiguous cost; empty (the option not given): compaction, and nothing said.
  std::string contiguity;
  // `vmmu run --ept-format`: "4level", "2level" or "1level" (§21), and the report says what each
  // run's EPT tables took; empty (the option not given): 4level, and nothing said.
  std::string ept_format;
  uint64_t page_move_cycles = 0;  // a host page copy's cost (vmm::CostConfig::page_move)
  uint64_t host_alloc_cycles = 0;       // vmm::CostConfig::host_alloc and host_clear_page
  uint64_t host_clear_page_cycles = 0;
  // `vmmu run --io-gap`: the VM's guest-physical hole (§19.5); 0 bytes: none, and nothing said.
  uint64_t io_gap_start = 0;
  uint64_t io_gap_bytes = 0;
  std::vector<ModeRun> runs;
  policy::OracleResult oracle;      // nested vs the adaptive policy's shadow variant
  std::string oracle_shadow;
  policy::OracleResult oracle_all;  // every approach but native
  bool interrupted = false;
  std::optional<Mismatch> mismatch;
  double seconds = 0.0;  // wall time of all runs
  double decode_seconds = 0.0;      // decoding the trace (once, for all runs): wall and CPU time
  double decode_cpu_seconds = 0.0;

  const ModeRun *find(std::string_view name) const;
};

// Throws trace::TraceError (bad trace), std::invalid_argument (bad settings), or whatever the
// guest reports (guest::OutOfGuestMemory). A backend mismatch does not throw: it ends the report.
RunReport runTrace(const RunRequest &request);

}  // namespace vmmu::run
