// plot_command.cpp - `vmmu plot RESULT.json -o OUT.png|svg|pdf`: draws a `vmmu run --json` report
// with gnuplot: the slowdown of every approach against native, the cycles of each interval per
// run, and the adaptive policy's mode over time underneath.
//
// Nothing read from the report becomes gnuplot commands: the figures and labels go to a data file
// that the fixed script kPlotScript reads as data, and the title and file names reach it as
// arguments (`gnuplot -c SCRIPT ARG...`, ARGn are string values, never parsed as commands).
// gnuplot runs without a shell (posix_spawnp) and draws into a temporary file in the output's
// directory, renamed onto OUT only when it succeeded.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "command_line.h"
#include "output_file.h"
#include "program.h"
#include "vmmu/run/report.h"

namespace vmmu::cli {

namespace {

// ARG1 data file, ARG2 output file, ARG3 terminal, ARG4 title, ARG5 number of
// runs, ARG6 "1" if the report has an adaptive run. The data file's blocks: 0 the slowdowns
// (label, value), 1 the cycles per interval (interval, one column per run, a header line of
// labels), 2 the adaptive mode per interval.
constexpr const char *kPlotScript = R"(
if (ARG3 eq "png") { set terminal pngcairo size 1200,900 font ',10' noenhanced }
if (ARG3 eq "svg") { set terminal svg size 1200,900 font ',10' noenhanced }
if (ARG3 eq "pdf") { set terminal pdfcairo size 12in,9in font ',10' noenhanced }
set output ARG2
runs = int(ARG5)
set datafile missing 'NaN'
set multiplot layout 3,1 title ARG4
set style fill solid 0.6
set boxwidth 0.6
set ylabel 'slowdown vs native'
set grid ytics
set yrange [0:*]
unset key
plot ARG1 index 0 using 0:2:xticlabels(1) with boxes lc rgb '#4477aa', \
     '' index 0 using 0:2:(sprintf('%.3f', $2)) with labels offset 0,0.7
set ylabel 'cycles per interval'
set xlabel 'policy interval'
set key outside right
set yrange [0:*]
set xtics auto
plot for [r=2:runs+1] ARG1 index 1 using 1:r with lines title columnheader(r)
set ylabel 'adaptive mode'
set yrange [0.5:5.5]
set ytics ('nested' 1, 'shadow' 2, 'shadow-cache' 3, 'shadow-prefetch' 4, 'direct' 5)
unset key
if (ARG6 eq "1") {
  plot ARG1 index 2 using 1:2 with steps lw 2 lc rgb '#cc3311'
} else {
  set label 1 'no adaptive run in this result' at graph 0.4, graph 0.5
  plot 0 notitle
}
unset multiplot
)";

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

// A label as a quoted field of a gnuplot data file: such a field cannot hold a double quote or a
// line break, so anything but plain printable characters becomes '?'. (strchr also finds the
// terminating NUL: a NUL of the label is tested apart.)
std::string dataLabel(const std::string &text) {
  std::string out = "\"";
  for (const char c : text)
    out += (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   (c != '\0' && std::strchr(" -_.+:/(),", c) != nullptr)
               ? c
               : '?';
  return out + "\"";
}

// The data file's three blocks (see kPlotScript).
std::string plotData(const nlohmann::json &runs) {
  std::string data;
  for (const nlohmann::json &run : runs)
    data += dataLabel(run["approach"].get<std::string>()) + " " + std::to_string(run["slowdown"].get<double>()) + "\n";
  data += "\n\ninterval";
  size_t longest = 0;
  for (const nlohmann::json &run : runs) {
    data += " " + dataLabel(run["approach"].get<std::string>());
    longest = std::max(longest, run["interval_cycles"].size());
  }
  data += "\n";
  for (size_t i = 0; i < longest; ++i) {
    data += std::to_string(i);
    for (const nlohmann::json &run : runs) {
      const nlohmann::json &cycles = run["interval_cycles"];
      data += ' ';
      data += i < cycles.size() ? std::to_string(cycles[i].get<uint64_t>()) : std::string("NaN");
    }
    data += "\n";
  }
  data += "\n\n";
  for (const nlohmann::json &run : runs) {
    if (run["approach"] != "adaptive")
      continue;
    const std::string timeline = run["modes"].get<std::string>();
    for (size_t i = 0; i < timeline.size(); ++i)
      data += std::to_string(i) + " " + std::to_string(modeNumber(timeline[i])) + "\n";
  }
  return data;
}

ProgramResult runGnuplot(const std::vector<std::string> &args) {
  try {
    return runProgram(args);
  } catch (const std::runtime_error &e) {
    throw std::runtime_error(std::string("plot: ") + e.what() + " (Debian package gnuplot-nox)");
  }
}

struct PlotOptions {
  std::string input;
  std::string output;
};

// The gnuplot terminal for the output's extension.
std::string terminalFor(const std::string &output) {
  if (output == "-")
    return "png";
  const size_t dot = output.rfind('.');
  const std::string extension = dot == std::string::npos || output.find('/', dot) != std::string::npos
                                    ? std::string()
                                    : output.substr(dot + 1);
  if (extension == "png" || extension == "svg" || extension == "pdf")
    return extension;
  usageError("-o", "expected a file name ending in .png, .svg or .pdf (or - for a PNG on standard output), got '" +
                       output + "'");
}

int runPlot(const PlotOptions &o) {
  const std::string terminal = terminalFor(o.output);
  std::ifstream in(o.input, std::ios::binary);
  if (!in)
    throw std::runtime_error(o.input + ": cannot read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  nlohmann::json report;
  try {
    report = run::parseReport(text.str());
  } catch (const run::JsonError &e) {
    throw std::runtime_error(o.input + ": not a vmmu run JSON report: " + e.what());
  }
  const nlohmann::json &runs = report.at("runs");
  bool adaptive = false;
  for (const nlohmann::json &run : runs)
    adaptive = adaptive || run["approach"] == "adaptive";

  const std::string scratch_dir = std::filesystem::temp_directory_path().string();
  // Scratch files: OutputFiles never committed.
  OutputFile data(scratch_dir + "/vmmu-plot.dat"), script(scratch_dir + "/vmmu-plot.gp");
  data.write(plotData(runs));
  script.write(kPlotScript);
  // `-o -`: drawn into a scratch file first, so that a failed write to standard output is seen.
  OutputFile image(o.output == "-" ? scratch_dir + "/vmmu-plot.png" : o.output);
  const ProgramResult gnuplot = runGnuplot({"gnuplot", "-c", script.path(), data.path(), image.path(), terminal,
                                             "vmmu run: " + report.at("trace").get<std::string>() + " (" +
                                                 report.at("backend").get<std::string>() + " backend)",
                                             std::to_string(runs.size()), adaptive ? "1" : "0"});
  // gnuplot's error is its last line (after the offending command and a ^ under it).
  const std::string message = lastLine(gnuplot.output);
  if (gnuplot.status != 0)
    throw std::runtime_error("plot: gnuplot failed (exit status " + std::to_string(gnuplot.status) + ")" +
                             (message.empty() ? std::string() : ": " + message));
  if (o.output == "-") {
    std::ifstream drawn(image.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << drawn.rdbuf();
    writeOutput("-", bytes.str());
  } else {
    image.commit();
    std::printf("wrote %s\n", o.output.c_str());
  }
  return 0;
}

}  // namespace

void addPlotCommand(CLI::App &app, Action &action) {
  auto o = std::make_shared<PlotOptions>();
  CLI::App *plot = app.add_subcommand("plot", "Draw a `vmmu run --json` report with gnuplot");
  plot->add_option("RESULT", o->input, "The JSON report (vmmu run --json)")->required();
  plot->add_option("-o,--output", o->output, "The image: .png, .svg or .pdf (-: PNG on standard output)")
      ->required();
  plot->callback([o, &action] { action = [o] { return runPlot(*o); }; });
}

}  // namespace vmmu::cli
