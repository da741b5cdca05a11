// command_line.cpp - see command_line.h.
#include "command_line.h"

#include <cerrno>
#include <cstdlib>

#include "output_file.h"

namespace vmmu::cli {

CLI::Validator wholeNumber(uint64_t min, uint64_t max) {
  const auto check = [min, max](std::string &text) -> std::string {
    char *end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
    // strtoull takes a sign and leading blanks; a count has neither.
    const bool digits = !text.empty() && text[0] >= '0' && text[0] <= '9';
    if (!digits || errno != 0 || *end != '\0' || value < min || value > max)
      return "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max) + ", got '" + text +
             "'";
    return {};
  };
  return CLI::Validator(check, std::to_string(min) + ".." + std::to_string(max));
}

std::string listOf(const std::vector<std::string> &choices) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i)
    out += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  return out;
}

CLI::Validator oneOf(std::vector<std::string> choices) {
  std::string description;
  for (const std::string &choice : choices)
    description += (description.empty() ? "" : "|") + choice;
  const auto check = [choices = std::move(choices)](std::string &text) -> std::string {
    for (const std::string &choice : choices)
      if (text == choice)
        return {};
    return "expected " + listOf(choices) + ", got '" + text + "'";
  };
  return CLI::Validator(check, description);
}

void usageError(const std::string &option, const std::string &what) { throw CLI::ValidationError(option, what); }

void checkNotAnInput(const std::string &option, const std::string &output, const std::vector<std::string> &inputs) {
  for (const std::string &input : inputs)
    if (!input.empty() && input != "-" && output != "-" && (input == output || sameFile(input, output)))
      usageError(option, "the output '" + output + "' is also the input '" + input + "'");
}

std::string commandLine(int argc, const char *const *argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i > 0)
      line += ' ';
    if (!arg.empty() && arg.find_first_of(" \t\n\"'\\$`;&|<>()*?[]#~") == arg.npos) {
      line += arg;
      continue;
    }
    line += '\'';
    for (const char c : arg)
      line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}

}  // namespace vmmu::cli
