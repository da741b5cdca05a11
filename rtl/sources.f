# vmmu RTL sources in compilation order (package first, top last).
mmu_pkg.sv
mmu_plru_tree.sv
mmu_sa_array.sv
mmu_tlb_array.sv
mmu_tlb.sv
mmu_psc_array.sv
mmu_psc.sv
mmu_ntlb_array.sv
mmu_ntlb.sv
mmu_ept_psc.sv
mmu_ctx_regs.sv
mmu_bounds_checker.sv
mmu_escape_filter.sv
mmu_perf_counters.sv
mmu_walker.sv
mmu_top.sv
