// lackey.h - turns the log of valgrind's lackey tool into trace events (behind `vmmu record`).
//
// `valgrind --tool=lackey --trace-mem=yes --trace-syscalls=yes` logs, in program order:
//   "I  04001f50,3"          an instruction fetch of 3 bytes
//   " L 1ffefff7c0,8"        a data load;  " S ..." a store;  " M ..." a modify (load + store)
//   "SYSCALL[pid,tid](9) sys_mmap ( 0x0, 8192, 3, 34, -1, 0 ) --> [pre-success] Success(0x4835000)"
//   "==1234== ..."           valgrind's own messages
// The importer keeps the accesses and the successful mmap, munmap, mprotect, mremap and brk calls
// and ignores the rest.
//
// Rep-string folding. Valgrind runs a rep-prefixed string instruction (rep movs, stos, cmps,
// scas, lods) one iteration at a time, and lackey logs each: the same "I" line again, then its
// element loads and stores (two accesses per byte for rep movsb). An iteration is one when its
// "I" line repeats the previous "I" line exactly (address and length). Its fetch is dropped (the
// instruction is fetched once), and its k-th data access is dropped when the previous iteration's
// k-th data access had the same kind and size, lay one element (its size) before or after it, and
// the access last kept for position k is in the same 64-byte cache line. So a string operation
// becomes one access per cache line per stream. Options::fold_rep_strings turns this off.
//
// Skipping a start-up prefix: the first Options::skip accesses (after folding) are dropped; the
// region changes among them are kept, so the address space of what follows is right. The pages the
// prefix touched are resident when the recording proper begins, so the importer writes one access
// to each page still mapped then (in first-touch order: a store if the prefix wrote the page and it
// is still writable, else a load, else a fetch), then a marker labelled kStartUpMarker and their
// count; a replay with `vmmu run --warmup COUNT` makes them resident uncounted, as they were.
// Addresses are those of the program as laid out under valgrind (docs/trace-format.md, "Recording
// real programs", says what that approximates).
#ifndef VMMU_TRACE_LACKEY_H
#define VMMU_TRACE_LACKEY_H

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vmmu/trace/writer.h"

namespace vmmu::trace {

class LackeyImporter {
public:
  struct Options {
    uint64_t max_accesses = 0;  // accesses kept at most, after the skipped ones (0 = no limit)
    uint64_t skip = 0;          // accesses dropped first (region changes among them are kept)
    bool fold_rep_strings = true;
  };
  // Events go to `out` as process `pid` on cpu 0. The constructor writes the process-create and
  // context-switch events.
  LackeyImporter(TraceWriter &out, uint32_t pid, std::string process_name, const Options &options);
  LackeyImporter(TraceWriter &out, uint32_t pid, std::string process_name, uint64_t max_accesses)
      : LackeyImporter(out, pid, std::move(process_name), Options{max_accesses, 0, true}) {}

  // Consumes one log line (without its newline). Returns false once the access limit is reached:
  // the caller may stop the program then.
  bool consume(std::string_view line);
  // Writes the process-exit event.
  void finish();

  uint64_t accesses() const { return accesses_; }          // kept (written)
  uint64_t skipped() const { return skipped_; }            // dropped by Options::skip
  uint64_t residentPages() const { return resident_written_; }  // pages written for the skip
  uint64_t folded() const { return folded_; }              // dropped by rep-string folding
  uint64_t regionChanges() const { return region_changes_; }
  uint64_t ignoredLines() const { return ignored_; }

private:
  void access(AccessOp op, std::string_view rest);
  void syscall(std::string_view line);
  void completeSyscall(std::string_view name, std::string_view args, uint64_t result);

  void fetch(std::string_view rest);
  // Writes an access unless the skip still runs.
  void keep(const Event &access);
  // The start-up's pages: noted while the skip runs, written when it ends.
  void noteStartUpPage(const Event &access);
  void forgetStartUpPages(uint64_t start, uint64_t length);
  void moveStartUpPages(uint64_t from, uint64_t from_length, uint64_t to, uint64_t to_length);
  void protectStartUpPages(uint64_t start, uint64_t length, uint8_t prot);
  void writeStartUpPages();
  bool skipping() const { return skipped_ < options_.skip; }

  // One data access position of a rep-string iteration: the previous iteration's access there,
  // and the cache line of the access last kept there.
  struct RepSlot {
    AccessOp op = AccessOp::Read;
    uint32_t size = 0;
    uint64_t va = 0;
    uint64_t kept_line = ~uint64_t{0};
  };
  static constexpr size_t kRepSlots = 4;  // a string instruction makes at most 2 (3 with M)

  TraceWriter &out_;
  const uint32_t pid_;
  const Options options_;
  uint64_t accesses_ = 0, region_changes_ = 0, ignored_ = 0, skipped_ = 0, folded_ = 0;
  uint64_t last_fetch_va_ = ~uint64_t{0};
  uint64_t last_fetch_size_ = 0;
  bool repeating_ = false;  // the current instruction repeats the previous one (rep iteration)
  size_t slot_ = 0;         // data accesses seen in the current instruction
  RepSlot slots_[kRepSlots];
  // Pages the skipped prefix touched: page number -> what touched it (kTouched* bits), and the
  // order of first touches (entries forgotten by munmap stay in the order and are passed over).
  static constexpr uint8_t kTouchedFetch = 1, kTouchedRead = 2, kTouchedWrite = 4;
  std::unordered_map<uint64_t, uint8_t> start_up_pages_;
  std::vector<uint64_t> start_up_order_;
  // The page each kind of access (AccessOp value) last noted: most skipped accesses repeat it, and
  // need no map lookup. Reset by every region change, which may edit the map.
  uint64_t last_noted_page_[3] = {~uint64_t{0}, ~uint64_t{0}, ~uint64_t{0}};
  uint64_t brk_ = 0;  // the program break last reported (a shrinking brk unmaps pages)
  uint64_t resident_written_ = 0;
  // Memory syscalls valgrind ran asynchronously: thread id -> "name ( args )", completed later.
  std::map<uint64_t, std::pair<std::string, std::string>> pending_;
};

}  // namespace vmmu::trace

#endif  // VMMU_TRACE_LACKEY_H
