// Runs a user's shell command (`/bin/sh -c CMD`) with a deadline, collecting its standard
// output and the lines of its standard error: for --refresh-command, which prints a fresh
// manifest. posix_spawn (never a bare fork of a threaded process), its own process group,
// killed whole when the deadline passes.
#ifndef GETMFS_UTIL_SHELL_COMMAND_H_
#define GETMFS_UTIL_SHELL_COMMAND_H_

#include <string>
#include <vector>

namespace getmfs {

struct ShellResult {
  bool started = false;
  bool timed_out = false;
  int exit_status = -1;          // the exit status, or -N when killed by signal N
  std::string out;               // standard output (at most max_out bytes)
  std::vector<std::string> err;  // standard error, line by line (the last 100)
  std::string Describe() const;  // "exit 3", "killed after 60 s", ... and the last stderr line
};

ShellResult RunShellCommand(const std::string& command, double timeout_seconds,
                            std::size_t max_out = std::size_t{256} << 20);

}  // namespace getmfs

#endif  // GETMFS_UTIL_SHELL_COMMAND_H_
