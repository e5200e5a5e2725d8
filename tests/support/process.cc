#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <system_error>

extern char** environ;

namespace getmfs::testing {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void ThrowErrno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

Clock::time_point DeadlineAfter(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(seconds < 0 ? 0 : seconds));
}

int MillisUntil(Clock::time_point deadline, int cap_ms) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return 0;
  return left.count() < cap_ms ? static_cast<int>(left.count()) : cap_ms;
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

// Non-blocking waitpid; returns the decoded status once the child is reaped.
std::optional<int> TryReap(pid_t pid) {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid) return DecodeStatus(status);
  if (r < 0) return -1;  // not our child any more (ECHILD): treat as gone
  return std::nullopt;
}

int BlockingReap(pid_t pid) {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  return r == pid ? DecodeStatus(status) : -1;
}

std::vector<std::string> BuildEnvironment(const std::vector<std::string>& extra_env) {
  std::set<std::string> overridden;
  for (const std::string& entry : extra_env) overridden.insert(entry.substr(0, entry.find('=')));
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    if (overridden.count(entry.substr(0, entry.find('='))) == 0) env.push_back(entry);
  }
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

struct Spawned {
  pid_t pid = -1;
  int stdin_fd = -1;   // our end of the child's stdin (a socket: writes use MSG_NOSIGNAL)
  int stdout_fd = -1;  // read ends
  int stderr_fd = -1;
};

// RAII for the spawn attribute objects.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

Spawned Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  if (argv.empty()) throw std::invalid_argument("Spawn: empty argv");
  int in_pair[2] = {-1, -1};
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  auto close_all = [&] {
    for (int* fds : {in_pair, out_pipe, err_pipe}) {
      CloseFd(fds[0]);
      CloseFd(fds[1]);
    }
  };
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) != 0 ||
      pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    close_all();
    ThrowErrno(err, "socketpair/pipe2");
  }
  // The child's stdin is read-only from its point of view.
  shutdown(in_pair[1], SHUT_RD);
  shutdown(in_pair[0], SHUT_WR);

  SpawnSetup setup;
  posix_spawn_file_actions_adddup2(&setup.actions, in_pair[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, err_pipe[1], STDERR_FILENO);
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setsigmask(&setup.attr, &empty);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setflags(&setup.attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> args = argv;
  std::vector<std::string> env = BuildEnvironment(extra_env);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(env);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, c_args[0], &setup.actions, &setup.attr, c_args.data(), c_env.data());
  CloseFd(in_pair[0]);
  CloseFd(out_pipe[1]);
  CloseFd(err_pipe[1]);
  if (rc != 0) {
    close_all();
    ThrowErrno(rc, "cannot start " + argv[0]);
  }
  return Spawned{pid, in_pair[1], out_pipe[0], err_pipe[0]};
}

// Reads what is available; false at end of file (or on error).
bool ReadSome(int fd, std::string& into) {
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      into.append(buffer, static_cast<std::size_t>(n));
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    return false;
  }
}

void KillGroup(pid_t pid, int sig) {
  if (pid <= 0) return;
  kill(-pid, sig);  // the child leads its own process group
  kill(pid, sig);   // in case it moved itself to another group
}

}  // namespace

RunResult Run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
              double timeout_seconds, const std::string& stdin_data) {
  Spawned child = Spawn(argv, extra_env);
  RunResult result;
  const Clock::time_point deadline = DeadlineAfter(timeout_seconds);
  std::size_t stdin_written = 0;
  if (stdin_data.empty()) CloseFd(child.stdin_fd);
  std::optional<int> exit_code;
  Clock::time_point drain_deadline;

  while (child.stdout_fd >= 0 || child.stderr_fd >= 0 || !exit_code) {
    if (!exit_code) {
      exit_code = TryReap(child.pid);
      if (exit_code) {
        drain_deadline = DeadlineAfter(0.5);
        CloseFd(child.stdin_fd);
      }
    }
    if (exit_code && Clock::now() >= drain_deadline) break;
    if (!exit_code && Clock::now() >= deadline) {
      result.timed_out = true;
      KillGroup(child.pid, SIGKILL);
      exit_code = BlockingReap(child.pid);
      break;
    }
    pollfd fds[3];
    nfds_t n = 0;
    for (int fd : {child.stdout_fd, child.stderr_fd}) {
      if (fd >= 0) fds[n++] = pollfd{fd, POLLIN, 0};
    }
    if (child.stdin_fd >= 0) fds[n++] = pollfd{child.stdin_fd, POLLOUT, 0};
    int wait_ms = MillisUntil(exit_code ? drain_deadline : deadline, 20);
    if (n == 0) {
      poll(nullptr, 0, wait_ms);
      continue;
    }
    if (poll(fds, n, wait_ms) < 0 && errno != EINTR) ThrowErrno(errno, "poll");
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == child.stdin_fd) {
        ssize_t w = send(child.stdin_fd, stdin_data.data() + stdin_written,
                         stdin_data.size() - stdin_written, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) stdin_written += static_cast<std::size_t>(w);
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || stdin_written == stdin_data.size()) {
          CloseFd(child.stdin_fd);
        }
      } else if (fds[i].fd == child.stdout_fd) {
        if (!ReadSome(child.stdout_fd, result.out)) CloseFd(child.stdout_fd);
      } else if (fds[i].fd == child.stderr_fd) {
        if (!ReadSome(child.stderr_fd, result.err)) CloseFd(child.stderr_fd);
      }
    }
  }
  CloseFd(child.stdin_fd);
  CloseFd(child.stdout_fd);
  CloseFd(child.stderr_fd);
  result.exit_code = *exit_code;
  return result;
}

std::unique_ptr<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv,
                                                  const std::vector<std::string>& extra_env) {
  int wake[2];
  if (pipe2(wake, O_CLOEXEC) != 0) ThrowErrno(errno, "pipe2");
  Spawned spawned;
  try {
    spawned = Spawn(argv, extra_env);
  } catch (...) {
    close(wake[0]);
    close(wake[1]);
    throw;
  }
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = spawned.pid;
  child->stdin_fd_ = spawned.stdin_fd;
  child->stdout_fd_ = spawned.stdout_fd;
  child->stderr_fd_ = spawned.stderr_fd;
  child->wake_read_fd_ = wake[0];
  child->wake_write_fd_ = wake[1];
  child->reader_ = std::thread([c = child.get()] { c->ReaderLoop(); });
  return child;
}

ChildProcess::~ChildProcess() {
  Stop();
  if (wake_write_fd_ >= 0) {
    char byte = 0;
    while (write(wake_write_fd_, &byte, 1) < 0 && errno == EINTR) {
    }
  }
  if (reader_.joinable()) reader_.join();
  CloseFd(stdin_fd_);
  CloseFd(stdout_fd_);
  CloseFd(stderr_fd_);
  CloseFd(wake_read_fd_);
  CloseFd(wake_write_fd_);
}

void ChildProcess::ReaderLoop() {
  bool out_open = true;
  bool err_open = true;
  while (out_open || err_open) {
    pollfd fds[3] = {{out_open ? stdout_fd_ : -1, POLLIN, 0},
                     {err_open ? stderr_fd_ : -1, POLLIN, 0},
                     {wake_read_fd_, POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents != 0) break;
    std::string out_chunk;
    std::string err_chunk;
    if (fds[0].revents != 0 && !ReadSome(stdout_fd_, out_chunk)) out_open = false;
    if (fds[1].revents != 0 && !ReadSome(stderr_fd_, err_chunk)) err_open = false;
    {
      std::scoped_lock lock(mu_);
      stdout_buffer_ += out_chunk;
      stderr_buffer_ += err_chunk;
      if (!out_open) stdout_eof_ = true;
    }
    cv_.notify_all();
  }
  {
    std::scoped_lock lock(mu_);
    stdout_eof_ = true;
  }
  cv_.notify_all();
}

std::optional<std::string> ChildProcess::ReadLine(double timeout_seconds) {
  std::unique_lock lock(mu_);
  auto deadline = DeadlineAfter(timeout_seconds);
  std::size_t newline;
  cv_.wait_until(lock, deadline, [&] {
    newline = stdout_buffer_.find('\n');
    return newline != std::string::npos || stdout_eof_;
  });
  newline = stdout_buffer_.find('\n');
  if (newline == std::string::npos) {
    if (!stdout_eof_ || stdout_buffer_.empty()) return std::nullopt;
    newline = stdout_buffer_.size();
  }
  std::string line = stdout_buffer_.substr(0, newline);
  stdout_buffer_.erase(0, newline == stdout_buffer_.size() ? newline : newline + 1);
  return line;
}

std::string ChildProcess::Stderr() const {
  std::scoped_lock lock(mu_);
  return stderr_buffer_;
}

std::string ChildProcess::PendingStdout() const {
  std::scoped_lock lock(mu_);
  return stdout_buffer_;
}

bool ChildProcess::WriteStdin(const std::string& data) {
  std::size_t done = 0;
  while (stdin_fd_ >= 0 && done < data.size()) {
    ssize_t w = send(stdin_fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(w);
  }
  return stdin_fd_ >= 0;
}

void ChildProcess::CloseStdin() { CloseFd(stdin_fd_); }

bool ChildProcess::Running() { return !Wait(0).has_value(); }

std::optional<int> ChildProcess::Wait(double timeout_seconds) {
  auto deadline = DeadlineAfter(timeout_seconds);
  for (;;) {
    {
      std::scoped_lock lock(wait_mu_);
      if (!exit_code_) exit_code_ = TryReap(pid_);
      if (exit_code_) return exit_code_;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    poll(nullptr, 0, MillisUntil(deadline, 10));
  }
}

void ChildProcess::Signal(int sig) {
  std::scoped_lock lock(wait_mu_);
  if (!exit_code_) kill(pid_, sig);
}

int ChildProcess::Stop(double grace_seconds) {
  {
    std::scoped_lock lock(wait_mu_);
    if (exit_code_) return *exit_code_;
    KillGroup(pid_, SIGTERM);
  }
  if (auto code = Wait(grace_seconds)) return *code;
  std::scoped_lock lock(wait_mu_);
  if (!exit_code_) {
    KillGroup(pid_, SIGKILL);
    exit_code_ = BlockingReap(pid_);
  }
  return *exit_code_;
}

}  // namespace getmfs::testing
