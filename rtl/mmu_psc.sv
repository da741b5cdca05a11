// mmu_psc: the guest paging-structure caches of §10.1, one mmu_sa_array per guest level
// l = 2 .. GuestLevels (PDE, PDPTE, PML4E, PML5E).
//
// An entry of level l holds VPID, PCID, the VA prefix va >> shift(l), the host address of the
// level l-1 table and the permissions accumulated through level l. A lookup probes every level
// and reports the deepest hit, which is the only one the walker uses and touches.
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
  // Lookup (combinational): the deepest hitting level.
  input  logic [15:0]                lk_vpid_i,
  input  logic [11:0]                lk_pcid_i,
  // VA bits above VaBits are sign extension (the top checks canonicality), bits below 12 the
  // page offset; the low 12 bits of page-aligned addresses are zero.
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic [63:0]                lk_va_i,
  output logic                       lk_hit_o,
  output logic [2:0]                 lk_level_o,
  output logic [PaBits-1:0]          lk_next_o,
  output mmu_pkg::guest_acc_t        lk_acc_o,
  input  logic                       lk_touch_i,
  // Fill of one level (its next table is known and valid).
  input  logic                       fill_i,
  input  logic [2:0]                 fill_level_i,
  input  logic [15:0]                fill_vpid_i,
  input  logic [11:0]                fill_pcid_i,
  input  logic [63:0]                fill_va_i,
  input  logic [PaBits-1:0]          fill_next_i,
  input  mmu_pkg::guest_acc_t        fill_acc_i,
  // Invalidation (§11).
  input  logic                       inv_i,
  input  mmu_pkg::inv_kind_e         inv_kind_i,
  input  logic [15:0]                inv_vpid_i,
  input  logic [11:0]                inv_pcid_i,
  input  logic [63:0]                inv_va_i,
  input  logic [NumVpids*16-1:0]     inv_vpids_i,  // entry k at [16k +: 16]
  input  logic [NumVpids-1:0]        inv_vpids_valid_i
  /* verilator lint_on UNUSEDSIGNAL */
);

  localparam int unsigned VaBits = 12 + 9 * GuestLevels;
  localparam int unsigned VpnBits = VaBits - 12;
  localparam int unsigned FrameBits = PaBits - 12;
  localparam int unsigned NumCaches = GuestLevels - 1;  // cache c serves level c + 2

  typedef struct packed {
    logic [15:0]          vpid;
    logic [11:0]          pcid;
    logic [VpnBits-1:0]   prefix;  // VA[VaBits-1:12] with the bits below shift(l) cleared
    logic [FrameBits-1:0] next;    // host frame of the level l-1 table
    logic [2:0]           acc;     // guest_acc_t
  } entry_t;
  // $bits(entry_t), spelled out for yosys 0.23.
  localparam int unsigned EntryBits = 16 + 12 + VpnBits + FrameBits + 3;

  logic [VpnBits-1:0] lk_vpn, inv_vpn, fill_vpn;
  assign lk_vpn = lk_va_i[VaBits-1:12];
  assign inv_vpn = inv_va_i[VaBits-1:12];
  assign fill_vpn = fill_va_i[VaBits-1:12];

  logic [NumCaches-1:0]         cache_hit;
  logic [NumCaches*EntryBits-1:0]  cache_entry;  // entry of array a at [a * EntryBits +: EntryBits]

  for (genvar c = 0; c < NumCaches; c++) begin : gen_level
    localparam int unsigned Level = c + 2;
    localparam int unsigned Sets = (Level == 2) ? PscL2Sets : (Level == 3) ? PscL3Sets :
                                   (Level == 4) ? PscL4Sets : PscL5Sets;
    localparam int unsigned Ways = (Level == 2) ? PscL2Ways : (Level == 3) ? PscL3Ways :
                                   (Level == 4) ? PscL4Ways : PscL5Ways;
    localparam int unsigned SetBits = (Sets > 1) ? $clog2(Sets) : 1;
    localparam int unsigned WayBits = (Ways > 1) ? $clog2(Ways) : 1;
    // The prefix va >> shift(Level) keeps the VPN bits from 9 (Level - 1) up.
    localparam logic [VpnBits-1:0] PrefixMask = ~VpnBits'((64'd1 << (9 * (Level - 1))) - 64'd1);

    logic [SetBits-1:0]                   lk_set, fill_set;
    logic [Ways-1:0]                      rd_valid;
    logic [Ways*EntryBits-1:0]       rd_entry;
    logic [Sets*Ways-1:0]                 all_valid, inv_mask;
    logic [Sets*Ways*EntryBits-1:0]  all_entry;
    logic [Ways-1:0]                      way_match;
    logic [WayBits-1:0]                   hit_way;
    entry_t                               fill_entry, sel_entry;
    logic                                 any_match;

    assign cache_hit[c] = any_match;
    assign cache_entry[c * EntryBits +: EntryBits] = sel_entry;

    assign lk_set = SetBits'(lk_vpn >> (9 * (Level - 1))) & SetBits'(Sets - 1);
    assign fill_set = SetBits'(fill_vpn >> (9 * (Level - 1))) & SetBits'(Sets - 1);

    always_comb begin : lookup
      // A lookup or an invalidation reads only some fields of an entry.
      /* verilator lint_off UNUSEDSIGNAL */
      entry_t e;
      /* verilator lint_on UNUSEDSIGNAL */
      for (int unsigned w = 0; w < Ways; w++) begin
        e = rd_entry[w * EntryBits +: EntryBits];
        way_match[w] = rd_valid[w] && e.vpid == lk_vpid_i && e.pcid == lk_pcid_i &&
                       e.prefix == (lk_vpn & PrefixMask);
      end
      hit_way = '0;
      for (int w = Ways - 1; w >= 0; w--) begin
        if (way_match[w]) hit_way = WayBits'(w);
      end
      any_match = |way_match;
      sel_entry = rd_entry[32'(hit_way) * EntryBits +: EntryBits];
    end

    always_comb begin : invalidation
      // A lookup or an invalidation reads only some fields of an entry.
      /* verilator lint_off UNUSEDSIGNAL */
      entry_t e;
      /* verilator lint_on UNUSEDSIGNAL */
      for (int unsigned i = 0; i < Sets * Ways; i++) begin
        e = all_entry[i * EntryBits +: EntryBits];
        inv_mask[i] = 1'b0;
        if (inv_i) begin
          unique case (inv_kind_i)
            mmu_pkg::InvByAddr: inv_mask[i] = e.vpid == inv_vpid_i &&
                e.prefix == (inv_vpn & PrefixMask);
            mmu_pkg::InvByPcid: inv_mask[i] = e.vpid == inv_vpid_i && e.pcid == inv_pcid_i;
            mmu_pkg::InvByVpids: begin
              for (int unsigned k = 0; k < NumVpids; k++) begin
                if (inv_vpids_valid_i[k] && inv_vpids_i[k * 16 +: 16] == e.vpid) inv_mask[i] = 1'b1;
              end
            end
            default: inv_mask[i] = 1'b1;
          endcase
        end
        inv_mask[i] = inv_mask[i] && all_valid[i];
      end
    end

    always_comb begin : fill_data
      fill_entry.vpid = fill_vpid_i;
      fill_entry.pcid = fill_pcid_i;
      fill_entry.prefix = fill_vpn & PrefixMask;
      fill_entry.next = fill_next_i[PaBits-1:12];
      fill_entry.acc = fill_acc_i;
    end

    mmu_sa_array #(.Sets(Sets), .Ways(Ways), .EntryBits(EntryBits)) u_array (
      .clk_i,
      .rst_ni,
      .rd_set_i     (lk_set),
      .rd_valid_o   (rd_valid),
      .rd_entry_o   (rd_entry),
      .all_valid_o  (all_valid),
      .all_entry_o  (all_entry),
      .touch_i      (lk_touch_i && lk_hit_o && 32'(lk_level_o) == Level),
      .touch_set_i  (lk_set),
      .touch_way_i  (hit_way),
      .fill_i       (fill_i && 32'(fill_level_i) == Level),
      .fill_set_i   (fill_set),
      .fill_entry_i (fill_entry),
      .inv_i        (inv_mask)
    );
  end

  // The deepest level (PDE first) wins (§10.1).
  always_comb begin : deepest
    // The selected entry's tag fields were used by the lookup.
    /* verilator lint_off UNUSEDSIGNAL */
    entry_t e;
    /* verilator lint_on UNUSEDSIGNAL */
    lk_hit_o = 1'b0;
    lk_level_o = '0;
    e = cache_entry[0 * EntryBits +: EntryBits];
    for (int c = NumCaches - 1; c >= 0; c--) begin
      if (cache_hit[c]) begin
        lk_hit_o = 1'b1;
        lk_level_o = 3'(c + 2);
        e = cache_entry[c * EntryBits +: EntryBits];
      end
    end
    lk_next_o = {e.next, 12'h000};
    lk_acc_o = e.acc;
  end

endmodule
