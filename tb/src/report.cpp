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

namespace {
constexpr const char *kSeverityNames[] = {"UVM_INFO", "UVM_WARNING", "UVM_ERROR", "UVM_FATAL"};
}  // namespace

void ReportServer::report(Severity severity, std::string_view component, const std::string &message) {
  ++counts_[static_cast<int>(severity)];
  if (severity >= Severity::Error)
    std::fflush(stdout);
  std::printf("%s @ cycle %llu [%.*s] %s\n", kSeverityNames[static_cast<int>(severity)],
              static_cast<unsigned long long>(cycle_), static_cast<int>(component.size()), component.data(),
              message.c_str());
}

void ReportServer::info(std::string_view component, Verbosity level, const std::string &message) {
  if (enabled(level))
    report(Severity::Info, component, message);
}

void ReportServer::warning(std::string_view component, const std::string &message) {
  report(Severity::Warning, component, message);
}

void ReportServer::error(std::string_view component, const std::string &message) {
  report(Severity::Error, component, message);
}

void ReportServer::fatal(std::string_view component, const std::string &message) {
  report(Severity::Fatal, component, message);
}

void ReportServer::summarize(std::FILE *stream) const {
  std::fprintf(stream, "\n--- UVM Report Summary ---\n\n** Report counts by severity\n");
  for (int s = 0; s < static_cast<int>(Severity::Count); ++s)
    std::fprintf(stream, "%s :%5u\n", kSeverityNames[s], counts_[s]);
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
