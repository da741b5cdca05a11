// main.cpp - main and sc_main of vmmu_tb: parses the plusargs, elaborates the selected test, runs it.
//
//   vmmu_tb +test=NAME +seed=N +n=COUNT [+verbosity=UVM_LOW] [+wave=FILE.fst +wave_start=C +wave_stop=C]
//   vmmu_tb +list
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include <systemc>

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
  Reporter reporter(options.verbosity);
  installInterruptHandlers();
  try {
    Test test("test", *spec, options, reporter);
    const auto start = std::chrono::steady_clock::now();
    const std::clock_t cpu_start = std::clock();
    sc_core::sc_start();
    const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int status = test.finish();
    // Printed at every verbosity: tb/bench/run reads it.
    std::printf("vmmu_tb: run phase took %.3f s wall, %.3f s cpu\n", seconds, cpu_seconds);
    if (const int signal = interruptSignal()) {
      std::fflush(stdout);
      std::fprintf(stderr, "vmmu_tb: interrupted by signal %d (%s) at cycle %llu: run stopped%s\n", signal,
                   strsignal(signal), static_cast<unsigned long long>(reporter.cycle()),
                   options.wave_file.empty() ? "" : (", waves discarded (" + options.wave_file + " left as it was)").c_str());
      return 1;
    }
    return status;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
}
