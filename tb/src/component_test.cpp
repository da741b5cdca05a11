// component_test.cpp - the UVM-lite base (component.h, report.h) on its own: the phase runner
// calls build top-down, connect bottom-up, the run phase's threads, report bottom-up, in that
// order; the report server counts each severity, quits at the max quit count or a fatal, and
// prints UVM's summary.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <systemc>

#include "component.h"
#include "report.h"

namespace vmmu::tb {
namespace {

using Log = std::vector<std::string>;

// A component that logs each phase it is called for; `threaded` ones also run a run phase.
class Logged : public Component {
public:
  SC_HAS_PROCESS(Logged);
  Logged(sc_core::sc_module_name name, Log &log, bool threaded) : Component(name), log_(log) {
    if (threaded)
      SC_THREAD(runPhase);
  }
  void buildPhase() override { log_.push_back(std::string("build ") + basename()); }
  void connectPhase() override { log_.push_back(std::string("connect ") + basename()); }
  void runPhase() override { log_.push_back(std::string("run ") + basename()); }
  void reportPhase() override { log_.push_back(std::string("report ") + basename()); }

private:
  Log &log_;
};

class Parent : public Logged {
public:
  Parent(sc_core::sc_module_name name, Log &log)
      : Logged(name, log, false), first("first", log, true), second("second", log, false) {}
  Logged first;
  Logged second;
};

// Captures what summarize() prints.
std::string summaryOf(const ReportServer &server) {
  std::FILE *file = std::tmpfile();
  server.summarize(file);
  std::rewind(file);
  std::string text;
  for (int c; (c = std::fgetc(file)) != EOF;)
    text += static_cast<char>(c);
  std::fclose(file);
  return text;
}

TEST(ReportServer, CountsEachSeverityAndQuitsAtTheMaxQuitCountOrAFatal) {
  ReportServer server(Verbosity::Low);
  server.info("c", Verbosity::Low, "printed");
  server.info("c", Verbosity::High, "filtered: neither printed nor counted");
  server.warning("c", "w");
  EXPECT_FALSE(server.quit(1));
  server.error("c", "e1");
  EXPECT_TRUE(server.quit(1));
  EXPECT_FALSE(server.quit(2));
  server.error("c", "e2");
  EXPECT_TRUE(server.quit(2));
  EXPECT_EQ(server.count(Severity::Info), 1u);
  EXPECT_EQ(server.count(Severity::Warning), 1u);
  EXPECT_EQ(server.count(Severity::Error), 2u);
  EXPECT_EQ(server.errorCount(), 2u);
  server.fatal("c", "f");
  EXPECT_TRUE(server.quit(1000)) << "a fatal ends the run whatever the max quit count";
  EXPECT_EQ(server.errorCount(), 3u) << "a fatal fails the run";
  EXPECT_EQ(summaryOf(server), "\n--- UVM Report Summary ---\n\n** Report counts by severity\n"
                               "UVM_INFO :    1\nUVM_WARNING :    1\nUVM_ERROR :    2\nUVM_FATAL :    1\n");
}

TEST(PhaseRunner, CallsBuildTopDownConnectBottomUpRunThenReportBottomUp) {
  Log log;
  Parent top("top", log);
  ReportServer server(Verbosity::None);
  PhaseRunner(server).run(top);
  const Log expected = {"build top",   "build first", "build second", "connect first", "connect second",
                        "connect top", "run first",   "report first", "report second", "report top"};
  EXPECT_EQ(log, expected);
}

} // namespace
} // namespace vmmu::tb

int sc_main(int argc, char **argv) { // libsystemc's main calls it
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
