// interrupt.h - SIGINT / SIGTERM end a run cleanly: the environment stops at the next cycle, the
// wave file being written is discarded (an earlier file of that name is kept) and vmmu_tb exits
// with status 1 and a one-line message, instead of dying with a temporary file left behind.
#pragma once

namespace vmmu::tb {

void installInterruptHandlers();
// The signal that asked the run to stop, or 0.
int interruptSignal();

}  // namespace vmmu::tb
