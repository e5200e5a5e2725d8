// A worker process (or in-process loop) and the socket to it (worker_link.h).
#include "worker/worker_link.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "util/log.h"

extern char** environ;

namespace getmfs::worker {

Result<std::unique_ptr<WorkerLink>> WorkerLink::Start(const WorkerConfig& config) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return Error{ErrorKind::kInternal, std::string("socketpair: ") + std::strerror(errno)};
  }
  std::unique_ptr<WorkerLink> link(new WorkerLink());
  UniqueFd mine(sv[0]), theirs(sv[1]);
  fcntl(mine.get(), F_SETFL, fcntl(mine.get(), F_GETFL) | O_NONBLOCK);
  // Room for bursts of block reports.
  int buf = 1 << 20;
  setsockopt(mine.get(), SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(theirs.get(), SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  if (config.in_process) {
    link->loop_ = std::make_unique<FetchLoop>(theirs.get(), config.region, config.region_size, config.fetch);
    link->loop_socket_ = std::move(theirs);
    link->loop_thread_ = std::thread([loop = link->loop_.get()] { loop->Run(); });
  } else {
    Status spawned = link->SpawnProcess(config, theirs.get());
    if (!spawned) return spawned.error();
  }
  link->socket_ = std::move(mine);
  return link;
}

Status WorkerLink::SpawnProcess(const WorkerConfig& config, int theirs) {
  // Move the two inherited descriptors to 3 and 4 in the child; the sources are fresh
  // descriptors above 10, so dup2 always clears close-on-exec.
  UniqueFd sock_copy(fcntl(theirs, F_DUPFD_CLOEXEC, 10));
  UniqueFd cache_copy(fcntl(config.cache_fd, F_DUPFD_CLOEXEC, 10));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sock_copy.get(), 3);
  posix_spawn_file_actions_adddup2(&actions, cache_copy.get(), 4);
  // Nothing else: a worker started while libfuse mounts must not hold fusermount3's socket
  // (its open copy kept the mount waiting forever for an answer that would never come), and
  // the library's callers may have descriptors of their own without close-on-exec.
  posix_spawn_file_actions_addclosefrom_np(&actions, 5);
  const auto& transfer = config.fetch.transfer;
  std::vector<std::string> args = {config.worker_path,
                                   "__worker__",
                                   "--control-fd=3",
                                   "--cache-fd=4",
                                   "--cache-size=" + std::to_string(config.region_size),
                                   "--parent=" + std::to_string(getpid()),
                                   "--log-level=" + std::to_string(static_cast<int>(GetLogLevel())),
                                   "--connect-timeout-ms=" + std::to_string(transfer.connect_timeout_ms),
                                   "--low-speed-time=" + std::to_string(transfer.low_speed_time_s),
                                   "--max-attempts=" + std::to_string(config.fetch.retry.max_attempts),
                                   "--nice=" + std::to_string(config.fetch.nice)};
  if (!transfer.ca_bundle.empty()) args.push_back("--ca-bundle=" + transfer.ca_bundle);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = posix_spawn(&pid_, config.worker_path.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return Error{ErrorKind::kInternal, "cannot start a worker process (" + config.worker_path + "): " +
                                           std::strerror(rc) + "; set GETMFS_WORKER to the getmfs executable"};
  }
  return Ok{};
}

WorkerLink::~WorkerLink() { Stop(SIGKILL); }

bool WorkerLink::Exited() {
  if (pid_ <= 0 || reaped_) return reaped_;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return reaped_;
}

std::string WorkerLink::Stop(int signal) {
  socket_.reset();
  if (loop_thread_.joinable()) {
    loop_thread_.join();   // our end is closed: the loop sees EOF and returns
    loop_socket_.reset();
    loop_.reset();
    return "";
  }
  if (pid_ <= 0) return "";
  if (!reaped_) {
    kill(pid_, signal);
    waitpid(pid_, &status_, 0);
    reaped_ = true;
  }
  pid_ = -1;
  return WIFSIGNALED(status_) ? std::string("signal ") + strsignal(WTERMSIG(status_))
                              : "exit " + std::to_string(WEXITSTATUS(status_));
}

}  // namespace getmfs::worker
