// program.cpp - see program.h.
#include "program.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

extern char **environ;

namespace vmmu::cli {

ProgramResult runProgram(const std::vector<std::string> &args) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error("cannot run " + args.at(0) + ": pipe failed: " + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  std::vector<char *> argv;
  for (const std::string &arg : args)
    argv.push_back(const_cast<char *>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (spawned != 0) {
    ::close(fds[0]);
    throw std::runtime_error("cannot run " + args[0] + ": " + std::strerror(spawned));
  }
  ProgramResult result;
  char buffer[4096];
  for (;;) {
    const ssize_t got = readRetrying(fds[0], buffer, sizeof buffer);
    if (got <= 0)
      break;
    if (result.output.size() < 64 * 1024)  // read to the end all the same: the program must not block
      result.output.append(buffer, static_cast<size_t>(got));
  }
  ::close(fds[0]);
  const int status = waitForChild(pid, args[0]);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

ssize_t readRetrying(int fd, void *buffer, size_t size) {
  for (;;) {
    const ssize_t got = ::read(fd, buffer, size);
    // errno only after a failed read, as in waitForChild.
    if (got >= 0 || errno != EINTR)
      return got;
  }
}

int waitForChild(pid_t pid, const std::string &what) {
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, 0) == pid)
      return status;
    // errno is read only after a failed wait: a successful call leaves it as it was, perhaps EINTR
    // from an interrupted read before.
    if (errno != EINTR)
      throw std::runtime_error("cannot wait for " + what + ": " + std::strerror(errno));
  }
}

bool isProgram(const std::string &program) {
  if (program.find('/') != std::string::npos)
    return ::access(program.c_str(), X_OK) == 0;
  const char *path = std::getenv("PATH");
  const std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  for (size_t at = 0; at <= dirs.size();) {
    const size_t colon = std::min(dirs.find(':', at), dirs.size());
    const std::string dir = colon == at ? "." : dirs.substr(at, colon - at);
    if (::access((dir + "/" + program).c_str(), X_OK) == 0)
      return true;
    at = colon + 1;
  }
  return false;
}

namespace {

std::vector<std::string> nonBlankLines(const std::string &text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const size_t start = line.find_first_not_of(" \t\r");
    if (start != std::string::npos)
      lines.push_back(line.substr(start));
  }
  return lines;
}

}  // namespace

std::string firstLine(const std::string &text) {
  const std::vector<std::string> lines = nonBlankLines(text);
  return lines.empty() ? std::string() : lines.front();
}

std::string lastLine(const std::string &text) {
  const std::vector<std::string> lines = nonBlankLines(text);
  return lines.empty() ? std::string() : lines.back();
}

}  // namespace vmmu::cli
