// cli_options.h - option parsing shared by the subcommands of the `vmmu` command.
//
// Every bad option becomes a UsageError: `vmmu` prints it as one line naming the option and exits
// with status 2.
#ifndef VMMU_CLI_OPTIONS_H
#define VMMU_CLI_OPTIONS_H

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vmmu::cli {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline uint64_t parseUnsigned(std::string_view flag, const char *text, uint64_t min, uint64_t max) {
  char *end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < min || v > max)
    throw UsageError(std::string(flag) + ": expected a whole number from " + std::to_string(min) + " to " +
                     std::to_string(max) + ", got '" + text + "'");
  return v;
}

// Walks argv: `value()` takes the argument of the current flag or throws "FLAG: missing value".
class ArgCursor {
public:
  ArgCursor(int argc, char **argv) : argc_(argc), argv_(argv) {}
  bool done() const { return i_ >= argc_; }
  std::string_view next() { return argv_[i_++]; }
  const char *value(std::string_view flag) {
    if (i_ >= argc_)
      throw UsageError(std::string(flag) + ": missing value");
    return argv_[i_++];
  }
  // The arguments not yet consumed.
  int remaining() const { return argc_ - i_; }
  char **rest() const { return argv_ + i_; }

private:
  int argc_;
  char **argv_;
  int i_ = 0;
};

}  // namespace vmmu::cli

#endif  // VMMU_CLI_OPTIONS_H
