// mmu_sa_array: the one set-associative storage mechanism behind every TLB, PSC and nested-TLB
// array (§9, §10), with the §9.1 tree-PLRU per set.
//
// Entries are opaque EntryBits-wide vectors: the wrapper that instantiates the array decides what
// an entry means and which entries match. The array offers
//   - a lookup: a combinational read of one set; the wrapper returns which of its ways match and
//     the array answers with the lowest matching way (§9), which it can then touch (a used hit)
//     or drop together with every other matching way of the set (a hit that did not grant);
//   - every entry and valid bit (so the wrapper can compute invalidation masks for commands);
//   - fill of one set (victim: lowest invalid way, else the PLRU victim; the filled way is then
//     touched), and invalidation by mask (valid bits only, §9.1).
// Rarely active work sits under run-time conditions so that a simulator skips it.
module mmu_sa_array #(
  parameter int unsigned Sets = 4,
  parameter int unsigned Ways = 4,
  parameter int unsigned EntryBits = 8,
  localparam int unsigned SetBits = (Sets > 1) ? $clog2(Sets) : 1,
  localparam int unsigned WayBits = (Ways > 1) ? $clog2(Ways) : 1,
  localparam int unsigned Entries = Sets * Ways
) (
  input  logic                            clk_i,
  input  logic                            rst_ni,
  // Lookup of one set; way w is rd_entry_o[w * EntryBits +: EntryBits]. Outputs are zero
  // unless rd_i.
  input  logic                            rd_i,
  input  logic [SetBits-1:0]              rd_set_i,
  output logic [Ways-1:0]                 rd_valid_o,
  output logic [Ways*EntryBits-1:0]       rd_entry_o,
  input  logic [Ways-1:0]                 rd_match_i,       // the wrapper's verdict per way
  output logic                            hit_o,            // some way matches
  output logic [EntryBits-1:0]            hit_entry_o,      // the lowest matching way
  input  logic                            touch_i,          // the hit was used
  input  logic                            drop_matching_i,  // invalidate every matching way
  // Every entry (index set * Ways + way), for invalidation matching.
  output logic [Entries-1:0]              all_valid_o,
  output logic [Entries*EntryBits-1:0]    all_entry_o,
  // Fill.
  input  logic                            fill_i,
  input  logic [SetBits-1:0]              fill_set_i,
  input  logic [EntryBits-1:0]            fill_entry_i,
  // Invalidation: clears the valid bit of every entry whose mask bit is set.
  input  logic [Entries-1:0]              inv_i
);

  localparam int unsigned TreeBits = (Ways > 1) ? Ways - 1 : 1;

  // Flat storage (yosys 0.23 has no multi-dimensional packed arrays).
  logic [Entries-1:0]           valid_q;
  logic [Entries*EntryBits-1:0] entry_q;
  logic [Sets*TreeBits-1:0]     plru_q;
  int unsigned                  fill_index;  // set * Ways + way of the fill

  // PLRU rule for the looked-up set and for the filled set. Sets are selected with compare-
  // and-select loops rather than variable part-selects, which synthesize to huge shifters.
  logic [TreeBits-1:0] touch_bits, fill_bits, rd_set_bits, fill_set_bits;
  logic [Ways-1:0]     fill_set_valid;
  logic [WayBits-1:0]  hit_way, plru_victim, unused_touch_victim;
  logic [WayBits-1:0]  fill_way;

  mmu_plru_tree #(.Ways(Ways)) u_touch_tree (
    .bits_i         (rd_set_bits),
    .touch_way_i    (hit_way),
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
    rd_entry_o = '0;
    rd_set_bits = '0;
    fill_set_bits = '0;
    fill_set_valid = '0;
    for (int unsigned set = 0; set < Sets; set++) begin
      if (rd_i && 32'(rd_set_i) == set) begin
        rd_valid_o = valid_q[set * Ways +: Ways];
        rd_entry_o = entry_q[set * Ways * EntryBits +: Ways * EntryBits];
        rd_set_bits = plru_q[set * TreeBits +: TreeBits];
      end
      if (fill_i && 32'(fill_set_i) == set) begin
        fill_set_bits = plru_q[set * TreeBits +: TreeBits];
        fill_set_valid = valid_q[set * Ways +: Ways];
      end
    end
  end

  // The lowest matching way answers the lookup.
  always_comb begin : lowest_match
    hit_way = '0;
    hit_entry_o = rd_entry_o[0 +: EntryBits];
    for (int w = Ways - 1; w >= 0; w--) begin
      if (rd_match_i[w]) begin
        hit_way = WayBits'(w);
        hit_entry_o = rd_entry_o[w * EntryBits +: EntryBits];
      end
    end
  end
  assign hit_o = |rd_match_i;

  assign all_valid_o = valid_q;
  assign all_entry_o = entry_q;
  assign fill_index = 32'(fill_set_i) * Ways + 32'(fill_way);

  // Victim: the lowest-numbered invalid way, else the tree-PLRU victim (§9).
  always_comb begin : choose_victim
    logic found;
    found = 1'b0;
    fill_way = plru_victim;
    for (int unsigned w = 0; w < Ways; w++) begin
      if (!found && !fill_set_valid[w]) begin
        found = 1'b1;
        fill_way = WayBits'(w);
      end
    end
  end

  always_ff @(posedge clk_i) begin : regs
    if (!rst_ni) begin
      valid_q <= '0;
      plru_q <= '0;
    end else begin
      if (|inv_i) valid_q <= valid_q & ~inv_i;
      if ((touch_i && hit_o) || drop_matching_i || fill_i) begin
        for (int unsigned set = 0; set < Sets; set++) begin
          if (touch_i && hit_o && 32'(rd_set_i) == set) begin
            plru_q[set * TreeBits +: TreeBits] <= touch_bits;
          end
          if (drop_matching_i && 32'(rd_set_i) == set) begin
            for (int unsigned w = 0; w < Ways; w++) begin
              if (rd_match_i[w]) valid_q[set * Ways + w] <= 1'b0;
            end
          end
          if (fill_i && 32'(fill_set_i) == set) plru_q[set * TreeBits +: TreeBits] <= fill_bits;
        end
      end
      if (fill_i) begin
        for (int unsigned i = 0; i < Entries; i++) begin
          if (fill_index == i) valid_q[i] <= 1'b1;
        end
      end
    end
  end

  // Entry payloads need no reset: they are only read when valid.
  always_ff @(posedge clk_i) begin : entries
    if (fill_i) begin
      for (int unsigned i = 0; i < Entries; i++) begin
        if (fill_index == i) entry_q[i * EntryBits +: EntryBits] <= fill_entry_i;
      end
    end
  end

endmodule
