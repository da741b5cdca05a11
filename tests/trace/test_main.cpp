// test_main.cpp - GoogleTest entry point of the trace tests: removes the scratch directory that
// the tests write their traces to once they are done.
#include <gtest/gtest.h>

#include <system_error>

#include "trace_test_support.h"

namespace {

class ScratchCleanup : public ::testing::Environment {
public:
  void TearDown() override {
    std::error_code ignored;  // a leftover scratch file is not a test failure
    std::filesystem::remove_all(vmmu::trace::testing::scratchDir(), ignored);
  }
};

}  // namespace

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new ScratchCleanup);  // gtest takes ownership
  return RUN_ALL_TESTS();
}
