// vmmu/run/json_reader.h - just enough JSON to read back what `vmmu run --json` writes.
//
// Objects, arrays, strings (with the escapes formatJson emits), numbers, true, false and null:
// `vmmu plot` draws a report from it and the tests check a report's fields through it. Not a
// general JSON library (no surrogate pairs, numbers are doubles).
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace vmmu::run {

struct JsonValue {
  enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
  double number = 0.0;
  bool boolean = false;
  std::string string;
  std::vector<JsonValue> array;
  std::map<std::string, JsonValue> object;

  // The member `key` of an object, or a null value when there is none (or this is no object).
  const JsonValue &operator[](const std::string &key) const;
  bool has(const std::string &key) const { return object.count(key) != 0; }
};

// Malformed JSON: what is wrong and the byte offset, e.g. "expected ':' at byte 12".
struct JsonError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses one JSON document (surrounding white space allowed); throws JsonError.
JsonValue parseJson(const std::string &text);

}  // namespace vmmu::run
