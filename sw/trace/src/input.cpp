// input.cpp - opening input files that must be regular files (see input.h for why).
#include "vmmu/trace/input.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vmmu::trace {

InputFile openRegularFile(const std::string &path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    throw InputFileError(path + ": cannot open: " + std::strerror(errno));
  struct stat st = {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    throw InputFileError(path + ": cannot open: " + std::strerror(error));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw InputFileError(path + (S_ISDIR(st.st_mode) ? ": is a directory"
                                                     : ": is not a regular file (a FIFO, socket or device)"));
  }
  // A regular file never blocks; clear the flag so reads behave as usual.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::FILE *file = ::fdopen(fd, "rb");
  if (file == nullptr) {
    const int error = errno;
    ::close(fd);
    throw InputFileError(path + ": cannot open: " + std::strerror(error));
  }
  return InputFile(file);
}

}  // namespace vmmu::trace
