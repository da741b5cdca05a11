// trace_bench.cpp - throughput of the trace writer and reader (events per second, bytes per
// access), for sizing replays: `vmmu run` reads every access of a trace through TraceReader.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "vmmu/trace/reader.h"
#include "vmmu/trace/writer.h"

namespace {

using vmmu::trace::AccessOp;
using vmmu::trace::Event;

// A recorded-program-like stream: sequential fetches with short jumps, data near a stack and in
// a heap. `random_data` replaces the data addresses by uniformly random ones (the worst case for
// the delta encoding).
void writeSample(const std::string &path, int64_t accesses, bool random_data) {
  std::mt19937_64 rng(1);
  vmmu::trace::TraceWriter writer(path, vmmu::trace::TraceHeader{});
  uint64_t pc = 0x401000;
  for (int64_t i = 0; i < accesses; ++i) {
    if (i % 3 != 2) {
      pc = rng() % 16 == 0 ? 0x401000 + (rng() % 65536) * 4 : pc + 4;
      writer.write(Event::access(0, 1, AccessOp::Fetch, pc, 4));
    } else {
      const uint64_t va = random_data ? 0x7f00'0000'0000ull + (rng() % (1ull << 30)) * 8
                                      : 0x7ffc'0000'0000ull + (rng() % 512) * 8;
      writer.write(Event::access(0, 1, rng() % 4 ? AccessOp::Read : AccessOp::Write, va, 8));
    }
  }
  writer.finish();
}

std::string scratch(const char *name) {
  return (std::filesystem::temp_directory_path() / ("vmmu_trace_bench_" + std::to_string(getpid()) + name)).string();
}

void BM_Write(benchmark::State &state) {
  const std::string path = scratch("_write.vmt");
  for (auto _ : state)
    writeSample(path, state.range(0), state.range(1) != 0);
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["bytes/access"] = double(std::filesystem::file_size(path)) / double(state.range(0));
  std::filesystem::remove(path);
}
BENCHMARK(BM_Write)->Args({1'000'000, 0})->Args({1'000'000, 1})->Unit(benchmark::kMillisecond);

void BM_Read(benchmark::State &state) {
  const std::string path = scratch("_read.vmt");
  writeSample(path, state.range(0), state.range(1) != 0);
  uint64_t checksum = 0;
  for (auto _ : state) {
    vmmu::trace::TraceReader reader(path);
    while (const auto e = reader.next())
      checksum += e->address;
  }
  benchmark::DoNotOptimize(checksum);
  state.SetItemsProcessed(state.iterations() * state.range(0));
  std::filesystem::remove(path);
}
BENCHMARK(BM_Read)->Args({1'000'000, 0})->Args({1'000'000, 1})->Unit(benchmark::kMillisecond);

}  // namespace
