// sw_test_support.h - a guest kernel on a VMM on the golden model, assembled for one approach.
#pragma once

#include <memory>

#include "vmmu/guest/guest_kernel.h"
#include "vmmu/vmm/mmu_backend.h"
#include "vmmu/vmm/vmm.h"

namespace vmmu::testing {

struct System {
  explicit System(vmm::Approach approach, uint64_t memory_bytes = 64ull << 20, double fragmentation = 0.0,
                  bool thp = true)
      : System(approach, configFor(memory_bytes, fragmentation), thp) {}

  static vmm::VmmConfig configFor(uint64_t memory_bytes, double fragmentation) {
    vmm::VmmConfig config;
    config.memory.bytes = memory_bytes;
    config.memory.fragmentation = fragmentation;
    // Backed at creation: the exits these tests count are the approaches' own, not first touches'
    // (host_backing_test.cpp covers lazy backing).
    config.memory.lazy = false;
    return config;
  }

  System(vmm::Approach approach, vmm::VmmConfig config, bool thp) {
    const uint64_t memory_bytes = config.memory.bytes;
    if (approach == vmm::Approach::Native)
      config.memory.host_base = 0;
    backend = std::make_unique<vmm::ModelBackend>();
    vmm = std::make_unique<vmm::Vmm>(*backend, config, approach);
    guest::GuestConfig guest_config;
    guest_config.memory_bytes = memory_bytes;
    guest_config.transparent_huge_pages = thp;
    kernel = std::make_unique<guest::GuestKernel>(*vmm, guest_config);
    vmm->attachBalloon(*kernel);
  }
  std::unique_ptr<vmm::ModelBackend> backend;
  std::unique_ptr<vmm::Vmm> vmm;
  std::unique_ptr<guest::GuestKernel> kernel;
};

}  // namespace vmmu::testing
