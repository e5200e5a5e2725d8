// The FUSE low-level callbacks: each unpacks the request, calls fs::FileSystem, replies.
// No exception crosses into libfuse.
#ifndef GETMFS_MOUNT_FUSE_ADAPTER_H_
#define GETMFS_MOUNT_FUSE_ADAPTER_H_

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <functional>
#include <thread>

#include "fs/file_system.h"
#include "util/blocking_queue.h"

namespace getmfs::mount {

class FuseAdapter {
 public:
  explicit FuseAdapter(fs::FileSystem* fs) : fs_(fs) {}
  ~FuseAdapter();
  static const fuse_lowlevel_ops& Operations();

  fs::FileSystem& fs() { return *fs_; }
  // Called once the kernel's INIT arrived: the mount is serving.
  void set_on_ready(std::function<void()> on_ready) { on_ready_ = std::move(on_ready); }
  // Starts the thread that tells the kernel what to forget (never from a callback of the
  // same inode: that can deadlock).
  void StartInvalidations(fuse_session* session);
  void Queue(const fs::Invalidation& invalidation);
  // Ends that thread (before the session goes); later invalidations are dropped.
  void StopInvalidations();

  std::function<void()> on_ready_;

 private:
  void InvalidationLoop();

  fs::FileSystem* fs_;
  fuse_session* session_ = nullptr;
  BlockingQueue<fs::Invalidation> invalidations_;
  std::thread thread_;
};

}  // namespace getmfs::mount

#endif  // GETMFS_MOUNT_FUSE_ADAPTER_H_
