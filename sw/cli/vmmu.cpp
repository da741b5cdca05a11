// vmmu.cpp - the `vmmu` command: its subcommands, parsed by CLI11 (`vmmu COMMAND --help` lists
// every option with its default).
//
//   vmmu run [TRACE] [--mode MODE|adaptive|all] ...  (run_command.cpp: a trace through every approach)
//   vmmu plot RESULT.json -o OUT.png|svg|pdf         (plot_command.cpp)
//   vmmu demo [--accesses N] [--footprint-mib M] [--seed S] [--mem-latency C] [--guest-pages 4k|2m]
//   vmmu trace info|dump|import|mix|gen ...         (trace_commands.cpp)
//   vmmu record -o FILE.vmt -- COMMAND ARGS...      (trace_commands.cpp)
//
// Exit status: 0 done, 1 an error doing it (one line "vmmu: error: ..."), 2 a usage error (one
// line "vmmu: OPTION: ..."), 128+N a run stopped by signal N (run_command.cpp).
//
// `demo` runs the golden model over a built-in synthetic workload in every translation mode and
// prints, per workload and mode, the hardware side of translation: TLB misses per 1000 accesses,
// memory references per walk and walk cycles. The guest activity (the same virtual addresses, the
// same guest page tables) is identical in every mode; only how gPA becomes hPA differs. SHADOW
// walks VMM-built tables that map VA straight to hPA, so its hardware cost equals NATIVE's; its
// VM-exit cost belongs to the VMM shim (sw/vmm), not to this table.
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "command_line.h"
#include "output_file.h"
#include "vmmu/mmu.h"
#include "vmmu/page_tables.h"

namespace {

using vmmu::Access;
using vmmu::CtxReg;
using vmmu::Mode;
using vmmu::PageSize;

struct DemoOptions {
  uint64_t accesses = 400'000;
  uint64_t footprint_mib = 256;
  uint64_t seed = 1;
  uint64_t mem_latency = 30;  // cycles per page-table access (c of §12): an L2/LLC-hit figure
  std::string guest_pages = "4k";

  // The data the workloads touch and the guest maps: one figure for both, so they always agree.
  uint64_t footprintBytes() const { return footprint_mib << 20; }
};

// Host memory layout of the demo: the guest's physical memory is [0, guest_bytes), backed by host
// memory at kHostBase (1 GiB aligned, so DIRECT maps guest 2M pages with 2M TLB entries).
constexpr uint64_t kHostBase = 0x40'0000'0000ull;   // 256 GiB
constexpr uint64_t kEptFrames = 0x10'0000'0000ull;  // 64 GiB: EPT tables
constexpr uint64_t kNativeFrames = 0x20'0000'0000ull;  // 128 GiB: native/shadow tables
constexpr uint64_t kVaBase = 0x0000'5500'0000'0000ull;
constexpr uint16_t kVpid = 1;

struct ModeResult {
  Mode mode;
  uint64_t accesses, misses, walks, refs, walk_cycles;
};

// Builds the same guest mapping for `mode` and replays the access stream.
ModeResult runMode(Mode mode, const DemoOptions &o, PageSize guest_pages, const std::vector<uint64_t> &stream) {
  vmmu::SparseMemory memory;
  vmmu::FixedLatency timing(o.mem_latency);
  vmmu::Mmu mmu(vmmu::MmuConfig{}, memory, &timing);
  const uint64_t footprint = o.footprintBytes();
  const uint64_t data_gpa = 0x4000'0000ull;  // guest frames for data at 1 GiB
  const uint64_t guest_bytes = data_gpa + footprint;
  const uint64_t page = vmmu::pageBytes(guest_pages);

  vmmu::FrameAllocator ept_frames(kEptFrames, kEptFrames + (1ull << 32));
  vmmu::EptTables ept(memory, ept_frames);
  vmmu::FrameAllocator guest_table_frames(0x10'0000, data_gpa);  // guest tables below 1 GiB
  vmmu::FrameAllocator native_frames(kNativeFrames, kNativeFrames + (1ull << 32));

  const bool guest_tables_in_gpa = mode == Mode::Nested || mode == Mode::Direct;
  if (guest_tables_in_gpa) {
    // Back the guest's whole physical memory: 2M EPT pages (4K would only add EPT reads).
    for (uint64_t gpa = 0; gpa < guest_bytes; gpa += vmmu::pageBytes(PageSize::Size2M))
      ept.map(gpa, kHostBase + gpa, PageSize::Size2M);
  }
  vmmu::AddressMap to_host = [](uint64_t gpa) { return kHostBase + gpa; };
  vmmu::GuestPageTables tables = guest_tables_in_gpa
                                     ? vmmu::GuestPageTables(memory, guest_table_frames, 4, 46, to_host)
                                     : vmmu::GuestPageTables(memory, native_frames);
  const uint64_t frame_base = guest_tables_in_gpa ? data_gpa : kHostBase + data_gpa;
  for (uint64_t off = 0; off < footprint; off += page)
    tables.map(kVaBase + off, frame_base + off, guest_pages, vmmu::pte::RW | vmmu::pte::US);

  mmu.writeReg(0, CtxReg::Vpid, (1u << 16) | kVpid);
  mmu.writeReg(0, CtxReg::Mode, static_cast<uint64_t>(mode));
  mmu.writeReg(0, CtxReg::Cr3, tables.root());
  mmu.writeReg(0, CtxReg::Eptp, ept.eptp());
  mmu.writeReg(0, CtxReg::GBase, kHostBase);
  mmu.writeReg(0, CtxReg::GSize, guest_bytes);

  vmmu::TranslateResult result;
  for (const uint64_t va : stream) {
    mmu.translate(vmmu::Request{kVpid, 1, va, Access::Read, true}, result);
    if (result.resp.fault != vmmu::Fault::None)
      throw std::logic_error("demo workload faulted in mode " + std::string(vmmu::toString(mode)) + ": " +
                             std::string(vmmu::toString(result.resp.fault)));
  }
  using vmmu::Counter;
  return ModeResult{mode,
                    mmu.counter(Counter::Lookups),
                    mmu.counter(Counter::TlbMisses),
                    mmu.counter(Counter::Walks),
                    mmu.counter(Counter::GuestReads) + mmu.counter(Counter::NestedReads),
                    mmu.counter(Counter::WalkCycles)};
}

// Two workloads of the seeds' kinds: no locality (the "worst case") and a strided scan.
std::vector<uint64_t> makeStream(const DemoOptions &o, bool random) {
  std::mt19937_64 rng(o.seed);
  const uint64_t footprint = o.footprintBytes();
  std::vector<uint64_t> stream;
  stream.reserve(o.accesses);
  for (uint64_t i = 0; i < o.accesses; ++i) {
    const uint64_t off = random ? (rng() % footprint) & ~uint64_t{7} : (i * 64) % footprint;
    stream.push_back(kVaBase + off);
  }
  return stream;
}

int runDemo(const DemoOptions &o) {
  const PageSize guest_pages = o.guest_pages == "2m" ? PageSize::Size2M : PageSize::Size4K;
  std::printf("vmmu demo: golden model, %" PRIu64 " accesses per run, footprint %" PRIu64
              " MiB, guest %s pages, %" PRIu64 " cycles per page-table access, seed %" PRIu64 "\n",
              o.accesses, o.footprint_mib, guest_pages == PageSize::Size4K ? "4K" : "2M", o.mem_latency, o.seed);
  for (const bool random : {true, false}) {
    const auto stream = makeStream(o, random);
    std::printf("\nworkload: %s\n", random ? "random (no locality)" : "scan (64-byte stride)");
    std::printf("%-8s %14s %12s %14s %14s\n", "mode", "misses/1000", "refs/walk", "walk cycles", "cycles/access");
    for (const Mode mode : {Mode::Native, Mode::Nested, Mode::Shadow, Mode::Direct}) {
      const ModeResult r = runMode(mode, o, guest_pages, stream);
      const double per_walk = r.walks ? double(r.refs) / double(r.walks) : 0.0;
      std::printf("%-8s %14.2f %12.2f %14" PRIu64 " %14.2f\n", std::string(vmmu::toString(mode)).c_str(),
                  1000.0 * double(r.misses) / double(r.accesses), per_walk, r.walk_cycles,
                  double(r.walk_cycles) / double(r.accesses));
    }
  }
  return 0;
}

void addDemoCommand(CLI::App &app, vmmu::cli::Action &action) {
  using vmmu::cli::wholeNumber;
  auto o = std::make_shared<DemoOptions>();
  CLI::App *demo = app.add_subcommand("demo", "The golden model over synthetic workloads in every translation mode");
  demo->add_option("--accesses", o->accesses, "Accesses per run")->check(wholeNumber(1, 1'000'000'000));
  demo->add_option("--footprint-mib", o->footprint_mib, "Data footprint in MiB")->check(wholeNumber(1, 4096));
  demo->add_option("--seed", o->seed, "Random seed")->check(wholeNumber(0, UINT64_MAX));
  demo->add_option("--mem-latency", o->mem_latency, "Cycles per page-table access")
      ->check(wholeNumber(1, 100'000));
  demo->add_option("--guest-pages", o->guest_pages, "Guest page size")->check(vmmu::cli::oneOf({"4k", "2m"}));
  demo->callback([o, &action] { action = [o] { return runDemo(*o); }; });
}

// CLI11's messages for a missing or unknown subcommand and for an unexpected argument do not say
// which command or which argument: these name both.
std::string usageMessage(const CLI::App &app, const CLI::ParseError &e) {
  const CLI::App *command = &app;
  std::string name;  // "trace gen"
  while (!command->get_subcommands().empty()) {
    command = command->get_subcommands().front();
    name += (name.empty() ? "" : " ") + command->get_name();
  }
  const std::string prefix = name.empty() ? "" : name + ": ";
  const std::vector<std::string> extra = command->remaining();
  const std::string first = extra.empty() ? std::string() : extra.front();
  const std::string what = e.what();
  if (what.rfind("A subcommand", 0) == 0) {
    std::vector<std::string> names;
    for (const CLI::App *sub : command->get_subcommands([](const CLI::App *) { return true; }))
      names.push_back(sub->get_name());
    return prefix + (first.empty() ? "missing command" : "unknown command '" + first + "'") + " (expected " +
           vmmu::cli::listOf(names) + ")";
  }
  if (what.rfind("The following argument", 0) == 0 && !first.empty())
    return prefix + "unexpected argument '" + first + "' (see vmmu " + name + " --help)";
  return what;
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app("vmmu: a hardware MMU model for virtualized address translation.\n"
               "Run 'vmmu COMMAND --help' for the options of COMMAND, each with its default.",
               "vmmu");
  app.set_version_flag("--version", std::string("vmmu ") + VMMU_VERSION);
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();
  app.get_formatter()->column_width(34);
  vmmu::cli::Action action;
  vmmu::cli::addRunCommand(app, action);
  vmmu::cli::addPlotCommand(app, action);
  addDemoCommand(app, action);
  vmmu::cli::addTraceCommands(app, action, vmmu::cli::commandLine(argc, argv));
  vmmu::cli::addRecordCommand(app, action);
  if (argc < 2) {
    std::fputs(app.help().c_str(), stderr);
    return 2;
  }
  vmmu::cli::removeTemporariesOnSignals();
  int status = 0;
  try {
    app.parse(argc, argv);
    status = action();
    vmmu::cli::finishStdout();
  } catch (const CLI::ParseError &e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success))
      return app.exit(e);  // --help, --version: to standard output, status 0
    std::fprintf(stderr, "vmmu: %s\n", usageMessage(app, e).c_str());
    return 2;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "vmmu: error: %s\n", e.what());
    return 1;
  }
  return status;
}
