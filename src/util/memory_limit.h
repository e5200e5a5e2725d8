// How much memory this process may use: the machine's, or less when its cgroup says so (a
// container's or a systemd unit's memory limit), so that the default cache fits inside it.
#ifndef GETMFS_UTIL_MEMORY_LIMIT_H_
#define GETMFS_UTIL_MEMORY_LIMIT_H_

#include <cstdint>
#include <optional>
#include <string>

namespace getmfs {

// The smallest memory limit on the cgroup path of a /proc/self/cgroup text and its
// ancestors, read under cgroup_root: cgroup v2 `memory.max` (line "0::/path") and v1
// `memory/memory.limit_in_bytes` (line "N:memory:/path" or "N:...,memory,...:/path").
// nullopt when none is set ("max", v1's page-rounded 2^63, or no file).
std::optional<std::uint64_t> CgroupMemoryLimit(const std::string& proc_self_cgroup, const std::string& cgroup_root);

// The machine's memory, or the cgroup's limit (of /proc/self/cgroup under /sys/fs/cgroup)
// when that is smaller.
std::uint64_t UsableMemory();

}  // namespace getmfs

#endif  // GETMFS_UTIL_MEMORY_LIMIT_H_
