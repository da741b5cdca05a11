// ctx_regs_isolation_formal: the formal harness for the §3 implicit flushes on mmu_ctx_regs:
// no cached entry made under one slot's DIRECT region is used under another's (§8.3).
//
// The harness puts an abstract cache beside the context registers: two entries, one standing for
// a TLB entry and one for a PSC entry. Each holds a VPID and a stamp of the registers that decide
// where a DIRECT translation may go - MODE, GBASE, GSIZE and the escape list - of the slot that
// filled it. The environment is free, as far as mmu_top lets it be:
//   - register writes (slot, register, value) on any cycle;
//   - a fill of either entry on any cycle without a write, for any VPID that has a slot in
//     force, stamped from that slot through the module's own lookup and select ports - as
//     mmu_top fills at the end of a walk of the slot it looked up at the request, and accepts no
//     control command during a walk (§12), so the registers are the ones of the lookup;
//   - a flush as mmu_top performs it: in a write's cycle, each entry whose VPID is one of the
//     (up to two) VPIDs flush_o/flush_vpid_o report is removed;
//   - any entry may also be dropped on any cycle (INV_ADDR, INV_PCID, INV_EPTP, INV_ALL,
//     eviction: whatever else removes entries only removes them).
// Reset is applied in the first cycle and is free afterwards (it clears the slots and entries).
//
// Properties (names as scripts/formal reports them), on every cycle:
//   tlb_entry_of_slot_in_force, psc_entry_of_slot_in_force
//                              §3/§8.3: a valid entry whose VPID has a slot in force in DIRECT (or
//                              DUAL_DIRECT, §18.3) mode carries that slot's current MODE, GBASE, GSIZE and escapes;
//   lookup_is_lowest_valid     lk_found_o/lk_ctx_o name the lowest valid slot with the VPID (§3);
//   select_is_the_slot         the select port returns that slot's registers.
// The last two check the harness's reading of the slot storage against the module's ports.
// The slot storage (slot_q) is not a port; scripts/formal connects probe_slots to it after
// flattening (yosys `connect`), and the harness decodes it with the module's slot layout.
module ctx_regs_isolation_formal #(
  parameter int unsigned PaBits = 32,
  parameter int unsigned NumContexts = 3,
  parameter int unsigned EscapeEntries = 2,
  localparam int unsigned CtxBits = (NumContexts > 1) ? $clog2(NumContexts) : 1,
  localparam int unsigned EscSlots = (EscapeEntries > 0) ? EscapeEntries : 1
) (
  input logic               clk_i,
  input logic               rst_ni,
  input logic               wr_i,
  input logic [CtxBits-1:0] wr_ctx_i,
  input logic [4:0]         wr_reg_i,
  input logic [63:0]        wr_data_i,
  input logic [15:0]        lk_vpid_i,   // the VPID a fill is made for
  input logic [1:0]         fill_i,      // fill entry k (0 TLB, 1 PSC)
  input logic [1:0]         drop_i       // drop entry k
);

  // The slot layout of mmu_ctx_regs (slot_t there), to read probe_slots.
  typedef struct packed {
    logic                             valid;
    logic [15:0]                      vpid;
    logic [2:0]                       mode;
    logic [PaBits-13:0]               cr3;
    logic [PaBits-13:0]               ept_root;
    logic                             ept_ad;
    logic [1:0]                       ept_fmt;
    logic [PaBits-13:0]               gbase;
    logic [PaBits-12:0]               gsize;
    logic                             guest_ad;
    logic [EscSlots-1:0]              esc_valid;
    logic [EscSlots*(PaBits-12)-1:0]  esc_page;
    logic [51:0]                      gseg_base;
    logic [2:0]                       gseg_grant;
    logic [51:0]                      gseg_limit;
    logic [PaBits-13:0]               gseg_offset;
    logic [EscSlots-1:0]              gesc_valid;
    logic [EscSlots*52-1:0]           gesc_page;
    logic [PaBits-13:0]               gcr3;
    logic                             root_nested;
  } slot_t;
  localparam int unsigned SlotBits = 1 + 16 + 3 + 3 * (PaBits - 12) + 1 + 2 + (PaBits - 11) + 1 +
                                     EscSlots + EscSlots * (PaBits - 12) + 52 + 3 + 52 +
                                     (PaBits - 12) + EscSlots + EscSlots * 52 + (PaBits - 12) + 1;

  // What an entry remembers of the slot that filled it.
  typedef struct packed {
    logic [2:0]                       mode;
    logic [PaBits-13:0]               gbase;
    logic [PaBits-12:0]               gsize;
    logic [EscSlots-1:0]              esc_valid;
    logic [EscSlots*(PaBits-12)-1:0]  esc_page;
  } stamp_t;

  /* verilator lint_off UNUSEDSIGNAL */
  logic [1:0]                      flush;
  logic [31:0]                     flush_vpid;
  logic                            lk_found;
  logic [CtxBits-1:0]              lk_ctx;
  logic [2:0]                      sel_mode;
  logic [PaBits-1:0]               sel_cr3, sel_ept_root, sel_gbase;
  logic [PaBits:0]                 sel_gsize;
  logic                            sel_ept_ad, sel_guest_ad;
  logic [1:0]                      sel_ept_fmt;
  logic [EscSlots-1:0]             sel_esc_valid;
  logic [EscSlots*(PaBits-12)-1:0] sel_esc_page;
  logic [63:0]                     sel_gseg_base, sel_gseg_limit;
  logic [PaBits-1:0]               sel_gseg_offset;
  logic [EscSlots-1:0]             sel_gesc_valid;
  logic [EscSlots*52-1:0]          sel_gesc_page;
  logic [PaBits-1:0]               sel_gcr3;
  logic                            sel_root_nested;
  logic [NumContexts*16-1:0]       eptp_vpids;
  logic [NumContexts-1:0]          eptp_vpids_valid;
  /* verilator lint_on UNUSEDSIGNAL */

  mmu_ctx_regs #(
    .PaBits(PaBits), .NumContexts(NumContexts), .EscapeEntries(EscapeEntries)
  ) u_ctx (
    .clk_i              (clk_i),
    .rst_ni             (rst_ni),
    .wr_i               (wr_i),
    .wr_ctx_i           (wr_ctx_i),
    .wr_reg_i           (wr_reg_i),
    .wr_data_i          (wr_data_i),
    .flush_o            (flush),
    .flush_vpid_o       (flush_vpid),
    .lk_vpid_i          (lk_vpid_i),
    .lk_found_o         (lk_found),
    .lk_ctx_o           (lk_ctx),
    .sel_ctx_i          (lk_ctx),
    .sel_mode_o         (sel_mode),
    .sel_cr3_o          (sel_cr3),
    .sel_ept_root_o     (sel_ept_root),
    .sel_ept_ad_o       (sel_ept_ad),
    .sel_ept_fmt_o      (sel_ept_fmt),
    .sel_gbase_o        (sel_gbase),
    .sel_gsize_o        (sel_gsize),
    .sel_guest_ad_o     (sel_guest_ad),
    .sel_esc_valid_o    (sel_esc_valid),
    .sel_esc_page_o     (sel_esc_page),
    .sel_gseg_base_o    (sel_gseg_base),
    .sel_gseg_limit_o   (sel_gseg_limit),
    .sel_gseg_offset_o  (sel_gseg_offset),
    .sel_gesc_valid_o   (sel_gesc_valid),
    .sel_gesc_page_o    (sel_gesc_page),
    .sel_gcr3_o         (sel_gcr3),
    .sel_root_nested_o  (sel_root_nested),
    .eptp_root_i        (wr_data_i[PaBits-1:12]),
    .eptp_vpids_o       (eptp_vpids),
    .eptp_vpids_valid_o (eptp_vpids_valid)
  );

  // The stamp the select port gives for the looked-up slot.
  stamp_t sel_stamp;
  assign sel_stamp = {sel_mode, sel_gbase[PaBits-1:12], sel_gsize[PaBits:12], sel_esc_valid,
                      sel_esc_page};

  // ---------------------------------------------------------------------------------------
  // The abstract cache: entry 0 a TLB entry, entry 1 a PSC entry.

  localparam int unsigned StampBits = 3 + (PaBits - 12) + (PaBits - 11) + EscSlots +
                                      EscSlots * (PaBits - 12);

  // Entry k: VPID at [16k +: 16], stamp at [k * StampBits +: StampBits].
  logic [1:0]             entry_valid_q;
  logic [31:0]            entry_vpid_q;
  logic [2*StampBits-1:0] entry_stamp_q;

  always_ff @(posedge clk_i) begin : cache
    for (int k = 0; k < 2; k++) begin
      if (!rst_ni) begin
        entry_valid_q[k] <= 1'b0;
      end else if (wr_i) begin
        // mmu_top's implicit INV_VPID: every reported VPID goes, in the write's cycle.
        if ((flush[0] && entry_vpid_q[16 * k +: 16] == flush_vpid[15:0]) ||
            (flush[1] && entry_vpid_q[16 * k +: 16] == flush_vpid[31:16]) || drop_i[k])
          entry_valid_q[k] <= 1'b0;
      end else if (fill_i[k] && lk_found) begin
        entry_valid_q[k] <= 1'b1;
        entry_vpid_q[16 * k +: 16] <= lk_vpid_i;
        entry_stamp_q[k * StampBits +: StampBits] <= sel_stamp;
      end else if (drop_i[k]) begin
        entry_valid_q[k] <= 1'b0;
      end
    end
  end

`ifdef FORMAL
  // Driven by scripts/formal from u_ctx.slot_q (see the header).
  /* verilator lint_off UNDRIVEN */
  logic [NumContexts*SlotBits-1:0] probe_slots;
  /* verilator lint_on UNDRIVEN */

  // The slot in force (§3: the lowest valid slot that holds the VPID) for each entry's VPID
  // (e = 0, 1) and for the looked-up VPID (e = 2): found, and its stamp.
  logic [2:0]             ref_found;
  logic [3*CtxBits-1:0]   ref_slot;    // query e at [e * CtxBits +: CtxBits]
  logic [3*StampBits-1:0] ref_stamp;   // query e at [e * StampBits +: StampBits]
  logic [2:0]             ref_direct;

  logic [15:0] q_vpid;
  slot_t       q_slot;

  always_comb begin : in_force
    ref_found = '0;
    ref_slot = '0;
    ref_stamp = '0;
    ref_direct = '0;
    for (int e = 0; e < 3; e++) begin
      q_vpid = (e == 2) ? lk_vpid_i : entry_vpid_q[16 * e +: 16];
      for (int c = 32'(NumContexts) - 1; c >= 0; c--) begin
        q_slot = probe_slots[c * SlotBits +: SlotBits];
        if (q_slot.valid && q_slot.vpid == q_vpid) begin
          ref_found[e] = 1'b1;
          ref_slot[e * CtxBits +: CtxBits] = CtxBits'(c);
          ref_stamp[e * StampBits +: StampBits] = {q_slot.mode, q_slot.gbase, q_slot.gsize,
                                                   q_slot.esc_valid, q_slot.esc_page};
          ref_direct[e] = q_slot.mode == mmu_pkg::ModeDirect ||
                          q_slot.mode == mmu_pkg::ModeDualDirect;
        end
      end
    end
  end

  logic initialized = 1'b0;
  always_ff @(posedge clk_i) initialized <= 1'b1;

  always_comb begin : environment
    if (!initialized) assume (!rst_ni);
  end

  always_comb begin : isolation
    if (initialized) begin
      // An entry whose VPID has a DIRECT or DUAL_DIRECT slot in force was made under that
      // slot's registers (the guest segment's, which do not flush, excepted: §18.3).
      if (entry_valid_q[0] && ref_found[0] && ref_direct[0])
        tlb_entry_of_slot_in_force: assert (entry_stamp_q[0 +: StampBits] ==
                                            ref_stamp[0 +: StampBits]);
      if (entry_valid_q[1] && ref_found[1] && ref_direct[1])
        psc_entry_of_slot_in_force: assert (entry_stamp_q[StampBits +: StampBits] ==
                                            ref_stamp[StampBits +: StampBits]);
      lookup_is_lowest_valid: assert (lk_found == ref_found[2] &&
                                      (!lk_found || lk_ctx == ref_slot[2 * CtxBits +: CtxBits]));
      if (lk_found)
        select_is_the_slot: assert (sel_stamp == ref_stamp[2 * StampBits +: StampBits]);
    end
  end
`endif

endmodule
