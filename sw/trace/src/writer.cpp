// writer.cpp - encoding and streaming compression of trace files.
#include "vmmu/trace/writer.h"

#include <zstd.h>

#include <cerrno>
#include <cstring>

#include "varint.h"

namespace vmmu::trace {

using detail::putVarint;

struct TraceWriter::ZstdContext {
  ZSTD_CCtx *cctx = ZSTD_createCCtx();
  ~ZstdContext() { ZSTD_freeCCtx(cctx); }
};

namespace {
// Records are compressed in chunks of this size: large enough for zstd to work well, small enough
// that the writer's memory is negligible.
constexpr size_t kChunkBytes = 128 * 1024;

void putString(std::string &out, std::string_view s) {
  putVarint(out, s.size());
  out.append(s);
}

// Access sizes 1, 2, 4, ..., 64 have a 3-bit code in the tag; others are written out.
unsigned sizeCode(uint32_t size) {
  for (unsigned code = 1; code <= 7; ++code)
    if (size == (1u << (code - 1)))
      return code;
  return 0;
}
}  // namespace

TraceWriter::TraceWriter(const std::string &path, const TraceHeader &header, int compression_level)
    : path_(path), zstd_(std::make_unique<ZstdContext>()) {
  if (header.fields().size() > kMaxHeaderFields)
    throw TraceError(path + ": too many header fields (limit " + std::to_string(kMaxHeaderFields) + ")");
  for (const auto &[key, value] : header.fields()) {
    if (key.empty() || key.size() > kMaxHeaderKeyBytes)
      throw TraceError(path + ": header key '" + key + "' is empty or longer than " +
                       std::to_string(kMaxHeaderKeyBytes) + " bytes");
    if (value.size() > kMaxHeaderValueBytes)
      throw TraceError(path + ": header value of '" + key + "' is longer than " +
                       std::to_string(kMaxHeaderValueBytes) + " bytes");
  }
  if (!zstd_->cctx)
    throw TraceError(path + ": cannot create a zstd compression context");
  ZSTD_CCtx_setParameter(zstd_->cctx, ZSTD_c_compressionLevel, compression_level);
  // The checksum lets a reader tell corrupted compressed data from a valid, strange trace.
  ZSTD_CCtx_setParameter(zstd_->cctx, ZSTD_c_checksumFlag, 1);
  file_ = std::fopen(path.c_str(), "wb");
  if (!file_)
    throw TraceError(path + ": cannot create: " + std::strerror(errno));

  pending_.append(kMagic);
  for (const uint16_t v : {kVersionMajor, kVersionMinor}) {
    pending_.push_back(static_cast<char>(v & 0xff));
    pending_.push_back(static_cast<char>(v >> 8));
  }
  putVarint(pending_, header.fields().size());
  for (const auto &[key, value] : header.fields()) {
    putString(pending_, key);
    putString(pending_, value);
  }
}

TraceWriter::~TraceWriter() {
  if (file_)
    std::fclose(file_);
}

void TraceWriter::write(const Event &e) {
  if (finished_)
    throw TraceError(path_ + ": write after finish");
  if (e.kind == EventKind::Access)
    encodeAccess(e);
  else
    encodeOther(e);
  ++events_;
  if (pending_.size() >= kChunkBytes)
    compress(false);
}

void TraceWriter::encodeAccess(const Event &e) {
  if (e.size == 0)
    throw TraceError(path_ + ": access of size 0 at event " + std::to_string(events_));
  if (static_cast<unsigned>(e.op) > 2)
    throw TraceError(path_ + ": access with an invalid operation at event " + std::to_string(events_));
  const bool new_thread = e.cpu != last_cpu_ || e.pid != last_pid_;
  const unsigned code = sizeCode(e.size);
  pending_.push_back(static_cast<char>(kTagAccessBit | (code << 3) | (new_thread ? 4u : 0u) |
                                       static_cast<unsigned>(e.op)));
  if (new_thread) {
    putVarint(pending_, e.cpu);
    putVarint(pending_, e.pid);
    last_cpu_ = e.cpu;
    last_pid_ = e.pid;
  }
  if (code == 0)
    putVarint(pending_, e.size);
  // Fetches and data accesses are separate address streams, each delta-encoded against itself.
  uint64_t &base = e.op == AccessOp::Fetch ? last_fetch_ : last_data_;
  putVarint(pending_, detail::zigzag(static_cast<int64_t>(e.address - base)));
  base = e.address;
}

void TraceWriter::encodeOther(const Event &e) {
  const auto text = [&]() {
    if (e.text.size() > kMaxTextBytes)
      throw TraceError(path_ + ": text of event " + std::to_string(events_) + " is longer than " +
                       std::to_string(kMaxTextBytes) + " bytes");
    putString(payload_, e.text);
  };
  const auto protection = [&]() {
    if (e.prot > prot::All)
      throw TraceError(path_ + ": protection " + std::to_string(e.prot) + " of event " + std::to_string(events_) +
                       " is not a combination of read, write and exec");
    putVarint(payload_, e.prot);
  };
  payload_.clear();
  switch (e.kind) {
  case EventKind::ProcessCreate:
    putVarint(payload_, e.pid);
    putVarint(payload_, e.parent);
    text();
    break;
  case EventKind::ProcessExit:
    putVarint(payload_, e.pid);
    break;
  case EventKind::ContextSwitch:
    putVarint(payload_, e.cpu);
    putVarint(payload_, e.pid);
    break;
  case EventKind::Mmap:
  case EventKind::Mprotect:
    putVarint(payload_, e.pid);
    putVarint(payload_, e.address);
    putVarint(payload_, e.length);
    protection();
    break;
  case EventKind::Munmap:
    putVarint(payload_, e.pid);
    putVarint(payload_, e.address);
    putVarint(payload_, e.length);
    break;
  case EventKind::Brk:
    putVarint(payload_, e.pid);
    putVarint(payload_, e.address);
    break;
  case EventKind::PageTableWrite:
    if (e.level < 1 || e.level > 5)
      throw TraceError(path_ + ": page-table level " + std::to_string(e.level) + " of event " +
                       std::to_string(events_) + " is not 1 to 5");
    putVarint(payload_, e.cpu);
    putVarint(payload_, e.pid);
    putVarint(payload_, e.address);
    putVarint(payload_, e.value);
    putVarint(payload_, e.level);
    break;
  case EventKind::Invlpg:
    putVarint(payload_, e.cpu);
    putVarint(payload_, e.pid);
    putVarint(payload_, e.address);
    break;
  case EventKind::Marker:
    putVarint(payload_, e.cpu);
    text();
    break;
  case EventKind::Access:
  default:
    throw TraceError(path_ + ": event " + std::to_string(events_) + " has an unknown kind");
  }
  pending_.push_back(static_cast<char>(e.kind));
  putVarint(pending_, payload_.size());
  pending_.append(payload_);
}

void TraceWriter::finish() {
  if (finished_)
    return;
  pending_.push_back(static_cast<char>(kTagEnd));
  putVarint(pending_, events_);
  compress(true);
  finished_ = true;
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0)
    throw TraceError(path_ + ": cannot close: " + std::strerror(errno));
}

void TraceWriter::compress(bool end) {
  compressed_.resize(ZSTD_CStreamOutSize());
  ZSTD_inBuffer in{pending_.data(), pending_.size(), 0};
  const ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;
  for (;;) {
    ZSTD_outBuffer out{compressed_.data(), compressed_.size(), 0};
    const size_t remaining = ZSTD_compressStream2(zstd_->cctx, &out, &in, mode);
    if (ZSTD_isError(remaining))
      throw TraceError(path_ + ": zstd compression failed: " + ZSTD_getErrorName(remaining));
    if (out.pos && std::fwrite(compressed_.data(), 1, out.pos, file_) != out.pos)
      throw TraceError(path_ + ": write failed: " + std::strerror(errno));
    const bool done = end ? remaining == 0 : in.pos == in.size;
    if (done)
      break;
  }
  pending_.clear();
}

}  // namespace vmmu::trace
