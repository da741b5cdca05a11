// dut.cpp - the verilated DUT harness.

// The verilated headers come first: included after SystemC they would take SystemC's time
// source, which the verilated library (built without SystemC) does not use.
#include "Vmmu_top.h"
#include "Vmmu_top___024root.h"  // the registers preloadCounters() writes
#include "verilated.h"
#include "verilated_fst_c.h"
#if VMMU_TB_COVERAGE
#include "verilated_cov.h"
#endif

#include "dut.h"
#include "vmmu/types.h"
#include "wave_convention.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

namespace vmmu::tb {

Dut::Dut(sc_core::sc_module_name name, const DutOptions &options)
    : sc_module(name), context_(std::make_unique<VerilatedContext>()), options_(options) {
  if (!options_.file.empty())
    context_->traceEverOn(true);
  top_ = std::make_unique<Vmmu_top>(context_.get(), waves::kTopScope);
  context_->timeprecision(waves::kTimePrecision);
  if (!options_.file.empty()) {
    wave_temp_ = createTemporary(options_.file);
    trace_ = std::make_unique<VerilatedFstC>();
    top_->trace(trace_.get(), 99);
    trace_->open(wave_temp_.c_str());
    if (!trace_->isOpen()) {
      ::unlink(wave_temp_.c_str());
      throw std::runtime_error("vmmu_tb: +wave=" + options_.file + ": cannot open: the FST writer failed");
    }
  }
  top_->clk_i = 0;
  top_->rst_ni = 0;
  top_->eval();
}

// The waves go to a temporary file beside the target (mkstemp), renamed over it when the run
// ends, so an earlier file of that name survives a run that could not start or was cut short.
std::string Dut::createTemporary(const std::string &file) {
  auto fail = [&](const char *reason) {
    return std::runtime_error("vmmu_tb: +wave=" + file + ": cannot open: " + reason);
  };
  struct stat info;
  if (::stat(file.c_str(), &info) == 0 && S_ISDIR(info.st_mode))
    throw fail(std::strerror(EISDIR));
  std::vector<char> name(file.begin(), file.end());
  const char suffix[] = ".XXXXXX";
  name.insert(name.end(), suffix, suffix + sizeof suffix);  // with the terminating NUL
  const int fd = ::mkstemp(name.data());
  if (fd < 0)
    throw fail(std::strerror(errno));
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);  // mkstemp's 0600 is for the temporary; the result is an ordinary file
  ::close(fd);
  return std::string(name.data());
}

// A run that did not end (an exception while building the test) keeps whatever file was there.
Dut::~Dut() { finish(false); }

bool Dut::finish(bool keep_waves) {
  if (finished_)
    return true;
  finished_ = true;
  if (trace_ && trace_->isOpen())
    trace_->close();
  bool placed = true;
  if (!keep_waves && !wave_temp_.empty())
    ::unlink(wave_temp_.c_str());
  else if (!wave_temp_.empty() && std::rename(wave_temp_.c_str(), options_.file.c_str()) != 0) {
    std::fprintf(stderr, "vmmu_tb: +wave=%s: cannot rename %s over it: %s\n", options_.file.c_str(),
                 wave_temp_.c_str(), std::strerror(errno));
    ::unlink(wave_temp_.c_str());
    placed = false;
  }
  top_->final();
#if VMMU_TB_COVERAGE
  if (!options_.coverage_file.empty())
    context_->coveragep()->write(options_.coverage_file.c_str());
#endif
  return placed;
}

void Dut::dump(uint64_t time) {
  if (trace_ && cycle_ >= options_.start_cycle && cycle_ <= options_.stop_cycle)
    trace_->dump(time);
}

void Dut::reset(unsigned cycles) {
  Vmmu_top &t = *top_;
  t.req_valid_i = 0;
  t.resp_ready_i = 0;
  t.mem_req_ready_i = 0;
  t.mem_resp_valid_i = 0;
  t.ctrl_valid_i = 0;
  t.ctr_sel_i = 0;
  t.rst_ni = 0;
  for (unsigned i = 0; i < cycles; ++i) {
    settle();
    tick();
  }
  t.rst_ni = 1;
}

void Dut::settle() {
  top_->clk_i = 0;
  top_->eval();
  dump(waves::clockLowTime(cycle_));
}

void Dut::tick() {
  top_->clk_i = 1;
  top_->eval();
  dump(waves::risingEdgeTime(cycle_));
  ++cycle_;
  context_->time(waves::clockLowTime(cycle_));
}

void Dut::skipMemoryWait(uint64_t cycles) {
  cycle_ += cycles;
  skipped_cycles_ += cycles;
  context_->time(waves::clockLowTime(cycle_));
}

uint64_t Dut::readCounter(unsigned index) {
  top_->ctr_sel_i = index;
  top_->eval();
  const uint64_t skipped = index == static_cast<unsigned>(Counter::WalkCycles) ? skipped_cycles_ : 0;
  const uint64_t base = index < kNumCounters ? counter_base_ : 0;  // unused indices read as zero
  return top_->ctr_value_o + skipped - base;
}

void Dut::preloadCounters(uint64_t value) {
  Vmmu_top___024root &root = *top_->rootp;
  for (unsigned i = 0; i < kNumCounters; ++i) {
    root.mmu_top__DOT__u_perf_counters__DOT__lo_q[i] = static_cast<uint32_t>(value);
    root.mmu_top__DOT__u_perf_counters__DOT__hi_q[i] = static_cast<uint32_t>(value >> 32);
  }
  counter_base_ = value;
}

}  // namespace vmmu::tb
