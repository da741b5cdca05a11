// generate.cpp - the synthetic workload generators.
#include "vmmu/trace/generate.h"

#include <algorithm>
#include <array>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

#include "vmmu/trace/event.h"
#include "vmmu/trace/writer.h"

namespace vmmu::trace {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kLargePage = 2ull << 20;
constexpr uint64_t kUserBase = 0x0000'5555'4000'0000ull;  // 1 GiB aligned, like a PIE heap area
constexpr uint64_t kWorstBase = 1ull << 40;
// Worst-case placement: page i sits at (i * stride) mod 2^46. The stride moves every level of the
// walk (1 GiB: PDPT entry, 2 MiB: PD entry, 4 KiB: PT entry), and because stride / 4 KiB is odd,
// i -> i * stride is a bijection on the 2^34 pages of the span, so pages never collide.
constexpr uint64_t kWorstStride = (1ull << 30) + (1ull << 21) + (1ull << 12);
constexpr uint64_t kWorstSpan = 1ull << 46;
constexpr uint64_t kKernelDirectMap = 0xffff'8880'0000'0000ull;

constexpr std::array<std::pair<GenKind, std::string_view>, 7> kNames{{
    {GenKind::Worst, "worst"},
    {GenKind::Random, "random"},
    {GenKind::Stream, "stream"},
    {GenKind::Scan, "scan"},
    {GenKind::Build, "build"},
    {GenKind::Boot, "boot"},
    {GenKind::Phased, "phased"},
}};

// One process of a generated workload, with the state of its access pattern.
struct Proc {
  uint32_t pid = 0;
  uint64_t base = 0;     // data region
  uint64_t pages = 0;    // data pages
  uint64_t cursor = 0;   // position of sequential patterns
  uint64_t text = 0, text_pages = 0, stack = 0, stack_pages = 0;  // build only
  uint64_t pc = 0;       // build: next instruction fetch
  uint64_t life = 0;     // build: accesses left before exit
};

class Generator {
public:
  Generator(const GenOptions &o, const std::string &output, const TraceHeader &header)
      : o_(o), rng_(o.seed), writer_(output, header),
        pages_per_proc_(std::max<uint64_t>(1, (o.footprint_mib << 20) / kPage / o.procs)) {}

  GenResult run() {
    if (o_.kind == GenKind::Boot)
      bootKernel();
    if (o_.kind == GenKind::Phased) {
      // The build phase's jobs all exit before the random phase maps its footprint, as a build
      // finishes before the program it built runs.
      const uint64_t build_accesses = std::max<uint64_t>(1, o_.accesses * o_.build_percent / 100);
      runPhase(GenKind::Build, std::max<uint64_t>(1, (o_.job_mib << 20) / kPage), build_accesses);
      runPhase(GenKind::Random, pages_per_proc_, o_.accesses);
    } else {
      runPhase(o_.kind, pages_per_proc_, o_.accesses);
    }
    writer_.finish();
    return result_;
  }

private:
  uint64_t rand(uint64_t n) { return rng_() % n; }

  void emit(const Event &e) {
    writer_.write(e);
    ++result_.events;
  }

  void switchTo(uint32_t pid) {
    if (on_cpu_ == pid)
      return;
    emit(Event::contextSwitch(0, pid));
    on_cpu_ = pid;
    ++result_.switches;
  }

  void touch(const Proc &p, AccessOp op, uint64_t va, uint32_t size) {
    emit(Event::access(0, p.pid, op, va, size));
    ++result_.accesses;
  }

  AccessOp readOrWrite() { return rand(4) == 0 ? AccessOp::Write : AccessOp::Read; }

  // A new process of `kind` with `pages` of data, in a phase of `phase_accesses` accesses.
  Proc startProcess(GenKind kind, uint64_t pages, uint64_t phase_accesses) {
    Proc p;
    p.pid = next_pid_++;
    ++result_.processes;
    const uint32_t parent = kind == GenKind::Boot ? 1 : 0;
    emit(Event::processCreate(p.pid, parent, std::string(toString(kind)) + "-" + std::to_string(p.pid)));
    p.pages = pages;
    p.base = kUserBase;
    switch (kind) {
    case GenKind::Worst:
      p.base = kWorstBase;
      emit(Event::mmap(p.pid, kWorstBase, kWorstSpan, prot::Read | prot::Write));
      break;
    case GenKind::Build: {
      // Split the process's share: a quarter text, a small stack, the rest heap (via brk).
      p.text_pages = std::max<uint64_t>(1, p.pages / 4);
      p.stack_pages = std::max<uint64_t>(1, std::min<uint64_t>(p.pages / 8, 64));
      p.pages = std::max<uint64_t>(1, p.pages - std::min(p.pages - 1, p.text_pages + p.stack_pages));
      p.text = 0x5555'5555'4000ull;
      p.base = p.text + ((p.text_pages * kPage + kLargePage) & ~(kLargePage - 1));
      p.stack = 0x7ffc'0000'0000ull;
      p.pc = p.text;
      emit(Event::mmap(p.pid, p.text, p.text_pages * kPage, prot::Read | prot::Exec));
      emit(Event::brk(p.pid, p.base + p.pages * kPage));
      emit(Event::mmap(p.pid, p.stack, p.stack_pages * kPage, prot::Read | prot::Write));
      // Jobs of a build are short: a few thousand to a few tens of thousands of accesses.
      const uint64_t mean = std::clamp<uint64_t>(phase_accesses / (8 * o_.procs), 500, 50'000);
      p.life = mean / 2 + rand(mean) + 1;
      break;
    }
    case GenKind::Boot:
      // 2 MiB aligned regions, as a kernel or a THP-aware allocator would map them.
      p.pages = (p.pages + 511) & ~uint64_t{511};
      emit(Event::mmap(p.pid, p.base, p.pages * kPage, prot::Read | prot::Write));
      break;
    default:
      emit(Event::mmap(p.pid, p.base, p.pages * kPage, prot::Read | prot::Write));
      break;
    }
    return p;
  }

  void access(GenKind kind, Proc &p) {
    switch (kind) {
    case GenKind::Worst: {
      const uint64_t page = rand(p.pages);
      touch(p, readOrWrite(), p.base + (page * kWorstStride) % kWorstSpan + rand(512) * 8, 8);
      break;
    }
    case GenKind::Random:
      touch(p, readOrWrite(), p.base + rand(p.pages * kPage / 8) * 8, 8);
      break;
    case GenKind::Stream: {
      // Source is the first half of the region, destination the second (a single page copies onto
      // itself).
      const uint64_t half = std::max<uint64_t>(1, p.pages / 2) * kPage;
      const uint64_t offset = (p.cursor / 2 * 64) % half;
      const bool write = p.cursor % 2 == 1;
      touch(p, write ? AccessOp::Write : AccessOp::Read, p.base + (write && p.pages > 1 ? half : 0) + offset, 8);
      ++p.cursor;
      break;
    }
    case GenKind::Scan:
      touch(p, AccessOp::Read, p.base + (p.cursor++ % p.pages) * kPage, 8);
      break;
    case GenKind::Build: {
      const uint64_t dice = rand(10);
      if (dice < 4) {
        // Instruction fetch: mostly straight-line, sometimes a jump within the text.
        if (rand(16) == 0)
          p.pc = p.text + rand(p.text_pages * kPage / 16) * 16;
        touch(p, AccessOp::Fetch, p.pc, 4);
        p.pc += 4;
        if (p.pc >= p.text + p.text_pages * kPage)
          p.pc = p.text;
      } else if (dice < 8) {
        touch(p, readOrWrite(), p.stack + p.stack_pages * kPage - 8 - rand(std::min<uint64_t>(512, p.stack_pages * 512)) * 8, 8);
      } else {
        touch(p, readOrWrite(), p.base + rand(p.pages * kPage / 8) * 8, 8);
      }
      break;
    }
    case GenKind::Boot:
      // First touch of the region, one write per page (a kernel zeroing pages on fault).
      touch(p, AccessOp::Write, p.base + (p.cursor++ % p.pages) * kPage, 8);
      break;
    case GenKind::Phased:
      break;  // runPhase runs its phases' kinds, never this one
    }
  }

  // `procs` processes of `kind`, each with `pages` of data, take turns until the trace holds
  // `until` accesses; then they exit.
  void runPhase(GenKind kind, uint64_t pages, uint64_t until) {
    const uint64_t phase_accesses = until - result_.accesses;
    procs_.clear();
    for (uint64_t slot = 0; slot < o_.procs; ++slot)
      procs_.push_back(startProcess(kind, pages, phase_accesses));
    size_t current = 0;
    uint64_t in_turn = 0;
    switchTo(procs_[current].pid);
    while (result_.accesses < until) {
      if (in_turn == o_.quantum) {
        current = (current + 1) % procs_.size();
        switchTo(procs_[current].pid);
        in_turn = 0;
      }
      Proc &p = procs_[current];
      access(kind, p);
      ++in_turn;
      if (kind == GenKind::Build && --p.life == 0 && result_.accesses < until) {
        // The process is done; the build starts the next job in its place.
        emit(Event::processExit(p.pid));
        p = startProcess(kind, pages, phase_accesses);
        switchTo(p.pid);
      }
    }
    for (const Proc &p : procs_)
      emit(Event::processExit(p.pid));
  }

  // The guest kernel (pid 1) builds a direct map of the footprint with 2 MiB pages: one PML4 entry,
  // PDPT entries for each 1 GiB, PD leaf entries (PS = 1) for each 2 MiB, written into page-table
  // frames at the bottom of guest-physical memory. Then it touches each 2 MiB page once.
  void bootKernel() {
    constexpr uint64_t kP = 1, kRw = 2, kPs = 0x80;
    const uint32_t kernel = next_pid_++;
    ++result_.processes;
    emit(Event::processCreate(kernel, 0, "kernel"));
    switchTo(kernel);
    emit(Event::marker(0, "boot: building the direct map with 2 MiB pages"));
    const uint64_t bytes = ((o_.footprint_mib << 20) + kLargePage - 1) & ~(kLargePage - 1);
    emit(Event::mmap(kernel, kKernelDirectMap, bytes, prot::Read | prot::Write));
    // Table frames from 4 KiB up: the PML4, one PDPT per 512 GiB, one PD per GiB.
    const uint64_t gib = (bytes + (1ull << 30) - 1) >> 30;
    const uint64_t pdpts = (gib + 511) / 512;
    const uint64_t pml4 = 0x1000, first_pdpt = 0x2000, first_pd = first_pdpt + pdpts * kPage;
    const uint64_t data_gpa = 1ull << 30;  // the direct map covers guest memory from 1 GiB on
    for (uint64_t i = 0; i < pdpts; ++i) {
      const uint64_t va = kKernelDirectMap + (i << 39);
      emit(Event::pageTableWrite(0, kernel, pml4 + 8 * ((va >> 39) & 511), (first_pdpt + i * kPage) | kP | kRw, 4));
    }
    for (uint64_t g = 0; g < gib; ++g) {
      const uint64_t va = kKernelDirectMap + (g << 30);
      const uint64_t pdpt = first_pdpt + (g / 512) * kPage;
      emit(Event::pageTableWrite(0, kernel, pdpt + 8 * ((va >> 30) & 511), (first_pd + g * kPage) | kP | kRw, 3));
    }
    for (uint64_t off = 0; off < bytes; off += kLargePage) {
      const uint64_t va = kKernelDirectMap + off;
      const uint64_t pd = first_pd + (off >> 30) * kPage;
      emit(Event::pageTableWrite(0, kernel, pd + 8 * ((va >> 21) & 511), (data_gpa + off) | kP | kRw | kPs, 2));
    }
    emit(Event::invlpg(0, kernel, kKernelDirectMap));
    emit(Event::marker(0, "boot: direct map built"));
    Proc k;
    k.pid = kernel;
    for (uint64_t off = 0; off < bytes && result_.accesses < o_.accesses / 4; off += kLargePage)
      touch(k, AccessOp::Write, kKernelDirectMap + off, 8);
    emit(Event::marker(0, "boot: starting processes"));
  }

  const GenOptions o_;
  std::mt19937_64 rng_;
  TraceWriter writer_;
  const uint64_t pages_per_proc_;
  std::vector<Proc> procs_;
  uint32_t next_pid_ = 1;
  std::optional<uint32_t> on_cpu_;
  GenResult result_;
};

}  // namespace

std::optional<GenKind> genKindFromString(std::string_view name) {
  for (const auto &[kind, n] : kNames)
    if (n == name)
      return kind;
  return std::nullopt;
}

std::string_view toString(GenKind kind) {
  for (const auto &[k, n] : kNames)
    if (k == kind)
      return n;
  return "unknown";
}

GenResult generateTrace(const GenOptions &options, const std::string &output, const TraceHeader &header) {
  if (options.accesses == 0 || options.procs == 0 || options.quantum == 0 || options.footprint_mib == 0)
    throw std::invalid_argument("generator: accesses, procs, quantum and footprint must all be at least 1");
  if (options.kind == GenKind::Phased && (options.build_percent == 0 || options.build_percent > 99 || options.job_mib == 0))
    throw std::invalid_argument("generator: phased needs a build share of 1..99 percent and a job footprint of at least 1 MiB");
  if (options.procs > 100'000)
    throw std::invalid_argument("generator: at most 100000 processes");
  return Generator(options, output, header).run();
}

}  // namespace vmmu::trace
