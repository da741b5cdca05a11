// mix.cpp - round-robin interleaving of traces.
#include "vmmu/trace/mix.h"

#include <map>
#include <optional>

#include "vmmu/trace/reader.h"
#include "vmmu/trace/writer.h"

namespace vmmu::trace {

namespace {
struct MixInput {
  TraceReader reader;
  std::map<uint32_t, uint32_t> pid_map;  // input pid -> output pid
  std::optional<uint32_t> running;       // output pid this input last ran
  std::optional<Event> pending;          // first access of the next turn (already remapped)
  bool finished = false;
};

bool hasCpu(EventKind kind) {
  return kind == EventKind::Access || kind == EventKind::ContextSwitch || kind == EventKind::PageTableWrite ||
         kind == EventKind::Invlpg || kind == EventKind::Marker;
}
}  // namespace

MixResult mixTraces(const std::vector<std::string> &inputs, const std::string &output, TraceHeader header,
                    uint64_t quantum) {
  if (inputs.empty())
    throw TraceError("mix: no input traces");
  if (quantum == 0)
    throw TraceError("mix: quantum must be at least 1 access");
  std::vector<MixInput> sources;
  sources.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    sources.push_back(MixInput{TraceReader(inputs[i]), {}, std::nullopt, std::nullopt, false});
    const auto command = sources.back().reader.header().get("command");
    header.set("input." + std::to_string(i), inputs[i] + (command ? " (" + std::string(*command) + ")" : ""));
  }
  TraceWriter writer(output, header);
  MixResult result;
  uint32_t next_pid = 1;
  std::optional<uint32_t> on_cpu;
  const auto emit = [&](const Event &e) {
    writer.write(e);
    ++result.events;
  };
  const auto switchTo = [&](uint32_t pid) {
    if (on_cpu == pid)
      return;
    emit(Event::contextSwitch(0, pid));
    ++result.switches;
    on_cpu = pid;
  };

  size_t live = sources.size();
  while (live > 0) {
    for (MixInput &source : sources) {
      if (source.finished)
        continue;
      if (source.running)
        switchTo(*source.running);
      const auto remap = [&](uint32_t pid) {
        auto [it, inserted] = source.pid_map.try_emplace(pid, next_pid);
        if (inserted)
          ++next_pid;
        return it->second;
      };
      // A turn ends at the first access past the quantum, so the events that follow a turn's last
      // access (a process exit, an munmap) still belong to that turn.
      uint64_t accesses = 0;
      for (;;) {
        std::optional<Event> e = std::move(source.pending);
        source.pending.reset();
        if (!e) {
          e = source.reader.next();
          if (!e) {
            source.finished = true;
            --live;
            break;
          }
          if (e->kind != EventKind::Marker)
            e->pid = remap(e->pid);
          if (e->kind == EventKind::ProcessCreate && e->parent != 0)
            e->parent = remap(e->parent);
          if (hasCpu(e->kind))
            e->cpu = 0;
        }
        if (e->kind == EventKind::ContextSwitch) {
          source.running = e->pid;
          switchTo(e->pid);
          continue;
        }
        if (e->kind == EventKind::Access) {
          if (accesses == quantum) {
            source.pending = std::move(e);
            break;
          }
          // An input may change process without a switch event (e.g. a hand-made trace).
          source.running = e->pid;
          switchTo(e->pid);
          ++accesses;
        }
        emit(*e);
      }
    }
  }
  writer.finish();
  return result;
}

}  // namespace vmmu::trace
