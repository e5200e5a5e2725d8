// The download engine as one unit: the shared-memory block cache, the worker pool that fills
// it, and the BlockFetcher that owns every job. getm::urlopen, `getmfs get` and the mount all
// read objects through one of these.
#ifndef GETMFS_FETCH_ENGINE_H_
#define GETMFS_FETCH_ENGINE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "cache/block_cache.h"
#include "http/probe.h"
#include "util/error.h"
#include "worker/pool.h"

namespace getmfs::fetch {

class BlockFetcher;

struct EngineOptions {
  std::size_t block_size = 8 << 20;
  std::size_t cache_size = 0;             // 0: enough for the read-ahead windows
  std::optional<int> concurrency = 1;     // nullopt: no workers; 1: one streaming worker; N
  int workers = 0;                        // 0: number of CPUs (at most concurrency)
  // Let the pool run fewer than `concurrency` requests while fewer move as much (see
  // worker::ConcurrencyTuner). For callers whose requests stream a window ahead of a reader
  // (the mount); `get` and the library split an object into `concurrency` parts and want
  // them all at once. Ignored in the streaming modes.
  bool tune_concurrency = false;
  std::string worker_path;                // "": worker::DefaultWorkerPath()
  worker::FetchLoopOptions fetch;
  double request_budget_seconds = 300;    // one range request, retries included
  // Blocks the digest feeder may keep pinned while it catches up, across all objects; 0:
  // every slot (the caller bounds its window, as `get` and the library do).
  std::size_t digest_hold_blocks = 0;
};

class Engine {
 public:
  static Result<std::shared_ptr<Engine>> Start(EngineOptions options);
  Engine();
  ~Engine();   // the fetcher first: it ends its jobs while the pool still runs
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  cache::BlockCache& cache() { return *cache_; }
  worker::Pool& pool() { return *pool_; }
  BlockFetcher& fetcher() { return *fetcher_; }
  const EngineOptions& options() const { return options_; }
  // Range requests in flight at most (1 in the streaming modes).
  int concurrency() const { return options_.concurrency.value_or(1); }
  // True for concurrency nullopt or 1: one GET streams each object.
  bool streaming() const { return concurrency() <= 1; }
  std::uint64_t NewObjectId() { return ++next_object_id_; }
  http::ProbeOptions probe_options() const;

 private:
  EngineOptions options_;
  std::shared_ptr<cache::BlockCache> cache_;
  std::unique_ptr<worker::Pool> pool_;
  std::unique_ptr<BlockFetcher> fetcher_;
  std::atomic<std::uint64_t> next_object_id_{0};
};

// Rounds a byte count up to a multiple of 4096 (cache slots are page-aligned).
std::size_t PageRound(std::size_t n);
// The default cache size: 1 GiB, or an eighth of the usable memory if smaller (the machine's,
// or its cgroup's limit inside a container or a unit with MemoryMax=).
std::size_t DefaultCacheSize();

}  // namespace getmfs::fetch

#endif  // GETMFS_FETCH_ENGINE_H_
