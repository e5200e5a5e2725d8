// The mount's file system without FUSE: the facade mount/ calls for every kernel request
// (lookup, getattr, opendir/readdir, open, read, release, xattrs, statfs), over the inode
// table, the probe queue, a Prefetcher per open file and the engine's BlockFetcher. It says
// what each reply carries (attribute timeouts, keep_cache, direct_io), so the FUSE layer
// guesses nothing. No FUSE header is included by src/.
#ifndef GETMFS_FS_FILE_SYSTEM_H_
#define GETMFS_FS_FILE_SYSTEM_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "fetch/block_fetcher.h"
#include "fetch/engine.h"
#include "fs/background_verifier.h"
#include "fs/inode_table.h"
#include "fs/prefetcher.h"
#include "fs/probe_queue.h"
#include "fs/reload_plan.h"
#include "fs/status.h"
#include "fs/url_refresher.h"
#include "manifest/manifest.h"
#include "util/error.h"
#include "util/repeat_limiter.h"

namespace getmfs::fs {

using fetch::Deadline;

struct MountOptions {
  std::size_t block_size = 64 << 10;        // cache block: the smallest fetch
  std::size_t cache_size = 0;               // 0: fetch::DefaultCacheSize()
  std::optional<int> concurrency = 16;      // range requests in flight; nullopt: no workers
  int workers = 0;
  // Largest read-ahead window of one stream; 0: enough to keep every connection busy (4 MiB
  // per connection of --concurrency, at least 64 MiB), within the reader's share of the cache.
  std::size_t max_readahead = 0;
  std::size_t max_request = 8 << 20;        // largest single range request
  double timeout_seconds = 60;              // a read's deadline
  int probe_threads = 8;                    // background probes at once
  bool verify_random_background = false;    // --verify-random background
  // --direct-io on: objects open with FOPEN_DIRECT_IO. Each read() is one request, answered
  // straight into the reader's buffer (no page-cache pages, one copy fewer); re-reads come
  // from the block cache, the daemon's read-ahead is the only one, and MAP_SHARED mmap fails
  // (ENODEV) unless the kernel was told FUSE_DIRECT_IO_ALLOW_MMAP (libfuse 3.17+).
  bool direct_io = false;
  std::string ca_bundle;                    // --ca-bundle ("": the system's CAs)
  RefreshOptions refresh;                   // --refresh-command, --refresh-timeout, --refresh-before
  drs::DrsOptions drs;                      // resolves drs:// entries left to the background
  std::uint32_t uid = 0, gid = 0;
  std::uint32_t file_mode = 0444, dir_mode = 0555;
  std::string worker_path;
};

struct Attr {
  std::uint64_t ino = 0;
  bool dir = false;
  std::uint64_t size = 0;
  std::uint32_t mode = 0;     // with S_IFDIR/S_IFREG
  std::uint32_t nlink = 1;
  std::uint32_t uid = 0, gid = 0;
  std::int64_t mtime = 0;
  double timeout = 0;         // seconds the kernel may keep this attribute (and the entry)
};

struct DirEntry {
  std::string name;
  Attr attr;
};

// What open replies: the handle, and how the kernel is to cache the file's data.
struct OpenReply {
  std::uint64_t handle = 0;
  bool keep_cache = false;   // the data is immutable: keep the kernel's page cache
  bool direct_io = false;    // every read comes here (the status file, made at open; --direct-io on)
};

// Views into the block cache for one read; each slot is pinned until ReleaseRead.
struct ReadData {
  struct Piece {
    int slot;
    const std::uint8_t* data;
    std::size_t size;
    bool to_block_end;   // the read went through to the end of this block
  };
  std::vector<Piece> pieces;
  std::size_t total = 0;
  std::shared_ptr<const std::string> owned;   // bytes not in the cache (the status file)
  bool sequential = false;                     // released blocks go first when space is short
};

class FileSystem {
 public:
  static constexpr std::uint64_t kRootIno = InodeTable::kRootIno;
  // The hidden status file in the root (lookup works, readdir does not list it).
  static constexpr const char* kStatusName = ".getmfs-status";

  // Builds the tree from the manifest (no network, no processes).
  static Result<std::unique_ptr<FileSystem>> Create(const manifest::Manifest& manifest, MountOptions options);
  ~FileSystem();
  // Starts the worker processes and the background probes (after daemonizing).
  Status Start();
  // Ends every request (reads in progress fail at once), waits for the reads to be
  // released, then stops the probes and the workers.
  void Stop();

  Result<Attr> Lookup(std::uint64_t parent, const std::string& name);
  Result<Attr> GetAttr(std::uint64_t ino);
  // A directory handle carries a snapshot of the listing that readdir pages through.
  Result<std::uint64_t> OpenDir(std::uint64_t ino);
  Result<std::shared_ptr<const std::vector<DirEntry>>> ReadDir(std::uint64_t dir_handle);
  void ReleaseDir(std::uint64_t dir_handle);
  Result<OpenReply> Open(std::uint64_t ino, int flags);
  Result<ReadData> Read(std::uint64_t ino, std::uint64_t handle, std::uint64_t offset, std::size_t size);
  // Ends a read that succeeded (every one must be released): unpins its blocks. delivered:
  // its bytes went to the reader, so a sequential reader's blocks read to their end are not
  // wanted again (cold).
  void ReleaseRead(const ReadData& data, bool delivered = true);
  void Release(std::uint64_t handle);
  Result<std::string> GetXattr(std::uint64_t ino, const std::string& name);
  Result<std::vector<std::string>> ListXattr(std::uint64_t ino);
  std::uint64_t FileCount() const;
  std::uint64_t TotalBytes() const;

  // JSON: per file size, checksum, verdict, bytes fetched, retries, errors; totals; cache.
  std::string StatusJson();
  // The same as an object; kTotals leaves out the files (metrics).
  nlohmann::json StatusReport(StatusDetail detail);

  // Re-reads the manifest: unchanged objects keep their cache and handles even when their
  // URL changed; new paths appear, removed ones go. Fills what the kernel must forget.
  Status Reload(const manifest::Manifest& manifest, std::vector<Invalidation>* invalidations);
  std::uint64_t generation() const { return generation_; }
  // The last reload's failure ("" after a good one), shown as user.getmfs.reload_error.
  void set_reload_error(const std::string& error);

  // Called (from any thread) when an inode's data must be dropped from the kernel's cache.
  void SetInvalidator(std::function<void(const Invalidation&)> invalidator);

  fetch::Engine* engine() { return engine_.get(); }

 private:
  struct Handle {
    fetch::ObjectPtr object;
    std::mutex mu;
    Prefetcher prefetcher;
    fetch::BlockFetcher::Stream stream;             // streaming modes: this handle's GET
    std::shared_ptr<const std::string> snapshot;    // the status file's contents
    explicit Handle(PrefetchLimits limits) : prefetcher(limits) {}
  };

  explicit FileSystem(MountOptions options);
  Deadline ReadDeadline() const;
  Attr AttrOf(const Node& node, std::uint64_t size) const;
  Attr StatusFileAttr() const;
  std::shared_ptr<Handle> FindHandle(std::uint64_t id);
  Status Ready(fetch::RemoteObject& object, Deadline deadline);
  Result<ReadData> ReadObject(Handle& handle, std::uint64_t offset, std::size_t size);
  // Asks the prefetcher what the read needs and requests it.
  bool Prefetch(Handle& handle, std::uint64_t offset, std::uint64_t end);
  // Whether a read that has its bytes waits for the verdict: its handle has now been given
  // every byte, or the object has become complete.
  bool NeedsVerdict(Handle& handle, std::uint64_t offset, std::uint64_t end);
  // Holds a sequential reader back while it is far ahead of its object's digest.
  void KeepNearDigest(const fetch::ObjectPtr& object, std::uint64_t block, Deadline deadline);
  // The read's blocks, pinned, the last one waited for first.
  Status CollectBlocks(const fetch::ObjectPtr& object, std::uint64_t offset, std::uint64_t end, Deadline deadline,
                       ReadData* data);
  Error ReadFailure(const fetch::RemoteObject& object, const Error& error);
  void UnpinRead(const ReadData& data, bool delivered);
  void Invalidate(const Invalidation& invalidation);
  // The hooks the engine's fetcher calls (fetch errors, failed objects, expired URLs).
  fetch::BlockFetcher::Hooks FetcherHooks();
  // A request for the object was refused as expired with its URL of `generation`: true
  // once it has a fresh URL (the refresh command ran), waiting until the deadline.
  bool FreshUrl(const fetch::RemoteObject& object, std::uint64_t generation, Deadline deadline);
  std::optional<EarliestExpiry> Earliest() const;
  void StartRefresher();
  // Probes the confirmations of a reload plan; returns the paths whose object changed.
  std::set<std::string> ConfirmReload(ReloadPlan& plan, const InodeTable& fresh);

  MountOptions options_;
  PrefetchLimits prefetch_limits_;
  std::shared_ptr<fetch::Engine> engine_;
  http::ProbeOptions probe_options_;
  std::unique_ptr<ProbeQueue> probes_;
  std::unique_ptr<BackgroundVerifier> background_;   // --verify-random background
  std::unique_ptr<UrlRefresher> refresher_;          // expiry: log lines, --refresh-command
  std::int64_t mount_time_ = 0;
  std::atomic<int> sequential_streams_{0};
  std::atomic<int> reads_active_{0};   // from Read until ReleaseRead (Stop waits for them)
  RepeatLimiter log_limiter_;            // one failing file does not flood the log

  mutable std::mutex mu_;   // the table, the handles, reload state
  InodeTable table_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Handle>> handles_;
  std::unordered_map<std::uint64_t, std::shared_ptr<const std::vector<DirEntry>>> dir_handles_;
  std::uint64_t next_handle_ = 1;
  std::atomic<std::uint64_t> generation_{1};
  std::string reload_error_;
  std::uint64_t reload_attempts_ = 0;

  std::mutex invalidator_mu_;
  std::function<void(const Invalidation&)> invalidator_;
};

}  // namespace getmfs::fs

#endif  // GETMFS_FS_FILE_SYSTEM_H_
