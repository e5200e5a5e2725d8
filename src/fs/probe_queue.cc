#include "fs/probe_queue.h"

#include <algorithm>
#include <chrono>

#include "util/log.h"

namespace getmfs::fs {

ProbeQueue::ProbeQueue(http::ProbeOptions options, int threads) : options_(std::move(options)) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Loop(); });
}

ProbeQueue::~ProbeQueue() {
  {
    std::scoped_lock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ProbeQueue::Push(const std::vector<fetch::ObjectPtr>& objects) {
  if (objects.empty()) return;
  {
    std::scoped_lock lock(mu_);
    queue_.insert(queue_.end(), objects.begin(), objects.end());
  }
  cv_.notify_all();
}

void ProbeQueue::Loop() {
  for (;;) {
    fetch::ObjectPtr object;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      object = std::move(queue_.front());
      queue_.pop_front();
    }
    Status probed = object->EnsureProbed(options_, std::chrono::steady_clock::now() + std::chrono::seconds(120));
    if (!probed) LOG(Warning) << object->path() << ": " << probed.error().message;
  }
}

}  // namespace getmfs::fs
