// MmuConfig::validate(): the parameter ranges of §1.
#include "vmmu/config.h"

namespace vmmu {
namespace {

bool isPowerOfTwo(unsigned v) { return v != 0 && (v & (v - 1)) == 0; }

// Empty when the geometry is legal, else "<name>: <problem>".
std::string checkGeometry(const std::string &name, const ArrayGeometry &g) {
  if (!isPowerOfTwo(g.sets))
    return name + ".sets must be a power of two >= 1, got " + std::to_string(g.sets);
  if (!isPowerOfTwo(g.ways))
    return name + ".ways must be a power of two >= 1, got " + std::to_string(g.ways);
  // PLRU state is kept in a 64-bit word per set (W - 1 bits): bound the ways accordingly.
  if (g.ways > 64)
    return name + ".ways must be at most 64, got " + std::to_string(g.ways);
  if (g.sets > (1u << 20))
    return name + ".sets must be at most 2^20, got " + std::to_string(g.sets);
  return {};
}

}  // namespace

std::string MmuConfig::validate() const {
  if (guest_levels != 4 && guest_levels != 5)
    return "guest_levels must be 4 or 5, got " + std::to_string(guest_levels);
  if (nested_levels != 4 && nested_levels != 5)
    return "nested_levels must be 4 or 5, got " + std::to_string(nested_levels);
  // At least 32 bits so a 1G page fits with room; at most 52, x86's architectural MAXPHYADDR.
  if (pa_bits < 32 || pa_bits > 52)
    return "pa_bits must be in 32..52, got " + std::to_string(pa_bits);
  // The control port names a slot with log2(NumContexts) bits (§13); 8 bits at most here.
  if (num_contexts < 1 || num_contexts > 256)
    return "num_contexts must be in 1..256, got " + std::to_string(num_contexts);
  // ESCAPE_k is register 8 + k and registers are 4 bits wide (§13): k <= 7.
  if (escape_entries > 8)
    return "escape_entries must be in 0..8, got " + std::to_string(escape_entries);
  static const char *const kSizeNames[3] = {"4k", "2m", "1g"};
  for (unsigned i = 0; i < 3; ++i) {
    if (std::string e = checkGeometry(std::string("tlb.") + kSizeNames[i], tlb[i]); !e.empty())
      return e;
    if (std::string e = checkGeometry(std::string("ntlb.") + kSizeNames[i], ntlb[i]); !e.empty())
      return e;
  }
  if (hasStlb()) {
    if (std::string e = checkGeometry("stlb", stlb); !e.empty())
      return e;
  }
  for (unsigned level = 2; level <= guest_levels; ++level) {
    const std::string name = "psc.l" + std::to_string(level);
    if (std::string e = checkGeometry(name, psc[level - 2]); !e.empty())
      return e;
  }
  // An EPT PSC level may be absent (ways = 0, §10.3); its sets are then not used.
  for (unsigned level = 2; level <= nested_levels; ++level) {
    const std::string name = "ept_psc.l" + std::to_string(level);
    if (ept_psc[level - 2].ways == 0)
      continue;
    if (std::string e = checkGeometry(name, ept_psc[level - 2]); !e.empty())
      return e;
  }
  return {};
}

}  // namespace vmmu
