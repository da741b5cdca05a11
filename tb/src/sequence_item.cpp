// sequence_item.cpp - one-line descriptions of transactions, for reports.
#include "sequence_item.h"

#include "report.h"

namespace vmmu::tb {

std::string describe(const Request &r) {
  return format("vpid=0x%x pcid=0x%x va=0x%016llx %s%s", r.vpid, r.pcid, static_cast<unsigned long long>(r.va),
                std::string(toString(r.access)).c_str(), r.user ? " user" : " supervisor");
}

std::string describe(const Response &r) {
  return format("hpa=0x%llx size=%s fault=%s info=0x%x addr=0x%llx level=%u vm_exit=%d tlb_hit=%d",
                static_cast<unsigned long long>(r.hpa), std::string(toString(r.size)).c_str(),
                std::string(toString(r.fault)).c_str(), r.fault_info, static_cast<unsigned long long>(r.fault_addr),
                r.fault_level, r.vm_exit, r.tlb_hit);
}

std::string describe(const MemOp &op) {
  return format(
      "%s %s L%u addr=0x%llx%s", op.dim == Dim::Guest ? "GUEST " : "NESTED",
      op.kind == MemOpKind::Read ? "READ    " : "FETCH_OR", op.level, static_cast<unsigned long long>(op.addr),
      op.kind == MemOpKind::FetchOr ? format(" mask=0x%llx", static_cast<unsigned long long>(op.mask)).c_str() : "");
}

}  // namespace vmmu::tb
