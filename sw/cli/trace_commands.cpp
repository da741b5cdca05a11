// trace_commands.cpp - `vmmu trace info|dump|import|mix|gen` and `vmmu record`.
//
// Trace problems (unreadable, corrupt, truncated input; unwritable output) are reported by the
// caller as one line "vmmu: error: ..." with exit status 1; bad options as UsageError (status 2).
#include "trace_commands.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli_options.h"
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

// The command line that is running, for the "command" field of headers.
std::string commandLine(std::string_view prefix, int argc, char **argv) {
  std::string line(prefix);
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    line += ' ';
    if (!arg.empty() && arg.find_first_of(" \t\"'\\$`") == arg.npos) {
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

std::string requireOutput(const std::string &output, std::string_view command) {
  if (output.empty())
    throw UsageError(std::string(command) + ": missing -o FILE");
  return output;
}

int traceInfo(ArgCursor args) {
  std::string path;
  while (!args.done()) {
    const std::string_view arg = args.next();
    if (!arg.empty() && arg[0] == '-')
      throw UsageError("unknown option '" + std::string(arg) + "' for 'vmmu trace info'");
    if (!path.empty())
      throw UsageError("trace info: expected one trace file, got a second: '" + std::string(arg) + "'");
    path = arg;
  }
  if (path.empty())
    throw UsageError("trace info: missing the trace file");
  trace::TraceReader reader(path);
  const trace::TraceSummary summary = trace::summarize(reader);
  trace::printSummary(reader, summary, stdout);
  return 0;
}

int traceDump(ArgCursor args) {
  std::string path, output;
  while (!args.done()) {
    const std::string_view arg = args.next();
    if (arg == "-o")
      output = args.value(arg);
    else if (!arg.empty() && arg[0] == '-')
      throw UsageError("unknown option '" + std::string(arg) + "' for 'vmmu trace dump'");
    else if (!path.empty())
      throw UsageError("trace dump: expected one trace file, got a second: '" + std::string(arg) + "'");
    else
      path = arg;
  }
  if (path.empty())
    throw UsageError("trace dump: missing the trace file");
  trace::TraceReader reader(path);
  std::unique_ptr<std::FILE, int (*)(std::FILE *)> file(nullptr, &std::fclose);
  std::FILE *out = stdout;
  if (!output.empty() && output != "-") {
    file.reset(std::fopen(output.c_str(), "w"));
    if (!file)
      throw trace::TraceError(output + ": cannot create: " + std::strerror(errno));
    out = file.get();
  }
  trace::dumpTrace(reader, out);
  if (std::fflush(out) != 0 || std::ferror(out))
    throw trace::TraceError((output.empty() ? std::string("stdout") : output) + ": write failed");
  return 0;
}

int traceImport(ArgCursor args, const std::string &command) {
  std::string input, output;
  while (!args.done()) {
    const std::string_view arg = args.next();
    if (arg == "-o")
      output = args.value(arg);
    else if (arg != "-" && !arg.empty() && arg[0] == '-')
      throw UsageError("unknown option '" + std::string(arg) + "' for 'vmmu trace import'");
    else if (!input.empty())
      throw UsageError("trace import: expected one text file, got a second: '" + std::string(arg) + "'");
    else
      input = arg;
  }
  requireOutput(output, "trace import");
  if (input.empty())
    input.push_back('-');  // read stdin (push_back sidesteps a GCC 12 -Wrestrict false positive)
  std::unique_ptr<std::FILE, int (*)(std::FILE *)> file(nullptr, &std::fclose);
  std::FILE *in = stdin;
  if (input != "-") {
    file.reset(std::fopen(input.c_str(), "r"));
    if (!file)
      throw trace::TraceError(input + ": cannot open: " + std::strerror(errno));
    in = file.get();
  }
  const trace::TraceHeader fallback = trace::makeHeader("vmmu trace import", command);
  trace::importTrace(in, input == "-" ? "<stdin>" : input, output, fallback);
  return 0;
}

int traceMix(ArgCursor args, const std::string &command) {
  std::string output;
  uint64_t quantum = 0;
  std::vector<std::string> inputs;
  while (!args.done()) {
    const std::string_view arg = args.next();
    if (arg == "-o")
      output = args.value(arg);
    else if (arg == "--quantum")
      quantum = parseUnsigned(arg, args.value(arg), 1, UINT64_MAX);
    else if (!arg.empty() && arg[0] == '-')
      throw UsageError("unknown option '" + std::string(arg) + "' for 'vmmu trace mix'");
    else
      inputs.emplace_back(arg);
  }
  requireOutput(output, "trace mix");
  if (quantum == 0)
    throw UsageError("trace mix: missing --quantum N (accesses per turn)");
  if (inputs.empty())
    throw UsageError("trace mix: missing the input traces");
  for (const std::string &input : inputs) {
    std::error_code ignored;
    if (input == output || std::filesystem::equivalent(input, output, ignored))
      throw UsageError("trace mix: the output '" + output + "' is also an input");
  }
  const trace::MixResult result = trace::mixTraces(
      inputs, output, trace::makeHeader("vmmu trace mix --quantum " + std::to_string(quantum), command), quantum);
  std::fprintf(stderr, "vmmu trace mix: %" PRIu64 " events, %" PRIu64 " context switches -> %s\n", result.events,
               result.switches, output.c_str());
  return 0;
}

int traceGen(ArgCursor args, const std::string &command) {
  if (args.done())
    throw UsageError(std::string("trace gen: missing KIND (") + std::string(trace::kGenKindNames) + ")");
  const std::string_view kind_name = args.next();
  const auto kind = trace::genKindFromString(kind_name);
  if (!kind)
    throw UsageError("trace gen: unknown kind '" + std::string(kind_name) + "' (expected one of " +
                     std::string(trace::kGenKindNames) + ")");
  trace::GenOptions o;
  o.kind = *kind;
  std::string output;
  while (!args.done()) {
    const std::string_view flag = args.next();
    if (flag == "-o")
      output = args.value(flag);
    else if (flag == "--footprint-mib")
      o.footprint_mib = parseUnsigned(flag, args.value(flag), 1, 1 << 20);
    else if (flag == "--accesses")
      o.accesses = parseUnsigned(flag, args.value(flag), 1, 10'000'000'000ull);
    else if (flag == "--procs")
      o.procs = parseUnsigned(flag, args.value(flag), 1, 100'000);
    else if (flag == "--quantum")
      o.quantum = parseUnsigned(flag, args.value(flag), 1, UINT64_MAX);
    else if (flag == "--seed")
      o.seed = parseUnsigned(flag, args.value(flag), 0, UINT64_MAX);
    else
      throw UsageError("unknown option '" + std::string(flag) + "' for 'vmmu trace gen'");
  }
  requireOutput(output, "trace gen");
  const std::string tool = "vmmu trace gen " + std::string(kind_name) + " --footprint-mib " +
                           std::to_string(o.footprint_mib) + " --accesses " + std::to_string(o.accesses) +
                           " --procs " + std::to_string(o.procs) + " --quantum " + std::to_string(o.quantum) +
                           " --seed " + std::to_string(o.seed);
  const trace::GenResult r = trace::generateTrace(o, output, trace::makeHeader(tool, command));
  std::fprintf(stderr,
               "vmmu trace gen: %" PRIu64 " events, %" PRIu64 " accesses, %" PRIu64 " processes, %" PRIu64
               " context switches -> %s\n",
               r.events, r.accesses, r.processes, r.switches, output.c_str());
  return 0;
}

// --- vmmu record -----------------------------------------------------------------------------

// The first line of `command`'s standard output, or "" if it cannot run.
std::string firstLineOf(const char *command) {
  std::unique_ptr<std::FILE, int (*)(std::FILE *)> pipe(popen(command, "r"), &pclose);
  if (!pipe)
    return "";
  char buf[256] = {};
  if (!std::fgets(buf, sizeof buf, pipe.get()))
    return "";
  std::string line = buf;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
    line.pop_back();
  return line;
}

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
        const ssize_t got = ::read(fd_, buf_, sizeof buf_);
        if (got < 0 && errno == EINTR)
          continue;
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

}  // namespace

int runRecord(int argc, char **argv) {
  ArgCursor args(argc, argv);
  std::string output;
  uint64_t max_accesses = 0;
  while (!args.done()) {
    const std::string_view flag = args.next();
    if (flag == "--")
      break;
    if (flag == "-o")
      output = args.value(flag);
    else if (flag == "--max-accesses")
      max_accesses = parseUnsigned(flag, args.value(flag), 1, UINT64_MAX);
    else
      throw UsageError("unknown option '" + std::string(flag) + "' for 'vmmu record' (put the command after --)");
  }
  requireOutput(output, "record");
  if (args.remaining() == 0)
    throw UsageError("record: missing the command to record (after --)");
  char **command = args.rest();
  const int command_argc = args.remaining();

  const std::string valgrind_version = firstLineOf("valgrind --version 2>/dev/null");
  if (valgrind_version.empty())
    throw trace::TraceError("record: valgrind is not installed or not on PATH (Debian package 'valgrind')");

  trace::TraceHeader header = trace::makeHeader(
      "vmmu record: " + valgrind_version + " --tool=lackey --trace-mem=yes --trace-syscalls=yes",
      commandLine("", command_argc, command).substr(1));
  header.set("max-accesses", max_accesses ? std::to_string(max_accesses) : "unlimited");
  header.set("captured", "user-space instruction fetches and data accesses of the recorded process (its threads "
                         "merged as one), and its mmap/munmap/mprotect/mremap/brk calls, at the addresses valgrind "
                         "gave them; not captured: kernel activity, child processes, valgrind's own mappings of the "
                         "executable, loader and stack");
  trace::TraceWriter writer(output, header);

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
    for (int i = 0; i < command_argc; ++i)
      argv_valgrind.push_back(command[i]);
    argv_valgrind.push_back(nullptr);
    execvp("valgrind", argv_valgrind.data());
    std::fprintf(stderr, "vmmu: error: record: cannot run valgrind: %s\n", std::strerror(errno));
    _exit(127);
  }
  ::close(fds[1]);

  trace::LackeyImporter importer(writer, 1, std::string(baseName(command[0])), max_accesses);
  LineReader lines(fds[0]);
  std::string line;
  bool stopped = false;
  try {
    while (lines.next(line)) {
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
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  importer.finish();
  writer.finish();
  std::fprintf(stderr, "vmmu record: %" PRIu64 " accesses, %" PRIu64 " region changes%s -> %s\n",
               importer.accesses(), importer.regionChanges(), stopped ? " (stopped at --max-accesses)" : "",
               output.c_str());
  if (importer.accesses() == 0)
    throw trace::TraceError("record: valgrind recorded no accesses; is '" + std::string(command[0]) +
                            "' a program on PATH?");
  if (!stopped && WIFEXITED(status) && WEXITSTATUS(status) != 0)
    throw trace::TraceError("record: the recorded command exited with status " +
                            std::to_string(WEXITSTATUS(status)) + " (trace written to " + output + ")");
  if (!stopped && WIFSIGNALED(status))
    throw trace::TraceError("record: the recorded command was killed by signal " +
                            std::to_string(WTERMSIG(status)) + " (trace written to " + output + ")");
  return 0;
}

void printTraceUsage(std::FILE *out) {
  std::fprintf(out,
               "       vmmu trace info FILE.vmt\n"
               "       vmmu trace dump FILE.vmt [-o TEXT]\n"
               "       vmmu trace import [TEXT|-] -o FILE.vmt\n"
               "       vmmu trace mix --quantum N -o OUT.vmt IN.vmt...\n"
               "       vmmu trace gen KIND [--footprint-mib M] [--accesses N] [--procs P] [--quantum Q] [--seed S] "
               "-o FILE.vmt\n"
               "              KIND: %s\n"
               "       vmmu record [--max-accesses N] -o FILE.vmt -- COMMAND [ARGS...]\n",
               std::string(trace::kGenKindNames).c_str());
}

int runTrace(int argc, char **argv) {
  if (argc < 1)
    throw UsageError("trace: missing subcommand (info, dump, import, mix, gen)");
  const std::string_view sub = argv[0];
  const std::string command = commandLine("vmmu trace", argc, argv);
  ArgCursor args(argc - 1, argv + 1);
  if (sub == "info")
    return traceInfo(args);
  if (sub == "dump")
    return traceDump(args);
  if (sub == "import")
    return traceImport(args, command);
  if (sub == "mix")
    return traceMix(args, command);
  if (sub == "gen")
    return traceGen(args, command);
  throw UsageError("trace: unknown subcommand '" + std::string(sub) + "' (info, dump, import, mix, gen)");
}

}  // namespace vmmu::cli
