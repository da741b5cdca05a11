// reader_fuzzer.cpp - libFuzzer target for the trace reader (and the text form of what it reads).
//
// The first input byte picks the layer under attack:
//   even: the input is a whole compressed trace file (zstd framing, checksums, then records);
//   odd:  the rest is a decompressed stream, compressed here first, so that mutations reach the
//         record decoder instead of dying in zstd's checks.
// A TraceError is the expected outcome for bad input; anything else (a crash, a sanitizer report,
// an event whose text form does not parse back to itself) is a bug.
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "vmmu/trace/reader.h"
#include "vmmu/trace/text.h"

namespace {

std::string compressForReader(std::string_view raw) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  ZSTD_CCtx *cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1);
  const size_t n = ZSTD_compress2(cctx, out.data(), out.size(), raw.data(), raw.size());
  ZSTD_freeCCtx(cctx);
  if (ZSTD_isError(n))
    std::abort();
  out.resize(n);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  const std::string_view input(reinterpret_cast<const char *>(data) + 1, size - 1);
  const std::string bytes = (data[0] & 1) ? compressForReader(input) : std::string(input);
  try {
    vmmu::trace::TraceReader reader = vmmu::trace::TraceReader::fromBytes(bytes, "fuzz");
    while (const auto event = reader.next()) {
      if (vmmu::trace::parseEvent(vmmu::trace::formatEvent(*event)) != *event)
        std::abort();
    }
  } catch (const vmmu::trace::TraceError &) {
  }
  return 0;
}
