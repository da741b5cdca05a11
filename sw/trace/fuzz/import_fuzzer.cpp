// import_fuzzer.cpp - libFuzzer target for `vmmu trace import`'s text parser (importTrace).
//
// The input is the text file. A TextError (or a TraceError about the header) is the expected
// outcome for bad input; anything else is a bug: a crash, a sanitizer report, unbounded memory
// (libFuzzer's -rss_limit_mb), or an accepted text whose trace does not read back with as many
// events as the importer said it wrote.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "vmmu/trace/reader.h"
#include "vmmu/trace/text.h"

namespace {

// One scratch output per fuzzing process, in a private directory.
const std::string &outputPath() {
  static const std::string path = [] {
    char dir[] = "/tmp/vmmu-import-fuzz.XXXXXX";
    if (mkdtemp(dir) == nullptr)
      std::abort();
    return std::string(dir) + "/out.vmt";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // fmemopen wants a non-empty buffer; an empty text file is the empty string.
  std::string text(reinterpret_cast<const char *>(data), size);
  std::FILE *in = size == 0 ? std::fopen("/dev/null", "r") : fmemopen(text.data(), text.size(), "r");
  if (in == nullptr)
    std::abort();
  uint64_t written = 0;
  bool ok = true;
  try {
    written = vmmu::trace::importTrace(in, "fuzz.txt", outputPath(), vmmu::trace::TraceHeader{});
  } catch (const vmmu::trace::TextError &) {
    ok = false;
  } catch (const vmmu::trace::TraceError &) {
    ok = false;
  }
  std::fclose(in);
  if (!ok)
    return 0;
  vmmu::trace::TraceReader reader(outputPath());
  uint64_t read = 0;
  while (reader.next())
    ++read;
  if (read != written)
    std::abort();
  return 0;
}
