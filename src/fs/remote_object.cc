#include "fs/remote_object.h"

#include "util/log.h"

namespace getmfs::fs {

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPending: return "pending";
    case Verdict::kVerified: return "verified";
    case Verdict::kFailed: return "failed";
    case Verdict::kUnverified: return "unverified";
  }
  return "?";
}

RemoteObject::RemoteObject(std::string path, http::SignedUrl url, std::optional<std::uint64_t> size,
                           integrity::Expected checksum)
    : path_(std::move(path)),
      url_(std::move(url)),
      manifest_size_(size),
      expected_(std::move(checksum)),
      expected_from_manifest_(expected_.known()) {
  if (manifest_size_ && expected_from_manifest_) {
    // Everything a read needs is known: no probe (and no If-Match, as no ETag is known).
    meta_.size = *manifest_size_;
    probe_state_ = ProbeState::kDone;
  }
}

http::SignedUrl RemoteObject::url() const {
  std::scoped_lock lock(mu_);
  return url_;
}

void RemoteObject::set_url(http::SignedUrl url) {
  std::scoped_lock lock(mu_);
  url_ = std::move(url);
}

bool RemoteObject::SameManifestData(const RemoteObject& other) const {
  std::scoped_lock lock(mu_, other.mu_);
  if (manifest_size_ != other.manifest_size_ || expected_from_manifest_ != other.expected_from_manifest_) return false;
  return !expected_from_manifest_ ||
         (expected_.algorithm == other.expected_.algorithm && expected_.value == other.expected_.value);
}

void RemoteObject::Rebind(http::SignedUrl url) {
  std::scoped_lock lock(mu_);
  url_ = std::move(url);
  if (cache_id_ != 0 || probe_state_ == ProbeState::kRunning) return;
  if (!(manifest_size_ && expected_from_manifest_)) {
    probe_state_ = ProbeState::kNone;
    probe_error_.reset();
    if (!expected_from_manifest_) expected_ = integrity::Expected{};
  }
}

bool RemoteObject::NeedsProbe() const {
  std::scoped_lock lock(mu_);
  return probe_state_ == ProbeState::kNone;
}

std::optional<std::uint64_t> RemoteObject::KnownSize() const {
  std::scoped_lock lock(mu_);
  if (manifest_size_) return manifest_size_;
  if (probe_state_ == ProbeState::kDone) return meta_.size;
  return std::nullopt;
}

Status RemoteObject::EnsureProbed(const http::ProbeOptions& options, Deadline deadline) {
  std::unique_lock lock(mu_);
  while (probe_state_ == ProbeState::kRunning) {
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && probe_state_ == ProbeState::kRunning) {
      return Error{ErrorKind::kTimeout, path_ + ": the probe of " + url_.redacted() + " is taking too long"};
    }
  }
  if (probe_state_ == ProbeState::kDone) return Ok{};
  if (probe_state_ == ProbeState::kFailed) {
    bool transient = probe_error_->kind == ErrorKind::kNetwork || probe_error_->kind == ErrorKind::kTimeout;
    // Definitive failures (expired, forbidden, not found...) stand until a reload; a
    // transient one is tried again only after a pause, so a dead server fails each read
    // at once instead of making every read wait out its own probe.
    if (!transient || std::chrono::steady_clock::now() - probe_failed_at_ < std::chrono::seconds(10)) {
      return *probe_error_;
    }
  }
  probe_state_ = ProbeState::kRunning;
  http::SignedUrl url = url_;
  lock.unlock();
  http::ProbeOptions bounded = options;
  bounded.deadline_seconds =
      std::max(0.5, std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count());
  auto meta = http::Probe(url, bounded);
  lock.lock();
  if (!meta) {
    probe_state_ = ProbeState::kFailed;
    probe_error_ = meta.error();
    probe_failed_at_ = std::chrono::steady_clock::now();
    ++counters_.errors;
    counters_.last_error = meta.error().message;
    cv_.notify_all();
    return *probe_error_;
  }
  if (manifest_size_ && *manifest_size_ != meta->size) {
    probe_state_ = ProbeState::kFailed;
    probe_error_ = Error{ErrorKind::kChanged, path_ + ": the manifest says " + std::to_string(*manifest_size_) +
                                                  " bytes but " + url.redacted() + " has " +
                                                  std::to_string(meta->size)};
    cv_.notify_all();
    return *probe_error_;
  }
  meta_ = *meta;
  if (!expected_from_manifest_) expected_ = meta_.checksum;
  probe_state_ = ProbeState::kDone;
  cv_.notify_all();
  return Ok{};
}

Result<std::uint64_t> RemoteObject::Size(Deadline deadline) {
  {
    std::unique_lock lock(mu_);
    if (manifest_size_) return *manifest_size_;
    cv_.wait_until(lock, deadline, [&] { return probe_state_ == ProbeState::kDone || probe_state_ == ProbeState::kFailed; });
    if (probe_state_ == ProbeState::kDone) return meta_.size;
    if (probe_state_ == ProbeState::kFailed) return *probe_error_;
  }
  return Error{ErrorKind::kTimeout, path_ + ": its size is not known yet (probe pending)"};
}

std::uint64_t RemoteObject::size() const {
  std::scoped_lock lock(mu_);
  return meta_.size;
}

std::string RemoteObject::etag() const {
  std::scoped_lock lock(mu_);
  return meta_.etag;
}

std::uint64_t RemoteObject::BlockCount() const { return (meta_.size + block_size_ - 1) / block_size_; }

std::uint64_t RemoteObject::BlockLength(std::uint64_t index) const {
  return std::min<std::uint64_t>(block_size_, meta_.size - index * block_size_);
}

void RemoteObject::Attach(std::uint64_t cache_id, std::size_t block_size) {
  std::scoped_lock lock(mu_);
  if (cache_id_ != 0) return;
  cache_id_ = cache_id;
  block_size_ = block_size;
  verifier_ = std::make_unique<integrity::Verifier>(expected_, meta_.size);
  std::uint64_t blocks = BlockCount();
  crcs_.assign(blocks, 0);
  have_.assign(blocks, false);
  if (!expected_.known()) verdict_ = Verdict::kUnverified;
  if (blocks == 0 && expected_.known()) {
    Status verdict = verifier_->Finish();
    verdict_ = verdict ? Verdict::kVerified : Verdict::kFailed;
    if (!verdict) failure_ = Error{ErrorKind::kIntegrity, path_ + ": " + verdict.error().message};
  }
}

std::optional<Verdict> RemoteObject::OnBlockArrived(cache::BlockCache& cache, std::uint64_t index, int slot,
                                                    std::uint32_t crc32c) {
  std::scoped_lock lock(mu_);
  if (index >= have_.size() || verdict_ != Verdict::kPending) return std::nullopt;
  if (!have_[index]) {
    have_[index] = true;
    crcs_[index] = crc32c;
  }
  if (index == next_verify_) {
    verifier_->Update(cache.SlotData(slot), static_cast<std::size_t>(BlockLength(index)), crc32c);
    ++next_verify_;
    return AdvanceLocked(cache);
  }
  return std::nullopt;
}

// Feeds following blocks already known: from their recorded CRCs when the algorithm needs
// no bytes, else from the cache when they are still there.
std::optional<Verdict> RemoteObject::AdvanceLocked(cache::BlockCache& cache) {
  bool bytes = verifier_->NeedsBytes();
  while (next_verify_ < have_.size() && have_[next_verify_]) {
    std::size_t length = static_cast<std::size_t>(BlockLength(next_verify_));
    if (!bytes) {
      verifier_->Update(nullptr, length, crcs_[next_verify_]);
    } else {
      int slot = cache.FindPinned({cache_id_, next_verify_});
      if (slot < 0) break;
      bool ready = cache.state(slot) == cache::BlockCache::State::kReady && cache.Verify(slot);
      if (ready) verifier_->Update(cache.SlotData(slot), length, crcs_[next_verify_]);
      cache.Unpin(slot);
      if (!ready) break;
    }
    ++next_verify_;
  }
  if (next_verify_ < have_.size()) return std::nullopt;
  SettleLocked(verifier_->Finish(), cache);
  return verdict_;
}

void RemoteObject::SettleLocked(Status verdict, cache::BlockCache& cache) {
  if (verdict) {
    verdict_ = Verdict::kVerified;
    LOG(Info) << path_ << ": verified (" << integrity::AlgorithmName(expected_.algorithm) << " from "
              << expected_.source << ")";
  } else {
    verdict_ = Verdict::kFailed;
    failure_ = Error{ErrorKind::kIntegrity, path_ + ": " + verdict.error().message};
    cache.DropObject(cache_id_);
    LOG(Error) << failure_->message << "; reads of it fail with EIO";
  }
  cv_.notify_all();
}

std::optional<RemoteObject::Need> RemoteObject::NextVerificationNeed() const {
  std::scoped_lock lock(mu_);
  if (verdict_ != Verdict::kPending || !verifier_ || next_verify_ >= have_.size()) return std::nullopt;
  return Need{next_verify_, verifier_->NeedsBytes() || !have_[next_verify_]};
}

std::optional<Verdict> RemoteObject::FeedVerification(cache::BlockCache& cache, std::uint64_t index, int slot,
                                                      std::uint32_t crc32c) {
  std::scoped_lock lock(mu_);
  if (verdict_ != Verdict::kPending || index != next_verify_) return std::nullopt;
  if (!have_[index]) {
    have_[index] = true;
    crcs_[index] = crc32c;
  }
  verifier_->Update(cache.SlotData(slot), static_cast<std::size_t>(BlockLength(index)), crc32c);
  ++next_verify_;
  return AdvanceLocked(cache);
}

Verdict RemoteObject::WaitVerdict(Deadline deadline) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return verdict_ != Verdict::kPending; });
  return verdict_;
}

Verdict RemoteObject::verdict() const {
  std::scoped_lock lock(mu_);
  return verdict_;
}

std::optional<Error> RemoteObject::failure() const {
  std::scoped_lock lock(mu_);
  return failure_;
}

void RemoteObject::Fail(const Error& error) {
  std::scoped_lock lock(mu_);
  if (failure_) return;
  failure_ = error;
  if (error.kind == ErrorKind::kIntegrity) verdict_ = Verdict::kFailed;
  cv_.notify_all();
}

std::optional<Error> RemoteObject::last_fetch_error() const {
  std::scoped_lock lock(mu_);
  return last_fetch_error_;
}

void RemoteObject::OnFetchDone(std::uint64_t bytes, int retries, const std::optional<Error>& error) {
  std::scoped_lock lock(mu_);
  counters_.bytes_fetched += bytes;
  ++counters_.requests;
  counters_.retries += static_cast<std::uint64_t>(retries);
  if (error) {
    ++counters_.errors;
    counters_.last_error = error->message;
    last_fetch_error_ = error;
    if (error->kind == ErrorKind::kChanged || error->kind == ErrorKind::kNotFound) {
      // The object is not the one probed any more: every read fails until a reload.
      if (!failure_) failure_ = Error{ErrorKind::kChanged, error->message};
      cv_.notify_all();
    }
  }
}

std::string RemoteObject::ChecksumDescription() const {
  std::scoped_lock lock(mu_);
  if (!expected_.known()) return probe_state_ == ProbeState::kDone ? "none" : "unknown (not probed yet)";
  return std::string(integrity::AlgorithmName(expected_.algorithm)) + ":" + expected_.Display() + " (" +
         expected_.source + ")";
}

ObjectCounters RemoteObject::counters() const {
  std::scoped_lock lock(mu_);
  return counters_;
}

}  // namespace getmfs::fs
