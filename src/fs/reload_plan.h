// What a reload changes, decided without I/O. First, for each file of the new manifest that
// the mount had: if the manifest now says another size or checksum, it is another object;
// else keep the old object (same URL), give it the new URL (never read), or ask a probe
// whether the new URL still names the object that was read (size and ETag). Then, once the probes have answered, the diff: which old
// objects fail (removed, or now another object) and what the kernel must forget.
#ifndef GETMFS_FS_RELOAD_PLAN_H_
#define GETMFS_FS_RELOAD_PLAN_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fs/inode_table.h"

namespace getmfs::fs {

// What the FUSE layer must tell the kernel after a reload or a failure.
struct Invalidation {
  enum Kind { kInode, kEntry } kind;
  std::uint64_t ino = 0;      // kInode: drop cached data and attributes
  std::uint64_t parent = 0;   // kEntry: forget parent/name
  std::string name;
  bool operator==(const Invalidation&) const = default;
};

struct ReloadPlan {
  std::map<std::string, fetch::ObjectPtr> keep;      // same URL: the old object stays
  std::map<std::string, fetch::ObjectPtr> rebind;    // never read, or size and checksum given: new URL
  std::map<std::string, fetch::ObjectPtr> confirm;   // read already, new URL: probe it
  std::set<std::string> changed;                     // another size or checksum in the manifest
};

ReloadPlan PlanReload(const InodeTable& current, const InodeTable& fresh);

struct ReloadDiff {
  struct Failed {
    fetch::ObjectPtr object;
    std::string why;
  };
  std::vector<Failed> failed;                 // old objects that no longer serve their path
  std::vector<Invalidation> invalidations;
};

// `changed`: the paths whose old object does not serve any more (plan.changed and the
// confirmations the probes refused).
ReloadDiff DiffReload(const InodeTable& current, const InodeTable& fresh, const std::set<std::string>& changed);

}  // namespace getmfs::fs

#endif  // GETMFS_FS_RELOAD_PLAN_H_
