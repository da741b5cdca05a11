// format.cpp - trace headers.
#include "vmmu/trace/format.h"

#include <sys/utsname.h>

#include <ctime>

namespace vmmu::trace {

void TraceHeader::set(std::string key, std::string value) {
  for (auto &field : fields_)
    if (field.first == key) {
      field.second = std::move(value);
      return;
    }
  fields_.emplace_back(std::move(key), std::move(value));
}

std::optional<std::string_view> TraceHeader::get(std::string_view key) const {
  for (const auto &[k, v] : fields_)
    if (k == key)
      return std::string_view(v);
  return std::nullopt;
}

TraceHeader makeHeader(std::string tool, std::string command) {
  TraceHeader header;
  header.set("tool", std::move(tool));
  header.set("command", std::move(command));
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);
  header.set("date", date);
  struct utsname name {};
  if (uname(&name) == 0)
    header.set("machine", std::string(name.sysname) + " " + name.release + " " + name.machine + " (" +
                              name.nodename + ")");
  return header;
}

}  // namespace vmmu::trace
