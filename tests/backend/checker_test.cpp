// checker_test.cpp - RtlBackend's checker: it catches divergences injected into the golden
// model's memory copy (in a response, and in the memory operations alone, by hand or through the
// inject_divergence_at test hook), names the transaction, its cycles and how to reproduce it; the
// options and the configuration it rejects; every verilated parameter set, picked by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "vmmu/guest/guest_kernel.h"
#include "vmmu/guest/workload.h"
#include "vmmu/page_tables.h"
#include "vmmu/rtl_backend/rtl_backend.h"
#include "vmmu/vmm/vmm.h"

namespace vmmu::testing {
namespace {

using vmm::BackendMismatch;
using vmm::RtlBackend;
using vmm::RtlBackendOptions;

constexpr uint16_t kVpid = 0;           // the host, in NATIVE mode (§1)
constexpr uint64_t kTablesBase = 0x10'0000;
constexpr uint64_t kDataBase = 0x4000'0000;
constexpr uint64_t kVa = 0x7000'0000'0000ull;

RtlBackendOptions fastOptions() {
  RtlBackendOptions options;
  options.memory = vmm::MemoryModelConfig::flat(3);
  return options;
}

// A NATIVE context whose tables map 16 pages at kVa (built through memory(), so both copies have
// them), with guest A/D updates on when `ad` is set.
struct NativeSetup {
  explicit NativeSetup(RtlBackend &backend, bool ad = false)
      : frames(kTablesBase, kTablesBase + 0x10'0000), tables(backend.memory(), frames) {
    for (uint64_t i = 0; i < 16; ++i)
      tables.map(kVa + i * 0x1000, kDataBase + i * 0x1000, PageSize::Size4K, pte::RW | pte::US);
    backend.writeReg(0, CtxReg::Vpid, (1u << 16) | kVpid);
    backend.writeReg(0, CtxReg::Mode, static_cast<uint64_t>(Mode::Native));
    backend.writeReg(0, CtxReg::Cr3, tables.root());
    backend.writeReg(0, CtxReg::Flags, ad ? 1 : 0);
  }
  FrameAllocator frames;
  GuestPageTables tables;
};

Request readOf(uint64_t va) {
  Request req;
  req.vpid = kVpid;
  req.va = va;
  req.access = Access::Read;
  req.user = true;
  return req;
}

TEST(RtlBackendChecker, AgreesWhenNothingIsInjected) {
  RtlBackend backend(MmuConfig{}, fastOptions());
  NativeSetup setup(backend);
  for (uint64_t i = 0; i < 16; ++i) {
    const vmm::Translation t = backend.translate(readOf(kVa + i * 0x1000 + 8));
    EXPECT_EQ(t.resp.fault, Fault::None);
    EXPECT_EQ(t.resp.hpa, kDataBase + i * 0x1000 + 8);
    EXPECT_TRUE(t.walked) << "page " << i;
    // The first page walks all four levels; later ones hit the PDE cache and read one entry.
    // Each walk starts after the STLB probe's one cycle (§12: no match in the 4K set, no 2M entry
    // in the 2M set); NATIVE has no XLATE cycle and START presents the first read (§12: early,
    // at CR3 or below the PDE cache hit).
    EXPECT_EQ(t.walk_cycles, 1 + 2 + (i == 0 ? 4 * 3 : 3) - 1) << "page " << i;
  }
  const vmm::Translation hit = backend.translate(readOf(kVa + 8));
  EXPECT_TRUE(hit.resp.tlb_hit);
  EXPECT_FALSE(hit.walked) << "a TLB hit does not walk";
  EXPECT_EQ(hit.walk_cycles, 0u) << "a TLB hit costs no walk cycles";
  EXPECT_NO_THROW(backend.checkCounters());
  EXPECT_EQ(backend.counter(Counter::Walks), 16u);
  EXPECT_EQ(backend.counter(Counter::TlbHits), 1u);
  EXPECT_EQ(backend.transactions(), 4u + 17u);
}

// §12: skipping memory waits (the default) and clocking every cycle give the same walk cycles,
// the same DUT clock and the same WALK_CYCLES (tests/rtl RtlCycleSkip shows that cycles are skipped).
TEST(RtlBackendChecker, SkippingMemoryWaitsChangesNoCycleCount) {
  RtlBackendOptions options;  // 30 cycles per reference: 29 of each are the wait
  std::array<uint64_t, 2> clocks{}, walk_cycles{};
  for (const bool skip : {true, false}) {
    options.cycle_skip = skip;
    RtlBackend backend(MmuConfig{}, options);
    NativeSetup setup(backend);
    const uint64_t start = backend.cycles();
    for (uint64_t i = 0; i < 16; ++i) {
      const vmm::Translation t = backend.translate(readOf(kVa + i * 0x1000 + 8));
      // The STLB probe, START, four references (then one, from the PDE cache) of c = 30, the
      // first presented in START (§12: early), DONE; NATIVE has no XLATE cycle.
      EXPECT_EQ(t.walk_cycles, 1 + 2 + (i == 0 ? 4 * 30 : 30) - 1) << "page " << i
                                                                  << (skip ? ", skipping" : "");
    }
    EXPECT_NO_THROW(backend.checkCounters());
    clocks[skip] = backend.cycles() - start;
    walk_cycles[skip] = backend.counter(Counter::WalkCycles);
  }
  EXPECT_EQ(walk_cycles[true], 121u + 15 * 31);
  EXPECT_EQ(walk_cycles[false], walk_cycles[true]);
  EXPECT_EQ(clocks[false], clocks[true]);
}

TEST(RtlBackendChecker, CatchesADifferentResponseAndNamesTheTransaction) {
  RtlBackend backend(MmuConfig{}, fastOptions());
  NativeSetup setup(backend);
  backend.translate(readOf(kVa));
  // The model's copy of the leaf for page 5 now points elsewhere; the DUT's does not.
  const uint64_t leaf = *setup.tables.hostEntryAddress(kVa + 5 * 0x1000, 1);
  ASSERT_NE(backend.checkerMemory(), nullptr);
  backend.checkerMemory()->write64(leaf, (kDataBase + 0x80'0000) | pte::P | pte::RW | pte::US);
  const uint64_t index = backend.transactions();
  try {
    backend.translate(readOf(kVa + 5 * 0x1000 + 0x10));
    FAIL() << "the checker missed a different hpa";
  } catch (const BackendMismatch &e) {
    EXPECT_EQ(e.transaction(), index);
    const std::string what = e.what();
    EXPECT_NE(what.find("at transaction " + std::to_string(index) + " "), std::string::npos) << what;
    EXPECT_NE(what.find("va=0x700000005010"), std::string::npos) << what;
    EXPECT_NE(what.find("differs: response\n"), std::string::npos) << "only the response differs: " << what;
    EXPECT_NE(what.find("rtl:   hpa=0x40005010 "), std::string::npos) << "the RTL's result: " << what;
    EXPECT_NE(what.find("model: hpa=0x40800010 "), std::string::npos) << "the model's result: " << what;
    EXPECT_NE(what.find("VMMU_RTL_WAVES_WINDOW="), std::string::npos) << what;
  }
}

TEST(RtlBackendChecker, CatchesADifferenceInMemoryOperationsAlone) {
  RtlBackend backend(MmuConfig{}, fastOptions());
  NativeSetup setup(backend, /*ad=*/true);
  // With A already set in the model's copy of the root entry, the model skips the FETCH_OR the
  // RTL emits: same response, different memory operations.
  const uint64_t root_entry = *setup.tables.hostEntryAddress(kVa, 4);
  PhysicalMemory &model_memory = *backend.checkerMemory();
  model_memory.write64(root_entry, model_memory.read64(root_entry) | pte::A);
  try {
    backend.translate(readOf(kVa));
    FAIL() << "the checker missed a missing A update";
  } catch (const BackendMismatch &e) {
    EXPECT_EQ(e.transaction(), 4u) << "four register writes came first";
    const std::string what = e.what();
    EXPECT_NE(what.find("FETCH_OR"), std::string::npos) << what;
  }
}

// The same through the shim: a nested guest runs, then the model's copy of the EPT's top entry is
// cleared (and the caches flushed); the guest's next walk diverges and the run stops there.
TEST(RtlBackendChecker, CatchesADivergenceUnderTheShim) {
  RtlBackend backend(MmuConfig{}, fastOptions());
  vmm::VmmConfig config;
  config.memory.bytes = 16ull << 20;
  vmm::Vmm vmm(backend, config, vmm::Approach::Nested);
  guest::GuestConfig guest_config;
  guest_config.memory_bytes = config.memory.bytes;
  guest::GuestKernel kernel(vmm, guest_config);
  guest::WorkloadSpec spec;
  spec.footprint_bytes = 1ull << 20;
  const std::unique_ptr<guest::Workload> workload = guest::makeWorkload(spec);
  workload->run(kernel, 500);
  EXPECT_NO_THROW(backend.checkCounters()) << "no divergence before the injection";

  const uint64_t ept_top = *vmm.memory().ept().entryAddress(0, MmuConfig{}.nested_levels);
  backend.checkerMemory()->write64(ept_top, 0);
  backend.control(CtrlOp::InvAll, 0, 0, 0, 0, 0);
  const uint64_t first_after = backend.transactions();
  try {
    workload->run(kernel, 500);
    FAIL() << "the checker missed an EPT the model no longer has";
  } catch (const BackendMismatch &e) {
    EXPECT_GE(e.transaction(), first_after);
    EXPECT_EQ(e.transaction() + 1, backend.transactions()) << "the transaction that diverged was the last one";
    const std::string what = e.what();
    EXPECT_NE(what.find("at transaction " + std::to_string(e.transaction())), std::string::npos) << what;
    EXPECT_NE(what.find("EPT_VIOLATION"), std::string::npos) << "the model's side: " << what;
  }
}

// The test hook behind `vmmu run`'s mismatch tests: the first translation from the chosen index
// on that reads memory diverges; translations before it, and TLB hits after it, do not.
TEST(RtlBackendChecker, InjectedDivergenceHitsTheFirstWalkFromTheChosenTransaction) {
  RtlBackendOptions options = fastOptions();
  options.inject_divergence_at = 6;
  RtlBackend backend(MmuConfig{}, options);
  NativeSetup setup(backend);  // transactions 0 to 3
  EXPECT_EQ(backend.translate(readOf(kVa)).resp.hpa, kDataBase) << "4: a walk before the chosen index";
  EXPECT_TRUE(backend.translate(readOf(kVa + 8)).resp.tlb_hit) << "5";
  EXPECT_TRUE(backend.translate(readOf(kVa + 16)).resp.tlb_hit) << "6: chosen, but a hit reads nothing";
  const uint64_t cycle_before = backend.cycles();
  try {
    backend.translate(readOf(kVa + 0x1000));
    FAIL() << "the injected divergence was not reported";
  } catch (const BackendMismatch &e) {
    EXPECT_EQ(e.transaction(), 7u);
    EXPECT_EQ(e.firstCycle(), cycle_before);
    EXPECT_EQ(e.lastCycle(), backend.cycles() - 1) << "the response's cycle";
    EXPECT_EQ(e.lastCycle() - e.firstCycle(), 2u + 1 + 3 - 1)
        << "accept, the STLB probe's cycle (no 2M entry in its 2M set), one PDE-cache-hit read of "
           "3 cycles presented in START (§12: early; NATIVE has no XLATE cycle), response";
    EXPECT_EQ(e.waveWindowFrom(), 0u) << "fewer transactions than the window's lead";
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(e.details(), 0), 0u) << "what() is the details and how to reproduce";
    EXPECT_NE(what.find("reproduce with waves"), std::string::npos) << what;
    EXPECT_EQ(e.details().find("reproduce with waves"), std::string::npos) << e.details();
    EXPECT_NE(e.details().find("DUT cycles " + std::to_string(e.firstCycle()) + " to " +
                               std::to_string(e.lastCycle())),
              std::string::npos)
        << e.details();
  }
}

TEST(RtlBackendChecker, UncheckedBackendHasNoModelAndStillTranslates) {
  RtlBackendOptions options = fastOptions();
  options.check = false;
  RtlBackend backend(MmuConfig{}, options);
  EXPECT_EQ(backend.checkerMemory(), nullptr);
  NativeSetup setup(backend);
  const vmm::Translation t = backend.translate(readOf(kVa + 0x3000 + 1));
  EXPECT_EQ(t.resp.hpa, kDataBase + 0x3000 + 1);
  EXPECT_TRUE(t.walked);
  EXPECT_EQ(t.walk_cycles, 1u + 2 + 4 * 3 - 1);  // STLB probe, START with the root read, 4 reads, DONE
  EXPECT_EQ(backend.counter(Counter::GuestReads), 4u);
}

// Size of the FST file that one run of cold walks leaves for the transaction window [from, to].
uintmax_t wavesSize(uint64_t from, uint64_t to) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("vmmu_backend_waves_" + std::to_string(::getpid()) + ".fst");
  {
    RtlBackendOptions options = fastOptions();
    options.waves_path = path.string();
    options.waves_from = from;
    options.waves_to = to;
    RtlBackend backend(MmuConfig{}, options);
    NativeSetup setup(backend);
    for (uint64_t i = 0; i < 200; ++i) {
      backend.control(CtrlOp::InvAll, 0, 0, 0, 0, 0);
      backend.translate(readOf(kVa + (i % 16) * 0x1000));
    }
  }
  const uintmax_t size = std::filesystem::exists(path) ? std::filesystem::file_size(path) : 0;
  std::filesystem::remove(path);
  return size;
}

TEST(RtlBackendChecker, DumpsWavesForTheTransactionWindowAsked) {
#ifdef __SANITIZE_ADDRESS__
  // VMMU_SANITIZE builds UBSan without recovery, and verilator's own FST writer (fstapi.c, not
  // ours) trips it: a misaligned store (fstapi.c:858) and a left shift of a negative value
  // (fstapi.c:1663).
  GTEST_SKIP() << "verilator's fstapi.c trips UBSan in sanitizer builds";
#endif
  const uintmax_t whole = wavesSize(0, ~uint64_t{0});
  const uintmax_t window = wavesSize(100, 103);
  EXPECT_GT(window, 0u) << "the window was dumped";
  EXPECT_LT(window, whole) << "only the window was dumped";
}

TEST(RtlBackendOptions, RejectsWhatTheRtlWasNotBuiltFor) {
  MmuConfig config;
  config.tlb[0].sets = 32;
  try {
    RtlBackend backend(config, fastOptions());
    FAIL() << "a configuration the RTL was not verilated with was accepted";
  } catch (const std::invalid_argument &e) {
    EXPECT_NE(std::string(e.what()).find("tlb[4K].sets"), std::string::npos) << e.what();
  }
  RtlBackendOptions options;
  options.memory = vmm::MemoryModelConfig::flat(1);
  EXPECT_NE(options.validate().find("cycles_per_ref"), std::string::npos);
  EXPECT_THROW(RtlBackend(MmuConfig{}, options), std::invalid_argument);
  options.memory = vmm::MemoryModelConfig::flat(1001);
  EXPECT_NE(options.validate().find("cycles_per_ref"), std::string::npos);
  options = RtlBackendOptions{};
  options.waves_from = 9;
  options.waves_to = 3;
  EXPECT_NE(options.validate().find("waves_from"), std::string::npos);
  options = RtlBackendOptions{};
  options.inject_divergence_at = 5;
  EXPECT_EQ(options.validate(), "");
  options.check = false;
  EXPECT_NE(options.validate().find("inject_divergence_at needs check"), std::string::npos) << options.validate();
}

// Sets an environment variable for one scope.
class ScopedEnv {
public:
  ScopedEnv(const char *name, const char *value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv &) = delete;
  ScopedEnv &operator=(const ScopedEnv &) = delete;

private:
  const char *name_;
};

TEST(RtlBackendOptions, ReadsTheEnvironmentAndNamesABadVariable) {
  {
    ScopedEnv check("VMMU_RTL_CHECK", "0");
    ScopedEnv waves("VMMU_RTL_WAVES", "x.fst");
    ScopedEnv window("VMMU_RTL_WAVES_WINDOW", "10:20");
    const RtlBackendOptions options = RtlBackendOptions::fromEnvironment(RtlBackendOptions{});
    EXPECT_FALSE(options.check);
    EXPECT_EQ(options.waves_path, "x.fst");
    EXPECT_EQ(options.waves_from, 10u);
    EXPECT_EQ(options.waves_to, 20u);
  }
  for (const char *bad : {"20:10", "10", "a:b", "1:2x", ":5"}) {
    ScopedEnv window("VMMU_RTL_WAVES_WINDOW", bad);
    try {
      RtlBackendOptions::fromEnvironment(RtlBackendOptions{});
      ADD_FAILURE() << "accepted window '" << bad << "'";
    } catch (const std::invalid_argument &e) {
      EXPECT_NE(std::string(e.what()).find("VMMU_RTL_WAVES_WINDOW"), std::string::npos) << e.what();
    }
  }
  {
    ScopedEnv inject("VMMU_RTL_INJECT_DIVERGENCE", "1234");
    EXPECT_EQ(RtlBackendOptions::fromEnvironment(RtlBackendOptions{}).inject_divergence_at, 1234u);
  }
  EXPECT_EQ(RtlBackendOptions::fromEnvironment(RtlBackendOptions{}).inject_divergence_at,
            RtlBackendOptions::kNoInjection)
      << "off unless asked";
  for (const char *bad : {"", "x", "-1", "12 ", "18446744073709551615", "99999999999999999999"}) {
    ScopedEnv inject("VMMU_RTL_INJECT_DIVERGENCE", bad);
    try {
      RtlBackendOptions::fromEnvironment(RtlBackendOptions{});
      ADD_FAILURE() << "accepted injection index '" << bad << "'";
    } catch (const std::invalid_argument &e) {
      EXPECT_NE(std::string(e.what()).find("VMMU_RTL_INJECT_DIVERGENCE"), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(RtlBackendOptions::fromEnvironment(RtlBackendOptions{}).cycle_skip) << "on unless asked";
  {
    ScopedEnv skip("VMMU_RTL_CYCLE_SKIP", "0");
    EXPECT_FALSE(RtlBackendOptions::fromEnvironment(RtlBackendOptions{}).cycle_skip);
  }
  {
    ScopedEnv skip("VMMU_RTL_CYCLE_SKIP", "no");
    EXPECT_THROW(RtlBackendOptions::fromEnvironment(RtlBackendOptions{}), std::invalid_argument);
  }
  ScopedEnv check("VMMU_RTL_CHECK", "yes");
  EXPECT_THROW(RtlBackendOptions::fromEnvironment(RtlBackendOptions{}), std::invalid_argument);
}

}  // namespace
}  // namespace vmmu::testing

namespace vmmu::testing {
namespace {

bool altLinked() {
  const std::vector<std::string> sets = vmm::rtlParameterSets();
  return std::find(sets.begin(), sets.end(), "alt") != sets.end();
}

TEST(RtlBackendParameterSets, NamesTheLinkedSetsAndRejectsAnother) {
  const std::vector<std::string> sets = vmm::rtlParameterSets();
  ASSERT_FALSE(sets.empty());
  EXPECT_EQ(sets.front(), "default");
  EXPECT_EQ(vmm::rtlParameterSetConfig("default").tlb[0].sets, MmuConfig{}.tlb[0].sets)
      << "the default set is mmu_top's own defaults, §1's";
  try {
    vmm::rtlParameterSetConfig("fast");
    FAIL() << "an unknown parameter set was accepted";
  } catch (const std::invalid_argument &e) {
    EXPECT_NE(std::string(e.what()).find("'fast'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("default"), std::string::npos) << "names the sets there are: " << e.what();
  }
  RtlBackendOptions options = fastOptions();
  options.parameter_set = "fast";
  EXPECT_NE(options.validate().find("no verilated parameter set 'fast'"), std::string::npos) << options.validate();
  EXPECT_THROW(RtlBackend(MmuConfig{}, options), std::invalid_argument);
}

// The alt set (rtl/CMakeLists.txt) has 5-level guest paging, a single-set 8-way 4K TLB and a
// 4-set 2-way PDE cache: a backend on it runs against a model configured from the same list.
TEST(RtlBackendParameterSets, RunsTheAltSetAgainstTheModelConfiguredTheSame) {
  if (!altLinked())
    GTEST_SKIP() << "built with -DVMMU_RTL_ALT=OFF";
  const MmuConfig alt = vmm::rtlParameterSetConfig("alt");
  ASSERT_EQ(alt.guest_levels, 5u);
  ASSERT_EQ(alt.tlb[0].sets, 1u);
  ASSERT_EQ(alt.tlb[0].ways, 8u);
  RtlBackendOptions options = fastOptions();
  options.parameter_set = "alt";
  try {
    RtlBackend wrong(MmuConfig{}, options);
    FAIL() << "the default configuration was accepted for the alt set";
  } catch (const std::invalid_argument &e) {
    EXPECT_NE(std::string(e.what()).find("(parameter set alt) has guest_levels = 5"), std::string::npos) << e.what();
  }

  RtlBackend backend(alt, options);
  FrameAllocator frames(kTablesBase, kTablesBase + 0x10'0000);
  GuestPageTables tables(backend.memory(), frames, alt.guest_levels, alt.pa_bits);
  for (uint64_t i = 0; i < 16; ++i)
    tables.map(kVa + i * 0x1000, kDataBase + i * 0x1000, PageSize::Size4K, pte::RW | pte::US);
  backend.writeReg(0, CtxReg::Vpid, (1u << 16) | kVpid);
  backend.writeReg(0, CtxReg::Mode, static_cast<uint64_t>(Mode::Native));
  backend.writeReg(0, CtxReg::Cr3, tables.root());
  for (uint64_t i = 0; i < 16; ++i) {
    const vmm::Translation t = backend.translate(readOf(kVa + i * 0x1000 + 8));
    EXPECT_EQ(t.resp.hpa, kDataBase + i * 0x1000 + 8) << "page " << i;
    EXPECT_TRUE(t.walked) << "page " << i;
    // The first page reads all five levels at 3 cycles each, the others hit the PDE cache (one
    // read); the first read is presented in START (§12: early) and NATIVE has no XLATE cycle.
    // The STLB probe reads no 2M set: it holds no 2M entry (§12).
    EXPECT_EQ(t.walk_cycles, 1 + 2 + (i == 0 ? 5 * 3 : 3) - 1) << "page " << i;  // 1: STLB
  }
  // The last page filled the 8-way TLB most recently; the first left it long ago but is still in
  // the STLB (8 sets x 4 ways: two of the 16 pages per set), which serves it in 2 cycles (§12).
  EXPECT_FALSE(backend.translate(readOf(kVa + 15 * 0x1000)).walked);
  const vmm::Translation first = backend.translate(readOf(kVa));
  EXPECT_FALSE(first.walked);
  EXPECT_EQ(first.stlb_cycles, 1u);
  EXPECT_NO_THROW(backend.checkCounters());
  EXPECT_EQ(backend.counter(Counter::Walks), 16u);
  EXPECT_EQ(backend.counter(Counter::StlbHits4K), 1u);
  EXPECT_EQ(backend.counter(Counter::GuestReads), 5u + 15);
}

}  // namespace
}  // namespace vmmu::testing
