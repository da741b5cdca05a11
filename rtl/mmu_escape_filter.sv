// mmu_escape_filter: the DIRECT-mode escape filter of §8.2, an exact list of 4K gPA pages.
//
// escaped_o: the 4K page of gpa_i equals a valid entry (that gPA takes the nested walk).
// in_page_o: a valid entry lies inside the size_i-aligned page containing gpa_i (a base-offset
// translation of that guest page is then splintered to 4K entries, §5 xlate_final).
module mmu_escape_filter #(
  parameter int unsigned PaBits = 46,
  parameter int unsigned EscapeEntries = 4,
  // Escape vectors keep one (never valid) slot when EscapeEntries = 0.
  localparam int unsigned EscSlots = (EscapeEntries > 0) ? EscapeEntries : 1
) (
  input  logic [EscSlots-1:0]              esc_valid_i,
  input  logic [EscSlots*(PaBits-12)-1:0]  esc_page_i,  // entry k at [k(P-12) +: P-12]
  // Only the 4K page number of the gPA matters.
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic [PaBits-1:0]                     gpa_i,
  /* verilator lint_on UNUSEDSIGNAL */
  input  mmu_pkg::page_size_e                   size_i,
  output logic                                  escaped_o,
  output logic                                  in_page_o
);

  localparam int unsigned FrameBits = PaBits - 12;

  logic [FrameBits-1:0] page, size_mask;
  assign page = gpa_i[PaBits-1:12];
  always_comb begin : page_mask
    unique case (size_i)
      mmu_pkg::Size2M: size_mask = {FrameBits{1'b1}} << 9;
      mmu_pkg::Size1G: size_mask = {FrameBits{1'b1}} << 18;
      default: size_mask = {FrameBits{1'b1}};
    endcase
  end

  logic                 entry_valid;
  logic [FrameBits-1:0] entry_page;

  always_comb begin : match
    entry_valid = 1'b0;
    entry_page = '0;
    escaped_o = 1'b0;
    in_page_o = 1'b0;
    for (int unsigned k = 0; k < EscSlots; k++) begin
      entry_valid = EscapeEntries > 0 && esc_valid_i[k];
      entry_page = esc_page_i[k * FrameBits +: FrameBits];
      if (entry_valid && entry_page == page) escaped_o = 1'b1;
      if (entry_valid && (entry_page & size_mask) == (page & size_mask)) in_page_o = 1'b1;
    end
  end

endmodule
