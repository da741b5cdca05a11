// random.h - the testbench's seeded random source (xoshiro256**).
//
// Every random decision of a run (stimulus, back-pressure, memory latency) draws from a Random
// derived from +seed, so a seed reproduces a run exactly, with or without waves.
#pragma once

#include <cstdint>

namespace vmmu::tb {

class Random {
public:
  explicit Random(uint64_t seed) {
    // splitmix64 expands the seed into the four state words (never all zero).
    for (uint64_t &word : state_) {
      seed += 0x9e3779b97f4a7c15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      word = z ^ (z >> 31);
    }
  }

  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, bound); bound > 0. The multiply-shift bias is negligible for stimulus.
  uint64_t below(uint64_t bound) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64); }
  // Uniform in [lo, hi].
  uint64_t range(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
  // True with probability percent / 100.
  bool percent(unsigned percent) { return below(100) < percent; }
  // True with probability permille / 1000.
  bool permille(unsigned permille) { return below(1000) < permille; }

  // A child stream for an independent consumer (so adding draws in one place does not perturb
  // another's sequence).
  Random fork() { return Random(next()); }

private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace vmmu::tb
