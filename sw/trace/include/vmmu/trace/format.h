// format.h - constants of the binary trace format (docs/trace-format.md) and its error type.
//
// The format is a zstd-compressed byte stream: a preamble (magic, version, header fields), then
// one record per event, then an end record. The writer (writer.h) and reader (reader.h) are its
// only producers and consumers; this header holds what both must agree on.
#ifndef VMMU_TRACE_FORMAT_H
#define VMMU_TRACE_FORMAT_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vmmu::trace {

// First bytes of the decompressed stream.
inline constexpr std::string_view kMagic{"VMMUTRC\n", 8};
// Major: readers reject any other major. Minor: additions old readers can skip (new non-access
// record kinds, extra payload bytes at the end of a known record).
inline constexpr uint16_t kVersionMajor = 1;
inline constexpr uint16_t kVersionMinor = 0;

// Limits that keep a reader's memory bounded whatever the input says.
inline constexpr size_t kMaxHeaderFields = 256;
inline constexpr size_t kMaxHeaderKeyBytes = 256;
inline constexpr size_t kMaxHeaderValueBytes = 64 * 1024;
inline constexpr size_t kMaxPayloadBytes = 64 * 1024;  // non-access record payload
inline constexpr size_t kMaxTextBytes = 4096;          // process name, marker label
// The label (then the count) of the marker `vmmu record --skip` writes after one access to each
// page the skipped start-up left resident (docs/trace-format.md §7).
inline constexpr std::string_view kStartUpMarker = "start-up resident pages: ";
inline constexpr int kMaxWindowLog = 24;               // zstd window: 16 MiB (levels <= 19 use <= 8 MiB)

// Record tags (first byte of a record).
inline constexpr uint8_t kTagEnd = 0x00;
inline constexpr uint8_t kTagAccessBit = 0x80;  // set: an access record (see docs)

// Default zstd level: a good size/speed point for traces of millions of accesses.
inline constexpr int kDefaultCompressionLevel = 9;

// Where a trace came from: ordered key/value pairs. Conventional keys: "command" (what was run to
// produce the events), "tool" (which vmmu tool and options made the file), "date" (UTC, ISO
// 8601), "machine" (uname of the recording host), "note". Keys are unique.
class TraceHeader {
public:
  void set(std::string key, std::string value);
  std::optional<std::string_view> get(std::string_view key) const;
  const std::vector<std::pair<std::string, std::string>> &fields() const { return fields_; }
  bool operator==(const TraceHeader &) const = default;

private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// Header for a file made now by `tool` from `command`: fills date and machine.
TraceHeader makeHeader(std::string tool, std::string command);

// A trace that cannot be read (or written). `offset` is a byte offset in `space`.
class TraceError : public std::runtime_error {
public:
  enum class Space { None, Compressed, Decompressed };
  TraceError(const std::string &message, Space space = Space::None, uint64_t offset = 0)
      : std::runtime_error(message), space_(space), offset_(offset) {}
  Space space() const { return space_; }
  uint64_t offset() const { return offset_; }

private:
  Space space_;
  uint64_t offset_;
};

}  // namespace vmmu::trace

#endif  // VMMU_TRACE_FORMAT_H
