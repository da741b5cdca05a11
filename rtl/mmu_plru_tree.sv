// mmu_plru_tree: the tree-PLRU of §9.1 for one set, as pure combinational logic.
//
// Given the set's W-1 bits (heap order: node n has children 2n+1 for the lower ways and 2n+2 for
// the upper ways) it computes the victim way and the bits after touching touch_way_i. The
// storage lives in mmu_sa_array; this module only encodes the rule so that every array uses the
// same one. Ways = 1 has no bits: the victim is way 0 and the bit vector is a dummy.
module mmu_plru_tree #(
  parameter int unsigned Ways = 4,
  localparam int unsigned WayBits = (Ways > 1) ? $clog2(Ways) : 1,
  localparam int unsigned TreeBits = (Ways > 1) ? Ways - 1 : 1
) (
  input  logic [TreeBits-1:0] bits_i,
  input  logic [WayBits-1:0]  touch_way_i,
  output logic [TreeBits-1:0] touched_bits_o,
  output logic [WayBits-1:0]  victim_o
);

  localparam int unsigned Depth = (Ways > 1) ? $clog2(Ways) : 0;

  if (Ways > 1) begin : gen_tree
    // Touch: node k at depth d lies on the path of a way when the way's top d bits equal the
    // node's position k - (2^d - 1) within its depth; it then points away from the way's side.
    always_comb begin : touch
      touched_bits_o = bits_i;
      for (int unsigned d = 0; d < Depth; d++) begin
        for (int unsigned pos = 0; pos < (1 << d); pos++) begin
          if (d == 0 || (32'(touch_way_i) >> (Depth - d)) == 32'(pos)) begin
            touched_bits_o[(1 << d) - 1 + pos] = ~touch_way_i[Depth - 1 - d];
          end
        end
      end
    end

    // Victim: follow the bits from the root; the node at depth d is (2^d - 1) + way-so-far.
    always_comb begin : victim
      logic [WayBits-1:0] way;
      way = '0;
      for (int unsigned d = 0; d < Depth; d++) begin
        way = WayBits'((32'(way) << 1) | 32'(bits_i[(1 << d) - 1 + 32'(way)]));
      end
      victim_o = way;
    end
  end else begin : gen_single
    assign touched_bits_o = bits_i;
    assign victim_o = '0;
    logic unused_touch;
    assign unused_touch = ^touch_way_i;
  end

endmodule
