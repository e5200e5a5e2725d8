// The supervisor side of the fetch loops: starts worker processes (fork+exec of our own
// executable as `getmfs __worker__`, never a bare fork), hands them jobs with at most
// `concurrency` in flight, relays their block/done reports to observers, and when a worker
// dies re-queues its unfinished blocks on a new worker. In the no-worker mode the single
// fetch loop runs in a thread of this process instead.
#ifndef GETMFS_WORKER_POOL_H_
#define GETMFS_WORKER_POOL_H_

#include <poll.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "util/error.h"
#include "util/unique_fd.h"
#include "worker/concurrency_tuner.h"
#include "worker/fetch_loop.h"
#include "worker/protocol.h"
#include "worker/worker_link.h"

namespace getmfs::worker {

struct JobResult {
  std::optional<Error> error;   // empty on success
  bool cancelled = false;       // ended by Cancel() (or the pool shutting down)
  int retries = 0;              // attempts beyond the first
  bool ranges_ignored = false;  // a response started before the asked range (see response_check.h)
};

// Called on the pool's thread, without the pool's lock held: keep them short.
class JobObserver {
 public:
  virtual ~JobObserver() = default;
  // Block `index` (JobSpec::first_index counting) is complete in its target, with its CRC32C.
  virtual void OnBlock(std::uint64_t job, std::uint64_t index, std::uint32_t crc32c) = 0;
  // The job ended. After this the job's targets belong to the observer again.
  virtual void OnDone(std::uint64_t job, const JobResult& result) = 0;
};

struct PoolOptions {
  int workers = 1;                  // processes (ignored in the no-worker mode)
  int concurrency = 16;             // jobs in flight across all of them, at most
  bool tune_concurrency = false;    // 2 to `concurrency`, by measurement (ConcurrencyTuner)
  bool in_process = false;          // the no-worker mode: one fetch loop thread here
  std::string worker_path;          // executable to run as `PATH __worker__ ...`
  int cache_fd = -1;                // the memfd every worker maps
  std::uint8_t* region = nullptr;   // its mapping here (for the in-process loop)
  std::size_t region_size = 0;
  FetchLoopOptions fetch;
};

struct PoolStats {
  std::uint64_t jobs_started = 0;
  std::uint64_t jobs_failed = 0;
  std::uint64_t retries = 0;
  std::uint64_t worker_restarts = 0;
  std::uint64_t stalls_restarted = 0;   // requests moved off a stalled connection
  int workers_alive = 0;
  int in_flight = 0;
  int in_flight_limit = 0;          // what the tuner allows now
  int queued = 0;                   // jobs waiting for a connection
};

class Pool {
 public:
  static Result<std::unique_ptr<Pool>> Start(PoolOptions options);
  ~Pool();   // stops the workers; every job still known gets OnDone(cancelled)
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Queues a job (its id is assigned here and returned).
  std::uint64_t Submit(JobSpec spec, JobObserver* observer);
  // More targets for a streaming job.
  void Credit(std::uint64_t job, std::vector<BlockTarget> targets);
  // Ends a job early; its observer still gets OnDone(cancelled = true).
  void Cancel(std::uint64_t job);
  // A reader is waiting for this job's next block. If the job's response, once flowing,
  // moves far slower than the pool's requests usually do (under an eighth of their pace,
  // measured from its first block for at least kStallAfter), its connection is dropped and
  // the rest of the job goes back to the head of the queue, to run on another connection
  // (at most twice per job; never a streaming job). A stalled response (an overloaded
  // server, a paced or broken connection) so costs the reader a few tens of milliseconds
  // instead of the low-speed timeout. A job that has not moved any bytes yet is left to
  // the worker (a slow first byte is normal far away; a 503 waits out its backoff). Bytes
  // count from the worker's reports: finished blocks, and every 64 KiB of a larger block.
  // It is watched for at least eight blocks' time at that pace (a server serving many
  // connections in turns pauses each), and not while its worker, busy with others, is
  // silent (a worker that is not being run).
  // Returns true if it restarted the job.
  bool RestartIfStalled(std::uint64_t job);
  static constexpr std::chrono::milliseconds kStallAfter{20};
  PoolStats Stats() const;
  // Requests the pool lets run at once now (the tuner's limit; at most `concurrency`).
  int in_flight_limit() const { return limit_.load(std::memory_order_relaxed); }

 private:
  struct Worker {
    std::unique_ptr<WorkerLink> link;   // while alive
    int jobs = 0;
    bool alive = false;
    std::chrono::steady_clock::time_point started;
    std::chrono::steady_clock::time_point last_report;   // its last message
  };
  struct Job {
    JobSpec spec;              // targets: all credited so far
    JobObserver* observer = nullptr;
    int worker = -1;           // -1 while queued
    std::uint64_t blocks_done = 0;
    bool cancel_requested = false;
    std::chrono::steady_clock::time_point deadline;
    std::chrono::steady_clock::time_point dispatched;
    std::uint64_t dispatched_bytes = 0;   // of this dispatch (a re-queued job resumes)
    std::uint64_t reported_bytes = 0;     // of this dispatch, in finished blocks so far
    std::uint64_t partial_bytes = 0;      // of the next block, as the worker last said
    bool judged = false;                  // by the tuner, this dispatch
    // When this dispatch first moved bytes (a finished block or part of a large one), and
    // how many it had then: the start of RestartIfStalled's measure.
    std::chrono::steady_clock::time_point first_block;
    std::uint64_t first_block_bytes = 0;
    std::uint64_t moved() const { return reported_bytes + partial_bytes; }
    int stall_restarts = 0;
    bool restart_requested = false;       // cancelled on its worker to run again
  };
  using Callback = std::function<void()>;

  explicit Pool(PoolOptions options);
  Status StartWorker(int index);
  void Loop();
  // What Loop polls: the wake eventfd, then each live worker's socket; `owners` holds the
  // worker of each (-1 for the eventfd).
  void ListPollFdsLocked(std::vector<pollfd>* fds, std::vector<int>* owners);
  // After poll: empties the wake eventfd, handles every report the workers have sent and
  // every worker that died.
  void DrainLocked(const std::vector<pollfd>& fds, const std::vector<int>& owners, std::vector<Callback>* callbacks);
  // The end of Loop: stops the workers and ends every job still known as cancelled.
  void ShutDown();
  void DispatchLocked(std::vector<Callback>* callbacks);
  // Queued jobs cancelled before they ran end (OnDone, cancelled).
  void EndCancelledQueuedLocked(std::vector<Callback>* callbacks);
  // After giving up on the workers: the queued jobs end with an error (new ones as they come).
  void FailQueuedLocked(std::vector<Callback>* callbacks);
  // Queues a message for a worker (the loop flushes what its socket does not take now).
  void SendLocked(int worker, const nlohmann::json& message);
  // What to send a worker for `job`: the rest of it, after the blocks already reported.
  static JobSpec SpecToResume(const Job& job);
  // False when the message is malformed (MalformedMessage): the worker is then treated as gone.
  bool HandleMessageLocked(int worker, const nlohmann::json& message, std::vector<Callback>* callbacks);
  // A worker's report of finished blocks: progress for the stall check and the tuner.
  void HandleBlocksLocked(int worker, const nlohmann::json& message, std::vector<Callback>* callbacks);
  // A worker's report that a job ended (or was cancelled to be restarted elsewhere).
  void HandleDoneLocked(int worker, const nlohmann::json& message, std::vector<Callback>* callbacks);
  // Puts a job its worker cancelled for RestartIfStalled back at the head of the queue.
  void RequeueRestartedLocked(int worker, std::uint64_t id);
  // A job ended well: its pace feeds pace_ (RestartIfStalled's yardstick) and the tuner.
  void MeasureSucceededLocked(Job* job);
  void WorkerDiedLocked(int worker, std::vector<Callback>* callbacks);
  // Kills and waits for a dead worker's process (or joins its in-process loop).
  void ReapWorkerLocked(int index);
  // The jobs of dead worker `index` go back to the head of the queue, or end if done.
  void RequeueJobsOfLocked(int index, std::vector<Callback>* callbacks);
  void Wake();

  PoolOptions options_;
  mutable std::mutex mu_;
  std::vector<Worker> workers_;
  std::map<std::uint64_t, Job> jobs_;
  std::deque<std::uint64_t> queue_;
  std::uint64_t next_id_ = 1;
  int in_flight_ = 0;
  ConcurrencyTuner tuner_;
  std::atomic<int> limit_{1};   // tuner_.limit(), readable without mu_
  double pace_ = 0;             // bytes/s of a request, recent average (requests of 1 MiB or more)
  int quick_deaths_ = 0;
  bool gave_up_ = false;        // workers kept dying: every job fails at once from now on
  bool stopping_ = false;
  PoolStats stats_;
  UniqueFd wake_fd_;
  std::thread thread_;
};

}  // namespace getmfs::worker

#endif  // GETMFS_WORKER_POOL_H_
