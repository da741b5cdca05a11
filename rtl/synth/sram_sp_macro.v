// The RAM macro of sram_sp.memlib as a black box, so that yosys knows its port directions.
// Port names are the ones memory_libmap gives a single-port ("A") cell.
(* blackbox *)
module VMMU_SRAM_SP (PORT_A_CLK, PORT_A_CLK_EN, PORT_A_ADDR, PORT_A_WR_EN, PORT_A_WR_DATA,
                     PORT_A_RD_DATA);
  input         PORT_A_CLK;
  input         PORT_A_CLK_EN;
  input  [6:0]  PORT_A_ADDR;
  input         PORT_A_WR_EN;
  input  [108:0] PORT_A_WR_DATA;
  output [108:0] PORT_A_RD_DATA;
endmodule
