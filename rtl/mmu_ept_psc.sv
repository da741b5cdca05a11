// mmu_ept_psc: the EPT paging-structure caches of §10.3, one array per EPT level l = 2 ..
// NestedLevels (PDE, PDPTE, PML4E, PML5E) whose Ways parameter is not 0 (a level with 0 ways has
// no cache and never hits). Each level is an mmu_ntlb_array, the nested TLB's array: entries
// tagged by the EPTP root and the prefix gpa >> shift(l) (the array of "size" l - 1), holding the
// next EPT table (kept whole: PageFrame = 0) and the permission through level l.
//
// It is probed with the gPA the nested TLB is probed with, in the same cycle, and reports the
// deepest hitting level (PDE first), the only one the walker uses (on a nested-TLB miss) and
// touches.
//
// The EPT format (§21.5): FLAT2's one non-leaf level is level 2, whose entry covers 1 GiB (prefix
// gpa >> 30): the level-2 array is given the frame (gpa >> 30) << 9 for both lookup and fill, so
// that its tag and set index, gpa >> 21 and (gpa >> 21) mod Sets for RADIX, are the prefix and
// prefix mod Sets. A flattened format uses no level above 2, FLAT1 no level at all: their
// arrays are looked up as for RADIX but report no hit, so nothing is touched.
module mmu_ept_psc #(
  parameter int unsigned NestedLevels = 4,
  parameter int unsigned PaBits = 46,
  parameter int unsigned EptPscL2Sets = 8,
  parameter int unsigned EptPscL2Ways = 4,
  parameter int unsigned EptPscL3Sets = 4,
  parameter int unsigned EptPscL3Ways = 4,
  parameter int unsigned EptPscL4Sets = 4,
  parameter int unsigned EptPscL4Ways = 4,
  parameter int unsigned EptPscL5Sets = 1,
  parameter int unsigned EptPscL5Ways = 4
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,
  // Roots, gPAs and table addresses are used from bit 12 up.
  /* verilator lint_off UNUSEDSIGNAL */
  // Lookup (combinational, meaningful only with lk_enable_i): the deepest hitting level.
  input  logic                  lk_enable_i,
  input  logic [PaBits-1:0]     lk_root_i,  // EPTP root
  input  logic [PaBits-1:0]     lk_gpa_i,
  // The EPTP's FMT (mmu_pkg::ept_fmt_e; 3 walks as RADIX), for lookups and fills alike: the
  // walker's context, stable while it walks.
  input  logic [1:0]            fmt_i,
  output logic                  lk_hit_o,
  output logic [2:0]            lk_level_o,
  output logic [PaBits-1:0]     lk_next_o,  // the level lk_level_o - 1 EPT table
  output logic [2:0]            lk_perm_o,
  input  logic                  lk_touch_i,
  // Fill of one level (a validated non-leaf EPT entry).
  input  logic                  fill_i,
  input  logic [2:0]            fill_level_i,
  input  logic [PaBits-1:0]     fill_root_i,
  input  logic [PaBits-1:0]     fill_gpa_i,
  input  logic [PaBits-1:0]     fill_next_i,
  input  logic [2:0]            fill_perm_i,
  // Invalidation (§11): every entry of an EPTP root, or all.
  input  logic                  inv_root_i,
  input  logic                  inv_all_i,
  input  logic [PaBits-1:0]     inv_root_addr_i
  /* verilator lint_on UNUSEDSIGNAL */
);

  localparam int unsigned FrameBits = PaBits - 12;
  localparam int unsigned NumCaches = NestedLevels - 1;  // cache c serves EPT level c + 2

  logic [NumCaches-1:0]           cache_hit, cache_used;
  logic                           flat2, flat;
  logic [FrameBits-1:0]           lk_l2_gfn, fill_l2_gfn;

  assign flat2 = fmt_i == 2'(mmu_pkg::EptFmtFlat2);
  assign flat = flat2 || fmt_i == 2'(mmu_pkg::EptFmtFlat1);
  // The level-2 array's gPA frame: gpa >> 12, or FLAT2's prefix gpa >> 30 placed where the
  // array keeps gpa >> 21.
  assign lk_l2_gfn = flat2 ? FrameBits'({lk_gpa_i[PaBits-1:30], 9'h000}) : lk_gpa_i[PaBits-1:12];
  assign fill_l2_gfn = flat2 ? FrameBits'({fill_gpa_i[PaBits-1:30], 9'h000}) :
                               fill_gpa_i[PaBits-1:12];
  logic [NumCaches*FrameBits-1:0] cache_next;
  logic [NumCaches*3-1:0]         cache_perm;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [NumCaches-1:0]           cache_dirty;  // the nested TLB's dirty bit: not used here
  /* verilator lint_on UNUSEDSIGNAL */

  for (genvar c = 0; c < NumCaches; c++) begin : gen_level
    localparam int unsigned Level = c + 2;
    localparam int unsigned Sets = (Level == 2) ? EptPscL2Sets : (Level == 3) ? EptPscL3Sets :
                                   (Level == 4) ? EptPscL4Sets : EptPscL5Sets;
    localparam int unsigned Ways = (Level == 2) ? EptPscL2Ways : (Level == 3) ? EptPscL3Ways :
                                   (Level == 4) ? EptPscL4Ways : EptPscL5Ways;

    // Which formats use this level's entries (§21.5): level 2 all but FLAT1, the others RADIX.
    assign cache_used[c] = cache_hit[c] && ((Level == 2) ? fmt_i != 2'(mmu_pkg::EptFmtFlat1) : !flat);

    if (Ways > 0) begin : gen_cache
      mmu_ntlb_array #(
        .SizeIndex(Level - 1), .Sets(Sets), .Ways(Ways), .PaBits(PaBits), .PageFrame(1'b0)
      ) u_array (
        .clk_i,
        .rst_ni,
        .lk_enable_i       (lk_enable_i),
        .lk_root_i         (lk_root_i[PaBits-1:12]),
        .lk_gfn_i          ((Level == 2) ? lk_l2_gfn : lk_gpa_i[PaBits-1:12]),
        .lk_match_o        (cache_hit[c]),
        .lk_frame_o        (cache_next[c * FrameBits +: FrameBits]),
        .lk_perm_o         (cache_perm[c * 3 +: 3]),
        .lk_dirty_o        (cache_dirty[c]),
        .lk_touch_i        (lk_touch_i && lk_hit_o && 32'(lk_level_o) == Level),
        .lk_inv_matching_i (1'b0),
        .fill_i            (fill_i && 32'(fill_level_i) == Level),
        .fill_root_i       (fill_root_i[PaBits-1:12]),
        .fill_gfn_i        ((Level == 2) ? fill_l2_gfn : fill_gpa_i[PaBits-1:12]),
        .fill_frame_i      (fill_next_i[PaBits-1:12]),
        .fill_perm_i       (fill_perm_i),
        .fill_dirty_i      (1'b0),
        .inv_root_i        (inv_root_i),
        .inv_all_i         (inv_all_i),
        .inv_root_frame_i  (inv_root_addr_i[PaBits-1:12])
      );
    end else begin : gen_none
      assign cache_hit[c] = 1'b0;
      assign cache_next[c * FrameBits +: FrameBits] = '0;
      assign cache_perm[c * 3 +: 3] = '0;
      assign cache_dirty[c] = 1'b0;
    end
  end

  // The deepest level the format uses (PDE first) wins (§10.3).
  always_comb begin : deepest
    lk_hit_o = 1'b0;
    lk_level_o = '0;
    lk_next_o = '0;
    lk_perm_o = '0;
    for (int c = NumCaches - 1; c >= 0; c--) begin
      if (cache_used[c]) begin
        lk_hit_o = 1'b1;
        lk_level_o = 3'(c + 2);
        lk_next_o = {cache_next[c * FrameBits +: FrameBits], 12'h000};
        lk_perm_o = cache_perm[c * 3 +: 3];
      end
    end
  end

endmodule
