// Background probes for a mount (probe_queue.h).
#include "fs/probe_queue.h"

#include <algorithm>
#include <chrono>

#include "util/log.h"

namespace getmfs::fs {

ProbeQueue::ProbeQueue(http::ProbeOptions options, int threads) : options_(std::move(options)) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Loop(); });
}

ProbeQueue::~ProbeQueue() {
  queue_.Close();
  for (auto& t : threads_) t.join();
}

void ProbeQueue::Push(const std::vector<fetch::ObjectPtr>& objects) {
  for (const auto& object : objects) queue_.Push(object);
}

void ProbeQueue::Loop() {
  while (auto object = queue_.Pop()) {
    Status probed = (*object)->EnsureProbed(options_, std::chrono::steady_clock::now() + std::chrono::seconds(120));
    if (!probed) LOG(Warning) << (*object)->path() << ": " << probed.error().message;
  }
}

}  // namespace getmfs::fs
