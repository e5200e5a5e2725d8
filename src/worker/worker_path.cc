// Which executable serves `getmfs __worker__` (worker_path.h).
#include "worker/worker_path.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

namespace getmfs::worker {
namespace {
std::atomic<bool> g_own_executable{false};
constexpr const char* kOwnExecutable = "/proc/self/exe";
}  // namespace

std::string DefaultWorkerPath() {
  if (const char* env = std::getenv("GETMFS_WORKER"); env != nullptr && env[0] != '\0') return env;
  if (g_own_executable) return kOwnExecutable;
  struct stat st;
  if (::stat(GETMFS_INSTALLED_WORKER, &st) == 0) return GETMFS_INSTALLED_WORKER;
  return GETMFS_BUILD_WORKER;
}

void UseOwnExecutableForWorkers() {
  g_own_executable = true;
  const char* env = std::getenv("GETMFS_WORKER");
  if (env == nullptr || env[0] == '\0' || env[0] == '/') return;
  std::error_code ec;
  auto absolute = std::filesystem::absolute(env, ec);
  if (!ec) setenv("GETMFS_WORKER", absolute.c_str(), 1);
}

}  // namespace getmfs::worker
