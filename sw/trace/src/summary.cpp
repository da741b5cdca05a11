// summary.cpp - `vmmu trace info`.
#include "vmmu/trace/summary.h"

#include <cinttypes>
#include <unordered_map>
#include <unordered_set>

namespace vmmu::trace {

TraceSummary summarize(TraceReader &reader) {
  TraceSummary s;
  std::unordered_set<uint32_t> pids, cpus;
  std::unordered_map<uint32_t, std::unordered_set<uint64_t>> pages;  // pid -> virtual page numbers
  uint64_t accesses = 0;
  while (const auto e = reader.next()) {
    ++s.events;
    ++s.by_kind[static_cast<size_t>(e->kind)];
    if (e->kind != EventKind::Marker)
      pids.insert(e->pid);
    switch (e->kind) {
    case EventKind::Access:
      ++accesses;
      ++s.accesses_by_op[static_cast<size_t>(e->op)];
      cpus.insert(e->cpu);
    {
      // An access that crosses a page boundary touches both pages (the last byte saturates at the
      // top of the address space rather than wrapping).
      const uint64_t last = e->address > UINT64_MAX - (e->size - 1) ? UINT64_MAX : e->address + (e->size - 1);
      auto &touched = pages[e->pid];
      for (uint64_t page = e->address >> 12; page <= last >> 12; ++page)
        touched.insert(page);
      break;
    }
    case EventKind::ContextSwitch:
      cpus.insert(e->cpu);
      break;
    case EventKind::ProcessCreate:
      ++s.processes_created;
      break;
    case EventKind::ProcessExit:
      ++s.processes_exited;
      break;
    case EventKind::Marker:
      if (!s.start_up_accesses && e->text.rfind(kStartUpMarker, 0) == 0)
        s.start_up_accesses = accesses;
      break;
    default:
      break;
    }
  }
  s.processes_seen = pids.size();
  s.cpus_seen = cpus.size();
  for (const auto &[pid, touched] : pages)
    s.footprint_pages += touched.size();
  return s;
}

void printSummary(const TraceReader &reader, const TraceSummary &s, std::FILE *out) {
  std::fprintf(out, "format      %u.%u\n", reader.versionMajor(), reader.versionMinor());
  for (const auto &[key, value] : reader.header().fields())
    std::fprintf(out, "%-11s %s\n", key.c_str(), value.c_str());
  std::fprintf(out, "events      %" PRIu64 "\n", s.events);
  for (int k = 1; k <= kNumEventKinds; ++k)
    std::fprintf(out, "  %-14s %" PRIu64 "\n", std::string(toString(static_cast<EventKind>(k))).c_str(),
                 s.by_kind[static_cast<size_t>(k)]);
  std::fprintf(out, "accesses    read %" PRIu64 ", write %" PRIu64 ", fetch %" PRIu64 "\n", s.accesses_by_op[0],
               s.accesses_by_op[1], s.accesses_by_op[2]);
  std::fprintf(out, "processes   %" PRIu64 " seen, %" PRIu64 " created, %" PRIu64 " exited\n", s.processes_seen,
               s.processes_created, s.processes_exited);
  std::fprintf(out, "cpus        %" PRIu64 "\n", s.cpus_seen);
  const uint64_t accesses = s.count(EventKind::Access), switches = s.count(EventKind::ContextSwitch);
  if (switches > 0)
    std::fprintf(out, "switching   one context switch per %.1f accesses\n", double(accesses) / double(switches));
  std::fprintf(out, "footprint   %" PRIu64 " pages of 4 KiB (%.1f MiB)\n", s.footprint_pages,
               double(s.footprint_pages) / 256.0);
  if (s.start_up_accesses)
    std::fprintf(out, "start-up    %" PRIu64 " accesses first, one per page the skipped start-up left resident "
                 "(vmmu run --warmup %" PRIu64 " replays them uncounted)\n", *s.start_up_accesses, *s.start_up_accesses);
}

}  // namespace vmmu::trace
