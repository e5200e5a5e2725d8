// A download's temporary file beside its destination, renamed over it only when committed;
// the ones in progress are removed when SIGINT, SIGTERM or SIGHUP ends the process.
#ifndef GETMFS_CLI_TEMP_FILE_H_
#define GETMFS_CLI_TEMP_FILE_H_

#include <string>

#include "util/error.h"
#include "util/unique_fd.h"

namespace getmfs::cli {

// Installs the SIGINT/SIGTERM/SIGHUP handler that removes the temporary files in progress
// and exits with 128 + the signal number.
void RemoveTempFilesOnSignal();

// A temporary file in the destination's directory, removed unless committed.
class TempFile {
 public:
  static Result<TempFile> Create(const std::string& destination);
  TempFile() = default;
  TempFile(TempFile&& o) noexcept;
  ~TempFile();
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // Closes the file with the umask's permissions and renames it to destination.
  Status Commit(const std::string& destination);

 private:
  UniqueFd fd_;
  std::string path_;
  int registry_ = -1;   // index in the signal handler's list, or -1
};

}  // namespace getmfs::cli

#endif  // GETMFS_CLI_TEMP_FILE_H_
