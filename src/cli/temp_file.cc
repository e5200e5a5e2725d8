// TempFile, and the signal-safe registry of the temporary files in progress that the
// signal handler removes before the process exits.
#include "cli/temp_file.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
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
// Each entry goes free -> writing -> ready -> free. Only the thread that moved an entry to
// writing touches its path, and it publishes the complete path with a release store of
// ready; the handler takes a ready entry (ready -> removing, acquire) before it reads the
// path, so the path cannot change under it and is never half written. A thread that
// creates a temporary file blocks the signals from the moment it claims an entry until the
// entry is ready (or free again), so the file never exists unregistered on a thread that
// could run the handler; a handler on another thread waits for that short window to end.
constexpr int kMaxTemps = 64;
enum TempState : int { kFree, kWriting, kReady, kRemoving };
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");
char g_temps[kMaxTemps][4096];
std::atomic<int> g_temp_state[kMaxTemps];
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

// Claims a free entry for a path of `size` bytes: its index (now kWriting), or -1.
int ClaimTemp(std::size_t size) {
  if (size >= sizeof g_temps[0]) return -1;
  for (int i = 0; i < kMaxTemps; ++i) {
    int expected = kFree;
    if (g_temp_state[i].compare_exchange_strong(expected, kWriting, std::memory_order_acquire)) return i;
  }
  return -1;
}

// Publishes the complete path of a claimed entry (kWriting -> kReady), or frees it.
void PublishTemp(int index, const char* path) {
  if (index < 0) return;
  if (path == nullptr) {
    g_temp_state[index].store(kFree, std::memory_order_release);
    return;
  }
  std::memcpy(g_temps[index], path, std::strlen(path) + 1);
  g_temp_state[index].store(kReady, std::memory_order_release);
}

// kReady -> kFree. If the handler has taken the entry, the process is already ending and
// the entry stays the handler's.
void UnregisterTemp(int index) {
  if (index < 0) return;
  int expected = kReady;
  g_temp_state[index].compare_exchange_strong(expected, kFree, std::memory_order_release, std::memory_order_relaxed);
}

// The signals of kSignals blocked in this thread while a temporary file is being registered.
class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : kSignals) sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t old_;
};

// Async-signal-safe: atomics, nanosleep, unlink and _exit only.
void OnSignal(int sig) {
  for (int i = 0; i < kMaxTemps; ++i) {
    int state = g_temp_state[i].load(std::memory_order_acquire);
    // Another thread is between mkostemp and publishing the path (with the signals blocked):
    // wait for it, at most about a second.
    for (int waits = 0; state == kWriting && waits < 1000; ++waits) {
      timespec pause{0, 1000000};
      nanosleep(&pause, nullptr);
      state = g_temp_state[i].load(std::memory_order_acquire);
    }
    if (state == kReady &&
        g_temp_state[i].compare_exchange_strong(state, kRemoving, std::memory_order_acquire)) {
      unlink(g_temps[i]);
    }
  }
  _exit(128 + sig);
}

}  // namespace

void RemoveTempFilesOnSignal() {
  for (int sig : kSignals) signal(sig, OnSignal);
}

Result<TempFile> TempFile::Create(const std::string& destination) {
  stdfs::path dest(destination);
  std::string dir = dest.has_parent_path() ? dest.parent_path().string() : ".";
  std::string pattern = dir + "/." + dest.filename().string() + ".getmfs-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  SignalsBlocked blocked;
  int registry = ClaimTemp(pattern.size());
  int fd = mkostemp(buf.data(), O_CLOEXEC);
  int error = errno;
  PublishTemp(registry, fd >= 0 ? buf.data() : nullptr);
  if (fd < 0) {
    return Error{ErrorKind::kIo, "cannot create a file in " + dir + ": " + std::strerror(error)};
  }
  TempFile t;
  t.fd_.reset(fd);
  t.path_ = buf.data();
  t.registry_ = registry;
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
