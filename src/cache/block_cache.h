// The block cache: fixed-size slots in one shared-memory segment, keyed by object identity +
// version + block index (never by URL). Slots being filled and slots pinned by readers are
// never evicted; other ready slots are evicted least recently used first. Each ready block
// carries the CRC32C computed by the worker as the bytes arrived; CheckedView() verifies it
// again when the block is read out.
#ifndef GETMFS_CACHE_BLOCK_CACHE_H_
#define GETMFS_CACHE_BLOCK_CACHE_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cache/segment.h"
#include "util/error.h"

namespace getmfs::cache {

struct BlockKey {
  std::uint64_t object = 0;   // identity of (object, version), assigned by the engine
  std::uint64_t index = 0;    // block number within the object
  bool operator==(const BlockKey&) const = default;
};

struct BlockKeyHash {
  std::size_t operator()(const BlockKey& k) const {
    return std::hash<std::uint64_t>()(k.object * 0x9E3779B97F4A7C15ull ^ k.index);
  }
};

struct CacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t evictions = 0;
  std::uint64_t crc_failures = 0;
  std::size_t slots = 0;
  std::size_t slots_used = 0;    // filling or ready
  std::size_t slots_pinned = 0;
};

class BlockCache {
 public:
  enum class State { kFree, kFilling, kReady };

  // capacity is rounded down to whole blocks (at least 2).
  static Result<std::shared_ptr<BlockCache>> Create(std::size_t capacity, std::size_t block_size);

  std::size_t block_size() const { return block_size_; }
  std::size_t slot_count() const { return slots_.size(); }
  int fd() const { return segment_.fd(); }
  std::size_t region_size() const { return segment_.size(); }
  std::uint64_t SlotOffset(int slot) const { return static_cast<std::uint64_t>(slot) * block_size_; }
  std::uint8_t* SlotData(int slot) const { return segment_.data() + SlotOffset(slot); }

  struct Acquired {
    int slot = -1;          // -1: every slot is pinned or filling (the caller must wait or fail)
    bool created = false;   // true: the caller must fill it (Fill/Abandon)
    State state = State::kFree;
  };
  // Finds the block, or reserves a slot for it in state kFilling. Either way the slot comes
  // back pinned once for the caller (Unpin when done with it).
  Acquired AcquirePinned(const BlockKey& key);
  // Pins the block if it is cached (filling or ready); -1 otherwise.
  int FindPinned(const BlockKey& key);
  // The block's state without pinning it or counting a hit: kFree when not cached.
  State StateOf(const BlockKey& key) const;
  // kFilling -> kReady with its length and CRC32C.
  void Fill(int slot, std::size_t length, std::uint32_t crc32c);
  // kFilling -> removed (the fetch failed); waiters see the slot vanish.
  void Abandon(int slot);
  void Pin(int slot);
  // cold: the block is not wanted again soon (a sequential reader is past it, and the
  // kernel's page cache holds its bytes), so its slot is the next one reused: before blocks
  // fetched ahead that nobody has read yet, and before slots never used. A streaming reader
  // so cycles through a few warm slots instead of touching (and paying to allocate) every
  // page of the cache.
  void Unpin(int slot, bool cold = false);
  State state(int slot) const;
  std::size_t length(int slot) const;
  std::uint32_t crc32c(int slot) const;
  // Waits until the pinned slot is no longer filling, or the deadline. Returns its state
  // (kFree when the fetch was abandoned).
  State WaitNotFilling(int slot, std::chrono::steady_clock::time_point deadline);
  // Re-computes the block's CRC32C; on mismatch drops the block and returns false.
  bool Verify(int slot);
  // Removes every ready, unpinned block of the object and marks the others to be dropped
  // when unpinned (used when its checksum failed or it changed).
  void DropObject(std::uint64_t object);
  // Wakes WaitNotFilling callers (e.g. on shutdown or cancellation).
  void NotifyAll();
  CacheStats Stats() const;

 private:
  struct Slot {
    BlockKey key;
    State state = State::kFree;
    std::size_t length = 0;
    std::uint32_t crc32c = 0;
    int pins = 0;
    bool doomed = false;            // drop when the last pin goes
    std::list<int>::iterator lru;   // valid when in lru_ (ready and unpinned)
    bool in_lru = false;
    bool cold = false;              // in lru_ at its front (Unpin(cold))
    int waiters = 0;                // threads in WaitNotFilling for this slot
  };
  BlockCache(Segment segment, std::size_t block_size, std::size_t slots);
  void RemoveLocked(int slot);
  void UnlinkLruLocked(Slot& s);
  int TakeFreeSlotLocked();

  Segment segment_;
  std::size_t block_size_;
  mutable std::mutex mu_;
  // Readers wait for a filling slot on one of these (by slot number), and a fill wakes only
  // that one, and only when someone waits for the slot: one condition variable for the
  // whole cache woke every waiting reader for every block.
  static constexpr int kWaitShards = 64;
  std::condition_variable& WaitShard(int slot) { return cvs_[static_cast<std::size_t>(slot) % kWaitShards]; }
  void WakeLocked(int slot);
  std::condition_variable cvs_[kWaitShards];
  std::vector<Slot> slots_;
  std::vector<int> free_;
  std::list<int> lru_;   // front = least recently used
  std::unordered_map<BlockKey, int, BlockKeyHash> index_;
  CacheStats stats_;
};

}  // namespace getmfs::cache

#endif  // GETMFS_CACHE_BLOCK_CACHE_H_
