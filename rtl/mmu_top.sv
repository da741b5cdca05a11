// mmu_top: the vmmu MMU (docs/architecture.md), ports as §13 names them.
//
// The top holds the request front end - context lookup, canonical check, TLB lookup and the
// permission check of a cached entry (§5, §7) - the response register, and the control port
// (register writes and invalidations, §3, §11). Walks are the walker's (mmu_walker); the TLB,
// STLB, PSC, nested TLB and EPT PSC are mmu_tlb, mmu_stlb, mmu_psc, mmu_ntlb and mmu_ept_psc.
//
// Timing (§12): a request accepted in cycle t is looked up in t and its hit or early-fault
// response is registered, valid in t+1. A first-level miss holds the request and probes the
// STLB (§9.2): its 4K set is read in t and compared in t+1, its 2M set read in t+1 and compared
// in t+2 unless the 4K set matched. The deciding cycle answers a granting entry (valid one cycle
// later, first level refilled) or starts the walker (START one cycle later). Control is accepted
// only while the walker is idle and the STLB is not busy (a probe, or the set sweep of an
// invalidation), and has priority over a request in the same cycle.
// rst_ni is an active-low synchronous reset.
module mmu_top #(
  parameter int unsigned GuestLevels = 4,
  parameter int unsigned NestedLevels = 4,
  parameter int unsigned PaBits = 46,
  parameter int unsigned NumContexts = 4,
  parameter int unsigned EscapeEntries = 4,
  parameter int unsigned Tlb4kSets = 16,
  parameter int unsigned Tlb4kWays = 4,
  parameter int unsigned Tlb2mSets = 8,
  parameter int unsigned Tlb2mWays = 4,
  parameter int unsigned Tlb1gSets = 1,
  parameter int unsigned Tlb1gWays = 4,
  parameter int unsigned StlbSets = 128,  // 0: no STLB (§9.2)
  parameter int unsigned StlbWays = 8,
  parameter int unsigned PscL2Sets = 8,
  parameter int unsigned PscL2Ways = 4,
  parameter int unsigned PscL3Sets = 4,
  parameter int unsigned PscL3Ways = 4,
  parameter int unsigned PscL4Sets = 4,
  parameter int unsigned PscL4Ways = 4,
  parameter int unsigned PscL5Sets = 1,
  parameter int unsigned PscL5Ways = 4,
  parameter int unsigned Ntlb4kSets = 16,
  parameter int unsigned Ntlb4kWays = 4,
  parameter int unsigned Ntlb2mSets = 4,
  parameter int unsigned Ntlb2mWays = 4,
  parameter int unsigned Ntlb1gSets = 1,
  parameter int unsigned Ntlb1gWays = 4,
  // EPT paging-structure caches (§10.3); Ways = 0 removes a level's cache.
  parameter int unsigned EptPscL2Sets = 8,
  parameter int unsigned EptPscL2Ways = 4,
  parameter int unsigned EptPscL3Sets = 4,
  parameter int unsigned EptPscL3Ways = 4,
  parameter int unsigned EptPscL4Sets = 4,
  parameter int unsigned EptPscL4Ways = 4,
  parameter int unsigned EptPscL5Sets = 1,
  parameter int unsigned EptPscL5Ways = 4,
  localparam int unsigned CtxBits = (NumContexts > 1) ? $clog2(NumContexts) : 1,
  // Escape vectors keep one (never valid) slot when EscapeEntries = 0.
  localparam int unsigned EscSlots = (EscapeEntries > 0) ? EscapeEntries : 1
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  // Translation requests.
  input  logic                   req_valid_i,
  output logic                   req_ready_o,
  input  logic [15:0]            req_vpid_i,
  input  logic [11:0]            req_pcid_i,
  input  logic [63:0]            req_va_i,
  input  mmu_pkg::access_e       req_access_i,
  input  logic                   req_user_i,
  // Responses.
  output logic                   resp_valid_o,
  input  logic                   resp_ready_i,
  output logic [PaBits-1:0]      resp_hpa_o,
  output mmu_pkg::page_size_e    resp_size_o,
  output mmu_pkg::fault_e        resp_fault_o,
  // Bits 31:9 are zero by construction (§6 defines none of them) and the width is the
  // interface's: the port is excluded from toggle coverage, its bits 8:0 are counted on resp_q.
  /* verilator coverage_off */
  output logic [31:0]            resp_fault_info_o,
  /* verilator coverage_on */
  output logic [63:0]            resp_fault_addr_o,
  output logic [3:0]             resp_fault_level_o,
  output logic [3:0]             resp_fault_guest_level_o,
  output logic                   resp_vm_exit_o,
  output logic                   resp_tlb_hit_o,
  // Walker memory port.
  output logic                   mem_req_valid_o,
  input  logic                   mem_req_ready_i,
  output logic [PaBits-1:0]      mem_req_addr_o,
  output mmu_pkg::mem_op_e       mem_req_op_o,
  // Only the A/D bits of the entry's dimension are ever set (§13): the walker holds those two
  // (walk_mem_ad, counted), placed here; the other 60 bits are zero by construction and the
  // width is the interface's, so the port is excluded from toggle coverage.
  /* verilator coverage_off */
  output logic [63:0]            mem_req_wdata_o,
  /* verilator coverage_on */
  output mmu_pkg::dim_e          mem_req_dim_o,
  output logic [2:0]             mem_req_level_o,
  input  logic                   mem_resp_valid_i,
  output logic                   mem_resp_ready_o,
  input  logic [63:0]            mem_resp_rdata_i,
  // A pure memory wait (§12): for simulation harnesses that skip such cycles.
  output logic                   mem_wait_o,
  // Control.
  input  logic                   ctrl_valid_i,
  output logic                   ctrl_ready_o,
  input  mmu_pkg::ctrl_op_e      ctrl_op_i,
  input  logic [CtxBits-1:0]     ctrl_ctx_i,
  input  logic [4:0]             ctrl_reg_i,  // ctx_reg_e
  input  logic [63:0]            ctrl_data_i,
  input  logic [15:0]            ctrl_vpid_i,
  input  logic [11:0]            ctrl_pcid_i,
  // Counters.
  input  logic [5:0]             ctr_sel_i,
  output logic [63:0]            ctr_value_o
);

  localparam int unsigned VaBits = 12 + 9 * GuestLevels;
  // Length of the VPID list of an invalidation: one per slot (INV_EPTP), and at least the two
  // VPIDs of a VPID write's implicit flush (§3).
  localparam int unsigned InvVpids = (NumContexts > 2) ? NumContexts : 2;

  // ---------------------------------------------------------------------------------------
  // Context slots.

  logic                                   ctx_wr, lk_found;
  logic [1:0]                             ctx_flush;
  logic [31:0]                            ctx_flush_vpid;
  logic [CtxBits-1:0]                     lk_ctx, walk_ctx_q, walk_ctx_d;
  logic [2:0]                             ctx_mode;  // mode_e
  logic [PaBits-1:0]                      ctx_cr3, ctx_ept_root, ctx_gbase;
  logic [PaBits:0]                        ctx_gsize;
  logic                                   ctx_ept_ad, ctx_guest_ad;
  logic [1:0]                             ctx_ept_fmt;  // ept_fmt_e, or the reserved code 3
  logic [EscSlots-1:0]               ctx_esc_valid;
  logic [EscSlots*(PaBits-12)-1:0]   ctx_esc_page;
  logic [63:0]                            ctx_gseg_base, ctx_gseg_limit;
  logic [PaBits-1:0]                      ctx_gseg_offset;
  logic [EscSlots-1:0]                    ctx_gesc_valid;
  logic [EscSlots*52-1:0]                 ctx_gesc_page;
  logic [PaBits-1:0]                      ctx_gcr3;         // AGILE (§20.1)
  logic                                   ctx_root_nested;
  logic [NumContexts*16-1:0]              eptp_vpids;
  logic [NumContexts-1:0]                 eptp_vpids_valid;

  mmu_ctx_regs #(
    .PaBits(PaBits), .NumContexts(NumContexts), .EscapeEntries(EscapeEntries)
  ) u_ctx_regs (
    .clk_i,
    .rst_ni,
    .wr_i               (ctx_wr),
    .wr_ctx_i           (ctrl_ctx_i),
    .wr_reg_i           (ctrl_reg_i),
    .wr_data_i          (ctrl_data_i),
    .flush_o            (ctx_flush),
    .flush_vpid_o       (ctx_flush_vpid),
    .lk_vpid_i          (req_vpid_i),
    .lk_found_o         (lk_found),
    .lk_ctx_o           (lk_ctx),
    .sel_ctx_i          (walk_ctx_q),
    .sel_mode_o         (ctx_mode),
    .sel_cr3_o          (ctx_cr3),
    .sel_ept_root_o     (ctx_ept_root),
    .sel_ept_ad_o       (ctx_ept_ad),
    .sel_ept_fmt_o      (ctx_ept_fmt),
    .sel_gbase_o        (ctx_gbase),
    .sel_gsize_o        (ctx_gsize),
    .sel_guest_ad_o     (ctx_guest_ad),
    .sel_esc_valid_o    (ctx_esc_valid),
    .sel_esc_page_o     (ctx_esc_page),
    .sel_gseg_base_o    (ctx_gseg_base),
    .sel_gseg_limit_o   (ctx_gseg_limit),
    .sel_gseg_offset_o  (ctx_gseg_offset),
    .sel_gesc_valid_o   (ctx_gesc_valid),
    .sel_gesc_page_o    (ctx_gesc_page),
    .sel_gcr3_o         (ctx_gcr3),
    .sel_root_nested_o  (ctx_root_nested),
    .eptp_root_i        (ctrl_data_i[PaBits-1:12]),
    .eptp_vpids_o       (eptp_vpids),
    .eptp_vpids_valid_o (eptp_vpids_valid)
  );

  // ---------------------------------------------------------------------------------------
  // Walker.

  mmu_pkg::walk_state_e walk_state;
  logic                 walk_start, walker_idle;
  logic [15:0]          walk_vpid;
  logic [11:0]          walk_pcid;
  logic [63:0]          walk_va;
  logic                 walk_resp_valid;
  logic [1:0]           walk_mem_ad;  // {D, A} a FETCH_OR sets (the walker's mem_req_ad_o)
  mmu_pkg::resp_t       walk_resp;
  logic [mmu_pkg::NumCounters-1:0] walk_ctr_inc, front_ctr_inc;
  // The control port counts only invalidation commands: events of INV_ADDR .. INV_ALL (§14),
  // bit k for counter CtrInvAddr + k.
  logic [4:0]                      ctrl_inv_inc;

  logic                 psc_hit, psc_touch, psc_fill;
  logic                 psc_nested, psc_fill_nested;  // AGILE (§20.4)
  logic [2:0]           psc_level, psc_fill_level;
  logic [PaBits-1:0]    psc_next, psc_fill_next;
  mmu_pkg::guest_acc_t  psc_acc, psc_fill_acc;

  logic [PaBits-1:0]    ntlb_lk_gpa, ntlb_hpa, ntlb_fill_gpa, ntlb_fill_hpa;
  logic                 ntlb_lk_valid, ntlb_match, ntlb_dirty, ntlb_touch, ntlb_inv_matching, ntlb_fill;
  logic                 ntlb_fill_dirty;
  mmu_pkg::page_size_e  ntlb_size, ntlb_fill_size;
  logic [2:0]           ntlb_perm, ntlb_fill_perm;

  logic                 eptc_hit, eptc_touch, eptc_fill;
  logic [2:0]           eptc_level, eptc_perm, eptc_fill_level, eptc_fill_perm;
  logic [PaBits-1:0]    eptc_next, eptc_fill_next;

  // §12 cache fills: a PSC, nested-TLB or EPT PSC fill the walker decides in cycle d is
  // registered here and written at the end of d + 1 (no lookup uses those arrays in d + 1), so
  // that the victim choice and the entry write are not on the walker's decision path.
  logic                 psc_fill_q, ntlb_fill_q, ntlb_fill_dirty_q, eptc_fill_q;
  logic [2:0]           psc_fill_level_q, ntlb_fill_perm_q, eptc_fill_level_q, eptc_fill_perm_q;
  logic [PaBits-1:0]    psc_fill_next_q, ntlb_fill_gpa_q, ntlb_fill_hpa_q, eptc_fill_next_q;
  mmu_pkg::guest_acc_t  psc_fill_acc_q;
  logic                 psc_fill_nested_q;
  mmu_pkg::page_size_e  ntlb_fill_size_q;

  always_ff @(posedge clk_i) begin : cache_fill_regs
    if (!rst_ni) begin
      psc_fill_q <= 1'b0;
      ntlb_fill_q <= 1'b0;
      eptc_fill_q <= 1'b0;
    end else begin
      psc_fill_q <= psc_fill;
      ntlb_fill_q <= ntlb_fill;
      eptc_fill_q <= eptc_fill;
    end
    psc_fill_level_q <= psc_fill_level;
    psc_fill_next_q <= psc_fill_next;
    psc_fill_acc_q <= psc_fill_acc;
    psc_fill_nested_q <= psc_fill_nested;
    ntlb_fill_gpa_q <= ntlb_fill_gpa;
    ntlb_fill_size_q <= ntlb_fill_size;
    ntlb_fill_hpa_q <= ntlb_fill_hpa;
    ntlb_fill_perm_q <= ntlb_fill_perm;
    ntlb_fill_dirty_q <= ntlb_fill_dirty;
    eptc_fill_level_q <= eptc_fill_level;
    eptc_fill_next_q <= eptc_fill_next;
    eptc_fill_perm_q <= eptc_fill_perm;
  end

  logic                 tlb_fill, tlb_fill_global, tlb_fill_dirty;
  mmu_pkg::page_size_e  tlb_fill_size, tlb_fill_gsize;
  logic [PaBits-1:0]    tlb_fill_hpa;
  mmu_pkg::guest_acc_t  tlb_fill_acc;
  logic [2:0]           tlb_fill_ept_perm;

  mmu_walker #(
    .GuestLevels(GuestLevels), .NestedLevels(NestedLevels), .PaBits(PaBits),
    .EscapeEntries(EscapeEntries)
  ) u_walker (
    .clk_i,
    .rst_ni,
    .start_i             (walk_start),
    // A walk after an STLB entry that did not grant starts from the held request.
    .start_vpid_i        (stlb_busy ? held_q.vpid : req_vpid_i),
    .start_pcid_i        (stlb_busy ? held_q.pcid : req_pcid_i),
    .start_va_i          (stlb_busy ? held_q.va : req_va_i),
    .start_access_i      (stlb_busy ? held_access_q : req_access_i),
    .start_user_i        (stlb_busy ? held_q.user : req_user_i),
    .state_o             (walk_state),
    .walk_vpid_o         (walk_vpid),
    .walk_pcid_o         (walk_pcid),
    .walk_va_o           (walk_va),
    .ctx_mode_i          (ctx_mode),
    .ctx_cr3_i           (ctx_cr3),
    .ctx_ept_root_i      (ctx_ept_root),
    .ctx_ept_ad_i        (ctx_ept_ad),
    .ctx_ept_fmt_i       (ctx_ept_fmt),
    .ctx_gbase_i         (ctx_gbase),
    .ctx_gsize_i         (ctx_gsize),
    .ctx_guest_ad_i      (ctx_guest_ad),
    .ctx_esc_valid_i     (ctx_esc_valid),
    .ctx_esc_page_i      (ctx_esc_page),
    .ctx_gseg_base_i     (ctx_gseg_base),
    .ctx_gseg_limit_i    (ctx_gseg_limit),
    .ctx_gseg_offset_i   (ctx_gseg_offset),
    .ctx_gesc_valid_i    (ctx_gesc_valid),
    .ctx_gesc_page_i     (ctx_gesc_page),
    .ctx_gcr3_i          (ctx_gcr3),
    .ctx_root_nested_i   (ctx_root_nested),
    .psc_hit_i           (psc_hit),
    .psc_level_i         (psc_level),
    .psc_next_i          (psc_next),
    .psc_acc_i           (psc_acc),
    .psc_nested_i        (psc_nested),
    .psc_touch_o         (psc_touch),
    .psc_fill_o          (psc_fill),
    .psc_fill_level_o    (psc_fill_level),
    .psc_fill_next_o     (psc_fill_next),
    .psc_fill_acc_o      (psc_fill_acc),
    .psc_fill_nested_o   (psc_fill_nested),
    .ntlb_lk_valid_o     (ntlb_lk_valid),
    .ntlb_lk_gpa_o       (ntlb_lk_gpa),
    .ntlb_match_i        (ntlb_match),
    .ntlb_hpa_i          (ntlb_hpa),
    .ntlb_size_i         (ntlb_size),
    .ntlb_perm_i         (ntlb_perm),
    .ntlb_dirty_i        (ntlb_dirty),
    .ntlb_touch_o        (ntlb_touch),
    .ntlb_inv_matching_o (ntlb_inv_matching),
    .ntlb_fill_o         (ntlb_fill),
    .ntlb_fill_gpa_o     (ntlb_fill_gpa),
    .ntlb_fill_size_o    (ntlb_fill_size),
    .ntlb_fill_hpa_o     (ntlb_fill_hpa),
    .ntlb_fill_perm_o    (ntlb_fill_perm),
    .ntlb_fill_dirty_o   (ntlb_fill_dirty),
    .eptc_hit_i          (eptc_hit),
    .eptc_level_i        (eptc_level),
    .eptc_next_i         (eptc_next),
    .eptc_perm_i         (eptc_perm),
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
    .mem_req_valid_o,
    .mem_req_ready_i,
    .mem_req_addr_o,
    .mem_req_op_o,
    .mem_req_ad_o        (walk_mem_ad),
    .mem_req_dim_o,
    .mem_req_level_o,
    .mem_resp_valid_i,
    .mem_resp_ready_o,
    .mem_resp_rdata_i,
    .resp_valid_o        (walk_resp_valid),
    .resp_o              (walk_resp),
    .ctr_inc_o           (walk_ctr_inc)
  );

  assign walker_idle = walk_state == mmu_pkg::WalkIdle;

  // The FETCH_OR data word (§13): the walker's {D, A} at the bit positions of the entry's format.
  assign mem_req_wdata_o = mem_req_dim_o == mmu_pkg::DimNested ?
      (64'(walk_mem_ad[1]) << mmu_pkg::EptD) | (64'(walk_mem_ad[0]) << mmu_pkg::EptA) :
      (64'(walk_mem_ad[1]) << mmu_pkg::PteD) | (64'(walk_mem_ad[0]) << mmu_pkg::PteA);

  // The request an STLB probe holds until it decides (§9.2), and whether the first level
  // dropped a non-granting entry for it (PERM_REFILLS counts a request once). The access type is
  // a register of its own: yosys 0.23 takes no package enum inside a local struct.
  typedef struct packed {
    logic [15:0] vpid;
    logic [11:0] pcid;
    logic [63:0] va;
    logic        user;
    logic        l1_dropped;
  } held_req_t;

  logic             stlb_busy;  // an STLB probe or sweep runs (registers of mmu_stlb)
  held_req_t        held_q, held_d;
  mmu_pkg::access_e held_access_q, held_access_d;

  // ---------------------------------------------------------------------------------------
  // Invalidation commands, shared by the TLB and the PSC (§11, §3 implicit flushes).

  logic                          inv_valid, ntlb_inv_root, ntlb_inv_all;
  mmu_pkg::inv_kind_e            inv_kind;
  logic [InvVpids*16-1:0]        inv_vpids;
  logic [InvVpids-1:0]           inv_vpids_valid;
  logic                          ctrl_fire, ctrl_va_canonical;

  assign ctrl_ready_o = walker_idle && !stlb_busy;
  assign ctrl_fire = ctrl_valid_i && ctrl_ready_o;
  // Entries hold canonical VAs, so a non-canonical INV_ADDR operand matches none (the model
  // compares full 64-bit page numbers).
  assign ctrl_va_canonical = &ctrl_data_i[63:VaBits-1] || ~|ctrl_data_i[63:VaBits-1];

  always_comb begin : control
    ctx_wr = 1'b0;
    inv_valid = 1'b0;
    inv_kind = mmu_pkg::InvByVpids;
    inv_vpids = '0;
    inv_vpids_valid = '0;
    inv_vpids[15:0] = ctrl_vpid_i;
    ntlb_inv_root = 1'b0;
    ntlb_inv_all = 1'b0;
    ctrl_inv_inc = '0;
    if (ctrl_fire) begin
      unique case (ctrl_op_i)
        mmu_pkg::CtrlWriteReg: begin
          ctx_wr = 1'b1;
          // Implicit INV_VPID of one or two VPIDs in this cycle, not counted (§3, §14).
          inv_valid = |ctx_flush;
          inv_vpids[31:0] = ctx_flush_vpid;
          inv_vpids_valid[1:0] = ctx_flush;
        end
        mmu_pkg::CtrlInvAddr: begin
          inv_valid = ctrl_va_canonical;
          inv_kind = mmu_pkg::InvByAddr;
          ctrl_inv_inc[0] = 1'b1;  // CtrInvAddr
        end
        mmu_pkg::CtrlInvPcid: begin
          inv_valid = 1'b1;
          inv_kind = mmu_pkg::InvByPcid;
          ctrl_inv_inc[1] = 1'b1;  // CtrInvPcid
        end
        mmu_pkg::CtrlInvVpid: begin
          inv_valid = 1'b1;
          inv_vpids_valid[0] = 1'b1;
          ctrl_inv_inc[2] = 1'b1;  // CtrInvVpid
        end
        mmu_pkg::CtrlInvEptp: begin
          inv_valid = 1'b1;
          inv_vpids[NumContexts*16-1:0] = eptp_vpids;
          inv_vpids_valid[NumContexts-1:0] = eptp_vpids_valid;
          ntlb_inv_root = 1'b1;
          ctrl_inv_inc[3] = 1'b1;  // CtrInvEptp
        end
        mmu_pkg::CtrlInvAll: begin
          inv_valid = 1'b1;
          inv_kind = mmu_pkg::InvEvery;
          ntlb_inv_all = 1'b1;
          ctrl_inv_inc[4] = 1'b1;  // CtrInvAll
        end
        default: ;  // not a command: accepted and ignored
      endcase
    end
  end

  // ---------------------------------------------------------------------------------------
  // Caches.

  logic                 tlb_match, tlb_dirty, tlb_touch, tlb_inv_matching;
  logic [PaBits-1:0]    tlb_hpa;
  mmu_pkg::page_size_e  tlb_size;
  mmu_pkg::guest_acc_t  tlb_acc;
  logic [2:0]           tlb_ept_perm;

  // The first level is filled by a walk (DONE) or by an STLB hit (the probe's deciding cycle),
  // never both in one cycle.
  logic                 stlb_refill, l1_fill, l1_fill_global, l1_fill_dirty;
  logic [15:0]          l1_fill_vpid;
  logic [11:0]          l1_fill_pcid;
  logic [63:0]          l1_fill_va;
  mmu_pkg::page_size_e  l1_fill_size, l1_fill_gsize;
  logic [PaBits-1:0]    l1_fill_hpa;
  mmu_pkg::guest_acc_t  l1_fill_acc;
  logic [2:0]           l1_fill_ept_perm;

  logic                 stlb_start, stlb_done, stlb_match, stlb_touch, stlb_drop, stlb_fill;
  mmu_pkg::page_size_e  stlb_rd_size, stlb_rd_gsize;
  logic [11:0]          stlb_rd_pcid;
  logic                 stlb_rd_global, stlb_rd_dirty;
  logic [PaBits-13:0]   stlb_rd_frame;
  mmu_pkg::guest_acc_t  stlb_rd_acc;
  logic [2:0]           stlb_rd_ept_perm;

  always_comb begin : l1_fill_select
    if (rst_ni) begin
      // The select below relies on it: a walk's fill (DONE) never meets an STLB probe or sweep.
      l1_fill_one_source: assert (!(tlb_fill && stlb_busy));
    end
    l1_fill = tlb_fill || stlb_refill;
    l1_fill_vpid = walk_vpid;
    l1_fill_pcid = walk_pcid;
    l1_fill_va = walk_va;
    l1_fill_size = tlb_fill_size;
    l1_fill_gsize = tlb_fill_gsize;
    l1_fill_hpa = tlb_fill_hpa;
    l1_fill_global = tlb_fill_global;
    l1_fill_acc = tlb_fill_acc;
    l1_fill_ept_perm = tlb_fill_ept_perm;
    l1_fill_dirty = tlb_fill_dirty;
    // Selected by the probe running (a register), not by the refill decided late in the cycle
    // (§12): a walk's fill (DONE) never meets a probe.
    if (stlb_busy) begin
      // A copy of the STLB entry (§9.2); its VPN at its size is the held request's.
      l1_fill_vpid = held_q.vpid;
      l1_fill_pcid = stlb_rd_pcid;
      l1_fill_va = held_q.va;
      l1_fill_size = stlb_rd_size;
      l1_fill_gsize = stlb_rd_gsize;
      l1_fill_hpa = {stlb_rd_frame, 12'h000};
      l1_fill_global = stlb_rd_global;
      l1_fill_acc = stlb_rd_acc;
      l1_fill_ept_perm = stlb_rd_ept_perm;
      l1_fill_dirty = stlb_rd_dirty;
    end
  end

  mmu_tlb #(
    .GuestLevels(GuestLevels), .PaBits(PaBits), .NumVpids(InvVpids),
    .Tlb4kSets(Tlb4kSets), .Tlb4kWays(Tlb4kWays), .Tlb2mSets(Tlb2mSets),
    .Tlb2mWays(Tlb2mWays), .Tlb1gSets(Tlb1gSets), .Tlb1gWays(Tlb1gWays)
  ) u_tlb (
    .clk_i,
    .rst_ni,
    .lk_enable_i       (req_valid_i),
    .lk_vpid_i         (req_vpid_i),
    .lk_pcid_i         (req_pcid_i),
    .lk_va_i           (req_va_i),
    .lk_match_o        (tlb_match),
    .lk_hpa_o          (tlb_hpa),
    .lk_size_o         (tlb_size),
    .lk_acc_o          (tlb_acc),
    .lk_ept_perm_o     (tlb_ept_perm),
    .lk_dirty_o        (tlb_dirty),
    .lk_touch_i        (tlb_touch),
    .lk_inv_matching_i (tlb_inv_matching),
    .fill_i            (l1_fill),
    .fill_vpid_i       (l1_fill_vpid),
    .fill_pcid_i       (l1_fill_pcid),
    .fill_va_i         (l1_fill_va),
    .fill_size_i       (l1_fill_size),
    .fill_gsize_i      (l1_fill_gsize),
    .fill_hpa_i        (l1_fill_hpa),
    .fill_global_i     (l1_fill_global),
    .fill_acc_i        (l1_fill_acc),
    .fill_ept_perm_i   (l1_fill_ept_perm),
    .fill_dirty_i      (l1_fill_dirty),
    .inv_i             (inv_valid),
    .inv_kind_i        (inv_kind),
    .inv_vpid_i        (ctrl_vpid_i),
    .inv_pcid_i        (ctrl_pcid_i),
    .inv_va_i          (ctrl_data_i),
    .inv_vpids_i       (inv_vpids),
    .inv_vpids_valid_i (inv_vpids_valid)
  );

  // A walk fills the STLB with its first-level entry unless that is a 1G one (§9.2).
  assign stlb_fill = tlb_fill && tlb_fill_size != mmu_pkg::Size1G;

  if (StlbSets > 0) begin : gen_stlb
    mmu_stlb #(
      .Sets(StlbSets), .Ways(StlbWays), .GuestLevels(GuestLevels), .PaBits(PaBits),
      .NumVpids(InvVpids)
    ) u_stlb (
      .clk_i,
      .rst_ni,
      .pr_start_i        (stlb_start),
      .pr_vpid_i         (req_vpid_i),
      .pr_pcid_i         (req_pcid_i),
      .pr_vpn_i          (req_va_i[VaBits-1:12]),
      .busy_o            (stlb_busy),
      .pr_done_o         (stlb_done),
      .pr_match_o        (stlb_match),
      .rd_size_o         (stlb_rd_size),
      .rd_pcid_o         (stlb_rd_pcid),
      .rd_global_o       (stlb_rd_global),
      .rd_gsize_o        (stlb_rd_gsize),
      .rd_frame_o        (stlb_rd_frame),
      .rd_acc_o          (stlb_rd_acc),
      .rd_ept_perm_o     (stlb_rd_ept_perm),
      .rd_dirty_o        (stlb_rd_dirty),
      .rd_touch_i        (stlb_touch),
      .rd_drop_i         (stlb_drop),
      .fill_i            (stlb_fill),
      .fill_vpid_i       (walk_vpid),
      .fill_pcid_i       (walk_pcid),
      .fill_vpn_i        (walk_va[VaBits-1:12]),
      .fill_size_i       (tlb_fill_size),
      .fill_gsize_i      (tlb_fill_gsize),
      .fill_frame_i      (tlb_fill_hpa[PaBits-1:12]),
      .fill_global_i     (tlb_fill_global),
      .fill_acc_i        (tlb_fill_acc),
      .fill_ept_perm_i   (tlb_fill_ept_perm),
      .fill_dirty_i      (tlb_fill_dirty),
      .inv_i             (inv_valid),
      .inv_kind_i        (inv_kind),
      .inv_vpid_i        (ctrl_vpid_i),
      .inv_pcid_i        (ctrl_pcid_i),
      .inv_vpn_i         (ctrl_data_i[VaBits-1:12]),
      .inv_vpids_i       (inv_vpids),
      .inv_vpids_valid_i (inv_vpids_valid)
    );
  end else begin : gen_no_stlb
    // No STLB: every first-level miss walks; the read and its outputs are never used.
    assign stlb_busy = 1'b0;
    assign stlb_done = 1'b0;
    assign stlb_match = 1'b0;
    assign stlb_rd_size = mmu_pkg::Size4K;
    assign stlb_rd_gsize = mmu_pkg::Size4K;
    assign stlb_rd_pcid = '0;
    assign stlb_rd_global = 1'b0;
    assign stlb_rd_frame = '0;
    assign stlb_rd_acc = '0;
    assign stlb_rd_ept_perm = '0;
    assign stlb_rd_dirty = 1'b0;
    logic unused_stlb;
    assign unused_stlb = ^{stlb_start, stlb_touch, stlb_drop, stlb_fill};
  end

  mmu_psc #(
    .GuestLevels(GuestLevels), .PaBits(PaBits), .NumVpids(InvVpids),
    .PscL2Sets(PscL2Sets), .PscL2Ways(PscL2Ways), .PscL3Sets(PscL3Sets),
    .PscL3Ways(PscL3Ways), .PscL4Sets(PscL4Sets), .PscL4Ways(PscL4Ways),
    .PscL5Sets(PscL5Sets), .PscL5Ways(PscL5Ways)
  ) u_psc (
    .clk_i,
    .rst_ni,
    .lk_enable_i       (walk_state == mmu_pkg::WalkStart),
    .lk_vpid_i         (walk_vpid),
    .lk_pcid_i         (walk_pcid),
    .lk_va_i           (walk_va),
    .lk_hit_o          (psc_hit),
    .lk_level_o        (psc_level),
    .lk_next_o         (psc_next),
    .lk_acc_o          (psc_acc),
    .lk_nested_o       (psc_nested),
    .lk_touch_i        (psc_touch),
    .fill_i            (psc_fill_q),
    .fill_level_i      (psc_fill_level_q),
    .fill_vpid_i       (walk_vpid),  // the walk's request is held until its next START
    .fill_pcid_i       (walk_pcid),
    .fill_va_i         (walk_va),
    .fill_next_i       (psc_fill_next_q),
    .fill_acc_i        (psc_fill_acc_q),
    .fill_nested_i     (psc_fill_nested_q),
    .inv_i             (inv_valid),
    .inv_kind_i        (inv_kind),
    .inv_vpid_i        (ctrl_vpid_i),
    .inv_pcid_i        (ctrl_pcid_i),
    .inv_va_i          (ctrl_data_i),
    .inv_vpids_i       (inv_vpids),
    .inv_vpids_valid_i (inv_vpids_valid)
  );

  mmu_ntlb #(
    .PaBits(PaBits), .Ntlb4kSets(Ntlb4kSets), .Ntlb4kWays(Ntlb4kWays),
    .Ntlb2mSets(Ntlb2mSets), .Ntlb2mWays(Ntlb2mWays), .Ntlb1gSets(Ntlb1gSets),
    .Ntlb1gWays(Ntlb1gWays)
  ) u_ntlb (
    .clk_i,
    .rst_ni,
    .lk_enable_i       (ntlb_lk_valid),
    .lk_root_i         (ctx_ept_root),
    .lk_gpa_i          (ntlb_lk_gpa),
    .lk_match_o        (ntlb_match),
    .lk_hpa_o          (ntlb_hpa),
    .lk_size_o         (ntlb_size),
    .lk_perm_o         (ntlb_perm),
    .lk_dirty_o        (ntlb_dirty),
    .lk_touch_i        (ntlb_touch),
    .lk_inv_matching_i (ntlb_inv_matching),
    .fill_i            (ntlb_fill_q),
    .fill_root_i       (ctx_ept_root),  // stable while the walker is busy
    .fill_gpa_i        (ntlb_fill_gpa_q),
    .fill_size_i       (ntlb_fill_size_q),
    .fill_hpa_i        (ntlb_fill_hpa_q),
    .fill_perm_i       (ntlb_fill_perm_q),
    .fill_dirty_i      (ntlb_fill_dirty_q),
    .inv_root_i        (ntlb_inv_root),
    .inv_all_i         (ntlb_inv_all),
    .inv_root_addr_i   (ctrl_data_i[PaBits-1:0])
  );

  // Probed with the nested TLB's gPA and root in the same cycle; invalidated as it is (§10.3).
  mmu_ept_psc #(
    .NestedLevels(NestedLevels), .PaBits(PaBits),
    .EptPscL2Sets(EptPscL2Sets), .EptPscL2Ways(EptPscL2Ways), .EptPscL3Sets(EptPscL3Sets),
    .EptPscL3Ways(EptPscL3Ways), .EptPscL4Sets(EptPscL4Sets), .EptPscL4Ways(EptPscL4Ways),
    .EptPscL5Sets(EptPscL5Sets), .EptPscL5Ways(EptPscL5Ways)
  ) u_ept_psc (
    .clk_i,
    .rst_ni,
    .lk_enable_i     (ntlb_lk_valid),
    .lk_root_i       (ctx_ept_root),
    .lk_gpa_i        (ntlb_lk_gpa),
    .fmt_i           (ctx_ept_fmt),  // the walker's context: stable while it is busy
    .lk_hit_o        (eptc_hit),
    .lk_level_o      (eptc_level),
    .lk_next_o       (eptc_next),
    .lk_perm_o       (eptc_perm),
    .lk_touch_i      (eptc_touch),
    .fill_i          (eptc_fill_q),
    .fill_level_i    (eptc_fill_level_q),
    .fill_root_i     (ctx_ept_root),
    .fill_gpa_i      (ntlb_fill_gpa_q),
    .fill_next_i     (eptc_fill_next_q),
    .fill_perm_i     (eptc_fill_perm_q),
    .inv_root_i      (ntlb_inv_root),
    .inv_all_i       (ntlb_inv_all),
    .inv_root_addr_i (ctrl_data_i[PaBits-1:0])
  );

  // ---------------------------------------------------------------------------------------
  // Request front end and response register.

  logic           req_fire, va_canonical, tlb_grants, stlb_grants;
  logic           resp_valid_q, resp_valid_d;
  mmu_pkg::resp_t resp_q, resp_d;
  logic [PaBits-1:0] stlb_hpa;

  assign req_ready_o = walker_idle && !stlb_busy && !ctrl_valid_i &&
                       (!resp_valid_q || resp_ready_i);
  assign req_fire = req_valid_i && req_ready_o;
  assign va_canonical = &req_va_i[63:VaBits-1] || ~|req_va_i[63:VaBits-1];

  // §7 (mmu_pkg::entry_grants): guest and EPT checks, and a write finds the entry dirty.
  assign tlb_grants = mmu_pkg::entry_grants(tlb_acc, tlb_ept_perm, tlb_dirty, req_access_i,
                                            req_user_i);
  // hPA of an STLB hit: the entry's frame | the VA's offset inside a page of the entry's size.
  assign stlb_hpa = {stlb_rd_frame, 12'h000} | (held_q.va[PaBits-1:0] &
      (stlb_rd_size == mmu_pkg::Size2M ? PaBits'(64'h001f_ffff) : PaBits'(64'h0000_0fff)));
  assign stlb_grants = mmu_pkg::entry_grants(stlb_rd_acc, stlb_rd_ept_perm, stlb_rd_dirty,
                                             held_access_q, held_q.user);

  mmu_pkg::resp_t front_resp;  // a hit or an early fault

  always_comb begin : front_end
    front_resp = '0;
    resp_valid_d = resp_valid_q && !resp_ready_i;
    resp_d = resp_q;
    walk_start = 1'b0;
    walk_ctx_d = walk_ctx_q;
    tlb_touch = 1'b0;
    tlb_inv_matching = 1'b0;
    front_ctr_inc = '0;
    held_d = held_q;
    held_access_d = held_access_q;
    stlb_start = 1'b0;
    stlb_touch = 1'b0;
    stlb_drop = 1'b0;
    stlb_refill = 1'b0;
    if (req_fire) begin
      front_ctr_inc = front_ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrLookups);
      if (!lk_found) begin
        front_resp.fault = mmu_pkg::FaultNoContext;
        front_resp.fault_addr = req_va_i;
        front_ctr_inc = front_ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrFaultNoContext);
        resp_valid_d = 1'b1;
        resp_d = front_resp;
      end else if (!va_canonical) begin
        front_resp.fault = mmu_pkg::FaultGuestGp;
        front_resp.fault_addr = req_va_i;
        front_ctr_inc = front_ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrFaultGuestGp);
        resp_valid_d = 1'b1;
        resp_d = front_resp;
      end else if (tlb_match && tlb_grants) begin
        front_resp.hpa = 52'(tlb_hpa);
        front_resp.size = tlb_size;
        front_resp.tlb_hit = 1'b1;
        tlb_touch = 1'b1;
        front_ctr_inc = front_ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrTlbHits);
        resp_valid_d = 1'b1;
        resp_d = front_resp;
      end else begin
        // First-level miss, or a matching entry that does not grant: drop it (§5, §7), then
        // probe the STLB (§9.2), or walk when there is none.
        tlb_inv_matching = tlb_match;
        front_ctr_inc = front_ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrTlbMisses);
        walk_ctx_d = lk_ctx;
        if (StlbSets > 0) begin
          stlb_start = 1'b1;
          held_d.vpid = req_vpid_i;
          held_d.pcid = req_pcid_i;
          held_d.va = req_va_i;
          held_d.user = req_user_i;
          held_d.l1_dropped = tlb_match;
          held_access_d = req_access_i;
        end else begin
          if (tlb_match) front_ctr_inc = front_ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrPermRefills);
          front_ctr_inc = front_ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrWalks);
          walk_start = 1'b1;
        end
      end
    end
    if (stlb_done) begin
      // The STLB probe decides: serve the held request, or drop the matches and walk.
      if (stlb_match && stlb_grants) begin
        front_resp.hpa = 52'(stlb_hpa);
        front_resp.size = stlb_rd_size;
        front_resp.tlb_hit = 1'b1;
        stlb_touch = 1'b1;
        stlb_refill = 1'b1;
        front_ctr_inc = front_ctr_inc | mmu_pkg::ctr_bit(stlb_rd_size == mmu_pkg::Size2M ?
            mmu_pkg::CtrStlbHits2M : mmu_pkg::CtrStlbHits4K);
        if (held_q.l1_dropped) begin
          front_ctr_inc = front_ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrPermRefills);
        end
        resp_valid_d = 1'b1;
        resp_d = front_resp;
      end else begin
        stlb_drop = stlb_match;
        if (stlb_match || held_q.l1_dropped) begin
          front_ctr_inc = front_ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrPermRefills);
        end
        front_ctr_inc = front_ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrWalks);
        walk_start = 1'b1;
      end
    end
    if (walk_resp_valid) begin
      resp_valid_d = 1'b1;
      resp_d = walk_resp;
    end
  end

  always_ff @(posedge clk_i) begin : regs
    if (!rst_ni) begin
      resp_valid_q <= 1'b0;
      resp_q <= '0;
      walk_ctx_q <= '0;
      held_q <= '0;
      held_access_q <= mmu_pkg::AccessRead;
    end else begin
      resp_valid_q <= resp_valid_d;
      resp_q <= resp_d;
      walk_ctx_q <= walk_ctx_d;
      held_q <= held_d;
      held_access_q <= held_access_d;
    end
  end

  assign resp_valid_o = resp_valid_q;
  assign resp_hpa_o = resp_q.hpa[PaBits-1:0];
  assign resp_size_o = resp_q.size;
  assign resp_fault_o = resp_q.fault;
  assign resp_fault_info_o = 32'(resp_q.fault_info);
  assign resp_fault_addr_o = resp_q.fault_addr;
  assign resp_fault_level_o = resp_q.fault_level;
  assign resp_fault_guest_level_o = resp_q.fault_guest_level;
  assign resp_vm_exit_o = resp_q.vm_exit;
  assign resp_tlb_hit_o = resp_q.tlb_hit;

  // ---------------------------------------------------------------------------------------
  // Memory wait (§12): the walker waits for the response of a transferred operation and the
  // response register is empty. Then, until the response comes, nothing but WALK_CYCLES may
  // change, which a harness relies on when it skips such cycles; checked here and in the walker.

  assign mem_wait_o = mem_resp_ready_o && !mem_req_valid_o && !resp_valid_q;

  always_comb begin : mem_wait_check
    if (rst_ni && mem_wait_o && !mem_resp_valid_i) begin
      assert (!req_ready_o && !ctrl_ready_o && !resp_valid_o && !walk_start && !ctx_wr &&
              !inv_valid && !tlb_touch && !tlb_inv_matching && !tlb_fill && !psc_touch &&
              !stlb_busy && !stlb_start && !stlb_touch && !stlb_drop && !stlb_refill &&
              !psc_fill && !ntlb_lk_valid && !ntlb_touch && !ntlb_inv_matching && !ntlb_fill &&
              !eptc_touch && !eptc_fill && !psc_fill_q && !ntlb_fill_q && !eptc_fill_q &&
              !walk_resp_valid && !resp_valid_d &&
              (walk_ctr_inc | front_ctr_inc |
               (mmu_pkg::NumCounters'(ctrl_inv_inc) << mmu_pkg::CtrInvAddr)) ==
                  mmu_pkg::ctr_bit(mmu_pkg::CtrWalkCycles));
    end
  end

  // ---------------------------------------------------------------------------------------
  // Counters.

  // STLB_MISSES_*: walks that completed, by the size of the TLB entry they fill (§14).
  // (STLB_MISSES_4K, 2M and 1G are consecutive counters, in page_size_e order.)
  logic [2:0] stlb_miss_inc;
  assign stlb_miss_inc = tlb_fill ? 3'(3'd1 << tlb_fill_size) : 3'd0;

  mmu_perf_counters u_perf_counters (
    .clk_i,
    .rst_ni,
    .inc_i   (walk_ctr_inc | front_ctr_inc |
              (mmu_pkg::NumCounters'(ctrl_inv_inc) << mmu_pkg::CtrInvAddr) |
              (mmu_pkg::NumCounters'(stlb_miss_inc) << mmu_pkg::CtrStlbMisses4K)),
    .sel_i   (ctr_sel_i),
    .value_o (ctr_value_o)
  );

endmodule
