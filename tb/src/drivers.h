// drivers.h - the drivers of the request, control and response ports (UVM: uvm_driver).
//
// A driver owns the DUT inputs of one port. drive() sets them for the current cycle (before
// Dut::settle), observe() looks at the handshake after settle. Valid, once raised, holds its
// payload until the transfer (§13); gaps and back-pressure are random per knobs.
#pragma once

#include "component.h"

#include "random.h"
#include "sequence_item.h"

class Vmmu_top;

namespace vmmu::tb {

class RequestDriver : public Driver {
public:
  RequestDriver(sc_core::sc_module_name name, Vmmu_top &top) : Driver(name), top_(top) {}

  bool busy() const { return busy_; }
  void start(const Request &request) {
    request_ = request;
    busy_ = true;
  }
  void drive();
  void observe();

private:
  Vmmu_top &top_;
  Request request_;
  bool busy_ = false;
};

class ControlDriver : public Driver {
public:
  ControlDriver(sc_core::sc_module_name name, Vmmu_top &top) : Driver(name), top_(top) {}

  bool busy() const { return busy_; }
  void start(const ControlCommand &command) {
    command_ = command;
    busy_ = true;
  }
  void drive();
  void observe();

private:
  Vmmu_top &top_;
  ControlCommand command_;
  bool busy_ = false;
};

// Drives resp_ready_i: high except in randomly chosen stall cycles.
class ResponseDriver : public Driver {
public:
  ResponseDriver(sc_core::sc_module_name name, Vmmu_top &top, Random random, unsigned stall_permille)
      : Driver(name), top_(top), random_(random), stall_permille_(stall_permille) {}
  void drive();
  // The draws drive() would make in `cycles` cycles that are skipped (§12 memory wait).
  void skip(uint64_t cycles);

private:
  Vmmu_top &top_;
  Random random_;
  unsigned stall_permille_;
};

}  // namespace vmmu::tb
