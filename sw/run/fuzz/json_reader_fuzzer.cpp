// json_reader_fuzzer.cpp - libFuzzer target for the JSON report reader (vmmu/run/json_reader.h).
//
// A JsonError is the expected outcome for bad input; anything else (a crash, a sanitizer report,
// another exception, a document deeper than kJsonMaxDepth accepted, or a report that parseReport
// accepted without the fields `vmmu plot` reads) is a bug.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "vmmu/run/json_reader.h"

namespace {

size_t depth(const nlohmann::json &value) {
  size_t deepest = 0;
  if (value.is_structured())
    for (const nlohmann::json &item : value)
      deepest = std::max(deepest, depth(item));
  return value.is_structured() ? deepest + 1 : 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  try {
    const nlohmann::json value = vmmu::run::parseJson(text);
    if (depth(value) > static_cast<size_t>(vmmu::run::kJsonMaxDepth))
      std::abort();
  } catch (const vmmu::run::JsonError &) {
  }
  try {
    const nlohmann::json report = vmmu::run::parseReport(text);
    // What `vmmu plot` reads must be there, typed.
    for (const nlohmann::json &run : report.at("runs")) {
      (void)run.at("approach").get<std::string>();
      (void)run.at("slowdown").get<double>();
      (void)run.at("modes").get<std::string>();
      for (const nlohmann::json &cycles : run.at("interval_cycles"))
        (void)cycles.get<uint64_t>();
    }
    (void)report.at("trace").get<std::string>();
    (void)report.at("backend").get<std::string>();
  } catch (const vmmu::run::JsonError &) {
  }
  return 0;
}
