// `getmfs unmount`, `status` and `reload`: talking to a running mount through its root and its xattrs.
#include "cli/control_commands.h"

#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "cli/size.h"

extern char** environ;

namespace getmfs::cli {
namespace {

std::optional<std::string> GetXattr(const std::string& path, const char* name) {
  char buf[4096];
  ssize_t n = getxattr(path.c_str(), name, buf, sizeof buf);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<std::size_t>(n));
}

// A getmfs mount answers user.getmfs.pid on its root.
std::optional<pid_t> DaemonPid(const std::string& mountpoint) {
  auto pid = GetXattr(mountpoint, "user.getmfs.pid");
  if (!pid) return std::nullopt;
  return static_cast<pid_t>(std::atol(pid->c_str()));
}

// Alive and not a zombie (an exited daemon may wait a while for init to reap it).
bool Running(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

int NotAMount(const std::string& mountpoint) {
  std::fprintf(stderr, "getmfs: %s is not a getmfs mount (or it does not answer: %s)\n", mountpoint.c_str(),
               std::strerror(errno));
  return 1;
}

// "    signed URL expires 2026-12-01T10:00:00Z (in 42 min)" or "(EXPIRED 3 min ago)".
void PrintExpiry(const nlohmann::json& f) {
  if (f.value("expires", std::string()).empty() || !f.contains("expires_in_seconds") ||
      !f["expires_in_seconds"].is_number()) {
    return;
  }
  std::int64_t in = f["expires_in_seconds"].get<std::int64_t>();
  std::int64_t minutes = (in < 0 ? -in : in) / 60;
  std::string when = minutes > 0 ? std::to_string(minutes) + " min" : std::to_string(in < 0 ? -in : in) + " s";
  std::printf("    signed URL expires %s (%s)\n", f["expires"].get<std::string>().c_str(),
              in < 0 ? ("EXPIRED " + when + " ago").c_str() : ("in " + when).c_str());
}

}  // namespace

int RunUnmount(const std::string& mountpoint, bool lazy) {
  auto pid = DaemonPid(mountpoint);
  int rc = umount2(mountpoint.c_str(), lazy ? MNT_DETACH : 0);
  if (rc != 0 && errno == EPERM) {
    // Not root: fusermount3 can unmount the user's own mounts.
    std::vector<std::string> args = {"fusermount3", "-u"};
    if (lazy) args.push_back("-z");
    args.push_back(mountpoint);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t child;
    if (posix_spawnp(&child, "fusermount3", nullptr, nullptr, argv.data(), environ) == 0) {
      int status = 0;
      waitpid(child, &status, 0);
      rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
    }
  }
  if (rc != 0) {
    if (errno == EBUSY) {
      std::fprintf(stderr, "getmfs unmount: %s is busy (files are open there); close them, or use --lazy to "
                           "detach it now and finish when they are closed\n", mountpoint.c_str());
    } else {
      std::fprintf(stderr, "getmfs unmount: cannot unmount %s: %s\n", mountpoint.c_str(), std::strerror(errno));
    }
    return 1;
  }
  // Wait (briefly) for the daemon to finish, so a following mount finds a clean slate.
  if (pid && !lazy) {
    for (int i = 0; i < 500 && Running(*pid); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

int RunStatus(const std::string& mountpoint, bool json) {
  std::ifstream in(mountpoint + "/.getmfs-status");
  if (!in) return NotAMount(mountpoint);
  std::stringstream text;
  text << in.rdbuf();
  if (json) {
    std::fputs(text.str().c_str(), stdout);
    return 0;
  }
  auto status = nlohmann::json::parse(text.str(), nullptr, false);
  if (status.is_discarded()) {
    std::fprintf(stderr, "getmfs status: unreadable status from %s\n", mountpoint.c_str());
    return 1;
  }
  std::printf("%-40s %12s %-10s %12s %7s %6s  %s\n", "PATH", "SIZE", "STATE", "FETCHED", "RETRIES", "ERRORS", "CHECKSUM");
  for (const auto& f : status["files"]) {
    std::string size = f["size"].is_null() ? "?" : FormatBytes(static_cast<double>(f["size"].get<std::uint64_t>()));
    std::printf("%-40s %12s %-10s %12s %7llu %6llu  %s\n", f["path"].get<std::string>().c_str(), size.c_str(),
                f["state"].get<std::string>().c_str(),
                FormatBytes(static_cast<double>(f["bytes_fetched"].get<std::uint64_t>())).c_str(),
                static_cast<unsigned long long>(f["retries"].get<std::uint64_t>()),
                static_cast<unsigned long long>(f["errors"].get<std::uint64_t>()),
                f["checksum"].get<std::string>().c_str());
    if (!f.value("ranges", true)) std::printf("    the server ignores byte ranges: read as one stream\n");
    PrintExpiry(f);
    if (!f["last_error"].get<std::string>().empty()) {
      std::printf("    last error: %s\n", f["last_error"].get<std::string>().c_str());
    }
  }
  const auto& t = status["totals"];
  std::printf("\n%llu files; fetched %s; %llu retries; %llu errors; states %s\n",
              static_cast<unsigned long long>(t["files"].get<std::uint64_t>()),
              FormatBytes(static_cast<double>(t["bytes_fetched"].get<std::uint64_t>())).c_str(),
              static_cast<unsigned long long>(t["retries"].get<std::uint64_t>()),
              static_cast<unsigned long long>(t["errors"].get<std::uint64_t>()), t["states"].dump().c_str());
  if (status.contains("cache")) {
    const auto& c = status["cache"];
    std::printf("cache: %s of %s used, %llu hits, %llu misses, %llu evictions\n",
                FormatBytes(static_cast<double>(c["used"].get<std::uint64_t>())).c_str(),
                FormatBytes(static_cast<double>(c["capacity"].get<std::uint64_t>())).c_str(),
                static_cast<unsigned long long>(c["hits"].get<std::uint64_t>()),
                static_cast<unsigned long long>(c["misses"].get<std::uint64_t>()),
                static_cast<unsigned long long>(c["evictions"].get<std::uint64_t>()));
  }
  return 0;
}

int RunReload(const std::string& mountpoint, double timeout_seconds) {
  auto pid = DaemonPid(mountpoint);
  auto before = GetXattr(mountpoint, "user.getmfs.reloads");
  if (!pid || !before) return NotAMount(mountpoint);
  if (kill(*pid, SIGHUP) != 0) {
    std::fprintf(stderr, "getmfs reload: cannot signal the daemon (pid %d): %s\n", *pid, std::strerror(errno));
    return 1;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(timeout_seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    auto now = GetXattr(mountpoint, "user.getmfs.reloads");
    if (now && *now != *before) {
      auto error = GetXattr(mountpoint, "user.getmfs.reload_error");
      if (error && !error->empty()) {
        std::fprintf(stderr, "getmfs reload: %s (the mount is unchanged)\n", error->c_str());
        return 2;
      }
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::fprintf(stderr, "getmfs reload: no answer from the daemon within %.0f s\n", timeout_seconds);
  return 1;
}

}  // namespace getmfs::cli
