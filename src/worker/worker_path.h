// Which executable serves `getmfs __worker__`. The getmfs program starts its own binary
// (/proc/self/exe: right whatever the working directory, even after the daemon changed it);
// the library, running inside other people's programs, starts the installed getmfs.
#ifndef GETMFS_WORKER_WORKER_PATH_H_
#define GETMFS_WORKER_WORKER_PATH_H_

#include <string>

namespace getmfs::worker {

// $GETMFS_WORKER; else this process's own executable if UseOwnExecutableForWorkers was
// called; else the installed getmfs; else the one in the build tree.
std::string DefaultWorkerPath();

// For the getmfs program, at start-up (before it detaches or changes directory): workers
// are this executable, and a relative $GETMFS_WORKER is made absolute.
void UseOwnExecutableForWorkers();

}  // namespace getmfs::worker

#endif  // GETMFS_WORKER_WORKER_PATH_H_
