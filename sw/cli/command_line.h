// command_line.h - what the subcommands of `vmmu` share to declare their options with CLI11.
//
// Each subcommand registers its options on the CLI::App of `vmmu` (vmmu.cpp) and, once its
// options are parsed, sets the Action that runs it. A bad value is a CLI::ValidationError whose
// message names the option and the value ("--accesses: expected a whole number from 1 to 10,
// got '0'"); `vmmu` prints it as one line and exits with status 2, like CLI11's own errors.
#ifndef VMMU_CLI_COMMAND_LINE_H
#define VMMU_CLI_COMMAND_LINE_H

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vmmu::cli {

// What a parsed subcommand does; returns the exit status.
using Action = std::function<int()>;

// A whole number (decimal, no sign) from `min` to `max`.
CLI::Validator wholeNumber(uint64_t min, uint64_t max);
// One of `choices`, spelled exactly.
CLI::Validator oneOf(std::vector<std::string> choices);
// "a, b or c".
std::string listOf(const std::vector<std::string> &choices);

// A usage error found after parsing (options that do not go together): status 2, one line
// "OPTION: what".
[[noreturn]] void usageError(const std::string &option, const std::string &what);

// A usage error for `option` when `output` would replace one of `inputs` (the same file through
// any path or hard link); "-" is standard input or output, never a file.
void checkNotAnInput(const std::string &option, const std::string &output, const std::vector<std::string> &inputs);

// The command line that is running, shell-quoted, for the "command" field of trace headers.
std::string commandLine(int argc, const char *const *argv);

void addRunCommand(CLI::App &app, Action &action);
void addPlotCommand(CLI::App &app, Action &action);
void addTraceCommands(CLI::App &app, Action &action, const std::string &command_line);
void addRecordCommand(CLI::App &app, Action &action);

}  // namespace vmmu::cli

#endif  // VMMU_CLI_COMMAND_LINE_H
