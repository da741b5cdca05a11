// stlb_isolation_formal: the formal harness for the STLB part of the DIRECT-mode isolation
// invariant (§8.3 part 2, §9.2): an STLB entry used in DIRECT mode lies inside the VM's region.
//
// One mmu_stlb (2 sets x 2 ways, PaBits 32: rtl/formal/README.md says why that stands for every
// size) with every input free, except for what mmu_top and the other proofs guarantee. The
// harness follows one VPID, `tv` (any value, fixed after reset), and a stamp of what the slot in
// force for it says (§3): `direct_q` (its MODE is DIRECT) and its region [lo_q, hi_q). The stamp
// takes any value at reset and may change, to any value, only in a cycle in which an
// invalidation that removes tv's entries reaches the STLB (INV_ALL, or a VPID list holding tv:
// INV_VPID, INV_EPTP, the implicit flush of a register write). Assumptions:
//   A1 stamp   the slot in force for a VPID, and that slot's MODE, GBASE and GSIZE, change only
//              with an implicit flush of the VPID in the write's cycle (the ctx proof,
//              ctx_regs_isolation_formal.sv, unbounded; mmu_top passes that flush to the STLB
//              as an InvByVpids invalidation in the same cycle);
//   A2 fill    a fill for tv while the stamp says DIRECT covers a page inside the region (the
//              walker proof's tlb_fill_in_region, unbounded: the walk's registers are those of
//              the slot in force, which cannot change during a walk; mmu_top fills the STLB with
//              the walk's TLB fill, frame, size and VPID, unless it is 1G; any size other than
//              2M is stored as 4K, a 4K page inside the filled page);
//   A3 ports   mmu_stlb's header protocol: no probe start, fill or invalidation while busy_o (a
//              probe or a sweep runs), and at most one of the three in a cycle (mmu_top accepts
//              a request or a control command only while the walker is IDLE and the STLB not
//              busy, gives the command priority, and fills only in the walker's DONE cycle; the
//              module's own immediate assertion checks the same in simulation and in the top
//              check), and a touch or a drop only in a deciding cycle with a match, not both.
// Property (name as scripts/formal reports it):
//   stlb_hit_in_region  §8.3.2/§9.2  a probe for tv that decides with a match while the stamp
//                                    says DIRECT returns an entry whose page (frame and size,
//                                    as mmu_top answers and refills the first level from it)
//                                    lies inside the region.
// Values are reduced as in top_isolation_formal.sv: VPIDs and PCIDs 0 or 1 (compared for equality
// only), VPNs free in bits 0-3, 9-12 and 18-21 (the STLB uses a VPN only through equality under
// its 4K, 2M and 1G masks and through its set bit: eight values per level and set bit give every
// pattern of the six VPNs its state holds at once). Frames and the region are free.
// Auxiliary invariants (inv_*: every valid entry of tv inside the region unless a running sweep
// will remove it; the SRAM read registers hold the words of the set compared; the probe's key is
// the VPID probed) make it 1-inductive: proved unbounded by yosys-smtbmc/z3 (scripts/formal).
module stlb_isolation_formal #(
  // The probes below read the 2 x 2 entries of this size (scripts/formal connects them).
  localparam int unsigned Sets = 2,
  localparam int unsigned Ways = 2,
  parameter int unsigned GuestLevels = 4,
  parameter int unsigned PaBits = 32,
  parameter int unsigned NumVpids = 2,
  localparam int unsigned VpnBits = 9 * GuestLevels
) (
  input logic                      clk_i,
  input logic                      rst_ni,
  input logic                      pr_start_i,
  input logic [15:0]               pr_vpid_i,
  input logic [11:0]               pr_pcid_i,
  input logic [VpnBits-1:0]        pr_vpn_i,
  input logic                      rd_touch_i,
  input logic                      rd_drop_i,
  input logic                      fill_i,
  input logic [15:0]               fill_vpid_i,
  input logic [11:0]               fill_pcid_i,
  input logic [VpnBits-1:0]        fill_vpn_i,
  input mmu_pkg::page_size_e       fill_size_i,
  input mmu_pkg::page_size_e       fill_gsize_i,
  input logic [PaBits-13:0]        fill_frame_i,
  input logic                      fill_global_i,
  input mmu_pkg::guest_acc_t       fill_acc_i,
  input logic [2:0]                fill_ept_perm_i,
  input logic                      fill_dirty_i,
  input logic                      inv_i,
  input mmu_pkg::inv_kind_e        inv_kind_i,
  input logic [15:0]               inv_vpid_i,
  input logic [11:0]               inv_pcid_i,
  input logic [VpnBits-1:0]        inv_vpn_i,
  input logic [NumVpids*16-1:0]    inv_vpids_i,
  input logic [NumVpids-1:0]       inv_vpids_valid_i,
  // The followed VPID and the stamp's new value (taken at reset and with a covering flush).
  input logic [15:0]               tv_i,
  input logic                      direct_i,
  input logic [PaBits:0]           lo_i,
  input logic [PaBits:0]           hi_i
);

  /* verilator lint_off UNUSEDSIGNAL */
  logic                      busy, pr_done, pr_match, rd_global, rd_dirty;
  mmu_pkg::page_size_e       rd_size, rd_gsize;
  logic [11:0]               rd_pcid;
  logic [PaBits-13:0]        rd_frame;
  mmu_pkg::guest_acc_t       rd_acc;
  logic [2:0]                rd_ept_perm;
  /* verilator lint_on UNUSEDSIGNAL */

  // The environment's reductions of values (see the header): VPIDs and PCIDs 0 or 1, VPNs free
  // in the bits that decide a set, a 4K page within its 2M page, a 2M page within its 1G page,
  // and a 1G page.
  localparam logic [VpnBits-1:0] VpnFree = VpnBits'(36'h0_003c_1e0f);  // bits 0-3, 9-12, 18-21
  logic [15:0] pr_vpid, fill_vpid, inv_vpid;
  logic [11:0] pr_pcid, fill_pcid, inv_pcid;
  logic [VpnBits-1:0] pr_vpn, fill_vpn, inv_vpn;
  logic [NumVpids*16-1:0] inv_vpids;
  assign pr_vpid = {15'd0, pr_vpid_i[0]};
  assign fill_vpid = {15'd0, fill_vpid_i[0]};
  assign inv_vpid = {15'd0, inv_vpid_i[0]};
  assign pr_pcid = {11'd0, pr_pcid_i[0]};
  assign fill_pcid = {11'd0, fill_pcid_i[0]};
  assign inv_pcid = {11'd0, inv_pcid_i[0]};
  assign pr_vpn = pr_vpn_i & VpnFree;
  assign fill_vpn = fill_vpn_i & VpnFree;
  assign inv_vpn = inv_vpn_i & VpnFree;
  always_comb begin : reduce_list
    for (int unsigned k = 0; k < NumVpids; k++) begin
      inv_vpids[k * 16 +: 16] = {15'd0, inv_vpids_i[k * 16]};
    end
  end

  mmu_stlb #(
    .Sets(Sets), .Ways(Ways), .GuestLevels(GuestLevels), .PaBits(PaBits), .NumVpids(NumVpids)
  ) u_stlb (
    .clk_i,
    .rst_ni,
    .pr_start_i,
    .pr_vpid_i         (pr_vpid),
    .pr_pcid_i         (pr_pcid),
    .pr_vpn_i          (pr_vpn),
    .busy_o            (busy),
    .pr_done_o         (pr_done),
    .pr_match_o        (pr_match),
    .rd_size_o         (rd_size),
    .rd_pcid_o         (rd_pcid),
    .rd_global_o       (rd_global),
    .rd_gsize_o        (rd_gsize),
    .rd_frame_o        (rd_frame),
    .rd_acc_o          (rd_acc),
    .rd_ept_perm_o     (rd_ept_perm),
    .rd_dirty_o        (rd_dirty),
    .rd_touch_i,
    .rd_drop_i,
    .fill_i,
    .fill_vpid_i       (fill_vpid),
    .fill_pcid_i       (fill_pcid),
    .fill_vpn_i        (fill_vpn),
    .fill_size_i,
    .fill_gsize_i,
    .fill_frame_i,
    .fill_global_i,
    .fill_acc_i,
    .fill_ept_perm_i,
    .fill_dirty_i,
    .inv_i,
    .inv_kind_i,
    .inv_vpid_i        (inv_vpid),
    .inv_pcid_i        (inv_pcid),
    .inv_vpn_i         (inv_vpn),
    .inv_vpids_i       (inv_vpids),
    .inv_vpids_valid_i
  );

`ifdef FORMAL
  logic initialized = 1'b0;
  always_ff @(posedge clk_i) initialized <= 1'b1;

  // The followed VPID and the stamp of its slot in force.
  logic [15:0]     tv_q;
  logic            direct_q;
  logic [PaBits:0] lo_q, hi_q;
  logic            covers;  // an invalidation removing tv's entries reaches the STLB now

  always_comb begin : covering
    covers = inv_i && inv_kind_i == mmu_pkg::InvEvery;
    for (int unsigned k = 0; k < NumVpids; k++) begin
      if (inv_i && inv_kind_i == mmu_pkg::InvByVpids && inv_vpids_valid_i[k] &&
          inv_vpids[k * 16 +: 16] == tv_q)
        covers = 1'b1;
    end
  end

  always_ff @(posedge clk_i) begin : stamp
    if (!initialized) tv_q <= {15'd0, tv_i[0]};
    if (!initialized || !rst_ni || covers) begin
      direct_q <= direct_i;
      lo_q <= lo_i;
      hi_q <= hi_i;
    end
  end

  // The VPID of the probe that runs (the request mmu_top holds).
  logic [15:0] probe_vpid_q;
  always_ff @(posedge clk_i) begin : probe_key
    if (pr_start_i) probe_vpid_q <= pr_vpid;
  end

  // The page [frame & ~(size-1), + size) lies in [lo_q, hi_q).
  function automatic logic in_region(logic [PaBits-13:0] frame, mmu_pkg::page_size_e size,
                                     logic [PaBits:0] lo, logic [PaBits:0] hi);
    logic [63:0] page;
    page = 64'({frame, 12'h000}) & ~(mmu_pkg::page_bytes(size) - 64'd1);
    in_region = 64'(lo) <= page && page + mmu_pkg::page_bytes(size) <= 64'(hi);
  endfunction

  always_comb begin : environment
    if (!initialized) assume (!rst_ni);
    if (rst_ni) begin
      // A3: mmu_stlb's header protocol, as mmu_top keeps it.
      assume (!busy || !(pr_start_i || fill_i || inv_i));
      assume (!(pr_start_i && fill_i) && !(inv_i && (fill_i || pr_start_i)));
      assume (!(rd_touch_i || rd_drop_i) || (pr_done && pr_match));
      assume (!(rd_touch_i && rd_drop_i));
      // A2: fills are the walker's entries, inside the region in DIRECT mode.
      if (fill_i && direct_q && fill_vpid == tv_q)
        assume (in_region(fill_frame_i, fill_size_i, lo_q, hi_q));
    end
  end

  // ---------------------------------------------------------------------------------------
  // Probes of mmu_stlb's state (scripts/formal connects them after flattening and mapping the
  // SRAMs to flops): the SRAM words (way w, set s: entry_t of mmu_stlb), the SRAMs' read
  // registers, the valid bits (index s * Ways + w) and the probe and sweep registers.
  localparam int unsigned EntryBits = 16 + 12 + 1 + 1 + 2 + VpnBits + (PaBits - 12) + 3 + 3 + 1;
  logic [EntryBits-1:0]   probe_mem_w0s0, probe_mem_w0s1, probe_mem_w1s0, probe_mem_w1s1;
  logic [EntryBits-1:0]   probe_rdata_w0, probe_rdata_w1;
  logic [Sets*Ways-1:0]   probe_valid;
  logic                   probe_probe_4k, probe_probe_2m, probe_sweep;
  logic                   probe_sweep_set;
  mmu_pkg::inv_kind_e     probe_sweep_kind;
  logic [NumVpids*16-1:0] probe_sweep_vpids;
  logic [NumVpids-1:0]    probe_sweep_vpids_valid;
  logic [15:0]            probe_key_vpid;
  logic [VpnBits-1:0]     probe_key_vpn;

  // Fields of an entry word (entry_t: vpid, pcid, glob, is_2m, gsize, vpn, frame, acc,
  // ept_perm, dirty from the most significant bit).
  function automatic logic [15:0] word_vpid(logic [EntryBits-1:0] word);
    word_vpid = word[EntryBits-1 -: 16];
  endfunction
  function automatic mmu_pkg::page_size_e word_size(logic [EntryBits-1:0] word);
    word_size = word[EntryBits-30] ? mmu_pkg::Size2M : mmu_pkg::Size4K;
  endfunction
  function automatic logic [PaBits-13:0] word_frame(logic [EntryBits-1:0] word);
    word_frame = word[7 +: PaBits - 12];
  endfunction

  // The running sweep removes tv's entries (an InvByVpids list holding tv).
  logic sweep_lists_tv;
  always_comb begin : sweep_listing
    sweep_lists_tv = 1'b0;
    for (int unsigned k = 0; k < NumVpids; k++) begin
      if (probe_sweep_vpids_valid[k] && probe_sweep_vpids[k * 16 +: 16] == tv_q)
        sweep_lists_tv = 1'b1;
    end
    sweep_lists_tv = sweep_lists_tv && probe_sweep_kind == mmu_pkg::InvByVpids;
  end
  // Set s of the running sweep is still to come (it lists tv, and has not passed s).
  logic [Sets-1:0] pending;
  assign pending = {probe_sweep && sweep_lists_tv,
                    probe_sweep && sweep_lists_tv && !probe_sweep_set};

  // Entry word `word` is the region's: valid, of tv, while the stamp says DIRECT and no running
  // sweep will remove it, it covers a page inside the region.
  function automatic logic entry_ok(logic valid, logic pend, logic [EntryBits-1:0] word,
                                    logic [15:0] tv, logic direct, logic [PaBits:0] lo,
                                    logic [PaBits:0] hi);
    entry_ok = !(valid && word_vpid(word) == tv && direct && !pend) ||
               in_region(word_frame(word), word_size(word), lo, hi);
  endfunction

  logic probing, cmp_set;
  logic [EntryBits-1:0] cmp_w0, cmp_w1;  // the words of the set the SRAMs were last asked for
  assign probing = probe_probe_4k || probe_probe_2m;
  assign cmp_set = probe_sweep ? probe_sweep_set : probe_probe_2m ? probe_key_vpn[9] :
                   probe_key_vpn[0];
  assign cmp_w0 = cmp_set ? probe_mem_w0s1 : probe_mem_w0s0;
  assign cmp_w1 = cmp_set ? probe_mem_w1s1 : probe_mem_w1s0;

`ifdef STLB_HIT_WITNESS
  // The non-vacuity witness (scripts/formal, stlb_hit_direct_reached): a run in which a probe for
  // tv hits while the stamp says DIRECT, after the stamp changed once (so a flush was met), must
  // exist under the assumptions above. Its label is on a line of its own so that scripts/formal
  // does not list it among the properties.
  logic stamp_changed_q;
  always_ff @(posedge clk_i) begin : changed
    if (!initialized || !rst_ni) stamp_changed_q <= 1'b0;
    else if (covers) stamp_changed_q <= 1'b1;
  end
  always_comb begin : witness
    if (initialized && rst_ni)
      stlb_hit_direct_reached:
        assert (!(pr_done && pr_match && direct_q && probe_vpid_q == tv_q && stamp_changed_q));
  end
`else
  always_comb begin : isolation
    if (initialized && rst_ni) begin
      if (pr_done && pr_match && direct_q && probe_vpid_q == tv_q)
        stlb_hit_in_region: assert (in_region(rd_frame, rd_size, lo_q, hi_q));
`ifndef STLB_NO_AUX
      // Auxiliary invariants that make the property inductive (1-induction). A mutation run
      // leaves them out (scripts/formal), so that the counterexample it shows is the property's.
      inv_entries: assert (
          entry_ok(probe_valid[0], pending[0], probe_mem_w0s0, tv_q, direct_q, lo_q, hi_q) &&
          entry_ok(probe_valid[1], pending[0], probe_mem_w1s0, tv_q, direct_q, lo_q, hi_q) &&
          entry_ok(probe_valid[2], pending[1], probe_mem_w0s1, tv_q, direct_q, lo_q, hi_q) &&
          entry_ok(probe_valid[3], pending[1], probe_mem_w1s1, tv_q, direct_q, lo_q, hi_q));
      inv_read: assert (!(probing || probe_sweep) ||
                        (probe_rdata_w0 == cmp_w0 && probe_rdata_w1 == cmp_w1));
      inv_probe: assert (!(probe_probe_4k && probe_probe_2m) && !(probing && probe_sweep) &&
                         (!probing || probe_key_vpid == probe_vpid_q));
`endif
    end
  end
`endif
`endif

endmodule
