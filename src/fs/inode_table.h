// The mount's namespace: an inode for every file and directory of the manifest, built
// without I/O. A path keeps its inode number across reloads, so the kernel's entries stay
// valid for what did not change.
#ifndef GETMFS_FS_INODE_TABLE_H_
#define GETMFS_FS_INODE_TABLE_H_

#include <cstdint>
#include <map>
#include <string>

#include "drs/drs_client.h"
#include "fetch/remote_object.h"
#include "manifest/manifest.h"
#include "util/error.h"

namespace getmfs::fs {

struct Node {
  std::uint64_t ino = 0;
  std::uint64_t parent = 0;
  std::string name;
  bool dir = false;
  std::map<std::string, std::uint64_t> children;   // directories: name -> inode
  fetch::ObjectPtr object;                         // files
  int line = 0;                                    // of the manifest
};

class InodeTable {
 public:
  static constexpr std::uint64_t kRootIno = 1;

  InodeTable();   // just the root
  // The table for a manifest (a new object for every file). Paths also in `previous` keep
  // their inode numbers (unless a file became a directory or the reverse); new ones are
  // numbered after all of previous's, so no number is ever used for two things.
  // A drs:// entry not resolved yet gets an object without a URL whose probe resolves it
  // (with `drs`; without, its reads fail saying so).
  static Result<InodeTable> Build(const manifest::Manifest& manifest, const InodeTable* previous,
                                  const drs::DrsOptions* drs = nullptr);

  const Node* Find(std::uint64_t ino) const;
  const Node* Child(std::uint64_t parent, const std::string& name) const;
  const Node* AtPath(const std::string& path) const;
  fetch::ObjectPtr ObjectOf(std::uint64_t ino) const;
  // Every path ("" is the root), sorted.
  const std::map<std::string, std::uint64_t>& paths() const { return by_path_; }
  // Serves `object` at `path` (a reload keeping the old object of a path).
  void SetObject(const std::string& path, fetch::ObjectPtr object);
  std::uint64_t FileCount() const { return files_; }
  std::uint64_t TotalKnownBytes() const;

 private:
  // The directory for a path's parent, made (with its own parents) when missing.
  std::uint64_t DirectoryFor(const std::vector<std::string>& parts, const InodeTable* previous);
  std::uint64_t InoFor(const std::string& path, bool dir, const InodeTable* previous);

  std::map<std::uint64_t, Node> nodes_;
  std::map<std::string, std::uint64_t> by_path_;
  std::uint64_t next_ino_ = kRootIno + 1;
  std::uint64_t files_ = 0;
};

}  // namespace getmfs::fs

#endif  // GETMFS_FS_INODE_TABLE_H_
