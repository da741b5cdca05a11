// report.h - UVM-style reporting (UVM_INFO / UVM_ERROR / UVM_FATAL) for the testbench.
//
// One Reporter is owned by the test and handed to every component, so that verbosity, the
// error count and the current cycle live in one place without globals. Errors do not throw: the
// environment polls errorCount() every cycle and stops the run at the first one.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace vmmu::tb {

// UVM verbosity levels: a message is printed when its level <= the configured verbosity.
enum class Verbosity : int { None = 0, Low = 100, Medium = 200, High = 300, Full = 400, Debug = 500 };

// Parses "UVM_HIGH", "HIGH", "high" or a number; returns false on anything else.
bool parseVerbosity(std::string_view text, Verbosity &out);

class Reporter {
public:
  explicit Reporter(Verbosity verbosity) : verbosity_(verbosity) {}

  bool enabled(Verbosity level) const { return static_cast<int>(level) <= static_cast<int>(verbosity_); }
  void setCycle(uint64_t cycle) { cycle_ = cycle; }
  uint64_t cycle() const { return cycle_; }

  void info(std::string_view component, Verbosity level, const std::string &message);
  void warning(std::string_view component, const std::string &message);
  void error(std::string_view component, const std::string &message);

  unsigned errorCount() const { return errors_; }
  unsigned warningCount() const { return warnings_; }

private:
  void print(std::FILE *stream, const char *severity, std::string_view component, const std::string &message);

  Verbosity verbosity_;
  uint64_t cycle_ = 0;
  unsigned errors_ = 0;
  unsigned warnings_ = 0;
};

// printf into a std::string; messages are built only when they will be printed or are errors.
std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace vmmu::tb
