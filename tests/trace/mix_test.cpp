// mix_test.cpp - interleaving: quantum respected, order within each input kept, nothing lost.
#include <gtest/gtest.h>

#include <map>

#include "trace_test_support.h"
#include "vmmu/trace/mix.h"

namespace vmmu::trace {
namespace {

using testing::readAll;
using testing::scratchPath;

// A one-process recording whose access addresses encode (input, sequence number), so that the
// mixed trace can be checked for order and completeness.
std::vector<Event> recording(uint32_t input, uint32_t pid, uint64_t accesses) {
  std::vector<Event> events = {Event::processCreate(pid, 0, std::string("prog").append(std::to_string(input))),
                               Event::contextSwitch(5, pid), Event::mmap(pid, 0x10000, 0x100000, prot::Read)};
  for (uint64_t i = 0; i < accesses; ++i) {
    events.push_back(Event::access(5, pid, AccessOp::Read, (uint64_t{input} << 32) | i, 8));
    if (i % 10 == 9)
      events.push_back(Event::brk(pid, 0x20000 + i));  // non-access events ride along
  }
  events.push_back(Event::processExit(pid));
  return events;
}

struct MixCheck {
  std::map<uint64_t, uint64_t> next_sequence;  // input -> next expected sequence number
  uint64_t switches = 0;
  std::vector<uint64_t> turn_lengths;  // accesses between consecutive switches
  uint64_t tail = 0;                   // accesses after the last switch (one input left)
};

MixCheck check(const std::vector<Event> &mixed) {
  MixCheck c;
  uint64_t in_turn = 0;
  std::optional<uint32_t> on_cpu;
  for (const Event &e : mixed) {
    if (e.kind == EventKind::ContextSwitch) {
      EXPECT_EQ(e.cpu, 0u);
      if (on_cpu)
        c.turn_lengths.push_back(in_turn);
      EXPECT_NE(on_cpu, e.pid) << "a switch to the process already running";
      on_cpu = e.pid;
      in_turn = 0;
      ++c.switches;
    } else if (e.kind == EventKind::Access) {
      EXPECT_EQ(on_cpu, e.pid) << "an access by a process that is not on the CPU";
      EXPECT_EQ(e.cpu, 0u);
      const uint64_t input = e.address >> 32, sequence = e.address & 0xffff'ffff;
      EXPECT_EQ(sequence, c.next_sequence[input]) << "input " << input << " out of order";
      c.next_sequence[input] = sequence + 1;
      ++in_turn;
    }
  }
  c.tail = in_turn;
  return c;
}

TEST(TraceMix, QuantumOrderAndCompleteness) {
  const std::vector<uint64_t> lengths = {100, 37, 250};
  std::vector<std::string> inputs;
  for (uint32_t i = 0; i < lengths.size(); ++i) {
    inputs.push_back(scratchPath(std::to_string(i) + "in.vmt"));
    // Every input uses pid 1: the mixer must renumber them apart.
    testing::writeTrace(inputs.back(), recording(i, 1, lengths[i]));
  }
  const std::string out = scratchPath("mixed.vmt");
  const uint64_t quantum = 16;
  const MixResult result = mixTraces(inputs, out, TraceHeader{}, quantum);
  const auto mixed = readAll(out);
  EXPECT_EQ(result.events, mixed.size());

  const MixCheck c = check(mixed);
  for (uint64_t i = 0; i < lengths.size(); ++i)
    EXPECT_EQ(c.next_sequence.at(i), lengths[i]) << "input " << i << " lost accesses";
  for (size_t t = 0; t < c.turn_lengths.size(); ++t)
    EXPECT_LE(c.turn_lengths[t], quantum) << "turn " << t;
  // Turns are full except where an input ran out: count the short ones.
  size_t short_turns = 0;
  for (const uint64_t n : c.turn_lengths)
    short_turns += n < quantum;
  EXPECT_LE(short_turns, lengths.size());
  // Round robin with quantum 16: input 1 (37 accesses) has 3 turns, input 0 (100) has 7, input 2
  // (250) has 16. Rounds 1-3 switch 3 times each, rounds 4-7 twice (inputs 0 and 2); after that
  // input 2 runs alone and needs no switch: 9 + 8 = 17, and its last 9 turns merge into the tail.
  EXPECT_EQ(c.switches, result.switches);
  EXPECT_EQ(c.switches, 17u);
  EXPECT_EQ(c.tail, 250u - 6 * quantum);  // input 2 ran 6 full turns before the last switch

  // Every non-access event survives, with renumbered pids: three processes, created and exited.
  std::map<EventKind, uint64_t> kinds;
  std::map<uint32_t, int> created;
  for (const Event &e : mixed) {
    ++kinds[e.kind];
    if (e.kind == EventKind::ProcessCreate)
      ++created[e.pid];
  }
  EXPECT_EQ(kinds[EventKind::ProcessCreate], 3u);
  EXPECT_EQ(kinds[EventKind::ProcessExit], 3u);
  EXPECT_EQ(kinds[EventKind::Mmap], 3u);
  EXPECT_EQ(kinds[EventKind::Brk], 10u + 3 + 25);
  EXPECT_EQ(created.size(), 3u) << "pids were not renumbered apart";

  TraceReader reader(out);
  EXPECT_TRUE(reader.header().get("input.0"));
  EXPECT_TRUE(reader.header().get("input.2"));
}

TEST(TraceMix, QuantumIsTheSwitchRateKnob) {
  std::vector<std::string> inputs;
  for (uint32_t i = 0; i < 2; ++i) {
    inputs.push_back(scratchPath(std::to_string(i) + "in.vmt"));
    testing::writeTrace(inputs.back(), recording(i, 10 + i, 1000));
  }
  for (const uint64_t quantum : {1u, 10u, 100u, 1000u}) {
    const std::string out = scratchPath(std::to_string(quantum) + "q.vmt");
    const MixResult r = mixTraces(inputs, out, TraceHeader{}, quantum);
    // Two equal inputs alternate every quantum: 2000 / quantum turns, each starting with a switch.
    EXPECT_EQ(r.switches, 2000 / quantum) << "quantum " << quantum;
    const MixCheck c = check(readAll(out));
    EXPECT_EQ(c.next_sequence.at(0), 1000u);
    EXPECT_EQ(c.next_sequence.at(1), 1000u);
  }
}

// Two small inputs with every kind that carries a cpu, quantum 2, worked through by hand event by
// event: pids are renumbered in order of first appearance (1, 2 for input 0's 7 and 8, 3 for
// input 1's 7), a process-create's non-zero parent is renumbered too (a zero parent stays 0), a
// marker keeps pid 0 and takes no new number, every cpu becomes 0, a context switch of an input
// is replaced by the mixer's own (only when the process is not already on the CPU), each turn
// starts by switching back to the process the input last ran, and the turn ends at the third
// access, which opens the input's next turn.
TEST(TraceMix, EventForEventByHand) {
  const std::string a = scratchPath("a.vmt"), b = scratchPath("b.vmt"), out = scratchPath("ab.vmt");
  testing::writeTrace(a, {Event::processCreate(7, 0, "a"), Event::processCreate(8, 7, "a2"),
                          Event::contextSwitch(3, 7), Event::access(3, 7, AccessOp::Read, 0x1000, 8),
                          Event::marker(3, "m"), Event::access(3, 7, AccessOp::Write, 0x2000, 4),
                          Event::pageTableWrite(3, 7, 0x5000, 0x1234, 1),
                          Event::access(3, 8, AccessOp::Read, 0x3000, 8),  // another process, no switch
                          Event::invlpg(3, 8, 0x3000), Event::processExit(8), Event::processExit(7)});
  testing::writeTrace(b, {Event::processCreate(7, 0, "b"), Event::access(2, 7, AccessOp::Fetch, 0x4000, 4),
                          Event::mmap(7, 0x10000, 0x1000, prot::Read), Event::access(2, 7, AccessOp::Read, 0x4008, 8),
                          Event::access(2, 7, AccessOp::Read, 0x4010, 8), Event::processExit(7)});
  const MixResult result = mixTraces({a, b}, out, TraceHeader{}, 2);
  const std::vector<Event> expected = {
      // Round 1, input 0: two creates, its switch, two accesses and what follows them.
      Event::processCreate(1, 0, "a"), Event::processCreate(2, 1, "a2"), Event::contextSwitch(0, 1),
      Event::access(0, 1, AccessOp::Read, 0x1000, 8), Event::marker(0, "m"),
      Event::access(0, 1, AccessOp::Write, 0x2000, 4), Event::pageTableWrite(0, 1, 0x5000, 0x1234, 1),
      // Input 1: no switch in the input, the mixer switches at its first access.
      Event::processCreate(3, 0, "b"), Event::contextSwitch(0, 3), Event::access(0, 3, AccessOp::Fetch, 0x4000, 4),
      Event::mmap(3, 0x10000, 0x1000, prot::Read), Event::access(0, 3, AccessOp::Read, 0x4008, 8),
      // Round 2, input 0: back to the process it ran, then its held access by the other process.
      Event::contextSwitch(0, 1), Event::contextSwitch(0, 2), Event::access(0, 2, AccessOp::Read, 0x3000, 8),
      Event::invlpg(0, 2, 0x3000), Event::processExit(2), Event::processExit(1),
      // Input 1's last turn.
      Event::contextSwitch(0, 3), Event::access(0, 3, AccessOp::Read, 0x4010, 8), Event::processExit(3)};
  const std::vector<Event> mixed = readAll(out);
  ASSERT_EQ(mixed.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(mixed[i], expected[i]) << "event " << i << ": " << toString(mixed[i].kind) << " pid " << mixed[i].pid;
  EXPECT_EQ(result.events, 21u);
  EXPECT_EQ(result.switches, 5u);
  // The header names each input with its recorded command, when it has one.
  TraceHeader with_command;
  with_command.set("command", "prog --flag");
  testing::writeTrace(a, {Event::processCreate(1, 0, "a")}, with_command);
  mixTraces({a, b}, out, TraceHeader{}, 1);
  TraceReader reader(out);
  EXPECT_EQ(reader.header().get("input.0"), std::optional<std::string_view>(a + " (prog --flag)"));
  EXPECT_EQ(reader.header().get("input.1"), std::optional<std::string_view>(b));
}

TEST(TraceMix, BadArgumentsThrow) {
  EXPECT_THROW(mixTraces({}, scratchPath("o.vmt"), TraceHeader{}, 10), TraceError);
  const std::string in = scratchPath("in.vmt");
  testing::writeTrace(in, recording(0, 1, 5));
  EXPECT_THROW(mixTraces({in}, scratchPath("o.vmt"), TraceHeader{}, 0), TraceError);
  EXPECT_THROW(mixTraces({in, scratchPath("missing.vmt")}, scratchPath("o.vmt"), TraceHeader{}, 10), TraceError);
}

}  // namespace
}  // namespace vmmu::trace
