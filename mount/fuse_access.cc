// FUSE's preconditions (fuse_access.h).
#include "fuse_access.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace getmfs::mount {
namespace {

bool IsFuseDevice(const struct stat& st) { return S_ISCHR(st.st_mode) && major(st.st_rdev) == 10 && minor(st.st_rdev) == 229; }

bool AsksAllowOther(const std::vector<std::string>& fuse_options) {
  for (const auto& list : fuse_options) {
    std::istringstream options(list);
    for (std::string option; std::getline(options, option, ',');) {
      if (option == "allow_other") return true;
    }
  }
  return false;
}

// A line "user_allow_other" by itself (fusermount3 reads it so).
bool UserAllowOther(const std::string& fuse_conf) {
  std::ifstream in(fuse_conf);
  for (std::string line; std::getline(in, line);) {
    std::size_t start = line.find_first_not_of(" \t");
    std::size_t end = line.find_last_not_of(" \t\r");
    if (start != std::string::npos && line.substr(start, end - start + 1) == "user_allow_other") return true;
  }
  return false;
}

}  // namespace

std::optional<int> PassedFuseFd(const std::string& mountpoint) {
  const std::string prefix = "/dev/fd/";
  if (mountpoint.rfind(prefix, 0) != 0 || mountpoint.size() == prefix.size() || mountpoint.size() > prefix.size() + 9) {
    return std::nullopt;
  }
  std::string digits = mountpoint.substr(prefix.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoi(digits);
}

std::string CheckPassedFuseFd(int fd) {
  std::string name = "/dev/fd/" + std::to_string(fd);
  if (fd <= 2) return name + " is standard input, output or error, which the daemon replaces: pass /dev/fuse as 3 or above";
  struct stat st;
  if (fcntl(fd, F_GETFD) == -1 || fstat(fd, &st) != 0) {
    return name + " is not an open descriptor: the process that starts getmfs must open /dev/fuse, mount it "
                  "(mount -t fuse.getmfs -o fd=" + std::to_string(fd) + ",rootmode=40000,user_id=U,group_id=G ...) "
                  "and pass the descriptor on";
  }
  if (!IsFuseDevice(st)) {
    return name + " is open but is not /dev/fuse: pass the descriptor of an opened and mounted /dev/fuse";
  }
  return "";
}

std::string CheckFuseAccess(const std::vector<std::string>& fuse_options, const std::string& fuse_conf) {
  struct stat st;
  if (stat("/dev/fuse", &st) != 0) {
    return std::string("/dev/fuse is missing (") + std::strerror(errno) + "): load the module (modprobe fuse); in a "
           "container, run it with --device /dev/fuse --cap-add SYS_ADMIN";
  }
  if (!IsFuseDevice(st)) return "/dev/fuse is not the FUSE device (character device 10:229): recreate it (mknod /dev/fuse c 10 229)";
  if (geteuid() != 0 && AsksAllowOther(fuse_options) && !UserAllowOther(fuse_conf)) {
    return "-o allow_other needs the line user_allow_other in " + fuse_conf + " (as root: echo user_allow_other >> " +
           fuse_conf + "), or mount as root";
  }
  return "";
}

}  // namespace getmfs::mount
