// Reads one object in order through the engine: keeps a read-ahead window of blocks in
// flight (one range request per block, or one streaming GET credited with slots as the
// reader moves on), hands out pinned views of ready blocks, re-checks each block's CRC32C
// as it is read out, feeds the whole-object verifier, and reports the verdict at the end:
// the end of the object is only ever returned after the checksum matched.
#ifndef GETMFS_FS_OBJECT_STREAM_H_
#define GETMFS_FS_OBJECT_STREAM_H_

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "fs/engine.h"
#include "http/probe.h"
#include "http/signed_url.h"
#include "integrity/checksum.h"
#include "worker/pool.h"

namespace getmfs::fs {

struct StreamOptions {
  int window = 0;                    // blocks ahead; 0: concurrency + 2 (4 when streaming)
  std::size_t block_size = 0;        // bytes per block (<= the cache's); 0: the cache's
  double read_timeout_seconds = 300; // a Next() call fails with kTimeout after this long
  double job_timeout_seconds = 300;  // budget of one range request, retries included
};

class ObjectStream : public worker::JobObserver {
 public:
  ObjectStream(std::shared_ptr<Engine> engine, http::SignedUrl url, http::ObjectMeta meta,
               integrity::Expected expected, StreamOptions options = {});
  ~ObjectStream() override;
  ObjectStream(const ObjectStream&) = delete;
  ObjectStream& operator=(const ObjectStream&) = delete;

  struct Piece {
    int slot = -1;                   // pinned for the caller: Engine::cache().Unpin(slot)
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;            // 0: the end, after a successful verification
    std::uint64_t offset = 0;
  };
  // The next at most max_bytes of the object. Only one thread may call it at a time.
  Result<Piece> Next(std::size_t max_bytes);

  std::uint64_t position() const { return position_; }
  std::uint64_t size() const { return meta_.size; }
  bool verified() const { return verified_; }
  const integrity::Expected& expected() const { return verifier_.expected(); }
  const http::ObjectMeta& meta() const { return meta_; }
  Engine& engine() { return *engine_; }

  void OnBlock(std::uint64_t job, std::uint64_t index, std::uint32_t crc32c) override;
  void OnDone(std::uint64_t job, const worker::JobResult& result) override;

 private:
  enum class BlockState { kFetching, kReady, kFailed };
  struct Block {
    int slot = -1;
    BlockState state = BlockState::kFetching;
    std::uint32_t crc32c = 0;
    std::uint64_t job = 0;
    bool checked = false;   // CRC re-checked (and fed to an inline verifier)
    bool consumed = false;  // the reader is past it
    bool hashed = false;    // the digest thread is past it
    std::optional<Error> error;   // why it failed
  };
  std::uint64_t BlockCount() const;
  std::uint64_t BlockLength(std::uint64_t index) const;
  // Requests (or credits) blocks up to the window; returns false when the cache had no slot.
  void PlanLocked();
  // Digests (md5, sha256, S3 ETags) need every byte in order: a thread of their own feeds
  // the verifier as blocks arrive, so hashing overlaps the reader's work.
  void DigestLoop();
  // Drops a block that both the reader and the digest thread are done with.
  void RetireLocked(std::map<std::uint64_t, Block>::iterator it);

  std::shared_ptr<Engine> engine_;
  http::SignedUrl url_;
  http::ObjectMeta meta_;
  StreamOptions options_;
  integrity::Verifier verifier_;
  std::uint64_t object_id_;
  std::size_t block_size_;
  bool streaming_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint64_t, Block> blocks_;     // planned and not yet consumed
  std::map<std::uint64_t, int> jobs_;         // in flight -> number of blocks not yet reported
  std::uint64_t next_plan_ = 0;               // first block not yet planned
  std::uint64_t stream_job_ = 0;              // the streaming GET, when streaming
  std::optional<Error> error_;                // the first failure, for blocks at or after error_block_
  std::uint64_t error_block_ = 0;
  std::uint64_t position_ = 0;
  bool verified_ = false;
  bool finished_ = false;
  bool digest_in_thread_ = false;
  std::uint64_t digest_next_ = 0;             // first block the digest thread has not fed
  std::optional<Error> digest_error_;
  bool stopping_ = false;
  std::thread digest_thread_;
};

}  // namespace getmfs::fs

#endif  // GETMFS_FS_OBJECT_STREAM_H_
