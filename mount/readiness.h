// The word between a detached mount daemon and the `getmfs mount` that started it.
//
// The daemon writes lines on a pipe: "STEP <what it is doing>" as it goes, then one verdict,
// "OK" (serving) or "ERR <why>". The parent waits for the verdict with a deadline: a daemon
// that never gets there (a stuck fusermount3, a kernel that never sends INIT) is stopped and
// the parent says which step it was stuck in, instead of waiting forever.
#ifndef GETMFS_MOUNT_READINESS_H_
#define GETMFS_MOUNT_READINESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>

#include "util/unique_fd.h"

namespace getmfs::mount {

// The daemon's end. Without a descriptor (--foreground) it only logs the steps.
class Readiness {
 public:
  explicit Readiness(int fd) : fd_(fd) {}
  void Step(const std::string& what);
  void Ready() { Verdict("OK\n"); }
  void Failed(const std::string& why) { Verdict("ERR " + why + "\n"); }

 private:
  void Verdict(const std::string& line);
  UniqueFd fd_;
};

// What the parent learned.
struct DaemonWord {
  enum class Kind { kServing, kFailed, kExited, kTimedOut } kind = Kind::kExited;
  std::string why;         // the daemon's reason, for kFailed
  std::string last_step;   // the last step it reported ("" if none)
};

// Reads the daemon's lines from fd until its verdict, end of file, or the deadline.
DaemonWord ReadDaemonWord(int fd, std::chrono::milliseconds deadline);

// Where a daemon that does not answer is blocked: the kernel wait channel of each of its
// threads and of each of its children (a fusermount3 that never sent the FUSE descriptor,
// a fork that never reached exec).
std::string DescribeStuckDaemon(pid_t pid);

// The parent side: waits for the daemon (pid) and prints what went wrong; the exit status
// of `getmfs mount` (0 serving, 1 otherwise). A daemon that failed is awaited until it has undone
// what it made (its mount, its workers); one past the deadline is stopped.
int WaitForDaemon(int fd, pid_t pid, const std::string& mountpoint, std::chrono::milliseconds deadline);

}  // namespace getmfs::mount

#endif  // GETMFS_MOUNT_READINESS_H_
