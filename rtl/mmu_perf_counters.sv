// mmu_perf_counters: the 64-bit event counters of §14.
//
// Each cycle every counter whose bit of inc_i is set advances by one (modulo 2^64); a single
// event source per counter and cycle is guaranteed by the MMU's structure (requests, walks and
// control commands never overlap). Readout is combinational: the value at the start of the
// cycle; indices without a counter read as zero. (How a counter is stored is below.)
module mmu_perf_counters #(
  parameter int unsigned NumCounters = mmu_pkg::NumCounters
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  input  logic [NumCounters-1:0] inc_i,
  input  logic [5:0]             sel_i,
  output logic [63:0]            value_o
);

  // Each counter is two 32-bit halves and a pending carry (§12: a 64-bit increment is about 63
  // gate levels in the flat synthesis, a 32-bit one half that): when the low half wraps, the
  // high half advances in the next cycle, and until then the readout adds the pending carry, so
  // the value read is always low + 2^32 * (high + carry). Unpacked arrays: each half is a
  // separate variable, so a simulator updates only the counters that count this cycle.
  logic [31:0]            lo_q [NumCounters];
  logic [31:0]            hi_q [NumCounters];
  logic [NumCounters-1:0] carry_q;

  always_ff @(posedge clk_i) begin : regs
    if (!rst_ni) begin
      for (int unsigned i = 0; i < NumCounters; i++) begin
        lo_q[i] <= '0;
        hi_q[i] <= '0;
      end
      carry_q <= '0;
    end else begin
      for (int unsigned i = 0; i < NumCounters; i++) begin
        if (inc_i[i]) lo_q[i] <= lo_q[i] + 32'd1;
        carry_q[i] <= inc_i[i] && &lo_q[i];
        if (carry_q[i]) hi_q[i] <= hi_q[i] + 32'd1;
      end
    end
  end

  // An indexed read (one multiplexer), not a compare per counter: the select is an input, so a
  // simulator re-evaluates this on every input change.
  localparam int unsigned IndexBits = (NumCounters > 1) ? $clog2(NumCounters) : 1;

  always_comb begin : readout
    logic [IndexBits-1:0] i;
    i = IndexBits'(sel_i);
    value_o = '0;
    if (32'(sel_i) < NumCounters) value_o = {hi_q[i] + 32'(carry_q[i]), lo_q[i]};
  end

endmodule
