// vmmu/run/json_reader.h - reads back what `vmmu run --json` writes (report.h), with nlohmann-json.
//
// `vmmu plot` draws a report from it and the tests check a report's fields through it. Documents
// nested deeper than kJsonMaxDepth are refused while they are parsed: a report is 4 levels deep,
// and a hostile file must not make the parser build (and later destroy, recursively) a tree
// 30,000 levels deep.
#pragma once

#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

namespace vmmu::run {

// The version of the report's schema (sw/run/README.md) that report.h writes and this reads.
inline constexpr int kReportSchemaVersion = 1;
inline constexpr int kJsonMaxDepth = 64;

// Malformed or unexpected JSON: one line saying what and where.
struct JsonError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses one JSON document no deeper than kJsonMaxDepth; throws JsonError.
nlohmann::json parseJson(std::string_view text);
// parseJson, then checks the document is a report of kReportSchemaVersion with the fields
// `vmmu plot` draws typed as the schema says (runs[].approach a string, .slowdown a number,
// .interval_cycles cycle counts, .modes a string; trace and backend strings); throws JsonError.
nlohmann::json parseReport(std::string_view text);

}  // namespace vmmu::run
