// plot_command.cpp - `vmmu plot RESULT.json -o OUT.png`: draws a `vmmu run --json` result with
// gnuplot: the slowdown of every approach against native, and the cycles of each interval per run
// with the adaptive policy's mode over time underneath.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli_options.h"
#include "vmmu/run/json_reader.h"
#include "run_command.h"

namespace vmmu::cli {

namespace {

using Json = run::JsonValue;

// gnuplot's string quoting: single quotes, doubled inside.
std::string quoted(const std::string &s) {
  std::string out = "'";
  for (const char c : s)
    out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

int modeNumber(char letter) {
  switch (letter) {
  case 'n': return 1;
  case 's': return 2;
  case 'c': return 3;
  case 'p': return 4;
  case 'd': return 5;
  default: return 0;
  }
}

}  // namespace

int runPlot(int argc, char **argv) {
  ArgCursor args(argc, argv);
  std::string input, output;
  while (!args.done()) {
    const std::string_view arg = args.next();
    if (arg == "-o")
      output = args.value(arg);
    else if (arg.size() > 1 && arg[0] == '-')
      throw UsageError("unknown option '" + std::string(arg) + "' for 'vmmu plot'");
    else if (!input.empty())
      throw UsageError("plot: expected one JSON file, got a second: '" + std::string(arg) + "'");
    else
      input = arg;
  }
  if (input.empty())
    throw UsageError("plot: missing RESULT.json (written by vmmu run --json)");
  if (output.empty())
    throw UsageError("plot: missing -o OUT.png");

  std::ifstream in(input, std::ios::binary);
  if (!in)
    throw std::runtime_error(input + ": cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  const std::string content = text.str();
  Json report;
  try {
    report = run::parseJson(content);
  } catch (const run::JsonError &e) {
    throw std::runtime_error(input + ": not a vmmu run JSON report: " + e.what());
  }
  const Json &runs = report["runs"];
  if (runs.kind != Json::Kind::Array || runs.array.empty())
    throw std::runtime_error(input + ": not a vmmu run JSON report: no \"runs\"");

  // Data blocks: slowdowns; cycles per interval per run; the adaptive mode per interval.
  std::string script = "$slowdown << EOD\n";
  for (const Json &run : runs.array)
  {
    // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string&&.
    script += '"';
    script += run["approach"].string;
    script += "\" ";
    script += std::to_string(run["slowdown"].number);
    script += '\n';
  }
  script += "EOD\n$intervals << EOD\n";
  size_t longest = 0;
  for (const Json &run : runs.array)
    longest = std::max(longest, run["interval_cycles"].array.size());
  for (size_t i = 0; i < longest; ++i) {
    script += std::to_string(i);
    for (const Json &run : runs.array) {
      const auto &cycles = run["interval_cycles"].array;
      script += ' ';
      script += i < cycles.size() ? std::to_string(cycles[i].number) : std::string("NaN");
    }
    script += "\n";
  }
  script += "EOD\n$modes << EOD\n";
  std::string timeline;
  for (const Json &run : runs.array)
    if (run["approach"].string == "adaptive")
      timeline = run["modes"].string;
  for (size_t i = 0; i < timeline.size(); ++i)
    script += std::to_string(i) + " " + std::to_string(modeNumber(timeline[i])) + "\n";
  script += "EOD\n";

  script += "set terminal pngcairo size 1200,900 font ',10'\nset output " + quoted(output) + "\n";
  script += "set multiplot layout 3,1 title " + quoted("vmmu run: " + report["trace"].string + " (" +
                                                      report["backend"].string + " backend)") + "\n";
  script += "set style fill solid 0.6\nset boxwidth 0.6\nset ylabel 'slowdown vs native'\nset grid ytics\n"
            "set yrange [0:*]\nunset key\n"
            "plot $slowdown using 0:2:xtic(1) with boxes lc rgb '#4477aa', "
            "'' using 0:2:(sprintf('%.3f', $2)) with labels offset 0,0.7\n";
  script += "set ylabel 'cycles per interval'\nset xlabel 'policy interval'\nset key outside right\n"
            "set yrange [0:*]\nset xtics auto\nplot ";
  for (size_t r = 0; r < runs.array.size(); ++r)
    script += std::string(r ? ", " : "") + "$intervals using 1:" + std::to_string(r + 2) + " with lines title " +
              quoted(runs.array[r]["approach"].string);
  script += "\n";
  script += "set ylabel 'adaptive mode'\nset yrange [0.5:5.5]\n"
            "set ytics ('nested' 1, 'shadow' 2, 'shadow-cache' 3, 'shadow-prefetch' 4, 'direct' 5)\nunset key\n";
  script += timeline.empty() ? "set label 1 'no adaptive run in this result' at graph 0.4, graph 0.5\nplot 0 notitle\n"
                             : "plot $modes using 1:2 with steps lw 2 lc rgb '#cc3311'\n";
  script += "unset multiplot\n";

  FILE *gnuplot = popen("gnuplot", "w");
  if (gnuplot == nullptr)
    throw std::runtime_error("plot: cannot start gnuplot (Debian package gnuplot-nox)");
  std::fputs(script.c_str(), gnuplot);
  const int status = pclose(gnuplot);
  if (status != 0)
    throw std::runtime_error("plot: gnuplot failed (exit status " + std::to_string(status) + ")");
  std::printf("wrote %s\n", output.c_str());
  return 0;
}

}  // namespace vmmu::cli
