// The mount's file system, without FUSE: an inode table built from the manifest, reads
// through per-handle prefetchers into the block cache, verification on completion, xattrs,
// status and reload. mount/ turns kernel requests into calls here (and never the reverse:
// no FUSE header is included by src/).
#ifndef GETMFS_FS_FILE_SYSTEM_H_
#define GETMFS_FS_FILE_SYSTEM_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fs/engine.h"
#include "manifest/manifest.h"
#include "fs/remote_object.h"
#include "util/error.h"
#include "worker/pool.h"

namespace getmfs::fs {

using manifest::EntryLocation;
using manifest::Manifest;

struct MountOptions {
  std::size_t block_size = 64 << 10;        // cache block: the smallest fetch
  std::size_t cache_size = 0;               // 0: DefaultCacheSize()
  std::optional<int> concurrency = 16;      // range requests in flight; nullopt: no workers
  int workers = 0;
  std::size_t max_readahead = 64 << 20;     // largest read-ahead window of one handle
  std::size_t max_request = 8 << 20;        // largest single range request
  double timeout_seconds = 60;              // a read's deadline
  int probe_threads = 8;                    // background probes at once
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
};

struct DirEntry {
  std::string name;
  Attr attr;
};

// Views into the block cache for one read; each slot is pinned until Release.
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

// What the FUSE layer must tell the kernel after a reload or a failure.
struct Invalidation {
  enum Kind { kInode, kEntry } kind;
  std::uint64_t ino = 0;      // kInode: drop cached data and attributes
  std::uint64_t parent = 0;   // kEntry: forget parent/name
  std::string name;
};

class FileSystem : public worker::JobObserver {
 public:
  static constexpr std::uint64_t kRootIno = 1;
  // The hidden status file in the root (lookup works, readdir does not list it).
  static constexpr const char* kStatusName = ".getmfs-status";

  // Builds the tree from the manifest (no network, no processes).
  static Result<std::unique_ptr<FileSystem>> Create(const Manifest& manifest, MountOptions options);
  ~FileSystem() override;
  // Starts the worker processes and the background probes (after daemonizing).
  Status Start();
  void Stop();

  Result<Attr> Lookup(std::uint64_t parent, const std::string& name);
  Result<Attr> GetAttr(std::uint64_t ino);
  Result<std::vector<DirEntry>> ReadDir(std::uint64_t ino);
  Result<std::uint64_t> Open(std::uint64_t ino, int flags);   // returns a handle
  Result<ReadData> Read(std::uint64_t ino, std::uint64_t handle, std::uint64_t offset, std::size_t size);
  // Unpins a read's blocks. delivered: its bytes went to the reader, so a sequential
  // reader's blocks read to their end are not wanted again (cold); false on error paths.
  void ReleaseRead(const ReadData& data, bool delivered = true);
  void Release(std::uint64_t handle);
  Result<std::string> GetXattr(std::uint64_t ino, const std::string& name);
  Result<std::vector<std::string>> ListXattr(std::uint64_t ino);
  std::uint64_t FileCount() const;
  std::uint64_t TotalBytes() const;

  // JSON: per file size, checksum, verdict, bytes fetched, retries, errors; totals; cache.
  std::string StatusJson();

  // Re-reads the manifest: unchanged objects keep their cache and handles even when their
  // URL changed; new paths appear, removed ones go. Fills what the kernel must forget.
  Status Reload(const Manifest& manifest, std::vector<Invalidation>* invalidations);
  std::uint64_t generation() const { return generation_; }
  // The last reload's failure ("" after a good one), shown as user.getmfs.reload_error.
  void set_reload_error(const std::string& error);

  // Called (from any thread) when an inode's data must be dropped from the kernel's cache.
  void SetInvalidator(std::function<void(const Invalidation&)> invalidator);

  // JobObserver (the pool's thread).
  void OnBlock(std::uint64_t job, std::uint64_t index, std::uint32_t crc32c) override;
  void OnDone(std::uint64_t job, const worker::JobResult& result) override;

  Engine* engine() { return engine_.get(); }

 private:
  struct Node {
    std::uint64_t ino = 0;
    std::uint64_t parent = 0;
    std::string name;
    bool dir = false;
    std::map<std::string, std::uint64_t> children;   // directories
    std::shared_ptr<RemoteObject> object;            // files
    int line = 0;
  };
  struct Handle {
    std::shared_ptr<RemoteObject> object;
    std::uint64_t ino = 0;
    std::mutex mu;
    std::uint64_t next_offset = 0;      // where a sequential reader reads next
    std::uint64_t window = 0;           // read-ahead bytes (0: random access)
    std::uint64_t prefetched_until = 0; // requested up to here
    std::uint64_t stream_job = 0;       // streaming modes: this handle's GET (0: none)
    std::uint64_t stream_next = 0;      // the next block to credit to it
    std::shared_ptr<const std::string> snapshot;   // the status file's contents
  };
  struct FetchJob {
    std::shared_ptr<RemoteObject> object;
    std::uint64_t first_block = 0;
    std::vector<int> slots;             // pinned by the job until each block arrives
    std::vector<bool> arrived;
    std::vector<bool> scratch;          // a block already cached: its bytes are dropped
    bool stream = false;                // one GET to the end, credited as the reader goes
  };

  FileSystem(MountOptions options);
  Status BuildTree(const Manifest& manifest, std::map<std::uint64_t, Node>* nodes,
                   std::map<std::string, std::uint64_t>* by_path);
  std::shared_ptr<RemoteObject> ObjectOf(std::uint64_t ino) const;
  Attr AttrOf(const Node& node, std::uint64_t size) const;
  Status Ready(RemoteObject& object, Deadline deadline);
  // One range request for consecutive blocks from `first` into `slots` (pinned for the job).
  void SubmitRange(const std::shared_ptr<RemoteObject>& object, std::uint64_t first, const std::vector<int>& slots);
  // Requests blocks [first, last] that are not cached, in requests of at most max_blocks.
  void Fetch(const std::shared_ptr<RemoteObject>& object, std::uint64_t first, std::uint64_t last,
             std::uint64_t max_blocks);
  // Returns the block pinned for the caller, fetching it if needed.
  Result<int> WaitBlock(const std::shared_ptr<RemoteObject>& object, std::uint64_t index, Deadline deadline);
  // Waits until the pinned slot is no longer filling or the deadline passes, nudging a
  // stalled fetch of it on the way (worker::Pool::RestartIfStalled).
  cache::BlockCache::State WaitFilled(int slot, Deadline deadline);
  Status EnsureVerified(const std::shared_ptr<RemoteObject>& object, Deadline deadline);
  // Returns whether the handle reads sequentially (it has a read-ahead window).
  bool Prefetch(Handle& handle, std::uint64_t offset, std::size_t size);
  // Streaming modes (--concurrency 1 or none): one kept-alive GET per sequential reader,
  // fed cache slots as the reader moves on.
  void Stream(Handle& handle, std::uint64_t offset, std::uint64_t end);
  std::atomic<std::uint64_t> next_scratch_{0};
  std::atomic<int> sequential_readers_{0};   // handles with a read-ahead window
  Error ReadFailure(const RemoteObject& object, const Error& error);
  void Invalidate(const Invalidation& invalidation);
  void ProbeLoop();

  MountOptions options_;
  std::shared_ptr<Engine> engine_;
  http::ProbeOptions probe_options_;
  std::int64_t mount_time_ = 0;

  mutable std::mutex mu_;   // the tree and the handles
  std::map<std::uint64_t, Node> nodes_;
  std::map<std::string, std::uint64_t> by_path_;
  std::uint64_t next_ino_ = 2;
  std::unordered_map<std::uint64_t, std::shared_ptr<Handle>> handles_;
  std::uint64_t next_handle_ = 1;
  std::atomic<std::uint64_t> generation_{1};
  std::string reload_error_;
  std::uint64_t reload_attempts_ = 0;

  std::mutex jobs_mu_;
  std::unordered_map<std::uint64_t, FetchJob> jobs_;

  std::mutex invalidator_mu_;
  std::function<void(const Invalidation&)> invalidator_;

  std::mutex probe_mu_;
  std::condition_variable probe_cv_;
  std::vector<std::shared_ptr<RemoteObject>> probe_queue_;
  std::vector<std::thread> probe_threads_;
  bool stopping_ = false;
};

}  // namespace getmfs::fs

#endif  // GETMFS_FS_FILE_SYSTEM_H_
