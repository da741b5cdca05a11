// tape_test.cpp - TraceTape's chunks by hand: which events each chunk holds and how, the counts
// and the replay horizon after each extend(), the event limit, and the chunk size's lower bound.
#include <gtest/gtest.h>

#include <filesystem>

#include "run_test_support.h"
#include "vmmu/run/trace_tape.h"

namespace vmmu::run {
namespace {

using testing::TempFile;
using testing::writeTrace;
using trace::AccessOp;
using trace::Event;
using trace::EventKind;

// Accesses, a marker, an mmap and a kernel-half access (at the half's first address), in chunks
// of two events.
std::vector<Event> fiveEvents() {
  return {
      Event::access(0, 7, AccessOp::Write, 0x1000, 8),       // 0: user access
      Event::marker(0, "m"),                                 // 1
      Event::mmap(7, 0x4000'0000, 0x2000, trace::prot::Read),  // 2
      Event::access(1, 9, AccessOp::Fetch, kUpperHalf, 4),   // 3: kernel half: not a user access
      Event::access(0, 7, AccessOp::Read, 0x2000, 8),        // 4: user access
  };
}

void expectEntry(const TraceTape::Entry &entry, uint64_t address, uint32_t pid, EventKind kind, AccessOp op) {
  EXPECT_EQ(entry.address, address);
  EXPECT_EQ(entry.pid, pid);
  EXPECT_EQ(entry.kind, kind);
  EXPECT_EQ(entry.op, op);
}

TEST(TraceTape, EachChunkHoldsItsEventsAndTheCountsFollow) {
  TempFile file("tape_chunks.vmt");
  writeTrace(file.path(), fiveEvents());
  TraceTape tape(file.path(), UINT64_MAX, 2);
  EXPECT_EQ(tape.pendingLimit(), 8u);
  EXPECT_EQ(tape.fileBytes(), std::filesystem::file_size(file.path()));
  const std::shared_ptr<TraceTape::Chunk> start = tape.start();
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->first, 0u);
  EXPECT_TRUE(start->entries.empty());
  EXPECT_EQ(tape.events(), 0u);
  EXPECT_EQ(tape.safeEnd(), 0u);

  // Events 0 and 1: the access in place, the marker by its index among the chunk's others.
  ASSERT_TRUE(tape.extend());
  const std::shared_ptr<TraceTape::Chunk> first = start->next;
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->first, 0u);
  ASSERT_EQ(first->entries.size(), 2u);
  expectEntry(first->entries[0], 0x1000, 7, EventKind::Access, AccessOp::Write);
  EXPECT_EQ(first->entries[1].address, 0u);
  EXPECT_EQ(first->entries[1].kind, EventKind::Marker);
  ASSERT_EQ(first->others.size(), 1u);
  EXPECT_EQ(first->others[0].text, "m");
  EXPECT_EQ(tape.events(), 2u);
  EXPECT_EQ(tape.accesses(), 1u);
  EXPECT_EQ(tape.safeEnd(), 1u);  // the marker may not be replayed yet: no access follows so far
  EXPECT_FALSE(tape.ended());

  // Events 2 and 3: the mmap is the chunk's first other (index 0 again); the kernel-half access
  // is kept whole but is no user access, so the horizon stays.
  ASSERT_TRUE(tape.extend());
  const std::shared_ptr<TraceTape::Chunk> second = first->next;
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->first, 2u);
  ASSERT_EQ(second->entries.size(), 2u);
  expectEntry(second->entries[0], 0, 7, EventKind::Mmap, AccessOp::Read);
  ASSERT_EQ(second->others.size(), 1u);
  EXPECT_EQ(second->others[0].address, 0x4000'0000u);
  EXPECT_EQ(second->others[0].length, 0x2000u);
  expectEntry(second->entries[1], kUpperHalf, 9, EventKind::Access, AccessOp::Fetch);
  EXPECT_EQ(tape.events(), 4u);
  EXPECT_EQ(tape.accesses(), 1u);
  EXPECT_EQ(tape.safeEnd(), 1u);

  // Event 4, then the trace's end: a short last chunk, and everything up to it may be replayed.
  ASSERT_TRUE(tape.extend());
  const std::shared_ptr<TraceTape::Chunk> third = second->next;
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(third->first, 4u);
  ASSERT_EQ(third->entries.size(), 1u);
  expectEntry(third->entries[0], 0x2000, 7, EventKind::Access, AccessOp::Read);
  EXPECT_TRUE(third->others.empty());
  EXPECT_EQ(tape.events(), 5u);
  EXPECT_EQ(tape.accesses(), 2u);
  EXPECT_EQ(tape.safeEnd(), 5u);
  EXPECT_TRUE(tape.ended());
  EXPECT_EQ(tape.bytesRead(), tape.fileBytes());

  EXPECT_FALSE(tape.extend());
  EXPECT_EQ(third->next, nullptr);
  EXPECT_EQ(tape.events(), 5u);
}

TEST(TraceTape, TheEventLimitEndsTheTapeMidChunk) {
  TempFile file("tape_limit.vmt");
  writeTrace(file.path(), fiveEvents());
  TraceTape tape(file.path(), 3, 2);
  const std::shared_ptr<TraceTape::Chunk> start = tape.start();
  ASSERT_TRUE(tape.extend());
  EXPECT_FALSE(tape.ended());
  ASSERT_TRUE(tape.extend());  // event 2 only: the limit is reached before event 3
  EXPECT_TRUE(tape.ended());
  ASSERT_NE(start->next, nullptr);
  ASSERT_NE(start->next->next, nullptr);
  EXPECT_EQ(start->next->next->entries.size(), 1u);
  EXPECT_EQ(tape.events(), 3u);
  EXPECT_EQ(tape.accesses(), 1u);
  EXPECT_FALSE(tape.extend());

  // A limit of 0 decodes nothing.
  TraceTape empty(file.path(), 0, 2);
  EXPECT_FALSE(empty.extend());
  EXPECT_TRUE(empty.ended());
  EXPECT_EQ(empty.events(), 0u);
}

// The scout obeys the event limit too. One-event chunks (pending limit 4), an access and 20
// markers, a limit of 10: the sixth extend() leaves events 1..5 waiting behind the horizon (1),
// more than 4, so the scout reads on from event 6 for an access, finds none before the limit and
// ends the tape at 10 events; the 11th is never read.
TEST(TraceTape, TheScoutStopsAtTheEventLimit) {
  TempFile file("tape_scout_limit.vmt");
  std::vector<Event> events{Event::access(0, 7, AccessOp::Write, 0x1000, 8)};
  for (int i = 0; i < 20; ++i)
    events.push_back(Event::marker(0, "m"));
  writeTrace(file.path(), events);
  TraceTape tape(file.path(), 10, 1);
  uint64_t chunks = 0;
  while (tape.extend())
    ++chunks;
  EXPECT_EQ(chunks, 6u);
  EXPECT_TRUE(tape.ended());
  EXPECT_EQ(tape.events(), 10u);
  EXPECT_EQ(tape.accesses(), 1u);
  EXPECT_EQ(tape.safeEnd(), 1u) << "no access follows the first: nothing after it is replayed";
}

TEST(TraceTape, AChunkHoldsAtLeastOneEvent) {
  TempFile file("tape_one.vmt");
  writeTrace(file.path(), fiveEvents());
  TraceTape tape(file.path(), UINT64_MAX, 0);  // taken as 1
  EXPECT_EQ(tape.pendingLimit(), 4u);
  const std::shared_ptr<TraceTape::Chunk> start = tape.start();
  uint64_t chunks = 0;
  while (tape.extend())
    ++chunks;
  EXPECT_EQ(chunks, 5u);
  uint64_t index = 0;
  for (std::shared_ptr<TraceTape::Chunk> chunk = start->next; chunk; chunk = chunk->next, ++index) {
    EXPECT_EQ(chunk->first, index);
    EXPECT_EQ(chunk->entries.size(), 1u);
  }
  EXPECT_EQ(index, 5u);
}

}  // namespace
}  // namespace vmmu::run
