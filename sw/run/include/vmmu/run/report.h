// vmmu/run/report.h - the text and JSON printers of a RunReport (trace_run.h).
//
// One results type, two printers: the text table `vmmu run` prints, and the JSON document
// `vmmu run --json` writes (its schema, version kReportSchemaVersion, is in sw/run/README.md).
// Both carry the same figures; real numbers have 6 significant digits in both. json_reader.h
// reads the JSON back.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "vmmu/run/json_reader.h"
#include "vmmu/run/trace_run.h"

namespace vmmu::run {

// "best approach: ..." with what dominated the others' cost (walk cycles or exits).
std::string verdict(const RunReport &report);
// The table, the adaptive policy's choices, the oracles and the verdict, one item a line.
std::string formatText(const RunReport &report);
// The JSON document: counts are integers, ratios and times always floats (1.0, never 1).
nlohmann::ordered_json toJson(const RunReport &report);
// toJson, indented by 2, ending in a newline.
std::string formatJson(const RunReport &report);

}  // namespace vmmu::run
