// program.h - running the helper programs `vmmu` uses (gnuplot, valgrind): never through a shell.
#ifndef VMMU_CLI_PROGRAM_H
#define VMMU_CLI_PROGRAM_H

#include <sys/types.h>

#include <string>
#include <vector>

namespace vmmu::cli {

struct ProgramResult {
  int status = 0;      // exit status, or 128 + the signal that ended it
  std::string output;  // standard output and standard error together (the first 64 KiB)
};

// Runs `args` (args[0] looked up on PATH, no shell, nothing it reads from the user's terminal)
// and waits for it; throws std::runtime_error naming args[0] when it cannot be started.
ProgramResult runProgram(const std::vector<std::string> &args);

// read(2) that reads again when a signal interrupts it: the bytes read, 0 at the end, or -1 with
// errno set on an error.
ssize_t readRetrying(int fd, void *buffer, size_t size);

// Waits for the child process `pid` to end and returns its wait status (as waitpid gives it),
// waiting again when a signal interrupts the wait; throws std::runtime_error naming `what` when
// there is no status to wait for (the caller ignores SIGCHLD, so the kernel reaped the child).
int waitForChild(pid_t pid, const std::string &what);

// Whether `program` is an executable file, looked up on PATH unless it names a path, as execvp
// would find it.
bool isProgram(const std::string &program);

// The first and the last line of `text` that are not blank, without leading blanks.
std::string firstLine(const std::string &text);
std::string lastLine(const std::string &text);

}  // namespace vmmu::cli

#endif  // VMMU_CLI_PROGRAM_H
