// The §9.1 tree-PLRU of the model's one set-associative array class, checked against sequences
// computed by hand from the spec's Touch and Victim definitions.
#include <gtest/gtest.h>

#include "set_assoc_array.h"

namespace vmmu::detail {
namespace {

struct Item {
  bool valid = false;
  int tag = 0;
};

TEST(TreePlru, TouchSetsTheBitsOnTheWayPath) {
  SetAssocArray<Item> a(1, 4);
  a.touch(0, 0);
  EXPECT_EQ(a.plruBits(0), 0b011u);  // b0 = 1, b1 = 1
  a.touch(0, 3);
  EXPECT_EQ(a.plruBits(0), 0b010u);  // b0 = 0, b2 = 0, b1 kept
  a.touch(0, 2);
  EXPECT_EQ(a.plruBits(0), 0b110u);  // b0 = 0, b2 = 1
}

TEST(TreePlru, VictimFollowsTheBits) {
  SetAssocArray<Item> a(1, 4);
  EXPECT_EQ(a.plruVictim(0), 0u);  // reset: all zero
  a.touch(0, 0);
  EXPECT_EQ(a.plruVictim(0), 2u);  // b0=1 -> upper half, b2=0 -> way 2
  a.touch(0, 2);
  EXPECT_EQ(a.plruVictim(0), 1u);  // b0=0 -> lower half, b1=1 -> way 1
  a.touch(0, 1);
  EXPECT_EQ(a.plruVictim(0), 3u);
}

TEST(TreePlru, EightWaysVictimCyclesThroughEveryWayWhenFilledInVictimOrder) {
  // Touching each victim in turn visits all 8 ways before repeating, in the order the tree
  // gives: 0 4 2 6 1 5 3 7 (bit-reversed counting) from reset.
  SetAssocArray<Item> a(1, 8);
  const unsigned expected[8] = {0, 4, 2, 6, 1, 5, 3, 7};
  for (unsigned i = 0; i < 8; ++i) {
    const unsigned v = a.plruVictim(0);
    EXPECT_EQ(v, expected[i]) << i;
    a.touch(0, v);
  }
  EXPECT_EQ(a.plruVictim(0), 0u);
}

TEST(TreePlru, SixtyFourWaysTouchAndVictimAtTheEdges) {
  SetAssocArray<Item> a(1, 64);
  a.touch(0, 0);  // path 0, 1, 3, 7, 15, 31: every node points right
  EXPECT_EQ(a.plruBits(0), 0x8000'808Bu);
  a.touch(0, 63);  // path 0, 2, 6, 14, 30, 62: every node points left; only b0 was set
  EXPECT_EQ(a.plruBits(0), 0x8000'808Au);
  // b0 = 0: left; b1 = 1: right; b4, b9, b19, b39 = 0: left. Way 0b010000.
  EXPECT_EQ(a.plruVictim(0), 16u);
}

TEST(TreePlru, OneWayHasNoBits) {
  SetAssocArray<Item> a(2, 1);
  a.touch(1, 0);
  EXPECT_EQ(a.plruBits(1), 0u);
  EXPECT_EQ(a.plruVictim(1), 0u);
  a.fill(1, Item{false, 5});
  a.fill(1, Item{false, 6});  // replaces the only way
  EXPECT_EQ(a.at(1, 0).tag, 6);
  EXPECT_EQ(a.validCount(), 1u);
}

TEST(SetAssoc, FillTakesTheLowestInvalidWayThenTheVictim) {
  SetAssocArray<Item> a(2, 4);
  for (int tag = 0; tag < 4; ++tag)
    EXPECT_EQ(a.fill(1, Item{false, tag}), static_cast<unsigned>(tag));
  EXPECT_EQ(a.validCount(), 4u);
  EXPECT_EQ(a.fill(1, Item{false, 9}), 0u);  // bits 000 after touching 0..3: victim 0
  a.invalidateIf([](const Item &i) { return i.tag == 2; });
  const uint64_t bits = a.plruBits(1);
  EXPECT_EQ(a.fill(1, Item{false, 10}), 2u);  // the invalid way wins over the victim
  EXPECT_NE(a.plruBits(1), bits);             // and is touched
  EXPECT_EQ(a.validCount(), 4u);
  EXPECT_EQ(a.plruBits(0), 0u);  // other sets untouched
}

TEST(SetAssoc, FindReturnsTheLowestMatchingWay) {
  SetAssocArray<Item> a(1, 4);
  a.fill(0, Item{false, 1});
  a.fill(0, Item{false, 7});
  a.fill(0, Item{false, 7});
  EXPECT_EQ(a.find(0, [](const Item &i) { return i.tag == 7; }), 1);
  EXPECT_EQ(a.find(0, [](const Item &i) { return i.tag == 3; }), -1);
}

TEST(SetAssoc, InvalidationKeepsPlruBitsAndResetClearsThem) {
  SetAssocArray<Item> a(1, 4);
  a.fill(0, Item{false, 1});
  a.fill(0, Item{false, 2});
  const uint64_t bits = a.plruBits(0);
  EXPECT_EQ(a.invalidateIf([](const Item &) { return true; }), 2u);
  EXPECT_EQ(a.plruBits(0), bits);
  a.reset();
  EXPECT_EQ(a.plruBits(0), 0u);
  EXPECT_EQ(a.validCount(), 0u);
}

}  // namespace
}  // namespace vmmu::detail
