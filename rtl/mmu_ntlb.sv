// mmu_ntlb: the nested TLB of §10.2: gPA -> hPA translations tagged by the EPTP root, one
// mmu_sa_array per EPT page size (4K, 2M, 1G), searched in that order.
//
// The caller (the walker) decides whether an entry grants the access; it then touches the entry
// or invalidates every entry that matches (§5 nested_translate).
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
  // Lookup (combinational).
  // VA bits above VaBits are sign extension (the top checks canonicality), bits below 12 the
  // page offset; the low 12 bits of page-aligned addresses are zero.
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic [PaBits-1:0]     lk_root_i,  // EPTP root (4K aligned)
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

  typedef struct packed {
    logic [FrameBits-1:0] root;
    logic [FrameBits-1:0] gfn;    // gPA[PaBits-1:12], low bits cleared to the array's size
    logic [FrameBits-1:0] frame;  // hPA[PaBits-1:12], low bits cleared to the array's size
    logic [2:0]           perm;
    logic                 dirty;
  } entry_t;
  // $bits(entry_t), spelled out for yosys 0.23.
  localparam int unsigned EntryBits = 3 * FrameBits + 3 + 1;

  function automatic logic [FrameBits-1:0] frame_mask(logic [1:0] size);  // page_size_e
    frame_mask = ~FrameBits'((64'd1 << (9 * 32'(size))) - 64'd1);
  endfunction

  logic [FrameBits-1:0] lk_root, lk_gfn, fill_gfn, inv_root;
  assign lk_root = lk_root_i[PaBits-1:12];
  assign lk_gfn = lk_gpa_i[PaBits-1:12];
  assign fill_gfn = fill_gpa_i[PaBits-1:12];
  assign inv_root = inv_root_addr_i[PaBits-1:12];

  logic [2:0]     arr_match;
  logic [3*EntryBits-1:0]  arr_entry;  // entry of array a at [a * EntryBits +: EntryBits]

  for (genvar s = 0; s < 3; s++) begin : gen_array
    localparam int unsigned Sets = (s == 0) ? Ntlb4kSets : (s == 1) ? Ntlb2mSets : Ntlb1gSets;
    localparam int unsigned Ways = (s == 0) ? Ntlb4kWays : (s == 1) ? Ntlb2mWays : Ntlb1gWays;
    localparam int unsigned SetBits = (Sets > 1) ? $clog2(Sets) : 1;
    localparam int unsigned WayBits = (Ways > 1) ? $clog2(Ways) : 1;
    localparam int unsigned SizeIndex = s;  // page_size_e encoding of this array

    logic [SetBits-1:0]                   lk_set, fill_set;
    logic [Ways-1:0]                      rd_valid;
    logic [Ways*EntryBits-1:0]       rd_entry;
    logic [Sets*Ways-1:0]                 all_valid, inv_mask;
    logic [Sets*Ways*EntryBits-1:0]  all_entry;
    logic [Ways-1:0]                      way_match;
    logic [WayBits-1:0]                   hit_way;
    entry_t                               fill_entry, sel_entry;
    logic                                 any_match;

    assign arr_match[s] = any_match;
    assign arr_entry[s * EntryBits +: EntryBits] = sel_entry;

    assign lk_set = SetBits'(lk_gfn >> (9 * s)) & SetBits'(Sets - 1);
    assign fill_set = SetBits'(fill_gfn >> (9 * s)) & SetBits'(Sets - 1);

    always_comb begin : lookup
      // A lookup or an invalidation reads only some fields of an entry.
      /* verilator lint_off UNUSEDSIGNAL */
      entry_t e;
      /* verilator lint_on UNUSEDSIGNAL */
      for (int unsigned w = 0; w < Ways; w++) begin
        e = rd_entry[w * EntryBits +: EntryBits];
        way_match[w] = rd_valid[w] && e.root == lk_root && e.gfn == (lk_gfn & frame_mask(2'(SizeIndex)));
      end
      hit_way = '0;
      for (int w = Ways - 1; w >= 0; w--) begin
        if (way_match[w]) hit_way = WayBits'(w);
      end
      any_match = |way_match;
      sel_entry = rd_entry[32'(hit_way) * EntryBits +: EntryBits];
    end

    always_comb begin : invalidation
      // A lookup or an invalidation reads only some fields of an entry.
      /* verilator lint_off UNUSEDSIGNAL */
      entry_t e;
      /* verilator lint_on UNUSEDSIGNAL */
      for (int unsigned i = 0; i < Sets * Ways; i++) begin
        e = all_entry[i * EntryBits +: EntryBits];
        inv_mask[i] = inv_all_i || (inv_root_i && e.root == inv_root) ||
                      (lk_inv_matching_i && i / Ways == 32'(lk_set) && way_match[i % Ways]);
        inv_mask[i] = inv_mask[i] && all_valid[i];
      end
    end

    always_comb begin : fill_data
      fill_entry.root = fill_root_i[PaBits-1:12];
      fill_entry.gfn = fill_gfn & frame_mask(2'(SizeIndex));
      fill_entry.frame = fill_hpa_i[PaBits-1:12] & frame_mask(2'(SizeIndex));
      fill_entry.perm = fill_perm_i;
      fill_entry.dirty = fill_dirty_i;
    end

    mmu_sa_array #(.Sets(Sets), .Ways(Ways), .EntryBits(EntryBits)) u_array (
      .clk_i,
      .rst_ni,
      .rd_set_i     (lk_set),
      .rd_valid_o   (rd_valid),
      .rd_entry_o   (rd_entry),
      .all_valid_o  (all_valid),
      .all_entry_o  (all_entry),
      .touch_i      (lk_touch_i && lk_match_o && 32'(lk_size_o) == SizeIndex),
      .touch_set_i  (lk_set),
      .touch_way_i  (hit_way),
      .fill_i       (fill_i && 32'(fill_size_i) == SizeIndex),
      .fill_set_i   (fill_set),
      .fill_entry_i (fill_entry),
      .inv_i        (inv_mask)
    );
  end

  always_comb begin : select
    // The selected entry's tag fields were used by the lookup.
    /* verilator lint_off UNUSEDSIGNAL */
    entry_t e;
    /* verilator lint_on UNUSEDSIGNAL */
    lk_match_o = |arr_match;
    lk_size_o = mmu_pkg::Size4K;
    e = arr_entry[0 * EntryBits +: EntryBits];
    if (!arr_match[0] && arr_match[1]) begin
      lk_size_o = mmu_pkg::Size2M;
      e = arr_entry[1 * EntryBits +: EntryBits];
    end else if (!arr_match[0] && !arr_match[1]) begin
      lk_size_o = mmu_pkg::Size1G;
      e = arr_entry[2 * EntryBits +: EntryBits];
    end
    lk_hpa_o = {e.frame, 12'h000} |
               (lk_gpa_i & PaBits'((64'd1 << (12 + 9 * 32'(lk_size_o))) - 64'd1));
    lk_perm_o = e.perm;
    lk_dirty_o = e.dirty;
  end

endmodule
