// vmmu/run/trace_tape.h - a trace decoded once, in bounded chunks, for several readers.
//
// `vmmu run` replays one trace under up to seven approaches. TraceTape decodes it once: events go
// into chunks of a fixed number of events, linked oldest to newest and held by shared_ptr, so a
// chunk is freed as soon as the last reader (a TraceReplay, trace_replay.h) has moved past it.
// The driver (trace_run.cpp) extends the tape a chunk at a time and lets every reader catch up
// before the next, so memory holds a chunk or two, not the trace.
//
// The horizon. A run ends at the trace's last user access: the events after it (a recording's
// final process-exit) are read and counted but not replayed, as before the tape existed (the
// runs then knew the access count from a counting pass). So a reader may replay an event only
// when a user access is known to come at or after it: safeEnd(). After the last decoded access
// the tape holds the decoded events until the next access shows up; when more than
// pendingLimit() events (four chunks) are waiting (a long stretch of page-table writes, say), a second reader,
// the scout, reads ahead to find the next access (or the end), so waiting events never pile up
// beyond that bound. The scout decodes the trace's prefix once when it is first needed: traces
// with such stretches pay up to one more decode; others never start it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vmmu/trace/reader.h"

namespace vmmu::run {

// Addresses at or above this are the upper (kernel) half of a 48-bit address space; accesses
// below it are the user accesses a run counts (intervals, progress).
inline constexpr uint64_t kUpperHalf = 1ull << 47;

inline bool isUserAccess(const trace::Event &event) {
  return event.kind == trace::EventKind::Access && event.address < kUpperHalf;
}

class TraceTape {
public:
  static constexpr size_t kChunkEvents = 4096;

  // One event as the tape holds it: accesses, most of every trace, in 16 bytes; any other event
  // in full in its chunk's `others`, at index `address`.
  struct Entry {
    uint64_t address = 0;
    uint32_t pid = 0;
    trace::EventKind kind = trace::EventKind::Access;
    trace::AccessOp op = trace::AccessOp::Read;
  };
  // Events [first, first + entries.size()) of the trace; `next` is set when the tape decodes on.
  struct Chunk {
    uint64_t first = 0;
    std::vector<Entry> entries;
    std::vector<trace::Event> others;
    std::shared_ptr<Chunk> next;
  };

  // Opens the trace (throws trace::TraceError); nothing is decoded yet. At most `max_events`
  // events are read.
  explicit TraceTape(const std::string &path, uint64_t max_events = UINT64_MAX,
                     size_t chunk_events = kChunkEvents);
  ~TraceTape();
  TraceTape(const TraceTape &) = delete;
  TraceTape &operator=(const TraceTape &) = delete;

  // Where a new reader starts: before the first event. Readers must start before the first
  // extend(): the tape keeps no chunk a reader has not reached.
  std::shared_ptr<Chunk> start() const { return start_; }

  // Decodes the next chunk. False when nothing is left to decode (the trace or max_events ran
  // out). Throws trace::TraceError.
  bool extend();

  // Events with an index below this may be replayed (a user access is at or after them).
  uint64_t safeEnd() const { return safe_end_; }
  // Everything has been decoded (extend() returns false).
  bool ended() const { return ended_; }
  // Events and user accesses decoded so far (all of them once ended()), up to max_events.
  uint64_t events() const { return events_; }
  uint64_t accesses() const { return accesses_; }
  // Progress: compressed bytes consumed, of fileBytes().
  uint64_t bytesRead() const { return reader_.compressedOffset(); }
  uint64_t fileBytes() const { return file_bytes_; }
  const std::string &path() const { return path_; }
  // Events decoded past safeEnd() beyond which the scout looks ahead: four chunks.
  uint64_t pendingLimit() const { return 4 * chunk_events_; }

private:
  // Finds the next user access at or after events_ with the scout; moves safe_end_ or, when none
  // is left, ends the tape (the scout has read and checked the rest).
  void scout();

  const std::string path_;
  const uint64_t max_events_;
  const size_t chunk_events_;
  trace::TraceReader reader_;
  uint64_t file_bytes_ = 0;
  std::shared_ptr<Chunk> start_;  // the empty chunk readers start at, until the first extend()
  std::shared_ptr<Chunk> tail_;
  uint64_t events_ = 0;
  uint64_t accesses_ = 0;
  uint64_t safe_end_ = 0;
  uint64_t access_ahead_ = 0;  // the scout found a user access at this index (0: none known)
  bool ended_ = false;
  std::optional<trace::TraceReader> scout_;
  uint64_t scout_events_ = 0;  // events the scout has read
};

}  // namespace vmmu::run
