// reader.h - reads a binary trace file one event at a time, in bounded memory.
//
//   vmmu::trace::TraceReader reader("gzip.vmt");
//   while (auto event = reader.next()) { ... }
//
// The reader holds one fixed-size compressed input buffer and one fixed-size window of
// decompressed bytes, whatever the length of the trace, so a trace larger than memory replays.
// Every problem with the input (not a trace, wrong major version, corrupt or truncated compressed
// data, a malformed record, a missing end record) throws one TraceError whose message names the
// file and the byte offset, saying whether it is an offset in the compressed file or in the
// decompressed stream (docs/trace-format.md, "Errors").
#ifndef VMMU_TRACE_READER_H
#define VMMU_TRACE_READER_H

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "vmmu/trace/event.h"
#include "vmmu/trace/format.h"

namespace vmmu::trace {

class TraceReader {
public:
  // Opens `path` and reads the header. Throws TraceError.
  explicit TraceReader(const std::string &path);
  // Reads a trace held in memory (the caller keeps `bytes` alive); `name` appears in errors.
  static TraceReader fromBytes(std::string_view bytes, std::string name = "<memory>");
  ~TraceReader();
  TraceReader(TraceReader &&) noexcept;
  TraceReader &operator=(TraceReader &&) noexcept;

  const TraceHeader &header() const;
  uint16_t versionMajor() const;
  uint16_t versionMinor() const;

  // The next event, or nullopt after the end record (which is checked: event count, nothing after
  // it, compressed stream complete and its checksum right). Throws TraceError.
  std::optional<Event> next();

  uint64_t eventsRead() const;
  // Bytes of the compressed file consumed so far and of the decompressed stream parsed so far.
  uint64_t compressedOffset() const;
  uint64_t decompressedOffset() const;

private:
  struct Impl;
  explicit TraceReader(std::unique_ptr<Impl> impl);
  static std::unique_ptr<Impl> openFile(const std::string &path);
  std::unique_ptr<Impl> impl_;
};

// Decompresses a whole trace file into memory without parsing it: for tests and tools that compare
// the encoded event streams of two files. Throws TraceError on compressed-level errors.
std::string decompressTraceFile(const std::string &path);

}  // namespace vmmu::trace

#endif  // VMMU_TRACE_READER_H
