// json_reader.cpp - see vmmu/run/json_reader.h.
#include "vmmu/run/json_reader.h"

#include <string>

namespace vmmu::run {

nlohmann::json parseJson(std::string_view text) {
  // The callback sees every value as it opens; refusing depth here bounds the tree (and the
  // recursion of destroying it) before it is built.
  const auto limit_depth = [](int depth, nlohmann::json::parse_event_t event, nlohmann::json &) {
    if ((event == nlohmann::json::parse_event_t::object_start ||
         event == nlohmann::json::parse_event_t::array_start) &&
        depth >= kJsonMaxDepth)
      throw JsonError("JSON nested deeper than " + std::to_string(kJsonMaxDepth) + " levels");
    return true;
  };
  try {
    return nlohmann::json::parse(text, limit_depth);
  } catch (const nlohmann::json::exception &e) {
    // A parse_error's what() is "[json.exception.parse_error.N] parse error at line L, column C:
    // ...", one line (the parser escapes control characters in the token it quotes); a number
    // too large for a double (1e999) is an out_of_range from the parser, which is bad input too.
    const std::string what = e.what();
    const size_t bracket = what.find("] ");
    throw JsonError(bracket == std::string::npos ? what : what.substr(bracket + 2));
  }
}

namespace {

// The member `key` of `object` if it has `type`'s kind, else JsonError naming it.
const nlohmann::json &member(const nlohmann::json &object, const char *key, nlohmann::json::value_t type,
                             const char *expected, const std::string &where) {
  const auto it = object.find(key);
  if (it == object.end())
    throw JsonError("no \"" + std::string(key) + "\"" + where);
  const bool number = type == nlohmann::json::value_t::number_float;
  if (number ? !it->is_number() : it->type() != type)
    throw JsonError("\"" + std::string(key) + "\"" + where + " is not " + expected);
  return *it;
}

}  // namespace

nlohmann::json parseReport(std::string_view text) {
  using Type = nlohmann::json::value_t;
  nlohmann::json report = parseJson(text);
  if (!report.is_object())
    throw JsonError("the document is not a JSON object");
  const nlohmann::json &runs = member(report, "runs", Type::array, "an array", "");
  if (runs.empty())
    throw JsonError("\"runs\" is empty");
  const nlohmann::json &version = member(report, "schema_version", Type::number_float, "a number", "");
  if (!version.is_number_integer() || version.get<int64_t>() != kReportSchemaVersion)
    throw JsonError("schema_version " + version.dump() + " is not " + std::to_string(kReportSchemaVersion) +
                    ", the version this vmmu reads");
  member(report, "trace", Type::string, "a string", "");
  member(report, "backend", Type::string, "a string", "");
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string where = " in runs[" + std::to_string(i) + "]";
    if (!runs[i].is_object())
      throw JsonError("runs[" + std::to_string(i) + "] is not an object");
    member(runs[i], "approach", Type::string, "a string", where);
    member(runs[i], "slowdown", Type::number_float, "a number", where);
    member(runs[i], "modes", Type::string, "a string", where);
    for (const nlohmann::json &cycles : member(runs[i], "interval_cycles", Type::array, "an array", where))
      if (!cycles.is_number_unsigned())
        throw JsonError("\"interval_cycles\"" + where + " holds a " + std::string(cycles.type_name()) +
                        ", not a cycle count");
  }
  return report;
}

}  // namespace vmmu::run
