// run_command.cpp - `vmmu run`: replays a trace under every approach and compares them.
//
//   vmmu run [TRACE] [--mode MODE|adaptive|all] [--backend model|rtl] [--policy NAME]
//            [--wave FILE.fst [--wave-window A:B]] [--json FILE] [--config FILE]
//            [--interval N] [--max-events N]
//
// With no TRACE it replays the recorded traces of traces/ interleaved on one CPU (`vmmu trace mix
// --quantum 100000` of gzip, xz, sort, cc1 and sqlite), mixed into a temporary file.
#include "run_command.h"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "cli_options.h"
#include "vmmu/run/trace_run.h"
#include "vmmu/trace/mix.h"

namespace vmmu::cli {

namespace {

// The one piece of global state: a signal handler can reach nothing else. SIGINT sets it; the
// replay polls it between events and the run ends with what it measured.
volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void onInterrupt(int) { g_interrupted = 1; }

constexpr uint64_t kBundledQuantum = 100'000;
constexpr const char *kBundledTraces[] = {"gzip.vmt", "xz.vmt", "sort.vmt", "cc1.vmt", "sqlite.vmt"};

struct RunCommandOptions {
  std::string trace;
  std::string mode = "all";
  std::string backend = "model";
  std::string policy = "adaptive";
  std::string wave;
  std::string wave_window;
  std::string json;
  std::string config;
  uint64_t interval = 0;  // 0: the configuration's
  uint64_t max_events = UINT64_MAX;
};

RunCommandOptions parseRun(ArgCursor args) {
  RunCommandOptions o;
  while (!args.done()) {
    const std::string_view arg = args.next();
    if (arg == "--mode")
      o.mode = args.value(arg);
    else if (arg == "--backend")
      o.backend = args.value(arg);
    else if (arg == "--policy")
      o.policy = args.value(arg);
    else if (arg == "--wave")
      o.wave = args.value(arg);
    else if (arg == "--wave-window")
      o.wave_window = args.value(arg);
    else if (arg == "--json")
      o.json = args.value(arg);
    else if (arg == "--config")
      o.config = args.value(arg);
    else if (arg == "--interval")
      o.interval = parseUnsigned(arg, args.value(arg), 1, 1'000'000'000'000ull);
    else if (arg == "--max-events")
      o.max_events = parseUnsigned(arg, args.value(arg), 1, UINT64_MAX);
    else if (arg.size() > 1 && arg[0] == '-')
      throw UsageError("unknown option '" + std::string(arg) + "' for 'vmmu run'");
    else if (!o.trace.empty())
      throw UsageError("run: expected one trace file, got a second: '" + std::string(arg) + "'");
    else
      o.trace = arg;
  }
  return o;
}

// "A:B" -> [A, B].
std::pair<uint64_t, uint64_t> parseWindow(const std::string &text) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos)
    throw UsageError("--wave-window: expected A:B (backend transaction indices), got '" + text + "'");
  const std::string from = text.substr(0, colon), to = text.substr(colon + 1);
  const uint64_t a = parseUnsigned("--wave-window", from.c_str(), 0, UINT64_MAX);
  const uint64_t b = parseUnsigned("--wave-window", to.c_str(), 0, UINT64_MAX);
  if (a > b)
    throw UsageError("--wave-window: the window " + text + " ends before it starts");
  return {a, b};
}

std::string tracesDir() {
  if (const char *dir = std::getenv("VMMU_TRACES_DIR"); dir != nullptr && *dir != '\0')
    return dir;
  return VMMU_TRACES_DIR;
}

// Mixes the bundled traces into a temporary file; returns its path.
std::string mixBundledTraces() {
  std::vector<std::string> inputs;
  for (const char *name : kBundledTraces)
    inputs.push_back(tracesDir() + "/" + name);
  const std::string output =
      (std::filesystem::temp_directory_path() / ("vmmu-run-bundled-" + std::to_string(::getpid()) + ".vmt")).string();
  trace::mixTraces(inputs, output,
                   trace::makeHeader("vmmu run (bundled mix)", "vmmu trace mix --quantum " +
                                                                   std::to_string(kBundledQuantum) + " traces/*.vmt"),
                   kBundledQuantum);
  return output;
}

// The command that reruns exactly the failing window with waves: the same run alone (the
// transaction indices are per run), up to the failing event, dumping the transactions that lead
// to the failing one.
std::string replayCommand(const RunCommandOptions &o, const std::string &trace, const run::Mismatch &m) {
  std::string command = "vmmu run " + trace + " --backend rtl";
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

}  // namespace

void printRunUsage(std::FILE *out) {
  std::fprintf(out,
               "usage: vmmu run [TRACE] [--mode MODE|adaptive|all] [--backend model|rtl] [--policy NAME]\n"
               "                [--wave FILE.fst [--wave-window A:B]] [--json FILE] [--config FILE]\n"
               "                [--interval N] [--max-events N]\n"
               "         MODE: native, nested, shadow, shadow-cache, shadow-prefetch, direct\n"
               "         NAME: adaptive (shadow-cache), adaptive-shadow, adaptive-shadow-prefetch, none\n"
               "       vmmu plot RESULT.json -o OUT.png\n");
}

int runRun(int argc, char **argv) {
  const RunCommandOptions o = parseRun(ArgCursor(argc, argv));
  run::RunRequest request;

  // Modes.
  bool policy_wanted = false;
  if (o.mode == "all") {
    for (unsigned a = 0; a < vmm::kNumApproaches; ++a)
      request.approaches.push_back(static_cast<vmm::Approach>(a));
    policy_wanted = true;
  } else if (o.mode == "adaptive") {
    policy_wanted = true;
  } else {
    try {
      request.approaches.push_back(vmm::parseApproach(o.mode));
    } catch (const std::invalid_argument &) {
      throw UsageError("--mode: unknown mode '" + o.mode +
                       "' (expected native, nested, shadow, shadow-cache, shadow-prefetch, direct, adaptive or all)");
    }
  }
  if (o.policy == "adaptive")
    request.settings.adaptive.shadow = vmm::Approach::ShadowCaching;
  else if (o.policy == "adaptive-shadow")
    request.settings.adaptive.shadow = vmm::Approach::ShadowPlain;
  else if (o.policy == "adaptive-shadow-prefetch")
    request.settings.adaptive.shadow = vmm::Approach::ShadowPrefetch;
  else if (o.policy != "none")
    throw UsageError("--policy: unknown policy '" + o.policy +
                     "' (expected adaptive, adaptive-shadow, adaptive-shadow-prefetch or none)");
  request.adaptive = policy_wanted && o.policy != "none";
  if (o.mode == "adaptive" && !request.adaptive)
    throw UsageError("--mode adaptive needs a policy, not --policy none");

  // Backend and waves.
  if (o.backend == "rtl")
    request.backend = run::BackendKind::Rtl;
  else if (o.backend != "model")
    throw UsageError("--backend: expected model or rtl, got '" + o.backend + "'");
  if (!o.wave_window.empty() && o.wave.empty())
    throw UsageError("--wave-window needs --wave FILE.fst");
  if (!o.wave.empty()) {
    if (request.backend != run::BackendKind::Rtl)
      throw UsageError("--wave needs --backend rtl (the model has no waves)");
    if (request.approaches.size() + (request.adaptive ? 1 : 0) != 1)
      throw UsageError("--wave needs a single run: one --mode, or --mode adaptive (each run restarts the waves)");
    request.baseline = false;  // one run only, so the waves are that run's
    request.wave_path = o.wave;
    if (!o.wave_window.empty())
      std::tie(request.wave_from, request.wave_to) = parseWindow(o.wave_window);
  }

  // Settings: the file, then the command line.
  if (!o.config.empty())
    run::applyConfigFile(o.config, request.settings);
  if (o.interval != 0)
    request.settings.interval = o.interval;
  request.max_events = o.max_events;

  // Opened before the run so that an unwritable path fails at once, not after the measurement.
  std::ofstream json_out;
  if (!o.json.empty()) {
    json_out.open(o.json, std::ios::binary | std::ios::trunc);
    if (!json_out)
      throw std::runtime_error(o.json + ": cannot write the JSON report");
  }

  // Ctrl-C from here on ends the run cleanly (also while the bundled traces are being mixed: the
  // replay then stops at once). The previous handler comes back on every way out.
  g_interrupted = 0;
  struct InterruptHandler {
    struct sigaction previous = {};
    InterruptHandler() {
      struct sigaction action = {};
      action.sa_handler = onInterrupt;
      sigemptyset(&action.sa_mask);
      sigaction(SIGINT, &action, &previous);
    }
    ~InterruptHandler() { sigaction(SIGINT, &previous, nullptr); }
  } interrupt_handler;
  request.stop = &g_interrupted;
  request.progress = [](const std::string &line) { std::fprintf(stderr, "%s\n", line.c_str()); };

  const bool bundled = o.trace.empty();
  const std::string trace = bundled ? mixBundledTraces() : o.trace;
  request.trace = trace;
  struct RemoveOnExit {
    std::string path;
    bool keep = false;
    ~RemoveOnExit() {
      if (!path.empty() && !keep)
        std::filesystem::remove(path);
    }
  } bundled_file{bundled ? trace : std::string()};

  run::RunReport report = run::runTrace(request);
  if (bundled)
    report.trace = "bundled mix of traces/{gzip,xz,sort,cc1,sqlite}.vmt, quantum " + std::to_string(kBundledQuantum);

  std::fputs(run::formatText(report).c_str(), stdout);
  std::fflush(stdout);
  if (json_out.is_open()) {
    json_out << run::formatJson(report);
    json_out.close();
    if (!json_out)
      throw std::runtime_error(o.json + ": cannot write the JSON report");
  }
  if (report.mismatch) {
    bundled_file.keep = true;  // the replay command names it
    const run::Mismatch &m = *report.mismatch;
    std::fprintf(stderr,
                 "vmmu: error: RTL and golden model disagree in run '%s' at trace event %llu (backend transaction "
                 "%llu): %s\nvmmu: replay that window with waves: %s\n"
                 "vmmu: (the failing transaction is at time %llu to %llu of mismatch.fst)\n",
                 m.run.c_str(), static_cast<unsigned long long>(m.event_index),
                 static_cast<unsigned long long>(m.transaction), m.what.c_str(), replayCommand(o, trace, m).c_str(),
                 static_cast<unsigned long long>(2 * m.first_cycle),
                 static_cast<unsigned long long>(2 * m.last_cycle + 1));
    return 1;
  }
  if (report.interrupted) {
    std::fprintf(stderr, "vmmu: interrupted; printed what was measured\n");
    return 130;
  }
  return 0;
}

}  // namespace vmmu::cli
