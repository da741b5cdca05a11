// output_file_test.cpp - sw/cli/output_file.cpp's table of temporary files, compiled into this test
// (it belongs to the `vmmu` executable): a committed output frees its slot, so a process that
// writes outputs one after another can still have as many temporaries as the table holds, and a
// signal removes every one of them.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "output_file.h"
#include "run_test_support.h"

namespace vmmu::cli {
namespace {

TEST(OutputFile, ACommittedOutputFreesItsSlotForTheSignalHandler) {
  const run::testing::TempFile marker("output-file-dir");
  const std::filesystem::path dir = marker.path() + ".d";
  std::filesystem::create_directories(dir);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    removeTemporariesOnSignals();
    {
      OutputFile first((dir / "first").string());
      first.write("kept\n");
      first.commit();
    }
    // As many temporaries at once as the table has slots (16), after the first one was committed.
    std::vector<std::unique_ptr<OutputFile>> open;
    for (int i = 0; i < 16; ++i)
      open.push_back(std::make_unique<OutputFile>((dir / ("out" + std::to_string(i))).string()));
    raise(SIGTERM);
    _exit(3);  // not reached: the handler ends the process with the signal
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  std::vector<std::string> left;
  for (const auto &entry : std::filesystem::directory_iterator(dir))
    left.push_back(entry.path().filename().string());
  std::filesystem::remove_all(dir);
  EXPECT_EQ(left, std::vector<std::string>{"first"}) << "every temporary removed, the committed output kept";
}

}  // namespace
}  // namespace vmmu::cli
