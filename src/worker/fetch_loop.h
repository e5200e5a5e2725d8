// The fetch loop: one curl multi handle running many range transfers at once, writing
// response bytes straight into their cache slots and computing each block's CRC32C as the
// bytes arrive. Runs in a worker process (worker_main.cc) or, in the no-worker mode, in a
// thread of the calling process. Every response is checked before its bytes are used
// (status, Content-Range equal to the range asked for, length, ETag); transient failures are
// retried with backoff, resuming at the first incomplete block.
#ifndef GETMFS_WORKER_FETCH_LOOP_H_
#define GETMFS_WORKER_FETCH_LOOP_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "http/curl_handle.h"
#include "http/response.h"

namespace getmfs::worker {

struct FetchLoopOptions {
  http::TransferOptions transfer;
  http::RetryPolicy retry;
  // Added to a worker process's nice value (0 to 19) when it starts: `get` runs its workers
  // below its own writer and digest threads, which they would otherwise starve of CPU.
  int nice = 0;
};

class FetchLoop {
 public:
  FetchLoop(int control_fd, std::uint8_t* region, std::size_t region_size, FetchLoopOptions options);
  ~FetchLoop();
  // Runs until the control socket closes. Returns 0, or 1 on a fatal error.
  int Run();

 private:
  struct Transfer;
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace getmfs::worker

#endif  // GETMFS_WORKER_FETCH_LOOP_H_
