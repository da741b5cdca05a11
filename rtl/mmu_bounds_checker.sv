// mmu_bounds_checker: the DIRECT-mode bounds check of §8.1.
//
// A host range [a, a + n) passes when GBASE <= a, a + n <= GBASE + GSIZE and a + n <= 2^P,
// computed in P + 2 bits so that nothing overflows (the last two as a <= bound - n). n is a
// page size (4K, 2M or 1G) and a is the page-aligned start, which may reach 2^P after a
// base-offset addition (hence P + 1 bits).
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
  localparam logic [Width-1:0] Top = Width'(1) << PaBits;

  // a + n <= L  <=>  L >= n and a <= L - n: each bound L - n depends on the context alone, so
  // the address meets only comparators, not an adder first (§12's 60 gate levels). One verdict
  // per page size, picked by size_i.
  function automatic logic fits(logic [Width-1:0] start, logic [Width-1:0] limit,
                                logic [Width-1:0] n);
    fits = limit >= n && start <= limit - n && start <= Top - n;
  endfunction

  logic [Width-1:0] start, limit;
  logic             above_base, fits_4k, fits_2m, fits_1g;

  always_comb begin : check
    start = Width'(addr_i);
    limit = Width'(gbase_i) + Width'(gsize_i);
    above_base = Width'(gbase_i) <= start;
    fits_4k = fits(start, limit, Width'(1) << 12);
    fits_2m = fits(start, limit, Width'(1) << 21);
    fits_1g = fits(start, limit, Width'(1) << 30);
    unique case (size_i)
      mmu_pkg::Size2M: pass_o = above_base && fits_2m;
      mmu_pkg::Size1G: pass_o = above_base && fits_1g;
      default: pass_o = above_base && fits_4k;
    endcase
  end

endmodule
