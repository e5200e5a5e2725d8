// The mount's guard: a small process (`getmfs __guard__`) that outlives the daemon. When the
// daemon dies without unmounting (kill -9, a crash) and its mount is left dead ("Transport
// endpoint is not connected"), the guard detaches it, so no dead mountpoint stays behind
// even when libfuse's auto_unmount helper does not (a reader blocked in the kernel at that
// moment was seen to defeat it).
#ifndef GETMFS_MOUNT_GUARD_H_
#define GETMFS_MOUNT_GUARD_H_

#include <string>

#include "util/unique_fd.h"

namespace getmfs::mount {

// The device ("MAJ:MIN") of the topmost mount at mountpoint if it is a getmfs mount, else "";
// read from /proc/self/mountinfo (a stat would ask the daemon itself).
std::string TopMountDevice(const std::string& mountpoint);

// Starts the guard for a mount that is now serving, whose device is `device`. The returned
// descriptor is the daemon's end of the guard's lifeline: it closes when the daemon ends,
// however it ends.
UniqueFd StartGuard(const std::string& mountpoint, const std::string& device);

// `getmfs __guard__ --fd=N --mountpoint=PATH --device=MAJ:MIN`.
int GuardMain(int argc, char** argv);

}  // namespace getmfs::mount

#endif  // GETMFS_MOUNT_GUARD_H_
