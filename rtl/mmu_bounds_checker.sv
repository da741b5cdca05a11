// mmu_bounds_checker: the DIRECT-mode bounds check of §8.1.
//
// A host range [a, a + n) passes when GBASE <= a, a + n <= GBASE + GSIZE and a + n <= 2^P,
// computed in P + 2 bits so that nothing overflows. n is a page size (4K, 2M or 1G) and a is
// the page-aligned start, which may reach 2^P after a base-offset addition (hence P + 1 bits).
module mmu_bounds_checker #(
  parameter int unsigned PaBits = 46
) (
  input  logic [PaBits:0]        addr_i,   // a
  input  mmu_pkg::page_size_e    size_i,   // n
  input  logic [PaBits-1:0]      gbase_i,
  input  logic [PaBits:0]        gsize_i,
  output logic                   pass_o
);

  localparam int unsigned Width = PaBits + 2;

  logic [Width-1:0] start, finish, limit, top;

  always_comb begin : check
    start = Width'(addr_i);
    unique case (size_i)
      mmu_pkg::Size2M: finish = start + (Width'(1) << 21);
      mmu_pkg::Size1G: finish = start + (Width'(1) << 30);
      default: finish = start + (Width'(1) << 12);
    endcase
    limit = Width'(gbase_i) + Width'(gsize_i);
    top = Width'(1) << PaBits;
    pass_o = Width'(gbase_i) <= start && finish <= limit && finish <= top;
  end

endmodule
