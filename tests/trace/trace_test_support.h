// trace_test_support.h - helpers shared by the trace tests: scratch files, whole-trace reads and
// hand-made decompressed streams for the error tests.
#ifndef VMMU_TESTS_TRACE_SUPPORT_H
#define VMMU_TESTS_TRACE_SUPPORT_H

#include <gtest/gtest.h>
#include <unistd.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vmmu/trace/reader.h"
#include "vmmu/trace/writer.h"

namespace vmmu::trace::testing {

// This process's scratch directory (removed at exit by the environment in test_main.cpp). The
// pid keeps parallel CTest runs, also from several build directories, apart.
inline std::filesystem::path scratchDir() {
  return std::filesystem::path(::testing::TempDir()) / ("vmmu_trace_tests_" + std::to_string(getpid()));
}

// A path in the scratch directory, unique per test.
inline std::string scratchPath(const std::string &name) {
  const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string file = std::string(info->test_suite_name()) + "_" + info->name() + "_" + name;
  for (char &c : file)
    if (c == '/')
      c = '_';  // parameterised tests have slashes in their names
  std::filesystem::create_directories(scratchDir());
  return (scratchDir() / file).string();
}

inline bool longRun() {
  const char *v = std::getenv("VMMU_TRACE_LONG");
  return v && *v && std::string(v) != "0";
}

inline void writeTrace(const std::string &path, const std::vector<Event> &events,
                       const TraceHeader &header = TraceHeader{}) {
  TraceWriter writer(path, header);
  for (const Event &e : events)
    writer.write(e);
  writer.finish();
}

inline std::vector<Event> readAll(TraceReader &reader) {
  std::vector<Event> events;
  while (auto e = reader.next())
    events.push_back(std::move(*e));
  return events;
}

inline std::vector<Event> readAll(const std::string &path) {
  TraceReader reader(path);
  return readAll(reader);
}

inline std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// Compresses a hand-made decompressed stream as one zstd frame with a checksum, as the writer does.
inline std::string compress(const std::string &raw) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  ZSTD_CCtx *cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  const size_t n = ZSTD_compress2(cctx, out.data(), out.size(), raw.data(), raw.size());
  ZSTD_freeCCtx(cctx);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// Builders of decompressed streams, byte by byte, independent of the writer.
inline void appendVarint(std::string &s, uint64_t v) {
  while (v >= 0x80) {
    s.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
}

// Magic, version and an empty header.
inline std::string preamble(uint16_t major = 1, uint16_t minor = 0) {
  std::string s("VMMUTRC\n", 8);
  s.push_back(static_cast<char>(major & 0xff));
  s.push_back(static_cast<char>(major >> 8));
  s.push_back(static_cast<char>(minor & 0xff));
  s.push_back(static_cast<char>(minor >> 8));
  appendVarint(s, 0);
  return s;
}

inline std::string endRecord(uint64_t events) {
  std::string s(1, '\0');
  appendVarint(s, events);
  return s;
}

}  // namespace vmmu::trace::testing

#endif  // VMMU_TESTS_TRACE_SUPPORT_H
