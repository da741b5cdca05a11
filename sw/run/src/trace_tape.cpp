// trace_tape.cpp - see vmmu/run/trace_tape.h.
#include "vmmu/run/trace_tape.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace vmmu::run {

TraceTape::TraceTape(const std::string &path, uint64_t max_events, size_t chunk_events)
    : path_(path), max_events_(max_events), chunk_events_(std::max<size_t>(chunk_events, 1)), reader_(path),
      start_(std::make_shared<Chunk>()), tail_(start_) {
  std::error_code error;
  const uintmax_t bytes = std::filesystem::file_size(path, error);
  file_bytes_ = error ? 0 : static_cast<uint64_t>(bytes);
}

TraceTape::~TraceTape() = default;

bool TraceTape::extend() {
  if (ended_)
    return false;
  auto chunk = std::make_shared<Chunk>();
  chunk->first = events_;
  chunk->entries.reserve(chunk_events_);
  // The counts are locals while the chunk fills, written back after it (or before an exception
  // leaves): as members, the compiler updated them with narrow stores and read them back with a
  // wide load, a store-forwarding stall per event.
  uint64_t events = events_, accesses = accesses_, safe_end = safe_end_;
  try {
    while (chunk->entries.size() < chunk_events_) {
      if (events >= max_events_) {
        ended_ = true;
        break;
      }
      std::optional<trace::Event> event = reader_.next();
      if (!event) {
        ended_ = true;
        break;
      }
      if (event->kind == trace::EventKind::Access) {
        if (event->address < kUpperHalf) {
          ++accesses;
          safe_end = events + 1;
        }
        chunk->entries.push_back({event->address, event->pid, event->kind, event->op});
      } else {
        chunk->entries.push_back({chunk->others.size(), event->pid, event->kind, event->op});
        chunk->others.push_back(std::move(*event));
      }
      ++events;
    }
  } catch (...) {
    events_ = events, accesses_ = accesses, safe_end_ = safe_end;
    throw;
  }
  events_ = events, accesses_ = accesses, safe_end_ = safe_end;
  // What the scout promised: the events before its access may be replayed.
  if (access_ahead_ > safe_end_)
    safe_end_ = std::min(events_, access_ahead_);
  const bool decoded = !chunk->entries.empty();
  if (decoded) {
    tail_->next = chunk;
    tail_ = std::move(chunk);
    start_.reset();
  }
  if (!ended_ && events_ - safe_end_ > pendingLimit())
    scout();
  return decoded;
}

void TraceTape::scout() {
  if (!scout_)
    scout_.emplace(path_);
  // Catch up with the decoder (the first time: the whole prefix), then look for an access.
  while (scout_events_ < events_) {
    scout_->next();
    ++scout_events_;
  }
  while (scout_events_ < max_events_) {
    const std::optional<trace::Event> event = scout_->next();
    if (!event)
      break;
    if (isUserAccess(*event)) {
      access_ahead_ = scout_events_++;
      safe_end_ = events_;
      return;
    }
    ++scout_events_;
  }
  // No user access is left: the rest of the trace is never replayed. The scout has read (and
  // checked) it, so decoding stops here with the trace's whole event count.
  events_ = scout_events_;
  ended_ = true;
}

}  // namespace vmmu::run
