// mmu_escape_filter: an escape filter, an exact list of 4K pages: the VMM segment's ESCAPE_k
// of §8.2 (gPA pages, AddrBits = P) or the guest segment's GESCAPE_k of §18.4 (gVA pages,
// AddrBits = 64).
//
// escaped_o: the 4K page of addr_i equals a valid entry (that address leaves its segment: an
// escaped gPA takes the nested walk, an escaped gVA the walk outside the guest segment).
// in_page_o: a valid entry lies inside the size_i-aligned page containing addr_i (a segment
// translation of that page is then splintered: 4K entries around a gPA escape, §5 xlate_final;
// no guest page of that size around a gVA escape, §18.1 gsize).
module mmu_escape_filter #(
  parameter int unsigned AddrBits = 46,
  parameter int unsigned EscapeEntries = 4,
  // Escape vectors keep one (never valid) slot when EscapeEntries = 0.
  localparam int unsigned EscSlots = (EscapeEntries > 0) ? EscapeEntries : 1
) (
  input  logic [EscSlots-1:0]                esc_valid_i,
  input  logic [EscSlots*(AddrBits-12)-1:0]  esc_page_i,  // entry k at [k(A-12) +: A-12]
  // Only the 4K page number of the address matters.
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic [AddrBits-1:0]                     addr_i,
  /* verilator lint_on UNUSEDSIGNAL */
  input  mmu_pkg::page_size_e                     size_i,
  output logic                                    escaped_o,
  output logic                                    in_page_o
);

  localparam int unsigned FrameBits = AddrBits - 12;

  logic [FrameBits-1:0] page, size_mask;
  assign page = addr_i[AddrBits-1:12];
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
