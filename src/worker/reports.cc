// A fetch loop's reports to the pool (reports.h).
#include "worker/reports.h"

namespace getmfs::worker {

void Reporter::Block(std::uint64_t job, std::uint64_t index, std::uint32_t crc, std::uint64_t length) {
  if (pending_.empty() && partial_.empty()) pending_since_ = Clock::now();
  pending_bytes_ += length;
  pending_.push_back({job, index, crc});
  // What was said of this block while it was arriving is out of date now.
  std::erase_if(partial_, [job](const auto& p) { return p.first == job; });
}

void Reporter::Partial(std::uint64_t job, std::uint64_t bytes) {
  if (pending_.empty() && partial_.empty()) pending_since_ = Clock::now();
  for (auto& [id, count] : partial_) {
    if (id == job) {
      count = bytes;
      return;
    }
  }
  partial_.emplace_back(job, bytes);
}

void Reporter::Done(std::uint64_t job, const std::optional<Error>& error, int retries, bool ranges_ignored) {
  FlushBlocks();   // a job's blocks are always reported before its end
  nlohmann::json done = {{"t", "done"}, {"id", job}, {"ok", !error}, {"retries", retries},
                         {"ranges_ignored", ranges_ignored}};
  if (error) {
    done["kind"] = getm::ErrorKindName(error->kind);
    done["msg"] = error->message;
    done["http"] = error->http_status;
  }
  Send(done);
}

void Reporter::Cancelled(std::uint64_t job, int retries) {
  FlushBlocks();
  Send({{"t", "done"}, {"id", job}, {"ok", false}, {"cancelled", true}, {"kind", "internal"}, {"msg", "cancelled"},
        {"http", 0}, {"retries", retries}, {"ranges_ignored", false}});
}

void Reporter::FlushIfDue(Clock::time_point now) {
  bool any = !pending_.empty() || !partial_.empty();
  if (any && (pending_bytes_ >= kReportBytes || now - pending_since_ >= kReportDelay)) FlushBlocks();
}

Reporter::Clock::time_point Reporter::due() const {
  return pending_.empty() && partial_.empty() ? Clock::time_point::max() : pending_since_ + kReportDelay;
}

void Reporter::FlushBlocks() {
  if (pending_.empty() && partial_.empty()) return;
  auto list = nlohmann::json::array();
  for (const auto& [job, index, crc] : pending_) list.push_back({job, index, crc});
  nlohmann::json message = {{"t", "blocks"}, {"b", std::move(list)}};
  if (!partial_.empty()) {
    auto partial = nlohmann::json::array();
    for (const auto& [job, bytes] : partial_) partial.push_back({job, bytes});
    message["p"] = std::move(partial);
  }
  Send(message);
  pending_.clear();
  partial_.clear();
  pending_bytes_ = 0;
}

void Reporter::Send(const nlohmann::json& message) {
  if (!outbox_.Send(control_fd_, message)) alive_ = false;
}

}  // namespace getmfs::worker
