// shadow_tracker.h - the write tracking of shadow paging (shadow.h): which guest pages are page
// tables some shadow space was built from (and so write-protected), and which shadow leaves map
// guest memory writable or large, so that a page becoming a table can take them back.
//
// The invariant it keeps (checkConsistency() verifies it): a page has an entry in the users map
// if and only if it has at least one user; every 2 MiB region counts exactly the tracked pages in
// it, and has a count only when that is not 0. The leaf lists may name leaves that are gone (a
// space dropped, a leaf zapped); whoever takes them checks each against the shadow tables.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "vmmu/types.h"

namespace vmmu::vmm {

// A shadow space built (in part) from a guest table page: the table at `level` covering `va_base`.
struct TableUser {
  uint64_t space_id;
  unsigned level;
  uint64_t va_base;
  bool operator==(const TableUser &o) const {
    return space_id == o.space_id && level == o.level && va_base == o.va_base;
  }
};

// A shadow leaf of space `space_id` mapping the page or 2 MiB region at `va`.
struct LeafRef {
  uint64_t space_id;
  uint64_t va;
};

class WriteTracker {
public:
  enum class Added { Already, User, FirstUser };
  // Registers `user` of the table page `page`. FirstUser: the page was not a tracked table
  // before (its writable and large leaves must now be taken back: takeWritable, takeLarge).
  Added addUser(uint64_t page, const TableUser &user);
  // Removes every user of `page` that belongs to space `space_id`; untracks a page left unused.
  void removeSpace(uint64_t page, uint64_t space_id);
  // The users of `page` (nullptr when it is not tracked).
  const std::vector<TableUser> *users(uint64_t page) const;
  // Replaces the users of `page`; untracks it when `users` is empty.
  void setUsers(uint64_t page, std::vector<TableUser> users);

  bool isTracked(uint64_t page) const { return users_.count(page) != 0; }
  // Whether a tracked page lies in the 2 MiB region of `gpa`.
  bool regionTracked(uint64_t gpa) const { return tracked_in_2m_.count(gpa / k2M) != 0; }
  size_t trackedPages() const { return users_.size(); }

  // Records a shadow leaf over guest page `page` (writable 4 KiB) or over the 2 MiB region of
  // `page` (large). Before a list grows past 32 entries, the leaves of spaces `live` says are gone
  // are forgotten.
  template <typename IsLive>
  void recordLeaf(uint64_t page, bool large, const LeafRef &leaf, IsLive live) {
    std::vector<LeafRef> &refs = large ? leaves_2m_[page / k2M] : writable_4k_[page];
    if (refs.size() >= 32)
      std::erase_if(refs, [&](const LeafRef &ref) { return !live(ref.space_id); });
    refs.push_back(leaf);
  }
  // Hands over (and forgets) the writable 4 KiB leaves over `page`, and the large leaves over its
  // 2 MiB region.
  std::vector<LeafRef> takeWritable(uint64_t page);
  std::vector<LeafRef> takeLarge(uint64_t page);
  // Forgets every leaf (all spaces are gone).
  void forgetLeaves();

  // One line per broken invariant (see above).
  std::vector<std::string> checkConsistency() const;

  static constexpr uint64_t k2M = pageBytes(PageSize::Size2M);

private:
  void untrack(uint64_t page);

  std::unordered_map<uint64_t, std::vector<TableUser>> users_;   // guest table page -> its users
  std::unordered_map<uint64_t, uint32_t> tracked_in_2m_;         // 2 MiB region -> tracked pages in it
  std::unordered_map<uint64_t, std::vector<LeafRef>> writable_4k_;  // gPA page -> writable 4K leaves
  std::unordered_map<uint64_t, std::vector<LeafRef>> leaves_2m_;    // 2 MiB region -> 2M leaves
};

}  // namespace vmmu::vmm
