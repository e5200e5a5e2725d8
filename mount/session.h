// `getmfs mount`: parse the manifest, detach (with a readiness pipe so the command exits
// non-zero with the reason when mounting fails), mount, start the workers, serve.
#ifndef GETMFS_MOUNT_SESSION_H_
#define GETMFS_MOUNT_SESSION_H_

#include <optional>
#include <string>
#include <vector>

#include "drs/drs_client.h"
#include "fs/file_system.h"
#include "fs/metrics.h"

namespace getmfs::mount {

struct MountConfig {
  std::string manifest;
  std::string mountpoint;
  fs::MountOptions fs;
  drs::DrsOptions drs;                      // --drs-server, the token: for drs:// entries
  std::string drs_token_file;               // --drs-token-file (read into drs.token)
  bool foreground = false;
  std::vector<std::string> fuse_options;   // -o values, passed through to libfuse
  std::string log_file;
  std::optional<fs::MetricsAddress> metrics;   // --metrics-addr: Prometheus text at /metrics
  int verbosity = 1;
};

// Returns the exit status of `getmfs mount`.
int RunMount(const MountConfig& config);

}  // namespace getmfs::mount

#endif  // GETMFS_MOUNT_SESSION_H_
