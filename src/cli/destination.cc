// Destination: files through a temporary file and a rename, everything else in place.
#include "cli/destination.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "cli/size.h"

namespace getmfs::cli {
namespace {

namespace stdfs = std::filesystem;

Error IoError(const std::string& what, int error) { return Error{ErrorKind::kIo, what + ": " + std::strerror(error)}; }

// Follows the symlinks named by path's last component (a relative one from the link's
// directory) to a path that is not a symlink or does not exist yet.
Result<std::string> FollowLinks(std::string path) {
  for (int hops = 0; hops < 40; ++hops) {
    char buf[PATH_MAX];
    ssize_t n = readlink(path.c_str(), buf, sizeof buf);
    if (n < 0) return path;   // not a symlink, or missing: later calls say what is wrong
    if (static_cast<std::size_t>(n) == sizeof buf) return IoError("cannot write " + path, ENAMETOOLONG);
    stdfs::path link(std::string(buf, static_cast<std::size_t>(n)));
    path = link.is_absolute() ? link.string() : (stdfs::path(path).parent_path() / link).string();
  }
  return IoError("cannot write " + path, ELOOP);
}

// The descriptor that path names as /dev/stdout, /dev/stderr, /dev/fd/N or /proc/self/fd/N
// (directly or through symlinks), or -1.
int DescriptorNamed(std::string path) {
  for (int hops = 0; hops < 40; ++hops) {
    if (path == "/dev/stdout") return STDOUT_FILENO;
    if (path == "/dev/stderr") return STDERR_FILENO;
    for (const char* prefix : {"/dev/fd/", "/proc/self/fd/"}) {
      std::string digits = path.rfind(prefix, 0) == 0 ? path.substr(std::strlen(prefix)) : "";
      if (!digits.empty() && digits.size() < 9 && std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::stoi(digits);
      }
    }
    char buf[PATH_MAX];
    ssize_t n = readlink(path.c_str(), buf, sizeof buf);
    if (n < 0 || static_cast<std::size_t>(n) == sizeof buf) return -1;
    stdfs::path link(std::string(buf, static_cast<std::size_t>(n)));
    path = link.is_absolute() ? link.string() : (stdfs::path(path).parent_path() / link).string();
  }
  return -1;
}

struct Plan {
  bool in_place = false;
  bool truncate = false;   // in place, but a regular file (see PlanFor)
  std::string target;      // a file's resolved target
};

// How destination is written.
Result<Plan> PlanFor(const std::string& destination) {
  struct stat st {};
  if (stat(destination.c_str(), &st) != 0) {
    if (errno != ENOENT) return IoError("cannot write " + destination, errno);
    auto target = FollowLinks(destination);   // a new file, maybe through a dangling symlink
    if (!target) return target.error();
    return Plan{false, false, *target};
  }
  if (!S_ISREG(st.st_mode)) return Plan{true, false, destination};
  auto target = FollowLinks(destination);
  if (!target) return target.error();
  // The target found by name must be the file itself; it is not for a descriptor's file that
  // was deleted or renamed (/proc/self/fd/N), which is then written in place.
  struct stat found {};
  if (stat(target->c_str(), &found) != 0 || found.st_dev != st.st_dev || found.st_ino != st.st_ino) {
    return Plan{true, true, destination};
  }
  return Plan{false, false, *target};
}

Result<UniqueFd> OpenInPlace(const std::string& destination, bool truncate) {
  for (;;) {
    int fd = open(destination.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY | (truncate ? O_TRUNC : 0));
    if (fd >= 0) return UniqueFd(fd);
    if (errno != EINTR) return IoError("cannot open " + destination + " for writing", errno);
  }
}

// Reserves a file's space first: a full disk fails now, not after the transfer, and the
// file system allocates the extents once instead of as the writes come.
Status Reserve(int fd, std::uint64_t size, const std::string& destination) {
  if (size == 0) return Ok{};
  int rc = posix_fallocate(fd, 0, static_cast<off_t>(size));
  if (rc == ENOSPC || rc == EDQUOT || rc == EFBIG) {
    return IoError("not enough space for " + destination + " (" + FormatBytes(static_cast<double>(size)) + ")", rc);
  }
  return Ok{};
}

}  // namespace

Result<Destination> Destination::Open(const std::string& destination, std::uint64_t size) {
  Destination d;
  if (IsStandardOutput(destination)) {
    d.name_ = "standard output";
    d.out_fd_ = STDOUT_FILENO;
    return d;
  }
  d.name_ = destination;
  // /dev/stdout and the like mean the descriptor, as "-" does: written through a duplicate
  // of it (its offset and O_APPEND kept; a socket could not even be opened by name).
  if (int named = DescriptorNamed(destination); named >= 0) {
    int fd = fcntl(named, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return IoError("cannot write " + destination, errno);
    d.fd_.reset(fd);
    d.out_fd_ = fd;
    return d;
  }
  auto plan = PlanFor(destination);
  if (!plan) return plan.error();
  if (plan->in_place) {
    auto fd = OpenInPlace(destination, plan->truncate);
    if (!fd) return fd.error();
    d.fd_ = std::move(*fd);
    d.out_fd_ = d.fd_.get();
    return d;
  }
  auto temp = TempFile::Create(plan->target);
  if (!temp) return temp.error();
  Status reserved = Reserve(temp->fd(), size, destination);
  if (!reserved) return reserved.error();
  d.target_ = plan->target;
  d.temp_.emplace(std::move(*temp));
  d.out_fd_ = d.temp_->fd();
  return d;
}

Status Destination::Write(const std::uint8_t* data, std::size_t n) {
  // At most 128 KiB per write(): larger buffered writes cost ext4 many times more system
  // time here (dd bs=8M: 2.4 s per GiB; bs=1M: 0.2 s).
  constexpr std::size_t kMaxWrite = 128 << 10;
  while (n > 0) {
    ssize_t w = write(out_fd_, data, std::min(n, kMaxWrite));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return IoError("cannot write " + name_, errno);
    data += w;
    n -= static_cast<std::size_t>(w);
    written_ += static_cast<std::uint64_t>(w);
  }
  return Ok{};
}

Status Destination::Commit() {
  if (temp_) return temp_->Commit(target_);
  if (fd_.valid() && close(fd_.release()) != 0) return IoError("cannot write " + name_, errno);
  return Ok{};
}

}  // namespace getmfs::cli
