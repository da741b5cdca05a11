// run_config.cpp - parsing `vmmu run --config FILE`, and the table of keys it accepts.
//
// One table (keyTable) says, for every key, its type, its allowed range, what it means and how it
// sets RunSettings; the parser and describeConfigKeys() both read it, so the two cannot drift.
#include "vmmu/run/run_config.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <vector>

#include "vmmu/trace/input.h"

namespace vmmu::run {

std::string_view configName(PageSize size) {
  switch (size) {
  case PageSize::Size4K: return "4k";
  case PageSize::Size2M: return "2m";
  case PageSize::Size1G: return "1g";
  }
  return "?";
}

namespace {

// A configuration file is a few hundred bytes; anything this large is not one (e.g. /dev/zero
// behind a symlink, a trace named by mistake).
constexpr size_t kMaxConfigBytes = 1 << 20;
// Upper bounds that keep every cost sum in 64 bits: a run charges at most a few exits, a few
// dozen walk references and a few guest work items per event, so with these bounds even 10^9
// events stay below 10^19 < 2^64 cycles.
constexpr uint64_t kMaxCyclesPerRef = 1'000'000;
constexpr uint64_t kMaxCycles = 1'000'000'000;
constexpr uint64_t kMaxMemoryMib = 512ull << 10;

enum class Type { Whole, Real, Bool, Choice };

struct Key {
  std::string name;
  Type type = Type::Whole;
  std::string unit;        // "cycles", "MiB", "accesses", ... (empty: a plain count)
  uint64_t min = 0, max = 0;          // Whole
  uint64_t multiple = 1;              // Whole: the value must be a multiple of this
  double real_min = 0, real_max = 0;  // Real
  std::vector<std::string> choices;   // Choice
  std::string meaning;
  // Sets the key from its parsed value: `whole` for Whole and Bool (0/1), `real` for Real,
  // `choice` (the index in `choices`) for Choice.
  std::function<void(RunSettings &, uint64_t whole, double real, size_t choice)> set;
  // The key's value in `settings`, as the file would write it.
  std::function<std::string(RunSettings &)> get;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string num(uint64_t v) { return std::to_string(v); }
std::string real(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// The machine's physical memory in MiB: a guest larger than it cannot be simulated (the VMM's
// bookkeeping and the host memory model grow with it) and would spend minutes before failing.
uint64_t physicalMib() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0)
    return kMaxMemoryMib;
  return static_cast<uint64_t>(pages) / (1024 * 1024 / static_cast<uint64_t>(page_size));
}

uint64_t maxMemoryMib() { return std::min(kMaxMemoryMib, physicalMib() & ~uint64_t{1}); }

std::string rangeOf(const Key &k) {
  switch (k.type) {
  case Type::Whole: return num(k.min) + ".." + num(k.max) + (k.multiple > 1 ? " (multiples of " + num(k.multiple) + ")" : "");
  case Type::Real: return real(k.real_min) + ".." + real(k.real_max);
  case Type::Bool: return "0|1";
  case Type::Choice: {
    std::string out;
    for (const std::string &c : k.choices)
      out += (out.empty() ? "" : "|") + c;
    return out;
  }
  }
  return "";
}

// A whole-number key stored in a field of type T (uint64_t or unsigned).
template <typename T>
Key whole(std::string name, std::string unit, uint64_t min, uint64_t max, std::string meaning,
          std::function<T &(RunSettings &)> field) {
  Key k;
  k.name = std::move(name);
  k.unit = std::move(unit);
  k.min = min;
  k.max = max;
  k.meaning = std::move(meaning);
  k.set = [field](RunSettings &s, uint64_t v, double, size_t) { field(s) = static_cast<T>(v); };
  k.get = [field](RunSettings &s) { return num(field(s)); };
  return k;
}
Key small(std::string name, std::string unit, uint64_t min, uint64_t max, std::string meaning,
          std::function<unsigned &(RunSettings &)> field) {
  return whole<unsigned>(std::move(name), std::move(unit), min, max, std::move(meaning), std::move(field));
}
Key large(std::string name, std::string unit, uint64_t min, uint64_t max, std::string meaning,
          std::function<uint64_t &(RunSettings &)> field) {
  return whole<uint64_t>(std::move(name), std::move(unit), min, max, std::move(meaning), std::move(field));
}

// A real number from 0 to 1.
Key fraction(std::string name, std::string meaning, std::function<double &(RunSettings &)> field) {
  Key k;
  k.name = std::move(name);
  k.type = Type::Real;
  k.unit = "fraction";
  k.real_min = 0.0;
  k.real_max = 1.0;
  k.meaning = std::move(meaning);
  k.set = [field](RunSettings &s, uint64_t, double v, size_t) { field(s) = v; };
  k.get = [field](RunSettings &s) { return real(field(s)); };
  return k;
}

// Every key the file may set, in the order describeConfigKeys lists them.
std::vector<Key> keyTable() {
  std::vector<Key> keys;
  {
    Key k;
    k.name = "memory_mib";
    k.unit = "MiB";
    k.min = 2;
    k.max = maxMemoryMib();
    k.multiple = 2;
    k.meaning = "guest memory, an even number of MiB, at most this machine's physical memory";
    k.set = [](RunSettings &s, uint64_t v, double, size_t) { s.vmm.memory.bytes = v << 20; };
    k.get = [](RunSettings &s) { return num(s.vmm.memory.bytes >> 20); };
    keys.push_back(std::move(k));
  }
  keys.push_back(fraction("fragmentation", "fraction of the VM's 4 KiB pages out of place in host memory",
                          [](RunSettings &s) -> double & { return s.vmm.memory.fragmentation; }));
  {
    Key k;
    k.name = "max_ept_page";
    k.type = Type::Choice;
    k.choices = {std::string(configName(PageSize::Size4K)), std::string(configName(PageSize::Size2M)),
                 std::string(configName(PageSize::Size1G))};
    k.meaning =
        "largest EPT page the VMM maps (2m: a KVM host with transparent huge pages; 1g needs memory_mib >= 1024)";
    k.set = [](RunSettings &s, uint64_t, double, size_t c) { s.vmm.memory.max_ept_page = static_cast<PageSize>(c); };
    k.get = [](RunSettings &s) { return std::string(configName(s.vmm.memory.max_ept_page)); };
    keys.push_back(std::move(k));
  }
  {
    Key k;
    k.name = "host_allocation";
    k.type = Type::Choice;
    k.choices = {"lazy", "eager"};
    k.meaning = "nested and shadow VMs: back a guest page on its first touch (an EPT-violation exit under nested), "
                "as KVM does, or all at VM creation";
    k.set = [](RunSettings &s, uint64_t, double, size_t c) { s.vmm.memory.lazy = c == 0; };
    k.get = [](RunSettings &s) { return std::string(s.vmm.memory.lazy ? "lazy" : "eager"); };
    keys.push_back(std::move(k));
  }
  const auto flag = [&](std::string name, std::string meaning, std::function<bool &(RunSettings &)> field) {
    Key k;
    k.name = std::move(name);
    k.type = Type::Bool;
    k.max = 1;
    k.meaning = std::move(meaning);
    k.set = [field](RunSettings &s, uint64_t v, double, size_t) { field(s) = v != 0; };
    k.get = [field](RunSettings &s) { return num(field(s) ? 1 : 0); };
    keys.push_back(std::move(k));
  };
  flag("allow_compaction", "the VMM may compact a fragmented VM to enter direct mode",
       [](RunSettings &s) -> bool & { return s.vmm.allow_compaction; });
  flag("flush_tlb_on_exit", "a VMM without VPIDs: every VM exit and entry flushes the VM's TLB and walk caches",
       [](RunSettings &s) -> bool & { return s.vmm.flush_tlb_on_exit; });
  flag("huge_pages", "THP backs 2 MiB-aligned ranges of the replayed arena with 2 MiB pages",
       [](RunSettings &s) -> bool & { return s.huge_pages; });
  {
    Key k;
    k.name = "memory_model";
    k.type = Type::Choice;
    k.choices = {"flat", "cache"};
    k.meaning = "flat: every walk reference costs cycles_per_ref; cache: L1D/L2/LLC/DRAM shared by walks and data";
    k.set = [](RunSettings &s, uint64_t, double, size_t c) {
      s.memory.kind = c == 0 ? vmm::MemoryModelConfig::Kind::Flat : vmm::MemoryModelConfig::Kind::Cache;
    };
    k.get = [](RunSettings &s) {
      return std::string(s.memory.kind == vmm::MemoryModelConfig::Kind::Flat ? "flat" : "cache");
    };
    keys.push_back(std::move(k));
  }
  keys.push_back(large("cycles_per_ref", "cycles", 1, kMaxCyclesPerRef,
                       "memory_model = flat: cycles per page-walk memory reference (§12 c)",
                       [](RunSettings &s) -> uint64_t & { return s.memory.cycles_per_ref; }));
  // The hierarchy's levels; MemoryModelConfig::validate() checks what only their combination can
  // tell (sets a power of two, latencies not falling from one level to the next).
  for (unsigned i = 0; i < vmm::MemoryModelConfig::kLevels; ++i) {
    const std::string level = vmm::MemoryModelConfig::levelName(i);
    keys.push_back(large(level + ".size_kib", "KiB", 1, 1u << 20,
                         "memory_model = cache: " + level + " size (a multiple of ways x 64 B, a power-of-two number of sets)",
                         [i](RunSettings &s) -> uint64_t & { return s.memory.levels[i].size_kib; }));
    keys.push_back(small(level + ".ways", "ways", 1, 64, "memory_model = cache: " + level + " ways (a power of two)",
                         [i](RunSettings &s) -> unsigned & { return s.memory.levels[i].ways; }));
    keys.push_back(large(level + ".latency", "cycles", 2, vmm::MemoryModelConfig::kMaxLatency,
                         "memory_model = cache: " + level + " load-to-use latency, at least the level before's",
                         [i](RunSettings &s) -> uint64_t & { return s.memory.levels[i].latency; }));
  }
  keys.push_back(large("dram.latency", "cycles", 2, vmm::MemoryModelConfig::kMaxLatency,
                       "memory_model = cache: load-to-use latency of an access served by DRAM, at least llc.latency",
                       [](RunSettings &s) -> uint64_t & { return s.memory.dram_latency; }));
  {
    Key k;
    k.name = "base_cpi";
    k.type = Type::Real;
    k.unit = "cycles";
    k.real_min = 0.001;
    k.real_max = 1000.0;
    k.meaning = "cycles per instruction (each instruction fetch of the trace) besides its memory stalls";
    k.set = [](RunSettings &s, uint64_t, double v, size_t) {
      s.vmm.costs.cpi_millis = static_cast<uint64_t>(v * 1000.0 + 0.5);
    };
    k.get = [](RunSettings &s) { return real(static_cast<double>(s.vmm.costs.cpi_millis) / 1000.0); };
    keys.push_back(std::move(k));
  }
  keys.push_back(large("interval", "accesses", 1, UINT64_MAX, "user accesses per policy interval",
                       [](RunSettings &s) -> uint64_t & { return s.interval; }));

  const auto cost = [&](const char *name, uint64_t vmm::CostConfig::*field, const char *meaning) {
    Key k = large(name, "cycles", 0, kMaxCycles, meaning,
                  [field](RunSettings &s) -> uint64_t & { return s.vmm.costs.*field; });
    // The adaptive policy estimates exits at round trip + handler, and the prefetching variant's
    // extra work from its costs: keep them in step (policy.h).
    k.set = [field](RunSettings &s, uint64_t v, double, size_t) {
      s.vmm.costs.*field = v;
      s.adaptive.exit_cycles = s.vmm.costs.exit_round_trip + s.vmm.costs.exit_indirect + s.vmm.costs.exit_handler;
      s.adaptive.prefetch_scan_cycles = 511 * s.vmm.costs.prefetch_entry_read;
      s.adaptive.prefetch_install_cycles = s.vmm.costs.shadow_entry_write;
    };
    keys.push_back(std::move(k));
  };
  cost("exit_round_trip", &vmm::CostConfig::exit_round_trip, "VM exit and entry round trip");
  cost("exit_indirect", &vmm::CostConfig::exit_indirect, "an exit's indirect cost (the guest's caches polluted)");
  cost("exit_handler", &vmm::CostConfig::exit_handler, "VMM exit decode and dispatch");
  cost("hit_cycles", &vmm::CostConfig::hit_cycles, "a TLB hit or early fault");
  cost("access_cycles", &vmm::CostConfig::access_cycles, "the access itself beyond translation");
  cost("guest_entry_read", &vmm::CostConfig::guest_entry_read, "the shim reads one guest entry");
  cost("prefetch_entry_read", &vmm::CostConfig::prefetch_entry_read, "one entry of a prefetching scan");
  cost("shadow_entry_write", &vmm::CostConfig::shadow_entry_write, "one shadow entry written");
  cost("shadow_table_alloc", &vmm::CostConfig::shadow_table_alloc, "a shadow table allocated and zeroed");
  cost("shadow_table_free", &vmm::CostConfig::shadow_table_free, "a shadow table freed");
  cost("emulate_write", &vmm::CostConfig::emulate_write, "a trapped store decoded and emulated");
  cost("control_command", &vmm::CostConfig::control_command, "one MMU control-port command");
  cost("page_move", &vmm::CostConfig::page_move, "a 4 KiB page moved between host frames");
  cost("host_alloc", &vmm::CostConfig::host_alloc, "the host's fault path backing one host page on first touch");
  cost("host_clear_page", &vmm::CostConfig::host_clear_page, "the host zeroes 4 KiB of a page it backs");

  const auto guest_cost = [&](const char *name, uint64_t guest::GuestWorkCosts::*field, const char *meaning) {
    keys.push_back(large(name, "cycles", 0, kMaxCycles, meaning,
                         [field](RunSettings &s) -> uint64_t & { return s.guest.costs.*field; }));
  };
  guest_cost("guest.page_fault", &guest::GuestWorkCosts::page_fault, "guest #PF entry, exit and bookkeeping");
  guest_cost("guest.clear_page", &guest::GuestWorkCosts::clear_page, "guest clears 4 KiB");
  guest_cost("guest.copy_page", &guest::GuestWorkCosts::copy_page, "guest copies 4 KiB (copy-on-write)");
  guest_cost("guest.syscall", &guest::GuestWorkCosts::syscall, "mmap/munmap/mprotect entry and exit");
  guest_cost("guest.context_switch", &guest::GuestWorkCosts::context_switch, "scheduler work (CR3 write excluded)");
  guest_cost("guest.process_lifecycle", &guest::GuestWorkCosts::process_lifecycle, "fork/exec/exit work");

  // MMU geometry: ranges of the model's MmuConfig::validate (§1), which also wants powers of two.
  const auto geometry = [&](const std::string &prefix, std::function<ArrayGeometry &(MmuConfig &)> array) {
    keys.push_back(small(prefix + ".sets", "sets", 1, 1u << 20, prefix + " sets (a power of two)",
                         [array](RunSettings &s) -> unsigned & { return array(s.mmu).sets; }));
    keys.push_back(small(prefix + ".ways", "ways", 1, 64, prefix + " ways (a power of two)",
                         [array](RunSettings &s) -> unsigned & { return array(s.mmu).ways; }));
  };
  for (size_t i = 0; i < 3; ++i)
    geometry("tlb." + std::string(configName(static_cast<PageSize>(i))),
             [i](MmuConfig &m) -> ArrayGeometry & { return m.tlb[i]; });
  for (size_t i = 0; i < 3; ++i)
    geometry("ntlb." + std::string(configName(static_cast<PageSize>(i))),
             [i](MmuConfig &m) -> ArrayGeometry & { return m.ntlb[i]; });
  // The STLB (§9.2) may be removed: sets = 0.
  keys.push_back(small("stlb.sets", "sets", 0, 1u << 20, "STLB sets (a power of two; 0: no STLB)",
                       [](RunSettings &s) -> unsigned & { return s.mmu.stlb.sets; }));
  keys.push_back(small("stlb.ways", "ways", 1, 64, "STLB ways (a power of two)",
                       [](RunSettings &s) -> unsigned & { return s.mmu.stlb.ways; }));
  for (size_t i = 0; i < 4; ++i)
    geometry("psc.l" + std::to_string(i + 2), [i](MmuConfig &m) -> ArrayGeometry & { return m.psc[i]; });
  // EPT paging-structure caches (§10.3): ways = 0 removes a level's cache.
  for (size_t i = 0; i < 4; ++i) {
    const std::string prefix = "ept_psc.l" + std::to_string(i + 2);
    keys.push_back(small(prefix + ".sets", "sets", 1, 1u << 20, prefix + " sets (a power of two)",
                         [i](RunSettings &s) -> unsigned & { return s.mmu.ept_psc[i].sets; }));
    keys.push_back(small(prefix + ".ways", "ways", 0, 64, prefix + " ways (a power of two; 0: no cache)",
                         [i](RunSettings &s) -> unsigned & { return s.mmu.ept_psc[i].ways; }));
  }
  keys.push_back(small("escape_entries", "entries", 0, 8, "escape filter entries (§13)",
                       [](RunSettings &s) -> unsigned & { return s.mmu.escape_entries; }));
  keys.push_back(small("num_contexts", "contexts", 1, 256, "MMU context slots (§13)",
                       [](RunSettings &s) -> unsigned & { return s.mmu.num_contexts; }));

  keys.push_back(fraction("adaptive.margin", "the adaptive policy switches when the other approach is this much cheaper",
                          [](RunSettings &s) -> double & { return s.adaptive.margin; }));
  keys.push_back(small("adaptive.patience", "intervals", 0, 1u << 20, "intervals in a row before switching into shadow",
                       [](RunSettings &s) -> unsigned & { return s.adaptive.patience; }));
  keys.push_back(small("adaptive.cooldown", "intervals", 0, 1u << 20, "intervals after a switch with no new switch",
                       [](RunSettings &s) -> unsigned & { return s.adaptive.cooldown; }));
  {
    Key k;
    k.name = "adaptive.horizon_factor";
    k.type = Type::Real;
    k.unit = "x run time";
    k.real_min = 0.01;
    k.real_max = 100.0;
    k.meaning = "a switch must pay off within this many times the run time elapsed so far";
    k.set = [](RunSettings &s, uint64_t, double v, size_t) { s.adaptive.horizon_factor = v; };
    k.get = [](RunSettings &s) { return real(s.adaptive.horizon_factor); };
    keys.push_back(std::move(k));
  }
  keys.push_back(large("adaptive.switch_base_cycles", "cycles", 0, kMaxCycles, "fixed cost of one approach switch",
                       [](RunSettings &s) -> uint64_t & { return s.adaptive.switch_base_cycles; }));
  // Agile paging's switch-bit placement (docs/architecture.md §20.8).
  keys.push_back(small("agile.switch_writes", "writes", 1, 1u << 20,
                       "agile: trapped writes to a shadowed leaf table that switch it to nested",
                       [](RunSettings &s) -> unsigned & { return s.vmm.agile.switch_writes; }));
  keys.push_back(small("agile.revert_cr3_writes", "CR3 writes", 0, 1u << 20,
                       "agile: CR3 writes between checks that move an unchanged nested table back to shadow (0: never)",
                       [](RunSettings &s) -> unsigned & { return s.vmm.agile.revert_cr3_writes; }));
  return keys;
}

// Decimal only: `010` is ten (strtoull base 0 would read octal) and `0x10` is an error.
uint64_t parseWhole(const Key &k, const std::string &value) {
  const auto bad = [&]() {
    return std::invalid_argument(k.name + ": expected a whole number in " + rangeOf(k) + ", got '" + value + "'");
  };
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos)
    throw bad();
  char *end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(value.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < k.min || v > k.max)
    throw bad();
  return v;
}

double parseReal(const Key &k, const std::string &value) {
  char *end = nullptr;
  errno = 0;
  const double v = std::strtod(value.c_str(), &end);
  if (errno != 0 || end == value.c_str() || *end != '\0' || !(v >= k.real_min && v <= k.real_max))
    throw std::invalid_argument(k.name + ": expected a number in " + rangeOf(k) + ", got '" + value + "'");
  return v;
}

void apply(const Key &k, const std::string &value, RunSettings &settings) {
  switch (k.type) {
  case Type::Whole: {
    const uint64_t v = parseWhole(k, value);
    if (v % k.multiple != 0)
      throw std::invalid_argument(k.name + ": expected a multiple of " + num(k.multiple) + " in " + rangeOf(k) +
                                  ", got '" + value + "'");
    k.set(settings, v, 0.0, 0);
    return;
  }
  case Type::Real:
    k.set(settings, 0, parseReal(k, value), 0);
    return;
  case Type::Bool: {
    const bool on = value == "1" || value == "true" || value == "on";
    if (!on && value != "0" && value != "false" && value != "off")
      throw std::invalid_argument(k.name + ": expected 0 or 1, got '" + value + "'");
    k.set(settings, on ? 1 : 0, 0.0, 0);
    return;
  }
  case Type::Choice:
    for (size_t i = 0; i < k.choices.size(); ++i)
      if (value == k.choices[i]) {
        k.set(settings, 0, 0.0, i);
        return;
      }
    throw std::invalid_argument(k.name + ": expected " + rangeOf(k) + ", got '" + value + "'");
  }
}

}  // namespace

void applyConfigText(std::string_view text, const std::string &name, RunSettings &settings) {
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + nul, '\n'));
    throw ConfigError(name + ":" + std::to_string(line) + ": NUL byte: not a configuration file");
  }
  const std::vector<Key> keys = keyTable();
  std::map<std::string, const Key *, std::less<>> by_name;
  for (const Key &k : keys)
    by_name.emplace(k.name, &k);
  std::map<std::string, size_t, std::less<>> line_of;  // key -> the line that set it
  size_t line_number = 0;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    const std::string where = name + ":" + std::to_string(line_number) + ": ";
    if (const size_t hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    line = trim(line);
    if (line.empty())
      continue;
    const size_t equals = line.find('=');
    if (equals == std::string_view::npos)
      throw ConfigError(where + "expected 'key = value', got '" + std::string(line) + "'");
    const std::string_view key = trim(line.substr(0, equals));
    const std::string value(trim(line.substr(equals + 1)));
    const auto it = by_name.find(key);
    if (it == by_name.end())
      throw ConfigError(where + "unknown key '" + std::string(key) + "'");
    if (const auto seen = line_of.find(key); seen != line_of.end())
      throw ConfigError(where + std::string(key) + ": already set on line " + std::to_string(seen->second));
    if (value.empty())
      throw ConfigError(where + std::string(key) + ": missing value");
    try {
      apply(*it->second, value, settings);
    } catch (const std::invalid_argument &e) {
      throw ConfigError(where + e.what());
    }
    line_of.emplace(std::string(key), line_number);
  }
  // An EPT page the guest cannot hold is an error, not a silent fall back to smaller pages.
  if (settings.vmm.memory.max_ept_page == PageSize::Size1G && settings.vmm.memory.bytes < (uint64_t{1} << 30)) {
    const auto seen = line_of.find("max_ept_page");
    throw ConfigError(name + (seen == line_of.end() ? "" : ":" + std::to_string(seen->second)) +
                      ": max_ept_page: 1g needs memory_mib >= 1024, the guest has " +
                      std::to_string(settings.vmm.memory.bytes >> 20) + " MiB (use 2m or 4k)");
  }
  // What only the whole configuration can tell (powers of two, via the model's own checks; the
  // memory model's combinations) names the line of the key at fault when the file set it.
  for (const std::string &error : {settings.mmu.validate(), settings.memory.validate()}) {
    if (error.empty())
      continue;
    const std::string key = error.substr(0, error.find_first_of(" :"));
    const auto seen = line_of.find(key);
    throw ConfigError(name + (seen == line_of.end() ? "" : ":" + std::to_string(seen->second)) + ": " + error);
  }
}

void applyConfigFile(const std::string &path, RunSettings &settings) {
  trace::InputFile file;
  try {
    file = trace::openRegularFile(path);
  } catch (const trace::InputFileError &e) {
    throw ConfigError("configuration file " + std::string(e.what()));
  }
  std::string text;
  char buffer[4096];
  while (const size_t got = std::fread(buffer, 1, sizeof buffer, file.get())) {
    text.append(buffer, got);
    if (text.size() > kMaxConfigBytes)
      throw ConfigError(path + ": larger than " + std::to_string(kMaxConfigBytes) +
                        " bytes: not a configuration file");
  }
  if (std::ferror(file.get()))
    throw ConfigError(path + ": cannot read the configuration file");
  applyConfigText(text, path, settings);
}

std::string describeConfigKeys() {
  RunSettings defaults;  // read only; the getters share the setters' field accessors
  std::string out;
  for (const Key &k : keyTable()) {
    const char *type = k.type == Type::Whole ? "whole" : k.type == Type::Real ? "real" : k.type == Type::Bool ? "bool" : "choice";
    out += k.name + "  " + type + (k.unit.empty() ? "" : " (" + k.unit + ")") + "  default " + k.get(defaults) +
           "  range " + rangeOf(k) + "  " + k.meaning + "\n";
  }
  return out;
}

}  // namespace vmmu::run
