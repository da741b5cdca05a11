// run_config.cpp - parsing `vmmu run --config FILE`.
#include "vmmu/run/run_config.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace vmmu::run {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

uint64_t parseWhole(std::string_view key, const std::string &value) {
  char *end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(value.c_str(), &end, 0);
  if (errno != 0 || end == value.c_str() || *end != '\0' || value[0] == '-')
    throw std::invalid_argument(std::string(key) + ": expected a whole number, got '" + value + "'");
  return v;
}

double parseReal(std::string_view key, const std::string &value) {
  char *end = nullptr;
  errno = 0;
  const double v = std::strtod(value.c_str(), &end);
  if (errno != 0 || end == value.c_str() || *end != '\0')
    throw std::invalid_argument(std::string(key) + ": expected a number, got '" + value + "'");
  return v;
}

bool parseBool(std::string_view key, const std::string &value) {
  if (value == "1" || value == "true" || value == "on")
    return true;
  if (value == "0" || value == "false" || value == "off")
    return false;
  throw std::invalid_argument(std::string(key) + ": expected 0 or 1, got '" + value + "'");
}

using Setter = std::function<void(RunSettings &, std::string_view key, const std::string &value)>;

Setter whole(uint64_t RunSettings::*field) {
  return [field](RunSettings &s, std::string_view k, const std::string &v) { s.*field = parseWhole(k, v); };
}

// Every key the file may set.
std::map<std::string, Setter, std::less<>> makeSetters() {
  std::map<std::string, Setter, std::less<>> setters;
  setters["memory_mib"] = [](RunSettings &s, std::string_view k, const std::string &v) {
    const uint64_t mib = parseWhole(k, v);
    if (mib == 0 || mib % 2 != 0 || mib > (512ull << 10))
      throw std::invalid_argument(std::string(k) + ": expected an even number of MiB from 2 to 524288, got '" + v + "'");
    s.vmm.memory.bytes = mib << 20;
  };
  setters["fragmentation"] = [](RunSettings &s, std::string_view k, const std::string &v) {
    const double f = parseReal(k, v);
    if (!(f >= 0.0 && f <= 1.0))
      throw std::invalid_argument(std::string(k) + ": expected a fraction from 0 to 1, got '" + v + "'");
    s.vmm.memory.fragmentation = f;
  };
  setters["max_ept_page"] = [](RunSettings &s, std::string_view k, const std::string &v) {
    if (v == "4k")
      s.vmm.memory.max_ept_page = PageSize::Size4K;
    else if (v == "2m")
      s.vmm.memory.max_ept_page = PageSize::Size2M;
    else if (v == "1g")
      s.vmm.memory.max_ept_page = PageSize::Size1G;
    else
      throw std::invalid_argument(std::string(k) + ": expected 4k, 2m or 1g, got '" + v + "'");
  };
  setters["allow_compaction"] = [](RunSettings &s, std::string_view k, const std::string &v) {
    s.vmm.allow_compaction = parseBool(k, v);
  };
  setters["huge_pages"] = [](RunSettings &s, std::string_view k, const std::string &v) {
    s.huge_pages = parseBool(k, v);
  };
  setters["cycles_per_ref"] = whole(&RunSettings::cycles_per_ref);
  setters["interval"] = whole(&RunSettings::interval);

  const auto cost = [&](const char *key, uint64_t vmm::CostConfig::*field) {
    setters[key] = [field](RunSettings &s, std::string_view k, const std::string &v) {
      s.vmm.costs.*field = parseWhole(k, v);
      // The adaptive policy estimates exits at round trip + handler: keep it in step (policy.h).
      s.adaptive.exit_cycles = s.vmm.costs.exit_round_trip + s.vmm.costs.exit_handler;
    };
  };
  cost("exit_round_trip", &vmm::CostConfig::exit_round_trip);
  cost("exit_handler", &vmm::CostConfig::exit_handler);
  cost("hit_cycles", &vmm::CostConfig::hit_cycles);
  cost("access_cycles", &vmm::CostConfig::access_cycles);
  cost("guest_entry_read", &vmm::CostConfig::guest_entry_read);
  cost("prefetch_entry_read", &vmm::CostConfig::prefetch_entry_read);
  cost("shadow_entry_write", &vmm::CostConfig::shadow_entry_write);
  cost("shadow_table_alloc", &vmm::CostConfig::shadow_table_alloc);
  cost("shadow_table_free", &vmm::CostConfig::shadow_table_free);
  cost("emulate_write", &vmm::CostConfig::emulate_write);
  cost("control_command", &vmm::CostConfig::control_command);
  cost("page_move", &vmm::CostConfig::page_move);

  const auto guest_cost = [&](const char *key, uint64_t guest::GuestWorkCosts::*field) {
    setters[key] = [field](RunSettings &s, std::string_view k, const std::string &v) {
      s.guest.costs.*field = parseWhole(k, v);
    };
  };
  guest_cost("guest.page_fault", &guest::GuestWorkCosts::page_fault);
  guest_cost("guest.clear_page", &guest::GuestWorkCosts::clear_page);
  guest_cost("guest.copy_page", &guest::GuestWorkCosts::copy_page);
  guest_cost("guest.syscall", &guest::GuestWorkCosts::syscall);
  guest_cost("guest.context_switch", &guest::GuestWorkCosts::context_switch);
  guest_cost("guest.process_lifecycle", &guest::GuestWorkCosts::process_lifecycle);

  // `array_of` picks the MMU's array (TLB, nested TLB or PSC) whose entry `index` the key sets.
  const auto geometry = [&](const std::string &prefix, auto array_of, size_t index) {
    setters[prefix + ".sets"] = [array_of, index](RunSettings &s, std::string_view k, const std::string &v) {
      array_of(s.mmu)[index].sets = static_cast<unsigned>(std::min<uint64_t>(parseWhole(k, v), 1u << 30));
    };
    setters[prefix + ".ways"] = [array_of, index](RunSettings &s, std::string_view k, const std::string &v) {
      array_of(s.mmu)[index].ways = static_cast<unsigned>(std::min<uint64_t>(parseWhole(k, v), 1u << 30));
    };
  };
  const char *sizes[] = {"4k", "2m", "1g"};
  for (size_t i = 0; i < 3; ++i) {
    geometry(std::string("tlb.") + sizes[i], [](MmuConfig &m) -> auto & { return m.tlb; }, i);
    geometry(std::string("ntlb.") + sizes[i], [](MmuConfig &m) -> auto & { return m.ntlb; }, i);
  }
  for (size_t i = 0; i < 4; ++i)
    geometry("psc.l" + std::to_string(i + 2), [](MmuConfig &m) -> auto & { return m.psc; }, i);
  setters["escape_entries"] = [](RunSettings &s, std::string_view k, const std::string &v) {
    s.mmu.escape_entries = static_cast<unsigned>(std::min<uint64_t>(parseWhole(k, v), 1u << 30));
  };
  setters["num_contexts"] = [](RunSettings &s, std::string_view k, const std::string &v) {
    s.mmu.num_contexts = static_cast<unsigned>(std::min<uint64_t>(parseWhole(k, v), 1u << 30));
  };

  setters["adaptive.margin"] = [](RunSettings &s, std::string_view k, const std::string &v) {
    s.adaptive.margin = parseReal(k, v);
  };
  setters["adaptive.patience"] = [](RunSettings &s, std::string_view k, const std::string &v) {
    s.adaptive.patience = static_cast<unsigned>(std::min<uint64_t>(parseWhole(k, v), 1u << 20));
  };
  setters["adaptive.cooldown"] = [](RunSettings &s, std::string_view k, const std::string &v) {
    s.adaptive.cooldown = static_cast<unsigned>(std::min<uint64_t>(parseWhole(k, v), 1u << 20));
  };
  setters["adaptive.horizon"] = [](RunSettings &s, std::string_view k, const std::string &v) {
    s.adaptive.horizon = static_cast<unsigned>(std::min<uint64_t>(parseWhole(k, v), 1u << 20));
  };
  setters["adaptive.switch_base_cycles"] = [](RunSettings &s, std::string_view k, const std::string &v) {
    s.adaptive.switch_base_cycles = parseWhole(k, v);
  };
  return setters;
}

}  // namespace

void applyConfigText(std::string_view text, const std::string &name, RunSettings &settings) {
  const auto setters = makeSetters();
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
    const auto setter = setters.find(key);
    if (setter == setters.end())
      throw ConfigError(where + "unknown key '" + std::string(key) + "'");
    if (value.empty())
      throw ConfigError(where + std::string(key) + ": missing value");
    try {
      setter->second(settings, key, value);
    } catch (const std::invalid_argument &e) {
      throw ConfigError(where + e.what());
    }
  }
  if (settings.interval == 0)
    throw ConfigError(name + ": interval must be at least 1");
  if (settings.cycles_per_ref == 0)
    throw ConfigError(name + ": cycles_per_ref must be at least 1");
  if (const std::string error = settings.mmu.validate(); !error.empty())
    throw ConfigError(name + ": " + error);
}

void applyConfigFile(const std::string &path, RunSettings &settings) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw ConfigError(path + ": cannot read the configuration file");
  std::ostringstream text;
  text << in.rdbuf();
  applyConfigText(text.str(), path, settings);
}

}  // namespace vmmu::run
