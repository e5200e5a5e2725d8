// ObjectStream: one object read in order for `get` and the library (object_stream.h).
#include "fetch/object_stream.h"

#include <chrono>
#include <sstream>

namespace getmfs::fetch {

using Clock = std::chrono::steady_clock;
using State = cache::BlockCache::State;

namespace {
constexpr int kLostBlockRetries = 2;   // a block lost without an error is asked for again
}  // namespace

ObjectStream::ObjectStream(std::shared_ptr<Engine> engine, http::SignedUrl url, http::ObjectMeta meta,
                           integrity::Expected expected, StreamOptions options)
    : engine_(std::move(engine)),
      fetcher_(engine_->fetcher()),
      cache_(engine_->cache()),
      meta_(std::move(meta)),
      options_(options),
      streaming_(engine_->streaming() || !meta_.ranges) {
  std::string label = url.redacted();   // before url is moved from (argument order is unspecified)
  object_ = RemoteObject::Probed(std::move(label), std::move(url), meta_, std::move(expected));
  std::size_t block_size = options.block_size > 0 ? std::min(options.block_size, cache_.block_size())
                                                  : cache_.block_size();
  object_->Attach(engine_->NewObjectId(), block_size);
  if (options_.window <= 0) options_.window = streaming_ ? 4 : engine_->concurrency() + 2;
  // Never plan more blocks than the cache can hold with two to spare for the caller.
  int slots = static_cast<int>(cache_.slot_count());
  options_.window = std::max(1, std::min(options_.window, slots - 2));
}

ObjectStream::~ObjectStream() {
  fetcher_.EndStream(stream_);
  fetcher_.CancelJobsOf(object_);
  for (auto& [index, slot] : planned_) cache_.Unpin(slot);
  fetcher_.ForgetDigest(object_);
}

void ObjectStream::Unplan(std::map<std::uint64_t, int>::iterator it) {
  cache_.Unpin(it->second);
  planned_.erase(it);
}

void ObjectStream::Plan() {
  if (error_) return;
  std::uint64_t first = position_ / object_->block_size();
  std::uint64_t limit = std::min<std::uint64_t>(object_->BlockCount(), first + static_cast<std::uint64_t>(options_.window));
  while (first < limit && planned_.count(first) != 0) ++first;
  if (first >= limit) return;
  if (streaming_) {
    std::vector<std::pair<std::uint64_t, int>> pins;
    fetcher_.StreamTo(stream_, object_, first, limit, &pins);
    for (const auto& [index, slot] : pins) {
      if (!planned_.emplace(index, slot).second) cache_.Unpin(slot);   // pinned already
    }
    return;
  }
  for (std::uint64_t index = first; index < limit; ++index) {
    if (planned_.count(index) != 0) continue;
    int slot = fetcher_.PinOrFetch(object_, index);
    if (slot < 0) break;   // the cache is full of pinned blocks: plan again later
    planned_[index] = slot;
  }
}

Status ObjectStream::WaitPlanned(std::uint64_t index, Deadline deadline) {
  Verification& verification = object_->verification();
  // Slots held for the digest come back as it goes.
  while (planned_.count(index) == 0 && verification.needs_bytes() && verification.verdict() == Verdict::kPending &&
         verification.fed() <= index && Clock::now() < deadline) {
    verification.WaitProgress(std::min(deadline, Clock::now() + std::chrono::milliseconds(50)));
    Plan();
  }
  if (planned_.count(index) != 0) return Ok{};
  if (auto failure = object_->failure()) return *failure;
  return Error{ErrorKind::kInternal,
               "the block cache is full of chunks that were not released; release chunks "
               "(Chunk::release) or give a larger cache_size"};
}

void ObjectStream::Replan(std::uint64_t index) {
  for (auto it = planned_.lower_bound(index); it != planned_.end();) {
    auto next = std::next(it);
    if (cache_.state(it->second) == State::kFree) Unplan(it);
    it = next;
  }
  Plan();
}

Result<int> ObjectStream::CurrentBlock(std::uint64_t index, Deadline deadline) {
  for (int attempt = 0;; ++attempt) {
    Plan();
    if (Status planned = WaitPlanned(index, deadline); !planned) return planned.error();
    int slot = planned_.at(index);
    if (checked_ == index) return slot;
    State state = fetcher_.WaitFilled(slot, deadline);
    if (state == State::kFilling) {
      std::ostringstream message;
      message << object_->path() << ": timed out: no data for block " << index << " within "
              << options_.read_timeout_seconds << " s";
      return Error{ErrorKind::kTimeout, message.str()};
    }
    if (state == State::kReady) {
      if (!cache_.Verify(slot)) {
        return Error{ErrorKind::kIntegrity, object_->path() + ": block " + std::to_string(index) +
                                                " changed in the shared cache after it was fetched (CRC32C mismatch)"};
      }
      checked_ = index;
      renewals_ = 0;
      return slot;
    }
    // The request's own error first: `get` tells "not found" from "changed".
    if (auto error = object_->BlockError(index)) {
      if (error->kind != ErrorKind::kExpired || !RenewUrl(index)) return *error;
      --attempt;
      continue;
    }
    if (auto failure = object_->failure()) return *failure;
    if (attempt >= kLostBlockRetries) {
      return Error{ErrorKind::kNetwork, object_->path() + ": a transfer ended without all its blocks"};
    }
    Replan(index);
  }
}

bool ObjectStream::RenewUrl(std::uint64_t index) {
  if (!options_.fresh_url || renewals_ >= 3) return false;
  ++renewals_;
  auto url = options_.fresh_url();
  if (!url) return false;
  object_->set_url(std::move(*url));
  std::uint64_t blocks = (meta_.size + object_->block_size() - 1) / object_->block_size();
  object_->ClearBlockErrors(index, blocks - index);
  Replan(index);
  return true;
}

Result<ObjectStream::Piece> ObjectStream::End(Deadline deadline) {
  if (!finished_ && !error_) {
    Status verdict = fetcher_.EnsureVerified(object_, deadline);
    if (!verdict) {
      error_ = verdict.error();
      return *error_;
    }
    finished_ = true;
    verified_ = object_->verdict() == Verdict::kVerified;
  }
  if (error_) return *error_;
  return Piece{-1, nullptr, 0, position_};
}

Result<ObjectStream::Piece> ObjectStream::Next(std::size_t max_bytes) {
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(options_.read_timeout_seconds * 1000));
  if (position_ == meta_.size) return End(deadline);
  if (error_) return *error_;
  const std::uint64_t bs = object_->block_size();
  std::uint64_t index = position_ / bs;
  auto slot = CurrentBlock(index, deadline);
  if (!slot) {
    error_ = slot.error();
    return *error_;
  }
  std::size_t length = static_cast<std::size_t>(object_->BlockLength(index));
  std::size_t in_block = static_cast<std::size_t>(position_ - index * bs);
  std::size_t n = std::min(max_bytes, length - in_block);
  cache_.Pin(*slot);   // the caller's
  Piece piece{*slot, cache_.SlotData(*slot) + in_block, n, position_};
  position_ += n;
  if (in_block + n == length) {
    Unplan(planned_.find(index));   // the digest holds its own pin while it needs the block
    Plan();
  }
  return piece;
}

}  // namespace getmfs::fetch
