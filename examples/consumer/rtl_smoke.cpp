// rtl_smoke.cpp: mmu_top verilated from the installed sources, driven through its ports (spec
// §13): one NATIVE context written over the control port, then one cold 4-level walk served by a
// small memory, checked against the hand-built tables. Exits 0 on the expected hPA, 1 otherwise.
#include <cinttypes>
#include <cstdio>
#include <map>

#include "Vmmu_top.h"
#include "verilated.h"

namespace {

constexpr unsigned kVpid = 3;
constexpr uint64_t kVa = 0x1234;         // PML4[0] -> PDPT[0] -> PD[0] -> PT[1]
constexpr uint64_t kFrame = 0x55000;     // the 4K page it maps
constexpr uint64_t kPresentRw = 0x3;     // P | RW

struct Bench {
  Vmmu_top top;
  std::map<uint64_t, uint64_t> memory{{0x1000, 0x2000 | kPresentRw}, {0x2000, 0x3000 | kPresentRw},
                                      {0x3000, 0x4000 | kPresentRw}, {0x4008, kFrame | kPresentRw}};
  bool mem_pending = false;
  uint64_t mem_addr = 0;
  uint64_t cycles = 0;

  // One clock cycle: inputs settle, the memory answers the request accepted in the last cycle.
  void cycle() {
    top.mem_resp_valid_i = mem_pending;
    top.mem_resp_rdata_i = mem_pending ? memory[mem_addr] : 0;
    top.clk_i = 0;
    top.eval();
    const bool req_fire = top.mem_req_valid_o && top.mem_req_ready_i;
    const bool resp_fire = mem_pending && top.mem_resp_ready_o;
    const uint64_t req_addr = top.mem_req_addr_o;
    top.clk_i = 1;
    top.eval();
    if (resp_fire)
      mem_pending = false;
    if (req_fire) {
      mem_pending = true;
      mem_addr = req_addr;
    }
    ++cycles;
  }

  void writeReg(unsigned reg, uint64_t data) {
    top.ctrl_valid_i = 1;
    top.ctrl_op_i = 0;  // WRITE_REG
    top.ctrl_ctx_i = 0;
    top.ctrl_reg_i = reg;
    top.ctrl_data_i = data;
    // A register write that flushes a VPID keeps the control port busy while the STLB sweeps its
    // sets (§9.2: 128 cycles at the defaults), so the next write may wait that long.
    const uint64_t deadline = cycles + 1000;
    do {
      top.clk_i = 0;
      top.eval();
      const bool accepted = top.ctrl_ready_o;
      cycle();
      if (accepted)
        break;
    } while (cycles < deadline);
    top.ctrl_valid_i = 0;
  }
};

}  // namespace

int main(int argc, char **argv) {
  Verilated::commandArgs(argc, argv);
  Bench b;
  b.top.rst_ni = 0;
  b.top.mem_req_ready_i = 1;
  b.top.resp_ready_i = 1;
  for (int i = 0; i < 2; ++i)
    b.cycle();
  b.top.rst_ni = 1;
  b.writeReg(0, (1u << 16) | kVpid);  // VPID, valid
  b.writeReg(1, 0);                   // MODE = NATIVE
  b.writeReg(2, 0x1000);              // CR3

  b.top.req_valid_i = 1;
  b.top.req_vpid_i = kVpid;
  b.top.req_pcid_i = 0;
  b.top.req_va_i = kVa;
  b.top.req_access_i = 0;  // READ
  b.top.req_user_i = 0;
  bool done = false;
  uint64_t hpa = 0, fault = 0;
  const uint64_t deadline = b.cycles + 1000;
  while (!done && b.cycles < deadline) {
    b.top.clk_i = 0;
    b.top.eval();
    const bool accepted = b.top.req_valid_i && b.top.req_ready_o;  // transfers at this edge
    if (b.top.resp_valid_o) {
      done = true;
      hpa = b.top.resp_hpa_o;
      fault = b.top.resp_fault_o;
    }
    b.cycle();
    if (accepted)
      b.top.req_valid_i = 0;
  }
  std::printf("rtl_smoke: response after %" PRIu64 " cycles: hPA %#" PRIx64 " fault %" PRIu64 "\n", b.cycles, hpa,
              fault);
  const bool ok = done && fault == 0 && hpa == kFrame + (kVa & 0xfff);
  std::printf("%s\n", ok ? "rtl_smoke: ok" : "rtl_smoke: FAILED (expected hPA 0x55234, no fault)");
  b.top.final();
  return ok ? 0 : 1;
}
