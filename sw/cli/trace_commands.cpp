// trace_commands.cpp - `vmmu trace info|dump|import|mix|gen` and `vmmu record`.
//
// Trace problems (unreadable, corrupt, truncated input; unwritable output) are reported by the
// caller as one line "vmmu: error: ..." with exit status 1; bad options as usage errors (status
// 2). Every output is an OutputFile: written under a temporary name and renamed when complete, so
// a failure leaves the previous file (or none) and no partial one.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "command_line.h"
#include "output_file.h"
#include "program.h"
#include "vmmu/trace/input.h"
#include "vmmu/trace/generate.h"
#include "vmmu/trace/lackey.h"
#include "vmmu/trace/mix.h"
#include "vmmu/trace/reader.h"
#include "vmmu/trace/summary.h"
#include "vmmu/trace/text.h"
#include "vmmu/trace/writer.h"

namespace vmmu::cli {

namespace trace = vmmu::trace;

namespace {

int traceInfo(const std::string &path) {
  trace::TraceReader reader(path);
  const trace::TraceSummary summary = trace::summarize(reader);
  trace::printSummary(reader, summary, stdout);
  return 0;
}

int traceDump(const std::string &path, const std::string &output) {
  checkNotAnInput("-o", output, {path});
  trace::TraceReader reader(path);
  if (output == "-") {
    trace::dumpTrace(reader, stdout);
    return 0;
  }
  OutputFile file(output);
  std::unique_ptr<std::FILE, int (*)(std::FILE *)> out(std::fopen(file.path().c_str(), "w"), &std::fclose);
  if (!out)
    throw OutputError(output + ": cannot write: " + std::strerror(errno));
  trace::dumpTrace(reader, out.get());
  if (std::fflush(out.get()) != 0 || std::ferror(out.get()))
    throw OutputError(output + ": write failed: " + std::strerror(errno));
  out.reset();
  file.commit();
  return 0;
}

int traceImport(const std::string &input, const std::string &output, const std::string &command) {
  checkNotAnInput("-o", output, {input});
  // A named input must be a regular file: a FIFO with no writer would block, /dev/zero never ends.
  trace::InputFile file;
  std::FILE *in = stdin;
  if (input != "-") {
    try {
      file = trace::openRegularFile(input);
    } catch (const trace::InputFileError &e) {
      throw trace::TraceError(e.what());
    }
    in = file.get();
  }
  OutputFile out(output);
  trace::importTrace(in, input == "-" ? "<stdin>" : input, out.path(),
                     trace::makeHeader("vmmu trace import", command));
  out.commit();
  return 0;
}

int traceMix(const std::vector<std::string> &inputs, const std::string &output, uint64_t quantum,
             const std::string &command) {
  checkNotAnInput("-o", output, inputs);
  OutputFile out(output);
  const trace::MixResult result = trace::mixTraces(
      inputs, out.path(), trace::makeHeader("vmmu trace mix --quantum " + std::to_string(quantum), command), quantum);
  out.commit();
  std::fprintf(stderr, "vmmu trace mix: %" PRIu64 " events, %" PRIu64 " context switches -> %s\n", result.events,
               result.switches, output.c_str());
  return 0;
}

struct GenCommandOptions {
  std::string kind;
  std::string output;
  trace::GenOptions gen;
};

int traceGen(const GenCommandOptions &c, const std::string &command) {
  trace::GenOptions o = c.gen;
  o.kind = *trace::genKindFromString(c.kind);  // oneOf checked the name
  std::string tool = "vmmu trace gen " + c.kind + " --footprint-mib " + std::to_string(o.footprint_mib) +
                     " --accesses " + std::to_string(o.accesses) + " --procs " + std::to_string(o.procs) +
                     " --quantum " + std::to_string(o.quantum) + " --seed " + std::to_string(o.seed);
  if (o.kind == trace::GenKind::Phased)
    tool += " --build-percent " + std::to_string(o.build_percent) + " --job-mib " + std::to_string(o.job_mib);
  OutputFile out(c.output);
  const trace::GenResult r = trace::generateTrace(o, out.path(), trace::makeHeader(tool, command));
  out.commit();
  std::fprintf(stderr,
               "vmmu trace gen: %" PRIu64 " events, %" PRIu64 " accesses, %" PRIu64 " processes, %" PRIu64
               " context switches -> %s\n",
               r.events, r.accesses, r.processes, r.switches, c.output.c_str());
  return 0;
}

std::vector<std::string> genKinds() {
  std::vector<std::string> kinds;
  const std::string names(trace::kGenKindNames);
  for (size_t at = 0; at < names.size();) {
    const size_t comma = names.find(", ", at);
    kinds.push_back(names.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    at = comma == std::string::npos ? names.size() : comma + 2;
  }
  return kinds;
}

// --- vmmu record -----------------------------------------------------------------------------

std::string_view baseName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == path.npos ? path : path.substr(slash + 1);
}

// Reads lines of any length from a file descriptor.
class LineReader {
public:
  explicit LineReader(int fd) : fd_(fd) {}
  bool next(std::string &line) {
    line.clear();
    for (;;) {
      if (pos_ == len_) {
        const ssize_t got = readRetrying(fd_, buf_, sizeof buf_);
        if (got <= 0)
          return !line.empty();
        pos_ = 0;
        len_ = static_cast<size_t>(got);
      }
      const char *start = buf_ + pos_;
      const void *newline = std::memchr(start, '\n', len_ - pos_);
      if (newline) {
        const size_t n = static_cast<const char *>(newline) - start;
        line.append(start, n);
        pos_ += n + 1;
        return true;
      }
      line.append(start, len_ - pos_);
      pos_ = len_;
    }
  }

private:
  int fd_;
  char buf_[64 * 1024];
  size_t pos_ = 0, len_ = 0;
};

// `vmmu record`'s default limit: about a minute of lackey on this project's machines, and a
// trace of a few tens of MB; a program that makes more is stopped there (0 lifts the limit).
constexpr uint64_t kDefaultRecordAccesses = 50'000'000;

struct RecordOptions {
  std::string output;
  uint64_t max_accesses = kDefaultRecordAccesses;
  uint64_t skip = 0;
  bool no_fold = false;
  std::vector<std::string> command;
};

int runRecord(const RecordOptions &o) {
  if (o.command.empty())
    usageError("COMMAND", "missing the command to record (after --)");
  if (o.output == "-")
    usageError("-o", "record cannot write the trace to standard output: the recorded command writes there");
  if (!isProgram(o.command.front()))
    throw trace::TraceError("record: cannot run '" + o.command.front() + "': no such program" +
                            (o.command.front().find('/') == std::string::npos ? " on PATH" : ""));
  const std::string valgrind_version =
      isProgram("valgrind") ? firstLine(runProgram({"valgrind", "--version"}).output) : std::string();
  if (valgrind_version.empty())
    throw trace::TraceError("record: valgrind is not installed or not on PATH (Debian package 'valgrind')");

  std::vector<const char *> command_argv;
  for (const std::string &arg : o.command)
    command_argv.push_back(arg.c_str());
  trace::TraceHeader header = trace::makeHeader(
      "vmmu record: " + valgrind_version + " --tool=lackey --trace-mem=yes --trace-syscalls=yes",
      commandLine(static_cast<int>(command_argv.size()), command_argv.data()));
  header.set("max-accesses", o.max_accesses ? std::to_string(o.max_accesses) : "unlimited");
  header.set("skip", std::to_string(o.skip));
  header.set("rep-strings", o.no_fold ? "as valgrind logs them" : "folded to one access per cache line");
  header.set("captured", "user-space instruction fetches and data accesses of the recorded process (its threads "
                         "merged as one), and its mmap/munmap/mprotect/mremap/brk calls, at the addresses valgrind "
                         "gave them; not captured: kernel activity, child processes, valgrind's own mappings of the "
                         "executable, loader and stack");
  OutputFile out(o.output);
  trace::TraceWriter writer(out.path(), header);

  int fds[2];
  if (pipe(fds) != 0)
    throw trace::TraceError(std::string("record: pipe failed: ") + std::strerror(errno));
  const pid_t child = fork();
  if (child < 0)
    throw trace::TraceError(std::string("record: fork failed: ") + std::strerror(errno));
  if (child == 0) {
    ::close(fds[0]);
    const std::string log_fd = "--log-fd=" + std::to_string(fds[1]);
    std::vector<char *> argv_valgrind;
    std::string tool = "--tool=lackey", mem = "--trace-mem=yes", sys = "--trace-syscalls=yes", name = "valgrind";
    argv_valgrind.push_back(name.data());
    argv_valgrind.push_back(tool.data());
    argv_valgrind.push_back(mem.data());
    argv_valgrind.push_back(sys.data());
    argv_valgrind.push_back(const_cast<char *>(log_fd.c_str()));
    for (const std::string &arg : o.command)
      argv_valgrind.push_back(const_cast<char *>(arg.c_str()));
    argv_valgrind.push_back(nullptr);
    execvp("valgrind", argv_valgrind.data());
    std::fprintf(stderr, "vmmu: error: record: cannot run valgrind: %s\n", std::strerror(errno));
    _exit(127);
  }
  ::close(fds[1]);

  trace::LackeyImporter importer(writer, 1, std::string(baseName(o.command.front())),
                                 trace::LackeyImporter::Options{o.max_accesses, o.skip, !o.no_fold});
  LineReader lines(fds[0]);
  std::string line;
  bool stopped = false;
  // Progress on stderr about once a second: lackey runs programs 50-100x slower than native.
  const auto started = std::chrono::steady_clock::now();
  auto last_progress = started;
  uint64_t lines_read = 0;
  try {
    while (lines.next(line)) {
      if ((++lines_read & 0xffff) == 0) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_progress >= std::chrono::seconds(1)) {
          last_progress = now;
          const double seconds = std::chrono::duration<double>(now - started).count();
          std::fprintf(stderr, "vmmu record: %" PRIu64 " accesses so far, %.2f M/s, %.0f s%s\n", importer.accesses(),
                       static_cast<double>(importer.accesses()) / seconds / 1e6, seconds,
                       o.max_accesses ? (" (stops at " + std::to_string(o.max_accesses) + ")").c_str() : "");
        }
      }
      if (!importer.consume(line)) {
        // The limit is reached: stop the program (it is our child) rather than trace it to the end.
        ::kill(child, SIGKILL);
        stopped = true;
        break;
      }
    }
  } catch (...) {
    ::kill(child, SIGKILL);
    ::close(fds[0]);
    waitpid(child, nullptr, 0);
    throw;
  }
  ::close(fds[0]);
  const int status = waitForChild(child, "valgrind");
  importer.finish();
  writer.finish();
  if (importer.accesses() == 0)
    throw trace::TraceError(importer.skipped() != 0
                                ? "record: the program made only " + std::to_string(importer.skipped()) +
                                      " accesses, all of them skipped (--skip " + std::to_string(o.skip) + ")"
                                : "record: valgrind recorded no accesses; is '" + o.command.front() +
                                      "' a program on PATH?");
  // A command that failed still ran: its trace is complete and kept, and the status says so.
  out.commit();
  const std::string resident = o.skip == 0 ? std::string()
                                            : ", their " + std::to_string(importer.residentPages()) +
                                                  " resident pages touched first";
  std::fprintf(stderr,
               "vmmu record: %" PRIu64 " accesses (%" PRIu64 " skipped%s, %" PRIu64
               " rep-string accesses folded), %" PRIu64 " region changes%s -> %s\n",
               importer.accesses(), importer.skipped(), resident.c_str(), importer.folded(),
               importer.regionChanges(), stopped ? " (stopped at --max-accesses)" : "", o.output.c_str());
  if (!stopped && WIFEXITED(status) && WEXITSTATUS(status) != 0)
    throw trace::TraceError("record: the recorded command exited with status " +
                            std::to_string(WEXITSTATUS(status)) + " (trace written to " + o.output + ")");
  if (!stopped && WIFSIGNALED(status))
    throw trace::TraceError("record: the recorded command was killed by signal " +
                            std::to_string(WTERMSIG(status)) + " (trace written to " + o.output + ")");
  return 0;
}

}  // namespace

void addTraceCommands(CLI::App &app, Action &action, const std::string &command_line) {
  CLI::App *trace_app = app.add_subcommand("trace", "Inspect, convert, mix and generate .vmt traces");
  trace_app->require_subcommand(1);

  {
    auto path = std::make_shared<std::string>();
    CLI::App *info = trace_app->add_subcommand("info", "What a trace holds and how it was made");
    info->add_option("TRACE", *path, "The .vmt trace")->required();
    info->callback([path, &action] { action = [path] { return traceInfo(*path); }; });
  }
  {
    auto o = std::make_shared<std::pair<std::string, std::string>>("", "-");
    CLI::App *dump = trace_app->add_subcommand("dump", "A trace as text, one event a line");
    dump->add_option("TRACE", o->first, "The .vmt trace")->required();
    dump->add_option("-o,--output", o->second, "The text file (-: standard output)");
    dump->callback([o, &action] { action = [o] { return traceDump(o->first, o->second); }; });
  }
  {
    auto o = std::make_shared<std::pair<std::string, std::string>>("-", "");
    CLI::App *import = trace_app->add_subcommand("import", "A trace from its text form (trace dump's)");
    import->add_option("TEXT", o->first, "The text file (-: standard input)");
    import->add_option("-o,--output", o->second, "The .vmt trace (-: standard output)")->required();
    import->callback([o, &action, command_line] {
      action = [o, command_line] { return traceImport(o->first, o->second, command_line); };
    });
  }
  {
    struct MixOptions {
      std::vector<std::string> inputs;
      std::string output;
      uint64_t quantum = 0;
    };
    auto o = std::make_shared<MixOptions>();
    CLI::App *mix = trace_app->add_subcommand("mix", "Interleave traces on one CPU, a quantum of accesses a turn");
    mix->add_option("TRACES", o->inputs, "The .vmt traces to mix")->required();
    mix->add_option("-o,--output", o->output, "The mixed .vmt trace (-: standard output)")->required();
    mix->add_option("--quantum", o->quantum, "Accesses per turn")->required()->check(wholeNumber(1, UINT64_MAX));
    mix->callback([o, &action, command_line] {
      action = [o, command_line] { return traceMix(o->inputs, o->output, o->quantum, command_line); };
    });
  }
  {
    auto o = std::make_shared<GenCommandOptions>();
    CLI::App *gen = trace_app->add_subcommand("gen", "A synthetic trace (docs/trace-format.md, \"Synthetic traces\")");
    gen->add_option("KIND", o->kind, "The workload")->required()->check(oneOf(genKinds()));
    gen->add_option("-o,--output", o->output, "The .vmt trace (-: standard output)")->required();
    gen->add_option("--footprint-mib", o->gen.footprint_mib, "Data footprint in MiB")->check(wholeNumber(1, 1 << 20));
    gen->add_option("--accesses", o->gen.accesses, "User accesses")->check(wholeNumber(1, 10'000'000'000ull));
    gen->add_option("--procs", o->gen.procs, "Processes live at once")->check(wholeNumber(1, 100'000));
    gen->add_option("--quantum", o->gen.quantum, "Accesses per turn before a context switch")
        ->check(wholeNumber(1, UINT64_MAX));
    gen->add_option("--seed", o->gen.seed, "Random seed")->check(wholeNumber(0, UINT64_MAX));
    gen->add_option("--build-percent", o->gen.build_percent,
                    "phased: share of the accesses in the build phase (the rest: random over the footprint)")
        ->check(wholeNumber(1, 99));
    gen->add_option("--job-mib", o->gen.job_mib, "phased: footprint of each build job in MiB")
        ->check(wholeNumber(1, 1 << 20));
    gen->callback([o, &action, command_line] { action = [o, command_line] { return traceGen(*o, command_line); }; });
  }
}

void addRecordCommand(CLI::App &app, Action &action) {
  auto o = std::make_shared<RecordOptions>();
  CLI::App *record = app.add_subcommand("record", "Record a program's memory accesses under valgrind lackey");
  record->add_option("-o,--output", o->output, "The .vmt trace")->required();
  record->add_option("--max-accesses", o->max_accesses, "Stop the program after N accesses (0: no limit)")
      ->check(wholeNumber(0, UINT64_MAX))
      ->capture_default_str();
  record->add_option("--skip", o->skip,
                     "Drop the first N accesses (a start-up prefix); its region changes are kept")
      ->check(wholeNumber(0, UINT64_MAX))
      ->capture_default_str();
  record->add_flag("--no-fold", o->no_fold,
                   "Keep every access of rep-string instructions as valgrind logs them (default: one per cache "
                   "line)");
  record->add_option("COMMAND", o->command, "The program and its arguments (after --)")->default_str("");
  record->callback([o, &action] { action = [o] { return runRecord(*o); }; });
}

}  // namespace vmmu::cli
