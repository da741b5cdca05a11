// run_command.h - `vmmu run` (a trace through every approach) and `vmmu plot` (its JSON as a PNG).
#ifndef VMMU_CLI_RUN_COMMAND_H
#define VMMU_CLI_RUN_COMMAND_H

#include <cstdio>

namespace vmmu::cli {

// argv starts after "run" / "plot". Bad options throw UsageError.
int runRun(int argc, char **argv);
int runPlot(int argc, char **argv);

void printRunUsage(std::FILE *out);

}  // namespace vmmu::cli

#endif  // VMMU_CLI_RUN_COMMAND_H
