// vmmu/guest/workload.h - synthetic workloads that drive the guest kernel.
//
// Each generator is deterministic for a seed, so the same guest activity (the same syscalls, the
// same addresses, the same context switches) can be replayed under every approach and the costs
// compared directly. run(n) performs guest work until n user accesses have been made; state
// (processes, mappings) carries over between calls, so a run can be cut into policy intervals.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "vmmu/guest/guest_kernel.h"

namespace vmmu::guest {

enum class WorkloadKind {
  RandomAccess,    // worst case: one process, uniformly random pages of a large 4K-mapped buffer
  Streaming,       // one process streams through a huge-page buffer in cache-line steps
  ShortProcesses,  // fork / touch a few pages / exit, over and over (high CR3 and PTE-write rate)
  Scan,            // several processes, each scanning its own buffer, switched round-robin
};

std::string_view toString(WorkloadKind kind);
// Parses the names toString gives; throws std::invalid_argument naming the bad value.
WorkloadKind parseWorkloadKind(std::string_view name);

struct WorkloadSpec {
  WorkloadKind kind = WorkloadKind::RandomAccess;
  uint64_t footprint_bytes = 8ull << 20;  // per process
  unsigned processes = 4;                 // Scan: processes switched among
  uint64_t switch_every = 5'000;          // Scan: accesses between context switches
  unsigned pages_per_process = 16;        // ShortProcesses: pages each short process touches
  unsigned accesses_per_page = 8;         // ShortProcesses: accesses per touched page
  double write_fraction = 0.3;
  bool huge_pages = true;                 // let THP back the buffers (RandomAccess ignores it)
  uint64_t seed = 1;
};

class Workload {
public:
  virtual ~Workload() = default;
  // Performs guest activity until `accesses` user accesses were made.
  virtual void run(GuestKernel &kernel, uint64_t accesses) = 0;
  virtual std::string describe() const = 0;
  // Nothing more will run: a recorded trace was stopped (SIGINT) before its end. The experiment
  // then ends the run instead of recording empty intervals up to the planned count.
  virtual bool stopped() const { return false; }
};

std::unique_ptr<Workload> makeWorkload(const WorkloadSpec &spec);

// Runs workloads one after another: phase i for its access count, then phase i + 1. Each phase's
// processes stay alive (as a background service would) unless the phase exits them itself.
class PhasedWorkload final : public Workload {
public:
  struct Phase {
    WorkloadSpec spec;
    uint64_t accesses;
  };
  explicit PhasedWorkload(std::vector<Phase> phases);
  void run(GuestKernel &kernel, uint64_t accesses) override;
  std::string describe() const override;
  uint64_t totalAccesses() const;

private:
  std::vector<Phase> phases_;
  std::vector<std::unique_ptr<Workload>> workloads_;
  size_t phase_ = 0;
  uint64_t done_in_phase_ = 0;
};

}  // namespace vmmu::guest
