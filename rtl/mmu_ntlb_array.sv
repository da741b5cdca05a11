// mmu_ntlb_array: one EPT-page-size array of the nested TLB (§10.2) around an mmu_sa_array, and
// (PageFrame = 0) one EPT level's paging-structure cache (§10.3, mmu_ept_psc): both are tagged by
// the EPTP root and a gPA prefix and invalidated by root or entirely.
//
// An entry holds the EPTP root, the gPA frame number at this array's size (the prefix
// gpa >> shift(SizeIndex + 1)), the host frame (nested TLB: the page, masked to the array's size;
// EPT PSC: the 4K-aligned next EPT table, kept whole), the EPT permission combined over the
// levels and dirty (unused by the EPT PSC). Set index (gpa >> shift(size)) & (Sets-1).
module mmu_ntlb_array #(
  parameter int unsigned SizeIndex = 0,  // page_size_e of the array; EPT PSC: EPT level - 1
  parameter int unsigned Sets = 16,
  parameter int unsigned Ways = 4,
  parameter int unsigned PaBits = 46,
  parameter bit          PageFrame = 1'b1,  // the frame is a page of the array's size
  localparam int unsigned FrameBits = PaBits - 12
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  // Lookup (combinational): the lowest matching way.
  input  logic                      lk_enable_i,    // a lookup is wanted this cycle
  input  logic [FrameBits-1:0]   lk_root_i,
  input  logic [FrameBits-1:0]   lk_gfn_i,     // gPA[P-1:12]
  output logic                   lk_match_o,
  output logic [FrameBits-1:0]   lk_frame_o,   // hPA[P-1:12] of the page
  output logic [2:0]             lk_perm_o,
  output logic                   lk_dirty_o,
  input  logic                   lk_touch_i,
  input  logic                   lk_inv_matching_i,
  // Fill.
  input  logic                   fill_i,
  input  logic [FrameBits-1:0]   fill_root_i,
  input  logic [FrameBits-1:0]   fill_gfn_i,
  input  logic [FrameBits-1:0]   fill_frame_i,
  input  logic [2:0]             fill_perm_i,
  input  logic                   fill_dirty_i,
  // Invalidation (§11): every entry of an EPTP root, or all.
  input  logic                   inv_root_i,
  input  logic                   inv_all_i,
  input  logic [FrameBits-1:0]   inv_root_frame_i
);

  localparam int unsigned SetBits = (Sets > 1) ? $clog2(Sets) : 1;
  localparam int unsigned WayBits = (Ways > 1) ? $clog2(Ways) : 1;
  localparam int unsigned IndexBits = (Sets * Ways > 1) ? $clog2(Sets * Ways) : 1;
  localparam logic [FrameBits-1:0] FrameMask = {FrameBits{1'b1}} << (9 * SizeIndex);

  typedef struct packed {
    logic [FrameBits-1:0] root;
    logic [FrameBits-1:0] gfn;
    logic [FrameBits-1:0] frame;
    logic [2:0]           perm;
    logic                 dirty;
  } entry_t;
  // $bits(entry_t), spelled out for yosys 0.23.
  localparam int unsigned EntryBits = 3 * FrameBits + 3 + 1;

  logic [SetBits-1:0]              lk_set, fill_set;
  logic [Ways-1:0]                 rd_valid, way_match;
  logic [WayBits-1:0]              hit_way;
  logic [IndexBits-1:0]            fill_index;
  logic [Sets*Ways-1:0]            all_valid, inv_mask;
  // The entries, index set * Ways + way; mmu_sa_array keeps their valid bits and PLRU state.
  logic [EntryBits-1:0]            entry_q [Sets*Ways];
  entry_t                          fill_entry;
  // A lookup or an invalidation reads only some fields of an entry.
  /* verilator lint_off UNUSEDSIGNAL */
  entry_t                          lk_entry, inv_entry, hit_entry;
  /* verilator lint_on UNUSEDSIGNAL */

  assign lk_set = SetBits'(lk_gfn_i >> (9 * SizeIndex)) & SetBits'(Sets - 1);
  assign fill_set = SetBits'(fill_gfn_i >> (9 * SizeIndex)) & SetBits'(Sets - 1);

  // Which ways of the set match; mmu_sa_array picks the lowest.
  always_comb begin : lookup
    lk_entry = '0;
    way_match = '0;
    if (lk_enable_i) begin
      for (int unsigned w = 0; w < Ways; w++) begin
        lk_entry = entry_q[IndexBits'(32'(lk_set) * Ways + w)];
        way_match[w] = rd_valid[w] && lk_entry.root == lk_root_i &&
                       lk_entry.gfn == (lk_gfn_i & FrameMask);
      end
    end
  end

  assign lk_frame_o = hit_entry.frame;
  assign lk_perm_o = hit_entry.perm;
  assign lk_dirty_o = hit_entry.dirty;

  always_comb begin : invalidation
    // Only commands invalidate here: skip the per-entry work otherwise.
    inv_entry = '0;
    inv_mask = '0;
    if (inv_all_i || inv_root_i) begin
      for (int unsigned i = 0; i < Sets * Ways; i++) begin
        inv_entry = entry_q[i];
        inv_mask[i] = inv_all_i || (inv_root_i && inv_entry.root == inv_root_frame_i);
        inv_mask[i] = inv_mask[i] && all_valid[i];
      end
    end
  end

  always_comb begin : fill_data
    fill_entry.root = fill_root_i;
    fill_entry.gfn = fill_gfn_i & FrameMask;
    fill_entry.frame = PageFrame ? fill_frame_i & FrameMask : fill_frame_i;
    fill_entry.perm = fill_perm_i;
    fill_entry.dirty = fill_dirty_i;
  end

  mmu_sa_array #(.Sets(Sets), .Ways(Ways)) u_array (
    .clk_i,
    .rst_ni,
    .rd_i         (lk_enable_i),
    .rd_set_i     (lk_set),
    .rd_valid_o   (rd_valid),
    .rd_match_i   (way_match),
    .hit_o        (lk_match_o),
    .hit_way_o    (hit_way),
    .touch_i      (lk_touch_i),
    .drop_matching_i (lk_inv_matching_i),
    .all_valid_o  (all_valid),
    .fill_i       (fill_i),
    .fill_set_i   (fill_set),
    .fill_index_o (fill_index),
    .inv_i        (inv_mask)
  );

  assign hit_entry = entry_q[IndexBits'(32'(lk_set) * Ways + 32'(hit_way))];

  // Entry payloads need no reset: they are only read when valid.
  always_ff @(posedge clk_i) begin : entries
    if (fill_i) entry_q[fill_index] <= fill_entry;
  end

endmodule
