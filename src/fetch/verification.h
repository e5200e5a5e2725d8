// One object's whole-object check (DESIGN.md invariant 2): the CRC32C of each block recorded
// as it arrives, in any order, and the verifier fed in order. Only the DigestFeeder changes
// it; readers ask for the verdict and wait for it.
#ifndef GETMFS_FETCH_VERIFICATION_H_
#define GETMFS_FETCH_VERIFICATION_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "integrity/checksum.h"
#include "util/error.h"

namespace getmfs::fetch {

using Deadline = std::chrono::steady_clock::time_point;

enum class Verdict { kPending, kVerified, kFailed, kUnverified /* no checksum known */ };
const char* VerdictName(Verdict verdict);

class Verification {
 public:
  Verification(integrity::Expected expected, std::uint64_t object_size, std::uint64_t blocks);
  Verification(const Verification&) = delete;
  Verification& operator=(const Verification&) = delete;

  Verdict verdict() const;
  // Waits until the verdict is in, or the feeder can go no further by itself (a block it
  // needs is gone from the cache: DigestFeeder::Missing says which), or the deadline.
  Verdict WaitProgress(Deadline deadline);
  // How many blocks, from the first, have been fed (the digest has passed them).
  std::uint64_t fed() const;
  // Every block has arrived at least once (hashing what is cached costs no request).
  bool complete() const;
  // Bytes of the object that have arrived at least once (while the verdict was pending).
  std::uint64_t bytes_present() const;
  bool needs_bytes() const { return needs_bytes_; }

 private:
  friend class DigestFeeder;
  friend class RemoteObject;   // settles an empty object at Attach

  integrity::Verifier verifier_;           // fed only by the feeder thread that has scheduled_
  const bool needs_bytes_;                 // md5, sha256, S3 ETags; not crc32c
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::uint32_t> crcs_;        // of each block that arrived
  std::vector<bool> have_;
  std::uint64_t have_blocks_ = 0;
  std::uint64_t have_bytes_ = 0;
  std::uint64_t next_ = 0;                 // the next block to feed
  std::map<std::uint64_t, int> held_;      // blocks ahead, pinned for the feeder: index -> slot
  bool scheduled_ = false;                 // a feeder thread has it (or it is queued)
  bool stuck_ = false;                     // the next block is neither held nor in the cache
  Verdict verdict_ = Verdict::kPending;
};

}  // namespace getmfs::fetch

#endif  // GETMFS_FETCH_VERIFICATION_H_
