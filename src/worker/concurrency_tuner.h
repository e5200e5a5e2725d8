// How many range requests the pool keeps in flight, between a floor and --concurrency.
//
// Many connections pay when each one is slow (an origin that caps every response, a long
// round trip): aggregate throughput grows with their number. When each connection is fast
// (a local or nearby origin), more of them add nothing but per-connection overhead, and
// the head of a reader's window gets a smaller share of the bandwidth: one paced or stalled
// connection then holds up the reader while the others run ahead (measured on loopback:
// 4 MiB requests taking 2 ms to 100 ms at --concurrency 16).
//
// The tuner climbs the hill from measurements. While the pool is busy (its pipeline does
// not drain), it measures the throughput of the requests started at the current limit, an
// epoch at a time (one more request than the limit, and at least 20 ms), by Little's law:
// the bytes-weighted pace of one request times the requests running. (Bytes over the
// epoch's span is much noisier: requests end in clumps.) It is what the readers got,
// whether the origin or the readers set the pace; when a reader is the slower one, fewer
// connections serve it as well, and that is a fine outcome. When connections
// are fast it tries half as many and keeps that if the throughput holds (within 15% of the
// last epochs'); otherwise it tries twice as many and keeps that if the throughput grows
// (by 15% or more). A failed try is undone and the next one waits longer (2 epochs,
// doubling to 256, so a try that keeps failing costs under 1% of the time). The first
// epoch (connection set-up, the windows' first small requests) only warms up.
//
// It starts at 4 and goes to the maximum as soon as two requests in a row move slower than
// a fast connection (judged after 100 ms of a request, or at its end if it was 1 MiB or
// more): a capped or distant origin gets every connection a tenth of a second in, while a
// fast one never pays for 16 (a cloud store whose
// connections are fast but not shared climbs there by tries, in a few epochs).
#ifndef GETMFS_WORKER_CONCURRENCY_TUNER_H_
#define GETMFS_WORKER_CONCURRENCY_TUNER_H_

#include <chrono>
#include <cstdint>
#include <vector>

namespace getmfs::worker {

class ConcurrencyTuner {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    int max = 16;
    int min = 2;
    int start = 4;                                    // (at most max)
    double fast_connection = 32.0 * 1024 * 1024;   // bytes/s one request moves to count as fast
    std::chrono::milliseconds epoch_time{20};        // shortest measurement
    int first_hold = 2;                               // epochs after a failed try
    int max_hold = 256;
  };

  explicit ConcurrencyTuner(Options options);

  int limit() const { return limit_; }

  // A request that moved `bytes` between `dispatched` and `done` ended well, with
  // `in_flight` requests running (itself included). `busy`: others were in flight or queued
  // (false: the pipeline drained, and what comes next says nothing about throughput).
  void OnJobDone(std::uint64_t bytes, Clock::time_point dispatched, Clock::time_point done, int in_flight, bool busy,
                 bool* judged);
  // A request dispatched at `dispatched` has moved `bytes` by `now`. Once it has run
  // kJudgeAfter, its pace so far says whether connections are slow, without waiting for a
  // large request to end. `judged` (one per request, false at dispatch) makes it count once;
  // OnJobDone judges a request of 1 MiB or more that ended before.
  void OnProgress(std::uint64_t bytes, Clock::time_point dispatched, Clock::time_point now, bool* judged);
  static constexpr std::chrono::milliseconds kJudgeAfter{100};

 private:
  enum class Phase { kSteady, kTryingFewer, kTryingMore };
  void StartEpoch(Clock::time_point now);
  void Evaluate(Clock::time_point now);
  // A try has run an epoch at `throughput`: keeps its limit if the throughput bears it out,
  // else goes back to the limit before it and waits longer before the next try.
  void EndTry(double throughput, Clock::time_point now);
  // Tries half the limit or twice it, whichever way is open and promising (fewer only when
  // `large_pace` says connections are fast); none: the limit stays.
  void StartTry(double large_pace, Clock::time_point now);
  void SetLimit(int limit, Clock::time_point now);
  void Judge(bool slow, Clock::time_point now);

  Options options_;
  int limit_;
  Phase phase_ = Phase::kSteady;
  Phase last_failed_ = Phase::kSteady;   // the direction of the last try that was undone
  Phase last_kept_ = Phase::kSteady;     // the direction of the last try that was kept
  int previous_limit_ = 0;
  double previous_throughput_ = 0;
  int hold_;                       // epochs to wait after the next failed try
  int hold_epochs_ = 0;            // epochs left before the next try
  bool warmed_up_ = false;
  int slow_in_a_row_ = 0;          // requests judged slower than fast_connection
  std::vector<double> baseline_;   // throughput of the last epochs at this limit

  // The current epoch: requests dispatched since it began that ended while busy.
  Clock::time_point epoch_start_{};
  int samples_ = 0;
  Clock::time_point first_done_{}, last_done_{};
  double request_bytes_ = 0, request_seconds_ = 0;   // summed over its requests
  double large_bytes_ = 0, large_seconds_ = 0;       // over those of 1 MiB or more
  double in_flight_sum_ = 0;                          // requests running at each end
};

}  // namespace getmfs::worker

#endif  // GETMFS_WORKER_CONCURRENCY_TUNER_H_
