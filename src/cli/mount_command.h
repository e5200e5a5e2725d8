// `getmfs mount` on the command line: its options and the step from them to the mount.
#ifndef GETMFS_CLI_MOUNT_COMMAND_H_
#define GETMFS_CLI_MOUNT_COMMAND_H_

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "session.h"

namespace getmfs::cli {

struct MountArgs {
  mount::MountConfig config;
  std::vector<std::string> options;   // -o lists
  int verbose = 0;
};

void AddMountOptions(CLI::App* cmd, MountArgs* m);
// Applies the -o lists and checks the whole; mounts. The exit status.
int FinishMount(MountArgs& m);

}  // namespace getmfs::cli

#endif  // GETMFS_CLI_MOUNT_COMMAND_H_
