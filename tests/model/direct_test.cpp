// DIRECT mode (§8): the bounds checker at its edges, and the escape filter.
#include <gtest/gtest.h>

#include "model_test_util.h"

namespace vmmu::test {
namespace {

constexpr uint64_t k2M = 0x20'0000, k1G = 0x4000'0000;
constexpr uint64_t kTop = uint64_t{1} << 46;  // 2^P with the default P = 46

// A DIRECT VM: guest tables at gPA 0x10000 (root), 0x11000, 0x12000, 0x13000 written at
// gPA + GBASE; an EPT (host frames 0x100'0000 up) for escaped pages.
struct DirectVm {
  SparseMemory mem;
  FrameAllocator guest_frames{0x1'0000, 0x2'0000};
  FrameAllocator host_frames{0x100'0000, 0x200'0000};
  GuestPageTables guest;
  EptTables ept{mem, host_frames};
  Mmu mmu{MmuConfig{}, mem};
  uint64_t gbase;

  DirectVm(uint64_t base, uint64_t size)
      : guest(mem, guest_frames, 4, 46, [base](uint64_t gpa) { return gpa + base; }), gbase(base) {
    setupContext(mmu, 0, {.mode = Mode::Direct, .cr3 = guest.root(), .eptp = ept.eptp(),
                          .gbase = base, .gsize = size});
  }
  void escape(unsigned k, uint64_t gpa) {
    mmu.writeReg(0, static_cast<CtxReg>(8 + k), gpa | 1);
  }
};

TEST(Bounds, FirstAndLastByteOfTheRegionPassAndTheNextFails) {
  constexpr uint64_t kBase = 0x8000'0000, kSize = 0x40'0000;
  DirectVm vm(kBase, kSize);
  vm.guest.map(kVaPage, 0, PageSize::Size4K);
  vm.guest.map(kVaPage + 0x1000, kSize - 0x1000, PageSize::Size4K);
  vm.guest.map(kVaPage + 0x2000, kSize, PageSize::Size4K);
  EXPECT_EQ(vm.mmu.translate(request(kVaPage)).resp.hpa, kBase);
  EXPECT_EQ(vm.mmu.translate(request(kVaPage + 0x1fff)).resp.hpa, kBase + kSize - 1);

  const TranslateResult r = vm.mmu.translate(request(kVaPage + 0x2000));
  EXPECT_EQ(r.resp.fault, Fault::Bounds);
  EXPECT_EQ(r.resp.fault_info, eptq::Final);
  EXPECT_EQ(r.resp.fault_addr, kSize);  // the gPA
  EXPECT_EQ(r.resp.fault_level, 0u);
  EXPECT_EQ(r.resp.fault_guest_level, 0u);
  EXPECT_TRUE(r.resp.vm_exit);
  EXPECT_EQ(r.resp.hpa, 0u);
  EXPECT_EQ(r.ops.size(), 1u);  // PDE cache hit: the leaf read only; the page is not emitted
  EXPECT_EQ(ctr(vm.mmu, Counter::FaultBounds), 1u);
  EXPECT_EQ(ctr(vm.mmu, Counter::VmExits), 1u);
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 2u);  // the failing page was not filled
}

TEST(Bounds, TablePointersAreCheckedBeforeTheTableIsRead) {
  constexpr uint64_t kBase = 0x8000'0000, kSize = 0x40'0000;
  {
    DirectVm vm(kBase, kSize);
    vm.mmu.writeReg(0, CtxReg::Cr3, kSize + 0x5000);
    const TranslateResult r = vm.mmu.translate(request(kVa));
    EXPECT_EQ(r.resp.fault, Fault::Bounds);
    EXPECT_EQ(r.resp.fault_info, 0u);  // not final
    EXPECT_EQ(r.resp.fault_guest_level, 4u);  // locating the level-4 table
    EXPECT_EQ(r.resp.fault_addr, kSize + 0x5000 + 0x10);  // its entry for kVa (index 2)
    EXPECT_TRUE(r.ops.empty());
  }
  {
    DirectVm vm(kBase, kSize);
    vm.guest.map(kVaPage, 0, PageSize::Size4K);
    vm.guest.writeEntry(kVa, 2, (kSize + 0x7000) | pte::P | pte::RW | pte::US);
    const TranslateResult r = vm.mmu.translate(request(kVa));
    EXPECT_EQ(r.resp.fault, Fault::Bounds);
    EXPECT_EQ(r.resp.fault_info, 0u);
    EXPECT_EQ(r.resp.fault_guest_level, 1u);  // locating the level-1 table
    EXPECT_EQ(r.resp.fault_addr, kSize + 0x7000 + 0x28);  // its entry for kVa (index 5)
    EXPECT_EQ(r.ops.size(), 3u);
    EXPECT_EQ(vm.mmu.pscValidEntries(2), 0u);  // the failing pointer is not cached
    EXPECT_EQ(vm.mmu.pscValidEntries(3), 1u);
  }
}

TEST(Bounds, LargePageStraddlingTheEndFailsWholeOrSplintered) {
  const uint64_t va_2m = kVaPage & ~(k2M - 1);
  {
    // GBASE 1G aligned: the 2M guest page would be one 2M entry reaching past GBASE + 3M.
    DirectVm vm(0x8000'0000, 3 * 0x10'0000);  // GSIZE 3M
    vm.guest.map(va_2m, 0, PageSize::Size2M);  // gPA [0, 2M): inside
    EXPECT_EQ(vm.mmu.translate(request(va_2m)).resp.size, PageSize::Size2M);
    DirectVm straddle(0x8000'0000, 3 * 0x10'0000);
    straddle.guest.map(va_2m, k2M, PageSize::Size2M);  // gPA [2M, 4M)
    const Response r = straddle.mmu.translate(request(va_2m)).resp;
    EXPECT_EQ(r.fault, Fault::Bounds);
    EXPECT_EQ(r.fault_addr, k2M);
  }
  {
    // GBASE only 4K aligned: 4K splinters, so the part inside passes.
    DirectVm vm(0x8000'1000, 3 * 0x10'0000);
    vm.guest.map(va_2m, k2M, PageSize::Size2M);
    const Response inside = vm.mmu.translate(request(va_2m + 0xf'f000)).resp;
    EXPECT_EQ(inside.fault, Fault::None);
    EXPECT_EQ(inside.size, PageSize::Size4K);
    EXPECT_EQ(inside.hpa, 0x8000'1000u + k2M + 0xf'f000);
    const Response outside = vm.mmu.translate(request(va_2m + 0x10'0000)).resp;
    EXPECT_EQ(outside.fault, Fault::Bounds);
    EXPECT_EQ(outside.fault_addr, 3 * 0x10'0000u);
  }
}

TEST(Bounds, RegionEndingExactlyAtTwoToThePPasses) {
  DirectVm vm(kTop - 4 * k2M, 4 * k2M);
  vm.guest.map(kVaPage, 4 * k2M - 0x1000, PageSize::Size4K);
  const Response r = vm.mmu.translate(request(kVa | 0xfff)).resp;
  EXPECT_EQ(r.fault, Fault::None);
  EXPECT_EQ(r.hpa, kTop - 1);
}

TEST(Bounds, SizeOfTwoToThePCoversTheWholeSpace) {
  DirectVm vm(0, kTop);
  EXPECT_EQ(vm.mmu.readReg(0, CtxReg::GSize), kTop);  // bit P is part of GSIZE
  vm.guest.map(kVaPage, kTop - k1G, PageSize::Size4K);
  const Response r = vm.mmu.translate(request(kVa)).resp;
  EXPECT_EQ(r.fault, Fault::None);
  EXPECT_EQ(r.hpa, kTop - k1G + 0x123);
}

TEST(Bounds, RegionWrappingPastTwoToThePFailsAtTheTop) {
  // GBASE + GSIZE > 2^P: addresses at or above 2^P fail even though they are below GBASE+GSIZE.
  DirectVm vm(kTop - k2M, 2 * k2M);
  vm.guest.map(kVaPage, k2M - 0x1000, PageSize::Size4K);
  vm.guest.map(kVaPage + 0x1000, k2M, PageSize::Size4K);
  EXPECT_EQ(vm.mmu.translate(request(kVaPage)).resp.hpa, kTop - 0x1000);
  const Response r = vm.mmu.translate(request(kVaPage + 0x1000)).resp;
  EXPECT_EQ(r.fault, Fault::Bounds);
  EXPECT_EQ(r.fault_addr, k2M);
}

TEST(Bounds, ZeroSizeRejectsEveryTable) {
  // A GSIZE of zero leaves no valid host page: even the root table fails.
  DirectVm vm(0x8000'0000, 0);
  const Response r = vm.mmu.translate(request(kVa)).resp;
  EXPECT_EQ(r.fault, Fault::Bounds);
  EXPECT_EQ(r.fault_info, 0u);
  EXPECT_EQ(r.fault_guest_level, 4u);
}

// --- escape filter ------------------------------------------------------------------------

constexpr uint64_t kBase = 0x8000'0000, kSize = 0x40'0000;

TEST(Escape, EscapedDataPageTakesTheNestedWalk) {
  DirectVm vm(kBase, kSize);
  vm.guest.map(kVaPage, 0x20'1000, PageSize::Size4K);
  vm.ept.map(0x20'1000, kBase + 0x30'0000, PageSize::Size4K);  // root 0x1000000, L3..L1 next
  vm.escape(0, 0x20'1000);
  const TranslateResult r = vm.mmu.translate(request(kVa));
  const std::vector<MemOp> expected = {
      guestRead(kBase + 0x1'0010, 4), guestRead(kBase + 0x1'1018, 3),
      guestRead(kBase + 0x1'2020, 2), guestRead(kBase + 0x1'3028, 1),
      nestedRead(0x100'0000, 4),      nestedRead(0x100'1000, 3),
      nestedRead(0x100'2008, 2),      nestedRead(0x100'3008, 1)};
  EXPECT_EQ(r.ops, expected);
  EXPECT_EQ(r.resp.hpa, kBase + 0x30'0123);
  EXPECT_EQ(r.resp.size, PageSize::Size4K);
  EXPECT_TRUE(r.trace.escaped);
  EXPECT_EQ(ctr(vm.mmu, Counter::Escapes), 1u);
  EXPECT_EQ(ctr(vm.mmu, Counter::NestedReads), 4u);
}

TEST(Escape, InvalidEntryEscapesNothing) {
  DirectVm vm(kBase, kSize);
  vm.guest.map(kVaPage, 0x20'1000, PageSize::Size4K);
  vm.mmu.writeReg(0, CtxReg::EscapeBase, 0x20'1000);  // valid bit clear
  EXPECT_EQ(vm.mmu.translate(request(kVa)).resp.hpa, kBase + 0x20'1123);
  EXPECT_EQ(ctr(vm.mmu, Counter::Escapes), 0u);
}

TEST(Escape, NeighboursInTheGuestLargePageAreSplintered) {
  const uint64_t va_2m = kVaPage & ~(k2M - 1);
  DirectVm vm(kBase, kSize);
  vm.guest.map(va_2m, k2M, PageSize::Size2M);
  EXPECT_EQ(vm.mmu.translate(request(va_2m + 0x5123)).resp.size, PageSize::Size2M);
  vm.escape(2, k2M + 0x1'0000);
  vm.ept.map(k2M + 0x1'0000, kBase + 0x1'0000, PageSize::Size4K);
  const Response neighbour = vm.mmu.translate(request(va_2m + 0x5123)).resp;
  EXPECT_EQ(neighbour.size, PageSize::Size4K);
  EXPECT_EQ(neighbour.hpa, kBase + k2M + 0x5123);
  const Response escaped = vm.mmu.translate(request(va_2m + 0x1'0010)).resp;
  EXPECT_EQ(escaped.hpa, kBase + 0x1'0010);
  EXPECT_EQ(escaped.size, PageSize::Size4K);
}

TEST(Escape, UnmappedEscapedPageIsAnEptViolationThatExits) {
  DirectVm vm(kBase, kSize);
  vm.guest.map(kVaPage, 0x20'1000, PageSize::Size4K);
  vm.escape(1, 0x20'1000);
  const Response r = vm.mmu.translate(request(kVa, Access::Write)).resp;
  EXPECT_EQ(r.fault, Fault::EptViolation);
  EXPECT_EQ(r.fault_info, eptq::Write | eptq::LinearValid | eptq::Final);
  EXPECT_EQ(r.fault_addr, 0x20'1123u);
  EXPECT_EQ(r.fault_level, 4u);  // the empty EPT root
  EXPECT_TRUE(r.vm_exit);
}

TEST(Escape, EscapedPageMappedOutsideTheRegionFailsTheBoundsCheck) {
  DirectVm vm(kBase, kSize);
  vm.guest.map(kVaPage, 0x20'1000, PageSize::Size4K);
  vm.ept.map(0x20'1000, kBase + kSize, PageSize::Size4K);  // just past the end
  vm.escape(0, 0x20'1000);
  const TranslateResult r = vm.mmu.translate(request(kVa));
  EXPECT_EQ(r.resp.fault, Fault::Bounds);
  EXPECT_EQ(r.resp.fault_info, eptq::Final);
  EXPECT_EQ(r.resp.fault_addr, 0x20'1123u);
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 0u);
}

TEST(Escape, EscapedGuestTableIsLocatedThroughTheEpt) {
  DirectVm vm(kBase, kSize);
  vm.guest.map(kVaPage, 0x20'1000, PageSize::Size4K);
  // Move the L1 table (gPA 0x13000) to hPA kBase + 0x35000 and escape its page.
  for (uint64_t off = 0; off < 0x1000; off += 8)
    vm.mem.write64(kBase + 0x3'5000 + off, vm.mem.peek64(kBase + 0x1'3000 + off));
  vm.mem.write64(kBase + 0x1'3028, 0);  // the old copy would fault if it were read
  vm.ept.map(0x1'3000, kBase + 0x3'5000, PageSize::Size4K);
  vm.escape(3, 0x1'3000);
  const TranslateResult r = vm.mmu.translate(request(kVa));
  EXPECT_EQ(r.resp.fault, Fault::None);
  EXPECT_EQ(r.resp.hpa, kBase + 0x20'1123);
  EXPECT_EQ(r.ops.size(), 3u + 4 + 1);
  EXPECT_EQ(r.ops[7], guestRead(kBase + 0x3'5028, 1));
  EXPECT_EQ(ctr(vm.mmu, Counter::Escapes), 1u);
}

}  // namespace
}  // namespace vmmu::test
