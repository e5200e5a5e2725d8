// `--verify-random background`: an object with a known checksum that is read at random is
// fetched to the end at low priority, so that a verdict still comes although no reader reads
// it all. A run of the blocks its digest needs next (in order for MD5, SHA-256 and S3 ETags)
// is requested only while the pool has nothing queued and a connection to spare: never
// ahead of a reader's own requests. One object at a time.
#ifndef GETMFS_FS_BACKGROUND_VERIFIER_H_
#define GETMFS_FS_BACKGROUND_VERIFIER_H_

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "fetch/engine.h"
#include "fetch/remote_object.h"

namespace getmfs::fs {

class BackgroundVerifier {
 public:
  // run_bytes: the most one background request fetches.
  BackgroundVerifier(std::shared_ptr<fetch::Engine> engine, std::uint64_t run_bytes);
  ~BackgroundVerifier();   // stops at once (a run in flight is left to the fetcher)
  BackgroundVerifier(const BackgroundVerifier&) = delete;
  BackgroundVerifier& operator=(const BackgroundVerifier&) = delete;

  // The object was read at random and its verdict is pending: complete it.
  void Add(const fetch::ObjectPtr& object);

 private:
  void Loop();
  // Fetches the object until its verdict is in (or it fails, or we stop).
  void Complete(const fetch::ObjectPtr& object);
  bool PoolIdle() const;

  std::shared_ptr<fetch::Engine> engine_;
  const std::uint64_t run_bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<fetch::ObjectPtr> queue_;
  std::set<const fetch::RemoteObject*> queued_;   // each object once
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace getmfs::fs

#endif  // GETMFS_FS_BACKGROUND_VERIFIER_H_
