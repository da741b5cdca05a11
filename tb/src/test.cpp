// test.cpp - the test library and the Test module.
#include "test.h"

#include <stdexcept>

namespace vmmu::tb {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint16_t kUnknownVpid = 0x7777;
constexpr uint64_t kReservedBit = uint64_t{1} << 51;

// The host address of the entry the MMU reads for `page` at `level` in the VM's current mode.
// Shadow tables may map a large guest page with smaller pages (world.h): for the leaf level, the
// shadow's own leaf is the one below.
uint64_t liveEntry(const Vm &vm, const MappedPage &page, unsigned level) {
  if (vm.mode != Mode::Native && vm.mode != Mode::Shadow)
    return page.guest_entry[level];
  while (level > 1 && page.shadow_entry[level] == 0)
    --level;
  return page.shadow_entry[level];
}

unsigned leafLevel(const MappedPage &page) { return static_cast<unsigned>(page.size) + 1; }

const AddressSpace &currentSpace(const Vm &vm) { return vm.spaces[vm.space]; }

// A request to `page` at its first touched offset.
void access(ScriptSequence &s, const Vm &vm, const MappedPage &page, Access how = Access::Read, bool user = false,
            uint64_t extra_offset = 0x18) {
  s.request(vm.vpid, currentSpace(vm).pcid, page.va + page.touch[0] + extra_offset, how, user);
}

// Adds a page of `size` at guest-physical `gpa` to the VM's current address space (retrying VAs).
// Returns a copy: the space's page vector may grow (and move) afterwards.
MappedPage addPage(World &world, Vm &vm, Random &random, PageSize size, uint64_t gpa, uint64_t flags) {
  AddressSpace &space = vm.spaces[vm.space];
  for (unsigned attempt = 0; attempt < 200; ++attempt) {
    if (world.addPage(vm, space, world.randomVa(random, size), gpa, size, flags, random))
      return space.pages.back();
  }
  throw std::runtime_error("test setup: no free VA for a " + std::string(toString(size)) + " page");
}

// --- tests ------------------------------------------------------------------------------------

void configureSmoke(TestSetup &setup) {
  setup.world.pages_per_space = 8;
  setup.coverage = {"source.tlb_hit", "source.full_walk", "control.WRITE_REG.*"};
  setup.script = [](World &world, ScriptSequence &s, Random &) {
    for (const Vm &vm : world.vms())
      for (const MappedPage &page : currentSpace(vm).pages) {
        access(s, vm, page);
        access(s, vm, page);  // the second is a TLB hit unless the first faulted
      }
    s.checkpoint();
  };
}

void configureFaultClasses(TestSetup &setup) {
  setup.world.pages_per_space = 12;
  // The four modes this test builds faults in; the guest-segment modes' are random_segment's.
  setup.coverage = {"fault.NATIVE.*", "fault.NESTED.*", "fault.SHADOW.*", "fault.DIRECT.*", "fault.NO_CONTEXT",
                    "fault.ept_access.*"};
  setup.script = [](World &world, ScriptSequence &s, Random &random) {
    for (unsigned m = 0; m < 4; ++m) {
      const Mode mode = static_cast<Mode>(m);
      for (Vm &vm : world.vms()) {
        if (vm.mode != mode)
          s.switchMode(vm, mode);
        const MappedPage page = currentSpace(vm).pages.front();  // a copy: pages are added below
        const uint16_t pcid = currentSpace(vm).pcid;
        const unsigned leaf = leafLevel(page);
        // GUEST_GP: non-canonical.
        s.request(vm.vpid, pcid, page.va ^ (uint64_t{1} << 60));
        // GUEST_PF, not present: nothing maps this PML4 slot.
        s.request(vm.vpid, pcid, 0x0000123456789000ull, Access::Write, true);
        // GUEST_PF, reserved bit in the leaf; then a permission fault (user access, US clear).
        const uint64_t leaf_entry = liveEntry(vm, page, leaf);
        const uint64_t original = world.peek(leaf_entry);
        s.tableWrite(leaf_entry, 0, kReservedBit);
        s.control(CtrlOp::InvAddr, 0, 0, page.va, vm.vpid);
        access(s, vm, page);
        s.tableWrite(leaf_entry, ~uint64_t{0}, (original & ~pte::US) | pte::NX);
        s.control(CtrlOp::InvAddr, 0, 0, page.va, vm.vpid);
        access(s, vm, page, Access::Read, true);
        access(s, vm, page, Access::Exec, false);
        s.tableWrite(leaf_entry, ~uint64_t{0}, original);
        s.control(CtrlOp::InvVpid, 0, 0, 0, vm.vpid);
        if (mode == Mode::Nested || mode == Mode::Direct) {
          // EPT faults: in DIRECT only escaped pages are translated through the EPT (§3).
          const uint64_t gpa = page.gpa + page.touch[0];
          if (mode == Mode::Direct)
            s.writeReg(vm.slot, CtxReg::EscapeBase, (gpa & ~uint64_t{0xfff}) | 1, 0);
          const uint64_t ept_leaf = vm.ept->entryAddress(gpa, 1 + static_cast<unsigned>(vm.ept_page_size[(gpa >> 30) & 15])).value();
          const uint64_t ept_original = world.peek(ept_leaf);
          s.tableWrite(ept_leaf, ept::R | ept::W | ept::X, 0);
          s.control(CtrlOp::InvEptp, 0, 0, vm.eptp());
          access(s, vm, page);
          s.tableWrite(ept_leaf, ept::R, ept::W);  // write without read: misconfigured
          s.control(CtrlOp::InvEptp, 0, 0, vm.eptp());
          access(s, vm, page);
          s.tableWrite(ept_leaf, ~uint64_t{0}, ept_original);
          s.control(CtrlOp::InvEptp, 0, 0, vm.eptp());
          if (mode == Mode::Direct)
            s.writeReg(vm.slot, CtxReg::EscapeBase, 0, 0);
        }
        if (mode == Mode::Nested) {
          // An EPT violation met while locating the guest table that holds the page's leaf: the
          // response names that leaf entry's gPA (§6); the scoreboard compares it with the model.
          constexpr uint64_t kAddressBits = 0x000f'ffff'ffff'f000ull;  // bits 51:12 (§2.1)
          const uint64_t table_gpa = currentSpace(vm).guest->readEntry(page.va, leaf + 1) & kAddressBits;
          const uint64_t table_ept = vm.ept->entryAddress(table_gpa, 1 + static_cast<unsigned>(vm.ept_page_size[(table_gpa >> 30) & 15])).value();
          const uint64_t table_ept_original = world.peek(table_ept);
          s.tableWrite(table_ept, ept::R | ept::W | ept::X, 0);
          s.control(CtrlOp::InvEptp, 0, 0, vm.eptp());
          access(s, vm, page, Access::Write);
          s.tableWrite(table_ept, ~uint64_t{0}, table_ept_original);
          s.control(CtrlOp::InvEptp, 0, 0, vm.eptp());
        }
        if (mode == Mode::Direct) {
          // BOUNDS: a page placed beyond GSIZE.
          const MappedPage outside = addPage(world, vm, random, PageSize::Size4K, vm.gsize + 0x5000, pte::RW | pte::US);
          access(s, vm, outside);
        }
        // A good access for contrast.
        access(s, vm, page);
      }
    }
    s.request(kUnknownVpid, 1, 0x400000);  // NO_CONTEXT
    s.checkpoint();
  };
}

void configureInvalidations(TestSetup &setup) {
  setup.world.pages_per_space = 10;
  setup.coverage = {"control.*", "source.tlb_hit", "source.full_walk"};
  setup.script = [](World &world, ScriptSequence &s, Random &) {
    for (Vm &vm : world.vms()) {
      const AddressSpace &space = currentSpace(vm);
      auto warm = [&]() {
        for (const MappedPage &page : space.pages)
          access(s, vm, page);
      };
      const MappedPage &page = space.pages.front();
      warm();
      warm();  // hits
      s.control(CtrlOp::InvAddr, 0, 0, page.va + pageBytes(page.size) - 1, vm.vpid);  // last byte of the guest page
      warm();
      s.control(CtrlOp::InvPcid, 0, 0, 0, vm.vpid, space.pcid);
      warm();
      s.control(CtrlOp::InvPcid, 0, 0, 0, vm.vpid, static_cast<uint16_t>(space.pcid + 100));  // another PCID: no effect
      warm();
      s.control(CtrlOp::InvVpid, 0, 0, 0, vm.vpid);
      warm();
      s.control(CtrlOp::InvEptp, 0, 0, vm.eptp());
      warm();
      s.control(CtrlOp::InvAll);
      warm();
      // The unused op codes 6 and 7 are accepted and change nothing (§13): the pages still hit.
      s.control(static_cast<CtrlOp>(6), 0, 0, page.va, vm.vpid, space.pcid);
      s.control(static_cast<CtrlOp>(7), 0, 0, page.va, vm.vpid, space.pcid);
      warm();
      // Implicit flushes (§3) and the writes that do not flush.
      for (const World::RegWrite &write : world.slotProgram(vm)) {
        s.writeReg(vm.slot, write.reg, write.value, write.index);
        warm();
      }
      // A context switch to the other address space and back, with the PCID invalidated.
      if (vm.spaces.size() > 1) {
        vm.space = 1;
        s.writeReg(vm.slot, CtxReg::Cr3, vm.cr3For(vm.mode, 1));
        for (const MappedPage &other : vm.spaces[1].pages)
          access(s, vm, other);
        vm.space = 0;
        s.writeReg(vm.slot, CtxReg::Cr3, vm.cr3For(vm.mode, 0));
        s.control(CtrlOp::InvPcid, 0, 0, 0, vm.vpid, vm.spaces[1].pcid);
        warm();
      }
      s.checkpoint();
    }
  };
}

void configureSplintering(TestSetup &setup) {
  setup.world.pages_per_space = 4;
  setup.world.cyclic_ept_sizes = true;
  setup.coverage = {"size.NESTED.*", "size.DIRECT.*", "size.NATIVE.*", "size.SHADOW.*"};
  setup.script = [](World &world, ScriptSequence &s, Random &random) {
    for (Vm &vm : world.vms()) {
      // GiB 3, 4, 5 have EPT leaves of 4K, 2M, 1G (capped by the VM's host alignment).
      std::vector<MappedPage> pages;
      for (unsigned gib = 3; gib <= 5; ++gib)
        for (unsigned g = 0; g < 3; ++g) {
          const PageSize size = static_cast<PageSize>(g);
          const uint64_t gpa = gib * kGiB + (size == PageSize::Size1G ? 0 : 0x2340'0000ull & ~(pageBytes(size) - 1));
          pages.push_back(addPage(world, vm, random, size, gpa, pte::RW | pte::US));
        }
      for (const Mode mode : {Mode::Nested, Mode::Direct, Mode::Native, Mode::Shadow}) {
        s.switchMode(vm, mode);
        for (const MappedPage &page : pages) {
          access(s, vm, page, Access::Write);
          access(s, vm, page, Access::Read);  // hit on the splintered entry
          // One INVLPG anywhere in the guest page removes every splintered piece (§11).
          s.control(CtrlOp::InvAddr, 0, 0, page.va + pageBytes(page.size) - 8, vm.vpid);
          access(s, vm, page, Access::Read);
        }
      }
      s.checkpoint();
    }
  };
}

void configureCacheHits(TestSetup &setup) {
  setup.world.pages_per_space = 40;
  setup.coverage = {"source.*", "event.guest_ad_update", "event.nested_ad_update"};
  setup.script = [](World &world, ScriptSequence &s, Random &) {
    for (const Mode mode : {Mode::Nested, Mode::Direct, Mode::Native}) {
      for (Vm &vm : world.vms()) {
        s.switchMode(vm, mode);
        s.writeReg(vm.slot, CtxReg::Flags, 1);  // guest A/D on
        vm.ept_ad = true;
        s.writeReg(vm.slot, CtxReg::Eptp, vm.eptp());
        for (int pass = 0; pass < 2; ++pass) {
          for (const MappedPage &page : currentSpace(vm).pages)
            access(s, vm, page, pass ? Access::Write : Access::Read);
          // Dropping the TLB keeps the walk caches: the next pass starts from PSC hits.
          s.control(CtrlOp::InvPcid, 0, 0, 0, vm.vpid, currentSpace(vm).pcid);
        }
      }
    }
    // An escaped page in DIRECT mode takes the nested path.
    Vm &vm = world.vms().front();
    s.switchMode(vm, Mode::Direct);
    const MappedPage &page = currentSpace(vm).pages.front();
    s.writeReg(vm.slot, CtxReg::EscapeBase, ((page.gpa + page.touch[0]) & ~uint64_t{0xfff}) | 1, 1);
    access(s, vm, page);
    s.checkpoint();
  };
}

void configureBoundsEdges(TestSetup &setup) {
  setup.world.pages_per_space = 6;
  setup.coverage = {"fault.DIRECT.BOUNDS", "fault.DIRECT.GUEST_PF", "size.DIRECT.guest_4K.combined_4K"};
  setup.script = [](World &world, ScriptSequence &s, Random &random) {
    const unsigned pa_bits = world.config().pa_bits;
    for (Vm &vm : world.vms()) {
      s.switchMode(vm, Mode::Direct);
      const uint64_t end = vm.gsize;
      const uint64_t flags = pte::RW | pte::US;
      const MappedPage last_inside = addPage(world, vm, random, PageSize::Size4K, end - 0x1000, flags);
      const MappedPage first_outside = addPage(world, vm, random, PageSize::Size4K, end, flags);
      // A 2M page that starts inside and ends outside (GSIZE is not 2M aligned unless by chance).
      const MappedPage straddling = addPage(world, vm, random, PageSize::Size2M, end & ~(pageBytes(PageSize::Size2M) - 1), flags);
      for (const MappedPage *page : {&last_inside, &first_outside, &straddling}) {
        s.request(vm.vpid, currentSpace(vm).pcid, page->va);
        s.request(vm.vpid, currentSpace(vm).pcid, page->va + 0xff8);
      }
      // Guest tables outside GSIZE: every walk faults on the root table.
      s.writeReg(vm.slot, CtxReg::GSize, 0x1000);
      access(s, vm, currentSpace(vm).pages.front());
      // GSIZE = 2^P with GBASE = 0: the check passes everywhere (the walk then reads empty memory).
      s.writeReg(vm.slot, CtxReg::GBase, 0);
      s.writeReg(vm.slot, CtxReg::GSize, uint64_t{1} << pa_bits);
      access(s, vm, currentSpace(vm).pages.front());
      // GBASE near the top of the host space: gPA + GBASE beyond 2^P is out of bounds.
      s.writeReg(vm.slot, CtxReg::GBase, (uint64_t{1} << pa_bits) - kGiB);
      s.writeReg(vm.slot, CtxReg::GSize, 2 * kGiB);
      s.writeReg(vm.slot, CtxReg::Cr3, kGiB + kGiB / 2);
      access(s, vm, currentSpace(vm).pages.front());
      s.writeReg(vm.slot, CtxReg::Cr3, 0x1000);  // inside 2^P: empty table, not-present fault
      access(s, vm, currentSpace(vm).pages.front());
      // Restore the VM.
      s.writeReg(vm.slot, CtxReg::GBase, vm.hbase);
      s.writeReg(vm.slot, CtxReg::GSize, vm.gsize);
      s.writeReg(vm.slot, CtxReg::Cr3, vm.cr3For(vm.mode, vm.space));
      access(s, vm, last_inside);
      s.checkpoint();
    }
  };
}

void configureStlbAfterDrop(TestSetup &setup) {
  // §9.2: a first-level entry that does not grant is dropped and the STLB probed; here the STLB
  // holds a different, granting entry for the same VA, which answers (and PERM_REFILLS counts the
  // drop once). The two differ only when the tables changed without an invalidation of that page:
  // a writable 4K page X is cached in both levels, pushed out of the first level, then its 2M
  // region becomes a read-only 2M page that a read of a neighbouring page caches in the first
  // level. A write to X then finds the read-only 2M entry first and the stale 4K one in the STLB.
  setup.world.pages_per_space = 4;
  setup.world.random_upper_permissions = false;  // X must be writable at every level
  setup.coverage = {"stlb.hit_4K", "stlb.hit.NATIVE", "event.perm_refill", "source.tlb_hit"};
  setup.script = [](World &world, ScriptSequence &s, Random &random) {
    constexpr uint64_t k2M = uint64_t{1} << 21;
    const MmuConfig &config = world.config();
    Vm &vm = world.vms().front();
    if (vm.mode != Mode::Native)
      s.switchMode(vm, Mode::Native);
    const MappedPage x = addPage(world, vm, random, PageSize::Size4K, vm.data_gpa + 3 * kGiB + 0x1235000,
                                  pte::RW | pte::US);
    access(s, vm, x, Access::Write);  // walk: X, dirty and writable, in the first level and the STLB
    // Pages in X's first-level 4K set (VPN mod sets) but other STLB sets: as many walks as the
    // set has ways, and two more, push X out of the first level only.
    const uint64_t set_stride = uint64_t{config.tlb[0].sets} << 12;
    unsigned pushed = 0;
    for (uint64_t k = 1; pushed < config.tlb[0].ways + 2 && k < config.stlb.sets / config.tlb[0].sets; ++k) {
      const uint64_t va = x.va + k * set_stride;
      if (world.addPage(vm, vm.spaces[vm.space], va, x.gpa, PageSize::Size4K, pte::RW | pte::US, random)) {
        access(s, vm, currentSpace(vm).pages.back());
        ++pushed;
      }
    }
    if (pushed < config.tlb[0].ways + 2)
      throw std::runtime_error("test setup: too few pages to push X out of the first level");
    // X's 2M region becomes a read-only 2M page (PDE rewritten, no INV_ADDR of X); INV_ADDR of a
    // neighbouring page drops the PSC's cached pointers to the old page table and leaves X's
    // 4K entry in the STLB (§11: its guest page does not contain that address).
    const uint64_t pde = liveEntry(vm, x, 2);
    const uint64_t pde_original = world.peek(pde);
    const uint64_t neighbour = x.va ^ 0x1000;
    s.tableWrite(pde, ~uint64_t{0}, ((vm.hbase + x.gpa) & ~(k2M - 1)) | pte::P | pte::US | pte::A | pte::D | pte::PS);
    s.control(CtrlOp::InvAddr, 0, 0, neighbour, vm.vpid);
    s.request(vm.vpid, currentSpace(vm).pcid, neighbour + 0x40);  // walk: the read-only 2M entry
    s.request(vm.vpid, currentSpace(vm).pcid, x.va + 0x18, Access::Write);  // drop, then the STLB's X
    s.request(vm.vpid, currentSpace(vm).pcid, x.va + 0x20, Access::Write);  // X refilled: a hit
    s.checkpoint();
    s.tableWrite(pde, ~uint64_t{0}, pde_original);
    s.control(CtrlOp::InvVpid, 0, 0, 0, vm.vpid);
    access(s, vm, x, Access::Write);
    s.checkpoint();
  };
}

void configureModeSwitch(TestSetup &setup) {
  setup.world.pages_per_space = 12;
  setup.coverage = {"control.WRITE_REG.MODE", "control.WRITE_REG.CR3", "source.tlb_hit", "source.full_walk"};
  setup.script = [](World &world, ScriptSequence &s, Random &) {
    // One VM at a time moves through every mode while the others keep theirs and keep running.
    for (Vm &mover : world.vms()) {
      for (unsigned step = 1; step <= 4; ++step) {
        s.switchMode(mover, static_cast<Mode>((static_cast<unsigned>(mover.mode) + 1) % 4));
        for (const Vm &vm : world.vms())
          for (const MappedPage &page : currentSpace(vm).pages)
            access(s, vm, page);
      }
    }
    s.checkpoint();
  };
}

// Declares the bins the random stream reaches with any seed at its default length. The rarest
// size crosses (guest 1G, host 1G: one VM's pages in one mode) are left to `splintering`, which
// builds them on purpose and declares the full cross; DIRECT's EPT faults (an escaped page with a
// broken EPT entry) come in bursts that some seeds miss, and `fault_classes` declares them.
void declareRandomCoverage(TestSetup &setup) {
  setup.coverage = {"fault.NATIVE.*",
                    "fault.NESTED.*",
                    "fault.SHADOW.*",
                    "fault.DIRECT.GUEST_PF",
                    "fault.DIRECT.GUEST_GP",
                    "fault.DIRECT.BOUNDS",
                    "fault.NO_CONTEXT",
                    "source.*",
                    "control.*",
                    "event.*",
                    "size.NATIVE.*",
                    "size.SHADOW.*",
                    "size.NESTED.guest_4K.*",
                    "size.NESTED.guest_2M.host_4K",
                    "size.NESTED.guest_2M.host_2M",
                    "size.DIRECT.guest_4K.*",
                    "size.DIRECT.guest_2M.*"};
}

void configureRandom(TestSetup &setup) {
  setup.stream = TestSetup::Stream::Random;
  setup.world.pages_per_space = 24;
  setup.random_knobs.table_change_permille = 20;
  setup.default_count = 20000;
  setup.random_knobs.checkpoint_every = 5000;
  setup.env.memory.model = LatencyModel::Random;
  setup.env.response_stall_permille = 50;
  setup.env.memory.ready_stall_permille = 50;
  setup.env.request_gap_permille = 20;
  declareRandomCoverage(setup);
  setup.coverage.push_back("backpressure.*");
}

void configureRandomHigh(TestSetup &setup) {
  // `random` with addresses that set the high bits of every address path (WorldKnobs::
  // high_addresses): host memory at the top of the host space, guest data high in the
  // guest-physical space, host tables at 2^(P-1). Toggle coverage of the frame, tag and address
  // registers (scripts/coverage) needs them; the checks are those of any random run.
  configureRandom(setup);
  setup.world.high_addresses = true;
}

// Every STLB bin (§9.2) but the hits of the guest-segment modes, which the streams that run in
// the four classic modes never reach.
void declareStlbCoverage(TestSetup &setup) {
  for (const char *const pattern : {"stlb.hit_*", "stlb.miss_*", "stlb.fill", "stlb.drop_non_granting.*",
                                    "stlb.sweep.*", "stlb.clear.*", "stlb.hit.NATIVE", "stlb.hit.NESTED",
                                    "stlb.hit.SHADOW", "stlb.hit.DIRECT"})
    setup.coverage.push_back(pattern);
}

void configureRandomHits(TestSetup &setup) {
  setup.stream = TestSetup::Stream::Random;
  setup.default_count = 100000;
  setup.world.pages_per_space = 24;
  setup.world.bounds_faults = false;
  setup.random_knobs.locality_percent = 99;
  setup.random_knobs.benign_access_percent = 95;
  setup.random_knobs.table_change_permille = 0;  // a broken hot page would fault on every access
  setup.random_knobs.control_permille = 2;
  setup.random_knobs.idle_permille = 0;
  setup.random_knobs.odd_request_permille = 2;
  setup.random_knobs.checkpoint_every = 25000;
  // Hot pages cycling through the first level reach the STLB (§9.2): every STLB bin, 2M hits
  // included (7-11 of them with seeds 1-3).
  setup.coverage = {"source.tlb_hit", "source.full_walk"};
  declareStlbCoverage(setup);
}

void configureRandomStlb(TestSetup &setup) {
  // A footprint larger than the first level's reach and inside the STLB's (§9.2): 4 VMs x 2
  // spaces x 100 pages, about 560 of them 4K and 120 2M (the first level holds 64 and 32), with
  // half the requests to a recently used page and half anywhere: first-level misses that the
  // STLB answers, in every mode, for both sizes; its drops, fills, sweeps and clears; and, with
  // the control mix of `random`, the EPT PSC's hits and invalidations (§10.3).
  setup.stream = TestSetup::Stream::Random;
  setup.default_count = 25000;
  setup.world.pages_per_space = 100;
  setup.random_knobs.locality_percent = 50;
  setup.random_knobs.benign_access_percent = 70;  // fewer denied entries to drop
  setup.random_knobs.table_change_permille = 2;
  // Rare control actions: a context or mode switch flushes the VM's entries from the STLB (§3).
  setup.random_knobs.control_permille = 3;
  setup.random_knobs.checkpoint_every = 5000;
  setup.coverage = {"ept_psc.*", "source.tlb_hit", "source.ept_psc_L2", "source.full_walk"};
  declareStlbCoverage(setup);
}

void configureRandomWalks(TestSetup &setup) {
  setup.stream = TestSetup::Stream::Random;
  setup.default_count = 20000;
  setup.world.pages_per_space = 60;
  setup.random_knobs.locality_percent = 10;
  setup.random_knobs.control_permille = 60;
  setup.random_knobs.table_change_permille = 30;
  setup.random_knobs.invalidate_weight = 60;
  setup.random_knobs.checkpoint_every = 5000;
  setup.env.memory.model = LatencyModel::Cache;
  declareRandomCoverage(setup);
}

void configureRandomBackpressure(TestSetup &setup) {
  setup.stream = TestSetup::Stream::Random;
  setup.default_count = 10000;
  setup.env.memory.model = LatencyModel::Random;
  setup.env.memory.min_cycles = 1;
  setup.env.memory.max_cycles = 9;
  setup.env.memory.ready_stall_permille = 400;
  setup.env.response_stall_permille = 400;
  setup.env.request_gap_permille = 200;
  setup.random_knobs.checkpoint_every = 2500;
  setup.coverage = {"backpressure.*", "source.tlb_hit", "source.full_walk"};
}

void configureRandomFlat(TestSetup &setup) {
  // One mode per VM for the whole run, 4K pages only, no upper-level permission games: the plain
  // baseline the other random tests perturb.
  setup.stream = TestSetup::Stream::Random;
  setup.default_count = 20000;
  setup.world.large_page_percent = 0;
  setup.world.random_upper_permissions = false;
  setup.random_knobs.mode_switch_weight = 0;
  setup.random_knobs.checkpoint_every = 5000;
  setup.coverage = {"source.tlb_hit", "source.full_walk", "source.psc_L2", "source.ntlb_hit"};
}

void configureRandomEptFormat(TestSetup &setup) {
  // §21: the VMs' EPTs in the flattened formats (2level in slot 0, 1level in slot 1, any in the
  // others), in every mode with an EPT; EPT entries corrupted (not present, misconfigured) as in
  // `random`, 1level's gPAs beyond its reach.
  setup.stream = TestSetup::Stream::Random;
  setup.default_count = 20000;
  setup.world.pages_per_space = 24;
  setup.world.ept_formats = true;
  setup.world.modes = {Mode::Nested, Mode::Nested, Mode::Direct, Mode::Nested};
  setup.random_knobs.table_change_permille = 40;
  setup.random_knobs.mode_switch_weight = 8;
  setup.random_knobs.checkpoint_every = 5000;
  setup.env.memory.model = LatencyModel::Random;
  setup.coverage = {"ept_format.2level.*", "ept_format.1level.*", "source.ntlb_hit", "source.full_walk"};
}

void configureRandomSegment(TestSetup &setup) {
  // §18: every VM starts in GUEST_DIRECT or DUAL_DIRECT with a guest segment over some of its
  // pages; mode switches go through all six modes (and the reserved code 7), and control actions
  // rewrite segments (OFFSETs that map elsewhere, grants that deny) and GESCAPE entries.
  setup.stream = TestSetup::Stream::Random;
  setup.default_count = 20000;
  setup.world.pages_per_space = 24;
  setup.world.guest_segments = true;
  setup.world.modes = {Mode::GuestDirect, Mode::DualDirect, Mode::GuestDirect, Mode::DualDirect};
  setup.random_knobs.table_change_permille = 20;
  setup.random_knobs.control_permille = 40;
  setup.random_knobs.guest_segment_modes = true;
  setup.random_knobs.mode_switch_weight = 8;
  setup.random_knobs.segment_weight = 30;
  setup.random_knobs.checkpoint_every = 5000;
  setup.env.memory.model = LatencyModel::Random;
  setup.coverage = {"segment.*",
                    "fault.GUEST_DIRECT.GUEST_PF",
                    "fault.GUEST_DIRECT.EPT_VIOLATION",
                    "fault.DUAL_DIRECT.GUEST_PF",
                    "fault.DUAL_DIRECT.BOUNDS",
                    "control.WRITE_REG.GSEG_BASE",
                    "control.WRITE_REG.GSEG_LIMIT",
                    "control.WRITE_REG.GSEG_OFFSET",
                    "control.WRITE_REG.GESCAPE",
                    "source.tlb_hit",
                    "source.full_walk",
                    "source.ntlb_hit",
                    "event.escape"};
}

void configureRandomAgile(TestSetup &setup) {
  // §20: every VM starts in AGILE, its shadow tables with switch bits at random levels over a
  // third of its pages; mode switches mostly return to AGILE, context switches rewrite GCR3 and
  // toggle ROOT_NESTED, table changes hit shadow and guest entries, EPT changes the nested part.
  setup.stream = TestSetup::Stream::Random;
  setup.default_count = 20000;
  setup.world.pages_per_space = 30;
  setup.world.agile_switch_percent = 35;
  setup.world.modes = {Mode::Agile, Mode::Agile, Mode::Agile, Mode::Agile};
  setup.random_knobs.agile_modes = true;
  setup.random_knobs.table_change_permille = 25;
  setup.random_knobs.control_permille = 40;
  setup.random_knobs.mode_switch_weight = 6;
  setup.random_knobs.context_switch_weight = 20;
  setup.random_knobs.checkpoint_every = 5000;
  setup.env.memory.model = LatencyModel::Random;
  setup.coverage = {"agile.*",
                    "fault.AGILE.GUEST_PF",
                    "fault.AGILE.EPT_VIOLATION",
                    "control.WRITE_REG.GCR3",
                    "source.tlb_hit",
                    "source.full_walk",
                    "source.ntlb_hit"};
}

void configureCounterWrap(TestSetup &setup) {
  // §14's counters are 64 bits, kept as two 32-bit halves with a carry registered between them
  // (mmu_perf_counters): no bounded run counts to 2^32. Every counter is preloaded (a backdoor
  // write after reset) two short of 2^64, so that a counter with two events or more wraps its low
  // half, carries into the high half and wraps that too; the scoreboard's checkpoints compare the
  // count since the preload, modulo 2^64, with the model's.
  setup.stream = TestSetup::Stream::Random;
  setup.default_count = 3000;
  setup.world.pages_per_space = 12;
  setup.random_knobs.checkpoint_every = 250;
  setup.env.counter_preload = ~uint64_t{1};  // 2^64 - 2
  setup.coverage = {"source.tlb_hit", "source.full_walk"};
}

void configureChurn(TestSetup &setup) {
  // Mostly DIRECT slots, each with its own host window: a stale entry of another slot is out of
  // region. Pages inside GSIZE only, so that BOUNDS faults come from the churn, not the layout.
  setup.stream = TestSetup::Stream::Churn;
  setup.default_count = 8000;
  setup.world.pages_per_space = 16;
  setup.world.spaces_per_vm = 1;
  setup.world.bounds_faults = false;
  setup.world.every_size_combination = false;
  setup.world.modes = {Mode::Direct, Mode::Direct, Mode::Nested, Mode::Direct};
  setup.coverage = {"churn.*", "source.tlb_hit", "source.full_walk", "fault.NO_CONTEXT"};
}

void configureChurnStalls(TestSetup &setup) {
  // The same churn under back-pressure: control commands are then accepted while a hit response
  // still waits, so the checkers must take each request's context at its acceptance (§12).
  configureChurn(setup);
  setup.env.memory.model = LatencyModel::Random;
  setup.env.memory.ready_stall_permille = 200;
  setup.env.response_stall_permille = 300;
  setup.env.request_gap_permille = 100;
  setup.coverage.push_back("backpressure.*");
}

}  // namespace

const std::vector<TestSpec> &testRegistry() {
  static const std::vector<TestSpec> kTests = {
      {"smoke", "each VM (one per mode) reads each page twice: a walk, then a TLB hit", configureSmoke},
      {"fault_classes", "every fault class in every mode that can raise it (§6)", configureFaultClasses},
      {"invalidations", "every invalidation, implicit flushes and context switches (§3, §11)", configureInvalidations},
      {"splintering", "guest 4K/2M/1G over host 4K/2M/1G in NESTED and DIRECT; INVLPG of splintered pages", configureSplintering},
      {"cache_hits", "TLB, every PSC level, nested TLB and escape paths, with A/D updates", configureCacheHits},
      {"bounds_edges", "DIRECT bounds checker at GSIZE, 2^P and GBASE edges (§8.1)", configureBoundsEdges},
      {"stlb_after_drop", "an STLB hit after the first level dropped a different, non-granting entry for the VA (§9.2)", configureStlbAfterDrop},
      {"mode_switch", "each VM through every mode while the others keep running", configureModeSwitch},
      {"random", "constrained-random mix of everything, with back-pressure and random latency", configureRandom},
      {"random_high", "the random mix with host and guest-physical addresses high in their spaces (toggle coverage)", configureRandomHigh},
      {"random_hits", "TLB-hit-dominated random stream (speed)", configureRandomHits},
      {"random_stlb", "random stream over a footprint beyond the first level and inside the STLB (§9.2)", configureRandomStlb},
      {"random_walks", "walk-dominated random stream with frequent invalidations and a cached memory", configureRandomWalks},
      {"random_backpressure", "random stream under heavy back-pressure on every channel", configureRandomBackpressure},
      {"random_flat", "random stream over 4K pages, one mode per VM", configureRandomFlat},
      {"random_ept_format", "random stream over EPTs in the flattened formats, 2level and 1level (§21)", configureRandomEptFormat},
      {"random_segment", "random stream in GUEST_DIRECT and DUAL_DIRECT: guest segments, GESCAPEs, all six modes (§18)", configureRandomSegment},
      {"random_agile", "random stream in AGILE: switch bits at every level, ROOT_NESTED, faults above and below the switch (§20)", configureRandomAgile},
      {"counter_wrap", "a random stream with every counter preloaded to 2^64 - 2: the counters' carries and wrap (§14)", configureCounterWrap},
      {"churn", "control-port churn (VPID retags, valid bits, modes, GBASE/GSIZE/EPTP, escapes) between warm translations; DIRECT isolation (§8.3)", configureChurn},
      {"churn_stalls", "churn under back-pressure on every channel and random memory latency", configureChurnStalls},
  };
  return kTests;
}

const TestSpec *findTest(const std::string &name) {
  for (const TestSpec &spec : testRegistry())
    if (name == spec.name)
      return &spec;
  return nullptr;
}

namespace {

TestSetup makeSetup(const TestSpec &spec, TbOptions &options) {
  TestSetup setup;
  spec.configure(setup);
  const std::string bad = setup.config.validate();
  if (!bad.empty())
    throw std::runtime_error("vmmu_tb: bad configuration: " + bad);
  if (options.count == 0)
    options.count = setup.default_count;
  setup.random_knobs.requests = options.count;
  setup.churn_knobs.requests = options.count;
  return setup;
}

}  // namespace

Test::Test(sc_core::sc_module_name name, const TestSpec &spec, TbOptions &options, ReportServer &reporter)
    : Component(name), spec_(spec), options_(options), reporter_(reporter), setup_(makeSetup(spec, options)),
      random_(options.seed), world_random_(random_.fork()),
      script_random_(setup_.script ? random_.fork() : Random(0)), world_(setup_.config, dut_memory_, model_memory_) {
  // The streams are forked in one fixed order (world, script, env, sequence): a seed names a run.
  env_ = std::make_unique<Env>("env", setup_.env, options_, setup_.config, dut_memory_, model_memory_, reporter_,
                               random_.fork());
  stream_random_ = random_.fork();
}

void Test::buildPhase() {
  world_.build(setup_.world, world_random_);
  script_.programContexts(world_);
  if (setup_.script)
    setup_.script(world_, script_, script_random_);
  env_->sequencer.start(script_);
  if (setup_.stream == TestSetup::Stream::Random)
    stream_ = std::make_unique<RandomSequence>(world_, stream_random_, setup_.random_knobs);
  else if (setup_.stream == TestSetup::Stream::Churn)
    stream_ = std::make_unique<ChurnSequence>(world_, stream_random_, setup_.churn_knobs);
  if (stream_)
    env_->sequencer.start(*stream_);
  final_checkpoint_.checkpoint();
  env_->sequencer.start(final_checkpoint_);
  // A random run shorter than the test's default cannot promise its rare bins: they are reported
  // but only enforced at the default length or longer.
  const bool enforce_coverage = setup_.stream == TestSetup::Stream::None || options_.count >= setup_.default_count;
  if (!enforce_coverage)
    reporter_.warning(this->name(), format("+n=%llu is below this test's default %llu: coverage goals are reported, not enforced",
                                     static_cast<unsigned long long>(options_.count),
                                     static_cast<unsigned long long>(setup_.default_count)));
  if (!options_.bare && enforce_coverage)
    for (const std::string &pattern : setup_.coverage)
      if (env_->coverage().declare(pattern) == 0)
        throw std::runtime_error("vmmu_tb: test '" + std::string(spec_.name) + "' declares unknown coverage bin '" +
                                 pattern + "'");
}

void Test::reportPhase() {
  const bool completed = env_->finished();
  if (!options_.bare && completed) {
    env_->sampleCoverage();
    env_->coverage().report(reporter_);
  }
  // +inject must corrupt something, or the run proves nothing about the checker.
  if (options_.inject != 0 && !env_->injection().done)
    reporter_.error(name(), format("+inject=%llu (%s): nothing was injected: the run served %llu READ responses",
                                   static_cast<unsigned long long>(options_.inject), toString(options_.inject_kind),
                                   static_cast<unsigned long long>(env_->injection().read_responses)));
  const uint64_t checked = options_.bare ? env_->requestsAccepted() : env_->scoreboard().checked();
  const bool pass = completed && reporter_.errorCount() == 0;
  std::printf("vmmu_tb: test %s seed %llu: %llu translations %s in %llu cycles, %u errors: %s\n", spec_.name,
              static_cast<unsigned long long>(options_.seed), static_cast<unsigned long long>(checked),
              options_.bare ? "driven (bare, unchecked)" : "checked", static_cast<unsigned long long>(env_->cycles()),
              reporter_.errorCount(), pass ? "PASSED" : "FAILED");
  // The one line that differs with +no_cycle_skip (tb/cycle_skip_check compares the rest).
  std::printf("vmmu_tb: %llu of the %llu cycles skipped (memory waits, §12)\n",
              static_cast<unsigned long long>(env_->dut().skippedCycles()),
              static_cast<unsigned long long>(env_->cycles()));
  if (!options_.bare)  // not "translations checked": tb/bench/run reads that phrase from the line above
    std::printf("vmmu_tb: isolation property (§8.3): %llu DIRECT-mode responses checked, %llu violations\n",
                static_cast<unsigned long long>(env_->isolation().directChecked()),
                static_cast<unsigned long long>(env_->isolation().violations()));
  if (!pass) {
    TbOptions repro = options_;
    if (repro.wave_file.empty())
      repro.wave_file = "fail.fst";
    std::printf("vmmu_tb: reproduce with: %s\n", reproduceCommand(repro).c_str());
  }
  status_ = pass ? 0 : 1;
}

}  // namespace vmmu::tb
