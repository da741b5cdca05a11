// guest_work_test.cpp - what the guest kernel charges for its own work, operation by operation,
// with every cost its own power of ten (so a sum names its parts): a process spawned, a context
// switch, each system call, a demand fault on 4 KiB and 2 MiB pages with the tables it allocates,
// a copy-on-write fault, exec and exit.
#include <gtest/gtest.h>

#include "sw_test_support.h"

namespace vmmu::testing {
namespace {

using guest::Pid;
using vmm::Approach;
constexpr uint64_t k4K = 4096, k2M = 2ull << 20;
constexpr uint64_t kFault = 1, kClear = 10, kCopy = 100, kSyscall = 1'000, kSwitch = 10'000, kLifecycle = 100'000;

struct Guest {
  Guest() : vmm(backend, System::configFor(64ull << 20, 0.0), Approach::Nested), kernel(vmm, config()) {}
  static guest::GuestConfig config() {
    guest::GuestConfig c;
    c.costs.page_fault = kFault;
    c.costs.clear_page = kClear;
    c.costs.copy_page = kCopy;
    c.costs.syscall = kSyscall;
    c.costs.context_switch = kSwitch;
    c.costs.process_lifecycle = kLifecycle;
    return c;
  }
  // The guest work charged by `step`.
  template <typename Step>
  uint64_t work(Step step) {
    const uint64_t before = vmm.cost().guest_work_cycles;
    step();
    return vmm.cost().guest_work_cycles - before;
  }
  vmm::ModelBackend backend;
  vmm::Vmm vmm;
  guest::GuestKernel kernel;
};

TEST(GuestWork, EachOperationChargesItsParts) {
  Guest g;
  guest::GuestKernel &k = g.kernel;
  Pid pid = 0;
  // A root table page (cleared) and the process's creation.
  EXPECT_EQ(g.work([&] { pid = k.spawn(); }), kClear + kLifecycle);
  EXPECT_EQ(g.work([&] { k.switchTo(pid); }), kSwitch);
  EXPECT_EQ(g.work([&] { k.switchTo(pid); }), 0u) << "already running";
  uint64_t buf = 0;
  EXPECT_EQ(g.work([&] { buf = k.mmap(pid, 4 * k4K, guest::prot::ReadWrite, false); }), kSyscall);
  // The first touch: the fault, three new tables (PDPT, PD, PT) and the page, each cleared.
  EXPECT_EQ(g.work([&] { k.touch(buf, Access::Write); }), kFault + 3 * kClear + kClear);
  EXPECT_EQ(g.work([&] { k.touch(buf + k4K, Access::Read); }), kFault + kClear) << "the PT exists";
  EXPECT_EQ(g.work([&] { k.touch(buf + 8, Access::Read); }), 0u) << "resident";
  EXPECT_EQ(g.work([&] { k.mprotect(pid, buf, k4K, guest::prot::Read); }), kSyscall);
  EXPECT_EQ(g.work([&] { k.munmap(pid, buf + k4K, k4K); }), kSyscall);
  // A 2 MiB page: the fault and 512 pages cleared (its PD exists: the same 1 GiB).
  uint64_t huge = 0;
  g.work([&] { huge = k.mmap(pid, k2M, guest::prot::ReadWrite, true); });
  EXPECT_EQ(g.work([&] { k.touch(huge, Access::Write); }), kFault + 512 * kClear);
  EXPECT_EQ(k.stats().huge_page_faults, 1u);
  EXPECT_EQ(k.stats().page_faults, 3u);
  EXPECT_EQ(g.work([&] { k.exec(pid); }), kLifecycle);
  EXPECT_EQ(g.work([&] { k.exit(pid); }), kSwitch + kLifecycle) << "to the idle kernel, then the exit";
}

TEST(GuestWork, CopyOnWriteCopiesOnlyWhatIsShared) {
  Guest g;
  guest::GuestKernel &k = g.kernel;
  const Pid parent = k.spawn();
  k.switchTo(parent);
  const uint64_t buf = k.mmap(parent, 2 * k4K, guest::prot::ReadWrite, false);
  k.touch(buf, Access::Write);
  const Pid child = k.fork(parent);
  k.switchTo(child);
  // The child's write: a protection fault and one 4 KiB copy.
  EXPECT_EQ(g.work([&] { k.touch(buf, Access::Write); }), kFault + kCopy);
  EXPECT_EQ(k.stats().cow_faults, 1u);
  k.switchTo(parent);
  // The parent's page is its own now: made writable again without a copy.
  EXPECT_EQ(g.work([&] { k.touch(buf, Access::Write); }), kFault);
  EXPECT_EQ(k.stats().cow_faults, 2u);
  EXPECT_NE(k.residentFrame(parent, buf), k.residentFrame(child, buf));
}

// 12-bit PCIDs, 0 the kernel's: 4,095 processes at once, each its own; then a freed one is found
// again past the ones still in use.
TEST(GuestPcids, EveryLiveProcessHasItsOwnAndFreedOnesAreReused) {
  Guest g;
  guest::GuestKernel &k = g.kernel;
  std::vector<Pid> pids;
  std::vector<bool> seen(4096, false);
  for (int i = 0; i < 4095; ++i) {
    pids.push_back(k.spawn());
    const uint16_t pcid = k.pcidOf(pids.back());
    ASSERT_GE(pcid, 1u);
    ASSERT_LE(pcid, 4095u);
    ASSERT_FALSE(seen[pcid]) << "PCID " << pcid << " given twice";
    seen[pcid] = true;
  }
  EXPECT_EQ(k.pcidOf(pids.front()), 1u);
  EXPECT_EQ(k.pcidOf(pids.back()), 4095u);
  try {
    k.spawn();
    ADD_FAILURE() << "a 4,096th process got a PCID";
  } catch (const std::runtime_error &e) {
    EXPECT_STREQ(e.what(), "guest: all 4095 PCIDs in use");
  }
  k.exit(pids[4]);  // PCID 5
  EXPECT_EQ(k.pcidOf(k.spawn()), 5u) << "found past PCIDs 1 to 4, still in use";
}

}  // namespace
}  // namespace vmmu::testing
