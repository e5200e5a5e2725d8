// What the kernel's FUSE needs before getmfs mounts: the device, user_allow_other for a user's
// allow_other, and (for `getmfs mount MANIFEST /dev/fd/N`) a passed descriptor.
//
// /dev/fd/N: a /dev/fuse descriptor that a privileged helper opened
// and mounted (the pattern of the gcsfuse and mountpoint-s3 CSI drivers), so the daemon itself
// needs no privilege. libfuse takes such a "mountpoint" as the session's descriptor; getmfs
// then mounts nothing, starts no guard and leaves unmounting to whoever mounted it.
#ifndef GETMFS_MOUNT_FUSE_ACCESS_H_
#define GETMFS_MOUNT_FUSE_ACCESS_H_

#include <optional>
#include <string>
#include <vector>

namespace getmfs::mount {

// N for a mountpoint spelled /dev/fd/N (digits only), else nullopt.
std::optional<int> PassedFuseFd(const std::string& mountpoint);

// "" when fd is an open /dev/fuse descriptor, else what is wrong and what to do.
std::string CheckPassedFuseFd(int fd);

// "" when this process can mount with these -o options, else what to do: /dev/fuse missing
// or not the FUSE device (a container run without --device /dev/fuse, a kernel without the
// module), allow_other asked by a user without user_allow_other in fuse_conf.
std::string CheckFuseAccess(const std::vector<std::string>& fuse_options, const std::string& fuse_conf = "/etc/fuse.conf");

}  // namespace getmfs::mount

#endif  // GETMFS_MOUNT_FUSE_ACCESS_H_
