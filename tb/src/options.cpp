// options.cpp - plusarg parsing.
//
// The plusargs are UVM's style (+name=value, +flag); CLI11 does the parsing (the names, aliases,
// flags, unknown options, help text with defaults) once each "+name" is spelled "--name". The
// values' meaning (unsigned decimal numbers, verbosity and inject-kind names, limits) is checked
// here, so that every error is one line naming the plusarg as the user typed it.
#include "options.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <string_view>
#include <vector>

namespace vmmu::tb {
namespace {

// One plusarg taking a value: where CLI11 puts the text, and the name it was given under (the
// testbench's own or UVM's standard alias), for messages.
struct ValueArg {
  std::string text;
  bool given = false;
  std::string spelled;
};

std::string plus(const std::string &name) { return "+" + name; }

// "--name" in a CLI11 message back to the "+name" the user typed.
std::string plusargSpelling(std::string text) {
  for (size_t at = text.find("--"); at != std::string::npos; at = text.find("--", at + 1))
    text.replace(at, 2, "+");
  return text;
}

bool parseDecimal(const std::string &text, uint64_t &out) {
  if (text.empty() || text.size() > 20 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  uint64_t value = 0;
  for (const char c : text) {
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10)
      return false;
    value = value * 10 + digit;
  }
  out = value;
  return true;
}

}  // namespace

std::string parseOptions(int argc, const char *const *argv, TbOptions &options) {
  options.program = argc > 0 ? argv[0] : "vmmu_tb";
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.size() < 2 || arg[0] != '+' || arg[1] == '+' || arg[1] == '-')
      return "vmmu_tb: unknown argument '" + arg + "' (options are +name=value; +help lists them, +list the tests)";
    args.push_back("--" + arg.substr(1));
  }

  CLI::App app("UVM-lite testbench of the verilated mmu_top, scoreboarded against the golden model "
               "(tb/README.md). Plusargs are +name=value, or +name for a flag.",
               "vmmu_tb");
  app.set_help_flag("--help", "Print this help and exit");
  app.allow_extras(false);
  // Each plusarg taking a value, under its names; UVM's standard plusargs are aliases.
  struct Spec {
    const char *name;
    const char *uvm_alias;
    ValueArg *arg;
    const char *meaning;
    std::string default_value;
  };
  ValueArg test, seed, count, verbosity, wave, wave_start, wave_stop, inject, inject_kind, max_errors, coverage;
  ValueArg uvm_test, uvm_verbosity, uvm_max_quit;
  const std::vector<Spec> specs = {
      {"test", "UVM_TESTNAME", &test, "The test to run (+list shows them)", options.test},
      {"seed", nullptr, &seed, "Random seed (decimal)", std::to_string(options.seed)},
      {"n", nullptr, &count, "Translation requests, at least 1", "the test's own"},
      {"verbosity", "UVM_VERBOSITY", &verbosity, "UVM_NONE, UVM_LOW, UVM_MEDIUM, UVM_HIGH, UVM_FULL, UVM_DEBUG or a number",
       "UVM_LOW"},
      {"wave", nullptr, &wave, "Write FST waves to FILE (tb/waves/vmmu.gtkw shows them)", "none"},
      {"wave_start", nullptr, &wave_start, "First cycle in the waves", "0"},
      {"wave_stop", nullptr, &wave_stop, "Last cycle in the waves", "the end"},
      {"inject", nullptr, &inject, "Corrupt the K-th READ response (proves the checker fails)", "none"},
      {"inject_kind", nullptr, &inject_kind, "What +inject corrupts: read_data or read_entry", "read_data"},
      {"max_errors", "UVM_MAX_QUIT_COUNT", &max_errors, "Stop after N errors, at least 1", std::to_string(options.max_errors)},
      {"coverage_file", nullptr, &coverage, "vmmu_tb_cov: where the RTL coverage goes", options.coverage_file},
  };
  const auto bind = [&app](const std::string &name, ValueArg &arg, const std::string &meaning,
                           const std::string &default_value) {
    arg.spelled = name;
    app.add_option_function<std::string>(
           "--" + name,
           [&arg](const std::string &text) {
             arg.text = text;
             arg.given = true;
           },
           meaning)
        ->default_str(default_value)
        ->type_name(name == "test" || name == "UVM_TESTNAME" ? "NAME"
                    : name == "wave" || name == "coverage_file" ? "FILE"
                    : name == "verbosity" || name == "UVM_VERBOSITY" || name == "inject_kind" ? "LEVEL"
                                                                                             : "N")
        ->expected(1)
        ->allow_extra_args(false);
  };
  for (const Spec &spec : specs)
    bind(spec.name, *spec.arg, spec.meaning, spec.default_value);
  bind("UVM_TESTNAME", uvm_test, "UVM's name for +test", options.test);
  bind("UVM_VERBOSITY", uvm_verbosity, "UVM's name for +verbosity", "UVM_LOW");
  bind("UVM_MAX_QUIT_COUNT", uvm_max_quit, "UVM's name for +max_errors", std::to_string(options.max_errors));
  app.add_flag("--list", options.list_tests, "List the tests and exit");
  app.add_flag("--bare", options.bare, "Drive the DUT without monitors or checking (the speed baseline)");
  app.add_flag("--no_cycle_skip", options.no_cycle_skip,
               "Clock every cycle of a walk's memory waits instead of skipping them (same results, slower)");

  try {
    std::reverse(args.begin(), args.end());  // CLI11 takes the vector back to front
    app.parse(args);
  } catch (const CLI::CallForHelp &) {
    options.help_text = plusargSpelling(app.help());
    return "";
  } catch (const CLI::ExtrasError &e) {
    return "vmmu_tb: unknown option: " + plusargSpelling(e.what()) +
           " (+help lists the plusargs; UVM's +UVM_TESTNAME= +UVM_VERBOSITY= +UVM_MAX_QUIT_COUNT= are accepted)";
  } catch (const CLI::ParseError &e) {
    // A plusarg that takes a value, given without one ("+wave"): CLI11 names it.
    std::string what = plusargSpelling(e.what());
    const size_t colon = what.find(':');
    const std::string name = colon == std::string::npos ? what : what.substr(0, colon);
    if (!name.empty() && name[0] == '+')
      return "vmmu_tb: option " + name + " needs a value (" + name + "=...)";
    return "vmmu_tb: " + what;
  }

  // UVM's names mean the same as the testbench's own.
  const std::pair<ValueArg *, const ValueArg *> aliases[] = {
      {&test, &uvm_test}, {&verbosity, &uvm_verbosity}, {&max_errors, &uvm_max_quit}};
  for (const auto &[own, uvm] : aliases)
    if (uvm->given)
      *own = *uvm;
  for (const Spec &spec : specs)
    if (spec.arg->given && spec.arg->text.empty())
      return "vmmu_tb: option " + plus(spec.arg->spelled) + " needs a value (" + plus(spec.arg->spelled) + "=...)";

  const auto number = [](const ValueArg &arg, uint64_t &target, bool at_least_one, const char *hint) -> std::string {
    if (!arg.given)
      return "";
    uint64_t value = 0;
    if (!parseDecimal(arg.text, value))
      return "vmmu_tb: option " + plus(arg.spelled) + " expects an unsigned number, got '" + arg.text + "'";
    // +n=0 would silently mean "the default"; +max_errors=0 would stop before the first cycle.
    if (at_least_one && value == 0)
      return "vmmu_tb: " + plus(arg.spelled) + "=0: must be at least 1" + hint;
    target = value;
    return "";
  };
  for (const std::string &error :
       {number(seed, options.seed, false, ""), number(count, options.count, true, " (omit +n for the test's default count)"),
        number(wave_start, options.wave_start, false, ""), number(wave_stop, options.wave_stop, false, ""),
        number(inject, options.inject, false, ""), number(max_errors, options.max_errors, true, "")})
    if (!error.empty())
      return error;
  if (test.given)
    options.test = test.text;
  if (wave.given)
    options.wave_file = wave.text;
  if (coverage.given)
    options.coverage_file = coverage.text;
  if (verbosity.given && !parseVerbosity(verbosity.text, options.verbosity))
    return "vmmu_tb: bad " + plus(verbosity.spelled) + " '" + verbosity.text +
           "' (UVM_NONE, UVM_LOW, UVM_MEDIUM, UVM_HIGH, UVM_FULL, UVM_DEBUG or a number)";
  if (inject_kind.given && !parseInjectKind(inject_kind.text, options.inject_kind))
    return "vmmu_tb: bad +inject_kind '" + inject_kind.text + "' (read_data or read_entry)";
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
