// set_assoc_array.h - one set-associative array with the §9.1 tree-PLRU (model-internal).
//
// Every cache of the model (the three TLB arrays, the PSCs, the three nested-TLB arrays) is an
// instance of this class, so the replacement policy the RTL is compared against exists once.
// Entry is any struct with a `bool valid` member; matching is left to the caller's predicate
// because each cache tags its entries differently.
//
// The geometry is the configuration's, known at run time. A caller on a hot path that knows it at
// compile time (the TLB hit path, for the default geometry) passes it as the template arguments
// Sets and Ways of setOf(), at() and find(): the set index and the row address then fold to a
// mask and a shift and the search over the ways unrolls. 0, the default, means the array's own.
#pragma once

#include <array>
#include <cassert>
#include <cstdint>
#include <vector>

namespace vmmu::detail {

template <typename Entry> class SetAssocArray {
public:
  // sets and ways are powers of two (MmuConfig::validate() guarantees it), ways <= 64.
  SetAssocArray(unsigned sets, unsigned ways)
      : sets_(sets), ways_(ways), way_bits_(log2(ways)), set_mask_(sets - 1), entries_(size_t{sets} * ways),
        plru_(sets, 0) {
    assert(sets != 0 && (sets & (sets - 1)) == 0 && ways != 0 && (ways & (ways - 1)) == 0);
    // §9.1 Touch, worked out once per way, so that touch() is one AND and one OR.
    for (unsigned way = 0; way < ways; ++way) {
      const PathBits path = pathBits(way, way_bits_);
      touch_mask_[way] = path.mask;
      touch_bits_[way] = path.bits;
    }
    if (ways <= kVictimTableWays)
      for (unsigned bits = 0; bits < victim_.size(); ++bits)
        victim_[bits] = static_cast<uint8_t>(followBits(bits));
  }

  unsigned sets() const { return sets_; }
  unsigned ways() const { return ways_; }
  // Whether the array has the geometry Sets x Ways (0: any), i.e. whether a caller may pass them.
  template <unsigned Sets, unsigned Ways> bool hasGeometry() const {
    return (Sets == 0 || Sets == sets_) && (Ways == 0 || Ways == ways_);
  }

  template <unsigned Sets = 0> unsigned setOf(uint64_t key) const {
    assert((hasGeometry<Sets, 0>()));
    return static_cast<unsigned>(key & (Sets != 0 ? Sets - 1 : set_mask_));
  }

  // Callers write an entry's fields here, never its valid bit: allocate(), fill() and the
  // invalidations below keep the count of valid entries.
  template <unsigned Ways = 0> Entry &at(unsigned set, unsigned way) { return entries_[indexOf<Ways>(set, way)]; }
  template <unsigned Ways = 0> const Entry &at(unsigned set, unsigned way) const {
    return entries_[indexOf<Ways>(set, way)];
  }

  // The lowest valid way of `set` for which match(entry) holds, or -1 (§9: lowest way wins).
  template <unsigned Ways = 0, typename Match> int find(unsigned set, const Match &match) const {
    return lowestWay<Ways>(set, /*valid=*/true, match);
  }

  // §9.1 Touch: point every node on the way's path away from it.
  void touch(unsigned set, unsigned way) {
    plru_[set] = (plru_[set] & ~touch_mask_[way]) | touch_bits_[way];
  }

  // The same for a way and a geometry known at compile time (the array's: Ways ways): the path's
  // bits are constants, so the touch is one AND and one OR of immediates, no table read.
  template <unsigned Way, unsigned Ways> void touch(unsigned set) {
    static_assert(Way < Ways && (Ways & (Ways - 1)) == 0);
    assert((hasGeometry<0, Ways>()));
    constexpr PathBits kPath = pathBits(Way, log2(Ways));
    plru_[set] = (plru_[set] & ~kPath.mask) | kPath.bits;
  }

  // §9.1 Victim: follow the bits from the root (for up to kVictimTableWays ways, the walk done
  // once per value of the bits, in the constructor).
  unsigned plruVictim(unsigned set) const {
    const uint64_t bits = plru_[set];
    if (ways_ <= kVictimTableWays)
      return victim_[bits & (victim_.size() - 1)];
    return followBits(bits);
  }

  // The victim the tree bits `bits` point to.
  unsigned followBits(uint64_t bits) const {
    unsigned node = 0, way = 0;
    for (unsigned depth = 0; depth < way_bits_; ++depth) {
      const unsigned dir = (bits >> node) & 1;
      way = 2 * way + dir;
      node = 2 * node + 1 + dir;
    }
    return way;
  }

  // §9 Fill: the lowest invalid way, else the PLRU victim; then touch it. Returns the way, its
  // entry valid, for the caller to write in place: the walk writes its fields straight into the
  // array, as copying an entry just built field by field stalls on store forwarding. The other
  // fields keep what the way held before (not cleared: a walk fills two to five arrays, and every
  // caller writes each field), so a caller must write all of them.
  unsigned allocate(unsigned set) {
    // A full array (every array once warm) has no invalid way to look for.
    const int invalid = valid_count_ == entries_.size() ? -1 : lowestWay(set, /*valid=*/false, [](const Entry &) { return true; });
    const unsigned way = invalid >= 0 ? static_cast<unsigned>(invalid) : plruVictim(set);
    valid_count_ += invalid >= 0 ? 1 : 0;
    at(set, way).valid = true;
    touch(set, way);
    return way;
  }

  // The same, writing `entry` (made valid) into the way. Returns the way.
  unsigned fill(unsigned set, const Entry &entry) {
    const unsigned way = allocate(set);
    Entry &slot = at(set, way);
    slot = entry;
    slot.valid = true;
    return way;
  }

  // Clears every valid entry for which pred(entry) holds; PLRU bits are kept (§9.1).
  template <typename Pred> unsigned invalidateIf(const Pred &pred) {
    unsigned removed = 0;
    for (Entry &entry : entries_) {
      if (entry.valid && pred(entry)) {
        entry.valid = false;
        ++removed;
      }
    }
    valid_count_ -= removed;
    return removed;
  }

  // The same, restricted to one set (for lookups that drop the entries matching a request).
  template <typename Pred> unsigned invalidateInSet(unsigned set, const Pred &pred) {
    unsigned removed = 0;
    Entry *row = &entries_[size_t{set} * ways_];
    for (unsigned way = 0; way < ways_; ++way) {
      if (row[way].valid && pred(row[way])) {
        row[way].valid = false;
        ++removed;
      }
    }
    valid_count_ -= removed;
    return removed;
  }

  unsigned validCount() const { return valid_count_; }
  // No valid entry: every find() misses. Lookups over several arrays test it first, so that an
  // empty one (the 2M and 1G arrays of a VM without such pages) costs no key or set computation.
  bool empty() const { return valid_count_ == 0; }

  uint64_t plruBits(unsigned set) const { return plru_[set]; }

  // Reset: all entries invalid, all PLRU bits clear.
  void reset() {
    for (Entry &entry : entries_)
      entry.valid = false;
    for (uint64_t &bits : plru_)
      bits = 0;
    valid_count_ = 0;
  }

private:
  // The tree nodes on a way's path from the root (mask) and the value each gets when the way is
  // touched, pointing away from it (bits); node n's children are 2n + 1 and 2n + 2.
  struct PathBits {
    uint64_t mask = 0;
    uint64_t bits = 0;
  };
  static constexpr PathBits pathBits(unsigned way, unsigned way_bits) {
    PathBits path;
    unsigned node = 0;
    for (unsigned depth = 0; depth < way_bits; ++depth) {
      const unsigned dir = (way >> (way_bits - 1 - depth)) & 1;
      path.mask |= uint64_t{1} << node;
      path.bits |= dir ? 0 : uint64_t{1} << node;
      node = 2 * node + 1 + dir;
    }
    return path;
  }

  template <unsigned Ways> size_t indexOf(unsigned set, unsigned way) const {
    assert((hasGeometry<0, Ways>()));
    if constexpr (Ways != 0)
      return size_t{set} * Ways + way;
    else
      return (size_t{set} << way_bits_) + way;
  }

  // Four ways: every array's in the default configuration but the STLB's eight.
  static constexpr unsigned kCommonWays = 4;
  static constexpr unsigned kStlbWays = 8;
  // Up to 8 ways, a tree has at most 7 bits (nodes 0-6; no other bit is ever set): plruVictim()
  // reads its victim from a table of their 128 values, where following them is a loop of
  // dependent steps.
  static constexpr unsigned kVictimTableWays = 8;

  // The lowest way of `set` whose valid bit is `valid` and for which match(entry) holds, or -1.
  template <unsigned Ways = 0, typename Match> int lowestWay(unsigned set, bool valid, const Match &match) const {
    if constexpr (Ways == 0) {
      // An empty array has no valid way: a walk looks up the 2M and 1G arrays of a guest without
      // huge pages, and the 4K and 2M nested arrays of a VM mapped with 1G EPT pages, every time.
      // (Not asked on the hit path, which passes Ways: there the tags fail as fast.)
      if (valid && valid_count_ == 0)
        return -1;
      if (ways_ == kCommonWays)  // the same search with its bound known: unrolled
        return lowestWay<kCommonWays>(set, valid, match);
      if (ways_ == kStlbWays)
        return lowestWay<kStlbWays>(set, valid, match);
    }
    const unsigned ways = Ways != 0 ? Ways : ways_;
    const Entry *row = &entries_[indexOf<Ways>(set, 0)];
    // The caller's tag compare before the valid bit: it rejects all ways but one, usually, and
    // does so with one comparison when the match tests its most selective field first.
    for (unsigned way = 0; way < ways; ++way)
      if (match(row[way]) && row[way].valid == valid)
        return static_cast<int>(way);
    return -1;
  }

  static constexpr unsigned log2(unsigned v) {
    unsigned bits = 0;
    while ((1u << bits) < v)
      ++bits;
    return bits;
  }

  unsigned sets_;
  unsigned ways_;
  unsigned way_bits_;
  uint64_t set_mask_;  // sets_ - 1, kept so that setOf() is one AND
  std::vector<Entry> entries_;
  std::vector<uint64_t> plru_;  // bit n is node b[n] of the set's tree
  unsigned valid_count_ = 0;    // valid entries: the entries change valid only through this class
  // By way (at most 64): the nodes on its path, and their values once it is touched. In place,
  // not behind a pointer: touch() is on the hit path.
  std::array<uint64_t, 64> touch_mask_{};
  std::array<uint64_t, 64> touch_bits_{};
  std::array<uint8_t, 1u << (kVictimTableWays - 1)> victim_{};  // by tree bits, when ways_ <= kVictimTableWays
};

}  // namespace vmmu::detail
