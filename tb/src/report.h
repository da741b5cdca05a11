// report.h - the report server (UVM: uvm_report_server): UVM_INFO, UVM_WARNING, UVM_ERROR and
// UVM_FATAL messages, a count per severity and UVM's end-of-test "--- UVM Report Summary ---".
//
// One ReportServer is made by sc_main and handed to every component, so that verbosity, the
// counts and the current cycle live in one place without globals. Neither errors nor fatals
// throw: the environment polls quit() every cycle and ends the run phase when the error count
// reaches the max quit count (+max_errors, +UVM_MAX_QUIT_COUNT) or at the first fatal.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace vmmu::tb {

// UVM's severities, in the order the summary lists them.
enum class Severity : int { Info, Warning, Error, Fatal, Count };

// UVM verbosity levels: a message is printed when its level <= the configured verbosity.
enum class Verbosity : int { None = 0, Low = 100, Medium = 200, High = 300, Full = 400, Debug = 500 };

// Parses "UVM_HIGH", "HIGH", "high" or a number; returns false on anything else.
bool parseVerbosity(std::string_view text, Verbosity &out);

class ReportServer {
public:
  explicit ReportServer(Verbosity verbosity) : verbosity_(verbosity) {}

  bool enabled(Verbosity level) const { return static_cast<int>(level) <= static_cast<int>(verbosity_); }
  void setCycle(uint64_t cycle) { cycle_ = cycle; }
  uint64_t cycle() const { return cycle_; }

  // UVM_INFO is printed (and counted) when `level` is enabled; the others always are.
  void info(std::string_view component, Verbosity level, const std::string &message);
  void warning(std::string_view component, const std::string &message);
  void error(std::string_view component, const std::string &message);
  // A condition the run cannot go on from (a hung DUT): the run phase ends at the next cycle.
  void fatal(std::string_view component, const std::string &message);

  unsigned count(Severity severity) const { return counts_[static_cast<int>(severity)]; }
  // Errors and fatals: a run passes only with none.
  unsigned errorCount() const { return count(Severity::Error) + count(Severity::Fatal); }
  // UVM's quit: `max_quit_count` errors, or any fatal.
  bool quit(uint64_t max_quit_count) const {
    return count(Severity::Fatal) > 0 || count(Severity::Error) >= max_quit_count;
  }
  // UVM's end-of-test summary: the count of each severity.
  void summarize(std::FILE *stream) const;

private:
  void report(Severity severity, std::string_view component, const std::string &message);

  Verbosity verbosity_;
  uint64_t cycle_ = 0;
  unsigned counts_[static_cast<int>(Severity::Count)] = {};
};

// printf into a std::string; messages are built only when they will be printed or are errors.
std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace vmmu::tb
