// output_file.cpp - see output_file.h.
#include "output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <vector>

namespace vmmu::cli {

namespace {

// The temporary files that exist now, for the signal handler, which can reach nothing else and
// may not allocate: a fixed table of fixed buffers. A slot's path is complete before `used` is set.
struct Temporary {
  volatile std::sig_atomic_t used = 0;
  char path[PATH_MAX] = {};
};
Temporary g_temporaries[16];

// Returns the slot now naming `path`, or -1 when the table is full (the file is then only
// removed by the destructor).
int registerTemporary(const std::string &path) {
  if (path.size() >= PATH_MAX)
    return -1;
  for (int i = 0; i < static_cast<int>(std::size(g_temporaries)); ++i) {
    Temporary &slot = g_temporaries[i];
    if (slot.used == 0) {
      std::memcpy(slot.path, path.c_str(), path.size() + 1);
      slot.used = 1;
      return i;
    }
  }
  return -1;
}

void unregisterTemporary(int slot) {
  if (slot >= 0)
    g_temporaries[slot].used = 0;
}

std::string directoryOf(const std::string &path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string baseNameOf(const std::string &path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

[[noreturn]] void fail(const std::string &path, const std::string &why) {
  throw OutputError(path + ": cannot write: " + why);
}

// The reason a file cannot be created in `path`'s directory, naming the directory when it is
// the directory that is missing or not one.
[[noreturn]] void failCreate(const std::string &path, int error) {
  const std::string dir = directoryOf(path);
  struct stat st = {};
  if (::stat(dir.c_str(), &st) != 0)
    fail(path, "directory '" + dir + "' does not exist");
  if (!S_ISDIR(st.st_mode))
    fail(path, "'" + dir + "' is not a directory");
  fail(path, std::strerror(error));
}

// The permissions a file created in place would get: the destination's if it exists, else
// 0666 without the umask (mkstemp creates 0600).
mode_t outputMode(const std::string &destination) {
  struct stat st = {};
  if (::stat(destination.c_str(), &st) == 0)
    return st.st_mode & 07777;
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

}  // namespace

OutputFile::OutputFile(std::string destination) : destination_(std::move(destination)) {
  if (destination_.empty())
    throw OutputError("an output file name is empty");
  if (destination_ == "-") {
    temp_ = "/dev/stdout";  // written in place, never renamed or removed (see ~OutputFile)
    return;
  }
  struct stat st = {};
  if (::stat(destination_.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    fail(destination_, "it is a directory");
  const std::string dir = directoryOf(destination_);
  std::string name = (dir == "/" ? "/" : dir + "/") + "." + baseNameOf(destination_) + ".XXXXXX";
  std::vector<char> buffer(name.begin(), name.end());
  buffer.push_back('\0');
  const int fd = ::mkstemp(buffer.data());
  if (fd < 0)
    failCreate(destination_, errno);
  temp_ = buffer.data();
  slot_ = registerTemporary(temp_);
  ::fchmod(fd, outputMode(destination_));
  ::close(fd);
}

OutputFile::~OutputFile() {
  // Standard output is never removed, whatever the state: run as root, unlinking /dev/stdout
  // would take it away from every process on the machine.
  if (!committed_ && destination_ != "-")
    ::unlink(temp_.c_str());
  unregisterTemporary(slot_);
}

void OutputFile::commit() {
  if (destination_ == "-")
    return;
  const int fd = ::open(temp_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int error = errno;
    if (fd >= 0)
      ::close(fd);
    fail(destination_, std::strerror(error));
  }
  ::close(fd);
  if (::rename(temp_.c_str(), destination_.c_str()) != 0)
    fail(destination_, std::strerror(errno));
  committed_ = true;
  unregisterTemporary(slot_);
}

void OutputFile::keep() {
  committed_ = true;
  unregisterTemporary(slot_);
}

extern "C" void removeTemporariesAndDie(int signal) {
  for (Temporary &slot : g_temporaries)
    if (slot.used != 0)
      ::unlink(slot.path);  // async-signal-safe
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

void removeTemporariesOnSignals() {
  struct sigaction action = {};
  action.sa_handler = removeTemporariesAndDie;
  sigemptyset(&action.sa_mask);
  for (const int signal : {SIGINT, SIGTERM, SIGHUP})
    sigaction(signal, &action, nullptr);
}

void OutputFile::write(std::string_view text) {
  std::FILE *out = std::fopen(temp_.c_str(), "wb");
  if (out == nullptr)
    fail(destination_, std::strerror(errno));
  const bool written = std::fwrite(text.data(), 1, text.size(), out) == text.size() && std::fflush(out) == 0;
  const int error = errno;
  if (std::fclose(out) != 0 || !written)
    fail(destination_, std::strerror(written ? errno : error));
}

void writeOutput(const std::string &destination, std::string_view text) {
  if (destination == "-") {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size())
      throw OutputError("standard output: write failed: " + std::string(std::strerror(errno)));
    return;
  }
  OutputFile file(destination);
  file.write(text);
  file.commit();
}

bool sameFile(const std::string &a, const std::string &b) {
  struct stat sa = {}, sb = {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

void checkWritableDirectory(const std::string &path) {
  const std::string dir = directoryOf(path);
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    failCreate(path, errno);
}

void finishStdout() {
  // ferror catches a write that failed earlier, fflush one still buffered; both lose output.
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    throw OutputError("standard output: write failed: " + std::string(std::strerror(errno)));
}

}  // namespace vmmu::cli
