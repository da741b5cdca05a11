// mmu_psc_array: the paging-structure cache of one guest level l (§10.1) around an
// mmu_sa_array.
//
// An entry holds VPID, PCID, the VA prefix va >> shift(l), the host address of the level l-1
// table and the guest permissions accumulated through level l, and (AGILE, §20.4) whether that
// table is walked nested. Set index prefix & (Sets - 1).
module mmu_psc_array #(
  parameter int unsigned Level = 2,
  parameter int unsigned Sets = 8,
  parameter int unsigned Ways = 4,
  parameter int unsigned GuestLevels = 4,
  parameter int unsigned PaBits = 46,
  parameter int unsigned NumVpids = 4,
  localparam int unsigned VpnBits = 9 * GuestLevels  // VA[VaBits-1:12]
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,
  // Lookup (combinational): the lowest matching way.
  input  logic                      lk_enable_i,    // a lookup is wanted this cycle
  input  logic [15:0]               lk_vpid_i,
  input  logic [11:0]               lk_pcid_i,
  input  logic [VpnBits-1:0]        lk_vpn_i,
  output logic                      lk_hit_o,
  output logic [PaBits-13:0]        lk_next_o,   // frame of the level l-1 table
  output mmu_pkg::guest_acc_t       lk_acc_o,
  output logic                      lk_nested_o,  // AGILE: the table below is walked nested
  input  logic                      lk_touch_i,
  // Fill.
  input  logic                      fill_i,
  input  logic [15:0]               fill_vpid_i,
  input  logic [11:0]               fill_pcid_i,
  input  logic [VpnBits-1:0]        fill_vpn_i,
  input  logic [PaBits-13:0]        fill_next_i,
  input  mmu_pkg::guest_acc_t       fill_acc_i,
  input  logic                      fill_nested_i,
  // Invalidation (§11).
  input  logic                      inv_i,
  input  mmu_pkg::inv_kind_e        inv_kind_i,
  input  logic [15:0]               inv_vpid_i,
  input  logic [11:0]               inv_pcid_i,
  input  logic [VpnBits-1:0]        inv_vpn_i,
  input  logic [NumVpids*16-1:0]    inv_vpids_i,    // VPID k at [16k +: 16]
  input  logic [NumVpids-1:0]       inv_vpids_valid_i
);

  localparam int unsigned FrameBits = PaBits - 12;
  localparam int unsigned SetBits = (Sets > 1) ? $clog2(Sets) : 1;
  localparam int unsigned WayBits = (Ways > 1) ? $clog2(Ways) : 1;
  localparam int unsigned IndexBits = (Sets * Ways > 1) ? $clog2(Sets * Ways) : 1;
  // The prefix va >> shift(Level) keeps the page-number bits from 9 (Level - 1) up.
  localparam int unsigned PrefixShift = 9 * (Level - 1);
  localparam logic [VpnBits-1:0] PrefixMask = {VpnBits{1'b1}} << PrefixShift;

  typedef struct packed {
    logic [15:0]          vpid;
    logic [11:0]          pcid;
    logic [VpnBits-1:0]   prefix;  // VA page number with the bits below shift(l) cleared
    logic [FrameBits-1:0] next;
    logic [2:0]           acc;     // guest_acc_t
    logic                 nested;  // §20.4
  } entry_t;
  // $bits(entry_t), spelled out for yosys 0.23.
  localparam int unsigned EntryBits = 16 + 12 + VpnBits + FrameBits + 3 + 1;

  logic [SetBits-1:0]              lk_set, fill_set;
  logic [Ways-1:0]                 rd_valid, way_match;
  logic [WayBits-1:0]              hit_way;
  logic [IndexBits-1:0]            fill_index;
  logic [Sets*Ways-1:0]            all_valid, inv_mask;
  // The entries, index set * Ways + way; mmu_sa_array keeps their valid bits and PLRU state.
  logic [EntryBits-1:0]            entry_q [Sets*Ways];
  entry_t                          fill_entry;
  // A lookup or an invalidation reads only some fields of an entry.
  /* verilator lint_off UNUSEDSIGNAL */
  entry_t                          lk_entry, inv_entry, hit_entry;
  /* verilator lint_on UNUSEDSIGNAL */

  assign lk_set = SetBits'(lk_vpn_i >> PrefixShift) & SetBits'(Sets - 1);
  assign fill_set = SetBits'(fill_vpn_i >> PrefixShift) & SetBits'(Sets - 1);

  // Which ways of the set match; mmu_sa_array picks the lowest.
  always_comb begin : lookup
    lk_entry = '0;
    way_match = '0;
    if (lk_enable_i) begin
      for (int unsigned w = 0; w < Ways; w++) begin
        lk_entry = entry_q[IndexBits'(32'(lk_set) * Ways + w)];
        way_match[w] = rd_valid[w] && lk_entry.vpid == lk_vpid_i && lk_entry.pcid == lk_pcid_i &&
                       lk_entry.prefix == (lk_vpn_i & PrefixMask);
      end
    end
  end

  assign lk_next_o = hit_entry.next;
  assign lk_acc_o = hit_entry.acc;
  assign lk_nested_o = hit_entry.nested;

  always_comb begin : invalidation
    // Only commands invalidate here: skip the per-entry work otherwise.
    inv_entry = '0;
    inv_mask = '0;
    if (inv_i) begin
      for (int unsigned i = 0; i < Sets * Ways; i++) begin
        inv_entry = entry_q[i];
        inv_mask[i] = 1'b0;
        unique case (inv_kind_i)
          mmu_pkg::InvByAddr: inv_mask[i] = inv_entry.vpid == inv_vpid_i &&
              inv_entry.prefix == (inv_vpn_i & PrefixMask);
          mmu_pkg::InvByPcid: inv_mask[i] = inv_entry.vpid == inv_vpid_i &&
              inv_entry.pcid == inv_pcid_i;
          mmu_pkg::InvByVpids: begin
            for (int unsigned k = 0; k < NumVpids; k++) begin
              if (inv_vpids_valid_i[k] && inv_vpids_i[k * 16 +: 16] == inv_entry.vpid) begin
                inv_mask[i] = 1'b1;
              end
            end
          end
          default: inv_mask[i] = 1'b1;
        endcase
        inv_mask[i] = inv_mask[i] && all_valid[i];
      end
    end
  end

  always_comb begin : fill_data
    fill_entry.vpid = fill_vpid_i;
    fill_entry.pcid = fill_pcid_i;
    fill_entry.prefix = fill_vpn_i & PrefixMask;
    fill_entry.next = fill_next_i;
    fill_entry.acc = fill_acc_i;
    fill_entry.nested = fill_nested_i;
  end

  mmu_sa_array #(.Sets(Sets), .Ways(Ways)) u_array (
    .clk_i,
    .rst_ni,
    .rd_i         (lk_enable_i),
    .rd_set_i     (lk_set),
    .rd_valid_o   (rd_valid),
    .rd_match_i   (way_match),
    .hit_o        (lk_hit_o),
    .hit_way_o    (hit_way),
    .touch_i      (lk_touch_i),
    .drop_matching_i (1'b0),
    .all_valid_o  (all_valid),
    .fill_i       (fill_i),
    .fill_set_i   (fill_set),
    .fill_index_o (fill_index),
    .inv_i        (inv_mask)
  );

  assign hit_entry = entry_q[IndexBits'(32'(lk_set) * Ways + 32'(hit_way))];

  // Entry payloads need no reset: they are only read when valid.
  always_ff @(posedge clk_i) begin : entries
    if (fill_i) entry_q[fill_index] <= fill_entry;
  end

endmodule
