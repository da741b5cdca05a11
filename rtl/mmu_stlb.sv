// mmu_stlb: the second-level TLB of §9.2, one set-associative array of 4K and 2M entries.
//
// Storage: the valid bits and the §9.1 PLRU bits are flip-flops, kept by an mmu_sa_array as for
// every other array; everything else of an entry (tag and payload) is a word of one of Ways
// synchronous single-port SRAMs (mmu_sram_sp), one per way, of Sets words: word s of way w's SRAM
// is entry (s, w). One address read on all of them gives a whole set, one cycle later. Only Ways
// tag comparators exist, not one per entry.
//   - Probe (§9.2, §12): started in the cycle t a first-level miss is accepted, which reads the
//     4K set of the VA. In t+1 the 4K set is compared: a match decides (pr_done_o, pr_match_o,
//     the lowest matching way's entry on rd_*_o); so does a miss when the 2M set of the VA holds
//     no valid 2M entry (valid_2m_q, flip-flops beside the valid bits: that set cannot match);
//     otherwise the 2M set, read in t+1, is compared in t+2, which decides with or without a
//     match. In the deciding cycle the caller touches
//     the entry (it granted) or drops every match of the compared set (it did not).
//   - Fill (the walk's DONE cycle): the lowest invalid way of the entry's set, else the PLRU
//     victim; the word written into that way's SRAM, valid set, then touch.
//   - Invalidation (§11): INV_ALL clears every valid bit in the cycle of the command. Every
//     other one (and the implicit flush of a register write) sweeps the sets: set s is read in
//     cycle t+s and compared, its matching entries' valid bits cleared, in t+s+1; busy_o is
//     high in t+1 .. t+Sets.
// Probe, fill and sweep never overlap: the top accepts requests and commands only while busy_o
// is low and the walker is IDLE, and fills only in the walker's DONE cycle.
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
  // Probe of a request that missed the first level.
  input  logic                       pr_start_i,
  input  logic [15:0]                pr_vpid_i,
  input  logic [11:0]                pr_pcid_i,
  input  logic [VpnBits-1:0]         pr_vpn_i,    // VA[VaBits-1:12]
  output logic                       busy_o,      // a probe or a sweep runs (from registers)
  output logic                       pr_done_o,   // the probe decides in this cycle
  output logic                       pr_match_o,  // with this entry (else: no entry matched)
  output mmu_pkg::page_size_e        rd_size_o,
  output logic [11:0]                rd_pcid_o,
  output logic                       rd_global_o,
  output mmu_pkg::page_size_e        rd_gsize_o,
  output logic [PaBits-13:0]         rd_frame_o,
  output mmu_pkg::guest_acc_t        rd_acc_o,
  output logic [2:0]                 rd_ept_perm_o,
  output logic                       rd_dirty_o,
  input  logic                       rd_touch_i,  // it granted
  input  logic                       rd_drop_i,   // it did not: drop the compared set's matches
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
  // The VPN of a 2M entry keeps its low 9 bits zero.
  localparam logic [VpnBits-1:0] Vpn2mMask = {VpnBits{1'b1}} << 9;
  // VPN bits a guest page of 2M and 1G keeps (INV_ADDR, by the entry's guest size).
  localparam logic [VpnBits-1:0] GuestMask2m = {VpnBits{1'b1}} << 9;
  localparam logic [VpnBits-1:0] GuestMask1g = {VpnBits{1'b1}} << 18;

  // One SRAM word: the entry without its valid bit.
  typedef struct packed {
    logic [15:0]          vpid;
    logic [11:0]          pcid;
    logic                 glob;
    logic                 is_2m;     // size: 0 4K, 1 2M
    logic [1:0]           gsize;     // page_size_e
    logic [VpnBits-1:0]   vpn;
    logic [FrameBits-1:0] frame;
    logic [2:0]           acc;       // guest_acc_t
    logic [2:0]           ept_perm;
    logic                 dirty;
  } entry_t;
  // $bits(entry_t), spelled out for yosys 0.23.
  localparam int unsigned EntryBits = 16 + 12 + 1 + 1 + 2 + VpnBits + FrameBits + 3 + 3 + 1;

  // ---------------------------------------------------------------------------------------
  // State of a probe and of a sweep, all registers.

  logic               probe_4k_q, probe_4k_d;  // the 4K set's words are on the SRAM outputs
  logic               probe_2m_q, probe_2m_d;  // the 2M set's words are
  logic [15:0]        key_vpid_q, key_vpid_d;
  logic [11:0]        key_pcid_q, key_pcid_d;
  logic [VpnBits-1:0] key_vpn_q, key_vpn_d;
  logic               sweep_q, sweep_d;        // set sweep_set_q's words are on the outputs
  logic [SetBits-1:0] sweep_set_q, sweep_set_d;
  mmu_pkg::inv_kind_e sweep_kind_q, sweep_kind_d;
  logic [15:0]        sweep_vpid_q, sweep_vpid_d;
  logic [11:0]        sweep_pcid_q, sweep_pcid_d;
  logic [VpnBits-1:0] sweep_vpn_q, sweep_vpn_d;
  logic [NumVpids*16-1:0] sweep_vpids_q, sweep_vpids_d;
  logic [NumVpids-1:0]    sweep_vpids_valid_q, sweep_vpids_valid_d;

  assign busy_o = probe_4k_q || probe_2m_q || sweep_q;

  // ---------------------------------------------------------------------------------------
  // The set on the SRAM outputs and its comparison.

  logic [SetBits-1:0]   set_4k, set_2m, cmp_set;
  logic [Ways*EntryBits-1:0] rdata;       // way w at w * EntryBits
  logic [Ways-1:0]      cmp_valid, match, inv_match;
  logic [WayBits-1:0]   win_way;
  /* verilator lint_off UNUSEDSIGNAL */
  entry_t               win;  // its VPID and VPN are the request's
  /* verilator lint_on UNUSEDSIGNAL */

  assign set_4k = (Sets > 1) ? SetBits'(key_vpn_q) : '0;
  assign set_2m = (Sets > 1) ? SetBits'(key_vpn_q >> 9) : '0;
  assign cmp_set = sweep_q ? sweep_set_q : probe_2m_q ? set_2m : set_4k;

  /* verilator lint_off UNUSEDSIGNAL */
  entry_t             e;           // the compared word of one way (its tag part)
  /* verilator lint_on UNUSEDSIGNAL */
  logic [VpnBits-1:0] guest_mask;  // its VPN bits INV_ADDR compares
  logic               listed;      // its VPID is in the sweep's list

  always_comb begin : compare
    e = '0;
    guest_mask = '0;
    listed = 1'b0;
    match = '0;
    inv_match = '0;
    for (int unsigned w = 0; w < Ways; w++) begin
      e = rdata[w * EntryBits +: EntryBits];
      match[w] = cmp_valid[w] && e.is_2m == probe_2m_q && e.vpid == key_vpid_q &&
                 (e.glob || e.pcid == key_pcid_q) &&
                 e.vpn == (probe_2m_q ? key_vpn_q & Vpn2mMask : key_vpn_q);
      guest_mask = e.gsize == 2'd1 ? GuestMask2m :
                   e.gsize == 2'd2 ? GuestMask1g : {VpnBits{1'b1}};
      listed = 1'b0;
      for (int unsigned k = 0; k < NumVpids; k++) begin
        listed = listed || (sweep_vpids_valid_q[k] && sweep_vpids_q[k * 16 +: 16] == e.vpid);
      end
      unique case (sweep_kind_q)
        mmu_pkg::InvByAddr: inv_match[w] = e.vpid == sweep_vpid_q &&
            (e.vpn & guest_mask) == (sweep_vpn_q & guest_mask);
        mmu_pkg::InvByPcid: inv_match[w] = e.vpid == sweep_vpid_q && e.pcid == sweep_pcid_q &&
            !e.glob;
        mmu_pkg::InvByVpids: inv_match[w] = listed;
        default: inv_match[w] = 1'b1;
      endcase
      inv_match[w] = inv_match[w] && cmp_valid[w] && sweep_q;
    end
  end

  // The lowest matching way (win_way, from the array).
  assign win = rdata[32'(win_way) * EntryBits +: EntryBits];

  // Per entry: valid and of size 2M (§9.2), kept in flip-flops beside the array's valid bits so
  // that the 4K cycle knows, without the SRAM, whether the 2M set of the VA can match: written
  // by a fill, cleared with the valid bit (a drop, a sweep, INV_ALL, reset).
  logic [Entries-1:0] valid_2m_q, valid_2m_d;
  logic               set_2m_holds_2m;

  assign set_2m_holds_2m = |valid_2m_q[32'(set_2m) * Ways +: Ways];

  // A 4K match decides in the 4K cycle, and so does a miss whose 2M set holds no 2M entry;
  // otherwise the 2M cycle decides.
  assign pr_match_o = |match;
  assign pr_done_o = (probe_4k_q && (|match || !set_2m_holds_2m)) || probe_2m_q;

  // A match is of the probed size (match above), so the size needs no way select (§12).
  assign rd_size_o = probe_2m_q ? mmu_pkg::Size2M : mmu_pkg::Size4K;
  assign rd_pcid_o = win.pcid;
  assign rd_global_o = win.glob;
  always_comb begin : gsize_out
    unique case (win.gsize)
      2'd1: rd_gsize_o = mmu_pkg::Size2M;
      2'd2: rd_gsize_o = mmu_pkg::Size1G;
      default: rd_gsize_o = mmu_pkg::Size4K;
    endcase
  end
  assign rd_frame_o = win.frame;
  assign rd_acc_o = win.acc;
  assign rd_ept_perm_o = win.ept_perm;
  assign rd_dirty_o = win.dirty;

  // ---------------------------------------------------------------------------------------
  // Valid and PLRU bits: the compared set is the array's lookup (touched or dropped when the
  // probe decides); a fill picks its victim there; a sweep clears the compared set's matches,
  // INV_ALL every entry.

  logic [SetBits-1:0]   fill_set;
  logic [IndexBits-1:0] fill_index;
  logic [WayBits-1:0]   fill_way;
  logic [Entries-1:0]   inv_mask;
  logic                 unused_hit;
  logic [Entries-1:0]   unused_all_valid;
  entry_t               fill_entry;

  assign fill_set = (Sets > 1) ? SetBits'(fill_vpn_i >> (fill_size_i == mmu_pkg::Size2M ? 9 : 0))
                               : '0;
  assign fill_way = WayBits'(32'(fill_index) % Ways);
  assign inv_mask = (inv_i && inv_kind_i == mmu_pkg::InvEvery) ? '1 :
                    Entries'(inv_match) << (32'(cmp_set) * Ways);

  mmu_sa_array #(.Sets(Sets), .Ways(Ways)) u_array (
    .clk_i,
    .rst_ni,
    .rd_i            (probe_4k_q || probe_2m_q || sweep_q),
    .rd_set_i        (cmp_set),
    .rd_valid_o      (cmp_valid),
    .rd_match_i      (match),
    .hit_o           (unused_hit),
    .hit_way_o       (win_way),
    .touch_i         (rd_touch_i),
    .drop_matching_i (rd_drop_i),
    .all_valid_o     (unused_all_valid),
    .fill_i,
    .fill_set_i      (fill_set),
    .fill_index_o    (fill_index),
    .inv_i           (inv_mask)
  );

  always_comb begin : fill_data
    fill_entry.vpid = fill_vpid_i;
    fill_entry.pcid = fill_pcid_i;
    fill_entry.glob = fill_global_i;
    fill_entry.is_2m = fill_size_i == mmu_pkg::Size2M;
    fill_entry.gsize = fill_gsize_i;
    fill_entry.vpn = fill_size_i == mmu_pkg::Size2M ? fill_vpn_i & Vpn2mMask : fill_vpn_i;
    fill_entry.frame = fill_size_i == mmu_pkg::Size2M ? fill_frame_i & ({FrameBits{1'b1}} << 9)
                                                      : fill_frame_i;
    fill_entry.acc = fill_acc_i;
    fill_entry.ept_perm = fill_ept_perm_i;
    fill_entry.dirty = fill_dirty_i;
  end

  // ---------------------------------------------------------------------------------------
  // The SRAMs: one address for all ways. At most one of fill, probe start, the 2M read and a
  // sweep read happens in a cycle (see the header).

  logic               sram_read;
  logic [SetBits-1:0] sram_addr;
  logic               sweep_start;

  // INV_ALL needs no sweep: it clears every valid bit at once.
  assign sweep_start = inv_i && inv_kind_i != mmu_pkg::InvEvery;

  always_comb begin : sram_port
    sram_read = 1'b1;
    sram_addr = '0;  // a sweep starts at set 0
    if (fill_i) begin
      sram_read = 1'b0;
      sram_addr = fill_set;
    end else if (pr_start_i) begin
      sram_addr = (Sets > 1) ? SetBits'(pr_vpn_i) : '0;
    end else if (probe_4k_q) begin
      sram_addr = set_2m;  // unused when the 4K set matched or holds no 2M entry
    end else if (sweep_q) begin
      sram_addr = sweep_set_q + SetBits'(1);
      sram_read = 32'(sweep_set_q) + 1 < Sets;
    end else if (!sweep_start) begin
      sram_read = 1'b0;
    end
  end

  for (genvar w = 0; w < Ways; w++) begin : gen_way
    mmu_sram_sp #(.Depth(Sets), .Width(EntryBits)) u_sram (
      .clk_i,
      .req_i   (sram_read || (fill_i && fill_way == WayBits'(w))),
      .we_i    (fill_i),
      .addr_i  (sram_addr),
      .wdata_i (fill_entry),
      .rdata_o (rdata[w * EntryBits +: EntryBits])
    );
  end

  // ---------------------------------------------------------------------------------------
  // Next state.

  always_comb begin : next_state
    probe_4k_d = pr_start_i;
    probe_2m_d = probe_4k_q && !(|match) && set_2m_holds_2m;
    valid_2m_d = valid_2m_q & ~inv_mask &
                 ~(rd_drop_i ? Entries'(match) << (32'(cmp_set) * Ways) : '0);
    if (fill_i) valid_2m_d[fill_index] = fill_size_i == mmu_pkg::Size2M;
    key_vpid_d = pr_start_i ? pr_vpid_i : key_vpid_q;
    key_pcid_d = pr_start_i ? pr_pcid_i : key_pcid_q;
    key_vpn_d = pr_start_i ? pr_vpn_i : key_vpn_q;
    sweep_d = sweep_start || (sweep_q && 32'(sweep_set_q) + 1 < Sets);
    sweep_set_d = sweep_q ? sweep_set_q + SetBits'(1) : '0;
    sweep_kind_d = sweep_kind_q;
    sweep_vpid_d = sweep_vpid_q;
    sweep_pcid_d = sweep_pcid_q;
    sweep_vpn_d = sweep_vpn_q;
    sweep_vpids_d = sweep_vpids_q;
    sweep_vpids_valid_d = sweep_vpids_valid_q;
    if (sweep_start) begin
      sweep_kind_d = inv_kind_i;
      sweep_vpid_d = inv_vpid_i;
      sweep_pcid_d = inv_pcid_i;
      sweep_vpn_d = inv_vpn_i;
      sweep_vpids_d = inv_vpids_i;
      sweep_vpids_valid_d = inv_vpids_valid_i;
    end
  end

  // Reset ends a probe or a sweep (the array clears the valid and PLRU bits); the SRAM words are
  // used only while valid.
  always_ff @(posedge clk_i) begin : regs
    if (!rst_ni) begin
      probe_4k_q <= 1'b0;
      probe_2m_q <= 1'b0;
      valid_2m_q <= '0;
      sweep_q <= 1'b0;
      sweep_set_q <= '0;
      sweep_kind_q <= mmu_pkg::InvEvery;
    end else begin
      probe_4k_q <= probe_4k_d;
      probe_2m_q <= probe_2m_d;
      valid_2m_q <= valid_2m_d;
      sweep_q <= sweep_d;
      sweep_set_q <= sweep_set_d;
      sweep_kind_q <= sweep_kind_d;
    end
  end

  always_ff @(posedge clk_i) begin : operand_regs
    key_vpid_q <= key_vpid_d;
    key_pcid_q <= key_pcid_d;
    key_vpn_q <= key_vpn_d;
    sweep_vpid_q <= sweep_vpid_d;
    sweep_pcid_q <= sweep_pcid_d;
    sweep_vpn_q <= sweep_vpn_d;
    sweep_vpids_q <= sweep_vpids_d;
    sweep_vpids_valid_q <= sweep_vpids_valid_d;
  end

  // The header's claims: one user of the SRAM port at a time, a touch or a drop only when the
  // probe decides with a match.
  logic [3:0] port_users;
  assign port_users = {fill_i, pr_start_i, probe_4k_q || probe_2m_q, sweep_q || sweep_start};

  always_comb begin : exclusive_check
    if (rst_ni) begin
      assert ((port_users & (port_users - 4'd1)) == 4'd0);
      assert (!(rd_touch_i || rd_drop_i) || (pr_done_o && pr_match_o));
      assert (!(rd_touch_i && rd_drop_i));
    end
  end

endmodule
