// mmu_sa_array: the one set-associative storage mechanism behind every TLB, PSC and nested-TLB
// array (§9, §10), with the §9.1 tree-PLRU per set.
//
// Entries are opaque EntryBits-wide vectors: the wrapper that instantiates the array decides what
// an entry means and which entries match. The array offers
//   - a combinational read of one set (for lookups),
//   - every entry and valid bit (so the wrapper can compute invalidation masks),
//   - touch of one (set, way), fill of one set (victim: lowest invalid way, else the PLRU victim;
//     the filled way is then touched), and invalidation by mask (valid bits only, §9.1).
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
  // Lookup: one set, combinational; way w is rd_entry_o[w * EntryBits +: EntryBits].
  input  logic [SetBits-1:0]              rd_set_i,
  output logic [Ways-1:0]                 rd_valid_o,
  output logic [Ways*EntryBits-1:0]       rd_entry_o,
  // Every entry (index set * Ways + way), for invalidation matching.
  output logic [Entries-1:0]              all_valid_o,
  output logic [Entries*EntryBits-1:0]    all_entry_o,
  // A used hit.
  input  logic                            touch_i,
  input  logic [SetBits-1:0]              touch_set_i,
  input  logic [WayBits-1:0]              touch_way_i,
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

  // PLRU rule for the touched set and for the filled set. Sets are selected with compare-and-
  // select loops rather than variable part-selects, which synthesize to huge shifters.
  logic [TreeBits-1:0] touch_bits, fill_bits, touch_set_bits, fill_set_bits;
  logic [Ways-1:0]     fill_set_valid;
  logic [WayBits-1:0]  plru_victim, unused_touch_victim;
  logic [WayBits-1:0]  fill_way;

  mmu_plru_tree #(.Ways(Ways)) u_touch_tree (
    .bits_i         (touch_set_bits),
    .touch_way_i    (touch_way_i),
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
    touch_set_bits = '0;
    fill_set_bits = '0;
    fill_set_valid = '0;
    for (int unsigned set = 0; set < Sets; set++) begin
      if (32'(rd_set_i) == set) begin
        rd_valid_o = valid_q[set * Ways +: Ways];
        rd_entry_o = entry_q[set * Ways * EntryBits +: Ways * EntryBits];
      end
      if (32'(touch_set_i) == set) touch_set_bits = plru_q[set * TreeBits +: TreeBits];
      if (32'(fill_set_i) == set) begin
        fill_set_bits = plru_q[set * TreeBits +: TreeBits];
        fill_set_valid = valid_q[set * Ways +: Ways];
      end
    end
  end

  assign all_valid_o = valid_q;
  assign fill_index = 32'(fill_set_i) * Ways + 32'(fill_way);
  assign all_entry_o = entry_q;

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

  // State changes are written under run-time conditions so that a simulator does work only in
  // the cycles that fill, touch or invalidate.
  always_ff @(posedge clk_i) begin : regs
    if (!rst_ni) begin
      valid_q <= '0;
      plru_q <= '0;
    end else begin
      if (|inv_i) valid_q <= valid_q & ~inv_i;
      for (int unsigned set = 0; set < Sets; set++) begin
        if (touch_i && 32'(touch_set_i) == set) plru_q[set * TreeBits +: TreeBits] <= touch_bits;
        if (fill_i && 32'(fill_set_i) == set) plru_q[set * TreeBits +: TreeBits] <= fill_bits;
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
