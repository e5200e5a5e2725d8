// --metrics-addr: Prometheus text at /metrics, served by libmicrohttpd on one thread of
// its own beside the FUSE loop.
#ifndef GETMFS_MOUNT_METRICS_SERVER_H_
#define GETMFS_MOUNT_METRICS_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "fs/metrics.h"
#include "util/error.h"

struct MHD_Daemon;

namespace getmfs::mount {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;   // the body of /metrics
  // Listens on address; kIo naming the address when it cannot (in use, not ours).
  static Result<std::unique_ptr<MetricsServer>> Start(const fs::MetricsAddress& address, Render render);
  ~MetricsServer();   // stops serving; no render call runs after it returns
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  const Render& render() const { return render_; }

 private:
  explicit MetricsServer(Render render) : render_(std::move(render)) {}
  Render render_;
  MHD_Daemon* daemon_ = nullptr;
};

}  // namespace getmfs::mount

#endif  // GETMFS_MOUNT_METRICS_SERVER_H_
