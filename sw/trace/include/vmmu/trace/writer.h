// writer.h - writes a binary trace file (docs/trace-format.md), compressing as it goes.
//
// Memory use is bounded: encoded records collect in a small buffer that is handed to zstd's
// streaming compressor whenever it fills, so a writer can produce traces of any length.
#ifndef VMMU_TRACE_WRITER_H
#define VMMU_TRACE_WRITER_H

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "vmmu/trace/event.h"
#include "vmmu/trace/format.h"

namespace vmmu::trace {

class TraceWriter {
public:
  // Creates (truncates) `path` and writes the preamble. Throws TraceError if the file cannot be
  // created or the header breaks a limit of the format.
  TraceWriter(const std::string &path, const TraceHeader &header, int compression_level = kDefaultCompressionLevel);
  // A writer destroyed before finish() leaves a file without an end record, which readers report
  // as truncated: an interrupted recording never looks complete.
  ~TraceWriter();
  TraceWriter(const TraceWriter &) = delete;
  TraceWriter &operator=(const TraceWriter &) = delete;

  // Appends one event. Throws TraceError for an event the format cannot hold (zero access size,
  // prot or level out of range, text too long) or on an I/O error.
  void write(const Event &event);
  // Writes the end record, flushes and closes the file. Further writes throw.
  void finish();

  uint64_t eventsWritten() const { return events_; }
  const std::string &path() const { return path_; }

private:
  void encodeAccess(const Event &e);
  void encodeOther(const Event &e);
  void compress(bool end);

  std::string path_;
  std::FILE *file_ = nullptr;
  struct ZstdContext;
  std::unique_ptr<ZstdContext> zstd_;
  std::string pending_;  // encoded records not yet compressed
  std::string payload_;  // scratch for a non-access record's payload
  std::string compressed_;
  uint64_t events_ = 0;
  // Encoder state mirrored by the reader (docs/trace-format.md, "Access records").
  uint32_t last_cpu_ = 0;
  uint32_t last_pid_ = 0;
  uint64_t last_fetch_ = 0;
  uint64_t last_data_ = 0;
  bool finished_ = false;
};

}  // namespace vmmu::trace

#endif  // VMMU_TRACE_WRITER_H
