// set_assoc_array.h - one set-associative array with the §9.1 tree-PLRU (model-internal).
//
// Every cache of the model (the three TLB arrays, the PSCs, the three nested-TLB arrays) is an
// instance of this class, so the replacement policy the RTL is compared against exists once.
// Entry is any struct with a `bool valid` member; matching is left to the caller's predicate
// because each cache tags its entries differently.
#pragma once

#include <cassert>
#include <cstdint>
#include <vector>

namespace vmmu::detail {

template <typename Entry> class SetAssocArray {
public:
  // sets and ways are powers of two (MmuConfig::validate() guarantees it), ways <= 64.
  SetAssocArray(unsigned sets, unsigned ways)
      : sets_(sets), ways_(ways), way_bits_(log2(ways)), entries_(size_t{sets} * ways),
        plru_(sets, 0) {
    assert(sets != 0 && (sets & (sets - 1)) == 0 && ways != 0 && (ways & (ways - 1)) == 0);
  }

  unsigned sets() const { return sets_; }
  unsigned ways() const { return ways_; }
  unsigned setOf(uint64_t key) const { return static_cast<unsigned>(key & (sets_ - 1)); }

  Entry &at(unsigned set, unsigned way) { return entries_[size_t{set} * ways_ + way]; }
  const Entry &at(unsigned set, unsigned way) const { return entries_[size_t{set} * ways_ + way]; }

  // The lowest valid way of `set` for which match(entry) holds, or -1 (§9: lowest way wins).
  template <typename Match> int find(unsigned set, const Match &match) const {
    const Entry *row = &entries_[size_t{set} * ways_];
    for (unsigned way = 0; way < ways_; ++way)
      if (row[way].valid && match(row[way]))
        return static_cast<int>(way);
    return -1;
  }

  // §9.1 Touch: point every node on the way's path away from it.
  void touch(unsigned set, unsigned way) {
    uint64_t bits = plru_[set];
    unsigned node = 0;
    for (unsigned depth = 0; depth < way_bits_; ++depth) {
      const unsigned dir = (way >> (way_bits_ - 1 - depth)) & 1;
      bits = dir ? (bits & ~(uint64_t{1} << node)) : (bits | (uint64_t{1} << node));
      node = 2 * node + 1 + dir;
    }
    plru_[set] = bits;
  }

  // §9.1 Victim: follow the bits from the root.
  unsigned plruVictim(unsigned set) const {
    const uint64_t bits = plru_[set];
    unsigned node = 0, way = 0;
    for (unsigned depth = 0; depth < way_bits_; ++depth) {
      const unsigned dir = (bits >> node) & 1;
      way = 2 * way + dir;
      node = 2 * node + 1 + dir;
    }
    return way;
  }

  // §9 Fill: the lowest invalid way, else the PLRU victim; then touch it. Returns the way.
  unsigned fill(unsigned set, const Entry &entry) {
    unsigned way = ways_;
    const Entry *row = &entries_[size_t{set} * ways_];
    for (unsigned w = 0; w < ways_; ++w) {
      if (!row[w].valid) {
        way = w;
        break;
      }
    }
    if (way == ways_)
      way = plruVictim(set);
    Entry &slot = at(set, way);
    slot = entry;
    slot.valid = true;
    touch(set, way);
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
    return removed;
  }

  unsigned validCount() const {
    unsigned count = 0;
    for (const Entry &entry : entries_)
      count += entry.valid ? 1 : 0;
    return count;
  }

  uint64_t plruBits(unsigned set) const { return plru_[set]; }

  // Reset: all entries invalid, all PLRU bits clear.
  void reset() {
    for (Entry &entry : entries_)
      entry.valid = false;
    for (uint64_t &bits : plru_)
      bits = 0;
  }

private:
  static unsigned log2(unsigned v) {
    unsigned bits = 0;
    while ((1u << bits) < v)
      ++bits;
    return bits;
  }

  unsigned sets_;
  unsigned ways_;
  unsigned way_bits_;
  std::vector<Entry> entries_;
  std::vector<uint64_t> plru_;  // bit n is node b[n] of the set's tree
};

}  // namespace vmmu::detail
