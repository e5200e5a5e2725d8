// Running a user's shell command with a deadline (shell_command.h).
#include "util/shell_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "util/unique_fd.h"

extern char** environ;

namespace getmfs {
namespace {

using Clock = std::chrono::steady_clock;

// Reads what the pipes hold until both close or the deadline passes.
void Collect(int out_fd, int err_fd, Clock::time_point deadline, std::size_t max_out, ShellResult* result) {
  std::string err_text;
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open = 2;
  char buf[65536];
  while (open > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      result->timed_out = true;
      break;
    }
    if (poll(fds, 2, static_cast<int>(std::min<long long>(left, 1000))) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        fds[i].fd = -1;
        --open;
      } else if (i == 0) {
        if (result->out.size() < max_out) result->out.append(buf, static_cast<std::size_t>(n));
      } else {
        err_text.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  std::size_t start = 0;
  while (start < err_text.size()) {
    std::size_t end = err_text.find('\n', start);
    if (end == std::string::npos) end = err_text.size();
    if (end > start) result->err.push_back(err_text.substr(start, end - start));
    if (result->err.size() > 100) result->err.erase(result->err.begin());
    start = end + 1;
  }
}

}  // namespace

std::string ShellResult::Describe() const {
  std::string what = !started ? "could not be started"
                     : timed_out ? "was stopped at its timeout"
                     : exit_status >= 0 ? "exited with status " + std::to_string(exit_status)
                                        : "was killed by signal " + std::to_string(-exit_status);
  if (!err.empty()) what += " (last line of its stderr: " + err.back() + ")";
  return what;
}

ShellResult RunShellCommand(const std::string& command, double timeout_seconds, std::size_t max_out) {
  ShellResult result;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return result;
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return result;
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return result;
  result.started = true;
  out_write.reset();
  err_write.reset();
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long long>(timeout_seconds * 1000));
  Collect(out_read.get(), err_read.get(), deadline, max_out, &result);
  if (result.timed_out) kill(-pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return result;
}

}  // namespace getmfs
