// mmu_pkg: every type shared between the vmmu RTL modules (docs/architecture.md).
//
// The enums carry the same numeric encodings as model/include/vmmu/types.h so that the
// testbench compares the RTL's pins with the golden model without a translation table.
// Widths that depend on parameters (PaBits, GuestLevels) stay in the modules; the structs here
// use the widest possible field (64-bit addresses) and are narrowed at the ports.
package mmu_pkg;

  // §3 translation modes (§18: GUEST_DIRECT and DUAL_DIRECT; §20: AGILE). Code 7 is reserved:
  // a MODE write of it is ignored (mmu_ctx_regs), so no slot ever holds it.
  typedef enum logic [2:0] {
    ModeNative      = 3'd0,
    ModeNested      = 3'd1,
    ModeShadow      = 3'd2,
    ModeDirect      = 3'd3,
    ModeGuestDirect = 3'd4,
    ModeDualDirect  = 3'd5,
    ModeAgile       = 3'd6
  } mode_e;

  // §4 access types.
  typedef enum logic [1:0] {
    AccessRead  = 2'd0,
    AccessWrite = 2'd1,
    AccessExec  = 2'd2
  } access_e;

  // §1 page sizes; the numeric order is the size order (min() is a numeric min).
  typedef enum logic [1:0] {
    Size4K = 2'd0,
    Size2M = 2'd1,
    Size1G = 2'd2
  } page_size_e;

  // §6 fault classes.
  typedef enum logic [2:0] {
    FaultNone          = 3'd0,
    FaultGuestPf       = 3'd1,
    FaultGuestGp       = 3'd2,
    FaultEptViolation  = 3'd3,
    FaultEptMisconfig  = 3'd4,
    FaultBounds        = 3'd5,
    FaultNoContext     = 3'd6
  } fault_e;

  // §13 memory operations and walk dimensions.
  typedef enum logic {
    MemOpRead    = 1'b0,
    MemOpFetchOr = 1'b1
  } mem_op_e;

  typedef enum logic {
    DimGuest  = 1'b0,
    DimNested = 1'b1
  } dim_e;

  // §13 control commands.
  typedef enum logic [2:0] {
    CtrlWriteReg = 3'd0,
    CtrlInvAddr  = 3'd1,
    CtrlInvPcid  = 3'd2,
    CtrlInvVpid  = 3'd3,
    CtrlInvEptp  = 3'd4,
    CtrlInvAll   = 3'd5
  } ctrl_op_e;

  // §3 context registers; escape entry k is CtxRegEscape0 + k, guest escape entry k (§18.1)
  // CtxRegGescape0 + k.
  typedef enum logic [4:0] {
    CtxRegVpid       = 5'd0,
    CtxRegMode       = 5'd1,
    CtxRegCr3        = 5'd2,
    CtxRegEptp       = 5'd3,
    CtxRegGbase      = 5'd4,
    CtxRegGsize      = 5'd5,
    CtxRegFlags      = 5'd6,
    CtxRegEscape0    = 5'd8,
    CtxRegGsegBase   = 5'd16,
    CtxRegGsegLimit  = 5'd17,
    CtxRegGsegOffset = 5'd18,
    CtxRegGcr3       = 5'd19,
    CtxRegGescape0   = 5'd24
  } ctx_reg_e;

  // §14 performance counters, in readout order.
  typedef enum logic [5:0] {
    CtrLookups          = 6'd0,
    CtrTlbHits          = 6'd1,
    CtrTlbMisses        = 6'd2,
    CtrWalks            = 6'd3,
    CtrGuestReads       = 6'd4,
    CtrNestedReads      = 6'd5,
    CtrGuestAdUpdates   = 6'd6,
    CtrNestedAdUpdates  = 6'd7,
    CtrPscHitsL2        = 6'd8,
    CtrPscHitsL3        = 6'd9,
    CtrPscHitsL4        = 6'd10,
    CtrPscHitsL5        = 6'd11,
    CtrNtlbHits         = 6'd12,
    CtrNtlbMisses       = 6'd13,
    CtrWalkCycles       = 6'd14,
    CtrFaultGuestPf     = 6'd15,
    CtrFaultGuestGp     = 6'd16,
    CtrFaultEptViol     = 6'd17,
    CtrFaultEptMisconf  = 6'd18,
    CtrFaultBounds      = 6'd19,
    CtrFaultNoContext   = 6'd20,
    CtrVmExits          = 6'd21,
    CtrInvAddr          = 6'd22,
    CtrInvPcid          = 6'd23,
    CtrInvVpid          = 6'd24,
    CtrInvEptp          = 6'd25,
    CtrInvAll           = 6'd26,
    CtrEscapes          = 6'd27,
    CtrPermRefills      = 6'd28,
    CtrStlbHits4K       = 6'd29,
    CtrStlbHits2M       = 6'd30,
    CtrStlbMisses4K     = 6'd31,  // + page_size_e of the walk's TLB entry
    CtrStlbMisses2M     = 6'd32,
    CtrStlbMisses1G     = 6'd33,
    CtrEptPscHitsL2     = 6'd34,
    CtrEptPscHitsL3     = 6'd35,
    CtrEptPscHitsL4     = 6'd36,
    CtrEptPscHitsL5     = 6'd37
  } ctr_e;

  localparam int unsigned NumCounters = 38;

  // The walker FSM (§12). Named states so that waves show them.
  typedef enum logic [3:0] {
    WalkIdle         = 4'd0,  // waiting for a TLB miss
    WalkStart        = 4'd1,  // probes the PSCs, decides the first operation on a hit
    WalkGuestRead    = 4'd2,  // reading a guest entry
    WalkGuestAdTable = 4'd3,  // setting A in a non-leaf guest entry
    WalkNestedRead   = 4'd4,  // reading an EPT entry
    WalkNestedAd     = 4'd5,  // setting A (and D) in an EPT entry
    WalkGuestAdLeaf  = 4'd6,  // setting A (and D) in the guest leaf, the last operation
    WalkDone         = 4'd7,  // fills the TLB while the response is presented
    WalkXlate        = 4'd8,  // translates the gPA registered in the cycle before (§12 XLATE)
    WalkXlateAnswer  = 4'd9   // decides from the nested-TLB / EPT PSC answer registered in XLATE
  } walk_state_e;

  // §21.1 EPT formats, EPTP bits 9:8 (the model's EptFormat). Code 3 is reserved and walks as
  // RADIX.
  typedef enum logic [1:0] {
    EptFmtRadix = 2'd0,
    EptFmtFlat2 = 2'd1,
    EptFmtFlat1 = 2'd2
  } ept_fmt_e;

  // What an invalidation of the VPID-tagged structures (TLB, PSC) selects (§11).
  typedef enum logic [1:0] {
    InvByAddr  = 2'd0,  // VPID and VA
    InvByPcid  = 2'd1,  // VPID and PCID
    InvByVpids = 2'd2,  // any VPID of a list (INV_VPID, INV_EPTP, implicit flushes)
    InvEvery   = 2'd3   // INV_ALL
  } inv_kind_e;

  // Guest permissions accumulated over a walk (§7).
  typedef struct packed {
    logic rw;
    logic us;
    logic nx;
  } guest_acc_t;

  // The walker's control state (mmu_walker, §12): reset to IDLE, nothing sent, no fill.
  typedef struct packed {
    walk_state_e state;
    logic        mem_sent;      // the memory operation presented has been transferred
    logic        fill_pending;  // the walk's result fills the TLB in DONE
  } walk_ctl_t;

  // The request a walk translates (§4), latched when the walk starts.
  typedef struct packed {
    logic [15:0] vpid;
    logic [11:0] pcid;
    logic [63:0] va;
    access_e     access;
    logic        user;
  } walk_req_t;

  // A response as §4 defines it, with the widest addresses (narrowed to PaBits at the port): an
  // hPA has at most 52 bits (§1's largest P), a fault address 64.
  typedef struct packed {
    logic [51:0] hpa;
    page_size_e  size;
    fault_e      fault;
    logic [8:0]  fault_info;         // §6's bits 8:0; the port's bits 31:9 are zero
    logic [63:0] fault_addr;
    logic [3:0]  fault_level;
    logic [3:0]  fault_guest_level;  // vmmu's addition (§6), not part of the exit qualification
    logic        vm_exit;
    logic        tlb_hit;
  } resp_t;

  // One-hot event vector for counter c (the counters' increment inputs).
  function automatic logic [NumCounters-1:0] ctr_bit(logic [5:0] c);  // c is a ctr_e
    ctr_bit = NumCounters'(1) << c;
  endfunction

  // §7 permission checks, shared by the TLB and STLB hits in mmu_top and the walker. (Inside
  // the package too, names are qualified and arguments are plain vectors: yosys 0.23 inlines a
  // function into its caller's scope and mis-elaborates struct and enum arguments.)
  // The EPT permission bit (R, W or X) an access needs.
  function automatic logic [2:0] ept_perm_needed(logic [1:0] access);  // access_e
    unique case (access)
      2'(mmu_pkg::AccessWrite): ept_perm_needed = 3'b010;
      2'(mmu_pkg::AccessExec):  ept_perm_needed = 3'b100;
      default:                  ept_perm_needed = 3'b001;
    endcase
  endfunction

  // The guest permissions acc ({rw, us, nx}, a guest_acc_t) allow the access (user: a
  // user-mode access).
  function automatic logic guest_grants(logic [2:0] acc, logic [1:0] access, logic user);
    guest_grants = !(user && !acc[1]) && !(access == 2'(mmu_pkg::AccessWrite) && !acc[2]) &&
                   !(access == 2'(mmu_pkg::AccessExec) && acc[0]);
  endfunction

  // The EPT permission perm ({X, W, R}) allows the access.
  function automatic logic ept_grants(logic [2:0] perm, logic [1:0] access);  // access_e
    ept_grants = (perm & mmu_pkg::ept_perm_needed(access)) != 3'b000;
  endfunction

  // A cached translation grants (a TLB or STLB hit): the guest and EPT checks pass and a write
  // finds the entry dirty.
  function automatic logic entry_grants(logic [2:0] acc, logic [2:0] ept_perm, logic dirty,
                                        logic [1:0] access, logic user);
    entry_grants = mmu_pkg::guest_grants(acc, access, user) &&
                   mmu_pkg::ept_grants(ept_perm, access) &&
                   (access != 2'(mmu_pkg::AccessWrite) || dirty);
  endfunction

  // §3, §18: the modes whose gPAs go through the EPT (NESTED; GUEST_DIRECT inside and outside
  // its guest segment), those that add GBASE under the bounds checker (DIRECT, DUAL_DIRECT), and
  // those with a guest segment (GUEST_DIRECT, DUAL_DIRECT). mode is a mode_e.
  function automatic logic mode_nested_dim(logic [2:0] mode);
    mode_nested_dim = mode == 3'(mmu_pkg::ModeNested) || mode == 3'(mmu_pkg::ModeGuestDirect);
  endfunction

  function automatic logic mode_direct_dim(logic [2:0] mode);
    mode_direct_dim = mode == 3'(mmu_pkg::ModeDirect) || mode == 3'(mmu_pkg::ModeDualDirect);
  endfunction

  function automatic logic mode_guest_segment(logic [2:0] mode);
    mode_guest_segment = mode == 3'(mmu_pkg::ModeGuestDirect) ||
                         mode == 3'(mmu_pkg::ModeDualDirect);
  endfunction

  // Bytes of a page of size `size` (a page_size_e), for the formal harnesses' properties.
  function automatic logic [63:0] page_bytes(logic [1:0] size);
    unique case (size)
      2'(mmu_pkg::Size2M): page_bytes = 64'd1 << 21;
      2'(mmu_pkg::Size1G): page_bytes = 64'd1 << 30;
      default:             page_bytes = 64'd1 << 12;
    endcase
  endfunction

  // Not every module uses every entry bit below.
  /* verilator lint_off UNUSEDPARAM */
  // Guest entry bits (§2.1).
  localparam int unsigned PteP = 0, PteRw = 1, PteUs = 2, PteA = 5, PteD = 6, PtePs = 7, PteG = 8,
      PteNx = 63;
  // AGILE's switch bit in a non-leaf shadow entry (§20.1; software-available bit 11 elsewhere).
  localparam int unsigned PteAgileSwitch = 11;
  // EPT entry bits (§2.2), the EPTP A/D enable (§2.3) and the EPTP FMT field's low bit (§21.1).
  localparam int unsigned EptR = 0, EptW = 1, EptX = 2, EptLp = 7, EptA = 8, EptD = 9,
      EptpAdEnable = 6, EptpFmt = 8;

  /* verilator lint_on UNUSEDPARAM */

endpackage
