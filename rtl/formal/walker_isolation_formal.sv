// walker_isolation_formal: the formal harness for the DIRECT-mode isolation invariant (§8.3)
// on mmu_walker, in DIRECT and in DUAL_DIRECT mode (§18.3: the invariant holds for both; a
// DUAL_DIRECT walk inside the guest segment translates gVA + OFFSET, for any OFFSET, through the
// same bounds checker).
//
// The harness plays the rest of mmu_top around one walker, giving it the freedom the top's
// environment could give it:
//   - memory: mem_req_ready_i, mem_resp_valid_i and the entry read are free on every cycle;
//   - nested TLB: every answer (hit, host address, size, permission, dirty) is free, except
//     that in ANSWER (§12) it finds what it found in XLATE the cycle before, as mmu_top's
//     nested TLB and EPT PSC do (nothing writes them in between);
//   - EPT PSC (§10.3): hit, next EPT table and permission are free, the level one the EPT PSCs
//     have (2..NestedLevels); its entries point at EPT tables, outside the region by design, and
//     a nested translation's result is bounds-checked whatever the EPT walk read;
//   - PSC: hit, level, accumulated permissions and next-table address are free, except what the
//     spec guarantees about them: the level is one the PSCs have (2..GuestLevels) and, in DIRECT
//     mode, a hit points to a table inside [GBASE, GBASE + GSIZE). That is §8.3 part 3 used as
//     the induction hypothesis; part 3 is asserted below for every fill, and the flush on a write
//     of GBASE/GSIZE/MODE/ESCAPE (§3) is what carries it across register changes;
//   - the context registers (mode, CR3, EPTP, GBASE, GSIZE, A/D enables, escape list, the guest
//     segment's BASE, LIMIT, OFFSET and GESCAPE list) take free
//     values, but change only in a cycle where the walker is idle and no walk starts, as mmu_top
//     accepts control commands only then (§12) and latches the walk's slot at the start;
//   - requests (start_i and its payload) are free.
// Reset is applied in the first cycle and is free afterwards.
//
// Properties, checked on every cycle while the context is in DIRECT or DUAL_DIRECT mode (the
// names are the ones
// scripts/formal reports):
//   guest_op_in_region   §8.3.1  a GUEST-dimension memory operation presented on the port
//                                covers 8 bytes inside [GBASE, GBASE + GSIZE);
//   tlb_fill_in_region   §8.3.2  a TLB fill covers a page inside the region;
//   resp_in_region       §8.3.2  a successful response's page is inside the region;
//   psc_fill_in_region   §8.3.3  a PSC fill points to a table (4K page) inside the region;
// and three auxiliary invariants about the walker's registers, true on every reachable cycle,
// that make the four above provable by induction (they say where the next guest address comes
// from while it waits in a register):
//   inv_guest_addr       the GUEST operation held in the walker's memory registers (presented or
//                        already sent) is inside the region;
//   inv_leaf_addr        the address of the last guest entry read (used by the leaf and
//                        non-leaf A/D updates) is inside the region while it can still be used;
//   inv_result_page      the result held for the leaf A/D update and the TLB fill is inside it;
//   inv_span             GBASE and GSIZE registered in START are the context's while a walk runs;
//   inv_limit            the limit the bounds checker compares with (their sum, registered in
//                        the cycle after) is the region's end where a check can use it (ANSWER,
//                        and the EPT walk that may follow);
//   inv_segment          a guest segment translation (§18.2), after START, is in none of the
//                        guest-entry states, translates the final gPA, and its stand-in entry
//                        has A and D set (so it issues no guest A/D update): it emits no guest
//                        address, and inv_leaf_addr does not apply to it.
// Seven of the walker's internal signals (gpte_addr_q, nfinal_q, xr_final, span_q, limit,
// seg_q, gpte_ad_q) are not ports; scripts/formal connects the probe_* wires below to them after
// flattening (yosys `connect`).
module walker_isolation_formal #(
  parameter int unsigned GuestLevels = 4,
  parameter int unsigned NestedLevels = 4,
  parameter int unsigned PaBits = 46,
  parameter int unsigned EscapeEntries = 4,
  localparam int unsigned EscSlots = (EscapeEntries > 0) ? EscapeEntries : 1
) (
  input logic                              clk_i,
  input logic                              rst_ni,
  // Requests.
  input logic                              start_i,
  input logic [15:0]                       start_vpid_i,
  input logic [11:0]                       start_pcid_i,
  input logic [63:0]                       start_va_i,
  input mmu_pkg::access_e                  start_access_i,
  input logic                              start_user_i,
  // Context register values offered by the control port (taken only while idle).
  input logic [2:0]                        next_mode_i,
  input logic [PaBits-13:0]                next_cr3_i,
  input logic [PaBits-13:0]                next_ept_root_i,
  input logic                              next_ept_ad_i,
  input logic [1:0]                        next_ept_fmt_i,  // EPTP FMT (§21.1), any code
  input logic [PaBits-13:0]                next_gbase_i,   // GBASE[P-1:12]
  input logic [PaBits-12:0]                next_gsize_i,   // GSIZE[P:12]
  input logic                              next_guest_ad_i,
  input logic [EscSlots-1:0]               next_esc_valid_i,
  input logic [EscSlots*(PaBits-12)-1:0]   next_esc_page_i,
  input logic [63:0]                       next_gseg_base_i,
  input logic [63:0]                       next_gseg_limit_i,
  input logic [PaBits-13:0]                next_gseg_offset_i,  // OFFSET[P-1:12]
  input logic [EscSlots-1:0]               next_gesc_valid_i,
  input logic [EscSlots*52-1:0]            next_gesc_page_i,
  input logic [PaBits-13:0]                next_gcr3_i,         // AGILE's GCR3[P-1:12] (§20.1)
  input logic                              next_root_nested_i,  // and its bit 0
  // PSC answers.
  input logic                              psc_hit_i,
  input logic [2:0]                        psc_level_i,
  input logic [PaBits-1:0]                 psc_next_i,
  input mmu_pkg::guest_acc_t               psc_acc_i,
  input logic                              psc_nested_i,
  // Nested-TLB answers.
  input logic                              ntlb_match_i,
  input logic [PaBits-1:0]                 ntlb_hpa_i,
  input mmu_pkg::page_size_e               ntlb_size_i,
  input logic [2:0]                        ntlb_perm_i,
  input logic                              ntlb_dirty_i,
  // EPT PSC answers.
  input logic                              eptc_hit_i,
  input logic [2:0]                        eptc_level_i,
  input logic [PaBits-1:0]                 eptc_next_i,
  input logic [2:0]                        eptc_perm_i,
  // Memory.
  input logic                              mem_req_ready_i,
  input logic                              mem_resp_valid_i,
  input logic [63:0]                       mem_resp_rdata_i
);

  // ---------------------------------------------------------------------------------------
  // The context registers of the walk's slot, as mmu_ctx_regs keeps them (page numbers; the
  // low 12 bits of every address register read as zero).

  logic [2:0]                      mode_q;
  logic [PaBits-13:0]              cr3_q, ept_root_q, gbase_q;
  logic [PaBits-12:0]              gsize_q;
  logic                            ept_ad_q, guest_ad_q;
  logic [1:0]                      ept_fmt_q;
  logic [EscSlots-1:0]             esc_valid_q;
  logic [EscSlots*(PaBits-12)-1:0] esc_page_q;
  logic [63:0]                     gseg_base_q, gseg_limit_q;
  logic [PaBits-13:0]              gseg_offset_q;
  logic [EscSlots-1:0]             gesc_valid_q;
  logic [EscSlots*52-1:0]          gesc_page_q;
  logic [PaBits-13:0]              gcr3_q;
  logic                            root_nested_q;

  mmu_pkg::walk_state_e state;
  logic                 ctx_may_change;
  assign ctx_may_change = state == mmu_pkg::WalkIdle && !start_i;

  // Initial values are free (no reset): the proof starts from any context.
  always_ff @(posedge clk_i) begin : ctx_regs
    if (ctx_may_change) begin
      mode_q <= next_mode_i;
      cr3_q <= next_cr3_i;
      ept_root_q <= next_ept_root_i;
      ept_ad_q <= next_ept_ad_i;
      ept_fmt_q <= next_ept_fmt_i;
      gbase_q <= next_gbase_i;
      gsize_q <= next_gsize_i;
      guest_ad_q <= next_guest_ad_i;
      esc_valid_q <= next_esc_valid_i;
      esc_page_q <= next_esc_page_i;
      gseg_base_q <= next_gseg_base_i;
      gseg_limit_q <= next_gseg_limit_i;
      gseg_offset_q <= next_gseg_offset_i;
      gesc_valid_q <= next_gesc_valid_i;
      gesc_page_q <= next_gesc_page_i;
      gcr3_q <= next_gcr3_i;
      root_nested_q <= next_root_nested_i;
    end
  end

  // ---------------------------------------------------------------------------------------
  // The walker, with every output connected; only those the properties name are checked.

  /* verilator lint_off UNUSEDSIGNAL */
  logic [15:0]                     walk_vpid;
  logic [11:0]                     walk_pcid;
  logic [63:0]                     walk_va;
  logic                            psc_touch, psc_fill;
  logic [2:0]                      psc_fill_level;
  logic [PaBits-1:0]               psc_fill_next;
  mmu_pkg::guest_acc_t             psc_fill_acc;
  logic                            psc_fill_nested;
  logic                            ntlb_lk_valid, ntlb_touch, ntlb_inv_matching, ntlb_fill;
  logic [PaBits-1:0]               ntlb_lk_gpa, ntlb_fill_gpa, ntlb_fill_hpa;
  mmu_pkg::page_size_e             ntlb_fill_size;
  logic [2:0]                      ntlb_fill_perm;
  logic                            ntlb_fill_dirty;
  logic                            eptc_touch, eptc_fill;
  logic [2:0]                      eptc_fill_level, eptc_fill_perm;
  logic [PaBits-1:0]               eptc_fill_next;
  logic                            tlb_fill, tlb_fill_global, tlb_fill_dirty;
  mmu_pkg::page_size_e             tlb_fill_size, tlb_fill_gsize;
  logic [PaBits-1:0]               tlb_fill_hpa;
  mmu_pkg::guest_acc_t             tlb_fill_acc;
  logic [2:0]                      tlb_fill_ept_perm;
  logic                            mem_req_valid, mem_resp_ready;
  logic [PaBits-1:0]               mem_req_addr;
  mmu_pkg::mem_op_e                mem_req_op;
  logic [1:0]                      mem_req_ad;
  mmu_pkg::dim_e                   mem_req_dim;
  logic [2:0]                      mem_req_level;
  logic                            resp_valid;
  mmu_pkg::resp_t                  resp;
  logic [mmu_pkg::NumCounters-1:0] ctr_inc;
  /* verilator lint_on UNUSEDSIGNAL */

  mmu_walker #(
    .GuestLevels(GuestLevels), .NestedLevels(NestedLevels), .PaBits(PaBits),
    .EscapeEntries(EscapeEntries)
  ) u_walker (
    .clk_i               (clk_i),
    .rst_ni              (rst_ni),
    .start_i             (start_i),
    .start_vpid_i        (start_vpid_i),
    .start_pcid_i        (start_pcid_i),
    .start_va_i          (start_va_i),
    .start_access_i      (start_access_i),
    .start_user_i        (start_user_i),
    .state_o             (state),
    .walk_vpid_o         (walk_vpid),
    .walk_pcid_o         (walk_pcid),
    .walk_va_o           (walk_va),
    .ctx_mode_i          (mode_q),
    .ctx_cr3_i           ({cr3_q, 12'h000}),
    .ctx_ept_root_i      ({ept_root_q, 12'h000}),
    .ctx_ept_ad_i        (ept_ad_q),
    .ctx_ept_fmt_i       (ept_fmt_q),
    .ctx_gbase_i         ({gbase_q, 12'h000}),
    .ctx_gsize_i         ({gsize_q, 12'h000}),
    .ctx_guest_ad_i      (guest_ad_q),
    .ctx_esc_valid_i     (esc_valid_q),
    .ctx_esc_page_i      (esc_page_q),
    .ctx_gseg_base_i     (gseg_base_q),
    .ctx_gseg_limit_i    (gseg_limit_q),
    .ctx_gseg_offset_i   ({gseg_offset_q, 12'h000}),
    .ctx_gesc_valid_i    (gesc_valid_q),
    .ctx_gesc_page_i     (gesc_page_q),
    .ctx_gcr3_i          ({gcr3_q, 12'h000}),
    .ctx_root_nested_i   (root_nested_q),
    .psc_hit_i           (psc_hit_i),
    .psc_level_i         (psc_level_i),
    .psc_next_i          (psc_next_i),
    .psc_acc_i           (psc_acc_i),
    .psc_nested_i        (psc_nested_i),
    .psc_touch_o         (psc_touch),
    .psc_fill_o          (psc_fill),
    .psc_fill_level_o    (psc_fill_level),
    .psc_fill_next_o     (psc_fill_next),
    .psc_fill_acc_o      (psc_fill_acc),
    .psc_fill_nested_o   (psc_fill_nested),
    .ntlb_lk_valid_o     (ntlb_lk_valid),
    .ntlb_lk_gpa_o       (ntlb_lk_gpa),
    .ntlb_match_i        (ntlb_match_i),
    .ntlb_hpa_i          (ntlb_hpa_i),
    .ntlb_size_i         (ntlb_size_i),
    .ntlb_perm_i         (ntlb_perm_i),
    .ntlb_dirty_i        (ntlb_dirty_i),
    .ntlb_touch_o        (ntlb_touch),
    .ntlb_inv_matching_o (ntlb_inv_matching),
    .ntlb_fill_o         (ntlb_fill),
    .ntlb_fill_gpa_o     (ntlb_fill_gpa),
    .ntlb_fill_size_o    (ntlb_fill_size),
    .ntlb_fill_hpa_o     (ntlb_fill_hpa),
    .ntlb_fill_perm_o    (ntlb_fill_perm),
    .ntlb_fill_dirty_o   (ntlb_fill_dirty),
    .eptc_hit_i          (eptc_hit_i),
    .eptc_level_i        (eptc_level_i),
    .eptc_next_i         (eptc_next_i),
    .eptc_perm_i         (eptc_perm_i),
    .eptc_touch_o        (eptc_touch),
    .eptc_fill_o         (eptc_fill),
    .eptc_fill_level_o   (eptc_fill_level),
    .eptc_fill_next_o    (eptc_fill_next),
    .eptc_fill_perm_o    (eptc_fill_perm),
    .tlb_fill_o          (tlb_fill),
    .tlb_fill_size_o     (tlb_fill_size),
    .tlb_fill_gsize_o    (tlb_fill_gsize),
    .tlb_fill_hpa_o      (tlb_fill_hpa),
    .tlb_fill_global_o   (tlb_fill_global),
    .tlb_fill_acc_o      (tlb_fill_acc),
    .tlb_fill_ept_perm_o (tlb_fill_ept_perm),
    .tlb_fill_dirty_o    (tlb_fill_dirty),
    .mem_req_valid_o     (mem_req_valid),
    .mem_req_ready_i     (mem_req_ready_i),
    .mem_req_addr_o      (mem_req_addr),
    .mem_req_op_o        (mem_req_op),
    .mem_req_ad_o        (mem_req_ad),
    .mem_req_dim_o       (mem_req_dim),
    .mem_req_level_o     (mem_req_level),
    .mem_resp_valid_i    (mem_resp_valid_i),
    .mem_resp_ready_o    (mem_resp_ready),
    .mem_resp_rdata_i    (mem_resp_rdata_i),
    .resp_valid_o        (resp_valid),
    .resp_o              (resp),
    .ctr_inc_o           (ctr_inc)
  );

`ifdef FORMAL
  // ---------------------------------------------------------------------------------------
  // The region and the reference range check, in 64-bit arithmetic (no overflow for P <= 52).

  logic [63:0] region_lo, region_hi;
  assign region_lo = 64'({gbase_q, 12'h000});
  assign region_hi = region_lo + 64'({gsize_q, 12'h000});

  // [lo, lo + n) lies inside [GBASE, GBASE + GSIZE).
  function automatic logic within_region(logic [63:0] lo, logic [63:0] n, logic [63:0] base,
                                         logic [63:0] limit);
    within_region = base <= lo && lo + n <= limit;
  endfunction

  // The page of the given size that contains hpa.
  function automatic logic [63:0] page_of(logic [PaBits-1:0] hpa, mmu_pkg::page_size_e size);
    page_of = 64'(hpa) & ~(mmu_pkg::page_bytes(size) - 64'd1);
  endfunction

  // The modes the invariant covers (§8.3, §18.3).
  logic direct;
  assign direct = mode_q == mmu_pkg::ModeDirect || mode_q == mmu_pkg::ModeDualDirect;

  // Driven by scripts/formal from u_walker.gpte_addr_q and u_walker.nfinal_q (see the header).
  /* verilator lint_off UNDRIVEN */
  logic [PaBits-1:0] probe_gpte_addr;
  logic              probe_nfinal;
  logic              probe_xfinal;  // u_walker.xr_final: XLATE / ANSWER translate the final gPA
  logic [2*PaBits-24:0] probe_span;  // u_walker.span_q: {GBASE, GSIZE} page numbers, from START
  logic [PaBits+1:0] probe_limit;  // u_walker.limit: their sum, registered (in halves) the cycle after
  logic              probe_seg;    // u_walker.seg_q: the walk is a guest segment translation
  logic [1:0]        probe_seg_ad;  // u_walker.gpte_ad_q: {D, A} of its (stand-in) guest entry
  /* verilator lint_on UNDRIVEN */

  // The nested-TLB and EPT PSC answers of the cycle before (the environment's ANSWER rule).
  logic       prev_ntlb_match, prev_eptc_hit;
  logic [2:0] prev_eptc_level;
  always_ff @(posedge clk_i) begin : previous_answer
    prev_ntlb_match <= ntlb_match_i;
    prev_eptc_hit <= eptc_hit_i;
    prev_eptc_level <= eptc_level_i;
  end

  logic initialized = 1'b0;
  always_ff @(posedge clk_i) initialized <= 1'b1;

  logic in_mem_state, nested_state;
  assign in_mem_state = state == mmu_pkg::WalkGuestRead || state == mmu_pkg::WalkGuestAdTable ||
                        state == mmu_pkg::WalkNestedRead || state == mmu_pkg::WalkNestedAd ||
                        state == mmu_pkg::WalkGuestAdLeaf;
  assign nested_state = state == mmu_pkg::WalkNestedRead || state == mmu_pkg::WalkNestedAd;

  always_comb begin : environment
    if (!initialized) assume (!rst_ni);
    // The PSCs exist for levels 2..GuestLevels only (§10.1).
    if (psc_hit_i) assume (psc_level_i >= 3'd2 && 32'(psc_level_i) <= 32'(GuestLevels));
    if (eptc_hit_i) assume (eptc_level_i >= 3'd2 && 32'(eptc_level_i) <= 32'(NestedLevels));
    // ... and a flattened format uses level 2 only (FLAT2) or none (FLAT1, §21.5).
    if (eptc_hit_i && ept_fmt_q == 2'(mmu_pkg::EptFmtFlat2)) assume (eptc_level_i == 3'd2);
    if (ept_fmt_q == 2'(mmu_pkg::EptFmtFlat1)) assume (!eptc_hit_i);
    // ANSWER looks the gPA of XLATE up again (§12) and finds what XLATE found.
    if (state == mmu_pkg::WalkXlateAnswer)
      assume (ntlb_match_i == prev_ntlb_match && eptc_hit_i == prev_eptc_hit &&
              (!eptc_hit_i || eptc_level_i == prev_eptc_level));
    // §8.3 part 3 as the induction hypothesis: a PSC entry of a DIRECT context points inside.
    if (direct && psc_hit_i)
      assume (within_region(page_of(psc_next_i, mmu_pkg::Size4K), 64'd4096, region_lo, region_hi));
  end

  always_comb begin : isolation
    if (initialized && rst_ni && direct) begin
      // §8.3 part 1.
      if (mem_req_valid && mem_req_dim == mmu_pkg::DimGuest)
        guest_op_in_region: assert (within_region(64'(mem_req_addr), 64'd8, region_lo, region_hi));
      // §8.3 part 2.
      if (tlb_fill)
        tlb_fill_in_region: assert (within_region(page_of(tlb_fill_hpa, tlb_fill_size),
                                           mmu_pkg::page_bytes(tlb_fill_size), region_lo, region_hi));
      if (resp_valid && resp.fault == mmu_pkg::FaultNone)
        resp_in_region: assert (within_region(page_of(resp.hpa[PaBits-1:0], resp.size),
                                       mmu_pkg::page_bytes(resp.size), region_lo, region_hi));
      // §8.3 part 3.
      if (psc_fill)
        psc_fill_in_region: assert (within_region(page_of(psc_fill_next, mmu_pkg::Size4K), 64'd4096,
                                           region_lo, region_hi));
    end
  end

  always_comb begin : invariants
    if (initialized && direct) begin
      if (in_mem_state && mem_req_dim == mmu_pkg::DimGuest)
        inv_guest_addr: assert (within_region(64'(mem_req_addr), 64'd8, region_lo, region_hi));
      if (!probe_seg &&
          (state == mmu_pkg::WalkGuestRead || state == mmu_pkg::WalkGuestAdTable ||
           state == mmu_pkg::WalkGuestAdLeaf || (nested_state && probe_nfinal) ||
           ((state == mmu_pkg::WalkXlate || state == mmu_pkg::WalkXlateAnswer) && probe_xfinal)))
        inv_leaf_addr: assert (within_region(64'(probe_gpte_addr), 64'd8, region_lo, region_hi));
      // The bounds checker compares with GBASE + GSIZE, summed from the copies registered in
      // START (§12): during a walk they are the context's (fixed while the walker is busy), and
      // from the second cycle after START on (ANSWER and an EPT walk come later) the sum is the
      // region's end.
      if (state != mmu_pkg::WalkIdle && state != mmu_pkg::WalkStart)
        inv_span: assert (probe_span == {gbase_q, gsize_q});
      if (state == mmu_pkg::WalkXlateAnswer || nested_state)
        inv_limit: assert (64'(probe_limit) == region_hi);
      // §18.2: a segment translation has no guest entry: it reads none, updates none (its
      // stand-in has A and D set) and translates only the final gPA.
      if (probe_seg && state != mmu_pkg::WalkIdle && state != mmu_pkg::WalkStart)
        inv_segment: assert (state != mmu_pkg::WalkGuestRead &&
                             state != mmu_pkg::WalkGuestAdTable &&
                             state != mmu_pkg::WalkGuestAdLeaf && probe_seg_ad == 2'b11 &&
                             (!(state == mmu_pkg::WalkXlate ||
                                state == mmu_pkg::WalkXlateAnswer) || probe_xfinal) &&
                             (!nested_state || probe_nfinal));
      if (state == mmu_pkg::WalkGuestAdLeaf)
        inv_result_page: assert (within_region(page_of(tlb_fill_hpa, tlb_fill_size),
                                        mmu_pkg::page_bytes(tlb_fill_size), region_lo, region_hi));
    end
  end
`endif

endmodule
