// run_test_support.h - small traces written by the tests of tests/run.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "vmmu/trace/event.h"
#include "vmmu/trace/writer.h"

namespace vmmu::run::testing {

// A file in the temporary directory, removed when the test ends.
class TempFile {
public:
  explicit TempFile(const std::string &name)
      : path_((std::filesystem::temp_directory_path() /
               ("vmmu-run-test-" + std::to_string(::getpid()) + "-" + name)).string()) {}
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

inline void writeTrace(const std::string &path, const std::vector<trace::Event> &events) {
  trace::TraceWriter writer(path, trace::makeHeader("tests/run", "tests/run"));
  for (const trace::Event &event : events)
    writer.write(event);
  writer.finish();
}

}  // namespace vmmu::run::testing
