// mmu_ctx_regs: the NumContexts context slots of §3, written through the control port.
//
// Besides storage it answers the three questions the rest of the MMU asks of the slots:
//   - which slot serves a request's VPID (the lowest valid slot whose VPID matches),
//   - what the registers of a given slot are (the walker's context, selected by the top),
//   - which VPIDs INV_EPTP flushes (valid slots in NESTED or DIRECT mode with that EPTP root).
// A write that §3 says flushes reports the VPID to flush in the same cycle (before the write
// takes effect, so a VPID write flushes the old VPID).
module mmu_ctx_regs #(
  parameter int unsigned PaBits = 46,
  parameter int unsigned NumContexts = 4,
  parameter int unsigned EscapeEntries = 4,
  localparam int unsigned CtxBits = (NumContexts > 1) ? $clog2(NumContexts) : 1
) (
  input  logic                                         clk_i,
  input  logic                                         rst_ni,
  // Register write (WRITE_REG).
  input  logic                                         wr_i,
  input  logic [CtxBits-1:0]                           wr_ctx_i,
  input  logic [3:0]                                   wr_reg_i,
  input  logic [63:0]                                  wr_data_i,
  output logic                                         flush_o,
  output logic [15:0]                                  flush_vpid_o,
  // Slot lookup by VPID.
  input  logic [15:0]                                  lk_vpid_i,
  output logic                                         lk_found_o,
  output logic [CtxBits-1:0]                           lk_ctx_o,
  // Registers of one slot.
  input  logic [CtxBits-1:0]                           sel_ctx_i,
  output logic [1:0]                                   sel_mode_o,  // mode_e
  output logic [PaBits-1:0]                            sel_cr3_o,
  output logic [PaBits-1:0]                            sel_ept_root_o,
  output logic                                         sel_ept_ad_o,
  output logic [PaBits-1:0]                            sel_gbase_o,
  output logic [PaBits:0]                              sel_gsize_o,
  output logic                                         sel_guest_ad_o,
  output logic [EscapeEntries-1:0]                     sel_esc_valid_o,
  output logic [EscapeEntries*(PaBits-12)-1:0]        sel_esc_page_o,  // entry k at [k(P-12) +: P-12]
  // INV_EPTP: the VPIDs whose entries go.
  input  logic [PaBits-13:0]                           eptp_root_i,  // INV_EPTP operand [P-1:12]
  output logic [NumContexts*16-1:0]                    eptp_vpids_o,    // slot c at [16c +: 16]
  output logic [NumContexts-1:0]                       eptp_vpids_valid_o
);

  typedef struct packed {
    logic                                  valid;
    logic [15:0]                           vpid;
    logic [1:0]                            mode;      // mode_e
    logic [PaBits-13:0]                    cr3;       // CR3[P-1:12]
    logic [PaBits-13:0]                    ept_root;  // EPTP[P-1:12]
    logic                                  ept_ad;    // EPTP[6]
    logic [PaBits-13:0]                    gbase;     // GBASE[P-1:12]
    logic [PaBits-12:0]                    gsize;     // GSIZE[P:12]
    logic                                  guest_ad;  // FLAGS[0]
    logic [EscapeEntries-1:0]              esc_valid;
    logic [EscapeEntries*(PaBits-12)-1:0]  esc_page;
  } slot_t;

  // $bits(slot_t), spelled out for yosys 0.23.
  localparam int unsigned SlotBits = 1 + 16 + 2 + 3 * (PaBits - 12) + 1 + (PaBits - 11) + 1 +
                                     EscapeEntries + EscapeEntries * (PaBits - 12);

  // Slot c at [c * SlotBits +: SlotBits] (yosys 0.23 has no packed arrays of structs).
  logic [NumContexts*SlotBits-1:0] slot_q, slot_d;

  always_comb begin : write
    slot_t s;
    slot_d = slot_q;
    flush_o = 1'b0;
    s = slot_q[0 +: SlotBits];
    for (int unsigned c = 0; c < NumContexts; c++) begin
      if (32'(wr_ctx_i) == 32'(c)) s = slot_q[c * SlotBits +: SlotBits];
    end
    flush_vpid_o = s.vpid;
    if (wr_i && 32'(wr_ctx_i) < 32'(NumContexts)) begin
      unique case (wr_reg_i)
        4'(mmu_pkg::CtxRegVpid): begin
          flush_o = s.valid;  // of the old VPID, and only if the slot was valid (§3)
          s.vpid = wr_data_i[15:0];
          s.valid = wr_data_i[16];
        end
        4'(mmu_pkg::CtxRegMode): begin
          flush_o = 1'b1;
          unique case (wr_data_i[1:0])
            2'd0: s.mode = mmu_pkg::ModeNative;
            2'd1: s.mode = mmu_pkg::ModeNested;
            2'd2: s.mode = mmu_pkg::ModeShadow;
            default: s.mode = mmu_pkg::ModeDirect;
          endcase
        end
        4'(mmu_pkg::CtxRegCr3): s.cr3 = wr_data_i[PaBits-1:12];
        4'(mmu_pkg::CtxRegEptp): begin
          flush_o = 1'b1;
          s.ept_root = wr_data_i[PaBits-1:12];
          s.ept_ad = wr_data_i[mmu_pkg::EptpAdEnable];
        end
        4'(mmu_pkg::CtxRegGbase): begin
          flush_o = 1'b1;
          s.gbase = wr_data_i[PaBits-1:12];
        end
        4'(mmu_pkg::CtxRegGsize): begin
          flush_o = 1'b1;
          s.gsize = wr_data_i[PaBits:12];
        end
        4'(mmu_pkg::CtxRegFlags): s.guest_ad = wr_data_i[0];
        default: begin
          // ESCAPE_k is register 8 + k; other indices are not registers and are ignored.
          for (int unsigned k = 0; k < EscapeEntries; k++) begin
            if (32'(wr_reg_i) == 32'(mmu_pkg::CtxRegEscape0) + 32'(k)) begin
              flush_o = 1'b1;
              s.esc_valid[k] = wr_data_i[0];
              s.esc_page[k * (PaBits - 12) +: (PaBits - 12)] = wr_data_i[PaBits-1:12];
            end
          end
        end
      endcase
      for (int unsigned c = 0; c < NumContexts; c++) begin
        if (32'(wr_ctx_i) == 32'(c)) slot_d[c * SlotBits +: SlotBits] = s;
      end
    end
  end

  always_comb begin : lookup
    // Only the valid bit and the VPID are looked at.
    /* verilator lint_off UNUSEDSIGNAL */
    slot_t s;
    /* verilator lint_on UNUSEDSIGNAL */
    lk_found_o = 1'b0;
    lk_ctx_o = '0;
    for (int c = 32'(NumContexts) - 1; c >= 0; c--) begin
      s = slot_q[c * SlotBits +: SlotBits];
      if (s.valid && s.vpid == lk_vpid_i) begin
        lk_found_o = 1'b1;
        lk_ctx_o = CtxBits'(c);
      end
    end
  end

  always_comb begin : select
    // The slot was selected because it is valid; its VPID is the request's.
    /* verilator lint_off UNUSEDSIGNAL */
    slot_t s;
    /* verilator lint_on UNUSEDSIGNAL */
    s = slot_q[0 +: SlotBits];
    for (int unsigned c = 0; c < NumContexts; c++) begin
      if (32'(sel_ctx_i) == 32'(c)) s = slot_q[c * SlotBits +: SlotBits];
    end
    sel_mode_o = s.mode;
    sel_cr3_o = {s.cr3, 12'h000};
    sel_ept_root_o = {s.ept_root, 12'h000};
    sel_ept_ad_o = s.ept_ad;
    sel_gbase_o = {s.gbase, 12'h000};
    sel_gsize_o = {s.gsize, 12'h000};
    sel_guest_ad_o = s.guest_ad;
    sel_esc_valid_o = s.esc_valid;
    sel_esc_page_o = s.esc_page;
  end

  always_comb begin : eptp_vpids
    // INV_EPTP looks at the valid bit, VPID, mode and EPT root of each slot.
    /* verilator lint_off UNUSEDSIGNAL */
    slot_t s;
    /* verilator lint_on UNUSEDSIGNAL */
    for (int unsigned c = 0; c < NumContexts; c++) begin
      s = slot_q[c * SlotBits +: SlotBits];
      eptp_vpids_o[c * 16 +: 16] = s.vpid;
      eptp_vpids_valid_o[c] = s.valid &&
          (s.mode == mmu_pkg::ModeNested || s.mode == mmu_pkg::ModeDirect) &&
          s.ept_root == eptp_root_i;
    end
  end

  always_ff @(posedge clk_i) begin : regs
    if (!rst_ni) begin
      slot_q <= '0;
    end else begin
      slot_q <= slot_d;
    end
  end

endmodule
