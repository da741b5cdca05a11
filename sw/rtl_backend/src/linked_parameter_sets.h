// linked_parameter_sets.h - the verilated parameter sets linked into RtlBackend.
//
// Defined by linked_parameter_sets.cpp, which sw/rtl_backend/CMakeLists.txt generates from the
// sets rtl/CMakeLists.txt verilated (VMMU_RTL_PARAMETER_SETS), one harness library each.
#pragma once

#include <vector>

#include "dut_harness.h"

namespace vmmu::rtltest {

// Every linked set, the defaults first.
const std::vector<const RtlParameterSet *> &linkedParameterSets();

}  // namespace vmmu::rtltest
