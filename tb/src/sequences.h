// sequences.h - sequences and the sequencer (UVM: uvm_sequence, uvm_sequencer).
//
// A Sequence refills one SequenceItem per call to next(); the Sequencer hands the items of the
// running sequence to the environment, one at a time and in order. ScriptSequence plays a list
// built up front (directed tests); RandomSequence generates a constrained-random stream against
// a World: mixes of modes, VPIDs and PCIDs, page sizes, permissions, invalidations, context and
// mode switches, escape-filter changes and page-table changes between accesses.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "component.h"

#include "random.h"
#include "sequence_item.h"
#include "world.h"

namespace vmmu::tb {

class Sequence {
public:
  virtual ~Sequence() = default;
  // Refills `item`; false when the sequence is over.
  virtual bool next(SequenceItem &item) = 0;
};

class Sequencer : public Component {
public:
  explicit Sequencer(sc_core::sc_module_name name) : Component(name) {}
  // Sequences run one after another, in the order started.
  void start(Sequence &sequence) { sequences_.push_back(&sequence); }
  bool next(SequenceItem &item) {
    while (current_ < sequences_.size()) {
      if (sequences_[current_]->next(item))
        return true;
      ++current_;
    }
    return false;
  }

private:
  std::vector<Sequence *> sequences_;
  size_t current_ = 0;
};

class ScriptSequence final : public Sequence {
public:
  bool next(SequenceItem &item) override {
    if (position_ >= items_.size())
      return false;
    item = items_[position_++];
    return true;
  }

  // Builders for directed scripts.
  void request(uint16_t vpid, uint16_t pcid, uint64_t va, Access access = Access::Read, bool user = false);
  void control(CtrlOp op, unsigned ctx = 0, unsigned reg = 0, uint64_t data = 0, uint16_t vpid = 0, uint16_t pcid = 0);
  void writeReg(unsigned ctx, CtxReg reg, uint64_t value, unsigned escape_index = 0);
  void tableWrite(uint64_t addr, uint64_t clear, uint64_t set);
  void idle(uint32_t cycles);
  void checkpoint();
  // WRITE_REGs that program every VM's context slot from the World (§3).
  void programContexts(const World &world);
  // Switches `vm` to `mode` (MODE, then CR3 for the mode) and records it in the World.
  void switchMode(Vm &vm, Mode mode);
  size_t size() const { return items_.size(); }
  // Empties the script (a sequence that builds its stream in rounds reuses one ScriptSequence).
  void clear() {
    items_.clear();
    position_ = 0;
  }

private:
  std::vector<SequenceItem> items_;
  size_t position_ = 0;
};

struct RandomKnobs {
  uint64_t requests = 10000;
  unsigned locality_percent = 80;        // reuse a recently used page (TLB hits)
  unsigned table_change_permille = 10;   // page-table changes per request
  unsigned control_permille = 20;        // control actions per request
  unsigned idle_permille = 5;            // idle gaps on the request port
  unsigned odd_request_permille = 30;    // unmapped, non-canonical, unknown VPID, untouched offset
  unsigned benign_access_percent = 0;    // supervisor reads (that the tables rarely deny), for hit streams
  unsigned mode_switch_weight = 15;      // relative weights of the control actions
  unsigned context_switch_weight = 30;
  unsigned escape_weight = 15;
  unsigned invalidate_weight = 30;
  unsigned register_rewrite_weight = 10;
  // §18: mode switches reach GUEST_DIRECT and DUAL_DIRECT too (and now and then write the
  // reserved MODE code 7, which the MMU ignores), and this weight of control actions rewrites a
  // VM's guest segment or one of its GESCAPE entries.
  bool guest_segment_modes = false;
  // Mode switches among NATIVE, NESTED, SHADOW, DIRECT and AGILE (§20), AGILE most often; context
  // switches also write GCR3, with ROOT_NESTED set now and then.
  bool agile_modes = false;
  unsigned segment_weight = 0;
  uint64_t checkpoint_every = 0;  // requests between counter checkpoints (0: at the end only)
};

class RandomSequence final : public Sequence {
public:
  RandomSequence(World &world, Random random, const RandomKnobs &knobs);
  bool next(SequenceItem &item) override;

private:
  struct HotPage {
    uint8_t vm, space;
    uint16_t page;
    uint64_t offset;
  };
  struct SavedEntry {
    uint64_t addr, original;
  };
  static constexpr unsigned kPending = 16, kHot = 8, kSaved = 64;

  SequenceItem &push(SequenceItem::Kind kind);
  void pushControl(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid);
  void pushWriteReg(const Vm &vm, CtxReg reg, uint64_t value, unsigned escape_index = 0);
  void pushTableWrite(uint64_t addr, uint64_t clear, uint64_t set);
  void makeRequest(Request &request);
  void tableChange();
  void controlAction();
  void invalidate(Vm &vm, const MappedPage *page);
  void segmentAction(Vm &vm);

  World &world_;
  Random random_;
  RandomKnobs knobs_;
  uint64_t requests_ = 0;
  bool finished_ = false;
  std::array<SequenceItem, kPending> pending_;
  unsigned pending_head_ = 0, pending_count_ = 0;
  std::array<HotPage, kHot> hot_{};
  unsigned hot_count_ = 0, hot_next_ = 0;
  std::array<SavedEntry, kSaved> saved_{};
  unsigned saved_count_ = 0;
};

}  // namespace vmmu::tb
