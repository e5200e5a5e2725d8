// Keeping a mount's signed URLs fresh with --refresh-command (url_refresher.h).
#include "fs/url_refresher.h"

#include <algorithm>
#include <ctime>

#include "drs/drs_manifest.h"
#include "util/log.h"
#include "util/shell_command.h"

namespace getmfs::fs {
namespace {

constexpr std::int64_t kWarnBefore = 600;   // seconds: "expires soon" in the log
constexpr auto kIdleCheck = std::chrono::seconds(30);

std::string Utc(std::int64_t t) {
  std::time_t time = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&time, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

UrlRefresher::UrlRefresher(RefreshOptions options, Apply apply, Earliest earliest)
    : options_(std::move(options)), apply_(std::move(apply)), earliest_(std::move(earliest)),
      thread_([this] { Loop(); }) {}

UrlRefresher::~UrlRefresher() {
  {
    std::scoped_lock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::string UrlRefresher::last_failure() const {
  std::scoped_lock lock(mu_);
  return last_failure_;
}

RefreshCounts UrlRefresher::counts() const {
  std::scoped_lock lock(mu_);
  return counts_;
}

bool UrlRefresher::RefreshAfter(Clock::time_point since, Clock::time_point deadline) {
  if (!enabled()) return false;
  std::unique_lock lock(mu_);
  if (applied_at_ > since) return true;
  requested_ = true;
  cv_.notify_all();
  cv_.wait_until(lock, deadline, [&] { return stopping_ || applied_at_ > since || run_ended_at_ > since; });
  return applied_at_ > since;
}

UrlRefresher::Clock::time_point UrlRefresher::NextRun(Clock::time_point now) {
  auto earliest = earliest_();
  if (!earliest) return now + kIdleCheck;
  std::int64_t wall = static_cast<std::int64_t>(std::time(nullptr));
  std::int64_t left = earliest->at - wall;
  if (left <= 0 && warned_expired_ != earliest->at) {
    warned_expired_ = earliest->at;
    LOG(Warning) << earliest->path << ": its signed URL expired at " << Utc(earliest->at)
                 << (enabled() ? "; refreshing the URLs"
                               : ": refresh the manifest and run `getmfs reload MOUNTPOINT` (or use --refresh-command)");
  } else if (left > 0 && left <= kWarnBefore && warned_soon_ != earliest->at) {
    warned_soon_ = earliest->at;
    LOG(Warning) << earliest->path << ": its signed URL expires at " << Utc(earliest->at) << ", in " << left / 60
                 << " min" << (enabled() ? "" : ": refresh the manifest and run `getmfs reload MOUNTPOINT`");
  }
  if (!enabled()) return now + std::chrono::seconds(std::clamp<std::int64_t>(left > kWarnBefore ? left - kWarnBefore : left, 1, 30));
  double before = options_.before_seconds.value_or(std::min<double>(300, static_cast<double>(earliest->lifetime) / 2));
  auto due = now + std::chrono::milliseconds(static_cast<std::int64_t>((static_cast<double>(left) - before) * 1000));
  return std::min(due, now + kIdleCheck);
}

Result<manifest::Manifest> ManifestFromCommand(const std::string& command, double timeout_seconds) {
  LOG(Info) << "running the refresh command";
  ShellResult run = RunShellCommand(command, timeout_seconds);
  for (const auto& line : run.err) LOG(Info) << "refresh command: " << line;
  if (run.exit_status != 0 || run.timed_out) {
    return Error{ErrorKind::kExpired, "the refresh command " + run.Describe()};
  }
  auto manifest = manifest::ParseManifestText(run.out, "the refresh command's output");
  if (!manifest) return Error{ErrorKind::kExpired, "the refresh command printed no usable manifest: " + manifest.error().message};
  return manifest;
}

RefreshOptions::Source ManifestSource(const RefreshOptions& options, const std::string& manifest_file,
                                      const drs::DrsOptions& drs, bool has_drs_entries) {
  if (options.command.empty() && !has_drs_entries) return {};
  return [command = options.command, timeout = options.timeout_seconds, manifest_file, drs]() -> Result<manifest::Manifest> {
    if (command.empty()) {
      LOG(Info) << "resolving the DRS URIs of " << manifest_file << " again";
      return drs::LoadManifestFile(manifest_file, drs);
    }
    auto manifest = ManifestFromCommand(command, timeout);
    if (!manifest || !drs::HasDrsEntries(*manifest)) return manifest;
    Status resolved = drs::ResolveAllDrsEntries(&*manifest, drs);
    if (!resolved) return resolved.error();
    return manifest;
  };
}

Status UrlRefresher::RunOnce() {
  auto manifest = options_.source();
  if (!manifest) {
    Error error = manifest.error();
    error.kind = ErrorKind::kExpired;
    return error;
  }
  Status applied = apply_(*manifest);
  if (!applied) return Error{ErrorKind::kExpired, "the fresh manifest could not be applied: " + applied.error().message};
  return Ok{};
}

void UrlRefresher::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto now = Clock::now();
    lock.unlock();
    auto due = NextRun(now);
    lock.lock();
    // Backoff after failures: 1, 2, 4 ... 60 s.
    auto retry_at = run_ended_at_ + std::chrono::seconds(std::min(60, 1 << std::min(failures_, 6)));
    if (failures_ > 0) due = std::max(due, retry_at);
    // Readers asking during a backoff get at most a run a second.
    if (requested_ && failures_ > 0) due = std::min(due, run_ended_at_ + std::chrono::seconds(1));
    if (due > now && (!requested_ || failures_ > 0)) {
      cv_.wait_until(lock, due, [&] { return stopping_ || requested_; });
      continue;
    }
    if (!enabled()) {
      requested_ = false;
      continue;
    }
    requested_ = false;
    lock.unlock();
    Status ran = RunOnce();
    lock.lock();
    run_ended_at_ = Clock::now();
    ++(ran ? counts_.applied : counts_.failed);
    if (ran) {
      applied_at_ = run_ended_at_;
      failures_ = 0;
      last_failure_.clear();
      LOG(Info) << "applied a fresh manifest (" << (options_.command.empty() ? "DRS URIs resolved again" : "the refresh command") << ")";
    } else {
      ++failures_;
      last_failure_ = ran.error().message;
      LOG(Warning) << ran.error().message << "; trying again later";
    }
    cv_.notify_all();
  }
}

}  // namespace getmfs::fs
