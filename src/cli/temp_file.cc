// TempFile, and the signal-safe registry of the temporary files in progress that the
// signal handler removes before the process exits.
#include "cli/temp_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

namespace getmfs::cli {
namespace {

namespace stdfs = std::filesystem;

// Temporary files in progress, removed by the signal handler on SIGINT/SIGTERM/SIGHUP.
constexpr int kMaxTemps = 64;
char g_temps[kMaxTemps][4096];
std::atomic<bool> g_temp_used[kMaxTemps];

int RegisterTemp(const std::string& path) {
  for (int i = 0; i < kMaxTemps; ++i) {
    bool expected = false;
    if (path.size() < sizeof g_temps[i] && g_temp_used[i].compare_exchange_strong(expected, true)) {
      std::memcpy(g_temps[i], path.c_str(), path.size() + 1);
      return i;
    }
  }
  return -1;
}

void UnregisterTemp(int index) {
  if (index >= 0) g_temp_used[index] = false;
}

void OnSignal(int sig) {
  for (int i = 0; i < kMaxTemps; ++i) {
    if (g_temp_used[i]) unlink(g_temps[i]);
  }
  _exit(128 + sig);
}

}  // namespace

void RemoveTempFilesOnSignal() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, OnSignal);
}

Result<TempFile> TempFile::Create(const std::string& destination) {
  stdfs::path dest(destination);
  std::string dir = dest.has_parent_path() ? dest.parent_path().string() : ".";
  std::string pattern = dir + "/." + dest.filename().string() + ".getmfs-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  int fd = mkostemp(buf.data(), O_CLOEXEC);
  if (fd < 0) {
    return Error{ErrorKind::kIo, "cannot create a file in " + dir + ": " + std::strerror(errno)};
  }
  TempFile t;
  t.fd_.reset(fd);
  t.path_ = buf.data();
  t.registry_ = RegisterTemp(t.path_);
  return t;
}

TempFile::TempFile(TempFile&& o) noexcept
    : fd_(std::move(o.fd_)), path_(std::move(o.path_)), registry_(std::exchange(o.registry_, -1)) {
  o.path_.clear();
}

TempFile::~TempFile() {
  if (!path_.empty()) unlink(path_.c_str());
  UnregisterTemp(registry_);
}

Status TempFile::Commit(const std::string& destination) {
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd_.get(), 0666 & ~mask);
  if (close(fd_.release()) != 0) {
    return Error{ErrorKind::kIo, "cannot write " + destination + ": " + std::strerror(errno)};
  }
  if (rename(path_.c_str(), destination.c_str()) != 0) {
    return Error{ErrorKind::kIo, "cannot rename the download to " + destination + ": " + std::strerror(errno)};
  }
  path_.clear();
  return Ok{};
}

}  // namespace getmfs::cli
