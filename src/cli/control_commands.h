// `getmfs unmount|status|reload MOUNTPOINT`: talk to a running mount through its xattrs and
// hidden status file (no FUSE headers needed here).
#ifndef GETMFS_CLI_CONTROL_COMMANDS_H_
#define GETMFS_CLI_CONTROL_COMMANDS_H_

#include <string>

namespace getmfs::cli {

int RunUnmount(const std::string& mountpoint, bool lazy);
int RunStatus(const std::string& mountpoint, bool json);
int RunReload(const std::string& mountpoint, double timeout_seconds);

}  // namespace getmfs::cli

#endif  // GETMFS_CLI_CONTROL_COMMANDS_H_
