// event.h - one event of a recorded or generated guest trace.
//
// A trace is the guest-side activity that drives the MMU: the memory accesses of guest processes
// and the operating-system events that change which address space is live or what it maps. The
// binary encoding of these events is specified in docs/trace-format.md; this header is the
// in-memory form every tool (reader, writer, text dump, mixer, generators) shares.
#ifndef VMMU_TRACE_EVENT_H
#define VMMU_TRACE_EVENT_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vmmu::trace {

// The kinds of event. The numeric values are the record kinds of the binary format: never
// renumber them (docs/trace-format.md, "Versioning").
enum class EventKind : uint8_t {
  Access = 1,          // a memory access by the process running on `cpu`
  ProcessCreate = 2,   // `pid` exists from now on; `parent` created it; `text` is its name
  ProcessExit = 3,     // `pid` is gone; its address space is freed
  ContextSwitch = 4,   // `cpu` now runs `pid`
  Mmap = 5,            // [address, address+length) of `pid` mapped with `prot`
  Munmap = 6,          // [address, address+length) of `pid` unmapped
  Mprotect = 7,        // [address, address+length) of `pid` now has `prot`
  Brk = 8,             // the heap of `pid` now ends at `address`
  PageTableWrite = 9,  // guest kernel stores `value` into the entry at guest-physical `address`
  Invlpg = 10,         // guest kernel invalidates the translation of `address` on `cpu`
  Marker = 11,         // a label (`text`) at this point of the trace, e.g. a workload phase
};
inline constexpr int kNumEventKinds = 11;

// What a memory access does. Fetch is an instruction fetch (x86 I/D = 1).
enum class AccessOp : uint8_t { Read = 0, Write = 1, Fetch = 2 };

// Region protection bits of mmap/mprotect (the PROT_* values of Linux).
namespace prot {
inline constexpr uint8_t Read = 1;
inline constexpr uint8_t Write = 2;
inline constexpr uint8_t Exec = 4;
inline constexpr uint8_t All = Read | Write | Exec;
}  // namespace prot

// One event. Which fields are meaningful depends on `kind` (see EventKind); the others are zero
// (or empty) so that events compare equal exactly when they encode to the same bytes.
struct Event {
  EventKind kind = EventKind::Marker;
  uint32_t cpu = 0;      // Access, ContextSwitch, PageTableWrite, Invlpg, Marker
  uint32_t pid = 0;      // every kind except Marker
  uint32_t parent = 0;   // ProcessCreate
  AccessOp op = AccessOp::Read;  // Access
  uint8_t prot = 0;      // Mmap, Mprotect (prot::*)
  uint8_t level = 0;     // PageTableWrite: paging level of the entry (1 = PTE .. 5)
  uint32_t size = 0;     // Access: bytes accessed (>= 1)
  uint64_t address = 0;  // Access, Invlpg: VA; Mmap/Munmap/Mprotect: start; Brk: new end;
                         // PageTableWrite: gPA of the entry
  uint64_t length = 0;   // Mmap, Munmap, Mprotect: bytes
  uint64_t value = 0;    // PageTableWrite: the entry stored
  std::string text;      // ProcessCreate: process name; Marker: label

  bool operator==(const Event &) const = default;

  // Convenience constructors, so that code building traces says what it means.
  static Event access(uint32_t cpu, uint32_t pid, AccessOp op, uint64_t va, uint32_t size);
  static Event processCreate(uint32_t pid, uint32_t parent, std::string name);
  static Event processExit(uint32_t pid);
  static Event contextSwitch(uint32_t cpu, uint32_t pid);
  static Event mmap(uint32_t pid, uint64_t start, uint64_t length, uint8_t prot);
  static Event munmap(uint32_t pid, uint64_t start, uint64_t length);
  static Event mprotect(uint32_t pid, uint64_t start, uint64_t length, uint8_t prot);
  static Event brk(uint32_t pid, uint64_t end);
  static Event pageTableWrite(uint32_t cpu, uint32_t pid, uint64_t entry_gpa, uint64_t value, uint8_t level);
  static Event invlpg(uint32_t cpu, uint32_t pid, uint64_t va);
  static Event marker(uint32_t cpu, std::string label);
};

// The name of a kind as used by `vmmu trace dump` ("access", "mmap", ...), and back.
std::string_view toString(EventKind kind);
std::optional<EventKind> eventKindFromString(std::string_view name);
std::string_view toString(AccessOp op);  // "R", "W", "X"

}  // namespace vmmu::trace

#endif  // VMMU_TRACE_EVENT_H
