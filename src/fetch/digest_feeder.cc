// The DigestFeeder: whole-object verification fed in order, off the pool's thread (digest_feeder.h).
#include "fetch/digest_feeder.h"

#include <algorithm>

#include "util/log.h"

namespace getmfs::fetch {
namespace {
// Threads hashing at once: one object is fed by one thread at a time (order), so more only
// help when several objects are read together.
constexpr int kMaxThreads = 4;
}  // namespace

DigestFeeder::DigestFeeder(cache::BlockCache& cache, std::size_t max_held_blocks, FailedHook on_failed)
    : cache_(cache), max_held_(max_held_blocks), on_failed_(std::move(on_failed)) {}

DigestFeeder::~DigestFeeder() {
  {
    std::scoped_lock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  for (auto& object : queue_) Forget(object);
}

void DigestFeeder::OnArrived(const ObjectPtr& object, std::uint64_t index, int slot, std::uint32_t crc32c,
                             bool force) {
  Verification& v = object->verification();
  bool failed = false;
  std::vector<int> unpin;
  {
    std::scoped_lock lock(v.mu_);
    if (v.verdict_ != Verdict::kPending || index >= v.have_.size()) return;
    if (!v.have_[index]) {
      v.have_[index] = true;
      v.crcs_[index] = crc32c;
      ++v.have_blocks_;
      v.have_bytes_ += object->BlockLength(index);
    }
    if (!v.needs_bytes_) {
      // CRC32C: combined from the blocks' CRCs, no pass over the bytes; cheap enough here.
      AdvanceCrcsLocked(*object, v);
      if (v.next_ == v.have_.size()) {
        SettleLocked(object, v, &unpin);
        failed = v.verdict_ == Verdict::kFailed;
      }
    } else if (index >= v.next_ && v.held_.count(index) == 0) {
      bool keep = index == v.next_ || force ||
                  (held_.load() < max_held_ && ComingLocked(*object, v, v.next_));
      if (keep) {
        cache_.Pin(slot);
        v.held_[index] = slot;
        ++held_;
      }
      if (index == v.next_) {
        v.stuck_ = false;
        Schedule(object);
      }
    }
  }
  Unpin(unpin);
  if (failed && on_failed_) on_failed_(object);
}

std::optional<std::uint64_t> DigestFeeder::Missing(const ObjectPtr& object) {
  Verification& v = object->verification();
  std::scoped_lock lock(v.mu_);
  if (v.verdict_ != Verdict::kPending || v.scheduled_ || v.next_ >= v.have_.size()) return std::nullopt;
  if (ComingLocked(*object, v, v.next_)) {
    // Held or cached but nobody feeding it (the block came back through another reader).
    if (v.needs_bytes_ && cache_.StateOf({object->cache_id(), v.next_}) == cache::BlockCache::State::kReady) {
      return v.next_;
    }
    return std::nullopt;
  }
  return v.next_;
}

void DigestFeeder::Forget(const ObjectPtr& object) {
  Verification& v = object->verification();
  std::vector<int> unpin;
  {
    std::scoped_lock lock(v.mu_);
    ReleaseHeldLocked(v, &unpin);
  }
  Unpin(unpin);
}

void DigestFeeder::Schedule(const ObjectPtr& object) {
  Verification& v = object->verification();
  if (v.scheduled_) return;
  v.scheduled_ = true;
  std::scoped_lock lock(mu_);
  if (stopping_) return;
  queue_.push_back(object);
  if (idle_ == 0 && static_cast<int>(threads_.size()) < kMaxThreads) {
    threads_.emplace_back([this] { Loop(); });
  } else {
    cv_.notify_one();
  }
}

void DigestFeeder::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_;
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (stopping_) return;
    ObjectPtr object = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Feed(object);
    lock.lock();
  }
}

void DigestFeeder::Feed(const ObjectPtr& object) {
  Verification& v = object->verification();
  for (;;) {
    int slot;
    std::uint64_t index;
    {
      std::unique_lock lock(v.mu_);
      std::vector<int> unpin;
      bool failed = false;
      if (v.verdict_ == Verdict::kPending && v.next_ == v.have_.size()) {
        SettleLocked(object, v, &unpin);
        failed = v.verdict_ == Verdict::kFailed;
      }
      slot = v.verdict_ == Verdict::kPending ? TakeNextLocked(*object, v) : -1;
      if (slot < 0) {
        v.scheduled_ = false;
        if (v.verdict_ != Verdict::kPending || !ComingLocked(*object, v, v.next_)) {
          // Nothing brings the next block: let go of the ones held after it.
          v.stuck_ = v.verdict_ == Verdict::kPending;
          ReleaseHeldLocked(v, &unpin);
          v.cv_.notify_all();
        }
        lock.unlock();
        Unpin(unpin);
        if (failed && on_failed_) on_failed_(object);
        return;
      }
      index = v.next_;
    }
    // Only this thread feeds the object now (scheduled_), and no lock is held.
    v.verifier_.Update(cache_.SlotData(slot), static_cast<std::size_t>(object->BlockLength(index)), v.crcs_[index]);
    cache_.Unpin(slot);
    std::scoped_lock lock(v.mu_);
    ++v.next_;
    v.cv_.notify_all();
  }
}

int DigestFeeder::TakeNextLocked(RemoteObject& object, Verification& v) {
  if (!v.have_[v.next_]) return -1;
  if (auto it = v.held_.find(v.next_); it != v.held_.end()) {
    int slot = it->second;
    v.held_.erase(it);
    --held_;
    return slot;
  }
  int slot = cache_.FindPinned({object.cache_id(), v.next_});
  if (slot < 0) return -1;
  if (cache_.state(slot) == cache::BlockCache::State::kReady && cache_.Verify(slot)) return slot;
  cache_.Unpin(slot);
  return -1;
}

void DigestFeeder::AdvanceCrcsLocked(RemoteObject& object, Verification& v) {
  while (v.next_ < v.have_.size() && v.have_[v.next_]) {
    v.verifier_.Update(nullptr, static_cast<std::size_t>(object.BlockLength(v.next_)), v.crcs_[v.next_]);
    ++v.next_;
  }
  v.cv_.notify_all();
}

void DigestFeeder::SettleLocked(const ObjectPtr& object, Verification& v, std::vector<int>* unpin) {
  Status verdict = v.verifier_.Finish();
  ReleaseHeldLocked(v, unpin);
  const auto& expected = v.verifier_.expected();
  if (verdict) {
    v.verdict_ = Verdict::kVerified;
    LOG(Info) << object->path() << ": verified (" << integrity::AlgorithmName(expected.algorithm) << " from "
              << expected.source << ")";
  } else {
    v.verdict_ = Verdict::kFailed;
    Error failure{ErrorKind::kIntegrity, object->path() + ": " + verdict.error().message};
    cache_.DropObject(object->cache_id());
    object->Fail(failure);
    // Who reads it reports the failure (get's exit status, the mount's EIO and log line).
    LOG(Info) << failure.message;
  }
  v.cv_.notify_all();
}

void DigestFeeder::ReleaseHeldLocked(Verification& v, std::vector<int>* unpin) {
  for (const auto& [index, slot] : v.held_) unpin->push_back(slot);
  held_ -= v.held_.size();
  v.held_.clear();
}

bool DigestFeeder::ComingLocked(const RemoteObject& object, const Verification& v, std::uint64_t index) const {
  if (v.held_.count(index) != 0) return true;
  return cache_.StateOf({object.cache_id(), index}) != cache::BlockCache::State::kFree;
}

void DigestFeeder::Unpin(const std::vector<int>& slots) {
  for (int slot : slots) cache_.Unpin(slot);
}

}  // namespace getmfs::fetch
