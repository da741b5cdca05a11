// mmu_ctx_regs: the NumContexts context slots of §3, written through the control port.
//
// Besides storage it answers the three questions the rest of the MMU asks of the slots:
//   - which slot serves a request's VPID (the lowest valid slot whose VPID matches),
//   - what the registers of a given slot are (the walker's context, selected by the top),
//   - which VPIDs INV_EPTP flushes (valid slots in a mode with an EPTP with that EPTP root).
// A write that §3 says flushes reports the VPIDs to flush in the same cycle: the slot's VPID
// before the write (MODE, EPTP, GBASE, GSIZE, ESCAPE, GESCAPE and VPID writes; not CR3, FLAGS,
// the guest segment GSEG_*, §18.7, and GCR3, §20.5) and, for a VPID write, the
// VPID written - whatever the valid bits, so that any change of which slot is in force for a
// VPID, or of that slot's translation registers, flushes the VPID (§3, §8.3).
module mmu_ctx_regs #(
  parameter int unsigned PaBits = 46,
  parameter int unsigned NumContexts = 4,
  parameter int unsigned EscapeEntries = 4,
  localparam int unsigned CtxBits = (NumContexts > 1) ? $clog2(NumContexts) : 1,
  // Escape vectors keep one (never valid) slot when EscapeEntries = 0.
  localparam int unsigned EscSlots = (EscapeEntries > 0) ? EscapeEntries : 1
) (
  input  logic                                         clk_i,
  input  logic                                         rst_ni,
  // Register write (WRITE_REG).
  input  logic                                         wr_i,
  input  logic [CtxBits-1:0]                           wr_ctx_i,
  input  logic [4:0]                                   wr_reg_i,  // ctx_reg_e
  input  logic [63:0]                                  wr_data_i,
  output logic [1:0]                                   flush_o,       // bit k: flush VPID k
  output logic [31:0]                                  flush_vpid_o,  // VPID k at [16k +: 16]
  // Slot lookup by VPID.
  input  logic [15:0]                                  lk_vpid_i,
  output logic                                         lk_found_o,
  output logic [CtxBits-1:0]                           lk_ctx_o,
  // Registers of one slot.
  input  logic [CtxBits-1:0]                           sel_ctx_i,
  output logic [2:0]                                   sel_mode_o,  // mode_e
  output logic [PaBits-1:0]                            sel_cr3_o,
  output logic [PaBits-1:0]                            sel_ept_root_o,
  output logic                                         sel_ept_ad_o,
  output logic [1:0]                                   sel_ept_fmt_o,  // EPTP[9:8], FMT (§21.1)
  output logic [PaBits-1:0]                            sel_gbase_o,
  output logic [PaBits:0]                              sel_gsize_o,
  output logic                                         sel_guest_ad_o,
  output logic [EscSlots-1:0]                     sel_esc_valid_o,
  output logic [EscSlots*(PaBits-12)-1:0]        sel_esc_page_o,  // entry k at [k(P-12) +: P-12]
  // The guest segment (§18.1): BASE with its grant bits 3:1 (X, US, RW), LIMIT, OFFSET, and the
  // guest escape entries (gVA pages 63:12).
  output logic [63:0]                                  sel_gseg_base_o,
  output logic [63:0]                                  sel_gseg_limit_o,
  output logic [PaBits-1:0]                            sel_gseg_offset_o,
  output logic [EscSlots-1:0]                          sel_gesc_valid_o,
  output logic [EscSlots*52-1:0]                       sel_gesc_page_o,  // entry k at [52k +: 52]
  // AGILE (§20.1): gCR3, and GCR3 bit 0, the switch at the root.
  output logic [PaBits-1:0]                            sel_gcr3_o,
  output logic                                         sel_root_nested_o,
  // INV_EPTP: the VPIDs whose entries go.
  input  logic [PaBits-13:0]                           eptp_root_i,  // INV_EPTP operand [P-1:12]
  output logic [NumContexts*16-1:0]                    eptp_vpids_o,    // slot c at [16c +: 16]
  output logic [NumContexts-1:0]                       eptp_vpids_valid_o
);

  typedef struct packed {
    logic                                  valid;
    logic [15:0]                           vpid;
    logic [2:0]                            mode;      // mode_e
    logic [PaBits-13:0]                    cr3;       // CR3[P-1:12]
    logic [PaBits-13:0]                    ept_root;  // EPTP[P-1:12]
    logic                                  ept_ad;    // EPTP[6]
    logic [1:0]                            ept_fmt;   // EPTP[9:8] (§21.1; 3 walks as RADIX)
    logic [PaBits-13:0]                    gbase;     // GBASE[P-1:12]
    logic [PaBits-12:0]                    gsize;     // GSIZE[P:12]
    logic                                  guest_ad;  // FLAGS[0]
    logic [EscSlots-1:0]              esc_valid;
    logic [EscSlots*(PaBits-12)-1:0]  esc_page;
    // §18.1. OFFSET keeps its bits P-1:12 only: the gPA is va + OFFSET modulo 2^P.
    logic [51:0]                           gseg_base;    // GSEG_BASE[63:12]
    logic [2:0]                            gseg_grant;   // GSEG_BASE[3:1]: X, US, RW
    logic [51:0]                           gseg_limit;   // GSEG_LIMIT[63:12]
    logic [PaBits-13:0]                    gseg_offset;  // GSEG_OFFSET[P-1:12]
    logic [EscSlots-1:0]                   gesc_valid;
    logic [EscSlots*52-1:0]                gesc_page;    // GESCAPE_k[63:12] at [52k +: 52]
    // §20.1.
    logic [PaBits-13:0]                    gcr3;         // GCR3[P-1:12]
    logic                                  root_nested;  // GCR3[0]
  } slot_t;

  // $bits(slot_t), spelled out for yosys 0.23.
  localparam int unsigned SlotBits = 1 + 16 + 3 + 3 * (PaBits - 12) + 1 + 2 + (PaBits - 11) + 1 +
                                     EscSlots + EscSlots * (PaBits - 12) + 52 + 3 + 52 +
                                     (PaBits - 12) + EscSlots + EscSlots * 52 + (PaBits - 12) + 1;

  // Slot c at [c * SlotBits +: SlotBits] (yosys 0.23 has no packed arrays of structs).
  logic [NumContexts*SlotBits-1:0] slot_q;

  slot_t wr_slot;   // the slot being written
  // Each reader looks at some fields only: lookup the valid bit and VPID, INV_EPTP also the
  // mode and EPT root, the walker's selection everything but the valid bit and VPID.
  /* verilator lint_off UNUSEDSIGNAL */
  slot_t lk_slot, sel_slot, ep_slot;
  /* verilator lint_on UNUSEDSIGNAL */

  // The new value of the written slot, and whether the write flushes (§3).
  // Writes are rare and the select is an input: skip the slot selection unless writing.
  always_comb begin : write
    flush_o = 2'b00;
    wr_slot = '0;
    if (wr_i) begin
      wr_slot = slot_q[0 +: SlotBits];
      for (int unsigned c = 0; c < NumContexts; c++) begin
        if (32'(wr_ctx_i) == 32'(c)) wr_slot = slot_q[c * SlotBits +: SlotBits];
      end
    end
    flush_vpid_o = {wr_data_i[15:0], wr_slot.vpid};
    if (wr_i && 32'(wr_ctx_i) < 32'(NumContexts)) begin
      unique case (wr_reg_i)
        5'(mmu_pkg::CtxRegVpid): begin
          flush_o = 2'b11;  // the old and the new VPID, whatever the valid bits (§3)
          wr_slot.vpid = wr_data_i[15:0];
          wr_slot.valid = wr_data_i[16];
        end
        5'(mmu_pkg::CtxRegMode): begin
          // Code 7 is reserved: nothing stored, no implicit flush (§3).
          if (wr_data_i[2:0] <= 3'(mmu_pkg::ModeAgile)) begin
            flush_o = 2'b01;
            wr_slot.mode = wr_data_i[2:0];
          end
        end
        5'(mmu_pkg::CtxRegCr3): wr_slot.cr3 = wr_data_i[PaBits-1:12];
        5'(mmu_pkg::CtxRegEptp): begin
          flush_o = 2'b01;
          wr_slot.ept_root = wr_data_i[PaBits-1:12];
          wr_slot.ept_ad = wr_data_i[mmu_pkg::EptpAdEnable];
          wr_slot.ept_fmt = wr_data_i[mmu_pkg::EptpFmt +: 2];
        end
        5'(mmu_pkg::CtxRegGbase): begin
          flush_o = 2'b01;
          wr_slot.gbase = wr_data_i[PaBits-1:12];
        end
        5'(mmu_pkg::CtxRegGsize): begin
          flush_o = 2'b01;
          wr_slot.gsize = wr_data_i[PaBits:12];
        end
        5'(mmu_pkg::CtxRegFlags): wr_slot.guest_ad = wr_data_i[0];
        // The guest segment is guest state switched with CR3: no implicit flush (§18.5).
        5'(mmu_pkg::CtxRegGsegBase): begin
          wr_slot.gseg_base = wr_data_i[63:12];
          wr_slot.gseg_grant = wr_data_i[3:1];
        end
        5'(mmu_pkg::CtxRegGsegLimit): wr_slot.gseg_limit = wr_data_i[63:12];
        5'(mmu_pkg::CtxRegGsegOffset): wr_slot.gseg_offset = wr_data_i[PaBits-1:12];
        // AGILE's guest root is guest state like CR3: no implicit flush (§20.1).
        5'(mmu_pkg::CtxRegGcr3): begin
          wr_slot.gcr3 = wr_data_i[PaBits-1:12];
          wr_slot.root_nested = wr_data_i[0];
        end
        default: begin
          // ESCAPE_k is register 8 + k, GESCAPE_k 24 + k; other indices are not registers and
          // are ignored.
          for (int unsigned k = 0; k < EscSlots; k++) begin
            if (EscapeEntries > 0 && 32'(wr_reg_i) == 32'(mmu_pkg::CtxRegEscape0) + 32'(k)) begin
              flush_o = 2'b01;
              wr_slot.esc_valid[k] = wr_data_i[0];
              wr_slot.esc_page[k * (PaBits - 12) +: (PaBits - 12)] = wr_data_i[PaBits-1:12];
            end
            if (EscapeEntries > 0 && 32'(wr_reg_i) == 32'(mmu_pkg::CtxRegGescape0) + 32'(k)) begin
              flush_o = 2'b01;
              wr_slot.gesc_valid[k] = wr_data_i[0];
              wr_slot.gesc_page[k * 52 +: 52] = wr_data_i[63:12];
            end
          end
        end
      endcase
    end
  end

  always_comb begin : lookup
    lk_found_o = 1'b0;
    lk_ctx_o = '0;
    for (int c = 32'(NumContexts) - 1; c >= 0; c--) begin
      lk_slot = slot_q[c * SlotBits +: SlotBits];
      if (lk_slot.valid && lk_slot.vpid == lk_vpid_i) begin
        lk_found_o = 1'b1;
        lk_ctx_o = CtxBits'(c);
      end
    end
  end

  always_comb begin : select
    sel_slot = slot_q[0 +: SlotBits];
    for (int unsigned c = 0; c < NumContexts; c++) begin
      if (32'(sel_ctx_i) == 32'(c)) sel_slot = slot_q[c * SlotBits +: SlotBits];
    end
    sel_mode_o = sel_slot.mode;
    sel_cr3_o = {sel_slot.cr3, 12'h000};
    sel_ept_root_o = {sel_slot.ept_root, 12'h000};
    sel_ept_ad_o = sel_slot.ept_ad;
    sel_ept_fmt_o = sel_slot.ept_fmt;
    sel_gbase_o = {sel_slot.gbase, 12'h000};
    sel_gsize_o = {sel_slot.gsize, 12'h000};
    sel_guest_ad_o = sel_slot.guest_ad;
    sel_esc_valid_o = sel_slot.esc_valid;
    sel_esc_page_o = sel_slot.esc_page;
    sel_gseg_base_o = {sel_slot.gseg_base, 8'h00, sel_slot.gseg_grant, 1'b0};
    sel_gseg_limit_o = {sel_slot.gseg_limit, 12'h000};
    sel_gseg_offset_o = {sel_slot.gseg_offset, 12'h000};
    sel_gesc_valid_o = sel_slot.gesc_valid;
    sel_gesc_page_o = sel_slot.gesc_page;
    sel_gcr3_o = {sel_slot.gcr3, 12'h000};
    sel_root_nested_o = sel_slot.root_nested;
  end

  always_comb begin : eptp_vpids
    for (int unsigned c = 0; c < NumContexts; c++) begin
      ep_slot = slot_q[c * SlotBits +: SlotBits];
      eptp_vpids_o[c * 16 +: 16] = ep_slot.vpid;
      // The five modes with an EPTP (§11, §18.7, §20.5): all but NATIVE and SHADOW.
      eptp_vpids_valid_o[c] = ep_slot.valid &&
          (mmu_pkg::mode_nested_dim(ep_slot.mode) || mmu_pkg::mode_direct_dim(ep_slot.mode) ||
           ep_slot.mode == 3'(mmu_pkg::ModeAgile)) &&
          ep_slot.ept_root == eptp_root_i;
    end
  end

  always_ff @(posedge clk_i) begin : regs
    if (!rst_ni) begin
      slot_q <= '0;
    end else if (wr_i) begin
      for (int unsigned c = 0; c < NumContexts; c++) begin
        if (32'(wr_ctx_i) == c) slot_q[c * SlotBits +: SlotBits] <= wr_slot;
      end
    end
  end

endmodule
