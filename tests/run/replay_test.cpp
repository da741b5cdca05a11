// replay_test.cpp - trace events reach the guest OS model as the activity trace_replay.h promises.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "run_test_support.h"
#include "vmmu/run/trace_replay.h"
#include "vmmu/vmm/mmu_backend.h"
#include "vmmu/paging.h"
#include "vmmu/vmm/vmm.h"

namespace vmmu::run {
namespace {

using testing::TempFile;
using testing::writeTrace;
using trace::AccessOp;
using trace::Event;

// A guest kernel on a nested-paging VMM on the golden model.
struct Guest {
  explicit Guest(vmm::Approach approach = vmm::Approach::Nested) {
    vmm::VmmConfig config;
    config.memory.bytes = 64ull << 20;
    if (approach == vmm::Approach::Native)
      config.memory.host_base = 0;
    vmm = std::make_unique<vmm::Vmm>(backend, config, approach);
    guest::GuestConfig guest_config;
    guest_config.memory_bytes = config.memory.bytes;
    kernel = std::make_unique<guest::GuestKernel>(*vmm, guest_config);
  }
  vmm::ModelBackend backend;
  std::unique_ptr<vmm::Vmm> vmm;
  std::unique_ptr<guest::GuestKernel> kernel;
};

constexpr uint64_t kHeap = 0x4000'0000;    // a GiB-aligned trace address
constexpr uint64_t kStack = 0x1fff'0000'0000;

TEST(TraceReplay, EveryEventKindReachesTheGuest) {
  TempFile file("kinds.vmt");
  writeTrace(file.path(), {
                              Event::processCreate(1, 0, "a"),
                              Event::processCreate(2, 1, "b"),
                              Event::contextSwitch(0, 1),
                              Event::mmap(1, kHeap, 0x4000, trace::prot::Read | trace::prot::Write),
                              Event::access(0, 1, AccessOp::Write, kHeap, 8),
                              Event::access(0, 1, AccessOp::Read, kHeap + 0x1000, 8),
                              Event::access(0, 1, AccessOp::Read, kHeap + 0x1008, 8),  // same page
                              Event::access(0, 1, AccessOp::Read, kStack, 8),           // outside any mmap
                              Event::contextSwitch(0, 2),
                              Event::access(0, 2, AccessOp::Fetch, kHeap, 4),
                              Event::munmap(1, kHeap, 0x4000),
                              Event::brk(2, kHeap + 0x10000),
                              Event::pageTableWrite(0, 2, 0x3000, 0x83, 2),
                              Event::marker(0, "phase"),
                              Event::processExit(2),
                              // A last access: the events after a trace's last one are not replayed.
                              Event::access(0, 1, AccessOp::Read, kStack, 8),
                          });
  Guest g;
  TraceTape tape(file.path());
  TraceReplay replay(tape, false);
  const uint64_t cr3_before = g.kernel->stats().cr3_writes;
  const uint64_t faults_before = g.kernel->stats().page_faults;
  replay.run(*g.kernel, 100);  // more than the trace holds: runs to its end

  const ReplayStats &s = replay.stats();
  EXPECT_TRUE(replay.finished());
  EXPECT_EQ(s.events, 16u);
  EXPECT_EQ(s.accesses, 6u);
  EXPECT_EQ(s.processes, 2u);
  EXPECT_EQ(s.switches, 2u);
  EXPECT_EQ(s.mmaps, 1u);
  EXPECT_EQ(s.munmaps, 1u);
  EXPECT_EQ(s.brks, 1u);
  EXPECT_EQ(s.pte_writes, 1u);
  EXPECT_EQ(s.not_replayed, 1u);  // the marker
  EXPECT_EQ(s.process_exits, 1u);
  EXPECT_EQ(s.refused, 0u);
  // Pages touched by pid 1: two heap pages and one stack page; the munmap reclaimed the two.
  EXPECT_EQ(s.pages_reclaimed, 2u);
  EXPECT_EQ(g.kernel->stats().page_faults - faults_before, 4u);  // 3 pages of pid 1, 1 of pid 2
  EXPECT_GE(g.kernel->stats().cr3_writes - cr3_before, 3u);  // to pid 1, to pid 2, back to pid 1
  EXPECT_FALSE(g.kernel->alive(2));  // guest pids are given in creation order: trace pid 2 is guest pid 2
}

// An access goes to the process that made it, also when the replay met another process since
// (a process-create of pid 2 while pid 1 runs): pid 1's two pages are its own, pid 2 touched none.
TEST(TraceReplay, AnAccessGoesToItsOwnProcessAfterAnotherWasCreated) {
  TempFile file("own.vmt");
  writeTrace(file.path(), {
                              Event::processCreate(1, 0, "a"),
                              Event::contextSwitch(0, 1),
                              Event::mmap(1, kHeap, 0x2000, trace::prot::Read | trace::prot::Write),
                              Event::access(0, 1, AccessOp::Write, kHeap, 8),
                              Event::processCreate(2, 1, "b"),
                              Event::access(0, 1, AccessOp::Write, kHeap + 0x1000, 8),
                              Event::access(0, 1, AccessOp::Read, kHeap, 8),
                          });
  Guest g;
  TraceTape tape(file.path());
  TraceReplay replay(tape, false);
  replay.run(*g.kernel, 100);
  EXPECT_TRUE(replay.finished());
  EXPECT_EQ(replay.stats().accesses, 3u);
  EXPECT_EQ(replay.stats().processes, 2u);
  EXPECT_EQ(replay.stats().switches, 1u);
  // Guest pids are given in creation order: trace pid 1 is guest pid 1, trace pid 2 guest pid 2.
  EXPECT_EQ(g.kernel->residentPages(1), 2u);
  EXPECT_EQ(g.kernel->residentPages(2), 0u);
  EXPECT_EQ(g.kernel->current(), 1u);
}

// The table page at `level` on the path of `va` in the address space rooted at `root` (4 levels),
// read from guest memory.
uint64_t tableOnPath(Guest &g, uint64_t root, uint64_t va, unsigned level) {
  uint64_t table = root;
  for (unsigned l = 4; l > level; --l)
    table = g.backend.memory().read64(g.vmm->memory().hostOf(table + 8 * entryIndex(va, l))) & 0x000F'FFFF'FFFF'F000ull;
  return table;
}

// docs/trace-format.md §8.1: the candidates of a level are the pid's user tables of that level,
// then the direct map's; the entry's page number picks one, its offset the entry.
TEST(TraceReplay, PteWriteRewritesTheEntryItMapsTo) {
  Guest g;
  const guest::Pid pid = g.kernel->spawn();
  g.kernel->switchTo(pid);
  const uint64_t va = g.kernel->mmap(pid, 0x1000, guest::prot::ReadWrite, false);
  g.kernel->touch(va, Access::Write);
  const uint64_t root = g.kernel->rootOf(pid);
  const uint64_t pdpt = tableOnPath(g, root, va, 3), pd = tableOnPath(g, root, va, 2), pt = tableOnPath(g, root, va, 1);
  // The boot allocator hands out 0x1000 (kernel root), 0x2000 (direct-map PDPT), 0x3000 (its PD,
  // one GiB holds the 64 MiB guest).
  constexpr uint64_t kDirectPdpt = 0x2000, kDirectPd = 0x3000;
  ASSERT_EQ(tableOnPath(g, root, guest::GuestKernel::kDirectMapBase, 2), kDirectPd);
  // Level 2: [user PD, direct-map PD]; page 5 -> 5 mod 2 = 1, page 4 -> 0.
  EXPECT_EQ(g.kernel->rewriteTableEntry(pid, 2, 0x5010), kDirectPd + 0x10);
  EXPECT_EQ(g.kernel->rewriteTableEntry(pid, 2, 0x4ff8), pd + 0xff8);
  // Level 3: [user PDPT, direct-map PDPT]; page 3 -> 1.
  EXPECT_EQ(g.kernel->rewriteTableEntry(pid, 3, 0x3008), kDirectPdpt + 8);
  EXPECT_EQ(g.kernel->rewriteTableEntry(pid, 3, 0x2008), pdpt + 8);
  // Level 1: the one PT, whatever the page; level 4: the root.
  EXPECT_EQ(g.kernel->rewriteTableEntry(pid, 1, 0x77008), pt + 8);
  EXPECT_EQ(g.kernel->rewriteTableEntry(pid, 4, 0x9100), root + 0x100);
  EXPECT_THROW(g.kernel->rewriteTableEntry(pid, 5, 0x1000), std::invalid_argument);
  EXPECT_THROW(g.kernel->rewriteTableEntry(pid, 0, 0x1000), std::invalid_argument);
  // The entry is stored back unchanged: the mapping still works, with no new fault.
  const uint64_t faults = g.kernel->stats().page_faults;
  EXPECT_EQ(g.kernel->rewriteTableEntry(pid, 1, entryIndex(va, 1) * 8), pt + entryIndex(va, 1) * 8);
  g.kernel->touch(va, Access::Read);
  EXPECT_EQ(g.kernel->stats().page_faults, faults);
}

// What a pte-write and an invlpg cost each approach: a store to a shadowed (write-protected) table
// traps under shadow-cache and not under nested or plain shadow; INVLPG exits under plain shadow.
TEST(TraceReplay, PteWriteTrapsUnderWriteProtectingShadowAndInvlpgUnderPlainShadow) {
  TempFile file("pte.vmt");
  writeTrace(file.path(), {
                              Event::access(0, 1, AccessOp::Write, kHeap, 8),
                              Event::pageTableWrite(0, 1, 0x7000 + 8 * 3, 0x1234, 1),
                              Event::invlpg(0, 1, kHeap),
                              Event::access(0, 1, AccessOp::Read, kHeap, 8),
                          });
  const auto exitsOf = [&](vmm::Approach approach) {
    Guest g(approach);
    TraceTape tape(file.path());
    TraceReplay replay(tape, false);
    replay.run(*g.kernel, 1);  // the first access: its page and tables exist, the shadow tracks them
    const vmm::RunCost before = g.vmm->cost();
    replay.run(*g.kernel, 1);
    EXPECT_EQ(replay.stats().pte_writes, 1u);
    EXPECT_EQ(replay.stats().invlpgs, 1u);
    return (g.vmm->cost() - before).exits;
  };
  const auto pt_write = static_cast<unsigned>(vmm::ExitReason::PageTableWrite);
  const auto invlpg = static_cast<unsigned>(vmm::ExitReason::Invlpg);
  const auto nested = exitsOf(vmm::Approach::Nested);
  EXPECT_EQ(nested[pt_write], 0u);
  EXPECT_EQ(nested[invlpg], 0u);
  const auto caching = exitsOf(vmm::Approach::ShadowCaching);
  EXPECT_EQ(caching[pt_write], 1u);
  EXPECT_EQ(caching[invlpg], 0u);
  const auto plain = exitsOf(vmm::Approach::ShadowPlain);
  EXPECT_EQ(plain[pt_write], 0u);
  EXPECT_EQ(plain[invlpg], 1u);
}

TEST(TraceReplay, RunStopsAtTheAccessCountAndResumes) {
  TempFile file("resume.vmt");
  std::vector<Event> events;
  for (uint64_t i = 0; i < 50; ++i)
    events.push_back(Event::access(0, 1, AccessOp::Read, kHeap + i * 0x1000, 8));
  writeTrace(file.path(), events);
  Guest g;
  TraceTape tape(file.path());
  TraceReplay replay(tape, false);
  replay.run(*g.kernel, 20);
  EXPECT_EQ(replay.stats().accesses, 20u);
  EXPECT_FALSE(replay.finished());
  replay.run(*g.kernel, 20);
  EXPECT_EQ(replay.stats().accesses, 40u);
  replay.run(*g.kernel, 20);
  EXPECT_EQ(replay.stats().accesses, 50u);
  EXPECT_TRUE(replay.finished());
  EXPECT_EQ(replay.stats().processes, 1u);  // created on first sight
}

// The VMM's CPU, raising an error at the first user access `bad_offset` into its GiB (the replay
// keeps offsets inside a GiB), as a stopped VM or a backend mismatch leaves a replay.
class ThrowingCpu final : public guest::GuestCpu {
public:
  ThrowingCpu(vmm::Vmm &vmm, uint64_t bad_offset) : vmm_(vmm), bad_offset_(bad_offset) {}
  guest::AccessOutcome access(uint64_t va, Access access, bool user, const uint64_t *store_value) override {
    if (user && (va & ((uint64_t{1} << 30) - 1)) == bad_offset_)
      throw std::runtime_error("the access at the bad offset");
    return vmm_.access(va, access, user, store_value);
  }
  void writeCr3(uint64_t root_gpa, uint16_t pcid, bool flush) override { vmm_.writeCr3(root_gpa, pcid, flush); }
  void invlpg(uint64_t va) override { vmm_.invlpg(va); }
  void invpcid(uint16_t pcid) override { vmm_.invpcid(pcid); }
  void writePhysical(uint64_t gpa, uint64_t value) override { vmm_.writePhysical(gpa, value); }
  void chargeGuestWork(uint64_t cycles) override { vmm_.chargeGuestWork(cycles); }

private:
  vmm::Vmm &vmm_;
  const uint64_t bad_offset_;
};

// An error inside a run of accesses leaves the replay with the accesses before it and the one that
// raised it counted (and the access alone before the run).
TEST(TraceReplay, AnErrorInsideARunCountsTheAccessesUpToIt) {
  TempFile file("error.vmt");
  writeTrace(file.path(), {
                              Event::access(0, 1, AccessOp::Read, kHeap, 8),  // the process's first: alone
                              Event::access(0, 1, AccessOp::Read, kHeap + 0x1000, 8),
                              Event::access(0, 1, AccessOp::Write, kHeap + 0x2000, 8),
                              Event::access(0, 1, AccessOp::Read, kHeap + 0x3000, 8),  // raises
                              Event::access(0, 1, AccessOp::Read, kHeap + 0x4000, 8),
                          });
  vmm::ModelBackend backend;
  vmm::VmmConfig config;
  config.memory.bytes = 64ull << 20;
  vmm::Vmm vmm(backend, config, vmm::Approach::Nested);
  ThrowingCpu cpu(vmm, 0x3000);
  guest::GuestConfig guest_config;
  guest_config.memory_bytes = config.memory.bytes;
  guest::GuestKernel kernel(cpu, guest_config);
  TraceTape tape(file.path());
  TraceReplay replay(tape, false);
  EXPECT_THROW(replay.run(kernel, 5), std::runtime_error);
  EXPECT_EQ(replay.stats().accesses, 4u);
}

// Under guest direct, a process's first mapping of at least kSegmentMinBytes that it may read gets
// the guest segment: a mapping it cannot read (PROT_WRITE alone, PROT_NONE) gets none.
TEST(TraceReplay, OnlyAReadableLargeMappingGetsTheGuestSegment) {
  for (const uint8_t prot : {uint8_t{trace::prot::Write}, uint8_t{0}, uint8_t{trace::prot::Read}}) {
    SCOPED_TRACE(static_cast<int>(prot));
    TempFile file("segment.vmt");
    writeTrace(file.path(), {
                                Event::processCreate(1, 0, "a"),
                                Event::contextSwitch(0, 1),
                                Event::mmap(1, kHeap, 16ull << 20, prot),  // kSegmentMinBytes
                                Event::access(0, 1, AccessOp::Read, kHeap + (32ull << 20), 8),
                            });
    Guest g(vmm::Approach::GuestDirect);
    TraceTape tape(file.path());
    TraceReplay replay(tape, false);
    replay.run(*g.kernel, 1);
    const guest::Pid pid = g.kernel->current();
    ASSERT_NE(pid, 0u);
    EXPECT_EQ(g.kernel->segmentOf(pid).end != 0, prot == trace::prot::Read);
  }
}

TEST(TraceReplay, KeepsPageLayoutInsideAGibAndSeparatesGibs) {
  TempFile file("layout.vmt");
  // Two pages 2 MiB apart in one GiB, and one page in a GiB 5 TiB away.
  writeTrace(file.path(), {
                              Event::access(0, 1, AccessOp::Read, kHeap + 0x1234, 8),
                              Event::access(0, 1, AccessOp::Read, kHeap + 0x20'0000 + 0x1234, 8),
                              Event::access(0, 1, AccessOp::Read, (5ull << 40) + 0x1234, 8),
                          });
  Guest g;
  TraceTape tape(file.path());
  TraceReplay replay(tape, false);
  replay.run(*g.kernel, 3);
  const guest::Pid pid = g.kernel->current();
  ASSERT_NE(pid, 0u);
  EXPECT_EQ(g.kernel->residentPages(pid), 3u);
  // The arena starts at the first GiB-aligned address of the process's first mapping; slot 0 holds
  // kHeap's GiB, so the guest address of kHeap + x is arena + x.
  const uint64_t arena = (guest::GuestKernel::kUserMmapBase + TraceReplay::kSlotBytes - 1) & ~(TraceReplay::kSlotBytes - 1);
  EXPECT_NE(g.kernel->residentFrame(pid, arena + 0x1000), ~uint64_t{0});
  EXPECT_NE(g.kernel->residentFrame(pid, arena + 0x20'1000), ~uint64_t{0});
  EXPECT_NE(g.kernel->residentFrame(pid, arena + TraceReplay::kSlotBytes + 0x1000), ~uint64_t{0});
  EXPECT_EQ(g.kernel->residentFrame(pid, arena + 0x2000), ~uint64_t{0});
}

TEST(TraceReplay, MprotectReachesTheGuestAndForbiddenAccessesAreCounted) {
  TempFile file("prot.vmt");
  writeTrace(file.path(), {
                              Event::mmap(1, kHeap, 0x2000, trace::prot::Read),
                              Event::access(0, 1, AccessOp::Read, kHeap, 8),
                              Event::access(0, 1, AccessOp::Write, kHeap, 8),  // not allowed: refused
                              Event::mprotect(1, kHeap, 0x2000, trace::prot::Read | trace::prot::Write),
                              Event::access(0, 1, AccessOp::Write, kHeap, 8),  // allowed now
                          });
  Guest g;
  TraceTape tape(file.path());
  TraceReplay replay(tape, false);
  replay.run(*g.kernel, 3);
  EXPECT_EQ(replay.stats().refused, 1u);
  EXPECT_EQ(replay.stats().accesses, 3u);
  EXPECT_EQ(replay.stats().mprotects, 1u);
}

// An mprotect of 4 KiB inside a resident 2 MiB page would split it, which vmmu's guest refuses:
// the replay counts it refused and goes on, the page keeping its old protection (a write to the
// 4 KiB made read-only is still allowed).
TEST(TraceReplay, AnMprotectThatWouldSplitAHugePageIsCountedRefused) {
  TempFile file("split.vmt");
  writeTrace(file.path(), {
                              Event::mmap(1, kHeap, 4ull << 20, trace::prot::Read | trace::prot::Write),
                              Event::access(0, 1, AccessOp::Write, kHeap, 8),  // faults in a 2 MiB page
                              Event::mprotect(1, kHeap + 0x1000, 0x1000, trace::prot::Read),
                              Event::access(0, 1, AccessOp::Write, kHeap + 0x1000, 8),  // still writable
                          });
  Guest g;
  TraceTape tape(file.path());
  TraceReplay replay(tape, true);  // the guest may map 2 MiB pages
  replay.run(*g.kernel, 2);
  EXPECT_EQ(g.kernel->stats().huge_page_faults, 1u);
  EXPECT_EQ(replay.stats().mprotects, 1u);
  EXPECT_EQ(replay.stats().refused, 1u);
  EXPECT_EQ(replay.stats().accesses, 2u);
}

// A replay describes itself by its trace's file name, without the directory.
TEST(TraceReplay, DescribesItselfByTheTracesFileName) {
  TempFile file("named.vmt");
  writeTrace(file.path(), {Event::access(0, 1, AccessOp::Read, kHeap, 8)});
  TraceTape tape(file.path());
  const TraceReplay replay(tape, false);
  EXPECT_EQ(replay.describe(), "trace vmmu-run-test-" + std::to_string(::getpid()) + "-named.vmt");
}

TEST(TraceReplay, HugeMappingsCostNothingUntilTouchedAndKeepTheirProtection) {
  TempFile file("huge.vmt");
  // 64 TiB read-only (more GiBs than the arena has slots), then accesses in two of its GiBs.
  writeTrace(file.path(), {
                              Event::mmap(1, 1ull << 40, 1ull << 46, trace::prot::Read),
                              Event::access(0, 1, AccessOp::Read, (1ull << 40) + (7ull << 30), 8),
                              Event::access(0, 1, AccessOp::Write, (1ull << 40) + (9ull << 30), 8),  // read-only
                              Event::munmap(1, (1ull << 40) + (9ull << 30), 1ull << 30),
                              Event::access(0, 1, AccessOp::Write, (1ull << 40) + (9ull << 30), 8),  // unmapped: demand-paged
                          });
  Guest g;
  TraceTape tape(file.path());
  TraceReplay replay(tape, false);
  replay.run(*g.kernel, 3);
  EXPECT_EQ(replay.stats().accesses, 3u);
  EXPECT_EQ(replay.stats().refused, 1u);
  EXPECT_EQ(g.kernel->residentPages(g.kernel->current()), 2u);
}

TEST(TraceReplay, KernelHalfAccessesBecomeKernelLoads) {
  TempFile file("kernel.vmt");
  writeTrace(file.path(), {
                              Event::access(0, 1, AccessOp::Read, guest::GuestKernel::kDirectMapBase + 0x20'0000, 8),
                              Event::access(0, 1, AccessOp::Read, kHeap, 8),
                          });
  {
    TraceTape counting(file.path());
    while (counting.extend()) {
    }
    EXPECT_EQ(counting.accesses(), 1u);  // the user accesses: the kernel half's are not
    EXPECT_EQ(counting.events(), 2u);
    TraceTape first(file.path(), 1);
    while (first.extend()) {
    }
    EXPECT_EQ(first.events(), 1u);
  }
  Guest g;
  TraceTape tape(file.path());
  TraceReplay replay(tape, false);
  replay.run(*g.kernel, 1);
  EXPECT_EQ(replay.stats().kernel_accesses, 1u);
  EXPECT_EQ(replay.stats().accesses, 1u);
}

// What replaying `events` (two user accesses among them) on a nested VM of 10 MiB, backed at
// creation, costs in TLB misses, and its replay counts.
struct SmallReplay {
  uint64_t tlb_misses = 0;
  ReplayStats stats;
};
SmallReplay replayOnTenMiB(const std::vector<Event> &events) {
  TempFile file("small-replay.vmt");
  writeTrace(file.path(), events);
  vmm::ModelBackend backend;
  vmm::VmmConfig config;
  config.memory.bytes = 10ull << 20;
  config.memory.lazy = false;  // a first touch's EPT violation would add a miss (its retry)
  vmm::Vmm vmm(backend, config, vmm::Approach::Nested);
  guest::GuestConfig guest_config;
  guest_config.memory_bytes = config.memory.bytes;
  guest::GuestKernel kernel(vmm, guest_config);
  const uint64_t before = backend.counter(Counter::TlbMisses);
  TraceTape tape(file.path());
  TraceReplay replay(tape, false);
  replay.run(kernel, 2);
  EXPECT_EQ(replay.stats().accesses, 2u);
  return {backend.counter(Counter::TlbMisses) - before, replay.stats()};
}

// Which guest-physical page a kernel-half access loads: the direct map's offset from 0xffff888..,
// or below the direct map (from 2^47 on) the address itself, modulo the guest's memory. With
// 10 MiB (not a power of two, so the two rules give different pages) the first user access
// spawns the process, whose tables the guest kernel writes through the direct map's first 2 MiB
// page: after it, a load of page 0 hits the TLB and a load of any other page misses. Misses are
// counted against a replay of the two user accesses alone.
TEST(TraceReplay, KernelLoadsReachTheirDirectMapPage) {
  const uint64_t direct_map = guest::GuestKernel::kDirectMapBase;
  const Event user = Event::access(0, 1, AccessOp::Read, kHeap, 8);
  const auto tlbMisses = [&](const std::vector<Event> &kernel_loads) {
    std::vector<Event> events = {user};
    events.insert(events.end(), kernel_loads.begin(), kernel_loads.end());
    events.push_back(user);
    const SmallReplay replayed = replayOnTenMiB(events);
    EXPECT_EQ(replayed.stats.kernel_accesses, kernel_loads.size());
    return replayed.tlb_misses;
  };
  const uint64_t user_misses = tlbMisses({});
  // Page 0: the direct map's bytes 8 and 0, and 2^47 + 2 MiB ((8 + 2) mod 10 MiB = 0).
  EXPECT_EQ(tlbMisses({Event::access(0, 1, AccessOp::Read, direct_map + 8, 8),
                       Event::access(0, 1, AccessOp::Read, direct_map, 8),
                       Event::access(0, 1, AccessOp::Read, kUpperHalf + (2u << 20), 8)}),
            user_misses);
  // Page 4: 2^47 mod 10 MiB = 8 MiB; page 2: the direct map's 4 MiB.
  EXPECT_EQ(tlbMisses({Event::access(0, 1, AccessOp::Read, kUpperHalf, 8)}), user_misses + 1);
  EXPECT_EQ(tlbMisses({Event::access(0, 1, AccessOp::Read, direct_map + (4u << 20), 8),
                       Event::access(0, 1, AccessOp::Read, direct_map + (4u << 20) + 8, 8)}),
            user_misses + 1);
}

// An invlpg of the kernel half, 2^47 included, invalidates its direct-map page (2^47 mod 10 MiB =
// 8 MiB), as a kernel load of it reaches that page: a second load of 2^47 after it misses again.
// The user page in between (5 pages into the heap) keeps its TLB entry.
TEST(TraceReplay, AnInvlpgAtTheKernelHalfsStartReachesItsDirectMapPage) {
  const Event user = Event::access(0, 1, AccessOp::Read, kHeap + 5 * 4096, 8);
  const Event kernel_load = Event::access(0, 1, AccessOp::Read, kUpperHalf, 8);
  const auto tlbMisses = [&](const std::vector<Event> &between) {
    std::vector<Event> events = {user, kernel_load};
    events.insert(events.end(), between.begin(), between.end());
    events.push_back(kernel_load);
    events.push_back(user);
    const SmallReplay replayed = replayOnTenMiB(events);
    EXPECT_EQ(replayed.stats.kernel_accesses, 2u);
    EXPECT_EQ(replayed.stats.invlpgs, between.size());
    return replayed.tlb_misses;
  };
  EXPECT_EQ(tlbMisses({Event::invlpg(0, 1, kUpperHalf)}), tlbMisses({}) + 1);
}

// The arena holds as many distinct GiBs per process as it has whole 1 GiB slots (kArenaSlots when
// its mmap starts GiB-aligned, as a fresh process's does). One GiB more stops the replay, naming
// the count; every GiB before it was replayed.
TEST(TraceReplay, AProcessTouchingMoreGiBsThanTheArenaHoldsIsRefused) {
  std::vector<Event> events;
  for (uint64_t gib = 0; gib <= TraceReplay::kArenaSlots; ++gib)
    events.push_back(Event::access(0, 1, AccessOp::Read, gib << 30, 8));
  TempFile file("many-gibs.vmt");
  writeTrace(file.path(), events);
  vmm::ModelBackend backend;
  vmm::VmmConfig config;
  config.memory.bytes = 1ull << 30;  // three table pages per GiB touched: about 200 MiB
  vmm::Vmm vmm(backend, config, vmm::Approach::Nested);
  guest::GuestConfig guest_config;
  guest_config.memory_bytes = config.memory.bytes;
  guest::GuestKernel kernel(vmm, guest_config);
  TraceTape tape(file.path());
  TraceReplay replay(tape, false);
  try {
    replay.run(kernel, events.size());
    FAIL() << "more GiBs than slots";
  } catch (const std::runtime_error &e) {
    // A fresh process's first mmap starts at the GiB-aligned kUserMmapBase: every slot is whole.
    EXPECT_EQ(replay.stats().accesses, TraceReplay::kArenaSlots);
    EXPECT_EQ(std::string(e.what()), "trace touches more than " + std::to_string(TraceReplay::kArenaSlots) +
                                         " distinct 1 GiB regions in one process, more than the replay's arena holds");
  }
}

TEST(TraceReplay, MaxEventsLimitsTheReplay) {
  TempFile file("max.vmt");
  std::vector<Event> events;
  for (uint64_t i = 0; i < 10; ++i)
    events.push_back(Event::access(0, 1, AccessOp::Read, kHeap + i * 8, 8));
  writeTrace(file.path(), events);
  Guest g;
  TraceTape tape(file.path(), 4);
  TraceReplay replay(tape, false);
  replay.run(*g.kernel, 10);
  EXPECT_EQ(replay.stats().events, 4u);
  EXPECT_TRUE(replay.finished());
}

// The events after a trace's last user access (a recording's final process-exit) are decoded and
// counted but not replayed: a run ends at its last access.
TEST(TraceReplay, EventsAfterTheLastAccessAreCountedNotReplayed) {
  TempFile file("tail.vmt");
  writeTrace(file.path(), {
                              Event::access(0, 1, AccessOp::Read, kHeap, 8),
                              Event::marker(0, "between"),
                              Event::access(0, 1, AccessOp::Read, kHeap + 0x1000, 8),
                              Event::munmap(1, kHeap, 0x2000),
                              Event::processExit(1),
                          });
  Guest g;
  TraceTape tape(file.path());
  TraceReplay replay(tape, false);
  replay.run(*g.kernel, 10);
  EXPECT_TRUE(replay.finished());
  EXPECT_EQ(replay.stats().events, 3u);  // up to the second access, the marker included
  EXPECT_EQ(replay.stats().munmaps, 0u);
  EXPECT_EQ(replay.stats().process_exits, 0u);
  EXPECT_EQ(g.kernel->residentPages(g.kernel->current()), 2u);
  EXPECT_EQ(tape.events(), 5u);
  EXPECT_EQ(tape.accesses(), 2u);
}

// A long stretch without accesses does not pile up on the tape: past 4 chunks of waiting events
// the scout finds the access after them, and the readers may replay them (and free their chunks)
// before the decoder gets there. A stretch with no access after it is never replayed.
TEST(TraceTape, WaitingEventsStayBoundedAndTrailingOnesAreNeverReplayed) {
  TempFile file("stretch.vmt");
  std::vector<Event> events;
  events.push_back(Event::access(0, 1, AccessOp::Read, kHeap, 8));
  for (int i = 0; i < 100; ++i)
    events.push_back(Event::marker(0, "wait"));
  events.push_back(Event::access(0, 1, AccessOp::Read, kHeap + 0x1000, 8));  // event 101
  for (int i = 0; i < 50; ++i)
    events.push_back(Event::marker(0, "tail"));
  writeTrace(file.path(), events);
  Guest g;
  TraceTape tape(file.path(), UINT64_MAX, 4);  // chunks of 4 events: at most 16 waiting
  EXPECT_EQ(tape.pendingLimit(), 16u);
  TraceReplay replay(tape, false);
  uint64_t most_waiting = 0;
  while (tape.extend()) {
    replay.replayTo(*g.kernel, 2);
    if (!tape.ended())
      most_waiting = std::max(most_waiting, tape.events() - replay.stats().events);
  }
  // Event 0 is replayed at once; after 4 chunks 15 events wait (16 decoded, 1 replayed); the
  // fifth chunk makes 19, more than 16: the scout finds event 101 and from then on the reader
  // keeps up with the decoder.
  EXPECT_EQ(most_waiting, 15u);
  EXPECT_EQ(replay.stats().accesses, 2u);
  EXPECT_EQ(replay.stats().events, 102u);
  EXPECT_TRUE(replay.finished());
  // After event 101 the scout is asked again and finds no access: the tape ends with the
  // trace's whole count, the 50 trailing markers decoded by the scout alone.
  EXPECT_TRUE(tape.ended());
  EXPECT_EQ(tape.events(), 152u);
  EXPECT_EQ(tape.accesses(), 2u);
}

// A shrinking brk reclaims the resident pages between the new and the old end, and only those; a
// brk that does not shrink reclaims nothing.
TEST(TraceReplay, AShrinkingBrkReclaimsThePagesAboveTheNewEnd) {
  TempFile file("brk.vmt");
  std::vector<Event> events = {Event::brk(1, kHeap + 0x4000)};
  for (uint64_t page = 0; page < 4; ++page)
    events.push_back(Event::access(0, 1, AccessOp::Write, kHeap + page * 0x1000, 8));
  events.push_back(Event::access(0, 1, AccessOp::Write, kHeap + 0x10000, 8));  // above the heap
  events.push_back(Event::brk(1, kHeap + 0x1000));  // drops pages 1 to 3
  events.push_back(Event::access(0, 1, AccessOp::Read, kHeap, 8));
  events.push_back(Event::brk(1, kHeap + 0x1000));  // no change
  events.push_back(Event::brk(1, kHeap + 0x8000));  // grows
  events.push_back(Event::access(0, 1, AccessOp::Read, kHeap, 8));
  writeTrace(file.path(), events);
  Guest g;
  TraceTape tape(file.path());
  TraceReplay replay(tape, false);
  replay.run(*g.kernel, 100);
  EXPECT_EQ(replay.stats().brks, 4u);
  EXPECT_EQ(replay.stats().pages_reclaimed, 3u);
  EXPECT_EQ(g.kernel->residentPages(g.kernel->current()), 2u);  // the heap's first page, the one above
}

// A range across a GiB boundary is cut at it: each part reaches the slot of its own GiB.
TEST(TraceReplay, AMunmapAcrossAGibBoundaryReclaimsOnBothSides) {
  TempFile file("across.vmt");
  writeTrace(file.path(), {
                              Event::access(0, 1, AccessOp::Write, kHeap - 0x2000, 8),
                              Event::access(0, 1, AccessOp::Write, kHeap - 0x1000, 8),
                              Event::access(0, 1, AccessOp::Write, kHeap, 8),
                              Event::access(0, 1, AccessOp::Write, kHeap + 0x1000, 8),
                              Event::munmap(1, kHeap - 0x1000, 0x2000),
                              Event::access(0, 1, AccessOp::Read, kHeap - 0x2000, 8),
                          });
  Guest g;
  TraceTape tape(file.path());
  TraceReplay replay(tape, false);
  replay.run(*g.kernel, 100);
  EXPECT_EQ(replay.stats().pages_reclaimed, 2u);
  EXPECT_EQ(g.kernel->residentPages(g.kernel->current()), 2u);
}

// Protection changes of a GiB not touched yet wait, in order, until it is; a change of the whole
// GiB replaces the ones before it.
TEST(TraceReplay, PendingProtectionsApplyInOrderWhenTheGibIsTouched) {
  TempFile file("pending.vmt");
  constexpr uint64_t kGib = 5ull << 30;
  writeTrace(file.path(), {
                              Event::access(0, 1, AccessOp::Read, kHeap, 8),  // the process exists
                              Event::mprotect(1, kGib + 0x3000, 0x1000, trace::prot::Read),  // replaced below
                              Event::mprotect(1, kGib, 1ull << 30, trace::prot::Read),
                              Event::mprotect(1, kGib + 0x1000, 0x1000, trace::prot::Read | trace::prot::Write),
                              Event::access(0, 1, AccessOp::Write, kGib + 0x1000, 8),  // allowed
                              Event::access(0, 1, AccessOp::Write, kGib + 0x2000, 8),  // read-only: refused
                              Event::access(0, 1, AccessOp::Read, kGib + 0x2000, 8),   // allowed
                          });
  Guest g;
  TraceTape tape(file.path());
  TraceReplay replay(tape, false);
  replay.run(*g.kernel, 100);
  EXPECT_EQ(replay.stats().mprotects, 3u);
  EXPECT_EQ(replay.stats().accesses, 4u);
  EXPECT_EQ(replay.stats().refused, 1u);
}

}  // namespace
}  // namespace vmmu::run
