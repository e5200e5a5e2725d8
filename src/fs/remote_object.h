// One object behind a URL of the mount: its probe (size, version, checksum), the blocks it
// has in the block cache, and the whole-object verification fed as blocks arrive in any
// order (DESIGN.md invariant 2).
#ifndef GETMFS_FS_REMOTE_OBJECT_H_
#define GETMFS_FS_REMOTE_OBJECT_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cache/block_cache.h"
#include "http/probe.h"
#include "http/signed_url.h"
#include "integrity/checksum.h"
#include "util/error.h"

namespace getmfs::fs {

using Deadline = std::chrono::steady_clock::time_point;

enum class Verdict { kPending, kVerified, kFailed, kUnverified /* no checksum known */ };
const char* VerdictName(Verdict verdict);

struct ObjectCounters {
  std::uint64_t bytes_fetched = 0;
  std::uint64_t requests = 0;
  std::uint64_t retries = 0;
  std::uint64_t errors = 0;
  std::string last_error;
};

class RemoteObject {
 public:
  // size/checksum from the manifest, when given (both given: no probe is needed).
  RemoteObject(std::string path, http::SignedUrl url, std::optional<std::uint64_t> size,
               integrity::Expected checksum);

  const std::string& path() const { return path_; }
  std::atomic<std::uint64_t> ino{0};   // the inode it is the data of
  http::SignedUrl url() const;
  void set_url(http::SignedUrl url);
  // True when the manifest says the same of both (size and checksum, or neither).
  bool SameManifestData(const RemoteObject& other) const;
  // A new URL for an object never read: forget the old probe (it is probed again on use).
  void Rebind(http::SignedUrl url);

  // Size for getattr: the manifest's, else the probe's (waits for it). 
  Result<std::uint64_t> Size(Deadline deadline);
  std::optional<std::uint64_t> KnownSize() const;
  // Runs the probe now (in this thread) unless it has run or is running elsewhere; waits
  // for its result until the deadline.
  Status EnsureProbed(const http::ProbeOptions& options, Deadline deadline);
  bool NeedsProbe() const;

  // After a successful probe (or without one when the manifest had everything):
  std::uint64_t size() const;
  std::string etag() const;
  std::uint64_t cache_id() const { return cache_id_.load(); }
  std::size_t block_size() const { return block_size_; }
  std::uint64_t BlockCount() const;
  std::uint64_t BlockLength(std::uint64_t index) const;

  // Binds the object to the cache: a cache id (object identity + version) and block size.
  void Attach(std::uint64_t cache_id, std::size_t block_size);

  // A block's bytes arrived in `slot` (filled, still pinned by the fetch): records its
  // CRC32C and advances the verification. Returns the verdict if this settled it.
  std::optional<Verdict> OnBlockArrived(cache::BlockCache& cache, std::uint64_t index, int slot,
                                        std::uint32_t crc32c);
  void OnFetchDone(std::uint64_t bytes, int retries, const std::optional<Error>& error);

  // The block that verification needs next, and whether it needs its bytes (md5, sha256,
  // s3 etag) or only its CRC (crc32c). nullopt when no block is needed (settled).
  struct Need {
    std::uint64_t index;
    bool bytes;
  };
  std::optional<Need> NextVerificationNeed() const;
  // Feeds the block at `index` if it is the next one (slot pinned by the caller).
  std::optional<Verdict> FeedVerification(cache::BlockCache& cache, std::uint64_t index, int slot,
                                          std::uint32_t crc32c);
  // Waits until the verdict is not pending or the deadline passes.
  Verdict WaitVerdict(Deadline deadline);

  Verdict verdict() const;
  std::optional<Error> failure() const;   // why reads fail (integrity, changed, ...)
  void Fail(const Error& error);          // marks the object failed (reads get its errno)
  std::optional<Error> last_fetch_error() const;
  const integrity::Expected& expected() const { return expected_; }
  std::string ChecksumDescription() const;
  ObjectCounters counters() const;

 private:
  std::optional<Verdict> AdvanceLocked(cache::BlockCache& cache);
  void SettleLocked(Status verdict, cache::BlockCache& cache);

  const std::string path_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  http::SignedUrl url_;
  std::optional<std::uint64_t> manifest_size_;
  integrity::Expected expected_;          // from the manifest, else from the probe's headers
  bool expected_from_manifest_;

  enum class ProbeState { kNone, kRunning, kDone, kFailed };
  ProbeState probe_state_ = ProbeState::kNone;
  http::ObjectMeta meta_;
  std::optional<Error> probe_error_;
  std::chrono::steady_clock::time_point probe_failed_at_{};

  std::atomic<std::uint64_t> cache_id_{0};   // read without the lock
  std::size_t block_size_ = 0;
  std::unique_ptr<integrity::Verifier> verifier_;
  std::vector<std::uint32_t> crcs_;
  std::vector<bool> have_;
  std::uint64_t next_verify_ = 0;
  Verdict verdict_ = Verdict::kPending;
  std::optional<Error> failure_;
  std::optional<Error> last_fetch_error_;
  ObjectCounters counters_;
};

}  // namespace getmfs::fs

#endif  // GETMFS_FS_REMOTE_OBJECT_H_
