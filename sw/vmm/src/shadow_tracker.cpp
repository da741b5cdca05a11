// shadow_tracker.cpp - the write-tracking maps of shadow paging and their invariant.
#include "shadow_tracker.h"

#include <algorithm>
#include <map>

#include "vmmu/paging.h"

namespace vmmu::vmm {

WriteTracker::Added WriteTracker::addUser(uint64_t page, const TableUser &user) {
  std::vector<TableUser> &list = users_[page];
  if (std::find(list.begin(), list.end(), user) != list.end())
    return Added::Already;
  const bool first = list.empty();
  list.push_back(user);
  if (!first)
    return Added::User;
  ++tracked_in_2m_[page / k2M];
  return Added::FirstUser;
}

void WriteTracker::removeSpace(uint64_t page, uint64_t space_id) {
  const auto it = users_.find(page);
  if (it == users_.end())
    return;
  std::erase_if(it->second, [&](const TableUser &u) { return u.space_id == space_id; });
  if (it->second.empty())
    untrack(page);
}

const std::vector<TableUser> *WriteTracker::users(uint64_t page) const {
  const auto it = users_.find(page);
  return it == users_.end() ? nullptr : &it->second;
}

void WriteTracker::setUsers(uint64_t page, std::vector<TableUser> users) {
  if (users.empty())
    untrack(page);
  else
    users_[page] = std::move(users);
}

void WriteTracker::untrack(uint64_t page) {
  users_.erase(page);
  const auto it = tracked_in_2m_.find(page / k2M);
  if (it != tracked_in_2m_.end() && --it->second == 0)
    tracked_in_2m_.erase(it);
}

std::vector<LeafRef> WriteTracker::takeWritable(uint64_t page) {
  std::vector<LeafRef> refs;
  if (const auto it = writable_4k_.find(page); it != writable_4k_.end()) {
    refs = std::move(it->second);
    writable_4k_.erase(it);
  }
  return refs;
}

std::vector<LeafRef> WriteTracker::takeLarge(uint64_t page) {
  std::vector<LeafRef> refs;
  if (const auto it = leaves_2m_.find(page / k2M); it != leaves_2m_.end()) {
    refs = std::move(it->second);
    leaves_2m_.erase(it);
  }
  return refs;
}

void WriteTracker::forgetLeaves() {
  writable_4k_.clear();
  leaves_2m_.clear();
}

std::vector<std::string> WriteTracker::checkConsistency() const {
  std::vector<std::string> problems;
  std::map<uint64_t, uint32_t> counted;  // ordered: the report lists regions by address
  for (const auto &[page, list] : users_) {
    if (list.empty())
      problems.push_back("write tracking: guest table " + hex(page) + " is tracked with no user");
    ++counted[page / k2M];
  }
  for (const auto &[region, count] : tracked_in_2m_) {
    const auto it = counted.find(region);
    const uint32_t actual = it == counted.end() ? 0 : it->second;
    if (actual != count)
      problems.push_back("write tracking: 2 MiB region " + hex(region * k2M) + " counts " + std::to_string(count) +
                         " tracked pages, holds " + std::to_string(actual));
  }
  for (const auto &[region, actual] : counted)
    if (tracked_in_2m_.count(region) == 0)
      problems.push_back("write tracking: 2 MiB region " + hex(region * k2M) + " holds " + std::to_string(actual) +
                         " tracked pages but counts none");
  return problems;
}

}  // namespace vmmu::vmm
