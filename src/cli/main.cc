// getmfs: signed URLs as verified files. `main` parses, then runs the command.
#include <cstring>
#include <string>

#include "cli/commands.h"
#include "guard.h"
#include "worker/worker_main.h"
#include "worker/worker_path.h"

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "__worker__") == 0) return getmfs::worker::WorkerMain(argc, argv);
  if (argc > 1 && std::strcmp(argv[1], "__guard__") == 0) return getmfs::mount::GuardMain(argc, argv);
  getmfs::worker::UseOwnExecutableForWorkers();
  return getmfs::cli::Main(argc, argv);
}
