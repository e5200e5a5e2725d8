// The block cache on its own: slots, pins, LRU order, cold reuse, waits and the read-out
// CRC check.
#include "cache/block_cache.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <thread>

#include "integrity/checksum.h"

namespace getmfs::cache {
namespace {

constexpr std::size_t kBlock = 4096;
using Clock = std::chrono::steady_clock;

std::shared_ptr<BlockCache> MakeCache(std::size_t slots) {
  auto cache = BlockCache::Create(slots * kBlock, kBlock);
  EXPECT_TRUE(cache) << cache.error().message;
  return *cache;
}

// Acquires, writes `fill` into the slot and marks it ready; returns the slot, unpinned
// (cold when asked, as a sequential reader leaves it).
int Put(BlockCache& cache, BlockKey key, std::uint8_t fill, bool cold = false) {
  auto acquired = cache.AcquirePinned(key);
  EXPECT_GE(acquired.slot, 0);
  EXPECT_TRUE(acquired.created);
  std::memset(cache.SlotData(acquired.slot), fill, kBlock);
  cache.Fill(acquired.slot, kBlock, integrity::Crc32c(0, cache.SlotData(acquired.slot), kBlock));
  cache.Unpin(acquired.slot, cold);
  return acquired.slot;
}

bool Cached(BlockCache& cache, BlockKey key) {
  int slot = cache.FindPinned(key);
  if (slot < 0) return false;
  cache.Unpin(slot);
  return true;
}

TEST(BlockCache, RejectsABlockSizeThatIsNotAMultipleOfAPage) {
  auto cache = BlockCache::Create(1 << 20, 1000);
  ASSERT_FALSE(cache);
  EXPECT_NE(cache.error().message.find("multiple of 4096"), std::string::npos);
}

TEST(BlockCache, SecondAcquireOfAKeyIsAHitOnTheSameSlot) {
  auto cache = MakeCache(4);
  int slot = Put(*cache, {1, 0}, 0xab);
  auto again = cache->AcquirePinned({1, 0});
  EXPECT_EQ(again.slot, slot);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.state, BlockCache::State::kReady);
  EXPECT_TRUE(cache->Verify(again.slot));
  cache->Unpin(again.slot);
  EXPECT_EQ(cache->Stats().hits, 1u);
  EXPECT_EQ(cache->Stats().misses, 1u);
}

TEST(BlockCache, EvictsTheLeastRecentlyUsedBlockAndNeverAPinnedOne) {
  auto cache = MakeCache(3);
  Put(*cache, {1, 0}, 1);
  Put(*cache, {1, 1}, 2);
  Put(*cache, {1, 2}, 3);
  int pinned = cache->FindPinned({1, 0});   // the oldest, but pinned
  ASSERT_GE(pinned, 0);
  Put(*cache, {1, 3}, 4);                   // evicts {1,1}, the oldest unpinned
  EXPECT_TRUE(Cached(*cache, {1, 0}));
  EXPECT_FALSE(Cached(*cache, {1, 1}));
  EXPECT_TRUE(Cached(*cache, {1, 2}));
  EXPECT_TRUE(Cached(*cache, {1, 3}));
  cache->Unpin(pinned);
}

TEST(BlockCache, FullOfPinnedOrFillingSlotsGivesNoSlot) {
  auto cache = MakeCache(2);
  auto a = cache->AcquirePinned({1, 0});
  auto b = cache->AcquirePinned({1, 1});
  ASSERT_GE(a.slot, 0);
  ASSERT_GE(b.slot, 0);
  EXPECT_LT(cache->AcquirePinned({1, 2}).slot, 0);
  cache->Abandon(a.slot);
  cache->Unpin(a.slot);
  EXPECT_GE(cache->AcquirePinned({1, 2}).slot, 0);
}

// A sequential reader's consumed blocks are reused before slots never touched, so a stream
// cycles through a few slots (pages already allocated and mapped) instead of the whole cache.
TEST(BlockCache, ReusesAColdSlotBeforeAnUnusedOne) {
  auto cache = MakeCache(64);
  std::set<int> used;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    used.insert(Put(*cache, {1, i}, static_cast<std::uint8_t>(i), /*cold=*/true));
  }
  EXPECT_LE(used.size(), 2u) << "a stream spread over " << used.size() << " slots";
  // Blocks unpinned warm (not consumed by a sequential reader) still fill unused slots first.
  auto warm = MakeCache(64);
  std::set<int> warm_used;
  for (std::uint64_t i = 0; i < 32; ++i) warm_used.insert(Put(*warm, {1, i}, 1));
  EXPECT_EQ(warm_used.size(), 32u);
}

TEST(BlockCache, ColdBlocksGoBeforeBlocksNobodyHasReadYet) {
  auto cache = MakeCache(3);
  Put(*cache, {1, 0}, 1);                   // fetched ahead, not read yet
  Put(*cache, {1, 1}, 2);
  Put(*cache, {1, 2}, 3, /*cold=*/true);    // consumed
  Put(*cache, {1, 3}, 4);
  EXPECT_TRUE(Cached(*cache, {1, 0}));
  EXPECT_TRUE(Cached(*cache, {1, 1}));
  EXPECT_FALSE(Cached(*cache, {1, 2}));
}

TEST(BlockCache, WaitersSeeAFillAndAnAbandon) {
  auto cache = MakeCache(4);
  auto filling = cache->AcquirePinned({1, 0});
  auto failing = cache->AcquirePinned({1, 1});
  int w1 = cache->FindPinned({1, 0});
  int w2 = cache->FindPinned({1, 1});
  BlockCache::State s1{}, s2{};
  std::thread t1([&] { s1 = cache->WaitNotFilling(w1, Clock::now() + std::chrono::seconds(10)); });
  std::thread t2([&] { s2 = cache->WaitNotFilling(w2, Clock::now() + std::chrono::seconds(10)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::memset(cache->SlotData(filling.slot), 7, kBlock);
  cache->Fill(filling.slot, kBlock, integrity::Crc32c(0, cache->SlotData(filling.slot), kBlock));
  cache->Abandon(failing.slot);
  t1.join();
  t2.join();
  EXPECT_EQ(s1, BlockCache::State::kReady);
  EXPECT_EQ(s2, BlockCache::State::kFree);
  for (int slot : {filling.slot, failing.slot, w1, w2}) cache->Unpin(slot);
  EXPECT_TRUE(Cached(*cache, {1, 0}));
  EXPECT_FALSE(Cached(*cache, {1, 1}));
}

TEST(BlockCache, WaitEndsAtTheDeadline) {
  auto cache = MakeCache(2);
  auto filling = cache->AcquirePinned({1, 0});
  auto start = Clock::now();
  EXPECT_EQ(cache->WaitNotFilling(filling.slot, start + std::chrono::milliseconds(50)), BlockCache::State::kFilling);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(50));
  cache->Abandon(filling.slot);
  cache->Unpin(filling.slot);
}

TEST(BlockCache, ReadOutCheckDropsABlockChangedInTheCache) {
  auto cache = MakeCache(4);
  int slot = Put(*cache, {1, 0}, 5);
  cache->SlotData(slot)[100] ^= 1;   // a stray write after the fill
  int pinned = cache->FindPinned({1, 0});
  ASSERT_EQ(pinned, slot);
  EXPECT_FALSE(cache->Verify(pinned));
  cache->Unpin(pinned);
  EXPECT_FALSE(Cached(*cache, {1, 0}));
  EXPECT_EQ(cache->Stats().crc_failures, 1u);
}

TEST(BlockCache, DropObjectRemovesItsBlocksAndSparesOthers) {
  auto cache = MakeCache(4);
  Put(*cache, {1, 0}, 1);
  Put(*cache, {2, 0}, 2);
  int pinned = cache->FindPinned({1, 0});
  cache->DropObject(1);
  EXPECT_FALSE(Cached(*cache, {1, 0}));   // gone from the index at once, even while pinned
  EXPECT_TRUE(Cached(*cache, {2, 0}));
  cache->Unpin(pinned);
  EXPECT_EQ(cache->Stats().slots_used, 1u);
}

}  // namespace
}  // namespace getmfs::cache
