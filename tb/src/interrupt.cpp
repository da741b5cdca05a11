// interrupt.cpp - the signal flag. A signal handler can only communicate through a static of type
// volatile sig_atomic_t: this file-local one is the testbench's only mutable static.
#include "interrupt.h"

#include <csignal>

namespace vmmu::tb {
namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void onSignal(int signal) { g_signal = signal; }

}  // namespace

void installInterruptHandlers() {
  struct sigaction action = {};
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int interruptSignal() { return g_signal; }

}  // namespace vmmu::tb
