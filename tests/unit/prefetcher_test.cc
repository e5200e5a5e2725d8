// The read-ahead policy on its own: tables of access patterns on one handle (reads, budget)
// and the plan each read gets (sequential or random, the change in the handle's streams, the
// demand and read-ahead ranges, the streaming GET's range), and the window the handle keeps.
#include "fs/prefetcher.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "unit/prefetcher_test_helpers.h"

namespace getmfs::fs {
namespace {

// The plan as text, so a mismatch shows both in full. The demand's request size is left out
// for a sequential read in a streaming mode: the stream range replaces the range requests.
std::string Describe(const PrefetchPlan& plan, bool demand_size) {
  std::ostringstream out;
  out << (plan.sequential ? "sequential" : "random") << " delta " << plan.streams_delta << " demand ["
      << plan.demand.first << ", " << plan.demand.last << "]";
  if (demand_size) out << " by " << plan.demand.max_blocks;
  out << " ahead ";
  if (plan.ahead) {
    out << "[" << plan.ahead->first << ", " << plan.ahead->last << "] by " << plan.ahead->max_blocks;
  } else {
    out << "none";
  }
  out << " stream ";
  if (plan.stream) {
    out << "[" << plan.stream->from << ", " << plan.stream->until << ")";
  } else {
    out << "none";
  }
  return out.str();
}

struct Step {
  std::uint64_t offset = 0, size = 0;
  PrefetchPlan plan;          // expected
  std::uint64_t window = 0;   // expected window() after the read
};

struct PatternCase {
  std::string name;
  std::vector<Step> reads;
  int streams_after = 0;   // sequential_streams() after the last read
  std::uint64_t object_size = 64 * MiB;   // 1024 blocks
  PrefetchLimits limits = Limits();
  std::uint64_t share = 1 * GiB;   // large enough not to cap a window unless a case says so
  int other_streams = 0;           // sequential streams of other handles of the mount
  int in_flight = 4;
};

std::ostream& operator<<(std::ostream& os, const PatternCase& c) { return os << c.name; }

// Plans, in blocks of 64 KiB. Budget: share 1 GiB, 4 requests in flight, unless a case says
// otherwise. Request sizes at 4 in flight (window / 4, at least min(window, 4 MiB), at most
// 8 MiB): window 1 MiB -> 16 blocks, 2 MiB -> 32, 4 MiB -> 64, 8 MiB -> 64.
// Demand request sizes: window / block, at most 128: 1 MiB -> 16, 2 MiB -> 32, 4 MiB -> 64,
// 8 MiB -> 128. A random read's own blocks: spread over the 4 in flight, in requests of at
// least 256 KiB (4 blocks) or the whole read if smaller: 1 block -> 1, 2 -> 2, 16 -> 4.
const std::vector<PatternCase> kPatterns = {
    {.name = "SequentialFromZeroDoublesTheWindowUpToMaxReadahead",
     .reads =
         {
             // The handle's first read, at 0: a stream with the initial 1 MiB window; ahead
             // [1 MiB, 2 MiB) is one whole 1 MiB request.
             {0, 1 * MiB, {true, 1, {0, 15, 16}, BlockRange{16, 31, 16}}, 1 * MiB},
             // Window 2 MiB: ahead [2 MiB, 1 MiB + 3 MiB = 4 MiB), one 2 MiB request.
             {1 * MiB, 1 * MiB, {true, 0, {16, 31, 32}, BlockRange{32, 63, 32}}, 2 * MiB},
             // Window 4 MiB: only [4 MiB, 3 MiB + 4 MiB = 7 MiB) is due, less than one 4 MiB
             // request: wait.
             {2 * MiB, 1 * MiB, {true, 0, {32, 47, 64}, std::nullopt}, 4 * MiB},
             // Window 8 MiB (max_readahead): [4 MiB, 12 MiB) in 4 MiB requests.
             {3 * MiB, 1 * MiB, {true, 0, {48, 63, 128}, BlockRange{64, 191, 64}}, 8 * MiB},
             // The window stays at 8 MiB; 1, 2, then 3 MiB due past 12 MiB: wait.
             {4 * MiB, 1 * MiB, {true, 0, {64, 79, 128}, std::nullopt}, 8 * MiB},
             {5 * MiB, 1 * MiB, {true, 0, {80, 95, 128}, std::nullopt}, 8 * MiB},
             {6 * MiB, 1 * MiB, {true, 0, {96, 111, 128}, std::nullopt}, 8 * MiB},
             // Exactly one request due: [12 MiB, 7 MiB + 8 MiB = 16 MiB).
             {7 * MiB, 1 * MiB, {true, 0, {112, 127, 128}, BlockRange{192, 255, 64}}, 8 * MiB},
         },
     .streams_after = 1},
    {.name = "TheKernelsFirstReadsOutOfOrderStillStartAWholeFileStream",
     .reads =
         {
             // 1 MiB comes before 0 (the kernel's read-ahead is asynchronous): random.
             {1 * MiB, 1 * MiB, {false, 0, {16, 31, 4}, std::nullopt}, 0},
             // 0 among the first reads: a stream from the start, window 1 MiB. It goes on from
             // its own end, 1 MiB: the 1 MiB read before it is within the slack.
             {0, 1 * MiB, {true, 1, {0, 15, 16}, BlockRange{16, 31, 16}}, 1 * MiB},
             // 2 MiB: 1 MiB past its end: the same stream, window 2 MiB (no cap from reads
             // since it began: it began at 0).
             {2 * MiB, 1 * MiB, {true, 0, {32, 47, 32}, BlockRange{48, 79, 32}}, 2 * MiB},
         },
     .streams_after = 1},
    {.name = "ReadAheadIsClippedToTheLastBlockAndIssuedWhenItReachesTheEnd",
     // 2.5 MiB + 1000 bytes: blocks 0..40, the last one partial.
     .reads =
         {
             {0, 1 * MiB, {true, 1, {0, 15, 16}, BlockRange{16, 31, 16}}, 1 * MiB},
             // Window 2 MiB: the rest, [2 MiB, end), is less than a 2 MiB request but
             // reaches the end of the object: requested, up to block 40.
             {1 * MiB, 1 * MiB, {true, 0, {16, 31, 32}, BlockRange{32, 40, 32}}, 2 * MiB},
             // The last bytes: everything is requested already.
             {2 * MiB, 512 * KiB + 1000, {true, 0, {32, 40, 64}, std::nullopt}, 4 * MiB},
         },
     .streams_after = 1,
     .object_size = 2 * MiB + 512 * KiB + 1000},
    {.name = "ForwardGapsWithinTheSlackAreSequentialLargerOnesRandom",
     .reads =
         {
             // [0, 128 KiB); ahead [128 KiB, 1152 KiB).
             {0, 128 * KiB, {true, 1, {0, 1, 16}, BlockRange{2, 17, 16}}, 1 * MiB},
             // 512 KiB skipped: window 2 MiB; [1152 KiB, 768 KiB + 2 MiB = 2816 KiB) is
             // less than a 2 MiB request: wait.
             {640 * KiB, 128 * KiB, {true, 0, {10, 11, 32}, std::nullopt}, 2 * MiB},
             // Exactly 1 MiB (kSlack) skipped: still the stream; window 4 MiB, ahead
             // [1920 KiB, 1920 KiB + 4 MiB = 6016 KiB).
             {1792 * KiB, 128 * KiB, {true, 0, {28, 29, 64}, BlockRange{30, 93, 64}}, 4 * MiB},
             // 1 MiB + 64 KiB skipped: random; the stream keeps its window.
             {3008 * KiB, 128 * KiB, {false, 0, {47, 48, 2}, std::nullopt}, 4 * MiB},
         },
     .streams_after = 1},
    {.name = "SmallBackwardStepContinuesTheStreamLargeOneIsRandom",
     .reads =
         {
             {0, 1 * MiB, {true, 1, {0, 15, 16}, BlockRange{16, 31, 16}}, 1 * MiB},
             {1 * MiB, 1 * MiB, {true, 0, {16, 31, 32}, BlockRange{32, 63, 32}}, 2 * MiB},
             // 512 KiB back from 2 MiB (the kernel's reads out of order): the stream goes on,
             // window 4 MiB; [4 MiB, 1600 KiB + 4 MiB) is less than a 4 MiB request.
             {1536 * KiB, 64 * KiB, {true, 0, {24, 24, 64}, std::nullopt}, 4 * MiB},
             // 1.5 MiB back: random.
             {512 * KiB, 64 * KiB, {false, 0, {8, 8, 1}, std::nullopt}, 4 * MiB},
             // 1 MiB past where the stream stopped (2 MiB: the backward step did not move it
             // back): still the stream; window 8 MiB, ahead [4 MiB, 4 MiB + 8 MiB = 12 MiB).
             {3 * MiB, 1 * MiB, {true, 0, {48, 63, 128}, BlockRange{64, 191, 64}}, 8 * MiB},
         },
     .streams_after = 1},
    {.name = "RandomReadsFetchTheirOwnBlocksOneRequestEach",
     .reads =
         {
             // Not at 0: random. 10 MiB + 100 is in block 160, its end in block 161.
             {10 * MiB + 100, 64 * KiB, {false, 0, {160, 161, 2}, std::nullopt}, 0},
             {30 * MiB, 128 * KiB, {false, 0, {480, 481, 2}, std::nullopt}, 0},
             {50 * MiB, 128 * KiB, {false, 0, {800, 801, 2}, std::nullopt}, 0},
             {20 * MiB, 128 * KiB, {false, 0, {320, 321, 2}, std::nullopt}, 0},
             // At 0, but past the handle's first four reads (kOpeningReads): random too.
             {0, 128 * KiB, {false, 0, {0, 1, 2}, std::nullopt}, 0},
         },
     .streams_after = 0},
    {.name = "TwoInterleavedSequentialReadersEachKeepAWindow",
     .reads =
         {
             // A from 0.
             {0, 1 * MiB, {true, 1, {0, 15, 16}, BlockRange{16, 31, 16}}, 1 * MiB},
             // B from 32 MiB: random at first.
             {32 * MiB, 1 * MiB, {false, 0, {512, 527, 4}, std::nullopt}, 1 * MiB},
             // A: window 2 MiB.
             {1 * MiB, 1 * MiB, {true, 0, {16, 31, 32}, BlockRange{32, 63, 32}}, 2 * MiB},
             // B goes on: a second sequential stream, window 1 MiB, ahead [34 MiB, 35 MiB).
             {33 * MiB, 1 * MiB, {true, 1, {528, 543, 16}, BlockRange{544, 559, 16}}, 2 * MiB},
             // A: window 4 MiB; [4 MiB, 7 MiB) is less than a 4 MiB request.
             {2 * MiB, 1 * MiB, {true, 0, {32, 47, 64}, std::nullopt}, 4 * MiB},
             // B: window 2 MiB, ahead [35 MiB, 37 MiB).
             {34 * MiB, 1 * MiB, {true, 0, {544, 559, 32}, BlockRange{560, 591, 32}}, 4 * MiB},
         },
     .streams_after = 2},
    {.name = "AReadNearAStreamContinuesItEvenNearerTheLastRandomRead",
     .reads =
         {
             // A from 0.
             {0, 1 * MiB, {true, 1, {0, 15, 16}, BlockRange{16, 31, 16}}, 1 * MiB},
             // B at 2304 KiB, 1280 KiB past A: random.
             {2304 * KiB, 64 * KiB, {false, 0, {36, 36, 1}, std::nullopt}, 1 * MiB},
             // A goes on to 2 MiB, 320 KiB short of where B stopped.
             {1 * MiB, 1 * MiB, {true, 0, {16, 31, 32}, BlockRange{32, 63, 32}}, 2 * MiB},
             // Within the slack of both, nearer B: A's all the same (the kernel's read-ahead
             // comes out of order, and a stream must not be split in two). A's window doubles
             // to 4 MiB; [4 MiB, 6528 KiB) is less than a 4 MiB request.
             {2368 * KiB, 64 * KiB, {true, 0, {37, 37, 64}, std::nullopt}, 4 * MiB},
             // A read far from A and right after B: a stream of its own now.
             {2432 * KiB + 8 * MiB, 64 * KiB, {false, 0, {166, 166, 1}, std::nullopt}, 4 * MiB},
             {2496 * KiB + 8 * MiB, 64 * KiB, {true, 1, {167, 167, 2}, BlockRange{168, 169, 2}}, 4 * MiB},
         },
     .streams_after = 2},
    {.name = "ResumingWhereItStoppedContinuesResumingFarAwayStartsOver",
     .reads =
         {
             {0, 1 * MiB, {true, 1, {0, 15, 16}, BlockRange{16, 31, 16}}, 1 * MiB},
             {1 * MiB, 1 * MiB, {true, 0, {16, 31, 32}, BlockRange{32, 63, 32}}, 2 * MiB},
             // Resumes where it stopped: the window goes on doubling.
             {2 * MiB, 1 * MiB, {true, 0, {32, 47, 64}, std::nullopt}, 4 * MiB},
             // Resumes at 40 MiB: random.
             {40 * MiB, 1 * MiB, {false, 0, {640, 655, 4}, std::nullopt}, 4 * MiB},
             // Right after it: a new sequential stream with the initial window, ahead
             // [42 MiB, 43 MiB).
             {41 * MiB, 1 * MiB, {true, 1, {656, 671, 16}, BlockRange{672, 687, 16}}, 4 * MiB},
         },
     .streams_after = 2},
    {.name = "OnlyTheLastRandomReadIsRemembered",
     .reads =
         {
             // A: sequential.
             {0, 1 * MiB, {true, 1, {0, 15, 16}, BlockRange{16, 31, 16}}, 1 * MiB},
             // B, C, D: random. Only D's end is remembered.
             {10 * MiB, 64 * KiB, {false, 0, {160, 160, 1}, std::nullopt}, 1 * MiB},
             {20 * MiB, 64 * KiB, {false, 0, {320, 320, 1}, std::nullopt}, 1 * MiB},
             {30 * MiB, 64 * KiB, {false, 0, {480, 480, 1}, std::nullopt}, 1 * MiB},
             // Right after B: random (B is forgotten); now this read is the one remembered.
             {10 * MiB + 64 * KiB, 64 * KiB, {false, 0, {161, 161, 1}, std::nullopt}, 1 * MiB},
             // Right after D: random too.
             {30 * MiB + 64 * KiB, 64 * KiB, {false, 0, {481, 481, 1}, std::nullopt}, 1 * MiB},
             // Right after that: a second stream; begun after a seek, its window is the 128 KiB
             // it has read.
             {30 * MiB + 128 * KiB, 64 * KiB, {true, 1, {482, 482, 2}, BlockRange{483, 484, 2}}, 1 * MiB},
             // A is still there: window 2 MiB.
             {1 * MiB, 1 * MiB, {true, 0, {16, 31, 32}, BlockRange{32, 63, 32}}, 2 * MiB},
         },
     .streams_after = 2},
    {.name = "AFifthStreamTakesTheLeastRecentlyUsedOnesPlace",
     .reads =
         {
             // A from 0: ahead [64 KiB, 1088 KiB).
             {0, 64 * KiB, {true, 1, {0, 0, 16}, BlockRange{1, 16, 16}}, 1 * MiB},
             // B, C, D: random, then sequential on their second reads (begun after a seek:
             // windows of the 128 KiB each has read).
             {8 * MiB, 64 * KiB, {false, 0, {128, 128, 1}, std::nullopt}, 1 * MiB},
             {8 * MiB + 64 * KiB, 64 * KiB, {true, 1, {129, 129, 2}, BlockRange{130, 131, 2}}, 1 * MiB},
             {16 * MiB, 64 * KiB, {false, 0, {256, 256, 1}, std::nullopt}, 1 * MiB},
             {16 * MiB + 64 * KiB, 64 * KiB, {true, 1, {257, 257, 2}, BlockRange{258, 259, 2}}, 1 * MiB},
             {24 * MiB, 64 * KiB, {false, 0, {384, 384, 1}, std::nullopt}, 1 * MiB},
             {24 * MiB + 64 * KiB, 64 * KiB, {true, 1, {385, 385, 2}, BlockRange{386, 387, 2}}, 1 * MiB},
             // E: random, then sequential: four streams already, so it takes the least
             // recently used one's place, A's (one forgotten, one new). A's 1 MiB window goes.
             {32 * MiB, 64 * KiB, {false, 0, {512, 512, 1}, std::nullopt}, 1 * MiB},
             {32 * MiB + 64 * KiB, 64 * KiB, {true, 0, {513, 513, 2}, BlockRange{514, 515, 2}}, 128 * KiB},
             // Where A stopped: A is gone, so random.
             {64 * KiB, 64 * KiB, {false, 0, {1, 1, 1}, std::nullopt}, 128 * KiB},
             // B goes on: it has read 192 KiB, so its window is 192 KiB, not 256; ahead, only
             // [8448 KiB, 8576 KiB) is due, less than a 192 KiB request: wait.
             {8 * MiB + 128 * KiB, 64 * KiB, {true, 0, {130, 130, 3}, std::nullopt}, 192 * KiB},
         },
     .streams_after = 4},
    {.name = "TheShareIsSplitWithAnotherHandlesStream",
     // 4 MiB among 2 streams: a cap of 2 MiB.
     .reads =
         {
             {0, 1 * MiB, {true, 1, {0, 15, 16}, BlockRange{16, 31, 16}}, 1 * MiB},
             {1 * MiB, 1 * MiB, {true, 0, {16, 31, 32}, BlockRange{32, 63, 32}}, 2 * MiB},
             // Capped at 2 MiB: [4 MiB, 5 MiB) is less than a 2 MiB request.
             {2 * MiB, 1 * MiB, {true, 0, {32, 47, 32}, std::nullopt}, 2 * MiB},
             {3 * MiB, 1 * MiB, {true, 0, {48, 63, 32}, BlockRange{64, 95, 32}}, 2 * MiB},
         },
     .streams_after = 1,
     .share = 4 * MiB,
     .other_streams = 1},
    {.name = "TheShareIsSplitAmongFourStreams",
     // 4 MiB among 4 streams: the window stays at 1 MiB.
     .reads =
         {
             {0, 1 * MiB, {true, 1, {0, 15, 16}, BlockRange{16, 31, 16}}, 1 * MiB},
             {1 * MiB, 1 * MiB, {true, 0, {16, 31, 16}, BlockRange{32, 47, 16}}, 1 * MiB},
             {2 * MiB, 1 * MiB, {true, 0, {32, 47, 16}, BlockRange{48, 63, 16}}, 1 * MiB},
         },
     .streams_after = 1,
     .share = 4 * MiB,
     .other_streams = 3},
    {.name = "NoShareLeavesAOneBlockWindow",
     .reads =
         {
             {0, 64 * KiB, {true, 1, {0, 0, 1}, BlockRange{1, 1, 1}}, 64 * KiB},
             {64 * KiB, 64 * KiB, {true, 0, {1, 1, 1}, BlockRange{2, 2, 1}}, 64 * KiB},
         },
     .streams_after = 1,
     .share = 0},
    {.name = "StreamingCreditsTheWindowAheadOfTheRead",
     // until = ceil(end / block) + max(4, window / block), no range requests.
     .reads =
         {
             {0, 128 * KiB, {true, 1, {0, 1, 1}, std::nullopt, StreamRange{0, 2 + 16}}, 1 * MiB},
             {128 * KiB, 128 * KiB, {true, 0, {2, 3, 1}, std::nullopt, StreamRange{2, 4 + 32}}, 2 * MiB},
             {256 * KiB, 128 * KiB, {true, 0, {4, 5, 1}, std::nullopt, StreamRange{4, 6 + 64}}, 4 * MiB},
             // Ends in block 7 (484 KiB): credited from block 8 on.
             {384 * KiB, 100 * KiB, {true, 0, {6, 7, 1}, std::nullopt, StreamRange{6, 8 + 128}}, 8 * MiB},
         },
     .streams_after = 1,
     .limits = Limits(/*streaming=*/true)},
    {.name = "StreamingCreditsAtLeastFourBlocks",
     // A share of 128 KiB: a window of 2 blocks.
     .reads =
         {
             {0, 128 * KiB, {true, 1, {0, 1, 1}, std::nullopt, StreamRange{0, 2 + 4}}, 128 * KiB},
             {128 * KiB, 128 * KiB, {true, 0, {2, 3, 1}, std::nullopt, StreamRange{2, 4 + 4}}, 128 * KiB},
         },
     .streams_after = 1,
     .limits = Limits(/*streaming=*/true),
     .share = 128 * KiB},
    {.name = "StreamingStopsAtTheEndOfTheObject",
     // 300 KiB: blocks 0..4, the last one partial.
     .reads =
         {
             {0, 128 * KiB, {true, 1, {0, 1, 1}, std::nullopt, StreamRange{0, 5}}, 1 * MiB},
             {128 * KiB, 172 * KiB, {true, 0, {2, 4, 1}, std::nullopt, StreamRange{2, 5}}, 2 * MiB},
         },
     .streams_after = 1,
     .object_size = 300 * KiB,
     .limits = Limits(/*streaming=*/true)},
    {.name = "StreamingRandomReadIsDemandOnly",
     .reads =
         {
             {10 * MiB, 64 * KiB, {false, 0, {160, 160, 1}, std::nullopt, std::nullopt}, 0},
             // Right after it: a stream from block 161; begun after a seek, its window is the
             // 128 KiB read, so at least 4 blocks are credited: up to 162 + 4.
             {10 * MiB + 64 * KiB, 64 * KiB, {true, 1, {161, 161, 1}, std::nullopt, StreamRange{161, 166}}, 128 * KiB},
         },
     .streams_after = 1,
     .limits = Limits(/*streaming=*/true)},
};

class PrefetcherPattern : public ::testing::TestWithParam<PatternCase> {};

TEST_P(PrefetcherPattern, PlansEachReadAsTheTableSays) {
  const PatternCase& c = GetParam();
  Prefetcher prefetcher(c.limits);
  int own = 0;   // the handle's sequential streams, as the file system counts them
  for (std::size_t i = 0; i < c.reads.size(); ++i) {
    const Step& step = c.reads[i];
    SCOPED_TRACE("read " + std::to_string(i + 1) + ": [" + std::to_string(step.offset) + ", " +
                 std::to_string(step.offset + step.size) + ")");
    PrefetchBudget budget{.share = c.share, .active_streams = c.other_streams + own, .in_flight_limit = c.in_flight};
    PrefetchPlan plan = prefetcher.OnRead(step.offset, step.offset + step.size, c.object_size, budget);
    bool demand_size = !(c.limits.streaming && step.plan.sequential);
    EXPECT_EQ(Describe(plan, demand_size), Describe(step.plan, demand_size));
    own += plan.streams_delta;
    EXPECT_EQ(prefetcher.sequential_streams(), own) << "streams_delta disagrees with sequential_streams()";
    EXPECT_EQ(prefetcher.window(), step.window);
  }
  EXPECT_EQ(prefetcher.sequential_streams(), c.streams_after);
}

INSTANTIATE_TEST_SUITE_P(Prefetcher, PrefetcherPattern, ::testing::ValuesIn(kPatterns),
                         [](const ::testing::TestParamInfo<PatternCase>& param) { return param.param.name; });

}  // namespace
}  // namespace getmfs::fs
