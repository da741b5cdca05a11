// report.cpp - UVM-style reporting.
#include "report.h"

#include <cstdarg>
#include <cstdlib>
#include <strings.h>

namespace vmmu::tb {

bool parseVerbosity(std::string_view text, Verbosity &out) {
  std::string name(text);
  if (name.rfind("UVM_", 0) == 0 || name.rfind("uvm_", 0) == 0)
    name = name.substr(4);
  static constexpr struct {
    const char *name;
    Verbosity level;
  } kNames[] = {{"NONE", Verbosity::None}, {"LOW", Verbosity::Low},   {"MEDIUM", Verbosity::Medium},
                {"HIGH", Verbosity::High}, {"FULL", Verbosity::Full}, {"DEBUG", Verbosity::Debug}};
  for (const auto &entry : kNames) {
    if (strcasecmp(name.c_str(), entry.name) == 0) {
      out = entry.level;
      return true;
    }
  }
  if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos || name.size() > 6)
    return false;
  out = static_cast<Verbosity>(std::atoi(name.c_str()));
  return true;
}

void Reporter::print(std::FILE *stream, const char *severity, std::string_view component,
                     const std::string &message) {
  std::fprintf(stream, "%s @ cycle %llu [%.*s] %s\n", severity, static_cast<unsigned long long>(cycle_),
               static_cast<int>(component.size()), component.data(), message.c_str());
}

void Reporter::info(std::string_view component, Verbosity level, const std::string &message) {
  if (enabled(level))
    print(stdout, "UVM_INFO", component, message);
}

void Reporter::warning(std::string_view component, const std::string &message) {
  ++warnings_;
  print(stdout, "UVM_WARNING", component, message);
}

void Reporter::error(std::string_view component, const std::string &message) {
  ++errors_;
  std::fflush(stdout);
  print(stdout, "UVM_ERROR", component, message);
}

std::string format(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list copy;
  va_copy(copy, args);
  const int length = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string text(length > 0 ? static_cast<size_t>(length) : 0, '\0');
  if (length > 0)
    std::vsnprintf(text.data(), text.size() + 1, fmt, args);
  va_end(args);
  return text;
}

}  // namespace vmmu::tb
