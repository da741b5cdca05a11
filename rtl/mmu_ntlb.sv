// mmu_ntlb: the nested TLB of §10.2: gPA -> hPA translations tagged by the EPTP root, one
// mmu_ntlb_array per EPT page size (4K, 2M, 1G), searched in that order.
//
// The caller (the walker) decides whether an entry grants the access; it then touches the entry
// or drops every entry that matches (§5 nested_translate).
module mmu_ntlb #(
  parameter int unsigned PaBits = 46,
  parameter int unsigned Ntlb4kSets = 16,
  parameter int unsigned Ntlb4kWays = 4,
  parameter int unsigned Ntlb2mSets = 4,
  parameter int unsigned Ntlb2mWays = 4,
  parameter int unsigned Ntlb1gSets = 1,
  parameter int unsigned Ntlb1gWays = 4
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,
  // Roots and frames are 4K aligned; only bits [P-1:12] of those addresses are used.
  /* verilator lint_off UNUSEDSIGNAL */
  // Lookup (combinational; outputs are meaningful only with lk_enable_i).
  input  logic                  lk_enable_i,
  input  logic [PaBits-1:0]     lk_root_i,  // EPTP root
  input  logic [PaBits-1:0]     lk_gpa_i,
  output logic                  lk_match_o,
  output logic [PaBits-1:0]     lk_hpa_o,   // frame | gpa offset inside the entry's page
  output mmu_pkg::page_size_e   lk_size_o,
  output logic [2:0]            lk_perm_o,
  output logic                  lk_dirty_o,
  input  logic                  lk_touch_i,
  input  logic                  lk_inv_matching_i,
  // Fill (a nested walk completed).
  input  logic                  fill_i,
  input  logic [PaBits-1:0]     fill_root_i,
  input  logic [PaBits-1:0]     fill_gpa_i,
  input  mmu_pkg::page_size_e   fill_size_i,
  input  logic [PaBits-1:0]     fill_hpa_i,
  input  logic [2:0]            fill_perm_i,
  input  logic                  fill_dirty_i,
  // Invalidation (§11): every entry of an EPTP root, or all.
  input  logic                  inv_root_i,
  input  logic                  inv_all_i,
  input  logic [PaBits-1:0]     inv_root_addr_i
  /* verilator lint_on UNUSEDSIGNAL */
);

  localparam int unsigned FrameBits = PaBits - 12;

  logic [2:0]             arr_match;
  logic [3*FrameBits-1:0] arr_frame;
  logic [3*3-1:0]         arr_perm;
  logic [2:0]             arr_dirty;
  logic [1:0]             sel;

  for (genvar s = 0; s < 3; s++) begin : gen_array
    localparam int unsigned Sets = (s == 0) ? Ntlb4kSets : (s == 1) ? Ntlb2mSets : Ntlb1gSets;
    localparam int unsigned Ways = (s == 0) ? Ntlb4kWays : (s == 1) ? Ntlb2mWays : Ntlb1gWays;

    mmu_ntlb_array #(.SizeIndex(s), .Sets(Sets), .Ways(Ways), .PaBits(PaBits)) u_array (
      .clk_i,
      .rst_ni,
      .lk_enable_i       (lk_enable_i),
      .lk_root_i         (lk_root_i[PaBits-1:12]),
      .lk_gfn_i          (lk_gpa_i[PaBits-1:12]),
      .lk_match_o        (arr_match[s]),
      .lk_frame_o        (arr_frame[s * FrameBits +: FrameBits]),
      .lk_perm_o         (arr_perm[s * 3 +: 3]),
      .lk_dirty_o        (arr_dirty[s]),
      .lk_touch_i        (lk_touch_i && lk_match_o && 32'(sel) == s),
      .lk_inv_matching_i (lk_inv_matching_i),
      .fill_i            (fill_i && 32'(fill_size_i) == s),
      .fill_root_i       (fill_root_i[PaBits-1:12]),
      .fill_gfn_i        (fill_gpa_i[PaBits-1:12]),
      .fill_frame_i      (fill_hpa_i[PaBits-1:12]),
      .fill_perm_i       (fill_perm_i),
      .fill_dirty_i      (fill_dirty_i),
      .inv_root_i        (inv_root_i),
      .inv_all_i         (inv_all_i),
      .inv_root_frame_i  (inv_root_addr_i[PaBits-1:12])
    );
  end

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
    lk_hpa_o = {arr_frame[32'(sel) * FrameBits +: FrameBits], 12'h000} |
               (lk_gpa_i & offset_mask);
    lk_perm_o = arr_perm[32'(sel) * 3 +: 3];
    lk_dirty_o = arr_dirty[sel];
  end

endmodule
