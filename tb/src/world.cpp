// world.cpp - VM and page-table layout.
#include "world.h"

#include <algorithm>
#include <stdexcept>

namespace vmmu::tb {
namespace {

constexpr uint64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
constexpr uint64_t kHostTablesBase = 1 * kGiB, kHostTablesLimit = 4 * kGiB;
constexpr uint64_t kVmWindow = uint64_t{1} << 36;  // 64 GiB of host space per VM
constexpr uint64_t kGuestTablesBase = 16 * kMiB, kGuestTablesLimit = 256 * kMiB;
constexpr uint64_t kGuestDataBase = 256 * kMiB, kGuestDataLimit = 8 * kGiB;
// VA regions: low user, high user, kernel (global pages). Canonical for 4 and 5 levels.
constexpr uint64_t kVaRegions[] = {0x0000000000400000ull, 0x00007ff000000000ull, 0xffff888000000000ull};
constexpr uint64_t kKernelRegion = 2;

uint64_t alignDown(uint64_t value, uint64_t alignment) { return value & ~(alignment - 1); }

PageSize largestDividing(uint64_t base) {
  if ((base & (pageBytes(PageSize::Size1G) - 1)) == 0)
    return PageSize::Size1G;
  if ((base & (pageBytes(PageSize::Size2M) - 1)) == 0)
    return PageSize::Size2M;
  return PageSize::Size4K;
}

}  // namespace

World::World(const MmuConfig &config, SparseMemory &dut_memory, SparseMemory &model_memory)
    : config_(config), dut_memory_(dut_memory), memory_(dut_memory, model_memory),
      host_frames_(kHostTablesBase, kHostTablesLimit) {}

uint64_t World::randomVa(Random &random, PageSize size) const {
  const unsigned region = static_cast<unsigned>(random.below(3));
  uint64_t base = kVaRegions[region];
  // High addresses: random bits 37..46 under the region's canonical bits 47..63; the offsets below
  // (at most 64 GiB) stay under bit 47, so the VA stays canonical.
  if (high_addresses_)
    base = (base & ~((uint64_t{1} << 47) - 1)) | (random.below(uint64_t{1} << 10) << 37);
  switch (size) {
  case PageSize::Size4K:  // 32 2M slots of 512 pages: plenty of PDE and PDPTE sharing
    return base + random.below(32) * pageBytes(PageSize::Size2M) + random.below(512) * pageBytes(PageSize::Size4K);
  case PageSize::Size2M:
    return base + random.below(2048) * pageBytes(PageSize::Size2M);
  case PageSize::Size1G:
    return alignDown(base, kGiB) + random.below(64) * pageBytes(PageSize::Size1G);
  }
  return base;
}

void World::ensureEpt(Vm &vm, uint64_t gpa) {
  if (vm.ept_format == EptFormat::Flat1 && (gpa >> 30) != 0)
    return;  // beyond 1level's reach (§21.1): accesses fault without an EPT read
  if (vm.ept->translate(gpa))
    return;
  const unsigned gib = static_cast<unsigned>((gpa >> 30) & (vm.ept_page_size.size() - 1));
  const PageSize size = vm.ept_page_size[gib];
  const uint64_t base = alignDown(gpa, pageBytes(size));
  vm.ept->map(base, vm.hbase + base, size, ept::R | ept::W | ept::X);
}

bool World::addPage(Vm &vm, AddressSpace &space, uint64_t va, uint64_t gpa, PageSize size, uint64_t flags,
                    Random &random) {
  // The shadow (and native) tables map the host frames directly, so a guest page larger than the
  // host alignment of the VM's memory is shadowed by smaller pages: only its touched pieces.
  const PageSize shadow_size = std::min(size, largestDividing(vm.hbase));
  const uint64_t shadow_bytes = pageBytes(shadow_size);
  MappedPage page;
  page.va = va;
  page.gpa = gpa;
  page.size = size;
  for (uint64_t &offset : page.touch)
    offset = size == PageSize::Size4K ? 0 : random.below(pageBytes(size) >> 12) << 12;

  auto collides = [&](GuestPageTables &tables, uint64_t addr, unsigned leaf) {
    for (unsigned level = leaf; level <= config_.guest_levels; ++level) {
      const std::optional<uint64_t> entry = tables.hostEntryAddress(addr, level);
      if (!entry)
        continue;
      const uint64_t value = memory_.read64(*entry);
      if ((value & pte::P) && (level == leaf || level == 1 || (value & pte::PS)))
        return true;  // already mapped here or inside a larger page
    }
    return false;
  };
  const unsigned leaf = static_cast<unsigned>(size) + 1;
  const unsigned shadow_leaf = static_cast<unsigned>(shadow_size) + 1;
  if (collides(*space.guest, va, leaf))
    return false;
  for (const uint64_t offset : page.touch)
    if (collides(*space.shadow, va + (offset & ~(shadow_bytes - 1)), shadow_leaf))
      return false;
  try {
    space.guest->map(va, gpa, size, flags);
    for (const uint64_t offset : page.touch) {
      const uint64_t piece = offset & ~(shadow_bytes - 1);
      if (!space.shadow->hostEntryAddress(va + piece, shadow_leaf) ||
          !(memory_.read64(*space.shadow->hostEntryAddress(va + piece, shadow_leaf)) & pte::P))
        space.shadow->map(va + piece, vm.hbase + gpa + piece, shadow_size, flags);
    }
  } catch (const std::logic_error &) {
    return false;  // a collision the checks above did not see; the VA is left unused
  }
  for (unsigned level = leaf; level <= config_.guest_levels; ++level)
    page.guest_entry[level] = space.guest->hostEntryAddress(va, level).value_or(0);
  const uint64_t first_piece = page.touch[0] & ~(shadow_bytes - 1);
  for (unsigned level = shadow_leaf; level <= config_.guest_levels; ++level)
    page.shadow_entry[level] = space.shadow->hostEntryAddress(va + first_piece, level).value_or(0);
  for (const uint64_t offset : page.touch)
    ensureEpt(vm, gpa + offset);
  // Guest tables are read through the EPT in NESTED mode: map every frame they took.
  const uint64_t used = vm.guest_frames->framesUsed();
  for (; vm.table_frames_mapped < used; ++vm.table_frames_mapped)
    ensureEpt(vm, vm.guest_frames->base() + (vm.table_frames_mapped << 12));
  space.pages.push_back(page);
  return true;
}

void World::buildVm(Vm &vm, const WorldKnobs &knobs, Random &random) {
  const unsigned levels = config_.guest_levels;
  const unsigned pa_bits = config_.pa_bits;
  // Host alignment of the VM's memory decides the largest EPT page and DIRECT's align(GBASE).
  const uint64_t top = uint64_t{1} << pa_bits;
  const bool high_memory = knobs.high_addresses && vm.slot % 2 == 0;
  // High memory: 48 GiB into the slot's 64 GiB window counted down from the top (bits 34..P-1 of
  // its frames mostly set). High data: guest-physical 2^P - 2^39 - 2^34 and up, so that with the
  // window of an odd slot (at most 2^38) the host frames stay below 2^P.
  const uint64_t window = high_memory ? top - (uint64_t{vm.slot} + 1) * kVmWindow + kVmWindow / 2 + kVmWindow / 4
                                      : (uint64_t{vm.slot} + 1) * kVmWindow;
  vm.data_gpa = knobs.high_addresses && vm.slot % 2 == 1 ? top - 8 * kVmWindow - kVmWindow / 4 : 0;
  // Slots 0 and 1 get 1G-aligned memory, slot 2 2M-aligned, slot 3 4K-aligned: every host page
  // size and every DIRECT splintering case exists in every run.
  switch (vm.slot % 4) {
  case 0:
  case 1:
    vm.hbase = window;
    break;
  case 2:
    vm.hbase = window + (2 * random.below(8) + 1) * pageBytes(PageSize::Size2M);
    break;
  default:
    vm.hbase = window + (2 * random.below(8) + 1) * pageBytes(PageSize::Size4K);
    break;
  }
  if (knobs.ept_formats)
    vm.ept_format = vm.slot == 0   ? EptFormat::Flat2
                    : vm.slot == 1 ? EptFormat::Flat1
                                   : static_cast<EptFormat>(random.below(3));
  // 1level has no 1G leaf (§21.2).
  const PageSize max_ept =
      std::min(largestDividing(vm.hbase), vm.ept_format == EptFormat::Flat1 ? PageSize::Size2M : PageSize::Size1G);
  for (unsigned gib = 0; gib < vm.ept_page_size.size(); ++gib) {
    const unsigned size = knobs.cyclic_ept_sizes ? gib % 3 : static_cast<unsigned>(random.below(3));
    vm.ept_page_size[gib] = static_cast<PageSize>(std::min(size, static_cast<unsigned>(max_ept)));
  }
  // GSIZE leaves the top of the data range outside: DIRECT accesses there are BOUNDS faults.
  vm.gsize = vm.data_gpa + (knobs.bounds_faults ? 7 * kGiB - random.below(1024) * pageBytes(PageSize::Size4K)
                                                  : kGuestDataLimit);
  vm.guest_ad = random.percent(70);
  vm.ept_ad = random.percent(50);
  vm.guest_frames = std::make_unique<FrameAllocator>(kGuestTablesBase, kGuestTablesLimit);
  vm.ept = std::make_unique<EptTables>(memory_, host_frames_, config_.nested_levels, pa_bits, vm.ept_format);
  vm.escapes.assign(config_.escape_entries, 0);
  vm.gescapes.assign(config_.escape_entries, 0);
  const uint64_t hbase = vm.hbase;
  for (unsigned s = 0; s < knobs.spaces_per_vm; ++s) {
    AddressSpace space;
    space.pcid = static_cast<uint16_t>(1 + s + 16 * vm.slot);
    space.guest = std::make_unique<GuestPageTables>(memory_, *vm.guest_frames, levels, pa_bits,
                                                    [hbase](uint64_t gpa) { return hbase + gpa; });
    space.shadow = std::make_unique<GuestPageTables>(memory_, host_frames_, levels, pa_bits);
    vm.spaces.push_back(std::move(space));
  }
  for (AddressSpace &space : vm.spaces) {
    unsigned attempts = 0;
    while (space.pages.size() < knobs.pages_per_space && attempts++ < 20 * knobs.pages_per_space) {
      PageSize size = PageSize::Size4K;
      if (random.percent(knobs.large_page_percent))
        size = random.percent(70) ? PageSize::Size2M : PageSize::Size1G;
      const uint64_t bytes = pageBytes(size);
      const uint64_t lo = size == PageSize::Size1G ? kGiB : kGuestDataBase;
      const bool within_1g = vm.ept_format == EptFormat::Flat1 && size != PageSize::Size1G && random.percent(85);
      const uint64_t hi = within_1g ? kGiB : kGuestDataLimit;
      const uint64_t gpa = vm.data_gpa + alignDown(lo + random.below(hi - lo), bytes);
      uint64_t va = randomVa(random, size);
      const bool kernel = va >= kVaRegions[kKernelRegion];
      uint64_t flags = 0;
      flags |= random.percent(75) ? pte::RW : 0;
      flags |= (!kernel && random.percent(85)) || (kernel && random.percent(10)) ? pte::US : 0;
      flags |= random.percent(20) ? pte::NX : 0;
      flags |= kernel && random.percent(70) ? pte::G : 0;
      if (random.percent(50)) {
        flags |= pte::A;
        flags |= random.percent(50) ? pte::D : 0;
      }
      flags |= random.percent(10) ? pte::PWT | pte::PCD : 0;
      addPage(vm, space, va, gpa, size, flags, random);
    }
    if (knobs.every_size_combination) {
      for (uint64_t gib = 3; gib <= 5; ++gib)
        for (unsigned g = 0; g < 3; ++g) {
          const PageSize size = static_cast<PageSize>(g);
          const uint64_t offset = size == PageSize::Size1G ? 0 : (random.below(kGiB) & ~(pageBytes(size) - 1));
          for (unsigned attempt = 0; attempt < 100; ++attempt)
            if (addPage(vm, space, randomVa(random, size), vm.data_gpa + gib * kGiB + offset, size, pte::RW | pte::US,
                        random))
              break;
        }
    }
    if (space.pages.empty())
      throw std::runtime_error("World: could not map any page for VPID " + std::to_string(vm.vpid));
  }
  if (knobs.random_upper_permissions) {
    // Restrict a few upper entries so accumulated permissions (§7) differ from the leaf's.
    for (AddressSpace &space : vm.spaces) {
      for (const MappedPage &page : space.pages) {
        if (!random.percent(8))
          continue;
        const unsigned leaf = static_cast<unsigned>(page.size) + 1;
        const unsigned level = static_cast<unsigned>(random.range(leaf + 1, levels));
        const uint64_t change = random.percent(50) ? pte::RW : random.percent(50) ? pte::US : 0;
        for (const uint64_t addr : {page.guest_entry[level], page.shadow_entry[level]}) {
          if (addr == 0)
            continue;
          uint64_t value = memory_.read64(addr) & ~change;
          if (change == 0)
            value |= pte::NX;
          memory_.write64(addr, value);
        }
      }
    }
  }
  if (knobs.agile_switch_percent != 0) {
    // AGILE (§20.1): a switching shadow entry of level l holds the host address of the guest's
    // level l-1 table (hbase + its gPA) with bit 11 set, and keeps its own permission bits.
    const uint64_t address_mask = ((uint64_t{1} << pa_bits) - 1) & ~uint64_t{0xfff};
    for (AddressSpace &space : vm.spaces) {
      for (const MappedPage &page : space.pages) {
        const unsigned leaf = static_cast<unsigned>(page.size) + 1;
        if (leaf >= levels || !random.percent(knobs.agile_switch_percent))
          continue;
        // Mostly the lowest level: a switch above shadows the ones below it on every path through it.
        const unsigned level =
            random.percent(70) ? leaf + 1 : static_cast<unsigned>(random.range(leaf + 1, levels));
        bool switched = false;  // one switch per walk: none on the path above
        for (unsigned l = levels; l >= level; --l)
          switched = switched || (page.shadow_entry[l] != 0 && (memory_.read64(page.shadow_entry[l]) & agile::Switch));
        if (switched || page.shadow_entry[level] == 0 || page.guest_entry[level] == 0)
          continue;
        const uint64_t guest_table = memory_.read64(page.guest_entry[level]) & address_mask;
        const uint64_t shadow = memory_.read64(page.shadow_entry[level]);
        memory_.write64(page.shadow_entry[level], (shadow & ~address_mask) | (hbase + guest_table) | agile::Switch);
      }
    }
  }
}

void World::build(const WorldKnobs &knobs, Random &random) {
  if (knobs.vms == 0 || knobs.vms > config_.num_contexts)
    throw std::runtime_error("World: vms must be 1.." + std::to_string(config_.num_contexts));
  high_addresses_ = knobs.high_addresses;
  if (knobs.high_addresses) {
    // The last 4 GiB of the host space: table addresses with bits 32..P-1 set.
    if (config_.pa_bits < 42)
      throw std::runtime_error("World: high_addresses needs PaBits >= 42");
    const uint64_t top = uint64_t{1} << config_.pa_bits;
    host_frames_ = FrameAllocator(top - 4 * kGiB, top - kGiB);
  }
  static constexpr uint16_t kVpids[] = {0, 0x0005, 0x0a3c, 0xfffe, 0x0101, 0x0202, 0x0303, 0x0404};
  vms_.resize(knobs.vms);
  for (unsigned i = 0; i < knobs.vms; ++i) {
    Vm &vm = vms_[i];
    vm.slot = i;
    vm.vpid = kVpids[i % 8];
    vm.mode = knobs.modes[i % knobs.modes.size()];
    buildVm(vm, knobs, random);
    if (knobs.guest_segments)
      pickSegment(vm, random);
  }
}

std::vector<World::RegWrite> World::slotProgram(const Vm &vm) const {
  std::vector<RegWrite> program;
  program.push_back({CtxReg::Vpid, 0, vm.vpid | (uint64_t{1} << 16)});
  program.push_back({CtxReg::Mode, 0, static_cast<uint64_t>(vm.mode)});
  program.push_back({CtxReg::Cr3, 0, vm.cr3For(vm.mode, vm.space)});
  program.push_back({CtxReg::Eptp, 0, vm.eptp()});
  program.push_back({CtxReg::GBase, 0, vm.hbase});
  program.push_back({CtxReg::GSize, 0, vm.gsize});
  program.push_back({CtxReg::Flags, 0, vm.guest_ad ? 1u : 0u});
  for (unsigned k = 0; k < vm.escapes.size(); ++k)
    program.push_back({CtxReg::EscapeBase, k, vm.escapes[k] ? (vm.escapes[k] | 1) : 0});
  program.push_back({CtxReg::GsegBase, 0, vm.gseg_base});
  program.push_back({CtxReg::GsegLimit, 0, vm.gseg_limit});
  program.push_back({CtxReg::GsegOffset, 0, vm.gseg_offset});
  program.push_back({CtxReg::Gcr3, 0, vm.gcr3For(vm.space)});
  for (unsigned k = 0; k < vm.gescapes.size(); ++k)
    program.push_back({CtxReg::GEscapeBase, k, vm.gescapes[k] ? (vm.gescapes[k] | 1) : 0});
  return program;
}

void World::pickSegment(Vm &vm, Random &random) const {
  const AddressSpace &space = vm.spaces[vm.space];
  if (random.percent(10)) {  // no segment
    vm.gseg_base = vm.gseg_limit = vm.gseg_offset = 0;
    return;
  }
  const MappedPage &first = space.pages[random.below(space.pages.size())];
  const uint64_t bytes = pageBytes(first.size);
  // The pages of the same size that follow `first` in VA and in gPA: the segment covers them.
  uint64_t length = bytes;
  for (bool grown = true; grown && length < 16 * bytes;) {
    grown = false;
    for (const MappedPage &next : space.pages)
      if (next.size == first.size && next.va == first.va + length && next.gpa == first.gpa + length) {
        length += bytes;
        grown = true;
      }
  }
  vm.gseg_base = first.va;
  vm.gseg_limit = first.va + length;
  // A 4K-granular limit inside the last page now and then: gsize shrinks near the end (§18.1).
  if (first.size != PageSize::Size4K && random.percent(20))
    vm.gseg_limit -= random.range(1, 511) * pageBytes(PageSize::Size4K);
  vm.gseg_offset = first.gpa - first.va;
  const unsigned roll = static_cast<unsigned>(random.below(100));
  if (roll < 10)  // the gPAs of another page's guest frame: probably mapped, maybe not in the EPT
    vm.gseg_offset = space.pages[random.below(space.pages.size())].gpa - first.va;
  else if (roll < 20)  // misaligned by 4K: every translation splinters to 4K (§18.1 gsize)
    vm.gseg_offset += pageBytes(PageSize::Size4K);
  else if (roll < 40)  // past GSIZE: BOUNDS in DUAL_DIRECT, an EPT violation in GUEST_DIRECT
    vm.gseg_offset = vm.gsize + random.below(16) * pageBytes(PageSize::Size2M) - first.va;
  vm.gseg_offset &= ~uint64_t{0xfff};
  // What the segment grants: mostly everything, else random bits (permission faults, §18.3).
  const uint64_t grant = random.percent(60) ? (gseg::RW | gseg::US | gseg::X)
                                            : (random.below(8) << 1);
  vm.gseg_base |= grant;
}

}  // namespace vmmu::tb
