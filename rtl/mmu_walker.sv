// mmu_walker: the page walker of §5, one FSM for the walks of every mode: NATIVE, NESTED,
// SHADOW, DIRECT, and (§18) GUEST_DIRECT and DUAL_DIRECT, whose guest segment START decides:
// a VA in it and not escaped is translated gVA + OFFSET with no guest read (the final gPA then
// translated as NESTED's or DIRECT's), any other VA takes NESTED's or DIRECT's walk; and (§20)
// AGILE, which walks as SHADOW until a shadow entry with the switch bit (or GCR3's ROOT_NESTED)
// and as NESTED below it.
//
// A walk is a sequence of memory operations (guest reads, EPT reads, A/D FETCH_ORs) and the
// walker decides the next one in the cycle the previous response arrives (§12), except that a gPA
// to translate (CR3 after a PSC miss in START, a guest table pointer, the final gPA) is
// registered in the cycle it becomes known, with its escape-filter verdict, and translated in the
// next cycle, XLATE: the base-offset addition and the bounds check happen there, away from the
// response decode and the PSC probe (§12: a path of at most 60 gate levels). A gPA that goes
// through the EPT is probed in the nested TLB and the EPT PSC (§10.3) in XLATE; their answer is
// registered, and the cycle after, ANSWER, decides from it (the hit's use, the bounds check, the
// first EPT read), so that neither the probe nor the PLRU update is in series with the decision.
// The decision logic is written as three steps:
//   1. `known_gpa`: which gPA, if any, becomes known this cycle (registered for XLATE);
//      `xr_*`: the gPA XLATE translates, and whether it goes through the EPT;
//   2. the nested TLB and the EPT PSC (outside) answer for that gPA (registered in XLATE);
//   3. `decide`: everything else - faults, the next operation, cache fills, the response.
// An operation decided from registers alone, the first guest read below a PSC hit (START) and
// the first EPT read of an EPT walk (ANSWER, from XLATE's registered answer), is presented in the
// cycle it is decided (`early`); every other one in the cycle after (§12).
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
  input  logic [2:0]                            ctx_mode_i,  // mode_e
  input  logic [PaBits-1:0]                     ctx_cr3_i,
  input  logic [PaBits-1:0]                     ctx_ept_root_i,
  input  logic                                  ctx_ept_ad_i,
  input  logic [1:0]                            ctx_ept_fmt_i,  // ept_fmt_e; 3 walks as RADIX
  // GBASE and GSIZE are 4K-aligned: only their page numbers are used.
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic [PaBits-1:0]                     ctx_gbase_i,
  input  logic [PaBits:0]                       ctx_gsize_i,
  /* verilator lint_on UNUSEDSIGNAL */
  input  logic                                  ctx_guest_ad_i,
  input  logic [EscSlots-1:0]              ctx_esc_valid_i,
  input  logic [EscSlots*(PaBits-12)-1:0]  ctx_esc_page_i,
  // The guest segment (§18.1): BASE[63:12] with the grant bits 3:1 (X, US, RW), LIMIT[63:12],
  // OFFSET[P-1:12], and the guest escape entries (gVA pages [63:12], entry k at [52k +: 52]).
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic [63:0]                           ctx_gseg_base_i,
  input  logic [63:0]                           ctx_gseg_limit_i,
  input  logic [PaBits-1:0]                     ctx_gseg_offset_i,
  /* verilator lint_on UNUSEDSIGNAL */
  input  logic [EscSlots-1:0]                   ctx_gesc_valid_i,
  input  logic [EscSlots*52-1:0]                ctx_gesc_page_i,
  // AGILE (§20.1): gCR3 (GCR3[P-1:12]) and GCR3 bit 0, the switch at the root.
  input  logic [PaBits-1:0]                     ctx_gcr3_i,
  input  logic                                  ctx_root_nested_i,
  // Paging-structure caches (lookup on walk_*_o).
  input  logic                                  psc_hit_i,
  input  logic [2:0]                            psc_level_i,
  input  logic [PaBits-1:0]                     psc_next_i,
  input  mmu_pkg::guest_acc_t                   psc_acc_i,
  input  logic                                  psc_nested_i,  // AGILE: the table is walked nested
  output logic                                  psc_touch_o,
  output logic                                  psc_fill_o,
  output logic [2:0]                            psc_fill_level_o,
  output logic [PaBits-1:0]                     psc_fill_next_o,
  output mmu_pkg::guest_acc_t                   psc_fill_acc_o,
  output logic                                  psc_fill_nested_o,
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
  // {D, A}: the A/D bits a FETCH_OR sets in an entry of its dimension (the top places them in
  // the 64-bit data word of §13); zero for a read.
  output logic [1:0]                            mem_req_ad_o,
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

  // Host address of the EPT entry for gPA x at `level` in the EPT table at `table_addr`: §2's
  // 9-bit index, or (flat, §21.1) an 18-bit index in a 2 MiB table, whose bits 20:12 are not
  // used (level 1: x[29:12], level 2: x[47:30]; a gPA is narrower than 48 bits when PaBits is).
  /* verilator lint_off UNUSEDSIGNAL */
  function automatic logic [PaBits-1:0] ept_entry_addr(logic flat, logic [PaBits-1:0] table_addr,
                                                       logic [PaBits-1:0] x, logic [2:0] level);
  /* verilator lint_on UNUSEDSIGNAL */
    logic [63:0]  gpa;
    logic [17:0]  index;
    gpa = 64'(x);
    index = level == 3'd2 ? gpa[47:30] : gpa[29:12];
    ept_entry_addr = flat ? {table_addr[PaBits-1:21], index, 3'b000} :
                            entry_addr(table_addr, gpa, level);
  endfunction

  // GBASE + x in pages, P - 10 bits (no carry out: x < 2^(P-11)): GBASE + GSIZE (§8.1) and a
  // base-offset translation's gPA + GBASE (§5). Each carry is a comparison of the operands' lower
  // bits (the carry into bit i is set when x[i-1:0] > ~y[i-1:0]): a tree per bit where the flat
  // synthesis of `+` (abc -g) ripples at about two gate levels a bit. On page numbers, not on
  // byte addresses: with twelve constant zero bits below, this flow maps the same comparisons
  // to a ripple of about 60 levels (§12: at most 60).
  function automatic logic [PaBits-11:0] add_pages(logic [PaBits-13:0] gbase_page,
                                                   logic [PaBits-12:0] x_page);
    logic [PaBits-11:0] x, y, carry, low;
    x = (PaBits-10)'(gbase_page);
    y = (PaBits-10)'(x_page);
    carry[0] = 1'b0;
    for (int unsigned i = 1; i < PaBits - 10; i++) begin
      low = (PaBits-10)'((64'd1 << i) - 64'd1);
      carry[i] = (x & low) > (~y & low);
    end
    add_pages = x ^ y ^ carry;
  endfunction

  // GBASE + GSIZE in two halves, for limit below: add_pages' sum split at bit LimLo, the high
  // half summed for either carry (carry select), each half by the same comparisons.
  localparam int unsigned LimW = PaBits - 10;
  localparam int unsigned LimLo = LimW / 2;
  localparam int unsigned LimHi = LimW - LimLo;

  // x + y + cin on LimHi bits, with the carry out on top.
  function automatic logic [LimHi:0] add_part(logic [LimHi-1:0] x, logic [LimHi-1:0] y,
                                              logic cin);
    logic [LimHi:0] xx, yy, carry, low;
    xx = {1'b0, x};
    yy = {1'b0, y};
    carry[0] = cin;
    for (int unsigned i = 1; i <= LimHi; i++) begin
      low = (LimHi+1)'((64'd1 << i) - 64'd1);
      carry[i] = cin ? (xx & low) >= (~yy & low) : (xx & low) > (~yy & low);
    end
    add_part = xx ^ yy ^ carry;
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

  // A page size kept as a plain vector, as the enum.
  function automatic mmu_pkg::page_size_e size_e(logic [1:0] size);
    unique case (size)
      2'd1: size_e = mmu_pkg::Size2M;
      2'd2: size_e = mmu_pkg::Size1G;
      default: size_e = mmu_pkg::Size4K;
    endcase
  endfunction

  // ---------------------------------------------------------------------------------------
  // State, grouped by concern. Only ctl_q is reset: the others are written before they are
  // used. The FSM state and the request are mmu_pkg's walk_ctl_t and walk_req_t; the types
  // below have widths that depend on PaBits, so they live here, and (yosys 0.23 sizes a package
  // type in a module's struct as one bit) their enum- and struct-valued fields are plain vectors.

  // The memory operation presented on the port (§13) until its response.
  typedef struct packed {
    logic [PaBits-1:0] addr;
    logic              fetch_or;  // mem_op_e: a FETCH_OR, else a read
    logic [1:0]        ad;        // {D, A}: the bits a FETCH_OR sets (§2); zero for a read
    logic              nested;    // dim_e: an EPT entry, else a guest entry
    logic [2:0]        level;
  } mem_t;

  // Guest dimension: level, entry and address of the last guest read, permissions so far; or,
  // for a guest segment translation (§18.2), the segment's grant and page size.
  typedef struct packed {
    logic [2:0]          level;
    logic [63:0]         pte;
    logic [PaBits-1:0]   pte_addr;
    logic [2:0]          acc;         // guest_acc_t
    logic                seg;         // the walk translates by the guest segment
    logic [1:0]          seg_gsize;   // page_size_e: its gsize (§18.1)
    logic                nested;      // AGILE (§20.2): past the switch, the tables are the guest's
  } guest_t;

  // Nested dimension: the gPA being translated and why, and the EPT walk's progress.
  typedef struct packed {
    logic [PaBits-1:0]   gpa;
    logic                final_gpa;   // translating the final gPA
    logic [2:0]          glevel;      // else: guest level of the table located
    logic                escaped;     // DIRECT escape path
    logic [2:0]          level;
    logic [2:0]          perm;
    logic [PaBits-1:0]   next_table;  // next EPT table, while its A is being set
    logic                leaf;        // the A/D update in flight is on the leaf
    logic [PaBits-1:0]   res_hpa;
    logic [1:0]          res_size;    // page_size_e
    logic                res_dirty;
  } nested_t;

  // Result of a successful walk, kept for the leaf A/D update and the TLB fill.
  typedef struct packed {
    logic [PaBits-1:0]   hpa;
    logic [1:0]          size;        // page_size_e
    logic [1:0]          gsize;       // page_size_e
    logic                glob;
    logic [2:0]          acc;         // guest_acc_t
    logic [2:0]          perm;
    logic                dirty;
  } result_t;

  // The gPA XLATE translates (§12), registered in the cycle it becomes known.
  typedef struct packed {
    logic [PaBits-1:0]   gpa;
    logic                final_gpa;   // the final gPA, else a table pointer
    logic [2:0]          glevel;      // a table pointer: the guest level of the table located
    logic                escaped;     // DIRECT: an escape entry holds the gPA's page
    logic                in_page;     // an escape entry lies inside the guest page
    logic                ept;         // AGILE: read past the switch, the gPA goes through the EPT
    logic                switches;    // AGILE: a switching shadow entry's pointer (§20.2), an hPA
  } xlate_t;

  // The nested TLB's and the EPT PSC's answer for XLATE's gPA (§12), registered at the end of
  // XLATE and used in ANSWER: whether the nested TLB's hit is used, its translation, and where
  // the EPT walk starts on a miss (below the deepest EPT PSC hit, else at the root).
  typedef struct packed {
    logic                ntlb_match;   // some entry matches
    logic                ntlb_grants;  // and grants the access: the hit is used
    logic [PaBits-1:0]   ntlb_hpa;
    logic [1:0]          ntlb_size;    // page_size_e
    logic [2:0]          ntlb_perm;
    logic                ntlb_dirty;
    logic                eptc_hit;     // the EPT walk starts below an EPT PSC hit
    logic [2:0]          ept_level;    // the EPT walk's first level
    logic [PaBits-1:0]   ept_entry;    // and the entry it reads there
    logic [2:0]          ept_perm;     // the EPT permission above that level
    logic                beyond;       // the gPA lies beyond the EPT format's reach (§21.1)
  } answer_t;

  // GBASE and GSIZE of the walk's context (page numbers), registered in START.
  typedef struct packed {
    logic [PaBits-13:0]  gbase;
    logic [PaBits-12:0]  gsize;
  } span_t;

  mmu_pkg::walk_ctl_t  ctl_q, ctl_d;
  xlate_t              xl_q, xl_d;
  answer_t             ans_q, ans_d;
  // GBASE + GSIZE (§8.1), for the bounds check of a nested translation's host page: summed in
  // every cycle from span_q, registered in START, so that neither the context selection nor the
  // sum is in series with a check (§12). The context is stable while the walker is busy, and
  // the first check against it is in ANSWER or at an EPT walk's end, at least two cycles after
  // START. The sum is registered as two halves (the high one for either carry into it), so
  // that the whole carry chain is not in one cycle: the check selects the high half.
  span_t               span_q, span_d;
  logic [LimHi:0]      lim_lo_q, lim_lo_d;    // low half, with its carry out on top
  logic [LimHi-1:0]    lim_hi0_q, lim_hi0_d;  // high half, no carry into it
  logic [LimHi-1:0]    lim_hi1_q, lim_hi1_d;  // high half, a carry into it
  logic [PaBits+1:0]   limit;
  // The context's EPT format (§21.1), registered in START like span_q and first used in XLATE,
  // so that the slot selection is not in series with the EPT entry's decode (§12).
  logic [1:0]          fmt_q, fmt_d;
  mem_t                mem_q, mem_d;
  mmu_pkg::walk_req_t  req_q, req_d;
  guest_t              guest_q, guest_d;
  nested_t             nested_q, nested_d;
  result_t             res_q, res_d;

  always_ff @(posedge clk_i) begin : regs
    if (!rst_ni) begin
      ctl_q <= '0;  // IDLE, nothing sent, no fill pending
    end else begin
      ctl_q <= ctl_d;
    end
    mem_q <= mem_d;
    req_q <= req_d;
    guest_q <= guest_d;
    nested_q <= nested_d;
    res_q <= res_d;
    xl_q <= xl_d;
    ans_q <= ans_d;
    span_q <= span_d;
    fmt_q <= fmt_d;
    lim_lo_q <= lim_lo_d;
    lim_hi0_q <= lim_hi0_d;
    lim_hi1_q <= lim_hi1_d;
  end

  always_comb begin : limit_halves
    logic [LimW-1:0] x, y;
    x = LimW'(span_q.gbase);
    y = LimW'(span_q.gsize);
    lim_lo_d = add_part(LimHi'(x[LimLo-1:0]), LimHi'(y[LimLo-1:0]), 1'b0);
    lim_hi0_d = LimHi'(add_part(x[LimW-1:LimLo], y[LimW-1:LimLo], 1'b0));
    lim_hi1_d = LimHi'(add_part(x[LimW-1:LimLo], y[LimW-1:LimLo], 1'b1));
  end
  assign limit = {lim_lo_q[LimLo] ? lim_hi1_q : lim_hi0_q, lim_lo_q[LimLo-1:0], 12'h000};

  // Named views of fields, for waves (Verilator traces a packed struct as one vector;
  // tb/waves/vmmu.gtkw shows these, the state with its names) and for the formal harness's
  // probes (scripts/formal, prove_walker: gpte_addr_q, nfinal_q, seg_q, gpte_ad_q).
  mmu_pkg::walk_state_e state_q;
  logic [2:0]           glevel_q, nlevel_q;
  logic [PaBits-1:0]    gpte_addr_q, ngpa_q;
  logic                 nfinal_q, nescaped_q, seg_q;
  logic [1:0]           gpte_ad_q;  // {D, A} of the last guest entry (a segment's stand-in)
  assign state_q = ctl_q.state;
  assign seg_q = guest_q.seg;
  assign gpte_ad_q = {guest_q.pte[mmu_pkg::PteD], guest_q.pte[mmu_pkg::PteA]};
  assign glevel_q = guest_q.level;
  assign gpte_addr_q = guest_q.pte_addr;
  assign ngpa_q = nested_q.gpa;
  assign nfinal_q = nested_q.final_gpa;
  assign nescaped_q = nested_q.escaped;
  assign nlevel_q = nested_q.level;

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

  // guest_q.acc as the struct (a wave view too: yosys 0.23 reads no member of a member).
  mmu_pkg::guest_acc_t acc_q;
  assign acc_q = guest_q.acc;

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
    g_denies = !mmu_pkg::guest_grants(g_acc, req_q.access, req_q.user);
    g_need_table_a = ctx_guest_ad_i && !rdata[mmu_pkg::PteA];
    // A segment translation's guest page is the segment's (§18.1), a walk's its leaf's.
    g_gsize = seg_q ? size_e(guest_q.seg_gsize) : size_of_level(glevel_q);
    g_next_gpa = {rdata[PaBits-1:12], 12'h000};
    g_leaf_gpa = (g_next_gpa & ~offset_mask(g_gsize)) |
                 (req_q.va[PaBits-1:0] & offset_mask(g_gsize));
  end

  // The EPT format of the walk's context (§21.1, from START's copy): the level its walk starts at
  // (m) and whether a gPA lies beyond its reach (FLAT1: 2^30, FLAT2: 2^48).
  logic       fmt_flat2, fmt_flat1, fmt_flat;
  logic [2:0] ept_top;

  always_comb begin : ept_format
    fmt_flat2 = fmt_q == 2'(mmu_pkg::EptFmtFlat2);
    fmt_flat1 = fmt_q == 2'(mmu_pkg::EptFmtFlat1);
    fmt_flat = fmt_flat2 || fmt_flat1;
    ept_top = fmt_flat2 ? 3'd2 : fmt_flat1 ? 3'd1 : 3'(NestedLevels);
  end

  function automatic logic beyond_reach(logic flat2, logic flat1, logic [PaBits-1:0] gpa);
    beyond_reach = (flat1 && (64'(gpa) >> 30) != '0) || (flat2 && (64'(gpa) >> 48) != '0);
  endfunction

  logic                e_present, e_leaf, e_misconf, e_denies, e_write_final;
  logic                e_need_ad, e_dirty;
  logic [2:0]          e_perm, e_mem_type;
  mmu_pkg::page_size_e e_size;
  logic [PaBits-1:0]   e_table, e_hpa;
  logic [8:0]          e_violation;  // the exit-qualification bits §6 defines; those above are 0
  logic [PaBits-1:0]   e_fault_gpa;
  mmu_pkg::access_e    n_access;

  always_comb begin : decode_ept
    n_access = nfinal_q ? req_q.access : mmu_pkg::AccessRead;
    e_perm = nested_q.perm & rdata[2:0];
    e_present = |rdata[2:0];
    // A flattened level 2 maps 1G with LP and level 1 2M with LP (§21.2); a radix level its size.
    e_leaf = nlevel_q == 3'd1 || (rdata[mmu_pkg::EptLp] && (fmt_flat || nlevel_q <= 3'd3));
    e_size = !fmt_flat ? size_of_level(nlevel_q) :
             nlevel_q == 3'd2 ? mmu_pkg::Size1G :
             rdata[mmu_pkg::EptLp] ? mmu_pkg::Size2M : mmu_pkg::Size4K;
    e_mem_type = rdata[5:3];
    // A flattened non-leaf entry points to a 2 MiB-aligned table (§21.2).
    e_misconf = (rdata[mmu_pkg::EptW] && !rdata[mmu_pkg::EptR]) || |(rdata & RsvdHigh) ||
                (nlevel_q >= 3'd4 && rdata[mmu_pkg::EptLp]) ||
                (!e_leaf && (|rdata[6:3] || (fmt_flat && |rdata[20:12]))) ||
                (e_leaf && (e_mem_type == 3'd2 || e_mem_type == 3'd3 || e_mem_type == 3'd7)) ||
                (e_leaf && e_size == mmu_pkg::Size2M && |rdata[20:12]) ||
                (e_leaf && e_size == mmu_pkg::Size1G && |rdata[29:12]);
    e_denies = !mmu_pkg::ept_grants(e_perm, n_access);
    e_write_final = nfinal_q && req_q.access == mmu_pkg::AccessWrite;
    // Non-leaf: A only; leaf: A, and D for the final gPA of a write.
    e_need_ad = ctx_ept_ad_i && (!rdata[mmu_pkg::EptA] ||
                                 (e_leaf && e_write_final && !rdata[mmu_pkg::EptD]));
    e_dirty = !ctx_ept_ad_i || rdata[mmu_pkg::EptD] || e_write_final;
    e_table = {rdata[PaBits-1:12], 12'h000};
    e_hpa = (e_table & ~offset_mask(e_size)) | (ngpa_q & offset_mask(e_size));
    // §6: the SDM's exit qualification (bit 8 final, 7 linear address valid, 5:3 the EPT
    // permission so far, 2:0 the access) and the gPA of the access: the final gPA, or the guest
    // entry read in the table being located (in the page of the gPA, the table's base).
    e_violation = {nfinal_q, 1'b1, 1'b0, e_perm, mmu_pkg::ept_perm_needed(n_access)};
    e_fault_gpa = nfinal_q ? ngpa_q : entry_addr(ngpa_q, req_q.va, nested_q.glevel);
  end

  // ---------------------------------------------------------------------------------------
  // The guest segment (§18.1, §18.2), decided in START from the request and the context: is
  // the VA in it, escaped from it (GESCAPE_k), what the segment grants, the gPA (va + OFFSET
  // modulo 2^P) and the guest page size. The sum is add_pages's carry comparisons on page
  // numbers, beside the PSC probe rather than after it (§12: at most 60 gate levels).

  logic                seg_in, seg_escaped, seg_take, seg_denies;
  logic                gesc_hit, gesc_in_1g, gesc_in_2m;
  mmu_pkg::guest_acc_t seg_acc;
  logic [PaBits-1:0]   seg_gpa;
  mmu_pkg::page_size_e seg_gsize;

  mmu_escape_filter #(.AddrBits(64), .EscapeEntries(EscapeEntries)) u_gescape_1g (
    .esc_valid_i (ctx_gesc_valid_i),
    .esc_page_i  (ctx_gesc_page_i),
    .addr_i      (req_q.va),
    .size_i      (mmu_pkg::Size1G),
    .escaped_o   (gesc_hit),
    .in_page_o   (gesc_in_1g)
  );

  // Only its in_page_o: the 4K match is u_gescape_1g's.
  /* verilator lint_off PINCONNECTEMPTY */
  mmu_escape_filter #(.AddrBits(64), .EscapeEntries(EscapeEntries)) u_gescape_2m (
    .esc_valid_i (ctx_gesc_valid_i),
    .esc_page_i  (ctx_gesc_page_i),
    .addr_i      (req_q.va),
    .size_i      (mmu_pkg::Size2M),
    .escaped_o   (),
    .in_page_o   (gesc_in_2m)
  );
  /* verilator lint_on PINCONNECTEMPTY */

  always_comb begin : segment
    logic [63:0] base;
    logic        fits_1g, fits_2m;
    base = {ctx_gseg_base_i[63:12], 12'h000};
    seg_in = mmu_pkg::mode_guest_segment(ctx_mode_i) && base <= req_q.va &&
             req_q.va < ctx_gseg_limit_i;
    seg_escaped = seg_in && gesc_hit;
    seg_take = seg_in && !gesc_hit;
    seg_acc.rw = ctx_gseg_base_i[1];
    seg_acc.us = ctx_gseg_base_i[2];
    seg_acc.nx = !ctx_gseg_base_i[3];
    seg_denies = !mmu_pkg::guest_grants(seg_acc, req_q.access, req_q.user);
    seg_gpa = {(PaBits-12)'(add_pages(ctx_gseg_offset_i[PaBits-1:12],
                                      {1'b0, req_q.va[PaBits-1:12]})), req_q.va[11:0]};
    // The s-aligned page of va lies in [BASE, LIMIT) (page >= BASE, page + s <= LIMIT: LIMIT is
    // 4K aligned), OFFSET is a multiple of s, and no guest escape entry lies in that page.
    fits_1g = {req_q.va[63:30], 30'h0} >= base && req_q.va[63:30] < ctx_gseg_limit_i[63:30] &&
              ctx_gseg_offset_i[29:12] == '0 && !gesc_in_1g;
    fits_2m = {req_q.va[63:21], 21'h0} >= base && req_q.va[63:21] < ctx_gseg_limit_i[63:21] &&
              ctx_gseg_offset_i[20:12] == '0 && !gesc_in_2m;
    seg_gsize = fits_1g ? mmu_pkg::Size1G : fits_2m ? mmu_pkg::Size2M : mmu_pkg::Size4K;
  end

  // The ESCAPE list (§8.2) on the segment's gPA, for every guest page size at once, the size
  // chosen after: the 4K match, a match in the 2M page and in the 1G page. An entry holds the
  // gPA's page when va + OFFSET == entry (in pages, modulo 2^(P-12)), which is checked without
  // the sum: the carry into each bit that the entry needs is `need = va ^ OFFSET ^ entry`
  // (none into the lowest bit), and each bit's carry out, maj(va, OFFSET, need), must be the
  // next bit's need. So neither the sum nor a filter after it is in series with the segment
  // decision (§12: at most 60 gate levels). At 2M and 1G only the page bits above the size are
  // compared from their own lowest bit: OFFSET is then a multiple of the page (§18.1), so no
  // carry comes from below.
  logic seg_esc_hit, seg_esc_in_1g, seg_esc_in_2m, seg_esc_in_page;

  always_comb begin : segment_escape_match
    logic [PaBits-13:0] va_page, offset_page, entry, need, ok;
    logic [PaBits-14:0] carry;  // out of each bit but the top one
    va_page = req_q.va[PaBits-1:12];
    offset_page = ctx_gseg_offset_i[PaBits-1:12];
    seg_esc_hit = 1'b0;
    seg_esc_in_2m = 1'b0;
    seg_esc_in_1g = 1'b0;
    for (int unsigned k = 0; k < EscSlots; k++) begin
      entry = ctx_esc_page_i[k * (PaBits-12) +: PaBits-12];
      need = va_page ^ offset_page ^ entry;
      carry = (va_page[PaBits-14:0] & offset_page[PaBits-14:0]) |
              (va_page[PaBits-14:0] & need[PaBits-14:0]) |
              (offset_page[PaBits-14:0] & need[PaBits-14:0]);
      ok = {1'b1, ~(carry ^ need[PaBits-13:1])};
      if (EscapeEntries > 0 && ctx_esc_valid_i[k]) begin
        if (!need[0] && &ok) seg_esc_hit = 1'b1;
        if (!need[9] && &ok[PaBits-13:9]) seg_esc_in_2m = 1'b1;
        if (!need[18] && &ok[PaBits-13:18]) seg_esc_in_1g = 1'b1;
      end
    end
  end

  always_comb begin : segment_escape
    unique case (seg_gsize)
      mmu_pkg::Size1G: seg_esc_in_page = seg_esc_in_1g;
      mmu_pkg::Size2M: seg_esc_in_page = seg_esc_in_2m;
      default: seg_esc_in_page = seg_esc_hit;
    endcase
  end

  // ---------------------------------------------------------------------------------------
  // Step 1: the gPA that becomes known this cycle (registered for XLATE), and the one XLATE
  // translates.

  logic                xn_valid, xn_final;
  logic [PaBits-1:0]   xn_gpa;
  logic [2:0]          xn_glevel;
  logic                esc_hit, esc_in_page;
  // AGILE (§20.2): the walk's mode, whether its switch is at the root (START then locates gCR3
  // instead of CR3, through the EPT), whether the known gPA goes through the EPT (it was read
  // past the switch) and whether it is the pointer of a switching shadow entry.
  logic                agile, agile_root, xn_ept, xn_switch;

  assign agile = ctx_mode_i == 3'(mmu_pkg::ModeAgile);
  assign agile_root = agile && ctx_root_nested_i;

  // NATIVE (§12): every table pointer and the final address are host addresses, taken in the
  // cycle the entry holding them is read, with no XLATE cycle; START presents the root read from
  // CR3 (early).
  logic host_tables;
  assign host_tables = ctx_mode_i == 3'(mmu_pkg::ModeNative);

  always_comb begin : known_gpa
    xn_valid = 1'b0;
    xn_final = 1'b0;
    xn_gpa = '0;
    xn_glevel = '0;
    xn_ept = agile && guest_q.nested;
    xn_switch = 1'b0;
    unique case (state_q)
      mmu_pkg::WalkStart: begin
        // (A segment translation's final gPA has its own escape filters, u_seg_escape_*: it is
        // not muxed in here, so that the segment decision is not in series with the filter.)
        if (!psc_hit_i) begin  // locate the root table
          xn_valid = 1'b1;
          xn_gpa = ctx_cr3_i;  // AGILE's gCR3 replaces it in START's arm below
          xn_glevel = 3'(GuestLevels);
          xn_ept = agile_root;
        end
      end
      mmu_pkg::WalkGuestRead: begin
        if (resp_fire && g_present && !g_rsvd) begin
          if (!g_leaf && !g_need_table_a) begin
            xn_valid = 1'b1;
            xn_gpa = g_next_gpa;
            xn_glevel = glevel_q - 3'd1;
            xn_switch = agile && !guest_q.nested && rdata[mmu_pkg::PteAgileSwitch];
          end else if (g_leaf && !g_denies) begin
            xn_valid = 1'b1;
            xn_final = 1'b1;
            xn_gpa = g_leaf_gpa;
          end
        end
      end
      mmu_pkg::WalkGuestAdTable: begin
        if (resp_fire) begin
          xn_valid = 1'b1;
          xn_gpa = {guest_q.pte[PaBits-1:12], 12'h000};
          xn_glevel = glevel_q - 3'd1;
          xn_switch = agile && !guest_q.nested && guest_q.pte[mmu_pkg::PteAgileSwitch];
        end
      end
      default: ;
    endcase
  end

  mmu_escape_filter #(.AddrBits(PaBits), .EscapeEntries(EscapeEntries)) u_escape_filter (
    .esc_valid_i (ctx_esc_valid_i),
    .esc_page_i  (ctx_esc_page_i),
    .addr_i      (xn_gpa),
    .size_i      (g_gsize),
    .escaped_o   (esc_hit),
    .in_page_o   (esc_in_page)
  );

  // XLATE's gPA (and ANSWER's: xl_q is kept).
  logic                xr_valid, xa_valid, xr_final, xr_escaped, xr_nested, xr_in_page;
  mmu_pkg::access_e    xr_access;  // READ for table pointers, the request's for the final gPA
  logic [PaBits-1:0]   xr_gpa;
  logic [2:0]          xr_glevel;

  assign xr_valid = state_q == mmu_pkg::WalkXlate;
  assign xa_valid = state_q == mmu_pkg::WalkXlateAnswer;
  assign xr_final = xl_q.final_gpa;
  assign xr_gpa = xl_q.gpa;
  assign xr_glevel = xl_q.glevel;
  assign xr_escaped = xl_q.escaped;
  assign xr_in_page = xl_q.in_page;
  assign xr_nested = mmu_pkg::mode_nested_dim(ctx_mode_i) || xr_escaped || xl_q.ept;
  assign xr_access = xr_final ? req_q.access : mmu_pkg::AccessRead;
  // Probed in XLATE, whose answer is registered, and again in ANSWER, whose PLRU touch and
  // drop of a non-granting match act on the way that lookup finds: the same, nothing having
  // written the arrays in between (§12).
  assign ntlb_lk_valid_o = (xr_valid || xa_valid) && xr_nested;
  assign ntlb_lk_gpa_o = xr_gpa;

  // Step 2: the answer XLATE registers.
  answer_t ans_now;

  always_comb begin : answer
    ans_now.ntlb_match = ntlb_match_i;
    // A hit is used when the EPT permission allows the access and, for the final gPA of a write
    // with EPT A/D on, the entry is dirty (§5 nested_translate).
    ans_now.ntlb_grants = ntlb_match_i && mmu_pkg::ept_grants(ntlb_perm_i, xr_access) &&
                          (!(xr_final && req_q.access == mmu_pkg::AccessWrite && ctx_ept_ad_i) ||
                           ntlb_dirty_i);
    ans_now.ntlb_hpa = ntlb_hpa_i;
    ans_now.ntlb_size = ntlb_size_i;
    ans_now.ntlb_perm = ntlb_perm_i;
    ans_now.ntlb_dirty = ntlb_dirty_i;
    ans_now.eptc_hit = eptc_hit_i;
    ans_now.beyond = beyond_reach(fmt_flat2, fmt_flat1, xr_gpa);
    if (eptc_hit_i) begin  // the deepest EPT PSC hit skips the EPT levels above it (§10.3)
      ans_now.ept_level = eptc_level_i - 3'd1;
      ans_now.ept_entry = ept_entry_addr(fmt_flat, eptc_next_i, xr_gpa, eptc_level_i - 3'd1);
      ans_now.ept_perm = eptc_perm_i;
    end else begin  // the root table; a flattened one at EPTP[P-1:21] (§21.1)
      ans_now.ept_level = ept_top;
      ans_now.ept_entry = ept_entry_addr(fmt_flat, ctx_ept_root_i, xr_gpa, ept_top);
      ans_now.ept_perm = PermRwx;
    end
  end

  // ---------------------------------------------------------------------------------------
  // Step 3: decisions.

  // A completed translation of a gPA (table pointer or final), before the bounds check.
  logic                xd_valid, xd_final, xd_dirty;
  logic [PaBits-1:0]   xd_gpa;
  logic [2:0]          xd_glevel;
  logic [PaBits-1:0]   xd_hpa;   // a base-offset sum that reaches 2^P fails direct_bounds
  mmu_pkg::page_size_e xd_hsize, xd_size;
  logic [2:0]          xd_perm;
  logic                bounds_pass;

  // The bounds check (§8.1) of a nested translation's host page (an escaped gPA, or the end of
  // its EPT walk); a base-offset page is checked from its gPA below, so that the sum and the
  // comparators are not in series (§12: at most 60 gate levels). The page checked is selected by
  // the state alone (ANSWER: XLATE's registered answer; an EPT walk's end: its leaf, read now or
  // kept for the A/D update), not by the EPT entry's checks that decide whether the translation
  // is taken this cycle, which come late in the cycle; its verdict is used only when it is.
  // GBASE and the limit are the copies of START (span_q, limit).
  logic                xd_direct;      // a base-offset translation (DIRECT, not escaped)
  logic [PaBits-1:0]   chk_hpa;
  mmu_pkg::page_size_e chk_size;
  logic                checker_pass, direct_pass;

  always_comb begin : checked_page
    logic                final_gpa;
    mmu_pkg::page_size_e hsize;
    if (xa_valid) begin
      chk_hpa = ans_q.ntlb_hpa;
      hsize = xr_escaped ? mmu_pkg::Size4K : size_e(ans_q.ntlb_size);
      final_gpa = xr_final;
    end else if (state_q == mmu_pkg::WalkNestedRead) begin
      chk_hpa = e_hpa;
      hsize = nescaped_q ? mmu_pkg::Size4K : e_size;
      final_gpa = nfinal_q;
    end else begin
      chk_hpa = nested_q.res_hpa;
      hsize = nescaped_q ? mmu_pkg::Size4K : size_e(nested_q.res_size);
      final_gpa = nfinal_q;
    end
    // As xd_size below: tables are 4K, a final page the smaller of guest and host page.
    chk_size = !final_gpa ? mmu_pkg::Size4K : (hsize < g_gsize) ? hsize : g_gsize;
  end

  mmu_bounds_checker #(.PaBits(PaBits)) u_bounds_checker (
    .addr_i  ({1'b0, chk_hpa & ~offset_mask(chk_size)}),
    .size_i  (chk_size),
    .gbase_i ({span_q.gbase, 12'h000}),
    .limit_i (limit),
    .pass_o  (checker_pass)
  );

  // §8.1 for a = (gpa & ~mask) + GBASE and n = 2^k the page size: GBASE is 4K-aligned and, n
  // being at most align(GBASE) (§5's hsize), aligned to n, so a = page + GBASE with page the
  // gPA's page. Then GBASE <= a holds, a + n <= GBASE + GSIZE is (page >> k) < (GSIZE >> k), and
  // a + n <= 2^P is a < 2^P, i.e. no carry out of page + GBASE in P bits: page <= ~GBASE.
  // The size is XLATE's (xd_size of its base-offset arm), from registers only; GBASE and GSIZE
  // are the copies of START, in pages.
  mmu_pkg::page_size_e gbase_align;  // the largest page GBASE is aligned to
  mmu_pkg::page_size_e direct_size;

  always_comb begin : direct_bounds
    logic [PaBits-13:0]  page;
    logic [PaBits-13:0]  mask;  // the page's offset bits above bit 12
    logic                below_size;
    mmu_pkg::page_size_e hsize;
    gbase_align = span_q.gbase[17:0] == '0 ? mmu_pkg::Size1G :
                  span_q.gbase[8:0] == '0 ? mmu_pkg::Size2M : mmu_pkg::Size4K;
    hsize = xr_in_page ? mmu_pkg::Size4K : gbase_align;
    direct_size = !xr_final ? mmu_pkg::Size4K : (hsize < g_gsize) ? hsize : g_gsize;
    unique case (direct_size)
      mmu_pkg::Size2M: mask = (PaBits-12)'(9'h1ff);
      mmu_pkg::Size1G: mask = (PaBits-12)'(18'h3ffff);
      default: mask = '0;
    endcase
    page = xr_gpa[PaBits-1:12] & ~mask;
    unique case (direct_size)
      mmu_pkg::Size2M: below_size = ({1'b0, page} >> 9) < (span_q.gsize >> 9);
      mmu_pkg::Size1G: below_size = ({1'b0, page} >> 18) < (span_q.gsize >> 18);
      default: below_size = {1'b0, page} < span_q.gsize;
    endcase
    direct_pass = below_size && page <= ~span_q.gbase;
  end

  assign bounds_pass = xd_direct ? direct_pass : checker_pass;

  // Step 3a: everything up to and including the translation of a gPA.
  always_comb begin : decide_translation
    xd_valid = 1'b0;
    xd_final = xr_final;
    xd_glevel = xr_glevel;
    xd_gpa = xr_gpa;
    xd_hpa = '0;
    xd_direct = 1'b0;
    xd_hsize = mmu_pkg::Size4K;
    xd_perm = PermRwx;
    xd_dirty = 1'b1;
    ntlb_touch_o = 1'b0;
    ntlb_inv_matching_o = 1'b0;

    if (xa_valid) begin
      // nested_translate: the nested TLB first (§5), from XLATE's registered answer.
      if (ans_q.ntlb_grants) begin
        ntlb_touch_o = 1'b1;
        xd_valid = 1'b1;
        xd_hpa = ans_q.ntlb_hpa;
        xd_hsize = xr_escaped ? mmu_pkg::Size4K : size_e(ans_q.ntlb_size);
        xd_perm = ans_q.ntlb_perm;
        xd_dirty = ans_q.ntlb_dirty;
      end else begin
        ntlb_inv_matching_o = ans_q.ntlb_match;  // the EPT walk starts (in decide)
      end
    end else if (xr_valid && xr_nested) begin
      // Probed now, decided in ANSWER.
    end else if (xr_valid && mmu_pkg::mode_direct_dim(ctx_mode_i)) begin
      // Base-offset: hPA = gPA + GBASE; a final page is as large as GBASE's alignment allows,
      // but 4K when an escaped page lies inside the guest page.
      xd_valid = 1'b1;
      xd_direct = 1'b1;
      xd_hpa = {(PaBits-12)'(add_pages(span_q.gbase, {1'b0, xr_gpa[PaBits-1:12]})),
                xr_gpa[11:0]};
      if (xr_final && !xr_in_page) xd_hsize = gbase_align;
    end else if (xr_valid) begin
      // NATIVE and SHADOW: the pointer is already an hPA.
      xd_valid = 1'b1;
      xd_hpa = xr_gpa;
      xd_hsize = xr_final ? g_gsize : mmu_pkg::Size4K;
    end else if (resp_fire && ((state_q == mmu_pkg::WalkNestedRead && e_present &&
                                !e_misconf && e_leaf && !e_denies && !e_need_ad) ||
                               (state_q == mmu_pkg::WalkNestedAd && nested_q.leaf))) begin
      // An EPT walk completed (with or without a final A/D update).
      xd_valid = 1'b1;
      xd_final = nfinal_q;
      xd_glevel = nested_q.glevel;
      xd_gpa = ngpa_q;
      if (state_q == mmu_pkg::WalkNestedRead) begin
        xd_hpa = e_hpa;
        xd_hsize = e_size;
        xd_perm = e_perm;
        xd_dirty = e_dirty;
      end else begin
        xd_hpa = nested_q.res_hpa;
        xd_hsize = size_e(nested_q.res_size);
        xd_perm = nested_q.perm;
        xd_dirty = nested_q.res_dirty;
      end
      if (nescaped_q) xd_hsize = mmu_pkg::Size4K;
    end
    // Splintering: the combined size is the smaller of guest and host page (tables are 4K).
    xd_size = !xd_final ? mmu_pkg::Size4K : (xd_hsize < g_gsize) ? xd_hsize : g_gsize;
  end

  // The operations presented in the cycle they are decided (§12): in START below a PSC hit,
  // from the PSC's answer, and in ANSWER when the nested TLB's registered answer is not used,
  // from that answer. Neither depends on an input of this cycle but the PSC's, itself a function
  // of registers, so the memory port stays a function of registers. `decide` issues the same
  // operation (its mem_d), which the port keeps presenting if it is not accepted now.
  logic                early;
  mem_t                early_mem;
  mem_t                port_op;  // the operation on the port: early_mem when early, else mem_q

  always_comb begin : early_op
    early_mem = '0;
    early = 1'b0;
    if (state_q == mmu_pkg::WalkStart && !seg_take && psc_hit_i) begin
      early = 1'b1;
      early_mem.addr = entry_addr(psc_next_i, req_q.va, psc_level_i - 3'd1);
      early_mem.level = psc_level_i - 3'd1;
    end else if (state_q == mmu_pkg::WalkStart && host_tables) begin  // the root, from CR3
      early = 1'b1;
      early_mem.addr = entry_addr(ctx_cr3_i, req_q.va, 3'(GuestLevels));
      early_mem.level = 3'(GuestLevels);
    end else if (xa_valid && !ans_q.ntlb_grants && !ans_q.beyond) begin
      // Not beyond the EPT format's reach, which ends the walk with no read (§21.4).
      early = 1'b1;
      early_mem.addr = ans_q.ept_entry;
      early_mem.nested = 1'b1;
      early_mem.level = ans_q.ept_level;
    end
  end

  // Step 3b: the next state. The tasks below are the steps the FSM's arms share; each writes
  // the *_d registers and outputs of `decide`, and is called only from inside it.
  mmu_pkg::resp_t resp;
  logic           fin_valid;  // the walk ends this cycle with resp
  logic           issued;     // a memory operation is issued this cycle (for the assertions)

  // Presents a memory operation from the next cycle on (§13): a read of the entry at addr when
  // ad ({D, A}) is zero, else a FETCH_OR of those A/D bits into it; of an EPT entry when nested,
  // else of a guest entry. The caller moves to the state that waits for the response. (Plain-vector
  // arguments: yosys 0.23 sizes an enum-typed task argument wrongly.)
  task automatic issue(logic nested, logic [PaBits-1:0] addr, logic [2:0] level,
                       logic [1:0] ad);
    mem_d.addr = addr;
    mem_d.fetch_or = ad != 2'b00;
    mem_d.ad = ad;
    mem_d.nested = nested;
    mem_d.level = level;
    ctl_d.mem_sent = early && mem_req_ready_i;  // presented now (early) and accepted
    issued = 1'b1;
  endtask

  // Ends the walk with the response in `resp` (fault fields set by the caller).
  task automatic finish();
    fin_valid = 1'b1;
    unique case (resp.fault)
      // A shadow entry's fault exits: SHADOW's, or AGILE's above its switch (§20.3).
      mmu_pkg::FaultGuestPf: resp.vm_exit = ctx_mode_i == mmu_pkg::ModeShadow ||
                                            (agile && !guest_q.nested);
      mmu_pkg::FaultEptViolation, mmu_pkg::FaultEptMisconfig, mmu_pkg::FaultBounds:
        resp.vm_exit = 1'b1;
      default: resp.vm_exit = 1'b0;
    endcase
    ctl_d.fill_pending = resp.fault == mmu_pkg::FaultNone;
    ctl_d.state = mmu_pkg::WalkDone;
  endtask

  // The gPA known this cycle (xn_*) is translated in the next, XLATE (§12).
  task automatic to_xlate();
    xl_d.gpa = xn_gpa;
    xl_d.final_gpa = xn_final;
    xl_d.glevel = xn_glevel;
    xl_d.escaped = mmu_pkg::mode_direct_dim(ctx_mode_i) && esc_hit;
    xl_d.in_page = esc_in_page;
    xl_d.ept = xn_ept;
    xl_d.switches = xn_switch;
    ctl_d.state = mmu_pkg::WalkXlate;
  endtask

  // A gPA that goes through the EPT missed the nested TLB: start the EPT walk at its root, or
  // below the deepest EPT PSC hit, which skips the EPT levels above it (§10.3), as XLATE's
  // registered answer says.
  task automatic start_nested_walk();
    nested_d.gpa = xr_gpa;
    nested_d.final_gpa = xr_final;
    nested_d.glevel = xr_glevel;
    nested_d.escaped = xr_escaped;
    eptc_touch_o = ans_q.eptc_hit;
    nested_d.perm = ans_q.ept_perm;
    nested_d.level = ans_q.ept_level;
    issue(1'b1, ans_q.ept_entry, ans_q.ept_level, 2'b00);
    ctl_d.state = mmu_pkg::WalkNestedRead;
  endtask

  // What taking a translated gPA (xd_*) means, computed once however many arms take one: the
  // guest permissions and entry up to it, and the values take_translation writes.
  mmu_pkg::guest_acc_t acc_cur;
  logic [63:0]         pte_cur;
  logic                write, bounds_fault, leaf_ad, res_dirty;
  logic                nested_below;  // AGILE: the table located is walked nested (§20.2)
  logic [PaBits-1:0]   next_table, next_entry;
  logic [63:0]         bounds_fault_addr;

  always_comb begin : translation_outcome
    write = req_q.access == mmu_pkg::AccessWrite;
    // The guest read's entry and permissions were registered before any translation (XLATE
    // or an EPT walk's end) is taken.
    acc_cur = acc_q;
    pte_cur = guest_q.pte;
    bounds_fault = mmu_pkg::mode_direct_dim(ctx_mode_i) && !bounds_pass;
    bounds_fault_addr = xd_final ? 64'(xd_gpa) : 64'(entry_addr(xd_gpa, req_q.va, xd_glevel));
    next_table = xd_hpa;
    next_entry = entry_addr(next_table, req_q.va, xd_glevel);
    res_dirty = (!ctx_guest_ad_i || write || pte_cur[mmu_pkg::PteD]) && xd_dirty;
    leaf_ad = ctx_guest_ad_i && (!gpte_ad_q[0] || (write && !gpte_ad_q[1]));
    nested_below = guest_q.nested || xl_q.switches;
  end

  // A gPA was translated (xd_*): bounds check (DIRECT), then the next guest read or the end of
  // the walk.
  task automatic take_translation();
    if (bounds_fault) begin
      resp.fault = mmu_pkg::FaultBounds;
      resp.fault_info = {xd_final, 8'h00};
      resp.fault_addr = bounds_fault_addr;
      resp.fault_guest_level = 4'(xd_glevel);
      finish();
    end else if (!xd_final) begin
      if (32'(xd_glevel) < 32'(GuestLevels)) begin
        psc_fill_o = 1'b1;
        psc_fill_level_o = xd_glevel + 3'd1;
        psc_fill_next_o = next_table;
        psc_fill_acc_o = acc_cur;
        psc_fill_nested_o = nested_below;
      end
      guest_d.nested = nested_below;  // the switch takes effect with its pointer
      guest_d.level = xd_glevel;
      guest_d.pte_addr = next_entry;
      issue(1'b0, next_entry, xd_glevel, 2'b00);
      ctl_d.state = mmu_pkg::WalkGuestRead;
    end else begin
      res_d.hpa = next_table;
      res_d.size = xd_size;
      res_d.gsize = g_gsize;
      res_d.glob = pte_cur[mmu_pkg::PteG];
      res_d.acc = acc_cur;
      res_d.perm = xd_perm;
      res_d.dirty = res_dirty;
      if (leaf_ad) begin
        ctl_d.fill_pending = 1'b1;
        issue(1'b0, gpte_addr_q, glevel_q, {write, 1'b1});  // A, and D for a write
        ctl_d.state = mmu_pkg::WalkGuestAdLeaf;
      end else begin
        resp.hpa = 52'(next_table);
        resp.size = xd_size;
        finish();
      end
    end
  endtask

  // NATIVE (host_tables): the guest entry of this cycle (host_pte, read at glevel_q now, or
  // registered before its table A update), with the permissions up to it (host_acc), holds a
  // host address, taken now (§12: no XLATE cycle): as take_translation takes XLATE's, with the
  // entry's own values for the registered ones it reads. A table pointer fills the PSC and
  // presents the next read in the next cycle; a leaf sets A/D or ends the walk. (No bounds
  // check: only DIRECT has one.)
  logic [63:0]         host_pte;
  mmu_pkg::guest_acc_t host_acc;
  logic                host_leaf, host_need_ad;
  logic [PaBits-1:0]   host_table, host_leaf_addr, host_entry;

  always_comb begin : host_address
    host_pte = state_q == mmu_pkg::WalkGuestRead ? rdata : guest_q.pte;
    host_acc = state_q == mmu_pkg::WalkGuestRead ? g_acc : acc_q;
    host_leaf = state_q == mmu_pkg::WalkGuestRead && g_leaf;
    host_table = {host_pte[PaBits-1:12], 12'h000};
    host_entry = entry_addr(host_table, req_q.va, glevel_q - 3'd1);
    host_leaf_addr = (host_table & ~offset_mask(g_gsize)) |
                     (req_q.va[PaBits-1:0] & offset_mask(g_gsize));
    host_need_ad = ctx_guest_ad_i && (!host_pte[mmu_pkg::PteA] ||
                                      (write && !host_pte[mmu_pkg::PteD]));
  end

  task automatic take_host_address();
    if (!host_leaf) begin
      psc_fill_o = 1'b1;
      psc_fill_level_o = glevel_q;
      psc_fill_next_o = host_table;
      psc_fill_acc_o = host_acc;
      guest_d.level = glevel_q - 3'd1;
      guest_d.pte_addr = host_entry;
      issue(1'b0, host_entry, glevel_q - 3'd1, 2'b00);
      ctl_d.state = mmu_pkg::WalkGuestRead;
    end else begin
      res_d.hpa = host_leaf_addr;
      res_d.size = g_gsize;
      res_d.gsize = g_gsize;
      res_d.glob = host_pte[mmu_pkg::PteG];
      res_d.acc = host_acc;
      res_d.perm = PermRwx;
      res_d.dirty = !ctx_guest_ad_i || write || host_pte[mmu_pkg::PteD];
      if (host_need_ad) begin
        ctl_d.fill_pending = 1'b1;
        issue(1'b0, gpte_addr_q, glevel_q, {write, 1'b1});  // A, and D for a write
        ctl_d.state = mmu_pkg::WalkGuestAdLeaf;
      end else begin
        resp.hpa = 52'(host_leaf_addr);
        resp.size = g_gsize;
        finish();
      end
    end
  endtask

  always_comb begin : decide
    ctl_d = ctl_q;
    mem_d = mem_q;
    req_d = req_q;
    guest_d = guest_q;
    nested_d = nested_q;
    res_d = res_q;
    xl_d = xl_q;
    ans_d = ans_q;
    span_d = span_q;
    fmt_d = fmt_q;

    fin_valid = 1'b0;
    issued = 1'b0;
    resp = '0;
    psc_touch_o = 1'b0;
    psc_fill_o = 1'b0;
    psc_fill_level_o = '0;
    psc_fill_next_o = '0;
    psc_fill_acc_o = guest_q.acc;
    psc_fill_nested_o = 1'b0;
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

    // The memory operation presented has been transferred: wait for its response.
    if (mem_req_valid_o && mem_req_ready_i) ctl_d.mem_sent = 1'b1;

    unique case (state_q)
      mmu_pkg::WalkIdle: begin : idle
        if (start_i) begin
          req_d.vpid = start_vpid_i;
          req_d.pcid = start_pcid_i;
          req_d.va = start_va_i;
          req_d.access = start_access_i;
          req_d.user = start_user_i;
          guest_d.acc = 3'b110;  // {rw, us, nx}: nothing denied yet
          ctl_d.fill_pending = 1'b0;
          ctl_d.state = mmu_pkg::WalkStart;
        end
      end

      mmu_pkg::WalkStart: begin : start
        span_d.gbase = ctx_gbase_i[PaBits-1:12];
        span_d.gsize = ctx_gsize_i[PaBits:12];
        fmt_d = ctx_ept_fmt_i;
        guest_d.seg = seg_take;
        guest_d.nested = agile && (psc_hit_i ? psc_nested_i : ctx_root_nested_i);
        if (seg_take) begin
          // A segment translation (§18.2): no PSC, no guest read. Its stand-in entry has A and D
          // set and G clear, so that take_translation fills as §18.6 says (global 0, dirty =
          // ept_dirty) and emits no guest A/D update (the segment has no entries).
          guest_d.seg_gsize = seg_gsize;
          guest_d.acc = seg_acc;
          guest_d.level = 3'd0;
          guest_d.pte = (64'd1 << mmu_pkg::PteA) | (64'd1 << mmu_pkg::PteD);
          if (seg_denies) begin  // §18.3: P = 1, no guest level read
            resp.fault = mmu_pkg::FaultGuestPf;
            resp.fault_info = {4'h0, req_q.access == mmu_pkg::AccessExec, 1'b0, req_q.user,
                               req_q.access == mmu_pkg::AccessWrite, 1'b1};
            resp.fault_addr = req_q.va;
            finish();
          end else begin  // the final gPA, translated in XLATE
            xl_d.gpa = seg_gpa;
            xl_d.final_gpa = 1'b1;
            xl_d.glevel = 3'd0;
            xl_d.escaped = mmu_pkg::mode_direct_dim(ctx_mode_i) && seg_esc_hit;
            xl_d.in_page = seg_esc_in_page;
            xl_d.ept = 1'b0;
            xl_d.switches = 1'b0;
            ctl_d.state = mmu_pkg::WalkXlate;
          end
        end else if (psc_hit_i) begin
          // The deepest PSC hit skips the levels above it (§10.1).
          psc_touch_o = 1'b1;
          guest_d.acc = psc_acc_i;
          guest_d.level = psc_level_i - 3'd1;
          guest_d.pte_addr = entry_addr(psc_next_i, req_q.va, psc_level_i - 3'd1);
          issue(1'b0, guest_d.pte_addr, psc_level_i - 3'd1, 2'b00);
          ctl_d.state = mmu_pkg::WalkGuestRead;
        end else if (host_tables) begin  // the root table at CR3, a host address (early)
          guest_d.level = 3'(GuestLevels);
          guest_d.pte_addr = entry_addr(ctx_cr3_i, req_q.va, 3'(GuestLevels));
          issue(1'b0, guest_d.pte_addr, 3'(GuestLevels), 2'b00);
          ctl_d.state = mmu_pkg::WalkGuestRead;
        end else begin  // the root table's pointer, translated in XLATE
          to_xlate();
          // AGILE's switch at the root: gCR3, through the EPT (§20.1). Chosen here, not in
          // xn_gpa, so that the choice is not in series with the escape filter (§12).
          if (agile_root) xl_d.gpa = ctx_gcr3_i;
        end
      end

      mmu_pkg::WalkGuestRead: begin : guest_read
        if (resp_fire) begin
          guest_d.pte = rdata;
          guest_d.acc = g_acc;
          if (!g_present || g_rsvd || (g_leaf && g_denies)) begin
            resp.fault = mmu_pkg::FaultGuestPf;
            resp.fault_info = {4'h0, req_q.access == mmu_pkg::AccessExec, g_present && g_rsvd,
                               req_q.user, req_q.access == mmu_pkg::AccessWrite, g_present};
            resp.fault_addr = req_q.va;
            resp.fault_level = 4'(glevel_q);
            finish();
          end else if (!g_leaf && g_need_table_a) begin
            issue(1'b0, gpte_addr_q, glevel_q, 2'b01);  // A
            ctl_d.state = mmu_pkg::WalkGuestAdTable;
          end else if (host_tables) begin  // a host address: no XLATE (§12)
            take_host_address();
          end else begin  // the next table's or the final gPA, translated in XLATE
            to_xlate();
          end
        end
      end

      mmu_pkg::WalkGuestAdTable: begin : guest_ad_table
        if (resp_fire && host_tables) begin  // a host address: no XLATE (§12)
          take_host_address();
        end else if (resp_fire) begin  // the next table's pointer, translated in XLATE
          to_xlate();
        end
      end

      mmu_pkg::WalkXlate: begin : xlate
        if (xr_nested) begin  // the nested TLB and the EPT PSC answer; ANSWER decides (§12)
          ans_d = ans_now;
          ctl_d.state = mmu_pkg::WalkXlateAnswer;
        end else begin  // base-offset, or already a host address
          take_translation();
        end
      end

      mmu_pkg::WalkXlateAnswer: begin : xlate_answer
        if (xd_valid) begin  // a nested-TLB hit that grants
          take_translation();
        end else if (ans_q.beyond) begin
          // §21.4: beyond the format's reach, an EPT violation at the top level with no entry
          // read (no R/W/X in the qualification).
          resp.fault = mmu_pkg::FaultEptViolation;
          resp.fault_info = {xr_final, 1'b1, 4'b0000, mmu_pkg::ept_perm_needed(xr_access)};
          resp.fault_addr = bounds_fault_addr;  // the final gPA or the guest entry's gPA (§6)
          resp.fault_level = 4'(ept_top);
          resp.fault_guest_level = 4'(xr_glevel);
          finish();
        end else begin
          start_nested_walk();
        end
      end

      mmu_pkg::WalkNestedRead: begin : nested_read
        if (resp_fire) begin
          nested_d.perm = e_perm;
          if (!e_present || (e_leaf && !e_misconf && e_denies)) begin
            resp.fault = mmu_pkg::FaultEptViolation;
            resp.fault_info = e_violation;
            resp.fault_addr = 64'(e_fault_gpa);
            resp.fault_level = 4'(nlevel_q);
            resp.fault_guest_level = 4'(nested_q.glevel);
            finish();
          end else if (e_misconf) begin
            resp.fault = mmu_pkg::FaultEptMisconfig;  // qualification cleared, as on x86
            resp.fault_addr = 64'(e_fault_gpa);
            resp.fault_level = 4'(nlevel_q);
            resp.fault_guest_level = 4'(nested_q.glevel);
            finish();
          end else if (!e_leaf) begin
            nested_d.next_table = e_table;
            nested_d.leaf = 1'b0;
            if (e_need_ad) begin
              issue(1'b1, mem_q.addr, nlevel_q, 2'b01);  // A
              ctl_d.state = mmu_pkg::WalkNestedAd;
            end else begin
              eptc_fill_o = 1'b1;  // validated, A set: the EPT PSC learns it (§10.3)
              nested_d.level = nlevel_q - 3'd1;
              issue(1'b1, ept_entry_addr(fmt_flat, e_table, ngpa_q, nlevel_q - 3'd1),
                    nlevel_q - 3'd1, 2'b00);
              ctl_d.state = mmu_pkg::WalkNestedRead;
            end
          end else begin
            // EPT leaf that grants: the nested TLB learns it now (§5 ordering).
            ntlb_fill_o = 1'b1;
            ntlb_fill_hpa_o = e_hpa;
            nested_d.res_hpa = e_hpa;
            nested_d.res_size = e_size;
            nested_d.res_dirty = e_dirty;
            if (e_need_ad) begin
              nested_d.leaf = 1'b1;
              issue(1'b1, mem_q.addr, nlevel_q, {e_write_final, 1'b1});  // A, D for a write
              ctl_d.state = mmu_pkg::WalkNestedAd;
            end else begin  // the EPT walk is complete
              take_translation();
            end
          end
        end
      end

      mmu_pkg::WalkNestedAd: begin : nested_ad
        if (resp_fire && !nested_q.leaf) begin
          // The non-leaf entry's A is set: the EPT PSC learns it (§10.3).
          eptc_fill_o = 1'b1;
          eptc_fill_next_o = nested_q.next_table;
          eptc_fill_perm_o = nested_q.perm;
          nested_d.level = nlevel_q - 3'd1;
          issue(1'b1, ept_entry_addr(fmt_flat, nested_q.next_table, ngpa_q, nlevel_q - 3'd1),
                nlevel_q - 3'd1, 2'b00);
          ctl_d.state = mmu_pkg::WalkNestedRead;
        end else if (resp_fire) begin  // the leaf's A/D is set: the EPT walk is complete
          take_translation();
        end
      end

      mmu_pkg::WalkGuestAdLeaf: begin : guest_ad_leaf
        if (resp_fire) begin
          resp.hpa = 52'(res_q.hpa);
          resp.size = size_e(res_q.size);
          finish();
        end
      end

      mmu_pkg::WalkDone: begin : done
        ctl_d.state = mmu_pkg::WalkIdle;
      end

      default: ;
    endcase
  end

  // Counter events (§14), from what the cycle does.
  localparam int unsigned NumCtrs = mmu_pkg::NumCounters;
  logic [NumCtrs-1:0] ctr_inc;

  always_comb begin : counter_events
    ctr_inc = '0;
    if (mem_req_valid_o && mem_req_ready_i) begin
      unique case ({port_op.fetch_or, port_op.nested})
        2'b00: ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrGuestReads);
        2'b01: ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrNestedReads);
        2'b10: ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrGuestAdUpdates);
        default: ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrNestedAdUpdates);
      endcase
    end
    if (state_q != mmu_pkg::WalkIdle) begin
      ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrWalkCycles);
    end
    // Counter bits by decode, not by shifting a one-hot by a computed index: a shifter in series
    // with the fault decision is too deep (§12). Each event class is a run of adjacent counters;
    // its decoded code moves there by a constant (wiring only). One statement per class, so that
    // levels the default tables never reach (L5) leave no line unrun.
    if (psc_touch_o) begin
      ctr_inc = ctr_inc | (NumCtrs'({psc_level_i == 3'd5, psc_level_i == 3'd4,
                                     psc_level_i == 3'd3, psc_level_i == 3'd2})
                           << mmu_pkg::CtrPscHitsL2);
    end
    if (eptc_touch_o) begin  // the hit's level is the first EPT level read plus one
      ctr_inc = ctr_inc | (NumCtrs'({ans_q.ept_level == 3'd4, ans_q.ept_level == 3'd3,
                                     ans_q.ept_level == 3'd2, ans_q.ept_level == 3'd1})
                           << mmu_pkg::CtrEptPscHitsL2);
    end
    // An escaped gPA in XLATE, an escaped gVA in START (§18.4: each once per walk).
    if ((xr_valid && xr_escaped) || (state_q == mmu_pkg::WalkStart && seg_escaped)) begin
      ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrEscapes);
    end
    if (xa_valid) begin
      ctr_inc = ctr_inc | mmu_pkg::ctr_bit(xd_valid ? mmu_pkg::CtrNtlbHits :
                                                      mmu_pkg::CtrNtlbMisses);
    end
    if (fin_valid) begin  // FaultNone sets no bit; the six faults' counters are adjacent
      ctr_inc = ctr_inc | (NumCtrs'({resp.fault == mmu_pkg::FaultNoContext,
                                     resp.fault == mmu_pkg::FaultBounds,
                                     resp.fault == mmu_pkg::FaultEptMisconfig,
                                     resp.fault == mmu_pkg::FaultEptViolation,
                                     resp.fault == mmu_pkg::FaultGuestGp,
                                     resp.fault == mmu_pkg::FaultGuestPf})
                           << mmu_pkg::CtrFaultGuestPf);
    end
    if (fin_valid && resp.vm_exit) ctr_inc = ctr_inc | mmu_pkg::ctr_bit(mmu_pkg::CtrVmExits);
  end

  // ---------------------------------------------------------------------------------------
  // Outputs.

  assign state_o = state_q;
  assign walk_vpid_o = req_q.vpid;
  assign walk_pcid_o = req_q.pcid;
  assign walk_va_o = req_q.va;

  always_comb begin : mem_port
    logic in_mem_state;
    in_mem_state = state_q == mmu_pkg::WalkGuestRead ||
                   state_q == mmu_pkg::WalkGuestAdTable ||
                   state_q == mmu_pkg::WalkNestedRead ||
                   state_q == mmu_pkg::WalkNestedAd ||
                   state_q == mmu_pkg::WalkGuestAdLeaf;
    // An early operation (§12) is presented in the cycle it is decided, the others from mem_q.
    port_op = early ? early_mem : mem_q;
    mem_req_valid_o = (in_mem_state && !ctl_q.mem_sent) || early;
    mem_resp_ready_o = in_mem_state && ctl_q.mem_sent;
    mem_req_addr_o = port_op.addr;
    mem_req_op_o = port_op.fetch_or ? mmu_pkg::MemOpFetchOr : mmu_pkg::MemOpRead;
    mem_req_ad_o = port_op.fetch_or ? port_op.ad : 2'b00;
    mem_req_dim_o = port_op.nested ? mmu_pkg::DimNested : mmu_pkg::DimGuest;
    mem_req_level_o = port_op.level;
  end

  assign resp_valid_o = fin_valid;
  assign resp_o = resp;
  assign ctr_inc_o = ctr_inc;

  assign tlb_fill_o = state_q == mmu_pkg::WalkDone && ctl_q.fill_pending;
  assign tlb_fill_size_o = size_e(res_q.size);
  assign tlb_fill_gsize_o = size_e(res_q.gsize);
  assign tlb_fill_hpa_o = res_q.hpa;
  assign tlb_fill_global_o = res_q.glob;
  assign tlb_fill_acc_o = res_q.acc;
  assign tlb_fill_ept_perm_o = res_q.perm;
  assign tlb_fill_dirty_o = res_q.dirty;

  // ---------------------------------------------------------------------------------------
  // Assertions, checked by simulation (verilator --assert) and by scripts/formal (yosys
  // read_verilog -formal); yosys defines SYNTHESIS when it synthesizes (scripts/synth). Each
  // holds in every state, reachable or not, or (fetch_or_sets_ad) is kept by every transition,
  // so that the induction in scripts/formal needs no hint for them.

`ifndef SYNTHESIS
  logic mem_active, walker_busy;
  assign mem_active = mem_req_valid_o || mem_resp_ready_o;
  assign walker_busy = state_q != mmu_pkg::WalkIdle && state_q != mmu_pkg::WalkDone;

  always_comb begin : assertions
    if (rst_ni) begin
      // The memory port presents a request, then waits for its response: never both, and
      // neither while no walk is in progress (IDLE, START, XLATE, ANSWER, DONE).
      mem_req_xor_resp: assert (!(mem_req_valid_o && mem_resp_ready_o));
      // START and ANSWER present only the operation they decide (early, §12).
      no_mem_while_idle: assert (!mem_active || early ||
                                 (state_q != mmu_pkg::WalkIdle &&
                                  state_q != mmu_pkg::WalkStart &&
                                  state_q != mmu_pkg::WalkXlate &&
                                  state_q != mmu_pkg::WalkXlateAnswer &&
                                  state_q != mmu_pkg::WalkDone));
      // An early operation is the one the cycle issues: the port keeps presenting it (mem_q)
      // until it is accepted.
      early_is_issued: assert (!early || (issued && mem_d == early_mem));
      // A FETCH_OR sets A, and D only with it (§2: only A/D bits, which mem_req_ad_o holds
      // alone); a read carries no data.
      fetch_or_sets_ad: assert (!mem_active ||
                                (port_op.fetch_or ? port_op.ad[0] :
                                                       port_op.ad == 2'b00));
      // No fill, touch or invalidation of a cache while the walker is idle: mmu_top accepts
      // control commands (invalidations, and register writes with their implicit flushes)
      // only then (§12), so no fill meets a pending flush.
      no_fill_while_idle: assert (state_q != mmu_pkg::WalkIdle ||
                                  !(tlb_fill_o || psc_fill_o || ntlb_fill_o || eptc_fill_o ||
                                    psc_touch_o || ntlb_touch_o || ntlb_inv_matching_o ||
                                    eptc_touch_o));
      // One-hot selects: the nested TLB is touched (hit), drops a non-granting match, or
      // learns an EPT leaf; the EPT PSC is touched (a walk starts below its hit) or learns a
      // non-leaf entry; the TLB is filled in DONE, the PSC, nested TLB and EPT PSC during the
      // walk; the PSC is probed only in START, the nested TLB only after it; the EPT PSC's hit
      // is used only when the nested TLB missed.
      ntlb_one_action: assert ($onehot0({ntlb_touch_o, ntlb_inv_matching_o, ntlb_fill_o}));
      eptc_one_action: assert ($onehot0({eptc_touch_o, eptc_fill_o}));
      tlb_fill_alone: assert ($onehot0({tlb_fill_o, psc_fill_o || ntlb_fill_o || eptc_fill_o}));
      psc_or_ntlb_probe: assert ($onehot0({psc_touch_o, ntlb_lk_valid_o}));
      eptc_after_ntlb_miss: assert (!eptc_touch_o || (ntlb_lk_valid_o && !ntlb_touch_o));
      // §12 ANSWER: the touch and the drop act on this cycle's lookup of XLATE's gPA, which
      // finds what XLATE's registered answer found (no fill or invalidation in between).
      answer_stable: assert (!xa_valid ||
                             (ntlb_match_i == ans_q.ntlb_match && eptc_hit_i == ans_q.eptc_hit &&
                              (!eptc_hit_i || eptc_level_i - 3'd1 == ans_q.ept_level)));
      // A cycle ends the walk or issues its next operation, not both; a walk ends only while
      // it is in progress, and the TLB is filled only with a successful walk's result.
      finish_xor_issue: assert ($onehot0({fin_valid, issued}));
      resp_while_walking: assert (!fin_valid || walker_busy);
      fill_in_done: assert (!tlb_fill_o || state_q == mmu_pkg::WalkDone);
      // §12 memory wait: until the response comes, the walker keeps its state and its
      // operation, and translates nothing.
      // §18.2: START decides a segment translation alone: no PSC hit used and no guest read;
      // the segment's permission fault ends the walk (GUEST_PF, level 0), else the final gPA
      // is registered for XLATE.
      segment_skips_psc: assert (!(state_q == mmu_pkg::WalkStart && seg_take) ||
                                 (!psc_touch_o && !issued));
      segment_fault_or_xlate: assert (!(state_q == mmu_pkg::WalkStart && seg_take) ||
                                      (seg_denies ? fin_valid &&
                                                    resp.fault == mmu_pkg::FaultGuestPf &&
                                                    resp.fault_level == 4'd0 :
                                                    ctl_d.state == mmu_pkg::WalkXlate &&
                                                    xl_d.final_gpa && xl_d.glevel == 3'd0));
      // §21.4: a gPA beyond the EPT format's reach that the nested TLB does not grant ends the
      // walk in ANSWER with an EPT violation, no EPT read issued and no EPT PSC entry touched.
      beyond_reach_faults: assert (!(xa_valid && !xd_valid && ans_q.beyond) ||
                                   (fin_valid && resp.fault == mmu_pkg::FaultEptViolation &&
                                    !issued && !eptc_touch_o));
      mem_wait_holds: assert (!(mem_resp_ready_o && !mem_resp_valid_i) ||
                              (ctl_d.state == state_q && ctl_d.mem_sent && !issued &&
                               !fin_valid && !xr_valid && !xn_valid));
    end
  end
`endif

endmodule
