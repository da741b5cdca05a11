// mmu_perf_counters: the 64-bit event counters of §14.
//
// Each cycle every counter whose bit of inc_i is set advances by one (modulo 2^64); a single
// event source per counter and cycle is guaranteed by the MMU's structure (requests, walks and
// control commands never overlap). Readout is combinational: the value at the start of the
// cycle; indices without a counter read as zero.
module mmu_perf_counters #(
  parameter int unsigned NumCounters = mmu_pkg::NumCounters
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  input  logic [NumCounters-1:0] inc_i,
  input  logic [5:0]             sel_i,
  output logic [63:0]            value_o
);

  // An unpacked array: each counter is a separate variable, so a simulator updates only the
  // counters that count this cycle.
  logic [63:0] count_q [NumCounters];

  always_ff @(posedge clk_i) begin : regs
    if (!rst_ni) begin
      for (int unsigned i = 0; i < NumCounters; i++) count_q[i] <= '0;
    end else begin
      for (int unsigned i = 0; i < NumCounters; i++) begin
        if (inc_i[i]) count_q[i] <= count_q[i] + 64'd1;
      end
    end
  end

  // An indexed read (one multiplexer), not a compare per counter: the select is an input, so a
  // simulator re-evaluates this on every input change.
  localparam int unsigned IndexBits = (NumCounters > 1) ? $clog2(NumCounters) : 1;

  always_comb begin : readout
    value_o = '0;
    if (32'(sel_i) < NumCounters) value_o = count_q[IndexBits'(sel_i)];
  end

endmodule
