// translate.cpp: one translation through the installed golden model, in NESTED and DIRECT mode,
// checked against hand-computed results. Exits 0 when both agree, 1 otherwise.
#include <cinttypes>
#include <cstdio>

#include "vmmu/mmu.h"
#include "vmmu/page_tables.h"

namespace {

constexpr uint64_t kVa = 0x0000'7f00'1234'5678ull;
constexpr uint64_t kGuestFrame = 0x0020'0000ull;   // gPA of the 4K data page
constexpr uint64_t kHostBase = 0x10'0000'0000ull;  // the VM's contiguous host memory (DIRECT, EPT)
constexpr uint16_t kVpid = 7;

bool check(const char *what, uint64_t got, uint64_t want) {
  std::printf("%-28s %#" PRIx64 " (expected %#" PRIx64 ")%s\n", what, got, want, got == want ? "" : "  MISMATCH");
  return got == want;
}

bool run(vmmu::Mode mode) {
  vmmu::SparseMemory memory;
  vmmu::Mmu mmu(vmmu::MmuConfig{}, memory);
  vmmu::FrameAllocator guest_frames(0x10'0000, 0x20'0000);  // guest tables at gPA 1-2 MiB
  vmmu::FrameAllocator ept_frames(0x20'0000'0000ull, 0x20'1000'0000ull);
  vmmu::EptTables ept(memory, ept_frames);
  ept.map(0, kHostBase, vmmu::PageSize::Size1G);  // gPA [0, 1 GiB) -> host, one 1G EPT page
  const vmmu::AddressMap to_host = [](uint64_t gpa) { return kHostBase + gpa; };
  vmmu::GuestPageTables tables(memory, guest_frames, 4, 46, to_host);
  tables.map(kVa & ~uint64_t{0xfff}, kGuestFrame, vmmu::PageSize::Size4K, vmmu::pte::RW | vmmu::pte::US);

  mmu.writeReg(0, vmmu::CtxReg::Vpid, (1u << 16) | kVpid);
  mmu.writeReg(0, vmmu::CtxReg::Mode, static_cast<uint64_t>(mode));
  mmu.writeReg(0, vmmu::CtxReg::Cr3, tables.root());
  mmu.writeReg(0, vmmu::CtxReg::Eptp, ept.eptp());
  mmu.writeReg(0, vmmu::CtxReg::GBase, kHostBase);
  mmu.writeReg(0, vmmu::CtxReg::GSize, 1ull << 30);

  const vmmu::TranslateResult r = mmu.translate(vmmu::Request{kVpid, 0, kVa, vmmu::Access::Read, true});
  std::printf("%s:\n", std::string(vmmu::toString(mode)).c_str());
  // Cold walk, guest and EPT A/D off: DIRECT reads the guest's 4 entries (gPA + GBASE, no EPT).
  // NESTED first translates CR3 through the EPT: PML4E, then the PDPTE is a 1G leaf (2 reads),
  // which fills the nested TLB; the 3 table pointers and the final gPA all lie in that 1G page and
  // hit it. So NESTED reads 2 + 4 = 6 entries (spec §5).
  const uint64_t refs = r.ops.size();
  bool ok = check("  fault", static_cast<uint64_t>(r.resp.fault), 0);
  ok &= check("  hPA", r.resp.hpa, kHostBase + kGuestFrame + (kVa & 0xfff));
  ok &= check("  memory references", refs, mode == vmmu::Mode::Nested ? 6 : 4);
  return ok;
}

}  // namespace

int main() {
  const bool ok = run(vmmu::Mode::Nested) & run(vmmu::Mode::Direct);
  std::printf("%s\n", ok ? "translate: ok" : "translate: FAILED");
  return ok ? 0 : 1;
}
