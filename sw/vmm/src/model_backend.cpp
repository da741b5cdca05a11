// model_backend.cpp - the golden model as the shim's MMU backend.
#include "vmmu/vmm/mmu_backend.h"

namespace vmmu::vmm {

ModelBackend::ModelBackend(const MmuConfig &config, uint64_t cycles_per_ref)
    : ModelBackend(config, MemoryModelConfig::flat(cycles_per_ref)) {}

ModelBackend::ModelBackend(const MmuConfig &config, const MemoryModelConfig &memory_model)
    : timing_(memory_model), mmu_(config, memory_, &timing_) {
  result_.record_ops = false;  // the shim reads a translation's response and cycles, never its operations
}

void ModelBackend::control(CtrlOp op, unsigned ctx, unsigned reg, uint64_t data, uint16_t vpid, uint16_t pcid) {
  mmu_.control(op, ctx, reg, data, vpid, pcid);
}

uint64_t ModelBackend::counter(Counter c) { return mmu_.counter(c); }

}  // namespace vmmu::vmm
