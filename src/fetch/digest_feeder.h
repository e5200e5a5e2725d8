// Feeds each object's whole-object verifier in order, for the mount, `get` and the library
// alike. Blocks arrive in any order; CRC32C checksums are combined from the blocks' CRCs on
// the spot, while digests that need the bytes in order (MD5, SHA-256, S3 ETags) are computed
// by a few threads of their own, off the pool's event thread and outside every lock a read
// takes. A block that arrives ahead of the digest is kept pinned for it while the digest is
// coming its way (bounded: max_held_blocks across all objects); one that is not is left to the
// cache, read from it when the digest gets there, and, if it is gone by then, reported by
// Missing() so that the caller can fetch it again.
#ifndef GETMFS_FETCH_DIGEST_FEEDER_H_
#define GETMFS_FETCH_DIGEST_FEEDER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "cache/block_cache.h"
#include "fetch/remote_object.h"

namespace getmfs::fetch {

class DigestFeeder {
 public:
  // Called when an object's check failed (its blocks are dropped and it is failed already).
  using FailedHook = std::function<void(const ObjectPtr&)>;

  DigestFeeder(cache::BlockCache& cache, std::size_t max_held_blocks, FailedHook on_failed);
  ~DigestFeeder();   // waits for the threads; blocks still held are unpinned
  DigestFeeder(const DigestFeeder&) = delete;
  DigestFeeder& operator=(const DigestFeeder&) = delete;

  // The block `index` of the object is in `slot` (ready, pinned by the caller during the
  // call) with its CRC32C. force: keep it for the digest even past the hold limit (a reader
  // fetched it for the verdict).
  void OnArrived(const ObjectPtr& object, std::uint64_t index, int slot, std::uint32_t crc32c, bool force = false);
  // The block the verification needs next when nothing will bring it: it never arrived and
  // is not being fetched, or it arrived and has left the cache. nullopt while the check can
  // go on by itself, and once it has settled.
  std::optional<std::uint64_t> Missing(const ObjectPtr& object);
  // Releases the blocks held for an object that will not be read on (its check goes on from
  // the cache, or not at all).
  void Forget(const ObjectPtr& object);

 private:
  void Schedule(const ObjectPtr& object);   // with the object's lock held
  void Loop();
  // Feeds the object as far as its blocks allow; returns when it cannot go on.
  void Feed(const ObjectPtr& object);
  // The next block's slot, pinned: held for the digest, or found ready in the cache (-1).
  int TakeNextLocked(RemoteObject& object, Verification& v);
  void AdvanceCrcsLocked(RemoteObject& object, Verification& v);
  void SettleLocked(const ObjectPtr& object, Verification& v, std::vector<int>* unpin);
  void ReleaseHeldLocked(Verification& v, std::vector<int>* unpin);
  // Held for the digest, or in the cache (filling or ready).
  bool ComingLocked(const RemoteObject& object, const Verification& v, std::uint64_t index) const;
  void Unpin(const std::vector<int>& slots);

  cache::BlockCache& cache_;
  const std::size_t max_held_;
  FailedHook on_failed_;
  std::mutex mu_;   // the queue and threads (taken after an object's, never before)
  std::condition_variable cv_;
  std::deque<ObjectPtr> queue_;
  std::vector<std::thread> threads_;
  int idle_ = 0;
  std::atomic<std::size_t> held_{0};   // blocks pinned for digests, all objects
  bool stopping_ = false;
};

}  // namespace getmfs::fetch

#endif  // GETMFS_FETCH_DIGEST_FEEDER_H_
