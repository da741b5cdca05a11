// mmu_sa_array: the one replacement and validity mechanism behind every TLB, PSC and nested-TLB
// array (§9, §10), with the §9.1 tree-PLRU per set.
//
// The wrapper that instantiates it stores the entries themselves (an unpacked array indexed by
// set * Ways + way, written at fill_index_o) and decides what an entry means and which entries
// match. This module keeps the valid bits and PLRU state of every set and offers
//   - a lookup of one set: its valid bits; the wrapper returns which of its ways match and the
//     array answers with the lowest matching way (§9), which it can then touch (a used hit) or
//     drop together with every other matching way of the set (a hit that did not grant);
//   - fill of one set: the victim is the lowest invalid way, else the PLRU victim; the filled
//     way is then touched and becomes valid;
//   - invalidation by mask (valid bits only, §9.1).
// The entries stay with the wrapper so that lookups and invalidation read them by index: a copy
// of every entry into one wide vector would cost a simulator that copy on every evaluation.
module mmu_sa_array #(
  parameter int unsigned Sets = 4,
  parameter int unsigned Ways = 4,
  localparam int unsigned SetBits = (Sets > 1) ? $clog2(Sets) : 1,
  localparam int unsigned WayBits = (Ways > 1) ? $clog2(Ways) : 1,
  localparam int unsigned Entries = Sets * Ways,
  localparam int unsigned IndexBits = (Entries > 1) ? $clog2(Entries) : 1
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,
  // Lookup of one set. rd_valid_o is zero unless rd_i.
  input  logic                  rd_i,
  input  logic [SetBits-1:0]    rd_set_i,
  output logic [Ways-1:0]       rd_valid_o,
  input  logic [Ways-1:0]       rd_match_i,       // the wrapper's verdict per way
  output logic                  hit_o,            // some way matches
  output logic [WayBits-1:0]    hit_way_o,        // the lowest matching way
  input  logic                  touch_i,          // the hit was used
  input  logic                  drop_matching_i,  // invalidate every matching way
  // Every valid bit (index set * Ways + way), for invalidation matching.
  output logic [Entries-1:0]    all_valid_o,
  // Fill: the wrapper writes its entry at fill_index_o in the same cycle.
  input  logic                  fill_i,
  input  logic [SetBits-1:0]    fill_set_i,
  output logic [IndexBits-1:0]  fill_index_o,
  // Invalidation: clears the valid bit of every entry whose mask bit is set.
  input  logic [Entries-1:0]    inv_i
);

  localparam int unsigned TreeBits = (Ways > 1) ? Ways - 1 : 1;

  logic [Entries-1:0]       valid_q;
  logic [Sets*TreeBits-1:0] plru_q;

  // Sets is a power of two (the spec's set index is a mask); with one set the index is a dummy.
  logic [SetBits-1:0]  rd_set, fill_set;
  logic [TreeBits-1:0] touch_bits, fill_bits, rd_set_bits, fill_set_bits;
  logic [Ways-1:0]     fill_set_valid;
  logic [WayBits-1:0]  plru_victim, unused_touch_victim;
  logic [WayBits-1:0]  fill_way;

  assign rd_set = (Sets > 1) ? rd_set_i : '0;
  assign fill_set = (Sets > 1) ? fill_set_i : '0;

  mmu_plru_tree #(.Ways(Ways)) u_touch_tree (
    .bits_i         (rd_set_bits),
    .touch_way_i    (hit_way_o),
    .touched_bits_o (touch_bits),
    .victim_o       (unused_touch_victim)
  );

  mmu_plru_tree #(.Ways(Ways)) u_fill_tree (
    .bits_i         (fill_set_bits),
    .touch_way_i    (fill_way),
    .touched_bits_o (fill_bits),
    .victim_o       (plru_victim)
  );

  always_comb begin : read_set
    rd_valid_o = '0;
    rd_set_bits = '0;
    if (rd_i) begin
      rd_valid_o = valid_q[32'(rd_set) * Ways +: Ways];
      rd_set_bits = plru_q[32'(rd_set) * TreeBits +: TreeBits];
    end
  end

  // The lowest matching way answers the lookup.
  always_comb begin : lowest_match
    hit_way_o = '0;
    for (int w = Ways - 1; w >= 0; w--) begin
      if (rd_match_i[w]) hit_way_o = WayBits'(w);
    end
  end
  assign hit_o = |rd_match_i;

  assign all_valid_o = valid_q;

  // Victim: the lowest-numbered invalid way, else the tree-PLRU victim (§9). Chosen from the
  // fill's set alone, not under fill_i: a fill decided late in its cycle (an STLB hit refilling
  // the first level) then only enables the writes below, and is not in series with the choice
  // (§12).
  always_comb begin : choose_victim
    fill_set_bits = plru_q[32'(fill_set) * TreeBits +: TreeBits];
    fill_set_valid = valid_q[32'(fill_set) * Ways +: Ways];
    fill_way = plru_victim;
    for (int w = Ways - 1; w >= 0; w--) begin
      if (!fill_set_valid[w]) fill_way = WayBits'(w);
    end
  end
  assign fill_index_o = IndexBits'(32'(fill_set) * Ways + 32'(fill_way));

  // Later writes win: invalidation by mask, then a dropped lookup, then a fill.
  always_ff @(posedge clk_i) begin : regs
    if (!rst_ni) begin
      valid_q <= '0;
      plru_q <= '0;
    end else begin
      if (|inv_i) valid_q <= valid_q & ~inv_i;
      if (drop_matching_i) begin
        valid_q[32'(rd_set) * Ways +: Ways] <=
            valid_q[32'(rd_set) * Ways +: Ways] & ~inv_i[32'(rd_set) * Ways +: Ways] & ~rd_match_i;
      end
      if (touch_i && hit_o) plru_q[32'(rd_set) * TreeBits +: TreeBits] <= touch_bits;
      if (fill_i) begin
        plru_q[32'(fill_set) * TreeBits +: TreeBits] <= fill_bits;
        valid_q[fill_index_o] <= 1'b1;
      end
    end
  end

endmodule
