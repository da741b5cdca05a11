// vmmu/trace/input.h - opening an input file that must be a regular file.
//
// A trace, a text trace or a configuration file named on the command line is read to its end, so
// it must be a regular file: a FIFO with no writer would block in open(2), /dev/zero never ends
// and a directory cannot be read. openRegularFile opens without blocking (O_NONBLOCK), checks the
// file with fstat and only then hands back an ordinary blocking stream.
#pragma once

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

namespace vmmu::trace {

struct InputFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct FileCloser {
  void operator()(std::FILE *file) const { std::fclose(file); }
};
using InputFile = std::unique_ptr<std::FILE, FileCloser>;

// Opens `path` for reading. Throws InputFileError "PATH: cannot open: REASON", "PATH: is a
// directory" or "PATH: is not a regular file (a FIFO, socket or device)".
InputFile openRegularFile(const std::string &path);

}  // namespace vmmu::trace
