// vmmu/types.h - the vocabulary of docs/architecture.md as C++ types.
//
// These enums carry the same numeric encodings as rtl/mmu_pkg.sv so that the testbench can
// compare the RTL's signals with the golden model's results without a translation table.
// Public model headers compile as C++17: the SystemC testbench (C++17) includes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vmmu {

// MODE register codes (§3); 7 is reserved. GuestDirect, DualDirect (§18) and Agile (§20) are
// model-only so far: rtl/mmu_pkg.sv's mode_e has the first four.
enum class Mode : uint8_t {
  Native = 0, Nested = 1, Shadow = 2, Direct = 3, GuestDirect = 4, DualDirect = 5, Agile = 6
};
enum class Access : uint8_t { Read = 0, Write = 1, Exec = 2 };
enum class PageSize : uint8_t { Size4K = 0, Size2M = 1, Size1G = 2 };
enum class Fault : uint8_t {
  None = 0,
  GuestPageFault = 1,
  GuestGeneralProtection = 2,
  EptViolation = 3,
  EptMisconfig = 4,
  Bounds = 5,
  NoContext = 6,
};
enum class MemOpKind : uint8_t { Read = 0, FetchOr = 1 };
enum class Dim : uint8_t { Guest = 0, Nested = 1 };
enum class CtrlOp : uint8_t { WriteReg = 0, InvAddr = 1, InvPcid = 2, InvVpid = 3, InvEptp = 4, InvAll = 5 };

// Context registers, §3. Escape entry k is register EscapeBase + k; guest escape entry k (§18.4)
// GEscapeBase + k. The guest segment registers (§18.1) need the 5-bit register number of §13.
enum class CtxReg : uint8_t {
  Vpid = 0, Mode = 1, Cr3 = 2, Eptp = 3, GBase = 4, GSize = 5, Flags = 6, EscapeBase = 8,
  GsegBase = 16, GsegLimit = 17, GsegOffset = 18, Gcr3 = 19, GEscapeBase = 24
};
// The register of escape entry k.
constexpr CtxReg escapeReg(unsigned k) { return static_cast<CtxReg>(static_cast<unsigned>(CtxReg::EscapeBase) + k); }
// The register of guest escape entry k (§18.4).
constexpr CtxReg guestEscapeReg(unsigned k) {
  return static_cast<CtxReg>(static_cast<unsigned>(CtxReg::GEscapeBase) + k);
}
// What GSEG_BASE's attribute bits grant (§18.1): writes, user accesses, instruction fetches.
namespace gseg {
constexpr uint64_t RW = 1ull << 1, US = 1ull << 2, X = 1ull << 3;
}
// AGILE (§20.1): GCR3 bit 0 puts the switch at the root (the walk is NESTED's from gCR3); bit 11 of
// a non-leaf shadow entry switches the rest of the walk to nested, its address field then holding
// the host address of the guest's next-level table.
namespace agile {
constexpr uint64_t RootNested = 1ull << 0;
constexpr uint64_t Switch = 1ull << 11;
}  // namespace agile

// Performance counters, §14, in readout order.
enum class Counter : uint8_t {
  Lookups = 0, TlbHits, TlbMisses, Walks, GuestReads, NestedReads, GuestAdUpdates, NestedAdUpdates,
  PscHitsL2, PscHitsL3, PscHitsL4, PscHitsL5, NtlbHits, NtlbMisses, WalkCycles,
  FaultGuestPf, FaultGuestGp, FaultEptViolation, FaultEptMisconfig, FaultBounds, FaultNoContext,
  VmExits, InvAddr, InvPcid, InvVpid, InvEptp, InvAll, Escapes, PermRefills,
  StlbHits4K, StlbHits2M, StlbMisses4K, StlbMisses2M, StlbMisses1G,
  EptPscHitsL2, EptPscHitsL3, EptPscHitsL4, EptPscHitsL5,
  Count  // number of counters; not a counter
};
constexpr unsigned kNumCounters = static_cast<unsigned>(Counter::Count);

constexpr unsigned kPageShift4K = 12;
constexpr uint64_t pageBytes(PageSize size) { return uint64_t{1} << (12 + 9 * static_cast<unsigned>(size)); }
constexpr unsigned pageShift(PageSize size) { return 12 + 9 * static_cast<unsigned>(size); }

// Bits of guest (x86-64) entries, §2.1.
namespace pte {
constexpr uint64_t P = 1ull << 0, RW = 1ull << 1, US = 1ull << 2, PWT = 1ull << 3, PCD = 1ull << 4,
                   A = 1ull << 5, D = 1ull << 6, PS = 1ull << 7, G = 1ull << 8, NX = 1ull << 63;
}
// Bits of EPT entries, §2.2.
namespace ept {
constexpr uint64_t R = 1ull << 0, W = 1ull << 1, X = 1ull << 2, LP = 1ull << 7, A = 1ull << 8, D = 1ull << 9;
constexpr uint64_t kMemTypeWB = 6ull << 3;
// In the EPTP register, §2.3: vmmu uses the A/D enable; the memory type (bits 2:0) and the
// page-walk length - 1 (bits 5:3) are what x86 checks at VM entry, stored and ignored by vmmu.
constexpr uint64_t kEptpAdEnable = 1ull << 6;
constexpr uint64_t kEptpMemTypeWB = 6;
constexpr unsigned kEptpWalkLengthShift = 3;
// EPTP bits 9:8, FMT (§21.1): vmmu's field selecting the nested table's format (EptFormat).
constexpr unsigned kEptpFormatShift = 8;
constexpr uint64_t kEptpFormatMask = uint64_t{3} << kEptpFormatShift;
}  // namespace ept

// The nested table's format, EPTP FMT (§21.1): the x86 radix format with NestedLevels levels of
// 9-bit index, or a flattened format of 18-bit levels (2 MiB tables). Code 3 is reserved and
// walks as Radix. Model-only so far: the RTL walks every EPTP as Radix (§21.8).
enum class EptFormat : uint8_t { Radix = 0, Flat2 = 1, Flat1 = 2 };
// The format an EPTP value selects (the reserved code reads as Radix).
constexpr EptFormat eptFormatOf(uint64_t eptp) {
  const unsigned code = static_cast<unsigned>((eptp & ept::kEptpFormatMask) >> ept::kEptpFormatShift);
  return code == 3 ? EptFormat::Radix : static_cast<EptFormat>(code);
}
// The EPTP FMT bits of `format`.
constexpr uint64_t eptpFormatBits(EptFormat format) {
  return uint64_t{static_cast<uint8_t>(format)} << ept::kEptpFormatShift;
}
// Guest page-fault error code bits, §6.
namespace pf {
constexpr uint32_t P = 1u << 0, W = 1u << 1, U = 1u << 2, RSVD = 1u << 3, ID = 1u << 4;
}
// EPT-violation exit-qualification bits, §6 (the SDM's layout; bits not listed are 0).
namespace eptq {
constexpr uint32_t Read = 1u << 0, Write = 1u << 1, Fetch = 1u << 2, Readable = 1u << 3, Writable = 1u << 4,
                   Executable = 1u << 5, LinearValid = 1u << 7, Final = 1u << 8;
}  // namespace eptq

struct Request {
  uint16_t vpid = 0;
  uint16_t pcid = 0;  // 12 bits used
  uint64_t va = 0;
  Access access = Access::Read;
  bool user = false;
};

struct Response {
  uint64_t hpa = 0;
  PageSize size = PageSize::Size4K;
  Fault fault = Fault::None;
  uint32_t fault_info = 0;
  uint64_t fault_addr = 0;
  uint8_t fault_level = 0;
  // vmmu's addition (§6): the guest level of the table whose entry an EPT or BOUNDS fault
  // accessed, 0 for the final gPA and for the other fault classes.
  uint8_t fault_guest_level = 0;
  bool vm_exit = false;
  bool tlb_hit = false;
  bool operator==(const Response &o) const {
    return hpa == o.hpa && size == o.size && fault == o.fault && fault_info == o.fault_info &&
           fault_addr == o.fault_addr && fault_level == o.fault_level &&
           fault_guest_level == o.fault_guest_level && vm_exit == o.vm_exit && tlb_hit == o.tlb_hit;
  }
  bool operator!=(const Response &o) const { return !(*this == o); }
};

// One operation the walker issues on the memory port (§13), in issue order.
struct MemOp {
  uint64_t addr = 0;
  MemOpKind kind = MemOpKind::Read;
  uint64_t mask = 0;  // FetchOr: bits ORed in; Read: 0
  Dim dim = Dim::Guest;
  uint8_t level = 0;
  bool operator==(const MemOp &o) const {
    return addr == o.addr && kind == o.kind && mask == o.mask && dim == o.dim && level == o.level;
  }
  bool operator!=(const MemOp &o) const { return !(*this == o); }
};

std::string_view toString(Mode);
std::string_view toString(Access);
std::string_view toString(PageSize);
std::string_view toString(Fault);
// "4level" (Radix, whatever NestedLevels is: vmmu run's name), "2level", "1level".
std::string_view toString(EptFormat);
std::string_view toString(Counter);

// One-line descriptions, the only ones every report of vmmu uses (the testbench, the
// cosimulation, the RTL backend), with addresses written as paging.h's hex() writes them:
//   "vpid=0x1 pcid=0x0 va=0x7f0000001000 WRITE user"
//   "hpa=0x5001000 size=4K fault=NONE info=0x0 addr=0x0 level=0 glevel=0 vm_exit=0 tlb_hit=1"
//   "GUEST  FETCH_OR L4 addr=0x1000 mask=0x20" (a READ has no mask)
std::string toString(const Request &request);
std::string toString(const Response &response);
std::string toString(const MemOp &op);

}  // namespace vmmu
