// mmu_ept_psc_array: the EPT paging-structure cache of one EPT level l (§10.3) around an
// mmu_sa_array.
//
// An entry holds the EPTP root, the gPA prefix gpa >> shift(l), the host address of the level
// l-1 EPT table and the EPT permission R|W|X through level l. Set index prefix & (Sets - 1).
// Invalidated by EPTP root (INV_EPTP) or entirely (INV_ALL), like the nested TLB.
module mmu_ept_psc_array #(
  parameter int unsigned Level = 2,
  parameter int unsigned Sets = 8,
  parameter int unsigned Ways = 4,
  parameter int unsigned PaBits = 46,
  localparam int unsigned FrameBits = PaBits - 12
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  // Lookup (combinational): the lowest matching way.
  input  logic                   lk_enable_i,  // a lookup is wanted this cycle
  input  logic [FrameBits-1:0]   lk_root_i,
  input  logic [FrameBits-1:0]   lk_gfn_i,     // gPA[P-1:12]
  output logic                   lk_hit_o,
  output logic [FrameBits-1:0]   lk_next_o,    // frame of the level l-1 EPT table
  output logic [2:0]             lk_perm_o,
  input  logic                   lk_touch_i,
  // Fill.
  input  logic                   fill_i,
  input  logic [FrameBits-1:0]   fill_root_i,
  input  logic [FrameBits-1:0]   fill_gfn_i,
  input  logic [FrameBits-1:0]   fill_next_i,
  input  logic [2:0]             fill_perm_i,
  // Invalidation (§11): every entry of an EPTP root, or all.
  input  logic                   inv_root_i,
  input  logic                   inv_all_i,
  input  logic [FrameBits-1:0]   inv_root_frame_i
);

  localparam int unsigned SetBits = (Sets > 1) ? $clog2(Sets) : 1;
  localparam int unsigned WayBits = (Ways > 1) ? $clog2(Ways) : 1;
  localparam int unsigned IndexBits = (Sets * Ways > 1) ? $clog2(Sets * Ways) : 1;
  // The prefix gpa >> shift(Level) keeps the frame-number bits from 9 (Level - 1) up.
  localparam int unsigned PrefixShift = 9 * (Level - 1);
  localparam logic [FrameBits-1:0] PrefixMask = {FrameBits{1'b1}} << PrefixShift;

  typedef struct packed {
    logic [FrameBits-1:0] root;
    logic [FrameBits-1:0] prefix;  // gPA frame number with the bits below shift(l) cleared
    logic [FrameBits-1:0] next;
    logic [2:0]           perm;
  } entry_t;
  // $bits(entry_t), spelled out for yosys 0.23.
  localparam int unsigned EntryBits = 3 * FrameBits + 3;

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

  assign lk_set = SetBits'(lk_gfn_i >> PrefixShift) & SetBits'(Sets - 1);
  assign fill_set = SetBits'(fill_gfn_i >> PrefixShift) & SetBits'(Sets - 1);

  // Which ways of the set match; mmu_sa_array picks the lowest.
  always_comb begin : lookup
    lk_entry = '0;
    way_match = '0;
    if (lk_enable_i) begin
      for (int unsigned w = 0; w < Ways; w++) begin
        lk_entry = entry_q[IndexBits'(32'(lk_set) * Ways + w)];
        way_match[w] = rd_valid[w] && lk_entry.root == lk_root_i &&
                       lk_entry.prefix == (lk_gfn_i & PrefixMask);
      end
    end
  end

  assign lk_next_o = hit_entry.next;
  assign lk_perm_o = hit_entry.perm;

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
    fill_entry.prefix = fill_gfn_i & PrefixMask;
    fill_entry.next = fill_next_i;
    fill_entry.perm = fill_perm_i;
  end

  mmu_sa_array #(.Sets(Sets), .Ways(Ways)) u_array (
    .clk_i,
    .rst_ni,
    .rd_i            (lk_enable_i),
    .rd_set_i        (lk_set),
    .rd_valid_o      (rd_valid),
    .rd_match_i      (way_match),
    .hit_o           (lk_hit_o),
    .hit_way_o       (hit_way),
    .touch_i         (lk_touch_i),
    .drop_matching_i (1'b0),
    .all_valid_o     (all_valid),
    .fill_i          (fill_i),
    .fill_set_i      (fill_set),
    .fill_index_o    (fill_index),
    .inv_i           (inv_mask)
  );

  assign hit_entry = entry_q[IndexBits'(32'(lk_set) * Ways + 32'(hit_way))];

  // Entry payloads need no reset: they are only read when valid.
  always_ff @(posedge clk_i) begin : entries
    if (fill_i) entry_q[fill_index] <= fill_entry;
  end

endmodule
