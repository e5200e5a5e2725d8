// The block cache: slots in one memfd segment, an index by (object, block), LRU eviction, pins, CRC re-checks.
#include "cache/block_cache.h"

#include "integrity/checksum.h"
#include "util/log.h"

namespace getmfs::cache {

Result<std::shared_ptr<BlockCache>> BlockCache::Create(std::size_t capacity, std::size_t block_size) {
  if (block_size == 0 || block_size % 4096 != 0) {
    return Error{ErrorKind::kBadInput, "block size " + std::to_string(block_size) +
                                           " is not a positive multiple of 4096 bytes"};
  }
  std::size_t slots = std::max<std::size_t>(2, capacity / block_size);
  auto segment = Segment::Create(slots * block_size);
  if (!segment) return segment.error();
  return std::shared_ptr<BlockCache>(new BlockCache(std::move(*segment), block_size, slots));
}

BlockCache::BlockCache(Segment segment, std::size_t block_size, std::size_t slots)
    : segment_(std::move(segment)), block_size_(block_size), slots_(slots) {
  free_.reserve(slots);
  for (std::size_t i = slots; i-- > 0;) free_.push_back(static_cast<int>(i));
  stats_.slots = slots;
}

void BlockCache::UnlinkLruLocked(Slot& s) {
  if (!s.in_lru) return;
  lru_.erase(s.lru);
  s.in_lru = false;
  s.cold = false;
}

int BlockCache::TakeFreeSlotLocked() {
  bool cold_first = !lru_.empty() && slots_[lru_.front()].cold;
  if (!free_.empty() && !cold_first) {
    int slot = free_.back();
    free_.pop_back();
    return slot;
  }
  if (lru_.empty()) return -1;
  int victim = lru_.front();
  RemoveLocked(victim);
  ++stats_.evictions;
  int slot = free_.back();
  free_.pop_back();
  return slot;
}

void BlockCache::RemoveLocked(int slot) {
  Slot& s = slots_[slot];
  UnlinkLruLocked(s);
  auto it = index_.find(s.key);
  if (it != index_.end() && it->second == slot) index_.erase(it);
  int waiters = s.waiters;   // (waiters hold pins, so this is 0; kept exact regardless)
  s = Slot{};
  s.waiters = waiters;
  free_.push_back(slot);
}

BlockCache::Acquired BlockCache::AcquirePinned(const BlockKey& key) {
  std::scoped_lock lock(mu_);
  auto it = index_.find(key);
  if (it != index_.end()) {
    Slot& s = slots_[it->second];
    UnlinkLruLocked(s);
    ++s.pins;
    ++stats_.hits;
    return {it->second, false, s.state};
  }
  int slot = TakeFreeSlotLocked();
  if (slot < 0) return {};
  ++stats_.misses;
  Slot& s = slots_[slot];
  s.key = key;
  s.state = State::kFilling;
  s.pins = 1;
  index_[key] = slot;
  return {slot, true, State::kFilling};
}

int BlockCache::FindPinned(const BlockKey& key) {
  std::scoped_lock lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return -1;
  Slot& s = slots_[it->second];
  UnlinkLruLocked(s);
  ++s.pins;
  ++stats_.hits;
  return it->second;
}

BlockCache::State BlockCache::StateOf(const BlockKey& key) const {
  std::scoped_lock lock(mu_);
  auto it = index_.find(key);
  return it == index_.end() ? State::kFree : slots_[it->second].state;
}

void BlockCache::Fill(int slot, std::size_t length, std::uint32_t crc32c) {
  {
    std::scoped_lock lock(mu_);
    Slot& s = slots_[slot];
    s.state = State::kReady;
    s.length = length;
    s.crc32c = crc32c;
    WakeLocked(slot);
    if (s.pins == 0) {
      if (s.doomed) {
        RemoveLocked(slot);
      } else {
        s.lru = lru_.insert(lru_.end(), slot);
        s.in_lru = true;
      }
    }
  }
}

void BlockCache::Abandon(int slot) {
  {
    std::scoped_lock lock(mu_);
    Slot& s = slots_[slot];
    auto it = index_.find(s.key);
    if (it != index_.end() && it->second == slot) index_.erase(it);
    s.state = State::kFree;
    s.doomed = true;
    WakeLocked(slot);
    if (s.pins == 0) RemoveLocked(slot);
  }
}

void BlockCache::Pin(int slot) {
  std::scoped_lock lock(mu_);
  Slot& s = slots_[slot];
  UnlinkLruLocked(s);
  ++s.pins;
}

void BlockCache::Unpin(int slot, bool cold) {
  std::scoped_lock lock(mu_);
  Slot& s = slots_[slot];
  if (s.pins <= 0) {
    LOG(Error) << "block cache: unpin of unpinned slot " << slot;
    return;
  }
  if (--s.pins > 0) return;
  if (s.doomed || s.state == State::kFree) {
    RemoveLocked(slot);
  } else if (s.state == State::kReady) {
    s.lru = lru_.insert(cold ? lru_.begin() : lru_.end(), slot);
    s.in_lru = true;
    s.cold = cold;
  }
}

BlockCache::State BlockCache::state(int slot) const {
  std::scoped_lock lock(mu_);
  return slots_[slot].state;
}

std::size_t BlockCache::length(int slot) const {
  std::scoped_lock lock(mu_);
  return slots_[slot].length;
}

std::uint32_t BlockCache::crc32c(int slot) const {
  std::scoped_lock lock(mu_);
  return slots_[slot].crc32c;
}

BlockCache::State BlockCache::WaitNotFilling(int slot, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  ++slots_[slot].waiters;
  WaitShard(slot).wait_until(lock, deadline, [&] { return slots_[slot].state != State::kFilling; });
  --slots_[slot].waiters;
  return slots_[slot].state;
}

bool BlockCache::Verify(int slot) {
  std::size_t len;
  std::uint32_t want;
  {
    std::scoped_lock lock(mu_);
    len = slots_[slot].length;
    want = slots_[slot].crc32c;
  }
  std::uint32_t got = integrity::Crc32c(0, SlotData(slot), len);
  if (got == want) return true;
  std::scoped_lock lock(mu_);
  Slot& s = slots_[slot];
  ++stats_.crc_failures;
  LOG(Error) << "block cache: block " << s.key.index << " of object " << s.key.object
             << " failed its CRC32C check when read out; dropping it";
  auto it = index_.find(s.key);
  if (it != index_.end() && it->second == slot) index_.erase(it);
  s.doomed = true;
  return false;
}

void BlockCache::DropObject(std::uint64_t object) {
  std::scoped_lock lock(mu_);
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.state == State::kFree || s.key.object != object) continue;
    if (s.pins == 0 && s.state == State::kReady) {
      RemoveLocked(static_cast<int>(i));
    } else {
      auto it = index_.find(s.key);
      if (it != index_.end() && it->second == static_cast<int>(i)) index_.erase(it);
      s.doomed = true;
    }
  }
}

void BlockCache::WakeLocked(int slot) {
  // Notified under the lock: a waiter cannot miss it, and the shard outlives every waiter.
  if (slots_[slot].waiters > 0) WaitShard(slot).notify_all();
}

void BlockCache::NotifyAll() {
  for (auto& cv : cvs_) cv.notify_all();
}

CacheStats BlockCache::Stats() const {
  std::scoped_lock lock(mu_);
  CacheStats stats = stats_;
  stats.slots_used = slots_.size() - free_.size();
  stats.slots_pinned = 0;
  for (const Slot& s : slots_) stats.slots_pinned += s.pins > 0;
  return stats;
}

}  // namespace getmfs::cache
