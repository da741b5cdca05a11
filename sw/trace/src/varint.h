// varint.h - LEB128 varints and zigzag deltas of the trace format (internal to vmmu_trace).
#ifndef VMMU_TRACE_SRC_VARINT_H
#define VMMU_TRACE_SRC_VARINT_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace vmmu::trace::detail {

// Longest encoding of a 64-bit value: ceil(64 / 7).
inline constexpr size_t kMaxVarintBytes = 10;

inline void putVarint(std::string &out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Signed deltas are zigzag-mapped so that small negative steps stay short.
inline uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Decodes a varint from [p, end). Returns the number of bytes used, 0 if the input ends inside the
// varint, or -1 if it is longer than 10 bytes or overflows 64 bits.
inline int getVarint(const unsigned char *p, const unsigned char *end, uint64_t &value) {
  uint64_t v = 0;
  for (int i = 0; i < static_cast<int>(kMaxVarintBytes); ++i) {
    if (p + i >= end)
      return 0;
    const uint64_t byte = p[i];
    if (i == 9 && byte > 1)
      return -1;
    v |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      value = v;
      return i + 1;
    }
  }
  return -1;
}

}  // namespace vmmu::trace::detail

#endif  // VMMU_TRACE_SRC_VARINT_H
