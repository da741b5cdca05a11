// main.cpp - main and sc_main of vmmu_tb: parses the plusargs, creates the selected test (the top
// component) and runs UVM's phases on it (build, connect, run, report; component.h).
//
//   vmmu_tb +test=NAME +seed=N +n=COUNT [+verbosity=UVM_LOW] [+wave=FILE.fst +wave_start=C +wave_stop=C]
//   vmmu_tb +list
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include <systemc>

#include "component.h"
#include "interrupt.h"
#include "options.h"
#include "report.h"
#include "test.h"

// vmmu_tb's own main, in place of libsystemc's: SystemC prints its copyright banner on stderr as
// it starts, ahead of any one-line error, unless this variable is set (an explicit setting wins).
int main(int argc, char *argv[]) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}

int sc_main(int argc, char *argv[]) {
  using namespace vmmu::tb;
  TbOptions options;
  const std::string error = parseOptions(argc, argv, options);
  if (!error.empty()) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 2;
  }
  if (!options.help_text.empty()) {
    std::fputs(options.help_text.c_str(), stdout);
    return 0;
  }
  if (options.list_tests) {
    for (const TestSpec &spec : testRegistry())
      std::printf("%-20s %s\n", spec.name, spec.description);
    return 0;
  }
  const TestSpec *spec = findTest(options.test);
  if (!spec) {
    std::fprintf(stderr, "vmmu_tb: unknown test '%s' (+list shows the tests)\n", options.test.c_str());
    return 2;
  }
  sc_core::sc_report_handler::set_actions("/IEEE_Std_1666/deprecated", sc_core::SC_DO_NOTHING);
  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);  // "stopped by user"
  ReportServer reporter(options.verbosity);
  installInterruptHandlers();
  try {
    Test test("test", *spec, options, reporter);
    PhaseRunner phases(reporter);
    phases.run(test);
    // Printed at every verbosity: tb/bench/run reads it.
    std::printf("vmmu_tb: run phase took %.3f s wall, %.3f s cpu\n", phases.runWallSeconds(), phases.runCpuSeconds());
    if (const int signal = interruptSignal()) {
      std::fflush(stdout);
      std::fprintf(stderr, "vmmu_tb: interrupted by signal %d (%s) at cycle %llu: run stopped%s\n", signal,
                   strsignal(signal), static_cast<unsigned long long>(reporter.cycle()),
                   options.wave_file.empty() ? "" : (", waves discarded (" + options.wave_file + " left as it was)").c_str());
      return 1;
    }
    return test.status();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
}
