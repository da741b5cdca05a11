// test.h - tests (UVM: uvm_test) and the registry +test=NAME selects from.
//
// A test is a configure function: it sets the knobs of the World, the environment and the
// random stream, adds a directed script, and declares the coverage bins it must hit. The Test
// component (the top of the component tree) creates the env; its build phase builds the World
// and the sequences from that description, its report phase reports pass or fail.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "churn_sequence.h"
#include "component.h"
#include "env.h"
#include "options.h"
#include "report.h"
#include "sequences.h"
#include "world.h"

namespace vmmu::tb {

struct TestSetup {
  MmuConfig config;  // must match the RTL's parameters (the defaults of §1)
  WorldKnobs world;
  EnvKnobs env;
  // The constrained-random stream run after the script, +n requests long.
  enum class Stream { None, Random, Churn } stream = Stream::None;
  RandomKnobs random_knobs;  // Stream::Random
  ChurnKnobs churn_knobs;    // Stream::Churn
  uint64_t default_count = 10000;  // requests when +n is not given
  std::vector<std::string> coverage;  // declared bins (names or "prefix*")
  // Directed body, run after the contexts are programmed; may change the World (modes, ...).
  std::function<void(World &, ScriptSequence &, Random &)> script;
};

struct TestSpec {
  const char *name;
  const char *description;
  void (*configure)(TestSetup &setup);
};

// Every test, in +list order.
const std::vector<TestSpec> &testRegistry();
const TestSpec *findTest(const std::string &name);

class Test : public Component {
public:
  // Throws std::runtime_error with a one-line message on a bad configuration.
  Test(sc_core::sc_module_name name, const TestSpec &spec, TbOptions &options, ReportServer &reporter);

  // The World, the contexts' programming, the script and random stream on the sequencer, the
  // declared coverage bins. Throws std::runtime_error (one line) on a bad setup.
  void buildPhase() override;
  // Coverage, the result line, the isolation summary, the reproduction command of a failure.
  void reportPhase() override;
  // After the report phase: the process exit status (0 passed, 1 failed).
  int status() const { return status_; }

private:
  const TestSpec &spec_;
  TbOptions &options_;
  ReportServer &reporter_;
  TestSetup setup_;
  Random random_;
  Random world_random_;
  Random script_random_;
  Random stream_random_{0};
  SparseMemory dut_memory_;
  SparseMemory model_memory_;
  World world_;
  ScriptSequence script_;
  ScriptSequence final_checkpoint_;  // every test ends comparing all counters
  std::unique_ptr<Sequence> stream_;
  std::unique_ptr<Env> env_;
  int status_ = 1;
};

}  // namespace vmmu::tb
