// mmu_sram_sp: behavioural model of a synchronous single-port SRAM with a registered read, the
// macro that holds one way of the STLB's entries (§9.2).
//
// One access per cycle: with req_i, a write (we_i) stores wdata_i at addr_i, a read presents
// the word at addr_i on rdata_o in the next cycle and holds it until the next read. A write does
// not change rdata_o. The array has no reset, as an SRAM macro has none: its users read only
// words they wrote. Written in the form yosys infers as a memory ($mem_v2 with one synchronous
// read and one write port on the same address), so that scripts/synth maps it to a RAM cell.
module mmu_sram_sp #(
  parameter int unsigned Depth = 1024,
  parameter int unsigned Width = 40,
  localparam int unsigned AddrBits = (Depth > 1) ? $clog2(Depth) : 1
) (
  input  logic                clk_i,
  input  logic                req_i,
  input  logic                we_i,
  input  logic [AddrBits-1:0] addr_i,
  input  logic [Width-1:0]    wdata_i,
  output logic [Width-1:0]    rdata_o
);

  // The storage is the macro's, not logic: excluded from toggle coverage (scripts/coverage).
  /* verilator coverage_off */
  logic [Width-1:0] mem_q [Depth];
  /* verilator coverage_on */
  logic [Width-1:0] rdata_q;

  always_ff @(posedge clk_i) begin : port
    if (req_i) begin
      if (we_i) begin
        mem_q[addr_i] <= wdata_i;
      end else begin
        rdata_q <= mem_q[addr_i];
      end
    end
  end

  assign rdata_o = rdata_q;

endmodule
