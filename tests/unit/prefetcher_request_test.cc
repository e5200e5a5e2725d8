// The read-ahead policy on its own, its sizes: the read-ahead request size rule, a random
// read's requests spread over the connections, and how far a stream reads ahead when it
// begins (from the start, or after a seek: no more than it has read).
#include "fs/prefetcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "unit/prefetcher_test_helpers.h"

namespace getmfs::fs {
namespace {

// ---- the read-ahead request size ----

// Five contiguous 16 MiB reads from 0 of a 1 GiB object: windows 1, 2, 4, 8 then 16 MiB (each
// capped at max_readahead and the share). A 16 MiB read goes past everything requested
// before, so the fifth read's ahead is the whole window after it: [80 MiB, 80 MiB + window),
// from block 1280, in requests of window / in_flight_limit, at least min(window, 4 MiB), at
// most max_request, in whole blocks.
struct RequestCase {
  std::string name;
  std::uint64_t max_readahead = 16 * MiB;
  std::uint64_t max_request = 8 * MiB;
  std::uint64_t share = 1 * GiB;
  int in_flight = 4;
  std::uint64_t window = 0;              // expected, after the fifth read
  std::uint64_t demand_max_blocks = 0;   // expected: window / block, at most max_request / block
  BlockRange ahead;                      // expected
};

std::ostream& operator<<(std::ostream& os, const RequestCase& c) { return os << c.name; }

const std::vector<RequestCase> kRequests = {
    // 1 MiB / 4 is below the window, which is below 4 MiB: one request of the window.
    {.name = "AWindowBelowFourMiBIsOneRequest", .max_readahead = 1 * MiB, .in_flight = 4,
     .window = 1 * MiB, .demand_max_blocks = 16, .ahead = {1280, 1295, 16}},
    {.name = "ATwoMiBWindowIsNotSplit", .max_readahead = 2 * MiB, .in_flight = 8,
     .window = 2 * MiB, .demand_max_blocks = 32, .ahead = {1280, 1311, 32}},
    // 16 MiB / 4 = 4 MiB.
    {.name = "TheWindowIsSplitAmongTheRequestsInFlight", .in_flight = 4,
     .window = 16 * MiB, .demand_max_blocks = 128, .ahead = {1280, 1535, 64}},
    // 16 MiB / 16 = 1 MiB, raised to 4 MiB.
    {.name = "RequestsAreAtLeastFourMiB", .in_flight = 16,
     .window = 16 * MiB, .demand_max_blocks = 128, .ahead = {1280, 1535, 64}},
    // 16 MiB / 1, lowered to 8 MiB.
    {.name = "RequestsAreAtMostMaxRequest", .in_flight = 1,
     .window = 16 * MiB, .demand_max_blocks = 128, .ahead = {1280, 1535, 128}},
    {.name = "RequestsAreAtMostASmallerMaxRequest", .max_request = 4 * MiB, .in_flight = 1,
     .window = 16 * MiB, .demand_max_blocks = 64, .ahead = {1280, 1535, 64}},
    // 16 MiB / 16 = 1 MiB; the 4 MiB floor gives way to a 2 MiB max_request.
    {.name = "MaxRequestWinsOverTheFourMiBFloor", .max_request = 2 * MiB, .in_flight = 16,
     .window = 16 * MiB, .demand_max_blocks = 32, .ahead = {1280, 1535, 32}},
    // 16 MiB / 3 = 5592405 bytes = 85.3 blocks.
    {.name = "RequestsAreWholeBlocks", .in_flight = 3,
     .window = 16 * MiB, .demand_max_blocks = 128, .ahead = {1280, 1535, 85}},
    // A share of 10^7 bytes caps the fifth window at 10^7 (152.6 blocks): ahead up to byte
    // 80 MiB + 10^7 - 1, in block 1432; requests of 5 * 10^6 bytes = 76.3 blocks.
    {.name = "AWindowCappedByTheShareNeedNotBeWholeBlocks", .share = 10'000'000, .in_flight = 2,
     .window = 10'000'000, .demand_max_blocks = 128, .ahead = {1280, 1432, 76}},
};

class PrefetcherRequest : public ::testing::TestWithParam<RequestCase> {};

TEST_P(PrefetcherRequest, FifthReadRequestsTheWindowAheadInRequestsOfTheRuleSize) {
  const RequestCase& c = GetParam();
  Prefetcher prefetcher(
      {.block_size = kBlock, .max_readahead = c.max_readahead, .max_request = c.max_request, .streaming = false,
       .initial_window = 1 * MiB, .initial_window_after_seek = 1 * MiB});
  PrefetchBudget budget{.share = c.share, .active_streams = 0, .in_flight_limit = c.in_flight};
  PrefetchPlan plan;
  for (std::uint64_t i = 0; i < 5; ++i) {
    plan = prefetcher.OnRead(i * 16 * MiB, (i + 1) * 16 * MiB, 1 * GiB, budget);
    ASSERT_TRUE(plan.sequential) << "read " << i + 1;
    budget.active_streams = 1;   // this handle's stream, from the first read on
  }
  EXPECT_EQ(prefetcher.window(), c.window);
  EXPECT_EQ(plan.demand, (BlockRange{1024, 1279, c.demand_max_blocks}));
  ASSERT_TRUE(plan.ahead.has_value());
  EXPECT_EQ(plan.ahead->first, c.ahead.first);
  EXPECT_EQ(plan.ahead->last, c.ahead.last);
  EXPECT_EQ(plan.ahead->max_blocks, c.ahead.max_blocks);
}

INSTANTIATE_TEST_SUITE_P(Prefetcher, PrefetcherRequest, ::testing::ValuesIn(kRequests),
                         [](const ::testing::TestParamInfo<RequestCase>& param) { return param.param.name; });

// What samtools' region query looks like to the file system (its header, the end-of-file
// marker, then a region the kernel reads ahead of in growing requests): what it fetches
// ahead of the region is at most what it read of it.
TEST(Prefetcher, ARandomReadIsSpreadOverTheConnectionsInRequestsOfAtLeast256KiB) {
  struct Case {
    std::uint64_t size;
    int in_flight;
    std::uint64_t by;   // blocks per request
  };
  for (const Case& c : std::vector<Case>{{4 * KiB, 16, 1}, {128 * KiB, 16, 2}, {1 * MiB, 1, 16}, {1 * MiB, 4, 4},
                                         {1 * MiB, 16, 4}, {4 * MiB, 4, 16}, {32 * MiB, 2, 128}}) {
    SCOPED_TRACE(std::to_string(c.size) + " bytes, " + std::to_string(c.in_flight) + " in flight");
    Prefetcher prefetcher(Limits());
    PrefetchBudget budget{.share = 1 * GiB, .active_streams = 0, .in_flight_limit = c.in_flight};
    PrefetchPlan plan = prefetcher.OnRead(40 * MiB, 40 * MiB + c.size, 1 * GiB, budget);
    EXPECT_FALSE(plan.sequential);
    EXPECT_EQ(plan.demand.max_blocks, c.by);
  }
}

TEST(Prefetcher, AStreamAfterASeekReadsAheadNoMoreThanItHasRead) {
  Prefetcher prefetcher({.block_size = kBlock, .max_readahead = 64 * MiB});
  PrefetchBudget budget{.share = 1 * GiB, .active_streams = 0, .in_flight_limit = 4};
  const std::uint64_t size = 28 * MiB;
  prefetcher.OnRead(0, 128 * KiB, size, budget);          // the header
  prefetcher.OnRead(size - 2606, size, size, budget);     // the end-of-file marker
  budget.active_streams = prefetcher.sequential_streams();
  std::uint64_t region = 12 * MiB + 36880, offset = region, ahead_end = 0;
  for (std::uint64_t n : {std::uint64_t{36880}, 64 * KiB, 128 * KiB, 256 * KiB, 512 * KiB, 1 * MiB}) {
    PrefetchPlan plan = prefetcher.OnRead(offset, offset + n, size, budget);
    if (plan.ahead) ahead_end = std::max(ahead_end, (plan.ahead->last + 1) * kBlock);
    offset += n;
    budget.active_streams = prefetcher.sequential_streams();
  }
  std::uint64_t read = offset - region;
  EXPECT_GT(ahead_end, offset) << "the region's stream should read ahead";
  EXPECT_LE(ahead_end - offset, read) << "read ahead " << (ahead_end - offset) << " after reading " << read;
}

TEST(Prefetcher, ByDefaultAStreamFromTheStartBeginsWithOneMiBAndOneAfterASeekWithAQuarter) {
  Prefetcher prefetcher({.block_size = kBlock, .max_readahead = 64 * MiB});
  PrefetchBudget budget{.share = 1 * GiB, .active_streams = 0, .in_flight_limit = 4};
  // The handle's first read, at 0 (cat): 1 MiB ahead at once.
  PrefetchPlan plan = prefetcher.OnRead(0, 128 * KiB, 1 * GiB, budget);
  ASSERT_TRUE(plan.ahead.has_value());
  EXPECT_EQ(*plan.ahead, (BlockRange{2, 17, 16}));
  EXPECT_EQ(prefetcher.window(), 1 * MiB);
  // A stream after a seek: a quarter MiB (capped by the 256 KiB it has read).
  Prefetcher seeker({.block_size = kBlock, .max_readahead = 64 * MiB});
  seeker.OnRead(8 * MiB, 8 * MiB + 128 * KiB, 1 * GiB, budget);
  plan = seeker.OnRead(8 * MiB + 128 * KiB, 8 * MiB + 256 * KiB, 1 * GiB, budget);
  ASSERT_TRUE(plan.sequential);
  EXPECT_EQ(seeker.window(), 256 * KiB);
}

}  // namespace
}  // namespace getmfs::fs
