// `getmfs __worker__`: the worker process the pool starts.
#ifndef GETMFS_WORKER_WORKER_MAIN_H_
#define GETMFS_WORKER_WORKER_MAIN_H_

namespace getmfs::worker {

// `getmfs __worker__ --control-fd=N --cache-fd=N --cache-size=BYTES --parent=PID ...`:
// maps the shared cache and runs a fetch loop until the supervisor goes away.
int WorkerMain(int argc, char** argv);

}  // namespace getmfs::worker

#endif  // GETMFS_WORKER_WORKER_MAIN_H_
