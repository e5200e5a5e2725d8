// Where `getmfs get` writes one download.
//
// A regular file, a path that does not exist yet, or a symlink (or a chain of them) to
// either is written as a TempFile beside the symlinks' resolved target and renamed over that
// target only after verification: the links stay links. Anything else -- a character device
// such as /dev/null, a FIFO, a socket -- is opened and written in place: no temporary file,
// no fallocate, no rename, no chmod, so its reader gets the bytes before the verdict. So are
// "-" (standard output) and the names of descriptors (/dev/stdout, /dev/stderr, /dev/fd/N,
// /proc/self/fd/N, or symlinks to them), written through the descriptor itself, whatever it
// is (`-O /dev/stdout >> log` appends).
#ifndef GETMFS_CLI_DESTINATION_H_
#define GETMFS_CLI_DESTINATION_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "cli/temp_file.h"
#include "util/error.h"
#include "util/unique_fd.h"

namespace getmfs::cli {

// "-" is standard output (`-O ./-` is a file named "-").
inline bool IsStandardOutput(const std::string& destination) { return destination == "-"; }

class Destination {
 public:
  // Opens destination for a download of size bytes: a file's temporary file, with the space
  // reserved; anything else opened for writing (a FIFO waits here for its reader).
  static Result<Destination> Open(const std::string& destination, std::uint64_t size);
  Destination() = default;
  Destination(Destination&&) noexcept = default;

  // True when the bytes go straight to the destination (seen before the verdict).
  bool in_place() const { return !temp_.has_value(); }
  // For messages: the destination as given, or "standard output".
  const std::string& name() const { return name_; }
  // The bytes Write has written so far.
  std::uint64_t written() const { return written_; }
  Status Write(const std::uint8_t* data, std::size_t n);
  // After verification: renames a file's temporary file over its target; closes a
  // destination opened in place (standard output stays open).
  Status Commit();

 private:
  std::string name_;
  std::string target_;           // a file's resolved target
  std::optional<TempFile> temp_;
  UniqueFd fd_;                  // a destination opened in place
  int out_fd_ = -1;              // where Write goes
  std::uint64_t written_ = 0;
};

}  // namespace getmfs::cli

#endif  // GETMFS_CLI_DESTINATION_H_
