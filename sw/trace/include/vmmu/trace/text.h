// text.h - the text form of a trace: `vmmu trace dump` writes it, `vmmu trace import` reads it.
//
// One line per header field (`header KEY "VALUE"`) and one line per event (`access cpu=0 pid=1
// op=R va=0x401000 size=8`); the grammar is in docs/trace-format.md, "Text form". Import is the
// exact inverse of dump: importing a dump re-creates the same header and the same event stream, so
// the decompressed files are byte-identical.
#ifndef VMMU_TRACE_TEXT_H
#define VMMU_TRACE_TEXT_H

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

#include "vmmu/trace/event.h"
#include "vmmu/trace/format.h"
#include "vmmu/trace/reader.h"

namespace vmmu::trace {

// A line of the text form that cannot be parsed.
struct TextError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string formatEvent(const Event &event);          // one line, no newline
Event parseEvent(std::string_view line);              // throws TextError naming the problem
std::string quoteText(std::string_view text);         // "..." with C-style escapes
std::string unquoteText(std::string_view quoted);     // inverse of quoteText; throws TextError

// Writes the header and every event of `reader` to `out`; returns the number of events.
uint64_t dumpTrace(TraceReader &reader, std::FILE *out);

// Reads the text form from `in` (named `input_name` in errors, which read "NAME:LINE: problem")
// and writes the binary trace `output`. Lines that are empty or start with '#' are skipped. If the
// text has no header lines, `fallback` is used as the header. Returns the number of events.
uint64_t importTrace(std::FILE *in, const std::string &input_name, const std::string &output,
                     const TraceHeader &fallback, int compression_level = kDefaultCompressionLevel);

}  // namespace vmmu::trace

#endif  // VMMU_TRACE_TEXT_H
