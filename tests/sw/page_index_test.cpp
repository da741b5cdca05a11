// page_index_test.cpp - the guest kernel's radix record of resident pages (sw/guest/src/page_index.h):
// lookups of 4 KiB and 2 MiB pages, range walks in address order that see only what is recorded,
// drops during a walk, and emptied nodes given back.
#include <gtest/gtest.h>

#include <vector>

#include "page_index.h"

namespace vmmu::guest {
namespace {

constexpr uint64_t k4K = 4096, k2M = 2ull << 20, k1G = 1ull << 30;

TEST(PageIndex, FindsThePageContainingAnAddress) {
  PageIndex<int> index;
  index.insert(0x7000'0000'1000, PageSize::Size4K, 1);
  index.insert(0x7000'0020'0000, PageSize::Size2M, 2);
  uint64_t page = 0;
  ASSERT_NE(index.find(0x7000'0000'1ff8, &page), nullptr);
  EXPECT_EQ(*index.find(0x7000'0000'1ff8, &page), 1);
  EXPECT_EQ(page, 0x7000'0000'1000u);
  EXPECT_EQ(index.find(0x7000'0000'2000, &page), nullptr);  // the next 4 KiB page
  ASSERT_NE(index.find(0x7000'003f'fff8, &page), nullptr);  // last bytes of the 2 MiB page
  EXPECT_EQ(page, 0x7000'0020'0000u);
  EXPECT_EQ(index.find(0x7000'0040'0000, &page), nullptr);
  EXPECT_EQ(index.find(uint64_t{1} << 48, &page), nullptr);  // beyond 48-bit VAs
  EXPECT_EQ(index.size(), 2u);
}

TEST(PageIndex, WalksOnlyPagesStartingInTheRangeInAddressOrder) {
  PageIndex<int> index;
  // Inserted out of order, spread over three GiB and two 512 GiB regions.
  index.insert(3 * k1G + 7 * k4K, PageSize::Size4K, 3);
  index.insert(600 * k1G, PageSize::Size2M, 4);
  index.insert(k1G, PageSize::Size2M, 1);
  index.insert(k1G + k2M + 5 * k4K, PageSize::Size4K, 2);
  std::vector<int> seen;
  index.walk(0, ~uint64_t{0}, [&](uint64_t, int &v) {
    seen.push_back(v);
    return false;
  });
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3, 4}));
  // A range starting inside the 2 MiB page at 1 GiB does not visit it (it starts before), and
  // the end is exclusive.
  seen.clear();
  index.walk(k1G + k4K, 3 * k1G + 7 * k4K, [&](uint64_t, int &v) {
    seen.push_back(v);
    return false;
  });
  EXPECT_EQ(seen, (std::vector<int>{2}));
  EXPECT_TRUE(index.anyIn(600 * k1G, 600 * k1G + 1));
  EXPECT_FALSE(index.anyIn(600 * k1G + k4K, 601 * k1G));
}

TEST(PageIndex, DropsDuringAWalkAndFreesEmptiedNodes) {
  PageIndex<int> index;
  for (int g = 0; g < 100; ++g)
    index.insert(static_cast<uint64_t>(g) * 37 * k1G, PageSize::Size4K, g);  // sparse: one page per GiB
  // Drop the even ones over the whole 48-bit space: only the 100 recorded pages are visited.
  int visits = 0;
  index.walk(0, uint64_t{1} << 48, [&](uint64_t, int &v) {
    ++visits;
    return v % 2 == 0;
  });
  EXPECT_EQ(visits, 100);
  EXPECT_EQ(index.size(), 50u);
  uint64_t page = 0;
  EXPECT_EQ(index.find(2 * 37 * k1G, &page), nullptr);
  ASSERT_NE(index.find(3 * 37 * k1G + 8, &page), nullptr);
  EXPECT_EQ(page, 3 * 37 * k1G);
  // A slot whose subtree was emptied and freed takes a page of the other size again.
  index.insert(2 * 37 * k1G, PageSize::Size2M, 200);
  ASSERT_NE(index.find(2 * 37 * k1G + k2M - 1, &page), nullptr);
  EXPECT_EQ(*index.find(2 * 37 * k1G + k2M - 1, &page), 200);
  index.clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_FALSE(index.anyIn(0, ~uint64_t{0}));
}

}  // namespace
}  // namespace vmmu::guest
