// monitors.h - passive monitors of the request, response, control and memory ports
// (UVM: uvm_monitor). Each samples the pins after Dut::settle, publishes every transfer on its
// analysis port, checks the port protocol of the DUT's outputs (a valid holds its payload until
// the transfer; one memory operation outstanding) and counts back-pressure cycles for coverage.
#pragma once

#include <array>
#include <cstdint>

#include "component.h"

#include "analysis_port.h"
#include "report.h"
#include "sequence_item.h"

class Vmmu_top;

namespace vmmu::tb {

// Cycles in which a channel's valid was high and its ready low, per channel.
using StallCounts = std::array<uint64_t, static_cast<size_t>(Channel::Count)>;

class RequestMonitor : public Monitor {
public:
  RequestMonitor(sc_core::sc_module_name name, Vmmu_top &top) : Monitor(name), top_(top) {}
  void sample(uint64_t cycle, StallCounts &stalls);

  AnalysisPort<ObservedRequest> port;

private:
  Vmmu_top &top_;
  ObservedRequest observed_;
};

class ResponseMonitor : public Monitor {
public:
  ResponseMonitor(sc_core::sc_module_name name, Vmmu_top &top, ReportServer &reporter)
      : Monitor(name), top_(top), reporter_(reporter) {}
  void sample(uint64_t cycle, StallCounts &stalls);
  // True while a response is valid and not yet accepted.
  bool waiting() const { return waiting_; }

  AnalysisPort<ObservedResponse> port;

private:
  Response read() const;

  Vmmu_top &top_;
  ReportServer &reporter_;
  bool waiting_ = false;
  ObservedResponse observed_;
};

class ControlMonitor : public Monitor {
public:
  ControlMonitor(sc_core::sc_module_name name, Vmmu_top &top) : Monitor(name), top_(top) {}
  void sample(uint64_t cycle, StallCounts &stalls);

  AnalysisPort<ObservedControl> port;

private:
  Vmmu_top &top_;
  ObservedControl observed_;
};

class MemoryMonitor : public Monitor {
public:
  MemoryMonitor(sc_core::sc_module_name name, Vmmu_top &top, ReportServer &reporter)
      : Monitor(name), top_(top), reporter_(reporter) {}
  void sample(uint64_t cycle, StallCounts &stalls);
  bool idle() const { return !presenting_ && !outstanding_; }
  // Memory responses whose latency exceeded one cycle (for coverage of delayed responses).
  uint64_t delayedResponses() const { return delayed_; }

  AnalysisPort<ObservedMemOp> port;

private:
  MemOp read() const;

  Vmmu_top &top_;
  ReportServer &reporter_;
  bool presenting_ = false;   // mem_req_valid_o high, not yet transferred
  bool outstanding_ = false;  // transferred, response not yet accepted
  uint64_t transfer_cycle_ = 0;
  uint64_t delayed_ = 0;
  ObservedMemOp observed_;
};

}  // namespace vmmu::tb
