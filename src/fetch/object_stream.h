// Reads one object in order, for `getmfs get` and the library: keeps a window of blocks
// requested ahead of the reader through the BlockFetcher (a range request per block, or one
// streaming GET credited as the reader moves on), hands out pinned views of ready blocks
// (each block's CRC32C checked again when it is first read out), and returns the end of the
// object only after its checksum matched (the DigestFeeder verifies as blocks arrive).
#ifndef GETMFS_FETCH_OBJECT_STREAM_H_
#define GETMFS_FETCH_OBJECT_STREAM_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "fetch/block_fetcher.h"
#include "fetch/engine.h"
#include "fetch/remote_object.h"
#include "http/probe.h"
#include "http/signed_url.h"
#include "integrity/checksum.h"

namespace getmfs::fetch {

struct StreamOptions {
  int window = 0;                    // blocks ahead; 0: concurrency + 2 (4 when streaming)
  std::size_t block_size = 0;        // bytes per block (<= the cache's); 0: the cache's
  double read_timeout_seconds = 300; // a Next() call fails with kTimeout after this long
  // A request was refused as expired: a fresh URL for the object (a DRS access URL resolved
  // again, a refresh command's), or nullopt; the stream goes on with it. Empty: kExpired.
  std::function<std::optional<http::SignedUrl>()> fresh_url;
};

class ObjectStream {
 public:
  ObjectStream(std::shared_ptr<Engine> engine, http::SignedUrl url, http::ObjectMeta meta,
               integrity::Expected expected, StreamOptions options = {});
  ~ObjectStream();   // ends its requests; pieces handed out stay valid until unpinned
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
  const integrity::Expected& expected() const { return object_->expected(); }
  const http::ObjectMeta& meta() const { return meta_; }
  Engine& engine() { return *engine_; }

 private:
  // Pins (and requests) the blocks of the window that are not pinned yet; stops where the
  // cache is full.
  void Plan();
  // The block at the reader's position, ready and checked, still pinned by the plan.
  Result<int> CurrentBlock(std::uint64_t index, Deadline deadline);
  // Waits for a slot for the block when the cache is full of blocks the digest holds.
  Status WaitPlanned(std::uint64_t index, Deadline deadline);
  // A block of the window was lost without an error (a stream that broke): forget the
  // window's lost blocks, so that Plan asks for them again.
  void Replan(std::uint64_t index);
  // After an expired URL: true when options_.fresh_url gave a new one (a few times in a row
  // at most), which the window's blocks are then asked for with.
  bool RenewUrl(std::uint64_t index);
  Result<Piece> End(Deadline deadline);
  void Unplan(std::map<std::uint64_t, int>::iterator it);

  std::shared_ptr<Engine> engine_;
  BlockFetcher& fetcher_;
  cache::BlockCache& cache_;
  http::ObjectMeta meta_;
  StreamOptions options_;
  ObjectPtr object_;
  bool streaming_;
  std::map<std::uint64_t, int> planned_;   // blocks of the window, pinned: index -> slot
  BlockFetcher::Stream stream_;
  std::uint64_t position_ = 0;
  std::uint64_t checked_ = UINT64_MAX;     // the block whose CRC was checked last
  std::optional<Error> error_;             // sticky: every later call fails the same way
  bool verified_ = false;
  bool finished_ = false;
  int renewals_ = 0;                       // fresh URLs in a row without a block arriving
};

}  // namespace getmfs::fetch

#endif  // GETMFS_FETCH_OBJECT_STREAM_H_
