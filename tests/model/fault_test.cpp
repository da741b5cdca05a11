// Every fault class of §6 with its payload and exit bit, the §7 permission matrix, the §2
// reserved-bit and EPT-misconfiguration rules, and the "a fault never fills" rule of §5.
#include <gtest/gtest.h>

#include "model_test_util.h"

namespace vmmu::test {
namespace {

// A NATIVE (or SHADOW) address space with kVaPage mapped 4K to 0xabc000; tables at
// 0x100000 (L4), 0x101000 (L3), 0x102000 (L2), 0x103000 (L1).
struct NativeSpace {
  SparseMemory mem;
  FrameAllocator frames{0x10'0000, 0x20'0000};
  GuestPageTables tables{mem, frames};
  Mmu mmu{MmuConfig{}, mem};

  explicit NativeSpace(Mode mode = Mode::Native, uint64_t leaf_flags = pte::RW | pte::US) {
    tables.map(kVaPage, 0xabc000, PageSize::Size4K, leaf_flags);
    setupContext(mmu, 0, {.mode = mode, .cr3 = tables.root()});
  }
};

constexpr uint64_t kEntryAddr[5] = {0, 0x103028, 0x102020, 0x101018, 0x100010};  // by level

// --- GUEST_PF -----------------------------------------------------------------------------

TEST(GuestPageFault, NotPresentAtEachLevel) {
  for (unsigned level = 4; level >= 1; --level) {
    NativeSpace s;
    s.tables.writeEntry(kVa, level, 0);
    const TranslateResult r = s.mmu.translate(request(kVa, Access::Write, /*user=*/true));
    SCOPED_TRACE(level);
    EXPECT_EQ(r.resp.fault, Fault::GuestPageFault);
    EXPECT_EQ(r.resp.fault_info, pf::W | pf::U);  // P = 0
    EXPECT_EQ(r.resp.fault_addr, kVa);
    EXPECT_EQ(r.resp.fault_level, level);
    EXPECT_FALSE(r.resp.vm_exit);
    EXPECT_EQ(r.resp.hpa, 0u);
    // The walk stops at the faulting read.
    ASSERT_EQ(r.ops.size(), 5 - level);
    EXPECT_EQ(r.ops.back(), guestRead(kEntryAddr[level], level));
    EXPECT_EQ(ctr(s.mmu, Counter::FaultGuestPf), 1u);
    EXPECT_EQ(ctr(s.mmu, Counter::VmExits), 0u);
    EXPECT_EQ(ctr(s.mmu, Counter::Walks), 1u);
    EXPECT_EQ(s.mmu.tlbValidEntries(), 0u);
  }
}

TEST(GuestPageFault, ErrorCodeNamesTheAccess) {
  struct Case {
    Access access;
    bool user;
    uint32_t code;
  };
  const Case cases[] = {{Access::Read, false, 0},
                        {Access::Read, true, pf::U},
                        {Access::Write, false, pf::W},
                        {Access::Exec, false, pf::ID},
                        {Access::Exec, true, pf::ID | pf::U}};
  for (const Case &c : cases) {
    NativeSpace s;
    s.tables.writeEntry(kVa, 1, 0);
    EXPECT_EQ(s.mmu.translate(request(kVa, c.access, c.user)).resp.fault_info, c.code);
  }
}

TEST(GuestPageFault, ShadowModeFaultsExitToTheVmm) {
  NativeSpace s(Mode::Shadow);
  s.tables.writeEntry(kVa, 2, 0);
  const TranslateResult r = s.mmu.translate(request(kVa));
  EXPECT_EQ(r.resp.fault, Fault::GuestPageFault);
  EXPECT_TRUE(r.resp.vm_exit);
  EXPECT_EQ(ctr(s.mmu, Counter::VmExits), 1u);
}

TEST(GuestPageFault, NestedModeFaultsGoToTheGuest) {
  NestedVm vm;
  const TranslateResult r = vm.mmu.translate(request(kVa));  // kVa not mapped
  EXPECT_EQ(r.resp.fault, Fault::GuestPageFault);
  EXPECT_EQ(r.resp.fault_level, 4u);  // the empty root
  EXPECT_FALSE(r.resp.vm_exit);
}

TEST(GuestPageFault, ReservedAddressBitsAtEachLevel) {
  for (unsigned level = 4; level >= 1; --level) {
    NativeSpace s;
    s.tables.writeEntry(kVa, level, s.tables.readEntry(kVa, level) | (uint64_t{1} << 50));
    const TranslateResult r = s.mmu.translate(request(kVa, Access::Exec));
    SCOPED_TRACE(level);
    EXPECT_EQ(r.resp.fault, Fault::GuestPageFault);
    EXPECT_EQ(r.resp.fault_info, pf::P | pf::RSVD | pf::ID);
    EXPECT_EQ(r.resp.fault_level, level);
  }
}

TEST(GuestPageFault, BitsAtAndAbovePaBitsOnlyUpTo51AreReserved) {
  NativeSpace s;
  // Bit 46 (= P) is reserved; bits 62:52 are ignored.
  s.tables.writeEntry(kVa, 1, s.tables.readEntry(kVa, 1) | (uint64_t{0x7ff} << 52));
  EXPECT_EQ(s.mmu.translate(request(kVa)).resp.fault, Fault::None);
  NativeSpace t;
  t.tables.writeEntry(kVa, 1, t.tables.readEntry(kVa, 1) | (uint64_t{1} << 46));
  EXPECT_EQ(t.mmu.translate(request(kVa)).resp.fault_info, pf::P | pf::RSVD);
}

TEST(GuestPageFault, NotPresentWinsOverReservedBits) {
  NativeSpace s;
  s.tables.writeEntry(kVa, 1, (s.tables.readEntry(kVa, 1) | (uint64_t{1} << 50)) & ~pte::P);
  EXPECT_EQ(s.mmu.translate(request(kVa)).resp.fault_info, 0u);
}

TEST(GuestPageFault, PageSizeBitAtLevelFourIsReserved) {
  NativeSpace s;
  s.tables.writeEntry(kVa, 4, s.tables.readEntry(kVa, 4) | pte::PS);
  const Response r = s.mmu.translate(request(kVa)).resp;
  EXPECT_EQ(r.fault_info, pf::P | pf::RSVD);
  EXPECT_EQ(r.fault_level, 4u);
}

TEST(GuestPageFault, LargePageFrameLowBitsAreReservedExceptPat) {
  const uint64_t va_1g = kVaPage & ~uint64_t{0x3fff'ffff};
  const uint64_t va_2m = kVaPage & ~uint64_t{0x1f'ffff};
  struct Case {
    PageSize size;
    uint64_t extra;
    bool reserved;
  };
  const Case cases[] = {{PageSize::Size2M, 1ull << 12, false}, {PageSize::Size2M, 1ull << 13, true},
                        {PageSize::Size2M, 1ull << 20, true},  {PageSize::Size1G, 1ull << 12, false},
                        {PageSize::Size1G, 1ull << 13, true},  {PageSize::Size1G, 1ull << 29, true}};
  for (const Case &c : cases) {
    SparseMemory mem;
    FrameAllocator frames(0x10'0000, 0x20'0000);
    GuestPageTables tables(mem, frames);
    const uint64_t va = c.size == PageSize::Size2M ? va_2m : va_1g;
    tables.map(va, 0x4000'0000, c.size);
    const unsigned level = c.size == PageSize::Size2M ? 2 : 3;
    tables.writeEntry(va, level, tables.readEntry(va, level) | c.extra);
    Mmu mmu(MmuConfig{}, mem);
    setupContext(mmu, 0, {.cr3 = tables.root()});
    const Response r = mmu.translate(request(va | 0x123)).resp;
    SCOPED_TRACE(c.extra);
    if (c.reserved) {
      EXPECT_EQ(r.fault_info, pf::P | pf::RSVD);
      EXPECT_EQ(r.fault_level, level);
    } else {
      EXPECT_EQ(r.fault, Fault::None);
      EXPECT_EQ(r.hpa, 0x4000'0123u);  // the PAT bit is not part of the frame
      EXPECT_EQ(r.size, c.size);
    }
  }
}

// --- §7 permissions -----------------------------------------------------------------------

TEST(GuestPermissions, LeafMatrix) {
  const Access accesses[] = {Access::Read, Access::Write, Access::Exec};
  for (unsigned flags = 0; flags < 8; ++flags) {
    const bool rw = flags & 1, us = flags & 2, nx = flags & 4;
    const uint64_t leaf = (rw ? pte::RW : 0) | (us ? pte::US : 0) | (nx ? pte::NX : 0);
    for (bool user : {false, true}) {
      for (Access access : accesses) {
        NativeSpace s(Mode::Native, leaf);
        // CR0.WP = 1: supervisor writes need RW too; NXE = 1.
        const bool denied = (user && !us) || (access == Access::Write && !rw) ||
                            (access == Access::Exec && nx);
        const Response r = s.mmu.translate(request(kVa, access, user)).resp;
        SCOPED_TRACE(testing::Message() << "rw " << rw << " us " << us << " nx " << nx
                                        << " user " << user << " " << toString(access));
        if (denied) {
          EXPECT_EQ(r.fault, Fault::GuestPageFault);
          EXPECT_EQ(r.fault_level, 1u);
          EXPECT_EQ(r.fault_info, pf::P | (access == Access::Write ? pf::W : 0) |
                                      (user ? pf::U : 0) | (access == Access::Exec ? pf::ID : 0));
        } else {
          EXPECT_EQ(r.fault, Fault::None);
          EXPECT_EQ(r.hpa, 0xabc123u);
        }
      }
    }
  }
}

TEST(GuestPermissions, UpperLevelsRestrictTheLeaf) {
  {
    NativeSpace s(Mode::Native, pte::RW | pte::US);
    s.tables.writeEntry(kVa, 3, s.tables.readEntry(kVa, 3) & ~pte::RW);
    EXPECT_EQ(s.mmu.translate(request(kVa)).resp.fault, Fault::None);
    const Response w = s.mmu.translate(request(kVa, Access::Write)).resp;
    EXPECT_EQ(w.fault, Fault::GuestPageFault);
    EXPECT_EQ(w.fault_info, pf::P | pf::W);
    EXPECT_EQ(w.fault_level, 1u);
  }
  {
    NativeSpace s(Mode::Native, pte::RW | pte::US);
    s.tables.writeEntry(kVa, 4, s.tables.readEntry(kVa, 4) & ~pte::US);
    EXPECT_EQ(s.mmu.translate(request(kVa, Access::Read, true)).resp.fault_info, pf::P | pf::U);
  }
  {
    NativeSpace s(Mode::Native, pte::RW | pte::US);
    s.tables.writeEntry(kVa, 2, s.tables.readEntry(kVa, 2) | pte::NX);
    EXPECT_EQ(s.mmu.translate(request(kVa, Access::Exec)).resp.fault_info, pf::P | pf::ID);
  }
}

TEST(GuestPermissions, DeniedPermissionDropsTheCachedEntryAndCountsARefill) {
  NativeSpace s(Mode::Native, /*leaf_flags=*/0);  // read-only, supervisor
  EXPECT_EQ(s.mmu.translate(request(kVa)).resp.fault, Fault::None);
  EXPECT_EQ(s.mmu.tlbValidEntries(), 1u);
  const TranslateResult w = s.mmu.translate(request(kVa, Access::Write));
  EXPECT_EQ(w.resp.fault, Fault::GuestPageFault);
  EXPECT_EQ(w.resp.fault_info, pf::P | pf::W);
  EXPECT_FALSE(w.resp.tlb_hit);
  EXPECT_EQ(ctr(s.mmu, Counter::PermRefills), 1u);
  EXPECT_EQ(ctr(s.mmu, Counter::TlbMisses), 2u);
  EXPECT_EQ(s.mmu.tlbValidEntries(), 0u);  // dropped, and the faulting walk does not refill
  // The walk started from the PDE cache: one guest read.
  EXPECT_EQ(w.ops, (std::vector<MemOp>{guestRead(0x103028, 1)}));
}

// --- EPT violations and misconfigurations -------------------------------------------------

TEST(EptViolation, NotPresentWhileLocatingTheRootTable) {
  NestedVm vm;
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  vm.ept.unmap(0x1'0000);  // the guest root's page
  const TranslateResult r = vm.mmu.translate(request(kVa, Access::Write));
  EXPECT_EQ(r.ops, lowRow(0x1'0000));
  EXPECT_EQ(r.resp.fault, Fault::EptViolation);
  // A paging-structure access is a read (bit 0, although the request writes); nothing readable
  // (bits 5:3 = 0); linear address valid (bit 7); not final (bit 8 = 0): 0x81.
  EXPECT_EQ(r.resp.fault_info, 0x81u);
  // The gPA of the PML4 entry read (CR3 0x10000 + 8 x VA[47:39] = 2), not the table's base.
  EXPECT_EQ(r.resp.fault_addr, 0x1'0010u);
  EXPECT_EQ(r.resp.fault_level, 1u);
  EXPECT_EQ(r.resp.fault_guest_level, 4u);
  EXPECT_TRUE(r.resp.vm_exit);
  EXPECT_EQ(ctr(vm.mmu, Counter::FaultEptViolation), 1u);
  EXPECT_EQ(ctr(vm.mmu, Counter::VmExits), 1u);
  EXPECT_EQ(vm.mmu.ntlbValidEntries(), 0u);
}

TEST(EptViolation, NotPresentUpperEntryOfTheFinalGpa) {
  NestedVm vm;
  vm.guest->map(kVaPage, 0x60'0000, PageSize::Size4K);  // EPT L2 index 3: empty
  const TranslateResult r = vm.mmu.translate(request(kVa, Access::Exec));
  EXPECT_EQ(r.resp.fault, Fault::EptViolation);
  EXPECT_EQ(r.resp.fault_info, eptq::Fetch | eptq::LinearValid | eptq::Final);
  EXPECT_EQ(r.resp.fault_info, 0x184u);  // bit 2 fetch, 7 linear valid, 8 final; bits 5:3 = 0
  EXPECT_EQ(r.resp.fault_addr, 0x60'0123u);
  EXPECT_EQ(r.resp.fault_level, 2u);
  EXPECT_EQ(r.resp.fault_guest_level, 0u);
  EXPECT_EQ(r.ops.back(), nestedRead(0x100'2018, 2));
  EXPECT_EQ(r.ops.size(), 4u * 5 + 3);
  EXPECT_EQ(vm.mmu.tlbValidEntries(), 0u);
}

// Guest tables of NestedVm for kVa: root 0x10000, L3 0x11000, L2 0x12000, L1 (page table)
// 0x13000, each read at index 2, 3, 4, 5 (kEntryAddr's offsets 0x10, 0x18, 0x20, 0x28).
TEST(EptViolation, NotPresentWhileLocatingThePageTableReportsItsEntry) {
  for (const bool ept_ad : {false, true}) {
    for (const Access access : {Access::Read, Access::Write, Access::Exec}) {
      NestedVm vm(ept_ad);
      vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
      ASSERT_EQ(vm.guest->readEntry(kVa, 2) & ~uint64_t{0xfff}, 0x1'3000u);
      vm.ept.unmap(0x1'3000);
      const TranslateResult r = vm.mmu.translate(request(kVa, access));
      SCOPED_TRACE(testing::Message() << toString(access) << " ept_ad " << ept_ad);
      EXPECT_EQ(r.resp.fault, Fault::EptViolation);
      // Three rows (4 EPT reads + the guest read) located and read L4..L2; the L1 table's row
      // stops at its empty EPT PTE.
      if (!ept_ad) {  // (with EPT A/D on, FETCH_ORs setting EPT A bits come in between)
        EXPECT_EQ(r.ops.size(), 3u * 5 + 4);
      }
      EXPECT_EQ(r.ops.back(), nestedRead(0x100'3000 + 8 * 0x13, 1));
      // The PTE's gPA (0x13000 + 8 x 5), a read whatever the request (vmmu does not treat guest
      // paging-structure accesses as writes under EPT A/D, §5), not final: 0x81.
      EXPECT_EQ(r.resp.fault_addr, 0x1'3028u);
      EXPECT_EQ(r.resp.fault_info, 0x81u);
      EXPECT_EQ(r.resp.fault_level, 1u);
      EXPECT_EQ(r.resp.fault_guest_level, 1u);
      EXPECT_TRUE(r.resp.vm_exit);
    }
  }
}

TEST(EptViolation, TablePageWithoutReadReportsTheEntryAndItsPermissions) {
  NestedVm vm;
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  ASSERT_EQ(vm.guest->readEntry(kVa, 3) & ~uint64_t{0xfff}, 0x1'2000u);
  // The page holding the L2 table: execute-only in its EPT PTE.
  vm.ept.writeEntry(0x1'2000, 1, (vm.ept.readEntry(0x1'2000, 1) & ~uint64_t{7}) | ept::X);
  const Response r = vm.mmu.translate(request(kVa, Access::Write)).resp;
  EXPECT_EQ(r.fault, Fault::EptViolation);
  // Bit 0 read; bits 5:3 = X only (the AND over the four EPT entries); bit 7; bit 8 clear.
  EXPECT_EQ(r.fault_info, 0xa1u);
  EXPECT_EQ(r.fault_addr, 0x1'2020u);  // the PDE's gPA: 0x12000 + 8 x 4
  EXPECT_EQ(r.fault_level, 1u);
  EXPECT_EQ(r.fault_guest_level, 2u);
}

TEST(EptViolation, FinalGpaQualificationByAccess) {
  struct Case {
    Access access;
    uint32_t qualification;  // bit 0/1/2 the access, 7 linear valid, 8 final
  };
  for (const Case c : {Case{Access::Read, 0x181}, Case{Access::Write, 0x182}, Case{Access::Exec, 0x184}}) {
    NestedVm vm;
    vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K, pte::RW);
    vm.ept.unmap(0x20'0000);
    const Response r = vm.mmu.translate(request(kVa, c.access)).resp;
    SCOPED_TRACE(toString(c.access));
    EXPECT_EQ(r.fault, Fault::EptViolation);
    EXPECT_EQ(r.fault_info, c.qualification);
    EXPECT_EQ(r.fault_addr, 0x20'0123u);  // the final gPA with the page offset
    EXPECT_EQ(r.fault_level, 1u);
    EXPECT_EQ(r.fault_guest_level, 0u);
  }
}

TEST(EptViolation, LeafPermissionsAndQualification) {
  struct Case {
    uint64_t perms;
    Access access;
    bool violation;
    uint32_t qualification;
  };
  const Case cases[] = {
      {ept::X, Access::Read, true, eptq::Read | eptq::Executable},
      {ept::X, Access::Exec, false, 0},  // execute-only is legal
      {ept::R, Access::Write, true, eptq::Write | eptq::Readable},
      {ept::R | ept::W, Access::Exec, true, eptq::Fetch | eptq::Readable | eptq::Writable},
      {ept::R | ept::W, Access::Write, false, 0},
      {ept::R | ept::X, Access::Read, false, 0},
  };
  for (const Case &c : cases) {
    NestedVm vm;
    vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K, pte::RW);
    vm.ept.writeEntry(0x20'0000, 1, (vm.ept.readEntry(0x20'0000, 1) & ~uint64_t{7}) | c.perms);
    const Response r = vm.mmu.translate(request(kVa, c.access)).resp;
    SCOPED_TRACE(testing::Message() << "perms " << c.perms << " " << toString(c.access));
    if (c.violation) {
      EXPECT_EQ(r.fault, Fault::EptViolation);
      EXPECT_EQ(r.fault_info, c.qualification | eptq::LinearValid | eptq::Final);
      EXPECT_EQ(r.fault_addr, 0x20'0123u);
      EXPECT_EQ(r.fault_level, 1u);
      EXPECT_EQ(r.fault_guest_level, 0u);
      EXPECT_TRUE(r.vm_exit);
    } else {
      EXPECT_EQ(r.fault, Fault::None);
      EXPECT_EQ(r.hpa, 0x420'0123u);
    }
  }
}

TEST(EptViolation, PermissionsAreTheAndOverAllLevels) {
  NestedVm vm;
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K, pte::RW);
  // Clear W in the EPT L3 entry that covers every gPA below 1G.
  vm.mem.write64(0x100'1000, vm.mem.peek64(0x100'1000) & ~ept::W);
  EXPECT_EQ(vm.mmu.translate(request(kVa)).resp.fault, Fault::None);  // tables need R only
  const Response w = vm.mmu.translate(request(kVa, Access::Write)).resp;
  EXPECT_EQ(w.fault, Fault::EptViolation);
  EXPECT_EQ(w.fault_info, eptq::Write | eptq::Readable | eptq::Executable | eptq::LinearValid |
                              eptq::Final);
  EXPECT_EQ(w.fault_level, 1u);
  EXPECT_EQ(ctr(vm.mmu, Counter::PermRefills), 1u);  // the read's TLB entry lacked EPT W
}

TEST(EptViolation, FaultingWalkNeverSetsTheGuestLeafAccessedBit) {
  NestedVm vm(/*ept_ad=*/false, /*guest_ad=*/true);
  vm.guest->map(kVaPage, 0x60'0000, PageSize::Size4K);  // final gPA not mapped
  const TranslateResult r = vm.mmu.translate(request(kVa));
  EXPECT_EQ(r.resp.fault, Fault::EptViolation);
  EXPECT_EQ(vm.guest->readEntry(kVa, 1) & pte::A, 0u);
  EXPECT_EQ(vm.guest->readEntry(kVa, 2) & pte::A, pte::A);  // upper levels may be set (x86 too)
  for (const MemOp &op : r.ops)
    EXPECT_FALSE(op.kind == MemOpKind::FetchOr && op.level == 1 && op.dim == Dim::Guest);
}

TEST(EptMisconfig, EachRuleOnTheFinalLeaf) {
  struct Case {
    const char *what;
    uint64_t perms_and_bits;  // low bits replacing R/W/X and MT of the 4K leaf
  };
  const Case cases[] = {
      {"write without read", ept::W | ept::kMemTypeWB},
      {"write+exec without read", ept::W | ept::X | ept::kMemTypeWB},
      {"memory type 2", ept::R | (2ull << 3)},
      {"memory type 3", ept::R | (3ull << 3)},
      {"memory type 7", ept::R | (7ull << 3)},
      {"reserved address bit", ept::R | ept::kMemTypeWB | (1ull << 50)},
  };
  for (const Case &c : cases) {
    NestedVm vm;
    vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
    vm.ept.writeEntry(0x20'0000, 1, 0x420'0000 | c.perms_and_bits);
    const Response r = vm.mmu.translate(request(kVa)).resp;
    SCOPED_TRACE(c.what);
    EXPECT_EQ(r.fault, Fault::EptMisconfig);
    EXPECT_EQ(r.fault_info, 0u);  // x86 clears the exit qualification of a misconfiguration
    EXPECT_EQ(r.fault_addr, 0x20'0123u);
    EXPECT_EQ(r.fault_level, 1u);
    EXPECT_EQ(r.fault_guest_level, 0u);  // the final gPA
    EXPECT_TRUE(r.vm_exit);
  }
  // Legal leaves: memory types 0, 1, 4, 5, 6 and execute-only.
  for (uint64_t mt : {0ull, 1ull, 4ull, 5ull, 6ull}) {
    NestedVm vm;
    vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
    vm.ept.writeEntry(0x20'0000, 1, 0x420'0000 | ept::R | (mt << 3));
    EXPECT_EQ(vm.mmu.translate(request(kVa)).resp.fault, Fault::None) << "MT " << mt;
  }
}

TEST(EptMisconfig, NonLeafMemoryTypeBitsWhileLocatingATable) {
  NestedVm vm;
  vm.guest->map(kVaPage, 0x20'0000, PageSize::Size4K);
  vm.mem.write64(0x100'1000, vm.mem.peek64(0x100'1000) | (1ull << 3));  // EPT L3, non-leaf
  const TranslateResult r = vm.mmu.translate(request(kVa));
  EXPECT_EQ(r.resp.fault, Fault::EptMisconfig);
  EXPECT_EQ(r.resp.fault_info, 0u);
  EXPECT_EQ(r.resp.fault_guest_level, 4u);  // locating the level-4 guest table (CR3)
  EXPECT_EQ(r.resp.fault_addr, 0x1'0010u);  // its entry for kVa, index 2
  EXPECT_EQ(r.resp.fault_level, 3u);
  EXPECT_EQ(r.ops.size(), 2u);
  EXPECT_EQ(ctr(vm.mmu, Counter::FaultEptMisconfig), 1u);
}

TEST(EptMisconfig, LargePageBitAtLevelFourAndLargeFrameLowBits) {
  {
    NestedVm vm;
    vm.mem.write64(0x100'0000, vm.mem.peek64(0x100'0000) | ept::LP);
    const Response r = vm.mmu.translate(request(kVa)).resp;
    EXPECT_EQ(r.fault, Fault::EptMisconfig);
    EXPECT_EQ(r.fault_level, 4u);
  }
  for (PageSize size : {PageSize::Size2M, PageSize::Size1G}) {
    for (unsigned bit : {12u, 20u, 29u}) {
      if (size == PageSize::Size2M && bit == 29)
        continue;  // bit 29 is part of a 2M frame
      SparseMemory mem;
      FrameAllocator host(0x100'0000, 0x200'0000), guest_frames(0x1'0000, 0x2'0000);
      EptTables ept(mem, host);
      ept.map(0, 0x4000'0000, size);
      GuestPageTables guest(mem, guest_frames, 4, 46, ept.hostMap());
      guest.map(kVaPage, 0x20'0000, PageSize::Size4K);
      const unsigned level = size == PageSize::Size2M ? 2 : 3;
      ept.writeEntry(0, level, ept.readEntry(0, level) | (1ull << bit));
      Mmu mmu(MmuConfig{}, mem);
      setupContext(mmu, 0, {.mode = Mode::Nested, .cr3 = guest.root(), .eptp = ept.eptp()});
      const Response r = mmu.translate(request(kVa)).resp;
      SCOPED_TRACE(testing::Message() << toString(size) << " bit " << bit);
      EXPECT_EQ(r.fault, Fault::EptMisconfig);
      EXPECT_EQ(r.fault_level, level);
      EXPECT_EQ(r.fault_info, 0u);
      EXPECT_EQ(r.fault_guest_level, 4u);
      EXPECT_EQ(r.fault_addr, guest.root() + 0x10);
    }
  }
}

// --- early faults -------------------------------------------------------------------------

TEST(EarlyFault, NonCanonicalAddressIsAGeneralProtectionFault) {
  NativeSpace s;
  const uint64_t bad = 0x0000'8000'0000'0000ull;  // bit 47 set, bits 63:48 clear
  const TranslateResult r = s.mmu.translate(request(bad));
  EXPECT_EQ(r.resp.fault, Fault::GuestGeneralProtection);
  EXPECT_EQ(r.resp.fault_info, 0u);
  EXPECT_EQ(r.resp.fault_addr, bad);
  EXPECT_EQ(r.resp.fault_level, 0u);
  EXPECT_FALSE(r.resp.vm_exit);
  EXPECT_TRUE(r.ops.empty());
  EXPECT_FALSE(r.trace.walked);
  EXPECT_EQ(ctr(s.mmu, Counter::Lookups), 1u);
  EXPECT_EQ(ctr(s.mmu, Counter::TlbMisses), 0u);
  EXPECT_EQ(ctr(s.mmu, Counter::Walks), 0u);
  EXPECT_EQ(ctr(s.mmu, Counter::WalkCycles), 0u);
  EXPECT_EQ(ctr(s.mmu, Counter::FaultGuestGp), 1u);
  // The upper half is canonical: it walks (and faults, since nothing is mapped there).
  EXPECT_EQ(s.mmu.translate(request(0xffff'8000'0000'0000ull)).resp.fault, Fault::GuestPageFault);
}

TEST(EarlyFault, FiveLevelPagingWidensTheCanonicalRange) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables tables(mem, frames, 5);
  const uint64_t va = 0x00ff'0000'0000'0000ull;  // bit 55 set: canonical with 57-bit VAs
  tables.map(va, 0xabc000, PageSize::Size4K);
  MmuConfig config;
  config.guest_levels = 5;
  Mmu mmu(config, mem);
  setupContext(mmu, 0, {.cr3 = tables.root()});
  const TranslateResult r = mmu.translate(request(va | 0x10));
  EXPECT_EQ(r.resp.hpa, 0xabc010u);
  EXPECT_EQ(r.ops.size(), 5u);
  EXPECT_EQ(mmu.translate(request(0x0100'0000'0000'0000ull)).resp.fault,
            Fault::GuestGeneralProtection);
}

TEST(EarlyFault, UnknownVpidIsNoContext) {
  NativeSpace s;
  const TranslateResult r = s.mmu.translate(request(kVa, Access::Read, false, /*vpid=*/99));
  EXPECT_EQ(r.resp.fault, Fault::NoContext);
  EXPECT_EQ(r.resp.fault_addr, kVa);
  EXPECT_EQ(r.resp.fault_info, 0u);
  EXPECT_FALSE(r.resp.vm_exit);
  EXPECT_TRUE(r.ops.empty());
  EXPECT_EQ(ctr(s.mmu, Counter::FaultNoContext), 1u);
  EXPECT_EQ(ctr(s.mmu, Counter::TlbMisses), 0u);
  EXPECT_EQ(ctr(s.mmu, Counter::Lookups), 1u);
}

TEST(EarlyFault, ASlotWithoutItsValidBitServesNoRequest) {
  NativeSpace s;
  s.mmu.writeReg(0, CtxReg::Vpid, kVpid);  // valid bit clear
  EXPECT_EQ(s.mmu.translate(request(kVa)).resp.fault, Fault::NoContext);
}

TEST(Contexts, TheLowestValidSlotWithTheVpidServes) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables a(mem, frames), b(mem, frames);
  a.map(kVaPage, 0xa000, PageSize::Size4K);
  b.map(kVaPage, 0xb000, PageSize::Size4K);
  Mmu mmu(MmuConfig{}, mem);
  setupContext(mmu, 1, {.cr3 = a.root()});
  setupContext(mmu, 2, {.cr3 = b.root()});
  EXPECT_EQ(mmu.translate(request(kVa)).resp.hpa, 0xa123u);
  mmu.writeReg(1, CtxReg::Vpid, kVpid);  // slot 1 invalid (flushes the VPID, §3)
  EXPECT_EQ(mmu.translate(request(kVa)).resp.hpa, 0xb123u);
}

}  // namespace
}  // namespace vmmu::test
