// run_command.cpp - `vmmu run`: replays a trace under every approach and compares them.
//
//   vmmu run [TRACE] [--mode MODE|adaptive|all] [--backend model|rtl [--rtl-params SET] [--no-cycle-skip]]
//            [--policy NAME] [--wave FILE.fst [--wave-window A:B]] [--json FILE|-]
//            [--config FILE] [--interval N] [--max-events N] [--warmup N] [--contiguity compact|balloon]
//            [--ept-format 4level|2level|1level]
//            [--io-gap] [--policy-modes guest-direct,dual-direct,agile]
//            [--direct-after N]
//
// With no TRACE it replays the recorded traces of traces/ interleaved on one CPU (`vmmu trace mix
// --quantum 100000` of gzip, xz, sort, cc1 and sqlite), mixed into a temporary file.
//
// SIGINT and SIGTERM stop the replay: the command prints (and writes as JSON) what was measured,
// marked interrupted, removes its temporary files and exits with 128 + the signal's number. A
// second signal ends it at once (removing its temporary files all the same); a repeat within a
// quarter of a second is taken for the same signal delivered twice.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "command_line.h"
#include "output_file.h"
#include "vmmu/run/report.h"
#include "vmmu/run/run_config.h"
#ifdef VMMU_CLI_HAVE_RTL
#include "vmmu/rtl_backend/rtl_backend.h"
#endif
#include "vmmu/run/trace_run.h"
#include "vmmu/trace/mix.h"

namespace vmmu::cli {

namespace {

// The only global state: a signal handler can reach nothing else. SIGINT or SIGTERM sets
// g_stop_signal to the signal's number, and g_stop_time to when (CLOCK_MONOTONIC, ns); the
// replay polls the flag between steps and the run ends with what it measured.
volatile std::sig_atomic_t g_stop_signal = 0;
std::atomic<int64_t> g_stop_time{0};
static_assert(std::atomic<int64_t>::is_always_lock_free, "read and written in a signal handler");

// A repeat sooner than this after the first signal is the same stop delivered twice, not a second
// request: timeout(1), forwarding a signal, sends it to the command and then to its whole process
// group, and the two arrive apart when the command runs between them.
constexpr int64_t kRepeatNanoseconds = 250'000'000;

// The first signal stops the run; a second one (later than a repeat) ends the process at once
// (its temporary files removed).
extern "C" void onStopSignal(int signal) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  const int64_t nanoseconds = static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
  if (g_stop_signal != 0) {
    if (nanoseconds - g_stop_time.load() >= kRepeatNanoseconds)
      removeTemporariesAndDie(signal);
    return;
  }
  g_stop_time.store(nanoseconds);
  g_stop_signal = signal;
}

constexpr uint64_t kBundledQuantum = 100'000;
constexpr const char *kBundledTraces[] = {"gzip.vmt", "xz.vmt", "sort.vmt", "cc1.vmt", "sqlite.vmt"};

const std::vector<std::string> kModes = {"native",         "nested",       "shadow",      "shadow-cache",
                                         "shadow-prefetch", "direct",       "guest-direct", "dual-direct",
                                         "agile",           "adaptive",     "all"};
const std::vector<std::string> kPolicies = {"adaptive", "adaptive-shadow", "adaptive-shadow-prefetch", "none"};

struct RunCommandOptions {
  std::string trace;
  std::string mode = "all";
  std::string backend = "model";
  std::string rtl_params;  // empty: the default parameter set
  std::string policy = "adaptive";
  std::string wave;
  std::string wave_window;
  std::string json;
  std::string config;
  std::string contiguity;  // empty: compaction, and no contiguity line in the report
  std::string ept_format;  // empty: 4level, and no EPT-format line in the report
  std::string policy_modes;  // any of "guest-direct,dual-direct,agile": the policy's extra targets
  uint64_t direct_after = 0;
  uint64_t interval = 0;  // 0: the configuration's
  uint64_t max_events = UINT64_MAX;
  uint64_t warmup = 0;
  bool help_config = false;
  bool io_gap = false;
  bool no_cycle_skip = false;
};

// "A:B" -> [A, B].
std::pair<uint64_t, uint64_t> parseWindow(const std::string &text) {
  const size_t colon = text.find(':');
  const auto number = [&](const std::string &part) {
    std::string copy = part;
    if (!wholeNumber(0, UINT64_MAX)(copy).empty())
      usageError("--wave-window", "expected A:B (backend transaction indices), got '" + text + "'");
    return std::stoull(part);
  };
  if (colon == std::string::npos)
    usageError("--wave-window", "expected A:B (backend transaction indices), got '" + text + "'");
  const uint64_t a = number(text.substr(0, colon)), b = number(text.substr(colon + 1));
  if (a > b)
    usageError("--wave-window", "the window " + text + " ends before it starts");
  return {a, b};
}

std::string tracesDir() {
  if (const char *dir = std::getenv("VMMU_TRACES_DIR"); dir != nullptr && *dir != '\0')
    return dir;
  return VMMU_TRACES_DIR;
}

#ifdef VMMU_CLI_HAVE_RTL
// The command that reruns exactly the failing window with waves: the same run alone (the
// transaction indices are per run), up to the failing event, dumping the transactions that lead
// to the failing one. Only a vmmu with the RTL backend can meet a mismatch, so only it has this.
std::string replayCommand(const RunCommandOptions &o, const std::string &trace, const run::Mismatch &m) {
  std::string command = "vmmu run " + trace + " --backend rtl";
  if (!o.rtl_params.empty())
    command += " --rtl-params " + o.rtl_params;
  if (m.run == "adaptive")
    command += " --mode adaptive --policy " + o.policy;
  else
    command += " --mode " + m.run + " --policy none";
  if (!o.config.empty())
    command += " --config " + o.config;
  if (o.interval != 0)
    command += " --interval " + std::to_string(o.interval);
  command += " --max-events " + std::to_string(m.event_index + 1) + " --wave mismatch.fst --wave-window " +
             std::to_string(m.wave_from) + ":" + std::to_string(m.transaction);
  return command;
}
#endif

// The verilated parameter sets this vmmu linked, "default, alt" with `last` before the last.
std::string rtlParameterSetList([[maybe_unused]] const std::string &last) {
  std::string list;
#ifdef VMMU_CLI_HAVE_RTL
  const std::vector<std::string> sets = vmm::rtlParameterSets();
  for (size_t i = 0; i < sets.size(); ++i)
    list += (i == 0 ? "" : i + 1 == sets.size() ? last : ", ") + sets[i];
#else
  list = "none: built without the RTL";
#endif
  return list;
}

// The request the options ask for; throws a usage error for options that do not go together.
run::RunRequest makeRequest(const RunCommandOptions &o) {
  run::RunRequest request;
  bool policy_wanted = false;
  if (o.mode == "all") {
    for (unsigned a = 0; a < vmm::kNumSwitchableApproaches; ++a)  // not the guest-segment modes (§18.9)
      request.approaches.push_back(static_cast<vmm::Approach>(a));
    policy_wanted = true;
  } else if (o.mode == "adaptive") {
    policy_wanted = true;
  } else {
    request.approaches.push_back(vmm::parseApproach(o.mode));  // oneOf(kModes) checked the name
  }
  // adaptive chooses caching or prefetching shadow at each switch; the others fix the variant.
  request.settings.adaptive.choose_shadow = o.policy == "adaptive";
  if (o.policy == "adaptive")
    request.settings.adaptive.shadow = vmm::Approach::ShadowCaching;
  else if (o.policy == "adaptive-shadow")
    request.settings.adaptive.shadow = vmm::Approach::ShadowPlain;
  else if (o.policy == "adaptive-shadow-prefetch")
    request.settings.adaptive.shadow = vmm::Approach::ShadowPrefetch;
  request.adaptive = policy_wanted && o.policy != "none";
  if (o.mode == "adaptive" && !request.adaptive)
    usageError("--mode", "adaptive needs a policy, not --policy none");

  if (!o.policy_modes.empty()) {
    // Comma-separated names of the modes the policy may also switch into (§16).
    for (size_t at = 0; at <= o.policy_modes.size();) {
      const size_t comma = std::min(o.policy_modes.find(',', at), o.policy_modes.size());
      const std::string name = o.policy_modes.substr(at, comma - at);
      if (name == "guest-direct")
        request.settings.adaptive.guest_direct = true;
      else if (name == "dual-direct")
        request.settings.adaptive.dual_direct = true;
      else if (name == "agile")
        request.settings.adaptive.agile = true;
      else
        usageError("--policy-modes",
                   "expected guest-direct, dual-direct or agile, comma-separated, got '" + name + "'");
      at = comma + 1;
    }
    if (!request.adaptive)
      usageError("--policy-modes", "needs the adaptive policy (--mode adaptive or all, not --policy none)");
  }
  if (o.backend == "rtl")
    request.backend = run::BackendKind::Rtl;
  if (!o.rtl_params.empty() && request.backend != run::BackendKind::Rtl)
    usageError("--rtl-params", "needs --backend rtl (it picks the verilated RTL's parameter set)");
  if (o.no_cycle_skip && request.backend != run::BackendKind::Rtl)
    usageError("--no-cycle-skip", "needs --backend rtl (the model has no cycles to clock)");
  if (!o.wave.empty()) {
    if (request.backend != run::BackendKind::Rtl)
      usageError("--wave", "needs --backend rtl (the model has no waves)");
    if (request.approaches.size() + (request.adaptive ? 1 : 0) != 1)
      usageError("--wave", "needs a single run: one --mode, or --mode adaptive (each run restarts the waves)");
    request.baseline = false;  // one run only, so the waves are that run's
  }
  // The window is checked whether or not this vmmu has the RTL backend: a bad option is a usage
  // error before anything else.
  const auto window = o.wave_window.empty() ? std::pair<uint64_t, uint64_t>{0, UINT64_MAX} : parseWindow(o.wave_window);
#ifdef VMMU_CLI_HAVE_RTL
  if (request.backend == run::BackendKind::Rtl) {
    vmm::RtlBackendOptions options;
    options.waves_path = o.wave;
    options.cycle_skip = !o.no_cycle_skip;
    std::tie(options.waves_from, options.waves_to) = window;
    if (!o.rtl_params.empty()) {
      const std::vector<std::string> sets = vmm::rtlParameterSets();
      if (std::find(sets.begin(), sets.end(), o.rtl_params) == sets.end())
        usageError("--rtl-params", "expected " + rtlParameterSetList(" or ") + ", got '" + o.rtl_params + "'");
      options.parameter_set = o.rtl_params;
      // The model runs the configuration the RTL was verilated with; a --config file may still
      // change it, which the RTL backend then refuses, naming the parameter.
      request.settings.mmu = vmm::rtlParameterSetConfig(o.rtl_params);
      // The VMM keeps its own frames at 1 TiB by default; a set with a smaller host physical
      // space (alt: 40 bits, 1 TiB in all) gets them in its top 64 GiB instead.
      const uint64_t host_bytes = uint64_t{1} << request.settings.mmu.pa_bits;
      if (request.settings.vmm.frames_base + vmm::Vmm::kVmmFramesBytes > host_bytes &&
          host_bytes >= 2 * vmm::Vmm::kVmmFramesBytes)
        request.settings.vmm.frames_base = host_bytes - vmm::Vmm::kVmmFramesBytes;
    }
    // VMMU_RTL_CHECK / VMMU_RTL_WAVES / VMMU_RTL_WAVES_WINDOW / VMMU_RTL_INJECT_DIVERGENCE override
    // these (rtl_backend.h).
    request.rtl_backend = vmm::checkedRtlBackendFactory(options);
  }
#else
  (void)window;
#endif

  // Settings: the file, then the command line.
  if (!o.config.empty())
    run::applyConfigFile(o.config, request.settings);
  if (o.interval != 0)
    request.settings.interval = o.interval;
  if (!o.contiguity.empty())
    request.settings.vmm.contiguity = vmm::parseContiguity(o.contiguity);  // oneOf() checked the name
  if (!o.ept_format.empty())
    request.settings.vmm.memory.ept_format = o.ept_format == "2level"   ? EptFormat::Flat2
                                             : o.ept_format == "1level" ? EptFormat::Flat1
                                                                        : EptFormat::Radix;  // oneOf() checked it
  if (o.io_gap && request.settings.vmm.memory.bytes > (3ull << 30)) {
    // The PC's hole below 4 GiB for a VM with RAM above it (docs/architecture.md §19.5).
    request.settings.vmm.memory.io_gap_start = 3ull << 30;
    request.settings.vmm.memory.io_gap_bytes = 1ull << 30;
  }
  request.settings.direct_after = o.direct_after;
  request.max_events = o.max_events;
  request.warmup = o.warmup;
  return request;
}

// Installs onStopSignal for SIGINT and SIGTERM while it lives; the previous handlers come back
// on every way out.
class StopSignals {
public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction action = {};
    action.sa_handler = onStopSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous_int_);
    sigaction(SIGTERM, &action, &previous_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &previous_int_, nullptr);
    sigaction(SIGTERM, &previous_term_, nullptr);
  }
  StopSignals(const StopSignals &) = delete;
  StopSignals &operator=(const StopSignals &) = delete;

private:
  struct sigaction previous_int_ = {};
  struct sigaction previous_term_ = {};
};

int runRun(const RunCommandOptions &o) {
  run::RunRequest request = makeRequest(o);

  // Outputs are created before the run, so that an unwritable path fails at once, not after the
  // measurement; the JSON replaces the old file only when it is complete.
  checkNotAnInput("--json", o.json, {o.trace, o.config});
  std::optional<OutputFile> json_file;
  if (!o.json.empty() && o.json != "-")
    json_file.emplace(o.json);
  if (!o.wave.empty())
    checkWritableDirectory(o.wave);

  // From here on SIGINT and SIGTERM end the run cleanly (also while the bundled traces are being
  // mixed: the replay then stops at once).
  const StopSignals stop_signals;
  request.stop = &g_stop_signal;
  request.progress = [](const std::string &line) { std::fprintf(stderr, "%s\n", line.c_str()); };

  // The bundled mix goes to a private temporary file (mkstemp), removed on every way out but a
  // mismatch, whose replay command names it.
  std::optional<OutputFile> bundled;
  if (o.trace.empty()) {
    bundled.emplace((std::filesystem::temp_directory_path() / "vmmu-run-bundled.vmt").string());
    std::vector<std::string> inputs;
    for (const char *name : kBundledTraces)
      inputs.push_back(tracesDir() + "/" + name);
    trace::mixTraces(inputs, bundled->path(),
                     trace::makeHeader("vmmu run (bundled mix)", "vmmu trace mix --quantum " +
                                                                     std::to_string(kBundledQuantum) + " traces/*.vmt"),
                     kBundledQuantum);
  }
  const std::string trace = bundled ? bundled->path() : o.trace;
  request.trace = trace;

  run::RunReport report = run::runTrace(request);
  report.contiguity = o.contiguity;
  report.ept_format = o.ept_format;
  if (bundled)
    report.trace = "bundled mix of traces/{gzip,xz,sort,cc1,sqlite}.vmt, quantum " + std::to_string(kBundledQuantum);

  // `--json -` puts the JSON alone on standard output (for a pipe) and the table on stderr.
  const bool json_to_stdout = o.json == "-";
  std::fputs(run::formatText(report).c_str(), json_to_stdout ? stderr : stdout);
  if (json_to_stdout) {
    writeOutput("-", run::formatJson(report));
  } else if (json_file) {
    json_file->write(run::formatJson(report));
    json_file->commit();
  }
#ifdef VMMU_CLI_HAVE_RTL
  if (report.mismatch) {
    if (bundled)
      bundled->keep();  // the replay command names it
    const run::Mismatch &m = *report.mismatch;
    std::fprintf(stderr,
                 "vmmu: error: RTL and golden model disagree in run '%s' at trace event %llu (backend transaction "
                 "%llu): %s\nvmmu: replay that window with waves: %s\n"
                 "vmmu: (the failing transaction is at time %llu to %llu of mismatch.fst: ps, one cycle per ns)\n",
                 m.run.c_str(), static_cast<unsigned long long>(m.event_index),
                 static_cast<unsigned long long>(m.transaction), m.what.c_str(), replayCommand(o, trace, m).c_str(),
                 static_cast<unsigned long long>(m.first_time),
                 static_cast<unsigned long long>(m.last_time));
    return 1;
  }
#endif
  if (report.interrupted) {
    const int signal = g_stop_signal != 0 ? static_cast<int>(g_stop_signal) : SIGINT;
    std::fprintf(stderr, "vmmu: interrupted by SIG%s; printed what was measured\n", sigabbrev_np(signal));
    return 128 + signal;
  }
  return 0;
}

}  // namespace

void addRunCommand(CLI::App &app, Action &action) {
  auto o = std::make_shared<RunCommandOptions>();
  CLI::App *run = app.add_subcommand("run", "Replay a trace under every approach and compare them");
  run->footer("With no TRACE: the recorded traces of traces/ interleaved on one CPU (quantum 100000).\n"
              "SIGINT or SIGTERM stops the run: what was measured is printed (and written as JSON), exit 128+signal.");
  run->add_option("TRACE", o->trace, "The .vmt trace to replay (default: the bundled mix)");
  run->add_option("--mode", o->mode, "The approaches to run (all: native to direct and the adaptive policy; guest-direct and "
                  "dual-direct, the guest direct segment of docs/architecture.md §18, and agile, agile paging of "
                  "§20, run by name)")
      ->check(oneOf(kModes));
  run->add_option("--backend", o->backend, "The MMU: the golden model, or the RTL checked against it")
      ->check(oneOf({"model", "rtl"}));
  run->add_option("--rtl-params", o->rtl_params,
                  "RTL backend: the verilated parameter set to run (" + rtlParameterSetList(", ") +
                      "); the model is configured the same")
      ->default_str("default");
  run->add_option("--policy", o->policy, "The adaptive policy's shadow variant (adaptive: shadow-cache), or none")
      ->check(oneOf(kPolicies));
  CLI::Option *wave = run->add_option("--wave", o->wave, "RTL backend: write FST waves of the run to FILE.fst");
  run->add_option("--wave-window", o->wave_window, "Only backend transactions A to B in the waves (A:B)")
      ->needs(wave);
  run->add_flag("--no-cycle-skip", o->no_cycle_skip,
                "RTL backend: clock every cycle of a walk's memory waits instead of skipping them "
                "(same results, slower; for speed comparisons)");
  run->add_option("--json", o->json, "Also write the report as JSON to FILE (-: standard output, table to stderr)");
  run->add_option("--config", o->config, "Settings file (key = value lines; --help-config lists the keys)");
  run->add_flag("--help-config", o->help_config,
                "List every --config key with its type, default, allowed range and meaning, and exit");
  run->add_option("--interval", o->interval, "User accesses per policy interval")
      ->check(wholeNumber(1, 1'000'000'000'000ull))
      ->default_str("the --config file's, else 10000");
  run->add_option("--contiguity", o->contiguity,
                  "How a fragmented VM is made contiguous for direct: compact (the host copies every page out "
                  "of place home) or balloon (the guest's balloon driver gives them back and the VMM re-plugs "
                  "them in place); either adds its cost line to the report")
      ->check(oneOf({"compact", "balloon"}))
      ->default_str("compact");
  run->add_option("--ept-format", o->ept_format,
                  "The nested table's format (docs/architecture.md §21): 4level (x86 EPT), 2level (two levels of "
                  "2 MiB tables indexed by 18 bits) or 1level (one 2 MiB table, a guest of at most 1 GiB), on "
                  "both backends; adds the EPT tables' memory and cost to the report")
      ->check(oneOf({"4level", "2level", "1level"}))
      ->default_str("4level");
  run->add_option("--policy-modes", o->policy_modes,
                  "Let the adaptive policy also switch into guest-direct, dual-direct, agile or any of them "
                  "(comma-separated; model backend): with a segment mode its VM offers the guest segment from "
                  "creation; agile is entered from nested or the caching shadow (docs/architecture.md §16)")
      ->default_str("none: nested and shadow only");
  run->add_flag("--io-gap", o->io_gap,
                "Give a VM of more than 3 GiB the PC's I/O gap: no RAM at guest-physical 3-4 GiB, the rest "
                "relocated above 4 GiB (docs/architecture.md §19.5)");
  run->add_option("--direct-after", o->direct_after,
                  "Run direct nested for the first N user accesses and switch into direct at the interval "
                  "boundary that reaches them, making the VM contiguous then, with the guest's memory in use")
      ->check(wholeNumber(0, UINT64_MAX))
      ->default_str("0: direct from creation");
  run->add_option("--max-events", o->max_events, "Replay at most N trace events")
      ->check(wholeNumber(1, UINT64_MAX))
      ->default_str("all");
  run->add_option("--warmup", o->warmup,
                  "Replay the first N user accesses uncounted (pages touched, tables and caches warmed) and "
                  "report them apart as the first-touch phase")
      ->check(wholeNumber(0, UINT64_MAX))
      ->default_str("0");
  run->callback([o, &action] {
    if (o->help_config)
      action = [] {
        // The parser's own key table (run_config.cpp) writes this, so the list cannot drift.
        std::fputs(run::describeConfigKeys().c_str(), stdout);
        return 0;
      };
    else
      action = [o] { return runRun(*o); };
  });
}

}  // namespace vmmu::cli
