// tlm_test.cpp - the TLM-2.0 wrapper of the golden model in a tiny virtual platform: a CPU-side
// initiator sends translations, a memory target serves page tables with an annotated latency.
#include <gtest/gtest.h>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "vmmu/mmu_tlm.h"
#include "vmmu/page_tables.h"

namespace {

using namespace sc_core;
using vmmu::Access;
using vmmu::CtxReg;
using vmmu::PageSize;

constexpr double kPeriodNs = 1.0;
constexpr double kMemLatencyNs = 5.0;  // each page-table access: c = 1 + 5 = 6 cycles (§12)

// Page-table memory: a SparseMemory behind a target socket, counting accesses.
struct MemoryTarget : sc_module {
  tlm_utils::simple_target_socket<MemoryTarget> socket{"socket"};
  vmmu::SparseMemory memory;
  unsigned transports = 0;
  unsigned debug_transports = 0;

  explicit MemoryTarget(sc_module_name name) : sc_module(name) {
    socket.register_b_transport(this, &MemoryTarget::b_transport);
    socket.register_transport_dbg(this, &MemoryTarget::transport_dbg);
  }
  void access(tlm::tlm_generic_payload &p) {
    auto *data = reinterpret_cast<uint64_t *>(p.get_data_ptr());
    if (p.is_read())
      *data = memory.read64(p.get_address());
    else
      memory.write64(p.get_address(), *data);
    p.set_response_status(tlm::TLM_OK_RESPONSE);
  }
  void b_transport(tlm::tlm_generic_payload &p, sc_time &delay) {
    ++transports;
    access(p);
    delay += sc_time(kMemLatencyNs, SC_NS);
  }
  unsigned transport_dbg(tlm::tlm_generic_payload &p) {
    ++debug_transports;
    access(p);
    return 8;
  }
};

struct Cpu : sc_module {
  tlm_utils::simple_initiator_socket<Cpu> socket{"socket"};
  explicit Cpu(sc_module_name name) : sc_module(name) {}

  vmmu::TranslationExtension translate(uint64_t va, Access access, sc_time &delay, bool debug = false) {
    tlm::tlm_generic_payload p;
    vmmu::TranslationExtension ext;
    ext.request.vpid = 0;
    ext.request.pcid = 0;
    ext.request.access = access;
    p.set_address(va);
    p.set_command(access == Access::Write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    p.set_extension(&ext);
    if (debug) {
      EXPECT_EQ(socket->transport_dbg(p), 1u);
    } else {
      socket->b_transport(p, delay);
    }
    p.clear_extension(&ext);
    if (!debug) {
      EXPECT_EQ(p.get_response_status(), tlm::TLM_OK_RESPONSE);
    }
    return ext;
  }
};

// One elaboration per process: SystemC cannot be re-elaborated, so the test runs as one scenario.
TEST(MmuTlm, TranslatesWithAnnotatedDelayAndDebugLookupsHaveNoSideEffects) {
  Cpu cpu("cpu");
  vmmu::MmuTlm mmu("mmu", vmmu::MmuConfig{}, sc_time(kPeriodNs, SC_NS));
  MemoryTarget mem("mem");
  cpu.socket.bind(mmu.translate);
  mmu.memory.bind(mem.socket);

  vmmu::FrameAllocator frames(0x100000, 0x200000);
  vmmu::GuestPageTables tables(mem.memory, frames);
  const uint64_t va = 0x00007f0012345000ull, pa = 0x40000000ull;
  tables.map(va, pa, PageSize::Size4K, vmmu::pte::RW);
  mmu.mmu().writeReg(0, CtxReg::Vpid, 1u << 16);  // VPID 0, valid
  mmu.mmu().writeReg(0, CtxReg::Mode, static_cast<uint64_t>(vmmu::Mode::Native));
  mmu.mmu().writeReg(0, CtxReg::Cr3, tables.root());
  mmu.mmu().writeReg(0, CtxReg::Flags, 1);  // guest A/D on

  // A debug lookup first: the right answer, no counter, no cache fill, no A bit, no b_transport.
  sc_time delay = SC_ZERO_TIME;
  const auto dbg = cpu.translate(va + 0x123, Access::Read, delay, /*debug=*/true);
  EXPECT_EQ(dbg.response.fault, vmmu::Fault::None);
  EXPECT_EQ(dbg.response.hpa, pa + 0x123);
  EXPECT_EQ(mmu.mmu().counter(vmmu::Counter::Lookups), 0u);
  EXPECT_EQ(mmu.mmu().tlbValidEntries(), 0u);
  EXPECT_EQ(mem.transports, 0u);
  EXPECT_GT(mem.debug_transports, 0u);
  EXPECT_EQ(tables.readEntry(va, 1) & vmmu::pte::A, 0u);

  // A cold native walk: 4 reads and, with A/D on, A updates on all four levels (the leaf's last).
  delay = SC_ZERO_TIME;
  const auto cold = cpu.translate(va + 0x123, Access::Read, delay);
  EXPECT_EQ(cold.response.fault, vmmu::Fault::None);
  EXPECT_EQ(cold.response.hpa, pa + 0x123);
  EXPECT_FALSE(cold.response.tlb_hit);
  ASSERT_TRUE(cold.trace.walked);
  const unsigned ops = 8;  // 4 reads + 4 FETCH_OR
  // Each op costs 1 + 5 cycles; a FETCH_OR is a read plus a write, so its delay is 10 ns: 11 cycles.
  // START and DONE come on top, less the cycle the root read shares with START (§12: early);
  // NATIVE takes no XLATE cycle (its table addresses are host addresses).
  const uint64_t expected_cycles = 2 + 4 * (1 + 5) + 4 * (1 + 10) - 1;
  EXPECT_EQ(cold.trace.walk_cycles, expected_cycles);
  EXPECT_EQ(delay, sc_time(kPeriodNs * static_cast<double>(expected_cycles), SC_NS));
  EXPECT_EQ(mem.transports, 4u + 2u * 4u);
  (void)ops;
  EXPECT_NE(tables.readEntry(va, 1) & vmmu::pte::A, 0u);

  // The same page again: a TLB hit costs one cycle and touches no memory.
  delay = SC_ZERO_TIME;
  const unsigned before = mem.transports;
  const auto hit = cpu.translate(va + 0x8, Access::Read, delay);
  EXPECT_TRUE(hit.response.tlb_hit);
  EXPECT_EQ(hit.response.hpa, pa + 0x8);
  EXPECT_EQ(delay, sc_time(kPeriodNs, SC_NS));
  EXPECT_EQ(mem.transports, before);
  EXPECT_EQ(mmu.mmu().counter(vmmu::Counter::Lookups), 2u);
  EXPECT_EQ(mmu.mmu().counter(vmmu::Counter::TlbHits), 1u);

  // A payload without the extension is an error response, not a crash.
  tlm::tlm_generic_payload bare;
  bare.set_address(va);
  delay = SC_ZERO_TIME;
  cpu.socket->b_transport(bare, delay);
  EXPECT_EQ(bare.get_response_status(), tlm::TLM_GENERIC_ERROR_RESPONSE);
}

}  // namespace

int sc_main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
