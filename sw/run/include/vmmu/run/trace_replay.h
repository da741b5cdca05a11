// vmmu/run/trace_replay.h - a recorded or generated trace as a guest workload.
//
// TraceReplay turns the events of a .vmt trace (docs/trace-format.md), read from a TraceTape
// (trace_tape.h: the trace decoded once, shared by every approach's replay), into guest OS
// activity on a guest::GuestKernel, so that every approach replays the same guest activity. A
// replay ends at the trace's last user access: events after it are not replayed. What each event
// becomes (docs/results.md repeats this):
//  - process-create, or the first event naming a pid: GuestKernel::spawn(); process-exit: exit().
//  - switch and every access: switchTo() the trace pid's guest process (a CR3 write when it changes).
//  - access below 2^47 (user half): a user access (fetch = execute) at the replayed address, which
//    demand-pages on first touch. Only the first 8 bytes are touched (the model's access width).
//  - access in the upper half (a guest kernel's own accesses, e.g. the `boot` generator's direct
//    map at 0xffff888000000000): a kernel load through the guest model's direct map, of guest
//    physical (va - 0xffff888000000000) modulo the guest's memory.
//  - mmap / mprotect: mprotect() of the replayed range to the event's protection (an mmap first
//    drops pages still resident there, as a MAP_FIXED replacement does); for a GiB not touched yet
//    the change waits until its first touch. munmap and a shrinking brk: the resident pages of the
//    range are reclaimed (their PTEs cleared and invalidated, frames freed: the cost follows the
//    resident pages, not the range's size); munmap also returns the range to read-write-execute,
//    so a later touch there is demand-paged.
//  - pte-write: the guest kernel loads and stores back one entry of the event pid's page tables
//    at the event's level, chosen from the entry's gPA (GuestKernel::rewriteTableEntry,
//    docs/trace-format.md §8.1): the guest model owns its tables, so the trace's value is not
//    stored, but the store is one, and a VMM that write-protects the page traps it.
//  - invlpg: an INVLPG in the event pid's address space (switched to), of the replayed address
//    (user half: the GiB's slot, or the arena's first when it has none; kernel half: the direct
//    map, modulo guest memory).
//  - marker: counted and not replayed.
//  - on a CPU with the guest direct segment (docs/architecture.md §18.9), a process's first mmap
//    of at least kSegmentMinBytes is its primary region: the guest kernel gives its guest range
//    (within the GiB the mapping starts in, which gets its slot then) the segment.
//
// Address layout. The guest kernel chooses where mappings go (there is no MAP_FIXED), so each
// guest process gets one arena mapping (read-write-execute, 16 TiB of address space, backed only
// where touched) and every 1 GiB region of the trace's address space the process uses is given
// the next 1 GiB slot of the arena, in order of first use. Offsets inside a GiB are kept, so page,
// page-table and page-directory locality are the program's own; only the distance between GiB
// regions changes. Accesses outside any recorded mapping (valgrind's loader maps the executable,
// ld.so and the stack before the first recorded event) are demand-paged like any other.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "vmmu/guest/guest_kernel.h"
#include "vmmu/guest/workload.h"
#include "vmmu/run/trace_tape.h"

namespace vmmu::run {

// What the replay did with the trace's events.
struct ReplayStats {
  uint64_t events = 0;            // events replayed
  uint64_t accesses = 0;          // user accesses replayed
  uint64_t kernel_accesses = 0;   // upper-half accesses replayed as kernel loads
  uint64_t processes = 0;         // guest processes created (by process-create or on first sight)
  uint64_t process_exits = 0;
  uint64_t switches = 0;          // switch events
  uint64_t mmaps = 0, munmaps = 0, mprotects = 0, brks = 0;
  uint64_t pages_reclaimed = 0;   // resident pages dropped by munmap, a shrinking brk, mmap over pages
  uint64_t pte_writes = 0;        // pte-write events: a guest page-table entry rewritten
  uint64_t invlpgs = 0;           // invlpg events: an INVLPG on the guest
  uint64_t not_replayed = 0;      // marker
  uint64_t refused = 0;           // events the guest refused (an access its mapping forbids, a
                                  // range splitting a 2 MiB page); skipped
};

// One reader of a TraceTape: replays its events on one guest kernel. Several replays of one tape
// (one per approach) share its decoded chunks.
class TraceReplay final : public guest::Workload {
public:
  // Reads `tape` from its start (call before the tape's first extend()); the caller keeps the
  // tape alive. `huge_pages`: let THP back 2 MiB-aligned arena ranges with 2 MiB pages.
  TraceReplay(TraceTape &tape, bool huge_pages);
  ~TraceReplay() override;

  // Replays events until `target` user accesses were replayed in all, or the tape's horizon
  // (TraceTape::safeEnd(), or its decoded end) is reached; stops right after the access that
  // reaches `target`. Returns the user accesses it replayed.
  uint64_t replayTo(guest::GuestKernel &kernel, uint64_t target);
  // The tape has ended and this replay has replayed every event it may.
  bool finished() const;

  // guest::Workload, for a replay that reads its tape alone: replays `accesses` more user
  // accesses (or up to the trace's last one), extending the tape as it goes.
  void run(guest::GuestKernel &kernel, uint64_t accesses) override;
  std::string describe() const override;

  const ReplayStats &stats() const { return stats_; }
  // Index (from 0) of the event replayed last: while it throws, the event being replayed.
  uint64_t eventIndex() const { return event_index_; }

  // The arena: 1 GiB slots filling the guest's user mmap space (16 TiB from kUserMmapBase up to
  // the 47-bit canonical limit), less one GiB for alignment and the top page.
  static constexpr uint64_t kSlotBytes = 1ull << 30;
  static constexpr uint64_t kArenaSlots = 16383;

private:
  struct Process;
  Process &processFor(guest::GuestKernel &kernel, uint32_t trace_pid);
  // The guest address of `trace_va`, giving its GiB a slot (and applying the protection changes
  // pending for it) on first use.
  uint64_t guestAddress(guest::GuestKernel &kernel, Process &process, uint64_t trace_va);
  // The guest address of `trace_va` if its GiB has a slot.
  std::optional<uint64_t> existingGuestAddress(const Process &process, uint64_t trace_va) const;
  void protectGuest(guest::GuestKernel &kernel, Process &process, uint64_t guest_start, uint64_t length, unsigned prot);
  // A user or kernel-half access (the fast path), and any other event.
  void replayAccess(guest::GuestKernel &kernel, const TraceTape::Entry &access);
  // The run of user accesses at chunk.entries[at] (at most `most`) by the last process, in GiBs
  // with a slot: replayed together, `at` moved past them. False, having done nothing, when the
  // entry at `at` does not start such a run.
  bool replayUserRun(guest::GuestKernel &kernel, const TraceTape::Chunk &chunk, size_t &at, uint64_t most);
  // The longest run replayUserRun() hands the guest at once.
  static constexpr size_t kRunAccesses = 64;
  void replayKernelAccess(guest::GuestKernel &kernel, uint64_t address);
  void replay(guest::GuestKernel &kernel, const trace::Event &event);
  void reclaimRange(guest::GuestKernel &kernel, Process &process, uint64_t start, uint64_t length);
  void protectRange(guest::GuestKernel &kernel, Process &process, uint64_t start, uint64_t length, unsigned prot);
  void giveSegment(guest::GuestKernel &kernel, Process &process, const trace::Event &mmap);
  // The smallest mapping taken for a big-memory process's primary region (§18.9).
  static constexpr uint64_t kSegmentMinBytes = 16ull << 20;

  TraceTape &tape_;
  const bool huge_pages_;
  std::shared_ptr<TraceTape::Chunk> chunk_;  // the chunk being read, and the next event in it
  size_t offset_ = 0;
  size_t limit_ = 0;  // where in chunk_ the tape's horizon was when last looked at
  ReplayStats stats_;
  uint64_t event_index_ = 0;
  std::unordered_map<uint32_t, std::unique_ptr<Process>> processes_;
  // The process of the last trace pid looked up: consecutive events mostly name the same one.
  uint32_t last_pid_ = 0;
  Process *last_process_ = nullptr;
};

}  // namespace vmmu::run
