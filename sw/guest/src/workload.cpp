// workload.cpp - the synthetic workload generators.
#include "vmmu/guest/workload.h"

#include <stdexcept>

namespace vmmu::guest {

namespace {

constexpr uint64_t k4K = pageBytes(PageSize::Size4K);
constexpr uint64_t kLine = 64;

// Deterministic across standard libraries (std:: distributions are implementation-defined).
class Rng {
public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  uint64_t below(uint64_t n) { return engine_() % n; }
  bool chance(double p) { return static_cast<double>(engine_() >> 11) * 0x1.0p-53 < p; }

private:
  std::mt19937_64 engine_;
};

uint64_t pagesOf(uint64_t bytes) { return (bytes + k4K - 1) / k4K; }

class RandomAccessWorkload final : public Workload {
public:
  explicit RandomAccessWorkload(const WorkloadSpec &spec) : spec_(spec), rng_(spec.seed) {}
  void run(GuestKernel &kernel, uint64_t accesses) override {
    if (pid_ == 0 || !kernel.alive(pid_)) {
      pid_ = kernel.spawn();
      kernel.switchTo(pid_);
      base_ = kernel.mmap(pid_, spec_.footprint_bytes, prot::ReadWrite, false);
    }
    kernel.switchTo(pid_);
    const uint64_t pages = pagesOf(spec_.footprint_bytes);
    for (uint64_t i = 0; i < accesses; ++i) {
      const uint64_t va = base_ + rng_.below(pages) * k4K + rng_.below(k4K / 8) * 8;
      kernel.touch(va, rng_.chance(spec_.write_fraction) ? Access::Write : Access::Read);
    }
  }
  std::string describe() const override { return "random-access"; }

private:
  WorkloadSpec spec_;
  Rng rng_;
  Pid pid_ = 0;
  uint64_t base_ = 0;
};

class StreamingWorkload final : public Workload {
public:
  explicit StreamingWorkload(const WorkloadSpec &spec) : spec_(spec), rng_(spec.seed) {}
  void run(GuestKernel &kernel, uint64_t accesses) override {
    if (pid_ == 0 || !kernel.alive(pid_)) {
      pid_ = kernel.spawn();
      kernel.switchTo(pid_);
      base_ = kernel.mmap(pid_, spec_.footprint_bytes, prot::ReadWrite, spec_.huge_pages);
      offset_ = 0;
    }
    kernel.switchTo(pid_);
    const uint64_t span = pagesOf(spec_.footprint_bytes) * k4K;
    for (uint64_t i = 0; i < accesses; ++i) {
      kernel.touch(base_ + offset_, rng_.chance(spec_.write_fraction) ? Access::Write : Access::Read);
      offset_ = (offset_ + kLine) % span;
    }
  }
  std::string describe() const override { return "streaming"; }

private:
  WorkloadSpec spec_;
  Rng rng_;
  Pid pid_ = 0;
  uint64_t base_ = 0;
  uint64_t offset_ = 0;
};

class ShortProcessesWorkload final : public Workload {
public:
  explicit ShortProcessesWorkload(const WorkloadSpec &spec) : spec_(spec), rng_(spec.seed) {
    if (spec.pages_per_process == 0 || spec.accesses_per_page == 0)
      throw std::invalid_argument("short-processes workload: pages_per_process and accesses_per_page must be >= 1");
  }
  void run(GuestKernel &kernel, uint64_t accesses) override {
    if (shell_ == 0 || !kernel.alive(shell_)) {
      shell_ = kernel.spawn();
      kernel.switchTo(shell_);
      // The shell has a little resident state of its own that every fork copies.
      heap_ = kernel.mmap(shell_, 4 * k4K, prot::ReadWrite, false);
      for (uint64_t page = 0; page < 4; ++page)
        kernel.touch(heap_ + page * k4K, Access::Write);
    }
    const uint64_t per_child = uint64_t{spec_.pages_per_process} * spec_.accesses_per_page;
    while (accesses > 0) {
      if (child_ == 0) {
        kernel.switchTo(shell_);
        child_ = kernel.fork(shell_);
        // The shell keeps running and updates its state before the child runs: a COW fault.
        // (Extra activity, not counted in the workload's access budget.)
        kernel.touch(heap_, Access::Write);
        kernel.switchTo(child_);
        kernel.exec(child_);
        buffer_ = kernel.mmap(child_, spec_.pages_per_process * k4K, prot::ReadWrite, false);
        done_ = 0;
      }
      kernel.switchTo(child_);
      for (; done_ < per_child && accesses > 0; ++done_, --accesses) {
        const uint64_t page = done_ / spec_.accesses_per_page;
        const uint64_t va = buffer_ + page * k4K + rng_.below(k4K / kLine) * kLine;
        kernel.touch(va, rng_.chance(spec_.write_fraction) ? Access::Write : Access::Read);
      }
      if (done_ == per_child) {
        kernel.switchTo(shell_);
        kernel.exit(child_);
        child_ = 0;
      }
    }
  }
  std::string describe() const override { return "short-processes"; }

private:
  WorkloadSpec spec_;
  Rng rng_;
  Pid shell_ = 0;
  uint64_t heap_ = 0;
  Pid child_ = 0;
  uint64_t buffer_ = 0;
  uint64_t done_ = 0;
};

class ScanWorkload final : public Workload {
public:
  explicit ScanWorkload(const WorkloadSpec &spec) : spec_(spec), rng_(spec.seed) {
    if (spec.processes == 0 || spec.switch_every == 0)
      throw std::invalid_argument("scan workload: processes and switch_every must be >= 1");
  }
  void run(GuestKernel &kernel, uint64_t accesses) override {
    if (procs_.empty()) {
      for (unsigned i = 0; i < spec_.processes; ++i) {
        Proc proc;
        proc.pid = kernel.spawn();
        proc.base = kernel.mmap(proc.pid, spec_.footprint_bytes, prot::ReadWrite, spec_.huge_pages);
        procs_.push_back(proc);
      }
    }
    const uint64_t span = pagesOf(spec_.footprint_bytes) * k4K;
    // Page-sized strides with a rotating line offset: every access lands on a new page, as a
    // column scan of a large matrix does.
    const uint64_t stride = k4K + kLine;
    while (accesses > 0) {
      Proc &proc = procs_[turn_];
      kernel.switchTo(proc.pid);
      for (; since_switch_ < spec_.switch_every && accesses > 0; ++since_switch_, --accesses) {
        kernel.touch(proc.base + proc.offset, rng_.chance(spec_.write_fraction) ? Access::Write : Access::Read);
        proc.offset = (proc.offset + stride) % span & ~uint64_t{7};
      }
      if (since_switch_ == spec_.switch_every) {
        since_switch_ = 0;
        turn_ = (turn_ + 1) % procs_.size();
      }
    }
  }
  std::string describe() const override { return "scan"; }

private:
  struct Proc {
    Pid pid = 0;
    uint64_t base = 0;
    uint64_t offset = 0;
  };
  WorkloadSpec spec_;
  Rng rng_;
  std::vector<Proc> procs_;
  size_t turn_ = 0;
  uint64_t since_switch_ = 0;
};

}  // namespace

std::string_view toString(WorkloadKind kind) {
  switch (kind) {
  case WorkloadKind::RandomAccess: return "random";
  case WorkloadKind::Streaming: return "stream";
  case WorkloadKind::ShortProcesses: return "short-procs";
  case WorkloadKind::Scan: return "scan";
  }
  return "?";
}

WorkloadKind parseWorkloadKind(std::string_view name) {
  for (const WorkloadKind kind :
       {WorkloadKind::RandomAccess, WorkloadKind::Streaming, WorkloadKind::ShortProcesses, WorkloadKind::Scan})
    if (toString(kind) == name)
      return kind;
  throw std::invalid_argument("unknown workload '" + std::string(name) +
                              "' (expected random, stream, short-procs or scan)");
}

std::unique_ptr<Workload> makeWorkload(const WorkloadSpec &spec) {
  if (spec.footprint_bytes == 0)
    throw std::invalid_argument("workload footprint_bytes must be > 0");
  if (spec.write_fraction < 0.0 || spec.write_fraction > 1.0)
    throw std::invalid_argument("workload write_fraction must be in [0, 1]");
  switch (spec.kind) {
  case WorkloadKind::RandomAccess: return std::make_unique<RandomAccessWorkload>(spec);
  case WorkloadKind::Streaming: return std::make_unique<StreamingWorkload>(spec);
  case WorkloadKind::ShortProcesses: return std::make_unique<ShortProcessesWorkload>(spec);
  case WorkloadKind::Scan: return std::make_unique<ScanWorkload>(spec);
  }
  throw std::invalid_argument("unknown workload kind");
}

PhasedWorkload::PhasedWorkload(std::vector<Phase> phases) : phases_(std::move(phases)) {
  if (phases_.empty())
    throw std::invalid_argument("phased workload: no phases");
  for (const Phase &phase : phases_)
    workloads_.push_back(makeWorkload(phase.spec));
}

void PhasedWorkload::run(GuestKernel &kernel, uint64_t accesses) {
  while (accesses > 0) {
    if (done_in_phase_ == phases_[phase_].accesses) {
      phase_ = (phase_ + 1) % phases_.size();  // past the end the sequence repeats
      done_in_phase_ = 0;
    }
    const uint64_t chunk = std::min(accesses, phases_[phase_].accesses - done_in_phase_);
    workloads_[phase_]->run(kernel, chunk);
    done_in_phase_ += chunk;
    accesses -= chunk;
  }
}

std::string PhasedWorkload::describe() const {
  std::string text;
  for (size_t i = 0; i < phases_.size(); ++i)
    text += (i ? " > " : "") + workloads_[i]->describe();
  return text;
}

uint64_t PhasedWorkload::totalAccesses() const {
  uint64_t total = 0;
  for (const Phase &phase : phases_)
    total += phase.accesses;
  return total;
}

}  // namespace vmmu::guest
