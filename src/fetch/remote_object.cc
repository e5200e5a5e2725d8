// RemoteObject: an object's probe, cache binding, failures and counters (remote_object.h).
#include "fetch/remote_object.h"

#include <algorithm>
#include <ctime>

namespace getmfs::fetch {

RemoteObject::RemoteObject(std::string path, http::SignedUrl url, std::optional<std::uint64_t> size,
                           integrity::Expected checksum)
    : path_(std::move(path)),
      url_(std::move(url)),
      manifest_size_(size),
      expected_(std::move(checksum)),
      expected_from_manifest_(expected_.known()) {
  UrlChangedLocked();
  if (manifest_size_ && expected_from_manifest_ && !url_.empty()) {
    // Everything a read needs is known: no probe (and no If-Match, as no ETag is known).
    meta_.size = *manifest_size_;
    probe_state_ = ProbeState::kDone;
  }
}

std::shared_ptr<RemoteObject> RemoteObject::Probed(std::string label, http::SignedUrl url, http::ObjectMeta meta,
                                                   integrity::Expected expected) {
  auto object = std::make_shared<RemoteObject>(std::move(label), std::move(url), meta.size, std::move(expected));
  object->expected_from_manifest_ = true;   // what the caller chose stands
  object->meta_ = std::move(meta);
  object->probe_state_ = ProbeState::kDone;
  return object;
}

http::SignedUrl RemoteObject::url() const {
  std::scoped_lock lock(mu_);
  return url_;
}

void RemoteObject::set_url(http::SignedUrl url) {
  std::scoped_lock lock(mu_);
  url_ = std::move(url);
  UrlChangedLocked();
}

void RemoteObject::UrlChangedLocked() {
  ++url_generation_;
  expiry_ = http::SignatureExpiry(url_.full());
  url_since_ = static_cast<std::int64_t>(std::time(nullptr));
}

std::uint64_t RemoteObject::url_generation() const {
  std::scoped_lock lock(mu_);
  return url_generation_;
}

std::optional<std::int64_t> RemoteObject::expiry() const {
  std::scoped_lock lock(mu_);
  return expiry_;
}

std::int64_t RemoteObject::url_lifetime() const {
  std::scoped_lock lock(mu_);
  return expiry_ ? std::max<std::int64_t>(0, *expiry_ - url_since_) : 0;
}

bool RemoteObject::DescribedByManifest() const {
  std::scoped_lock lock(mu_);
  return manifest_size_.has_value() && expected_from_manifest_;
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
  UrlChangedLocked();
  if (cache_id() != 0 || probe_state_ == ProbeState::kRunning) return;
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
  if (url_.empty() && locator_) {
    Status located = LocateLocked(lock);
    if (!located || probe_state_ == ProbeState::kDone) {
      cv_.notify_all();
      return located;
    }
  }
  http::SignedUrl url = url_;
  lock.unlock();
  http::ProbeOptions bounded = options;
  bounded.deadline_seconds =
      std::max(0.5, std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count());
  auto meta = http::Probe(url, bounded);
  lock.lock();
  Status finished = FinishProbeLocked(meta, url);
  cv_.notify_all();
  return finished;
}

void RemoteObject::SetLocator(Locator locator) {
  std::scoped_lock lock(mu_);
  locator_ = std::move(locator);
}

bool RemoteObject::NeedsLocating() const {
  std::scoped_lock lock(mu_);
  return url_.empty() && locator_ != nullptr;
}

Status RemoteObject::LocateLocked(std::unique_lock<std::mutex>& lock) {
  Locator locate = locator_;
  lock.unlock();
  auto located = locate();
  lock.lock();
  if (!located) return FinishProbeLocked(located.error(), url_);
  url_ = std::move(located->url);
  UrlChangedLocked();
  if (!manifest_size_) manifest_size_ = located->size;
  if (!expected_from_manifest_ && located->checksum.known()) {
    expected_ = located->checksum;
    expected_from_manifest_ = true;
  }
  if (manifest_size_ && expected_from_manifest_) {
    meta_.size = *manifest_size_;   // all a read needs: no probe
    probe_state_ = ProbeState::kDone;
  }
  return Ok{};
}

Status RemoteObject::FinishProbeLocked(const Result<http::ObjectMeta>& meta, const http::SignedUrl& url) {
  if (!meta) {
    probe_state_ = ProbeState::kFailed;
    probe_error_ = meta.error();
    probe_failed_at_ = std::chrono::steady_clock::now();
    ++counters_.errors;
    counters_.last_error = meta.error().message;
    return *probe_error_;
  }
  if (manifest_size_ && *manifest_size_ != meta->size) {
    probe_state_ = ProbeState::kFailed;
    probe_error_ = Error{ErrorKind::kChanged, path_ + ": the manifest says " + std::to_string(*manifest_size_) +
                                                  " bytes but " + url.redacted() + " has " +
                                                  std::to_string(meta->size)};
    return *probe_error_;
  }
  meta_ = *meta;
  if (!expected_from_manifest_) expected_ = meta_.checksum;
  probe_state_ = ProbeState::kDone;
  return Ok{};
}

Result<std::uint64_t> RemoteObject::Size(Deadline deadline) {
  {
    std::unique_lock lock(mu_);
    if (manifest_size_) return *manifest_size_;
    // A probe in progress is waited for; one not started yet is the caller's to run (a
    // lookup must not wait for the background probes to reach its entry).
    cv_.wait_until(lock, deadline, [&] { return probe_state_ != ProbeState::kRunning; });
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

bool RemoteObject::ranges() const {
  std::scoped_lock lock(mu_);
  return meta_.ranges;
}

void RemoteObject::SetRangesIgnored() {
  std::scoped_lock lock(mu_);
  meta_.ranges = false;
}

std::uint64_t RemoteObject::BlockCount() const { return (meta_.size + block_size_ - 1) / block_size_; }

std::uint64_t RemoteObject::BlockLength(std::uint64_t index) const {
  return std::min<std::uint64_t>(block_size_, meta_.size - index * block_size_);
}

void RemoteObject::Attach(std::uint64_t cache_id, std::size_t block_size) {
  std::scoped_lock lock(mu_);
  if (cache_id_.load(std::memory_order_relaxed) != 0) return;
  block_size_ = block_size;
  verification_ = std::make_unique<Verification>(expected_, meta_.size, BlockCount());
  if (meta_.size == 0 && expected_.known()) {
    Status verdict = verification_->verifier_.Finish();
    verification_->verdict_ = verdict ? Verdict::kVerified : Verdict::kFailed;
    if (!verdict) failure_ = Error{ErrorKind::kIntegrity, path_ + ": " + verdict.error().message};
  }
  cache_id_.store(cache_id, std::memory_order_release);   // last: see cache_id()
}

Verdict RemoteObject::verdict() const {
  if (cache_id() == 0) return Verdict::kPending;
  return verification_->verdict();
}

std::uint64_t RemoteObject::bytes_present() const {
  return cache_id() == 0 ? 0 : verification_->bytes_present();
}

bool RemoteObject::partial() const {
  return verdict() == Verdict::kPending && bytes_present() > 0 && !verification_->complete();
}

bool RemoteObject::MarkDelivered(std::uint64_t offset, std::uint64_t end) {
  std::scoped_lock lock(mu_);   // one lock per read: the size is read under it too
  delivered_.Add(offset, end);
  return delivered_.Covers(0, meta_.size);
}

std::optional<Error> RemoteObject::failure() const {
  std::scoped_lock lock(mu_);
  return failure_;
}

void RemoteObject::Fail(const Error& error) {
  std::scoped_lock lock(mu_);
  if (failure_) return;
  failure_ = error;
  cv_.notify_all();
}

void RemoteObject::OnFetchDone(std::uint64_t bytes, int retries, const std::optional<Error>& error) {
  std::scoped_lock lock(mu_);
  counters_.bytes_fetched += bytes;
  ++counters_.requests;
  counters_.retries += static_cast<std::uint64_t>(retries);
  if (!error) return;
  ++counters_.errors;
  counters_.last_error = error->message;
  if ((error->kind == ErrorKind::kChanged || error->kind == ErrorKind::kNotFound) && !failure_) {
    // The object is not the one probed any more: every read fails until a reload.
    failure_ = Error{ErrorKind::kChanged, error->message};
    cv_.notify_all();
  }
}

void RemoteObject::SetBlockError(std::uint64_t first, std::uint64_t count, const Error& error) {
  if (count == 0) return;
  std::scoped_lock lock(mu_);
  block_errors_[first] = {count, std::make_shared<const Error>(error)};
}

void RemoteObject::ClearBlockErrors(std::uint64_t first, std::uint64_t count) {
  std::scoped_lock lock(mu_);
  if (block_errors_.empty()) return;
  const std::uint64_t end = first + count;
  auto it = block_errors_.upper_bound(first);
  if (it != block_errors_.begin()) --it;
  while (it != block_errors_.end() && it->first < end) {
    auto [start, entry] = *it;
    std::uint64_t stop = start + entry.first;
    if (stop <= first) {   // wholly before the cleared range
      ++it;
      continue;
    }
    it = block_errors_.erase(it);
    // Keep what lies outside [first, end).
    if (start < first) block_errors_[start] = {first - start, entry.second};
    if (stop > end) {
      block_errors_[end] = {stop - end, entry.second};
      break;
    }
  }
}

std::optional<Error> RemoteObject::BlockError(std::uint64_t index) const {
  std::scoped_lock lock(mu_);
  auto it = block_errors_.upper_bound(index);
  if (it == block_errors_.begin()) return std::nullopt;
  --it;
  if (index >= it->first + it->second.first) return std::nullopt;
  return *it->second.second;
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

}  // namespace getmfs::fetch
