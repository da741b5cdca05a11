// The table builders of vmmu/page_tables.h: entry encodings, table allocation, lookups and the
// errors they raise.
#include <gtest/gtest.h>

#include "model_test_util.h"

namespace vmmu::test {
namespace {

TEST(FrameAllocator, HandsOutFramesInOrderUntilTheLimit) {
  FrameAllocator a(0x10'0000, 0x10'3000);
  EXPECT_EQ(a.allocate(), 0x10'0000u);
  EXPECT_EQ(a.allocate(), 0x10'1000u);
  EXPECT_EQ(a.framesUsed(), 2u);
  EXPECT_EQ(a.framesFree(), 1u);
  EXPECT_EQ(a.allocate(), 0x10'2000u);
  EXPECT_THROW(a.allocate(), std::runtime_error);
}

TEST(FrameAllocator, RejectsUnalignedOrInvertedRanges) {
  EXPECT_THROW(FrameAllocator(0x10'0010, 0x20'0000), std::invalid_argument);
  EXPECT_THROW(FrameAllocator(0x10'0000, 0x20'0001), std::invalid_argument);
  EXPECT_THROW(FrameAllocator(0x20'0000, 0x10'0000), std::invalid_argument);
  try {
    FrameAllocator a(0x1000, 0x1000);
    a.allocate();
    FAIL() << "no error";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("0x1000"), std::string::npos) << e.what();
  }
}

TEST(GuestPageTables, EncodesEveryLevelAndPageSize) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables t(mem, frames);
  EXPECT_EQ(t.root(), 0x10'0000u);
  t.map(kVaPage, 0xabc000, PageSize::Size4K, pte::RW | pte::US | pte::NX);
  // Upper entries: next table | P | RW | US, A clear.
  EXPECT_EQ(mem.peek64(0x10'0010), 0x10'1000u | pte::P | pte::RW | pte::US);
  EXPECT_EQ(mem.peek64(0x10'1018), 0x10'2000u | pte::P | pte::RW | pte::US);
  EXPECT_EQ(mem.peek64(0x10'2020), 0x10'3000u | pte::P | pte::RW | pte::US);
  EXPECT_EQ(mem.peek64(0x10'3028), 0xabc000u | pte::P | pte::RW | pte::US | pte::NX);
  // A 2M page in the next 2M region of the same L2 table, a 1G page in the next 1G region.
  t.map(kVaPage + 0x20'0000 - 0x5000, 0x4020'0000, PageSize::Size2M, pte::G);
  EXPECT_EQ(mem.peek64(0x10'2028), 0x4020'0000u | pte::P | pte::PS | pte::G);
  t.map((kVaPage & ~uint64_t{0x3fff'ffff}) + 0x4000'0000, 0x8000'0000, PageSize::Size1G);
  EXPECT_EQ(mem.peek64(0x10'1020), 0x8000'0000u | pte::P | pte::PS | pte::RW);
  EXPECT_EQ(frames.framesUsed(), 4u);
}

TEST(GuestPageTables, EntryAddressesAndRawAccess) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables t(mem, frames);
  t.map(kVaPage, 0xabc000, PageSize::Size4K);
  EXPECT_EQ(t.entryAddress(kVa, 4), 0x10'0010u);
  EXPECT_EQ(t.entryAddress(kVa, 1), 0x10'3028u);
  EXPECT_EQ(t.entryAddress(kVa + 0x4000'0000, 2), std::nullopt);  // no L2 table there
  EXPECT_EQ(t.entryAddress(kVa, 0), std::nullopt);
  t.writeEntry(kVa, 1, 0x1234'5000 | pte::P);
  EXPECT_EQ(t.readEntry(kVa, 1), 0x1234'5000u | pte::P);
  EXPECT_THROW(t.readEntry(kVa + 0x4000'0000, 1), std::logic_error);
}

TEST(GuestPageTables, TablesBehindATranslationAreWrittenAtTheHostAddress) {
  SparseMemory mem;
  FrameAllocator frames(0x1'0000, 0x2'0000);
  GuestPageTables t(mem, frames, 4, 46, [](uint64_t gpa) { return gpa + 0x8000'0000; });
  t.map(kVaPage, 0x5000, PageSize::Size4K);
  EXPECT_EQ(t.root(), 0x1'0000u);
  EXPECT_EQ(t.entryAddress(kVa, 4), 0x1'0010u);          // guest-physical
  EXPECT_EQ(t.hostEntryAddress(kVa, 4), 0x8001'0010u);   // where it is stored
  EXPECT_EQ(mem.peek64(0x8001'0010), 0x1'1000u | pte::P | pte::RW | pte::US);
  EXPECT_EQ(mem.peek64(0x1'0010), 0u);
}

TEST(GuestPageTables, NewTablesAreZeroedEvenOverOldData) {
  SparseMemory mem;
  for (uint64_t a = 0x10'0000; a < 0x10'2000; a += 8)
    mem.write64(a, ~uint64_t{0});
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables t(mem, frames);
  EXPECT_EQ(mem.peek64(0x10'0ff8), 0u);
}

TEST(GuestPageTables, UnmapClearsTheLeafOfAnySize) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables t(mem, frames);
  const uint64_t va_2m = kVaPage & ~uint64_t{0x1f'ffff};
  t.map(va_2m, 0x20'0000, PageSize::Size2M);
  EXPECT_TRUE(t.unmap(va_2m + 0x1234));
  EXPECT_EQ(t.readEntry(va_2m, 2), 0u);
  EXPECT_FALSE(t.unmap(va_2m));
  EXPECT_FALSE(t.unmap(0x7000'0000'0000));
}

TEST(GuestPageTables, RejectsBadMappings) {
  SparseMemory mem;
  FrameAllocator frames(0x10'0000, 0x20'0000);
  GuestPageTables t(mem, frames);
  EXPECT_THROW(t.map(0x1000, 0x1001, PageSize::Size4K), std::invalid_argument);
  EXPECT_THROW(t.map(0x1000, 0x20'1000, PageSize::Size2M), std::invalid_argument);
  EXPECT_THROW(t.map(0x20'0000, 0x20'1000, PageSize::Size2M), std::invalid_argument);
  EXPECT_THROW(t.map(0x1000, uint64_t{1} << 46, PageSize::Size4K), std::invalid_argument);
  EXPECT_THROW(t.map(0x1000, 0x2000, PageSize::Size4K, 0x1000), std::invalid_argument);
  t.map(0x40'0000, 0x40'0000, PageSize::Size2M);
  EXPECT_THROW(t.map(0x40'1000, 0x1000, PageSize::Size4K), std::logic_error);
  t.map(0x60'0000, 0x1000, PageSize::Size4K);
  EXPECT_THROW(t.map(0x60'0000, 0x60'0000, PageSize::Size2M), std::logic_error);
  EXPECT_THROW(GuestPageTables(mem, frames, 6), std::invalid_argument);
}

TEST(EptTables, EncodesLeavesWithWriteBackAndLargePages) {
  SparseMemory mem;
  FrameAllocator frames(0x100'0000, 0x200'0000);
  EptTables e(mem, frames);
  e.map(0x20'3000, 0x420'3000, PageSize::Size4K, ept::R | ept::X);
  EXPECT_EQ(mem.peek64(0x100'0000), 0x100'1000u | 7);  // upper entries R|W|X
  EXPECT_EQ(mem.peek64(0x100'2008), 0x100'3000u | 7);
  EXPECT_EQ(mem.peek64(0x100'3018), 0x420'3000u | ept::R | ept::X | ept::kMemTypeWB);
  e.map(0x4000'0000, 0x8000'0000, PageSize::Size1G);
  EXPECT_EQ(mem.peek64(0x100'1008), 0x8000'0000u | 7 | ept::kMemTypeWB | ept::LP);
  // Write-back (6) and a 4-level walk (3 in bits 5:3), as x86 checks at VM entry (§2.3).
  EXPECT_EQ(e.eptp(), 0x100'001eu);
  EXPECT_EQ(e.eptp(true), 0x100'005eu);
}

TEST(EptTables, TranslateFollowsEveryPageSize) {
  SparseMemory mem;
  FrameAllocator frames(0x100'0000, 0x200'0000);
  EptTables e(mem, frames);
  e.map(0x20'3000, 0x420'3000, PageSize::Size4K);
  e.map(0x40'0000, 0x1'0000'0000, PageSize::Size2M);
  e.map(0x4000'0000, 0x8000'0000, PageSize::Size1G, ept::X);
  EXPECT_EQ(e.translate(0x20'3abc), 0x420'3abcu);
  EXPECT_EQ(e.translate(0x5f'ffff), 0x1'001f'ffffu);
  EXPECT_EQ(e.translate(0x7fff'fff8), 0xbfff'fff8u);
  EXPECT_EQ(e.translate(0x20'4000), std::nullopt);
  EXPECT_TRUE(e.unmap(0x40'1000));
  EXPECT_EQ(e.translate(0x40'0000), std::nullopt);
  EXPECT_THROW(e.hostMap()(0x40'0000), std::out_of_range);
  EXPECT_EQ(e.hostMap()(0x20'3008), 0x420'3008u);
}

TEST(EptTables, FiveLevels) {
  SparseMemory mem;
  FrameAllocator frames(0x100'0000, 0x200'0000);
  EptTables e(mem, frames, 5, 52);
  e.map(0x20'3000, 0xf'0000'0000'3000, PageSize::Size4K);
  EXPECT_EQ(e.translate(0x20'3010), 0xf'0000'0000'3010u);
  EXPECT_EQ(e.entryAddress(0x20'3000, 5), 0x100'0000u);
  EXPECT_EQ(frames.framesUsed(), 5u);
}

}  // namespace
}  // namespace vmmu::test
