// top_isolation_formal: a bounded check of the DIRECT-mode isolation invariant (§8.3) on the
// whole mmu_top, at a reduced parameterisation (rtl/formal/README.md says why small arrays and
// two slots stand for the full sizes).
//
// Every input of mmu_top is free on every cycle - requests (PCID, VA, access, user), response
// back-pressure, control commands (any op, slot, register), memory ready, responses and data -
// with two reductions of values that keep the SAT problems small:
//   - VPIDs (of requests, of INV_* operands and written to the VPID registers) are 0 or 1: the
//     flush, lookup and tag logic compare VPIDs for equality only, so two VPIDs give every case
//     (the same VM or another);
//   - GBASE and GSIZE written are multiples of 2^RegionLsb: regions on a coarse grid. The exact
//     boundary arithmetic is the bounds checker's proof (bounds_checker_formal.sv, every input);
//     here the question is which registers are used, not where their edge falls.
// Reset is applied in the first cycle and is free afterwards.
//
// The harness keeps its own copy of the context registers that decide DIRECT translation (VPID
// and valid bit, MODE, GBASE, GSIZE), written from the control commands it sees accepted (§3),
// and from that copy the slot in force for a request's VPID when the request is accepted (§3:
// the lowest valid slot with the VPID; §12: requests and control commands are one total order).
// If that slot is in DIRECT mode, its region [GBASE, GBASE + GSIZE) is the request's region.
// Properties (names as scripts/formal reports them):
//   top_guest_op_in_region  §8.3.1  a GUEST-dimension memory operation presented on the port
//                                   covers 8 bytes inside the region of the request being walked;
//   top_resp_in_region      §8.3.2  a successful response (first-level or STLB hit, or walk)
//                                   shown on the port covers a page inside the region of its
//                                   request: an STLB entry used in DIRECT mode lies inside the
//                                   VM's region;
//   top_one_outstanding     the pairing of responses with requests the two above rely on: a
//                           response is shown only for an accepted request, and no other request
//                           is accepted while it waits.
module top_isolation_formal #(
  parameter int unsigned GuestLevels = 4,
  parameter int unsigned NestedLevels = 4,
  parameter int unsigned PaBits = 32,
  parameter int unsigned NumContexts = 2,
  parameter int unsigned EscapeEntries = 1,
  parameter int unsigned ArraySets = 1,
  parameter int unsigned ArrayWays = 1,
  // Two STLB ways: with one, the walk that evicts an entry from the one-entry first level would
  // also replace the STLB's only entry, and no STLB hit could happen.
  parameter int unsigned StlbWays = 2,
  // GBASE and GSIZE written take multiples of 2^RegionLsb only (see the header).
  parameter int unsigned RegionLsb = 28,
  localparam int unsigned CtxBits = (NumContexts > 1) ? $clog2(NumContexts) : 1
) (
  input logic                 clk_i,
  input logic                 rst_ni,
  input logic                 req_valid_i,
  input logic [15:0]          req_vpid_i,
  input logic [11:0]          req_pcid_i,
  input logic [63:0]          req_va_i,
  input mmu_pkg::access_e     req_access_i,
  input logic                 req_user_i,
  input logic                 resp_ready_i,
  input logic                 mem_req_ready_i,
  input logic                 mem_resp_valid_i,
  input logic [63:0]          mem_resp_rdata_i,
  input logic                 ctrl_valid_i,
  input mmu_pkg::ctrl_op_e    ctrl_op_i,
  input logic [CtxBits-1:0]   ctrl_ctx_i,
  input logic [4:0]           ctrl_reg_i,
  input logic [63:0]          ctrl_data_i,
  input logic [15:0]          ctrl_vpid_i,
  input logic [11:0]          ctrl_pcid_i
);

  /* verilator lint_off UNUSEDSIGNAL */
  logic                  req_ready, resp_valid, resp_vm_exit, resp_tlb_hit;
  logic [PaBits-1:0]     resp_hpa;
  mmu_pkg::page_size_e   resp_size;
  mmu_pkg::fault_e       resp_fault;
  logic [31:0]           resp_fault_info;
  logic [63:0]           resp_fault_addr;
  logic [3:0]            resp_fault_level, resp_fault_guest_level;
  logic                  mem_req_valid, mem_resp_ready, ctrl_ready;
  logic [PaBits-1:0]     mem_req_addr;
  mmu_pkg::mem_op_e      mem_req_op;
  logic [63:0]           mem_req_wdata;
  mmu_pkg::dim_e         mem_req_dim;
  logic [2:0]            mem_req_level;
  logic [63:0]           ctr_value;
  /* verilator lint_on UNUSEDSIGNAL */

  // The environment's reductions (see the header): two VPIDs, coarse regions.
  logic [15:0] req_vpid, ctrl_vpid;
  logic [63:0] ctrl_data;
  assign req_vpid = {15'd0, req_vpid_i[0]};
  assign ctrl_vpid = {15'd0, ctrl_vpid_i[0]};
  always_comb begin : reduce
    ctrl_data = ctrl_data_i;
    if (ctrl_op_i == mmu_pkg::CtrlWriteReg) begin
      unique case (ctrl_reg_i)
        5'd0: ctrl_data = {47'd0, ctrl_data_i[16], 15'd0, ctrl_data_i[0]};
        5'd4, 5'd5: ctrl_data = {ctrl_data_i[63:RegionLsb], RegionLsb'(0)};
        default: ;
      endcase
    end
  end

  mmu_top #(
    .GuestLevels(GuestLevels), .NestedLevels(NestedLevels), .PaBits(PaBits),
    .NumContexts(NumContexts), .EscapeEntries(EscapeEntries),
    .Tlb4kSets(ArraySets), .Tlb4kWays(ArrayWays), .Tlb2mSets(ArraySets), .Tlb2mWays(ArrayWays),
    .Tlb1gSets(ArraySets), .Tlb1gWays(ArrayWays), .StlbSets(ArraySets), .StlbWays(StlbWays),
    .PscL2Sets(ArraySets), .PscL2Ways(ArrayWays), .PscL3Sets(ArraySets), .PscL3Ways(ArrayWays),
    .PscL4Sets(ArraySets), .PscL4Ways(ArrayWays), .PscL5Sets(ArraySets), .PscL5Ways(ArrayWays),
    .Ntlb4kSets(ArraySets), .Ntlb4kWays(ArrayWays), .Ntlb2mSets(ArraySets),
    .Ntlb2mWays(ArrayWays), .Ntlb1gSets(ArraySets), .Ntlb1gWays(ArrayWays),
    .EptPscL2Sets(ArraySets), .EptPscL2Ways(ArrayWays), .EptPscL3Sets(ArraySets),
    .EptPscL3Ways(ArrayWays), .EptPscL4Sets(ArraySets), .EptPscL4Ways(ArrayWays),
    .EptPscL5Sets(ArraySets), .EptPscL5Ways(ArrayWays)
  ) u_top (
    .clk_i              (clk_i),
    .rst_ni             (rst_ni),
    .req_valid_i        (req_valid_i),
    .req_ready_o        (req_ready),
    .req_vpid_i         (req_vpid),
    .req_pcid_i         (req_pcid_i),
    .req_va_i           (req_va_i),
    .req_access_i       (req_access_i),
    .req_user_i         (req_user_i),
    .resp_valid_o       (resp_valid),
    .resp_ready_i       (resp_ready_i),
    .resp_hpa_o         (resp_hpa),
    .resp_size_o        (resp_size),
    .resp_fault_o       (resp_fault),
    .resp_fault_info_o  (resp_fault_info),
    .resp_fault_addr_o  (resp_fault_addr),
    .resp_fault_level_o (resp_fault_level),
    .resp_fault_guest_level_o (resp_fault_guest_level),
    .resp_vm_exit_o     (resp_vm_exit),
    .resp_tlb_hit_o     (resp_tlb_hit),
    .mem_req_valid_o    (mem_req_valid),
    .mem_req_ready_i    (mem_req_ready_i),
    .mem_req_addr_o     (mem_req_addr),
    .mem_req_op_o       (mem_req_op),
    .mem_req_wdata_o    (mem_req_wdata),
    .mem_req_dim_o      (mem_req_dim),
    .mem_req_level_o    (mem_req_level),
    .mem_resp_valid_i   (mem_resp_valid_i),
    .mem_resp_ready_o   (mem_resp_ready),
    .mem_resp_rdata_i   (mem_resp_rdata_i),
    .ctrl_valid_i       (ctrl_valid_i),
    .ctrl_ready_o       (ctrl_ready),
    .ctrl_op_i          (ctrl_op_i),
    .ctrl_ctx_i         (ctrl_ctx_i),
    .ctrl_reg_i         (ctrl_reg_i),
    .ctrl_data_i        (ctrl_data),
    .ctrl_vpid_i        (ctrl_vpid),
    .ctrl_pcid_i        (ctrl_pcid_i),
    .ctr_sel_i          (6'd0),
    .ctr_value_o        (ctr_value)
  );

`ifdef FORMAL
  // ---------------------------------------------------------------------------------------
  // The harness's copy of the registers (§3 fields), slot c at [c * width +: width].

  logic [NumContexts-1:0]            valid_q;
  logic [NumContexts*16-1:0]         vpid_q;
  logic [NumContexts*3-1:0]          mode_q;
  logic [NumContexts*(PaBits-12)-1:0] gbase_q;   // GBASE[P-1:12]
  logic [NumContexts*(PaBits-11)-1:0] gsize_q;   // GSIZE[P:12]

  logic write;
  assign write = ctrl_valid_i && ctrl_ready && ctrl_op_i == mmu_pkg::CtrlWriteReg &&
                 32'(ctrl_ctx_i) < 32'(NumContexts);

  always_ff @(posedge clk_i) begin : shadow
    if (!rst_ni) begin
      valid_q <= '0;
      vpid_q <= '0;
      mode_q <= '0;
      gbase_q <= '0;
      gsize_q <= '0;
    end else if (write) begin
      for (int unsigned c = 0; c < NumContexts; c++) begin
        if (32'(ctrl_ctx_i) == c) begin
          unique case (ctrl_reg_i)
            5'd0: begin
              vpid_q[c * 16 +: 16] <= ctrl_data[15:0];
              valid_q[c] <= ctrl_data[16];
            end
            // Code 7 is reserved: the write is ignored (§3).
            5'd1: if (ctrl_data[2:0] <= 3'd6) mode_q[c * 3 +: 3] <= ctrl_data[2:0];
            5'd4: gbase_q[c * (PaBits - 12) +: (PaBits - 12)] <= ctrl_data[PaBits-1:12];
            5'd5: gsize_q[c * (PaBits - 11) +: (PaBits - 11)] <= ctrl_data[PaBits:12];
            default: ;
          endcase
        end
      end
    end
  end

  // The slot in force for the VPID presented (§3), read from the copy.
  logic              req_direct;
  logic [63:0]       req_lo, req_hi;
  always_comb begin : in_force
    req_direct = 1'b0;
    req_lo = '0;
    req_hi = '0;
    for (int c = 32'(NumContexts) - 1; c >= 0; c--) begin
      if (valid_q[c] && vpid_q[c * 16 +: 16] == req_vpid) begin
        // DIRECT and DUAL_DIRECT (§18.3: the invariant holds for both).
        req_direct = mode_q[c * 3 +: 3] == 3'd3 || mode_q[c * 3 +: 3] == 3'd5;
        req_lo = 64'({gbase_q[c * (PaBits - 12) +: (PaBits - 12)], 12'h000});
        req_hi = req_lo + 64'({gsize_q[c * (PaBits - 11) +: (PaBits - 11)], 12'h000});
      end
    end
  end

  // The region of the last accepted request: the one being walked, or whose response waits.
  logic        cur_direct_q;
  logic [63:0] cur_lo_q, cur_hi_q;
  logic        outstanding_q;  // a request accepted whose response has not transferred
  logic        req_fire, resp_fire;
  assign req_fire = req_valid_i && req_ready;
  assign resp_fire = resp_valid && resp_ready_i;

  always_ff @(posedge clk_i) begin : requests
    if (!rst_ni) begin
      cur_direct_q <= 1'b0;
      cur_lo_q <= '0;
      cur_hi_q <= '0;
      outstanding_q <= 1'b0;
    end else begin
      if (req_fire) begin
        cur_direct_q <= req_direct;
        cur_lo_q <= req_lo;
        cur_hi_q <= req_hi;
      end
      outstanding_q <= req_fire || (outstanding_q && !resp_fire);
    end
  end

  function automatic logic within(logic [63:0] lo, logic [63:0] n, logic [63:0] base,
                                  logic [63:0] limit);
    within = base <= lo && lo + n <= limit;
  endfunction

  logic [63:0] resp_page;
  assign resp_page = 64'(resp_hpa) & ~(mmu_pkg::page_bytes(resp_size) - 64'd1);

  logic initialized = 1'b0;
  always_ff @(posedge clk_i) initialized <= 1'b1;

  always_comb begin : environment
    if (!initialized) assume (!rst_ni);
  end

  // mmu_top's STLB hit (the probe's deciding cycle serves the held request from the STLB and
  // refills the first level): scripts/formal connects it to u_top.stlb_refill after flattening.
  logic probe_stlb_hit;

`ifdef TOP_STLB_WIRING
  // How mmu_top uses its STLB (scripts/formal, top_stlb_*): proved for every state by
  // 1-induction on this harness with no other assertion (the RTL's immediate assertions are
  // removed from this model), so that with the STLB proof (stlb_isolation_formal.sv) an STLB
  // hit's response lies inside the region at any depth. Probes (connected after flattening):
  logic                 probe_stlb_busy, probe_walker_idle, probe_resp_valid_d, probe_l1_fill;
  mmu_pkg::resp_t       probe_resp_d;
  logic [PaBits-13:0]   probe_rd_frame;
  mmu_pkg::page_size_e  probe_rd_size, probe_l1_fill_size;
  logic [PaBits-1:0]    probe_l1_fill_hpa;
  logic [15:0]          probe_l1_fill_vpid, probe_key_vpid;
  logic [93:0]          probe_held;  // mmu_top's held_req_t: vpid in the top 16 bits
  logic                 probe_probe_4k, probe_probe_2m;  // the STLB's probe registers
  // The STLB's ports (the STLB proof's A3) and the control decoder (its A1).
  logic                 probe_stlb_start, probe_stlb_fill, probe_stlb_done, probe_stlb_match;
  logic                 probe_stlb_touch, probe_stlb_drop, probe_inv_valid, probe_ctx_wr;
  mmu_pkg::inv_kind_e   probe_inv_kind;
  logic [31:0]          probe_inv_vpids, probe_ctx_flush_vpid;  // the first two list entries
  logic [1:0]           probe_inv_vpids_valid, probe_ctx_flush;

  logic [63:0] rd_page, hit_page;
  assign rd_page = 64'({probe_rd_frame, 12'h000}) & ~(mmu_pkg::page_bytes(probe_rd_size) - 64'd1);
  assign hit_page = probe_resp_d.hpa & ~(mmu_pkg::page_bytes(probe_resp_d.size) - 64'd1);

  always_comb begin : wiring
    if (initialized && rst_ni) begin
      // A probe or a sweep runs only while the walker is IDLE (so no walk response or fill
      // shares the probe's deciding cycle).
      // (Labels on lines of their own: scripts/formal names these properties itself.)
      top_stlb_walker_idle:
        assert (!probe_stlb_busy || probe_walker_idle);
      // The probe's key is the held request's VPID.
      top_stlb_key_is_held:
        assert (!(probe_probe_4k || probe_probe_2m) || probe_key_vpid == probe_held[93:78]);
      // The STLB proof's A3: no probe start, fill or invalidation while the STLB is busy, at
      // most one of them in a cycle, a touch or a drop only when a probe decides with a match.
      top_stlb_ports:
        assert (!(probe_stlb_busy && (probe_stlb_start || probe_stlb_fill || probe_inv_valid)) &&
                !(probe_stlb_fill && (probe_stlb_start || probe_inv_valid)) &&
                !(probe_stlb_start && probe_inv_valid) &&
                (!(probe_stlb_touch || probe_stlb_drop) || (probe_stlb_done && probe_stlb_match)) &&
                !(probe_stlb_touch && probe_stlb_drop));
      // The STLB proof's A1: a register write's implicit flush reaches the STLB in the write's
      // cycle as an InvByVpids list of the VPIDs mmu_ctx_regs reports.
      top_stlb_flush:
        assert (!(probe_ctx_wr && |probe_ctx_flush) ||
                (probe_inv_valid && probe_inv_kind == mmu_pkg::InvByVpids &&
                 probe_inv_vpids_valid == probe_ctx_flush &&
                 probe_inv_vpids == probe_ctx_flush_vpid));
      // A hit answers with the entry's page and size, no fault, and refills the first level
      // with that entry for the held request's VPID.
      if (probe_stlb_hit)
        top_stlb_hit_is_entry:
          assert (probe_resp_valid_d &&
              probe_resp_d.fault == mmu_pkg::FaultNone && probe_resp_d.size == probe_rd_size &&
              hit_page == rd_page && probe_l1_fill && probe_l1_fill_size == probe_rd_size &&
              probe_l1_fill_hpa == {probe_rd_frame, 12'h000} &&
              probe_l1_fill_vpid == probe_held[93:78]);
    end
  end
`elsif TOP_STLB_WITNESS
  // The reachability witness (scripts/formal, top_stlb_hit_direct_reached): the BMC must find a
  // run in which a DIRECT request is answered from the STLB, and the cycle it finds bounds the
  // depth at which the isolation properties below cover STLB hits. Its label is on a line of its
  // own so that scripts/formal does not list it among the properties.
  always_comb begin : witness
    if (initialized && rst_ni)
      top_stlb_hit_direct_reached:
        assert (!(probe_stlb_hit && cur_direct_q));
  end
`else
  always_comb begin : isolation
    if (initialized && rst_ni) begin
      if (resp_valid)
        top_one_outstanding: assert (outstanding_q && !req_fire || outstanding_q && resp_fire);
      if (cur_direct_q && mem_req_valid && mem_req_dim == mmu_pkg::DimGuest)
        top_guest_op_in_region: assert (within(64'(mem_req_addr), 64'd8, cur_lo_q, cur_hi_q));
      if (cur_direct_q && resp_valid && resp_fault == mmu_pkg::FaultNone)
        top_resp_in_region: assert (within(resp_page, mmu_pkg::page_bytes(resp_size), cur_lo_q,
                                           cur_hi_q));
    end
  end
`endif
`endif

endmodule
