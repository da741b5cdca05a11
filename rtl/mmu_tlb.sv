// mmu_tlb: the translation TLB of §9: one mmu_tlb_array per page size (4K, 2M, 1G).
//
// Lookup searches 4K, then 2M, then 1G (the lowest matching way within an array wins, chosen by
// mmu_sa_array); the caller decides whether the entry grants (§7) and then either touches it
// or drops every matching entry. A fill goes to the array of the combined (splintered) size.
module mmu_tlb #(
  parameter int unsigned GuestLevels = 4,
  parameter int unsigned PaBits = 46,
  parameter int unsigned NumVpids = 4,  // length of the VPID list of InvByVpids
  parameter int unsigned Tlb4kSets = 16,
  parameter int unsigned Tlb4kWays = 4,
  parameter int unsigned Tlb2mSets = 8,
  parameter int unsigned Tlb2mWays = 4,
  parameter int unsigned Tlb1gSets = 1,
  parameter int unsigned Tlb1gWays = 4
) (
  input  logic                       clk_i,
  input  logic                       rst_ni,
  // Lookup (combinational; outputs are meaningful only with lk_enable_i).
  input  logic                       lk_enable_i,
  input  logic [15:0]                lk_vpid_i,
  input  logic [11:0]                lk_pcid_i,
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic [63:0]                lk_va_i,  // bits above VaBits: sign extension
  /* verilator lint_on UNUSEDSIGNAL */
  output logic                       lk_match_o,
  output logic [PaBits-1:0]          lk_hpa_o,
  output mmu_pkg::page_size_e        lk_size_o,
  output mmu_pkg::guest_acc_t        lk_acc_o,
  output logic [2:0]                 lk_ept_perm_o,
  output logic                       lk_dirty_o,
  input  logic                       lk_touch_i,         // the returned entry was used
  input  logic                       lk_inv_matching_i,  // drop every entry that matches
  // Fill (after a successful walk).
  input  logic                       fill_i,
  input  logic [15:0]                fill_vpid_i,
  input  logic [11:0]                fill_pcid_i,
  // VA bits above VaBits are sign extension (the top checks canonicality) and bits below 12
  // the page offset; the low 12 bits of the page-aligned hPA are zero.
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic [63:0]                fill_va_i,
  input  mmu_pkg::page_size_e        fill_size_i,
  input  mmu_pkg::page_size_e        fill_gsize_i,
  input  logic [PaBits-1:0]          fill_hpa_i,
  input  logic                       fill_global_i,
  input  mmu_pkg::guest_acc_t        fill_acc_i,
  input  logic [2:0]                 fill_ept_perm_i,
  input  logic                       fill_dirty_i,
  // Invalidation (§11).
  input  logic                       inv_i,
  input  mmu_pkg::inv_kind_e         inv_kind_i,
  input  logic [15:0]                inv_vpid_i,
  input  logic [11:0]                inv_pcid_i,
  input  logic [63:0]                inv_va_i,
  /* verilator lint_on UNUSEDSIGNAL */
  input  logic [NumVpids*16-1:0]     inv_vpids_i,  // VPID k at [16k +: 16]
  input  logic [NumVpids-1:0]        inv_vpids_valid_i
);

  localparam int unsigned VaBits = 12 + 9 * GuestLevels;
  localparam int unsigned FrameBits = PaBits - 12;

  // Per-array lookup results, in search order.
  logic [2:0]             arr_match;
  logic [3*FrameBits-1:0] arr_frame;
  logic [3*3-1:0]         arr_acc, arr_perm;
  logic [2:0]             arr_dirty;
  logic [1:0]             sel;  // the array that answers (page_size_e)

  for (genvar s = 0; s < 3; s++) begin : gen_array
    localparam int unsigned Sets = (s == 0) ? Tlb4kSets : (s == 1) ? Tlb2mSets : Tlb1gSets;
    localparam int unsigned Ways = (s == 0) ? Tlb4kWays : (s == 1) ? Tlb2mWays : Tlb1gWays;

    mmu_tlb_array #(
      .SizeIndex(s), .Sets(Sets), .Ways(Ways), .GuestLevels(GuestLevels), .PaBits(PaBits),
      .NumVpids(NumVpids)
    ) u_array (
      .clk_i,
      .rst_ni,
      .lk_enable_i       (lk_enable_i),
      .lk_vpid_i         (lk_vpid_i),
      .lk_pcid_i         (lk_pcid_i),
      .lk_vpn_i          (lk_va_i[VaBits-1:12]),
      .lk_match_o        (arr_match[s]),
      .lk_frame_o        (arr_frame[s * FrameBits +: FrameBits]),
      .lk_acc_o          (arr_acc[s * 3 +: 3]),
      .lk_ept_perm_o     (arr_perm[s * 3 +: 3]),
      .lk_dirty_o        (arr_dirty[s]),
      .lk_touch_i        (lk_touch_i && lk_match_o && 32'(sel) == s),
      .lk_inv_matching_i (lk_inv_matching_i),
      .fill_i            (fill_i && 32'(fill_size_i) == s),
      .fill_vpid_i       (fill_vpid_i),
      .fill_pcid_i       (fill_pcid_i),
      .fill_vpn_i        (fill_va_i[VaBits-1:12]),
      .fill_gsize_i      (fill_gsize_i),
      .fill_frame_i      (fill_hpa_i[PaBits-1:12]),
      .fill_global_i     (fill_global_i),
      .fill_acc_i        (fill_acc_i),
      .fill_ept_perm_i   (fill_ept_perm_i),
      .fill_dirty_i      (fill_dirty_i),
      .inv_i             (inv_i),
      .inv_kind_i        (inv_kind_i),
      .inv_vpid_i        (inv_vpid_i),
      .inv_pcid_i        (inv_pcid_i),
      .inv_vpn_i         (inv_va_i[VaBits-1:12]),
      .inv_vpids_i       (inv_vpids_i),
      .inv_vpids_valid_i (inv_vpids_valid_i)
    );
  end

  // The first array in search order that matches answers.
  always_comb begin : select
    logic [PaBits-1:0] offset_mask;
    sel = arr_match[0] ? 2'd0 : arr_match[1] ? 2'd1 : 2'd2;
    lk_match_o = |arr_match;
    unique case (sel)
      2'd0: lk_size_o = mmu_pkg::Size4K;
      2'd1: lk_size_o = mmu_pkg::Size2M;
      default: lk_size_o = mmu_pkg::Size1G;
    endcase
    unique case (sel)
      2'd0: offset_mask = PaBits'(64'h0000_0fff);
      2'd1: offset_mask = PaBits'(64'h001f_ffff);
      default: offset_mask = PaBits'(64'h3fff_ffff);
    endcase
    // hPA = the entry's frame | the VA's offset inside a page of the entry's size.
    lk_hpa_o = {arr_frame[32'(sel) * FrameBits +: FrameBits], 12'h000} |
               (lk_va_i[PaBits-1:0] & offset_mask);
    lk_acc_o = arr_acc[32'(sel) * 3 +: 3];
    lk_ept_perm_o = arr_perm[32'(sel) * 3 +: 3];
    lk_dirty_o = arr_dirty[sel];
  end

endmodule
