// json_reader_test.cpp - reading a JSON report back (vmmu/run/json_reader.h): what is refused, as
// one line, and that hostile nesting is refused before it is built.
#include <gtest/gtest.h>

#include <string>

#include "vmmu/run/json_reader.h"

namespace vmmu::run {
namespace {

std::string errorOf(const std::string &text, bool report = true) {
  try {
    if (report)
      parseReport(text);
    else
      parseJson(text);
  } catch (const JsonError &e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
    return what;
  }
  return "accepted";
}

const std::string kRun = R"({"approach": "native", "slowdown": 1.0, "modes": "xx", "interval_cycles": [5, 6]})";

std::string reportWith(const std::string &run, const std::string &version = "1") {
  return R"({"schema_version": )" + version + R"(, "trace": "t.vmt", "backend": "model", "runs": [)" + run + "]}";
}

TEST(JsonReader, ReadsAReport) {
  const nlohmann::json report = parseReport(reportWith(kRun));
  EXPECT_EQ(report.at("runs")[0].at("approach"), "native");
  EXPECT_EQ(report.at("runs")[0].at("interval_cycles")[1], 6u);
}

TEST(JsonReader, RefusesDeepNestingAsOneLine) {
  for (const char open : {'[', '{'}) {
    std::string deep;
    for (int i = 0; i < 30'000; ++i)
      deep += open == '[' ? "[" : "{\"a\":";
    EXPECT_EQ(errorOf(deep, false), "JSON nested deeper than 64 levels") << open;
  }
  // Up to the limit is fine.
  std::string ok = std::string(kJsonMaxDepth, '[') + std::string(kJsonMaxDepth, ']');
  EXPECT_EQ(parseJson(ok).size(), 1u);
  EXPECT_EQ(errorOf("[" + ok + "]", false), "JSON nested deeper than 64 levels");
}

TEST(JsonReader, RefusesMalformedJsonWithThePlace) {
  EXPECT_EQ(errorOf("{\"a\": tru}", false).rfind("parse error at line 1, column 10", 0), 0u) << errorOf("{\"a\": tru}", false);
  EXPECT_NE(errorOf("{\"a\":\n\"x", false).find("line 2"), std::string::npos);
  EXPECT_NE(errorOf("", false).find("unexpected end of input"), std::string::npos);
}

// A number no double holds is an out_of_range inside nlohmann's parser, not a parse_error: it is
// bad input all the same, one line, not an exception that ends the program (found by the fuzzer).
TEST(JsonReader, RefusesANumberTooLargeForADouble) {
  try {
    parseJson("{\"slowdown\": 1e999}");
    FAIL() << "no error";
  } catch (const JsonError &e) {
    EXPECT_NE(std::string(e.what()).find("number overflow"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(JsonReader, RefusesWhatIsNotAReportOfThisSchema) {
  EXPECT_EQ(errorOf("[1]"), "the document is not a JSON object");
  EXPECT_EQ(errorOf(R"({"something": [1]})"), "no \"runs\"");
  EXPECT_EQ(errorOf(R"({"runs": []})"), "\"runs\" is empty");
  EXPECT_EQ(errorOf(R"({"runs": [1]})"), "no \"schema_version\"");
  EXPECT_EQ(errorOf(reportWith(kRun, "2")), "schema_version 2 is not 1, the version this vmmu reads");
  EXPECT_EQ(errorOf(reportWith(kRun, "\"1\"")), "\"schema_version\" is not a number");
  EXPECT_EQ(errorOf(reportWith("7")), "runs[0] is not an object");
  EXPECT_EQ(errorOf(reportWith(R"({"approach": 3})")), "\"approach\" in runs[0] is not a string");
  EXPECT_EQ(errorOf(reportWith(R"({"approach": "x", "slowdown": "fast"})")),
            "\"slowdown\" in runs[0] is not a number");
  EXPECT_EQ(errorOf(reportWith(R"({"approach": "x", "slowdown": 1.0, "modes": "", "interval_cycles": [1, -2]})")),
            "\"interval_cycles\" in runs[0] holds a number, not a cycle count");
  EXPECT_EQ(errorOf(reportWith(R"({"approach": "x", "slowdown": 1.0, "modes": ""})")),
            "no \"interval_cycles\" in runs[0]");
}

}  // namespace
}  // namespace vmmu::run
