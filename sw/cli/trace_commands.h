// trace_commands.h - the `vmmu trace ...` and `vmmu record` subcommands.
#ifndef VMMU_CLI_TRACE_COMMANDS_H
#define VMMU_CLI_TRACE_COMMANDS_H

#include <cstdio>

namespace vmmu::cli {

// `vmmu trace info|dump|import|mix|gen ...`; argv starts after "trace".
int runTrace(int argc, char **argv);
// `vmmu record [--max-accesses N] -o FILE -- COMMAND ARGS...`; argv starts after "record".
int runRecord(int argc, char **argv);

void printTraceUsage(std::FILE *out);

}  // namespace vmmu::cli

#endif  // VMMU_CLI_TRACE_COMMANDS_H
