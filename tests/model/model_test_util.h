// model_test_util.h - small helpers shared by the golden-model tests: MemOp and Response
// builders and printers, and context setup. Expected values stay in the tests themselves.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <vector>

#include <optional>

#include "vmmu/mmu.h"
#include "vmmu/page_tables.h"

namespace vmmu {

// gtest prints these on failure (found by argument-dependent lookup).
inline void PrintTo(const MemOp &op, std::ostream *os) {
  *os << (op.kind == MemOpKind::Read ? "READ" : "FETCH_OR") << "(0x" << std::hex << op.addr;
  if (op.kind == MemOpKind::FetchOr)
    *os << ", mask 0x" << op.mask;
  *os << std::dec << ", " << (op.dim == Dim::Guest ? "GUEST" : "NESTED") << ", L"
      << unsigned{op.level} << ")";
}

inline void PrintTo(const Response &r, std::ostream *os) {
  *os << "{hpa 0x" << std::hex << r.hpa << std::dec << ", " << toString(r.size) << ", "
      << toString(r.fault) << ", info 0x" << std::hex << r.fault_info << ", addr 0x"
      << r.fault_addr << std::dec << ", level " << unsigned{r.fault_level}
      << ", exit " << r.vm_exit << ", hit " << r.tlb_hit << "}";
}

namespace test {

constexpr uint16_t kVpid = 7;

inline MemOp guestRead(uint64_t addr, unsigned level) {
  return MemOp{addr, MemOpKind::Read, 0, Dim::Guest, static_cast<uint8_t>(level)};
}
inline MemOp nestedRead(uint64_t addr, unsigned level) {
  return MemOp{addr, MemOpKind::Read, 0, Dim::Nested, static_cast<uint8_t>(level)};
}
inline MemOp guestOr(uint64_t addr, uint64_t mask, unsigned level) {
  return MemOp{addr, MemOpKind::FetchOr, mask, Dim::Guest, static_cast<uint8_t>(level)};
}
inline MemOp nestedOr(uint64_t addr, uint64_t mask, unsigned level) {
  return MemOp{addr, MemOpKind::FetchOr, mask, Dim::Nested, static_cast<uint8_t>(level)};
}

// The four EPT reads of one row of a 4-level nested walk, given each level's entry address.
inline std::vector<MemOp> eptRow(uint64_t l4, uint64_t l3, uint64_t l2, uint64_t l1) {
  return {nestedRead(l4, 4), nestedRead(l3, 3), nestedRead(l2, 2), nestedRead(l1, 1)};
}

inline std::vector<MemOp> concat(std::initializer_list<std::vector<MemOp>> parts) {
  std::vector<MemOp> all;
  for (const auto &part : parts)
    all.insert(all.end(), part.begin(), part.end());
  return all;
}

inline Request request(uint64_t va, Access access = Access::Read, bool user = false,
                       uint16_t vpid = kVpid, uint16_t pcid = 0) {
  Request r;
  r.vpid = vpid;
  r.pcid = pcid;
  r.va = va;
  r.access = access;
  r.user = user;
  return r;
}

// Registers of one context slot; fields left at zero are not written.
struct ContextSetup {
  uint16_t vpid = kVpid;
  Mode mode = Mode::Native;
  uint64_t cr3 = 0;
  uint64_t eptp = 0;
  uint64_t gbase = 0;
  uint64_t gsize = 0;
  bool guest_ad = false;
};

inline void setupContext(Mmu &mmu, unsigned slot, const ContextSetup &s) {
  mmu.writeReg(slot, CtxReg::Vpid, (uint64_t{1} << 16) | s.vpid);
  mmu.writeReg(slot, CtxReg::Mode, static_cast<uint64_t>(s.mode));
  mmu.writeReg(slot, CtxReg::Cr3, s.cr3);
  mmu.writeReg(slot, CtxReg::Eptp, s.eptp);
  mmu.writeReg(slot, CtxReg::GBase, s.gbase);
  mmu.writeReg(slot, CtxReg::GSize, s.gsize);
  mmu.writeReg(slot, CtxReg::Flags, s.guest_ad ? 1 : 0);
}

inline uint64_t ctr(const Mmu &mmu, Counter c) { return mmu.counter(c); }

// `config` without EPT paging-structure caches (every level Ways = 0, §10.3): every nested walk
// then reads all its EPT levels, the row-by-row walks of §5 (24 references cold) that the tests
// of the nested walk itself pin.
inline MmuConfig withoutEptPsc(MmuConfig config = MmuConfig{}) {
  for (ArrayGeometry &level : config.ept_psc)
    level.ways = 0;
  return config;
}

// VA 0x0000'0100'C080'5123: indices L4=2, L3=3, L2=4, L1=5, offset 0x123.
constexpr uint64_t kVa = 0x0000'0100'C080'5123ull;
constexpr uint64_t kVaPage = kVa & ~uint64_t{0xfff};

// A NESTED VM: EPT tables from host frame 0x100'0000 (root 0x1000000, L3 0x1001000, L2
// 0x1002000, L1 for gPA [0, 2M) 0x1003000, L1 for [2M, 4M) 0x1004000), mapping every gPA page
// used to hPA gPA + 0x400'0000 in 4K pages. Guest tables at gPA 0x10000 (root), 0x11000 (L3),
// 0x12000 (L2), 0x13000 (L1). Without EPT PSCs unless a configuration is given (the EPT PSC's
// own tests give §1's defaults).
struct NestedVm {
  SparseMemory mem;
  FrameAllocator host_frames{0x100'0000, 0x200'0000};
  FrameAllocator guest_frames{0x1'0000, 0x2'0000};
  EptTables ept{mem, host_frames};
  std::optional<GuestPageTables> guest;
  Mmu mmu;

  explicit NestedVm(bool ept_ad = false, bool guest_ad = false, const MmuConfig &config = withoutEptPsc())
      : mmu(config, mem) {
    for (uint64_t gpa = 0x1'0000; gpa < 0x2'0000; gpa += 0x1000)  // guest table frames
      ept.map(gpa, 0x400'0000 + gpa, PageSize::Size4K);
    for (uint64_t gpa = 0x20'0000; gpa < 0x20'4000; gpa += 0x1000)  // data pages
      ept.map(gpa, 0x400'0000 + gpa, PageSize::Size4K);
    guest.emplace(mem, guest_frames, 4, 46, ept.hostMap());
    setupContext(mmu, 0, {.mode = Mode::Nested, .cr3 = guest->root(), .eptp = ept.eptp(ept_ad),
                          .guest_ad = guest_ad});
  }
};

// EPT reads of the 4K page of gPA `gpa` below 2M (its L1 entry is in table 0x1003000).
inline std::vector<MemOp> lowRow(uint64_t gpa) {
  return eptRow(0x100'0000, 0x100'1000, 0x100'2000, 0x100'3000 + 8 * ((gpa >> 12) & 511));
}
// The same for a gPA in [2M, 4M) (L2 index 1, L1 table 0x1004000).
inline std::vector<MemOp> dataRow(uint64_t gpa) {
  return eptRow(0x100'0000, 0x100'1000, 0x100'2008, 0x100'4000 + 8 * ((gpa >> 12) & 511));
}

}  // namespace test
}  // namespace vmmu
