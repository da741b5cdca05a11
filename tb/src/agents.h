// agents.h - one agent per DUT port (UVM: uvm_agent): the port's driver and its monitor.
//
// Request, control and response agents are active (the driver drives the DUT's inputs of the
// port); the memory agent's driver is the reactive responder that plays the walker's memory.
// The environment clocks them: drivers drive before Dut::settle, monitors sample after it.
#pragma once

#include "component.h"
#include "drivers.h"
#include "memory_responder.h"
#include "monitors.h"

namespace vmmu::tb {

class RequestAgent : public Agent {
public:
  RequestAgent(sc_core::sc_module_name name, Vmmu_top &top)
      : Agent(name), driver("driver", top), monitor("monitor", top) {}
  RequestDriver driver;
  RequestMonitor monitor;
};

class ControlAgent : public Agent {
public:
  ControlAgent(sc_core::sc_module_name name, Vmmu_top &top)
      : Agent(name), driver("driver", top), monitor("monitor", top) {}
  ControlDriver driver;
  ControlMonitor monitor;
};

class ResponseAgent : public Agent {
public:
  ResponseAgent(sc_core::sc_module_name name, Vmmu_top &top, Random random, unsigned stall_permille,
                ReportServer &reporter)
      : Agent(name), driver("driver", top, random, stall_permille), monitor("monitor", top, reporter) {}
  ResponseDriver driver;
  ResponseMonitor monitor;
};

class MemoryAgent : public Agent {
public:
  MemoryAgent(sc_core::sc_module_name name, Vmmu_top &top, SparseMemory &memory, const MemoryKnobs &knobs,
              Random random, ReportServer &reporter)
      : Agent(name), responder("responder", top, memory, knobs, random, reporter), monitor("monitor", top, reporter) {}
  MemoryResponder responder;
  MemoryMonitor monitor;
};

} // namespace vmmu::tb
