// The mount's guard process (guard.h).
#include "guard.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include "util/log.h"

extern char** environ;

namespace getmfs::mount {
namespace {

bool IsGetmfsMount(const std::string& mountpoint) {
  std::ifstream mounts("/proc/mounts");
  std::string device, point, type, rest;
  bool found = false;
  while (mounts >> device >> point >> type && std::getline(mounts, rest)) {
    if (point == mountpoint) found = type == "fuse.getmfs";   // the last one listed is on top
  }
  return found;
}

// Detaches the mount if it is a dead getmfs mount.
void DetachIfDead(const std::string& mountpoint) {
  if (!IsGetmfsMount(mountpoint)) return;
  struct stat st;
  if (stat(mountpoint.c_str(), &st) == 0 || errno != ENOTCONN) return;
  if (umount2(mountpoint.c_str(), MNT_DETACH) == 0) return;
  const char* argv[] = {"fusermount3", "-uz", mountpoint.c_str(), nullptr};
  pid_t pid;
  if (posix_spawnp(&pid, "fusermount3", nullptr, nullptr, const_cast<char**>(argv), environ) == 0) {
    waitpid(pid, nullptr, 0);
  }
}

// No descriptor of the daemon but the lifeline: the guard must hold no /dev/fuse and none
// of libfuse's sockets (that would keep the connection or its auto_unmount helper waiting).
void CloseOthers(int keep) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  std::vector<int> fds;
  while (dirent* e = readdir(dir)) {
    int fd = std::atoi(e->d_name);
    if (fd > 2 && fd != keep && fd != dirfd(dir)) fds.push_back(fd);
  }
  closedir(dir);
  for (int fd : fds) close(fd);
}

}  // namespace

UniqueFd StartGuard(const std::string& mountpoint) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return UniqueFd();
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, read_end.get(), 3);
  std::string mp = "--mountpoint=" + mountpoint;
  const char* argv[] = {"/proc/self/exe", "__guard__", "--fd=3", mp.c_str(), nullptr};
  pid_t pid;
  int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    LOG(Warning) << "cannot start the mount's guard: " << std::strerror(rc);
    return UniqueFd();
  }
  return write_end;
}

int GuardMain(int argc, char** argv) {
  std::string mountpoint;
  for (int i = 2; i < argc; ++i) {
    if (std::strncmp(argv[i], "--mountpoint=", 13) == 0) mountpoint = argv[i] + 13;
  }
  if (mountpoint.empty()) {
    std::fprintf(stderr, "getmfs __guard__ is started by getmfs itself, not by hand\n");
    return 2;
  }
  CloseOthers(3);
  // Signals for the daemon's group (Ctrl-C, a service stop) are not for the guard.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) signal(sig, SIG_IGN);
  setsid();
  if (chdir("/") != 0) return 1;
  char buf[64];
  for (;;) {   // nothing is ever written: this ends when the daemon's end closes
    ssize_t n = read(3, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  // The daemon is gone: a clean unmount leaves nothing to do; a dead mount is detached.
  for (int i = 0; i < 20; ++i) {   // the kernel aborts the connection when its last fd closes
    DetachIfDead(mountpoint);
    if (!IsGetmfsMount(mountpoint)) return 0;
    usleep(100 * 1000);
  }
  return 0;
}

}  // namespace getmfs::mount
