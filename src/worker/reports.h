// What a fetch loop tells the pool: finished blocks, in batches (1 MiB of them, or the
// oldest waited 1 ms), and each job's end, always after its blocks. Messages go out through
// an outbox: a pool that is slow to read never blocks the loop's transfers.
#ifndef GETMFS_WORKER_REPORTS_H_
#define GETMFS_WORKER_REPORTS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "util/error.h"
#include "worker/protocol.h"

namespace getmfs::worker {

class Reporter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Reporter(int control_fd) : control_fd_(control_fd) {}

  // Block `index` of job `job` is complete in its target, with its CRC32C.
  void Block(std::uint64_t job, std::uint64_t index, std::uint32_t crc, std::uint64_t length);
  // `bytes` of job `job`'s next block have arrived (it is not complete yet). Sent with the
  // next batch, the latest count per job: the pool tells a large block that is arriving
  // from a response that has stalled inside it.
  void Partial(std::uint64_t job, std::uint64_t bytes);
  // The job ended: ok (no error), failed, or cancelled.
  void Done(std::uint64_t job, const std::optional<Error>& error, int retries, bool ranges_ignored);
  void Cancelled(std::uint64_t job, int retries);
  // Sends the batch of blocks if it is worth a message by now.
  void FlushIfDue(Clock::time_point now);
  // When the batch will be due (time_point::max() when there is none).
  Clock::time_point due() const;
  // Sends what waits in the outbox. False when the pool is gone.
  bool Flush() { return outbox_.Flush(control_fd_) && alive_; }
  bool wants_write() const { return !outbox_.empty(); }

 private:
  void FlushBlocks();
  void Send(const nlohmann::json& message);

  // One message per block cost the supervisor a wake-up and a JSON parse per 64 KiB; a
  // reader waiting for the head of a 64 MiB read-ahead never notices the millisecond.
  static constexpr std::uint64_t kReportBytes = 1 << 20;
  static constexpr auto kReportDelay = std::chrono::milliseconds(1);

  int control_fd_;
  MessageOutbox outbox_;
  bool alive_ = true;
  struct BlockReport {
    std::uint64_t job, index;
    std::uint32_t crc;
  };
  std::vector<BlockReport> pending_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> partial_;   // (job, bytes of its next block)
  std::uint64_t pending_bytes_ = 0;
  Clock::time_point pending_since_{};   // when the oldest pending block finished
};

}  // namespace getmfs::worker

#endif  // GETMFS_WORKER_REPORTS_H_
