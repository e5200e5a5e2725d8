// One object behind a URL, as the mount, `get` and the library read it: its probe (size,
// version, checksum), its place in the block cache (an id and a block size), the whole-object
// verification, why its fetches failed, and its counters.
#ifndef GETMFS_FETCH_REMOTE_OBJECT_H_
#define GETMFS_FETCH_REMOTE_OBJECT_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "fetch/verification.h"
#include "http/probe.h"
#include "http/signed_url.h"
#include "integrity/checksum.h"
#include "util/error.h"
#include "util/interval_set.h"

namespace getmfs::fetch {

struct ObjectCounters {
  std::uint64_t bytes_fetched = 0;
  std::uint64_t requests = 0;
  std::uint64_t retries = 0;
  std::uint64_t errors = 0;
  std::string last_error;
};

// Where an object is, found when first needed (a DRS URI resolved in the background): its
// URL (with headers) and what the lookup says of its size and checksum.
struct Located {
  http::SignedUrl url;
  std::optional<std::uint64_t> size;
  integrity::Expected checksum;
};
using Locator = std::function<Result<Located>()>;

class RemoteObject {
 public:
  // size/checksum from the manifest, when given (both given: no probe is needed).
  RemoteObject(std::string path, http::SignedUrl url, std::optional<std::uint64_t> size,
               integrity::Expected checksum);
  // An object probed already (`get`, the library): `expected` is the checksum to verify.
  static std::shared_ptr<RemoteObject> Probed(std::string label, http::SignedUrl url, http::ObjectMeta meta,
                                              integrity::Expected expected);

  const std::string& path() const { return path_; }   // in messages (never a query string)
  std::atomic<std::uint64_t> ino{0};                   // the mount's inode for it
  http::SignedUrl url() const;
  void set_url(http::SignedUrl url);
  // Counts URL changes (set_url, Rebind): a request refused as expired asks whether a fresh
  // URL came since.
  std::uint64_t url_generation() const;
  // The URL's expiry (Unix time) when its query string says, and its lifetime from when
  // this object got it.
  std::optional<std::int64_t> expiry() const;
  std::int64_t url_lifetime() const;
  // True when the manifest gave both the size and the checksum.
  bool DescribedByManifest() const;
  // True when the manifest says the same of both (size and checksum, or neither).
  bool SameManifestData(const RemoteObject& other) const;
  // A new URL for an object never read: forget the old probe (it is probed again on use).
  void Rebind(http::SignedUrl url);
  // For an object made without a URL: its probe first asks the locator (set before use).
  void SetLocator(Locator locator);
  // True while it has no URL and a locator to find one.
  bool NeedsLocating() const;

  // Size for getattr: the manifest's, else the probe's (waits for one in progress; an error when
  // none has run yet, for the caller to probe).
  Result<std::uint64_t> Size(Deadline deadline);
  std::optional<std::uint64_t> KnownSize() const;
  // Runs the probe now (in this thread) unless it has run or is running elsewhere; waits
  // for its result until the deadline.
  Status EnsureProbed(const http::ProbeOptions& options, Deadline deadline);
  bool NeedsProbe() const;

  // After a successful probe (or without one when the manifest had everything):
  std::uint64_t size() const;
  std::string etag() const;
  bool ranges() const;   // false: the server sends the whole object whatever the Range
  // A response started before the range asked for: from now on the object is streamed.
  void SetRangesIgnored();
  const integrity::Expected& expected() const { return expected_; }
  std::string ChecksumDescription() const;

  // Binds the object to the cache: an id (object identity + version) and a block size; the
  // first call wins. cache_id() is 0 until then, and published last: a thread that sees it
  // sees the block size and the verification too.
  void Attach(std::uint64_t cache_id, std::size_t block_size);
  std::uint64_t cache_id() const { return cache_id_.load(std::memory_order_acquire); }
  std::size_t block_size() const { return block_size_; }
  std::uint64_t BlockCount() const;
  std::uint64_t BlockLength(std::uint64_t index) const;
  Verification& verification() { return *verification_; }
  Verdict verdict() const;
  // Bytes that have arrived at least once, while the verdict was pending (0 before Attach).
  std::uint64_t bytes_present() const;
  // Read in part, at random: the verdict waits for bytes nobody has asked for yet.
  bool partial() const;
  // Records that bytes [offset, end) were given to a reader, through any open file; true once
  // readers have been given every byte. A read served from the page cache never reaches us:
  // `dd` of one block, then `cat` of the rest through another open, must still end in the
  // verdict (EIO for a corrupted object), not in a clean end of file.
  bool MarkDelivered(std::uint64_t offset, std::uint64_t end);

  std::optional<Error> failure() const;   // why reads fail (integrity, changed, ...)
  void Fail(const Error& error);          // marks the object failed (reads get its errno)

  // A request ended: counters, and an object that changed or vanished fails for good.
  void OnFetchDone(std::uint64_t bytes, int retries, const std::optional<Error>& error);
  // Why the blocks [first, first + count) were abandoned (a failed request); cleared when
  // they are requested again.
  void SetBlockError(std::uint64_t first, std::uint64_t count, const Error& error);
  void ClearBlockErrors(std::uint64_t first, std::uint64_t count);
  std::optional<Error> BlockError(std::uint64_t index) const;
  ObjectCounters counters() const;

 private:
  const std::string path_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  http::SignedUrl url_;
  std::uint64_t url_generation_ = 0;
  std::optional<std::int64_t> expiry_;
  std::int64_t url_since_ = 0;           // Unix time the URL was given
  void UrlChangedLocked();
  std::optional<std::uint64_t> manifest_size_;
  Locator locator_;                       // set for an object without a URL yet
  integrity::Expected expected_;          // from the manifest, else from the probe's headers
  bool expected_from_manifest_;

  enum class ProbeState { kNone, kRunning, kDone, kFailed };
  ProbeState probe_state_ = ProbeState::kNone;
  http::ObjectMeta meta_;
  std::optional<Error> probe_error_;
  std::chrono::steady_clock::time_point probe_failed_at_{};
  // Runs the locator (without the lock) and takes what it found; kDone when that is all
  // a read needs. The lock is held again on return.
  Status LocateLocked(std::unique_lock<std::mutex>& lock);
  Status FinishProbeLocked(const Result<http::ObjectMeta>& meta, const http::SignedUrl& url);

  std::atomic<std::uint64_t> cache_id_{0};
  std::size_t block_size_ = 0;
  std::unique_ptr<Verification> verification_;
  std::optional<Error> failure_;
  IntervalSet delivered_;   // guarded by mu_
  // Abandoned blocks: first index -> (count, why).
  std::map<std::uint64_t, std::pair<std::uint64_t, std::shared_ptr<const Error>>> block_errors_;
  ObjectCounters counters_;
};

using ObjectPtr = std::shared_ptr<RemoteObject>;

}  // namespace getmfs::fetch

#endif  // GETMFS_FETCH_REMOTE_OBJECT_H_
