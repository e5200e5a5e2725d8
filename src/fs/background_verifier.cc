// `--verify-random background`: completing randomly read objects at low priority
// (background_verifier.h).
#include "fs/background_verifier.h"

#include <algorithm>
#include <chrono>

#include "fetch/block_fetcher.h"
#include "util/log.h"

namespace getmfs::fs {

using Clock = std::chrono::steady_clock;

BackgroundVerifier::BackgroundVerifier(std::shared_ptr<fetch::Engine> engine, std::uint64_t run_bytes)
    : engine_(std::move(engine)), run_bytes_(run_bytes), thread_([this] { Loop(); }) {}

BackgroundVerifier::~BackgroundVerifier() {
  {
    std::scoped_lock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void BackgroundVerifier::Add(const fetch::ObjectPtr& object) {
  {
    std::scoped_lock lock(mu_);
    if (stopping_ || !queued_.insert(object.get()).second) return;
    queue_.push_back(object);
  }
  cv_.notify_all();
}

bool BackgroundVerifier::PoolIdle() const {
  auto stats = engine_->pool().Stats();
  return stats.queued == 0 && stats.in_flight < std::max(1, stats.in_flight_limit);
}

void BackgroundVerifier::Loop() {
  for (;;) {
    fetch::ObjectPtr object;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      object = queue_.front();
    }
    Complete(object);
    std::scoped_lock lock(mu_);
    queue_.pop_front();
    queued_.erase(object.get());
  }
}

void BackgroundVerifier::Complete(const fetch::ObjectPtr& object) {
  const std::uint64_t run = std::max<std::uint64_t>(1, run_bytes_ / object->block_size());
  auto& fetcher = engine_->fetcher();
  for (;;) {
    {
      std::unique_lock lock(mu_);
      // Readers first: wait while the pool has work of theirs.
      cv_.wait_for(lock, std::chrono::milliseconds(10), [&] { return stopping_; });
      if (stopping_) return;
    }
    fetch::Verdict verdict = object->verdict();
    if (verdict != fetch::Verdict::kPending || object->failure()) return;
    if (!PoolIdle()) continue;
    Status step = fetcher.AdvanceVerification(object, run, Clock::now() + std::chrono::seconds(60));
    if (!step) {
      LOG(Warning) << object->path() << ": background verification stopped: " << step.error().message;
      return;
    }
  }
}

}  // namespace getmfs::fs
