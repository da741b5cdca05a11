// vmmu/vmm/costs.h - VM exits, their costs, and the cost account of one run.
//
// Every approach runs the same guest activity; the account splits its cycles into translation
// (TLB hits and the MMU's walk cycles), VM exits (a round trip each), the shim's own work, and the
// guest's own work (identical across approaches), so runs compare directly.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace vmmu::vmm {

enum class ExitReason : uint8_t {
  ShadowFault,     // shadow page fault: fill a shadow entry, or inject a guest #PF
  PageTableWrite,  // store to a write-protected guest page-table page (emulated)
  Cr3Write,        // guest MOV CR3 under shadow paging
  Invlpg,          // guest INVLPG / INVPCID under plain shadow paging
  EptViolation,    // EPT violation or misconfiguration (nested, escaped DIRECT pages)
  Bounds,          // DIRECT bounds violation
  ModeSwitch,      // the VMM changing approach at a policy decision
  Count
};
constexpr unsigned kNumExitReasons = static_cast<unsigned>(ExitReason::Count);
std::string_view toString(ExitReason reason);

// An exit's indirect cost: what it costs the guest after it resumes, the VMM's handler having
// evicted the guest's lines from the core's caches and predictors (vmmu does not run the
// handler's own accesses through the cache model, so this is a fixed cost, not simulated).
// SplitX (Landau, Ben-Yehuda, Gordon, WIOV 2011; references.md) measured 2,000 cycles direct cost
// per exit on a Xeon X5570 with KVM and EPT, and indirect costs "in certain cases an order of
// magnitude higher": 2,000 is the low end of that range (the indirect cost at least matching the
// direct one), vmmu's choice. `vmmu run` charges it by default (run::RunSettings).
constexpr uint64_t kCitedExitIndirect = 2'000;

// Cycle costs. The exit round trip is cited; the shim's per-operation work figures are vmmu's
// choices, sized from what each operation does (a few loads and stores, a table zeroing).
struct CostConfig {
  // VM exit + entry round trip. references.md: "in excess of 1,000 cycles" (Bae, Lange, Dinda
  // 2010, seed 002); ~1,350 on AMD SVM and ~2,500 for the whole KVM_RUN round trip (LKML, Dec.
  // 2020); ~2,000 direct cost on a Xeon X5570 with KVM and EPT (SplitX). 1,500 sits in that range.
  uint64_t exit_round_trip = 1'500;
  // An exit's indirect cost (kCitedExitIndirect in `vmmu run`): 0 here, so that the library's
  // experiments and the tests that price exits by hand keep the direct cost alone.
  uint64_t exit_indirect = 0;
  uint64_t hit_cycles = 1;        // a TLB hit or early fault responds in one cycle (§12)
  // A guest data access beyond translation: an L1D hit. With the cache model an access served
  // further out also pays its level's latency minus the L1D's (MemoryHierarchy::dataStall()).
  uint64_t access_cycles = 1;
  // Base cycles per instruction, in thousandths: every instruction fetch of the trace is one
  // instruction and costs this (instead of access_cycles), so a slowdown is one of run time. The
  // data caches' stalls are charged apart; 1.0 is vmmu's choice (a core that overlaps its L1D hits,
  // nothing cited), and with it and the flat memory model a run costs what it did before the
  // run-time model.
  uint64_t cpi_millis = 1'000;
  uint64_t exit_handler = 200;    // decode the exit reason and qualification, dispatch
  uint64_t guest_entry_read = 20; // the shim reads one guest entry (software walk)
  uint64_t prefetch_entry_read = 4;  // one entry of a sequential scan of a guest table (prefetch)
  uint64_t shadow_entry_write = 10;
  uint64_t shadow_table_alloc = 300;  // take a frame and zero 4 KiB
  uint64_t shadow_table_free = 50;
  uint64_t emulate_write = 300;   // decode and emulate a trapped store
  uint64_t control_command = 20;  // one MMU control-port command
  uint64_t page_move = 2'000;     // copy 4 KiB between host frames and remap it (compaction)
  // Backing a guest page on its first touch (lazy host allocation, architecture.md §16): the
  // host's fault path once per host page (memslot lookup, page allocation, EPT or shadow entry)
  // and zeroing per 4 KiB of it. A first touch of an anonymous 4 KiB page measured a median of
  // 3,241 cycles, zeroing included (rdtsc around the touch, Linux 6.6, Core i7 11th gen, 100
  // runs: ddumbying.vercel.app/experiments/pagefault-latency); 3,000 + 250 is that. Zeroing runs
  // at 16 bytes per cycle, as guest.clear_page. Linux's transparent-huge-page documentation
  // (Documentation/admin-guide/mm/transhuge.rst) describes the 2 MiB trade: one fault instead of
  // 512, with a 512-times larger clear_page.
  uint64_t host_alloc = 3'000;
  uint64_t host_clear_page = 250;
  // The host's work for one page the balloon gives back (§19): take its PFN off the virtqueue,
  // find its host page, discard it. Inflating 7 GB of an 8 GB idle guest took 4,126 ms, 68.3% of
  // it sending the PFNs to the host, 6.1% translating them, 19% in madvise (Wang, "virtio-balloon:
  // VIRTIO_BALLOON_F_SG", LKML, July 2017): 93.4% of 2.25 us a page, 6,300 cycles at 3 GHz (the
  // exits that carried the batches are inside that figure too, and are charged apart here: they
  // are 0.2% of it).
  uint64_t balloon_page_host = 6'300;
};

// PFNs the balloon driver reports per virtqueue notification (Linux's virtio_balloon
// VIRTIO_BALLOON_ARRAY_PFNS_MAX): each batch is one VM exit (§19).
constexpr uint64_t kBalloonBatchPages = 256;

struct Backing;

struct RunCost {
  uint64_t accesses = 0;          // guest memory accesses (user and kernel), each counted once
  uint64_t translations = 0;      // translate() calls, retries after exits included
  uint64_t translation_cycles = 0;
  uint64_t access_cycles = 0;     // data accesses: access_cycles each plus their cache stalls
  uint64_t instructions = 0;      // instruction fetches
  uint64_t instruction_cycles = 0;  // instructions x the base CPI (whole cycles)
  std::array<uint64_t, kNumExitReasons> exits{};
  uint64_t exit_cycles = 0;       // round trips and their indirect cost
  uint64_t exit_flushes = 0;      // VPID flushes of a VMM without VPIDs (VmmConfig::flush_tlb_on_exit)
  uint64_t shim_cycles = 0;       // the VMM's own work
  uint64_t guest_work_cycles = 0; // guest kernel work charged by the guest model
  uint64_t guest_page_faults = 0; // #PF delivered to the guest (raised by hardware or injected)
  uint64_t cr3_writes = 0;
  uint64_t control_commands = 0;
  uint64_t page_moves = 0;        // compaction / page migration copies
  uint64_t balloon_pages = 0;     // pages the guest gave back to self-ballooning (§19)
  uint64_t balloon_migrations = 0;  // of them, in-use pages the guest copied first
  // What self-ballooning cost beyond its host copies (those are page_moves): its exits, the
  // host's and the guest's work. A record: these cycles are already in the fields above.
  uint64_t balloon_cycles = 0;
  uint64_t host_backings = 0;     // host pages allocated on first touch (lazy backing)
  uint64_t host_pages_backed = 0; // the 4 KiB pages they hold
  // Flattened EPT formats (§21.7): 2 MiB tables allocated and zeroed after VM creation, and
  // 2 MiB leaves written as 512 replicas; their cycles are in shim_cycles.
  uint64_t ept_tables = 0;
  uint64_t ept_replicated_leaves = 0;
  uint64_t mode_switches = 0;
  // Walks whose VA lay inside the running process's guest segment (once the guest has written
  // one), and their walk cycles: what the adaptive policy prices Guest Direct and Dual Direct
  // from (§16).
  uint64_t segment_walks = 0;
  uint64_t segment_walk_cycles = 0;

  uint64_t totalExits() const;
  uint64_t totalCycles() const {
    return translation_cycles + access_cycles + instruction_cycles + exit_cycles + shim_cycles + guest_work_cycles;
  }
  // Overhead of virtualization as the VMM can see it: everything but the guest's own work, its
  // instructions and the accesses themselves.
  uint64_t virtualizationCycles() const { return translation_cycles + exit_cycles + shim_cycles; }
  RunCost operator-(const RunCost &earlier) const;
};

// Charges the host's work of `backing` (lazy host allocation) to the shim's cycles.
void chargeBacking(RunCost &cost, const CostConfig &costs, const Backing &backing);

}  // namespace vmmu::vmm
