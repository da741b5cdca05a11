// world.h - the memory image a test runs in: VMs, their address spaces and page tables.
//
// The World lays out, in the DUT's and the model's memory at once (vmmu/dut_check.h's
// MirroredMemory), one host region per VM holding its guest-physical memory at hbase + gPA, guest
// tables in gPA space, "shadow" tables in hPA space mapping the same pages to hbase + gPA (used
// for NATIVE and SHADOW), and an EPT mapping gPA to hbase + gPA with leaf sizes chosen per GiB. So a VM can run in
// any of the four modes and a mode switch keeps its translations. Sequences read the World to
// pick addresses and to find the host address of the entry they change.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "random.h"
#include "vmmu/config.h"
#include "vmmu/dut_check.h"
#include "vmmu/memory.h"
#include "vmmu/page_tables.h"
#include "vmmu/types.h"

namespace vmmu::tb {

struct MappedPage {
  uint64_t va = 0;   // page base
  uint64_t gpa = 0;  // guest frame base
  PageSize size = PageSize::Size4K;
  // Offsets inside the page whose 4K guest-physical pages the EPT maps (requests use these).
  std::array<uint64_t, 3> touch{};
  // Host addresses of the entries mapping the page, by level (0 unused): guest and shadow tables.
  std::array<uint64_t, 6> guest_entry{};
  std::array<uint64_t, 6> shadow_entry{};
};

struct AddressSpace {
  uint16_t pcid = 0;
  std::unique_ptr<GuestPageTables> guest;   // in gPA space, behind the EPT / base offset
  std::unique_ptr<GuestPageTables> shadow;  // in hPA space (NATIVE, SHADOW)
  std::vector<MappedPage> pages;
};

struct Vm {
  uint16_t vpid = 0;
  unsigned slot = 0;
  Mode mode = Mode::Native;
  uint64_t hbase = 0;  // host address of gPA 0; GBASE in DIRECT
  uint64_t gsize = 0;  // GSIZE in DIRECT
  uint64_t data_gpa = 0;  // where the VM's data pages start in gPA space (tables lie below)
  bool guest_ad = true;
  bool ept_ad = false;
  // The EPT's format (§21, EPTP FMT): 1level reaches gPAs below 1 GiB and has no 1G leaf.
  EptFormat ept_format = EptFormat::Radix;
  std::array<PageSize, 16> ept_page_size{};  // EPT leaf size per GiB of gPA
  std::unique_ptr<FrameAllocator> guest_frames;
  std::unique_ptr<EptTables> ept;
  std::vector<AddressSpace> spaces;
  unsigned space = 0;  // address space currently in CR3
  std::vector<uint64_t> escapes;  // gPA pages, one per escape register (0 = free)
  // The guest segment (§18.1), used in GUEST_DIRECT and DUAL_DIRECT: GSEG_BASE with its grant
  // bits, GSEG_LIMIT, GSEG_OFFSET (empty: all zero), and the guest escape entries (gVA pages, one
  // per GESCAPE register, 0 = free).
  uint64_t gseg_base = 0, gseg_limit = 0, gseg_offset = 0;
  std::vector<uint64_t> gescapes;
  uint64_t table_frames_mapped = 0;  // guest table frames already mapped in the EPT
  bool root_nested = false;  // AGILE: GCR3.ROOT_NESTED (§20.1), the switch at the root

  uint64_t eptp() const { return ept->eptp(ept_ad); }
  // The CR3 value that runs address space `index` in `m` (AGILE's is the shadow root, §20.1).
  uint64_t cr3For(Mode m, unsigned index) const {
    const AddressSpace &s = spaces[index];
    return (m == Mode::Native || m == Mode::Shadow || m == Mode::Agile) ? s.shadow->root() : s.guest->root();
  }
  // The GCR3 value of address space `index`: its guest root, and ROOT_NESTED.
  uint64_t gcr3For(unsigned index) const {
    return spaces[index].guest->root() | (root_nested ? agile::RootNested : 0);
  }
};

struct WorldKnobs {
  unsigned vms = 4;                  // VMs, one per context slot (<= NumContexts)
  unsigned spaces_per_vm = 2;        // address spaces (PCIDs) per VM
  unsigned pages_per_space = 40;     // mapped pages per address space
  unsigned large_page_percent = 30;  // share of 2M and 1G guest pages
  bool random_upper_permissions = true;  // restrict RW/US/NX on some upper entries
  bool bounds_faults = true;  // GSIZE leaves part of the data outside (DIRECT BOUNDS faults)
  bool cyclic_ept_sizes = true;  // EPT leaf size of GiB g is 4K, 2M, 1G for g % 3 = 0, 1, 2 (capped)
  // Per address space, one page of each guest size in each of GiB 3, 4, 5 (EPT 4K, 2M, 1G when
  // cyclic), so every page-size combination exists whatever the seed.
  bool every_size_combination = true;
  std::array<Mode, 4> modes{Mode::Native, Mode::Nested, Mode::Shadow, Mode::Direct};  // initial mode per VM
  // Addresses that set the high bits of every address path: VMs in even slots hold their memory
  // near the top of the host space, VMs in odd slots put their data at guest-physical
  // 2^P - 2^39 - 2^34 and up, and the host tables (shadow, native and EPT) lie in the last 4 GiB
  // of the host space; VAs take random bits 37..46 (PML4 and PDPT indices) in either canonical
  // half. Needs PaBits >= 42.
  bool high_addresses = false;
  // Each VM starts with a guest segment (World::pickSegment; used in GUEST_DIRECT and DUAL_DIRECT).
  bool guest_segments = false;
  // The VMs' EPTs in the formats of §21: 2level in slot 0, 1level in slot 1, any format in the
  // others. A 1level VM puts most of its data below 1 GiB (its reach); the rest, and its 1G
  // guest pages, are not in its EPT (EPT violations without a read, §21.4).
  bool ept_formats = false;
  // AGILE (§20.1): the share of mapped pages whose shadow walk gets a switch bit, at a random
  // level above the guest leaf (none where an entry above already has one).
  unsigned agile_switch_percent = 0;
};

class World {
public:
  World(const MmuConfig &config, SparseMemory &dut_memory, SparseMemory &model_memory);

  // Builds the VMs and their tables. Throws std::runtime_error if the layout cannot be built.
  void build(const WorldKnobs &knobs, Random &random);

  const MmuConfig &config() const { return config_; }
  std::vector<Vm> &vms() { return vms_; }
  const std::vector<Vm> &vms() const { return vms_; }
  MirroredMemory &memory() { return memory_; }
  uint64_t peek(uint64_t addr) const { return dut_memory_.peek64(addr); }

  // Maps one more guest page (in both guest and shadow tables, and its EPT pages); returns false
  // when the chosen VA collides with an existing mapping.
  bool addPage(Vm &vm, AddressSpace &space, uint64_t va, uint64_t gpa, PageSize size, uint64_t flags,
               Random &random);
  // Makes the EPT of `vm` map the 4K page of `gpa` (no-op when mapped).
  void ensureEpt(Vm &vm, uint64_t gpa);
  // The control commands that program context slot vm.slot from scratch.
  struct RegWrite {
    CtxReg reg;
    unsigned index;  // escape entry for EscapeBase and GEscapeBase
    uint64_t value;
  };
  std::vector<RegWrite> slotProgram(const Vm &vm) const;
  // Gives `vm` a guest segment over pages of its current address space (§18.1): from a random
  // mapped page, as many pages of its size as follow it, with the OFFSET that maps them where
  // the guest tables do (so the EPT maps the pages the stream touches), or sometimes an OFFSET
  // that does not (EPT and bounds faults); random grant bits; or, sometimes, no segment.
  void pickSegment(Vm &vm, Random &random) const;

  // A random canonical VA of `size` alignment from the address-space layout.
  uint64_t randomVa(Random &random, PageSize size) const;

private:
  void buildVm(Vm &vm, const WorldKnobs &knobs, Random &random);

  MmuConfig config_;
  SparseMemory &dut_memory_;
  MirroredMemory memory_;
  FrameAllocator host_frames_;  // EPT and shadow tables
  bool high_addresses_ = false;  // WorldKnobs::high_addresses of the last build()
  std::vector<Vm> vms_;
};

}  // namespace vmmu::tb
