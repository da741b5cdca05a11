// options.cpp - plusarg parsing.
#include "options.h"

#include <cerrno>
#include <cstdlib>
#include <string_view>

namespace vmmu::tb {
namespace {

bool parseUnsigned(std::string_view text, uint64_t &out) {
  if (text.empty())
    return false;
  const std::string copy(text);
  char *end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(copy.c_str(), &end, 0);
  if (errno != 0 || *end != '\0' || copy[0] == '-')
    return false;
  out = value;
  return true;
}

}  // namespace

std::string parseOptions(int argc, const char *const *argv, TbOptions &options) {
  options.program = argc > 0 ? argv[0] : "vmmu_tb";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.size() < 2 || arg[0] != '+')
      return "vmmu_tb: unknown argument '" + std::string(arg) + "' (options are +name=value; try +list)";
    const size_t eq = arg.find('=');
    // `spelled` as given (for messages); `name` the testbench's own name for it: UVM's standard
    // plusargs mean the same as +test, +verbosity and +max_errors.
    const std::string_view spelled = arg.substr(1, eq == std::string_view::npos ? std::string_view::npos : eq - 1);
    std::string_view name = spelled;
    if (name == "UVM_TESTNAME")
      name = "test";
    else if (name == "UVM_VERBOSITY")
      name = "verbosity";
    else if (name == "UVM_MAX_QUIT_COUNT")
      name = "max_errors";
    const bool has_value = eq != std::string_view::npos;
    const std::string_view value = has_value ? arg.substr(eq + 1) : std::string_view();
    auto needValue = [&]() -> std::string {
      return has_value && !value.empty() ? "" : "vmmu_tb: option +" + std::string(spelled) + " needs a value (+" + std::string(spelled) + "=...)";
    };
    auto badNumber = [&]() {
      return "vmmu_tb: option +" + std::string(spelled) + " expects an unsigned number, got '" + std::string(value) + "'";
    };
    if (name == "test") {
      if (auto e = needValue(); !e.empty())
        return e;
      options.test = std::string(value);
    } else if (name == "seed" || name == "n" || name == "wave_start" || name == "wave_stop" || name == "inject" ||
               name == "max_errors") {
      if (auto e = needValue(); !e.empty())
        return e;
      uint64_t number = 0;
      if (!parseUnsigned(value, number))
        return badNumber();
      // +n=0 would silently mean "the default"; +max_errors=0 would stop before the first cycle.
      if (number == 0 && (name == "n" || name == "max_errors"))
        return "vmmu_tb: +" + std::string(spelled) + "=0: must be at least 1" +
               (name == "n" ? " (omit +n for the test's default count)" : "");
      uint64_t &target = name == "seed"         ? options.seed
                         : name == "n"          ? options.count
                         : name == "wave_start" ? options.wave_start
                         : name == "wave_stop"  ? options.wave_stop
                         : name == "max_errors" ? options.max_errors
                                                : options.inject;
      target = number;
    } else if (name == "verbosity") {
      if (auto e = needValue(); !e.empty())
        return e;
      if (!parseVerbosity(value, options.verbosity))
        return "vmmu_tb: bad +" + std::string(spelled) + " '" + std::string(value) + "' (UVM_NONE, UVM_LOW, UVM_MEDIUM, UVM_HIGH, UVM_FULL, UVM_DEBUG or a number)";
    } else if (name == "wave") {
      if (auto e = needValue(); !e.empty())
        return e;
      options.wave_file = std::string(value);
    } else if (name == "inject_kind") {
      if (auto e = needValue(); !e.empty())
        return e;
      if (!parseInjectKind(std::string(value), options.inject_kind))
        return "vmmu_tb: bad +inject_kind '" + std::string(value) + "' (read_data or read_entry)";
    } else if (name == "coverage_file") {
      if (auto e = needValue(); !e.empty())
        return e;
      options.coverage_file = std::string(value);
    } else if (name == "list" && !has_value) {
      options.list_tests = true;
    } else if (name == "bare" && !has_value) {
      options.bare = true;
    } else {
      return "vmmu_tb: unknown option '" + std::string(arg) +
             "' (known: +test= +seed= +n= +verbosity= +wave= +wave_start= +wave_stop= +inject= +inject_kind= "
             "+max_errors= +coverage_file= +list +bare; +UVM_TESTNAME= +UVM_VERBOSITY= +UVM_MAX_QUIT_COUNT=)";
    }
  }
  if (options.wave_stop < options.wave_start)
    return "vmmu_tb: +wave_stop is before +wave_start";
  return "";
}

std::string reproduceCommand(const TbOptions &options) {
  std::string command = options.program + " +test=" + options.test + " +seed=" + std::to_string(options.seed) +
                        " +n=" + std::to_string(options.count);
  if (options.inject)
    command += " +inject=" + std::to_string(options.inject) + " +inject_kind=" + toString(options.inject_kind);
  if (options.max_errors != 1)
    command += " +max_errors=" + std::to_string(options.max_errors);
  if (!options.wave_file.empty()) {
    command += " +wave=" + options.wave_file;
    if (options.wave_start != 0)
      command += " +wave_start=" + std::to_string(options.wave_start);
    if (options.wave_stop != UINT64_MAX)
      command += " +wave_stop=" + std::to_string(options.wave_stop);
  }
  return command;
}

}  // namespace vmmu::tb
