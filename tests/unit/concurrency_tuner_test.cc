// The concurrency tuner against simulated origins: each request of 4 MiB takes the time the
// origin's model gives for the number of requests in flight.
#include "worker/concurrency_tuner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>

namespace getmfs::worker {
namespace {

using Clock = ConcurrencyTuner::Clock;
constexpr double kMiB = 1024.0 * 1024.0;
constexpr std::uint64_t kRequest = 4 << 20;

// Runs `requests` requests through the tuner, `limit()` at a time, each moving kRequest
// bytes at `per_connection(n)` bytes/s when n are in flight; a finished request's
// connection starts the next at once. Returns the limit after each request.
// (SimulateSized: the i-th request moves size(i) bytes in seconds(n, bytes).)
std::vector<int> SimulateSized(ConcurrencyTuner& tuner, int requests, const std::function<std::uint64_t(int)>& size,
                               const std::function<double(int, std::uint64_t)>& seconds, Clock::time_point* clock) {
  std::vector<int> limits;
  Clock::time_point now = *clock;
  int started = 0;
  std::vector<std::uint64_t> sizes;   // of the requests in flight, by position
  auto duration = [&](int n) {
    sizes.push_back(size(started++));
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds(n, sizes.back())));
  };
  // In flight: when each started and ends. Start staggered, as a reader's window does.
  std::vector<std::pair<Clock::time_point, Clock::time_point>> flight;
  const auto stagger = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(seconds(tuner.limit(), kRequest) / tuner.limit()));
  for (int i = 0; i < tuner.limit(); ++i) {
    auto start = now + stagger * i;
    flight.push_back({start, start + duration(tuner.limit())});
  }
  for (int done = 0; done < requests; ++done) {
    auto first = std::min_element(flight.begin(), flight.end(),
                                  [](const auto& a, const auto& b) { return a.second < b.second; });
    now = first->second;
    auto dispatched = first->first;
    std::uint64_t bytes = sizes[static_cast<std::size_t>(first - flight.begin())];
    sizes.erase(sizes.begin() + (first - flight.begin()));
    flight.erase(first);
    bool judged = false;
    tuner.OnJobDone(bytes, dispatched, now, static_cast<int>(flight.size()) + 1, /*busy=*/true, &judged);
    while (static_cast<int>(flight.size()) < tuner.limit()) flight.push_back({now, now + duration(tuner.limit())});
    limits.push_back(tuner.limit());
  }
  *clock = now;
  return limits;
}

std::vector<int> Simulate(ConcurrencyTuner& tuner, int requests, const std::function<double(int)>& per_connection,
                          Clock::time_point* clock) {
  return SimulateSized(
      tuner, requests, [](int) { return kRequest; },
      [&](int n, std::uint64_t bytes) { return static_cast<double>(bytes) / per_connection(n); }, clock);
}

// The limit in force most of the time over the second half of a run, and its share.
std::pair<int, double> Mostly(const std::vector<int>& limits) {
  std::map<int, int> count;
  for (std::size_t i = limits.size() / 2; i < limits.size(); ++i) ++count[limits[i]];
  auto most = std::max_element(count.begin(), count.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  return {most->first, static_cast<double>(most->second) / static_cast<double>(limits.size() - limits.size() / 2)};
}

ConcurrencyTuner::Options Options(int max) {
  ConcurrencyTuner::Options options;
  options.max = max;
  options.min = 2;
  return options;
}

// How many requests ended before the limit first reached `limit`, and whether it stayed.
std::pair<int, bool> Reached(const std::vector<int>& limits, int limit) {
  auto first = std::find(limits.begin(), limits.end(), limit);
  if (first == limits.end()) return {-1, false};
  return {static_cast<int>(first - limits.begin()), std::all_of(first, limits.end(), [&](int l) { return l == limit; })};
}

TEST(ConcurrencyTuner, StartsAtFourWithinItsBounds) {
  EXPECT_EQ(ConcurrencyTuner(Options(16)).limit(), 4);
  EXPECT_EQ(ConcurrencyTuner(Options(3)).limit(), 3);
}

TEST(ConcurrencyTuner, TakesEveryConnectionOnceEachIsCapped) {
  // 16 MiB/s per response, whatever the number (nginx limit_rate): more is always better,
  // and the tuner sees it from the first two requests.
  ConcurrencyTuner tuner(Options(16));
  auto clock = Clock::now();
  auto limits = Simulate(tuner, 2000, [](int) { return 16 * kMiB; }, &clock);
  auto [when, stayed] = Reached(limits, 16);
  EXPECT_EQ(when, 1);
  EXPECT_TRUE(stayed);
}

TEST(ConcurrencyTuner, AWindowsFirstSmallRequestsDoNotMakeACappedOriginLookFast) {
  // nginx limit_rate 16m with sendfile_max_chunk 256k: the first 256 KiB of a response come
  // at once. A reader's window starts with small requests (64 KiB to 1 MiB), which so look
  // fast; the tuner must still give every connection to an origin that caps each one.
  ConcurrencyTuner tuner(Options(16));
  auto clock = Clock::now();
  auto size = [](int i) -> std::uint64_t { return i < 24 ? (64u << 10) << (i % 5) : kRequest; };
  auto seconds = [](int, std::uint64_t bytes) {
    double after_burst = static_cast<double>(bytes > (256u << 10) ? bytes - (256u << 10) : 0);
    return 0.0005 + after_burst / (16 * kMiB);
  };
  auto limits = SimulateSized(tuner, 300, size, seconds, &clock);
  auto [when, stayed] = Reached(limits, 16);
  EXPECT_GE(when, 0);
  EXPECT_LT(when, 24);   // within the small requests
  EXPECT_TRUE(stayed);
  for (int i = 0; i < when; ++i) EXPECT_GE(limits[static_cast<std::size_t>(i)], 4) << "request " << i;
}

TEST(ConcurrencyTuner, JudgesALargeSlowRequestBeforeItEnds) {
  // getmfs get splits 256 MiB into 16 requests of 16 MiB: at 16 MiB/s each ends after a
  // second. Their progress says "slow" a tenth of a second in.
  ConcurrencyTuner tuner(Options(16));
  auto start = Clock::now();
  bool judged[4] = {};
  for (int ms = 10; ms <= 100 && tuner.limit() < 16; ms += 10) {
    for (bool& j : judged) {
      tuner.OnProgress(static_cast<std::uint64_t>(16 * kMiB * ms / 1000), start, start + std::chrono::milliseconds(ms), &j);
    }
  }
  EXPECT_EQ(tuner.limit(), 16);
  // Fast progress never counts as slow, and each request is judged once.
  ConcurrencyTuner fast(Options(16));
  bool once = false;
  fast.OnProgress(64 << 20, start, start + std::chrono::milliseconds(150), &once);
  EXPECT_TRUE(once);
  fast.OnProgress(0, start, start + std::chrono::milliseconds(300), &once);
  fast.OnProgress(0, start, start + std::chrono::milliseconds(300), &once);
  EXPECT_EQ(fast.limit(), 4);
}

TEST(ConcurrencyTuner, FewerConnectionsWhenTheyShareOneFastBottleneck) {
  // 1.5 GiB/s in all, shared: each of n connections gets 1/n of it, minus 2% per extra one.
  ConcurrencyTuner tuner(Options(16));
  auto clock = Clock::now();
  auto shared = [](int n) { return 1536 * kMiB / n * (1.0 - 0.02 * (n - 1)); };
  auto limits = Simulate(tuner, 400, shared, &clock);
  EXPECT_EQ(Mostly(limits).first, 2);
  // And it stays there: the tries of 4 fail, are undone, and come less and less often.
  limits = Simulate(tuner, 20000, shared, &clock);
  EXPECT_EQ(Mostly(limits).first, 2);
  EXPECT_GT(Mostly(limits).second, 0.97);
}

TEST(ConcurrencyTuner, GoesBackUpWhenFewerConnectionsMoveLess) {
  // Fast connections that do not share a bottleneck (80 MiB/s each, a cloud store): halving
  // the count halves the throughput, so a try of 8 is undone.
  ConcurrencyTuner tuner(Options(16));
  auto clock = Clock::now();
  auto limits = Simulate(tuner, 20000, [](int) { return 80 * kMiB; }, &clock);
  EXPECT_EQ(Mostly(limits).first, 16);
  EXPECT_GT(Mostly(limits).second, 0.97) << "tries of fewer connections should be rare";
}

TEST(ConcurrencyTuner, ReturnsToTheMaximumWhenConnectionsTurnSlow) {
  ConcurrencyTuner tuner(Options(16));
  auto clock = Clock::now();
  auto limits = Simulate(tuner, 400, [](int n) { return 1536 * kMiB / n; }, &clock);
  ASSERT_LT(Mostly(limits).first, 16);
  limits = Simulate(tuner, 200, [](int) { return 8 * kMiB; }, &clock);
  EXPECT_EQ(Mostly(limits).first, 16);
  EXPECT_EQ(Mostly(limits).second, 1.0);
}

TEST(ConcurrencyTuner, ClimbsBackUpWhenMoreConnectionsPay) {
  ConcurrencyTuner tuner(Options(16));
  auto clock = Clock::now();
  auto limits = Simulate(tuner, 400, [](int n) { return 1536 * kMiB / n; }, &clock);
  ASSERT_EQ(Mostly(limits).first, 2);
  // Now each connection does 40 MiB/s on its own (not slow enough to go back to the maximum
  // at once): the tries of more connections succeed, one after another.
  limits = Simulate(tuner, 20000, [](int) { return 40 * kMiB; }, &clock);
  EXPECT_EQ(Mostly(limits).first, 16);
}

TEST(ConcurrencyTuner, LearnsNothingFromRequestsThatRunAlone) {
  ConcurrencyTuner tuner(Options(16));
  auto now = Clock::now();
  // One request at a time (random reads): nothing is learned, however fast they are.
  for (int i = 0; i < 1000; ++i) {
    bool judged = false;
    tuner.OnJobDone(kRequest, now, now + std::chrono::milliseconds(1), 1, /*busy=*/false, &judged);
    now += std::chrono::milliseconds(2);
  }
  EXPECT_EQ(tuner.limit(), 4);
}

TEST(ConcurrencyTuner, AFixedConcurrencyNeverMoves) {
  ConcurrencyTuner::Options options = Options(4);
  options.min = 4;
  ConcurrencyTuner tuner(options);
  auto clock = Clock::now();
  auto limits = Simulate(tuner, 400, [](int n) { return 1536 * kMiB / n; }, &clock);
  for (int limit : limits) EXPECT_EQ(limit, 4);
}

}  // namespace
}  // namespace getmfs::worker
