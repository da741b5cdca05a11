// sequence_item.h - the transactions of the testbench (UVM: uvm_sequence_item and the
// transactions monitors publish).
//
// SequenceItem is what sequences produce and the sequencer hands to drivers: a translation
// request, a control command, a page-table change (applied to both the DUT's and the model's
// memory), an idle gap, or a checkpoint. The Observed* records are what monitors see on the pins.
// All are plain values so that sequences refill one item in place: no per-transaction allocation.
#pragma once

#include <cstdint>

#include "vmmu/types.h"

namespace vmmu::tb {

struct ControlCommand {
  CtrlOp op = CtrlOp::WriteReg;
  uint8_t ctx = 0;
  uint8_t reg = 0;
  uint64_t data = 0;
  uint16_t vpid = 0;
  uint16_t pcid = 0;
};

// A read-modify-write of one 64-bit table entry: new = (old & ~clear) | set. A full overwrite
// sets clear to all ones. Applied between translations, when no request is in flight.
struct TableWrite {
  uint64_t addr = 0;
  uint64_t clear = 0;
  uint64_t set = 0;
  uint64_t apply(uint64_t old) const { return (old & ~clear) | set; }
};

struct SequenceItem {
  enum class Kind : uint8_t {
    Request,     // drive `request` on the request port
    Control,     // drive `control` on the control port
    TableWrite,  // wait until idle, then apply `table_write` to both memories
    Idle,        // leave every input idle for `idle_cycles`
    Checkpoint,  // wait until idle, then compare every performance counter with the model
  };
  Kind kind = Kind::Request;
  Request request;
  ControlCommand control;
  TableWrite table_write;
  uint32_t idle_cycles = 0;
};

// A request as the request monitor saw it accepted.
struct ObservedRequest {
  Request request;
  uint64_t accept_cycle = 0;
  bool response_port_free = true;  // no earlier response was waiting at acceptance (for latency checks)
};

struct ObservedResponse {
  Response response;
  uint64_t first_valid_cycle = 0;  // the cycle resp_valid_o rose for this response
  uint64_t accept_cycle = 0;
};

// One walker memory operation with its §12 cost c = r - s + 1.
struct ObservedMemOp {
  MemOp op;
  uint64_t first_cycle = 0;     // s: first cycle presented
  uint64_t response_cycle = 0;  // r: cycle its response was accepted
  uint64_t cycles() const { return response_cycle - first_cycle + 1; }
};

struct ObservedControl {
  ControlCommand command;
  uint64_t accept_cycle = 0;
};

// Which ready/valid channels showed back-pressure, for coverage.
enum class Channel : uint8_t { Request, Response, Control, MemRequest, MemResponse, Count };

}  // namespace vmmu::tb
