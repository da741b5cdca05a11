// event.cpp - constructors and names of trace events.
#include "vmmu/trace/event.h"

#include <array>
#include <utility>

namespace vmmu::trace {

Event Event::access(uint32_t cpu, uint32_t pid, AccessOp op, uint64_t va, uint32_t size) {
  Event e;
  e.kind = EventKind::Access;
  e.cpu = cpu;
  e.pid = pid;
  e.op = op;
  e.address = va;
  e.size = size;
  return e;
}

Event Event::processCreate(uint32_t pid, uint32_t parent, std::string name) {
  Event e;
  e.kind = EventKind::ProcessCreate;
  e.pid = pid;
  e.parent = parent;
  e.text = std::move(name);
  return e;
}

Event Event::processExit(uint32_t pid) {
  Event e;
  e.kind = EventKind::ProcessExit;
  e.pid = pid;
  return e;
}

Event Event::contextSwitch(uint32_t cpu, uint32_t pid) {
  Event e;
  e.kind = EventKind::ContextSwitch;
  e.cpu = cpu;
  e.pid = pid;
  return e;
}

static Event region(EventKind kind, uint32_t pid, uint64_t start, uint64_t length, uint8_t protection) {
  Event e;
  e.kind = kind;
  e.pid = pid;
  e.address = start;
  e.length = length;
  e.prot = protection;
  return e;
}

Event Event::mmap(uint32_t pid, uint64_t start, uint64_t length, uint8_t protection) {
  return region(EventKind::Mmap, pid, start, length, protection);
}

Event Event::munmap(uint32_t pid, uint64_t start, uint64_t length) {
  return region(EventKind::Munmap, pid, start, length, 0);
}

Event Event::mprotect(uint32_t pid, uint64_t start, uint64_t length, uint8_t protection) {
  return region(EventKind::Mprotect, pid, start, length, protection);
}

Event Event::brk(uint32_t pid, uint64_t end) {
  Event e;
  e.kind = EventKind::Brk;
  e.pid = pid;
  e.address = end;
  return e;
}

Event Event::pageTableWrite(uint32_t cpu, uint32_t pid, uint64_t entry_gpa, uint64_t value, uint8_t level) {
  Event e;
  e.kind = EventKind::PageTableWrite;
  e.cpu = cpu;
  e.pid = pid;
  e.address = entry_gpa;
  e.value = value;
  e.level = level;
  return e;
}

Event Event::invlpg(uint32_t cpu, uint32_t pid, uint64_t va) {
  Event e;
  e.kind = EventKind::Invlpg;
  e.cpu = cpu;
  e.pid = pid;
  e.address = va;
  return e;
}

Event Event::marker(uint32_t cpu, std::string label) {
  Event e;
  e.kind = EventKind::Marker;
  e.cpu = cpu;
  e.text = std::move(label);
  return e;
}

namespace {
constexpr std::array<std::pair<EventKind, std::string_view>, kNumEventKinds> kKindNames{{
    {EventKind::Access, "access"},
    {EventKind::ProcessCreate, "process-create"},
    {EventKind::ProcessExit, "process-exit"},
    {EventKind::ContextSwitch, "switch"},
    {EventKind::Mmap, "mmap"},
    {EventKind::Munmap, "munmap"},
    {EventKind::Mprotect, "mprotect"},
    {EventKind::Brk, "brk"},
    {EventKind::PageTableWrite, "pte-write"},
    {EventKind::Invlpg, "invlpg"},
    {EventKind::Marker, "marker"},
}};
}  // namespace

std::string_view toString(EventKind kind) {
  for (const auto &[k, name] : kKindNames)
    if (k == kind)
      return name;
  return "unknown";
}

std::optional<EventKind> eventKindFromString(std::string_view name) {
  for (const auto &[k, n] : kKindNames)
    if (n == name)
      return k;
  return std::nullopt;
}

std::string_view toString(AccessOp op) {
  switch (op) {
  case AccessOp::Read:
    return "R";
  case AccessOp::Write:
    return "W";
  case AccessOp::Fetch:
    return "X";
  }
  return "?";
}

}  // namespace vmmu::trace
