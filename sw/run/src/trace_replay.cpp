// trace_replay.cpp - trace events -> guest OS activity (see trace_replay.h for the mapping).
#include "vmmu/run/trace_replay.h"

#include <algorithm>
#include <array>
#include <optional>
#include <stdexcept>

namespace vmmu::run {

namespace {

constexpr uint64_t k4K = 4096;

// The two enumerations number the kinds alike, so the conversion is a cast: a switch over the
// kind, which the trace mixes unpredictably, cost a mispredicted branch per few accesses.
static_assert(static_cast<unsigned>(trace::AccessOp::Read) == static_cast<unsigned>(Access::Read) &&
              static_cast<unsigned>(trace::AccessOp::Write) == static_cast<unsigned>(Access::Write) &&
              static_cast<unsigned>(trace::AccessOp::Fetch) == static_cast<unsigned>(Access::Exec));
Access toAccess(trace::AccessOp op) { return static_cast<Access>(op); }

std::string baseName(const std::string &path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

struct TraceReplay::Process {
  guest::Pid pid = 0;
  uint64_t arena = 0;  // guest VA of slot 0 (1 GiB aligned)
  std::unordered_map<uint64_t, uint64_t> slot_of_gib;  // trace VA >> 30 -> slot
  // The slots of GiBs translated lately, by the GiB's low bits: a program's code, heap and stack
  // are in different GiBs, and most accesses are in one of them.
  struct RecentGib {
    uint64_t gib = ~uint64_t{0};
    uint64_t base = 0;
  };
  std::array<RecentGib, 8> recent;
  RecentGib &recentFor(uint64_t gib) { return recent[gib % recent.size()]; }
  uint64_t slots = 0;    // 1 GiB slots in the arena
  uint64_t brk_end = 0;  // 0 until the first brk event
  // No segment given yet (giveSegment()); false also on a CPU without one.
  bool segment_possible = true;
  // Protection changes (offset in the GiB, length, prot) for GiBs without a slot yet, applied in
  // order when the GiB is first touched: a mapping of terabytes costs nothing until used.
  struct PendingProtect {
    uint64_t offset, length;
    unsigned prot;
  };
  std::unordered_map<uint64_t, std::vector<PendingProtect>> pending;
};

TraceReplay::TraceReplay(TraceTape &tape, bool huge_pages)
    : tape_(tape), huge_pages_(huge_pages), chunk_(tape.start()) {}

TraceReplay::~TraceReplay() = default;

std::string TraceReplay::describe() const { return "trace " + baseName(tape_.path()); }

TraceReplay::Process &TraceReplay::processFor(guest::GuestKernel &kernel, uint32_t trace_pid) {
  if (last_process_ != nullptr && last_pid_ == trace_pid)
    return *last_process_;
  auto it = processes_.find(trace_pid);
  if (it != processes_.end()) {
    last_pid_ = trace_pid;
    last_process_ = it->second.get();
    return *last_process_;
  }
  auto process = std::make_unique<Process>();
  process->pid = kernel.spawn();
  const uint64_t arena_bytes = kArenaSlots * kSlotBytes;
  const uint64_t start = kernel.mmap(process->pid, arena_bytes, guest::prot::Read | guest::prot::Write | guest::prot::Exec,
                                     huge_pages_);
  process->arena = (start + kSlotBytes - 1) & ~(kSlotBytes - 1);
  process->slots = (start + arena_bytes - process->arena) / kSlotBytes;  // one fewer when start is unaligned
  ++stats_.processes;
  last_pid_ = trace_pid;
  last_process_ = processes_.emplace(trace_pid, std::move(process)).first->second.get();
  return *last_process_;
}

uint64_t TraceReplay::guestAddress(guest::GuestKernel &kernel, Process &process, uint64_t trace_va) {
  const uint64_t gib = trace_va >> 30;
  Process::RecentGib &recent = process.recentFor(gib);
  if (gib != recent.gib) {
    const auto [it, inserted] = process.slot_of_gib.emplace(gib, process.slot_of_gib.size());
    if (it->second >= process.slots) {
      process.slot_of_gib.erase(it);
      throw std::runtime_error("trace touches more than " + std::to_string(process.slots) +
                               " distinct 1 GiB regions in one process, more than the replay's arena holds");
    }
    const uint64_t base = process.arena + it->second * kSlotBytes;
    if (inserted) {
      if (const auto pending = process.pending.find(gib); pending != process.pending.end()) {
        for (const Process::PendingProtect &change : pending->second)
          protectGuest(kernel, process, base + change.offset, change.length, change.prot);
        process.pending.erase(pending);
      }
    }
    recent.gib = gib;
    recent.base = base;
  }
  return recent.base + (trace_va & (kSlotBytes - 1));
}

std::optional<uint64_t> TraceReplay::existingGuestAddress(const Process &process, uint64_t trace_va) const {
  const auto it = process.slot_of_gib.find(trace_va >> 30);
  if (it == process.slot_of_gib.end())
    return std::nullopt;
  return process.arena + it->second * kSlotBytes + (trace_va & (kSlotBytes - 1));
}

void TraceReplay::protectGuest(guest::GuestKernel &kernel, Process &process, uint64_t guest_start, uint64_t length,
                               unsigned prot) {
  try {
    kernel.mprotect(process.pid, guest_start, length, prot);
  } catch (const std::invalid_argument &) {
    ++stats_.refused;  // would split a 2 MiB page: vmmu's guest does not split them
  }
}

// Calls `piece(trace_start, length)` for each part of trace range [start, start + length) that lies
// in one GiB, in the user half.
template <typename Piece>
static void forEachGuestPiece(uint64_t start, uint64_t length, Piece &&piece) {
  const uint64_t end = std::min(kUpperHalf, start + std::min(length, kUpperHalf));
  for (uint64_t at = start & ~(k4K - 1); at < end;) {
    const uint64_t gib_end = (at | (TraceReplay::kSlotBytes - 1)) + 1;
    const uint64_t piece_end = std::min(end, gib_end);
    piece(at, piece_end - at);
    at = piece_end;
  }
}

void TraceReplay::reclaimRange(guest::GuestKernel &kernel, Process &process, uint64_t start, uint64_t length) {
  if (kernel.residentPages(process.pid) == 0)
    return;
  forEachGuestPiece(start, length, [&](uint64_t trace_start, uint64_t piece_length) {
    const std::optional<uint64_t> guest_start = existingGuestAddress(process, trace_start);
    if (!guest_start)
      return;  // never touched: nothing resident
    // Whole pages from the piece's start; only resident pages are visited.
    const uint64_t pages = (piece_length + k4K - 1) / k4K;
    stats_.pages_reclaimed += kernel.reclaimRange(process.pid, *guest_start, *guest_start + pages * k4K);
  });
}

void TraceReplay::protectRange(guest::GuestKernel &kernel, Process &process, uint64_t start, uint64_t length,
                               unsigned prot) {
  forEachGuestPiece(start, length, [&](uint64_t trace_start, uint64_t piece_length) {
    if (const std::optional<uint64_t> guest_start = existingGuestAddress(process, trace_start)) {
      protectGuest(kernel, process, *guest_start, piece_length, prot);
      return;
    }
    std::vector<Process::PendingProtect> &pending = process.pending[trace_start >> 30];
    if (piece_length == kSlotBytes)
      pending.clear();  // the whole GiB: earlier changes are overwritten
    pending.push_back({trace_start & (kSlotBytes - 1), piece_length, prot});
  });
}

void TraceReplay::replayKernelAccess(guest::GuestKernel &kernel, uint64_t address) {
  const uint64_t offset =
      address >= guest::GuestKernel::kDirectMapBase ? address - guest::GuestKernel::kDirectMapBase : address;
  kernel.kernelLoad(kernel.ramAddress(offset % kernel.memoryBytes()));
  ++stats_.kernel_accesses;
}

// Inline in replayTo()'s loop: a user access of the process and the GiB of a recent one is most
// of every trace, and it takes no call of its own here.
inline void TraceReplay::replayAccess(guest::GuestKernel &kernel, const TraceTape::Entry &access) {
  if (access.address >= kUpperHalf) {
    replayKernelAccess(kernel, access.address);
    return;
  }
  Process &process = last_process_ != nullptr && last_pid_ == access.pid ? *last_process_ : processFor(kernel, access.pid);
  // Most accesses are in a GiB used lately (guestAddress's cache, checked here first).
  const uint64_t gib = access.address >> 30;
  const Process::RecentGib &recent = process.recentFor(gib);
  const uint64_t va = (gib == recent.gib ? recent.base + (access.address & (kSlotBytes - 1))
                                         : guestAddress(kernel, process, access.address)) &
                      ~uint64_t{7};
  ++stats_.accesses;
  try {
    kernel.access(process.pid, va, toAccess(access.op));
  } catch (const guest::SegmentationFault &) {
    ++stats_.refused;
  }
}

// Most of a trace is runs of user accesses by one process in GiBs it used lately: those go to
// the guest kernel as a run (GuestKernel::accessAll), which the VMM answers a run of TLB hits at a
// time, where a call per access through guest, VMM and model cost more than the hits themselves.
bool TraceReplay::replayUserRun(guest::GuestKernel &kernel, const TraceTape::Chunk &chunk, size_t &at, uint64_t most) {
  if (last_process_ == nullptr)
    return false;
  Process &process = *last_process_;
  std::array<guest::UserAccess, kRunAccesses> run;
  const size_t most_here = static_cast<size_t>(std::min<uint64_t>(most, run.size()));
  size_t count = 0;
  for (; count < most_here; ++count) {
    const TraceTape::Entry &entry = chunk.entries[at + count];
    if (entry.kind != trace::EventKind::Access || entry.address >= kUpperHalf || entry.pid != last_pid_)
      break;
    const uint64_t gib = entry.address >> 30;
    const Process::RecentGib &recent = process.recentFor(gib);
    if (gib != recent.gib)
      break;
    run[count] = {(recent.base + (entry.address & (kSlotBytes - 1))) & ~uint64_t{7}, toAccess(entry.op)};
  }
  if (count == 0)
    return false;
  // As replayAccess() one by one: an access the guest refuses is counted and skipped; any other
  // exception leaves with the access that raised it counted and replayed last.
  size_t made = 0;
  for (;;) {
    try {
      kernel.accessAll(process.pid, run.data(), count, made);
      break;
    } catch (const guest::SegmentationFault &) {
      ++stats_.refused;
      ++made;
    } catch (...) {
      stats_.accesses += made + 1;
      at += made + 1;
      throw;
    }
  }
  stats_.accesses += count;
  at += count;
  return true;
}

void TraceReplay::replay(guest::GuestKernel &kernel, const trace::Event &event) {
  ReplayStats &stats = stats_;
  switch (event.kind) {
  case trace::EventKind::Access:
    replayAccess(kernel, {event.address, event.pid, event.kind, event.op});
    return;
  case trace::EventKind::ProcessCreate:
    processFor(kernel, event.pid);
    return;
  case trace::EventKind::ProcessExit: {
    const auto it = processes_.find(event.pid);
    ++stats.process_exits;
    if (it == processes_.end())
      return;
    kernel.exit(it->second->pid);
    if (last_process_ == it->second.get())
      last_process_ = nullptr;
    processes_.erase(it);
    return;
  }
  case trace::EventKind::ContextSwitch:
    ++stats.switches;
    kernel.switchTo(processFor(kernel, event.pid).pid);
    return;
  case trace::EventKind::Mmap: {
    ++stats.mmaps;
    Process &process = processFor(kernel, event.pid);
    reclaimRange(kernel, process, event.address, event.length);
    protectRange(kernel, process, event.address, event.length, event.prot);
    giveSegment(kernel, process, event);
    return;
  }
  case trace::EventKind::Munmap: {
    ++stats.munmaps;
    Process &process = processFor(kernel, event.pid);
    reclaimRange(kernel, process, event.address, event.length);
    // Back to the arena's default: a later touch there is demand-paged like any unrecorded address.
    protectRange(kernel, process, event.address, event.length, guest::prot::Read | guest::prot::Write | guest::prot::Exec);
    return;
  }
  case trace::EventKind::Mprotect: {
    ++stats.mprotects;
    Process &process = processFor(kernel, event.pid);
    protectRange(kernel, process, event.address, event.length, event.prot);
    return;
  }
  case trace::EventKind::Brk: {
    ++stats.brks;
    Process &process = processFor(kernel, event.pid);
    if (process.brk_end > event.address)
      reclaimRange(kernel, process, event.address, process.brk_end - event.address);
    process.brk_end = event.address;
    return;
  }
  case trace::EventKind::PageTableWrite: {
    ++stats.pte_writes;
    const Process &process = processFor(kernel, event.pid);
    // The trace's level may exceed the guest's (a 5-level recording on a 4-level guest): the root.
    kernel.rewriteTableEntry(process.pid, std::min<unsigned>(event.level, kernel.pagingLevels()), event.address);
    return;
  }
  case trace::EventKind::Invlpg: {
    ++stats.invlpgs;
    Process &process = processFor(kernel, event.pid);
    if (kernel.current() != process.pid)
      kernel.switchTo(process.pid);
    uint64_t va = 0;
    if (event.address >= kUpperHalf) {
      const uint64_t offset = event.address >= guest::GuestKernel::kDirectMapBase
                                  ? event.address - guest::GuestKernel::kDirectMapBase
                                  : event.address;
      va = guest::GuestKernel::kDirectMapBase + kernel.ramAddress(offset % kernel.memoryBytes());
    } else {
      // A GiB never touched has no slot (and nothing cached): the arena's first, at the offset.
      va = existingGuestAddress(process, event.address).value_or(process.arena + (event.address & (kSlotBytes - 1)));
    }
    kernel.invlpg(va & ~(k4K - 1));
    return;
  }
  case trace::EventKind::Marker:
    ++stats.not_replayed;
    return;
  }
}

void TraceReplay::giveSegment(guest::GuestKernel &kernel, Process &process, const trace::Event &mmap) {
  // Only a CPU with the guest segment (guest-direct, dual-direct) gets one, so the other
  // approaches' replays (their slot order included) are unchanged.
  if (!process.segment_possible || mmap.length < kSegmentMinBytes || (mmap.prot & guest::prot::Read) == 0 ||
      !kernel.hasGuestSegment() || kernel.segmentOf(process.pid).end != 0)
    return;
  // The mapping's part inside its first GiB: the next GiB of the trace may have another slot.
  const uint64_t gib_end = (mmap.address | (kSlotBytes - 1)) + 1;
  const uint64_t length = std::min(mmap.length, gib_end - mmap.address);
  if (kernel.giveSegment(process.pid, guestAddress(kernel, process, mmap.address), length) != 0)
    process.segment_possible = false;  // one segment a process: its primary region
}

uint64_t TraceReplay::replayTo(guest::GuestKernel &kernel, uint64_t target) {
  const uint64_t before = stats_.accesses;
  // The horizon only moves when the tape extends, never during this call: it is looked at once
  // per chunk, not per event.
  const uint64_t safe_end = tape_.safeEnd();
  while (stats_.accesses < target) {
    if (offset_ == limit_) {
      if (offset_ == chunk_->entries.size() && chunk_->next) {
        chunk_ = chunk_->next;  // frees the chunk left when this was its last reader
        offset_ = 0;
      }
      limit_ = safe_end <= chunk_->first ? 0 : std::min<uint64_t>(chunk_->entries.size(), safe_end - chunk_->first);
      if (offset_ >= limit_)
        break;  // the horizon: no user access known to follow yet, or nothing decoded yet
    }
    // The events of this chunk up to the horizon, with the position in a local; the members
    // catch up after the loop, or before an exception leaves (the event being replayed).
    const TraceTape::Chunk &chunk = *chunk_;
    size_t at = offset_;
    const auto catchUp = [&] {
      stats_.events += at - offset_;
      offset_ = at;
      event_index_ = chunk.first + at - 1;
    };
    try {
      while (at < limit_ && stats_.accesses < target) {
        if (replayUserRun(kernel, chunk, at, std::min<uint64_t>(limit_ - at, target - stats_.accesses)))
          continue;
        const TraceTape::Entry &entry = chunk.entries[at++];
        if (entry.kind == trace::EventKind::Access)
          replayAccess(kernel, entry);
        else
          replay(kernel, chunk.others[entry.address]);
      }
    } catch (...) {
      catchUp();
      throw;
    }
    catchUp();
  }
  return stats_.accesses - before;
}

bool TraceReplay::finished() const {
  return tape_.ended() && chunk_->first + offset_ >= tape_.safeEnd();
}

void TraceReplay::run(guest::GuestKernel &kernel, uint64_t accesses) {
  const uint64_t target = stats_.accesses + accesses;
  while (replayTo(kernel, target), stats_.accesses < target && !finished())
    tape_.extend();
}

}  // namespace vmmu::run
