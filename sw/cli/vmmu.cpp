// vmmu.cpp - the `vmmu` command.
//
//   vmmu run [TRACE] [--mode MODE|all] ...       (run_command.cpp: a trace through every approach)
//   vmmu plot RESULT.json -o OUT.png             (plot_command.cpp)
//   vmmu demo [--accesses N] [--footprint-mib M] [--seed S] [--mem-latency C] [--guest-pages 4k|2m]
//   vmmu trace info|dump|import|mix|gen ...     (trace_commands.cpp)
//   vmmu record -o FILE.vmt -- COMMAND ARGS...  (trace_commands.cpp)
//
// `demo` runs the golden model over a built-in synthetic workload in every translation mode and
// prints, per workload and mode, the hardware side of translation: TLB misses per 1000 accesses,
// memory references per walk and walk cycles. The guest activity (the same virtual addresses, the
// same guest page tables) is identical in every mode; only how gPA becomes hPA differs. SHADOW
// walks VMM-built tables that map VA straight to hPA, so its hardware cost equals NATIVE's; its
// VM-exit cost belongs to the VMM shim (sw/vmm), not to this table.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cli_options.h"
#include "run_command.h"
#include "trace_commands.h"
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
  PageSize guest_pages = PageSize::Size4K;
};

using vmmu::cli::parseUnsigned;
using vmmu::cli::UsageError;

DemoOptions parseDemo(int argc, char **argv) {
  DemoOptions o;
  for (int i = 0; i < argc; ++i) {
    const std::string_view flag = argv[i];
    auto value = [&]() -> const char * {
      if (i + 1 >= argc)
        throw UsageError(std::string(flag) + ": missing value");
      return argv[++i];
    };
    if (flag == "--accesses")
      o.accesses = parseUnsigned(flag, value(), 1, 1'000'000'000);
    else if (flag == "--footprint-mib")
      o.footprint_mib = parseUnsigned(flag, value(), 1, 4096);
    else if (flag == "--seed")
      o.seed = parseUnsigned(flag, value(), 0, UINT64_MAX);
    else if (flag == "--mem-latency")
      o.mem_latency = parseUnsigned(flag, value(), 1, 100'000);
    else if (flag == "--guest-pages") {
      const std::string_view v = value();
      if (v == "4k")
        o.guest_pages = PageSize::Size4K;
      else if (v == "2m")
        o.guest_pages = PageSize::Size2M;
      else
        throw UsageError("--guest-pages: expected 4k or 2m, got '" + std::string(v) + "'");
    } else
      throw UsageError("unknown option '" + std::string(flag) + "' for 'vmmu demo'");
  }
  return o;
}

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
ModeResult runMode(Mode mode, const DemoOptions &o, const std::vector<uint64_t> &stream) {
  vmmu::SparseMemory memory;
  vmmu::FixedLatency timing(o.mem_latency);
  vmmu::Mmu mmu(vmmu::MmuConfig{}, memory, &timing);
  const uint64_t footprint = o.footprint_mib << 20;
  const uint64_t data_gpa = 0x4000'0000ull;  // guest frames for data at 1 GiB
  const uint64_t guest_bytes = data_gpa + footprint;
  const uint64_t page = vmmu::pageBytes(o.guest_pages);

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
    tables.map(kVaBase + off, frame_base + off, o.guest_pages, vmmu::pte::RW | vmmu::pte::US);

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
  const uint64_t footprint = o.footprint_mib << 20;
  std::vector<uint64_t> stream;
  stream.reserve(o.accesses);
  for (uint64_t i = 0; i < o.accesses; ++i) {
    const uint64_t off = random ? (rng() % footprint) & ~uint64_t{7} : (i * 64) % footprint;
    stream.push_back(kVaBase + off);
  }
  return stream;
}

int runDemo(const DemoOptions &o) {
  std::printf("vmmu demo: golden model, %" PRIu64 " accesses per run, footprint %" PRIu64
              " MiB, guest %s pages, %" PRIu64 " cycles per page-table access, seed %" PRIu64 "\n",
              o.accesses, o.footprint_mib, o.guest_pages == PageSize::Size4K ? "4K" : "2M", o.mem_latency, o.seed);
  for (const bool random : {true, false}) {
    const auto stream = makeStream(o, random);
    std::printf("\nworkload: %s\n", random ? "random (no locality)" : "scan (64-byte stride)");
    std::printf("%-8s %14s %12s %14s %14s\n", "mode", "misses/1000", "refs/walk", "walk cycles", "cycles/access");
    for (const Mode mode : {Mode::Native, Mode::Nested, Mode::Shadow, Mode::Direct}) {
      const ModeResult r = runMode(mode, o, stream);
      const double per_walk = r.walks ? double(r.refs) / double(r.walks) : 0.0;
      std::printf("%-8s %14.2f %12.2f %14" PRIu64 " %14.2f\n", std::string(vmmu::toString(mode)).c_str(),
                  1000.0 * double(r.misses) / double(r.accesses), per_walk, r.walk_cycles,
                  double(r.walk_cycles) / double(r.accesses));
    }
  }
  return 0;
}

void printUsage(std::FILE *out) {
  vmmu::cli::printRunUsage(out);
  std::fprintf(out,
               "       vmmu demo [--accesses N] [--footprint-mib M] [--seed S] [--mem-latency C] "
               "[--guest-pages 4k|2m]\n");
  vmmu::cli::printTraceUsage(out);
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    printUsage(stderr);
    return 2;
  }
  const std::string_view command = argv[1];
  // `vmmu COMMAND --help` anywhere before a `--` (after which `record` passes the rest on).
  for (int i = 2; i < argc && std::string_view(argv[i]) != "--"; ++i) {
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      printUsage(stdout);
      return 0;
    }
  }
  try {
    if (command == "run")
      return vmmu::cli::runRun(argc - 2, argv + 2);
    if (command == "plot")
      return vmmu::cli::runPlot(argc - 2, argv + 2);
    if (command == "demo")
      return runDemo(parseDemo(argc - 2, argv + 2));
    if (command == "trace")
      return vmmu::cli::runTrace(argc - 2, argv + 2);
    if (command == "record")
      return vmmu::cli::runRecord(argc - 2, argv + 2);
    if (command == "--help" || command == "-h" || command == "help") {
      printUsage(stdout);
      return 0;
    }
    throw UsageError("unknown command '" + std::string(command) + "'");
  } catch (const UsageError &e) {
    std::fprintf(stderr, "vmmu: %s\n", e.what());
    printUsage(stderr);
    return 2;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "vmmu: error: %s\n", e.what());
    return 1;
  }
}
