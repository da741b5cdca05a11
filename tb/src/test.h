// test.h - tests (UVM: uvm_test) and the registry +test=NAME selects from.
//
// A test is a configure function: it sets the knobs of the World, the environment and the
// random stream, adds a directed script, and declares the coverage bins it must hit. The Test
// module builds everything from that description, runs it and reports pass or fail.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "churn_sequence.h"
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

class Test : public sc_core::sc_module {
public:
  // Throws std::runtime_error with a one-line message on a bad configuration.
  Test(sc_core::sc_module_name name, const TestSpec &spec, TbOptions &options, Reporter &reporter);
  // After sc_start: prints the summary and returns the process exit code.
  int finish();

private:
  const TestSpec &spec_;
  TbOptions &options_;
  Reporter &reporter_;
  TestSetup setup_;
  Random random_;
  SparseMemory dut_memory_;
  SparseMemory model_memory_;
  World world_;
  ScriptSequence script_;
  ScriptSequence final_checkpoint_;  // every test ends comparing all counters
  std::unique_ptr<Sequence> stream_;
  std::unique_ptr<Env> env_;
};

}  // namespace vmmu::tb
