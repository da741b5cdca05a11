// run_test_support.h - what the tests of tests/run share: temporary files and directories, small
// traces, and running a program (the `vmmu` command, valgrind, fst2vcd) as a user would.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "vmmu/run/trace_run.h"
#include "vmmu/trace/event.h"
#include "vmmu/trace/writer.h"
#ifdef VMMU_TEST_HAVE_RTL
#include "vmmu/rtl_backend/rtl_backend.h"
#endif

namespace vmmu::run::testing {

// Whether this build has the RTL backend (VMMU_BUILD_RTL=ON and the harness built), and so
// whether the vmmu command under test takes --backend rtl.
inline bool rtlBackendAvailable() {
#ifdef VMMU_TEST_HAVE_RTL
  return true;
#else
  return false;
#endif
}

// `request` on the RTL backend, plugged in as the vmmu command does it.
inline void useRtlBackend(RunRequest &request) {
  request.backend = BackendKind::Rtl;
#ifdef VMMU_TEST_HAVE_RTL
  request.rtl_backend = vmm::checkedRtlBackendFactory(vmm::RtlBackendOptions{});
#endif
}

// A file in the temporary directory, removed when the test ends.
class TempFile {
public:
  explicit TempFile(const std::string &name)
      : path_((std::filesystem::temp_directory_path() /
               ("vmmu-run-test-" + std::to_string(::getpid()) + "-" + name)).string()) {}
  ~TempFile() { std::filesystem::remove(path_); }
  TempFile(const TempFile &) = delete;
  TempFile &operator=(const TempFile &) = delete;
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

// A fresh directory in the temporary directory, removed with its contents when the test ends:
// the working directory of commands that write files next to themselves.
class TempDir {
public:
  explicit TempDir(const std::string &name) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / ("vmmu-run-test-" + name + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("cannot create a temporary directory " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::string &path() const { return path_; }
  std::string operator/(const std::string &name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

inline void writeTrace(const std::string &path, const std::vector<trace::Event> &events) {
  trace::TraceWriter writer(path, trace::makeHeader("tests/run", "tests/run"));
  for (const trace::Event &event : events)
    writer.write(event);
  writer.finish();
}

inline std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// How a child process runs besides its arguments.
struct ProcessOptions {
  std::string cwd;                                       // empty: the test's own
  std::vector<std::pair<std::string, std::string>> env;  // set in the child's environment
};

struct Outcome {
  int status = -1;  // exit status, or 128 + signal
  std::string out, err;
  std::string firstErrLine() const { return err.substr(0, err.find('\n')); }
};

// Starts `program args...` with stdout and stderr into the files `out` and `err`; returns its pid.
inline pid_t start(const std::string &program, const std::vector<std::string> &args, const std::string &out,
                   const std::string &err, const ProcessOptions &options = {}) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!std::freopen(out.c_str(), "w", stdout) || !std::freopen(err.c_str(), "w", stderr))
      ::_exit(127);
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0)
      ::_exit(127);
    for (const auto &[name, value] : options.env)
      ::setenv(name.c_str(), value.c_str(), 1);
    std::vector<char *> argv;
    argv.push_back(const_cast<char *>(program.c_str()));
    for (const std::string &a : args)
      argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

inline Outcome finish(pid_t pid, const std::string &out, const std::string &err) {
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  Outcome o;
  o.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  o.out = readFile(out);
  o.err = readFile(err);
  return o;
}

// Runs `program args...` to the end and returns what it printed.
inline Outcome runProgram(const std::string &program, const std::vector<std::string> &args,
                          const ProcessOptions &options = {}) {
  const TempDir outputs("outputs");
  return finish(start(program, args, outputs / "out.txt", outputs / "err.txt", options), outputs / "out.txt",
                outputs / "err.txt");
}

// The absolute path of an installed program found on PATH, or empty.
inline std::string findProgram(const std::string &name) {
  const char *path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return {};
}

// The signals and the time stamps of an FST, read through fst2vcd (empty if it cannot run).
struct Waves {
  std::set<std::string> signals;
  std::vector<uint64_t> times;
};

inline Waves readWaves(const std::string &fst2vcd, const std::string &fst) {
  Waves waves;
  const std::string command = fst2vcd + " '" + fst + "' 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE *)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe)
    return waves;
  std::string line;
  for (int c = std::fgetc(pipe.get()); c != EOF; c = std::fgetc(pipe.get())) {
    if (c != '\n') {
      line += static_cast<char>(c);
      continue;
    }
    if (line.rfind("$var ", 0) == 0) {
      std::istringstream fields(line);  // $var wire WIDTH ID NAME ...
      std::string word, name;
      fields >> word >> word >> word >> word >> name;
      waves.signals.insert(name);
    } else if (line.size() > 1 && line[0] == '#') {
      waves.times.push_back(std::stoull(line.substr(1)));
    }
    line.clear();
  }
  return waves;
}

}  // namespace vmmu::run::testing
