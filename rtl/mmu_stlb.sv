// mmu_stlb: the second-level TLB of §9.2, one set-associative array of 4K and 2M entries.
//
// The tag part of each entry (VPID, PCID, global, size, guest size, VPN) and the valid and
// §9.1 PLRU bits are flip-flops; the payload (host frame, guest and EPT permissions, dirty) is
// one word of an mmu_sram_sp, index set * Ways + way, read one cycle after its address.
//   - Lookup (cycle t, combinational on the tags): the 4K set and the 2M set of the VA are
//     compared at once; a 4K match wins over a 2M one, and the lowest way within a size. With
//     lk_read_i the winning entry's payload is read and its tags registered.
//   - Cycle t+1: rd_*_o are that entry. The caller either touches it (it granted) or drops every
//     entry that matched in cycle t (it did not); nothing else can happen in between, because the
//     top accepts neither a request nor a control command in t+1 and no walk is running.
//   - Fill (the walk's DONE cycle; never together with a lookup read): the lowest invalid way of
//     the entry's set, else the PLRU victim; tags into flops, payload into the SRAM, then touch.
//   - Invalidation (§11): valid bits only, compared and cleared in the cycle of the command, so
//     the SRAM is never swept: a word is read only while its entry is valid.
module mmu_stlb #(
  parameter int unsigned Sets = 128,
  parameter int unsigned Ways = 8,
  parameter int unsigned GuestLevels = 4,
  parameter int unsigned PaBits = 46,
  parameter int unsigned NumVpids = 4,  // length of the VPID list of InvByVpids
  localparam int unsigned VpnBits = 9 * GuestLevels  // VA[VaBits-1:12]
) (
  input  logic                       clk_i,
  input  logic                       rst_ni,
  // Lookup (combinational; lk_match_o is meaningful only with lk_enable_i).
  input  logic                       lk_enable_i,
  input  logic [15:0]                lk_vpid_i,
  input  logic [11:0]                lk_pcid_i,
  input  logic [VpnBits-1:0]         lk_vpn_i,    // VA[VaBits-1:12]
  output logic                       lk_match_o,
  input  logic                       lk_read_i,   // read the matching entry (the request probes)
  // The entry read, in the cycle after lk_read_i.
  output mmu_pkg::page_size_e        rd_size_o,
  output logic [11:0]                rd_pcid_o,
  output logic                       rd_global_o,
  output mmu_pkg::page_size_e        rd_gsize_o,
  output logic [PaBits-13:0]         rd_frame_o,
  output mmu_pkg::guest_acc_t        rd_acc_o,
  output logic [2:0]                 rd_ept_perm_o,
  output logic                       rd_dirty_o,
  input  logic                       rd_touch_i,  // it granted
  input  logic                       rd_drop_i,   // it did not: drop every entry that matched
  // Fill (a successful walk of a 4K or 2M translation).
  input  logic                       fill_i,
  input  logic [15:0]                fill_vpid_i,
  input  logic [11:0]                fill_pcid_i,
  input  logic [VpnBits-1:0]         fill_vpn_i,
  input  mmu_pkg::page_size_e        fill_size_i,
  input  mmu_pkg::page_size_e        fill_gsize_i,
  input  logic [PaBits-13:0]         fill_frame_i,
  input  logic                       fill_global_i,
  input  mmu_pkg::guest_acc_t        fill_acc_i,
  input  logic [2:0]                 fill_ept_perm_i,
  input  logic                       fill_dirty_i,
  // Invalidation (§11).
  input  logic                       inv_i,
  input  mmu_pkg::inv_kind_e         inv_kind_i,
  input  logic [15:0]                inv_vpid_i,
  input  logic [11:0]                inv_pcid_i,
  input  logic [VpnBits-1:0]         inv_vpn_i,
  input  logic [NumVpids*16-1:0]     inv_vpids_i,  // VPID k at [16k +: 16]
  input  logic [NumVpids-1:0]        inv_vpids_valid_i
);

  localparam int unsigned FrameBits = PaBits - 12;
  localparam int unsigned Entries = Sets * Ways;
  localparam int unsigned SetBits = (Sets > 1) ? $clog2(Sets) : 1;
  localparam int unsigned WayBits = (Ways > 1) ? $clog2(Ways) : 1;
  localparam int unsigned IndexBits = (Entries > 1) ? $clog2(Entries) : 1;
  localparam int unsigned TreeBits = (Ways > 1) ? Ways - 1 : 1;
  // The VPN of a 2M entry keeps its low 9 bits zero.
  localparam logic [VpnBits-1:0] Vpn2mMask = {VpnBits{1'b1}} << 9;

  typedef struct packed {
    logic [15:0]        vpid;
    logic [11:0]        pcid;
    logic               glob;
    logic               is_2m;   // size: 0 4K, 1 2M
    logic [1:0]         gsize;   // page_size_e
    logic [VpnBits-1:0] vpn;
  } tag_t;
  // $bits(tag_t), spelled out for yosys 0.23, and the fields' positions for the per-entry logic
  // in generate blocks (where yosys 0.23 does not resolve struct members).
  localparam int unsigned TagBits = 16 + 12 + 1 + 1 + 2 + VpnBits;
  localparam int unsigned TagGsizeLsb = VpnBits;
  localparam int unsigned TagGlobBit = VpnBits + 3;
  localparam int unsigned TagPcidLsb = VpnBits + 4;
  localparam int unsigned TagVpidLsb = VpnBits + 16;

  typedef struct packed {
    logic [FrameBits-1:0] frame;
    logic [2:0]           acc;       // guest_acc_t
    logic [2:0]           ept_perm;
    logic                 dirty;
  } payload_t;
  localparam int unsigned PayloadBits = FrameBits + 3 + 3 + 1;

  // VPN bits a guest page of 2M and 1G keeps (INV_ADDR, by the entry's guest size).
  localparam logic [VpnBits-1:0] GuestMask2m = {VpnBits{1'b1}} << 9;
  localparam logic [VpnBits-1:0] GuestMask1g = {VpnBits{1'b1}} << 18;

  logic [Entries-1:0]       valid_q, clear_mask, inv_mask;
  logic [Sets*TreeBits-1:0] plru_q;
  // The tags, way by way: way w of set s at [(w * Sets + s) * TagBits +: TagBits]. Each entry is
  // a register of its own (gen_way[w].gen_set[s]) so that the invalidation compares all of them
  // without an array read per entry, and a lookup reads one set of each way with one index.
  logic [Ways*Sets*TagBits-1:0] tags_flat;

  // ---------------------------------------------------------------------------------------
  // Lookup: both candidate sets in one cycle.

  logic [SetBits-1:0] set_4k, set_2m, win_set;
  logic [Ways-1:0]    match_4k, match_2m;
  logic [WayBits-1:0] way_4k, way_2m, win_way;
  logic               win_is_2m;
  // A lookup reads only some fields of the tags it compares.
  /* verilator lint_off UNUSEDSIGNAL */
  tag_t               cand_4k, cand_2m;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [Ways*TagBits-1:0] cands_4k, cands_2m;  // set_4k's and set_2m's tags, way w at w * TagBits

  assign set_4k = (Sets > 1) ? SetBits'(lk_vpn_i) : '0;
  assign set_2m = (Sets > 1) ? SetBits'(lk_vpn_i >> 9) : '0;

  for (genvar w = 0; w < Ways; w++) begin : gen_candidates
    logic [Sets*TagBits-1:0] way_tags;
    assign way_tags = tags_flat[w * Sets * TagBits +: Sets * TagBits];
    assign cands_4k[w * TagBits +: TagBits] = way_tags[32'(set_4k) * TagBits +: TagBits];
    assign cands_2m[w * TagBits +: TagBits] = way_tags[32'(set_2m) * TagBits +: TagBits];
  end

  always_comb begin : lookup
    cand_4k = '0;
    cand_2m = '0;
    match_4k = '0;
    match_2m = '0;
    if (lk_enable_i) begin
      for (int unsigned w = 0; w < Ways; w++) begin
        cand_4k = cands_4k[w * TagBits +: TagBits];
        cand_2m = cands_2m[w * TagBits +: TagBits];
        match_4k[w] = valid_q[32'(set_4k) * Ways + w] && !cand_4k.is_2m &&
                      cand_4k.vpid == lk_vpid_i && (cand_4k.glob || cand_4k.pcid == lk_pcid_i) &&
                      cand_4k.vpn == lk_vpn_i;
        match_2m[w] = valid_q[32'(set_2m) * Ways + w] && cand_2m.is_2m &&
                      cand_2m.vpid == lk_vpid_i && (cand_2m.glob || cand_2m.pcid == lk_pcid_i) &&
                      cand_2m.vpn == (lk_vpn_i & Vpn2mMask);
      end
    end
  end

  // The lowest matching way of each size; a 4K match wins.
  always_comb begin : winner
    way_4k = '0;
    way_2m = '0;
    for (int w = Ways - 1; w >= 0; w--) begin
      if (match_4k[w]) way_4k = WayBits'(w);
      if (match_2m[w]) way_2m = WayBits'(w);
    end
    win_is_2m = !(|match_4k);
    win_set = win_is_2m ? set_2m : set_4k;
    win_way = win_is_2m ? way_2m : way_4k;
  end

  assign lk_match_o = |match_4k || |match_2m;

  // ---------------------------------------------------------------------------------------
  // The read entry, registered with what the next cycle needs to touch or drop it.

  logic               rd_fire;
  logic [SetBits-1:0] rd_set_q, drop_set_4k_q, drop_set_2m_q;
  logic [WayBits-1:0] rd_way_q;
  logic [Ways-1:0]    drop_4k_q, drop_2m_q;
  /* verilator lint_off UNUSEDSIGNAL */
  tag_t               rd_tag_q;  // the VPID and VPN are the request's
  /* verilator lint_on UNUSEDSIGNAL */
  payload_t           rd_payload;

  assign rd_fire = lk_read_i && lk_match_o;

  always_ff @(posedge clk_i) begin : read_regs
    if (rd_fire) begin
      rd_set_q <= win_set;
      rd_way_q <= win_way;
      rd_tag_q <= win_is_2m ? cands_2m[32'(win_way) * TagBits +: TagBits]
                            : cands_4k[32'(win_way) * TagBits +: TagBits];
      drop_set_4k_q <= set_4k;
      drop_set_2m_q <= set_2m;
      drop_4k_q <= match_4k;
      drop_2m_q <= match_2m;
    end
  end

  assign rd_size_o = rd_tag_q.is_2m ? mmu_pkg::Size2M : mmu_pkg::Size4K;
  assign rd_pcid_o = rd_tag_q.pcid;
  assign rd_global_o = rd_tag_q.glob;
  always_comb begin : gsize_out
    unique case (rd_tag_q.gsize)
      2'd1: rd_gsize_o = mmu_pkg::Size2M;
      2'd2: rd_gsize_o = mmu_pkg::Size1G;
      default: rd_gsize_o = mmu_pkg::Size4K;
    endcase
  end
  assign rd_frame_o = rd_payload.frame;
  assign rd_acc_o = rd_payload.acc;
  assign rd_ept_perm_o = rd_payload.ept_perm;
  assign rd_dirty_o = rd_payload.dirty;

  // ---------------------------------------------------------------------------------------
  // Fill: victim and the entry.

  logic [SetBits-1:0]  fill_set;
  logic [WayBits-1:0]  fill_way, plru_victim;
  logic [IndexBits-1:0] fill_index;
  logic [TreeBits-1:0] fill_set_bits, fill_bits, rd_set_bits, touch_bits;
  logic [Ways-1:0]     fill_set_valid;
  logic [WayBits-1:0]  unused_touch_victim;
  tag_t                fill_tag;
  payload_t            fill_payload;

  assign fill_set = (Sets > 1) ? SetBits'(fill_vpn_i >> (fill_size_i == mmu_pkg::Size2M ? 9 : 0))
                               : '0;

  always_comb begin : choose_victim
    fill_set_bits = '0;
    fill_set_valid = '0;
    fill_way = '0;
    if (fill_i) begin
      fill_set_bits = plru_q[32'(fill_set) * TreeBits +: TreeBits];
      fill_set_valid = valid_q[32'(fill_set) * Ways +: Ways];
      fill_way = plru_victim;
      for (int w = Ways - 1; w >= 0; w--) begin
        if (!fill_set_valid[w]) fill_way = WayBits'(w);
      end
    end
  end
  assign fill_index = IndexBits'(32'(fill_set) * Ways + 32'(fill_way));

  mmu_plru_tree #(.Ways(Ways)) u_fill_tree (
    .bits_i         (fill_set_bits),
    .touch_way_i    (fill_way),
    .touched_bits_o (fill_bits),
    .victim_o       (plru_victim)
  );

  assign rd_set_bits = plru_q[32'(rd_set_q) * TreeBits +: TreeBits];

  mmu_plru_tree #(.Ways(Ways)) u_touch_tree (
    .bits_i         (rd_set_bits),
    .touch_way_i    (rd_way_q),
    .touched_bits_o (touch_bits),
    .victim_o       (unused_touch_victim)
  );

  always_comb begin : fill_data
    fill_tag.vpid = fill_vpid_i;
    fill_tag.pcid = fill_pcid_i;
    fill_tag.glob = fill_global_i;
    fill_tag.is_2m = fill_size_i == mmu_pkg::Size2M;
    fill_tag.gsize = fill_gsize_i;
    fill_tag.vpn = fill_size_i == mmu_pkg::Size2M ? fill_vpn_i & Vpn2mMask : fill_vpn_i;
    fill_payload.frame = fill_size_i == mmu_pkg::Size2M ? fill_frame_i & ({FrameBits{1'b1}} << 9)
                                                        : fill_frame_i;
    fill_payload.acc = fill_acc_i;
    fill_payload.ept_perm = fill_ept_perm_i;
    fill_payload.dirty = fill_dirty_i;
  end

  // ---------------------------------------------------------------------------------------
  // Payload SRAM: written by a fill, read by a lookup that matched. They never share a cycle:
  // the walker fills in DONE, a lookup reads while it is IDLE.

  logic [IndexBits-1:0] sram_addr;

  assign sram_addr = fill_i ? fill_index : IndexBits'(32'(win_set) * Ways + 32'(win_way));

  mmu_sram_sp #(.Depth(Entries), .Width(PayloadBits)) u_payload (
    .clk_i,
    .req_i   (fill_i || rd_fire),
    .we_i    (fill_i),
    .addr_i  (sram_addr),
    .wdata_i (fill_payload),
    .rdata_o (rd_payload)
  );

  // ---------------------------------------------------------------------------------------
  // Invalidation (§11) and the drop of a non-granting match.

  // Per entry: its tag register, written by a fill, and whether the command invalidates it.
  for (genvar w = 0; w < Ways; w++) begin : gen_way
    for (genvar e = 0; e < Sets; e++) begin : gen_set
      localparam int unsigned Index = e * Ways + w;
      logic [TagBits-1:0] tag_q;
      logic [15:0]        tag_vpid;
      logic [VpnBits-1:0] tag_vpn, guest_mask;
      logic               listed;

      always_ff @(posedge clk_i) begin : store
        if (fill_i && fill_index == IndexBits'(Index)) tag_q <= fill_tag;
      end
      assign tags_flat[(w * Sets + e) * TagBits +: TagBits] = tag_q;

      assign tag_vpid = tag_q[TagVpidLsb +: 16];
      assign tag_vpn = tag_q[VpnBits-1:0];
      assign guest_mask = tag_q[TagGsizeLsb +: 2] == 2'd1 ? GuestMask2m :
                          tag_q[TagGsizeLsb +: 2] == 2'd2 ? GuestMask1g : {VpnBits{1'b1}};
      always_comb begin : vpid_listed
        listed = 1'b0;
        for (int unsigned k = 0; k < NumVpids; k++) begin
          listed = listed || (inv_vpids_valid_i[k] && inv_vpids_i[k * 16 +: 16] == tag_vpid);
        end
      end
      always_comb begin : invalidates
        unique case (inv_kind_i)
          mmu_pkg::InvByAddr: inv_mask[Index] = inv_i && tag_vpid == inv_vpid_i &&
              (tag_vpn & guest_mask) == (inv_vpn_i & guest_mask);
          mmu_pkg::InvByPcid: inv_mask[Index] = inv_i && tag_vpid == inv_vpid_i &&
              tag_q[TagPcidLsb +: 12] == inv_pcid_i && !tag_q[TagGlobBit];
          mmu_pkg::InvByVpids: inv_mask[Index] = inv_i && listed;
          default: inv_mask[Index] = inv_i;
        endcase
      end
    end
  end

  always_comb begin : clear
    clear_mask = inv_mask;
    if (rd_drop_i) begin
      for (int unsigned w = 0; w < Ways; w++) begin
        if (drop_4k_q[w]) clear_mask[32'(drop_set_4k_q) * Ways + w] = 1'b1;
        if (drop_2m_q[w]) clear_mask[32'(drop_set_2m_q) * Ways + w] = 1'b1;
      end
    end
  end

  // Reset clears valid and PLRU bits; tags, like the SRAM, are used only while valid.
  always_ff @(posedge clk_i) begin : regs
    if (!rst_ni) begin
      valid_q <= '0;
      plru_q <= '0;
    end else begin
      valid_q <= valid_q & ~clear_mask;
      if (rd_touch_i) plru_q[32'(rd_set_q) * TreeBits +: TreeBits] <= touch_bits;
      if (fill_i) begin
        plru_q[32'(fill_set) * TreeBits +: TreeBits] <= fill_bits;
        valid_q[fill_index] <= 1'b1;
      end
    end
  end

endmodule
