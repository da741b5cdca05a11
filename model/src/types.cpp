// Printable names of the vmmu enums (for messages, reports and test output).
#include "vmmu/types.h"

#include "vmmu/paging.h"

namespace vmmu {

std::string_view toString(Mode mode) {
  switch (mode) {
  case Mode::Native: return "NATIVE";
  case Mode::Nested: return "NESTED";
  case Mode::Shadow: return "SHADOW";
  case Mode::Direct: return "DIRECT";
  case Mode::GuestDirect: return "GUEST_DIRECT";
  case Mode::DualDirect: return "DUAL_DIRECT";
  case Mode::Agile: return "AGILE";
  }
  return "?";
}

std::string_view toString(Access access) {
  switch (access) {
  case Access::Read: return "READ";
  case Access::Write: return "WRITE";
  case Access::Exec: return "EXEC";
  }
  return "?";
}

std::string_view toString(PageSize size) {
  switch (size) {
  case PageSize::Size4K: return "4K";
  case PageSize::Size2M: return "2M";
  case PageSize::Size1G: return "1G";
  }
  return "?";
}

std::string_view toString(Fault fault) {
  switch (fault) {
  case Fault::None: return "NONE";
  case Fault::GuestPageFault: return "GUEST_PF";
  case Fault::GuestGeneralProtection: return "GUEST_GP";
  case Fault::EptViolation: return "EPT_VIOLATION";
  case Fault::EptMisconfig: return "EPT_MISCONFIG";
  case Fault::Bounds: return "BOUNDS";
  case Fault::NoContext: return "NO_CONTEXT";
  }
  return "?";
}

std::string_view toString(EptFormat format) {
  switch (format) {
  case EptFormat::Radix: return "4level";
  case EptFormat::Flat2: return "2level";
  case EptFormat::Flat1: return "1level";
  }
  return "?";
}

std::string_view toString(Counter counter) {
  // Indexed by the §14 counter number.
  static constexpr std::string_view kNames[kNumCounters] = {
      "LOOKUPS", "TLB_HITS", "TLB_MISSES", "WALKS", "GUEST_READS", "NESTED_READS",
      "GUEST_AD_UPDATES", "NESTED_AD_UPDATES", "PSC_HITS_L2", "PSC_HITS_L3", "PSC_HITS_L4",
      "PSC_HITS_L5", "NTLB_HITS", "NTLB_MISSES", "WALK_CYCLES", "FAULT_GUEST_PF",
      "FAULT_GUEST_GP", "FAULT_EPT_VIOLATION", "FAULT_EPT_MISCONFIG", "FAULT_BOUNDS",
      "FAULT_NO_CONTEXT", "VM_EXITS", "INV_ADDR", "INV_PCID", "INV_VPID", "INV_EPTP", "INV_ALL",
      "ESCAPES", "PERM_REFILLS", "STLB_HITS_4K", "STLB_HITS_2M", "STLB_MISSES_4K",
      "STLB_MISSES_2M", "STLB_MISSES_1G", "EPT_PSC_HITS_L2", "EPT_PSC_HITS_L3", "EPT_PSC_HITS_L4",
      "EPT_PSC_HITS_L5"};
  const unsigned index = static_cast<unsigned>(counter);
  return index < kNumCounters ? kNames[index] : "?";
}

std::string toString(const Request &request) {
  return "vpid=" + hex(request.vpid) + " pcid=" + hex(request.pcid) + " va=" + hex(request.va) + " " +
         std::string(toString(request.access)) + (request.user ? " user" : " supervisor");
}

std::string toString(const Response &response) {
  return "hpa=" + hex(response.hpa) + " size=" + std::string(toString(response.size)) +
         " fault=" + std::string(toString(response.fault)) + " info=" + hex(response.fault_info) +
         " addr=" + hex(response.fault_addr) + " level=" + std::to_string(response.fault_level) +
         " glevel=" + std::to_string(response.fault_guest_level) +
         " vm_exit=" + std::to_string(response.vm_exit) + " tlb_hit=" + std::to_string(response.tlb_hit);
}

std::string toString(const MemOp &op) {
  // Padded so that the operations of a walk line up in a column.
  std::string out = op.dim == Dim::Guest ? "GUEST  " : "NESTED ";
  out += op.kind == MemOpKind::Read ? "READ     " : "FETCH_OR ";
  out += 'L';
  out += std::to_string(op.level);
  out += " addr=";
  out += hex(op.addr);
  if (op.kind == MemOpKind::FetchOr) {
    out += " mask=";
    out += hex(op.mask);
  }
  return out;
}

}  // namespace vmmu
