// The worker pool: processes, dispatch, reports and re-queues (pool.h).
#include "worker/pool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "util/log.h"

extern char** environ;

namespace getmfs::worker {

using Clock = std::chrono::steady_clock;


namespace {
// False for a streaming job: its targets are credited as its reader moves on.
bool FullyCredited(const JobSpec& spec) {
  std::uint64_t credited = 0;
  for (const auto& target : spec.targets) credited += target.length;
  return credited >= spec.length;
}

ConcurrencyTuner::Options TunerOptions(const PoolOptions& options) {
  ConcurrencyTuner::Options tuner;
  tuner.max = std::max(1, options.concurrency);
  tuner.min = options.tune_concurrency ? std::min(tuner.max, 2) : tuner.max;
  tuner.start = options.tune_concurrency ? tuner.start : tuner.max;
  return tuner;
}
}  // namespace

Pool::Pool(PoolOptions options) : options_(std::move(options)), tuner_(TunerOptions(options_)), limit_(tuner_.limit()) {}

Result<std::unique_ptr<Pool>> Pool::Start(PoolOptions options) {
  if (options.concurrency < 1) options.concurrency = 1;
  if (options.in_process) options.workers = 1;
  if (options.workers < 1) options.workers = 1;
  std::unique_ptr<Pool> pool(new Pool(std::move(options)));
  pool->wake_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!pool->wake_fd_.valid()) return Error{ErrorKind::kInternal, std::string("eventfd: ") + std::strerror(errno)};
  pool->workers_.resize(static_cast<std::size_t>(pool->options_.workers));
  for (int i = 0; i < pool->options_.workers; ++i) {
    Status started = pool->StartWorker(i);
    if (!started) return started.error();
  }
  pool->thread_ = std::thread([p = pool.get()] { p->Loop(); });
  return pool;
}

Pool::~Pool() {
  {
    std::scoped_lock lock(mu_);
    stopping_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
}

Status Pool::StartWorker(int index) {
  Worker& w = workers_[static_cast<std::size_t>(index)];
  WorkerConfig config;
  config.in_process = options_.in_process;
  config.worker_path = options_.worker_path;
  config.cache_fd = options_.cache_fd;
  config.region = options_.region;
  config.region_size = options_.region_size;
  config.fetch = options_.fetch;
  auto link = WorkerLink::Start(config);
  if (!link) return link.error();
  w.link = std::move(*link);
  w.started = Clock::now();
  w.jobs = 0;
  w.alive = true;
  return Ok{};
}


void Pool::SendLocked(int worker, const nlohmann::json& message) {
  Worker& w = workers_[static_cast<std::size_t>(worker)];
  if (!w.alive) return;
  w.link->Send(message);   // a worker gone is noticed by the loop (its socket closes)
  if (w.link->wants_write()) Wake();   // the loop polls for room
}

void Pool::Wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_.get(), &one, sizeof one);
}

std::uint64_t Pool::Submit(JobSpec spec, JobObserver* observer) {
  std::uint64_t id;
  {
    std::scoped_lock lock(mu_);
    id = next_id_++;
    spec.id = id;
    Job job;
    job.deadline = spec.budget_ms > 0 ? Clock::now() + std::chrono::milliseconds(spec.budget_ms)
                                      : Clock::time_point::max();
    job.spec = std::move(spec);
    job.observer = observer;
    jobs_.emplace(id, std::move(job));
    queue_.push_back(id);
  }
  Wake();
  return id;
}

void Pool::Credit(std::uint64_t id, std::vector<BlockTarget> targets) {
  std::scoped_lock lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  Job& job = it->second;
  job.spec.targets.insert(job.spec.targets.end(), targets.begin(), targets.end());
  if (job.worker >= 0) SendLocked(job.worker, {{"t", "credit"}, {"id", id}, {"targets", TargetsToJson(targets)}});
}

void Pool::Cancel(std::uint64_t id) {
  {
    std::scoped_lock lock(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second.cancel_requested) return;
    it->second.cancel_requested = true;
    if (it->second.worker >= 0) SendLocked(it->second.worker, {{"t", "cancel"}, {"id", id}});
  }
  Wake();   // a queued job is finished by the pool thread
}

bool Pool::RestartIfStalled(std::uint64_t id) {
  std::scoped_lock lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return false;
  Job& job = it->second;
  if (job.worker < 0 || job.cancel_requested || job.restart_requested || job.stall_restarts >= 2) return false;
  if (!FullyCredited(job.spec)) return false;   // a stream: its pace is its reader's
  // A worker with other requests that has said nothing lately is not being run (a busy
  // machine, or get's workers at nice 10): its requests are slow, not their connections.
  const Worker& w = workers_[static_cast<std::size_t>(job.worker)];
  if (w.jobs > 1 && Clock::now() - w.last_report > kStallAfter / 2) return false;
  const std::uint64_t moved = job.moved();
  if (pace_ <= 0 || moved == 0 || job.dispatched_bytes < moved + (256u << 10)) return false;
  // From its first bytes: the bytes since then against the time since then.
  double elapsed = std::chrono::duration<double>(Clock::now() - job.first_block).count();
  // Watched for at least the time eight of its blocks take at that pace: a server serving
  // many connections in turns leaves each without bytes for a while (nginx: tens of ms), and
  // a large block restarted is a large block fetched twice.
  double block_seconds = static_cast<double>(job.spec.targets[std::min<std::size_t>(job.blocks_done, job.spec.targets.size() - 1)].length) / pace_;
  if (elapsed < std::max(std::chrono::duration<double>(kStallAfter).count(), 8 * block_seconds)) return false;
  if (static_cast<double>(moved - std::min(moved, job.first_block_bytes)) >= elapsed * pace_ / 8) return false;
  job.restart_requested = true;
  ++job.stall_restarts;
  ++stats_.stalls_restarted;
  LOG(Debug) << "request " << id << " moved " << moved << " bytes in " << static_cast<int>(elapsed * 1000)
             << " ms (requests move " << static_cast<long>(pace_ / (1 << 20)) << " MiB/s): moving it to another connection";
  SendLocked(job.worker, {{"t", "cancel"}, {"id", id}});
  return true;
}

PoolStats Pool::Stats() const {
  std::scoped_lock lock(mu_);
  PoolStats s = stats_;
  s.in_flight = in_flight_;
  s.in_flight_limit = tuner_.limit();
  s.queued = static_cast<int>(queue_.size());
  s.workers_alive = 0;
  for (const auto& w : workers_) s.workers_alive += w.alive;
  return s;
}

void Pool::FailQueuedLocked(std::vector<Callback>* callbacks) {
  for (auto id : queue_) {
    JobObserver* observer = jobs_.at(id).observer;
    Error error{ErrorKind::kInternal, "worker processes keep dying (see the log)"};
    callbacks->push_back([observer, id, error] { observer->OnDone(id, JobResult{error, false, 0}); });
    jobs_.erase(id);
  }
  queue_.clear();
}

void Pool::EndCancelledQueuedLocked(std::vector<Callback>* callbacks) {
  for (auto it = queue_.begin(); it != queue_.end();) {
    Job& job = jobs_.at(*it);
    if (job.cancel_requested) {
      JobObserver* observer = job.observer;
      std::uint64_t id = *it;
      callbacks->push_back([observer, id] { observer->OnDone(id, JobResult{std::nullopt, true, 0}); });
      jobs_.erase(id);
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

JobSpec Pool::SpecToResume(const Job& job) {
  // A re-queued job resumes after the blocks already reported.
  JobSpec spec = job.spec;
  std::uint64_t skipped = 0;
  for (std::uint64_t i = 0; i < job.blocks_done; ++i) skipped += job.spec.targets[i].length;
  spec.targets.erase(spec.targets.begin(), spec.targets.begin() + static_cast<long>(job.blocks_done));
  spec.offset += skipped;
  spec.length -= skipped;
  spec.first_index += job.blocks_done;
  if (job.deadline != Clock::time_point::max()) {
    spec.budget_ms = std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(job.deadline - Clock::now()).count());
  }
  return spec;
}

void Pool::DispatchLocked(std::vector<Callback>* callbacks) {
  // Cancelled jobs still waiting in the queue end here.
  EndCancelledQueuedLocked(callbacks);
  if (gave_up_) return FailQueuedLocked(callbacks);
  while (in_flight_ < tuner_.limit() && !queue_.empty()) {
    int best = -1;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      if (workers_[i].alive && (best < 0 || workers_[i].jobs < workers_[static_cast<std::size_t>(best)].jobs)) {
        best = static_cast<int>(i);
      }
    }
    if (best < 0) return;
    std::uint64_t id = queue_.front();
    queue_.pop_front();
    Job& job = jobs_.at(id);
    JobSpec spec = SpecToResume(job);
    Worker& w = workers_[static_cast<std::size_t>(best)];
    job.worker = best;
    job.dispatched = Clock::now();
    job.dispatched_bytes = spec.length;
    job.reported_bytes = 0;
    job.partial_bytes = 0;
    job.judged = false;
    job.restart_requested = false;
    ++w.jobs;
    ++in_flight_;
    ++stats_.jobs_started;
    if (!w.link->Send(ToJson(spec))) {
      WorkerDiedLocked(best, callbacks);
    }
  }
}

bool Pool::HandleMessageLocked(int worker, const nlohmann::json& m, std::vector<Callback>* callbacks) {
  workers_[static_cast<std::size_t>(worker)].last_report = Clock::now();
  try {
    const std::string type = MessageType(m);
    if (type == "blocks") {
      HandleBlocksLocked(worker, m, callbacks);
    } else if (type == "done") {
      HandleDoneLocked(worker, m, callbacks);
    }
    return true;
  } catch (const MalformedMessage& e) {
    LOG(Error) << "worker " << worker << " sent a malformed message (" << e.what() << "); restarting it";
    return false;
  }
}

void Pool::HandleBlocksLocked(int worker, const nlohmann::json& m, std::vector<Callback>* callbacks) {
  for (const BlockReport& report : BlocksFromJson(m)) {
    const std::uint64_t id = report.job, index = report.index;
    const std::uint32_t crc = report.crc;
    auto it = jobs_.find(id);
    if (it == jobs_.end()) continue;
    Job& job = it->second;
    // Blocks come in order, each once, from the worker running the job, into a target it
    // was given (SpecToResume counts on it).
    std::uint64_t target = index - job.spec.first_index;
    if (job.worker != worker || index < job.spec.first_index || target != job.blocks_done ||
        target >= job.spec.targets.size()) {
      throw MalformedMessage("block " + std::to_string(index) + " of job " + std::to_string(id) +
                             " is not the next block of a job it runs");
    }
    std::uint64_t length = job.spec.targets[target].length;
    if (job.moved() == 0) {
      job.first_block = Clock::now();
      job.first_block_bytes = length;
    }
    job.reported_bytes += length;
    job.partial_bytes = 0;
    ++job.blocks_done;
    if (!job.judged) {
      tuner_.OnProgress(job.reported_bytes, job.dispatched, Clock::now(), &job.judged);
      limit_.store(tuner_.limit(), std::memory_order_relaxed);
    }
    JobObserver* observer = job.observer;
    callbacks->push_back([observer, id, index, crc] { observer->OnBlock(id, index, crc); });
  }
  for (const PartialReport& partial : PartialsFromJson(m)) {
    auto it = jobs_.find(partial.job);
    if (it == jobs_.end() || it->second.worker != worker) continue;   // ended or moved meanwhile
    Job& job = it->second;
    if (job.blocks_done >= job.spec.targets.size() || partial.bytes >= job.spec.targets[job.blocks_done].length) {
      throw MalformedMessage("job " + std::to_string(partial.job) + " has no unfinished block of " +
                             std::to_string(partial.bytes) + " bytes or more");
    }
    if (job.moved() == 0) {
      job.first_block = Clock::now();
      job.first_block_bytes = partial.bytes;
    }
    job.partial_bytes = partial.bytes;
  }
}

void Pool::HandleDoneLocked(int worker, const nlohmann::json& m, std::vector<Callback>* callbacks) {
  const DoneReport done = DoneFromJson(m);
  const std::uint64_t id = done.id;
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  Job& job = it->second;
  if (job.worker != worker) throw MalformedMessage("done for job " + std::to_string(id) + ", which it does not run");
  JobObserver* observer = job.observer;
  JobResult result;
  result.cancelled = done.cancelled;
  if (job.restart_requested && result.cancelled && !job.cancel_requested &&
      job.blocks_done < job.spec.targets.size()) {
    // Cancelled by RestartIfStalled: the rest runs again, first in line, on whichever
    // connection the worker it lands on has free (the stalled one is closed).
    RequeueRestartedLocked(worker, id);
    return;
  }
  // Every block arrived before the cancel of a restart did: the job is done.
  const bool finished_anyway = job.restart_requested && result.cancelled && !job.cancel_requested;
  if (finished_anyway) result.cancelled = false;
  job.restart_requested = false;
  result.retries = done.retries;
  result.ranges_ignored = done.ranges_ignored;
  stats_.retries += static_cast<std::uint64_t>(result.retries);
  if (!done.ok && !result.cancelled && !finished_anyway) {
    bool known = false;
    ErrorKind kind = KindFromName(done.kind, &known);
    result.error = Error{kind, done.msg, done.http};
    ++stats_.jobs_failed;
  }
  if (!result.error && !result.cancelled) MeasureSucceededLocked(&job);
  --in_flight_;
  --workers_[static_cast<std::size_t>(worker)].jobs;
  jobs_.erase(it);
  callbacks->push_back([observer, id, result] { observer->OnDone(id, result); });
}

void Pool::RequeueRestartedLocked(int worker, std::uint64_t id) {
  Job& job = jobs_.at(id);
  job.restart_requested = false;
  job.worker = -1;
  --in_flight_;
  --workers_[static_cast<std::size_t>(worker)].jobs;
  queue_.push_front(id);
}

void Pool::MeasureSucceededLocked(Job* job) {
  if (job->dispatched_bytes >= (1u << 20)) {
    double seconds = std::chrono::duration<double>(Clock::now() - job->dispatched).count();
    double pace = seconds > 0 ? static_cast<double>(job->dispatched_bytes) / seconds : 0;
    pace_ = pace_ <= 0 ? pace : 0.8 * pace_ + 0.2 * pace;
  }
  // Busy: the pipeline had not drained (others in flight or waiting) when it ended.
  bool busy = in_flight_ >= 2 || !queue_.empty();
  tuner_.OnJobDone(job->dispatched_bytes, job->dispatched, Clock::now(), in_flight_, busy, &job->judged);
  limit_.store(tuner_.limit(), std::memory_order_relaxed);
}

void Pool::WorkerDiedLocked(int index, std::vector<Callback>* callbacks) {
  Worker& w = workers_[static_cast<std::size_t>(index)];
  if (!w.alive) return;
  ReapWorkerLocked(index);
  // Its jobs go back to the front of the queue, to resume after their reported blocks;
  // a job whose every block was reported is done.
  RequeueJobsOfLocked(index, callbacks);
  w.jobs = 0;
  if (stopping_) return;
  ++stats_.worker_restarts;
  if (Clock::now() - w.started < std::chrono::seconds(2)) ++quick_deaths_;
  if (quick_deaths_ > 5) {
    LOG(Error) << "worker processes keep dying; every transfer fails from now on";
    gave_up_ = true;
    FailQueuedLocked(callbacks);
    return;
  }
  Status restarted = StartWorker(index);
  if (!restarted) {
    LOG(Error) << restarted.error().message;
    bool any_alive = false;
    for (const auto& worker : workers_) any_alive = any_alive || worker.alive;
    if (!any_alive) {
      gave_up_ = true;   // nobody left to run the queue
      FailQueuedLocked(callbacks);
    }
  }
}

void Pool::ReapWorkerLocked(int index) {
  Worker& w = workers_[static_cast<std::size_t>(index)];
  w.alive = false;
  pid_t pid = w.link->pid();
  std::string how = w.link->Stop(SIGKILL);
  if (!stopping_ && pid > 0) {
    LOG(Warning) << "worker process " << pid << " died (" << how << "); re-queuing its " << w.jobs << " job(s)";
  }
  w.link.reset();
}

void Pool::RequeueJobsOfLocked(int index, std::vector<Callback>* callbacks) {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    auto& [id, job] = *it;
    if (job.worker != index) {
      ++it;
      continue;
    }
    job.worker = -1;
    job.restart_requested = false;
    --in_flight_;
    if (job.blocks_done >= job.spec.targets.size() && job.spec.length > 0 && FullyCredited(job.spec)) {
      JobObserver* observer = job.observer;
      std::uint64_t done_id = id;
      callbacks->push_back([observer, done_id] { observer->OnDone(done_id, JobResult{}); });
      it = jobs_.erase(it);
      continue;
    }
    queue_.push_front(id);
    ++it;
  }
}

void Pool::Loop() {
  std::vector<Callback> callbacks;
  std::vector<pollfd> fds;
  std::vector<int> owners;
  for (;;) {
    callbacks.clear();
    {
      std::scoped_lock lock(mu_);
      if (stopping_) break;
      DispatchLocked(&callbacks);
      ListPollFdsLocked(&fds, &owners);
    }
    for (auto& cb : callbacks) cb();
    callbacks.clear();
    int n = poll(fds.data(), fds.size(), 1000);
    if (n < 0 && errno != EINTR) {
      LOG(Error) << "pool: poll failed: " << std::strerror(errno);
      break;
    }
    {
      std::scoped_lock lock(mu_);
      DrainLocked(fds, owners, &callbacks);
    }
    for (auto& cb : callbacks) cb();
  }
  ShutDown();
}

void Pool::ListPollFdsLocked(std::vector<pollfd>* fds, std::vector<int>* owners) {
  fds->clear();
  owners->clear();
  fds->push_back({wake_fd_.get(), POLLIN, 0});
  owners->push_back(-1);
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    if (!workers_[i].alive) continue;
    short events = static_cast<short>(POLLIN | (workers_[i].link->wants_write() ? POLLOUT : 0));
    fds->push_back({workers_[i].link->fd(), events, 0});
    owners->push_back(static_cast<int>(i));
  }
}

void Pool::DrainLocked(const std::vector<pollfd>& fds, const std::vector<int>& owners,
                       std::vector<Callback>* callbacks) {
  std::uint64_t drained;
  [[maybe_unused]] ssize_t r = read(wake_fd_.get(), &drained, sizeof drained);
  for (std::size_t i = 1; i < fds.size(); ++i) {
    if (fds[i].revents == 0) continue;
    int worker = owners[i];
    Worker& w = workers_[static_cast<std::size_t>(worker)];
    bool closed = (fds[i].revents & POLLOUT) != 0 && w.alive && !w.link->Flush();
    while (!closed && w.alive) {
      auto message = ReceiveMessage(w.link->fd(), &closed);
      if (!message) break;
      if (!HandleMessageLocked(worker, *message, callbacks)) closed = true;   // treated as gone
    }
    if (closed) WorkerDiedLocked(worker, callbacks);
  }
  // A worker that exited without closing its socket (it cannot, but be sure).
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    if (workers_[i].alive && workers_[i].link->Exited()) WorkerDiedLocked(static_cast<int>(i), callbacks);
  }
}

void Pool::ShutDown() {
  // Stop the loops, then tell observers of anything left (without the lock, as every
  // observer call: one may call back into the pool).
  std::vector<Callback> callbacks;
  {
    std::scoped_lock lock(mu_);
    for (auto& w : workers_) {
      if (w.link) w.link->Stop(SIGTERM);
      w.link.reset();
      w.alive = false;
    }
    for (const auto& [id, job] : jobs_) {
      JobObserver* observer = job.observer;
      std::uint64_t done_id = id;
      callbacks.push_back([observer, done_id] { observer->OnDone(done_id, JobResult{std::nullopt, true, 0}); });
    }
    jobs_.clear();
  }
  for (auto& cb : callbacks) cb();
}

}  // namespace getmfs::worker
