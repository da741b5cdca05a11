// shadow_tracker_test.cpp - the write tracker of shadow paging on its own (sw/vmm/src/
// shadow_tracker.h): users per table page, the count of tracked pages per 2 MiB region, the leaf
// lists and their pruning, the consistency check staying quiet through all of it, and what it
// reports when a region's count and its tracked pages disagree.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shadow_tracker.h"

namespace vmmu::testing {
namespace {

using vmm::LeafRef;
using vmm::TableUser;
using vmm::WriteTracker;

constexpr uint64_t k2M = 2ull << 20;

TEST(WriteTracker, UsersOfATablePage) {
  WriteTracker t;
  EXPECT_EQ(t.addUser(0x3000, TableUser{1, 2, 0}), WriteTracker::Added::FirstUser);
  EXPECT_EQ(t.addUser(0x3000, TableUser{1, 2, 0}), WriteTracker::Added::Already);
  EXPECT_EQ(t.addUser(0x3000, TableUser{2, 2, 0}), WriteTracker::Added::User);
  EXPECT_EQ(t.addUser(0x3000, TableUser{1, 2, 1ull << 30}), WriteTracker::Added::User) << "another VA range";
  EXPECT_EQ(t.addUser(0x3000, TableUser{1, 1, 0}), WriteTracker::Added::User) << "another level";
  EXPECT_EQ(t.trackedPages(), 1u);
  ASSERT_NE(t.users(0x3000), nullptr);
  EXPECT_EQ(t.users(0x3000)->size(), 4u);
  EXPECT_EQ(t.users(0x4000), nullptr);
  EXPECT_TRUE(t.isTracked(0x3000));
  EXPECT_FALSE(t.isTracked(0x4000));
  // Space 1's three users go; space 2's stays.
  t.removeSpace(0x3000, 1);
  ASSERT_NE(t.users(0x3000), nullptr);
  EXPECT_EQ(*t.users(0x3000), (std::vector<TableUser>{{2, 2, 0}}));
  t.removeSpace(0x3000, 2);
  EXPECT_FALSE(t.isTracked(0x3000));
  t.removeSpace(0x3000, 2);  // untracked already: nothing happens
  EXPECT_EQ(t.trackedPages(), 0u);
  EXPECT_TRUE(t.checkConsistency().empty());
}

TEST(WriteTracker, RegionsCountTheirTrackedPages) {
  WriteTracker t;
  t.addUser(0x1000, TableUser{1, 4, 0});
  t.addUser(0x2000, TableUser{1, 3, 0});
  t.addUser(k2M + 0x5000, TableUser{1, 1, 0});
  EXPECT_TRUE(t.regionTracked(0));
  EXPECT_TRUE(t.regionTracked(k2M - 1));
  EXPECT_TRUE(t.regionTracked(k2M));
  EXPECT_FALSE(t.regionTracked(2 * k2M));
  EXPECT_TRUE(t.checkConsistency().empty());
  t.setUsers(0x1000, {});
  EXPECT_TRUE(t.regionTracked(0)) << "0x2000 is still a table";
  t.setUsers(0x2000, {TableUser{3, 3, 0}});
  EXPECT_TRUE(t.isTracked(0x2000));
  t.setUsers(0x2000, {});
  EXPECT_FALSE(t.regionTracked(0));
  t.removeSpace(k2M + 0x5000, 1);
  EXPECT_FALSE(t.regionTracked(k2M));
  EXPECT_EQ(t.trackedPages(), 0u);
  EXPECT_TRUE(t.checkConsistency().empty());
}

// setUsers() on a page that was never tracked gives it users without counting it in its 2 MiB
// region (the shadow pager only calls it on tracked pages); the consistency check then names the
// region by its address with both counts: none counted in region 2 (0x400000), and in region 1
// (0x200000) one counted (0x201000 tracked by addUser) against two holding users.
TEST(WriteTracker, TheConsistencyCheckNamesARegionWhoseCountDisagrees) {
  WriteTracker t;
  t.setUsers(2 * k2M + 0x3000, {TableUser{1, 1, 0}});
  EXPECT_EQ(t.checkConsistency(),
            (std::vector<std::string>{"write tracking: 2 MiB region 0x400000 holds 1 tracked pages but counts none"}));
  WriteTracker u;
  u.addUser(k2M + 0x1000, TableUser{1, 2, 0});
  u.setUsers(k2M + 0x2000, {TableUser{1, 1, 0}});
  EXPECT_EQ(u.checkConsistency(),
            (std::vector<std::string>{"write tracking: 2 MiB region 0x200000 counts 1 tracked pages, holds 2"}));
}

TEST(WriteTracker, LeafListsAreHandedOverOnceAndPrunedOfDeadSpaces) {
  WriteTracker t;
  const auto all_live = [](uint64_t) { return true; };
  t.recordLeaf(0x10000, false, LeafRef{1, 0x200000}, all_live);
  t.recordLeaf(0x10000, false, LeafRef{2, 0x400000}, all_live);
  t.recordLeaf(0x11000, false, LeafRef{1, 0x201000}, all_live);
  t.recordLeaf(0x400000 + 0x3000, true, LeafRef{1, 0x800000}, all_live);
  const std::vector<LeafRef> writable = t.takeWritable(0x10000);
  ASSERT_EQ(writable.size(), 2u);
  EXPECT_EQ(writable[0].space_id, 1u);
  EXPECT_EQ(writable[1].va, 0x400000u);
  EXPECT_TRUE(t.takeWritable(0x10000).empty()) << "handed over once";
  EXPECT_EQ(t.takeWritable(0x11000).size(), 1u);
  EXPECT_TRUE(t.takeLarge(0x10000).empty()) << "another 2 MiB region";
  const std::vector<LeafRef> large = t.takeLarge(0x5ff000);  // the same region as 0x403000
  ASSERT_EQ(large.size(), 1u);
  EXPECT_EQ(large[0].va, 0x800000u);
  // 32 leaves of which 20 belong to space 7, now gone: the 33rd record prunes them first.
  for (uint64_t i = 0; i < 32; ++i)
    t.recordLeaf(0x20000, false, LeafRef{i < 20 ? 7u : 8u, i << 12}, all_live);
  t.recordLeaf(0x20000, false, LeafRef{8, 32 << 12}, [](uint64_t space) { return space != 7; });
  EXPECT_EQ(t.takeWritable(0x20000).size(), 13u);
  // Below 32 nothing is pruned, dead or not; the 33rd record prunes all 32 dead ones.
  const auto none_live = [](uint64_t) { return false; };
  for (uint64_t i = 0; i < 32; ++i)
    t.recordLeaf(0x20000, false, LeafRef{7, i << 12}, none_live);
  EXPECT_EQ(t.takeWritable(0x20000).size(), 32u);
  for (uint64_t i = 0; i < 33; ++i)
    t.recordLeaf(0x20000, false, LeafRef{7, i << 12}, none_live);
  EXPECT_EQ(t.takeWritable(0x20000).size(), 1u);
  t.recordLeaf(0x30000, false, LeafRef{7, 0}, all_live);
  t.recordLeaf(0x400000, true, LeafRef{7, 0}, all_live);
  t.forgetLeaves();
  EXPECT_TRUE(t.takeWritable(0x30000).empty());
  EXPECT_TRUE(t.takeLarge(0x400000).empty());
}

}  // namespace
}  // namespace vmmu::testing
