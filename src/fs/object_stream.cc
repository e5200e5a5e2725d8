#include "fs/object_stream.h"

#include <chrono>
#include <sstream>

#include "util/log.h"

namespace getmfs::fs {

using Clock = std::chrono::steady_clock;

ObjectStream::ObjectStream(std::shared_ptr<Engine> engine, http::SignedUrl url, http::ObjectMeta meta,
                           integrity::Expected expected, StreamOptions options)
    : engine_(std::move(engine)),
      url_(std::move(url)),
      meta_(std::move(meta)),
      options_(options),
      verifier_(std::move(expected), meta_.size),
      object_id_(engine_->NewObjectId()),
      block_size_(options.block_size > 0 ? std::min(options.block_size, engine_->cache().block_size())
                                         : engine_->cache().block_size()),
      streaming_(engine_->streaming() || !meta_.ranges) {
  if (options_.window <= 0) options_.window = streaming_ ? 4 : engine_->concurrency() + 2;
  // Never plan more blocks than the cache can hold with two to spare for the caller.
  int slots = static_cast<int>(engine_->cache().slot_count());
  options_.window = std::max(1, std::min(options_.window, slots - 2));
  digest_in_thread_ = verifier_.NeedsBytes() && meta_.size > 0;
  if (digest_in_thread_) digest_thread_ = std::thread([this] { DigestLoop(); });
}

ObjectStream::~ObjectStream() {
  {
    std::scoped_lock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (digest_thread_.joinable()) digest_thread_.join();
  std::unique_lock lock(mu_);
  for (const auto& [job, pending] : jobs_) engine_->pool().Cancel(job);
  if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return jobs_.empty(); })) {
    LOG(Error) << "reader of " << url_ << ": transfers did not stop within 60 s";
  }
  for (auto& [index, block] : blocks_) {
    if (block.state == BlockState::kReady) engine_->cache().Unpin(block.slot);
  }
}

void ObjectStream::RetireLocked(std::map<std::uint64_t, Block>::iterator it) {
  if (!it->second.consumed || (digest_in_thread_ && !it->second.hashed)) return;
  if (it->second.state == BlockState::kReady) engine_->cache().Unpin(it->second.slot);
  blocks_.erase(it);
}

void ObjectStream::DigestLoop() {
  auto& cache = engine_->cache();
  std::unique_lock lock(mu_);
  while (digest_next_ < BlockCount()) {
    std::uint64_t index = digest_next_;
    cv_.wait(lock, [&] {
      if (stopping_) return true;
      auto it = blocks_.find(index);
      return it != blocks_.end() && it->second.state != BlockState::kFetching;
    });
    if (stopping_) return;
    auto it = blocks_.find(index);
    if (it->second.state == BlockState::kFailed) return;   // the reader reports the error
    int slot = it->second.slot;
    std::uint32_t crc = it->second.crc32c;
    lock.unlock();
    // The block stays pinned by the stream until this thread marks it hashed. Its CRC32C is
    // re-checked by the reader (Next), off this thread: the digest is the critical path.
    verifier_.Update(cache.SlotData(slot), static_cast<std::size_t>(BlockLength(index)), crc);
    lock.lock();
    it = blocks_.find(index);
    it->second.hashed = true;
    ++digest_next_;
    RetireLocked(it);
    cv_.notify_all();
  }
}

std::uint64_t ObjectStream::BlockCount() const { return (meta_.size + block_size_ - 1) / block_size_; }

std::uint64_t ObjectStream::BlockLength(std::uint64_t index) const {
  return std::min<std::uint64_t>(block_size_, meta_.size - index * block_size_);
}

void ObjectStream::PlanLocked() {
  if (error_) return;
  std::uint64_t consumer = position_ / block_size_;
  std::uint64_t limit = std::min<std::uint64_t>(BlockCount(), consumer + static_cast<std::uint64_t>(options_.window));
  std::vector<worker::BlockTarget> credits;
  std::uint64_t first_credit = next_plan_;
  while (next_plan_ < limit) {
    cache::BlockKey key{object_id_, next_plan_};
    auto acquired = engine_->cache().AcquirePinned(key);
    if (acquired.slot < 0) break;   // the cache is full of pinned blocks: retry later
    Block block;
    block.slot = acquired.slot;
    worker::BlockTarget target{engine_->cache().SlotOffset(acquired.slot), BlockLength(next_plan_)};
    if (streaming_) {
      credits.push_back(target);
    } else {
      worker::JobSpec spec;
      spec.url = url_.full();
      spec.offset = next_plan_ * block_size_;
      spec.length = target.length;
      spec.object_size = meta_.size;
      spec.if_match = meta_.etag;
      spec.first_index = next_plan_;
      spec.targets = {target};
      spec.budget_ms = static_cast<std::int64_t>(options_.job_timeout_seconds * 1000);
      block.job = engine_->pool().Submit(std::move(spec), this);
      jobs_[block.job] = 1;
    }
    blocks_[next_plan_] = block;
    ++next_plan_;
  }
  if (credits.empty()) return;
  if (stream_job_ == 0) {
    worker::JobSpec spec;
    spec.url = url_.full();
    spec.offset = first_credit * block_size_;
    spec.length = meta_.size - spec.offset;
    spec.object_size = meta_.size;
    spec.if_match = meta_.etag;
    spec.first_index = first_credit;
    spec.targets = std::move(credits);
    spec.budget_ms = 0;   // a stream lives as long as its reader; timeouts guard its progress
    stream_job_ = engine_->pool().Submit(std::move(spec), this);
    jobs_[stream_job_] = static_cast<int>(BlockCount() - first_credit);
    for (std::uint64_t i = first_credit; i < next_plan_; ++i) blocks_[i].job = stream_job_;
  } else {
    for (std::uint64_t i = first_credit; i < next_plan_; ++i) blocks_[i].job = stream_job_;
    engine_->pool().Credit(stream_job_, std::move(credits));
  }
}

void ObjectStream::OnBlock(std::uint64_t job, std::uint64_t index, std::uint32_t crc32c) {
  std::scoped_lock lock(mu_);
  auto it = blocks_.find(index);
  if (it == blocks_.end() || it->second.job != job || it->second.state != BlockState::kFetching) return;
  it->second.state = BlockState::kReady;
  it->second.crc32c = crc32c;
  engine_->cache().Fill(it->second.slot, BlockLength(index), crc32c);
  auto j = jobs_.find(job);
  if (j != jobs_.end()) --j->second;
  cv_.notify_all();
}

void ObjectStream::OnDone(std::uint64_t job, const worker::JobResult& result) {
  const std::optional<Error>& error = result.error;
  const bool cancelled = result.cancelled;
  std::scoped_lock lock(mu_);
  jobs_.erase(job);
  // Blocks of this job that never arrived: their slots are ours again.
  std::optional<std::uint64_t> first_missing;
  for (auto& [index, block] : blocks_) {
    if (block.job != job || block.state != BlockState::kFetching) continue;
    engine_->cache().Abandon(block.slot);
    engine_->cache().Unpin(block.slot);
    block.slot = -1;
    block.state = BlockState::kFailed;
    block.error = error ? *error
                       : Error{ErrorKind::kInternal, url_.redacted() + ": a transfer ended without all its blocks"};
    if (!first_missing) first_missing = index;
  }
  if (!cancelled && first_missing && (!error_ || *first_missing < error_block_)) {
    error_ = blocks_[*first_missing].error;
    error_block_ = *first_missing;
    if (error_->kind == ErrorKind::kChanged || error_->kind == ErrorKind::kNotFound) {
      engine_->cache().DropObject(object_id_);
    }
  }
  if (stream_job_ == job) stream_job_ = 0;
  cv_.notify_all();
}

Result<ObjectStream::Piece> ObjectStream::Next(std::size_t max_bytes) {
  if (position_ == meta_.size) {
    if (!finished_) {
      if (digest_in_thread_) {
        std::unique_lock lock(mu_);
        auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(options_.read_timeout_seconds * 1000));
        if (!cv_.wait_until(lock, deadline, [&] { return digest_next_ == BlockCount() || digest_error_; })) {
          return Error{ErrorKind::kTimeout, url_.redacted() + ": timed out verifying the checksum"};
        }
        if (digest_error_) return *digest_error_;
        if (digest_thread_.joinable()) {
          lock.unlock();
          digest_thread_.join();
        }
      }
      finished_ = true;
      Status verdict = verifier_.Finish();
      if (!verdict) {
        std::scoped_lock lock(mu_);
        engine_->cache().DropObject(object_id_);
        error_ = verdict.error();
        error_->message = url_.redacted() + ": " + error_->message;
        error_block_ = 0;
        return *error_;
      }
      verified_ = verifier_.expected().known();
    } else if (error_ && error_block_ == 0 && error_->kind == ErrorKind::kIntegrity) {
      return *error_;
    }
    return Piece{-1, nullptr, 0, position_};
  }
  std::uint64_t index = position_ / block_size_;
  int slot;
  std::uint32_t crc;
  bool first_read;
  {
    std::unique_lock lock(mu_);
    auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(options_.read_timeout_seconds * 1000));
    PlanLocked();
    auto it = blocks_.find(index);
    // Slots held by blocks the digest thread has not reached yet come back as it goes.
    while (it == blocks_.end() && digest_in_thread_ && !digest_error_ && digest_next_ < index &&
           cv_.wait_until(lock, deadline) != std::cv_status::timeout) {
      PlanLocked();
      it = blocks_.find(index);
    }
    if (it == blocks_.end()) {
      if (error_ && index >= error_block_) return *error_;
      if (digest_error_) return *digest_error_;
      return Error{ErrorKind::kInternal,
                   "the block cache is full of chunks that were not released; release chunks "
                   "(Chunk::release) or give a larger cache_size"};
    }
    if (!cv_.wait_until(lock, deadline, [&] { return it->second.state != BlockState::kFetching; })) {
      std::ostringstream message;
      message << url_.redacted() << ": timed out: no data for block " << index << " within "
              << options_.read_timeout_seconds << " s";
      return Error{ErrorKind::kTimeout, message.str()};
    }
    if (it->second.state == BlockState::kFailed) return *it->second.error;
    slot = it->second.slot;
    crc = it->second.crc32c;
    first_read = !it->second.checked;
    it->second.checked = true;
  }
  std::size_t length = static_cast<std::size_t>(BlockLength(index));
  const std::uint8_t* data = engine_->cache().SlotData(slot);
  if (first_read) {
    // The block is pinned by this stream: no lock needed to read it.
    if (!engine_->cache().Verify(slot)) {
      std::scoped_lock lock(mu_);
      error_ = Error{ErrorKind::kIntegrity, url_.redacted() + ": block " + std::to_string(index) +
                                                " changed in the shared cache after it was fetched (CRC32C mismatch)"};
      error_block_ = index;
      return *error_;
    }
    if (!digest_in_thread_) verifier_.Update(data, length, crc);   // CRC32C: no pass over the bytes
  }
  std::size_t in_block = static_cast<std::size_t>(position_ - index * block_size_);
  std::size_t n = std::min(max_bytes, length - in_block);
  engine_->cache().Pin(slot);
  Piece piece{slot, data + in_block, n, position_};
  position_ += n;
  if (in_block + n == length) {
    std::scoped_lock lock(mu_);
    auto it = blocks_.find(index);
    it->second.consumed = true;
    RetireLocked(it);   // the caller's pin keeps the bytes until released
    PlanLocked();
  }
  return piece;
}

}  // namespace getmfs::fs
