// vmmu/guest/balloon.h - the guest's balloon driver as the VMM sees it (architecture.md §19).
//
// Self-ballooning (Gandhi et al., MICRO 2014): the VMM asks the guest for named guest-physical
// pages (those whose host backing is out of place); the guest gives back the free ones at once,
// copies the contents of the in-use ones it can move to free pages outside the request, and keeps
// those it cannot move. The VMM then re-backs the given pages and returns them (deflate). Every
// page the guest copies and every page-table entry it rewrites is done through the GuestCpu, as
// any guest work, so the VMM sees the same stores a real balloon driver's migration makes.
#pragma once

#include <cstdint>
#include <vector>

namespace vmmu::guest {

struct BalloonResult {
  std::vector<uint64_t> given;  // gPAs now in the balloon, ascending: free, or in use and moved
  std::vector<uint64_t> kept;   // gPAs the guest cannot give back, ascending (see inflate())
  uint64_t migrated = 0;        // in-use pages among `given` whose contents the guest copied first
};

class BalloonDriver {
public:
  virtual ~BalloonDriver() = default;
  // Takes the 4 KiB guest pages at `gpas` (4 KiB aligned, inside guest memory) into the balloon.
  // Throws std::invalid_argument for a gPA that is not; guest::OutOfGuestMemory when no free page
  // is left to move an in-use page to.
  virtual BalloonResult inflate(const std::vector<uint64_t> &gpas) = 0;
  // Gives the pages (a previous inflate()'s `given`) back to the guest as free memory.
  virtual void deflate(const std::vector<uint64_t> &gpas) = 0;
};

}  // namespace vmmu::guest
