// mmu_bounds_checker: the DIRECT-mode bounds check of §8.1.
//
// A host range [a, a + n) passes when GBASE <= a, a + n <= GBASE + GSIZE and a + n <= 2^P. n is
// a page size (4K, 2M or 1G, n = 2^k) and a is the page-aligned start (a multiple of n), which
// may reach 2^P after a base-offset addition (hence P + 1 bits). With a a multiple of n,
// a + n <= L is (a >> k) < (L >> k) and a + n <= 2^P is a < 2^P: comparators only, the limit
// L = GBASE + GSIZE computed by the caller from the context (§12: at most 60 gate levels).
module mmu_bounds_checker #(
  parameter int unsigned PaBits = 46
) (
  input  logic [PaBits:0]        addr_i,   // a
  input  mmu_pkg::page_size_e    size_i,   // n
  input  logic [PaBits-1:0]      gbase_i,
  input  logic [PaBits+1:0]      limit_i,  // GBASE + GSIZE
  output logic                   pass_o
);

  logic above_base, below_limit;

  always_comb begin : check
    above_base = addr_i >= {1'b0, gbase_i};
    unique case (size_i)
      mmu_pkg::Size2M: below_limit = ({1'b0, addr_i} >> 21) < (limit_i >> 21);
      mmu_pkg::Size1G: below_limit = ({1'b0, addr_i} >> 30) < (limit_i >> 30);
      default: below_limit = ({1'b0, addr_i} >> 12) < (limit_i >> 12);
    endcase
    pass_o = above_base && below_limit && !addr_i[PaBits];
  end

endmodule
