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

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "util/log.h"

extern char** environ;

namespace getmfs::mount {
namespace {

// "\040" -> " ": /proc/self/mountinfo escapes space, tab, newline and backslash in octal.
std::string Unescape(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    bool octal = field[i] == '\\' && i + 3 < field.size() &&
                 std::all_of(field.begin() + static_cast<long>(i) + 1, field.begin() + static_cast<long>(i) + 4,
                             [](char c) { return c >= '0' && c <= '7'; });
    if (octal) {
      out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

}  // namespace

std::string TopMountDevice(const std::string& mountpoint) {
  std::ifstream info("/proc/self/mountinfo");
  std::string device;
  for (std::string line; std::getline(info, line);) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
    std::istringstream fields(line);
    std::string id, parent, majmin, root, point, word;
    fields >> id >> parent >> majmin >> root >> point;
    if (Unescape(point) != mountpoint) continue;
    while (fields >> word && word != "-") {
    }
    std::string type;
    fields >> type;
    device = type == "fuse.getmfs" ? majmin : "";   // the last one listed is on top
  }
  return device;
}

namespace {

// After the daemon ended: its mount (known by its device) still there means it died without
// unmounting, and its mount is dead: detach it.
void DetachIfStillMounted(const std::string& mountpoint, const std::string& device) {
  if (device.empty() || TopMountDevice(mountpoint) != device) return;
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

UniqueFd StartGuard(const std::string& mountpoint, const std::string& device) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return UniqueFd();
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, read_end.get(), 3);
  std::string mp = "--mountpoint=" + mountpoint, dev = "--device=" + device;
  const char* argv[] = {"/proc/self/exe", "__guard__", "--fd=3", mp.c_str(), dev.c_str(), nullptr};
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
  std::string mountpoint, device;
  for (int i = 2; i < argc; ++i) {
    if (std::strncmp(argv[i], "--mountpoint=", 13) == 0) mountpoint = argv[i] + 13;
    if (std::strncmp(argv[i], "--device=", 9) == 0) device = argv[i] + 9;
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
  // The daemon is gone. A clean end unmounted first; its mount still there means the daemon
  // died without unmounting, and nothing serves it any more: detach it (known by its device,
  // so a mount made since on the same path is never touched).
  DetachIfStillMounted(mountpoint, device);
  return 0;
}

}  // namespace getmfs::mount
