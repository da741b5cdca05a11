// json_reader.cpp - see vmmu/run/json_reader.h.
#include "vmmu/run/json_reader.h"

#include <cstdlib>

namespace vmmu::run {

namespace {

class JsonParser {
public:
  explicit JsonParser(const std::string &text) : text_(text) {}

  JsonValue parseDocument() {
    JsonValue value = parseValue();
    skipSpace();
    if (at_ != text_.size())
      fail("unexpected text after the JSON value");
    return value;
  }

private:
  [[noreturn]] void fail(const std::string &what) const {
    throw JsonError(what + " at byte " + std::to_string(at_));
  }
  void skipSpace() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\t' || text_[at_] == '\r'))
      ++at_;
  }
  bool consume(const char *word) {
    const std::string w(word);
    if (text_.compare(at_, w.size(), w) != 0)
      return false;
    at_ += w.size();
    return true;
  }
  JsonValue parseValue() {
    skipSpace();
    if (at_ >= text_.size())
      fail("unexpected end");
    JsonValue v;
    const char c = text_[at_];
    if (c == '{') {
      v.kind = JsonValue::Kind::Object;
      ++at_;
      skipSpace();
      if (consume("}"))
        return v;
      for (;;) {
        skipSpace();
        const std::string key = parseString();
        skipSpace();
        if (!consume(":"))
          fail("expected ':'");
        v.object[key] = parseValue();
        skipSpace();
        if (consume("}"))
          return v;
        if (!consume(","))
          fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      v.kind = JsonValue::Kind::Array;
      ++at_;
      skipSpace();
      if (consume("]"))
        return v;
      for (;;) {
        v.array.push_back(parseValue());
        skipSpace();
        if (consume("]"))
          return v;
        if (!consume(","))
          fail("expected ',' or ']'");
      }
    }
    if (c == '"') {
      v.kind = JsonValue::Kind::String;
      v.string = parseString();
      return v;
    }
    if (consume("true")) {
      v.kind = JsonValue::Kind::Bool;
      v.boolean = true;
      return v;
    }
    if (consume("false")) {
      v.kind = JsonValue::Kind::Bool;
      return v;
    }
    if (consume("null"))
      return v;
    // strtod would also take "nan", "inf" and hex; JSON numbers start with '-' or a digit.
    if (c != '-' && (c < '0' || c > '9'))
      fail("unexpected character");
    const char *begin = text_.c_str() + at_;
    char *end = nullptr;
    v.number = std::strtod(begin, &end);
    if (end == begin)
      fail("unexpected character");
    v.kind = JsonValue::Kind::Number;
    at_ += static_cast<size_t>(end - begin);
    return v;
  }
  std::string parseString() {
    if (!consume("\""))
      fail("expected a string");
    std::string out;
    while (at_ < text_.size() && text_[at_] != '"') {
      char c = text_[at_++];
      if (c == '\\' && at_ < text_.size()) {
        const char e = text_[at_++];
        if (e == 'u') {
          if (at_ + 4 > text_.size())
            fail("bad escape");
          c = static_cast<char>(std::strtoul(text_.substr(at_, 4).c_str(), nullptr, 16));
          at_ += 4;
        } else {
          c = e == 'n' ? '\n' : e == 't' ? '\t' : e;
        }
      }
      out += c;
    }
    if (!consume("\""))
      fail("unterminated string");
    return out;
  }

  const std::string &text_;
  size_t at_ = 0;
};

}  // namespace

const JsonValue &JsonValue::operator[](const std::string &key) const {
  static const JsonValue missing;
  const auto it = object.find(key);
  return it == object.end() ? missing : it->second;
}

JsonValue parseJson(const std::string &text) { return JsonParser(text).parseDocument(); }

}  // namespace vmmu::run
