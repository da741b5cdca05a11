// Randomized property test: on random page tables (every page size, both dimensions, random
// permissions, not-present, reserved and misconfigured entries) and random requests in every
// mode at once, the cached Mmu answers every request exactly as the uncached reference walk
// (vmmu/reference_walk.h, written separately) does: same address, size, fault class, payload
// and exit. Tables never change under cached entries: a mutation phase is followed by INV_ALL.
//
// Half the worlds run the NESTED and DIRECT slots as GUEST_DIRECT and DUAL_DIRECT (§18) with a
// random guest segment over some of their pages (random OFFSET, grants and guest escapes). Half
// run the SHADOW slot as AGILE (§20): its shadow tables get switch bits at random levels, naming
// guest tables of the same pages behind an EPT, and sometimes GCR3's root switch.
// FlattenedEptAgreesWithTheReferenceWalk builds the same worlds with their EPTs in the flattened
// formats of §21 (2level and 1level, gPAs beyond 1level's 1 GiB reach included).
//
// It also checks, on every request, the DIRECT isolation invariant (§8.3; DUAL_DIRECT's too), and
// at the end that the counters agree with the operations and responses seen.
//
// Default: 24 seeds. VMMU_PROPERTY_SEEDS=<n> runs more (and VMMU_PROPERTY_REQUESTS=<n> per seed).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>

#include "model_test_util.h"
#include "vmmu/reference_walk.h"

namespace vmmu::test {
namespace {

unsigned envOr(const char *name, unsigned fallback) {
  const char *value = std::getenv(name);
  return value ? static_cast<unsigned>(std::strtoul(value, nullptr, 10)) : fallback;
}

constexpr uint64_t k4K = 0x1000, k2M = 0x20'0000, k1G = 0x4000'0000;
// Host memory regions, 16 GiB apart (all below 2^40, the smallest P used here).
constexpr uint64_t region(unsigned k) { return uint64_t{k} << 34; }
constexpr uint64_t kGuestSpace = 64 * 0x10'0000;  // gPAs the NESTED/DIRECT guests use: 64 MiB

struct MappedPage {
  uint64_t va;
  PageSize size;
};

struct Vm {
  uint16_t vpid;
  Mode mode;
  std::unique_ptr<FrameAllocator> table_frames;
  std::unique_ptr<GuestPageTables> tables;
  std::unique_ptr<FrameAllocator> ept_frames;
  std::unique_ptr<EptTables> ept;  // NESTED, and DIRECT for escaped pages, AGILE below its switches
  // AGILE: the guest's own tables (gPA space, behind `ept`); `tables` are the shadow tables.
  std::unique_ptr<FrameAllocator> agile_frames;
  std::unique_ptr<GuestPageTables> agile_guest;
  uint64_t gbase = 0, gsize = 0;
  std::vector<MappedPage> pages;
};

class RandomWorld {
public:
  // The guest segments draw from their own generator, so that the worlds without them are the
  // ones this test always built.
  explicit RandomWorld(uint64_t seed, EptFormat ept_format = EptFormat::Radix)
      : rng_(seed), segment_rng_(seed + 1'000'003), agile_rng_(seed + 2'000'003), ept_format_(ept_format) {
    config_.guest_levels = pick({4u, 4u, 5u});
    config_.nested_levels = pick({4u, 4u, 5u});
    config_.pa_bits = pick({40u, 46u, 46u, 52u});
    config_.escape_entries = pick({0u, 2u, 4u, 8u});
    for (auto &g : config_.tlb)
      g = randomGeometry();
    for (auto &g : config_.ntlb)
      g = randomGeometry();
    for (auto &g : config_.psc)
      g = randomGeometry();
    mmu_ = std::make_unique<Mmu>(config_, mem_);
    buildVms();
  }

  // Runs `count` random requests; returns the number of mismatches (each is also reported).
  void run(unsigned count) {
    TranslateResult result;
    for (unsigned i = 0; i < count; ++i) {
      if (i % 700 == 699)
        mutateTablesAndFlush();
      if (chance(0.02))
        randomControl();
      const Request req = randomRequest();
      mmu_->translate(req, result);
      Response expected = mmu_->peek(req);
      Response got = result.resp;
      got.tlb_hit = false;
      ++responses_[static_cast<unsigned>(got.fault)];
      exits_ += got.vm_exit;
      for (const MemOp &op : result.ops)
        ++ops_[{op.kind, op.dim}];
      if (got != expected) {
        ADD_FAILURE() << "request " << i << " vpid " << req.vpid << " pcid " << req.pcid
                      << " va 0x" << std::hex << req.va << std::dec << " " << toString(req.access)
                      << (req.user ? " user" : " supervisor") << "\n  cached:    "
                      << testing::PrintToString(got)
                      << "\n  reference: " << testing::PrintToString(expected);
        if (++failures_ > 5)
          return;
      }
      checkIsolation(req, result);
      segment_walks_ += result.trace.guest_segment;
      switched_walks_ += result.trace.agile_switch_level != 0;
    }
  }

  uint64_t segmentWalks() const { return segment_walks_; }
  uint64_t switchedWalks() const { return switched_walks_; }

  void checkCounters() const {
    const auto c = [&](Counter k) { return mmu_->counter(k); };
    EXPECT_EQ(c(Counter::GuestReads), opCount(MemOpKind::Read, Dim::Guest));
    EXPECT_EQ(c(Counter::NestedReads), opCount(MemOpKind::Read, Dim::Nested));
    EXPECT_EQ(c(Counter::GuestAdUpdates), opCount(MemOpKind::FetchOr, Dim::Guest));
    EXPECT_EQ(c(Counter::NestedAdUpdates), opCount(MemOpKind::FetchOr, Dim::Nested));
    // §14: a first-level miss is served by the STLB or walks.
    EXPECT_EQ(c(Counter::Walks) + c(Counter::StlbHits4K) + c(Counter::StlbHits2M), c(Counter::TlbMisses));
    const uint64_t early = responseCount(Fault::GuestGeneralProtection) +
                           responseCount(Fault::NoContext);
    EXPECT_EQ(c(Counter::Lookups), c(Counter::TlbHits) + c(Counter::TlbMisses) + early);
    EXPECT_EQ(c(Counter::FaultGuestPf), responseCount(Fault::GuestPageFault));
    EXPECT_EQ(c(Counter::FaultEptViolation), responseCount(Fault::EptViolation));
    EXPECT_EQ(c(Counter::FaultEptMisconfig), responseCount(Fault::EptMisconfig));
    EXPECT_EQ(c(Counter::FaultBounds), responseCount(Fault::Bounds));
    EXPECT_EQ(c(Counter::VmExits), exits_);
  }

  // How many responses of each class the run produced (to see that it covered them all).
  uint64_t responseCount(Fault f) const { return responses_[static_cast<unsigned>(f)]; }
  const MmuConfig &config() const { return config_; }
  const Mmu &mmu() const { return *mmu_; }

private:
  template <typename T> T pick(std::initializer_list<T> options) {
    std::uniform_int_distribution<size_t> d(0, options.size() - 1);
    return *(options.begin() + d(rng_));
  }
  uint64_t below(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  ArrayGeometry randomGeometry() { return {pick({1u, 2u, 4u, 8u}), pick({1u, 2u, 4u})}; }

  uint64_t eptPerms() {
    // Mostly usable, sometimes restricted, execute-only, write-only (misconfigured) or absent.
    return pick<uint64_t>({7, 7, 7, 7, 7, 1, 3, 5, 4, 2, 0});
  }

  uint64_t canonical(uint64_t value) const {
    const unsigned drop = 64 - config_.vaBits();
    return static_cast<uint64_t>(static_cast<int64_t>(value << drop) >> drop);
  }

  void buildVms() {
    const Mode modes[4] = {Mode::Native, Mode::Shadow, Mode::Nested, Mode::Direct};
    for (unsigned slot = 0; slot < 4; ++slot) {
      auto vm = std::make_unique<Vm>();
      vm->vpid = static_cast<uint16_t>(slot + 1);
      vm->mode = modes[slot];
      vm->table_frames = std::make_unique<FrameAllocator>(
          vm->mode == Mode::Native || vm->mode == Mode::Shadow ? region(1) + slot * 0x1000'0000
                                                               : 0x1'0000,
          (vm->mode == Mode::Native || vm->mode == Mode::Shadow ? region(1) + slot * 0x1000'0000
                                                                : 0)
              + k2M);
      vm->ept_frames = std::make_unique<FrameAllocator>(region(3) + slot * 0x1000'0000,
                                                        region(3) + slot * 0x1000'0000 + 0x400'0000);
      vm->ept = std::make_unique<EptTables>(mem_, *vm->ept_frames, config_.nested_levels,
                                            config_.pa_bits, ept_format_);
      AddressMap to_host;
      if (vm->mode == Mode::Nested) {
        buildNestedEpt(*vm);
        to_host = vm->ept->hostMap();
      } else if (vm->mode == Mode::Direct) {
        vm->gbase = region(5) + pick<uint64_t>({0, k2M, k4K, 3 * k4K, k1G});
        vm->gsize = pick<uint64_t>({kGuestSpace, kGuestSpace / 2 + k4K, 40 * 0x10'0000, 8 * k2M});
        const uint64_t base = vm->gbase;
        to_host = [base](uint64_t gpa) { return gpa + base; };
      }
      vm->tables = std::make_unique<GuestPageTables>(mem_, *vm->table_frames,
                                                     config_.guest_levels, config_.pa_bits,
                                                     to_host);
      mapGuestPages(*vm);
      setupContext(*mmu_, slot,
                   {.vpid = vm->vpid, .mode = vm->mode, .cr3 = vm->tables->root(),
                    .eptp = vm->ept->eptp(chance(0.5)), .gbase = vm->gbase, .gsize = vm->gsize,
                    .guest_ad = chance(0.5)});
      if (vm->mode == Mode::Direct)
        setEscapes(slot, *vm);
      if ((vm->mode == Mode::Nested || vm->mode == Mode::Direct) && segment_rng_() % 2 == 0)
        setGuestSegment(slot, *vm);
      if (vm->mode == Mode::Shadow && agile_rng_() % 2 == 0)
        makeAgile(slot, *vm);
      vms_.push_back(std::move(vm));
    }
  }

  // EPT over gPA [0, 64M) in 2M chunks mapped to shuffled host chunks: each chunk is one 2M
  // page, 512 4K pages, or absent; or, sometimes, one 1G page for everything.
  void buildNestedEpt(Vm &vm, uint64_t host = region(4)) {
    if (chance(0.15) && ept_format_ != EptFormat::Flat1) {  // 1level has no 1G pages (§21.2)
      vm.ept->map(0, host, PageSize::Size1G, pick<uint64_t>({7, 7, 5}));
      return;
    }
    std::vector<uint64_t> order(kGuestSpace / k2M);
    for (uint64_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::shuffle(order.begin(), order.end(), rng_);
    for (uint64_t chunk = 0; chunk < order.size(); ++chunk) {
      const uint64_t gpa = chunk * k2M, hpa = host + order[chunk] * k2M;
      const bool tables_chunk = chunk == 0;  // guest tables live in gPA [0, 2M)
      const unsigned style = tables_chunk ? static_cast<unsigned>(below(2)) : static_cast<unsigned>(below(4));
      if (style == 0) {
        vm.ept->map(gpa, hpa, PageSize::Size2M, tables_chunk ? 7 : eptPerms());
      } else if (style == 1) {
        const uint64_t perms = tables_chunk ? 7 : eptPerms();
        for (uint64_t off = 0; off < k2M; off += k4K)
          vm.ept->map(gpa + off, hpa + off, PageSize::Size4K,
                      !tables_chunk && chance(0.05) ? eptPerms() : perms);
      }  // styles 2, 3: mostly 2M pages above; leave some chunks absent
      else if (style == 2) {
        vm.ept->map(gpa, hpa, PageSize::Size2M, 7);
      }
    }
  }

  void mapGuestPages(Vm &vm) {
    const bool host_space = vm.mode == Mode::Native || vm.mode == Mode::Shadow;
    uint64_t bases[3];
    for (uint64_t &b : bases)  // three 512G-aligned areas, upper and lower half
      b = canonical(below(uint64_t{1} << (config_.vaBits() - 39)) << 39);
    for (unsigned i = 0; i < 80; ++i) {
      const PageSize size = pick({PageSize::Size4K, PageSize::Size4K, PageSize::Size4K,
                                  PageSize::Size2M, PageSize::Size2M, PageSize::Size1G});
      const uint64_t bytes = pageBytes(size);
      const uint64_t va = bases[below(3)] + (below(4 * k1G) & ~(bytes - 1));
      uint64_t pa;
      if (host_space)
        pa = region(2) + (below(16 * k1G) & ~(bytes - 1));
      else if (size == PageSize::Size1G)
        pa = pick<uint64_t>({0, k1G});
      else  // gPAs above the table chunk, a few beyond the guest space (faults)
        pa = (k2M + below(kGuestSpace + 8 * k2M - k2M)) & ~(bytes - 1);
      const uint64_t flags = (chance(0.85) ? pte::RW : 0) | (chance(0.8) ? pte::US : 0) |
                             (chance(0.2) ? pte::NX : 0) | (chance(0.2) ? pte::G : 0);
      try {
        vm.tables->map(va, pa, size, flags);
        vm.pages.push_back({va, size});
      } catch (const std::logic_error &) {
        // Overlaps a page of another size: skip it.
      }
    }
    corruptGuestEntries(vm, 6);
  }

  void corruptGuestEntries(Vm &vm, unsigned count) {
    for (unsigned i = 0; i < count && !vm.pages.empty(); ++i) {
      const MappedPage &page = vm.pages[below(vm.pages.size())];
      const unsigned level = 1 + static_cast<unsigned>(below(config_.guest_levels));
      uint64_t entry = 0;
      try {
        if (!vm.tables->entryAddress(page.va, level))
          continue;
        entry = vm.tables->readEntry(page.va, level);
      } catch (const std::out_of_range &) {
        continue;  // an earlier EPT corruption hid this table from the builder's software walk
      }
      switch (below(6)) {
      case 0: entry &= ~pte::P; break;
      case 1:
        if (config_.pa_bits < 52)
          entry |= uint64_t{1} << (config_.pa_bits + below(52 - config_.pa_bits));
        break;
      case 2: entry |= level >= 4 ? pte::PS : (level >= 2 && (entry & pte::PS) ? 1ull << 13 : 0); break;
      case 3: entry ^= pte::RW; break;
      case 4: entry ^= pte::US; break;
      case 5: entry ^= pte::NX; break;
      }
      vm.tables->writeEntry(page.va, level, entry);
    }
  }

  void corruptEptEntries(Vm &vm, unsigned count) {
    for (unsigned i = 0; i < count; ++i) {
      const uint64_t gpa = below(kGuestSpace) & ~(k4K - 1);
      const unsigned level = 1 + static_cast<unsigned>(below(config_.nested_levels)) % vm.ept->levels();
      if (!vm.ept->entryAddress(gpa, level))
        continue;
      uint64_t entry = vm.ept->readEntry(gpa, level);
      if (!(entry & 7))
        continue;
      // A flattened 2M page is 512 replicas (§21.2): software changes them all, or a nested-TLB
      // entry made from one replica would rightly answer for another.
      const bool replicated = ept_format_ != EptFormat::Radix && level == 1 && (entry & ept::LP);
      switch (below(6)) {
      case 0: entry = (entry & ~uint64_t{0x38}) | (pick<uint64_t>({2, 3, 7}) << 3); break;
      case 1: entry = (entry & ~uint64_t{7}) | eptPerms(); break;
      case 2: entry |= 1ull << 12; break;  // misconfigures a 2M/1G leaf, harmless elsewhere
      case 3: entry |= level >= 4 ? ept::LP : 0; break;
      case 4:
        if (config_.pa_bits < 52)
          entry |= uint64_t{1} << 51;
        break;
      case 5: entry &= ~uint64_t{7}; break;
      }
      if (replicated) {
        for (uint64_t page = gpa & ~(k2M - 1); page < (gpa & ~(k2M - 1)) + k2M; page += k4K)
          vm.ept->writeEntry(page, level, entry);
        continue;
      }
      vm.ept->writeEntry(gpa, level, entry);
    }
  }

  // AGILE for the SHADOW slot (§20), drawn from its own generator: an EPT as NESTED's, guest tables
  // in gPA space mapping the slot's pages (elsewhere), and for most pages a switch bit in the
  // shadow entry above a random level, naming the guest's table of that level by its host address.
  void makeAgile(unsigned slot, Vm &vm) {
    std::swap(rng_, agile_rng_);  // every draw below from the agile generator
    vm.mode = Mode::Agile;
    buildNestedEpt(vm, region(6));  // host memory of its own: the NESTED slot's is region(4)
    vm.agile_frames = std::make_unique<FrameAllocator>(0x1'0000, k2M);
    vm.agile_guest = std::make_unique<GuestPageTables>(mem_, *vm.agile_frames, config_.guest_levels,
                                                       config_.pa_bits, vm.ept->hostMap());
    for (const MappedPage &page : vm.pages) {
      const uint64_t bytes = pageBytes(page.size);
      const uint64_t gpa = page.size == PageSize::Size1G ? pick<uint64_t>({0, k1G})
                                                          : (k2M + below(kGuestSpace + 8 * k2M - k2M)) & ~(bytes - 1);
      try {
        vm.agile_guest->map(page.va, gpa, page.size, (chance(0.85) ? pte::RW : 0) | (chance(0.8) ? pte::US : 0));
      } catch (const std::logic_error &) {
      }
    }
    for (const MappedPage &page : vm.pages) {
      if (!chance(0.6))
        continue;
      const unsigned level = 1 + static_cast<unsigned>(below(config_.guest_levels - 1));  // nested from here
      // Not below a switch placed for another page: the shadow walk would lead into the guest's table.
      bool below_switch = false;
      for (unsigned l = config_.guest_levels; l > level + 1 && !below_switch; --l) {
        const std::optional<uint64_t> entry = vm.tables->hostEntryAddress(page.va, l);
        if (!entry)
          break;
        below_switch = (mem_.read64(*entry) & agile::Switch) != 0;
      }
      if (below_switch)
        continue;
      const std::optional<uint64_t> guest_entry = vm.agile_guest->hostEntryAddress(page.va, level);
      if (!guest_entry || !vm.tables->entryAddress(page.va, level + 1))
        continue;
      const uint64_t rights = (chance(0.9) ? pte::RW : 0) | (chance(0.9) ? pte::US : 0) | (chance(0.1) ? pte::NX : 0);
      vm.tables->writeEntry(page.va, level + 1, (*guest_entry & ~uint64_t{0xfff}) | pte::P | rights | agile::Switch);
    }
    mmu_->writeReg(slot, CtxReg::Mode, static_cast<uint64_t>(Mode::Agile));
    mmu_->writeReg(slot, CtxReg::Gcr3, vm.agile_guest->root() | (chance(0.15) ? agile::RootNested : 0));
    std::swap(rng_, agile_rng_);
  }

  // GUEST_DIRECT for a NESTED slot, DUAL_DIRECT for a DIRECT one: a segment from the 2 MiB below
  // one of the VM's pages, of 4 KiB to 2 GiB, onto gPAs in (or a little past) the guest space.
  void setGuestSegment(unsigned slot, Vm &vm) {
    if (vm.pages.empty())
      return;
    const auto draw = [&](uint64_t n) { return segment_rng_() % n; };
    vm.mode = vm.mode == Mode::Nested ? Mode::GuestDirect : Mode::DualDirect;
    mmu_->writeReg(slot, CtxReg::Mode, static_cast<uint64_t>(vm.mode));
    const uint64_t base = (vm.pages[draw(vm.pages.size())].va & ~(k2M - 1)) - (draw(2) ? k2M : 0);
    const uint64_t lengths[] = {k4K * (1 + draw(8)), k2M, 2 * k2M + k4K, k1G, 2 * k1G};
    const uint64_t limit = base + lengths[draw(5)];
    const uint64_t gpa = draw(2) ? draw(kGuestSpace / k2M) * k2M : draw(kGuestSpace + 8 * k2M) & ~(k4K - 1);
    const uint64_t grants = (draw(5) ? gseg::RW : 0) | (draw(5) ? gseg::US : 0) | (draw(5) ? gseg::X : 0);
    mmu_->writeReg(slot, CtxReg::GsegBase, base | grants);
    mmu_->writeReg(slot, CtxReg::GsegLimit, limit);
    mmu_->writeReg(slot, CtxReg::GsegOffset, gpa - base);
    for (unsigned k = 0; k < config_.escape_entries; ++k)
      mmu_->writeReg(slot, guestEscapeReg(k), (base + (draw(limit - base) & ~(k4K - 1))) | draw(2));
  }

  void setEscapes(unsigned slot, Vm &vm) {
    for (unsigned k = 0; k < config_.escape_entries; ++k) {
      const bool table_page = chance(0.3);
      const uint64_t gpa = table_page ? 0x1'0000 + below(16) * k4K : below(kGuestSpace) & ~(k4K - 1);
      const unsigned where = static_cast<unsigned>(below(5));
      try {
        if (where <= 2)  // inside the region
          vm.ept->map(gpa, vm.gbase + (below(vm.gsize) & ~(k4K - 1)), PageSize::Size4K,
                      chance(0.8) ? 7 : eptPerms());
        else if (where == 3)  // outside the region
          vm.ept->map(gpa, region(6) + gpa, PageSize::Size4K);
      } catch (const std::logic_error &) {
      }
      mmu_->writeReg(slot, static_cast<CtxReg>(8 + k), gpa | (chance(0.8) ? 1 : 0));
    }
  }

  Request randomRequest() {
    Request req;
    req.access = pick({Access::Read, Access::Write, Access::Exec});
    req.user = chance(0.5);
    req.pcid = static_cast<uint16_t>(below(3));
    if (chance(0.02)) {
      req.vpid = 99;  // no context
      req.va = below(1ull << 40);
      return req;
    }
    const Vm &vm = *vms_[below(vms_.size())];
    req.vpid = vm.vpid;
    const double kind = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (kind < 0.8 && !vm.pages.empty()) {
      const MappedPage &page = vm.pages[below(vm.pages.size())];
      // Mostly a few hot offsets (to hit the TLB), sometimes anywhere in the page.
      const uint64_t offset = chance(0.7) ? below(4) * 0x1008 % pageBytes(page.size)
                                          : below(pageBytes(page.size));
      req.va = page.va + offset;
    } else if (kind < 0.95) {
      req.va = canonical(below(uint64_t{1} << config_.vaBits()) ^ below(1ull << 32));
    } else {
      req.va = (uint64_t{1} << (config_.vaBits() - 1)) | below(1ull << 20);  // non-canonical
      if (chance(0.5))
        req.va |= uint64_t{1} << 63;
      req.va &= ~(uint64_t{1} << 62);
    }
    return req;
  }

  // Control commands that change no table: the answers must stay the same.
  void randomControl() {
    const Vm &vm = *vms_[below(vms_.size())];
    const uint64_t va = vm.pages.empty() ? 0 : vm.pages[below(vm.pages.size())].va;
    switch (below(6)) {
    case 0: mmu_->invAddr(vm.vpid, va + below(k2M)); break;
    case 1: mmu_->invPcid(vm.vpid, static_cast<uint16_t>(below(3))); break;
    case 2: mmu_->invVpid(vm.vpid); break;
    case 3: mmu_->invEptp(vm.ept->eptp()); break;
    case 4: mmu_->invAll(); break;
    case 5: {  // rewrite a register with its own value (implicit flush or not)
      const unsigned slot = static_cast<unsigned>(below(4));
      const CtxReg reg = pick({CtxReg::Mode, CtxReg::Cr3, CtxReg::Eptp, CtxReg::GBase,
                               CtxReg::GSize, CtxReg::Flags});
      mmu_->writeReg(slot, reg, mmu_->readReg(slot, reg));
      break;
    }
    }
  }

  void mutateTablesAndFlush() {
    for (auto &vm : vms_) {
      corruptGuestEntries(*vm, 3);
      if (vm->mode == Mode::Nested || vm->mode == Mode::GuestDirect || vm->mode == Mode::Agile)
        corruptEptEntries(*vm, ept_format_ == EptFormat::Radix ? 3 : 8);  // a flattened EPT has few upper entries
    }
    mmu_->invAll();  // tables changed under cached entries: software must invalidate
  }

  void checkIsolation(const Request &req, const TranslateResult &r) {
    const Vm &vm = *vms_[3];
    if (req.vpid != vm.vpid)
      return;
    const uint64_t end = vm.gbase + vm.gsize;
    for (const MemOp &op : r.ops) {
      if (op.dim == Dim::Guest) {
        EXPECT_TRUE(op.addr >= vm.gbase && op.addr < end) << "guest op outside the region";
      }
    }
    if (r.resp.fault == Fault::None) {
      const uint64_t bytes = pageBytes(r.resp.size);
      const uint64_t start = r.resp.hpa & ~(bytes - 1);
      EXPECT_TRUE(start >= vm.gbase && start + bytes <= end) << "response outside the region";
    }
  }

  uint64_t opCount(MemOpKind kind, Dim dim) const {
    const auto it = ops_.find({kind, dim});
    return it == ops_.end() ? 0 : it->second;
  }

  std::mt19937_64 rng_;
  std::mt19937_64 segment_rng_;
  std::mt19937_64 agile_rng_;
  EptFormat ept_format_;
  uint64_t segment_walks_ = 0;
  uint64_t switched_walks_ = 0;
  MmuConfig config_;
  SparseMemory mem_;
  std::unique_ptr<Mmu> mmu_;
  std::vector<std::unique_ptr<Vm>> vms_;
  uint64_t responses_[7] = {};
  uint64_t exits_ = 0;
  std::map<std::pair<MemOpKind, Dim>, uint64_t> ops_;
  unsigned failures_ = 0;
};

TEST(Property, CachedMmuAgreesWithTheReferenceWalk) {
  const unsigned seeds = envOr("VMMU_PROPERTY_SEEDS", 24);
  const unsigned requests = envOr("VMMU_PROPERTY_REQUESTS", 3000);
  uint64_t totals[7] = {};
  uint64_t hits = 0, psc_hits = 0, ntlb_hits = 0, escapes = 0, segment_walks = 0, switched_walks = 0;
  for (unsigned seed = 1; seed <= seeds; ++seed) {
    RandomWorld world(seed);
    SCOPED_TRACE(testing::Message() << "seed " << seed << " L" << world.config().guest_levels
                                    << " EPT L" << world.config().nested_levels << " P"
                                    << world.config().pa_bits);
    world.run(requests);
    world.checkCounters();
    for (unsigned f = 0; f < 7; ++f)
      totals[f] += world.responseCount(static_cast<Fault>(f));
    hits += world.mmu().counter(Counter::TlbHits);
    psc_hits += world.mmu().counter(Counter::PscHitsL2) + world.mmu().counter(Counter::PscHitsL3);
    ntlb_hits += world.mmu().counter(Counter::NtlbHits);
    escapes += world.mmu().counter(Counter::Escapes);
    segment_walks += world.segmentWalks();
    switched_walks += world.switchedWalks();
    if (HasFailure())
      return;
  }
  // The run is only meaningful if it reached every outcome and every cache.
  for (unsigned f = 0; f < 7; ++f)
    EXPECT_GT(totals[f], 0u) << "no response of class " << toString(static_cast<Fault>(f));
  EXPECT_GT(hits, 0u);
  EXPECT_GT(psc_hits, 0u);
  EXPECT_GT(ntlb_hits, 0u);
  EXPECT_GT(escapes, 0u);
  EXPECT_GT(segment_walks, 0u);
  EXPECT_GT(switched_walks, 0u);  // AGILE walks that met a switch (§20)
}

TEST(Property, FlattenedEptAgreesWithTheReferenceWalk) {
  const unsigned seeds = envOr("VMMU_PROPERTY_SEEDS", 24);
  const unsigned requests = envOr("VMMU_PROPERTY_REQUESTS", 3000);
  uint64_t violations = 0, misconfigs = 0, ntlb_hits = 0, ept_psc_hits = 0, successes = 0;
  for (unsigned seed = 1; seed <= seeds; ++seed) {
    const EptFormat format = seed % 2 ? EptFormat::Flat2 : EptFormat::Flat1;
    RandomWorld world(seed + 500, format);
    SCOPED_TRACE(testing::Message() << "seed " << seed + 500 << " EPT " << toString(format) << " L"
                                    << world.config().guest_levels << " P" << world.config().pa_bits);
    world.run(requests);
    world.checkCounters();
    violations += world.responseCount(Fault::EptViolation);
    misconfigs += world.responseCount(Fault::EptMisconfig);
    successes += world.responseCount(Fault::None);
    ntlb_hits += world.mmu().counter(Counter::NtlbHits);
    ept_psc_hits += world.mmu().counter(Counter::EptPscHitsL2);
    // The level-3..5 EPT PSCs are never used by a flattened table (§21.5).
    EXPECT_EQ(world.mmu().counter(Counter::EptPscHitsL3) + world.mmu().counter(Counter::EptPscHitsL4) +
                  world.mmu().counter(Counter::EptPscHitsL5),
              0u);
    if (HasFailure())
      return;
  }
  EXPECT_GT(violations, 0u);
  EXPECT_GT(misconfigs, 0u);
  EXPECT_GT(successes, 0u);
  EXPECT_GT(ntlb_hits, 0u);
  EXPECT_GT(ept_psc_hits, 0u);  // 2level's level-2 cache
}

TEST(Property, PeekChangesNothing) {
  RandomWorld world(77);
  world.run(500);
  const auto before = world.mmu().counters();
  const unsigned tlb = world.mmu().tlbValidEntries(), ntlb = world.mmu().ntlbValidEntries();
  for (uint64_t va = 0; va < 64 * 0x1000; va += 0x1000)
    for (uint16_t vpid = 1; vpid <= 4; ++vpid)
      world.mmu().peek(request(va, Access::Write, false, vpid));
  EXPECT_EQ(world.mmu().counters(), before);
  EXPECT_EQ(world.mmu().tlbValidEntries(), tlb);
  EXPECT_EQ(world.mmu().ntlbValidEntries(), ntlb);
}

}  // namespace
}  // namespace vmmu::test
