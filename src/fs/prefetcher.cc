// The read-ahead policy of an open file (prefetcher.h).
#include "fs/prefetcher.h"

#include <algorithm>

namespace getmfs::fs {

namespace {
std::uint64_t Distance(std::uint64_t a, std::uint64_t b) { return a > b ? a - b : b - a; }
}  // namespace

Prefetcher::Stream* Prefetcher::Continued(std::uint64_t offset) {
  Stream* best = nullptr;
  for (Stream& s : streams_) {
    if (!s.used || Distance(offset, s.next) > kSlack) continue;
    if (best == nullptr || Distance(offset, s.next) < Distance(offset, best->next)) best = &s;
  }
  return best;
}

Prefetcher::Stream& Prefetcher::Recycled(PrefetchPlan* plan) {
  Stream* oldest = &streams_[0];
  for (Stream& s : streams_) {
    if (!s.used) return s;
    if (s.last_use < oldest->last_use) oldest = &s;
  }
  --plan->streams_delta;   // a sequential stream forgotten
  return *oldest;
}

void Prefetcher::GrowWindow(Stream& stream, const PrefetchBudget& budget) {
  // The streams share the budget equally; this one counts whether or not it had a window.
  int readers = std::max(1, budget.active_streams - (stream.window != 0 ? 1 : 0) + 1);
  std::uint64_t cap = std::max<std::uint64_t>(
      limits_.block_size, std::min<std::uint64_t>(limits_.max_readahead, budget.share / static_cast<std::uint64_t>(readers)));
  if (!stream.from_start) cap = std::min(cap, std::max<std::uint64_t>(limits_.block_size, stream.consumed));
  std::uint64_t initial = stream.from_start ? limits_.initial_window : limits_.initial_window_after_seek;
  stream.window = stream.window == 0 ? std::min(initial, cap) : std::min(cap, stream.window * 2);
}

PrefetchPlan Prefetcher::OnRead(std::uint64_t offset, std::uint64_t end, std::uint64_t object_size,
                                const PrefetchBudget& budget) {
  PrefetchPlan plan;
  const std::uint64_t bs = limits_.block_size;
  const std::uint64_t max_blocks = std::max<std::uint64_t>(1, limits_.max_request / bs);
  // The kernel's first reads of a file come slightly out of order: any of the first few at
  // 0 is the start of a reader that reads on, most likely (cat, cp).
  bool opening = reads_ < kOpeningReads && offset == 0;
  ++reads_;
  Stream* stream = Continued(offset);
  plan.demand = {offset / bs, (end - 1) / bs, 1};
  if (stream == nullptr) {
    // So does a reader that continues the last random read.
    bool continues_random = last_random_end_ && Distance(offset, *last_random_end_) <= kSlack;
    if (!opening && !continues_random) {
      last_random_start_ = offset;
      last_random_end_ = end;
      plan.demand.max_blocks = RandomRequestBlocks(plan.demand, max_blocks, budget);
      return plan;
    }
    std::uint64_t next = opening ? end : *last_random_end_;
    // A stream that covers the start of the file is a whole-file reader's: no seek before it.
    bool from_start = opening || last_random_start_ == 0;
    std::uint64_t before = opening ? 0 : *last_random_end_ - last_random_start_;   // the read it continues
    last_random_end_.reset();
    stream = &Recycled(&plan);
    *stream = Stream{};
    stream->used = true;
    stream->next = next;
    stream->from_start = from_start;
    stream->consumed = before;
    ++plan.streams_delta;
  }
  plan.sequential = true;
  stream->last_use = reads_;
  stream->consumed += end - offset;
  GrowWindow(*stream, budget);
  stream->next = std::max(stream->next, end);
  if (limits_.streaming) {
    std::uint64_t ahead = std::max<std::uint64_t>(4, stream->window / bs);
    std::uint64_t blocks = (object_size + bs - 1) / bs;
    plan.stream = StreamRange{offset / bs, std::min(blocks, (end + bs - 1) / bs + ahead)};
    return plan;
  }
  plan.demand.max_blocks = std::clamp<std::uint64_t>(stream->window / bs, 1, max_blocks);
  PlanAhead(*stream, end, object_size, budget, &plan);
  return plan;
}

// A random read's own blocks: spread over the connections the pool runs now (a large read
// arrives sooner in parallel), but in requests of at least kMinRandomRequest: a 1 MiB read is
// 4 requests of 256 KiB, not 16 of 64 KiB queued behind each other (and 16 GETs billed).
std::uint64_t Prefetcher::RandomRequestBlocks(const BlockRange& demand, std::uint64_t max_blocks,
                                              const PrefetchBudget& budget) const {
  const std::uint64_t bs = limits_.block_size;
  const std::uint64_t blocks = demand.last - demand.first + 1;
  const std::uint64_t connections = static_cast<std::uint64_t>(std::max(1, budget.in_flight_limit));
  const std::uint64_t floor = std::max<std::uint64_t>(1, kMinRandomRequest / bs);
  return std::clamp<std::uint64_t>(std::max((blocks + connections - 1) / connections, floor), 1,
                                   std::min(blocks, max_blocks));
}

void Prefetcher::PlanAhead(Stream& stream, std::uint64_t end, std::uint64_t object_size, const PrefetchBudget& budget,
                           PrefetchPlan* plan) {
  const std::uint64_t bs = limits_.block_size;
  const std::uint64_t max_blocks = std::max<std::uint64_t>(1, limits_.max_request / bs);
  std::uint64_t start = std::max(stream.prefetched_until, end);
  std::uint64_t target = std::min(object_size, end + stream.window);
  // Keep the pool's requests in flight (up to --concurrency, fewer when fewer move as much:
  // see ConcurrencyTuner) for one fast reader, but none smaller than kMinRequest (or the
  // window, or max_request): each request costs a round trip and scheduling of its own.
  auto concurrency = static_cast<std::uint64_t>(std::max(1, budget.in_flight_limit));
  std::uint64_t floor =
      std::max<std::uint64_t>(bs, std::min<std::uint64_t>({stream.window, kMinRequest, max_blocks * bs}));
  std::uint64_t request = std::clamp<std::uint64_t>(stream.window / concurrency, floor, std::max(floor, max_blocks * bs));
  request = request / bs * bs;
  // Wait until a whole request's worth is due (or the rest of the object).
  if (start >= target || (target - start < request && target < object_size)) return;
  plan->ahead = BlockRange{start / bs, (target - 1) / bs, request / bs};
  stream.prefetched_until = target;
}

int Prefetcher::sequential_streams() const {
  int n = 0;
  for (const Stream& s : streams_) n += s.used;
  return n;
}

std::uint64_t Prefetcher::window() const {
  std::uint64_t w = 0;
  for (const Stream& s : streams_) w = std::max(w, s.window);
  return w;
}

}  // namespace getmfs::fs
