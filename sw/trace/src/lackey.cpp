// lackey.cpp - parsing of valgrind lackey logs.
#include "vmmu/trace/lackey.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <vector>

namespace vmmu::trace {

namespace {

std::optional<uint64_t> parseHex(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x')
    s.remove_prefix(2);
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty())
    return std::nullopt;
  return v;
}

// A syscall argument as valgrind prints it: "0x4838000" (hex) or "8192" (decimal), possibly
// followed by "(string)".
std::optional<uint64_t> parseArg(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  if (const size_t paren = s.find('('); paren != std::string_view::npos)
    s = s.substr(0, paren);
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x')
    return parseHex(s);
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty())
    return std::nullopt;
  return v;
}

std::vector<std::optional<uint64_t>> parseArgs(std::string_view args) {
  std::vector<std::optional<uint64_t>> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = args.find(',', start);
    out.push_back(parseArg(args.substr(start, comma == std::string_view::npos ? args.npos : comma - start)));
    if (comma == std::string_view::npos)
      return out;
    start = comma + 1;
  }
}

bool isMemorySyscall(std::string_view name) {
  return name == "sys_mmap" || name == "sys_munmap" || name == "sys_mprotect" || name == "sys_brk" ||
         name == "sys_mremap";
}

uint64_t pageRoundUp(uint64_t n) { return (n + 4095) & ~uint64_t{4095}; }

struct AddressSize {
  uint64_t va;
  uint32_t size;
};
// "ADDR,SIZE" of an access line (hex address, size 1..2^32-1), or nullopt when malformed.
std::optional<AddressSize> parseAccess(std::string_view rest) {
  const size_t comma = rest.find(',');
  if (comma == rest.npos)
    return std::nullopt;
  const auto va = parseHex(rest.substr(0, comma));
  const auto size = parseArg(rest.substr(comma + 1));
  if (!va || !size || *size == 0 || *size > UINT32_MAX)
    return std::nullopt;
  return AddressSize{*va, static_cast<uint32_t>(*size)};
}

}  // namespace

LackeyImporter::LackeyImporter(TraceWriter &out, uint32_t pid, std::string process_name, const Options &options)
    : out_(out), pid_(pid), options_(options) {
  out_.write(Event::processCreate(pid_, 0, std::move(process_name)));
  out_.write(Event::contextSwitch(0, pid_));
}

bool LackeyImporter::consume(std::string_view line) {
  const auto below_limit = [&]() { return options_.max_accesses == 0 || accesses_ < options_.max_accesses; };
  if (!below_limit())
    return false;
  if (line.size() > 3 && line[0] == 'I' && line[1] == ' ' && line[2] == ' ') {
    fetch(line.substr(3));
  } else if (line.size() > 3 && line[0] == ' ' && line[2] == ' ' &&
             (line[1] == 'L' || line[1] == 'S' || line[1] == 'M')) {
    access(line[1] == 'S' ? AccessOp::Write : AccessOp::Read, line.substr(3));
    if (line[1] == 'M' && below_limit())
      access(AccessOp::Write, line.substr(3));  // a modify is a load then a store
  } else if (line.rfind("SYSCALL[", 0) == 0) {
    syscall(line);
  } else {
    ++ignored_;
  }
  return below_limit();
}

void LackeyImporter::keep(const Event &access) {
  if (skipping()) {
    noteStartUpPage(access);
    if (++skipped_ == options_.skip)
      writeStartUpPages();
    return;
  }
  out_.write(access);
  ++accesses_;
}

void LackeyImporter::noteStartUpPage(const Event &access) {
  const uint8_t touched = access.op == AccessOp::Write  ? kTouchedWrite
                          : access.op == AccessOp::Read ? kTouchedRead
                                                        : kTouchedFetch;
  // An access that crosses into the next page touches both.
  const uint64_t first = access.address >> 12, last = (access.address + access.size - 1) >> 12;
  uint64_t &last_noted = last_noted_page_[static_cast<size_t>(access.op)];
  if (first == last && first == last_noted)
    return;
  last_noted = last;
  for (uint64_t page = first; page <= last; ++page) {
    const auto [it, inserted] = start_up_pages_.try_emplace(page, uint8_t{0});
    if (inserted)
      start_up_order_.push_back(page);
    it->second |= touched;
  }
}

void LackeyImporter::forgetStartUpPages(uint64_t start, uint64_t length) {
  std::fill(std::begin(last_noted_page_), std::end(last_noted_page_), ~uint64_t{0});
  if (!skipping() || length == 0)
    return;
  for (uint64_t page = start >> 12, end = (start + length - 1) >> 12; page <= end; ++page)
    start_up_pages_.erase(page);
}

void LackeyImporter::moveStartUpPages(uint64_t from, uint64_t from_length, uint64_t to, uint64_t to_length) {
  std::fill(std::begin(last_noted_page_), std::end(last_noted_page_), ~uint64_t{0});
  if (!skipping() || from_length == 0)
    return;
  std::vector<std::pair<uint64_t, uint8_t>> moved;
  for (uint64_t offset = 0; offset < std::min(from_length, to_length); offset += 4096)
    if (const auto it = start_up_pages_.find((from + offset) >> 12); it != start_up_pages_.end())
      moved.emplace_back((to + offset) >> 12, it->second);
  forgetStartUpPages(from, from_length);
  forgetStartUpPages(to, to_length);
  for (const auto &[page, touched] : moved) {
    start_up_pages_.emplace(page, touched);
    start_up_order_.push_back(page);
  }
}

// A page made read-only is written by no replayed store; a page made inaccessible is not resident
// for the replay's purposes (its first touch after the skip would fault anyway).
void LackeyImporter::protectStartUpPages(uint64_t start, uint64_t length, uint8_t protection) {
  std::fill(std::begin(last_noted_page_), std::end(last_noted_page_), ~uint64_t{0});
  if (!skipping() || length == 0)
    return;
  if ((protection & (prot::Read | prot::Write | prot::Exec)) == 0) {
    forgetStartUpPages(start, length);
    return;
  }
  if ((protection & prot::Write) != 0)
    return;
  for (uint64_t page = start >> 12, end = (start + length - 1) >> 12; page <= end; ++page)
    if (const auto it = start_up_pages_.find(page); it != start_up_pages_.end())
      it->second = static_cast<uint8_t>((it->second & ~kTouchedWrite) | kTouchedRead);
}

void LackeyImporter::writeStartUpPages() {
  for (const uint64_t page : start_up_order_) {
    const auto it = start_up_pages_.find(page);
    if (it == start_up_pages_.end())
      continue;
    const AccessOp op = (it->second & kTouchedWrite) != 0  ? AccessOp::Write
                        : (it->second & kTouchedRead) != 0 ? AccessOp::Read
                                                           : AccessOp::Fetch;
    out_.write(Event::access(0, pid_, op, page << 12, 1));
    start_up_pages_.erase(it);  // a page listed twice in the order (forgotten, touched again) once
    ++resident_written_;
  }
  out_.write(Event::marker(0, std::string(kStartUpMarker) + std::to_string(resident_written_)));
  start_up_order_.clear();
  start_up_order_.shrink_to_fit();
}

void LackeyImporter::fetch(std::string_view rest) {
  const std::optional<AddressSize> parsed = parseAccess(rest);
  if (!parsed) {
    ++ignored_;
    return;
  }
  const auto [va, size] = *parsed;
  repeating_ = options_.fold_rep_strings && va == last_fetch_va_ && size == last_fetch_size_;
  last_fetch_va_ = va;
  last_fetch_size_ = size;
  slot_ = 0;
  if (repeating_) {
    ++folded_;
    return;
  }
  for (RepSlot &slot : slots_)
    slot = RepSlot{};
  keep(Event::access(0, pid_, AccessOp::Fetch, va, size));
}

void LackeyImporter::access(AccessOp op, std::string_view rest) {
  const std::optional<AddressSize> parsed = parseAccess(rest);
  if (!parsed) {
    ++ignored_;
    return;
  }
  const auto [va, size] = *parsed;
  if (slot_ < kRepSlots) {
    RepSlot &slot = slots_[slot_];
    const bool next_element = repeating_ && slot.op == op && slot.size == size &&
                              (va == slot.va + size || va + size == slot.va);
    slot.op = op;
    slot.size = size;
    slot.va = va;
    ++slot_;
    if (next_element && va >> 6 == slot.kept_line) {
      ++folded_;
      return;
    }
    slot.kept_line = va >> 6;
  }
  keep(Event::access(0, pid_, op, va, size));
}

// "SYSCALL[pid,tid](nr) sys_NAME ( ARGS ) --> [pre-success] Success(0x...)"      complete
// "SYSCALL[pid,tid](nr) sys_NAME ( ARGS ) --> [async] ... "                       pending
// "SYSCALL[pid,tid](nr) ... [async] --> Success(0x...)"                           completion
// "SYSCALL[pid,tid](nr) sys_NAME ( ARGS )[sync] --> Success(0x...)"              complete
void LackeyImporter::syscall(std::string_view line) {
  const size_t comma = line.find(',');
  const size_t close = line.find(']');
  const size_t nr_end = line.find(") ");
  if (comma == line.npos || close == line.npos || nr_end == line.npos || close < comma) {
    ++ignored_;
    return;
  }
  const auto tid = parseArg(line.substr(comma + 1, close - comma - 1));
  std::string_view rest = line.substr(nr_end + 2);
  const size_t arrow = rest.find("-->");
  std::optional<uint64_t> result;
  if (arrow != rest.npos) {
    const size_t success = rest.find("Success(", arrow);
    if (success != rest.npos) {
      const size_t end = rest.find(')', success);
      if (end != rest.npos)
        result = parseHex(rest.substr(success + 8, end - success - 8));
    }
  }
  if (rest.rfind("... [async]", 0) == 0) {  // completion of an earlier call
    const auto it = tid ? pending_.find(*tid) : pending_.end();
    if (it == pending_.end()) {
      ++ignored_;
      return;
    }
    const auto [name, args] = it->second;
    pending_.erase(it);
    if (result)
      completeSyscall(name, args, *result);
    return;
  }
  const size_t name_end = rest.find(" (");
  const size_t args_end = rest.find(" )");
  if (name_end == rest.npos || args_end == rest.npos || args_end < name_end) {
    ++ignored_;
    return;
  }
  const std::string_view name = rest.substr(0, name_end);
  if (!isMemorySyscall(name)) {
    if (tid)
      pending_.erase(*tid);  // a thread runs one syscall at a time: any pending one is over
    return;
  }
  const std::string_view args = rest.substr(name_end + 2, args_end - name_end - 2);
  if (rest.find("[async] ...", arrow == rest.npos ? 0 : arrow) != rest.npos) {
    if (tid)
      pending_[*tid] = {std::string(name), std::string(args)};
    return;
  }
  if (result)
    completeSyscall(name, args, *result);
}

void LackeyImporter::completeSyscall(std::string_view name, std::string_view args_text, uint64_t result) {
  const auto args = parseArgs(args_text);
  const auto arg = [&](size_t i) { return i < args.size() ? args[i] : std::nullopt; };
  if (name == "sys_mmap" && arg(1) && arg(2)) {
    forgetStartUpPages(result, pageRoundUp(*arg(1)));  // a new mapping replaces what was there
    out_.write(Event::mmap(pid_, result, pageRoundUp(*arg(1)), static_cast<uint8_t>(*arg(2) & prot::All)));
  } else if (name == "sys_munmap" && arg(0) && arg(1)) {
    forgetStartUpPages(*arg(0), pageRoundUp(*arg(1)));
    out_.write(Event::munmap(pid_, *arg(0), pageRoundUp(*arg(1))));
  } else if (name == "sys_mprotect" && arg(0) && arg(1) && arg(2)) {
    protectStartUpPages(*arg(0), pageRoundUp(*arg(1)), static_cast<uint8_t>(*arg(2) & prot::All));
    out_.write(Event::mprotect(pid_, *arg(0), pageRoundUp(*arg(1)), static_cast<uint8_t>(*arg(2) & prot::All)));
  } else if (name == "sys_brk") {
    if (brk_ != 0 && result < brk_)
      forgetStartUpPages(pageRoundUp(result), pageRoundUp(brk_) - pageRoundUp(result));
    brk_ = result;
    out_.write(Event::brk(pid_, result));
  } else if (name == "sys_mremap" && arg(0) && arg(1) && arg(2)) {
    // The protection of the moved region is not in the call; the common case (a grown heap block
    // or buffer) is read-write. The kernel moves the pages: they stay resident at the new place.
    moveStartUpPages(*arg(0), pageRoundUp(*arg(1)), result, pageRoundUp(*arg(2)));
    out_.write(Event::munmap(pid_, *arg(0), pageRoundUp(*arg(1))));
    out_.write(Event::mmap(pid_, result, pageRoundUp(*arg(2)), prot::Read | prot::Write));
  } else {
    ++ignored_;
    return;
  }
  ++region_changes_;
}

void LackeyImporter::finish() { out_.write(Event::processExit(pid_)); }

}  // namespace vmmu::trace
