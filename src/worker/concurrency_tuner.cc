// The ConcurrencyTuner: how many requests the mount keeps in flight (concurrency_tuner.h).
#include "worker/concurrency_tuner.h"

#include <algorithm>
#include <numeric>

#include "util/log.h"

namespace getmfs::worker {

ConcurrencyTuner::ConcurrencyTuner(Options options) : options_(options), hold_(options.first_hold) {
  options_.max = std::max(1, options_.max);
  options_.min = std::clamp(options_.min, 1, options_.max);
  limit_ = std::clamp(options_.start, options_.min, options_.max);
}

void ConcurrencyTuner::StartEpoch(Clock::time_point now) {
  epoch_start_ = now;
  samples_ = 0;
  request_bytes_ = 0;
  request_seconds_ = 0;
  large_bytes_ = 0;
  large_seconds_ = 0;
  in_flight_sum_ = 0;
}

void ConcurrencyTuner::SetLimit(int limit, Clock::time_point now) {
  limit_ = std::clamp(limit, options_.min, options_.max);
  baseline_.clear();
  StartEpoch(now);
}

void ConcurrencyTuner::Judge(bool slow, Clock::time_point now) {
  // Slow connections: parallelism is what moves data. To the maximum without waiting for
  // an epoch (two in a row, so one stalled request on a fast origin does not decide).
  slow_in_a_row_ = slow ? slow_in_a_row_ + 1 : 0;
  if (slow_in_a_row_ < 2 || limit_ >= options_.max) return;
  LOG(Debug) << "concurrency " << limit_ << " -> " << options_.max << ": requests move under "
             << static_cast<long>(options_.fast_connection / (1 << 20)) << " MiB/s";
  slow_in_a_row_ = 0;
  phase_ = Phase::kSteady;
  SetLimit(options_.max, now);
  hold_epochs_ = options_.first_hold;
}

void ConcurrencyTuner::OnProgress(std::uint64_t bytes, Clock::time_point dispatched, Clock::time_point now,
                                  bool* judged) {
  if (*judged || options_.max <= options_.min || now - dispatched < kJudgeAfter) return;
  *judged = true;
  Judge(static_cast<double>(bytes) < std::chrono::duration<double>(now - dispatched).count() * options_.fast_connection,
        now);
}

void ConcurrencyTuner::OnJobDone(std::uint64_t bytes, Clock::time_point dispatched, Clock::time_point done,
                                 int in_flight, bool busy, bool* judged) {
  if (options_.max <= options_.min) return;
  const double seconds = std::chrono::duration<double>(done - dispatched).count();
  if (!*judged && bytes >= (1u << 20)) {
    *judged = true;
    const int before = limit_;
    Judge(static_cast<double>(bytes) < seconds * options_.fast_connection, done);
    if (limit_ != before) return;
  }
  // Requests started under an earlier limit (or before an idle gap) say nothing about this.
  if (dispatched < epoch_start_) return;
  if (!busy) {
    // The pipeline drained: an idle gap would count as slowness. Measure afresh.
    StartEpoch(done);
    return;
  }
  request_bytes_ += static_cast<double>(bytes);
  request_seconds_ += seconds;
  if (bytes >= (1u << 20)) {
    large_bytes_ += static_cast<double>(bytes);
    large_seconds_ += seconds;
  }
  in_flight_sum_ += std::max(1, in_flight);
  if (samples_ == 0) first_done_ = done;
  last_done_ = done;
  ++samples_;
  // An epoch: a request per connection and then some, and at least epoch_time, so that
  // one slow request does not decide.
  if (samples_ > std::max(limit_, 4) && last_done_ - first_done_ >= options_.epoch_time && request_seconds_ > 0) {
    Evaluate(done);
  }
}

void ConcurrencyTuner::Evaluate(Clock::time_point now) {
  // Weighted by bytes: small requests (a window's first ones) finish in a burst or a round
  // trip and say little about a connection's pace.
  const double per_request = request_bytes_ / request_seconds_;
  const double throughput = per_request * in_flight_sum_ / samples_;
  // Whether connections are fast, from requests of 1 MiB or more only: a small one is mostly
  // a round trip or a server's first burst (0: none this epoch, so no try of fewer).
  const double large_pace = large_seconds_ > 0 ? large_bytes_ / large_seconds_ : 0;
  LOG(Debug) << "concurrency " << limit_ << ": " << static_cast<long>(throughput / (1 << 20)) << " MiB/s, "
             << static_cast<long>(per_request / (1 << 20)) << " MiB/s per request ("
             << (phase_ == Phase::kTryingFewer ? "trying fewer" : phase_ == Phase::kTryingMore ? "trying more" : "steady")
             << ")";
  StartEpoch(now);
  if (!warmed_up_) {
    // The first epoch includes connection set-up and the windows' first small requests:
    // not comparable.
    warmed_up_ = true;
    return;
  }

  if (phase_ != Phase::kSteady) {
    EndTry(throughput, now);
    return;
  }

  if (large_seconds_ > 0 && large_pace < options_.fast_connection / 2 && limit_ < options_.max) {
    // Slow connections: parallelism is what moves data. Back to the maximum at once.
    SetLimit(options_.max, now);
    hold_epochs_ = options_.first_hold;
    return;
  }
  baseline_.push_back(throughput);
  if (baseline_.size() > 3) baseline_.erase(baseline_.begin());
  if (hold_epochs_ > 0) {
    --hold_epochs_;
    return;
  }
  StartTry(large_pace, now);
}

void ConcurrencyTuner::EndTry(double throughput, Clock::time_point now) {
  const bool fewer = phase_ == Phase::kTryingFewer;
  const bool kept = fewer ? throughput >= 0.85 * previous_throughput_ : throughput >= 1.15 * previous_throughput_;
  phase_ = Phase::kSteady;
  if (kept) {
    last_failed_ = Phase::kSteady;
    last_kept_ = fewer ? Phase::kTryingFewer : Phase::kTryingMore;
    hold_ = options_.first_hold;
    hold_epochs_ = 0;   // keep climbing
    baseline_.assign(1, throughput);
  } else {
    last_kept_ = Phase::kSteady;
    last_failed_ = fewer ? Phase::kTryingFewer : Phase::kTryingMore;
    SetLimit(previous_limit_, now);
    hold_epochs_ = hold_;
    hold_ = std::min(hold_ * 2, options_.max_hold);
  }
}

void ConcurrencyTuner::StartTry(double large_pace, Clock::time_point now) {
  bool can_fewer = limit_ > options_.min && large_pace >= options_.fast_connection;
  bool can_more = limit_ < options_.max;
  if (can_fewer && can_more) {
    // Keep going the way the last kept try went; else try the other way than the one
    // that failed last.
    can_fewer = last_kept_ == Phase::kTryingFewer ||
                (last_kept_ != Phase::kTryingMore && last_failed_ != Phase::kTryingFewer);
    can_more = !can_fewer;
  }
  if (!can_fewer && !can_more) return;
  previous_limit_ = limit_;
  previous_throughput_ = std::accumulate(baseline_.begin(), baseline_.end(), 0.0) / static_cast<double>(baseline_.size());
  phase_ = can_fewer ? Phase::kTryingFewer : Phase::kTryingMore;
  SetLimit(can_fewer ? limit_ / 2 : limit_ * 2, now);
}

}  // namespace getmfs::worker
