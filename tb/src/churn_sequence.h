// churn_sequence.h - a constrained-random sequence that churns the control port between
// translations against warm caches (UVM: uvm_sequence), aimed at the DIRECT isolation property
// (§8.3) when the context a VPID runs under changes (§3).
//
// Slot s always describes VM s of the World (its tables, EPT and host window), but the sequence
// moves VPIDs between slots, makes slots valid and invalid, switches modes into and out of
// DIRECT and rewrites GBASE (to another VM's window and back), GSIZE, EPTP (another VM's EPT,
// the A/D bit) and escape entries. Every VM's host window is distinct, so an entry a VPID cached
// under one slot lies outside the DIRECT region of any other slot: reused after the slot in force
// changed, it would put a walk or a response out of region, which the isolation checker reports.
//
// Each round: warm (every VPID of the pool with a slot in force translates a few pages of that
// slot's VM, twice: walks fill the TLB, PSCs and nested TLB, then hit), churn (one targeted
// change chosen round-robin over the churn kinds so that every kind happens in every run, plus a
// few random ones and the odd explicit invalidation), replay (the warmed addresses again, under
// the new registers).
#pragma once

#include <cstdint>
#include <vector>

#include "random.h"
#include "sequences.h"
#include "world.h"

namespace vmmu::tb {

struct ChurnKnobs {
  uint64_t requests = 8000;         // translation requests in total (+n)
  unsigned hot_pages = 5;           // pages each VPID warms per round
  unsigned random_actions = 2;      // random churn actions per round, after the targeted one (at most)
  unsigned invalidate_percent = 8;  // share of random actions that are explicit invalidations
};

class ChurnSequence final : public Sequence {
public:
  ChurnSequence(World &world, Random random, const ChurnKnobs &knobs);
  bool next(SequenceItem &item) override;

private:
  // The sequence's own view of what it programmed into each slot (slot s runs VM s's tables).
  struct Slot {
    uint16_t vpid = 0;
    bool valid = false;
    Mode mode = Mode::Native;
    uint64_t gbase = 0, gsize = 0, eptp = 0;
    std::vector<uint64_t> escapes;  // gPA page, 0 = free
  };
  struct Hot {
    uint16_t vpid, pcid;
    uint64_t va;
  };
  enum class Action : unsigned {
    RetagToHeld,
    MakeValid,
    MakeInvalid,
    MoveLowerToHigher,
    MoveHigherToLower,
    ModeIntoDirect,
    ModeOutOfDirect,
    GBase,
    GSize,
    Eptp,
    EscapeAdd,
    EscapeRemove,
    Count
  };

  void buildRound();
  void warm();
  void act(Action action);
  void invalidate();
  void request(uint16_t vpid, uint16_t pcid, uint64_t va);
  void writeVpid(unsigned slot, uint16_t vpid, bool valid);
  void writeMode(unsigned slot, Mode mode);
  int inForce(uint16_t vpid) const;
  // A slot in force for a VPID that is warm this round, satisfying `want` (-1: none).
  template <typename Predicate> int warmSlot(Predicate want);
  uint16_t heldVpid(unsigned except);  // a VPID another valid slot holds (or any pool VPID)
  uint16_t otherVpid(uint16_t vpid);   // a pool VPID other than `vpid`

  World &world_;
  Random random_;
  ChurnKnobs knobs_;
  std::vector<Slot> slots_;
  std::vector<uint16_t> pool_;  // VPIDs the sequence moves around (one more than slots)
  std::vector<Hot> hot_;        // warmed this round
  ScriptSequence round_;
  uint64_t requests_ = 0;
  unsigned round_number_ = 0;
  bool finished_ = false;
};

}  // namespace vmmu::tb
