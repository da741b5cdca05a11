// output_file.h - how `vmmu` writes files: never in place, and never losing a write silently.
//
// An OutputFile is created under a temporary name (mkstemp) in its destination's directory;
// commit() renames it onto the destination, so the destination holds either its previous content
// or the complete new one, never a part. Not committed (an error, an exception, an interrupted
// run), the temporary file is removed. The destination "-" is standard output: written in place
// (through /dev/stdout, for writers that take a path), nothing to rename. A signal that ends the
// process (removeTemporariesOnSignals) removes the temporary files first.
#ifndef VMMU_CLI_OUTPUT_FILE_H
#define VMMU_CLI_OUTPUT_FILE_H

#include <stdexcept>
#include <string>
#include <string_view>

namespace vmmu::cli {

// An output that cannot be written, as one line naming it.
struct OutputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class OutputFile {
public:
  // Creates the temporary file now, so a destination that cannot be written fails before any
  // work is done: "PATH: cannot write: directory 'DIR' does not exist" and the like.
  explicit OutputFile(std::string destination);
  ~OutputFile();
  OutputFile(const OutputFile &) = delete;
  OutputFile &operator=(const OutputFile &) = delete;

  // Where to write until commit(): the temporary file (empty, already created).
  const std::string &path() const { return temp_; }
  const std::string &destination() const { return destination_; }
  // Writes `text` into the temporary file (for writers that do not open path() themselves).
  void write(std::string_view text);
  // Syncs the temporary file and renames it onto the destination; throws OutputError.
  void commit();
  // Leaves the temporary file where it is, uncommitted: a message names path().
  void keep();

private:
  std::string destination_;
  std::string temp_;
  int slot_ = -1;  // in the table removeTemporariesAndDie reads
  bool committed_ = false;
};

// Writes `text` to `destination` through an OutputFile, or to standard output for "-".
void writeOutput(const std::string &destination, std::string_view text);

// Whether `a` and `b` name the same existing file (device and inode: also through another path
// or a hard link).
bool sameFile(const std::string &a, const std::string &b);

// Throws OutputError "PATH: cannot write: ..." unless the directory `path` would be created in
// exists and is writable; for outputs another component opens (the RTL backend's waves).
void checkWritableDirectory(const std::string &path);

// From now on SIGINT, SIGTERM and SIGHUP remove the OutputFiles' temporary files, then end the
// process as the signal would have (status 128 + N).
void removeTemporariesOnSignals();
// The handler that does it: async-signal-safe, for handlers of their own to call (run_command.cpp).
extern "C" void removeTemporariesAndDie(int signal);

// Flushes standard output; throws OutputError if anything written to it was lost (a full disk).
void finishStdout();

}  // namespace vmmu::cli

#endif  // VMMU_CLI_OUTPUT_FILE_H
