// mmu_tlb: the translation TLB of §9: one mmu_sa_array per page size (4K, 2M, 1G).
//
// An entry holds VPID, PCID, global, the VA page number (at the array's size), the guest page
// size (for INV_ADDR, §11), the host frame, guest and EPT permissions and dirty. Lookup searches
// 4K, then 2M, then 1G, lowest matching way first; the caller decides whether the entry grants
// (§7) and then either touches it or invalidates every matching entry.
module mmu_tlb #(
  parameter int unsigned GuestLevels = 4,
  parameter int unsigned PaBits = 46,
  parameter int unsigned NumVpids = 4,  // length of the VPID list of InvByVpids
  parameter int unsigned Tlb4kSets = 16,
  parameter int unsigned Tlb4kWays = 4,
  parameter int unsigned Tlb2mSets = 8,
  parameter int unsigned Tlb2mWays = 4,
  parameter int unsigned Tlb1gSets = 1,
  parameter int unsigned Tlb1gWays = 4
) (
  input  logic                       clk_i,
  input  logic                       rst_ni,
  // Lookup (combinational).
  input  logic [15:0]                lk_vpid_i,
  input  logic [11:0]                lk_pcid_i,
  // VA bits above VaBits are sign extension (the top checks canonicality), bits below 12 the
  // page offset; the low 12 bits of page-aligned addresses are zero.
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic [63:0]                lk_va_i,
  output logic                       lk_match_o,
  output logic [PaBits-1:0]          lk_hpa_o,
  output mmu_pkg::page_size_e        lk_size_o,
  output mmu_pkg::guest_acc_t        lk_acc_o,
  output logic [2:0]                 lk_ept_perm_o,
  output logic                       lk_dirty_o,
  input  logic                       lk_touch_i,         // the returned entry was used
  input  logic                       lk_inv_matching_i,  // drop every entry that matches
  // Fill (after a successful walk).
  input  logic                       fill_i,
  input  logic [15:0]                fill_vpid_i,
  input  logic [11:0]                fill_pcid_i,
  input  logic [63:0]                fill_va_i,
  input  mmu_pkg::page_size_e        fill_size_i,
  input  mmu_pkg::page_size_e        fill_gsize_i,
  input  logic [PaBits-1:0]          fill_hpa_i,
  input  logic                       fill_global_i,
  input  mmu_pkg::guest_acc_t        fill_acc_i,
  input  logic [2:0]                 fill_ept_perm_i,
  input  logic                       fill_dirty_i,
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

  typedef struct packed {
    logic [15:0]           vpid;
    logic [11:0]           pcid;
    logic                  glob;
    logic [VpnBits-1:0]    vpn;    // VA[VaBits-1:12], low bits cleared to the array's size
    logic [1:0]            gsize;  // page_size_e
    logic [FrameBits-1:0]  frame;  // hPA[PaBits-1:12], low bits cleared to the array's size
    logic [2:0]            acc;    // guest_acc_t
    logic [2:0]            ept_perm;
    logic                  dirty;
  } entry_t;
  // $bits(entry_t), spelled out for yosys 0.23.
  localparam int unsigned EntryBits = 16 + 12 + 1 + VpnBits + 2 + FrameBits + 3 + 3 + 1;

  // VPN bits kept by a page of the given size.
  function automatic logic [VpnBits-1:0] vpn_mask(logic [1:0] size);  // page_size_e
    vpn_mask = ~VpnBits'((64'd1 << (9 * 32'(size))) - 64'd1);
  endfunction
  function automatic logic [FrameBits-1:0] frame_mask(logic [1:0] size);  // page_size_e
    frame_mask = ~FrameBits'((64'd1 << (9 * 32'(size))) - 64'd1);
  endfunction

  logic [VpnBits-1:0] lk_vpn, inv_vpn, fill_vpn;
  assign lk_vpn = lk_va_i[VaBits-1:12];
  assign inv_vpn = inv_va_i[VaBits-1:12];
  assign fill_vpn = fill_va_i[VaBits-1:12];

  // Per-array lookup results, gathered in search order.
  logic [2:0]         arr_match;
  logic [3*EntryBits-1:0]  arr_entry;  // entry of array a at [a * EntryBits +: EntryBits]

  for (genvar s = 0; s < 3; s++) begin : gen_array
    localparam int unsigned Sets = (s == 0) ? Tlb4kSets : (s == 1) ? Tlb2mSets : Tlb1gSets;
    localparam int unsigned Ways = (s == 0) ? Tlb4kWays : (s == 1) ? Tlb2mWays : Tlb1gWays;
    localparam int unsigned SetBits = (Sets > 1) ? $clog2(Sets) : 1;
    localparam int unsigned WayBits = (Ways > 1) ? $clog2(Ways) : 1;
    localparam int unsigned SizeIndex = s;  // page_size_e encoding of this array

    logic [SetBits-1:0]                    lk_set, fill_set;
    logic [Ways-1:0]                       rd_valid;
    logic [Ways*EntryBits-1:0]        rd_entry;
    logic [Sets*Ways-1:0]                  all_valid, inv_mask;
    logic [Sets*Ways*EntryBits-1:0]   all_entry;
    logic [Ways-1:0]                       way_match;
    logic [WayBits-1:0]                    hit_way;
    entry_t                                fill_entry, sel_entry;
    logic                                  any_match;

    assign arr_match[s] = any_match;
    assign arr_entry[s * EntryBits +: EntryBits] = sel_entry;

    // Set index: (va >> shift) & (Sets - 1).
    assign lk_set = SetBits'(lk_vpn >> (9 * s)) & SetBits'(Sets - 1);
    assign fill_set = SetBits'(fill_vpn >> (9 * s)) & SetBits'(Sets - 1);

    always_comb begin : lookup
      // A lookup or an invalidation reads only some fields of an entry.
      /* verilator lint_off UNUSEDSIGNAL */
      entry_t e;
      /* verilator lint_on UNUSEDSIGNAL */
      way_match = '0;
      for (int unsigned w = 0; w < Ways; w++) begin
        e = rd_entry[w * EntryBits +: EntryBits];
        way_match[w] = rd_valid[w] && e.vpid == lk_vpid_i && (e.glob || e.pcid == lk_pcid_i) &&
                       e.vpn == (lk_vpn & vpn_mask(2'(SizeIndex)));
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
                (e.vpn & vpn_mask(e.gsize)) == (inv_vpn & vpn_mask(e.gsize));
            mmu_pkg::InvByPcid: inv_mask[i] = e.vpid == inv_vpid_i && e.pcid == inv_pcid_i &&
                !e.glob;
            mmu_pkg::InvByVpids: begin
              for (int unsigned k = 0; k < NumVpids; k++) begin
                if (inv_vpids_valid_i[k] && inv_vpids_i[k * 16 +: 16] == e.vpid) inv_mask[i] = 1'b1;
              end
            end
            default: inv_mask[i] = 1'b1;
          endcase
        end
        // A matching entry that did not grant is dropped together with every other match (§5).
        if (lk_inv_matching_i && i / Ways == 32'(lk_set) && way_match[i % Ways]) begin
          inv_mask[i] = 1'b1;
        end
        inv_mask[i] = inv_mask[i] && all_valid[i];
      end
    end

    always_comb begin : fill_data
      fill_entry.vpid = fill_vpid_i;
      fill_entry.pcid = fill_pcid_i;
      fill_entry.glob = fill_global_i;
      fill_entry.vpn = fill_vpn & vpn_mask(2'(SizeIndex));
      fill_entry.gsize = fill_gsize_i;
      fill_entry.frame = fill_hpa_i[PaBits-1:12] & frame_mask(2'(SizeIndex));
      fill_entry.acc = fill_acc_i;
      fill_entry.ept_perm = fill_ept_perm_i;
      fill_entry.dirty = fill_dirty_i;
    end

    mmu_sa_array #(.Sets(Sets), .Ways(Ways), .EntryBits(EntryBits)) u_array (
      .clk_i,
      .rst_ni,
      .rd_set_i     (lk_set),
      .rd_valid_o   (rd_valid),
      .rd_entry_o   (rd_entry),
      .all_valid_o  (all_valid),
      .all_entry_o  (all_entry),
      .touch_i      (lk_touch_i && 32'(lk_size_o) == SizeIndex && lk_match_o),
      .touch_set_i  (lk_set),
      .touch_way_i  (hit_way),
      .fill_i       (fill_i && 32'(fill_size_i) == SizeIndex),
      .fill_set_i   (fill_set),
      .fill_entry_i (fill_entry),
      .inv_i        (inv_mask)
    );
  end

  // The first array in search order that matches provides the entry.
  always_comb begin : select
    // The selected entry's tag fields were used by the lookup.
    /* verilator lint_off UNUSEDSIGNAL */
    entry_t e;
    /* verilator lint_on UNUSEDSIGNAL */
    lk_match_o = |arr_match;
    lk_size_o = mmu_pkg::Size4K;
    e = arr_entry[0 * EntryBits +: EntryBits];
    if (!arr_match[0] && arr_match[1]) begin
      lk_size_o = mmu_pkg::Size2M;
      e = arr_entry[1 * EntryBits +: EntryBits];
    end else if (!arr_match[0] && !arr_match[1]) begin
      lk_size_o = mmu_pkg::Size1G;
      e = arr_entry[2 * EntryBits +: EntryBits];
    end
    // hPA = frame at the entry's size | the VA's offset inside that page.
    lk_hpa_o = {e.frame, 12'h000} |
               (PaBits'(lk_va_i) & PaBits'((64'd1 << (12 + 9 * 32'(lk_size_o))) - 64'd1));
    lk_acc_o = e.acc;
    lk_ept_perm_o = e.ept_perm;
    lk_dirty_o = e.dirty;
  end

endmodule
