// lackey.h - turns the log of valgrind's lackey tool into trace events (behind `vmmu record`).
//
// `valgrind --tool=lackey --trace-mem=yes --trace-syscalls=yes` logs, in program order:
//   "I  04001f50,3"          an instruction fetch of 3 bytes
//   " L 1ffefff7c0,8"        a data load;  " S ..." a store;  " M ..." a modify (load + store)
//   "SYSCALL[pid,tid](9) sys_mmap ( 0x0, 8192, 3, 34, -1, 0 ) --> [pre-success] Success(0x4835000)"
//   "==1234== ..."           valgrind's own messages
// The importer keeps the accesses and the successful mmap, munmap, mprotect, mremap and brk calls
// and ignores the rest. Addresses are those of the program as laid out under valgrind
// (docs/trace-format.md, "Recording real programs", says what that approximates).
#ifndef VMMU_TRACE_LACKEY_H
#define VMMU_TRACE_LACKEY_H

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "vmmu/trace/writer.h"

namespace vmmu::trace {

class LackeyImporter {
public:
  // Events go to `out` as process `pid` on cpu 0; at most `max_accesses` accesses are kept
  // (0 = no limit). The constructor writes the process-create and context-switch events.
  LackeyImporter(TraceWriter &out, uint32_t pid, std::string process_name, uint64_t max_accesses);

  // Consumes one log line (without its newline). Returns false once the access limit is reached:
  // the caller may stop the program then.
  bool consume(std::string_view line);
  // Writes the process-exit event.
  void finish();

  uint64_t accesses() const { return accesses_; }
  uint64_t regionChanges() const { return region_changes_; }
  uint64_t ignoredLines() const { return ignored_; }

private:
  void access(AccessOp op, std::string_view rest);
  void syscall(std::string_view line);
  void completeSyscall(std::string_view name, std::string_view args, uint64_t result);

  TraceWriter &out_;
  const uint32_t pid_;
  const uint64_t max_accesses_;
  uint64_t accesses_ = 0, region_changes_ = 0, ignored_ = 0;
  // Memory syscalls valgrind ran asynchronously: thread id -> "name ( args )", completed later.
  std::map<uint64_t, std::pair<std::string, std::string>> pending_;
};

}  // namespace vmmu::trace

#endif  // VMMU_TRACE_LACKEY_H
