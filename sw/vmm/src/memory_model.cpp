// memory_model.cpp - the flat latency and the L1D/L2/LLC/DRAM hierarchy (memory_model.h).
#include "vmmu/vmm/memory_model.h"

#include <stdexcept>

#include "set_assoc_array.h"

namespace vmmu::vmm {

namespace {

constexpr unsigned kLineShift = 6;  // 64-byte lines
static_assert(MemoryModelConfig::kLineBytes == 1u << kLineShift);
constexpr unsigned kMaxWays = 64;  // the PLRU bits of a set fit one word

bool powerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

std::string num(uint64_t v) { return std::to_string(v); }

// "32K" / "8M" for headers.
std::string sizeText(uint64_t kib) { return kib % 1024 == 0 ? num(kib / 1024) + "M" : num(kib) + "K"; }

}  // namespace

const char *MemoryModelConfig::levelName(unsigned level) {
  static const char *const kNames[kLevels] = {"l1d", "l2", "llc"};
  return level < kLevels ? kNames[level] : "?";
}

std::string MemoryModelConfig::validate() const {
  if (kind == Kind::Flat)
    return cycles_per_ref == 0 ? "cycles_per_ref: a walk reference cannot take 0 cycles (allowed 1..1000000)" : "";
  const std::string latency_range = "2.." + num(kMaxLatency);
  uint64_t previous_latency = 0;
  const char *previous = nullptr;
  for (unsigned i = 0; i < kLevels; ++i) {
    const CacheLevelConfig &level = levels[i];
    const std::string key = levelName(i);
    if (level.ways == 0 || level.ways > kMaxWays || !powerOfTwo(level.ways))
      return key + ".ways: " + num(level.ways) + " is not a power of two in 1.." + num(kMaxWays);
    const uint64_t bytes = level.size_kib * 1024;
    const uint64_t way_bytes = uint64_t{level.ways} * kLineBytes;
    if (level.size_kib == 0 || bytes % way_bytes != 0)
      return key + ".size_kib: " + num(level.size_kib) + " KiB is not a multiple of " + key + ".ways x " +
             num(kLineBytes) + "-byte lines (" + num(way_bytes) + " bytes)";
    if (!powerOfTwo(bytes / way_bytes))
      return key + ".size_kib: " + num(level.size_kib) + " KiB over " + num(level.ways) + " ways gives " +
             num(bytes / way_bytes) + " sets, not a power of two (allowed: size_kib = ways x 64 B x 2^n / 1024)";
    if (level.latency < 2 || level.latency > kMaxLatency)
      return key + ".latency: " + num(level.latency) + " cycles is outside " + latency_range +
             " (a reference takes a request and a response cycle, §12)";
    if (level.latency < previous_latency)
      return key + ".latency: " + num(level.latency) + " cycles is below " + previous + ".latency (" +
             num(previous_latency) + "): allowed " + num(previous_latency) + ".." + num(kMaxLatency);
    previous_latency = level.latency;
    previous = levelName(i);
  }
  if (dram_latency < previous_latency || dram_latency > kMaxLatency)
    return "dram.latency: " + num(dram_latency) + " cycles is outside " + num(previous_latency) + ".." +
           num(kMaxLatency) + " (at least llc.latency)";
  return "";
}

std::string MemoryModelConfig::describe() const {
  if (kind == Kind::Flat)
    return "flat, " + num(cycles_per_ref) + " cycles per walk reference";
  std::string out = "cache";
  const char *const labels[kLevels] = {"L1D", "L2", "LLC"};
  for (unsigned i = 0; i < kLevels; ++i)
    out += std::string(i == 0 ? " " : ", ") + labels[i] + " " + sizeText(levels[i].size_kib) + "/" +
           num(levels[i].ways) + "w " + num(levels[i].latency) + "c";
  return out + ", DRAM " + num(dram_latency) + "c";
}

// A cached line: its line number (host address / 64).
struct CachedLine {
  bool valid = false;
  uint64_t line = 0;
};

struct MemoryHierarchy::Level {
  explicit Level(const CacheLevelConfig &config)
      : lines(static_cast<unsigned>(config.size_kib * 1024 / MemoryModelConfig::kLineBytes) / config.ways,
              config.ways),
        latency(config.latency) {}
  unsigned setOf(uint64_t line) const { return lines.setOf(line); }
  int find(uint64_t line) const {
    return lines.find(setOf(line), [line](const CachedLine &cached) { return cached.line == line; });
  }
  // Looks `line` up; a hit touches its way (§9.1).
  bool lookup(uint64_t line) {
    const int way = find(line);
    if (way < 0)
      return false;
    lines.touch(setOf(line), static_cast<unsigned>(way));
    return true;
  }
  // The lowest empty way of its set, else the PLRU victim; then touched.
  void fill(uint64_t line) { lines.fill(setOf(line), CachedLine{true, line}); }

  detail::SetAssocArray<CachedLine> lines;
  uint64_t latency;
};

MemoryHierarchy::~MemoryHierarchy() = default;

MemoryHierarchy::MemoryHierarchy(const MemoryModelConfig &config) : config_(config) {
  if (const std::string error = config.validate(); !error.empty())
    throw std::invalid_argument(error);
  if (flat())
    return;
  levels_.reserve(MemoryModelConfig::kLevels);
  for (const CacheLevelConfig &level : config.levels)
    levels_.push_back(std::make_unique<Level>(level));
}

uint64_t MemoryHierarchy::access(uint64_t hpa) {
  const uint64_t line = hpa >> kLineShift;
  if (line == last_line_) {
    ++served_[0];
    return levels_[0]->latency;
  }
  last_line_ = line;
  unsigned level = 0;
  while (level < levels_.size() && !levels_[level]->lookup(line))
    ++level;
  ++served_[level];
  for (unsigned missed = 0; missed < level && missed < levels_.size(); ++missed)
    levels_[missed]->fill(line);
  return level < levels_.size() ? levels_[level]->latency : config_.dram_latency;
}

bool MemoryHierarchy::holds(unsigned level, uint64_t hpa) const {
  return level < levels_.size() && levels_[level]->find(hpa >> kLineShift) >= 0;
}

}  // namespace vmmu::vmm
