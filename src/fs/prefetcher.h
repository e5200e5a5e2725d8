// The read-ahead policy of one open file, as a pure type: told of each read and of the
// budget, it says which blocks to fetch. No I/O and no locks (the caller holds the handle's
// lock and issues the ranges through the BlockFetcher).
//
// A handle follows up to kStreams sequential readers at once, so two readers interleaved on
// one file descriptor each keep a window. A read that starts within kSlack of where a stream
// stopped continues it (so do the kernel's slightly out-of-order read-ahead requests). A new
// stream starts with a read at offset 0 among the handle's first kOpeningReads, or with a read that
// continues the last random read (within kSlack of its end, and not within kSlack of a
// stream: the kernel's out-of-order read-ahead must not split a stream in two); a new stream
// takes the place of
// the least recently used one when all kStreams are in use. A stream's window starts at
// limits.initial_window (initial_window_after_seek when it began after a seek) and doubles
// with every read, up to its cap: the smaller of
// --max-readahead and an equal share of the read-ahead budget among the sequential streams of
// the mount. A stream that began after a seek (not at offset 0) never
// reads further ahead than it has read since it began: a reader that reads a region and
// seeks on (samtools, zip and Parquet readers) fetches at most about twice what it read. Any
// other read is random: it fetches its own blocks, one request per block, nothing ahead,
// and only the last one is remembered (so random reads do not pass for sequential ones more
// often than with one reader).
#ifndef GETMFS_FS_PREFETCHER_H_
#define GETMFS_FS_PREFETCHER_H_

#include <array>
#include <cstdint>
#include <optional>

namespace getmfs::fs {

struct BlockRange {
  std::uint64_t first = 0, last = 0;   // blocks, inclusive
  std::uint64_t max_blocks = 1;        // per request
  bool operator==(const BlockRange&) const = default;
};

struct StreamRange {
  std::uint64_t from = 0, until = 0;   // blocks [from, until) for the handle's streaming GET
  bool operator==(const StreamRange&) const = default;
};

struct PrefetchPlan {
  bool sequential = false;             // the read continued (or started) a sequential stream
  int streams_delta = 0;               // change in this handle's number of sequential streams
  BlockRange demand;                   // the read's own blocks
  std::optional<BlockRange> ahead;     // read-ahead (range requests)
  std::optional<StreamRange> stream;   // streaming modes: credit these instead of any range
};

// Fixed for a mount.
struct PrefetchLimits {
  std::uint64_t block_size = 64 << 10;
  std::uint64_t max_readahead = 64 << 20;   // largest window
  std::uint64_t max_request = 8 << 20;      // largest single range request
  bool streaming = false;                   // --concurrency 1 or none: one GET per reader
  // The first window of a stream that begins with the handle's first read, at 0 (cat, cp:
  // it is large at once, as fetch latency must be hidden from the start), and of one that
  // begins after a seek (small: such a reader may read a little and seek on).
  std::uint64_t initial_window = 1 << 20;
  std::uint64_t initial_window_after_seek = 256 << 10;
};

// As things are at this read.
struct PrefetchBudget {
  std::uint64_t share = 0;        // bytes of cache all sequential streams may read ahead
  int active_streams = 0;         // sequential streams of the mount, this handle's included
  int in_flight_limit = 1;        // requests the pool runs at once now
};

class Prefetcher {
 public:
  static constexpr std::uint64_t kSlack = 1 << 20;
  static constexpr std::uint64_t kMinRequest = 4 << 20;   // read-ahead requests, unless the window is smaller
  static constexpr std::uint64_t kMinRandomRequest = 256 << 10;   // a random read's requests, unless it is smaller
  static constexpr int kStreams = 4;
  static constexpr std::uint64_t kOpeningReads = 4;   // a read at 0 among these starts a stream

  explicit Prefetcher(PrefetchLimits limits) : limits_(limits) {}

  // A read of [offset, end) of an object of object_size bytes (offset < end <= object_size).
  PrefetchPlan OnRead(std::uint64_t offset, std::uint64_t end, std::uint64_t object_size, const PrefetchBudget& budget);
  // Sequential streams the handle has now (to count out when it closes).
  int sequential_streams() const;
  // The largest window of its streams (0: random access).
  std::uint64_t window() const;

 private:
  struct Stream {
    bool used = false;
    std::uint64_t next = 0;               // where it reads next
    std::uint64_t window = 0;             // read-ahead bytes; 0: not sequential
    std::uint64_t prefetched_until = 0;   // requested up to here
    std::uint64_t last_use = 0;
    bool from_start = false;              // began at offset 0 (a whole-file reader)
    std::uint64_t consumed = 0;           // bytes read since it began
  };
  // The sequential stream this read continues, or nullptr.
  Stream* Continued(std::uint64_t offset);
  // Blocks per request for a random read's own blocks.
  std::uint64_t RandomRequestBlocks(const BlockRange& demand, std::uint64_t max_blocks, const PrefetchBudget& budget) const;
  // A slot for a new stream: an unused one, else the least recently used (forgotten: one
  // stream less, in plan->streams_delta).
  Stream& Recycled(PrefetchPlan* plan);
  void GrowWindow(Stream& stream, const PrefetchBudget& budget);
  void PlanAhead(Stream& stream, std::uint64_t end, std::uint64_t object_size, const PrefetchBudget& budget,
                 PrefetchPlan* plan);

  PrefetchLimits limits_;
  std::array<Stream, kStreams> streams_{};   // sequential streams (window > 0)
  std::optional<std::uint64_t> last_random_end_;
  std::uint64_t last_random_start_ = 0;
  std::uint64_t reads_ = 0;
};

}  // namespace getmfs::fs

#endif  // GETMFS_FS_PREFETCHER_H_
