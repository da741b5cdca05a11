// mmu_psc: the guest paging-structure caches of §10.1, one mmu_psc_array per guest level
// l = 2 .. GuestLevels (PDE, PDPTE, PML4E, PML5E).
//
// A lookup probes every level and reports the deepest hit (PDE first), the only one the walker
// uses and touches.
module mmu_psc #(
  parameter int unsigned GuestLevels = 4,
  parameter int unsigned PaBits = 46,
  parameter int unsigned NumVpids = 4,
  parameter int unsigned PscL2Sets = 8,
  parameter int unsigned PscL2Ways = 4,
  parameter int unsigned PscL3Sets = 4,
  parameter int unsigned PscL3Ways = 4,
  parameter int unsigned PscL4Sets = 4,
  parameter int unsigned PscL4Ways = 4,
  parameter int unsigned PscL5Sets = 1,
  parameter int unsigned PscL5Ways = 4
) (
  input  logic                       clk_i,
  input  logic                       rst_ni,
  // VA bits above VaBits are sign extension (the top checks canonicality) and bits below 12
  // the page offset; the low 12 bits of a table address are zero.
  /* verilator lint_off UNUSEDSIGNAL */
  // Lookup (combinational, meaningful only with lk_enable_i): the deepest hitting level.
  input  logic                       lk_enable_i,
  input  logic [15:0]                lk_vpid_i,
  input  logic [11:0]                lk_pcid_i,
  input  logic [63:0]                lk_va_i,
  output logic                       lk_hit_o,
  output logic [2:0]                 lk_level_o,
  output logic [PaBits-1:0]          lk_next_o,
  output mmu_pkg::guest_acc_t        lk_acc_o,
  output logic                       lk_nested_o,  // AGILE (§20.4)
  input  logic                       lk_touch_i,
  // Fill of one level (its next table is known and valid).
  input  logic                       fill_i,
  input  logic [2:0]                 fill_level_i,
  input  logic [15:0]                fill_vpid_i,
  input  logic [11:0]                fill_pcid_i,
  input  logic [63:0]                fill_va_i,
  input  logic [PaBits-1:0]          fill_next_i,
  input  mmu_pkg::guest_acc_t        fill_acc_i,
  input  logic                       fill_nested_i,
  // Invalidation (§11).
  input  logic                       inv_i,
  input  mmu_pkg::inv_kind_e         inv_kind_i,
  input  logic [15:0]                inv_vpid_i,
  input  logic [11:0]                inv_pcid_i,
  input  logic [63:0]                inv_va_i,
  /* verilator lint_on UNUSEDSIGNAL */
  input  logic [NumVpids*16-1:0]     inv_vpids_i,  // VPID k at [16k +: 16]
  input  logic [NumVpids-1:0]        inv_vpids_valid_i
);

  localparam int unsigned VaBits = 12 + 9 * GuestLevels;
  localparam int unsigned FrameBits = PaBits - 12;
  localparam int unsigned NumCaches = GuestLevels - 1;  // cache c serves level c + 2

  logic [NumCaches-1:0]           cache_hit;
  logic [NumCaches*FrameBits-1:0] cache_next;
  logic [NumCaches*3-1:0]         cache_acc;
  logic [NumCaches-1:0]           cache_nested;

  for (genvar c = 0; c < NumCaches; c++) begin : gen_level
    localparam int unsigned Level = c + 2;
    localparam int unsigned Sets = (Level == 2) ? PscL2Sets : (Level == 3) ? PscL3Sets :
                                   (Level == 4) ? PscL4Sets : PscL5Sets;
    localparam int unsigned Ways = (Level == 2) ? PscL2Ways : (Level == 3) ? PscL3Ways :
                                   (Level == 4) ? PscL4Ways : PscL5Ways;

    mmu_psc_array #(
      .Level(Level), .Sets(Sets), .Ways(Ways), .GuestLevels(GuestLevels), .PaBits(PaBits),
      .NumVpids(NumVpids)
    ) u_array (
      .clk_i,
      .rst_ni,
      .lk_enable_i       (lk_enable_i),
      .lk_vpid_i         (lk_vpid_i),
      .lk_pcid_i         (lk_pcid_i),
      .lk_vpn_i          (lk_va_i[VaBits-1:12]),
      .lk_hit_o          (cache_hit[c]),
      .lk_next_o         (cache_next[c * FrameBits +: FrameBits]),
      .lk_acc_o          (cache_acc[c * 3 +: 3]),
      .lk_nested_o       (cache_nested[c]),
      .lk_touch_i        (lk_touch_i && lk_hit_o && 32'(lk_level_o) == Level),
      .fill_i            (fill_i && 32'(fill_level_i) == Level),
      .fill_vpid_i       (fill_vpid_i),
      .fill_pcid_i       (fill_pcid_i),
      .fill_vpn_i        (fill_va_i[VaBits-1:12]),
      .fill_next_i       (fill_next_i[PaBits-1:12]),
      .fill_acc_i        (fill_acc_i),
      .fill_nested_i     (fill_nested_i),
      .inv_i             (inv_i),
      .inv_kind_i        (inv_kind_i),
      .inv_vpid_i        (inv_vpid_i),
      .inv_pcid_i        (inv_pcid_i),
      .inv_vpn_i         (inv_va_i[VaBits-1:12]),
      .inv_vpids_i       (inv_vpids_i),
      .inv_vpids_valid_i (inv_vpids_valid_i)
    );
  end

  // The deepest level (PDE first) wins (§10.1).
  always_comb begin : deepest
    lk_hit_o = 1'b0;
    lk_level_o = '0;
    lk_next_o = '0;
    lk_acc_o = '0;
    lk_nested_o = 1'b0;
    for (int c = NumCaches - 1; c >= 0; c--) begin
      if (cache_hit[c]) begin
        lk_hit_o = 1'b1;
        lk_level_o = 3'(c + 2);
        lk_next_o = {cache_next[c * FrameBits +: FrameBits], 12'h000};
        lk_acc_o = cache_acc[c * 3 +: 3];
        lk_nested_o = cache_nested[c];
      end
    end
  end

endmodule
