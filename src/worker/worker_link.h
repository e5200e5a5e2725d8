// One worker the pool talks to: a process started as `getmfs __worker__` (fork+exec of our
// own executable, never a bare fork), or in the no-worker mode a fetch loop in a thread of
// this process, and the socket to it with an outbox, so that sending never blocks the pool.
#ifndef GETMFS_WORKER_WORKER_LINK_H_
#define GETMFS_WORKER_WORKER_LINK_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>

#include "util/error.h"
#include "util/unique_fd.h"
#include "worker/fetch_loop.h"
#include "worker/protocol.h"

namespace getmfs::worker {

struct WorkerConfig {
  bool in_process = false;          // a thread here instead of a process
  std::string worker_path;          // executable to run as `PATH __worker__ ...`
  int cache_fd = -1;                // the memfd every worker maps
  std::uint8_t* region = nullptr;   // its mapping here (for the in-process loop)
  std::size_t region_size = 0;
  FetchLoopOptions fetch;
};

class WorkerLink {
 public:
  static Result<std::unique_ptr<WorkerLink>> Start(const WorkerConfig& config);
  ~WorkerLink();   // Stop(SIGKILL) if still running
  WorkerLink(const WorkerLink&) = delete;
  WorkerLink& operator=(const WorkerLink&) = delete;

  int fd() const { return socket_.get(); }
  pid_t pid() const { return pid_; }
  // Queues a message and sends what the socket takes now. False when the worker is gone.
  bool Send(const nlohmann::json& message) { return outbox_.Send(fd(), message); }
  // Sends what waits (poll said the socket is writable). False when the worker is gone.
  bool Flush() { return outbox_.Flush(fd()); }
  bool wants_write() const { return !outbox_.empty(); }
  // True once the process has exited (reaped here) though its socket may still look open.
  bool Exited();
  // Ends it: closes the socket; a process gets `signal` and is waited for. Says how it ended
  // ("exit 0", "signal Killed"), "" for a thread.
  std::string Stop(int signal);

 private:
  WorkerLink() = default;
  Status SpawnProcess(const WorkerConfig& config, int theirs);

  UniqueFd socket_;
  MessageOutbox outbox_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;   // the wait status, once reaped
  std::unique_ptr<FetchLoop> loop_;   // the in-process loop
  UniqueFd loop_socket_;
  std::thread loop_thread_;
};

}  // namespace getmfs::worker

#endif  // GETMFS_WORKER_WORKER_LINK_H_
