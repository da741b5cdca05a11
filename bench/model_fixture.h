// model_fixture.h - one MMU model with a small mapped working set, for the model's benchmarks.
#pragma once

#include <cstdint>
#include <vector>

#include "vmmu/mmu.h"
#include "vmmu/page_tables.h"

namespace vmmu::bench {

constexpr uint64_t kVaBase = 0x0000'7f00'0000'0000ull;
constexpr unsigned kPages = 32;  // 2 per set of the default 16x4 4K array: all fit

// One VM in `mode` with kPages 4K pages at kVaBase, guest tables behind a 4K EPT for NESTED.
struct Fixture {
  vmmu::SparseMemory memory;
  vmmu::FrameAllocator host_frames{0x1000'0000, 0x2000'0000};
  vmmu::FrameAllocator guest_frames{0x10'0000, 0x100'0000};
  vmmu::Mmu mmu;
  std::vector<vmmu::Request> requests;

  explicit Fixture(Mode mode) : mmu(vmmu::MmuConfig{}, memory) {
    mmu.writeReg(0, CtxReg::Vpid, (1u << 16) | 7);
    mmu.writeReg(0, CtxReg::Mode, static_cast<uint64_t>(mode));
    if (mode == Mode::Nested) {
      vmmu::EptTables ept(memory, host_frames);
      // Identity-plus-offset EPT over the guest's first 16 MiB, in 4K pages.
      for (uint64_t gpa = 0; gpa < 0x100'0000; gpa += 0x1000)
        ept.map(gpa, 0x4000'0000 + gpa, PageSize::Size4K);
      vmmu::GuestPageTables guest(memory, guest_frames, 4, 46, ept.hostMap());
      for (unsigned i = 0; i < kPages; ++i)
        guest.map(kVaBase + i * 0x1000ull, guest_frames.allocate(), PageSize::Size4K, vmmu::pte::RW);
      mmu.writeReg(0, CtxReg::Eptp, ept.eptp());
      mmu.writeReg(0, CtxReg::Cr3, guest.root());
    } else {
      vmmu::GuestPageTables tables(memory, host_frames);
      for (unsigned i = 0; i < kPages; ++i)
        tables.map(kVaBase + i * 0x1000ull, host_frames.allocate(), PageSize::Size4K, vmmu::pte::RW);
      mmu.writeReg(0, CtxReg::Cr3, tables.root());
    }
    for (unsigned i = 0; i < kPages; ++i)
      requests.push_back(vmmu::Request{7, 0, kVaBase + i * 0x1000ull + 8 * i, Access::Read, false});
  }
};

}  // namespace vmmu::bench
