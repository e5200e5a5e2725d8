// Starting the engine: the cache, the worker pool and the fetcher, sized from the options.
#include "fetch/engine.h"

#include <unistd.h>

#include <algorithm>
#include <thread>

#include "fetch/block_fetcher.h"
#include "util/memory_limit.h"
#include "worker/worker_path.h"

namespace getmfs::fetch {

std::size_t PageRound(std::size_t n) { return std::max<std::size_t>(4096, (n + 4095) / 4096 * 4096); }

std::size_t DefaultCacheSize() {
  std::size_t gib = std::size_t{1} << 30;
  return static_cast<std::size_t>(std::min<std::uint64_t>(gib, UsableMemory() / 8));
}

Engine::Engine() = default;
Engine::~Engine() { fetcher_.reset(); }

http::ProbeOptions Engine::probe_options() const {
  http::ProbeOptions probe;
  probe.transfer = options_.fetch.transfer;
  probe.retry = options_.fetch.retry;
  return probe;
}

Result<std::shared_ptr<Engine>> Engine::Start(EngineOptions options) {
  if (options.concurrency && *options.concurrency < 1) {
    return Error{ErrorKind::kBadInput, "concurrency must be at least 1 (or none for no workers)"};
  }
  options.block_size = PageRound(options.block_size);
  int concurrency = options.concurrency.value_or(1);
  if (options.cache_size == 0) {
    // The read-ahead window of one reader plus room for chunks the caller still holds.
    options.cache_size = options.block_size * static_cast<std::size_t>(concurrency + 6);
  }
  auto engine = std::make_shared<Engine>();
  auto cache = cache::BlockCache::Create(options.cache_size, options.block_size);
  if (!cache) return cache.error();
  engine->cache_ = *cache;
  worker::PoolOptions pool;
  pool.in_process = !options.concurrency.has_value();
  int cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int workers = options.workers > 0 ? options.workers : cpus;
  pool.workers = std::max(1, std::min(workers, concurrency));
  // In the streaming modes each reader has one long GET; the limit only guards against
  // runaway numbers of readers (and lets a random read through beside a paused stream).
  pool.concurrency = concurrency <= 1 ? 64 : concurrency;
  pool.tune_concurrency = options.tune_concurrency && concurrency > 1;
  pool.worker_path = options.worker_path.empty() ? worker::DefaultWorkerPath() : options.worker_path;
  pool.cache_fd = engine->cache_->fd();
  pool.region = engine->cache_->SlotData(0);
  pool.region_size = engine->cache_->region_size();
  pool.fetch = options.fetch;
  auto started = worker::Pool::Start(std::move(pool));
  if (!started) return started.error();
  engine->pool_ = std::move(*started);
  BlockFetcher::Options fetcher;
  fetcher.request_budget_ms = static_cast<std::int64_t>(options.request_budget_seconds * 1000);
  fetcher.digest_hold_blocks = options.digest_hold_blocks;
  engine->fetcher_ = std::make_unique<BlockFetcher>(*engine->cache_, *engine->pool_, fetcher);
  engine->options_ = std::move(options);
  return engine;
}

}  // namespace getmfs::fetch
