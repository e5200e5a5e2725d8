// `getmfs __worker__`: a worker process's entry point.
#include "worker/worker_main.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <string>

#include "cache/segment.h"
#include "util/log.h"
#include "worker/fetch_loop.h"

namespace getmfs::worker {
namespace {

bool Flag(const char* arg, const char* name, long long* value) {
  std::size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=') return false;
  char* end = nullptr;
  *value = std::strtoll(arg + n + 1, &end, 10);
  return end != arg + n + 1 && *end == '\0';
}

bool StringFlag(const char* arg, const char* name, std::string* value) {
  std::size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=') return false;
  *value = arg + n + 1;
  return true;
}

}  // namespace

int WorkerMain(int argc, char** argv) {
  long long control_fd = -1, cache_fd = -1, cache_size = 0, parent = -1, level = 1;
  long long connect_ms = 15000, low_speed = 30, attempts = 10, nice_increment = 0;
  std::string ca_bundle;
  for (int i = 2; i < argc; ++i) {
    if (!Flag(argv[i], "--control-fd", &control_fd) && !Flag(argv[i], "--cache-fd", &cache_fd) &&
        !Flag(argv[i], "--cache-size", &cache_size) && !Flag(argv[i], "--parent", &parent) &&
        !Flag(argv[i], "--log-level", &level) && !Flag(argv[i], "--connect-timeout-ms", &connect_ms) &&
        !Flag(argv[i], "--low-speed-time", &low_speed) && !Flag(argv[i], "--max-attempts", &attempts) &&
        !Flag(argv[i], "--nice", &nice_increment) &&
        !StringFlag(argv[i], "--ca-bundle", &ca_bundle)) {
      std::fprintf(stderr, "getmfs __worker__: unknown argument %s (this command is internal)\n", argv[i]);
      return 2;
    }
  }
  if (control_fd < 0 || cache_fd < 0 || cache_size <= 0) {
    std::fprintf(stderr, "getmfs __worker__ is started by getmfs itself, not by hand\n");
    return 2;
  }
  // Die with the supervisor, even if it is killed.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (parent > 0 && getppid() != parent) return 0;
  signal(SIGPIPE, SIG_IGN);
  SetLogLevel(static_cast<LogLevel>(level));
  SetLogTag("getmfs worker " + std::to_string(getpid()));
  // Before any thread starts (a thread's nice value is its own; new ones inherit it).
  errno = 0;
  if (nice_increment > 0 && nice_increment < 40 && nice(static_cast<int>(nice_increment)) == -1 && errno != 0) {
    LOG(Debug) << "nice " << nice_increment << ": " << std::strerror(errno);
  }
  auto region = cache::MappedRegion::Map(static_cast<int>(cache_fd), static_cast<std::size_t>(cache_size));
  if (!region) {
    LOG(Error) << region.error().message;
    return 1;
  }
  close(static_cast<int>(cache_fd));
  FetchLoopOptions options;
  options.transfer.connect_timeout_ms = static_cast<long>(connect_ms);
  options.transfer.low_speed_time_s = static_cast<long>(low_speed);
  options.retry.max_attempts = static_cast<int>(attempts);
  options.transfer.ca_bundle = ca_bundle;
  FetchLoop loop(static_cast<int>(control_fd), region->data(), region->size(), options);
  return loop.Run();
}

}  // namespace getmfs::worker
