// bounds_checker_formal: the formal harness that proves mmu_bounds_checker equals §8.1.
//
// Every input of the checker is a free input of this module, so one BMC step (the checker is
// combinational) covers every input value. The reference below restates §8.1 in the plainest
// form: 64-bit unsigned arithmetic, in which a, n, GBASE and GSIZE (at most 2^53 each for
// PaBits <= 52) and their sums cannot overflow.
module bounds_checker_formal #(
  parameter int unsigned PaBits = 46
) (
  input logic [PaBits:0]     addr_i,
  input mmu_pkg::page_size_e size_i,
  input logic [PaBits-1:0]   gbase_i,
  input logic [PaBits:0]     gsize_i
);

  // Compared only under FORMAL.
  /* verilator lint_off UNUSEDSIGNAL */
  logic pass;

  mmu_bounds_checker #(.PaBits(PaBits)) u_checker (
    .addr_i  (addr_i),
    .size_i  (size_i),
    .gbase_i (gbase_i),
    .limit_i ((PaBits+2)'(gbase_i) + (PaBits+2)'(gsize_i)),
    .pass_o  (pass)
  );

  logic [63:0] a, n, base, limit, top;
  logic        reference_pass;
  /* verilator lint_on UNUSEDSIGNAL */

  always_comb begin : reference
    a = 64'(addr_i);
    unique case (size_i)
      mmu_pkg::Size2M: n = 64'd2097152;      // 2 MiB
      mmu_pkg::Size1G: n = 64'd1073741824;   // 1 GiB
      default: n = 64'd4096;      // 4 KiB
    endcase
    base = 64'(gbase_i);
    limit = 64'(gbase_i) + 64'(gsize_i);
    top = 64'd1 << PaBits;
    reference_pass = base <= a && a + n <= limit && a + n <= top;
  end

`ifdef FORMAL
  always_comb begin : properties
    // page_size_e has three values; 3 never reaches the checker (the walker's sizes come from
    // size_of_level and the caches, which store only these three).
    assume (2'(size_i) != 2'd3);
    // The checker's contract: a is the start of a page of size n (the walker masks it).
    assume ((a & (n - 64'd1)) == 64'd0);
    assert (pass == reference_pass);
  end
`endif

endmodule
