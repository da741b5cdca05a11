// env.cpp - environment assembly and the cycle loop.

// The verilated headers come first: included after SystemC they would take SystemC's time
// source, which the verilated library (built without SystemC) does not use.
#include "Vmmu_top.h"

#include "env.h"
#include "interrupt.h"

#include <algorithm>

namespace vmmu::tb {
namespace {

MemoryKnobs withInjection(MemoryKnobs knobs, const TbOptions &options) {
  knobs.inject_at = options.inject;
  knobs.inject_kind = options.inject_kind;
  return knobs;
}

}  // namespace

Env::Env(sc_core::sc_module_name name, const EnvKnobs &knobs, const TbOptions &options, const MmuConfig &config,
         SparseMemory &dut_memory, SparseMemory &model_memory, ReportServer &reporter, Random random)
    : Component(name), sequencer("sequencer"), knobs_(knobs), options_(options), reporter_(reporter),
      dut_memory_(dut_memory), random_(random),
      dut_("dut", DutOptions{options.wave_file, options.wave_start, options.wave_stop, options.coverage_file}),
      request_("request", dut_.top()), control_("control", dut_.top()),
      response_("response", dut_.top(), random_.fork(), knobs.response_stall_permille, reporter),
      memory_("memory", dut_.top(), dut_memory, withInjection(knobs.memory, options), random_.fork(), reporter) {
  // SystemC creates modules in their parent's constructor: the checking components exist from
  // here, so that the phase runner finds them below the env.
  if (!options.bare) {
    scoreboard_ = std::make_unique<Scoreboard>("scoreboard", config, model_memory, reporter, options);
    isolation_ = std::make_unique<IsolationChecker>("isolation", config, reporter);
    coverage_ = std::make_unique<Coverage>("coverage", config);
  }
  stlb_sweep_cycles_ = config.stlb.sets;
  SC_THREAD(runPhase);
}

void Env::connectPhase() {
  if (!scoreboard_)
    return;  // +bare: nothing observes the monitors
  request_.monitor.port.connect(*scoreboard_);
  response_.monitor.port.connect(*scoreboard_);
  control_.monitor.port.connect(*scoreboard_);
  control_.monitor.port.connect(*coverage_);
  memory_.monitor.port.connect(*scoreboard_);
  // The isolation checker takes each port's transactions in the same cycle order.
  request_.monitor.port.connect(*isolation_);
  response_.monitor.port.connect(*isolation_);
  control_.monitor.port.connect(*isolation_);
  memory_.monitor.port.connect(*isolation_);
  scoreboard_->checked_port.connect(*coverage_);
  isolation_->churn_port.connect(*coverage_);
}

bool Env::quiescent() const {
  return accepted_ == responded_ && !request_.driver.busy() && !control_.driver.busy() && memory_.responder.idle() &&
         !dut_.top().mem_req_valid_o;
}

void Env::applyQuiescentItem() {
  if (item_.kind == SequenceItem::Kind::TableWrite) {
    const TableWrite &change = item_.table_write;
    dut_memory_.write64(change.addr, change.apply(dut_memory_.peek64(change.addr)));
    if (scoreboard_)
      scoreboard_->tableWrite(change);
  } else if (item_.kind == SequenceItem::Kind::Checkpoint && scoreboard_) {
    scoreboard_->checkCounters(dut_);
  }
  waiting_quiescent_ = false;
}

bool Env::dispatch() {
  const uint64_t now = dut_.cycle();
  if (now < idle_until_ || request_.driver.busy() || control_.driver.busy())
    return true;
  if (waiting_quiescent_) {
    if (!quiescent())
      return true;
    applyQuiescentItem();
  }
  if (!sequencer.next(item_))
    return !quiescent();
  switch (item_.kind) {
  case SequenceItem::Kind::Request:
    request_.driver.start(item_.request);
    if (knobs_.request_gap_permille && random_.permille(knobs_.request_gap_permille))
      idle_until_ = now + 1 + random_.below(3);
    break;
  case SequenceItem::Kind::Control:
    control_.driver.start(item_.control);
    break;
  case SequenceItem::Kind::TableWrite:
  case SequenceItem::Kind::Checkpoint:
    waiting_quiescent_ = true;
    if (quiescent())
      applyQuiescentItem();
    break;
  case SequenceItem::Kind::Idle:
    idle_until_ = now + item_.idle_cycles;
    break;
  }
  return true;
}

// §12: while the walker waits for memory (mem_wait_o, a function of registers, so valid after
// the last tick) and the response is not due, the DUT changes nothing but WALK_CYCLES whatever
// its other inputs. The cycles before the response are skipped when every component would do in
// each of them what is replayed here: the dispatcher nothing (a driver holds an item the DUT
// cannot accept during a walk, a table write or checkpoint waits for quiescence, or the sequence
// idles), the drivers drive the same inputs (the response driver's stall draws are made), the
// monitors see no transfer and count the same stalls, the responder's clock advances, and the
// watchdog does not fire. Not with waves: they record every cycle.
void Env::skipMemoryWait() {
  if (options_.no_cycle_skip || !options_.wave_file.empty() || !dut_.top().mem_wait_o)
    return;
  const uint64_t now = dut_.cycle();
  uint64_t cycles = memory_.responder.cyclesBeforeResponse();
  const bool driver_holds = request_.driver.busy() || control_.driver.busy();
  if (!driver_holds && !waiting_quiescent_)
    cycles = now < idle_until_ ? std::min(cycles, idle_until_ - now) : 0;
  // The cycle in which the watchdog would fire is clocked.
  const uint64_t watchdog_cycle = last_progress_cycle_ + knobs_.watchdog_cycles + 1;
  cycles = std::min(cycles, watchdog_cycle > now ? watchdog_cycle - now : 0);
  if (cycles == 0)
    return;
  if (!options_.bare) {
    // The monitors' stall counts: a held request or command is refused in each cycle.
    if (request_.driver.busy())
      stalls_[static_cast<size_t>(Channel::Request)] += cycles;
    if (control_.driver.busy())
      stalls_[static_cast<size_t>(Channel::Control)] += cycles;
  }
  response_.driver.skip(cycles);
  memory_.responder.skip(cycles);
  dut_.skipMemoryWait(cycles);
}

void Env::runPhase() {
  Vmmu_top &top = dut_.top();
  const bool checking = !options_.bare;
  const sc_core::sc_time period(1, sc_core::SC_NS);
  constexpr uint64_t kTimeBatch = 4096;  // SystemC time advances in batches, not per cycle
  dut_.reset(4);
  if (knobs_.counter_preload != 0)
    dut_.preloadCounters(knobs_.counter_preload);
  uint64_t synced = dut_.cycle();
  last_progress_cycle_ = dut_.cycle();
  for (;;) {
    skipMemoryWait();
    const uint64_t cycle = dut_.cycle();
    reporter_.setCycle(cycle);
    if (!dispatch()) {
      finished_ = true;  // the stimulus ran to its end (errors below +max_errors may have been reported)
      break;
    }
    request_.driver.drive();
    control_.driver.drive();
    response_.driver.drive();
    memory_.responder.drive();
    dut_.settle();
    if (checking) {
      request_.monitor.sample(cycle, stalls_);
      control_.monitor.sample(cycle, stalls_);
      memory_.monitor.sample(cycle, stalls_);
      response_.monitor.sample(cycle, stalls_);
      if (top.req_valid_i && top.ctrl_valid_i && top.req_ready_o && top.ctrl_ready_o)
        reporter_.error(name(), "protocol: a request and a control command were accepted in the same cycle (§12)");
      // §12 hit throughput: with nothing in flight (or only a TLB hit whose response leaves this
      // cycle), no control command and no STLB sweep, a request must be accepted.
      const bool hit_leaving = accepted_ == responded_ + 1 && top.resp_valid_o && top.resp_ready_i && top.resp_tlb_hit_o;
      if (top.req_valid_i && !top.req_ready_o && !top.ctrl_valid_i && (accepted_ == responded_ || hit_leaving) &&
          cycle > sweep_end_cycle_)
        reporter_.error(name(), "timing: req_ready_o low while the MMU is idle (§12: a request is accepted every cycle)");
      // §9.2: a command other than INV_ALL may start a sweep of the STLB's sets, busy for one cycle
      // per set after this one (whether it does depends on its operands; tests/rtl pins the count).
      if (top.ctrl_valid_i && top.ctrl_ready_o && static_cast<CtrlOp>(top.ctrl_op_i) != CtrlOp::InvAll)
        sweep_end_cycle_ = cycle + stlb_sweep_cycles_;
    }
    if (top.req_valid_i && top.req_ready_o) {
      ++accepted_;
      last_progress_cycle_ = cycle;
    }
    if (top.resp_valid_o && top.resp_ready_i) {
      ++responded_;
      last_progress_cycle_ = cycle;
    }
    request_.driver.observe();
    control_.driver.observe();
    memory_.responder.observe();
    dut_.tick();
    if (reporter_.quit(options_.max_errors) || interruptSignal())  // UVM's max quit count, a fatal; a signal
      break;
    if (cycle - last_progress_cycle_ > knobs_.watchdog_cycles && !quiescent()) {
      reporter_.fatal(name(), format("watchdog: no request accepted and no response for %llu cycles (%llu requests "
                                     "accepted, %llu answered)",
                                     static_cast<unsigned long long>(knobs_.watchdog_cycles),
                                     static_cast<unsigned long long>(accepted_), static_cast<unsigned long long>(responded_)));
      break;
    }
    if (quiescent())
      last_progress_cycle_ = cycle;
    if (cycle - synced >= kTimeBatch) {
      wait(period * static_cast<double>(cycle - synced));
      synced = cycle;
    }
  }
  // Waves that cannot be put in place are a failed run, not a message beside a pass.
  if (!dut_.finish(interruptSignal() == 0))
    reporter_.error(name(), "waves: the wave file could not be put in place (see the line above)");
  sc_core::sc_stop();
}

void Env::sampleCoverage() {
  if (coverage_)
    coverage_->sampleEnd(stalls_, memory_.monitor.delayedResponses(), scoreboard_->model(),
                         scoreboard_->stlbRemovals(), scoreboard_->eptPscRemovals());
}

}  // namespace vmmu::tb
