// The BlockFetcher: every job that fills the block cache, and what its reports do (block_fetcher.h).
#include "fetch/block_fetcher.h"

#include <algorithm>
#include <thread>

#include "util/log.h"

namespace getmfs::fetch {

using Clock = std::chrono::steady_clock;
using State = cache::BlockCache::State;

namespace {
constexpr std::uint64_t kScratchObject = UINT64_MAX;   // cache keys of throw-away slots

bool Transient(const Error& error) { return error.kind == ErrorKind::kNetwork || error.kind == ErrorKind::kTimeout; }
bool Gone(const Error& error) { return error.kind == ErrorKind::kChanged || error.kind == ErrorKind::kNotFound; }
}  // namespace

class BlockFetcher::CallbackScope {
 public:
  explicit CallbackScope(BlockFetcher& fetcher) : fetcher_(fetcher) {
    std::scoped_lock lock(fetcher_.mu_);
    ++fetcher_.callbacks_running_;
  }
  ~CallbackScope() {
    std::scoped_lock lock(fetcher_.mu_);
    --fetcher_.callbacks_running_;
    fetcher_.done_cv_.notify_all();
  }

 private:
  BlockFetcher& fetcher_;
};

BlockFetcher::BlockFetcher(cache::BlockCache& cache, worker::Pool& pool, Options options)
    : cache_(cache),
      pool_(pool),
      options_(options),
      feeder_(cache, options.digest_hold_blocks > 0 ? options.digest_hold_blocks : cache.slot_count(),
              [this](const ObjectPtr& object) { ObjectFailed(object); }) {}

BlockFetcher::~BlockFetcher() {
  Shutdown();
  std::unique_lock lock(mu_);
  if (!done_cv_.wait_for(lock, std::chrono::seconds(60), [&] { return jobs_.empty() && callbacks_running_ == 0; })) {
    LOG(Error) << jobs_.size() << " transfer(s) did not stop within 60 s";
  }
}

void BlockFetcher::Shutdown() {
  shutting_down_ = true;
  std::vector<std::uint64_t> ids;
  {
    std::scoped_lock lock(mu_);
    for (const auto& [id, job] : jobs_) ids.push_back(id);
  }
  for (auto id : ids) pool_.Cancel(id);
}

void BlockFetcher::SetHooks(Hooks hooks) {
  std::scoped_lock lock(hooks_mu_);
  hooks_ = std::move(hooks);
}

BlockFetcher::Hooks BlockFetcher::hooks() const {
  std::scoped_lock lock(hooks_mu_);
  return hooks_;
}

worker::JobSpec BlockFetcher::SpecFor(const RemoteObject& object, std::uint64_t first, const std::vector<int>& slots) {
  worker::JobSpec spec;
  http::SignedUrl url = object.url();
  spec.url = url.full();
  spec.headers = url.headers();
  spec.offset = first * object.block_size();
  for (std::size_t i = 0; i < slots.size(); ++i) {
    std::uint64_t length = object.BlockLength(first + i);
    spec.targets.push_back({cache_.SlotOffset(slots[i]), length});
    spec.length += length;
  }
  spec.object_size = object.size();
  spec.if_match = object.etag();
  spec.first_index = first;
  spec.budget_ms = options_.request_budget_ms;
  return spec;
}

void BlockFetcher::SubmitRange(const ObjectPtr& object, std::uint64_t first, const std::vector<int>& slots) {
  if (shutting_down_) {   // the slots are ours: nobody will fill them
    for (int slot : slots) {
      cache_.Abandon(slot);
      cache_.Unpin(slot);
    }
    return;
  }
  object->ClearBlockErrors(first, slots.size());
  worker::JobSpec spec = SpecFor(*object, first, slots);
  Job job;
  job.object = object;
  job.first_block = first;
  job.slots = slots;
  job.arrived.assign(slots.size(), false);
  job.scratch.assign(slots.size(), false);
  // Held across Submit: the job's first report may come before Submit returns.
  std::scoped_lock lock(mu_);
  std::uint64_t id = pool_.Submit(std::move(spec), this);
  for (int slot : slots) range_job_of_slot_[slot] = id;
  jobs_[id] = std::move(job);
}

void BlockFetcher::FetchBlocks(const ObjectPtr& object, std::uint64_t first, std::uint64_t last,
                               std::uint64_t max_blocks) {
  if (shutting_down_) return;
  if (!object->ranges()) return StreamShared(object, first, last + 1);
  std::vector<int> run;
  std::uint64_t run_first = first;
  auto flush = [&] {
    if (run.empty()) return;
    SubmitRange(object, run_first, run);
    run.clear();
  };
  for (std::uint64_t index = first; index <= last; ++index) {
    auto acquired = cache_.AcquirePinned({object->cache_id(), index});
    if (acquired.slot < 0) break;   // the cache is full: read-ahead shrinks to what fits
    if (!acquired.created) {
      cache_.Unpin(acquired.slot);   // cached or coming already
      flush();
      continue;
    }
    if (run.empty()) run_first = index;
    run.push_back(acquired.slot);   // the job keeps the pin AcquirePinned took
    if (run.size() >= max_blocks) flush();
  }
  flush();
}

int BlockFetcher::PinOrFetch(const ObjectPtr& object, std::uint64_t index) {
  if (!object->ranges()) {
    StreamShared(object, index, index + 1);
    return cache_.FindPinned({object->cache_id(), index});   // -1: the cache had no room yet
  }
  auto acquired = cache_.AcquirePinned({object->cache_id(), index});
  if (acquired.slot < 0) return -1;
  if (acquired.created) {
    // Ours to fetch: the job keeps the pin AcquirePinned took; the caller takes its own.
    cache_.Pin(acquired.slot);
    SubmitRange(object, index, {acquired.slot});
  }
  return acquired.slot;
}

Result<int> BlockFetcher::WaitBlock(const ObjectPtr& object, std::uint64_t index, Deadline deadline) {
  const std::string block = object->path() + ": block " + std::to_string(index);
  int refreshes = 0;
  for (int attempt = 0;; ++attempt) {
    const std::uint64_t generation = object->url_generation();
    if (shutting_down_) return Error{ErrorKind::kInternal, object->path() + ": the file system is shutting down"};
    // A failed object (checksum mismatch, changed) fetches nothing more: its blocks were
    // dropped, and a read already in progress must not bring them back.
    if (auto failure = object->failure()) return *failure;
    int slot = PinOrFetch(object, index);
    if (slot < 0) {
      if (Clock::now() >= deadline) {
        return Error{ErrorKind::kTimeout, object->path() + ": the block cache is full of blocks in use; raise --cache-size"};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    State state = WaitFilled(slot, deadline);
    if (state == State::kReady) {
      if (cache_.Verify(slot)) return slot;
      cache_.Unpin(slot);   // dropped by Verify: fetch it again
      if (attempt < 2) continue;
      return Error{ErrorKind::kIntegrity, block + " keeps failing its CRC32C check in the cache"};
    }
    cache_.Unpin(slot);
    if (shutting_down_) return Error{ErrorKind::kInternal, object->path() + ": the file system is shutting down"};
    if (state == State::kFilling) {
      return Error{ErrorKind::kTimeout, object->path() + ": no data for block " + std::to_string(index) + " within " +
                                            std::to_string(options_.request_budget_ms / 1000) + " s"};
    }
    // Abandoned: the request failed, or ended without it (cancelled, a stream that broke).
    if (auto failure = object->failure()) return *failure;
    if (auto error = object->BlockError(index)) {
      // An expired URL: wait for a fresh one (--refresh-command) and go on with it.
      auto refresh = hooks().url_expired;
      if (error->kind != ErrorKind::kExpired || !refresh || refreshes++ >= 2 || !refresh(*object, generation, deadline)) {
        return *error;
      }
      object->ClearBlockErrors(index, 1);
      --attempt;
      continue;
    }
    if (attempt >= 2) return Error{ErrorKind::kNetwork, block + " could not be fetched"};
  }
}

State BlockFetcher::WaitFilled(int slot, Deadline deadline) {
  for (;;) {
    // In steps: between them, ask the pool to move a stalled request to another connection.
    auto step = std::min(deadline, Clock::now() + worker::Pool::kStallAfter);
    State state = cache_.WaitNotFilling(slot, step);
    if (state != State::kFilling || Clock::now() >= deadline || shutting_down_) return state;
    std::uint64_t job = 0;
    {
      std::scoped_lock lock(mu_);
      auto it = range_job_of_slot_.find(slot);
      if (it != range_job_of_slot_.end()) job = it->second;
    }
    if (job != 0) pool_.RestartIfStalled(job);
  }
}

void BlockFetcher::StreamTo(Stream& stream, const ObjectPtr& object, std::uint64_t from, std::uint64_t until,
                            std::vector<std::pair<std::uint64_t, int>>* reader_pins, bool restart_ahead) {
  until = std::min(until, object->BlockCount());
  if (shutting_down_) return;
  bool active;
  {
    std::scoped_lock lock(mu_);
    active = stream.job != 0 && jobs_.count(stream.job) != 0;
  }
  // A reader that jumped past what its stream was given gets a new stream.
  if (active && from > stream.next && restart_ahead) {
    EndStream(stream);
    active = false;
  }
  std::uint64_t start = active ? stream.next : from;
  if (!active) {
    // A new stream starts at the first block not cached yet.
    for (; start < until; ++start) {
      int cached = cache_.FindPinned({object->cache_id(), start});
      if (cached < 0) break;
      if (reader_pins != nullptr) {
        reader_pins->emplace_back(start, cached);
      } else {
        cache_.Unpin(cached);
      }
    }
  }
  Job credit;
  CreditSlots(object, start, until, &credit, reader_pins);
  if (credit.slots.empty()) return;
  const std::uint64_t credited = credit.slots.size();
  std::scoped_lock lock(mu_);
  auto running = active ? jobs_.find(stream.job) : jobs_.end();
  if (running != jobs_.end()) {
    Job& job = running->second;
    std::vector<worker::BlockTarget> targets;
    for (std::size_t i = 0; i < credit.slots.size(); ++i) {
      targets.push_back({cache_.SlotOffset(credit.slots[i]), object->BlockLength(start + i)});
    }
    job.slots.insert(job.slots.end(), credit.slots.begin(), credit.slots.end());
    job.scratch.insert(job.scratch.end(), credit.scratch.begin(), credit.scratch.end());
    job.arrived.resize(job.slots.size(), false);
    pool_.Credit(stream.job, std::move(targets));
  } else {
    worker::JobSpec spec = SpecFor(*object, start, credit.slots);
    spec.length = object->size() - spec.offset;   // to the end; slots are credited as it goes
    spec.budget_ms = 0;   // lives as long as its reader; connect/low-speed timeouts guard it
    credit.object = object;
    credit.first_block = start;
    credit.arrived.assign(credit.slots.size(), false);
    credit.stream = true;
    stream.job = pool_.Submit(std::move(spec), this);
    jobs_[stream.job] = std::move(credit);
  }
  stream.next = start + credited;
}

void BlockFetcher::CreditSlots(const ObjectPtr& object, std::uint64_t from, std::uint64_t until, Job* credit,
                               std::vector<std::pair<std::uint64_t, int>>* reader_pins) {
  for (std::uint64_t index = from; index < until; ++index) {
    auto acquired = cache_.AcquirePinned({object->cache_id(), index});
    bool scratch = false;
    if (acquired.slot >= 0 && !acquired.created) {
      // Cached already: the stream's bytes for it go to a throw-away slot.
      if (reader_pins != nullptr) {
        reader_pins->emplace_back(index, acquired.slot);
      } else {
        cache_.Unpin(acquired.slot);
      }
      acquired = cache_.AcquirePinned({kScratchObject, ++next_scratch_});
      scratch = true;
    } else if (acquired.slot >= 0 && reader_pins != nullptr) {
      cache_.Pin(acquired.slot);
      reader_pins->emplace_back(index, acquired.slot);
    }
    if (acquired.slot < 0) break;   // the cache is full: credit more on a later read
    credit->slots.push_back(acquired.slot);
    credit->scratch.push_back(scratch);
  }
  if (!credit->slots.empty()) object->ClearBlockErrors(from, credit->slots.size());
}

void BlockFetcher::StreamShared(const ObjectPtr& object, std::uint64_t from, std::uint64_t until) {
  std::scoped_lock lock(shared_streams_mu_);
  Stream& stream = shared_streams_[object->cache_id()];
  if (from < stream.next && cache_.StateOf({object->cache_id(), from}) == State::kFree) {
    EndStream(stream);   // behind the stream, and gone: a new one from there
  }
  // A reader ahead of the stream waits for it to pass (its blocks fill the cache on the way).
  StreamTo(stream, object, from, until, nullptr, /*restart_ahead=*/false);
}

void BlockFetcher::EndStream(Stream& stream) {
  if (stream.job != 0) pool_.Cancel(stream.job);
  stream.job = 0;
}

Status BlockFetcher::EnsureVerified(const ObjectPtr& object, Deadline deadline) {
  for (;;) {
    Verdict verdict = object->verdict();
    if (verdict == Verdict::kVerified || verdict == Verdict::kUnverified) return Ok{};
    if (auto failure = object->failure()) return *failure;
    if (Clock::now() >= deadline) {
      return Error{ErrorKind::kTimeout, object->path() + ": verification did not finish in time"};
    }
    Status step = AdvanceVerification(object, 1, deadline);
    if (!step) return step;
  }
}

Status BlockFetcher::AdvanceVerification(const ObjectPtr& object, std::uint64_t run_blocks, Deadline deadline) {
  if (shutting_down_) return Error{ErrorKind::kInternal, object->path() + ": the file system is shutting down"};
  if (auto missing = feeder_.Missing(object)) {
    if (run_blocks > 1) {
      FetchBlocks(object, *missing, std::min(object->BlockCount(), *missing + run_blocks) - 1, run_blocks);
    }
    auto slot = WaitBlock(object, *missing, deadline);
    if (!slot) return slot.error();
    feeder_.OnArrived(object, *missing, *slot, cache_.crc32c(*slot), /*force=*/true);
    cache_.Unpin(*slot);
    return Ok{};
  }
  // Progress wakes this; the bounded step also notices a block lost on the way.
  object->verification().WaitProgress(std::min(deadline, Clock::now() + std::chrono::milliseconds(50)));
  return Ok{};
}

void BlockFetcher::FailObject(const ObjectPtr& object, const Error& error) {
  object->Fail(error);
  if (object->cache_id() == 0) return;
  feeder_.Forget(object);
  cache_.DropObject(object->cache_id());
}

void BlockFetcher::CancelJobsOf(const ObjectPtr& object) {
  std::vector<std::uint64_t> ids;
  {
    std::scoped_lock lock(mu_);
    for (const auto& [id, job] : jobs_) {
      if (job.object == object) ids.push_back(id);
    }
  }
  for (auto id : ids) pool_.Cancel(id);
}

void BlockFetcher::ObjectFailed(const ObjectPtr& object) {
  auto hook = hooks().object_failed;
  if (hook) hook(object);
}

void BlockFetcher::OnBlock(std::uint64_t job_id, std::uint64_t index, std::uint32_t crc32c) {
  CallbackScope running(*this);
  ObjectPtr object;
  int slot;
  bool scratch;
  {
    std::scoped_lock lock(mu_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return;
    Job& job = it->second;
    std::size_t i = static_cast<std::size_t>(index - job.first_block);
    if (index < job.first_block || i >= job.slots.size() || job.arrived[i]) return;
    job.arrived[i] = true;
    object = job.object;
    slot = job.slots[i];
    scratch = job.scratch[i];
    if (!job.stream) range_job_of_slot_.erase(slot);
  }
  if (scratch) {   // a block the stream passed over that was cached already
    cache_.Abandon(slot);
    cache_.Unpin(slot);
    return;
  }
  cache_.Fill(slot, static_cast<std::size_t>(object->BlockLength(index)), crc32c);
  feeder_.OnArrived(object, index, slot, crc32c);
  cache_.Unpin(slot);
}

void BlockFetcher::OnDone(std::uint64_t job_id, const worker::JobResult& result) {
  CallbackScope running(*this);
  Job done;
  {
    std::scoped_lock lock(mu_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return;
    done = std::move(it->second);
    jobs_.erase(it);
    for (std::size_t i = 0; i < done.slots.size(); ++i) {
      if (!done.arrived[i] && !done.stream) range_job_of_slot_.erase(done.slots[i]);
    }
  }
  std::uint64_t bytes = 0, arrived = 0;
  for (std::size_t i = 0; i < done.slots.size(); ++i) {
    if (!done.arrived[i] || done.scratch[i]) continue;
    bytes += done.object->BlockLength(done.first_block + i);
    ++arrived;
  }
  std::optional<Error> error = result.error;
  // A stream that broke for a passing reason after it delivered (say, its connection idled
  // out while the reader paused) is not a read error: its readers fetch the rest again.
  if (done.stream && error && Transient(*error) && arrived > 0) {
    LOG(Info) << done.object->path() << ": the streaming GET ended (" << error->message << ")";
    error.reset();
  }
  if (result.ranges_ignored && done.object->ranges()) {
    LOG(Info) << done.object->path() << ": the server ignores byte ranges; reading it as one stream from now on";
    done.object->SetRangesIgnored();
  }
  if (done.stream) {
    std::scoped_lock lock(shared_streams_mu_);
    auto it = shared_streams_.find(done.object->cache_id());
    if (it != shared_streams_.end() && it->second.job == job_id) shared_streams_.erase(it);
  }
  done.object->OnFetchDone(bytes, result.retries, error);
  if (error) {
    if (auto hook = hooks().fetch_failed) hook(*done.object, *error);
  }
  AbandonMissing(done, error);
  if (error && Gone(*error)) {
    feeder_.Forget(done.object);
    cache_.DropObject(done.object->cache_id());
    ObjectFailed(done.object);
  }
}

void BlockFetcher::AbandonMissing(const Job& job, const std::optional<Error>& error) {
  // The error first: a reader woken by the abandon asks why its block went.
  if (error) {
    for (std::size_t i = 0; i < job.slots.size();) {
      if (job.arrived[i] || job.scratch[i]) {
        ++i;
        continue;
      }
      std::size_t run = i;
      while (run < job.slots.size() && !job.arrived[run] && !job.scratch[run]) ++run;
      job.object->SetBlockError(job.first_block + i, run - i, *error);
      i = run;
    }
  }
  for (std::size_t i = 0; i < job.slots.size(); ++i) {
    if (job.arrived[i]) continue;
    cache_.Abandon(job.slots[i]);
    cache_.Unpin(job.slots[i]);
  }
}

}  // namespace getmfs::fetch
