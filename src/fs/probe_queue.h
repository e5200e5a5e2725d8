// Background probes for a mount: objects whose size the manifest does not give are probed a
// few at a time, in manifest order, so that a mount is ready at once and a lookup waits
// only for its own entry (which it probes itself if its turn has not come).
#ifndef GETMFS_FS_PROBE_QUEUE_H_
#define GETMFS_FS_PROBE_QUEUE_H_

#include <thread>
#include <vector>

#include "fetch/remote_object.h"
#include "http/probe.h"
#include "util/blocking_queue.h"

namespace getmfs::fs {

class ProbeQueue {
 public:
  ProbeQueue(http::ProbeOptions options, int threads);
  ~ProbeQueue();   // waits for the probes running; the rest are dropped
  ProbeQueue(const ProbeQueue&) = delete;
  ProbeQueue& operator=(const ProbeQueue&) = delete;

  // Queues the objects, to be probed in this order.
  void Push(const std::vector<fetch::ObjectPtr>& objects);

 private:
  void Loop();

  const http::ProbeOptions options_;
  BlockingQueue<fetch::ObjectPtr> queue_;
  std::vector<std::thread> threads_;
};

}  // namespace getmfs::fs

#endif  // GETMFS_FS_PROBE_QUEUE_H_
