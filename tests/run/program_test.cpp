// program_test.cpp - sw/cli/program.h's runProgram and waitForChild, compiled into this test (the
// `vmmu` command that uses them runs gnuplot and valgrind, which tests cannot make misbehave): the
// status and output of a child, a wait that must not take an earlier call's errno for its own,
// and a child whose status is gone.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "program.h"

namespace vmmu::cli {
namespace {

TEST(RunProgram, ReturnsTheStatusAndBothOutputs) {
  const ProgramResult r = runProgram({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.output, "out\nerr\n");
}

// The output kept stops at the first read that reaches 64 KiB; the rest is read and dropped, so
// that a program writing more than a pipe holds does not block. dd writes 4 KiB at a time, which a
// pipe keeps whole (PIPE_BUF), so each read of the 4 KiB buffer takes one write: 16 reads make
// exactly 64 KiB.
TEST(RunProgram, KeepsTheFirst64KibAndReadsTheRest) {
  const ProgramResult r = runProgram({"/bin/sh", "-c", "dd if=/dev/zero bs=4096 count=25 status=none; exit 4"});
  EXPECT_EQ(r.status, 4) << "the program ran to its end";
  EXPECT_EQ(r.output.size(), 64u * 1024);
}

TEST(RunProgram, ASignalEndingTheChildIs128PlusItsNumber) {
  EXPECT_EQ(runProgram({"/bin/sh", "-c", "kill -TERM $$"}).status, 128 + SIGTERM);
}

// A successful call leaves errno as it was: an EINTR an interrupted read() left must not make the
// wait look interrupted (waiting again for a child already reaped would fail for ever).
TEST(RunProgram, AnEarlierEintrInErrnoIsNotTheWaits) {
  errno = EINTR;
  EXPECT_EQ(runProgram({"/bin/sh", "-c", "exit 5"}).status, 5);
  errno = EINTR;
  EXPECT_EQ(runProgram({"/bin/sh", "-c", "exec >/dev/null 2>&1; sleep 0.3; exit 6"}).status, 6);
}

// The child closes its output, so the read loop ends, and only then exits: the wait must block
// until it has (a wait that does not block would find no status yet).
TEST(RunProgram, WaitsForAChildThatClosedItsOutputEarly) {
  const ProgramResult r = runProgram({"/bin/sh", "-c", "echo early; exec >/dev/null 2>&1; sleep 0.5; exit 7"});
  EXPECT_EQ(r.status, 7);
  EXPECT_EQ(r.output, "early\n");
}

// With SIGCHLD ignored the kernel reaps the child: there is no status to report, and saying 0
// (success) would be a guess.
TEST(RunProgram, NoStatusWhenSigchldIsIgnored) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous {};
  ASSERT_EQ(::sigaction(SIGCHLD, &ignore, &previous), 0);
  try {
    runProgram({"/bin/sh", "-c", "exit 0"});
    ADD_FAILURE() << "runProgram returned a status the kernel discarded";
  } catch (const std::runtime_error &e) {
    EXPECT_EQ(std::string(e.what()), std::string("cannot wait for /bin/sh: ") + std::strerror(ECHILD));
  }
  ::sigaction(SIGCHLD, &previous, nullptr);
}

// The end of a pipe and a read error, each with an earlier call's EINTR still in errno: neither
// may be taken for an interrupted read (reading again would wait for ever).
TEST(ReadRetrying, ReturnsTheBytesTheEndAndErrorsWhateverErrnoHeld) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "abc", 3), 3);
  ::close(fds[1]);
  char buffer[8] = {};
  errno = EINTR;
  EXPECT_EQ(readRetrying(fds[0], buffer, sizeof buffer), 3);
  EXPECT_EQ(std::string(buffer, 3), "abc");
  errno = EINTR;
  EXPECT_EQ(readRetrying(fds[0], buffer, sizeof buffer), 0) << "the end";
  ::close(fds[0]);
  errno = EINTR;
  EXPECT_EQ(readRetrying(-1, buffer, sizeof buffer), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(RunProgram, AProgramThatCannotStartThrows) {
  EXPECT_THROW(runProgram({"/nonexistent/vmmu-no-such-program"}), std::runtime_error);
}

}  // namespace
}  // namespace vmmu::cli
