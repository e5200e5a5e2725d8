// Signed URLs expire. This keeps a mount's URLs fresh with --refresh-command CMD (the command
// prints a complete fresh manifest) or, for drs:// entries, by resolving them again; the fresh
// manifest is applied as `getmfs reload` applies one. It runs
// ahead of the earliest expiry (--refresh-before, default the smaller of 5 minutes and half
// the URL's lifetime) and whenever a request is refused as expired; one run at a time, with
// a timeout; a failed run is tried again with backoff. Without a command it only says, in
// the log, when the earliest URL comes within ten minutes of its expiry and when it expired.
#ifndef GETMFS_FS_URL_REFRESHER_H_
#define GETMFS_FS_URL_REFRESHER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "drs/drs_client.h"
#include "manifest/manifest.h"
#include "util/error.h"

namespace getmfs::fs {

struct RefreshOptions {
  using Source = std::function<Result<manifest::Manifest>()>;
  std::string command;                          // --refresh-command ("": none)
  double timeout_seconds = 60;
  std::optional<double> before_seconds;         // --refresh-before; default: see above
  // Where fresh manifests come from (ManifestSource); empty: no refreshing, only log lines.
  Source source;
};

// The command's standard output as a manifest; kExpired saying what the command did (exit
// status, last stderr line) when it failed. Its stderr goes to the log.
Result<manifest::Manifest> ManifestFromCommand(const std::string& command, double timeout_seconds);

// A mount's source of fresh manifests: the refresh command when given, else, for a manifest
// with drs:// entries, the manifest file read again; drs:// entries are resolved afresh
// (new access URLs). Empty when there is neither a command nor a DRS entry.
RefreshOptions::Source ManifestSource(const RefreshOptions& options, const std::string& manifest_file,
                                      const drs::DrsOptions& drs, bool has_drs_entries);

// The earliest expiry among the URLs in use (Unix time), with the path and the URL's lifetime.
struct EarliestExpiry {
  std::int64_t at = 0;
  std::int64_t lifetime = 0;
  std::string path;
};

// Runs of the refresher since the mount started.
struct RefreshCounts {
  std::uint64_t applied = 0;   // fresh manifests applied
  std::uint64_t failed = 0;    // runs that failed
};

class UrlRefresher {
 public:
  using Clock = std::chrono::steady_clock;
  using Apply = std::function<Status(const manifest::Manifest&)>;
  using Earliest = std::function<std::optional<EarliestExpiry>()>;

  UrlRefresher(RefreshOptions options, Apply apply, Earliest earliest);
  ~UrlRefresher();
  UrlRefresher(const UrlRefresher&) = delete;
  UrlRefresher& operator=(const UrlRefresher&) = delete;

  bool enabled() const { return static_cast<bool>(options_.source); }
  // A request was refused as expired: runs the command now (unless a fresh manifest was
  // applied after `since`) and waits for the run, until the deadline. True when a fresh
  // manifest has been applied after `since`.
  bool RefreshAfter(Clock::time_point since, Clock::time_point deadline);
  // What the last failed run did ("" after a good one), for error messages.
  std::string last_failure() const;
  RefreshCounts counts() const;

 private:
  void Loop();
  // Gets a fresh manifest from the source and applies it.
  Status RunOnce();
  // The log lines about the earliest expiry; returns when the next run is due.
  Clock::time_point NextRun(Clock::time_point now);

  const RefreshOptions options_;
  Apply apply_;
  Earliest earliest_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;
  bool stopping_ = false;
  Clock::time_point applied_at_{};       // the last fresh manifest applied
  Clock::time_point run_ended_at_{};     // the last run, good or not
  std::string last_failure_;
  int failures_ = 0;                     // in a row (backoff)
  RefreshCounts counts_;
  std::int64_t warned_soon_ = 0, warned_expired_ = 0;   // expiries already logged
  std::thread thread_;
};

}  // namespace getmfs::fs

#endif  // GETMFS_FS_URL_REFRESHER_H_
