// reader.cpp - streaming decompression and decoding of trace files.
//
// Two fixed buffers bound the memory: `input` (compressed bytes from the file) and `window`
// (decompressed bytes not yet parsed). Before a record is parsed the window is refilled until it
// holds at least the longest possible record or the stream has ended, so a record never needs
// more than the window.
#include "vmmu/trace/reader.h"

#include <zstd.h>
#include <zstd_errors.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "varint.h"
#include "vmmu/trace/input.h"

namespace vmmu::trace {

namespace {
constexpr size_t kMaxRecordBytes = 1 + detail::kMaxVarintBytes + kMaxPayloadBytes;
constexpr size_t kMaxHeaderFieldBytes = 2 * detail::kMaxVarintBytes + kMaxHeaderKeyBytes + kMaxHeaderValueBytes;
constexpr size_t kWindowBytes = 256 * 1024;
static_assert(kWindowBytes >= 2 * kMaxRecordBytes && kWindowBytes >= 2 * kMaxHeaderFieldBytes);
constexpr unsigned char kZstdMagic[4] = {0x28, 0xb5, 0x2f, 0xfd};

// A trace file, opened as a regular file (input.h), with errors as TraceError.
InputFile openInput(const std::string &path) {
  try {
    return openRegularFile(path);
  } catch (const InputFileError &e) {
    throw TraceError(e.what());
  }
}

// The error zstd returned at compressed byte `offset` of `name`: running out of memory is not
// corrupt data, and saying so sends the user to the right fix.
TraceError zstdError(const std::string &name, size_t ret, uint64_t offset) {
  if (ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation)
    return TraceError(name + ": out of memory decompressing at compressed byte offset " + std::to_string(offset),
                      TraceError::Space::Compressed, offset);
  return TraceError(name + ": corrupt compressed data at compressed byte offset " + std::to_string(offset) + ": " +
                        ZSTD_getErrorName(ret),
                    TraceError::Space::Compressed, offset);
}
}  // namespace

struct TraceReader::Impl {
  std::string name;
  std::FILE *file = nullptr;
  std::string_view memory;  // the input when reading from memory
  ZSTD_DCtx *dctx = nullptr;

  std::vector<char> input;
  ZSTD_inBuffer in{nullptr, 0, 0};
  uint64_t input_before = 0;  // compressed bytes consumed before `input`
  bool input_eof = false;
  size_t last_zstd_ret = 0;   // 0 when the decompressor is between frames
  bool stream_ended = false;  // no more decompressed bytes will come
  bool compressed_truncated = false;

  std::vector<unsigned char> window = std::vector<unsigned char>(kWindowBytes);
  size_t begin = 0, end = 0;
  uint64_t window_offset = 0;  // decompressed offset of window[0]

  TraceHeader header;
  uint16_t major = 0, minor = 0;
  uint64_t events = 0;
  uint64_t skipped = 0;  // records of kinds added by a later minor version
  bool done = false;
  // Decoder state mirroring the writer's.
  uint32_t last_cpu = 0, last_pid = 0;
  uint64_t last_fetch = 0, last_data = 0;

  ~Impl() {
    if (file)
      std::fclose(file);
    ZSTD_freeDCtx(dctx);
  }

  uint64_t compressedPos() const { return input_before + in.pos; }
  uint64_t offsetOf(size_t window_index) const { return window_offset + window_index; }

  [[noreturn]] void corrupt(uint64_t offset, const std::string &what) const {
    throw TraceError(name + ": corrupt trace at decompressed byte offset " + std::to_string(offset) + ": " + what,
                     TraceError::Space::Decompressed, offset);
  }
  // The data ran out before `what` was complete. If the compressed file itself was cut inside a
  // zstd frame, that is the root cause and the error says so.
  [[noreturn]] void truncated(const std::string &what) const {
    if (compressed_truncated)
      throw TraceError(name + ": truncated trace: compressed file ends at byte " + std::to_string(compressedPos()) +
                           " inside a zstd frame",
                       TraceError::Space::Compressed, compressedPos());
    const uint64_t at = offsetOf(end);
    throw TraceError(name + ": truncated trace: decompressed stream ends at byte " + std::to_string(at) + " " + what,
                     TraceError::Space::Decompressed, at);
  }

  // Reads more compressed input; false at end of file.
  bool readInput() {
    input_before += in.size;
    in.pos = in.size = 0;
    size_t got = 0;
    if (file) {
      got = std::fread(input.data(), 1, input.size(), file);
      if (got == 0 && std::ferror(file))
        throw TraceError(name + ": read error: " + std::strerror(errno), TraceError::Space::Compressed, input_before);
      in.src = input.data();
    } else {
      const uint64_t offset = input_before;
      got = offset < memory.size() ? std::min<size_t>(memory.size() - offset, input.size()) : 0;
      in.src = memory.data() + offset;
    }
    in.size = got;
    if (got == 0)
      input_eof = true;
    return got != 0;
  }

  // Moves the unparsed bytes to the front of the window and decompresses until the window is full
  // or the compressed input is exhausted.
  void fill() {
    if (stream_ended)
      return;
    if (begin > 0) {
      std::memmove(window.data(), window.data() + begin, end - begin);
      window_offset += begin;
      end -= begin;
      begin = 0;
    }
    while (end < window.size()) {
      if (in.pos == in.size && !input_eof)
        readInput();
      ZSTD_outBuffer out{window.data(), window.size(), end};
      const size_t in_before = in.pos;
      const size_t ret = ZSTD_decompressStream(dctx, &out, &in);
      if (ZSTD_isError(ret))
        throw zstdError(name, ret, compressedPos());
      const bool progress = out.pos != end || in.pos != in_before;
      if (progress)  // a call that did nothing says nothing about the frame
        last_zstd_ret = ret;
      end = out.pos;
      if (!progress && in.pos == in.size && input_eof) {
        stream_ended = true;
        compressed_truncated = last_zstd_ret != 0;
        return;
      }
    }
  }

  size_t available() const { return end - begin; }
  // Makes at least `n` bytes available unless the stream ends first.
  void ensure(size_t n) {
    if (available() < n)
      fill();
  }

  // A cursor over window bytes [p, limit) that reports errors at the right offset.
  struct Cursor {
    Impl &impl;
    size_t p, limit;
    uint64_t record_offset;
    const char *what;      // what is being decoded, for errors
    bool in_payload = false;  // limit is a declared payload length, not the end of the data

    uint64_t varint(const char *field) {
      uint64_t v = 0;
      const int n = detail::getVarint(impl.window.data() + p, impl.window.data() + limit, v);
      if (n < 0)
        impl.corrupt(impl.offsetOf(p), std::string("malformed varint in ") + field + " of " + what);
      if (n == 0) {
        if (in_payload)  // the declared payload length is too short
          impl.corrupt(record_offset, std::string(what) + " payload ends inside " + field);
        impl.truncated(std::string("inside ") + field + " of " + what + " starting at byte " +
                       std::to_string(record_offset));
      }
      p += static_cast<size_t>(n);
      return v;
    }
    uint32_t u32(const char *field) {
      const uint64_t at = impl.offsetOf(p);
      const uint64_t v = varint(field);
      if (v > UINT32_MAX)
        impl.corrupt(at, std::string(field) + " of " + what + " does not fit 32 bits");
      return static_cast<uint32_t>(v);
    }
    std::string bytes(const char *field, size_t max) {
      const uint64_t at = impl.offsetOf(p);
      const uint64_t n = varint(field);
      if (n > max)
        impl.corrupt(at, std::string(field) + " of " + what + " is " + std::to_string(n) + " bytes (limit " +
                             std::to_string(max) + ")");
      if (limit - p < n) {
        if (in_payload)
          impl.corrupt(record_offset, std::string(what) + " payload ends inside " + field);
        impl.truncated(std::string("inside ") + field + " of " + what + " starting at byte " +
                       std::to_string(record_offset));
      }
      std::string s(reinterpret_cast<const char *>(impl.window.data() + p), n);
      p += n;
      return s;
    }
  };

  void readPreamble() {
    if (!readInput()) {
      stream_ended = true;
      throw TraceError(name + ": not a vmmu trace: the file is empty (compressed byte offset 0)",
                       TraceError::Space::Compressed, 0);
    }
    if (in.size < 4 || std::memcmp(in.src, kZstdMagic, 4) != 0)
      throw TraceError(name + ": not a vmmu trace: no zstd frame magic at compressed byte offset 0",
                       TraceError::Space::Compressed, 0);
    ensure(kMagic.size() + 4);
    if (available() < kMagic.size() ||
        std::memcmp(window.data() + begin, kMagic.data(), kMagic.size()) != 0) {
      if (available() < kMagic.size() && stream_ended)
        truncated("inside the magic");
      corrupt(0, "not a vmmu trace (bad magic)");
    }
    if (available() < kMagic.size() + 4)
      truncated("inside the version");
    const unsigned char *v = window.data() + begin + kMagic.size();
    major = static_cast<uint16_t>(v[0] | v[1] << 8);
    minor = static_cast<uint16_t>(v[2] | v[3] << 8);
    if (major != kVersionMajor)
      throw TraceError(name + ": unsupported trace format version " + std::to_string(major) + "." +
                           std::to_string(minor) + " at decompressed byte offset " +
                           std::to_string(kMagic.size()) + " (this reader reads " +
                           std::to_string(kVersionMajor) + ".x)",
                       TraceError::Space::Decompressed, kMagic.size());
    begin += kMagic.size() + 4;

    ensure(detail::kMaxVarintBytes);
    Cursor count_cursor{*this, begin, end, offsetOf(begin), "header"};
    const uint64_t count = count_cursor.varint("field count");
    if (count > kMaxHeaderFields)
      corrupt(offsetOf(begin), "header has " + std::to_string(count) + " fields (limit " +
                                   std::to_string(kMaxHeaderFields) + ")");
    begin = count_cursor.p;
    for (uint64_t i = 0; i < count; ++i) {
      ensure(kMaxHeaderFieldBytes);
      Cursor c{*this, begin, end, offsetOf(begin), "header field"};
      std::string key = c.bytes("key", kMaxHeaderKeyBytes);
      std::string value = c.bytes("value", kMaxHeaderValueBytes);
      if (key.empty())
        corrupt(offsetOf(begin), "empty header key");
      if (header.get(key))
        corrupt(offsetOf(begin), "duplicate header key '" + key + "'");
      header.set(std::move(key), std::move(value));
      begin = c.p;
    }
  }

  std::optional<Event> next() {
    while (!done) {
      std::optional<Event> e = nextRecord();
      if (e || done)
        return e;
      // nextRecord() returns nothing without ending for a skipped record: read on.
    }
    return std::nullopt;
  }

  // One record: an event, or nothing (at the end record, or after skipping an unknown kind).
  std::optional<Event> nextRecord() {
    ensure(kMaxRecordBytes);
    if (available() == 0)
      truncated("before the end record (after " + std::to_string(events) + " events)");
    const uint64_t record_offset = offsetOf(begin);
    const uint8_t tag = window[begin];
    Cursor c{*this, begin + 1, end, record_offset, "record"};
    Event e;
    if (tag & kTagAccessBit) {
      c.what = "access record";
      if (tag & 0x40)
        corrupt(record_offset, "reserved bit 6 set in access tag");
      if ((tag & 3) == 3)
        corrupt(record_offset, "invalid access operation 3");
      e.kind = EventKind::Access;
      e.op = static_cast<AccessOp>(tag & 3);
      if (tag & 4) {
        last_cpu = c.u32("cpu");
        last_pid = c.u32("pid");
      }
      e.cpu = last_cpu;
      e.pid = last_pid;
      const unsigned code = (tag >> 3) & 7;
      if (code != 0) {
        e.size = 1u << (code - 1);
      } else {
        const uint64_t at = offsetOf(c.p);
        e.size = c.u32("size");
        if (e.size == 0)
          corrupt(at, "access size 0");
      }
      uint64_t &base = e.op == AccessOp::Fetch ? last_fetch : last_data;
      e.address = base + static_cast<uint64_t>(detail::unzigzag(c.varint("address delta")));
      base = e.address;
      begin = c.p;
      ++events;
      return e;
    }
    if (tag == kTagEnd) {
      c.what = "end record";
      const uint64_t count = c.varint("event count");
      if (count != events + skipped)
        corrupt(record_offset, "end record counts " + std::to_string(count) + " events but the trace has " +
                                   std::to_string(events + skipped));
      begin = c.p;
      checkNothingAfterEnd();
      done = true;
      return std::nullopt;
    }
    c.what = "record";
    const uint64_t payload = c.varint("payload length");
    if (payload > kMaxPayloadBytes)
      corrupt(record_offset, "payload length " + std::to_string(payload) + " exceeds the limit " +
                                 std::to_string(kMaxPayloadBytes));
    if (end - c.p < payload)
      truncated("inside the payload of the record starting at byte " + std::to_string(record_offset));
    const size_t payload_end = c.p + payload;
    Cursor p{*this, c.p, payload_end, record_offset, "", true};
    const auto protection = [&]() {
      const uint64_t at = offsetOf(p.p);
      const uint64_t v = p.varint("prot");
      if (v > prot::All)
        corrupt(at, "protection " + std::to_string(v) + " is not a combination of read, write and exec");
      return static_cast<uint8_t>(v);
    };
    const auto text = [&]() { return p.bytes("text", kMaxTextBytes); };
    if (tag > kNumEventKinds || tag == static_cast<uint8_t>(EventKind::Access)) {
      if (minor > kVersionMinor && tag != static_cast<uint8_t>(EventKind::Access)) {
        begin = payload_end;  // a kind added by a later minor version: skip it
        ++skipped;
        return std::nullopt;
      }
      corrupt(record_offset, "unknown record kind " + std::to_string(tag));
    }
    e.kind = static_cast<EventKind>(tag);
    const std::string what = std::string(toString(e.kind)) + " record";
    p.what = what.c_str();
    switch (e.kind) {
    case EventKind::ProcessCreate:
      e.pid = p.u32("pid");
      e.parent = p.u32("parent");
      e.text = text();
      break;
    case EventKind::ProcessExit:
      e.pid = p.u32("pid");
      break;
    case EventKind::ContextSwitch:
      e.cpu = p.u32("cpu");
      e.pid = p.u32("pid");
      break;
    case EventKind::Mmap:
    case EventKind::Mprotect:
      e.pid = p.u32("pid");
      e.address = p.varint("start");
      e.length = p.varint("length");
      e.prot = protection();
      break;
    case EventKind::Munmap:
      e.pid = p.u32("pid");
      e.address = p.varint("start");
      e.length = p.varint("length");
      break;
    case EventKind::Brk:
      e.pid = p.u32("pid");
      e.address = p.varint("end");
      break;
    case EventKind::PageTableWrite: {
      e.cpu = p.u32("cpu");
      e.pid = p.u32("pid");
      e.address = p.varint("entry address");
      e.value = p.varint("value");
      const uint64_t at = offsetOf(p.p);
      const uint64_t level = p.varint("level");
      if (level < 1 || level > 5)
        corrupt(at, "page-table level " + std::to_string(level) + " is not 1 to 5");
      e.level = static_cast<uint8_t>(level);
      break;
    }
    case EventKind::Invlpg:
      e.cpu = p.u32("cpu");
      e.pid = p.u32("pid");
      e.address = p.varint("va");
      break;
    case EventKind::Marker:
      e.cpu = p.u32("cpu");
      e.text = text();
      break;
    case EventKind::Access:
      break;  // handled above
    }
    if (p.p != payload_end && minor <= kVersionMinor)
      corrupt(record_offset, std::to_string(payload_end - p.p) + " unexpected bytes at the end of the " + what);
    begin = payload_end;
    ++events;
    return e;
  }

  // After the end record nothing may follow, and the compressed stream must end cleanly (which
  // also makes zstd verify the checksum of the last frame).
  void checkNothingAfterEnd() {
    while (!stream_ended || available() > 0) {
      if (available() > 0)
        corrupt(offsetOf(begin), "data after the end record");
      fill();
    }
    if (compressed_truncated)
      truncated("");
  }
};

TraceReader::TraceReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->dctx = ZSTD_createDCtx();
  if (!impl_->dctx)
    throw TraceError(impl_->name + ": cannot create a zstd decompression context");
  // Bounds the decompressor's memory whatever a frame header claims (docs/trace-format.md §1).
  ZSTD_DCtx_setParameter(impl_->dctx, ZSTD_d_windowLogMax, kMaxWindowLog);
  impl_->input.resize(ZSTD_DStreamInSize());
  impl_->readPreamble();
}

TraceReader::TraceReader(const std::string &path) : TraceReader(openFile(path)) {}

TraceReader TraceReader::fromBytes(std::string_view bytes, std::string name) {
  auto impl = std::make_unique<Impl>();
  impl->name = std::move(name);
  impl->memory = bytes;
  return TraceReader(std::move(impl));
}

std::unique_ptr<TraceReader::Impl> TraceReader::openFile(const std::string &path) {
  auto impl = std::make_unique<Impl>();
  impl->name = path;
  impl->file = openInput(path).release();
  return impl;
}

TraceReader::~TraceReader() = default;
TraceReader::TraceReader(TraceReader &&) noexcept = default;
TraceReader &TraceReader::operator=(TraceReader &&) noexcept = default;

const TraceHeader &TraceReader::header() const { return impl_->header; }
uint16_t TraceReader::versionMajor() const { return impl_->major; }
uint16_t TraceReader::versionMinor() const { return impl_->minor; }
std::optional<Event> TraceReader::next() { return impl_->next(); }
uint64_t TraceReader::eventsRead() const { return impl_->events; }
uint64_t TraceReader::compressedOffset() const { return impl_->compressedPos(); }
uint64_t TraceReader::decompressedOffset() const { return impl_->offsetOf(impl_->begin); }

std::string decompressTraceFile(const std::string &path) {
  const InputFile input_file = openInput(path);
  std::FILE *file = input_file.get();
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx *)> dctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
  std::vector<char> input(ZSTD_DStreamInSize()), output(ZSTD_DStreamOutSize());
  std::string result;
  uint64_t consumed = 0;
  size_t frame_state = 0;  // last hint from a call that made progress: 0 between frames
  const auto step = [&](ZSTD_inBuffer &in) {
    ZSTD_outBuffer out{output.data(), output.size(), 0};
    const size_t in_before = in.pos;
    const size_t ret = ZSTD_decompressStream(dctx.get(), &out, &in);
    if (ZSTD_isError(ret))
      throw zstdError(path, ret, consumed + in.pos);
    result.append(output.data(), out.pos);
    const bool progress = out.pos != 0 || in.pos != in_before;
    if (progress)
      frame_state = ret;
    return progress;
  };
  while (const size_t got = std::fread(input.data(), 1, input.size(), file)) {
    ZSTD_inBuffer in{input.data(), got, 0};
    while (in.pos < in.size)
      step(in);
    consumed += got;
  }
  // Flush whatever the decompressor still holds.
  ZSTD_inBuffer none{nullptr, 0, 0};
  while (step(none)) {
  }
  if (frame_state != 0)
    throw TraceError(path + ": truncated trace: compressed file ends at byte " + std::to_string(consumed) +
                         " inside a zstd frame",
                     TraceError::Space::Compressed, consumed);
  return result;
}

}  // namespace vmmu::trace
