// component.h - UVM's component and phases (UVM-SystemC: uvm_component, uvm_phase and the
// phase schedule run by run_test()), reduced to what the testbench needs.
//
// A Component is an sc_module with UVM's phase methods. The PhaseRunner calls them in UVM's
// order over the SystemC object tree below the top component (the test):
//   build    top-down:  configuration and what depends on it (the test builds the stimulus
//                       World and its sequences; SystemC's rule that modules are created in
//                       their parent's constructor stands, so sub-components already exist)
//   connect  bottom-up: analysis ports to their subscribers
//   run      sc_start(): each component's runPhase() that registered itself as an SC_THREAD
//                       runs; the run phase ends at sc_stop()
//   report   bottom-up: results; then the report server's summary (report.h)
#pragma once

#include <cstdio>
#include <vector>

#include <systemc>

#include "report.h"

namespace vmmu::tb {

class Component : public sc_core::sc_module {
public:
  explicit Component(sc_core::sc_module_name name) : sc_module(name) {}

  virtual void buildPhase() {}
  virtual void connectPhase() {}
  virtual void runPhase() {}
  virtual void reportPhase() {}

  // The Components directly below this one in the SystemC object tree, in creation order.
  std::vector<Component *> childComponents() const;
};

// UVM's component roles. They add nothing to Component; they say what a class is, as the
// uvm_driver, uvm_monitor, uvm_agent, uvm_scoreboard, uvm_subscriber, uvm_env, uvm_test bases do.
class Driver : public Component {
public:
  using Component::Component;
};
class Monitor : public Component {
public:
  using Component::Component;
};
class Agent : public Component {
public:
  using Component::Component;
};

class PhaseRunner {
public:
  explicit PhaseRunner(ReportServer &server) : server_(server) {}

  // Runs build, connect, run and report on `top` and every Component below it, then prints the
  // report summary to stdout. An exception from a phase propagates (after no summary).
  void run(Component &top);
  // How long the run phase took.
  double runWallSeconds() const { return wall_seconds_; }
  double runCpuSeconds() const { return cpu_seconds_; }

private:
  ReportServer &server_;
  double wall_seconds_ = 0, cpu_seconds_ = 0;
};

} // namespace vmmu::tb
