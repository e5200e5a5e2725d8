// The one owner of the jobs that fill the block cache, for the mount, `get` and the library:
// range requests for runs of blocks, and streaming GETs credited with slots as their readers
// move on. A job pins the slots its blocks go into until each arrives. The fetcher is the
// pool's only JobObserver: it fills or abandons slots as the reports come, records why
// blocks were lost, fails objects that changed or vanished, hands every arrived block to the
// DigestFeeder, and moves a stalled request to another connection while a reader waits for
// one of its blocks.
#ifndef GETMFS_FETCH_BLOCK_FETCHER_H_
#define GETMFS_FETCH_BLOCK_FETCHER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cache/block_cache.h"
#include "fetch/digest_feeder.h"
#include "fetch/remote_object.h"
#include "worker/pool.h"

namespace getmfs::fetch {

class BlockFetcher : public worker::JobObserver {
 public:
  struct Options {
    std::int64_t request_budget_ms = 300000;   // one range request, retries included
    std::size_t digest_hold_blocks = 0;        // see EngineOptions; 0: every slot
  };
  // What the owner of the objects hears (the mount logs and tells the kernel to forget).
  struct Hooks {
    std::function<void(const RemoteObject&, const Error&)> fetch_failed;   // a request failed
    std::function<void(const ObjectPtr&)> object_failed;   // checksum mismatch, changed, vanished
    // A request was refused as expired, with the object's URL of url_generation: true when
    // the object has a fresh URL now (waiting for one until the deadline).
    std::function<bool(const RemoteObject&, std::uint64_t url_generation, Deadline)> url_expired;
  };

  BlockFetcher(cache::BlockCache& cache, worker::Pool& pool, Options options);
  ~BlockFetcher() override;   // cancels its jobs and waits for their ends
  BlockFetcher(const BlockFetcher&) = delete;
  BlockFetcher& operator=(const BlockFetcher&) = delete;
  void SetHooks(Hooks hooks);
  // Ends every job and lets no new one start: reads waiting for blocks fail at once (the
  // mount is going away). The fetcher stays usable for Unpin and stats.
  void Shutdown();

  // Range requests for the blocks in [first, last] that are neither cached nor coming, in
  // requests of at most max_blocks consecutive blocks. Stops where the cache is full. For an
  // object whose server ignores ranges, the object's one streaming GET is credited instead.
  void FetchBlocks(const ObjectPtr& object, std::uint64_t first, std::uint64_t last, std::uint64_t max_blocks);
  // The block's slot pinned for the caller, requested now (one block) if it is neither
  // cached nor coming; -1 when the cache has no free slot.
  int PinOrFetch(const ObjectPtr& object, std::uint64_t index);
  // The block, pinned for the caller once it is ready and its CRC32C checked again:
  // fetched if needed, waited for until the deadline, refetched when it was lost without an
  // error. Errors: the object's failure, why the block was lost, or a timeout.
  Result<int> WaitBlock(const ObjectPtr& object, std::uint64_t index, Deadline deadline);
  // Waits until the pinned slot is no longer filling or the deadline passes, moving the
  // request that brings it to another connection if it has stalled (Pool::RestartIfStalled).
  cache::BlockCache::State WaitFilled(int slot, Deadline deadline);

  // A reader's streaming GET (--concurrency 1 or none, and servers that ignore ranges).
  struct Stream {
    std::uint64_t job = 0;    // 0: none running
    std::uint64_t next = 0;   // the next block to credit to it
  };
  // Credits blocks up to `until` (exclusive) to the stream; starts a new GET at `from` (at
  // the first block there not cached) when none runs or, with restart_ahead, the reader
  // jumped past what it was given (a shared stream instead goes on to it). Blocks cached already are skipped by the GET into throw-away slots. reader_pins:
  // when given, every block credited or found cached is also pinned for the reader (index,
  // slot), in order.
  void StreamTo(Stream& stream, const ObjectPtr& object, std::uint64_t from, std::uint64_t until,
                std::vector<std::pair<std::uint64_t, int>>* reader_pins = nullptr, bool restart_ahead = true);
  void EndStream(Stream& stream);

  // Waits for the object's verdict, fetching the blocks the digest still needs that nothing
  // else brings (one at a time). The object's failure when its check failed.
  Status EnsureVerified(const ObjectPtr& object, Deadline deadline);
  // One step towards the verdict: when the digest waits for a block nothing brings, fetches
  // it (with up to run_blocks - 1 after it) and hands it over; else waits a little for
  // progress. Ok when it made progress or there was nothing to fetch.
  Status AdvanceVerification(const ObjectPtr& object, std::uint64_t run_blocks, Deadline deadline);
  // Fails the object for good (it changed, left the manifest...): its cached blocks and the
  // ones held for its digest are dropped.
  void FailObject(const ObjectPtr& object, const Error& error);
  // Cancels the object's requests (its reader went away).
  void CancelJobsOf(const ObjectPtr& object);
  // Lets go of the blocks held for the object's digest (nobody will read it to the end).
  void ForgetDigest(const ObjectPtr& object) { feeder_.Forget(object); }
  // True when the object's digest waits for a block nothing brings (see DigestFeeder::Missing).
  bool DigestStuck(const ObjectPtr& object) { return feeder_.Missing(object).has_value(); }

  // worker::JobObserver (the pool's thread).
  void OnBlock(std::uint64_t job, std::uint64_t index, std::uint32_t crc32c) override;
  void OnDone(std::uint64_t job, const worker::JobResult& result) override;

 private:
  struct Job {
    ObjectPtr object;
    std::uint64_t first_block = 0;
    std::vector<int> slots;          // one pin each, held until the block arrives
    std::vector<bool> arrived;
    std::vector<bool> scratch;       // a stream's throw-away slot for a block cached already
    bool stream = false;
  };
  // The job's targets and the spec common to every request of the object.
  worker::JobSpec SpecFor(const RemoteObject& object, std::uint64_t first, const std::vector<int>& slots);
  void SubmitRange(const ObjectPtr& object, std::uint64_t first, const std::vector<int>& slots);
  // Ends a finished job's slots: records the error on the lost blocks, then abandons them.
  void AbandonMissing(const Job& job, const std::optional<Error>& error);
  // The slots for blocks [from, until) of a stream; stops where the cache is full.
  void CreditSlots(const ObjectPtr& object, std::uint64_t from, std::uint64_t until, Job* credit,
                   std::vector<std::pair<std::uint64_t, int>>* reader_pins);
  void ObjectFailed(const ObjectPtr& object);
  // Objects whose server ignores ranges: one streaming GET each, shared by their readers,
  // credited with [from, until). A reader behind the stream whose block is neither cached
  // nor coming starts it again from there (the worker drops the bytes before it).
  void StreamShared(const ObjectPtr& object, std::uint64_t from, std::uint64_t until);
  Hooks hooks() const;

  cache::BlockCache& cache_;
  worker::Pool& pool_;
  const Options options_;
  std::atomic<bool> shutting_down_{false};
  DigestFeeder feeder_;
  mutable std::mutex hooks_mu_;
  Hooks hooks_;
  std::mutex mu_;
  std::condition_variable done_cv_;   // a job ended (the destructor waits for the last)
  int callbacks_running_ = 0;         // OnBlock/OnDone past their lock (the destructor waits)
  // Counts a callback in progress for as long as it lives.
  class CallbackScope;
  std::unordered_map<std::uint64_t, Job> jobs_;
  std::unordered_map<int, std::uint64_t> range_job_of_slot_;   // slots still filling by range jobs
  std::mutex shared_streams_mu_;   // one reader at a time credits an object's shared stream
  std::unordered_map<std::uint64_t, Stream> shared_streams_;   // by cache id
  std::uint64_t next_scratch_ = 0;
};

}  // namespace getmfs::fetch

#endif  // GETMFS_FETCH_BLOCK_FETCHER_H_
