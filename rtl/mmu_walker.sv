// mmu_walker: the page walker of §5, one FSM for NATIVE, NESTED, SHADOW and DIRECT walks.
//
// A walk is a sequence of memory operations (guest reads, EPT reads, A/D FETCH_ORs) and the
// walker decides the next one in the cycle the previous response arrives (§12): probes of the
// PSC (START only), the nested TLB and the EPT PSC (§10.3), the permission and reserved-bit
// checks, the base-offset addition, the escape filter and the bounds check are all
// combinational. The decision logic is written as three steps so that the nested-TLB and EPT PSC
// probes sit between them without a loop:
//   1. `translate_request`: which gPA, if any, is translated this cycle (a guest table pointer
//      or the final gPA), and whether it goes through the EPT;
//   2. the nested TLB and the EPT PSC (outside) answer for that gPA;
//   3. `decide`: everything else - faults, the next operation, cache fills, the response.
// The walker presents its response for one cycle (resp_valid_o) in the decision cycle; the top
// registers it, so it is visible in the DONE cycle, when the TLB is filled.
module mmu_walker #(
  parameter int unsigned GuestLevels = 4,
  parameter int unsigned NestedLevels = 4,
  parameter int unsigned PaBits = 46,
  parameter int unsigned EscapeEntries = 4,
  // Escape vectors keep one (never valid) slot when EscapeEntries = 0.
  localparam int unsigned EscSlots = (EscapeEntries > 0) ? EscapeEntries : 1
) (
  input  logic                                  clk_i,
  input  logic                                  rst_ni,
  // Start of a walk (a TLB miss, accepted by the top while the walker is idle).
  input  logic                                  start_i,
  input  logic [15:0]                           start_vpid_i,
  input  logic [11:0]                           start_pcid_i,
  input  logic [63:0]                           start_va_i,
  input  mmu_pkg::access_e                      start_access_i,
  input  logic                                  start_user_i,
  output mmu_pkg::walk_state_e                  state_o,
  // The request being walked (for the PSC and TLB tags).
  output logic [15:0]                           walk_vpid_o,
  output logic [11:0]                           walk_pcid_o,
  output logic [63:0]                           walk_va_o,
  // Context of the walk (stable while the walker is busy).
  input  logic [1:0]                            ctx_mode_i,  // mode_e
  input  logic [PaBits-1:0]                     ctx_cr3_i,
  input  logic [PaBits-1:0]                     ctx_ept_root_i,
  input  logic                                  ctx_ept_ad_i,
  input  logic [PaBits-1:0]                     ctx_gbase_i,
  input  logic [PaBits:0]                       ctx_gsize_i,
  input  logic                                  ctx_guest_ad_i,
  input  logic [EscSlots-1:0]              ctx_esc_valid_i,
  input  logic [EscSlots*(PaBits-12)-1:0]  ctx_esc_page_i,
  // Paging-structure caches (lookup on walk_*_o).
  input  logic                                  psc_hit_i,
  input  logic [2:0]                            psc_level_i,
  input  logic [PaBits-1:0]                     psc_next_i,
  input  mmu_pkg::guest_acc_t                   psc_acc_i,
  output logic                                  psc_touch_o,
  output logic                                  psc_fill_o,
  output logic [2:0]                            psc_fill_level_o,
  output logic [PaBits-1:0]                     psc_fill_next_o,
  output mmu_pkg::guest_acc_t                   psc_fill_acc_o,
  // Nested TLB (root is ctx_ept_root_i).
  output logic                                  ntlb_lk_valid_o,
  output logic [PaBits-1:0]                     ntlb_lk_gpa_o,
  input  logic                                  ntlb_match_i,
  input  logic [PaBits-1:0]                     ntlb_hpa_i,
  input  mmu_pkg::page_size_e                   ntlb_size_i,
  input  logic [2:0]                            ntlb_perm_i,
  input  logic                                  ntlb_dirty_i,
  output logic                                  ntlb_touch_o,
  output logic                                  ntlb_inv_matching_o,
  output logic                                  ntlb_fill_o,
  output logic [PaBits-1:0]                     ntlb_fill_gpa_o,
  output mmu_pkg::page_size_e                   ntlb_fill_size_o,
  output logic [PaBits-1:0]                     ntlb_fill_hpa_o,
  output logic [2:0]                            ntlb_fill_perm_o,
  output logic                                  ntlb_fill_dirty_o,
  // EPT paging-structure caches (§10.3): probed with ntlb_lk_gpa_o under the same root; a fill
  // is for the gPA ntlb_fill_gpa_o.
  input  logic                                  eptc_hit_i,
  input  logic [2:0]                            eptc_level_i,
  input  logic [PaBits-1:0]                     eptc_next_i,
  input  logic [2:0]                            eptc_perm_i,
  output logic                                  eptc_touch_o,
  output logic                                  eptc_fill_o,
  output logic [2:0]                            eptc_fill_level_o,
  output logic [PaBits-1:0]                     eptc_fill_next_o,
  output logic [2:0]                            eptc_fill_perm_o,
  // TLB fill (in the DONE cycle of a successful walk; tags are walk_*_o).
  output logic                                  tlb_fill_o,
  output mmu_pkg::page_size_e                   tlb_fill_size_o,
  output mmu_pkg::page_size_e                   tlb_fill_gsize_o,
  output logic [PaBits-1:0]                     tlb_fill_hpa_o,
  output logic                                  tlb_fill_global_o,
  output mmu_pkg::guest_acc_t                   tlb_fill_acc_o,
  output logic [2:0]                            tlb_fill_ept_perm_o,
  output logic                                  tlb_fill_dirty_o,
  // Memory port (§13).
  output logic                                  mem_req_valid_o,
  input  logic                                  mem_req_ready_i,
  output logic [PaBits-1:0]                     mem_req_addr_o,
  output mmu_pkg::mem_op_e                      mem_req_op_o,
  output logic [63:0]                           mem_req_wdata_o,
  output mmu_pkg::dim_e                         mem_req_dim_o,
  output logic [2:0]                            mem_req_level_o,
  input  logic                                  mem_resp_valid_i,
  output logic                                  mem_resp_ready_o,
  input  logic [63:0]                           mem_resp_rdata_i,
  // Response of the walk (one cycle).
  output logic                                  resp_valid_o,
  output mmu_pkg::resp_t                        resp_o,
  // Counter events (§14).
  output logic [mmu_pkg::NumCounters-1:0]       ctr_inc_o
);

  // Bits [51:P] of an entry are reserved in both formats (§2.1, §2.2).
  localparam logic [63:0] RsvdHigh = ((64'd1 << 52) - 64'd1) & ~((64'd1 << PaBits) - 64'd1);
  localparam logic [2:0] PermRwx = 3'b111;

  // ---------------------------------------------------------------------------------------
  // Helpers.

  // Host address of the entry for address x at `level` in the table at `table_addr` (§2).
  // Tables are 4K aligned: the low bits of table_addr are not used.
  /* verilator lint_off UNUSEDSIGNAL */
  function automatic logic [PaBits-1:0] entry_addr(logic [PaBits-1:0] table_addr,
                                                   logic [63:0] x, logic [2:0] level);
  /* verilator lint_on UNUSEDSIGNAL */
    logic [8:0] index;
    unique case (level)
      3'd1: index = x[20:12];
      3'd2: index = x[29:21];
      3'd3: index = x[38:30];
      3'd4: index = x[47:39];
      default: index = x[56:48];
    endcase
    entry_addr = {table_addr[PaBits-1:12], index, 3'b000};
  endfunction

  // Offset mask of a page.
  function automatic logic [PaBits-1:0] offset_mask(logic [1:0] size);  // page_size_e
    unique case (size)
      2'd1: offset_mask = PaBits'(64'h001f_ffff);
      2'd2: offset_mask = PaBits'(64'h3fff_ffff);
      default: offset_mask = PaBits'(64'h0000_0fff);
    endcase
  endfunction

  function automatic mmu_pkg::page_size_e size_of_level(logic [2:0] level);
    unique case (level)
      3'd2: size_of_level = mmu_pkg::Size2M;
      3'd3: size_of_level = mmu_pkg::Size1G;
      default: size_of_level = mmu_pkg::Size4K;
    endcase
  endfunction

  // The EPT permission bit an access needs (§7).
  function automatic logic [2:0] perm_needed(mmu_pkg::access_e access);
    unique case (access)
      mmu_pkg::AccessWrite: perm_needed = 3'b010;
      mmu_pkg::AccessExec:  perm_needed = 3'b100;
      default:              perm_needed = 3'b001;
    endcase
  endfunction

  // ---------------------------------------------------------------------------------------
  // State.

  mmu_pkg::walk_state_e state_q, state_d;
  logic                 mem_sent_q, mem_sent_d;  // the current operation has been transferred
  logic [PaBits-1:0]    mem_addr_q, mem_addr_d;
  mmu_pkg::mem_op_e     mem_op_q, mem_op_d;
  logic [63:0]          mem_wdata_q, mem_wdata_d;
  mmu_pkg::dim_e        mem_dim_q, mem_dim_d;
  logic [2:0]           mem_level_q, mem_level_d;

  // The request.
  logic [15:0]          vpid_q, vpid_d;
  logic [11:0]          pcid_q, pcid_d;
  logic [63:0]          va_q, va_d;
  mmu_pkg::access_e     access_q, access_d;
  logic                 user_q, user_d;

  // Guest dimension: level, entry and address of the last guest read, permissions so far.
  logic [2:0]           glevel_q, glevel_d;
  logic [63:0]          gpte_q, gpte_d;
  logic [PaBits-1:0]    gpte_addr_q, gpte_addr_d;
  mmu_pkg::guest_acc_t  acc_q, acc_d;

  // Nested dimension: the gPA being translated and why, and the EPT walk's progress.
  logic [PaBits-1:0]    ngpa_q, ngpa_d;
  logic                 nfinal_q, nfinal_d;     // translating the final gPA
  logic [2:0]           nglevel_q, nglevel_d;   // else: guest level of the table located
  logic                 nescaped_q, nescaped_d; // DIRECT escape path
  logic [2:0]           nlevel_q, nlevel_d;
  logic [2:0]           nperm_q, nperm_d;
  logic [PaBits-1:0]    ntable_q, ntable_d;     // next EPT table, while its A is being set
  logic                 nleaf_q, nleaf_d;       // the A/D update in flight is on the leaf
  logic [PaBits-1:0]    nres_hpa_q, nres_hpa_d;
  mmu_pkg::page_size_e  nres_size_q, nres_size_d;
  logic                 nres_dirty_q, nres_dirty_d;

  // Result of a successful walk, kept for the leaf A/D update and the TLB fill.
  logic                 fill_pending_q, fill_pending_d;
  logic [PaBits-1:0]    res_hpa_q, res_hpa_d;
  mmu_pkg::page_size_e  res_size_q, res_size_d;
  mmu_pkg::page_size_e  res_gsize_q, res_gsize_d;
  logic                 res_global_q, res_global_d;
  mmu_pkg::guest_acc_t  res_acc_q, res_acc_d;
  logic [2:0]           res_perm_q, res_perm_d;
  logic                 res_dirty_q, res_dirty_d;

  logic resp_fire;
  assign resp_fire = mem_resp_ready_o && mem_resp_valid_i;

  logic [63:0] rdata;
  assign rdata = mem_resp_rdata_i;

  // ---------------------------------------------------------------------------------------
  // Decoding of the entry that arrives this cycle (guest, §2.1, or EPT, §2.2).

  logic                g_present, g_rsvd, g_leaf, g_denies, g_need_table_a;
  mmu_pkg::guest_acc_t g_acc;
  mmu_pkg::page_size_e g_gsize;
  logic [PaBits-1:0]   g_next_gpa, g_leaf_gpa;

  always_comb begin : decode_guest
    g_present = rdata[mmu_pkg::PteP];
    g_rsvd = |(rdata & RsvdHigh) ||
             (glevel_q >= 3'd4 && rdata[mmu_pkg::PtePs]) ||
             (glevel_q == 3'd2 && rdata[mmu_pkg::PtePs] && |rdata[20:13]) ||
             (glevel_q == 3'd3 && rdata[mmu_pkg::PtePs] && |rdata[29:13]);
    g_leaf = glevel_q == 3'd1 || rdata[mmu_pkg::PtePs];
    g_acc.rw = acc_q.rw && rdata[mmu_pkg::PteRw];
    g_acc.us = acc_q.us && rdata[mmu_pkg::PteUs];
    g_acc.nx = acc_q.nx || rdata[mmu_pkg::PteNx];
    g_denies = (user_q && !g_acc.us) || (access_q == mmu_pkg::AccessWrite && !g_acc.rw) ||
               (access_q == mmu_pkg::AccessExec && g_acc.nx);
    g_need_table_a = ctx_guest_ad_i && !rdata[mmu_pkg::PteA];
    g_gsize = size_of_level(glevel_q);
    g_next_gpa = {rdata[PaBits-1:12], 12'h000};
    g_leaf_gpa = (g_next_gpa & ~offset_mask(g_gsize)) | (va_q[PaBits-1:0] & offset_mask(g_gsize));
  end

  logic                e_present, e_leaf, e_misconf, e_denies, e_write_final;
  logic                e_need_ad, e_dirty;
  logic [2:0]          e_perm, e_mem_type;
  mmu_pkg::page_size_e e_size;
  logic [PaBits-1:0]   e_table, e_hpa;
  logic [31:0]         e_violation;
  logic [PaBits-1:0]   e_fault_gpa;
  mmu_pkg::access_e    n_access;

  always_comb begin : decode_ept
    n_access = nfinal_q ? access_q : mmu_pkg::AccessRead;
    e_perm = nperm_q & rdata[2:0];
    e_present = |rdata[2:0];
    e_leaf = nlevel_q == 3'd1 || (rdata[mmu_pkg::EptLp] && nlevel_q <= 3'd3);
    e_mem_type = rdata[5:3];
    e_misconf = (rdata[mmu_pkg::EptW] && !rdata[mmu_pkg::EptR]) || |(rdata & RsvdHigh) ||
                (nlevel_q >= 3'd4 && rdata[mmu_pkg::EptLp]) ||
                (!e_leaf && |rdata[6:3]) ||
                (e_leaf && (e_mem_type == 3'd2 || e_mem_type == 3'd3 || e_mem_type == 3'd7)) ||
                (e_leaf && nlevel_q == 3'd2 && |rdata[20:12]) ||
                (e_leaf && nlevel_q == 3'd3 && |rdata[29:12]);
    e_denies = (e_perm & perm_needed(n_access)) == 3'b000;
    e_write_final = nfinal_q && access_q == mmu_pkg::AccessWrite;
    // Non-leaf: A only; leaf: A, and D for the final gPA of a write.
    e_need_ad = ctx_ept_ad_i && (!rdata[mmu_pkg::EptA] ||
                                 (e_leaf && e_write_final && !rdata[mmu_pkg::EptD]));
    e_dirty = !ctx_ept_ad_i || rdata[mmu_pkg::EptD] || e_write_final;
    e_size = size_of_level(nlevel_q);
    e_table = {rdata[PaBits-1:12], 12'h000};
    e_hpa = (e_table & ~offset_mask(e_size)) | (ngpa_q & offset_mask(e_size));
    // §6: the SDM's exit qualification (bit 8 final, 7 linear address valid, 5:3 the EPT
    // permission so far, 2:0 the access) and the gPA of the access: the final gPA, or the guest
    // entry read in the table being located (in the page of ngpa_q, the table's base).
    e_violation = {23'h0, nfinal_q, 1'b1, 1'b0, e_perm, perm_needed(n_access)};
    e_fault_gpa = nfinal_q ? ngpa_q : entry_addr(ngpa_q, va_q, nglevel_q);
  end

  // ---------------------------------------------------------------------------------------
  // Step 1: the gPA translated this cycle, if any.

  logic                xr_valid, xr_final, xr_escaped, xr_nested, xr_in_page;
  mmu_pkg::access_e    xr_access;  // READ for table pointers, the request's for the final gPA
  logic [PaBits-1:0]   xr_gpa;
  logic [2:0]          xr_glevel;
  logic                esc_hit;

  always_comb begin : translate_request
    xr_valid = 1'b0;
    xr_final = 1'b0;
    xr_gpa = '0;
    xr_glevel = '0;
    unique case (state_q)
      mmu_pkg::WalkStart: begin
        if (!psc_hit_i) begin  // locate the root table
          xr_valid = 1'b1;
          xr_gpa = ctx_cr3_i;
          xr_glevel = 3'(GuestLevels);
        end
      end
      mmu_pkg::WalkGuestRead: begin
        if (resp_fire && g_present && !g_rsvd) begin
          if (!g_leaf && !g_need_table_a) begin
            xr_valid = 1'b1;
            xr_gpa = g_next_gpa;
            xr_glevel = glevel_q - 3'd1;
          end else if (g_leaf && !g_denies) begin
            xr_valid = 1'b1;
            xr_final = 1'b1;
            xr_gpa = g_leaf_gpa;
          end
        end
      end
      mmu_pkg::WalkGuestAdTable: begin
        if (resp_fire) begin
          xr_valid = 1'b1;
          xr_gpa = {gpte_q[PaBits-1:12], 12'h000};
          xr_glevel = glevel_q - 3'd1;
        end
      end
      default: ;
    endcase
  end

  mmu_escape_filter #(.PaBits(PaBits), .EscapeEntries(EscapeEntries)) u_escape_filter (
    .esc_valid_i (ctx_esc_valid_i),
    .esc_page_i  (ctx_esc_page_i),
    .gpa_i       (xr_gpa),
    .size_i      (g_gsize),
    .escaped_o   (esc_hit),
    .in_page_o   (xr_in_page)
  );

  assign xr_escaped = ctx_mode_i == mmu_pkg::ModeDirect && esc_hit;
  assign xr_nested = ctx_mode_i == mmu_pkg::ModeNested || xr_escaped;
  assign xr_access = xr_final ? access_q : mmu_pkg::AccessRead;
  assign ntlb_lk_valid_o = xr_valid && xr_nested;
  assign ntlb_lk_gpa_o = xr_gpa;

  // ---------------------------------------------------------------------------------------
  // Step 3: decisions.

  // A completed translation of a gPA (table pointer or final), before the bounds check.
  logic                xd_valid, xd_final, xd_dirty;
  logic [PaBits-1:0]   xd_gpa;
  logic [2:0]          xd_glevel;
  logic [PaBits:0]     xd_hpa;   // P + 1 bits: a base-offset sum may reach 2^P
  mmu_pkg::page_size_e xd_hsize, xd_size;
  logic [2:0]          xd_perm;
  logic                bounds_pass;

  mmu_bounds_checker #(.PaBits(PaBits)) u_bounds_checker (
    .addr_i  (xd_hpa & ~{1'b0, offset_mask(xd_size)}),
    .size_i  (xd_size),
    .gbase_i (ctx_gbase_i),
    .gsize_i (ctx_gsize_i),
    .pass_o  (bounds_pass)
  );

  // What the decision does this cycle.
  logic                iss_valid;  // present a new memory operation
  logic                fin_valid;  // end the walk with resp_o
  logic [mmu_pkg::NumCounters-1:0] ctr_inc;

  // Step 3a: everything up to and including the translation of a gPA.
  always_comb begin : decide_translation
    xd_valid = 1'b0;
    xd_final = xr_final;
    xd_glevel = xr_glevel;
    xd_gpa = xr_gpa;
    xd_hpa = '0;
    xd_hsize = mmu_pkg::Size4K;
    xd_perm = PermRwx;
    xd_dirty = 1'b1;
    ntlb_touch_o = 1'b0;
    ntlb_inv_matching_o = 1'b0;

    if (xr_valid && xr_nested) begin
      // nested_translate: the nested TLB first (§5).
      // A hit grants when the EPT permission allows the access and, for the final gPA of a
      // write with EPT A/D on, the entry is dirty.
      if (ntlb_match_i && (ntlb_perm_i & perm_needed(xr_access)) != 3'b000 &&
          (!(xr_final && access_q == mmu_pkg::AccessWrite && ctx_ept_ad_i) || ntlb_dirty_i)) begin
        ntlb_touch_o = 1'b1;
        xd_valid = 1'b1;
        xd_hpa = {1'b0, ntlb_hpa_i};
        xd_hsize = xr_escaped ? mmu_pkg::Size4K : ntlb_size_i;
        xd_perm = ntlb_perm_i;
        xd_dirty = ntlb_dirty_i;
      end else begin
        ntlb_inv_matching_o = ntlb_match_i;  // the EPT walk starts (in decide)
      end
    end else if (xr_valid && ctx_mode_i == mmu_pkg::ModeDirect) begin
      // Base-offset: hPA = gPA + GBASE; a final page is as large as GBASE's alignment allows,
      // but 4K when an escaped page lies inside the guest page.
      xd_valid = 1'b1;
      xd_hpa = {1'b0, xr_gpa} + {1'b0, ctx_gbase_i};
      if (xr_final && !xr_in_page) begin
        xd_hsize = ctx_gbase_i[29:12] == '0 ? mmu_pkg::Size1G :
                   ctx_gbase_i[20:12] == '0 ? mmu_pkg::Size2M : mmu_pkg::Size4K;
      end
    end else if (xr_valid) begin
      // NATIVE and SHADOW: the pointer is already an hPA.
      xd_valid = 1'b1;
      xd_hpa = {1'b0, xr_gpa};
      xd_hsize = xr_final ? g_gsize : mmu_pkg::Size4K;
    end else if (resp_fire && ((state_q == mmu_pkg::WalkNestedRead && e_present && !e_misconf &&
                                e_leaf && !e_denies && !e_need_ad) ||
                               (state_q == mmu_pkg::WalkNestedAd && nleaf_q))) begin
      // An EPT walk completed (with or without a final A/D update).
      xd_valid = 1'b1;
      xd_final = nfinal_q;
      xd_glevel = nglevel_q;
      xd_gpa = ngpa_q;
      if (state_q == mmu_pkg::WalkNestedRead) begin
        xd_hpa = {1'b0, e_hpa};
        xd_hsize = e_size;
        xd_perm = e_perm;
        xd_dirty = e_dirty;
      end else begin
        xd_hpa = {1'b0, nres_hpa_q};
        xd_hsize = nres_size_q;
        xd_perm = nperm_q;
        xd_dirty = nres_dirty_q;
      end
      if (nescaped_q) xd_hsize = mmu_pkg::Size4K;
    end
    // Splintering: the combined size is the smaller of guest and host page (tables are 4K).
    xd_size = !xd_final ? mmu_pkg::Size4K : (xd_hsize < g_gsize) ? xd_hsize : g_gsize;
  end

  // Step 3b: the next state.
  mmu_pkg::resp_t resp;

  always_comb begin : decide
    mmu_pkg::guest_acc_t acc_cur;
    logic [63:0]         pte_cur;
    logic                write, leaf_ad;
    logic [PaBits-1:0]   next_table;

    state_d = state_q;
    mem_sent_d = mem_sent_q;
    mem_addr_d = mem_addr_q;
    mem_op_d = mem_op_q;
    mem_wdata_d = mem_wdata_q;
    mem_dim_d = mem_dim_q;
    mem_level_d = mem_level_q;
    vpid_d = vpid_q;
    pcid_d = pcid_q;
    va_d = va_q;
    access_d = access_q;
    user_d = user_q;
    glevel_d = glevel_q;
    gpte_d = gpte_q;
    gpte_addr_d = gpte_addr_q;
    acc_d = acc_q;
    ngpa_d = ngpa_q;
    nfinal_d = nfinal_q;
    nglevel_d = nglevel_q;
    nescaped_d = nescaped_q;
    nlevel_d = nlevel_q;
    nperm_d = nperm_q;
    ntable_d = ntable_q;
    nleaf_d = nleaf_q;
    nres_hpa_d = nres_hpa_q;
    nres_size_d = nres_size_q;
    nres_dirty_d = nres_dirty_q;
    fill_pending_d = fill_pending_q;
    res_hpa_d = res_hpa_q;
    res_size_d = res_size_q;
    res_gsize_d = res_gsize_q;
    res_global_d = res_global_q;
    res_acc_d = res_acc_q;
    res_perm_d = res_perm_q;
    res_dirty_d = res_dirty_q;

    iss_valid = 1'b0;
    fin_valid = 1'b0;
    resp = '0;
    ctr_inc = '0;
    psc_touch_o = 1'b0;
    psc_fill_o = 1'b0;
    psc_fill_level_o = '0;
    psc_fill_next_o = '0;
    psc_fill_acc_o = acc_q;
    ntlb_fill_o = 1'b0;
    ntlb_fill_gpa_o = ngpa_q;
    ntlb_fill_size_o = e_size;
    ntlb_fill_hpa_o = e_table;
    ntlb_fill_perm_o = e_perm;
    ntlb_fill_dirty_o = e_dirty;
    eptc_touch_o = 1'b0;
    eptc_fill_o = 1'b0;
    eptc_fill_level_o = nlevel_q;
    eptc_fill_next_o = e_table;
    eptc_fill_perm_o = e_perm;

    write = access_q == mmu_pkg::AccessWrite;
    acc_cur = (state_q == mmu_pkg::WalkGuestRead) ? g_acc : acc_q;
    pte_cur = (state_q == mmu_pkg::WalkGuestRead) ? rdata : gpte_q;
    next_table = '0;
    leaf_ad = 1'b0;

    // The memory operation in flight.
    if (mem_req_valid_o && mem_req_ready_i) begin
      mem_sent_d = 1'b1;
      unique case ({mem_op_q, mem_dim_q})
        {mmu_pkg::MemOpRead, mmu_pkg::DimGuest}:
          ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrGuestReads);
        {mmu_pkg::MemOpRead, mmu_pkg::DimNested}:
          ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrNestedReads);
        {mmu_pkg::MemOpFetchOr, mmu_pkg::DimGuest}:
          ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrGuestAdUpdates);
        default:
          ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrNestedAdUpdates);
      endcase
    end
    if (state_q != mmu_pkg::WalkIdle) ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrWalkCycles);
    if (xr_valid && xr_escaped) ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrEscapes);

    unique case (state_q)
      mmu_pkg::WalkIdle: begin
        if (start_i) begin
          state_d = mmu_pkg::WalkStart;
          vpid_d = start_vpid_i;
          pcid_d = start_pcid_i;
          va_d = start_va_i;
          access_d = start_access_i;
          user_d = start_user_i;
          acc_d.rw = 1'b1;
          acc_d.us = 1'b1;
          acc_d.nx = 1'b0;
          fill_pending_d = 1'b0;
        end
      end

      mmu_pkg::WalkStart: begin
        if (psc_hit_i) begin
          // The deepest PSC hit skips the levels above it (§10.1).
          psc_touch_o = 1'b1;
          ctr_inc = ctr_inc | mmu_pkg::ctr_bit(6'(mmu_pkg::CtrPscHitsL2) + 6'(psc_level_i) - 6'd2);
          acc_d = psc_acc_i;
          iss_valid = 1'b1;
          mem_addr_d = entry_addr(psc_next_i, va_q, psc_level_i - 3'd1);
          mem_op_d = mmu_pkg::MemOpRead;
          mem_dim_d = mmu_pkg::DimGuest;
          mem_level_d = psc_level_i - 3'd1;
          glevel_d = psc_level_i - 3'd1;
          gpte_addr_d = mem_addr_d;
          state_d = mmu_pkg::WalkGuestRead;
        end
      end

      mmu_pkg::WalkGuestRead: begin
        if (resp_fire) begin
          gpte_d = rdata;
          acc_d = g_acc;
          if (!g_present || g_rsvd || (g_leaf && g_denies)) begin
            fin_valid = 1'b1;
            resp.fault = mmu_pkg::FaultGuestPf;
            resp.fault_info = {27'h0, access_q == mmu_pkg::AccessExec, g_present && g_rsvd,
                               user_q, write, g_present};
            resp.fault_addr = va_q;
            resp.fault_level = 4'(glevel_q);
          end else if (!g_leaf && g_need_table_a) begin
            iss_valid = 1'b1;
            mem_addr_d = gpte_addr_q;
            mem_op_d = mmu_pkg::MemOpFetchOr;
            mem_wdata_d = 64'(1) << mmu_pkg::PteA;
            mem_dim_d = mmu_pkg::DimGuest;
            mem_level_d = glevel_q;
            state_d = mmu_pkg::WalkGuestAdTable;
          end
        end
      end

      mmu_pkg::WalkNestedRead: begin
        if (resp_fire) begin
          nperm_d = e_perm;
          if (!e_present || (e_leaf && !e_misconf && e_denies)) begin
            fin_valid = 1'b1;
            resp.fault = mmu_pkg::FaultEptViolation;
            resp.fault_info = e_violation;
            resp.fault_addr = 64'(e_fault_gpa);
            resp.fault_level = 4'(nlevel_q);
            resp.fault_guest_level = 4'(nglevel_q);
          end else if (e_misconf) begin
            fin_valid = 1'b1;
            resp.fault = mmu_pkg::FaultEptMisconfig;  // qualification cleared, as on x86
            resp.fault_addr = 64'(e_fault_gpa);
            resp.fault_level = 4'(nlevel_q);
            resp.fault_guest_level = 4'(nglevel_q);
          end else if (!e_leaf) begin
            ntable_d = e_table;
            nleaf_d = 1'b0;
            iss_valid = 1'b1;
            if (e_need_ad) begin
              mem_addr_d = mem_addr_q;
              mem_op_d = mmu_pkg::MemOpFetchOr;
              mem_wdata_d = 64'(1) << mmu_pkg::EptA;
              mem_dim_d = mmu_pkg::DimNested;
              mem_level_d = nlevel_q;
              state_d = mmu_pkg::WalkNestedAd;
            end else begin
              eptc_fill_o = 1'b1;  // validated, A set: the EPT PSC learns it (§10.3)
              mem_addr_d = entry_addr(e_table, 64'(ngpa_q), nlevel_q - 3'd1);
              mem_op_d = mmu_pkg::MemOpRead;
              mem_dim_d = mmu_pkg::DimNested;
              mem_level_d = nlevel_q - 3'd1;
              nlevel_d = nlevel_q - 3'd1;
              state_d = mmu_pkg::WalkNestedRead;
            end
          end else begin
            // EPT leaf that grants: the nested TLB learns it now (§5 ordering).
            ntlb_fill_o = 1'b1;
            ntlb_fill_hpa_o = e_hpa;
            nres_hpa_d = e_hpa;
            nres_size_d = e_size;
            nres_dirty_d = e_dirty;
            if (e_need_ad) begin
              nleaf_d = 1'b1;
              iss_valid = 1'b1;
              mem_addr_d = mem_addr_q;
              mem_op_d = mmu_pkg::MemOpFetchOr;
              mem_wdata_d = (64'(1) << mmu_pkg::EptA) |
                            (e_write_final ? (64'(1) << mmu_pkg::EptD) : 64'(0));
              mem_dim_d = mmu_pkg::DimNested;
              mem_level_d = nlevel_q;
              state_d = mmu_pkg::WalkNestedAd;
            end
          end
        end
      end

      mmu_pkg::WalkNestedAd: begin
        if (resp_fire && !nleaf_q) begin
          // The non-leaf entry's A is set: the EPT PSC learns it (§10.3).
          eptc_fill_o = 1'b1;
          eptc_fill_next_o = ntable_q;
          eptc_fill_perm_o = nperm_q;
          iss_valid = 1'b1;
          mem_addr_d = entry_addr(ntable_q, 64'(ngpa_q), nlevel_q - 3'd1);
          mem_op_d = mmu_pkg::MemOpRead;
          mem_dim_d = mmu_pkg::DimNested;
          mem_level_d = nlevel_q - 3'd1;
          nlevel_d = nlevel_q - 3'd1;
          state_d = mmu_pkg::WalkNestedRead;
        end
      end

      mmu_pkg::WalkGuestAdLeaf: begin
        if (resp_fire) begin
          fin_valid = 1'b1;
          resp.hpa = 64'(res_hpa_q);
          resp.size = res_size_q;
        end
      end

      mmu_pkg::WalkDone: state_d = mmu_pkg::WalkIdle;

      default: ;
    endcase

    // A gPA that goes through the EPT and missed the nested TLB: start the EPT walk.
    if (xr_valid && xr_nested && !xd_valid) begin
      ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrNtlbMisses);
      ngpa_d = xr_gpa;
      nfinal_d = xr_final;
      nglevel_d = xr_glevel;
      nescaped_d = xr_escaped;
      nperm_d = PermRwx;
      nlevel_d = 3'(NestedLevels);
      iss_valid = 1'b1;
      mem_addr_d = entry_addr(ctx_ept_root_i, 64'(xr_gpa), 3'(NestedLevels));
      mem_op_d = mmu_pkg::MemOpRead;
      mem_dim_d = mmu_pkg::DimNested;
      mem_level_d = 3'(NestedLevels);
      state_d = mmu_pkg::WalkNestedRead;
      if (eptc_hit_i) begin
        // The deepest EPT PSC hit skips the EPT levels above it (§10.3).
        eptc_touch_o = 1'b1;
        ctr_inc = ctr_inc | mmu_pkg::ctr_bit(6'(mmu_pkg::CtrEptPscHitsL2) + 6'(eptc_level_i) - 6'd2);
        nperm_d = eptc_perm_i;
        nlevel_d = eptc_level_i - 3'd1;
        mem_addr_d = entry_addr(eptc_next_i, 64'(xr_gpa), eptc_level_i - 3'd1);
        mem_level_d = eptc_level_i - 3'd1;
      end
    end
    if (xr_valid && xr_nested && xd_valid) begin
      ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrNtlbHits);
    end

    // A translated gPA: bounds check (DIRECT), then the next guest read or the end of the walk.
    if (xd_valid) begin
      if (ctx_mode_i == mmu_pkg::ModeDirect && !bounds_pass) begin
        fin_valid = 1'b1;
        iss_valid = 1'b0;
        resp.fault = mmu_pkg::FaultBounds;
        resp.fault_info = {23'h0, xd_final, 8'h00};
        resp.fault_addr = xd_final ? 64'(xd_gpa) : 64'(entry_addr(xd_gpa, va_q, xd_glevel));
        resp.fault_guest_level = 4'(xd_glevel);
      end else if (!xd_final) begin
        next_table = xd_hpa[PaBits-1:0];
        if (32'(xd_glevel) < 32'(GuestLevels)) begin
          psc_fill_o = 1'b1;
          psc_fill_level_o = xd_glevel + 3'd1;
          psc_fill_next_o = next_table;
          psc_fill_acc_o = acc_cur;
        end
        iss_valid = 1'b1;
        mem_addr_d = entry_addr(next_table, va_q, xd_glevel);
        mem_op_d = mmu_pkg::MemOpRead;
        mem_dim_d = mmu_pkg::DimGuest;
        mem_level_d = xd_glevel;
        glevel_d = xd_glevel;
        gpte_addr_d = mem_addr_d;
        state_d = mmu_pkg::WalkGuestRead;
      end else begin
        res_hpa_d = xd_hpa[PaBits-1:0];
        res_size_d = xd_size;
        res_gsize_d = g_gsize;
        res_global_d = pte_cur[mmu_pkg::PteG];
        res_acc_d = acc_cur;
        res_perm_d = xd_perm;
        res_dirty_d = (!ctx_guest_ad_i || write || pte_cur[mmu_pkg::PteD]) && xd_dirty;
        leaf_ad = ctx_guest_ad_i && (!pte_cur[mmu_pkg::PteA] || (write && !pte_cur[mmu_pkg::PteD]));
        if (leaf_ad) begin
          iss_valid = 1'b1;
          mem_addr_d = gpte_addr_q;
          mem_op_d = mmu_pkg::MemOpFetchOr;
          mem_wdata_d = (64'(1) << mmu_pkg::PteA) | (write ? (64'(1) << mmu_pkg::PteD) : 64'(0));
          mem_dim_d = mmu_pkg::DimGuest;
          mem_level_d = glevel_q;
          state_d = mmu_pkg::WalkGuestAdLeaf;
          fill_pending_d = 1'b1;
        end else begin
          fin_valid = 1'b1;
          resp.hpa = 64'(res_hpa_d);
          resp.size = res_size_d;
        end
      end
    end

    if (fin_valid) begin
      iss_valid = 1'b0;
      state_d = mmu_pkg::WalkDone;
      fill_pending_d = resp.fault == mmu_pkg::FaultNone;
      unique case (resp.fault)
        mmu_pkg::FaultGuestPf: resp.vm_exit = ctx_mode_i == mmu_pkg::ModeShadow;
        mmu_pkg::FaultEptViolation, mmu_pkg::FaultEptMisconfig, mmu_pkg::FaultBounds:
          resp.vm_exit = 1'b1;
        default: resp.vm_exit = 1'b0;
      endcase
      if (resp.fault != mmu_pkg::FaultNone) begin
        ctr_inc = ctr_inc | mmu_pkg::ctr_bit(6'(mmu_pkg::CtrFaultGuestPf) + 6'(resp.fault) - 6'd1);
      end
      if (resp.vm_exit) ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrVmExits);
    end
    if (iss_valid) mem_sent_d = 1'b0;
  end

  always_ff @(posedge clk_i) begin : regs
    if (!rst_ni) begin
      state_q <= mmu_pkg::WalkIdle;
      mem_sent_q <= 1'b0;
      fill_pending_q <= 1'b0;
    end else begin
      state_q <= state_d;
      mem_sent_q <= mem_sent_d;
      fill_pending_q <= fill_pending_d;
    end
    // Datapath registers need no reset: they are written before they are used.
    mem_addr_q <= mem_addr_d;
    mem_op_q <= mem_op_d;
    mem_wdata_q <= mem_wdata_d;
    mem_dim_q <= mem_dim_d;
    mem_level_q <= mem_level_d;
    vpid_q <= vpid_d;
    pcid_q <= pcid_d;
    va_q <= va_d;
    access_q <= access_d;
    user_q <= user_d;
    glevel_q <= glevel_d;
    gpte_q <= gpte_d;
    gpte_addr_q <= gpte_addr_d;
    acc_q <= acc_d;
    ngpa_q <= ngpa_d;
    nfinal_q <= nfinal_d;
    nglevel_q <= nglevel_d;
    nescaped_q <= nescaped_d;
    nlevel_q <= nlevel_d;
    nperm_q <= nperm_d;
    ntable_q <= ntable_d;
    nleaf_q <= nleaf_d;
    nres_hpa_q <= nres_hpa_d;
    nres_size_q <= nres_size_d;
    nres_dirty_q <= nres_dirty_d;
    res_hpa_q <= res_hpa_d;
    res_size_q <= res_size_d;
    res_gsize_q <= res_gsize_d;
    res_global_q <= res_global_d;
    res_acc_q <= res_acc_d;
    res_perm_q <= res_perm_d;
    res_dirty_q <= res_dirty_d;
  end

  // ---------------------------------------------------------------------------------------
  // Outputs.

  assign state_o = state_q;
  assign walk_vpid_o = vpid_q;
  assign walk_pcid_o = pcid_q;
  assign walk_va_o = va_q;

  always_comb begin : mem_port
    logic in_mem_state;
    in_mem_state = state_q == mmu_pkg::WalkGuestRead || state_q == mmu_pkg::WalkGuestAdTable ||
                   state_q == mmu_pkg::WalkNestedRead || state_q == mmu_pkg::WalkNestedAd ||
                   state_q == mmu_pkg::WalkGuestAdLeaf;
    mem_req_valid_o = in_mem_state && !mem_sent_q;
    mem_resp_ready_o = in_mem_state && mem_sent_q;
    mem_req_addr_o = mem_addr_q;
    mem_req_op_o = mem_op_q;
    mem_req_wdata_o = mem_op_q == mmu_pkg::MemOpFetchOr ? mem_wdata_q : 64'h0;
    mem_req_dim_o = mem_dim_q;
    mem_req_level_o = mem_level_q;
  end

  // §12 memory wait: until the response comes, the walker keeps its state and its operation.
  always_comb begin : mem_wait_check
    if (rst_ni && mem_resp_ready_o && !mem_resp_valid_i) begin
      assert (state_d == state_q && mem_sent_d && !iss_valid && !fin_valid && !xr_valid);
    end
  end

  assign resp_valid_o = fin_valid;
  assign resp_o = resp;
  assign ctr_inc_o = ctr_inc;

  assign tlb_fill_o = state_q == mmu_pkg::WalkDone && fill_pending_q;
  assign tlb_fill_size_o = res_size_q;
  assign tlb_fill_gsize_o = res_gsize_q;
  assign tlb_fill_hpa_o = res_hpa_q;
  assign tlb_fill_global_o = res_global_q;
  assign tlb_fill_acc_o = res_acc_q;
  assign tlb_fill_ept_perm_o = res_perm_q;
  assign tlb_fill_dirty_o = res_dirty_q;

endmodule
