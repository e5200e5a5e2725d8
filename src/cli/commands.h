// The command line of getmfs and getm.
#ifndef GETMFS_CLI_COMMANDS_H_
#define GETMFS_CLI_COMMANDS_H_

namespace getmfs::cli {

// Parses the command line (`getmfs COMMAND ...`, or `getm URL FILE` when run as getm) and
// runs the command. Returns the exit status.
int Main(int argc, char** argv);

}  // namespace getmfs::cli

#endif  // GETMFS_CLI_COMMANDS_H_
