// The daemon's start-up word to `getmfs mount` (readiness.h).
#include "readiness.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "util/log.h"

namespace getmfs::mount {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kCleanupDeadline{15000};   // an unmount and the workers stopped

void WriteLine(int fd, const std::string& line) {
  if (fd < 0) return;
  [[maybe_unused]] ssize_t n = write(fd, line.data(), line.size());   // one line fits the pipe's atomic size
}

// Applies one line of the daemon's; true once it is a verdict.
bool TakeLine(const std::string& line, DaemonWord* word) {
  if (line.rfind("STEP ", 0) == 0) {
    word->last_step = line.substr(5);
    return false;
  }
  if (line == "OK") {
    word->kind = DaemonWord::Kind::kServing;
    return true;
  }
  if (line.rfind("ERR ", 0) == 0) {
    word->kind = DaemonWord::Kind::kFailed;
    word->why = line.substr(4);
    return true;
  }
  return false;   // not ours: ignored
}


std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

// The numeric entries of a /proc directory.
std::vector<std::string> NumericEntries(const std::string& dir_path) {
  std::vector<std::string> names;
  DIR* dir = opendir(dir_path.c_str());
  if (dir == nullptr) return names;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') names.push_back(e->d_name);
  }
  closedir(dir);
  return names;
}

// The parent pid from /proc/PID/stat (the field after the parenthesized command).
pid_t ParentOf(const std::string& pid) {
  std::string stat = ReadSmallFile("/proc/" + pid + "/stat");
  std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 1));
  char state;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

// "pid 12 (getmfs) waiting in unix_stream_read_generic, futex_wait_queue": where the
// threads of one process are blocked in the kernel.
std::string DescribeProcess(const std::string& pid) {
  std::set<std::string> waits;
  for (const auto& tid : NumericEntries("/proc/" + pid + "/task")) {
    std::string wchan = ReadSmallFile("/proc/" + pid + "/task/" + tid + "/wchan");
    waits.insert(wchan.empty() || wchan == "0" ? "running" : wchan);
  }
  std::string text = "pid " + pid + " (" + ReadSmallFile("/proc/" + pid + "/comm") + ") waiting in ";
  std::string sep;
  for (const auto& w : waits) text += sep + w, sep = ", ";
  return text;
}

std::string CommandLine(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/cmdline");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Children that are copies of the daemon: forks that never reached their exec (libfuse
// starts fusermount3 with fork and exec).
std::vector<pid_t> UnexecutedForksOf(pid_t pid) {
  std::vector<pid_t> forks;
  std::string own = CommandLine(std::to_string(pid));
  for (const auto& other : NumericEntries("/proc")) {
    if (ParentOf(other) == pid && CommandLine(other) == own) forks.push_back(std::stoi(other));
  }
  return forks;
}

// SIGTERM, then SIGKILL if it is still there after two seconds; reaps it. Its forks that
// never reached exec hold its descriptors: they are killed too.
void StopDaemon(pid_t pid) {
  std::vector<pid_t> forks = UnexecutedForksOf(pid);
  kill(pid, SIGTERM);
  bool reaped = false;
  for (int i = 0; i < 40 && !reaped; ++i) {
    reaped = waitpid(pid, nullptr, WNOHANG) == pid;
    if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!reaped) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  for (pid_t f : forks) kill(f, SIGKILL);
}

// Reaps a daemon that is ending by itself; one still there after the deadline is stopped.
void AwaitDaemonExit(pid_t pid, std::chrono::milliseconds deadline) {
  auto end = Clock::now() + deadline;
  while (Clock::now() < end) {
    pid_t done = waitpid(pid, nullptr, WNOHANG);
    if (done == pid || (done < 0 && errno == ECHILD)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  StopDaemon(pid);
}

}  // namespace

std::string DescribeStuckDaemon(pid_t pid) {
  std::string daemon = std::to_string(pid);
  std::string text = DescribeProcess(daemon);
  for (const auto& other : NumericEntries("/proc")) {
    if (ParentOf(other) == pid) text += "; its child " + DescribeProcess(other);
  }
  return text;
}

void Readiness::Step(const std::string& what) {
  LOG(Debug) << "start-up: " << what;
  WriteLine(fd_.get(), "STEP " + what + "\n");
}

void Readiness::Verdict(const std::string& line) {
  WriteLine(fd_.get(), line);
  fd_.reset();
}

DaemonWord ReadDaemonWord(int fd, std::chrono::milliseconds deadline) {
  DaemonWord word;
  std::string pending;
  auto end = Clock::now() + deadline;
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) {
      word.kind = DaemonWord::Kind::kTimedOut;
      return word;
    }
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;   // the deadline is checked above
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      word.kind = DaemonWord::Kind::kExited;
      return word;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    for (std::size_t eol; (eol = pending.find('\n')) != std::string::npos;) {
      std::string line = pending.substr(0, eol);
      pending.erase(0, eol + 1);
      if (TakeLine(line, &word)) return word;
    }
  }
}

int WaitForDaemon(int fd, pid_t pid, const std::string& mountpoint, std::chrono::milliseconds deadline) {
  DaemonWord word = ReadDaemonWord(fd, deadline);
  std::string at = word.last_step.empty() ? "" : " (last step: " + word.last_step + ")";
  switch (word.kind) {
    case DaemonWord::Kind::kServing:
      return 0;
    case DaemonWord::Kind::kFailed:
      // The daemon says why before it undoes what it made (the mount, its workers): its
      // exit is awaited, so that nothing of it is left when `getmfs mount` returns.
      AwaitDaemonExit(pid, kCleanupDeadline);
      std::fprintf(stderr, "getmfs mount: %s\n", word.why.c_str());
      return 1;
    case DaemonWord::Kind::kExited:
      AwaitDaemonExit(pid, kCleanupDeadline);
      std::fprintf(stderr, "getmfs mount: the daemon for %s exited during start-up%s (see syslog or --log-file)\n",
                   mountpoint.c_str(), at.c_str());
      return 1;
    case DaemonWord::Kind::kTimedOut: {
      std::string where = DescribeStuckDaemon(pid);
      StopDaemon(pid);
      std::fprintf(stderr, "getmfs mount: the daemon for %s was not serving after %lld s%s: %s; it was stopped. "
                           "Run with --foreground -vv to see where it waits, and check `dmesg` for FUSE errors\n",
                   mountpoint.c_str(), static_cast<long long>(deadline.count() / 1000), at.c_str(), where.c_str());
      return 1;
    }
  }
  return 1;
}

}  // namespace getmfs::mount
