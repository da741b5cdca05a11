// vmmu_rtl_speed: the bare-DUT speed baseline. Streams TLB hits through VerilatedDutHarness (one request
// per cycle, two evals per cycle, memory responder in the loop) and prints cycles per second of
// CPU time. A measurement tool, not a test: it asserts nothing and is not run by CTest.
// Usage: vmmu_rtl_speed [requests, default 1000000]
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "verilated_dut_harness.h"
#include "vmmu/page_tables.h"

int main(int argc, char **argv) {
  using namespace vmmu;
  char *end = nullptr;
  const unsigned long long requests = argc > 1 ? std::strtoull(argv[1], &end, 0) : 1000000;
  if (argc > 2 || (argc > 1 && (*end != '\0' || requests == 0))) {
    std::fprintf(stderr, "vmmu_rtl_speed: expected a positive request count, got '%s'\n",
                 argc > 1 ? argv[1] : "");
    return 2;
  }
  constexpr uint64_t kVa = 0x7f00'0000'0000, kPa = 0x500'0000;
  constexpr unsigned kPages = 32;  // fits the 4K TLB array: every streamed request hits
  SparseMemory memory;
  FrameAllocator alloc(0x100'0000, 0x400'0000);
  GuestPageTables tables(memory, alloc);
  std::vector<Request> pages;
  for (uint64_t p = 0; p < kPages; ++p) {
    tables.map(kVa + (p << 12), kPa + (p << 12), PageSize::Size4K);
    pages.push_back(Request{0, 0, kVa + (p << 12), Access::Read, false});
  }
  rtltest::VerilatedDutHarness dut(memory);
  dut.writeReg(0, CtxReg::Vpid, uint64_t{1} << 16);
  dut.writeReg(0, CtxReg::Cr3, tables.root());
  for (const Request &req : pages)
    dut.translate(req);
  std::vector<Request> stream;
  stream.reserve(requests);
  for (unsigned long long i = 0; i < requests; ++i)
    stream.push_back(pages[i % kPages]);

  const uint64_t first_cycle = dut.cycle();
  const std::clock_t start = std::clock();
  uint64_t busy_cycles = 0;
  const std::vector<Response> responses = dut.stream(stream, busy_cycles);
  const double seconds = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
  unsigned long long hits = 0;
  for (const Response &resp : responses)
    hits += resp.tlb_hit;
  const double cycles = static_cast<double>(dut.cycle() - first_cycle);
  std::printf("%llu requests (%llu TLB hits) in %.0f cycles, %.3f s CPU: %.0f cycles/s, "
              "%.0f translations/s\n",
              requests, hits, cycles, seconds, cycles / seconds, requests / seconds);
  return hits == requests ? 0 : 1;
}
