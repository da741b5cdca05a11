// rtl_backend.cpp - see vmmu/rtl_backend/rtl_backend.h.
#include "vmmu/rtl_backend/rtl_backend.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <sstream>
#include <string_view>
#include <vector>

#include "dut_harness.h"
#include "linked_parameter_sets.h"
#include "vmmu/dut_check.h"
#include "wave_convention.h"

namespace vmmu::vmm {

namespace {

using rtltest::DutHarness;
using rtltest::MemoryBehaviour;
using rtltest::RtlParameterSet;

// How many transactions before a mismatch the suggested wave window starts: enough to see the
// commands and walks that filled the caches the failing transaction used.
constexpr uint64_t kWaveWindowLead = 32;

// The harness gives up on a transaction after 100000 cycles; the longest walk (5-level guest on
// 5-level EPT with every A/D update, under 80 operations) must fit at this cost per operation.
constexpr uint64_t kMaxCyclesPerRef = 1000;

// The linked verilated parameter set `name`, or null.
const RtlParameterSet *findParameterSet(std::string_view name) {
  for (const RtlParameterSet *set : rtltest::linkedParameterSets())
    if (set->name == name)
      return set;
  return nullptr;
}

// The error for a parameter set that is not linked, naming those that are.
std::string unknownParameterSet(std::string_view name) {
  std::string names;
  for (const RtlParameterSet *set : rtltest::linkedParameterSets())
    names += (names.empty() ? "" : ", ") + std::string(set->name);
  return "RtlBackend: no verilated parameter set '" + std::string(name) + "' (this program has: " + names + ")";
}

// The first parameter in which `config` differs from the one parameter set `set` was verilated
// with, or empty.
std::string differenceFromRtl(const MmuConfig &config, const RtlParameterSet &set) {
  const MmuConfig &rtl = set.config;
  std::ostringstream out;
  auto differs = [&](std::string_view name, unsigned wanted, unsigned built) {
    if (wanted == built || !out.str().empty())
      return;
    out << "RtlBackend: the verilated RTL (parameter set " << set.name << ") has " << name << " = " << built
        << ", the config asks for " << wanted;
  };
  differs("guest_levels", config.guest_levels, rtl.guest_levels);
  differs("nested_levels", config.nested_levels, rtl.nested_levels);
  differs("pa_bits", config.pa_bits, rtl.pa_bits);
  differs("num_contexts", config.num_contexts, rtl.num_contexts);
  differs("escape_entries", config.escape_entries, rtl.escape_entries);
  static constexpr std::string_view kSizes[] = {"4K", "2M", "1G"};
  for (unsigned i = 0; i < 3; ++i) {
    const std::string tlb = "tlb[" + std::string(kSizes[i]) + "]";
    differs(tlb + ".sets", config.tlb[i].sets, rtl.tlb[i].sets);
    differs(tlb + ".ways", config.tlb[i].ways, rtl.tlb[i].ways);
    const std::string ntlb = "ntlb[" + std::string(kSizes[i]) + "]";
    differs(ntlb + ".sets", config.ntlb[i].sets, rtl.ntlb[i].sets);
    differs(ntlb + ".ways", config.ntlb[i].ways, rtl.ntlb[i].ways);
  }
  differs("stlb.sets", config.stlb.sets, rtl.stlb.sets);
  differs("stlb.ways", config.stlb.ways, rtl.stlb.ways);
  for (unsigned i = 0; i < config.psc.size(); ++i) {
    const std::string psc = "psc[L" + std::to_string(i + 2) + "]";
    differs(psc + ".sets", config.psc[i].sets, rtl.psc[i].sets);
    differs(psc + ".ways", config.psc[i].ways, rtl.psc[i].ways);
  }
  return out.str();
}

std::string describe(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) {
  std::ostringstream out;
  out << "control op " << static_cast<unsigned>(op) << " ctx " << ctx << " reg " << reg << " data 0x" << std::hex
      << data << std::dec << " vpid " << vpid << " pcid " << pcid;
  return out.str();
}

// Parses all of `text` as a decimal transaction index.
bool parseIndex(std::string_view text, uint64_t &value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && error == std::errc{} && end == text.data() + text.size();
}

// Parses "A:B" with A <= B.
bool parseWindow(std::string_view text, uint64_t &from, uint64_t &to) {
  const size_t colon = text.find(':');
  return colon != std::string_view::npos && parseIndex(text.substr(0, colon), from) &&
         parseIndex(text.substr(colon + 1), to) && from <= to;
}

}  // namespace

RtlBackendOptions RtlBackendOptions::fromEnvironment(RtlBackendOptions base) {
  if (const char *check = std::getenv("VMMU_RTL_CHECK")) {
    const std::string_view value(check);
    if (value != "0" && value != "1")
      throw std::invalid_argument("VMMU_RTL_CHECK must be 0 or 1, got '" + std::string(value) + "'");
    base.check = value == "1";
  }
  if (const char *skip = std::getenv("VMMU_RTL_CYCLE_SKIP")) {
    const std::string_view value(skip);
    if (value != "0" && value != "1")
      throw std::invalid_argument("VMMU_RTL_CYCLE_SKIP must be 0 or 1, got '" + std::string(value) + "'");
    base.cycle_skip = value == "1";
  }
  if (const char *waves = std::getenv("VMMU_RTL_WAVES")) {
    if (*waves == '\0')
      throw std::invalid_argument("VMMU_RTL_WAVES is set but empty (expected an .fst file name)");
    base.waves_path = waves;
  }
  if (const char *window = std::getenv("VMMU_RTL_WAVES_WINDOW")) {
    if (!parseWindow(window, base.waves_from, base.waves_to))
      throw std::invalid_argument("VMMU_RTL_WAVES_WINDOW must be FROM:TO transaction indices with FROM <= TO, got '" +
                                  std::string(window) + "'");
  }
  if (const char *inject = std::getenv("VMMU_RTL_INJECT_DIVERGENCE")) {
    if (!parseIndex(inject, base.inject_divergence_at) || base.inject_divergence_at == kNoInjection)
      throw std::invalid_argument("VMMU_RTL_INJECT_DIVERGENCE must be a transaction index (a test hook), got '" +
                                  std::string(inject) + "'");
  }
  return base;
}

std::string RtlBackendOptions::validate() const {
  if (memory.kind == MemoryModelConfig::Kind::Flat && memory.cycles_per_ref < 2)
    return "RtlBackend: cycles_per_ref must be >= 2 (a request cycle and a response cycle, §12), got " +
           std::to_string(memory.cycles_per_ref);
  if (memory.kind == MemoryModelConfig::Kind::Flat && memory.cycles_per_ref > kMaxCyclesPerRef)
    return "RtlBackend: cycles_per_ref must be <= " + std::to_string(kMaxCyclesPerRef) +
           " (the harness's cycle budget per transaction), got " + std::to_string(memory.cycles_per_ref);
  if (const std::string error = memory.validate(); !error.empty())
    return "RtlBackend: " + error;
  if (waves_from > waves_to)
    return "RtlBackend: waves_from (" + std::to_string(waves_from) + ") is after waves_to (" +
           std::to_string(waves_to) + ")";
  if (inject_divergence_at != kNoInjection && !check)
    return "RtlBackend: inject_divergence_at needs check on (it changes the golden model's memory copy)";
  if (findParameterSet(parameter_set) == nullptr)
    return unknownParameterSet(parameter_set);
  return {};
}

std::vector<std::string> rtlParameterSets() {
  std::vector<std::string> names;
  for (const RtlParameterSet *set : rtltest::linkedParameterSets())
    names.emplace_back(set->name);
  return names;
}

MmuConfig rtlParameterSetConfig(std::string_view name) {
  if (const RtlParameterSet *set = findParameterSet(name))
    return set->config;
  throw std::invalid_argument(unknownParameterSet(name));
}

// The run's memory timing as the DUT's responder asks it: each operation's c, from the hierarchy
// the VMM shares, recorded so that the golden model is charged the same c in the same order.
class RecordingTiming final : public MemoryTiming {
public:
  explicit RecordingTiming(MemoryHierarchy &hierarchy) : hierarchy_(hierarchy) {}
  uint64_t cycles(const MemOp &op) override {
    const uint64_t c = hierarchy_.cycles(op);
    recorded_.push_back(c);
    return c;
  }
  // The c of the operations since the last clear(), in order.
  const std::vector<uint64_t> &recorded() const { return recorded_; }
  void clear() { recorded_.clear(); }

private:
  MemoryHierarchy &hierarchy_;
  std::vector<uint64_t> recorded_;
};

// The DUT with its memory, and (checking on) the golden model with its own memory copy.
struct RtlBackend::Impl {
  Impl(const MmuConfig &config, const RtlBackendOptions &options)
      : hierarchy(options.memory), recording(hierarchy),
        dut(findParameterSet(options.parameter_set)->make(dut_memory, responder(recording), options.waves_path)) {
    dut->setCycleSkip(options.cycle_skip);
    if (!options.check)
      return;
    model_memory = std::make_unique<SparseMemory>();
    mirrored = std::make_unique<MirroredMemory>(dut_memory, *model_memory);
    model = std::make_unique<Mmu>(config, *model_memory, &replay);
  }

  // The responder presents each response c - 1 cycles after its request transferred and never
  // stalls, so every operation costs the c the memory model gives (§12: c = r - s + 1).
  static MemoryBehaviour responder(RecordingTiming &timing) {
    MemoryBehaviour behaviour;
    behaviour.timing = &timing;
    behaviour.stall_percent = 0;
    return behaviour;
  }

  SparseMemory dut_memory;
  std::unique_ptr<SparseMemory> model_memory;
  std::unique_ptr<MirroredMemory> mirrored;  // writes to both, reads from the DUT's
  MemoryHierarchy hierarchy;
  RecordingTiming recording;  // the DUT's operations' c, from `hierarchy`
  ReplayTiming replay;        // the same c charged to the golden model
  std::unique_ptr<Mmu> model;
  std::unique_ptr<DutHarness> dut;  // the verilated model of options.parameter_set
  TranslateResult golden;           // reused across translations
};

namespace {
// Validates before any member is built, so a bad config never reaches the verilated model.
const MmuConfig &checkedConfig(const MmuConfig &config, const RtlBackendOptions &options) {
  if (std::string error = config.validate(); !error.empty())
    throw std::invalid_argument(error);
  if (std::string error = options.validate(); !error.empty())
    throw std::invalid_argument(error);
  if (std::string error = differenceFromRtl(config, *findParameterSet(options.parameter_set)); !error.empty())
    throw std::invalid_argument(error);
  return config;
}
}  // namespace

RtlBackend::RtlBackend(const MmuConfig &config, const RtlBackendOptions &options)
    : config_(checkedConfig(config, options)), options_(options),
      impl_(std::make_unique<Impl>(config_, options_)) {
  selectWaves(0);
}

RtlBackend::~RtlBackend() = default;

uint64_t RtlBackend::cycles() const { return impl_->dut->cycle(); }

PhysicalMemory &RtlBackend::memory() {
  if (impl_->mirrored)
    return *impl_->mirrored;
  return impl_->dut_memory;
}

PhysicalMemory *RtlBackend::checkerMemory() { return impl_->model_memory.get(); }

MemoryHierarchy *RtlBackend::memoryModel() { return &impl_->hierarchy; }

void RtlBackend::selectWaves(uint64_t index) {
  impl_->dut->setWaveDump(options_.waves_from <= index && index <= options_.waves_to);
}

void RtlBackend::reportMismatch(uint64_t index, uint64_t first_cycle, const std::string &headline,
                                const std::string &details) {
  BackendMismatch::Where where;
  where.transaction = index;
  where.first_cycle = first_cycle;
  // The DUT's clock stands at the cycle after the transaction's response.
  where.last_cycle = std::max(first_cycle, impl_->dut->cycle() - 1);
  where.window_from = index > kWaveWindowLead ? index - kWaveWindowLead : 0;
  where.first_time = waves::clockLowTime(where.first_cycle);
  where.last_time = waves::risingEdgeTime(where.last_cycle);
  std::ostringstream reproduce;
  reproduce << "\n  reproduce with waves: rerun the same activity with VMMU_RTL_WAVES=vmmu-mismatch.fst"
            << " VMMU_RTL_WAVES_WINDOW=" << where.window_from << ":" << index
            << " (or RtlBackendOptions::waves_path/from/to)";
  throw BackendMismatch("RtlBackend: " + headline + " (DUT cycles " + std::to_string(where.first_cycle) + " to " +
                            std::to_string(where.last_cycle) + ", wave time " + std::to_string(where.first_time) +
                            " to " + std::to_string(where.last_time) + " ps)" + details,
                        reproduce.str(), where);
}

void RtlBackend::injectDivergence(uint64_t index, const std::vector<MemOp> &dut_ops) {
  if (injected_ || index < options_.inject_divergence_at || dut_ops.empty() || !impl_->model_memory)
    return;
  injected_ = true;
  // Both memories are equal before the model runs this translation, so the model's first read is
  // of the same entry, now with P (guest) or R (EPT) flipped: a present guest entry becomes not
  // present, a not-present one present; a read-write EPT entry becomes write-only (misconfigured),
  // a read-only one not present. Either way the model's walk must end differently.
  const uint64_t addr = dut_ops.front().addr;
  impl_->model_memory->write64(addr, impl_->model_memory->read64(addr) ^ 1);
}

Translation RtlBackend::translate(const Request &req) {
  const uint64_t index = transactions_++;
  selectWaves(index);
  const uint64_t first_cycle = impl_->dut->cycle();
  DutTranslation dut;
  impl_->recording.clear();
  try {
    dut = impl_->dut->translate(req);
  } catch (const std::runtime_error &e) {
    throw std::runtime_error("RtlBackend: transaction " + std::to_string(index) + " (translate " + toString(req) +
                             "): " + e.what());
  }
  if (impl_->model) {
    injectDivergence(index, dut.ops);
    // The model is charged the c the responder was given, not the DUT's observed ones: the
    // latency comparison then checks that the DUT took what §12 says for them.
    impl_->replay.replay(impl_->recording.recorded());
    impl_->model->translate(req, impl_->golden);
    if (const std::string differences = compareTranslation(dut, impl_->golden); !differences.empty())
      reportMismatch(index, first_cycle,
                     "RTL and golden model differ at transaction " + std::to_string(index) + " (translate " +
                         toString(req) + ")",
                     differences);
  }
  // A first-level hit or an early fault answers in the next cycle, an STLB hit 1 or 2 cycles later
  // (§12); a walk takes its STLB cycles + 2 + XLATE and ANSWER cycles + sum c >= 2.
  const bool walked = !dut.resp.tlb_hit && dut.latency > 1;
  response_ = dut.resp;
  return Translation{response_, walked, walked ? dut.latency : 0, dut.resp.tlb_hit ? dut.latency - 1 : 0};
}

void RtlBackend::control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) {
  const uint64_t index = transactions_++;
  selectWaves(index);
  try {
    impl_->dut->control(op, ctx, reg, data, vpid, pcid);
  } catch (const std::runtime_error &e) {
    throw std::runtime_error("RtlBackend: transaction " + std::to_string(index) + " (" +
                             describe(op, ctx, reg, data, vpid, pcid) + "): " + e.what());
  }
  if (impl_->model)
    impl_->model->control(op, ctx, reg, data, vpid, pcid);
}

uint64_t RtlBackend::counter(Counter c) {
  const uint64_t value = impl_->dut->counter(static_cast<unsigned>(c));
  if (impl_->model && value != impl_->model->counter(c))
    reportMismatch(transactions_, impl_->dut->cycle(),
                   "RTL and golden model counters differ after " + std::to_string(transactions_) + " transactions",
                   ": " + std::string(toString(c)) + " rtl " + std::to_string(value) + ", model " +
                       std::to_string(impl_->model->counter(c)));
  return value;
}

void RtlBackend::checkCounters() {
  if (!impl_->model)
    return;
  for (unsigned i = 0; i < kNumCounters; ++i)
    counter(static_cast<Counter>(i));
  // Indices past the last counter read zero (§14); the select port is 6 bits wide.
  for (unsigned i = kNumCounters; i < 64; ++i)
    if (const uint64_t value = impl_->dut->counter(i); value != 0)
      reportMismatch(transactions_, impl_->dut->cycle(),
                     "RTL counter index " + std::to_string(i) + " is not zero after " +
                         std::to_string(transactions_) + " transactions",
                     ": rtl " + std::to_string(value) + ", expected 0 past the last counter (§14)");
}

std::function<std::unique_ptr<MmuBackend>(const MmuConfig &, const MemoryModelConfig &)> checkedRtlBackendFactory(
    RtlBackendOptions base) {
  base.check = true;
  return [base](const MmuConfig &mmu, const MemoryModelConfig &memory) -> std::unique_ptr<MmuBackend> {
    RtlBackendOptions options = base;
    options.memory = memory;
    return std::make_unique<RtlBackend>(mmu, RtlBackendOptions::fromEnvironment(options));
  };
}

}  // namespace vmmu::vmm
